//! Counters read from a system's own `/metrics` (Prometheus text format).

use ember_exposition::{Entry, Format, ParseError, Parser};

/// Which samples of a metric to add up.
#[derive(Clone, Copy, Debug)]
pub enum Select<'a> {
    /// Every sample of the metric, whatever its labels.
    All,
    /// Samples whose label `.0` equals `.1`.
    LabelIs(&'a str, &'a str),
    /// Samples whose label `.0` starts with `.1`.
    LabelStartsWith(&'a str, &'a str),
}

impl Select<'_> {
    fn matches(&self, labels: ember_exposition::LabelPairs<'_>) -> bool {
        let mut labels = labels;
        match *self {
            Select::All => true,
            Select::LabelIs(name, value) => labels.any(|(n, v)| n == name && v == value),
            Select::LabelStartsWith(name, prefix) => {
                labels.any(|(n, v)| n == name && v.starts_with(prefix))
            }
        }
    }
}

/// The sum of the selected samples of `metric` in `body`, or `None` when there is none.
pub fn sum(body: &str, metric: &str, select: Select<'_>) -> Result<Option<f64>, ParseError> {
    let mut total = None;
    for entry in Parser::new(body.as_bytes(), Format::PromText) {
        let Entry::Sample(sample) = entry? else {
            continue;
        };
        if sample.metric_name() == metric && select.matches(sample.labels()) {
            *total.get_or_insert(0.0) += sample.value;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as Prometheus 2.42 and VictoriaMetrics 1.79 print them.
    const PROMETHEUS: &str = "\
# HELP prometheus_tsdb_head_samples_appended_total Total number of appended samples.
# TYPE prometheus_tsdb_head_samples_appended_total counter
prometheus_tsdb_head_samples_appended_total{type=\"float\"} 1.234567e+06
prometheus_tsdb_head_samples_appended_total{type=\"histogram\"} 0
# HELP prometheus_tsdb_head_series Total number of series in the head block.
# TYPE prometheus_tsdb_head_series gauge
prometheus_tsdb_head_series 51000
prometheus_tsdb_head_series_created_total 51500
";
    const VICTORIA_METRICS: &str = "\
vm_cache_entries{type=\"storage/hour_metric_ids\"} 51100
vm_cache_entries{type=\"storage/date_metricID\"} 7
vm_rows_inserted_total{type=\"promscrape\"} 600000
vm_rows_inserted_total{type=\"promremotewrite\"} 25
vm_rows{type=\"indexdb\"} 90000
vm_rows{type=\"storage/big\"} 100
vm_rows{type=\"storage/small\"} 4000
vm_app_version{version=\"\", short_version=\"\"} 1
";

    #[test]
    fn sums_prometheus_counters() {
        let appended = "prometheus_tsdb_head_samples_appended_total";
        assert_eq!(
            sum(PROMETHEUS, appended, Select::All),
            Ok(Some(1_234_567.0))
        );
        let series = sum(PROMETHEUS, "prometheus_tsdb_head_series", Select::All);
        assert_eq!(series, Ok(Some(51_000.0)));
        assert_eq!(sum(PROMETHEUS, "absent_metric", Select::All), Ok(None));
    }

    #[test]
    fn selects_victoria_metrics_samples_by_label() {
        let series = Select::LabelIs("type", "storage/hour_metric_ids");
        assert_eq!(
            sum(VICTORIA_METRICS, "vm_cache_entries", series),
            Ok(Some(51_100.0))
        );
        let rows = sum(VICTORIA_METRICS, "vm_rows_inserted_total", Select::All);
        assert_eq!(rows, Ok(Some(600_025.0)));
        let stored = Select::LabelStartsWith("type", "storage/");
        assert_eq!(sum(VICTORIA_METRICS, "vm_rows", stored), Ok(Some(4_100.0)));
    }

    #[test]
    fn a_malformed_body_is_an_error() {
        assert!(sum("metric{ 1\n", "metric", Select::All).is_err());
    }
}
