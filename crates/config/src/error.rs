//! Load errors, and the positions that tie them to the config text.

use std::fmt;
use std::path::PathBuf;

/// A place in the config text: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u64,
    /// Column number, starting at 1.
    pub column: u64,
}

impl Position {
    pub(crate) fn of<T>(spanned: &serde_saphyr::Spanned<T>) -> Position {
        Position::from_location(spanned.referenced)
    }

    pub(crate) fn from_location(location: serde_saphyr::Location) -> Position {
        Position {
            line: location.line(),
            column: location.column(),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} column {}", self.line, self.column)
    }
}

/// Why a config could not be loaded.
///
/// Every variant that comes from the text names the source and, where known, the line and
/// column, e.g. `parsing YAML file prometheus.yml: line 6 column 5: unknown field ...`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML of the expected shape: syntax errors, unknown fields, wrong
    /// types, and values that do not parse (durations, sizes, regexes, label names).
    #[error("parsing YAML file {source_name}: {}{message}", Prefix(position))]
    Parse {
        /// File name (or the name given to [`crate::load_str`]).
        source_name: String,
        /// Where in the text, when known.
        position: Option<Position>,
        /// What is wrong.
        message: String,
    },
    /// The YAML is well-formed but breaks a rule, e.g. duplicate job names or a scrape
    /// timeout greater than the scrape interval.
    #[error("parsing YAML file {source_name}: {}{message}", Prefix(position))]
    Invalid {
        /// File name (or the name given to [`crate::load_str`]).
        source_name: String,
        /// Where in the text, when known: the entry (scrape config, relabel rule, ...)
        /// that breaks the rule.
        position: Option<Position>,
        /// What is wrong, in Prometheus's words where Prometheus has them.
        message: String,
    },
}

impl ConfigError {
    /// Where in the text the error is, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Parse { position, .. } | ConfigError::Invalid { position, .. } => {
                *position
            }
        }
    }

    pub(crate) fn from_yaml(source_name: &str, error: &serde_saphyr::Error) -> ConfigError {
        let position = error.location().map(Position::from_location);
        ConfigError::Parse {
            source_name: source_name.to_string(),
            position,
            message: yaml_message(error, position),
        }
    }
}

/// Renders `line N column M: ` before a message when the position is known.
struct Prefix<'a>(&'a Option<Position>);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(position) => write!(f, "{position}: "),
            None => Ok(()),
        }
    }
}

/// The message of a serde-saphyr error without its trailing location, trimmed of advice
/// aimed at Rust programmers, with a suggestion for misspelt field names.
fn yaml_message(error: &serde_saphyr::Error, position: Option<Position>) -> String {
    let mut message = error.without_snippet().to_string();
    if let Some(p) = position {
        let suffix = format!(" at line {}, column {}", p.line, p.column);
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    if let Some((head, _)) = message.split_once(", set DuplicateKeyPolicy") {
        message = head.to_string();
    }
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        return unknown_field_message(field, expected);
    }
    message
}

fn unknown_field_message(field: &str, expected: &str) -> String {
    let candidates = expected
        .trim_start_matches(", expected one of ")
        .trim_start_matches(", expected ")
        .split(", ")
        .map(|c| c.trim_matches('`'));
    let best = candidates
        .map(|c| (edit_distance(field, c), c))
        .filter(|(d, c)| *d <= 2.max(field.len() / 4) && !c.is_empty())
        .min();
    match best {
        Some((_, c)) => format!("unknown field `{field}` (did you mean `{c}`?)"),
        None => format!("unknown field `{field}`"),
    }
}

/// Levenshtein distance over bytes; field names are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// A rule broken by a parsed value, before it is tied to a source name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) message: String,
    pub(crate) position: Option<Position>,
}

impl Violation {
    pub(crate) fn new(message: impl Into<String>) -> Violation {
        Violation {
            message: message.into(),
            position: None,
        }
    }

    /// Sets the position unless a more precise one is already set.
    pub(crate) fn at(mut self, position: Position) -> Violation {
        self.position.get_or_insert(position);
        self
    }

    pub(crate) fn into_error(self, source_name: &str) -> ConfigError {
        ConfigError::Invalid {
            source_name: source_name.to_string(),
            position: self.position,
            message: self.message,
        }
    }
}

/// Shorthand for a failed check.
pub(crate) fn violation<T>(message: impl Into<String>) -> Result<T, Violation> {
    Err(Violation::new(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_field_names() {
        assert_eq!(
            unknown_field_message(
                "scrape_intervl",
                ", expected one of job_name, scrape_interval, scrape_timeout"
            ),
            "unknown field `scrape_intervl` (did you mean `scrape_interval`?)"
        );
        assert_eq!(
            unknown_field_message("zzz", ", expected one of job_name"),
            "unknown field `zzz`"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
