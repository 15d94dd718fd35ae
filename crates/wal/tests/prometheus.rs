//! Interoperability with a real Prometheus 2.42: we read the WAL it writes, it replays
//! the WAL (and checkpoint) we write, and both cut a damaged WAL at the same record.

mod common;

use common::Rng;
use ember_model::{Labels, STALE_NAN, now_millis};
use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
use ember_testkit::{Peer, free_port, http_get, http_post, require_binary};
use ember_wal::record::{self, RecordType, RefSample, RefSeries, Tombstone};
use ember_wal::{
    CorruptionReason, PAGE_SIZE, ReadError, Reader, SegmentRange, SyncMode, Wal, WalOptions,
    checkpoint, segment_path,
};
use prost::Message;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

/// Every sample of every series: labels → (timestamp, value bits), in timestamp order.
type Samples = BTreeMap<Labels, Vec<(i64, u64)>>;

struct Prometheus {
    peer: Peer,
    base: String,
}

impl Prometheus {
    /// Starts Prometheus on `<dir>/data`, keeping whatever is already there.
    fn start(dir: tempfile::TempDir) -> Prometheus {
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "scrape_configs: []\n").unwrap();
        let args = vec![
            format!("--config.file={}", config.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            "--web.enable-remote-write-receiver".to_string(),
        ];
        let mut peer = Peer::start("prometheus", require_binary("prometheus"), &args, dir);
        let base = format!("http://127.0.0.1:{port}");
        peer.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
        Prometheus { peer, base }
    }

    fn wal_dir(&self) -> std::path::PathBuf {
        self.peer.dir.path().join("data/wal")
    }

