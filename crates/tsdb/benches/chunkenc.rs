//! XOR chunk encode and decode throughput, in samples per second, on Prometheus-sized
//! chunks (120 samples) of two shapes: a scraped counter (regular timestamps with a little
//! jitter, slowly growing integer values) and a noisy gauge (random floats, the encoding's
//! worst realistic case).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember_tsdb::chunkenc::{XorChunk, XorIterator};
use std::hint::black_box;

const SAMPLES_PER_CHUNK: usize = 120;
const CHUNKS: usize = 100;

/// A tiny deterministic generator, so runs are comparable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn counter_series(rng: &mut XorShift) -> Vec<(i64, f64)> {
    let mut t = 1_700_000_000_000i64;
    let mut v = 1_000.0;
    (0..SAMPLES_PER_CHUNK)
        .map(|_| {
            t += 15_000 + (rng.next() % 5) as i64 - 2;
            v += (rng.next() % 20) as f64;
            (t, v)
        })
        .collect()
}

fn gauge_series(rng: &mut XorShift) -> Vec<(i64, f64)> {
    let mut t = 1_700_000_000_000i64;
    (0..SAMPLES_PER_CHUNK)
        .map(|_| {
            t += 15_000;
            (t, (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 100.0)
        })
        .collect()
}

fn encode(samples: &[(i64, f64)]) -> XorChunk {
    let mut chunk = XorChunk::new();
    for &(t, v) in samples {
        chunk.append(t, v);
    }
    chunk
}

fn bench_shape(c: &mut Criterion, name: &str, make: fn(&mut XorShift) -> Vec<(i64, f64)>) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let series: Vec<_> = (0..CHUNKS).map(|_| make(&mut rng)).collect();
    let chunks: Vec<_> = series.iter().map(|s| encode(s).into_bytes()).collect();
    let bytes: usize = chunks.iter().map(Vec::len).sum();
    eprintln!(
        "{name}: {:.2} bytes/sample",
        bytes as f64 / (CHUNKS * SAMPLES_PER_CHUNK) as f64
    );

    let mut group = c.benchmark_group(format!("xor/{name}"));
    group.throughput(Throughput::Elements((CHUNKS * SAMPLES_PER_CHUNK) as u64));
    group.bench_function("encode", |b| {
        b.iter(|| {
            let mut total = 0;
            for samples in &series {
                total += encode(black_box(samples)).bytes().len();
            }
            total
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for bytes in &chunks {
                for (t, v) in XorIterator::new(black_box(bytes)) {
                    sum += v + t as f64;
                }
            }
            sum
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_shape(c, "counter", counter_series);
    bench_shape(c, "gauge", gauge_series);
}

criterion_group!(chunkenc, benches);
criterion_main!(chunkenc);
