use super::*;
use ember_exposition::{Entry, Format, MetricType, Parser};
use std::collections::{BTreeMap, HashSet};
use template::ValueClass;

const EPOCH_MS: i64 = 1_800_000_000_000;

fn params() -> WorkloadParams {
    WorkloadParams {
        seed: 42,
        targets: 10,
        series_per_target: 600,
        interval_ms: 15_000,
        churn: None,
    }
}

fn workload(p: WorkloadParams) -> Workload {
    Workload::new(p).expect("valid workload")
}

fn body(w: &Workload, target: usize, slot: u64) -> String {
    let mut out = String::new();
    w.render(target, slot, EPOCH_MS, &mut out);
    out
}

struct Parsed {
    value: f64,
    timestamp_ms: Option<i64>,
    kind: Option<MetricType>,
}

fn parse(body: &str) -> BTreeMap<String, Parsed> {
    let mut out = BTreeMap::new();
    for entry in Parser::new(body.as_bytes(), Format::PromText) {
        if let Entry::Sample(s) = entry.expect("body parses") {
            let key = String::from_utf8(s.series_id().to_vec()).unwrap();
            let parsed = Parsed {
                value: s.value,
                timestamp_ms: s.timestamp_ms,
                kind: s.metric_type,
            };
            assert!(out.insert(key, parsed).is_none(), "duplicate series");
        }
    }
    out
}

#[test]
fn series_per_target_is_rounded_to_whole_histograms() {
    let min = Workload::min_series_per_target();
    assert_eq!(min, 505 + 14);
    assert_eq!(workload(params()).series_per_target(), 505 + 14 * 6);
    let too_few = WorkloadParams {
        series_per_target: min - 1,
        ..params()
    };
    assert_eq!(
        Workload::new(too_few).unwrap_err(),
        WorkloadError::TooFewSeries { min }
    );
}

#[test]
fn body_parses_with_node_exporter_shape_and_timestamps() {
    let w = workload(params());
    let slot = 7;
    let samples = parse(&body(&w, 3, slot));
    assert_eq!(samples.len(), w.series_per_target());
    let stamp = EPOCH_MS + w.sample_offset_ms(3, slot) as i64;
    assert!(samples.values().all(|s| s.timestamp_ms == Some(stamp)));
    assert!(
        samples
            .values()
            .all(|s| s.value.is_finite() && s.value >= 0.0)
    );
    let cpu = samples
        .keys()
        .filter(|k| k.starts_with("node_cpu_seconds_total{"))
        .count();
    assert_eq!(cpu, 16);
    let buckets = samples
        .keys()
        .filter(|k| k.starts_with("http_request_duration_seconds_bucket{"))
        .count();
    assert_eq!(buckets, 6 * 12);
    let names: HashSet<_> = samples
        .keys()
        .map(|k| k.split('{').next().unwrap())
        .collect();
    assert!(names.len() > 250, "{} metric names", names.len());
    assert!(
        samples
            .iter()
            .filter(|(k, _)| k.contains("_info{"))
            .all(|(_, s)| s.value == 1.0)
    );
}

#[test]
fn same_seed_gives_byte_identical_bodies() {
    let (a, b) = (workload(params()), workload(params()));
    for (target, slot) in [(0, 0), (3, 1), (9, 500)] {
        assert_eq!(body(&a, target, slot), body(&b, target, slot));
    }
}

#[test]
fn targets_seeds_and_slots_differ() {
    let w = workload(params());
    let other_seed = workload(WorkloadParams {
        seed: 43,
        ..params()
    });
    let differing = |x: &str, y: &str| {
        let (x, y) = (parse(x), parse(y));
        x.iter().filter(|(k, s)| y[*k].value != s.value).count()
    };
    assert!(differing(&body(&w, 1, 5), &body(&w, 2, 5)) > 200);
    assert!(differing(&body(&w, 1, 5), &body(&other_seed, 1, 5)) > 200);
    assert!(differing(&body(&w, 1, 5), &body(&w, 1, 6)) > 100);
    assert_ne!(w.sample_offset_ms(1, 0), w.sample_offset_ms(2, 0));
}

#[test]
fn counters_grow_and_histograms_are_cumulative() {
    let w = workload(params());
    let (early, late) = (parse(&body(&w, 4, 10)), parse(&body(&w, 4, 11)));
    let mut grew = 0;
    for (key, s) in &early {
        if s.kind == Some(MetricType::Counter) {
            assert!(late[key].value >= s.value, "{key} went down");
            grew += usize::from(late[key].value > s.value);
        }
    }
    assert!(grew > 100, "only {grew} counters grew");
    // Buckets of one histogram rise with `le` and end at `_count`.
    let handler = "handler=\"/api/v1/orders\"";
    let buckets: Vec<f64> = early
        .iter()
        .filter(|(k, _)| {
            k.starts_with("http_request_duration_seconds_bucket") && k.contains(handler)
        })
        .map(|(_, s)| s.value)
        .collect();
    assert_eq!(buckets.len(), 12);
    let count = early
        .iter()
        .find(|(k, _)| k.starts_with("http_request_duration_seconds_count") && k.contains(handler))
        .map(|(_, s)| s.value)
        .unwrap();
    let mut sorted = buckets.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(sorted.last(), Some(&count));
    assert!(sorted[0] < count, "all requests in the first bucket");
}

#[test]
fn churn_replaces_the_configured_share() {
    let every_s = 600;
    let w = workload(WorkloadParams {
        churn: Some(Churn {
            share: 0.1,
            every_s,
        }),
        ..params()
    });
    let slots_per_period = every_s * 1000 / w.params().interval_ms;
    let info_series = w
        .template
        .series()
        .filter(|s| s.class == ValueClass::One)
        .count();
    let expected = 0.1 * (w.series_per_target() - info_series) as f64;
    for target in 0..w.params().targets {
        let before: HashSet<String> = parse(&body(&w, target, 3)).into_keys().collect();
        let after: HashSet<String> = parse(&body(&w, target, 3 + slots_per_period))
            .into_keys()
            .collect();
        let replaced = before.difference(&after).count();
        assert_eq!(before.len(), after.len());
        assert!(
            (replaced as f64 - expected).abs() <= 3.0,
            "target {target}: {replaced} replaced, expected ~{expected}"
        );
        assert!(after.iter().any(|k| k.contains("generation=\"")));
        assert!(
            after
                .iter()
                .all(|k| !(k.contains("_info{") && k.contains("generation=")))
        );
    }
    // Within a period a target changes its series at most once.
    let changes = (0..slots_per_period)
        .filter(|&slot| {
            let a: HashSet<String> = parse(&body(&w, 0, slot)).into_keys().collect();
            let b: HashSet<String> = parse(&body(&w, 0, slot + 1)).into_keys().collect();
            a != b
        })
        .count();
    assert_eq!(changes, 1);
}

#[test]
fn no_churn_keeps_series_stable() {
    let w = workload(params());
    let a: HashSet<String> = parse(&body(&w, 0, 0)).into_keys().collect();
    let b: HashSet<String> = parse(&body(&w, 0, 10_000)).into_keys().collect();
    assert_eq!(a, b);
    assert!(a.iter().all(|k| !k.contains("generation=")));
}
