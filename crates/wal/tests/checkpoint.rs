//! Checkpoints: what they keep, atomic replacement, and replay through them.

mod common;

use common::{read_dir, read_ranges};
use ember_model::{Labels, MetricType};
use ember_wal::record::{
    self, RecordType, RefExemplar, RefMetadata, RefSample, RefSeries, Tombstone,
};
use ember_wal::{
    CheckpointError, CheckpointStats, PAGE_SIZE, SegmentRange, SyncMode, Wal, WalOptions,
    checkpoint, last_checkpoint,
};
use std::path::Path;

const MINT: i64 = 40_000;

fn keep_even(series_ref: u64) -> bool {
    series_ref.is_multiple_of(2)
}

fn series_labels(id: u64) -> Labels {
    Labels::from_pairs([("__name__", "m".to_string()), ("id", id.to_string())])
}

fn sample(series_ref: u64, timestamp: i64) -> RefSample {
    RefSample {
        series_ref,
        timestamp,
        value: timestamp as f64 / 7.0,
    }
}

/// An integer-histogram record (type 7) with one minimal entry per `(ref, t)`, each a
/// delta against the first, as Prometheus encodes them.
fn histogram_record(entries: &[(u64, i64)]) -> Vec<u8> {
    fn uvarint(buf: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            buf.push(v as u8 | 0x80);
            v >>= 7;
        }
        buf.push(v as u8);
    }
    fn varint(buf: &mut Vec<u8>, v: i64) {
        uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
    }
    let (base_ref, base_t) = entries[0];
    let mut rec = vec![7];
    rec.extend_from_slice(&base_ref.to_be_bytes());
    rec.extend_from_slice(&base_t.to_be_bytes());
    for &(r, t) in entries {
        varint(&mut rec, r as i64 - base_ref as i64);
        varint(&mut rec, t - base_t);
        rec.push(0); // counter reset hint
        varint(&mut rec, 0); // schema
        rec.extend_from_slice(&0f64.to_be_bytes()); // zero threshold
        uvarint(&mut rec, 0); // zero count
        uvarint(&mut rec, 1); // count
        rec.extend_from_slice(&1f64.to_be_bytes()); // sum
        uvarint(&mut rec, 1); // one positive span
        varint(&mut rec, 0);
        uvarint(&mut rec, 1);
        uvarint(&mut rec, 0); // no negative spans
        uvarint(&mut rec, 1); // one positive bucket
        varint(&mut rec, 1);
        uvarint(&mut rec, 0); // no negative buckets
    }
    rec
}

/// Series 1..=6, samples every second for 50 s, and one record of every other kind,
/// spread over several segments.
fn populate(wal: &mut Wal) {
    let mut buf = Vec::new();
    let labels: Vec<Labels> = (1..=6).map(series_labels).collect();
    record::encode_series((1..=6).zip(&labels), &mut buf);
    wal.log(&[&buf]).unwrap();
    for second in 0..50 {
        let samples: Vec<RefSample> = (1..=6).map(|r| sample(r, second * 1000)).collect();
        buf.clear();
        record::encode_samples(&samples, &mut buf);
        wal.log(&[&buf]).unwrap();
        if second % 20 == 19 {
            wal.next_segment().unwrap();
        }
    }
    buf.clear();
    record::encode_tombstones(
        &[
            Tombstone {
                series_ref: 2,
                min_time: 0,
                max_time: 5_000,
            },
            Tombstone {
                series_ref: 3,
                min_time: 40_000,
                max_time: 60_000,
            },
            Tombstone {
                series_ref: 4,
                min_time: 30_000,
                max_time: 45_000,
            },
        ],
        &mut buf,
    );
    wal.log(&[&buf]).unwrap();
    buf.clear();
    record::encode_exemplars(
        &[
            RefExemplar {
                series_ref: 2,
                timestamp: 1_000,
                value: 1.0,
                labels: Labels::from_pairs([("trace_id", "old")]),
            },
            RefExemplar {
                series_ref: 2,
                timestamp: 45_000,
                value: 2.0,
                labels: Labels::from_pairs([("trace_id", "new")]),
            },
        ],
        &mut buf,
    );
    wal.log(&[&buf]).unwrap();
    for (series_ref, help) in [(2, "first"), (3, "odd"), (2, "latest")] {
        buf.clear();
        record::encode_metadata(
            &[RefMetadata {
                series_ref,
                metric_type: MetricType::Counter,
                unit: String::new(),
                help: help.into(),
            }],
            &mut buf,
        );
        wal.log(&[&buf]).unwrap();
    }
    let histograms = histogram_record(&[(2, 1_000), (4, 48_000), (3, 49_000)]);
    wal.log(&[&histograms, &[0xee, 1, 2]]).unwrap(); // and a record of an unknown type
}

#[derive(Default, Debug)]
struct Decoded {
    series: Vec<RefSeries>,
    samples: Vec<RefSample>,
    tombstones: Vec<Tombstone>,
    exemplars: Vec<RefExemplar>,
    metadata: Vec<RefMetadata>,
    histograms: Vec<Vec<u8>>,
    unknown: usize,
}

fn decode_all(records: &[Vec<u8>]) -> Decoded {
    let mut d = Decoded::default();
    for rec in records {
        match record::record_type(rec) {
            RecordType::Series => record::decode_series(rec, &mut d.series).unwrap(),
            RecordType::Samples => record::decode_samples(rec, &mut d.samples).unwrap(),
            RecordType::Tombstones => record::decode_tombstones(rec, &mut d.tombstones).unwrap(),
            RecordType::Exemplars => record::decode_exemplars(rec, &mut d.exemplars).unwrap(),
            RecordType::Metadata => record::decode_metadata(rec, &mut d.metadata).unwrap(),
            RecordType::HistogramSamples => d.histograms.push(rec.clone()),
            _ => d.unknown += 1,
        }
    }
    d
}

