//! The script notation: durations, numbers, label sets and series values (`0+10x3`).

use ember_model::{Labels, STALE_NAN};

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

/// Splits `name{a="b"} values…` into labels and the value text.
pub(super) fn parse_series_line(line: &str) -> Result<(Labels, &str), String> {
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
        Some(open) => (
            &s[..open],
            s[open + 1..].strip_suffix('}').ok_or("missing '}'")?,
        ),
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
pub(super) fn unquote(s: &str) -> Result<(String, usize), String> {
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
///
/// Native-histogram values (`{{…}}`, `{{…}}xN`, `{{…}}+{{…}}xN`) are not supported yet and
/// become empty slots, so the float samples of mixed series still load.
pub fn expand_values(text: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in tokenize_values(text) {
        if tok.starts_with("{{") {
            let times = tok
                .rsplit_once("}}x")
                .and_then(|(_, n)| n.parse::<usize>().ok())
                .unwrap_or(0);
            out.extend(std::iter::repeat_n(None, times + 1));
        } else if tok == "_" {
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
            out.push(Some(
                parse_number(tok).ok_or_else(|| format!("bad value {tok:?}"))?,
            ));
        }
    }
    Ok(out)
}

/// Splits value text at whitespace, keeping `{{…}}` groups (which contain spaces) whole.
fn tokenize_values(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let mut end = 0;
        let bytes = rest.as_bytes();
        let mut depth = 0usize;
        while end < bytes.len() {
            match bytes[end] {
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                b if b.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            end += 1;
        }
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    out
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
