//! Given label matchers, the postings of the series they select, with Prometheus's
//! semantics: a matcher that accepts the empty string also selects series without the
//! label, so it becomes a subtraction from the series that do have a rejected value.
//!
//! Matchers that require a value are intersected, shortest postings first; the others are
//! subtracted from that intersection (or from all series when nothing requires a value).
//! Values are found without running a regex when it is a literal alternation (`a|b|c`)
//! or a literal prefix (`foo.*`).

use super::postings::{BoxPostings, Intersect, ListPostings, Without};
use super::reader::IndexReader;
use super::{IndexError, SeriesRef};
use ember_model::{MatchType, Matcher};
use std::collections::HashSet;

impl<B: AsRef<[u8]>> IndexReader<B> {
    /// The refs of the series that all of `matchers` select, sorted.
    pub fn postings_for_matchers(
        &self,
        matchers: &[Matcher],
    ) -> Result<Vec<SeriesRef>, IndexError> {
        Ok(self.select_postings(matchers)?.collect())
    }

    /// Like [`postings_for_matchers`](Self::postings_for_matchers), as a lazy iterator.
    pub fn select_postings(&self, matchers: &[Matcher]) -> Result<BoxPostings<'_>, IndexError> {
        let must_be_set: HashSet<&str> = matchers
            .iter()
            .filter(|m| !m.matches_empty())
            .map(|m| m.name.as_str())
            .collect();
        let mut intersect = Vec::new();
        let mut subtract = Vec::new();
        for m in matchers {
            let is_not = matches!(m.kind, MatchType::NotEqual | MatchType::NotRegex);
            if !must_be_set.contains(m.name.as_str()) {
                // l="" or l!="foo": drop the series whose value the matcher rejects.
                subtract.push(self.select_values(&m.name, rejected_by(m))?);
            } else if is_not && m.matches_empty() {
                // l!="foo" next to a matcher that requires l: drop l="foo".
                subtract.push(self.select_values(&m.name, positive_form(m))?);
            } else {
                // l="a", l=~"a|b", l!="" (with l required): take what it accepts.
                let accepted = if is_not {
                    accepted_by(m)
                } else {
                    positive_form(m)
                };
                let postings = self.select_values(&m.name, accepted)?;
                if postings.size_hint().1 == Some(0) {
                    return Ok(Box::new(ListPostings::empty()));
                }
                intersect.push(postings);
            }
        }
        if intersect.is_empty() {
            if subtract.is_empty() {
                return Ok(Box::new(ListPostings::empty()));
            }
            intersect.push(Box::new(self.all_postings()?));
        }
        let mut selected = if intersect.len() == 1 {
            intersect.swap_remove(0)
        } else {
            Box::new(Intersect::new(intersect))
        };
        for excluded in subtract {
            selected = Box::new(Without::new(selected, excluded));
        }
        Ok(selected)
    }

    /// The postings of the series whose value of `name` is in `values`.
    fn select_values(&self, name: &str, values: Values) -> Result<BoxPostings<'_>, IndexError> {
        let mut offsets = Vec::new();
        if name.is_empty() {
            // No series has a label with an empty name; the table's empty name is the
            // all-postings key.
            return self.merge_lists(offsets);
        }
        match values {
            Values::Exact(value) => {
                self.find_values(name, [value.as_bytes()], |o| offsets.push(o))?;
            }
            Values::Literals(literals) => {
                let literals = literals.iter().map(|l| l.as_bytes());
                self.find_values(name, literals, |o| offsets.push(o))?;
            }
            Values::Prefix(prefix) => {
                self.find_prefixed(name, prefix.as_bytes(), |o| offsets.push(o))?;
            }
            Values::All => self.find_matching(name, |_| true, |o| offsets.push(o))?,
            Values::Where { matcher, result } => {
                self.find_matching(name, |v| matcher.matches(v) == result, |o| offsets.push(o))?;
            }
        }
        self.merge_lists(offsets)
    }
}

/// Which values of a label to take postings for.
enum Values<'m> {
    Exact(&'m str),
    /// Sorted, without duplicates.
    Literals(Vec<String>),
    Prefix(String),
    All,
    /// Values for which `matcher.matches` returns `result`.
    Where {
        matcher: &'m Matcher,
        result: bool,
    },
}

/// The values accepted by `m` with its negation removed (`=` for `!=`, `=~` for `!~`).
fn positive_form(m: &Matcher) -> Values<'_> {
    let negated = matches!(m.kind, MatchType::NotEqual | MatchType::NotRegex);
    match m.kind {
        MatchType::Equal | MatchType::NotEqual => Values::Exact(&m.value),
        MatchType::Regex | MatchType::NotRegex => match RegexShape::of(&m.value) {
            Some(RegexShape::Literals(literals)) => Values::Literals(literals),
            Some(RegexShape::Prefix(prefix)) if prefix.is_empty() => Values::All,
            Some(RegexShape::Prefix(prefix)) => Values::Prefix(prefix),
            None => Values::Where {
                matcher: m,
                result: !negated,
            },
        },
    }
}

/// The values `m` accepts.
fn accepted_by(m: &Matcher) -> Values<'_> {
    match m.kind {
        MatchType::Equal | MatchType::Regex => positive_form(m),
        MatchType::NotEqual if m.value.is_empty() => Values::All,
        MatchType::NotEqual | MatchType::NotRegex => Values::Where {
            matcher: m,
            result: true,
        },
    }
}

