//! The head with its WAL: committed samples survive a restart (replay), rolled-back ones
//! never appear, Prometheus's append rules hold, and a corrupt WAL tail is repaired.

use ember_model::{Labels, MatchType, Matcher, STALE_NAN, is_stale_nan};
use ember_storage::{AppendError, Appendable, Queryable, Series};
use ember_tsdb::{Head, HeadOptions};
use ember_wal::WalOptions;
use std::path::Path;

fn open(dir: &Path) -> (Head, ember_tsdb::ReplayStats) {
    Head::replay(
        HeadOptions::default(),
        &dir.join("wal"),
        WalOptions::default(),
    )
    .expect("replay")
}

fn series(job: &str, i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "m".to_string()),
        ("job", job.to_string()),
        ("i", i.to_string()),
    ])
}

fn all(head: &Head) -> Vec<Series> {
    let q = head.querier(i64::MIN, i64::MAX).unwrap();
    q.select_all(&[Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()])
        .unwrap()
}

#[test]
fn committed_samples_survive_restart_and_rollbacks_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let (head, stats) = open(dir.path());
    assert_eq!(stats.samples, 0);
    // 200 series x 300 samples in 30 commits, crossing chunk boundaries; a stale marker.
    for batch in 0..30 {
        let mut app = head.appender();
        for i in 0..200 {
            for k in 0..10 {
                let t = (batch * 10 + k) as i64 * 15_000;
                let v = if batch == 29 && k == 9 && i == 0 {
                    STALE_NAN
                } else {
                    (i * 1000 + batch * 10 + k) as f64
                };
                app.append(0, &series("a", i), t, v).unwrap();
            }
        }
        app.commit().unwrap();
    }
    let mut app = head.appender();
    app.append(0, &series("rolled-back", 0), 1, 1.0).unwrap();
    app.rollback();
    let before = all(&head);
    assert_eq!(before.len(), 200);
    assert!(before.iter().all(|s| s.samples.len() == 300));
    drop(head); // no close(): the WAL must be enough, as after SIGKILL

    let (head, stats) = open(dir.path());
    assert!(
        stats.mapped_chunks > 0,
        "full chunks come back from chunks_head/"
    );
    assert_eq!(
        stats.samples + stats.mapped_samples,
        60_000,
        "every sample once, from the chunk files or the WAL"
    );
    assert_eq!(stats.unknown_refs, 0);
    let after = all(&head);
    assert_eq!(after.len(), before.len());
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a.labels, b.labels);
        let bits = |s: &Series| {
            s.samples
                .iter()
                .map(|(t, v)| (*t, v.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(a), bits(b));
    }
    let stale = after
        .iter()
        .find(|s| s.labels.get("i") == Some("0"))
        .unwrap();
    assert!(
        is_stale_nan(stale.samples.last().unwrap().1),
        "staleness markers survive bit-exact"
    );

    // New appends after replay continue the same series and the same WAL.
    let mut app = head.appender();
    assert_eq!(
        app.append(0, &series("a", 1), 0, 5.0),
        Err(AppendError::OutOfOrder)
    );
    app.append(0, &series("a", 1), 10_000_000, 5.0).unwrap();
    app.commit().unwrap();
    drop(head);
    let (head, _) = open(dir.path());
    let s1 = all(&head)
        .into_iter()
        .find(|s| s.labels.get("i") == Some("1"))
        .unwrap();
    assert_eq!(s1.samples.len(), 301);
    assert_eq!(head.num_series(), 200);
}

#[test]
fn a_corrupt_wal_tail_is_repaired_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (head, _) = open(dir.path());
    for t in 0..50 {
        let mut app = head.appender();
        app.append(0, &series("c", 0), t * 1000, t as f64).unwrap();
        app.commit().unwrap();
    }
    drop(head);
    // Damage the last bytes of the newest non-empty segment.
    let wal = dir.path().join("wal");
    let mut segments: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.len() > 0)
                .unwrap_or(false)
        })
        .collect();
    segments.sort();
    let last = segments.last().unwrap();
    let mut bytes = std::fs::read(last).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 20..n - 10] {
        *b ^= 0xff;
    }
    std::fs::write(last, &bytes).unwrap();

    let (head, stats) = open(dir.path());
    assert!(stats.repaired.is_some(), "the repair is reported");
    let s = &all(&head)[0];
    assert!(
        s.samples.len() >= 48 && s.samples.len() < 50,
        "all but the damaged tail: {}",
        s.samples.len()
    );
    // The repaired WAL accepts new data and replays cleanly.
    let mut app = head.appender();
    app.append(0, &series("c", 0), 100_000, 1.0).unwrap();
    app.commit().unwrap();
    drop(head);
    let (_, stats) = open(dir.path());
    assert!(stats.repaired.is_none());
}

#[test]
fn appends_by_ref_reach_the_series_until_truncation_drops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (head, _) = open(dir.path());
    let mut app = head.appender();
    assert!(
        !app.append_by_ref(0, 1000, 1.0).unwrap(),
        "0 is never a ref"
    );
    let r = app.append(0, &series("a", 1), 1000, 1.0).unwrap();
    assert!(app.append_by_ref(r, 2000, 2.0).unwrap());
    assert_eq!(
        app.append_by_ref(r, 1500, 9.0),
        Err(AppendError::OutOfOrder),
        "by-ref appends keep the order checks"
    );
    app.commit().unwrap();
    assert_eq!(all(&head)[0].samples, vec![(1000, 1.0), (2000, 2.0)]);
    // A truncation past every sample drops the series: its ref is unknown from then on.
    head.truncate(10_000).unwrap();
    assert_eq!(head.num_series(), 0);
    let mut app = head.appender();
    assert!(!app.append_by_ref(r, 20_000, 3.0).unwrap());
    let r2 = app.append(r, &series("a", 1), 20_000, 3.0).unwrap();
    assert_ne!(r2, r, "a dropped series comes back under a new ref");
    app.commit().unwrap();
    assert_eq!(all(&head)[0].samples, vec![(20_000, 3.0)]);
}
