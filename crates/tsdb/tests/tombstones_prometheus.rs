//! Tombstones files against the real Prometheus 2.42.
//!
//! 1. A fresh snapshot block's `tombstones` (no deletions) is exactly what
//!    `write_tombstones` writes for no tombstones.
//! 2. The block is then loaded by a second Prometheus and series are deleted through the
//!    admin API: deleting one series' adjacent and separate ranges gives a file that our
//!    writer reproduces byte for byte (Prometheus merges adjacent ranges as we do, and
//!    clamps them to the series' chunks); deleting many series gives a file that reads
//!    back as the same tombstones and has the same size (Prometheus writes series in Go
//!    map order, so only a one-series file has a fixed byte order).

use ember_model::now_millis;
use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
use ember_testkit::{Peer, free_port, http_post, require_binary};
use ember_tsdb::index::{IndexReader, SeriesRef};
use ember_tsdb::tombstones::{
    Interval, Tombstones, decode_tombstones, encode_tombstones, read_tombstones, write_tombstones,
};
use prost::Message;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SERIES: usize = 20;
const SAMPLES: i64 = 200;
const STEP_MS: i64 = 10_000;

fn start_prometheus(dir: tempfile::TempDir) -> (Peer, String) {
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
    let mut peer = Peer::start("prometheus", require_binary("prometheus"), &args, dir);
    let url = format!("http://127.0.0.1:{port}");
    peer.wait_ready(&format!("{url}/-/ready"), Duration::from_secs(20));
    (peer, url)
}

