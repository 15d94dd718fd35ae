use crate::{PromRegex, RegexError};
use std::fmt;

/// The four label-matching operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        })
    }
}

/// A label matcher. An absent label matches as the empty string, as in Prometheus.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub kind: MatchType,
    /// Value or pattern as written.
    pub value: String,
    re: Option<PromRegex>,
}

impl Matcher {
    /// Builds a matcher, compiling the pattern for regex operators.
    pub fn new(
        kind: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, RegexError> {
        let value = value.into();
        let re = match kind {
            MatchType::Regex | MatchType::NotRegex => Some(PromRegex::new(&value)?),
            _ => None,
        };
        Ok(Matcher {
            name: name.into(),
            kind,
            value,
            re,
        })
    }

    /// True when `value` (empty when the label is absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.kind, &self.re) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regex, Some(re)) => re.is_match(value),
            (MatchType::NotRegex, Some(re)) => !re.is_match(value),
            (_, None) => unreachable!("regex matchers always carry a compiled regex"),
        }
    }

    /// True when the matcher accepts the empty string, i.e. also series lacking the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators() {
        let eq = Matcher::new(MatchType::Equal, "job", "node").unwrap();
        assert!(eq.matches("node") && !eq.matches("nodes"));
        let re = Matcher::new(MatchType::NotRegex, "job", "no.*").unwrap();
        assert!(!re.matches("node") && re.matches("x"));
        assert!(
            Matcher::new(MatchType::Regex, "a", ".*")
                .unwrap()
                .matches_empty()
        );
        assert_eq!(eq.to_string(), "job=\"node\"");
    }
}
