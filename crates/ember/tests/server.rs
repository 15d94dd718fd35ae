//! `ember server` as a user runs it: the real binary on loopback, talking to a real
//! Prometheus 2.42 where a peer is involved.

use ember_testkit::{
    Peer, Prometheus, eventually, free_port, http_get, http_post, remote_write_body, require_binary,
};
use std::path::Path;
use std::time::Duration;

struct Ember {
    peer: Peer,
    base: String,
}

fn start_ember(config: Option<&str>, extra: &[&str]) -> Ember {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
    ];
    if let Some(yaml) = config {
        let path = dir.path().join("ember.yml");
        std::fs::write(&path, yaml).unwrap();
        args.push(format!("--config.file={}", path.display()));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut peer = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    let base = format!("http://127.0.0.1:{port}");
    peer.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
    Ember { peer, base }
}

impl Ember {
    fn config_path(&self) -> std::path::PathBuf {
        self.peer.dir.path().join("ember.yml")
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(&format!("{}{path}", self.base)).expect("ember answers")
    }

    fn targets(&self) -> serde_json::Value {
        let (status, body) = self.get("/api/v1/targets");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn pools(&self) -> Vec<String> {
        let mut pools: Vec<String> = self.targets()["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["scrapePool"].as_str().unwrap().to_string())
            .collect();
        pools.dedup();
        pools
    }
}

/// The value of an unlabelled sample in a text exposition, if present.
fn metric_value(body: &str, name: &str) -> Option<f64> {
    body.lines().find_map(|l| {
        l.strip_prefix(name)?
            .strip_prefix(' ')?
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

#[test]
fn embedded_default_scrapes_itself() {
    let ember = start_ember(None, &[]);
    assert_eq!(ember.get("/-/healthy").0, 200);
    let t = ember.targets();
    let active = t["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["labels"]["job"], "prometheus");
    assert_eq!(active[0]["scrapeInterval"], "15s");
    let (_, metrics) = ember.get("/metrics");
    assert_eq!(
        metric_value(&metrics, "prometheus_config_last_reload_successful"),
        Some(1.0)
    );
    for name in [
        "process_resident_memory_bytes",
        "prometheus_tsdb_head_series ",
        "prometheus_tsdb_compaction_chunk_size_bytes_bucket{le=\"32\"}",
        "prometheus_tsdb_compaction_chunk_samples_count",
        "prometheus_tsdb_blocks_loaded",
        "prometheus_tsdb_wal_segment_current ",
        "prometheus_tsdb_wal_truncations_total 0",
        "prometheus_tsdb_wal_corruptions_total 0",
        "prometheus_tsdb_wal_writes_failed_total 0",
        "prometheus_tsdb_out_of_order_samples_total{type=\"float\"}",
        "prometheus_target_scrape_pool_targets{scrape_job=\"prometheus\"} 1",
        "ember_build_info{",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}");
    }
    assert!(
        ember.peer.dir.path().join("data").is_dir(),
        "storage directory created"
    );
}

/// `name -> type` of the families `/metrics` declares with `# TYPE`, for names starting
/// with `prefix`.
fn families(body: &str, prefix: &str) -> std::collections::BTreeMap<String, String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect()
}

#[test]
fn tsdb_self_metrics_have_prometheus_names_and_types() {
    // Families of features Ember does not have (see docs/compatibility.md).
    let absent = [
        "prometheus_tsdb_checkpoint_deletions_failed_total",
        "prometheus_tsdb_checkpoint_deletions_total",
        "prometheus_tsdb_compactions_skipped_total",
        "prometheus_tsdb_exemplar_exemplars_appended_total",
        "prometheus_tsdb_exemplar_exemplars_in_storage",
        "prometheus_tsdb_exemplar_last_exemplars_timestamp_seconds",
        "prometheus_tsdb_exemplar_max_exemplars",
        "prometheus_tsdb_exemplar_out_of_order_exemplars_total",
        "prometheus_tsdb_exemplar_series_with_exemplars_in_storage",
        "prometheus_tsdb_head_out_of_order_samples_appended_total",
        "prometheus_tsdb_isolation_high_watermark",
        "prometheus_tsdb_isolation_low_watermark",
        "prometheus_tsdb_mmap_chunk_corruptions_total",
        "prometheus_tsdb_snapshot_replay_error_total",
    ];
    let config = "global: {scrape_interval: 1h}\nscrape_configs: []\n";
    let ember = start_ember(Some(config), &[]);
    let prometheus = Prometheus::start(config, &[]);
    let (_, ours) = ember.get("/metrics");
    let (_, theirs) = http_get(&format!("{}/metrics", prometheus.base)).unwrap();
    let (ours, theirs) = (
        families(&ours, "prometheus_tsdb_"),
        families(&theirs, "prometheus_tsdb_"),
    );
    assert!(theirs.len() > 50, "{theirs:?}");
    for (name, kind) in &theirs {
        if absent.contains(&name.as_str()) {
            assert!(
                !ours.contains_key(name),
                "{name} exists now: update the list"
            );
            continue;
        }
        assert_eq!(ours.get(name), Some(kind), "{name}");
    }
    assert_eq!(
        metric_value(&ember.get("/metrics").1, "prometheus_tsdb_clean_start"),
        Some(1.0),
        "a fresh directory is a clean start"
    );
}

#[test]
fn prometheus_remote_write_is_stored() {
    let ember = start_ember(
        Some("scrape_configs: []\n"),
        &["--web.enable-remote-write-receiver"],
    );
    let port = free_port();
    let yaml = format!(
        "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\nremote_write:\n  - url: {}/api/v1/write\n    queue_config: {{batch_send_deadline: 1s}}\n",
        ember.base
    );
    let mut prometheus = Prometheus::start_on(port, &yaml, &[]);
    let prom = prometheus.base.clone();

    let sent = eventually(
        "Prometheus to send samples",
        Duration::from_secs(60),
        || {
            let (_, body) = http_get(&format!("{prom}/metrics")).ok()?;
            let sent = body
                .lines()
                .find(|l| l.starts_with("prometheus_remote_storage_samples_total{"))?
                .rsplit(' ')
                .next()?
                .parse::<f64>()
                .ok()?;
            (sent > 100.0).then_some(body)
        },
    );
    for failed in [
        "prometheus_remote_storage_samples_failed_total{",
        "prometheus_remote_storage_samples_dropped_total{",
    ] {
        let line = sent
            .lines()
            .find(|l| l.starts_with(failed))
            .unwrap_or_else(|| panic!("{failed} present"));
        assert!(line.ends_with(" 0"), "Prometheus reports failures: {line}");
    }

    let selector =
        format!("match[]=%7Bjob%3D%22prometheus%22%2Cinstance%3D%22127.0.0.1%3A{port}%22%7D");
    let federated = eventually(
        "remote-written series to be queryable",
        Duration::from_secs(30),
        || {
            let (status, body) = ember.get(&format!("/federate?{selector}"));
            (status == 200
                && body.contains("\nup{")
                && body.contains("prometheus_tsdb_head_series{"))
            .then_some(body)
        },
    );
    let up_line = federated.lines().find(|l| l.starts_with("up{")).unwrap();
    assert!(
        up_line.contains(" 1 "),
        "up is 1 in what Prometheus sent: {up_line}"
    );
    prometheus.peer.terminate(Duration::from_secs(10));
}

#[test]
fn remote_write_receiver_refuses_garbage_and_is_off_by_default() {
    let off = start_ember(Some("scrape_configs: []\n"), &[]);
    let (status, _) = http_post(&format!("{}/api/v1/write", off.base), &[], b"x").unwrap();
    assert_eq!(status, 404);
    let on = start_ember(
        Some("scrape_configs: []\n"),
        &["--web.enable-remote-write-receiver"],
    );
    let (status, body) = http_post(
        &format!("{}/api/v1/write", on.base),
        &[("Content-Encoding", "snappy")],
        b"garbage",
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("snappy") || body.contains("protobuf"),
        "{body}"
    );
}

fn write_config(path: &Path, yaml: &str) {
    std::fs::write(path, yaml).unwrap();
}

#[test]
fn reload_applies_good_configs_and_refuses_bad_ones() {
    let first =
        "scrape_configs:\n  - job_name: one\n    static_configs: [{targets: ['127.0.0.1:1']}]\n";
    let ember = start_ember(Some(first), &["--web.enable-lifecycle"]);
    assert_eq!(ember.pools(), vec!["one"]);

    // A typo: refused with line and column; the running config stays.
    write_config(
        &ember.config_path(),
        "scrape_configs:\n  - job_name: two\n    scrape_intervl: 5s\n",
    );
    let (status, body) = http_post(&format!("{}/-/reload", ember.base), &[], b"").unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("line 3") && body.contains("column 5"),
        "error names the position: {body}"
    );
    assert_eq!(ember.pools(), vec!["one"]);
    let (_, metrics) = ember.get("/metrics");
    assert_eq!(
        metric_value(&metrics, "prometheus_config_last_reload_successful"),
        Some(0.0)
    );

    // A good config via POST /-/reload.
    let second =
        "scrape_configs:\n  - job_name: two\n    static_configs: [{targets: ['127.0.0.1:2']}]\n";
    write_config(&ember.config_path(), second);
    let (status, body) = http_post(&format!("{}/-/reload", ember.base), &[], b"").unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(ember.pools(), vec!["two"]);
    let (_, metrics) = ember.get("/metrics");
    assert_eq!(
        metric_value(&metrics, "prometheus_config_last_reload_successful"),
        Some(1.0)
    );

    // And via SIGHUP.
    write_config(&ember.config_path(), &second.replace("two", "three"));
    std::process::Command::new("kill")
        .arg("-HUP")
        .arg(ember.peer.pid().to_string())
        .status()
        .unwrap();
    eventually("SIGHUP reload", Duration::from_secs(10), || {
        (ember.pools() == vec!["three"]).then_some(())
    });
}

#[test]
fn lifecycle_endpoints_need_the_flag() {
    // Also: the block-duration flags a Thanos sidecar setup passes are accepted and shown.
    let ember = start_ember(
        Some("scrape_configs: []\n"),
        &[
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=2h",
        ],
    );
    let (_, flags) = ember.get("/api/v1/status/flags");
    assert!(
        flags.contains("\"storage.tsdb.max-block-duration\":\"2h\""),
        "{flags}"
    );
    let (status, _) = http_post(&format!("{}/-/reload", ember.base), &[], b"").unwrap();
    assert_eq!(status, 403);
}

#[test]
fn file_sd_changes_are_picked_up_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("targets.json");
    std::fs::write(&sd, r#"[{"targets":["127.0.0.1:1"],"labels":{"env":"a"}}]"#).unwrap();
    let yaml = format!(
        "scrape_configs:\n  - job_name: files\n    file_sd_configs: [{{files: ['{}']}}]\n",
        sd.display()
    );
    let ember = start_ember(Some(&yaml), &[]);
    let instances = || -> Vec<String> {
        let t = ember.targets();
        t["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["labels"]["instance"].as_str().unwrap().to_string())
            .collect()
    };
    eventually("first file SD target", Duration::from_secs(10), || {
        (instances() == vec!["127.0.0.1:1"]).then_some(())
    });
    std::fs::write(&sd, r#"[{"targets":["127.0.0.1:1","127.0.0.1:2"]}]"#).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&sd)
        .unwrap()
        .set_modified(later)
        .unwrap();
    eventually("updated file SD targets", Duration::from_secs(10), || {
        let mut got = instances();
        got.sort();
        (got == vec!["127.0.0.1:1", "127.0.0.1:2"]).then_some(())
    });
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let mut ember = start_ember(None, &[]);
    assert!(
        ember.peer.terminate(Duration::from_secs(10)),
        "ember exits after SIGTERM"
    );
    assert!(
        ember.peer.log_text().contains("See you next time!"),
        "{}",
        ember.peer.log_text()
    );
}

#[test]
fn check_config_accepts_seed_configs_and_names_typos() {
    let seeds = ember_testkit::shared_dir().join("seed-configs");
    for name in [
        "phase1-prometheus.yml",
        "phase2-prometheus-main.yml",
        "phase2-selective-federation.yml",
        "phase4-meta-monitoring.yml",
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ember"))
            .args(["check", "config"])
            .arg(seeds.join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("SUCCESS"),
            "{name}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: x\n    scrape_intervl: 5s\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["check", "config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("line 5") && text.contains("column 5") && text.contains("scrape_intervl"),
        "{text}"
    );
}

#[test]
fn series_and_label_endpoints_list_scraped_series() {
    let port = free_port();
    // The config must name Ember's own port, so build it before start with a known port.
    let yaml = format!(
        "scrape_configs:\n  - job_name: self\n    scrape_interval: 1s\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ember.yml"), yaml).unwrap();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--config.file={}", dir.path().join("ember.yml").display()),
    ];
    let mut peer = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    let base = format!("http://127.0.0.1:{port}");
    peer.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
    let series = eventually("self-scrape to land", Duration::from_secs(15), || {
        let (status, body) = http_get(&format!("{base}/api/v1/series?match[]=up")).ok()?;
        (status == 200 && body.contains("\"__name__\":\"up\"")).then_some(body)
    });
    let v: serde_json::Value = serde_json::from_str(&series).unwrap();
    assert_eq!(v["data"][0]["job"], "self", "{series}");
    let (_, labels) = http_get(&format!("{base}/api/v1/labels")).unwrap();
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert!(
        labels["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "instance"),
        "{labels}"
    );
    let (_, values) = http_get(&format!("{base}/api/v1/label/job/values")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&values).unwrap()["data"],
        serde_json::json!(["self"])
    );
    let (status, body) = http_get(&format!("{base}/api/v1/series")).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"errorType\":\"bad_data\""), "{body}");
}

/// Encodes a remote-write request with one sample per series at `t`.
fn write_request(names: &[String], t: i64, v: f64) -> Vec<u8> {
    remote_write_body(names.iter().map(|n| {
        let labels = vec![
            ("__name__".to_string(), n.clone()),
            ("job".to_string(), "rw".to_string()),
        ];
        (labels, vec![(t, v)])
    }))
}

#[test]
fn acknowledged_remote_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", data.display()),
        "--web.enable-remote-write-receiver".to_string(),
    ];
    let base = format!("http://127.0.0.1:{port}");
    let names: Vec<String> = (0..50).map(|i| format!("crash_metric_{i}")).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    {
        let mut ember = Peer::start(
            "ember",
            env!("CARGO_BIN_EXE_ember"),
            &args,
            tempfile::tempdir().unwrap(),
        );
        ember.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
        for k in 0..20 {
            let body = write_request(&names, now - 60_000 + k * 1000, k as f64);
            let (status, text) = http_post(
                &format!("{base}/api/v1/write"),
                &[("Content-Encoding", "snappy")],
                &body,
            )
            .unwrap();
            assert_eq!(status, 204, "{text}");
        }
        std::process::Command::new("kill")
            .arg("-KILL")
            .arg(ember.pid().to_string())
            .status()
            .unwrap();
    }
    let mut ember = Peer::start(
        "ember",
        env!("CARGO_BIN_EXE_ember"),
        &args,
        tempfile::tempdir().unwrap(),
    );
    ember.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
    assert!(
        ember.log_text().contains("WAL replay completed"),
        "{}",
        ember.log_text()
    );
    let (status, body) =
        http_get(&format!("{base}/federate?match[]=%7Bjob%3D%22rw%22%7D")).unwrap();
    assert_eq!(status, 200);
    for name in &names {
        let line = body
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")))
            .unwrap_or_else(|| panic!("{name} lost: {body}"));
        assert!(line.contains(" 19 "), "the last acknowledged value: {line}");
    }
    let (_, series) = http_get(&format!(
        "{base}/api/v1/series?match[]=%7Bjob%3D%22rw%22%7D"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&series).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 50);
}

