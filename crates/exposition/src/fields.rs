//! Line pieces both formats share: metadata names, label names and values, values.

use crate::error::go_quote;
use crate::labels::decode_name;
use crate::lex::{Cursor, Got, label_name_len, label_token, metric_name_len, scan_quoted};
use crate::{Format, MetricType, NORMAL_NAN, ParseError};
use std::borrow::Cow;

/// The two metadata keywords both formats know, plus OpenMetrics' `UNIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    Help,
    Type,
    Unit,
}

impl Keyword {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Keyword::Help => "HELP",
            Keyword::Type => "TYPE",
            Keyword::Unit => "UNIT",
        }
    }
}

/// A metric or label name as written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawName<'a> {
    /// The name's bytes, without quotes.
    pub(crate) bytes: &'a [u8],
    /// Quoted names may hold escapes.
    pub(crate) quoted: bool,
}

impl<'a> RawName<'a> {
    fn legacy(bytes: &'a [u8]) -> Self {
        RawName {
            bytes,
            quoted: false,
        }
    }

    /// The name unescaped.
    pub(crate) fn decode(self) -> Cow<'a, str> {
        decode_name(self.bytes, self.quoted)
    }
}

/// The legacy metric name at the cursor, if one starts there.
pub(crate) fn legacy_metric_name<'a>(c: &mut Cursor<'a>) -> Option<RawName<'a>> {
    let len = metric_name_len(c.rest());
    let name = (len > 0).then(|| RawName::legacy(&c.buf[c.pos..c.pos + len]));
    c.pos += len;
    name
}

/// The metric name after `# HELP`/`# TYPE`/`# UNIT`: legacy, or quoted UTF-8.
pub(crate) fn metadata_name<'a>(
    c: &mut Cursor<'a>,
    keyword: Keyword,
) -> Result<RawName<'a>, ParseError> {
    let missing = |c: &Cursor<'a>| {
        c.unexpected(
            &format!("expected metric name after {}", keyword.as_str()),
            Got::invalid(c.pos),
        )
    };
    if c.peek() == Some(b'"') {
        return match quoted_name(c, "metric name") {
            Err(NameError::Unterminated) => Err(missing(c)),
            Err(NameError::Invalid(e)) => Err(e),
            Ok(name) => Ok(name),
        };
    }
    legacy_metric_name(c).ok_or_else(|| missing(c))
}

/// A label name at the cursor: legacy, or quoted UTF-8. Quoted names followed by `,` or
/// `}` are metric names; the caller decides.
pub(crate) fn label_name<'a>(c: &mut Cursor<'a>) -> Result<RawName<'a>, ParseError> {
    let expected = |c: &Cursor<'a>| c.unexpected("expected label name", label_token(c.buf, c.pos));
    if c.peek() == Some(b'"') {
        return match quoted_name(c, "label name") {
            Err(NameError::Unterminated) => Err(expected(c)),
            Err(NameError::Invalid(e)) => Err(e),
            Ok(name) => Ok(name),
        };
    }
    match label_name_len(c.rest()) {
        0 => Err(expected(c)),
        len => {
            let name = RawName::legacy(&c.buf[c.pos..c.pos + len]);
            c.pos += len;
            Ok(name)
        }
    }
}

/// Why a quoted name was rejected.
enum NameError {
    Unterminated,
    Invalid(ParseError),
}

/// A `"…"` name; `what` names it in the UTF-8 error.
fn quoted_name<'a>(c: &mut Cursor<'a>, what: &str) -> Result<RawName<'a>, NameError> {
    let quoted = scan_quoted(c.buf, c.pos).map_err(|_| NameError::Unterminated)?;
    let inner = &c.buf[c.pos + 1..quoted.end - 1];
    if !quoted.ascii && std::str::from_utf8(inner).is_err() {
        let raw = go_quote(&c.buf[c.pos..quoted.end]);
        return Err(NameError::Invalid(
            c.error(format!("invalid UTF-8 {what}: {raw}")),
        ));
    }
    c.pos = quoted.end;
    Ok(RawName {
        bytes: inner,
        quoted: true,
    })
}

/// A quoted label value at the cursor, checked for UTF-8 like Prometheus does.
pub(crate) fn label_value(c: &mut Cursor<'_>) -> Result<(), ParseError> {
    if c.peek() != Some(b'"') {
        return Err(c.unexpected("expected label value", Got::invalid(c.pos)));
    }
    match scan_quoted(c.buf, c.pos) {
        Err(fail) => {
            let got = Got::failed(c.pos, fail);
            Err(c.unexpected("expected label value", got))
        }
        Ok(quoted) => {
            if !quoted.ascii && std::str::from_utf8(&c.buf[c.pos + 1..quoted.end - 1]).is_err() {
                let raw = go_quote(&c.buf[c.pos..quoted.end]);
                return Err(c.error(format!("invalid UTF-8 label value: {raw}")));
            }
            c.pos = quoted.end;
            Ok(())
        }
    }
}

/// Records a quoted metric name found inside the braces; a second one is an error.
pub(crate) fn set_inner_metric_name<'a>(
    c: &Cursor<'a>,
    slot: &mut Option<RawName<'a>>,
    name: RawName<'a>,
) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(c.while_parsing("metric name already set", c.pos + 1));
    }
    *slot = Some(name);
    Ok(())
}

/// The metric type a `# TYPE` line names, if `format` knows it.
pub(crate) fn metric_type(text: &[u8], format: Format) -> Option<MetricType> {
    let openmetrics = format == Format::OpenMetrics;
    Some(match text {
        b"counter" => MetricType::Counter,
        b"gauge" => MetricType::Gauge,
        b"histogram" => MetricType::Histogram,
        b"summary" => MetricType::Summary,
        b"untyped" if !openmetrics => MetricType::Unknown,
        b"unknown" if openmetrics => MetricType::Unknown,
        b"gaugehistogram" if openmetrics => MetricType::GaugeHistogram,
        b"info" if openmetrics => MetricType::Info,
        b"stateset" if openmetrics => MetricType::StateSet,
        _ => return None,
    })
}

/// Prometheus stores every scraped NaN with one bit pattern, distinct from the staleness
/// marker.
pub(crate) fn canonical_nan(v: f64) -> f64 {
    if v.is_nan() { NORMAL_NAN } else { v }
}

/// OpenMetrics seconds to Prometheus milliseconds, truncating like Go's `int64(ts * 1000)`.
pub(crate) fn seconds_to_millis(seconds: f64) -> i64 {
    (seconds * 1000.0) as i64
}

/// Go's `%f` rendering of the only floats timestamps reject.
pub(crate) fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}
