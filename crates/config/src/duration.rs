//! Prometheus durations: `1h30m`, `15s`, `2d`, `1w`, `1y`, `500ms`, `0`.
//!
//! Units `y w d h m s ms` must appear from largest to smallest, each at most once; a year
//! is 365 days, a week 7 days. The canonical form drops zero units and sub-millisecond
//! precision: 90 minutes is `1h30m`, zero is `0s`.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A duration string that does not follow Prometheus's syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(String);

const MS_PER_SECOND: u64 = 1000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: u64 = 7 * MS_PER_DAY;
const MS_PER_YEAR: u64 = 365 * MS_PER_DAY;

/// Units from largest to smallest, in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", MS_PER_YEAR),
    ("w", MS_PER_WEEK),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// The largest duration Prometheus represents (Go's `time.Duration` is int64 nanoseconds).
const MAX_MILLIS: u64 = i64::MAX as u64 / 1_000_000;

/// Parses a Prometheus duration such as `1h30m` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    match text {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(DurationError("empty duration string".into())),
        _ => {}
    }
    let invalid = || DurationError(format!("not a valid duration string: {text:?}"));
    let mut rest = text;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(invalid());
        }
        let index = UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(|| DurationError(format!("unknown unit {unit:?} in duration {text:?}")))?;
        if index < next_unit {
            return Err(invalid());
        }
        next_unit = index + 1;
        let out_of_range = || DurationError("duration out of range".to_string());
        let value: u64 = number.parse().map_err(|_| invalid())?;
        total = value
            .checked_mul(UNITS[index].1)
            .and_then(|ms| total.checked_add(ms))
            .filter(|ms| *ms <= MAX_MILLIS)
            .ok_or_else(out_of_range)?;
        rest = after;
    }
    Ok(Duration::from_millis(total))
}

/// Renders `duration` the way Prometheus prints durations: `1h30m`, `15s`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        let count = ms / size;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
            ms -= count * size;
        }
    }
    out
}

/// A duration field in the raw YAML structs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(RawDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// The duration of an optional raw field, treating an explicit `0` as unset the way
/// Prometheus does for inherited settings.
pub(crate) fn nonzero(raw: Option<RawDuration>) -> Option<Duration> {
    raw.map(|d| d.0).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_prometheus_syntax() {
        assert_eq!(parse_duration("1h30m"), Ok(ms(90 * MS_PER_MINUTE)));
        assert_eq!(parse_duration("15s"), Ok(ms(15_000)));
        assert_eq!(parse_duration("2d"), Ok(ms(2 * MS_PER_DAY)));
        assert_eq!(parse_duration("1w"), Ok(ms(MS_PER_WEEK)));
        assert_eq!(parse_duration("1y"), Ok(ms(MS_PER_YEAR)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1m0s"), Ok(ms(MS_PER_MINUTE)));
        assert_eq!(
            parse_duration("1d2h3m4s5ms"),
            Ok(ms(MS_PER_DAY + 2 * MS_PER_HOUR + 3 * MS_PER_MINUTE + 4005))
        );
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "30m1h", "1h1h", "15", "1.5h", "-1s", "s", "1sms", " 1s", "1s ",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(
            parse_duration("").unwrap_err().to_string(),
            "empty duration string"
        );
        assert_eq!(
            parse_duration("30m1h").unwrap_err().to_string(),
            r#"not a valid duration string: "30m1h""#
        );
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            r#"unknown unit "x" in duration "5x""#
        );
        assert_eq!(
            parse_duration("300y").unwrap_err().to_string(),
            "duration out of range"
        );
        assert_eq!(
            parse_duration("15").unwrap_err().to_string(),
            r#"not a valid duration string: "15""#
        );
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(format_duration(ms(90 * MS_PER_MINUTE)), "1h30m");
        assert_eq!(format_duration(ms(15_000)), "15s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(ms(MS_PER_WEEK + MS_PER_DAY)), "1w1d");
        assert_eq!(format_duration(ms(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1ms");
        for text in ["1y", "2w", "1d12h", "5m", "100ms", "1h0m1s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
