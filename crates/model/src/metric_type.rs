use std::fmt;

/// A metric family's type from `# TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `gaugehistogram` (OpenMetrics only)
    GaugeHistogram,
    /// `summary`
    Summary,
    /// `info` (OpenMetrics only)
    Info,
    /// `stateset` (OpenMetrics only)
    StateSet,
    /// `unknown` in OpenMetrics, `untyped` in the text format.
    Unknown,
}

impl MetricType {
    /// The OpenMetrics spelling (`unknown` for [`MetricType::Unknown`]).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// True for the types whose series may have a `_created` companion.
    pub fn has_created_series(self) -> bool {
        matches!(
            self,
            MetricType::Counter | MetricType::Histogram | MetricType::Summary
        )
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
