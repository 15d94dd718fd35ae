//! Crash safety: remote-write requests stream in while Ember is killed with SIGKILL at
//! random moments, twenty times over, with enough data for head compactions and WAL
//! checkpoints to happen along the way. Every acknowledged sample must be there after the
//! last restart, exactly once.

use ember_model::{MatchType, Matcher};
use ember_storage::Queryable;
use ember_testkit::{Peer, free_port, http_get, http_post, remote_write_body};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SERIES: usize = 10;
const STEP_MS: i64 = 60_000;

fn request(step: i64, t0: i64) -> Vec<u8> {
    remote_write_body((0..SERIES).map(|i| {
        let labels = vec![
            ("__name__".to_string(), "crash_test".to_string()),
            ("i".to_string(), i.to_string()),
        ];
        (labels, vec![(t0 + step * STEP_MS, step as f64)])
    }))
}

/// A pseudo-random sequence without a dependency: xorshift.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn acknowledged_samples_survive_repeated_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", data.display()),
        "--web.enable-remote-write-receiver".to_string(),
        "--config.file=/dev/null".to_string(),
        // The run writes weeks of one-minute steps; keep them all.
        "--storage.tsdb.retention.time=10y".to_string(),
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = now - 30 * 3600 * 1000;
    let next_step = Arc::new(AtomicI64::new(0));
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut compactions_seen = 0.0;

    for round in 0..20 {
        let mut ember = Peer::start(
            "ember",
            env!("CARGO_BIN_EXE_ember"),
            &args,
            tempfile::tempdir().unwrap(),
        );
        ember.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(30));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, next_step, acknowledged, base) = (
                stop.clone(),
                next_step.clone(),
                acknowledged.clone(),
                base.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let step = next_step.load(Ordering::Relaxed);
                    match http_post(
                        &format!("{base}/api/v1/write"),
                        &[("Content-Encoding", "snappy")],
                        &request(step, t0),
                    ) {
                        Ok((204, _)) => {
                            acknowledged.lock().unwrap().push(step);
                            next_step.fetch_add(1, Ordering::Relaxed);
                        }
                        // Refused or cut off by the kill: not acknowledged; the next round
                        // moves past it so a half-stored request cannot collide.
                        _ => {
                            next_step.fetch_add(1, Ordering::Relaxed);
                            if stop.load(Ordering::Relaxed) {
                                return;
                            }
                        }
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(200 + rng.below(1300)));
        if let Ok((_, metrics)) = http_get(&format!("{base}/metrics")) {
            if let Some(v) = metrics
                .lines()
                .find_map(|l| l.strip_prefix("prometheus_tsdb_compactions_total "))
            {
                compactions_seen = v.parse().unwrap_or(compactions_seen);
            }
        }
        std::process::Command::new("kill")
            .arg("-KILL")
            .arg(ember.pid().to_string())
            .status()
            .unwrap();
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        drop(ember);
        assert!(round < 19 || !acknowledged.lock().unwrap().is_empty());
    }

    // Reopen the directory the way Ember does and read everything back.
    let (db, _) = ember_tsdb::Db::open(
        &data,
        ember_tsdb::DbOptions {
            retention_ms: 0,
            ..Default::default()
        },
        &ember_selfmetrics::Registry::new(),
    )
    .unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let series = q
        .select_all(&[Matcher::new(MatchType::Equal, "__name__", "crash_test").unwrap()])
        .unwrap();
    assert_eq!(series.len(), SERIES);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 100,
        "only {} requests acknowledged",
        acknowledged.len()
    );
    for s in &series {
        let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
        for (t, v) in &s.samples {
            assert_eq!(*v as i64, (t - t0) / STEP_MS, "value matches its timestamp");
            *seen.entry(*t).or_default() += 1;
        }
        assert!(seen.values().all(|&n| n == 1), "no duplicates");
        let lost: Vec<i64> = acknowledged
            .iter()
            .copied()
            .filter(|step| !seen.contains_key(&(t0 + step * STEP_MS)))
            .collect();
        let blocks: Vec<(i64, i64)> = db
            .blocks()
            .iter()
            .map(|b| {
                (
                    (b.meta().min_time - t0) / STEP_MS,
                    (b.meta().max_time - t0) / STEP_MS,
                )
            })
            .collect();
        assert!(
            lost.is_empty(),
            "series {}: {} acknowledged steps lost: {:?}; blocks (in steps) {blocks:?}; head {:?}",
            s.labels,
            lost.len(),
            &lost[..lost.len().min(20)],
            db.head()
                .time_range()
                .map(|(a, b)| ((a - t0) / STEP_MS, (b - t0) / STEP_MS))
        );
    }
    assert!(
        !db.blocks().is_empty() || compactions_seen > 0.0,
        "the run should have cut blocks"
    );
}
