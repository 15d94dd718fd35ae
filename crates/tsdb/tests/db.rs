//! The database end to end: head ranges become Prometheus-format blocks, the head and WAL
//! are truncated, queries see every sample exactly once across blocks and head, restarts
//! keep everything, retention deletes old blocks, and promtool and Prometheus 2.42 read
//! what Ember wrote.

use ember_model::{Labels, MatchType, Matcher};
use ember_storage::{Appendable, Queryable, Series, Shard};
use ember_testkit::{Prometheus, http_get, require_binary};
use ember_tsdb::{Db, DbOptions};
use std::path::Path;
use std::time::Duration;

const HOUR: i64 = 3600 * 1000;

fn all(db: &Db) -> Vec<Series> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select_all(&[Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()])
        .unwrap()
}

/// 20 series, one sample every 15s from `start` for `hours`, committed in scrape-sized batches.
fn fill(db: &Db, start: i64, hours: i64) {
    let steps = hours * 240;
    for k in 0..steps {
        let mut app = db.appender();
        for i in 0..20 {
            let labels = Labels::from_pairs([
                ("__name__", "db_test_metric".to_string()),
                ("i", i.to_string()),
            ]);
            app.append(0, &labels, start + k * 15_000, (k * 100 + i) as f64)
                .unwrap();
        }
        app.commit().unwrap();
    }
}

/// A database without time retention.
fn open_keeping_all(dir: &Path) -> Db {
    open(
        dir,
        DbOptions {
            retention_ms: 0,
            ..Default::default()
        },
    )
}

fn open(dir: &Path, options: DbOptions) -> Db {
    Db::open(dir, options, &ember_selfmetrics::Registry::new())
        .unwrap()
        .0
}

