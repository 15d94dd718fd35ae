//! The Prometheus text format 0.0.4, one line per entry.
//!
//! Blanks (spaces and tabs) may separate any two tokens, blank lines are skipped, and any
//! `#` line that is not `# HELP` or `# TYPE` is a comment. The last line may lack its
//! newline.

use crate::error::go_quote;
use crate::family::Family;
use crate::fields::{
    Keyword, RawName, canonical_nan, label_name, label_value, legacy_metric_name, metadata_name,
    metric_type, set_inner_metric_name,
};
use crate::gofloat::parse_float;
use crate::labels::unescape_help;
use crate::lex::{Cursor, Got, TokenKind, is_blank, is_metric_name_start, label_token};
use crate::{Entry, Format, ParseError, Sample};

/// The next entry, `Ok(None)` at the end of the body.
pub(crate) fn next_entry<'a>(
    c: &mut Cursor<'a>,
    family: &mut Option<Family<'a>>,
) -> Result<Option<Entry<'a>>, ParseError> {
    loop {
        c.skip_blanks();
        match c.peek() {
            None => return Ok(None),
            Some(b'\n') => c.next_line_after(c.pos),
            Some(b'#') => return hash_line(c, family).map(Some),
            Some(b) if b == b'{' || is_metric_name_start(b) => {
                return sample_line(c, *family).map(|s| Some(Entry::Sample(s)));
            }
            Some(_) => {
                return Err(c.unexpected("expected a valid start token", Got::invalid(c.pos)));
            }
        }
    }
}

/// A `#` line: `# HELP`, `# TYPE`, or a comment.
fn hash_line<'a>(
    c: &mut Cursor<'a>,
    family: &mut Option<Family<'a>>,
) -> Result<Entry<'a>, ParseError> {
    let hash = c.pos;
    let end = c.line_end();
    let after_hash = &c.buf[hash + 1..end];
    let blanks = after_hash.iter().take_while(|&&b| is_blank(b)).count();
    let word = &after_hash[blanks..];
    let keyword = match word.get(..5) {
        _ if blanks == 0 => None,
        Some([b'H', b'E', b'L', b'P', sep]) if is_blank(*sep) => Some(Keyword::Help),
        Some([b'T', b'Y', b'P', b'E', sep]) if is_blank(*sep) => Some(Keyword::Type),
        _ => None,
    };
    let Some(keyword) = keyword else {
        c.next_line_after(end);
        return Ok(Entry::Comment {
            text: String::from_utf8_lossy(&c.buf[hash..end]),
        });
    };
    c.pos = hash + 1 + blanks + 4;
    c.skip_blanks();
    let entry = metadata(c, keyword, end, family)?;
    c.next_line_after(end);
    Ok(entry)
}

/// The name and text of `# HELP` or `# TYPE`; the line ends at `end`.
fn metadata<'a>(
    c: &mut Cursor<'a>,
    keyword: Keyword,
    end: usize,
    family: &mut Option<Family<'a>>,
) -> Result<Entry<'a>, ParseError> {
    let name = metadata_name(c, keyword)?;
    let rest = &c.buf[c.pos..end];
    // Prometheus takes the rest of the line as the text and drops its first byte, which is
    // normally the blank after the name; a rest of only blanks is no text.
    let text = if rest.iter().all(|&b| is_blank(b)) {
        &rest[..0]
    } else {
        &rest[1..]
    };
    let metric = name.decode();
    match keyword {
        Keyword::Help => {
            if std::str::from_utf8(text).is_err() {
                return Err(c.error(format!(
                    "help text {} is not a valid utf8 string",
                    go_quote(text)
                )));
            }
            Ok(Entry::Help {
                metric,
                text: unescape_help(text),
            })
        }
        _ => {
            let kind = metric_type(text, Format::PromText)
                .ok_or_else(|| c.error(format!("invalid metric type {}", go_quote(text))))?;
            *family = Some(Family::new(name.bytes, kind));
            Ok(Entry::Type { metric, kind })
        }
    }
}

