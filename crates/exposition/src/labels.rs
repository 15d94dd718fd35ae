//! Lazy decoding of label blocks and escaped strings.

use crate::lex::{is_blank, label_name_len, scan_quoted};
use std::borrow::Cow;

/// The labels of a [`crate::Sample`] or [`crate::Exemplar`], decoded one at a time from
/// the raw block between the braces, in written order. Names and values borrow from the
/// body unless they contain escapes.
#[derive(Clone, Debug)]
pub struct LabelPairs<'a> {
    rest: &'a [u8],
}

impl<'a> LabelPairs<'a> {
    pub(crate) fn new(block: &'a [u8]) -> Self {
        LabelPairs { rest: block }
    }
}

impl<'a> Iterator for LabelPairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        // The parser validated the block, so this only has to find the pieces again; on
        // anything unexpected it stops rather than panics.
        loop {
            let block = skip_separators(self.rest);
            if block.is_empty() {
                self.rest = block;
                return None;
            }
            let (name, quoted, after_name) = match block[0] {
                b'"' => {
                    let end = scan_quoted(block, 0).ok()?.end;
                    (&block[1..end - 1], true, &block[end..])
                }
                _ => match label_name_len(block) {
                    0 => {
                        self.rest = &[];
                        return None;
                    }
                    n => (&block[..n], false, &block[n..]),
                },
            };
            let after_name = skip_blanks(after_name);
            let Some(after_equal) = after_name.strip_prefix(b"=") else {
                // A quoted string without `=` is the metric name written inside the braces.
                self.rest = after_name;
                continue;
            };
            let value_start = skip_blanks(after_equal);
            let Ok(value) = scan_quoted(value_start, 0) else {
                self.rest = &[];
                return None;
            };
            self.rest = &value_start[value.end..];
            let raw_value = &value_start[1..value.end - 1];
            return Some((decode_name(name, quoted), unescape_label_value(raw_value)));
        }
    }
}

fn skip_blanks(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| is_blank(c)).count();
    &b[n..]
}

fn skip_separators(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| is_blank(c) || c == b',').count();
    &b[n..]
}

/// A metric or label name: quoted names may carry label-value escapes.
pub(crate) fn decode_name(raw: &[u8], quoted: bool) -> Cow<'_, str> {
    if quoted {
        unescape_label_value(raw)
    } else {
        String::from_utf8_lossy(raw)
    }
}

/// Undoes label-value escaping: `\\`, `\"` and `\n`. Any other backslash stays as written,
/// as in Prometheus.
pub(crate) fn unescape_label_value(raw: &[u8]) -> Cow<'_, str> {
    unescape(raw, true)
}

/// Undoes text-format HELP escaping, which knows only `\\` and `\n`.
pub(crate) fn unescape_help(raw: &[u8]) -> Cow<'_, str> {
    unescape(raw, false)
}

fn unescape(raw: &[u8], with_quote: bool) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(raw);
    if memchr::memchr(b'\\', raw).is_none() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if with_quote => out.push('"'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(block: &str) -> Vec<(String, String)> {
        LabelPairs::new(block.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn decodes_in_written_order() {
        let want = vec![
            ("b".to_string(), "1".to_string()),
            ("a".to_string(), "x y;z".to_string()),
        ];
        assert_eq!(pairs(r#"b="1",a="x y;z""#), want);
        assert_eq!(pairs(r#" b = "1" , a= "x y;z", "#), want);
        assert_eq!(pairs(r#"b="1" a="x y;z""#), want);
        assert_eq!(pairs(""), vec![]);
    }

    #[test]
    fn skips_the_quoted_metric_name_and_unescapes() {
        let got = pairs(r#""my.metric", "a.b"="c\"d", e="\\n\n\x""#);
        assert_eq!(
            got,
            vec![
                ("a.b".to_string(), "c\"d".to_string()),
                ("e".to_string(), "\\n\n\\x".to_string())
            ]
        );
    }

    #[test]
    fn borrows_without_escapes() {
        let (n, v) = LabelPairs::new(br#"a="b""#).next().unwrap();
        assert!(matches!(n, Cow::Borrowed("a")));
        assert!(matches!(v, Cow::Borrowed("b")));
    }

    #[test]
    fn help_escapes_leave_quotes() {
        assert_eq!(unescape_help(br#"a\\b\nc\"d"#), "a\\b\nc\\\"d");
        assert_eq!(unescape_label_value(br#"a\\b\nc\"d\"#), "a\\b\nc\"d\\");
    }

    #[test]
    fn stops_on_garbage_without_panicking() {
        assert_eq!(pairs(r#"a="unterminated"#), vec![]);
        assert_eq!(pairs("=x"), vec![]);
        assert_eq!(pairs(r#"a=b"#), vec![]);
    }
}
