//! Chunk formats against the real Prometheus 2.42.
//!
//! Each test starts Prometheus on an empty data directory, remote-writes a known set of
//! series shaped to exercise every XOR bucket (regular and jittered scrapes, 14/17/20/64-bit
//! timestamp jumps, constant, integer and random values, staleness markers and other NaN
//! payloads), and then reads what Prometheus wrote:
//!
//! - `block_chunks_match_prometheus`: a snapshot block's `chunks/000001`, through
//!   [`ChunkReader`];
//! - `head_chunks_match_prometheus`: after a graceful stop, the m-mapped head chunks in
//!   `chunks_head/`, through [`HeadChunkReader`].
//!
//! Both check that every chunk decodes to a contiguous run of exactly the pushed samples,
//! that re-encoding that run with [`XorChunk`] gives Prometheus's bytes, and that rewriting
//! all chunks with our writer reproduces Prometheus's file byte for byte (refs included).
//!
//! Every pushed timestamp of series `k` is `k` modulo 16, so a sample's timestamp and value
//! bits identify its series and position.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ember_model::{STALE_NAN, now_millis};
use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
use ember_testkit::{Peer, free_port, http_post, require_binary};
use ember_tsdb::chunkenc::{Encoding, XorChunk, XorIterator};
use ember_tsdb::chunks::{ChunkReader, ChunkWriter, HeadChunkReader, HeadChunkWriter};
use prost::Message;

const SAMPLES_PER_SERIES: usize = 300;

/// One pushed series: its labels and samples.
struct Series {
    name: String,
    samples: Vec<(i64, f64)>,
}