#[test]
fn admin_api_snapshot_and_delete_series() {
    let off = start_ember(Some("scrape_configs: []\n"), &[]);
    let (status, body) = http_post(
        &format!("{}/api/v1/admin/tsdb/snapshot", off.base),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("admin APIs disabled"), "{body}");

    let ember = start_ember(
        Some("scrape_configs: []\n"),
        &[
            "--web.enable-admin-api",
            "--web.enable-remote-write-receiver",
        ],
    );
    let names = vec!["admin_a".to_string(), "admin_b".to_string()];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for k in 0..10 {
        let body = write_request(&names, now - 60_000 + k * 1000, k as f64);
        let (status, _) = http_post(
            &format!("{}/api/v1/write", ember.base),
            &[("Content-Encoding", "snappy")],
            &body,
        )
        .unwrap();
        assert_eq!(status, 204);
    }
    let (status, body) = http_post(
        &format!("{}/api/v1/admin/tsdb/snapshot", ember.base),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let name = v["data"]["name"].as_str().unwrap();
    let snap = ember
        .peer
        .dir
        .path()
        .join("data")
        .join("snapshots")
        .join(name);
    let blocks: Vec<_> = std::fs::read_dir(&snap)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("meta.json").exists())
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "the head written as a block in {}",
        snap.display()
    );
    // promtool reads the snapshot.
    let out = std::process::Command::new(require_binary("promtool"))
        .args(["tsdb", "list"])
        .arg(&snap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (status, body) = http_post(
        &format!(
            "{}/api/v1/admin/tsdb/delete_series?match[]=admin_a",
            ember.base
        ),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 204, "{body}");
    let (_, series) = ember.get("/api/v1/series?match[]=%7B__name__%3D~%22admin_.%2A%22%7D");
    assert!(
        !series.contains("admin_a") && series.contains("admin_b"),
        "{series}"
    );
    let (status, _) = http_post(
        &format!("{}/api/v1/admin/tsdb/clean_tombstones", ember.base),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 204);
}

