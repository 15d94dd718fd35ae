//! The engine on realistic data: the testkit's dashboard dataset (10,000 series × 1 day
//! at 15 s, 57.6 M samples) in a TSDB head, queried like a "last 24 hours" dashboard
//! (range queries, 5 m step) and at one instant.
//! `cargo bench -p ember-promql --bench engine`.

use criterion::{Criterion, criterion_group, criterion_main};
use ember_model::Labels;
use ember_promql::Engine;
use ember_storage::Appendable;
use ember_testkit::dashboard::{self, DAY_MS, QUERIES, STEP_MS};
use ember_tsdb::{Head, HeadOptions};
use std::hint::black_box;
use std::time::Duration;

/// The allocator the `ember` binary uses.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const START: i64 = 1_700_000_000_000 / DAY_MS * DAY_MS;

/// A head holding one day of every series, appended scrape by scrape.
fn load() -> Head {
    let head = Head::new(HeadOptions::default());
    let series = dashboard::series();
    let labels: Vec<Labels> = series
        .iter()
        .map(|s| Labels::from_pairs(s.labels.iter().cloned()))
        .collect();
    let mut refs = vec![0; series.len()];
    let mut values = vec![0.0; series.len()];
    for step in 0..DAY_MS / STEP_MS {
        let t = START + step * STEP_MS;
        dashboard::advance(&series, step, &mut values);
        let mut app = head.appender();
        for (i, l) in labels.iter().enumerate() {
            refs[i] = app.append(refs[i], l, t, values[i]).unwrap();
        }
        app.commit().unwrap();
    }
    head
}

fn bench(c: &mut Criterion) {
    let started = std::time::Instant::now();
    let head = load();
    let samples = dashboard::series().len() as f64 * (DAY_MS / STEP_MS) as f64;
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