/// The values `m` rejects.
fn rejected_by(m: &Matcher) -> Values<'_> {
    match m.kind {
        MatchType::NotEqual | MatchType::NotRegex => positive_form(m),
        MatchType::Equal | MatchType::Regex if m.value.is_empty() => Values::All,
        MatchType::Equal | MatchType::Regex => Values::Where {
            matcher: m,
            result: false,
        },
    }
}

/// A regex simple enough to find its values without running it. Only what the pattern
/// says literally is recognised; anything else (classes, flags, `\d`, repetitions other
/// than a final `.*`) is left to the regex.
/// Shapes describe which non-empty values match: stored label values are never empty.
#[derive(Debug, PartialEq)]
pub(crate) enum RegexShape {
    /// `a|b|c`: exactly these values (empty alternatives dropped: they select no
    /// stored value). Sorted, without duplicates.
    Literals(Vec<String>),
    /// `foo.*`: every value starting with this (`.` matches newlines in Prometheus).
    Prefix(String),
}

impl RegexShape {
    pub(crate) fn of(pattern: &str) -> Option<RegexShape> {
        let body = strip_groups(pattern);
        if body == ".+" {
            // Every non-empty value.
            return Some(RegexShape::Prefix(String::new()));
        }
        let mut alternatives = vec![String::new()];
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let escaped = chars.next().filter(|e| is_meta(*e))?;
                    alternatives.last_mut()?.push(escaped);
                }
                '|' => alternatives.push(String::new()),
                '.' if alternatives.len() == 1 && chars.peek() == Some(&'*') => {
                    chars.next();
                    if chars.next().is_some() {
                        return None;
                    }
                    return alternatives.pop().map(RegexShape::Prefix);
                }
                c if is_meta(c) => return None,
                c => alternatives.last_mut()?.push(c),
            }
        }
        alternatives.retain(|a| !a.is_empty());
        alternatives.sort_unstable();
        alternatives.dedup();
        Some(RegexShape::Literals(alternatives))
    }
}

/// The characters Go's `regexp.QuoteMeta` escapes.
fn is_meta(c: char) -> bool {
    r"\.+*?()|[]{}^$".contains(c)
}

/// `pattern` without parentheses that enclose all of it: `(a|b)` and `(?:a|b)` → `a|b`.
fn strip_groups(mut pattern: &str) -> &str {
    loop {
        let inner = if let Some(rest) = pattern.strip_prefix("(?:") {
            rest
        } else if let Some(rest) = pattern.strip_prefix('(') {
            if rest.starts_with('?') {
                return pattern;
            }
            rest
        } else {
            return pattern;
        };
        let Some(inner) = inner.strip_suffix(')') else {
            return pattern;
        };
        if !parentheses_balance(inner) {
            return pattern;
        }
        pattern = inner;
    }
}

/// True when no unescaped `)` in `s` closes a parenthesis opened before `s`, and every one
/// opened in `s` is closed: `a)|(b` is not balanced.
fn parentheses_balance(s: &str) -> bool {
    let mut depth = 0i32;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(values: &[&str]) -> Option<RegexShape> {
        Some(RegexShape::Literals(
            values.iter().map(|v| v.to_string()).collect(),
        ))
    }

    #[test]
    fn literal_alternations() {
        assert_eq!(RegexShape::of("a|b|c"), literals(&["a", "b", "c"]));
        assert_eq!(RegexShape::of("foo"), literals(&["foo"]));
        assert_eq!(RegexShape::of("(c|a)"), literals(&["a", "c"]));
        assert_eq!(RegexShape::of("(?:b|a|b)"), literals(&["a", "b"]));
        assert_eq!(RegexShape::of(r"a\.b|x\|y"), literals(&["a.b", "x|y"]));
        assert_eq!(RegexShape::of("a||"), literals(&["a"]));
        assert_eq!(RegexShape::of(""), literals(&[]));
        assert_eq!(RegexShape::of("ünï|cödé"), literals(&["cödé", "ünï"]));
        for not_literal in [
            "a.b", "a+", "[ab]", r"\d", r"a\n", "(?i)a", "(a)|(b)", "a{2}", "^a", "a$", "(a|b)c",
            ".*a", "a.*b", "a|b.*",
        ] {
            assert_eq!(RegexShape::of(not_literal), None, "{not_literal}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            RegexShape::of("foo.*"),
            Some(RegexShape::Prefix("foo".into()))
        );
        assert_eq!(
            RegexShape::of(r"(fo\.o.*)"),
            Some(RegexShape::Prefix("fo.o".into()))
        );
        assert_eq!(RegexShape::of(".*"), Some(RegexShape::Prefix("".into())));
        assert_eq!(RegexShape::of("(.+)"), Some(RegexShape::Prefix("".into())));
        assert_eq!(RegexShape::of("foo.+"), None);
        assert_eq!(RegexShape::of("foo.*.*"), None);
    }

    #[test]
    fn shapes_agree_with_the_regex() {
        let values = [
            "", "a", "b", "c", "foo", "foobar", "fo", "a.b", "x|y", "foo\nbar",
        ];
        for pattern in [
            "a|b|c",
            "(a|c)",
            "foo.*",
            r"a\.b|x\|y",
            ".*",
            ".+",
            "a||",
            "fo",
        ] {
            let m = Matcher::new(MatchType::Regex, "l", pattern).unwrap();
            let shape = RegexShape::of(pattern).unwrap();
            for v in values.iter().filter(|v| !v.is_empty()) {
                let by_shape = match &shape {
                    RegexShape::Literals(l) => l.iter().any(|l| l == v),
                    RegexShape::Prefix(p) => v.starts_with(p.as_str()),
                };
                assert_eq!(by_shape, m.matches(v), "{pattern} on {v:?}");
            }
        }
    }
}