    fn remote_write(&self, timeseries: Vec<TimeSeries>) {
        let request = WriteRequest {
            timeseries,
            metadata: Vec::new(),
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap();
        let (status, text) = http_post(
            &format!("{}/api/v1/write", self.base),
            &[
                ("Content-Encoding", "snappy"),
                ("Content-Type", "application/x-protobuf"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ],
            &body,
        )
        .unwrap();
        assert_eq!(status, 204, "remote write rejected: {text}");
    }

    /// Every raw sample of the series matching `selector` in the 2 hours up to `at_ms`.
    fn raw_samples(&self, selector: &str, at_ms: i64) -> Samples {
        let query = format!("{selector}[2h]");
        let url = format!(
            "{}/api/v1/query?query={}&time={}.{:03}",
            self.base,
            percent_encode(&query),
            at_ms / 1000,
            at_ms % 1000
        );
        let (status, body) = http_get(&url).unwrap();
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut samples = Samples::new();
        for series in json["data"]["result"].as_array().unwrap() {
            let labels = Labels::from_pairs(
                series["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())),
            );
            let values = series["values"].as_array().unwrap().iter().map(|pair| {
                let t = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
                let v: f64 = pair[1].as_str().unwrap().parse().unwrap();
                (t, v.to_bits())
            });
            samples.insert(labels, values.collect());
        }
        samples
    }

    fn stop(&mut self) {
        assert!(
            self.peer.terminate(Duration::from_secs(20)),
            "Prometheus did not stop:\n{}",
            self.peer.log_text()
        );
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads a WAL and resolves every sample to its series' labels; panics on damage.
fn samples_in_wal(ranges: &[SegmentRange]) -> Samples {
    match samples_until_error(Reader::open(ranges).unwrap()) {
        (samples, None) => samples,
        (_, Some(e)) => panic!("{e}"),
    }
}

/// The samples of every record before the first error, and that error.
fn samples_until_error(mut reader: Reader) -> (Samples, Option<ReadError>) {
    let mut labels_by_ref = HashMap::new();
    let mut out = Samples::new();
    let (mut series, mut samples) = (Vec::new(), Vec::new());
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        };
        match record::record_type(rec) {
            RecordType::Series => {
                series.clear();
                record::decode_series(rec, &mut series).unwrap();
                for RefSeries { series_ref, labels } in series.drain(..) {
                    labels_by_ref.insert(series_ref, labels);
                }
            }
            RecordType::Samples => {
                samples.clear();
                record::decode_samples(rec, &mut samples).unwrap();
                for s in &samples {
                    let labels = labels_by_ref[&s.series_ref].clone();
                    out.entry(labels)
                        .or_default()
                        .push((s.timestamp, s.value.to_bits()));
                }
            }
            other => panic!("unexpected {other:?} record"),
        }
    }
}

fn prompb_series(labels: &Labels, samples: &[(i64, u64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|l| Label {
                name: l.name.clone(),
                value: l.value.clone(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, bits)| Sample {
                value: f64::from_bits(bits),
                timestamp,
            })
            .collect(),
        exemplars: Vec::new(),
    }
}

fn hex(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap())
        .collect()
}

/// A finite value with arbitrary bits (the JSON API cannot carry NaN payloads).
fn finite(rng: &mut Rng) -> f64 {
    loop {
        let v = f64::from_bits(rng.next_u64());
        if v.is_finite() {
            return v;
        }
    }
}

#[test]
fn we_read_the_wal_prometheus_writes() {
    let mut prometheus = Prometheus::start(tempfile::tempdir().unwrap());
    let mut rng = Rng::new(42);
    let start = now_millis() - 10 * 60_000;
    let special = [
        0.0, // not -0.0: protobuf omits a zero double, so it would arrive as +0.0
        1.0,
        -2.5,
        std::f64::consts::PI,
        1e-300,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::from_bits(0x7ff8_0000_0000_0001), // a NaN that is not the staleness marker
        STALE_NAN,
    ];
    let mut pushed = Samples::new();
    for i in 0..6 {
        let labels = Labels::from_pairs([
            ("__name__", "wal_interop_total".to_string()),
            ("instance", format!("host-{i}")),
            ("job", "interop".to_string()),
        ]);
        let samples: Vec<(i64, u64)> = special
            .iter()
            .enumerate()
            .map(|(k, v)| (start + k as i64 * 15_000 + i, v.to_bits()))
            .collect();
        pushed.insert(labels, samples);
    }
    // Enough series with incompressible labels that Prometheus's Series record spans pages.
    for i in 0..1000 {
        let labels = Labels::from_pairs([
            ("__name__", "wal_interop_wide".to_string()),
            ("id", format!("{i:04}")),
            ("token", hex(&mut rng, 128)),
        ]);
        pushed.insert(labels, vec![(start + i, finite(&mut rng).to_bits())]);
    }
    // Two requests: two commits, so series and samples records interleave.
    let all: Vec<TimeSeries> = pushed.iter().map(|(l, s)| prompb_series(l, s)).collect();
    let (first, second) = all.split_at(500);
    prometheus.remote_write(first.to_vec());
    prometheus.remote_write(second.to_vec());
    prometheus.stop();

    let wal_dir = prometheus.wal_dir();
    let in_wal = samples_in_wal(&[SegmentRange::all(&wal_dir)]);
    assert_eq!(in_wal.len(), pushed.len());
    for (labels, want) in &pushed {
        let got = &in_wal[labels];
        assert!(got == want, "{labels}: WAL has {got:x?}, pushed {want:x?}");
    }
    let stale = &in_wal[pushed.keys().next().unwrap()];
    assert_eq!(stale.last().unwrap().1, 0x7ff0_0000_0000_0002);

    // Prometheus compresses with snappy by default; the series record spans pages.
    let segment = std::fs::read(segment_path(&wal_dir, 0)).unwrap();
    assert_eq!(segment[0] & 0b111, 2, "first record is fragmented");
    assert_eq!(segment[0] & 0b1000, 0b1000, "and snappy-compressed");
}

/// Writes records through our writer in the layout a head would: series, samples,
/// tombstones, across compressed and plain segments and a checkpoint.
struct OurWal {
    expected: Samples,
    newest: i64,
}

fn write_our_wal(wal_dir: &Path) -> OurWal {
    let mut rng = Rng::new(7);
    let now = now_millis();
    let start = now - 50 * 60_000;
    let mut series = Vec::new();
    for i in 0..10u64 {
        series.push(RefSeries {
            series_ref: i + 1,
            labels: Labels::from_pairs([
                ("__name__", "ember_wal_main".to_string()),
                ("shard", i.to_string()),
            ]),
        });
    }
    for i in 0..600u64 {
        series.push(RefSeries {
            series_ref: 100 + i,
            labels: Labels::from_pairs([
                ("__name__", "ember_wal_wide".to_string()),
                ("id", format!("{i:04}")),
                ("token", hex(&mut rng, 128)),
            ]),
        });
    }
    let mut expected = Samples::new();
    let mut record_samples = |samples: &[RefSample]| {
        for s in samples {
            let labels = &series
                .iter()
                .find(|x| x.series_ref == s.series_ref)
                .unwrap()
                .labels;
            expected
                .entry(labels.clone())
                .or_default()
                .push((s.timestamp, s.value.to_bits()));
        }
    };
    let small_segments = WalOptions {
        segment_size: 4 * PAGE_SIZE,
        compression: true,
        sync: SyncMode::SegmentEnd,
    };
    let mut wal = Wal::open(wal_dir, small_segments.clone()).unwrap();
    let mut buf = Vec::new();
    record::encode_series(series.iter().map(|s| (s.series_ref, &s.labels)), &mut buf);
    assert!(buf.len() > 2 * PAGE_SIZE, "series record spans pages");
    wal.log(&[&buf]).unwrap();

    // Main series: one sample per series every 15 s, one record per scrape.
    let mut t = start;
    for _ in 0..120 {
        let samples: Vec<RefSample> = (1..=10)
            .map(|r| RefSample {
                series_ref: r,
                timestamp: t + r as i64,
                value: finite(&mut rng),
            })
            .collect();
        buf.clear();
        record::encode_samples(&samples, &mut buf);
        wal.log(&[&buf]).unwrap();
        record_samples(&samples);
        t += 15_000;
    }
    // Wide series: 10 samples each in one record of ~66 KB random values.
    let wide: Vec<RefSample> = (0..10)
        .flat_map(|k| (100..700).map(move |r| (r, start + 60_000 * k)))
        .map(|(r, t)| RefSample {
            series_ref: r,
            timestamp: t,
            value: finite(&mut rng),
        })
        .collect();
    buf.clear();
    record::encode_samples(&wide, &mut buf);
    assert!(buf.len() > PAGE_SIZE);
    wal.log(&[&buf]).unwrap();
    record_samples(&wide);

    // Fold everything so far into a checkpoint, as a head truncation would.
    let covered = wal.next_segment().unwrap() - 1;
    assert!(covered >= 1, "several segments");
    checkpoint(wal.dir(), wal.options(), 0, covered, |_| true, i64::MIN).unwrap();
    wal.truncate(covered + 1).unwrap();
    wal.close().unwrap();

    // Then a plain (uncompressed) WAL session, as after a restart with compression off.
    let plain = WalOptions {
        compression: false,
        ..small_segments
    };
    let mut wal = Wal::open(wal_dir, plain).unwrap();
    for _ in 0..60 {
        let samples: Vec<RefSample> = (1..=10)
            .map(|r| RefSample {
                series_ref: r,
                timestamp: t + r as i64,
                value: finite(&mut rng),
            })
            .collect();
        buf.clear();
        record::encode_samples(&samples, &mut buf);
        wal.log(&[&buf]).unwrap();
        record_samples(&samples);
        t += 15_000;
    }
    // Delete shard 3's samples in a 10-minute window.
    let (min_time, max_time) = (start + 20 * 60_000, start + 30 * 60_000);
    buf.clear();
    record::encode_tombstones(
        &[Tombstone {
            series_ref: 4,
            min_time,
            max_time,
        }],
        &mut buf,
    );
    wal.log(&[&buf]).unwrap();
    wal.close().unwrap();
    let shard3 = expected.get_mut(&series[3].labels).unwrap();
    shard3.retain(|&(t, _)| t < min_time || t > max_time);
    for samples in expected.values_mut() {
        samples.sort_unstable();
    }
    OurWal {
        expected,
        newest: t,
    }
}

#[test]
fn prometheus_replays_the_wal_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("data/wal");
    let ours = write_our_wal(&wal_dir);
    let mut prometheus = Prometheus::start(dir);
    let seen = prometheus.raw_samples(r#"{__name__=~"ember_wal_.+"}"#, ours.newest);
    assert_eq!(seen.len(), ours.expected.len(), "every series replayed");
    for (labels, want) in &ours.expected {
        assert_eq!(seen.get(labels), Some(want), "samples of {labels}");
    }
    prometheus.stop();
    let log = prometheus.peer.log_text();
    assert!(log.contains("WAL checkpoint loaded"), "{log}");
    assert!(!log.contains("repair"), "{log}");
}

#[test]
fn prometheus_and_we_cut_a_damaged_wal_at_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("data/wal");
    let now = now_millis();
    let labels = Labels::from_pairs([("__name__", "ember_wal_repair")]);
    let mut wal = Wal::open(&wal_dir, WalOptions::default()).unwrap();
    let mut buf = Vec::new();
    record::encode_series([(1, &labels)], &mut buf);
    wal.log(&[&buf]).unwrap();
    let mut rng = Rng::new(3);
    let mut starts = Vec::new();
    for k in 0..10 {
        // Random values: each record is ~48 KB and spans pages.
        let samples: Vec<RefSample> = (0..4000)
            .map(|j| RefSample {
                series_ref: 1,
                timestamp: now - 40 * 60_000 + k * 200_000 + j * 50,
                value: finite(&mut rng),
            })
            .collect();
        buf.clear();
        record::encode_samples(&samples, &mut buf);
        starts.push(std::fs::metadata(segment_path(&wal_dir, 0)).unwrap().len());
        wal.log(&[&buf]).unwrap();
    }
    wal.close().unwrap();
    // Damage the 7th samples record (a multi-page one) in its second fragment.
    let damaged_start = starts[6];
    let seg = segment_path(&wal_dir, 0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let second_page = (damaged_start as usize / PAGE_SIZE + 1) * PAGE_SIZE;
    bytes[second_page + 100] ^= 0x01;
    std::fs::write(&seg, bytes).unwrap();

    let reader = Reader::open(&[SegmentRange::all(&wal_dir)]).unwrap();
    let (expected, err) = samples_until_error(reader);
    let Some(ReadError::Corruption(err)) = err else {
        panic!("damage not detected: {err:?}");
    };
    assert_eq!((err.segment, err.offset), (0, damaged_start));
    assert!(
        matches!(err.reason, CorruptionReason::Checksum { .. }),
        "{err}"
    );
    assert_eq!(
        expected[&labels].len(),
        6 * 4000,
        "six samples records before it"
    );

    // Prometheus repairs on start-up and keeps exactly the same records.
    let mut prometheus = Prometheus::start(dir);
    let newest = expected.values().flatten().map(|&(t, _)| t).max().unwrap();
    let seen = prometheus.raw_samples("ember_wal_repair", newest);
    assert_eq!(seen, expected);
    prometheus.stop();
    assert!(
        prometheus
            .peer
            .log_text()
            .contains("Starting corruption repair"),
        "{}",
        prometheus.peer.log_text()
    );
    // Its repaired WAL reads cleanly here, with the same samples.
    let repaired = samples_in_wal(&[SegmentRange::all(prometheus.wal_dir())]);
    assert_eq!(repaired, expected);
}
