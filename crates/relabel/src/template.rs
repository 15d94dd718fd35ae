//! The template language of Go's `regexp.Expand`, which Prometheus uses for
//! `replacement` and for the `target_label` of `replace` rules.
//!
//! `$name` and `${name}` insert a capture group (by number when the name is a number),
//! `$$` inserts `$`, and a `$` that starts no valid reference is kept as text. A
//! reference to a group that does not exist or did not participate inserts nothing.

use regex::Captures;
use std::sync::LazyLock;

/// Go takes the longest run of Unicode letters, decimal digits and `_` as the name, so
/// `$1x` names the group `1x`, not group 1 followed by `x`.
static NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[\p{L}\p{Nd}_]+").expect("name pattern compiles"));

/// Go reads a name as a group number only up to this many digits.
const MAX_GROUP_NUMBER_DIGITS: usize = 9;

/// Expands `template` against the groups of a match.
pub(crate) fn expand(template: &str, groups: &Captures<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match split_reference(rest) {
            Some((name, after)) => {
                out.push_str(group(groups, name).unwrap_or(""));
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
    out
}

/// Splits `name` or `{name}` off the text after a `$`; `None` when malformed.
fn split_reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let name = NAME.find(body)?.as_str();
    let after = &body[name.len()..];
    let after = if braced {
        after.strip_prefix('}')?
    } else {
        after
    };
    Some((name, after))
}

fn group<'h>(groups: &Captures<'h>, name: &str) -> Option<&'h str> {
    let found = match group_number(name) {
        Some(number) => groups.get(number),
        None => groups.name(name),
    };
    found.map(|m| m.as_str())
}

/// Go treats a name as a group number when it is all ASCII digits, without a leading
/// zero and at most nine digits long; anything else is looked up as a group name.
fn group_number(name: &str) -> Option<usize> {
    let digits = name.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = name.len() > 1 && name.starts_with('0');
    if !digits || leading_zero || name.len() > MAX_GROUP_NUMBER_DIGITS {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_model::PromRegex;

    fn expand_against(pattern: &str, input: &str, template: &str) -> String {
        let re = PromRegex::new(pattern).unwrap();
        expand(template, &re.captures(input).unwrap())
    }

    #[test]
    fn numbered_and_named_groups() {
        let re = "(?P<host>[^:]+):(?<port>[0-9]+)";
        assert_eq!(expand_against(re, "h:9", "$1/${2}"), "h/9");
        assert_eq!(expand_against(re, "h:9", "$host-${port}"), "h-9");
        assert_eq!(expand_against(re, "h:9", "${1}x"), "hx");
        assert_eq!(expand_against(re, "h:9", "$0"), "h:9");
    }

    #[test]
    fn longest_name_wins() {
        // `$1x` is the (absent) group "1x"; `$hostname` is not `$host` + "name".
        assert_eq!(expand_against("(?P<host>.*)", "h", "$1x"), "");
        assert_eq!(expand_against("(?P<host>.*)", "h", "$hostname"), "");
        // Go's names include Unicode letters and digits.
        assert_eq!(expand_against("(.*)", "h", "$1é"), "");
        assert_eq!(expand_against("(.*)", "h", "$1-é"), "h-é");
    }

    #[test]
    fn missing_or_unmatched_groups_expand_to_nothing() {
        assert_eq!(expand_against("(a)|(b)", "a", "[$2]"), "[]");
        assert_eq!(expand_against("(a)", "a", "[$7]"), "[]");
        assert_eq!(expand_against("(a)", "a", "[${nope}]"), "[]");
    }

    #[test]
    fn group_numbers_like_go() {
        // A leading zero or more than nine digits makes it a name, which no group has.
        assert_eq!(expand_against("(a)", "a", "$01"), "");
        assert_eq!(expand_against("(a)", "a", "$0000000001"), "");
        assert_eq!(group_number("123456789"), Some(123_456_789));
        assert_eq!(group_number("1234567890"), None);
        assert_eq!(group_number("0"), Some(0));
    }

    #[test]
    fn dollars_and_malformed_references_are_text() {
        assert_eq!(expand_against("(a)", "a", "$$1"), "$1");
        assert_eq!(expand_against("(a)", "a", "$$$1"), "$a");
        assert_eq!(expand_against("(a)", "a", "cost $"), "cost $");
        assert_eq!(expand_against("(a)", "a", "${1"), "${1");
        assert_eq!(expand_against("(a)", "a", "${}"), "${}");
        assert_eq!(expand_against("(a)", "a", "$-1"), "$-1");
        assert_eq!(expand_against("(a)", "a", "${1-}"), "${1-}");
    }
}
