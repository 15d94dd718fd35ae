//! A runner for Prometheus's PromQL test scripts (`promql/promqltest/testdata/*.test`).
//!
//! The script text is parsed into commands (`load`, `clear`, `eval …`) and run against any
//! storage that is both [`Appendable`] and [`Queryable`], so other crates can run the same
//! scripts against their own stores. Each eval yields an [`EvalResult`]; the caller decides
//! what must pass.
//!
//! Not yet supported: native-histogram values (`{{…}}` lines are skipped while loading),
//! start timestamps (`@st` lines are skipped) and the harness's extra `@`-modifier runs of
//! instant evals.

use crate::{Engine, EngineOptions, QueryValue};
use crate::histogram::almost_equal;
use ember_model::{Labels, PromRegex, STALE_NAN, is_stale_nan};
use ember_storage::{Appendable, MemStorage, Queryable};
use std::collections::BTreeMap;
use std::time::Duration;

/// The outcome of one `eval` command.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResult {
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// `None` when the eval passed, else why it failed.
    pub failure: Option<String>,
}

/// An engine configured like Prometheus's test harness (5m lookback, 10000 samples, 100s
/// timeout, 1m default subquery step).
pub fn test_engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta: Duration::from_secs(300),
        max_samples: 10_000,
        timeout: Duration::from_secs(100),
        default_subquery_step: Duration::from_secs(60),
    })
}

/// Runs `script` against fresh [`MemStorage`]s.
pub fn run_script(script: &str) -> Vec<EvalResult> {
    run_script_with(script, &test_engine(), MemStorage::new)
}

/// Runs `script`, calling `new_storage` at the start and for every `clear`.
pub fn run_script_with<S: Appendable + Queryable>(
    script: &str,
    engine: &Engine,
    mut new_storage: impl FnMut() -> S,
) -> Vec<EvalResult> {
    let lines: Vec<&str> = script
        .lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut storage = new_storage();
    let mut results = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let block_end = (i + 1..lines.len())
            .find(|&j| lines[j].is_empty())
            .unwrap_or(lines.len());
        let body = &lines[i + 1..block_end];
        if line == "clear" {
            storage = new_storage();
            i += 1;
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("load_with_nhcb ")
            .or_else(|| line.strip_prefix("load "))
        {
            if let Some(interval) = parse_duration(rest.trim()) {
                load(&storage, interval, body);
            }
            i = block_end;
            continue;
        }
        if line.starts_with("eval") {
            let failure = match parse_eval(line, body) {
                Ok((eval, consumed)) => {
                    // `expected_fail_*` lines end the block early.
                    i += consumed;
                    run_eval(engine, &storage, &eval).err()
                }
                Err(e) => {
                    i = block_end;
                    Some(format!("bad eval command: {e}"))
                }
            };
            results.push(EvalResult {
                line: i_line(&lines, line, i),
                failure,
            });
            i = i.max(block_end);
            continue;
        }
        i += 1;
    }
    results
}

/// The 1-based line number of the command `cmd` found at or before index `at`.
fn i_line(lines: &[&str], cmd: &str, at: usize) -> usize {
    (0..=at.min(lines.len() - 1))
        .rev()
        .find(|&j| lines[j] == cmd)
        .map_or(at + 1, |j| j + 1)
}

