//! OpenMetrics 1.0 text, one line per entry.
//!
//! Stricter than the text format: exactly one space between tokens and none inside label
//! blocks, no blank lines, `#` lines are only `HELP`, `TYPE`, `UNIT` or the final `EOF`,
//! timestamps are float seconds, and a sample may end in an exemplar (`# {a="b"} 1 2.5`).

use crate::error::go_quote;
use crate::family::Family;
use crate::fields::{
    Keyword, RawName, canonical_nan, label_name, label_value, legacy_metric_name, metadata_name,
    metric_type, non_finite_name, seconds_to_millis, set_inner_metric_name,
};
use crate::gofloat::parse_float;
use crate::labels::unescape_label_value;
use crate::lex::{Cursor, Got, TokenKind, is_metric_name_start, label_token};
use crate::{Entry, Exemplar, Format, ParseError, Sample};

const MISSING_EOF: &str = "data does not end with # EOF";

/// The next entry; `Ok(None)` after `# EOF` closed the body.
pub(crate) fn next_entry<'a>(
    c: &mut Cursor<'a>,
    family: &mut Option<Family<'a>>,
) -> Result<Option<Entry<'a>>, ParseError> {
    match c.peek() {
        None => Err(c.error(MISSING_EOF)),
        Some(b'#') => hash_line(c, family),
        Some(b) if b == b'{' || is_metric_name_start(b) => {
            sample_line(c, *family).map(|s| Some(Entry::Sample(s)))
        }
        Some(_) => Err(c.unexpected("expected a valid start token", Got::invalid(c.pos))),
    }
}

/// `# HELP`, `# TYPE`, `# UNIT` or `# EOF`; OpenMetrics has no other comments.
fn hash_line<'a>(
    c: &mut Cursor<'a>,
    family: &mut Option<Family<'a>>,
) -> Result<Option<Entry<'a>>, ParseError> {
    let hash = c.pos;
    if c.peek_at(1) != Some(b' ') {
        return Err(c.unexpected("expected a valid start token", Got::failed(hash, hash + 1)));
    }
    let word = &c.buf[hash + 2..];
    let keyword = match word.get(..5) {
        Some(b"HELP ") => Keyword::Help,
        Some(b"TYPE ") => Keyword::Type,
        Some(b"UNIT ") => Keyword::Unit,
        _ if word.starts_with(b"EOF") => return end_of_body(c, hash + 5).map(|()| None),
        _ => {
            let got = Got::failed(hash, hash + 2);
            return Err(c.unexpected("expected a valid start token", got));
        }
    };
    c.pos = hash + 7;
    metadata(c, keyword, family).map(Some)
}

/// After `# EOF` only its newline may follow.
fn end_of_body(c: &mut Cursor<'_>, after_eof: usize) -> Result<(), ParseError> {
    c.pos = after_eof;
    if c.peek() == Some(b'\n') {
        c.next_line_after(after_eof);
    }
    if c.at_end() {
        Ok(())
    } else {
        Err(c.error("unexpected data after # EOF"))
    }
}

/// The name and text of a metadata line: `# KEYWORD name text\n`, newline required.
fn metadata<'a>(
    c: &mut Cursor<'a>,
    keyword: Keyword,
    family: &mut Option<Family<'a>>,
) -> Result<Entry<'a>, ParseError> {
    let name = metadata_name(c, keyword)?;
    let newline = memchr::memchr(b'\n', c.rest()).map(|n| c.pos + n);
    let (Some(b' '), Some(newline)) = (c.peek(), newline) else {
        return Err(c.error(format!("expected text in {}", keyword.as_str())));
    };
    let text = &c.buf[c.pos + 1..newline];
    let metric = name.decode();
    let entry = match keyword {
        Keyword::Help => {
            if std::str::from_utf8(text).is_err() {
                return Err(c.error(format!(
                    "help text {} is not a valid utf8 string",
                    go_quote(text)
                )));
            }
            Entry::Help {
                metric,
                text: unescape_label_value(text),
            }
        }
        Keyword::Type => {
            let kind = metric_type(text, Format::OpenMetrics)
                .ok_or_else(|| c.error(format!("invalid metric type {}", go_quote(text))))?;
            *family = Some(Family::new(name.bytes, kind));
            Entry::Type { metric, kind }
        }
        Keyword::Unit => {
            if !unit_suffixes(name.bytes, text) {
                return Err(c.error(format!(
                    "unit {} not a suffix of metric {}",
                    go_quote(text),
                    go_quote(name.bytes)
                )));
            }
            Entry::Unit {
                metric,
                unit: String::from_utf8_lossy(text),
            }
        }
    };
    c.next_line_after(newline);
    Ok(entry)
}

/// OpenMetrics requires a family with a unit to be named `…_<unit>`.
fn unit_suffixes(name: &[u8], unit: &[u8]) -> bool {
    unit.is_empty()
        || (name.len() > unit.len()
            && name.ends_with(unit)
            && name[name.len() - unit.len() - 1] == b'_')
}