/// Deterministic pseudo-random numbers.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The data set. (No `-0.0`: protobuf encoders, prost's and Go's alike, skip a double
/// equal to zero, so it arrives as `+0.0`.) Series `k`'s timestamps are `≡ k (mod 16)`; all steps are multiples of
/// 16 ms. Everything lies within the last 45 minutes, so Prometheus takes it all into one
/// head range.
fn series_set() -> Vec<Series> {
    let base = (now_millis() - 45 * 60 * 1000) / 16 * 16;
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let shapes = [
        "counter", "gauge", "constant", "jitter", "jumps", "stale", "extremes", "counter",
    ];
    shapes
        .iter()
        .enumerate()
        .map(|(k, shape)| {
            let mut t = base + k as i64;
            let mut counter = 0.0;
            let samples = (0..SAMPLES_PER_SERIES)
                .map(|i| {
                    let r = rng.next();
                    let step = match *shape {
                        // Up to ±480 ms of scrape jitter: 14-bit delta-of-deltas.
                        "jitter" | "gauge" => 16 * (313 + (r % 61) as i64 - 30),
                        // Every tenth step a jump into the 17-, 20- or 64-bit buckets.
                        "jumps" if i % 10 == 9 => 16 * [5_000, 25_000, 40_000, -300][i / 10 % 4],
                        _ => 16 * 313,
                    };
                    if i > 0 {
                        t += step.max(16);
                    }
                    let v = match *shape {
                        "counter" => {
                            counter += (r % 7) as f64;
                            counter
                        }
                        "gauge" => (r >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 500.0,
                        "constant" => 42.5,
                        "jitter" | "jumps" => (i % 13) as f64,
                        "stale" => match i % 9 {
                            3 => STALE_NAN,
                            5 => f64::NAN,
                            7 => f64::from_bits(0x7FF0_0000_DEAD_BEEF),
                            _ => i as f64 * 0.5,
                        },
                        "extremes" => [
                            1e300,
                            -1e-300,
                            0.0,
                            -2.5e-10,
                            f64::INFINITY,
                            f64::MIN_POSITIVE,
                        ][i % 6],
                        _ => unreachable!(),
                    };
                    (t, v)
                })
                .collect();
            Series {
                name: format!("{shape}_{k}"),
                samples,
            }
        })
        .collect()
}

/// A running Prometheus holding `series`.
struct Prometheus {
    peer: Peer,
    url: String,
}

impl Prometheus {
    fn start_and_push(series: &[Series]) -> Prometheus {
        let bin = require_binary("prometheus");
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1h\n").expect("write config");
        let port = free_port();
        let args = vec![
            format!("--config.file={}", config.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            "--web.enable-remote-write-receiver".into(),
            "--web.enable-admin-api".into(),
            "--storage.tsdb.min-block-duration=2h".into(),
            "--storage.tsdb.max-block-duration=2h".into(),
        ];
        let mut peer = Peer::start("prometheus", bin, &args, dir);
        let url = format!("http://127.0.0.1:{port}");
        peer.wait_ready(&format!("{url}/-/ready"), Duration::from_secs(20));

        let request = WriteRequest {
            timeseries: series
                .iter()
                .map(|s| TimeSeries {
                    labels: vec![
                        Label {
                            name: "__name__".into(),
                            value: "ember_chunk_interop".into(),
                        },
                        Label {
                            name: "series".into(),
                            value: s.name.clone(),
                        },
                    ],
                    samples: s
                        .samples
                        .iter()
                        .map(|&(timestamp, value)| Sample { value, timestamp })
                        .collect(),
                    exemplars: vec![],
                })
                .collect(),
            metadata: vec![],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .expect("snappy");
        let (status, text) = http_post(
            &format!("{url}/api/v1/write"),
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ],
            &body,
        )
        .expect("remote write");
        assert_eq!(
            status,
            204,
            "remote write refused: {text}\n{}",
            peer.log_text()
        );
        Prometheus { peer, url }
    }

    fn data_dir(&self) -> PathBuf {
        self.peer.dir.path().join("data")
    }

    /// Takes a snapshot and returns its one block directory.
    fn snapshot_block(&self) -> PathBuf {
        let (status, body) = http_post(
            &format!("{}/api/v1/admin/tsdb/snapshot", self.url),
            &[],
            &[],
        )
        .expect("snapshot");
        assert_eq!(status, 200, "snapshot failed: {body}");
        let name = body
            .split("\"name\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no snapshot name in {body}"));
        let snapshot = self.data_dir().join("snapshots").join(name);
        let blocks: Vec<_> = std::fs::read_dir(&snapshot)
            .expect("snapshot dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.join("chunks").is_dir())
            .collect();
        assert_eq!(
            blocks.len(),
            1,
            "expected one block in {}",
            snapshot.display()
        );
        blocks.into_iter().next().unwrap()
    }
}

/// Finds which series and position each (timestamp, value bits) is.
struct Index<'a> {
    series: &'a [Series],
    by_sample: HashMap<(i64, u64), (usize, usize)>,
    seen: Vec<Vec<bool>>,
}

impl<'a> Index<'a> {
    fn new(series: &'a [Series]) -> Self {
        let mut by_sample = HashMap::new();
        for (k, s) in series.iter().enumerate() {
            for (i, &(t, v)) in s.samples.iter().enumerate() {
                assert!(by_sample.insert((t, v.to_bits()), (k, i)).is_none());
            }
        }
        let seen = series
            .iter()
            .map(|s| vec![false; s.samples.len()])
            .collect();
        Index {
            series,
            by_sample,
            seen,
        }
    }

    /// Checks a chunk: it decodes to a contiguous run of one series' samples, none seen
    /// before, and re-encodes to the same bytes. Returns the series and the run.
    fn check_chunk(&mut self, what: &str, data: &[u8]) -> (usize, std::ops::Range<usize>) {
        let mut it = XorIterator::new(data);
        let decoded: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        assert_eq!(it.err(), None, "{what}: decode error");
        assert!(!decoded.is_empty(), "{what}: empty chunk");
        let (k, start) = *self
            .by_sample
            .get(&decoded[0])
            .unwrap_or_else(|| panic!("{what}: first sample {:?} was never pushed", decoded[0]));
        let run = start..start + decoded.len();
        let pushed = &self.series[k].samples[run.clone()];
        let pushed_bits: Vec<_> = pushed.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(
            decoded, pushed_bits,
            "{what}: samples differ from series {k}"
        );
        for i in run.clone() {
            assert!(!self.seen[k][i], "{what}: sample {i} of series {k} twice");
            self.seen[k][i] = true;
        }
        let mut ours = XorChunk::new();
        for &(t, v) in pushed {
            ours.append(t, v);
        }
        assert_eq!(
            ours.bytes(),
            data,
            "{what}: our encoding differs from Prometheus's"
        );
        (k, run)
    }
}

fn stop(mut prometheus: Prometheus) -> Prometheus {
    assert!(
        prometheus.peer.terminate(Duration::from_secs(20)),
        "Prometheus did not stop:\n{}",
        prometheus.peer.log_text()
    );
    prometheus
}

#[test]
fn block_chunks_match_prometheus() {
    let series = series_set();
    let prometheus = Prometheus::start_and_push(&series);
    let block = prometheus.snapshot_block();
    let chunks_dir = block.join("chunks");

    let reader = ChunkReader::open(&chunks_dir).expect("open chunks");
    assert_eq!(reader.segment_count(), 1);
    let mut index = Index::new(&series);
    let mut refs = Vec::new();
    for chunk in reader.iter() {
        let chunk = chunk.expect("valid chunk");
        assert_eq!(chunk.encoding, Encoding::Xor);
        let what = format!("block chunk {:#x}", chunk.chunk_ref.0);
        index.check_chunk(&what, chunk.data);
        assert_eq!(
            reader.chunk(chunk.chunk_ref).unwrap(),
            (chunk.encoding, chunk.data)
        );
        assert_eq!(
            reader.chunk_checked(chunk.chunk_ref).unwrap(),
            (chunk.encoding, chunk.data)
        );
        refs.push((chunk.chunk_ref, chunk.encoding, chunk.data));
    }
    for (k, seen) in index.seen.iter().enumerate() {
        assert!(
            seen.iter().all(|&s| s),
            "series {k}: samples missing from the block"
        );
    }
    assert!(
        refs.len() > series.len(),
        "expected series with several chunks"
    );

    // Our writer reproduces the segment file and its refs.
    let ours = tempfile::tempdir().unwrap();
    let mut writer = ChunkWriter::create(ours.path()).unwrap();
    for &(chunk_ref, encoding, data) in &refs {
        assert_eq!(writer.write_chunk(encoding, data).unwrap(), chunk_ref);
    }
    writer.finish().unwrap();
    assert_file_eq(&ours.path().join("000001"), &chunks_dir.join("000001"));
    drop(stop(prometheus));
}

#[test]
fn head_chunks_match_prometheus() {
    let series = series_set();
    let prometheus = stop(Prometheus::start_and_push(&series));
    let head_dir = prometheus.data_dir().join("chunks_head");

    let reader = HeadChunkReader::open(&head_dir).expect("open chunks_head");
    assert_eq!(reader.sequence_range(), Some((1, 1)));
    let mut index = Index::new(&series);
    let mut series_refs: HashMap<usize, u64> = HashMap::new();
    let mut next_start = vec![0; series.len()];
    let mut records = Vec::new();
    for record in reader.iter() {
        let (chunk_ref, chunk) = record.expect("valid head chunk");
        assert_eq!(chunk.encoding, Encoding::Xor);
        assert!(!chunk.out_of_order);
        let what = format!("head chunk {:#x}", chunk_ref.0);
        let (k, run) = index.check_chunk(&what, chunk.data);
        let samples = &series[k].samples;
        assert_eq!(chunk.min_time, samples[run.start].0, "{what}: mint");
        assert_eq!(chunk.max_time, samples[run.end - 1].0, "{what}: maxt");
        // A series' m-mapped chunks come in order and without gaps.
        assert_eq!(run.start, next_start[k], "{what}: not contiguous");
        next_start[k] = run.end;
        let series_ref = *series_refs.entry(k).or_insert(chunk.series_ref);
        assert_eq!(chunk.series_ref, series_ref, "{what}: series ref changed");
        assert_eq!(reader.chunk(chunk_ref).unwrap(), chunk);
        records.push((chunk_ref, chunk));
    }
    // Every series was cut at least once (more than 120 samples), and distinct series
    // have distinct refs.
    assert_eq!(series_refs.len(), series.len());
    let mut refs: Vec<_> = series_refs.values().collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), series.len());

    // Our writer reproduces the file; Prometheus's is longer only by preallocated zeros.
    let ours = tempfile::tempdir().unwrap();
    let mut writer = HeadChunkWriter::open(ours.path()).unwrap();
    for (chunk_ref, chunk) in &records {
        assert_eq!(writer.write_chunk(chunk).unwrap(), *chunk_ref);
    }
    writer.finish().unwrap();
    let our_bytes = std::fs::read(ours.path().join("000001")).unwrap();
    let their_bytes = std::fs::read(head_dir.join("000001")).unwrap();
    assert!(their_bytes.len() >= our_bytes.len());
    assert!(
        their_bytes[..our_bytes.len()] == our_bytes[..],
        "head chunk file differs from Prometheus's"
    );
    assert!(their_bytes[our_bytes.len()..].iter().all(|&b| b == 0));
}

fn assert_file_eq(ours: &Path, theirs: &Path) {
    let a = std::fs::read(ours).unwrap();
    let b = std::fs::read(theirs).unwrap();
    assert_eq!(
        a.len(),
        b.len(),
        "{} vs {}: lengths",
        ours.display(),
        theirs.display()
    );
    assert!(
        a == b,
        "{} differs from {}",
        ours.display(),
        theirs.display()
    );
}