/// Parses a Prometheus duration (`1h30m`, `10s`, `1ms`) or a plain number of seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        return Some((secs * 1000.0).round() as i64);
    }
    let mut total = 0i64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total += n * ms;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn load<S: Appendable>(storage: &S, interval: i64, body: &[&str]) {
    // A later line for the same series and timestamp overwrites an earlier one, as in
    // Prometheus's loader; collect first, then append in time order.
    let mut series: Vec<(Labels, BTreeMap<i64, f64>)> = Vec::new();
    for line in body {
        // Native histograms and start timestamps are not supported yet.
        if line.contains("{{") || line.contains("}@st") || line.contains("@st ") {
            continue;
        }
        let Ok((labels, values)) = parse_series_line(line) else {
            continue;
        };
        let Ok(values) = expand_values(values) else {
            continue;
        };
        let idx = match series.iter().position(|(l, _)| l == &labels) {
            Some(i) => i,
            None => {
                series.push((labels, BTreeMap::new()));
                series.len() - 1
            }
        };
        for (k, v) in values.into_iter().enumerate() {
            if let Some(v) = v {
                series[idx].1.insert(k as i64 * interval, v);
            }
        }
    }
    let mut app = storage.appender();
    for (labels, samples) in &series {
        for (&t, &v) in samples {
            let _ = app.append(0, labels, t, v);
        }
    }
    let _ = app.commit();
}

/// Splits `name{a="b"} values…` into labels and the value text.
fn parse_series_line(line: &str) -> Result<(Labels, &str), String> {
    let (series, rest) = match line.find('{') {
        Some(open) if !line[..open].contains(char::is_whitespace) => {
            let close = find_closing_brace(line, open).ok_or("unclosed '{'")?;
            (&line[..=close], &line[close + 1..])
        }
        _ => line.split_at(line.find(char::is_whitespace).unwrap_or(line.len())),
    };
    Ok((parse_labels(series.trim())?, rest.trim()))
}

fn find_closing_brace(s: &str, open: usize) -> Option<usize> {
    let mut in_str: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s[open..].char_indices() {
        match (in_str, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => in_str = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => in_str = Some(c),
            (None, '}') => return Some(open + i),
            (None, _) => {}
        }
    }
    None
}

/// Parses `name{a="b", "utf8.name"="c"}`, `name` or `{…}` into labels.
fn parse_labels(s: &str) -> Result<Labels, String> {
    let (name, inner) = match s.find('{') {
        Some(open) => (&s[..open], s[open + 1..].strip_suffix('}').ok_or("missing '}'")?),
        None => (s, ""),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        pairs.push(("__name__".into(), name.to_string()));
    }
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (key, after) = if rest.starts_with('"') {
            let (k, used) = unquote(rest)?;
            (k, &rest[used..])
        } else {
            let end = rest
                .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
                .unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        let after = after.trim_start();
        if let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start();
            let (value, used) = unquote(v)?;
            pairs.push((key, value));
            rest = v[used..].trim_start();
        } else {
            // A bare quoted string is the metric name.
            pairs.push(("__name__".into(), key));
            rest = after;
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(Labels::from_pairs(pairs))
}

/// Unquotes a Go string literal at the start of `s`; returns it and the bytes consumed.
fn unquote(s: &str) -> Result<(String, usize), String> {
    let quote = s.chars().next().ok_or("expected a quoted string")?;
    if !matches!(quote, '"' | '\'' | '`') {
        return Err(format!("expected a quoted string at {s:?}"));
    }
    let mut out = Vec::<u8>::new();
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        let b = bytes[i];
        if b == quote as u8 {
            return Ok((String::from_utf8_lossy(&out).into_owned(), i + 1));
        }
        if b == b'\\' && quote != '`' && i + 1 < bytes.len() {
            let e = bytes[i + 1];
            i += 2;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'x' => {
                    let h = s.get(i..i + 2).ok_or("bad \\x escape")?;
                    out.push(u8::from_str_radix(h, 16).map_err(|e| e.to_string())?);
                    i += 2;
                }
                b'u' | b'U' => {
                    let n = if e == b'u' { 4 } else { 8 };
                    let h = s.get(i..i + n).ok_or("bad unicode escape")?;
                    let c = u32::from_str_radix(h, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("bad unicode escape")?;
                    out.extend_from_slice(c.to_string().as_bytes());
                    i += n;
                }
                other => out.push(other),
            }
            continue;
        }
        out.push(b);
        i += 1;
    }
    Err("unterminated string".into())
}