fn options() -> WalOptions {
    WalOptions {
        segment_size: 4 * PAGE_SIZE,
        compression: true,
        sync: SyncMode::SegmentEnd,
    }
}

#[test]
fn checkpoint_keeps_what_replay_needs() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path();
    let mut wal = Wal::open(wal_dir, options()).unwrap();
    populate(&mut wal);
    let last = wal.next_segment().unwrap() - 1;
    assert_eq!(last, 2);
    std::fs::create_dir(wal_dir.join("checkpoint.00000001.tmp")).unwrap(); // a crash leftover

    let stats = checkpoint(wal.dir(), wal.options(), 0, last, keep_even, MINT).unwrap();
    assert_eq!(
        stats,
        CheckpointStats {
            total_series: 6,
            dropped_series: 3,
            total_samples: 6 * 50 + 3,
            dropped_samples: 6 * 50 - 3 * 10 + 2,
            total_tombstones: 3,
            dropped_tombstones: 2,
            total_exemplars: 2,
            dropped_exemplars: 1,
            total_metadata: 3,
            dropped_metadata: 2,
        }
    );
    let cp = last_checkpoint(wal_dir).unwrap().unwrap();
    assert_eq!(cp.index, last);
    assert_eq!(cp.path, wal_dir.join("checkpoint.00000002"));
    let leftovers: Vec<_> = std::fs::read_dir(wal_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let d = decode_all(&read_dir(&cp.path));
    let refs: Vec<u64> = d.series.iter().map(|s| s.series_ref).collect();
    assert_eq!(refs, [2, 4, 6]);
    assert_eq!(d.series[0].labels, series_labels(2));
    let mut want_samples = Vec::new();
    for second in 40..50 {
        for r in [2, 4, 6] {
            want_samples.push(sample(r, second * 1000));
        }
    }
    assert_eq!(d.samples, want_samples);
    assert_eq!(
        d.tombstones,
        [Tombstone {
            series_ref: 4,
            min_time: 30_000,
            max_time: 45_000
        }]
    );
    assert_eq!(d.exemplars.len(), 1);
    assert_eq!(d.exemplars[0].timestamp, 45_000);
    assert_eq!(d.metadata.len(), 1);
    assert_eq!(
        (d.metadata[0].series_ref, d.metadata[0].help.as_str()),
        (2, "latest")
    );
    // The histogram record keeps only series 4's entry, still against the old base.
    let mut want_histogram = histogram_record(&[(2, 1_000), (4, 48_000)]);
    let first_entry = histogram_record(&[(2, 1_000)]).len();
    want_histogram.drain(17..first_entry);
    assert_eq!(d.histograms, [want_histogram]);
    assert_eq!(d.unknown, 0, "unknown records are dropped");

    // Replay through the checkpoint sees the same kept data as the full WAL.
    assert_eq!(wal.truncate(last + 1).unwrap(), 3);
    let full = decode_all(
        &read_ranges(&[
            SegmentRange::all(&cp.path),
            SegmentRange {
                dir: wal_dir.into(),
                first: Some(last + 1),
                last: None,
            },
        ])
        .0,
    );
    assert_eq!(full.samples, want_samples);
}

#[test]
fn a_second_checkpoint_folds_in_the_first_and_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path();
    let mut wal = Wal::open(wal_dir, options()).unwrap();
    populate(&mut wal);
    let first_to = wal.next_segment().unwrap() - 1;
    checkpoint(wal.dir(), wal.options(), 0, first_to, keep_even, MINT).unwrap();
    wal.truncate(first_to + 1).unwrap();

    let mut buf = Vec::new();
    record::encode_samples(&[sample(2, 60_000), sample(3, 60_000)], &mut buf);
    wal.log(&[&buf]).unwrap();
    let second_to = wal.next_segment().unwrap() - 1;

    assert!(matches!(
        checkpoint(wal.dir(), wal.options(), second_to + 2, second_to + 2, keep_even, MINT),
        Err(CheckpointError::Gap { expected, requested }) if expected == first_to + 1 && requested == second_to + 2
    ));
    assert!(matches!(
        checkpoint(wal.dir(), wal.options(), 0, first_to - 1, keep_even, MINT),
        Err(CheckpointError::BehindLastCheckpoint { .. })
    ));

    // `from` may lag behind the last checkpoint: covered segments are skipped.
    let stats = checkpoint(wal.dir(), wal.options(), 0, second_to, |r| r == 2, 50_000).unwrap();
    assert_eq!(stats.total_series, 3);
    assert_eq!(stats.dropped_series, 2);
    let cp = last_checkpoint(wal_dir).unwrap().unwrap();
    assert_eq!(cp.index, second_to);
    assert!(!Path::new(&wal_dir.join(format!("checkpoint.{first_to:08}"))).exists());
    let d = decode_all(&read_dir(&cp.path));
    assert_eq!(d.series.len(), 1);
    assert_eq!(d.samples, [sample(2, 60_000)]);
    assert_eq!(d.metadata.len(), 1);
}

#[test]
fn damaged_input_fails_the_checkpoint_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path();
    let mut wal = Wal::open(wal_dir, options()).unwrap();
    populate(&mut wal);
    let to = wal.next_segment().unwrap() - 1;
    let seg = ember_wal::segment_path(wal_dir, 1);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    assert!(matches!(
        checkpoint(wal.dir(), wal.options(), 0, to, keep_even, MINT),
        Err(CheckpointError::Read(_))
    ));
    assert!(last_checkpoint(wal_dir).unwrap().is_none());
    assert!(!wal_dir.join(format!("checkpoint.{to:08}.tmp")).exists());
}
