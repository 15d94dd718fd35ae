//! Write-path throughput: encoding a scrape's worth of samples and logging the record,
//! with compression on and off, plus fsync-per-log; and replay (read + decode).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ember_wal::record::{RefSample, decode_samples, encode_samples};
use ember_wal::{Reader, SegmentRange, SyncMode, Wal, WalOptions};
use std::hint::black_box;
use std::time::Duration;

/// Samples per record: one scrape of a mid-sized target.
const SERIES: u64 = 1000;

/// A scrape: counters and gauges with realistic (partly repetitive) values.
fn scrape(round: i64) -> Vec<RefSample> {
    (0..SERIES)
        .map(|r| RefSample {
            series_ref: r + 1,
            timestamp: 1_700_000_000_000 + round * 15_000 + (r % 7) as i64,
            value: if r % 3 == 0 {
                (round as f64) * 0.37 + r as f64 / 1e3 // gauge
            } else {
                (round * (r as i64 + 1)) as f64 // counter
            },
        })
        .collect()
}

fn options(compression: bool, sync: SyncMode) -> WalOptions {
    WalOptions {
        segment_size: 16 * 1024 * 1024,
        compression,
        sync,
    }
}

fn log_samples(c: &mut Criterion) {
    let scrapes: Vec<Vec<RefSample>> = (0..64).map(scrape).collect();
    let mut encoded = Vec::new();
    encode_samples(&scrapes[0], &mut encoded);
    let record_bytes = encoded.len() as u64;

    for (unit, throughput) in [
        ("samples", Throughput::Elements(SERIES)),
        ("bytes", Throughput::Bytes(record_bytes)),
    ] {
        let mut group = c.benchmark_group(format!("log_samples/{unit}"));
        group.throughput(throughput);
        for (name, opts) in [
            ("snappy", options(true, SyncMode::SegmentEnd)),
            ("plain", options(false, SyncMode::SegmentEnd)),
            ("snappy_fsync_every_log", options(true, SyncMode::EveryLog)),
        ] {
            if unit == "bytes" && opts.sync == SyncMode::EveryLog {
                continue; // fsync latency, not bandwidth: one unit is enough
            }
            let dir = tempfile::tempdir().unwrap();
            let mut wal = Wal::open(dir.path(), opts).unwrap();
            let mut buf = Vec::new();
            let mut round = 0;
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    buf.clear();
                    encode_samples(&scrapes[round % scrapes.len()], &mut buf);
                    wal.log(&[&buf]).unwrap();
                    round += 1;
                    // Keep the disk footprint to two segments.
                    let current = wal.current_segment();
                    if current > 1 {
                        wal.truncate(current - 1).unwrap();
                    }
                });
            });
        }
        group.finish();
    }
}

fn replay_samples(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay_samples");
    for (name, compression) in [("snappy", true), ("plain", false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), options(compression, SyncMode::SegmentEnd)).unwrap();
        let mut buf = Vec::new();
        let rounds = 2000;
        for round in 0..rounds {
            buf.clear();
            encode_samples(&scrape(round), &mut buf);
            wal.log(&[&buf]).unwrap();
        }
        wal.close().unwrap();
        group.throughput(Throughput::Elements(rounds as u64 * SERIES));
        let mut samples = Vec::new();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut reader = Reader::open(&[SegmentRange::all(dir.path())]).unwrap();
                let mut n = 0;
                while let Some(rec) = reader.next_record().unwrap() {
                    samples.clear();
                    decode_samples(rec, &mut samples).unwrap();
                    n += samples.len();
                }
                black_box(n)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = log_samples, replay_samples
}
criterion_main!(benches);