/// `SERIES` series `ember_tombstones{i="<n>"}` of `SAMPLES` samples from `start_ms`.
fn remote_write(url: &str, start_ms: i64) {
    let request = WriteRequest {
        timeseries: (0..SERIES)
            .map(|i| TimeSeries {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: "ember_tombstones".into(),
                    },
                    Label {
                        name: "i".into(),
                        value: i.to_string(),
                    },
                ],
                samples: (0..SAMPLES)
                    .map(|k| Sample {
                        value: k as f64,
                        timestamp: start_ms + k * STEP_MS,
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
    ember_testkit::remote_write(url, &body);
}

/// Snapshots the head; returns the one block's directory.
fn snapshot(peer: &Peer, url: &str) -> PathBuf {
    let (status, body) =
        http_post(&format!("{url}/api/v1/admin/tsdb/snapshot"), &[], b"").expect("snapshot");
    assert_eq!(status, 200, "snapshot: {body}");
    let reply: Value = serde_json::from_str(&body).expect("snapshot JSON");
    let name = reply["data"]["name"].as_str().expect("snapshot name");
    let dir = peer.dir.path().join("data/snapshots").join(name);
    let mut blocks = std::fs::read_dir(&dir)
        .expect("snapshot dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("index").is_file());
    let block = blocks.next().expect("a block in the snapshot");
    assert!(blocks.next().is_none(), "one block in {}", dir.display());
    block
}

/// Deletes the series `selector` selects between `start_ms` and `end_ms` (the API takes
/// seconds with millisecond decimals).
fn delete_series(url: &str, selector: &str, range: Option<(i64, i64)>) {
    let seconds = |ms: i64| format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
    let mut query = format!("match[]={}", percent_encode(selector));
    if let Some((start, end)) = range {
        query.push_str(&format!("&start={}&end={}", seconds(start), seconds(end)));
    }
    let endpoint = format!("{url}/api/v1/admin/tsdb/delete_series?{query}");
    let (status, body) = http_post(&endpoint, &[], b"").expect("delete series");
    assert_eq!(status, 204, "delete {selector}: {body}");
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The ref of `ember_tombstones{i="<i>"}` in the block's index, and its time range.
fn series_of<B: AsRef<[u8]>>(index: &IndexReader<B>, i: usize) -> (SeriesRef, i64, i64) {
    let refs: Vec<_> = index
        .postings_list("i", &i.to_string())
        .expect("postings")
        .collect();
    assert_eq!(refs.len(), 1, "series i={i}");
    let (_, chunks) = index.series(refs[0]).expect("series");
    (refs[0], chunks[0].mint, chunks[chunks.len() - 1].maxt)
}

#[test]
fn tombstones_match_prometheus() {
    let start_ms = (now_millis() - 3_600_000) / 1000 * 1000;
    let t = |k: i64| start_ms + k * STEP_MS;

    // (1) A fresh block's empty tombstones.
    let (first, url) = start_prometheus(tempfile::tempdir().expect("temp dir"));
    remote_write(&url, start_ms);
    let snapshot_block = snapshot(&first, &url);
    let empty = std::fs::read(snapshot_block.join("tombstones")).expect("read tombstones");
    assert_eq!(empty, encode_tombstones(&Tombstones::new()));
    assert_eq!(
        read_tombstones(&snapshot_block).expect("read"),
        (Tombstones::new(), empty.len() as u64)
    );
    let written = tempfile::tempdir().expect("temp dir");
    assert_eq!(
        write_tombstones(written.path(), &Tombstones::new()).expect("write"),
        9
    );
    assert_eq!(
        std::fs::read(written.path().join("tombstones")).expect("read ours"),
        empty
    );

    // (2) The block in a second Prometheus's data directory, where deletions hit it.
    let ulid = snapshot_block.file_name().expect("block name").to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let block = dir.path().join("data").join(&ulid);
    copy_dir(&snapshot_block, &block);
    drop(first);
    let (_second, url) = start_prometheus(dir);
    let index = IndexReader::open(block.join("index")).expect("open index");

    // One series: two adjacent ranges (merged into one), a separate one, and one that
    // reaches past the series' last sample (clamped to it).
    let (r3, _, max3) = series_of(&index, 3);
    delete_series(&url, "ember_tombstones{i=\"3\"}", Some((t(10), t(20))));
    delete_series(&url, "ember_tombstones{i=\"3\"}", Some((t(20) + 1, t(30))));
    delete_series(&url, "ember_tombstones{i=\"3\"}", Some((t(50) + 5, t(60))));
    delete_series(
        &url,
        "ember_tombstones{i=\"3\"}",
        Some((t(190), t(SAMPLES + 100))),
    );
    let mut want = Tombstones::new();
    want.add(r3, Interval::new(t(10), t(30)));
    want.add(r3, Interval::new(t(50) + 5, t(60)));
    want.add(r3, Interval::new(t(190), max3));
    assert_eq!(want.get(r3).map(|ivs| ivs.len()), Some(3));
    let theirs = std::fs::read(block.join("tombstones")).expect("read tombstones");
    assert_eq!(decode_tombstones(&theirs).expect("decode"), want);
    assert!(
        theirs == encode_tombstones(&want),
        "ours {:02x?}\ntheirs {theirs:02x?}",
        encode_tombstones(&want)
    );
    let rewritten = tempfile::tempdir().expect("temp dir");
    write_tombstones(rewritten.path(), &want).expect("write");
    assert_eq!(
        std::fs::read(rewritten.path().join("tombstones")).expect("read ours"),
        theirs
    );

    // Many series, over all time: each range is clamped to its series' chunks.
    delete_series(&url, "ember_tombstones{i=~\"1[0-9]\"}", None);
    for i in 10..20 {
        let (r, min, max) = series_of(&index, i);
        want.add(r, Interval::new(min, max));
    }
    let theirs = std::fs::read(block.join("tombstones")).expect("read tombstones");
    let (read, size) = read_tombstones(&block).expect("read tombstones");
    assert_eq!(read, want);
    assert_eq!((read.len(), read.total()), (11, 13));
    assert_eq!(size, theirs.len() as u64);
    assert_eq!(encode_tombstones(&want).len(), theirs.len());
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(block.join("meta.json")).expect("read meta.json"),
    )
    .expect("meta.json");
    assert_eq!(meta["stats"]["numTombstones"], read.total());
}
