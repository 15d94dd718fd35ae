//! Prometheus sizes (`body_size_limit`, retention size): `5GB`, `512MB`, `1KB`, `0`.
//!
//! Units are base 2 whichever spelling is used: `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`,
//! `TB`/`TiB`, `PB`/`PiB`, `EB`/`EiB`. A number needs a unit (except `0`); parts may be
//! combined (`1GB512MB`) and may have a fraction (`1.5GB`). As in Prometheus, a negative size
//! means "no limit", which we store as 0.

use serde::{Deserialize, Deserializer};

/// A size string that does not follow Prometheus's syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SizeError(String);

/// Unit prefixes from smallest to largest; each step is 1024.
const PREFIXES: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];

fn unit_bytes(unit: &str) -> Option<u128> {
    let prefix = unit.strip_suffix("iB").or_else(|| unit.strip_suffix('B'))?;
    if unit == "iB" {
        return None;
    }
    let power = PREFIXES.iter().position(|p| *p == prefix)?;
    Some(1u128 << (10 * power))
}

/// Parses a size into bytes.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let invalid = || SizeError(format!("units: invalid {text}"));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(invalid());
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale = unit_bytes(unit)
            .ok_or_else(|| SizeError(format!("units: unknown unit {unit} in {text}")))?;
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut part = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !fraction.is_empty() {
            let fraction: f64 = format!("0.{fraction}").parse().map_err(|_| invalid())?;
            // Sub-byte remainders are truncated, as Go's int64 conversion does.
            part += (fraction * scale as f64) as u128;
        }
        total = total
            .checked_add(part)
            .filter(|t| *t <= i64::MAX as u128)
            .ok_or_else(invalid)?;
        rest = after;
    }
    if negative {
        return Ok(0);
    }
    Ok(total as u64)
}

/// Renders a size the way Prometheus prints one: `5GiB`, `1MiB512KiB`, `0B`.
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0B".to_string();
    }
    let mut parts = Vec::new();
    let mut rest = bytes;
    for (power, prefix) in PREFIXES.iter().enumerate() {
        let count = if power + 1 < PREFIXES.len() {
            rest % 1024
        } else {
            rest
        };
        if count != 0 {
            let suffix = if power == 0 { "B" } else { "iB" };
            parts.push(format!("{count}{prefix}{suffix}"));
        }
        rest /= 1024;
        if rest == 0 {
            break;
        }
    }
    parts.reverse();
    parts.concat()
}

/// A size field in the raw YAML structs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawSize(pub(crate) u64);

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_size(&text)
            .map(RawSize)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn parses_base_two_units() {
        assert_eq!(parse_size("5GB"), Ok(5 * GIB));
        assert_eq!(parse_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("1.5GB"), Ok(GIB + GIB / 2));
        assert_eq!(parse_size("1GB512MB"), Ok(GIB + (512 << 20)));
        assert_eq!(parse_size("2EB"), Ok(2 << 60));
        assert_eq!(parse_size("-1KB"), Ok(0));
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!(
            parse_size("10").unwrap_err().to_string(),
            "units: unknown unit  in 10"
        );
        assert_eq!(
            parse_size("1kB").unwrap_err().to_string(),
            "units: unknown unit kB in 1kB"
        );
        assert_eq!(parse_size("").unwrap_err().to_string(), "units: invalid ");
        for bad in ["GB", "1iB", "1.2.3GB", "8EB", "1 GB", "."] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format_size(5 * GIB), "5GiB");
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(1536), "1KiB512B");
        assert_eq!(format_size(512 << 20), "512MiB");
        assert_eq!(format_size(1 << 62), "4EiB");
        for bytes in [1, 1023, 1024, 5 * GIB + 7, 3 << 40] {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }
    }
}
