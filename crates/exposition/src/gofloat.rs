//! Floats the way Go's `strconv` reads and writes them, which is what Prometheus exposes.

use std::fmt::Write as _;

/// Why a value token is not a float, in Prometheus's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatError {
    /// Prometheus rejects `p`, `P` and `_` up front to keep to pre-Go-1.13 float syntax.
    Unsupported,
    /// Not a float at all.
    Syntax,
    /// Well-formed, but beyond `f64` (Go reports this instead of returning ±Inf).
    Range,
}

impl FloatError {
    /// The message Prometheus gives for `token`.
    pub(crate) fn message(self, token: &[u8]) -> String {
        let quoted = crate::error::go_quote(token);
        match self {
            FloatError::Unsupported => "unsupported character in float".to_string(),
            FloatError::Syntax => format!("strconv.ParseFloat: parsing {quoted}: invalid syntax"),
            FloatError::Range => {
                format!("strconv.ParseFloat: parsing {quoted}: value out of range")
            }
        }
    }
}

/// Parses a value token like Prometheus: Go's `strconv.ParseFloat(s, 64)` minus hex floats
/// and digit separators.
pub(crate) fn parse_float(token: &[u8]) -> Result<f64, FloatError> {
    if let Some(n) = small_integer(token) {
        return Ok(n as f64);
    }
    if token.iter().any(|&b| matches!(b, b'p' | b'P' | b'_')) {
        return Err(FloatError::Unsupported);
    }
    let unsigned = match token.first() {
        Some(b'+' | b'-') => &token[1..],
        _ => token,
    };
    // Rust also accepts a signed NaN; Go does not.
    if unsigned.len() != token.len() && unsigned.eq_ignore_ascii_case(b"nan") {
        return Err(FloatError::Syntax);
    }
    let text = std::str::from_utf8(token).map_err(|_| FloatError::Syntax)?;
    let value: f64 = text.parse().map_err(|_| FloatError::Syntax)?;
    let infinity_literal =
        unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity");
    if value.is_infinite() && !infinity_literal {
        return Err(FloatError::Range);
    }
    Ok(value)
}

/// Most values are small counts; up to 15 digits they are exact in an `f64`, so they skip
/// the general parser.
fn small_integer(token: &[u8]) -> Option<u64> {
    if token.is_empty() || token.len() > 15 {
        return None;
    }
    token.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Formats `v` exactly like Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits
/// that read back as `v`, in `%e` form (`1e+06`, `2.5e-05`) when the decimal exponent is
/// below -4 or at least 6, else in `%f` form (`123456`, `0.001`); `+Inf`, `-Inf`, `NaN`.
pub fn format_float(v: f64) -> String {
    let mut out = String::with_capacity(24);
    write_float(&mut out, v);
    out
}

/// Prometheus's OpenMetrics rendering, used to normalize `le` and `quantile` label values:
/// [`format_float`], plus `.0` when that shows neither a point nor an exponent (`1.0`,
/// `-0.0`, `100.0`, but `0.25`, `1e+06`, `+Inf`).
pub(crate) fn format_openmetrics_float(v: f64) -> String {
    let mut out = format_float(v);
    if v.is_finite() && !out.contains(['.', 'e']) {
        out.push_str(".0");
    }
    out
}

/// Appends [`format_float`]'s rendering of `v` to `out`.
pub(crate) fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    // Rust's `{:e}` yields the same shortest round-trip digits as Go; only the layout differs.
    let mut sci = ShortBuf::default();
    write!(sci, "{:e}", v.abs()).expect("an f64 in {:e} form fits in 32 bytes");
    let sci = sci.as_str();
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} output has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let mut digits = ShortBuf::default();
    for b in mantissa.bytes().filter(|&b| b != b'.') {
        digits.push(b);
    }
    let digits = digits.as_str().as_bytes();

    if !(-4..6).contains(&exponent) {
        push_exponent_form(out, digits, exponent);
    } else {
        push_decimal_form(out, digits, exponent);
    }
}

/// `d.ddde±XX`, with at least two exponent digits like C's `%e`.
fn push_exponent_form(out: &mut String, digits: &[u8], exponent: i32) {
    out.push(char::from(digits[0]));
    if digits.len() > 1 {
        out.push('.');
        out.extend(digits[1..].iter().map(|&d| char::from(d)));
    }
    out.push('e');
    out.push(if exponent < 0 { '-' } else { '+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    write!(out, "{magnitude}").expect("writing to a String cannot fail");
}

/// Plain positional notation for exponents in -4..6.
fn push_decimal_form(out: &mut String, digits: &[u8], exponent: i32) {
    // Position of the decimal point relative to the first digit.
    let point = exponent + 1;
    let digit_at = |i: i32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |&d| char::from(d))
    };
    if point > 0 {
        (0..point).for_each(|i| out.push(digit_at(i)));
    } else {
        out.push('0');
    }
    let fraction_len = digits.len() as i32 - point;
    if fraction_len > 0 {
        out.push('.');
        (point..point + fraction_len).for_each(|i| out.push(digit_at(i)));
    }
}

