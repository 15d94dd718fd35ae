//! Logging in Prometheus's formats: logfmt (`ts=… caller=… level=info msg="…" k=v`) or JSON.

use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub(crate) fn init(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{level},h2=warn,hyper=warn,reqwest=warn,rustls=warn"
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.event_format(Logfmt).init();
    }
}

struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let caller = format!(
            "{}:{}",
            meta.file().unwrap_or("?").rsplit('/').next().unwrap_or("?"),
            meta.line().unwrap_or(0)
        );
        let level = meta.level().as_str().to_ascii_lowercase();
        let mut fields = LogfmtFields::default();
        event.record(&mut fields);
        write!(w, "ts={ts} caller={caller} level={level}")?;
        if let Some(msg) = fields.message {
            write!(w, " msg={}", quote(&msg))?;
        }
        writeln!(w, "{}", fields.rest)
    }
}

#[derive(Default)]
struct LogfmtFields {
    message: Option<String>,
    rest: String,
}

impl Visit for LogfmtFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), quote(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Quotes a logfmt value when it holds spaces, quotes or `=`, as go-kit's logfmt does.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '=', '\n', '\t']) {
        return v.to_string();
    }
    format!("{v:?}")
}