/// `name{labels} value [timestamp] [# {labels} value [timestamp]]`.
fn sample_line<'a>(
    c: &mut Cursor<'a>,
    family: Option<Family<'a>>,
) -> Result<Sample<'a>, ParseError> {
    let start = c.pos;
    let mut name = legacy_metric_name(c);
    let mut label_block: &[u8] = &[];
    if c.peek() == Some(b'{') {
        label_block = labels(c, Some(&mut name))?;
    }
    let series_end = c.pos;
    let Some(name) = name else {
        // Prometheus notices after reading the value, and shows it.
        spaced_token(c);
        return Err(c.while_parsing("metric name not set", c.pos));
    };
    let Some(value_token) = spaced_token(c) else {
        return Err(c.unexpected("expected value after metric", missing_token(c)));
    };
    let value =
        parse_float(value_token).map_err(|e| c.while_parsing(&e.message(value_token), c.pos))?;

    let mut timestamp_ms = None;
    let mut exemplar = None;
    if !line_ends(c)? {
        if !c.rest().starts_with(b" # {") {
            let Some(token) = spaced_token(c) else {
                return Err(c.unexpected("expected timestamp or new record", missing_token(c)));
            };
            timestamp_ms = Some(timestamp(c, token, "invalid timestamp")?);
        }
        if !line_ends(c)? {
            if !c.rest().starts_with(b" # {") {
                return Err(c.unexpected(
                    "expected next entry after timestamp",
                    timestamp_state_token(c),
                ));
            }
            exemplar = Some(parse_exemplar(c)?);
        }
    }
    c.next_line_after(c.pos);
    Ok(Sample {
        series: &c.buf[start..series_end],
        name: name.bytes,
        name_quoted: name.quoted,
        label_block,
        value: canonical_nan(value),
        timestamp_ms,
        exemplar,
        metric_type: Family::type_of(family, name.bytes),
    })
}

/// ` # {labels} value [timestamp]` through the end of the line (not consumed).
fn parse_exemplar<'a>(c: &mut Cursor<'a>) -> Result<Exemplar<'a>, ParseError> {
    c.pos += 3;
    let label_block = labels(c, None)?;
    let Some(value_token) = spaced_token(c) else {
        return Err(c.unexpected("expected value after exemplar labels", missing_token(c)));
    };
    let value =
        parse_float(value_token).map_err(|e| c.while_parsing(&e.message(value_token), c.pos))?;
    let mut timestamp_ms = None;
    if !line_ends(c)? {
        let Some(token) = spaced_token(c) else {
            return Err(c.unexpected("expected timestamp or comment", missing_token(c)));
        };
        timestamp_ms = Some(timestamp(c, token, "invalid exemplar timestamp")?);
        if !line_ends(c)? {
            return Err(c.unexpected(
                "expected next entry after exemplar timestamp",
                timestamp_state_token(c),
            ));
        }
    }
    Ok(Exemplar {
        label_block,
        value: canonical_nan(value),
        timestamp_ms,
    })
}

/// Float seconds to milliseconds; `invalid` words the error for NaN and infinities.
fn timestamp(c: &Cursor<'_>, token: &[u8], invalid: &str) -> Result<i64, ParseError> {
    let seconds = parse_float(token).map_err(|e| c.while_parsing(&e.message(token), c.pos))?;
    if !seconds.is_finite() {
        return Err(c.error(format!("{invalid} {}", non_finite_name(seconds))));
    }
    Ok(seconds_to_millis(seconds))
}

/// True at the line's newline; the body may not end mid-line.
fn line_ends(c: &Cursor<'_>) -> Result<bool, ParseError> {
    match c.peek() {
        None => Err(c.error(MISSING_EOF)),
        Some(b) => Ok(b == b'\n'),
    }
}

/// ` token`: one space, then bytes up to the next space or newline.
fn spaced_token<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    if c.peek() != Some(b' ') || matches!(c.peek_at(1), None | Some(b' ' | b'\n')) {
        return None;
    }
    let start = c.pos + 1;
    let len = c.buf[start..]
        .iter()
        .take_while(|&&b| b != b' ' && b != b'\n')
        .count();
    c.pos = start + len;
    Some(&c.buf[start..start + len])
}

/// What stands where a ` token` was expected.
fn missing_token(c: &Cursor<'_>) -> Got {
    match c.peek() {
        None => Got {
            start: c.pos,
            end: c.pos,
            kind: TokenKind::Eof,
        },
        // A space that no token follows fails on the byte after it.
        Some(b' ') => Got::failed(c.pos, c.pos + 1),
        Some(_) => Got::invalid(c.pos),
    }
}

/// What stands after a timestamp: another ` token` counts as a timestamp, as in
/// Prometheus's lexer.
fn timestamp_state_token(c: &Cursor<'_>) -> Got {
    let mut probe = Cursor::new(c.buf, false);
    probe.pos = c.pos;
    match spaced_token(&mut probe) {
        Some(_) => Got {
            start: c.pos,
            end: probe.pos,
            kind: TokenKind::Timestamp,
        },
        None => missing_token(c),
    }
}

/// The label block at `{`, without braces: no blanks, `,` between pairs and optionally
/// before `}`. With `name`, a quoted name standing alone is the metric name; exemplars
/// (`None`) allow no such name.
fn labels<'a>(
    c: &mut Cursor<'a>,
    mut name: Option<&mut Option<RawName<'a>>>,
) -> Result<&'a [u8], ParseError> {
    c.pos += 1;
    let block_start = c.pos;
    while c.peek() != Some(b'}') {
        let label = label_name(c)?;
        if label.quoted && matches!(c.peek(), Some(b',' | b'}')) {
            let Some(slot) = name.as_deref_mut() else {
                return Err(c.unexpected("expected label name", label_token(c.buf, c.pos)));
            };
            set_inner_metric_name(c, slot, label)?;
        } else {
            if c.peek() != Some(b'=') {
                return Err(c.unexpected("expected equal", label_token(c.buf, c.pos)));
            }
            c.pos += 1;
            label_value(c)?;
        }
        match c.peek() {
            Some(b',') => c.pos += 1,
            Some(b'}') => {}
            _ => {
                return Err(
                    c.unexpected("expected comma or brace close", label_token(c.buf, c.pos))
                );
            }
        }
    }
    let block = &c.buf[block_start..c.pos];
    c.pos += 1;
    Ok(block)
}
