//! Byte-level scanning and error reporting shared by the two format parsers.

use crate::error::{ParseError, go_quote};

const METRIC_START: u8 = 1;
const METRIC_CHAR: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL_CHAR: u8 = 8;

/// Character classes of the legacy name charsets, looked up once per byte.
static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let digit = c.is_ascii_digit();
        if alpha || c == b':' {
            t[b] |= METRIC_START | METRIC_CHAR;
        }
        if digit {
            t[b] |= METRIC_CHAR | LABEL_CHAR;
        }
        if alpha {
            t[b] |= LABEL_START | LABEL_CHAR;
        }
        b += 1;
    }
    t
};

/// `[a-zA-Z_:]`
pub(crate) fn is_metric_name_start(b: u8) -> bool {
    CLASSES[usize::from(b)] & METRIC_START != 0
}

/// `[a-zA-Z_]`
pub(crate) fn is_label_name_start(b: u8) -> bool {
    CLASSES[usize::from(b)] & LABEL_START != 0
}

/// Space or tab, the only blanks either format knows.
pub(crate) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Length of the legacy metric name `[a-zA-Z_:][a-zA-Z0-9_:]*` at the start of `b`.
pub(crate) fn metric_name_len(b: &[u8]) -> usize {
    match b.first() {
        Some(&c) if is_metric_name_start(c) => {
            1 + b[1..]
                .iter()
                .take_while(|&&c| CLASSES[usize::from(c)] & METRIC_CHAR != 0)
                .count()
        }
        _ => 0,
    }
}

/// Length of the legacy label name `[a-zA-Z_][a-zA-Z0-9_]*` at the start of `b`.
pub(crate) fn label_name_len(b: &[u8]) -> usize {
    match b.first() {
        Some(&c) if is_label_name_start(c) => {
            1 + b[1..]
                .iter()
                .take_while(|&&c| CLASSES[usize::from(c)] & LABEL_CHAR != 0)
                .count()
        }
        _ => 0,
    }
}

/// A double-quoted string that was closed properly.
pub(crate) struct Quoted {
    /// Index just past the closing quote.
    pub(crate) end: usize,
    /// True when no byte inside is above 0x7f, so no UTF-8 check is needed.
    pub(crate) ascii: bool,
}

/// Scans the `"…"` whose opening quote is at `start`. A backslash escapes the next byte;
/// a raw newline or the end of input leaves it unterminated: `Err(index of that byte)`.
pub(crate) fn scan_quoted(buf: &[u8], start: usize) -> Result<Quoted, usize> {
    let mut ascii = true;
    let mut i = start + 1;
    while let Some(&c) = buf.get(i) {
        match c {
            b'"' => return Ok(Quoted { end: i + 1, ascii }),
            b'\n' => return Err(i),
            b'\\' => match buf.get(i + 1) {
                None | Some(b'\n') => return Err(i + 1),
                Some(&escaped) => {
                    ascii &= escaped.is_ascii();
                    i += 2;
                }
            },
            _ => {
                ascii &= c.is_ascii();
                i += 1;
            }
        }
    }
    Err(i)
}

/// Token kinds as Prometheus names them in "got …" messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Invalid,
    Eof,
    LabelName,
    QuotedString,
    BraceOpen,
    BraceClose,
    Equal,
    Comma,
    Timestamp,
}

impl TokenKind {
    fn name(self) -> &'static str {
        match self {
            TokenKind::Invalid => "INVALID",
            TokenKind::Eof => "EOF",
            TokenKind::LabelName => "LNAME",
            TokenKind::QuotedString => "QSTRING",
            TokenKind::BraceOpen => "BOPEN",
            TokenKind::BraceClose => "BCLOSE",
            TokenKind::Equal => "EQUAL",
            TokenKind::Comma => "COMMA",
            TokenKind::Timestamp => "TIMESTAMP",
        }
    }
}

/// What was found where something else was expected: a token from `start` to `end`. For
/// an invalid token `end` is the byte that could not be matched. Messages show the token
/// plus the byte after it, as Prometheus's lexer does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Got {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) kind: TokenKind,
}

impl Got {
    /// An unmatched byte at `at`.
    pub(crate) fn invalid(at: usize) -> Self {
        Got::failed(at, at)
    }

    /// An invalid token that began at `start` and could not go on at byte `at`.
    pub(crate) fn failed(start: usize, at: usize) -> Self {
        Got {
            start,
            end: at,
            kind: TokenKind::Invalid,
        }
    }
}