/// Parses a number as the scripts write it: `1`, `-2.5`, `1e3`, `0x10`, `Inf`, `NaN`.
pub fn parse_number(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()? as f64
    } else {
        match body.to_ascii_lowercase().as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            b if b.starts_with(|c: char| c.is_ascii_digit() || c == '.') => b.parse().ok()?,
            _ => return None,
        }
    };
    Some(if neg { -v } else { v })
}

/// Expands series notation (`1 2 _ stale 0+10x3 _x2 5x2`) into one slot per interval.
pub fn expand_values(text: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        if tok == "_" {
            out.push(None);
        } else if tok == "stale" {
            out.push(Some(STALE_NAN));
        } else if let Some((head, times)) = split_times(tok) {
            match head {
                "_" => out.extend(std::iter::repeat_n(None, times)),
                "stale" => out.extend(std::iter::repeat_n(Some(STALE_NAN), times + 1)),
                _ => {
                    let (start, delta) =
                        split_increment(head).ok_or_else(|| format!("bad value {tok:?}"))?;
                    // Repeated addition, as Prometheus does, so float drift matches.
                    let mut v = start;
                    for _ in 0..=times {
                        out.push(Some(v));
                        v += delta;
                    }
                }
            }
        } else {
            out.push(Some(parse_number(tok).ok_or_else(|| format!("bad value {tok:?}"))?));
        }
    }
    Ok(out)
}

/// Splits `<head>x<N>`; in series notation `0x5` means six zeros, not hex.
fn split_times(tok: &str) -> Option<(&str, usize)> {
    let x = tok.rfind('x')?;
    let times = tok[x + 1..].parse().ok()?;
    let head = &tok[..x];
    (!head.is_empty()).then_some((head, times))
}

/// Splits `a+b` / `a-b` / `a` into start and increment.
fn split_increment(s: &str) -> Option<(f64, f64)> {
    let bytes = s.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            let a = parse_number(&s[..i])?;
            let b = parse_number(&s[i + 1..])?;
            return Some((a, if bytes[i] == b'-' { -b } else { b }));
        }
    }
    parse_number(s).map(|a| (a, 0.0))
}

/// What an eval expects.
#[derive(Debug, Default)]
struct Eval {
    query: String,
    /// `(start, end, step)`; an instant eval has `start == end` and `step == 0`.
    range: Option<(i64, i64, i64)>,
    at: i64,
    ordered: bool,
    fail: Option<FailExpectation>,
    string: Option<String>,
    scalar: Option<f64>,
    range_vector: Option<(i64, i64, i64)>,
    series: Vec<(Labels, Vec<Option<f64>>)>,
    expect_warn: Option<bool>,
    expect_info: Option<bool>,
}

#[derive(Debug)]
enum FailExpectation {
    Any,
    Message(String),
    Regex(String),
}

