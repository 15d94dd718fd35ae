//! The index against the real Prometheus 2.42 and promtool.
//!
//! 1. Series pushed to Prometheus with remote write come back from the index of a snapshot
//!    block exactly: series, label names and values, postings, and the series that
//!    matchers select (also compared with Prometheus's own `/api/v1/series`).
//! 2. Writing that block's series and chunk metas again with `IndexWriter` reproduces
//!    Prometheus's index byte for byte.
//! 3. A block whose index we write (chunks from `ChunkWriter`) is read by
//!    `promtool tsdb analyze` (series count, label cardinalities) and `promtool tsdb dump`
//!    (every sample).
//!
//! Prometheus 2.42's regexes lack `(?s)`, so no value here contains a newline.

mod index_common;

use ember_model::{Labels, MatchType, Matcher};
use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
use ember_testkit::{Peer, free_port, http_get, http_post, require_binary};
use ember_tsdb::chunkenc::{Encoding, XorChunk};
use ember_tsdb::chunks::ChunkWriter;
use ember_tsdb::index::{ChunkMeta, IndexReader, IndexWriter};
use index_common::{brute_force, labels_of, symbols_of};
use prost::Message;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A series to push: its labels and how many samples (10 s apart).
struct Pushed {
    labels: Labels,
    samples: usize,
}

