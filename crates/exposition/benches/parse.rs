//! Parser throughput on a real Prometheus scrape and on a large synthetic body.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember_exposition::{Entry, Format, Parser};
use std::hint::black_box;

/// What a scrape loop does on a cache hit: key and value of every sample.
fn scan(body: &[u8], format: Format) -> usize {
    let mut sum = 0;
    for entry in Parser::new(body, format) {
        if let Entry::Sample(s) = entry.expect("benchmark bodies are valid") {
            sum += s.series_id().len() + s.value.to_bits() as usize % 2;
        }
    }
    sum
}

/// What a scrape loop does on a cache miss: also decode every label.
fn scan_with_labels(body: &[u8], format: Format) -> usize {
    let mut sum = 0;
    for entry in Parser::new(body, format) {
        if let Entry::Sample(s) = entry.expect("benchmark bodies are valid") {
            sum +=
                s.metric_name().len() + s.labels().map(|(n, v)| n.len() + v.len()).sum::<usize>();
        }
    }
    sum
}

fn sample_count(body: &[u8], format: Format) -> u64 {
    Parser::new(body, format)
        .filter(|e| matches!(e, Ok(Entry::Sample(_))))
        .count() as u64
}

/// A body shaped like a busy exporter's: 200 histogram families of 50 label sets each.
fn synthetic_body() -> Vec<u8> {
    let mut body = String::new();
    for family in 0..200 {
        let name = format!("app_request_duration_seconds_{family}");
        body.push_str(&format!(
            "# HELP {name} Request latency by handler and method.\n# TYPE {name} histogram\n"
        ));
        for series in 0..50 {
            let labels = format!(
                "handler=\"/api/v1/resource/{series}\",method=\"GET\",instance=\"10.0.{family}.{series}:9100\""
            );
            for le in ["0.005", "0.01", "0.1", "1", "10", "+Inf"] {
                body.push_str(&format!(
                    "{name}_bucket{{{labels},le=\"{le}\"}} {}\n",
                    series * 7 + family
                ));
            }
            body.push_str(&format!(
                "{name}_sum{{{labels}}} {}\n",
                1.5e-3 * f64::from(series)
            ));
            body.push_str(&format!(
                "{name}_count{{{labels}}} {}\n",
                series * 7 + family
            ));
        }
    }
    body.into_bytes()
}

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let alltypes = ember_testkit::shared_dir().join("textparse-testdata/alltypes.237mfs.prom.txt");
    vec![
        (
            "alltypes.237mfs",
            std::fs::read(alltypes).expect("read alltypes.237mfs.prom.txt"),
        ),
        ("synthetic", synthetic_body()),
    ]
}

fn throughput(c: &mut Criterion) {
    for (name, body) in bodies() {
        let samples = sample_count(&body, Format::PromText);
        let mut bytes = c.benchmark_group(format!("bytes/{name}"));
        bytes.throughput(Throughput::Bytes(body.len() as u64));
        bytes.bench_function("parse", |b| {
            b.iter(|| scan(black_box(&body), Format::PromText))
        });
        bytes.bench_function("parse+labels", |b| {
            b.iter(|| scan_with_labels(black_box(&body), Format::PromText))
        });
        bytes.finish();

        let mut elements = c.benchmark_group(format!("samples/{name}"));
        elements.throughput(Throughput::Elements(samples));
        elements.bench_function("parse", |b| {
            b.iter(|| scan(black_box(&body), Format::PromText))
        });
        elements.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
