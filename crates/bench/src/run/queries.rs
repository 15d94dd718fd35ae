//! The queries every system answers, and when they are evaluated.

use super::api::At;
use crate::report::QueryKind;

/// Typical dashboard queries over the workload's series.
pub(crate) const QUERIES: [&str; 7] = [
    "rate(node_cpu_seconds_total[5m])",
    "sum by (instance) (rate(node_network_receive_bytes_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "topk(10, rate(node_network_receive_bytes_total[5m]))",
    "rate(node_network_receive_bytes_total[5m]) * on (instance, device) group_left (operstate) node_network_info",
    "count by (__name__) ({__name__=~\".+\"})",
    "avg(rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])) by (instance)",
];

/// Query times relative to each system's run epoch, identical for every system.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Window {
    /// Instant queries are evaluated, and range queries end, this long after the epoch.
    pub(crate) eval_offset_s: u64,
    /// Range queries cover the run up to the evaluation time (at most an hour) but skip
    /// its first two intervals and 10 s: until every system has scraped every target once,
    /// the scrapers' own series (`up`, `scrape_*`, stamped with the scrape time) differ.
    pub(crate) range_s: u64,
    /// At most ~60 steps, never finer than the scrape interval.
    pub(crate) step_s: u64,
}

impl Window {
    pub(crate) fn new(ingest_s: u64, interval_s: u64) -> Window {
        let settle_s = (2 * interval_s + 10).min(ingest_s / 2);
        let range_s = (ingest_s - settle_s).min(3600);
        Window {
            eval_offset_s: ingest_s,
            range_s,
            step_s: interval_s.max(range_s.div_ceil(60)),
        }
    }

    /// Unix seconds of the evaluation time for a run that started at `epoch_ms`.
    pub(crate) fn eval_time(&self, epoch_ms: i64) -> f64 {
        epoch_ms as f64 / 1000.0 + self.eval_offset_s as f64
    }

    pub(crate) fn at(&self, kind: QueryKind, epoch_ms: i64) -> At {
        let end = self.eval_time(epoch_ms);
        match kind {
            QueryKind::Instant => At::Instant { time: end },
            QueryKind::Range => At::Range {
                start: end - self.range_s as f64,
                end,
                step: self.step_s as f64,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_skips_the_first_scrapes_and_takes_at_most_sixty_steps() {
        let quick = Window::new(50, 5);
        assert_eq!(
            (quick.eval_offset_s, quick.range_s, quick.step_s),
            (50, 30, 5)
        );
        let full = Window::new(1200, 15);
        assert_eq!(
            (full.eval_offset_s, full.range_s, full.step_s),
            (1200, 1160, 20)
        );
        assert_eq!(Window::new(7200, 15).range_s, 3600);
        assert_eq!(Window::new(20, 15).range_s, 10);
    }

    #[test]
    fn times_are_relative_to_the_epoch() {
        let w = Window::new(60, 5);
        let epoch_ms = 1_700_000_000_000;
        let end = 1_700_000_060.0;
        assert_eq!(
            w.at(QueryKind::Instant, epoch_ms),
            At::Instant { time: end }
        );
        let range = At::Range {
            start: end - 40.0,
            end,
            step: 5.0,
        };
        assert_eq!(w.at(QueryKind::Range, epoch_ms), range);
    }
}