/// 300 series: more than 32 values for `instance` (so lookups go past the sampled
/// entries), optional labels, values sharing prefixes, non-ASCII and escaped characters,
/// and a few series long enough for several chunks.
fn pushed_series() -> Vec<Pushed> {
    let mut series = Vec::new();
    for i in 0..300usize {
        let mut pairs = vec![
            ("__name__", format!("ember_metric_{}", i % 6)),
            ("instance", format!("10.1.{}.{}:9100", i % 2, i % 45)),
            // Makes each label set unique: `instance` repeats every 90 series.
            ("slot", (i / 90).to_string()),
        ];
        if i % 3 != 0 {
            pairs.push(("job", ["api", "apiserver", "db"][i / 3 % 3].to_string()));
        }
        if i % 7 == 0 {
            pairs.push((
                "zone",
                ["ünïcødé", "quote\"d", "back\\slash", "a b"][i / 7 % 4].into(),
            ));
        }
        if i % 11 == 0 {
            pairs.push(("env", if i % 2 == 0 { "prod" } else { "dev" }.to_string()));
        }
        let samples = if i % 50 == 0 { 300 } else { 1 + i % 3 };
        series.push(Pushed {
            labels: Labels::from_pairs(pairs),
            samples,
        });
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    series
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

fn matcher(name: &str, kind: MatchType, value: &str) -> Matcher {
    Matcher::new(kind, name, value).expect("valid matcher")
}

/// Matcher queries over `pushed_series`, each selecting some series and with at least one
/// matcher that does not match the empty string, so that Prometheus accepts it as a
/// selector too.
fn queries() -> Vec<Vec<Matcher>> {
    use MatchType::*;
    let name = |v| matcher("__name__", Equal, v);
    vec![
        vec![name("ember_metric_1")],
        vec![matcher("__name__", Regex, "ember_metric_(1|3)")],
        vec![matcher(
            "__name__",
            Regex,
            "ember_metric_1|ember_metric_4|nope",
        )],
        vec![matcher("instance", Regex, "10\\.1\\.0\\.1.*")],
        vec![matcher("instance", Regex, "10.1.1.4[0-4]:9100")],
        vec![name("ember_metric_2"), matcher("job", NotEqual, "api")],
        vec![
            matcher("__name__", Regex, "ember_metric_[23]"),
            matcher("job", Equal, ""),
        ],
        vec![
            matcher("__name__", Regex, "ember_metric_[03]|ember_metric_1"),
            matcher("job", NotEqual, ""),
        ],
        vec![name("ember_metric_5"), matcher("zone", NotRegex, "ü.*|a b")],
        vec![
            matcher("zone", Regex, ".+"),
            matcher("zone", NotEqual, "a b"),
        ],
        vec![
            matcher("job", Regex, "api.*"),
            matcher("env", NotRegex, "prod"),
        ],
        vec![
            matcher("job", Regex, "api|db"),
            matcher("instance", NotRegex, "10\\.1\\.0\\..*"),
        ],
        vec![
            matcher("env", Regex, "prod|dev"),
            matcher("zone", Regex, ".*"),
        ],
        vec![
            matcher("absent", Equal, ""),
            matcher("zone", Equal, "quote\"d"),
        ],
        vec![
            matcher("job", Regex, "ap.+"),
            matcher("job", NotRegex, "apiserver|x"),
        ],
    ]
}

struct Prometheus {
    peer: Peer,
    url: String,
}

fn start_prometheus() -> Prometheus {
    let binary = require_binary("prometheus");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1h\n").expect("write config");
    let port = free_port();
    let args = [
        format!("--config.file={}", config.display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.enable-remote-write-receiver".to_string(),
        "--web.enable-admin-api".to_string(),
    ];
    let mut peer = Peer::start("prometheus", binary, &args, dir);
    let url = format!("http://127.0.0.1:{port}");
    peer.wait_ready(&format!("{url}/-/ready"), Duration::from_secs(20));
    Prometheus { peer, url }
}

impl Prometheus {
    fn remote_write(&self, series: &[Pushed], start_ms: i64) {
        let request = WriteRequest {
            timeseries: series
                .iter()
                .map(|s| TimeSeries {
                    labels: s
                        .labels
                        .iter()
                        .map(|l| Label {
                            name: l.name.clone(),
                            value: l.value.clone(),
                        })
                        .collect(),
                    samples: (0..s.samples)
                        .map(|k| Sample {
                            value: k as f64 * 1.5,
                            timestamp: start_ms + k as i64 * 10_000,
                        })
                        .collect(),
                    exemplars: Vec::new(),
                })
                .collect(),
            metadata: Vec::new(),
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .expect("snappy");
        ember_testkit::remote_write(&self.url, &body);
    }

    /// Snapshots the head into a block; returns the block's directory.
    fn snapshot(&self) -> PathBuf {
        let url = format!("{}/api/v1/admin/tsdb/snapshot", self.url);
        let (status, body) = http_post(&url, &[], b"").expect("snapshot");
        assert_eq!(status, 200, "snapshot: {body}");
        let reply: Value = serde_json::from_str(&body).expect("snapshot JSON");
        let name = reply["data"]["name"].as_str().expect("snapshot name");
        let dir = self.peer.dir.path().join("data/snapshots").join(name);
        let blocks: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("snapshot dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.join("index").is_file())
            .collect();
        assert_eq!(blocks.len(), 1, "one block in {}", dir.display());
        blocks.into_iter().next().unwrap_or_default()
    }

    /// The label sets Prometheus's `/api/v1/series` returns for `matchers`.
    fn series(&self, matchers: &[Matcher]) -> Vec<Labels> {
        let selector = matchers
            .iter()
            .map(|m| format!("{}{}{}", m.name, m.kind, promql_string(&m.value)))
            .collect::<Vec<_>>()
            .join(",");
        let url = format!(
            "{}/api/v1/series?match[]={}",
            self.url,
            percent_encode(&format!("{{{selector}}}"))
        );
        let (status, body) = http_get(&url).expect("series API");
        assert_eq!(status, 200, "{selector}: {body}");
        let reply: Value = serde_json::from_str(&body).expect("series JSON");
        let mut series: Vec<Labels> = reply["data"]
            .as_array()
            .expect("series list")
            .iter()
            .map(|s| {
                Labels::from_pairs(
                    s.as_object()
                        .expect("label map")
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().expect("value").to_string())),
                )
            })
            .collect();
        series.sort();
        series
    }
}

/// A PromQL double-quoted string literal.
fn promql_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
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

fn read_meta(block: &Path) -> Value {
    let text = std::fs::read_to_string(block.join("meta.json")).expect("meta.json");
    serde_json::from_str(&text).expect("meta.json is JSON")
}

#[test]
fn reads_and_rewrites_a_prometheus_block() {
    let prometheus = start_prometheus();
    let pushed = pushed_series();
    let start_ms = now_ms() - 3_600_000;
    prometheus.remote_write(&pushed, start_ms);
    let block = prometheus.snapshot();
    let bytes = std::fs::read(block.join("index")).expect("read index");
    let meta = read_meta(&block);

    // (a) What we read is exactly what was pushed.
    let reader = IndexReader::open(block.join("index")).expect("open Prometheus's index");
    let all_labels: Vec<Labels> = pushed.iter().map(|s| s.labels.clone()).collect();
    let refs: Vec<_> = reader.all_postings().expect("all postings").collect();
    assert_eq!(labels_of(&reader, &refs), all_labels);
    let mut n_chunks = 0;
    for (&r, s) in refs.iter().zip(&pushed) {
        let (_, chunks) = reader.series(r).expect("series");
        assert_eq!(chunks[0].mint, start_ms, "{}", s.labels);
        let last = start_ms + (s.samples as i64 - 1) * 10_000;
        assert_eq!(chunks[chunks.len() - 1].maxt, last, "{}", s.labels);
        n_chunks += chunks.len();
    }
    assert_eq!(meta["stats"]["numSeries"], refs.len());
    assert_eq!(meta["stats"]["numChunks"], n_chunks);
    assert!(n_chunks > pushed.len(), "some series span several chunks");

    let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in all_labels.iter().flat_map(|l| l.iter()) {
        values.entry(&l.name).or_default().insert(&l.value);
    }
    assert_eq!(
        reader.label_names(),
        values.keys().copied().collect::<Vec<_>>()
    );
    for (name, want) in &values {
        let got = reader.label_values(name).expect("label values");
        assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "{name}");
        for value in got {
            let postings: Vec<_> = reader
                .postings_list(name, value)
                .expect("postings")
                .collect();
            let want: Vec<_> = all_labels
                .iter()
                .filter(|l| l.get(name) == Some(value))
                .cloned()
                .collect();
            assert_eq!(labels_of(&reader, &postings), want, "{name}={value}");
        }
    }
    for q in queries() {
        let ours = labels_of(&reader, &reader.postings_for_matchers(&q).expect("select"));
        assert_eq!(ours, brute_force(&all_labels, &q), "{q:?}");
        assert_eq!(ours, prometheus.series(&q), "Prometheus disagrees on {q:?}");
        assert!(!ours.is_empty(), "{q:?} selects nothing");
    }

    // (b) Writing the same series and chunk metas reproduces the file.
    let mut writer = IndexWriter::new(Vec::new()).expect("start index");
    let symbols: Vec<&str> = reader.symbols().collect::<Result<_, _>>().expect("symbols");
    writer.add_symbols(&symbols).expect("symbols");
    let mut want_symbols = symbols_of(&all_labels);
    want_symbols.insert(String::new());
    assert_eq!(
        symbols,
        want_symbols.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for &r in &refs {
        let (labels, chunks) = reader.series(r).expect("series");
        writer.add_series(&labels, &chunks).expect("add series");
    }
    let ours = writer.finish().expect("finish");
    assert_eq!(ours.len(), bytes.len());
    assert!(ours == bytes, "rewritten index differs from Prometheus's");
}

/// promtool's `Label pairs …` and cardinality lines: `<count> <name>` pairs of the
/// section that starts with `title`.
fn analyze_section(output: &str, title: &str) -> BTreeMap<String, u64> {
    output
        .lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (count, key) = l.split_once(' ').expect("count and key");
            (key.to_string(), count.parse().expect("count"))
        })
        .collect()
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new(require_binary("promtool"))
        .args(args)
        .output()
        .expect("run promtool");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "promtool {args:?}: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

#[test]
fn promtool_reads_our_block() {
    const ULID: &str = "01HEMBERTSDB0000000000000A";
    const START_MS: i64 = 1_700_000_000_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let block = dir.path().join(ULID);

    // 12 metrics × 40 instances; `job` on two thirds; one to three chunks per series.
    let mut series: Vec<Labels> = (0..480)
        .map(|i| {
            let mut pairs = vec![
                ("__name__", format!("synthetic_{}", i % 12)),
                ("instance", format!("node-{:02}", i / 12)),
            ];
            if i % 3 != 0 {
                pairs.push(("job", format!("job-{}", i % 5)));
            }
            Labels::from_pairs(pairs)
        })
        .collect();
    series.sort();

    let mut chunk_writer = ChunkWriter::create(block.join("chunks")).expect("chunk writer");
    let mut index = IndexWriter::create(block.join("index")).expect("index writer");
    index.add_symbols(symbols_of(&series)).expect("symbols");
    let (mut n_samples, mut n_chunks, mut max_t) = (0, 0, START_MS);
    let mut dump_lines = BTreeSet::new();
    for (i, labels) in series.iter().enumerate() {
        let mut metas = Vec::new();
        for c in 0..1 + i % 3 {
            let mut chunk = XorChunk::new();
            let mint = START_MS + c as i64 * 600_000;
            for k in 0..10 {
                let (t, v) = (mint + k * 15_000, (i * 10 + k as usize) as f64);
                chunk.append(t, v);
                dump_lines.insert(format!("{labels} {v} {t}"));
                max_t = max_t.max(t);
            }
            let chunk_ref = chunk_writer
                .write_chunk(Encoding::Xor, chunk.bytes())
                .expect("write chunk");
            metas.push(ChunkMeta {
                mint,
                maxt: mint + 9 * 15_000,
                chunk_ref: chunk_ref.0,
            });
            n_samples += 10;
        }
        n_chunks += metas.len();
        index.add_series(labels, &metas).expect("add series");
    }
    chunk_writer.finish().expect("finish chunks");
    index.finish_sync().expect("finish index");
    let meta = serde_json::json!({
        "ulid": ULID,
        "minTime": START_MS,
        "maxTime": max_t + 1,
        "stats": {"numSamples": n_samples, "numSeries": series.len(), "numChunks": n_chunks},
        "compaction": {"level": 1, "sources": [ULID]},
        "version": 1,
    });
    std::fs::write(block.join("meta.json"), meta.to_string()).expect("write meta.json");

    // `promtool tsdb dump` also replays the (here empty) WAL.
    std::fs::create_dir(dir.path().join("wal")).expect("create wal dir");
    let db = dir.path().to_str().expect("UTF-8 temp path");
    let report = promtool(&["tsdb", "analyze", db, ULID]);
    for line in [
        format!("Block ID: {ULID}"),
        "Series: 480".to_string(),
        "Label names: 3".to_string(),
        // 12 names + 40 instances + 5 jobs.
        "Postings (unique label pairs): 57".to_string(),
        // Two labels on every series, `job` on 320 of them.
        "Postings entries (total label pairs): 1280".to_string(),
    ] {
        assert!(report.lines().any(|l| l == line), "{line:?} in:\n{report}");
    }
    let cardinality = analyze_section(&report, "Highest cardinality labels:");
    let want: BTreeMap<String, u64> = [("instance", 40), ("__name__", 12), ("job", 5)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(cardinality, want, "{report}");
    let per_metric = analyze_section(&report, "Highest cardinality metric names:");
    assert_eq!(per_metric.len(), 12, "{report}");
    assert!(per_metric.values().all(|&n| n == 40), "{report}");

    // Dump reads every chunk through the index's chunk refs.
    let dump = promtool(&["tsdb", "dump", db]);
    let dumped: BTreeSet<String> = dump.lines().map(str::to_string).collect();
    assert_eq!(dumped.len(), n_samples);
    assert_eq!(dumped, dump_lines);
}