/// A fixed stack buffer for the short ASCII strings float formatting needs.
#[derive(Default)]
struct ShortBuf {
    bytes: [u8; 32],
    len: usize,
}

impl ShortBuf {
    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("only ASCII is written")
    }
}

impl std::fmt::Write for ShortBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
    const GO_OUTPUTS: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (0.1, "0.1"),
        (0.5, "0.5"),
        (-0.5, "-0.5"),
        (1.5, "1.5"),
        (10.0, "10"),
        (100.0, "100"),
        (12345.678, "12345.678"),
        (99999.0, "99999"),
        (100000.0, "100000"),
        (999999.0, "999999"),
        (123456.7, "123456.7"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (4.059092e6, "4.059092e+06"),
        (3.886707e6, "3.886707e+06"),
        (123456789.0, "1.23456789e+08"),
        (1e9, "1e+09"),
        (1.726839813016397e9, "1.726839813016397e+09"),
        (4.4046288803e10, "4.4046288803e+10"),
        (5.937322571024e12, "5.937322571024e+12"),
        (1e20, "1e+20"),
        (1e21, "1e+21"),
        (9.223372036854776e18, "9.223372036854776e+18"),
        (1e100, "1e+100"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.001, "0.001"),
        (0.0001, "0.0001"),
        (0.00012345, "0.00012345"),
        (0.000118953, "0.000118953"),
        (1e-5, "1e-05"),
        (2.391e-5, "2.391e-05"),
        (-8.452185437166741e-5, "-8.452185437166741e-05"),
        (7.424100000000001e-5, "7.424100000000001e-05"),
        (1e-10, "1e-10"),
        (1e-100, "1e-100"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.0 / 3.0, "0.3333333333333333"),
        (2.0 / 3.0, "0.6666666666666666"),
        (100.0 / 3.0, "33.333333333333336"),
        (8.999999999999998, "8.999999999999998"),
        (27264.999999999996, "27264.999999999996"),
        (44.985611511, "44.985611511"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ];

    #[test]
    fn formats_like_go() {
        for &(v, want) in GO_OUTPUTS {
            assert_eq!(format_float(v), want, "formatting {v:?}");
        }
    }

    #[test]
    fn formatted_values_read_back_exactly() {
        for &(v, text) in GO_OUTPUTS {
            let back = parse_float(text.as_bytes()).unwrap();
            assert!(
                back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()),
                "{text}"
            );
        }
    }

    #[test]
    fn accepts_what_go_accepts() {
        let cases: &[(&str, f64)] = &[
            ("0", 0.0),
            ("-0", -0.0),
            ("190932", 190932.0),
            ("999999999999999", 999_999_999_999_999.0),
            ("12345678901234567890", 12345678901234567890.0),
            ("+1", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("-.5e-3", -0.0005),
            ("1E5", 1e5),
            ("1e+05", 1e5),
            ("1.e5", 1e5),
            ("1e-400", 0.0),
            ("+Inf", f64::INFINITY),
            ("Inf", f64::INFINITY),
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("INFINITY", f64::INFINITY),
            ("+Infinity", f64::INFINITY),
        ];
        for &(text, want) in cases {
            let got = parse_float(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
        }
        for nan in ["NaN", "nan", "NAN", "nAn"] {
            assert!(parse_float(nan.as_bytes()).unwrap().is_nan(), "{nan}");
        }
    }

    #[test]
    fn rejects_what_go_or_prometheus_rejects() {
        let cases: &[(&str, FloatError)] = &[
            ("", FloatError::Syntax),
            ("true", FloatError::Syntax),
            ("+nan", FloatError::Syntax),
            ("-NaN", FloatError::Syntax),
            ("infinit", FloatError::Syntax),
            ("in", FloatError::Syntax),
            ("1e", FloatError::Syntax),
            ("e5", FloatError::Syntax),
            (".", FloatError::Syntax),
            ("1.2.3", FloatError::Syntax),
            ("0x10", FloatError::Syntax),
            ("1\t2", FloatError::Syntax),
            ("1,5", FloatError::Syntax),
            ("\u{ff}1", FloatError::Syntax),
            ("1_2", FloatError::Unsupported),
            ("0x1p-3", FloatError::Unsupported),
            ("0x1P-3", FloatError::Unsupported),
            ("1e400", FloatError::Range),
            ("-1e309", FloatError::Range),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_float(text.as_bytes()), Err(want), "{text}");
        }
    }

    #[test]
    fn openmetrics_float_rendering() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-1.0, "-1.0"),
            (100.0, "100.0"),
            (0.25, "0.25"),
            (1e6, "1e+06"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_openmetrics_float(v), want, "{v:?}");
        }
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            FloatError::Syntax.message(b"true"),
            r#"strconv.ParseFloat: parsing "true": invalid syntax"#
        );
        assert_eq!(
            FloatError::Range.message(b"1e400"),
            r#"strconv.ParseFloat: parsing "1e400": value out of range"#
        );
        assert_eq!(
            FloatError::Unsupported.message(b"1_2"),
            "unsupported character in float"
        );
    }
}
