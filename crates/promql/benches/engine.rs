//! The engine on realistic data: 10,000 series × 1 day at 15 s (57.6 M samples) in a
//! TSDB head, queried like a "last 24 hours" dashboard (range queries, 5 m step) and at
//! one instant. `cargo bench -p ember-promql --bench engine`.
//!
//! Series: `http_requests_total{job,instance,code}` (2,000 counters),
//! `http_request_duration_seconds_bucket{job,instance,le}` (6,000 counters over 12
//! buckets) with `_sum`/`_count` (1,000), and `node_load1{job,instance}` (1,000 gauges).

use criterion::{Criterion, criterion_group, criterion_main};
use ember_model::Labels;
use ember_promql::Engine;
use ember_storage::Appendable;
use ember_tsdb::{Head, HeadOptions};
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `ember` binary uses.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const STEP_MS: i64 = 15_000;
const DAY_MS: i64 = 24 * 3600 * 1000;
const START: i64 = 1_700_000_000_000 / DAY_MS * DAY_MS;
const LE: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf",
];

/// One series: its labels and how its value moves per scrape.
struct SeriesSpec {
    labels: Labels,
    /// Counters grow by this much per scrape; gauges wander around it.
    rate: f64,
    counter: bool,
}

fn series() -> Vec<SeriesSpec> {
    let mut out = Vec::new();
    for job in 0..10 {
        for instance in 0..100 {
            let base = [
                ("job", format!("job-{job}")),
                ("instance", format!("host-{instance:03}.example.org:9100")),
            ];
            let with = |name: &str, extra: &[(&str, String)]| {
                Labels::from_pairs(
                    base.iter()
                        .cloned()
                        .chain([("__name__", name.to_string())])
                        .chain(extra.iter().cloned()),
                )
            };
            let scale = (1 + (job * 100 + instance) % 7) as f64;
            for (i, code) in ["200", "500"].into_iter().enumerate() {
                out.push(SeriesSpec {
                    labels: with("http_requests_total", &[("code", code.into())]),
                    rate: scale * if i == 0 { 40.0 } else { 0.5 },
                    counter: true,
                });
            }
            if instance < 50 {
                // Cumulative buckets: each bound takes a larger share of the requests.
                for (i, le) in LE.into_iter().enumerate() {
                    out.push(SeriesSpec {
                        labels: with("http_request_duration_seconds_bucket", &[("le", le.into())]),
                        rate: scale * 40.0 * (i + 1) as f64 / LE.len() as f64,
                        counter: true,
                    });
                }
                out.push(SeriesSpec {
                    labels: with("http_request_duration_seconds_sum", &[]),
                    rate: scale * 3.0,
                    counter: true,
                });
                out.push(SeriesSpec {
                    labels: with("http_request_duration_seconds_count", &[]),
                    rate: scale * 40.0,
                    counter: true,
                });
            }
            out.push(SeriesSpec {
                labels: with("node_load1", &[]),
                rate: scale,
                counter: false,
            });
        }
    }
    out
}

/// A head holding one day of every series, appended scrape by scrape.
fn load() -> Head {
    let head = Head::new(HeadOptions::default());
    let specs = series();
    let mut refs = vec![0; specs.len()];
    let mut values: Vec<f64> = vec![0.0; specs.len()];
    for step in 0..DAY_MS / STEP_MS {
        let t = START + step * STEP_MS;
        let mut app = head.appender();
        for (i, s) in specs.iter().enumerate() {
            // Deterministic jitter: counters grow unevenly, gauges wander.
            let wobble = ((step as usize * 31 + i * 17) % 11) as f64 / 10.0;
            values[i] = if s.counter {
                values[i] + (s.rate * wobble).round()
            } else {
                s.rate + wobble
            };
            refs[i] = app.append(refs[i], &s.labels, t, values[i]).unwrap();
        }
        app.commit().unwrap();
    }
    head
}

const QUERIES: [(&str, &str); 6] = [
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

fn bench(c: &mut Criterion) {
    let started = std::time::Instant::now();
    let head = load();
    let samples = series().len() as f64 * (DAY_MS / STEP_MS) as f64;
    eprintln!(
        "loaded {samples} samples in {:.1?} ({:.1} M samples/s)",
        started.elapsed(),
        samples / started.elapsed().as_secs_f64() / 1e6
    );
    let engine = Engine::default();
    let end = START + DAY_MS - STEP_MS;
    let mut group = c.benchmark_group("range_1d_step_5m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for (name, query) in QUERIES {
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    engine
                        .range_query(&head, query, START + 3_600_000, end, 300_000)
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("instant");
    group.sample_size(20);
    for (name, query) in QUERIES {
        group.bench_function(name, |b| {
            b.iter(|| black_box(engine.instant_query(&head, query, end).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