#[test]
fn head_is_cut_into_blocks_and_every_sample_stays_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let start = 100 * 2 * HOUR;
    let db = open_keeping_all(dir.path());
    fill(&db, start, 5);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1, "one 2h block cut from a 5h head");
    let meta = blocks[0].meta();
    assert_eq!((meta.min_time, meta.max_time), (start, start + 2 * HOUR));
    assert_eq!(meta.stats.num_series, 20);
    assert_eq!(meta.stats.num_samples, 20 * 480);
    let (head_min, _) = db.head().time_range().unwrap();
    assert!(head_min >= start + 2 * HOUR, "head truncated");
    let wal_entries: Vec<String> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        wal_entries.iter().any(|n| n.starts_with("checkpoint.")),
        "WAL checkpointed: {wal_entries:?}"
    );
    assert!(
        !wal_entries.contains(&"00000000".to_string()),
        "old segments deleted: {wal_entries:?}"
    );
    let head_chunk_files = std::fs::read_dir(dir.path().join("chunks_head"))
        .unwrap()
        .count();
    assert!(
        head_chunk_files >= 1,
        "full head chunks live in chunks_head/"
    );
    let series = all(&db);
    assert_eq!(series.len(), 20);
    assert!(
        series.iter().all(|s| s.samples.len() == 5 * 240),
        "every sample exactly once"
    );
    let before: Vec<_> = series
        .iter()
        .map(|s| {
            (
                s.labels.clone(),
                s.samples
                    .iter()
                    .map(|(t, v)| (*t, v.to_bits()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    drop(db);

    let db = open_keeping_all(dir.path());
    assert_eq!(db.blocks().len(), 1);
    let after: Vec<_> = all(&db)
        .iter()
        .map(|s| {
            (
                s.labels.clone(),
                s.samples
                    .iter()
                    .map(|(t, v)| (*t, v.to_bits()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        before, after,
        "a restart (blocks + checkpoint + WAL) keeps every sample once"
    );
    // Appending into the persisted range is refused.
    let mut app = db.appender();
    let labels = Labels::from_pairs([("__name__", "db_test_metric"), ("i", "0")]);
    assert!(app.append(0, &labels, start, 1.0).is_err());
}

/// The shards of a selection partition it: every series of blocks and head comes out of
/// exactly one shard, whole (block and head samples merged), in label order.
#[test]
fn shards_partition_a_selection_across_blocks_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_keeping_all(dir.path());
    fill(&db, 100 * 2 * HOUR, 5);
    db.compact().unwrap();
    assert_eq!(
        db.blocks().len(),
        1,
        "the selection spans a block and the head"
    );
    let whole = all(&db);
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let matchers = [Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()];
    let count = 3;
    let mut from_shards = Vec::new();
    for index in 0..count {
        let part: Vec<Series> = q
            .select_shard(&matchers, Shard { index, count })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!part.is_empty(), "20 series leave no shard of 3 empty");
        assert!(part.windows(2).all(|w| w[0].labels < w[1].labels));
        from_shards.extend(part);
    }
    from_shards.sort_by(|a, b| a.labels.cmp(&b.labels));
    assert_eq!(from_shards, whole);
}

#[test]
fn time_retention_deletes_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        DbOptions {
            retention_ms: 4 * HOUR,
            ..Default::default()
        },
    );
    fill(&db, 0, 12);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert!(!blocks.is_empty());
    let newest = blocks.iter().map(|b| b.meta().max_time).max().unwrap();
    assert!(
        blocks
            .iter()
            .all(|b| newest - b.meta().max_time <= 4 * HOUR),
        "only blocks within retention remain"
    );
    assert!(db.stats().time_retentions.get() > 0.0);
    // Queries for the removed range return nothing and no error.
    let q = db.querier(0, HOUR).unwrap();
    assert!(
        q.select_all(&[Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()])
            .unwrap()
            .is_empty()
    );
    let dirs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("meta.json").exists())
        .count();
    assert_eq!(dirs, blocks.len(), "deleted blocks are gone from disk");
}

#[test]
fn size_retention_keeps_the_directory_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_keeping_all(dir.path());
    fill(&db, 0, 16);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert!(blocks.len() >= 3, "{} blocks", blocks.len());
    let total = db.size();
    let limit = total - blocks[0].size() + 1;
    drop(db);

    // Reopened with a limit one oldest block below the current size.
    let db = open(
        dir.path(),
        DbOptions {
            retention_ms: 0,
            retention_bytes: limit,
            ..Default::default()
        },
    );
    db.compact().unwrap();
    assert!(db.size() <= limit, "blocks + WAL = {} > {limit}", db.size());
    assert_eq!(
        db.blocks().len(),
        blocks.len() - 1,
        "only the oldest block goes"
    );
    assert_eq!(db.blocks()[0].meta().ulid, blocks[1].meta().ulid);
    assert!(db.stats().size_retentions.get() > 0.0);
}

#[test]
fn promtool_and_prometheus_read_emberss_blocks() {
    let dir = tempfile::tempdir().unwrap();
    // Recent data so Prometheus's own retention keeps it: 5h ending now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now - 5 * HOUR) / 15_000 * 15_000;
    let db = open_keeping_all(dir.path());
    fill(&db, start, 5);
    db.compact().unwrap();
    let block = db.blocks()[0].meta().ulid.clone();
    db.close().unwrap();
    drop(db);

    let out = std::process::Command::new(require_binary("promtool"))
        .args(["tsdb", "list"])
        .arg(dir.path())
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && list.contains(&block),
        "promtool tsdb list: {list}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(require_binary("promtool"))
        .args(["tsdb", "analyze"])
        .arg(dir.path())
        .arg(&block)
        .output()
        .unwrap();
    let analyze = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && analyze.contains("Series: 20"),
        "promtool tsdb analyze: {analyze}"
    );
    // promtool's dump (blocks and WAL) holds exactly the samples Ember stored.
    let out = std::process::Command::new(require_binary("promtool"))
        .args(["tsdb", "dump"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout);
    let mut per_series = std::collections::BTreeMap::<String, usize>::new();
    for line in dump.lines() {
        let (labels, rest) = line.rsplit_once("} ").expect("labels, value, timestamp");
        let (value, t) = rest.split_once(' ').expect("value and timestamp");
        let i: i64 = labels
            .split("i=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse().ok())
            .expect("label i");
        let k = (t.parse::<i64>().unwrap() - start) / 15_000;
        assert_eq!(value, (k * 100 + i).to_string(), "{line}");
        *per_series.entry(labels.to_string()).or_default() += 1;
    }
    assert_eq!(per_series.len(), 20, "{per_series:?}");
    assert!(per_series.values().all(|&n| n == 1200), "{per_series:?}");

    // Prometheus 2.42 on a copy of the directory (blocks and WAL) sees every sample.
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", dir.path().display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let prometheus = Prometheus::start(
        "global: {scrape_interval: 1h}\n",
        &[&format!("--storage.tsdb.path={}", copy.path().display())],
    );
    let base = prometheus.base.clone();
    let query = format!(
        "count_over_time(db_test_metric[6h])&time={}",
        (now / 1000) + 1
    );
    let (status, body) = http_get(&format!("{base}/api/v1/query?query={query}")).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 20, "{body}");
    for r in result {
        assert_eq!(
            r["value"][1], "1200",
            "Prometheus sees all 5h of samples for {}",
            r["metric"]
        );
    }
    let (_, body) = http_get(&format!(
        "{base}/api/v1/query?query=sum(db_test_metric)&time={}",
        start / 1000 + 3600
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    // At step k=240 each series i holds 240*100+i: the sum over 20 series.
    let expected: i64 = (0..20).map(|i| 240 * 100 + i).sum();
    assert_eq!(
        v["data"]["result"][0]["value"][1],
        expected.to_string(),
        "{body}"
    );
}

#[test]
fn ember_opens_a_prometheus_data_directory() {
    use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
    use prost::Message;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now - 5 * HOUR) / 15_000 * 15_000;
    let mut prometheus = Prometheus::start(
        "global: {scrape_interval: 1h}\n",
        &["--web.enable-remote-write-receiver"],
    );
    let data = prometheus.data_dir();
    let base = prometheus.base.clone();
    // 5h of 15s samples for 20 series, oldest first, in requests of 30 minutes.
    for chunk in 0..10 {
        let timeseries = (0..20)
            .map(|i| TimeSeries {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: "prom_written".into(),
                    },
                    Label {
                        name: "i".into(),
                        value: i.to_string(),
                    },
                ],
                samples: (0..120)
                    .map(|k| {
                        let step = chunk * 120 + k;
                        Sample {
                            value: (step * 100 + i) as f64,
                            timestamp: start + step * 15_000,
                        }
                    })
                    .collect(),
                exemplars: vec![],
            })
            .collect();
        let body = snap::raw::Encoder::new()
            .compress_vec(
                &WriteRequest {
                    timeseries,
                    metadata: vec![],
                }
                .encode_to_vec(),
            )
            .unwrap();
        ember_testkit::remote_write(&base, &body);
    }
    // Wait for Prometheus to cut a block from its 5h head, then stop it.
    ember_testkit::eventually(
        "Prometheus to write a block",
        Duration::from_secs(90),
        || {
            std::fs::read_dir(&data)
                .ok()?
                .flatten()
                .any(|e| e.path().join("meta.json").exists())
                .then_some(())
        },
    );
    assert!(prometheus.peer.terminate(Duration::from_secs(30)));

    let db = open_keeping_all(&data);
    assert!(!db.blocks().is_empty(), "Prometheus's blocks are loaded");
    let series = all(&db);
    assert_eq!(series.len(), 20);
    for s in &series {
        let i: i64 = s.labels.get("i").unwrap().parse().unwrap();
        assert_eq!(
            s.samples.len(),
            1200,
            "every sample of series {i} from blocks and WAL"
        );
        for (step, (t, v)) in s.samples.iter().enumerate() {
            assert_eq!(
                (*t, *v),
                (start + step as i64 * 15_000, (step as i64 * 100 + i) as f64)
            );
        }
    }
}

