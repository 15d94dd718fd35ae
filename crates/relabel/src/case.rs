//! Case mapping as Go's `strings.ToLower`/`ToUpper` do it: each character through its
//! simple (one-to-one) Unicode mapping.
//!
//! Rust's `str::to_lowercase`/`to_uppercase` apply the full mappings instead (`ß` →
//! `SS`, `İ` → `i̇`, a word-final `Σ` → `ς`), which would give different label values
//! than Prometheus.

/// Go's `strings.ToLower`.
pub(crate) fn go_lowercase(s: &str) -> String {
    s.chars().map(simple_lowercase).collect()
}

/// Go's `strings.ToUpper`.
pub(crate) fn go_uppercase(s: &str) -> String {
    s.chars().map(simple_uppercase).collect()
}

fn simple_lowercase(c: char) -> char {
    single(c.to_lowercase()).unwrap_or(match c {
        // The only character whose full lowercase mapping has two characters (`i̇`).
        '\u{130}' => 'i',
        _ => c,
    })
}

fn simple_uppercase(c: char) -> char {
    single(c.to_uppercase()).unwrap_or(match c {
        // Greek small letters with ypogegrammeni: the full mapping spells the iota out
        // (`ᾳ` → `ΑΙ`), the simple one maps to the letter with prosgegrammeni (`ᾼ`),
        // which sits 8 code points higher in these blocks.
        '\u{1F80}'..='\u{1F87}' | '\u{1F90}'..='\u{1F97}' | '\u{1FA0}'..='\u{1FA7}' => {
            char::from_u32(u32::from(c) + 8).unwrap_or(c)
        }
        '\u{1FB3}' => '\u{1FBC}',
        '\u{1FC3}' => '\u{1FCC}',
        '\u{1FF3}' => '\u{1FFC}',
        // The others (`ß`, `ŉ`, ligatures such as `ﬀ`, …) have no one-character
        // uppercase and stay as they are.
        _ => c,
    })
}

/// The only character of a mapping, or `None` when it maps to several.
fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii() {
        assert_eq!(go_lowercase("bAr123Foo"), "bar123foo");
        assert_eq!(go_uppercase("bAr123Foo"), "BAR123FOO");
    }

    #[test]
    fn simple_mappings_only() {
        assert_eq!(go_uppercase("straße ﬀ ŉ"), "STRAßE ﬀ ŉ");
        assert_eq!(go_lowercase("İSTANBUL"), "istanbul");
        assert_eq!(go_uppercase("ᾳ ᾀ ῳ"), "ᾼ ᾈ ῼ");
        assert_eq!(go_lowercase("ᾼ ᾈ"), "ᾳ ᾀ");
        // No final-sigma rule: every capital sigma becomes σ.
        assert_eq!(go_lowercase("ΟΔΟΣ"), "οδοσ");
        assert_eq!(go_uppercase("ǅ ı ſ"), "Ǆ I S");
        // The Kelvin sign lowercases to an ASCII k.
        assert_eq!(go_lowercase("ǅ \u{212A}"), "ǆ k");
    }
}
