//! The scrape subsystem's self-metrics, under Prometheus's names.

use ember_selfmetrics::{Counter, CounterVec, GaugeVec, Registry, SummaryVec};

/// Counters and gauges updated by pools and loops.
#[derive(Clone)]
pub(crate) struct ScrapeMetrics {
    pub(crate) exceeded_sample_limit: Counter,
    pub(crate) exceeded_body_size_limit: Counter,
    pub(crate) sample_out_of_order: Counter,
    pub(crate) sample_duplicate: Counter,
    pub(crate) sample_out_of_bounds: Counter,
    pub(crate) exceeded_target_limit: Counter,
    pub(crate) pool_targets: GaugeVec,
    pub(crate) pool_syncs: CounterVec,
    pub(crate) pool_reloads: Counter,
    pub(crate) pool_reloads_failed: Counter,
    pub(crate) sd_discovered_targets: GaugeVec,
    pub(crate) sd_file_read_errors: Counter,
    pub(crate) interval_length: SummaryVec,
}

impl ScrapeMetrics {
    /// Registers the families on `registry`.
    pub(crate) fn register(registry: &Registry) -> Self {
        ScrapeMetrics {
            exceeded_sample_limit: registry.counter(
                "prometheus_target_scrapes_exceeded_sample_limit_total",
                "Total number of scrapes that hit the sample limit and were rejected.",
            ),
            exceeded_body_size_limit: registry.counter(
                "prometheus_target_scrapes_exceeded_body_size_limit_total",
                "Total number of scrapes that hit the body size limit",
            ),
            sample_out_of_order: registry.counter(
                "prometheus_target_scrapes_sample_out_of_order_total",
                "Total number of samples rejected due to not being out of the expected order.",
            ),
            sample_duplicate: registry.counter(
                "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                "Total number of samples rejected due to duplicate timestamps but different values.",
            ),
            sample_out_of_bounds: registry.counter(
                "prometheus_target_scrapes_sample_out_of_bounds_total",
                "Total number of samples rejected due to timestamp falling outside of the time bounds.",
            ),
            exceeded_target_limit: registry.counter(
                "prometheus_target_scrape_pool_exceeded_target_limit_total",
                "Total number of times scrape pools hit the target limit, during sync or config reload.",
            ),
            pool_targets: registry.gauge_vec(
                "prometheus_target_scrape_pool_targets",
                "Current number of targets in this scrape pool.",
                &["scrape_job"],
            ),
            pool_syncs: registry.counter_vec(
                "prometheus_target_scrape_pool_sync_total",
                "Total number of syncs that were executed on a scrape pool.",
                &["scrape_job"],
            ),
            pool_reloads: registry.counter(
                "prometheus_target_scrape_pool_reloads_total",
                "Total number of scrape pool reloads.",
            ),
            pool_reloads_failed: registry.counter(
                "prometheus_target_scrape_pool_reloads_failed_total",
                "Total number of failed scrape pool reloads.",
            ),
            sd_discovered_targets: registry.gauge_vec(
                "prometheus_sd_discovered_targets",
                "Current number of discovered targets.",
                &["config", "name"],
            ),
            interval_length: registry.summary_vec(
                "prometheus_target_interval_length_seconds",
                "Actual intervals between scrapes.",
                &["interval"],
                &[0.01, 0.05, 0.5, 0.9, 0.99],
            ),
            sd_file_read_errors: registry.counter(
                "prometheus_sd_file_read_errors_total",
                "The number of File-SD read errors.",
            ),
        }
    }
}