#[test]
fn blocks_are_merged_into_larger_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_keeping_all(dir.path());
    fill(&db, 0, 40);
    db.compact().unwrap();
    let blocks = db.blocks();
    let levels: Vec<u32> = blocks.iter().map(|b| b.meta().compaction.level).collect();
    assert!(
        levels.iter().any(|&l| l >= 3),
        "18h blocks built from 6h ones: {levels:?}"
    );
    assert!(
        blocks.len() < 10,
        "{} blocks for 37h of persisted data",
        blocks.len()
    );
    for pair in blocks.windows(2) {
        assert!(
            pair[0].meta().max_time <= pair[1].meta().min_time,
            "no overlaps after compaction"
        );
    }
    let merged = blocks
        .iter()
        .find(|b| b.meta().compaction.level >= 2)
        .unwrap();
    assert_eq!(merged.meta().compaction.parents.len(), 3);
    assert_eq!(
        (merged.meta().max_time - merged.meta().min_time) % (6 * HOUR),
        0
    );
    let on_disk = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("meta.json").exists())
        .count();
    assert_eq!(on_disk, blocks.len(), "parents deleted");
    let series = all(&db);
    assert!(
        series.iter().all(|s| s.samples.len() == 40 * 240),
        "every sample exactly once"
    );
    drop(db);
    let db = open_keeping_all(dir.path());
    assert!(all(&db).iter().all(|s| s.samples.len() == 40 * 240));
    let out = std::process::Command::new(require_binary("promtool"))
        .args(["tsdb", "analyze"])
        .arg(dir.path())
        .arg(&merged.meta().ulid)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Series: 20"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn delete_series_clean_tombstones_and_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let start = 10 * 2 * HOUR;
    let db = open_keeping_all(dir.path());
    fill(&db, start, 5);
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    let victim = [Matcher::new(MatchType::Equal, "i", "0").unwrap()];
    // Deletes across the block (tombstones) and the head (re-encoded chunks + WAL record).
    db.delete_series(&victim, start, start + 4 * HOUR).unwrap();
    let check = |db: &Db| {
        let series = all(db);
        let s0 = series
            .iter()
            .find(|s| s.labels.get("i") == Some("0"))
            .unwrap();
        assert!(
            s0.samples.iter().all(|(t, _)| *t > start + 4 * HOUR),
            "deleted range gone"
        );
        assert_eq!(
            s0.samples.len(),
            240 - 1,
            "the last hour minus the boundary sample remains"
        );
        let s1 = series
            .iter()
            .find(|s| s.labels.get("i") == Some("1"))
            .unwrap();
        assert_eq!(s1.samples.len(), 5 * 240, "other series untouched");
    };
    check(&db);
    let tombstones = std::fs::metadata(db.blocks()[0].dir().join("tombstones"))
        .unwrap()
        .len();
    assert!(tombstones > 9, "a non-empty tombstones file was written");
    drop(db);

    let db = open_keeping_all(dir.path());
    check(&db);
    db.clean_tombstones().unwrap();
    check(&db);
    let block = &db.blocks()[0];
    assert_eq!(
        std::fs::metadata(block.dir().join("tombstones"))
            .unwrap()
            .len(),
        9,
        "cleaned block has no tombstones"
    );
    assert_eq!(block.meta().stats.num_samples, 20 * 480 - 480);

    let snap = dir.path().join("snapshots").join("test");
    db.snapshot(&snap, false).unwrap();
    drop(db);
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", snap.display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let snapshot_db = open_keeping_all(copy.path());
    assert_eq!(
        snapshot_db.blocks().len(),
        2,
        "the block and the head as a block"
    );
    check(&snapshot_db);
}

