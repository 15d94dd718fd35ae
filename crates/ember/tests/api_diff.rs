//! Ember and a real Prometheus 2.42 scrape the same node_exporter; their metadata, label,
//! series, cardinality and formatting endpoints must agree.

use ember_testkit::{Peer, Prometheus, eventually, free_port, http_get, require_binary};
use serde_json::Value;
use std::time::Duration;

fn json(url: &str) -> Value {
    let (status, body) = http_get(url).unwrap();
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn ember_api_matches_prometheus_on_the_same_target() {
    let node_port = free_port();
    let mut node = Peer::start(
        "node_exporter",
        require_binary("prometheus-node-exporter"),
        &[
            format!("--web.listen-address=127.0.0.1:{node_port}"),
            "--no-collector.systemd".into(),
        ],
        tempfile::tempdir().unwrap(),
    );
    node.wait_ready(
        &format!("http://127.0.0.1:{node_port}/metrics"),
        Duration::from_secs(20),
    );
    let config = format!(
        "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]\n"
    );

    let prometheus = Prometheus::start(&config, &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ember.yml"), &config).unwrap();
    let port = free_port();
    let args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--config.file={}", dir.path().join("ember.yml").display()),
    ];
    let mut ember = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    let ours = format!("http://127.0.0.1:{port}");
    ember.wait_ready(&format!("{ours}/-/ready"), Duration::from_secs(20));
    let theirs = prometheus.base.clone();
    for base in [&ours, &theirs] {
        eventually("a scrape of node_exporter", Duration::from_secs(20), || {
            let v = json(&format!("{base}/api/v1/query?query=up"));
            (v["data"]["result"].as_array()?.len() == 1).then_some(())
        });
    }

    // Metadata of a few families: type and help as the exporter declares them.
    for metric in [
        "node_cpu_seconds_total",
        "node_memory_MemFree_bytes",
        "go_gc_duration_seconds",
        "node_scrape_collector_success",
    ] {
        let path = format!("/api/v1/metadata?metric={metric}");
        assert_eq!(
            json(&format!("{ours}{path}"))["data"],
            json(&format!("{theirs}{path}"))["data"],
            "{path}"
        );
    }
    let path = "/api/v1/targets/metadata?metric=node_load1";
    let (a, b) = (
        json(&format!("{ours}{path}")),
        json(&format!("{theirs}{path}")),
    );
    assert_eq!(a["data"][0]["type"], b["data"][0]["type"]);
    assert_eq!(a["data"][0]["help"], b["data"][0]["help"]);
    assert_eq!(a["data"][0]["target"], b["data"][0]["target"]);

    // Label values and series for a stable metric.
    for path in [
        "/api/v1/label/job/values",
        "/api/v1/label/mode/values",
        "/api/v1/series?match[]=node_cpu_seconds_total",
    ] {
        assert_eq!(
            json(&format!("{ours}{path}"))["data"],
            json(&format!("{theirs}{path}"))["data"],
            "{path}"
        );
    }

    // Cardinality: same shape and, for families the exporter always exposes, same counts.
    let (a, b) = (
        json(&format!("{ours}/api/v1/status/tsdb")),
        json(&format!("{theirs}/api/v1/status/tsdb")),
    );
    for key in [
        "seriesCountByMetricName",
        "labelValueCountByLabelName",
        "memoryInBytesByLabelName",
        "seriesCountByLabelValuePair",
    ] {
        assert_eq!(
            a["data"][key].as_array().unwrap().len(),
            b["data"][key].as_array().unwrap().len(),
            "{key}"
        );
    }
    let count = |v: &Value, name: &str| {
        v["data"]["seriesCountByMetricName"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    let top = b["data"]["seriesCountByMetricName"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(count(&a, &top), count(&b, &top), "series of {top}");
    let ours_series = a["data"]["headStats"]["numSeries"].as_u64().unwrap();
    let theirs_series = b["data"]["headStats"]["numSeries"].as_u64().unwrap();
    assert!(
        ours_series.abs_diff(theirs_series) <= 5,
        "head series: ours {ours_series}, Prometheus {theirs_series}"
    );

    // Query formatting.
    for q in [
        "sum(rate(x[5m]))by(job)",
        "a+on(b)group_left c",
        "-x offset 5m",
    ] {
        let enc: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
        let path = format!("/api/v1/format_query?query={enc}");
        assert_eq!(
            json(&format!("{ours}{path}"))["data"],
            json(&format!("{theirs}{path}"))["data"],
            "format_query {q}"
        );
    }
    // Empty answers where subsystems do not exist yet have Prometheus's shapes.
    for path in ["/api/v1/rules", "/api/v1/alerts", "/api/v1/alertmanagers"] {
        let (a, b) = (
            json(&format!("{ours}{path}")),
            json(&format!("{theirs}{path}")),
        );
        let keys = |v: &Value| {
            v["data"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&a), keys(&b), "{path}");
    }
}
