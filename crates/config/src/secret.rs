//! Secrets: passwords, tokens and keys that must never be printed.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A secret value from the config. `Debug` and `Display` print `<secret>`; use
/// [`Secret::expose`] where the real value is needed (building a request).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// The placeholder printed instead of a secret, as Prometheus does.
    pub const REDACTED: &'static str = "<secret>";

    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty (an empty secret counts as unset in Prometheus).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// An optional secret, with empty treated as unset.
pub(crate) fn nonempty(secret: Option<Secret>) -> Option<Secret> {
    secret.filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<secret> <secret>");
        assert_eq!(s.expose(), "hunter2");
    }
}