#[test]
fn route_prefix_moves_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        "--web.external-url=http://monitoring.example/prom/".to_string(),
    ];
    let mut peer = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    let base = format!("http://127.0.0.1:{port}");
    peer.wait_ready(&format!("{base}/prom/-/ready"), Duration::from_secs(20));
    assert_eq!(http_get(&format!("{base}/prom/-/healthy")).unwrap().0, 200);
    assert_eq!(
        http_get(&format!("{base}/prom/api/v1/targets")).unwrap().0,
        200
    );
    assert_eq!(http_get(&format!("{base}/-/healthy")).unwrap().0, 404);
    // The embedded default scrapes Ember's own /metrics under the prefix.
    let targets = eventually(
        "self-scrape under the prefix",
        Duration::from_secs(20),
        || {
            let (_, body) = http_get(&format!("{base}/prom/api/v1/targets")).ok()?;
            body.contains("\"health\":\"up\"").then_some(body)
        },
    );
    assert!(targets.contains("/prom/metrics"), "{targets}");
}

#[test]
fn queries_are_logged_and_timed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("queries.log");
    let yaml = format!(
        "global:\n  query_log_file: {}\nscrape_configs: []\n",
        log.display()
    );
    let ember = start_ember(Some(&yaml), &["--query.max-concurrency=3"]);
    let (status, body) = ember.get("/api/v1/query?query=vector(1)%2B1&time=1700000000");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"2\""), "{body}");
    let (status, _) =
        ember.get("/api/v1/query_range?query=time()&start=1700000000&end=1700000060&step=15");
    assert_eq!(status, 200);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["params"]["query"], "vector(1)+1");
    assert_eq!(lines[0]["params"]["start"], "2023-11-14T22:13:20.000Z");
    assert_eq!(lines[1]["params"]["step"], 15);
    assert!(
        lines[1]["stats"]["timings"]["innerEvalTime"]
            .as_f64()
            .unwrap()
            >= 0.0
    );
    let (_, metrics) = ember.get("/metrics");
    assert_eq!(
        metric_value(&metrics, "prometheus_engine_queries_concurrent_max"),
        Some(3.0)
    );
    assert!(
        metrics.contains(
            "prometheus_engine_query_duration_seconds{slice=\"inner_eval\",quantile=\"0.9\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("prometheus_engine_query_duration_seconds_count{slice=\"queue_time\"} 2")
    );
}

#[test]
fn lookback_delta_and_timeout_parameters() {
    let ember = start_ember(
        Some("scrape_configs: []\n"),
        &["--web.enable-remote-write-receiver"],
    );
    let t = 1_700_000_000_000;
    let (status, _) = http_post(
        &format!("{}/api/v1/write", ember.base),
        &[("Content-Encoding", "snappy")],
        &write_request(&["lb".to_string()], t, 7.0),
    )
    .unwrap();
    assert_eq!(status, 204);
    let at = t / 1000 + 400;
    let (_, body) = ember.get(&format!("/api/v1/query?query=lb&time={at}"));
    assert!(
        body.contains("\"result\":[]"),
        "beyond the 5m lookback: {body}"
    );
    let (_, body) = ember.get(&format!(
        "/api/v1/query?query=lb&time={at}&lookback_delta=10m"
    ));
    assert!(body.contains("\"7\""), "within a 10m lookback: {body}");
    let (status, body) = ember.get(&format!("/api/v1/query?query=lb&time={at}&timeout=xyz"));
    assert_eq!(status, 400, "{body}");
}