#[test]
fn an_unreadable_block_is_quarantined_and_the_rest_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_keeping_all(dir.path());
    fill(&db, 0, 8);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert!(blocks.len() >= 2);
    let victim = blocks[0].dir().to_path_buf();
    let survivors: usize = blocks[1..]
        .iter()
        .map(|b| b.meta().stats.num_samples as usize)
        .sum();
    drop(blocks);
    drop(db);
    // Truncate the oldest block's index to half its length.
    let index = victim.join("index");
    let len = std::fs::metadata(&index).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let db = open_keeping_all(dir.path());
    assert!(!victim.exists(), "the broken block was moved aside");
    let served: usize = all(&db).iter().map(|s| s.samples.len()).sum();
    let head = db.head().time_range().map(|_| ()).is_some();
    assert!(
        head && served >= survivors,
        "the other blocks and the head are served ({served} samples)"
    );
    let loaded = db.blocks().len();
    drop(db);
    // Stays aside on the next start: the same blocks load and the quarantined one is kept.
    let db = open_keeping_all(dir.path());
    assert_eq!(db.blocks().len(), loaded);
    let quarantined = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".corrupted")
        })
        .count();
    assert_eq!(quarantined, 1);
}

#[test]
fn max_block_duration_equal_to_the_block_range_disables_merging() {
    let dir = tempfile::tempdir().unwrap();
    let options = DbOptions {
        retention_ms: 0,
        max_block_duration_ms: Some(2 * HOUR),
        ..Default::default()
    };
    let db = open(dir.path(), options);
    fill(&db, 0, 20);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert!(blocks.len() >= 8, "{} blocks", blocks.len());
    assert!(blocks.iter().all(
        |b| b.meta().compaction.level == 1 && b.meta().max_time - b.meta().min_time == 2 * HOUR
    ));
}

