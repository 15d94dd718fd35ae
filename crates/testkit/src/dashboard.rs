//! A deterministic dataset shaped like a service dashboard's data: 10,000 series scraped
//! every 15 s. The engine's criterion benchmark and the side-by-side query benchmark both
//! load it, so their figures are about the same data.
//!
//! Series: `http_requests_total{job,instance,code}` (2,000 counters),
//! `http_request_duration_seconds_bucket{job,instance,le}` (6,000 counters over 12
//! buckets) with `_sum`/`_count` (1,000), and `node_load1{job,instance}` (1,000 gauges).

/// The scrape interval.
pub const STEP_MS: i64 = 15_000;

/// One day, the span the benchmarks load.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Queries a dashboard over this data runs: `(name, PromQL)`.
pub const QUERIES: [(&str, &str); 6] = [
    ("rate", "rate(http_requests_total[5m])"),
    (
        "sum_by_job_rate",
        "sum by (job) (rate(http_requests_total[5m]))",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    ("topk", "topk(5, rate(http_requests_total[5m]))"),
    (
        "binary_join",
        r#"rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])"#,
    ),
    ("avg_over_time", "avg_over_time(node_load1[1h])"),
];

const LE: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf",
];

/// One series: its labels and how its value moves per scrape.
#[derive(Clone, Debug)]
pub struct DashboardSeries {
    /// Label pairs, `__name__` included, in no particular order.
    pub labels: Vec<(String, String)>,
    /// Counters grow by about this much per scrape; gauges wander around it.
    rate: f64,
    counter: bool,
}

/// Every series of the dataset.
pub fn series() -> Vec<DashboardSeries> {
    let mut out = Vec::new();
    for job in 0..10 {
        for instance in 0..100 {
            let with = |name: &str, extra: &[(&str, &str)]| {
                let mut labels = vec![
                    ("__name__".to_string(), name.to_string()),
                    ("job".to_string(), format!("job-{job}")),
                    (
                        "instance".to_string(),
                        format!("host-{instance:03}.example.org:9100"),
                    ),
                ];
                labels.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
                labels
            };
            let scale = (1 + (job * 100 + instance) % 7) as f64;
            for (i, code) in ["200", "500"].into_iter().enumerate() {
                out.push(DashboardSeries {
                    labels: with("http_requests_total", &[("code", code)]),
                    rate: scale * if i == 0 { 40.0 } else { 0.5 },
                    counter: true,
                });
            }
            if instance < 50 {
                // Cumulative buckets: each bound takes a larger share of the requests.
                for (i, le) in LE.into_iter().enumerate() {
                    out.push(DashboardSeries {
                        labels: with("http_request_duration_seconds_bucket", &[("le", le)]),
                        rate: scale * 40.0 * (i + 1) as f64 / LE.len() as f64,
                        counter: true,
                    });
                }
                out.push(DashboardSeries {
                    labels: with("http_request_duration_seconds_sum", &[]),
                    rate: scale * 3.0,
                    counter: true,
                });
                out.push(DashboardSeries {
                    labels: with("http_request_duration_seconds_count", &[]),
                    rate: scale * 40.0,
                    counter: true,
                });
            }
            out.push(DashboardSeries {
                labels: with("node_load1", &[]),
                rate: scale,
                counter: false,
            });
        }
    }
    out
}

/// Advances `values` (one per series, all 0 before the first scrape) to scrape `step`.
pub fn advance(series: &[DashboardSeries], step: i64, values: &mut [f64]) {
    for (i, (s, v)) in series.iter().zip(values.iter_mut()).enumerate() {
        // Deterministic jitter: counters grow unevenly, gauges wander.
        let wobble = ((step as usize * 31 + i * 17) % 11) as f64 / 10.0;
        *v = if s.counter {
            *v + (s.rate * wobble).round()
        } else {
            s.rate + wobble
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_series_counters_never_decrease() {
        let s = series();
        assert_eq!(s.len(), 10_000);
        let mut a = vec![0.0; s.len()];
        let mut b = a.clone();
        for step in 0..50 {
            let before = a.clone();
            advance(&s, step, &mut a);
            advance(&s, step, &mut b);
            assert_eq!(a, b, "deterministic");
            for (i, series) in s.iter().enumerate().filter(|(_, s)| s.counter) {
                assert!(a[i] >= before[i], "{:?}", series.labels);
            }
        }
    }
}