/// Parses an eval command and its block; returns it and the number of lines consumed.
fn parse_eval(cmd: &str, body: &[&str]) -> Result<(Eval, usize), String> {
    let (word, rest) = cmd.split_once(' ').ok_or("empty eval")?;
    let mut ev = Eval::default();
    match word {
        "eval" | "eval_warn" | "eval_info" => {}
        "eval_ordered" => ev.ordered = true,
        "eval_fail" => ev.fail = Some(FailExpectation::Any),
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
            ev.fail = Some(FailExpectation::Message(m.trim().to_string()));
            break;
        }
        if let Some(m) = line.strip_prefix("expected_fail_regexp ") {
            ev.fail = Some(FailExpectation::Regex(m.trim().to_string()));
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
        "fail" => {
            ev.fail = Some(if let Some(m) = arg.strip_prefix("msg:") {
                FailExpectation::Message(m.trim().to_string())
            } else if let Some(r) = arg.strip_prefix("regex:") {
                FailExpectation::Regex(r.trim().to_string())
            } else {
                FailExpectation::Any
            })
        }
        "ordered" => ev.ordered = true,
        "string" => ev.string = Some(unquote(arg)?.0),
        "warn" => ev.expect_warn = Some(true),
        "no_warn" => ev.expect_warn = Some(false),
        "info" => ev.expect_info = Some(true),
        "no_info" => ev.expect_info = Some(false),
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

fn run_eval<S: Queryable>(engine: &Engine, storage: &S, ev: &Eval) -> Result<(), String> {
    let result = match (ev.range, ev.range_vector) {
        (Some((s, e, step)), _) => engine.range_query_with_warnings(storage, &ev.query, s, e, step),
        (None, Some((_, end, _))) => engine.instant_query_with_warnings(storage, &ev.query, end),
        (None, None) => engine.instant_query_with_warnings(storage, &ev.query, ev.at),
    };
    let out = match (result, &ev.fail) {
        (Err(e), Some(expect)) => return check_failure(&e.message, expect),
        (Err(e), None) => return Err(format!("unexpected error: {}", e.message)),
        (Ok(_), Some(_)) => return Err("expected the query to fail".into()),
        (Ok(out), None) => out,
    };
    check_annotations(ev, &out.warnings)?;
    compare(ev, &out.value)?;
    if ev.range.is_none() && ev.range_vector.is_none() && ev.string.is_none() && !ev.ordered {
        check_range_variant(engine, storage, ev)?;
    }
    Ok(())
}

/// Prometheus's harness also runs every instant eval as a range query from t-1m to t+1m
/// and checks the middle step.
fn check_range_variant<S: Queryable>(engine: &Engine, storage: &S, ev: &Eval) -> Result<(), String> {
    let Ok(out) = engine.range_query(storage, &ev.query, ev.at - 60_000, ev.at + 60_000, 60_000) else {
        // Some instant-only expressions (strings, range vectors) cannot run as range queries.
        return Ok(());
    };
    let QueryValue::Matrix(m) = out else {
        return Err("range variant returned a non-matrix".into());
    };
    let middle: Vec<crate::Sample> = m
        .into_iter()
        .filter_map(|s| {
            s.points.iter().find(|p| p.0 == ev.at).map(|p| crate::Sample {
                labels: s.labels.clone(),
                t: p.0,
                v: p.1,
            })
        })
        .collect();
    let value = match ev.scalar {
        Some(_) => QueryValue::Scalar {
            t: ev.at,
            v: middle.first().map_or(f64::NAN, |s| s.v),
        },
        None => QueryValue::Vector(middle),
    };
    compare(ev, &value).map_err(|e| format!("range variant: {e}"))
}

fn check_failure(msg: &str, expect: &FailExpectation) -> Result<(), String> {
    match expect {
        FailExpectation::Any => Ok(()),
        FailExpectation::Message(m) if m == msg => Ok(()),
        FailExpectation::Message(m) => Err(format!("expected error {m:?}, got {msg:?}")),
        FailExpectation::Regex(r) => {
            let re = PromRegex::new(&format!(".*(?:{r}).*")).map_err(|e| e.to_string())?;
            if re.is_match(msg) {
                Ok(())
            } else {
                Err(format!("error {msg:?} does not match {r:?}"))
            }
        }
    }
}

fn check_annotations(ev: &Eval, warnings: &[String]) -> Result<(), String> {
    let has = |prefix: &str| warnings.iter().any(|w| w.starts_with(prefix));
    for (want, prefix, kind) in [
        (ev.expect_warn, "PromQL warning", "warning"),
        (ev.expect_info, "PromQL info", "info"),
    ] {
        match want {
            Some(true) if !has(prefix) => return Err(format!("expected a {kind} annotation")),
            Some(false) if has(prefix) => {
                return Err(format!("unexpected {kind} annotation: {warnings:?}"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Float equality as Prometheus's harness checks it.
fn same_value(expected: f64, actual: f64) -> bool {
    if is_stale_nan(expected) || is_stale_nan(actual) {
        return is_stale_nan(expected) && is_stale_nan(actual);
    }
    if expected.is_nan() && actual.is_nan() {
        return true;
    }
    almost_equal(expected, actual, 1e-6)
}

fn compare(ev: &Eval, value: &QueryValue) -> Result<(), String> {
    if let Some(want) = &ev.string {
        return match value {
            QueryValue::String { v, .. } if v == want => Ok(()),
            other => Err(format!("expected string {want:?}, got {other:?}")),
        };
    }
    if let Some(want) = ev.scalar {
        return match value {
            QueryValue::Scalar { v, .. } if same_value(want, *v) => Ok(()),
            other => Err(format!("expected scalar {want}, got {other:?}")),
        };
    }
    match value {
        QueryValue::Vector(samples) => compare_vector(ev, samples),
        QueryValue::Matrix(series) => compare_matrix(ev, series),
        other => Err(format!("expected a vector, got {other:?}")),
    }
}

fn compare_vector(ev: &Eval, samples: &[crate::Sample]) -> Result<(), String> {
    if samples.len() != ev.series.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            ev.series.len(),
            samples.len(),
            samples.iter().map(|s| format!("{} {}", s.labels, s.v)).collect::<Vec<_>>().join(", ")
        ));
    }
    for (pos, (labels, values)) in ev.series.iter().enumerate() {
        let want = values.first().copied().flatten().ok_or("expected sample without value")?;
        let found = samples.iter().position(|s| &s.labels == labels);
        let Some(idx) = found else {
            return Err(format!("missing sample {labels}"));
        };
        if ev.ordered && idx != pos {
            return Err(format!("sample {labels} at position {idx}, expected {pos}"));
        }
        if !same_value(want, samples[idx].v) {
            return Err(format!("{labels}: expected {want}, got {}", samples[idx].v));
        }
    }
    Ok(())
}

fn compare_matrix(ev: &Eval, series: &[crate::SeriesPoints]) -> Result<(), String> {
    let (start, step) = match (ev.range, ev.range_vector) {
        (Some((s, _, step)), _) | (None, Some((s, _, step))) => (s, step),
        (None, None) => return Err("got a range vector for an instant eval".into()),
    };
    if series.len() != ev.series.len() {
        return Err(format!(
            "expected {} series, got {}: {}",
            ev.series.len(),
            series.len(),
            series.iter().map(|s| s.labels.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    for (labels, values) in &ev.series {
        let got = series
            .iter()
            .find(|s| &s.labels == labels)
            .ok_or_else(|| format!("missing series {labels}"))?;
        let want: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (start + k as i64 * step, v)))
            .collect();
        let same = want.len() == got.points.len()
            && want
                .iter()
                .zip(&got.points)
                .all(|(w, g)| w.0 == g.0 && same_value(w.1, g.1));
        if !same {
            return Err(format!("{labels}: expected {want:?}, got {:?}", got.points));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_notation() {
        assert_eq!(
            expand_values("1 _ 0+10x2 -1-1x1 _x2 3x1").unwrap(),
            vec![
                Some(1.0),
                None,
                Some(0.0),
                Some(10.0),
                Some(20.0),
                Some(-1.0),
                Some(-2.0),
                None,
                None,
                Some(3.0),
                Some(3.0)
            ]
        );
        assert_eq!(parse_number("0x10"), Some(16.0));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        let (l, v) = parse_series_line(r#"m{a="x y", b="1"} 1 2"#).unwrap();
        assert_eq!(l.to_string(), r#"{__name__="m", a="x y", b="1"}"#);
        assert_eq!(v, "1 2");
    }

    #[test]
    fn small_script() {
        let script = "load 1m\n  m{a=\"1\"} 0+1x10\n\neval instant at 5m m\n  m{a=\"1\"} 5\n\neval instant at 5m rate(m[5m])\n  {a=\"1\"} 0.016666666\n";
        let r = run_script(script);
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|e| e.failure.is_none()), "{r:?}");
    }
}
