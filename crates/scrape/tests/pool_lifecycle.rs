//! Pool-level behaviour: `target_limit` fails every target of an oversized pool with
//! Prometheus's error, and a target that goes away gets staleness markers for all of its
//! series, synthetic ones included.

#[allow(unreachable_pub, dead_code)]
mod common;

use axum::Router;
use axum::routing::get;
use ember_model::is_stale_nan;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_limit_and_end_of_target_staleness() {
    let addr = common::serve(Router::new().route("/metrics", get(|| async { "a 1\nb 2\n" }))).await;
    let (host, port) = (addr.ip(), addr.port());
    let limited = format!(
        "  - job_name: limited\n    target_limit: 1\n    scrape_interval: 1s\n    static_configs: [{{targets: ['{host}:{port}', 'localhost:{port}']}}]\n"
    );
    let vanish = format!(
        "  - job_name: vanish\n    scrape_interval: 1s\n    static_configs: [{{targets: ['{host}:{port}']}}]\n"
    );
    let (manager, storage) =
        common::start_manager(&format!("scrape_configs:\n{limited}{vanish}")).await;
    common::wait_scraped(&manager, 3, Duration::from_secs(10)).await;
    for t in manager
        .active_targets()
        .iter()
        .filter(|t| t.pool == "limited")
    {
        assert_eq!(
            t.target.status().last_error,
            "target_limit exceeded (number of targets: 2, limit: 1)"
        );
    }
    let vanish_has = |name: &str| {
        storage
            .dump()
            .into_iter()
            .find(|s| s.labels.get("job") == Some("vanish") && s.labels.metric_name() == Some(name))
            .map(|s| s.samples)
            .unwrap_or_default()
    };
    assert!(!vanish_has("a").is_empty());
    // A second scrape gives an interval to report.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let metrics = storage.registry.render();
    assert!(
        metrics.contains("prometheus_target_interval_length_seconds_count{interval=\"1s\"}"),
        "{metrics}"
    );

    // Drop the job: its loop ends and writes staleness markers.
    let config =
        ember_config::load_str(&format!("scrape_configs:\n{limited}"), "test.yml").unwrap();
    manager.apply_config(&config).await.unwrap();
    for name in [
        "a",
        "b",
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
    ] {
        let samples = vanish_has(name);
        let last = samples
            .last()
            .unwrap_or_else(|| panic!("{name} has samples"));
        assert!(
            is_stale_nan(last.1),
            "{name} ends with a staleness marker: {samples:?}"
        );
    }
    // The limited pool's series carry no scraped samples at all.
    let dump = storage.dump();
    assert!(
        dump.iter()
            .filter(|s| s.labels.get("job") == Some("limited"))
            .all(|s| s.labels.metric_name() != Some("a"))
    );
    manager.stop().await;
}
