//! Index read paths on a synthetic 100k-series index held in memory: postings
//! intersection, matcher evaluation and series lookup.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember_model::{Labels, MatchType, Matcher};
use ember_tsdb::index::{ChunkMeta, IndexReader, IndexWriter, Intersect, SeriesRef};
use std::collections::BTreeSet;
use std::hint::black_box;

const SERIES: usize = 100_000;

/// Series `i` of the synthetic index: 100 metric names × 1000 instances, with a job and a
/// status code that cut across them, and two chunks each.
fn series_labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", format!("metric_{:03}", i % 100)),
        ("instance", format!("host-{:04}:9100", i / 100)),
        ("job", format!("job-{}", (i / 7) % 10)),
        ("status", ["200", "404", "500"][(i / 3) % 3].to_string()),
    ])
}

fn build_index() -> Vec<u8> {
    let mut series: Vec<Labels> = (0..SERIES).map(series_labels).collect();
    series.sort();
    let mut symbols = BTreeSet::new();
    for labels in &series {
        for l in labels.iter() {
            symbols.insert(l.name.clone());
            symbols.insert(l.value.clone());
        }
    }
    let mut writer = IndexWriter::new(Vec::new()).expect("start index");
    writer.add_symbols(&symbols).expect("symbols");
    for (i, labels) in series.iter().enumerate() {
        let chunk_ref = 8 + 200 * i as u64;
        let chunks = [
            ChunkMeta {
                mint: 0,
                maxt: 3_599_000,
                chunk_ref,
            },
            ChunkMeta {
                mint: 3_600_000,
                maxt: 7_199_000,
                chunk_ref: chunk_ref + 100,
            },
        ];
        writer.add_series(labels, &chunks).expect("series");
    }
    writer.finish().expect("finish")
}

fn matcher(name: &str, kind: MatchType, value: &str) -> Matcher {
    Matcher::new(kind, name, value).expect("valid matcher")
}

fn bench_index(c: &mut Criterion) {
    let index = build_index();
    let reader = IndexReader::new(&index[..]).expect("open");

    let mut group = c.benchmark_group("index");
    group.bench_function("open (sample symbols and postings table)", |b| {
        b.iter(|| IndexReader::new(black_box(&index[..])).expect("open"))
    });

    // 1000-ref list ∩ 10000-ref list ∩ 33334-ref list.
    let lists = || {
        vec![
            reader.postings_list("status", "200").expect("postings"),
            reader
                .postings_list("__name__", "metric_042")
                .expect("postings"),
            reader.postings_list("job", "job-3").expect("postings"),
        ]
    };
    let candidates = lists().iter().map(|l| l.size_hint().0).min().unwrap_or(0);
    group.throughput(Throughput::Elements(candidates as u64));
    group.bench_function("intersect 3 lists (1k, 10k, 33k refs)", |b| {
        b.iter(|| Intersect::new(lists()).count())
    });
    let lists = || {
        vec![
            reader.postings_list("status", "404").expect("postings"),
            reader.postings_list("job", "job-3").expect("postings"),
        ]
    };
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("intersect 2 lists (10k, 33k refs)", |b| {
        b.iter(|| Intersect::new(lists()).count())
    });

    let queries = [
        (
            "matchers name=~a|b|c, job!=x",
            vec![
                matcher(
                    "__name__",
                    MatchType::Regex,
                    "metric_001|metric_002|metric_003",
                ),
                matcher("job", MatchType::NotEqual, "job-1"),
            ],
        ),
        (
            "matchers instance=~prefix.*",
            vec![matcher("instance", MatchType::Regex, "host-01.*")],
        ),
        (
            "matchers instance=~regex (scans 1000 values)",
            vec![matcher("instance", MatchType::Regex, ".*-09[0-9]0:9100")],
        ),
        (
            "matchers name=, status!~, job=~",
            vec![
                matcher("__name__", MatchType::Equal, "metric_007"),
                matcher("status", MatchType::NotRegex, "5.."),
                matcher("job", MatchType::Regex, "job-[1-4]"),
            ],
        ),
    ];
    group.throughput(Throughput::Elements(1));
    for (name, matchers) in &queries {
        group.bench_function(*name, |b| {
            b.iter(|| {
                reader
                    .postings_for_matchers(black_box(matchers))
                    .expect("select")
            })
        });
    }

    let refs: Vec<SeriesRef> = reader
        .all_postings()
        .expect("all postings")
        .step_by(100)
        .collect();
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.bench_function("series_into (reused buffers)", |b| {
        let mut labels = Vec::new();
        let mut chunks = Vec::new();
        b.iter(|| {
            let mut total = 0;
            for &r in &refs {
                reader
                    .series_into(r, &mut labels, &mut chunks)
                    .expect("series");
                total += labels.len() + chunks.len();
            }
            total
        })
    });
    group.bench_function("series (owned Labels)", |b| {
        b.iter(|| {
            refs.iter()
                .map(|&r| reader.series(r).expect("series").1.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_index);
criterion_main!(benches);