/// The label endpoints without `match[]` (what `promtool query labels` asks) pass no
/// matchers: blocks then answer for all their series, as the head does.
#[test]
fn label_lookups_without_matchers_see_block_series() {
    let dir = tempfile::tempdir().unwrap();
    let start = 100 * 2 * HOUR;
    let db = open_keeping_all(dir.path());
    fill(&db, start, 5);
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    // Only the block holds this range; the head starts two hours later.
    let q = db.querier(start, start + HOUR).unwrap();
    assert_eq!(q.label_names(&[]).unwrap(), ["__name__", "i"]);
    assert_eq!(q.label_values("i", &[]).unwrap().len(), 20);
    assert_eq!(q.label_values("__name__", &[]).unwrap(), ["db_test_metric"]);
    // Outside every block and the head: nothing.
    let q = db.querier(start - 2 * HOUR, start - HOUR).unwrap();
    assert!(q.label_names(&[]).unwrap().is_empty());
}

#[test]
fn a_directory_is_opened_by_one_database_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), DbOptions::default());
    assert!(db.clean_start());
    let second = Db::open(
        dir.path(),
        DbOptions::default(),
        &ember_selfmetrics::Registry::new(),
    );
    let err = second.err().expect("a second open is refused").to_string();
    assert!(err.contains("lock DB directory"), "{err}");
    db.close().unwrap();
    drop(db);
    let again = open(dir.path(), DbOptions::default());
    assert!(again.clean_start(), "a closed database left no lock file");
    drop(again);
    // Dropped without close (a crash): the next start is not clean, but it starts.
    assert!(!open(dir.path(), DbOptions::default()).clean_start());
}

/// Queries run while appends, compactions and retention go on: a querier opened before a
/// block is deleted still reads it, and every query sees each sample once, in order.
#[test]
fn queries_run_through_appends_compaction_and_block_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        DbOptions {
            retention_ms: 4 * HOUR,
            ..Default::default()
        },
    );
    fill(&db, 0, 6);
    db.compact().unwrap();
    let first_block = db.blocks()[0].meta().clone();
    assert_eq!(first_block.min_time, 0);
    let selector = [Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()];
    let early = db.querier(0, 2 * HOUR - 1).unwrap();
    std::thread::scope(|scope| {
        let writer = db.clone();
        let appends = scope.spawn(move || {
            fill(&writer, 6 * HOUR, 8);
            writer.compact().unwrap();
        });
        // Meanwhile, queries over everything: samples strictly increasing, no gaps in
        // the 15 s grid, never an error.
        let mut checked = 0;
        while !appends.is_finished() || checked == 0 {
            let q = db.querier(i64::MIN, i64::MAX).unwrap();
            for s in q.select_all(&selector).unwrap() {
                assert!(
                    s.samples.windows(2).all(|w| w[1].0 - w[0].0 == 15_000),
                    "{}: samples once each, in order",
                    s.labels
                );
            }
            checked += 1;
        }
        appends.join().unwrap();
    });
    assert!(
        !dir.path().join(&first_block.ulid).exists(),
        "retention deleted the first block"
    );
    // The querier opened before still reads the deleted block's data.
    let series = early.select_all(&selector).unwrap();
    assert_eq!(series.len(), 20);
    assert!(
        series.iter().all(|s| s.samples.len() == 480),
        "2 h of 15 s samples"
    );
}
