//! A full disk: Ember's data directory is a small tmpfs (in a private mount namespace, so
//! nothing is mounted on the host). Once it fills up, remote writes fail with a clear
//! error and the scrape target shows down with the storage error; what was acknowledged
//! before stays queryable and undamaged on disk; after space is freed ingestion resumes.

use ember_testkit::{Peer, eventually, free_port, http_get, remote_write_body, try_remote_write};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SERIES: usize = 20;
const SAMPLES_PER_REQUEST: i64 = 60;

/// Request `k`: every series gets the next minute of 1 s samples, value = sample index.
fn request(k: i64, t0: i64) -> Vec<u8> {
    remote_write_body((0..SERIES).map(|i| {
        let labels = vec![
            ("__name__".to_string(), "disk_full_test".to_string()),
            (
                "series".to_string(),
                format!("{i:02}-with-a-longer-label-value-to-take-some-space"),
            ),
        ];
        let samples = (0..SAMPLES_PER_REQUEST)
            .map(|j| {
                let n = k * SAMPLES_PER_REQUEST + j;
                (t0 + n * 1000, n as f64)
            })
            .collect();
        (labels, samples)
    }))
}

fn write(base: &str, body: &[u8]) -> (u16, String) {
    try_remote_write(base, body)
}

fn json(url: &str) -> Value {
    let (status, body) = http_get(url).unwrap();
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Samples stored per series, by asking the query API at `at` (seconds) over `window`.
fn stored_counts(base: &str, at: f64, window_s: i64) -> Vec<f64> {
    let v = json(&format!(
        "{base}/api/v1/query?query=count_over_time(disk_full_test[{window_s}s])&time={at}"
    ));
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"][1].as_str().unwrap().parse().unwrap())
        .collect()
}

/// The self-scrape target's health and last error.
fn self_target(base: &str) -> (String, String) {
    let v = json(&format!("{base}/api/v1/targets"));
    let t = &v["data"]["activeTargets"][0];
    (
        t["health"].as_str().unwrap_or_default().to_string(),
        t["lastError"].as_str().unwrap_or_default().to_string(),
    )
}

/// Runs `ember server` with its data directory on a fresh tmpfs of `size_mb`, mounted in a
/// mount namespace of its own (a user namespace too when not root). `sh` execs Ember, so
/// the peer's pid is Ember's and the namespace ends with it.
fn start_on_tmpfs(data: &Path, size_mb: u32, args: &[String], dir: tempfile::TempDir) -> Peer {
    std::fs::create_dir_all(data).unwrap();
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut wrapped: Vec<String> = Vec::new();
    if !is_root {
        wrapped.extend(["--user".into(), "--map-root-user".into()]);
    }
    wrapped.extend([
        "--mount".into(),
        "--propagation".into(),
        "private".into(),
        "sh".into(),
        "-c".into(),
        format!(r#"mount -t tmpfs -o size={size_mb}m tmpfs "$0" && exec "$@""#),
        data.display().to_string(),
        env!("CARGO_BIN_EXE_ember").into(),
    ]);
    wrapped.extend(args.iter().cloned());
    Peer::start("ember", "unshare", &wrapped, dir)
}

/// The data directory as the Ember process sees it (inside its mount namespace).
fn inside(peer: &Peer, data: &Path) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root", peer.pid())).join(data.strip_prefix("/").unwrap())
}

#[test]
fn a_full_disk_refuses_writes_clearly_and_ingestion_resumes_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("ember.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
    )
    .unwrap();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", data.display()),
        format!("--config.file={}", config.display()),
        "--web.enable-remote-write-receiver".to_string(),
    ];
    let mut ember = start_on_tmpfs(&data, 16, &args, tempfile::tempdir().unwrap());
    ember.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
    let on_tmpfs = inside(&ember, &data);
    assert!(
        on_tmpfs.join("wal").is_dir(),
        "the WAL is on the tmpfs: {}",
        ember.log_text()
    );

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Samples end well before now, inside one 2 h chunk range and one query window.
    let t0 = now_ms - 3_600_000;
    let mut acknowledged = 0i64;
    for k in 0..10 {
        let (status, text) = write(&base, &request(k, t0));
        assert_eq!(status, 204, "{text}");
        acknowledged += 1;
    }

    // Fill the tmpfs, leaving nothing for the WAL.
    let filler = on_tmpfs.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0xa5u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
    }

    // Writes now fail, with the reason in the answer, and nothing acknowledged is lost.
    let mut refused = None;
    for k in acknowledged..acknowledged + 200 {
        let (status, text) = write(&base, &request(k, t0));
        if status == 204 {
            acknowledged += 1;
            continue;
        }
        refused = Some((status, text));
        break;
    }
    let (status, text) = refused.expect("a write to a full disk is refused");
    assert!(status >= 500, "{status} {text}");
    assert!(
        text.to_lowercase().contains("no space left on device"),
        "the error says why: {text}"
    );
    assert_eq!(
        http_get(&format!("{base}/-/healthy")).unwrap().0,
        200,
        "Ember stays up"
    );
    let end_s = (t0 + acknowledged * SAMPLES_PER_REQUEST * 1000) as f64 / 1000.0;
    let expected = (acknowledged * SAMPLES_PER_REQUEST) as f64;
    let counts = stored_counts(&base, end_s, 3 * 3600);
    assert_eq!(
        counts,
        vec![expected; SERIES],
        "acknowledged samples are served"
    );
    let (health, error) = eventually(
        "the self-scrape shows the storage error",
        Duration::from_secs(20),
        || {
            let (health, error) = self_target(&base);
            (health == "down").then_some((health, error))
        },
    );
    assert_eq!(health, "down");
    assert!(
        error.to_lowercase().contains("no space left on device"),
        "{error}"
    );

    // Free the space: writes succeed again, scrapes too.
    std::fs::remove_file(&filler).unwrap();
    let k = eventually(
        "a write after space was freed",
        Duration::from_secs(20),
        || {
            let (status, _) = write(&base, &request(acknowledged, t0));
            (status == 204).then_some(acknowledged)
        },
    );
    acknowledged = k + 1;
    for k in acknowledged..acknowledged + 5 {
        let (status, text) = write(&base, &request(k, t0));
        assert_eq!(status, 204, "{text}");
        acknowledged += 1;
    }
    eventually(
        "the self-scrape is healthy again",
        Duration::from_secs(20),
        || (self_target(&base).0 == "up").then_some(()),
    );
    let end_s = (t0 + acknowledged * SAMPLES_PER_REQUEST * 1000) as f64 / 1000.0;
    let expected = (acknowledged * SAMPLES_PER_REQUEST) as f64;
    assert_eq!(
        stored_counts(&base, end_s, 3 * 3600),
        vec![expected; SERIES],
        "every acknowledged sample, once"
    );

    // What is on disk is undamaged: a copy of the directory, opened by another Ember,
    // replays to the same samples.
    let copy = dir.path().join("copy");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&on_tmpfs)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(ember.terminate(Duration::from_secs(30)));
    let _ = std::fs::remove_file(copy.join("lock"));
    let port2 = free_port();
    let base2 = format!("http://127.0.0.1:{port2}");
    let mut replayed = Peer::start(
        "ember-copy",
        env!("CARGO_BIN_EXE_ember"),
        &[
            "server".to_string(),
            format!("--web.listen-address=127.0.0.1:{port2}"),
            format!("--storage.tsdb.path={}", copy.display()),
            "--config.file=/dev/null".to_string(),
        ],
        tempfile::tempdir().unwrap(),
    );
    replayed.wait_ready(&format!("{base2}/-/ready"), Duration::from_secs(30));
    assert_eq!(
        stored_counts(&base2, end_s, 3 * 3600),
        vec![expected; SERIES],
        "the copy replays every acknowledged sample: {}",
        replayed.log_text()
    );
}