/// `name{labels} value [timestamp]`, or `{"name", labels} value [timestamp]`.
fn sample_line<'a>(
    c: &mut Cursor<'a>,
    family: Option<Family<'a>>,
) -> Result<Sample<'a>, ParseError> {
    let start = c.pos;
    let mut name = legacy_metric_name(c);
    let mut series_end = c.pos;
    c.skip_blanks();
    let mut label_block: &[u8] = &[];
    if c.peek() == Some(b'{') {
        label_block = labels(c, &mut name)?;
        series_end = c.pos;
        c.skip_blanks();
    }

    let value_start = c.pos;
    while c
        .peek()
        .is_some_and(|b| !matches!(b, b'{' | b' ' | b'\t' | b'\n'))
    {
        c.pos += 1;
    }
    let Some(name) = name else {
        return Err(c.while_parsing("metric name not set", c.pos));
    };
    if c.pos == value_start {
        let got = match c.peek() {
            Some(b'{') => Got {
                start: c.pos,
                end: c.pos + 1,
                kind: TokenKind::BraceOpen,
            },
            _ => Got::invalid(c.pos),
        };
        return Err(c.unexpected("expected value after metric", got));
    }
    let value_token = &c.buf[value_start..c.pos];
    let value =
        parse_float(value_token).map_err(|e| c.while_parsing(&e.message(value_token), c.pos))?;

    c.skip_blanks();
    let timestamp_ms = match c.peek() {
        None | Some(b'\n') => None,
        Some(b) if b.is_ascii_digit() => Some(timestamp(c)?),
        Some(_) => {
            return Err(c.unexpected("expected timestamp or new record", Got::invalid(c.pos)));
        }
    };
    c.next_line_after(c.pos);
    Ok(Sample {
        series: &c.buf[start..series_end],
        name: name.bytes,
        name_quoted: name.quoted,
        label_block,
        value: canonical_nan(value),
        timestamp_ms,
        exemplar: None,
        metric_type: Family::type_of(family, name.bytes),
    })
}

/// The label block at `{`, returned without its braces. A quoted name standing alone is
/// the metric name and goes into `name`.
fn labels<'a>(c: &mut Cursor<'a>, name: &mut Option<RawName<'a>>) -> Result<&'a [u8], ParseError> {
    c.pos += 1;
    let block_start = c.pos;
    loop {
        c.skip_blanks();
        if c.peek() == Some(b'}') {
            break;
        }
        let label = label_name(c)?;
        c.skip_blanks();
        if label.quoted && matches!(c.peek(), Some(b',' | b'}')) {
            set_inner_metric_name(c, name, label)?;
            if c.peek() == Some(b',') {
                c.pos += 1;
            }
            continue;
        }
        if c.peek() != Some(b'=') {
            return Err(c.unexpected("expected equal", label_token(c.buf, c.pos)));
        }
        c.pos += 1;
        c.skip_blanks();
        label_value(c)?;
        c.skip_blanks();
        // Commas are optional between pairs here, unlike in OpenMetrics; Prometheus
        // accepts `{a="1" b="2"}` too.
        if c.peek() == Some(b',') {
            c.pos += 1;
        }
    }
    let block = &c.buf[block_start..c.pos];
    c.pos += 1;
    Ok(block)
}

/// Integer milliseconds, then the end of the line.
fn timestamp(c: &mut Cursor<'_>) -> Result<i64, ParseError> {
    let start = c.pos;
    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
        c.pos += 1;
    }
    let digits = &c.buf[start..c.pos];
    let millis = digits
        .iter()
        .try_fold(0i64, |n, &d| {
            n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
        .ok_or_else(|| {
            let reason = format!(
                "strconv.ParseInt: parsing {}: value out of range",
                go_quote(digits)
            );
            c.while_parsing(&reason, c.pos)
        })?;
    c.skip_blanks();
    match c.peek() {
        None | Some(b'\n') => Ok(millis),
        Some(_) => Err(c.unexpected("expected next entry after timestamp", Got::invalid(c.pos))),
    }
}
