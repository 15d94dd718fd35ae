//! Phase 2 of the users' platform: a main server federates a child's `/federate` with
//! `honor_labels` and `match[]` (the seed config, with the child's address substituted).
//! Both directions against Prometheus 2.42: Prometheus federates Ember, Ember federates
//! Prometheus. The main server holds the child's series with their original labels.

use ember_testkit::{Peer, Prometheus, eventually, free_port, http_get};
use serde_json::Value;
use std::time::Duration;

/// The seed `phase2-prometheus-main.yml` pointed at `child`, scraping every second.
fn main_config(child: &str) -> String {
    let seed = std::fs::read_to_string(
        ember_testkit::shared_dir().join("seed-configs/phase2-prometheus-main.yml"),
    )
    .unwrap();
    let config = seed.replace("prometheus-secondary:9090", child);
    format!("global:\n  scrape_interval: 1s\n{config}")
}

fn start_ember(config: &str) -> (Peer, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ember.yml"), config).unwrap();
    let port = free_port();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--config.file={}", dir.path().join("ember.yml").display()),
    ];
    let mut peer = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    let base = format!("http://127.0.0.1:{port}");
    peer.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(20));
    (peer, base)
}

/// `up` series the main server holds, as (job, instance) pairs, once any arrived.
fn federated_up(main: &str) -> Vec<(String, String)> {
    eventually("federated series", Duration::from_secs(30), || {
        let (_, body) = http_get(&format!(
            "{main}/api/v1/query?query=up%7Bjob%21%3D%22federate%22%7D"
        ))
        .ok()?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let pairs: Vec<(String, String)> = v["data"]["result"]
            .as_array()?
            .iter()
            .map(|r| {
                (
                    r["metric"]["job"].as_str().unwrap_or("").to_string(),
                    r["metric"]["instance"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        (!pairs.is_empty()).then_some(pairs)
    })
}

#[test]
fn prometheus_federates_ember() {
    let port = free_port();
    let child_config = format!(
        "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: child-self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ember.yml"), &child_config).unwrap();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--config.file={}", dir.path().join("ember.yml").display()),
    ];
    let mut child = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    child.wait_ready(
        &format!("http://127.0.0.1:{port}/-/ready"),
        Duration::from_secs(20),
    );
    let main = Prometheus::start(&main_config(&format!("127.0.0.1:{port}")), &[]);
    let up = federated_up(&main.base);
    assert!(
        up.contains(&("child-self".to_string(), format!("127.0.0.1:{port}"))),
        "original labels kept: {up:?}"
    );
}

#[test]
fn ember_federates_prometheus() {
    let port = free_port();
    let child = Prometheus::start_on(
        port,
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: child-self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
        &[],
    );
    let (_main, main_base) = start_ember(&main_config(&format!("127.0.0.1:{port}")));
    let up = federated_up(&main_base);
    assert!(
        up.contains(&("child-self".to_string(), format!("127.0.0.1:{port}"))),
        "original labels kept: {up:?}"
    );
    drop(child);
}
