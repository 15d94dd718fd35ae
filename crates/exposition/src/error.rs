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

pub(crate) use ember_model::go_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_line() {
        let e = ParseError {
            line: 12,
            message: "expected value after metric".into(),
        };
        assert_eq!(e.to_string(), "line 12: expected value after metric");
    }
}
