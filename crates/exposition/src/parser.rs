//! The public parser: one format, one body, entries until the end or the first error.

use crate::family::Family;
use crate::lex::Cursor;
use crate::{Entry, Format, ParseError, openmetrics, promtext};
use std::iter::FusedIterator;

/// A parser over one scrape body, yielding [`Entry`] values that borrow from it.
///
/// It is an iterator of `Result<Entry, ParseError>`: it ends after the body's last entry
/// (for OpenMetrics, after the mandatory `# EOF`), or right after yielding the first
/// error, since a scrape with a malformed line is rejected whole.
///
/// ```
/// use ember_exposition::{Entry, Format, Parser};
///
/// let body = b"# TYPE up gauge\nup{job=\"node\"} 1\n";
/// let samples: Vec<_> = Parser::new(body, Format::PromText)
///     .filter_map(|e| match e.unwrap() {
///         Entry::Sample(s) => Some((s.series_id(), s.value)),
///         _ => None,
///     })
///     .collect();
/// assert_eq!(samples, [(&b"up{job=\"node\"}"[..], 1.0)]);
/// ```
pub struct Parser<'a> {
    cursor: Cursor<'a>,
    format: Format,
    family: Option<Family<'a>>,
    finished: bool,
}

impl<'a> Parser<'a> {
    /// A parser for `body` in `format`.
    pub fn new(body: &'a [u8], format: Format) -> Self {
        let virtual_newline = format == Format::PromText;
        Parser {
            cursor: Cursor::new(body, virtual_newline),
            format,
            family: None,
            finished: false,
        }
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let entry = match self.format {
            Format::PromText => promtext::next_entry(&mut self.cursor, &mut self.family),
            Format::OpenMetrics => openmetrics::next_entry(&mut self.cursor, &mut self.family),
        };
        match entry {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for Parser<'_> {}
