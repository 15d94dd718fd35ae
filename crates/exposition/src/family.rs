//! Which `# TYPE` a sample belongs to.

use crate::MetricType;

/// The family named by the most recent `# TYPE` line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family<'a> {
    /// The name as written (without quotes, escapes kept), compared to sample names as written.
    name: &'a [u8],
    kind: MetricType,
}

impl<'a> Family<'a> {
    pub(crate) fn new(name: &'a [u8], kind: MetricType) -> Self {
        Family { name, kind }
    }

    /// The family's type if `series_name` is one of its series: the family name itself or
    /// the name plus a suffix the type defines. A sample outside the family gets no type,
    /// so metadata never leaks onto an unrelated series (as in Prometheus 3).
    pub(crate) fn type_of(family: Option<Self>, series_name: &[u8]) -> Option<MetricType> {
        family.filter(|f| f.contains(series_name)).map(|f| f.kind)
    }

    fn contains(&self, series_name: &[u8]) -> bool {
        // Counters and infos may be declared with or without their suffix.
        let base = match self.kind {
            MetricType::Counter => self.name.strip_suffix(b"_total"),
            MetricType::Info => self.name.strip_suffix(b"_info"),
            _ => None,
        }
        .unwrap_or(self.name);
        let Some(suffix) = series_name.strip_prefix(base) else {
            return false;
        };
        let suffixes: &[&[u8]] = match self.kind {
            MetricType::Counter => &[b"", b"_total", b"_created"],
            MetricType::Histogram => &[b"", b"_bucket", b"_sum", b"_count", b"_created"],
            MetricType::GaugeHistogram => &[b"", b"_bucket", b"_gsum", b"_gcount"],
            MetricType::Summary => &[b"", b"_sum", b"_count", b"_created"],
            MetricType::Info => &[b"", b"_info"],
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[b""],
        };
        suffixes.contains(&suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_of(name: &str, kind: MetricType, series: &str) -> Option<MetricType> {
        Family::type_of(Some(Family::new(name.as_bytes(), kind)), series.as_bytes())
    }

    #[test]
    fn membership_by_type_suffixes() {
        use MetricType::*;
        assert_eq!(type_of("req", Counter, "req_total"), Some(Counter));
        assert_eq!(type_of("req_total", Counter, "req_total"), Some(Counter));
        assert_eq!(type_of("req_total", Counter, "req_created"), Some(Counter));
        assert_eq!(type_of("req", Counter, "req_count"), None);
        assert_eq!(type_of("h", Histogram, "h_bucket"), Some(Histogram));
        assert_eq!(type_of("h", Histogram, "h_gsum"), None);
        assert_eq!(
            type_of("g", GaugeHistogram, "g_gcount"),
            Some(GaugeHistogram)
        );
        assert_eq!(type_of("s", Summary, "s"), Some(Summary));
        assert_eq!(type_of("s", Summary, "s_bucket"), None);
        assert_eq!(type_of("build_info", Info, "build_info"), Some(Info));
        assert_eq!(type_of("g", Gauge, "g_total"), None);
        assert_eq!(type_of("g", Gauge, "other"), None);
        assert_eq!(Family::type_of(None, b"g"), None);
    }
}
