/// Milliseconds since the Unix epoch, as Prometheus stores them.
pub type Timestamp = i64;

/// The NaN bit pattern Prometheus writes as a staleness marker (`value.StaleNaN`).
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// True when `v` is exactly the staleness marker (not just any NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN.to_bits()
}

/// The current wall-clock time in milliseconds.
pub fn now_millis() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as Timestamp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_distinct_from_plain_nan() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(STALE_NAN.is_nan());
        assert!(!is_stale_nan(f64::NAN));
    }
}