/// The token at `pos` inside a label block.
pub(crate) fn label_token(buf: &[u8], pos: usize) -> Got {
    let token = |len: usize, kind| Got {
        start: pos,
        end: pos + len,
        kind,
    };
    match buf.get(pos) {
        Some(b'}') => token(1, TokenKind::BraceClose),
        Some(b',') => token(1, TokenKind::Comma),
        Some(b'=') => token(1, TokenKind::Equal),
        Some(b'"') => match scan_quoted(buf, pos) {
            Ok(q) => token(q.end - pos, TokenKind::QuotedString),
            Err(fail) => Got::failed(pos, fail),
        },
        Some(_) => match label_name_len(&buf[pos..]) {
            0 => Got::invalid(pos),
            n => token(n, TokenKind::LabelName),
        },
        None => Got::invalid(pos),
    }
}

/// The read position in a body, with the line bookkeeping errors need.
pub(crate) struct Cursor<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
    /// Start of the current line.
    pub(crate) line_start: usize,
    /// 1-based number of the current line.
    line: usize,
    /// The text format reads a missing final newline as present (Prometheus appends one),
    /// and its messages show it.
    virtual_newline: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], virtual_newline: bool) -> Self {
        Cursor {
            buf,
            pos: 0,
            line_start: 0,
            line: 1,
            virtual_newline,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, offset: usize) -> Option<u8> {
        self.buf.get(self.pos + offset).copied()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
    }

    /// Index of the newline ending the current line, or the end of input.
    pub(crate) fn line_end(&self) -> usize {
        memchr::memchr(b'\n', self.rest()).map_or(self.buf.len(), |n| self.pos + n)
    }

    /// Moves past the newline at `newline` (or the end of input) onto the next line.
    pub(crate) fn next_line_after(&mut self, newline: usize) {
        self.pos = (newline + 1).min(self.buf.len());
        self.line_start = self.pos;
        self.line += 1;
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            message: message.into(),
        }
    }

    /// `expected X, got "tok" ("KIND") while parsing: "line so far"`.
    pub(crate) fn unexpected(&self, expected: &str, got: Got) -> ParseError {
        let through = got.end + 1;
        self.error(format!(
            "{expected}, got {} (\"{}\") while parsing: {}",
            self.excerpt(got.start, through),
            got.kind.name(),
            self.excerpt(self.line_start, through)
        ))
    }

    /// `reason while parsing: "line through end"`.
    pub(crate) fn while_parsing(&self, reason: &str, end: usize) -> ParseError {
        self.error(format!(
            "{reason} while parsing: {}",
            self.excerpt(self.line_start, end)
        ))
    }

    /// `buf[start..end]` Go-quoted; past the end of a text-format body it shows the
    /// newline Prometheus would have appended.
    pub(crate) fn excerpt(&self, start: usize, end: usize) -> String {
        let len = self.buf.len();
        let start = start.min(len);
        if end > len && self.virtual_newline {
            let mut bytes = self.buf[start..].to_vec();
            bytes.push(b'\n');
            go_quote(&bytes)
        } else {
            go_quote(&self.buf[start..end.min(len)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lengths() {
        assert_eq!(metric_name_len(b"a:b_1{"), 5);
        assert_eq!(metric_name_len(b"1a"), 0);
        assert_eq!(label_name_len(b"_a1=\""), 3);
        assert_eq!(label_name_len(b":a"), 0);
    }

    #[test]
    fn quoted_strings() {
        let q = scan_quoted(br#""a\"b" x"#, 0).unwrap();
        assert_eq!((q.end, q.ascii), (6, true));
        assert!(!scan_quoted("\"é\"".as_bytes(), 0).unwrap().ascii);
        assert_eq!(scan_quoted(b"\"ab\ncd\"", 0).err(), Some(3));
        assert_eq!(scan_quoted(b"\"ab", 0).err(), Some(3));
        assert_eq!(scan_quoted(b"\"ab\\", 0).err(), Some(4));
    }

    #[test]
    fn label_tokens() {
        let b = br#"{a="b",,"q"=}"#;
        assert_eq!(label_token(b, 1).kind, TokenKind::LabelName);
        assert_eq!(label_token(b, 2).kind, TokenKind::Equal);
        assert_eq!(label_token(b, 6).kind, TokenKind::Comma);
        let q = label_token(b, 8);
        assert_eq!((q.kind, q.end), (TokenKind::QuotedString, 11));
        assert_eq!(label_token(b, 12).kind, TokenKind::BraceClose);
        assert_eq!(label_token(b"{'", 1).kind, TokenKind::Invalid);
    }
}
