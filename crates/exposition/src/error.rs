//! Parse errors and the Go-style quoting their messages use.

use std::fmt;

/// Why a body could not be parsed, and where.
///
/// The message follows Prometheus's wording (for example
/// `expected value after metric, got "\n" ("INVALID") while parsing: "a\n"`), so logs read
/// the same as Prometheus's `scrape` errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the offending entry.
    pub line: usize,
    /// The reason.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Quotes bytes like Go's `%q` does, so messages match Prometheus's: printable UTF-8 stays,
/// invalid bytes become `\xNN`, control characters get their short escapes.
pub(crate) fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_quoted_char(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
        // Go treats every other control and every non-ASCII space as unprintable.
        c if c.is_control() || (c.is_whitespace() && c != ' ') => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(b"a\n"), r#""a\n""#);
        assert_eq!(go_quote(b"a{b=\"c\""), r#""a{b=\"c\"""#);
        assert_eq!(go_quote(b"\xff\x00\t\\"), r#""\xff\x00\t\\""#);
        assert_eq!(
            go_quote("ö€ \u{a0}\u{85}".as_bytes()),
            r#""ö€ \u00a0\u0085""#
        );
    }

    #[test]
    fn display_names_the_line() {
        let e = ParseError {
            line: 12,
            message: "expected value after metric".into(),
        };
        assert_eq!(e.to_string(), "line 12: expected value after metric");
    }
}
