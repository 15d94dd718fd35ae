//! Regexes with Prometheus semantics on top of the `regex` crate.
//!
//! Prometheus (Go RE2) differs from Rust's defaults in three ways we must follow:
//! patterns are fully anchored and `.` matches a newline (`^(?s:…)$`, Prometheus 3);
//! `\d`, `\w`, `\s` and `\b` are ASCII-only; a `{` that does not start a valid
//! repetition is a literal.

use std::fmt;

/// Error from compiling a Prometheus regex.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RegexError(String);

/// A compiled, fully anchored Prometheus regex.
#[derive(Clone)]
pub struct PromRegex {
    source: String,
    re: regex::Regex,
}

impl PromRegex {
    /// Compiles `pattern` with Prometheus's anchoring and Go RE2 character classes.
    pub fn new(pattern: &str) -> Result<Self, RegexError> {
        let translated = translate_go_syntax(pattern);
        let re = regex::Regex::new(&format!("^(?s:{translated})$")).map_err(|e| {
            RegexError(format!(
                "error parsing regexp: {}",
                first_line(&e.to_string())
            ))
        })?;
        Ok(PromRegex {
            source: pattern.to_string(),
            re,
        })
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// Capture groups of a whole-string match, for `$1`-style expansion.
    pub fn captures<'h>(&self, s: &'h str) -> Option<regex::Captures<'h>> {
        self.re.captures(s)
    }

    /// Expands `template` (with `$1`, `${name}`, `$$`) against a whole-string match of `s`.
    /// Returns `None` when `s` does not match.
    pub fn replace(&self, s: &str, template: &str) -> Option<String> {
        let caps = self.re.captures(s)?;
        let mut out = String::new();
        caps.expand(template, &mut out);
        Some(out)
    }
}

impl fmt::Debug for PromRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PromRegex({:?})", self.source)
    }
}

impl PartialEq for PromRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = r"\t\n\f\r ";

/// Rewrites Go RE2 syntax into the equivalent Rust `regex` syntax.
fn translate_go_syntax(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let e = chars[i + 1];
                let class = match e {
                    'd' | 'D' => Some(ASCII_DIGIT),
                    'w' | 'W' => Some(ASCII_WORD),
                    's' | 'S' => Some(ASCII_SPACE),
                    _ => None,
                };
                match (class, e.is_ascii_uppercase(), in_class) {
                    (Some(set), false, true) => out.push_str(set),
                    (Some(set), false, false) => {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                    (Some(set), true, _) => {
                        out.push_str("[^");
                        out.push_str(set);
                        out.push(']');
                    }
                    (None, _, false) if e == 'b' || e == 'B' => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `^` and a leading `]` belong to the class, not its end.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if in_class => {
                // `[:alpha:]` is a POSIX class; a bare `[` inside a class is a literal.
                if chars.get(i + 1) == Some(&':') {
                    out.push('[');
                } else {
                    out.push_str("\\[");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '{' if !in_class && !starts_repetition(&chars[i..]) => out.push_str("\\{"),
            '}' if !in_class && !closes_repetition(&chars[..i]) => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// True when `s` (starting at `{`) is `{n}`, `{n,}` or `{n,m}`.
fn starts_repetition(s: &[char]) -> bool {
    let Some(end) = s.iter().position(|&c| c == '}') else {
        return false;
    };
    let body: String = s[1..end].iter().collect();
    let mut parts = body.splitn(2, ',');
    let min = parts.next().unwrap_or("");
    let max = parts.next();
    !min.is_empty()
        && min.bytes().all(|b| b.is_ascii_digit())
        && max.is_none_or(|m| m.bytes().all(|b| b.is_ascii_digit()))
}

/// True when the `}` after `before` closes a repetition opened in `before`.
fn closes_repetition(before: &[char]) -> bool {
    match before.iter().rposition(|&c| c == '{') {
        Some(open) => {
            let escaped = open > 0 && before[open - 1] == '\\';
            !escaped && starts_repetition(&[&before[open..], &['}']].concat())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        PromRegex::new(p).unwrap().is_match(s)
    }

    #[test]
    fn anchored_and_dot_matches_newline() {
        assert!(m("foo|bar", "bar"));
        assert!(!m("foo|bar", "foobar"));
        assert!(m("a.b", "a\nb"));
        assert!(m(".*", ""));
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert!(m(r"\d+", "123"));
        assert!(!m(r"\d", "٣"));
        assert!(!m(r"\w", "é"));
        assert!(m(r"[\d.]+", "1.5"));
        assert!(m(r"\D", "x"));
        assert!(m(r"[^\s]+", "ab"));
        assert!(!m(r"\s", "\u{b}"));
    }

    #[test]
    fn literal_braces_like_go() {
        assert!(m("a{bc}", "a{bc}"));
        assert!(m("a{2}", "aa"));
        assert!(m("a{1,}", "aaa"));
        assert!(m("x{", "x{"));
    }

    #[test]
    fn replace_expands_groups() {
        let re = PromRegex::new("(.*):(\\d+)").unwrap();
        assert_eq!(re.replace("host:9100", "$1").as_deref(), Some("host"));
        assert_eq!(re.replace("host:9100", "${2}x").as_deref(), Some("9100x"));
        assert_eq!(re.replace("nope", "$1"), None);
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(PromRegex::new("(").is_err());
    }
}
