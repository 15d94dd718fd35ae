//! An `eval` command and its expectations.

use super::notation::{expand_values, parse_duration, parse_number, parse_series_line, unquote};
use ember_model::{Labels, PromRegex};

/// What an eval expects.
#[derive(Debug, Default)]
pub(super) struct Eval {
    pub(super) query: String,
    /// `(start, end, step)`; an instant eval has `start == end` and `step == 0`.
    pub(super) range: Option<(i64, i64, i64)>,
    pub(super) at: i64,
    pub(super) ordered: bool,
    pub(super) fail: Option<TextExpectation>,
    pub(super) string: Option<String>,
    pub(super) scalar: Option<f64>,
    pub(super) range_vector: Option<(i64, i64, i64)>,
    pub(super) series: Vec<(Labels, Vec<Option<f64>>)>,
    /// `expect warn|info [msg: …|regex: …]` lines.
    pub(super) annotations: Vec<(AnnotationKind, TextExpectation)>,
    pub(super) no_warn: bool,
    pub(super) no_info: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum AnnotationKind {
    Warning,
    Info,
}

impl AnnotationKind {
    pub(super) fn of(text: &str) -> Option<Self> {
        if text.starts_with("PromQL warning") {
            Some(AnnotationKind::Warning)
        } else if text.starts_with("PromQL info") {
            Some(AnnotationKind::Info)
        } else {
            None
        }
    }
}

/// How an expected error or annotation text is matched.
#[derive(Debug)]
pub(super) enum TextExpectation {
    /// Any text.
    Any,
    /// Exactly this text.
    Message(String),
    /// Text containing a match of this regex.
    Regex(String),
}

impl TextExpectation {
    fn parse(arg: &str) -> Self {
        if let Some(m) = arg.strip_prefix("msg:") {
            TextExpectation::Message(m.trim().to_string())
        } else if let Some(r) = arg.strip_prefix("regex:") {
            TextExpectation::Regex(r.trim().to_string())
        } else {
            TextExpectation::Any
        }
    }

    pub(super) fn matches(&self, text: &str) -> Result<bool, String> {
        Ok(match self {
            TextExpectation::Any => true,
            TextExpectation::Message(m) => m == text,
            TextExpectation::Regex(r) => PromRegex::new(&format!(".*(?:{r}).*"))
                .map_err(|e| e.to_string())?
                .is_match(text),
        })
    }
}

/// Parses an eval command and its block; returns it and the number of lines consumed.
pub(super) fn parse_eval(cmd: &str, body: &[&str]) -> Result<(Eval, usize), String> {
    let (word, rest) = cmd.split_once(' ').ok_or("empty eval")?;
    let mut ev = Eval::default();
    match word {
        "eval" | "eval_warn" | "eval_info" => {}
        "eval_ordered" => ev.ordered = true,
        "eval_fail" => ev.fail = Some(TextExpectation::Any),
        other => return Err(format!("unknown command {other}")),
    }
    let rest = rest.trim_start();
    if let Some(r) = rest.strip_prefix("instant at ") {
        let (at, q) = r.trim_start().split_once(' ').ok_or("missing query")?;
        ev.at = parse_duration(at).ok_or_else(|| format!("bad time {at:?}"))?;
        ev.query = q.trim().to_string();
    } else if let Some(r) = rest.strip_prefix("range from ") {
        let parts: Vec<&str> = r.splitn(6, ' ').collect();
        if parts.len() < 6 || parts[1] != "to" || parts[3] != "step" {
            return Err("expected `range from <start> to <end> step <step> <expr>`".into());
        }
        let d = |s: &str| parse_duration(s).ok_or_else(|| format!("bad duration {s:?}"));
        ev.range = Some((d(parts[0])?, d(parts[2])?, d(parts[4])?));
        ev.query = parts[5].trim().to_string();
    } else {
        return Err(format!("cannot parse {cmd:?}"));
    }
    let mut consumed = 1;
    for line in body {
        consumed += 1;
        if let Some(m) = line.strip_prefix("expected_fail_message ") {
            ev.fail = Some(TextExpectation::Message(m.trim().to_string()));
            break;
        }
        if let Some(m) = line.strip_prefix("expected_fail_regexp ") {
            ev.fail = Some(TextExpectation::Regex(m.trim().to_string()));
            break;
        }
        if let Some(e) = line.strip_prefix("expect ") {
            parse_expect(&mut ev, e.trim())?;
            continue;
        }
        if let Some(v) = parse_number(line) {
            ev.scalar = Some(v);
            continue;
        }
        let (labels, values) = parse_series_line(line)?;
        if values.contains("{{") {
            return Err("native histogram values are not supported".into());
        }
        ev.series.push((labels, expand_values(values)?));
    }
    Ok((ev, consumed))
}

fn parse_expect(ev: &mut Eval, e: &str) -> Result<(), String> {
    let (kind, arg) = e.split_once(' ').unwrap_or((e, ""));
    let arg = arg.trim();
    match kind {
        "fail" => ev.fail = Some(TextExpectation::parse(arg)),
        "ordered" => ev.ordered = true,
        "string" => ev.string = Some(unquote(arg)?.0),
        "warn" => ev
            .annotations
            .push((AnnotationKind::Warning, TextExpectation::parse(arg))),
        "info" => ev
            .annotations
            .push((AnnotationKind::Info, TextExpectation::parse(arg))),
        "no_warn" => ev.no_warn = true,
        "no_info" => ev.no_info = true,
        "range" => {
            let parts: Vec<&str> = arg.split_whitespace().collect();
            if parts.len() != 7 || parts[0] != "vector" || parts[1] != "from" {
                return Err(format!("bad `expect range` line: {e}"));
            }
            let d = |s: &str| parse_duration(s).ok_or_else(|| format!("bad duration {s:?}"));
            ev.range_vector = Some((d(parts[2])?, d(parts[4])?, d(parts[6])?));
        }
        other => return Err(format!("unknown expectation {other:?}")),
    }
    Ok(())
}
