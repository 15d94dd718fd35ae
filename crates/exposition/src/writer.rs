//! The Prometheus text format 0.0.4 as Go's `expfmt` writes it, for `/metrics` and
//! `/federate`.

use crate::MetricType;
use crate::gofloat::write_float;
use ember_model::{is_valid_label_name, is_valid_metric_name};
use std::fmt::Write as _;

/// Appends text-format lines to a `String`.
///
/// Names that are not legacy-valid are written quoted (`{"my.metric","a.b"="c"}`), as
/// Prometheus 3 does; values are rendered like Go's `strconv.FormatFloat(v, 'g', -1, 64)`
/// (see [`crate::format_float`]) except that `-0` is written `0`, as `expfmt` does.
///
/// ```
/// use ember_exposition::{MetricType, TextWriter};
///
/// let mut body = String::new();
/// let mut w = TextWriter::new(&mut body);
/// w.help("http_requests_total", "Requests.\nAll of them.");
/// w.metric_type("http_requests_total", MetricType::Counter);
/// w.sample("http_requests_total", [("code", "200")], 1e6, Some(1700000000000));
/// let want = concat!(
///     "# HELP http_requests_total Requests.\\nAll of them.\n",
///     "# TYPE http_requests_total counter\n",
///     "http_requests_total{code=\"200\"} 1e+06 1700000000000\n",
/// );
/// assert_eq!(body, want);
/// ```
pub struct TextWriter<'w> {
    out: &'w mut String,
}

impl<'w> TextWriter<'w> {
    /// A writer appending to `out`.
    pub fn new(out: &'w mut String) -> Self {
        TextWriter { out }
    }

    /// `# HELP metric text`, escaping `\` and newlines in the text.
    pub fn help(&mut self, metric: &str, text: &str) {
        self.out.push_str("# HELP ");
        self.name(metric, is_valid_metric_name(metric));
        self.out.push(' ');
        escape_into(self.out, text, false);
        self.out.push('\n');
    }

    /// `# TYPE metric type`. The text format knows counter, gauge, histogram and summary;
    /// every other type is written `untyped`.
    pub fn metric_type(&mut self, metric: &str, kind: MetricType) {
        self.out.push_str("# TYPE ");
        self.name(metric, is_valid_metric_name(metric));
        self.out.push(' ');
        self.out.push_str(match kind {
            MetricType::Counter
            | MetricType::Gauge
            | MetricType::Histogram
            | MetricType::Summary => kind.as_str(),
            _ => "untyped",
        });
        self.out.push('\n');
    }

    /// `metric{name="value",…} value [timestamp]`, labels in the order given.
    pub fn sample<'l>(
        &mut self,
        metric: &str,
        labels: impl IntoIterator<Item = (&'l str, &'l str)>,
        value: f64,
        timestamp_ms: Option<i64>,
    ) {
        let mut separator = '{';
        if is_valid_metric_name(metric) {
            self.out.push_str(metric);
        } else {
            self.out.push(separator);
            self.name(metric, false);
            separator = ',';
        }
        for (name, label_value) in labels {
            self.out.push(separator);
            self.name(name, is_valid_label_name(name));
            self.out.push_str("=\"");
            escape_into(self.out, label_value, true);
            self.out.push('"');
            separator = ',';
        }
        if separator == ',' {
            self.out.push('}');
        }
        self.out.push(' ');
        if value == 0.0 {
            // expfmt writes both zeros as `0`.
            self.out.push('0');
        } else {
            write_float(self.out, value);
        }
        if let Some(ts) = timestamp_ms {
            write!(self.out, " {ts}").expect("writing to a String cannot fail");
        }
        self.out.push('\n');
    }

    fn name(&mut self, name: &str, legacy: bool) {
        if legacy {
            self.out.push_str(name);
        } else {
            self.out.push('"');
            escape_into(self.out, name, true);
            self.out.push('"');
        }
    }
}

/// Escapes `\` and newline, and `"` when `quote` (label values and quoted names).
fn escape_into(out: &mut String, s: &str, quote: bool) {
    let needs_escape = |c: char| c == '\\' || c == '\n' || (quote && c == '"');
    if !s.contains(needs_escape) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(metric: &str, labels: &[(&str, &str)], value: f64, ts: Option<i64>) -> String {
        let mut out = String::new();
        TextWriter::new(&mut out).sample(metric, labels.iter().copied(), value, ts);
        out
    }

    #[test]
    fn samples() {
        assert_eq!(sample("up", &[], 1.0, None), "up 1\n");
        assert_eq!(
            sample("up", &[("job", "a"), ("i", "b")], 0.001, Some(-5)),
            "up{job=\"a\",i=\"b\"} 0.001 -5\n"
        );
        assert_eq!(sample("x", &[], -0.0, None), "x 0\n");
        assert_eq!(sample("x", &[], f64::NAN, None), "x NaN\n");
        assert_eq!(sample("x", &[], f64::NEG_INFINITY, None), "x -Inf\n");
        assert_eq!(sample("x", &[], 123456789.0, None), "x 1.23456789e+08\n");
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(
            sample("x", &[("a", "q\"b\\s\nn")], 1.0, None),
            "x{a=\"q\\\"b\\\\s\\nn\"} 1\n"
        );
    }

    #[test]
    fn quotes_utf8_names() {
        assert_eq!(sample("my.metric", &[], 1.0, None), "{\"my.metric\"} 1\n");
        assert_eq!(
            sample("my.metric", &[("a.b", "c"), ("d", "e")], 1.0, None),
            "{\"my.metric\",\"a.b\"=\"c\",d=\"e\"} 1\n"
        );
        assert_eq!(
            sample("m", &[("a:b", "c")], 1.0, None),
            "m{\"a:b\"=\"c\"} 1\n"
        );
    }

    #[test]
    fn metadata_lines() {
        let mut out = String::new();
        let mut w = TextWriter::new(&mut out);
        w.help("m", "a \\ b\nc \"d\"");
        w.help("m.x", "");
        w.metric_type("m", MetricType::Unknown);
        w.metric_type("m", MetricType::Summary);
        w.metric_type("m", MetricType::StateSet);
        assert_eq!(
            out,
            "# HELP m a \\\\ b\\nc \"d\"\n# HELP \"m.x\" \n# TYPE m untyped\n# TYPE m summary\n# TYPE m untyped\n"
        );
    }
}
