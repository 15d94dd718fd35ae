/// Quotes text like Go's `strconv.Quote` (and `%q`), so messages and label renderings
/// match Prometheus's: printable UTF-8 stays; `"` and `\` are escaped; the usual controls
/// get short escapes, other ASCII controls `\xNN`, and characters Go deems unprintable
/// (controls, spaces other than ' ', format characters) `\uNNNN` or `\UNNNNNNNN`; bytes
/// that are not UTF-8 become `\xNN`.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_quoted_char(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() || (c.is_whitespace() && c != ' ') || is_format_char(c) => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

/// The Unicode format characters (category Cf) that occur in text: invisible, so Go
/// escapes them.
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
        | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(b"a\n"), r#""a\n""#);
        assert_eq!(go_quote(b"a{b=\"c\""), r#""a{b=\"c\"""#);
        assert_eq!(go_quote(b"\xff\x00\t\\"), r#""\xff\x00\t\\""#);
        assert_eq!(go_quote("\u{a0}\u{200b}é".as_bytes()), r#""\u00a0\u200bé""#);
    }
}
