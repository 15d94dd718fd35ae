//! Targets that fail (garbage, timeout, 500, sample_limit, body_size_limit) are marked
//! down with the same error text a real Prometheus 2.42 reports for the same targets and
//! the same config, while a healthy target in the same server keeps its data.

#[allow(unreachable_pub)]
mod common;

use axum::Router;
use axum::routing::get;
use ember_model::is_stale_nan;
use ember_testkit::{Prometheus, eventually, http_get};
use std::collections::BTreeMap;
use std::time::Duration;

fn fake_targets() -> Router {
    Router::new()
        .route(
            "/good",
            get(|| async { "# TYPE a gauge\na 1\nb{x=\"y\"} 2\n" }),
        )
        .route("/garbage", get(|| async { "{{{ this is garbage\n" }))
        .route(
            "/badvalue",
            get(|| async { "metric_one 1\nmetric_two not_a_number\n" }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "a 1\n"
            }),
        )
        .route(
            "/fail",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/many",
            get(|| async { (0..20).map(|i| format!("m{i} {i}\n")).collect::<String>() }),
        )
        .route(
            "/big",
            get(|| async { format!("big{{pad=\"{}\"}} 1\n", "x".repeat(10_000)) }),
        )
}

fn config(addr: &str) -> String {
    let job = |name: &str, extra: &str| {
        format!(
            "  - job_name: {name}\n    metrics_path: /{name}\n    scrape_interval: 1s\n    scrape_timeout: 1s\n{extra}    static_configs:\n      - targets: ['{addr}']\n"
        )
    };
    let mut yaml = String::from("scrape_configs:\n");
    for name in ["good", "garbage", "badvalue", "slow", "fail"] {
        yaml.push_str(&job(name, ""));
    }
    yaml.push_str(&job("many", "    sample_limit: 5\n"));
    yaml.push_str(&job("big", "    body_size_limit: 1KB\n"));
    yaml
}

/// `lastError` per scrape pool from a Prometheus-compatible `/api/v1/targets` response.
fn errors_by_pool(targets_json: &str) -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_str(targets_json).expect("targets JSON");
    v["data"]["activeTargets"]
        .as_array()
        .expect("activeTargets")
        .iter()
        .map(|t| {
            (
                t["scrapePool"].as_str().unwrap().to_string(),
                t["lastError"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_targets_report_prometheus_errors_and_spare_the_others() {
    let addr = common::serve(fake_targets()).await.to_string();
    let yaml = config(&addr);

    // The reference: Prometheus 2.42 with the very same config.
    let prometheus = tokio::task::block_in_place(|| Prometheus::start(&yaml, &[]));
    let base = prometheus.base.clone();

    let (manager, storage) = common::start_manager(&yaml).await;
    common::wait_scraped(&manager, 7, Duration::from_secs(20)).await;
    // Every target has had at least one scrape on both sides; the slow one needs its timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let theirs = tokio::task::block_in_place(|| {
        eventually(
            "Prometheus to scrape every target",
            Duration::from_secs(30),
            || {
                let (_, body) = http_get(&format!("{base}/api/v1/targets")).ok()?;
                let errors = errors_by_pool(&body);
                let v: serde_json::Value = serde_json::from_str(&body).ok()?;
                let all_scraped = v["data"]["activeTargets"]
                    .as_array()?
                    .iter()
                    .all(|t| t["health"] != "unknown");
                (errors.len() == 7 && all_scraped).then_some(errors)
            },
        )
    });
    let ours: BTreeMap<String, String> = manager
        .active_targets()
        .into_iter()
        .map(|t| (t.pool.clone(), t.target.status().last_error))
        .collect();
    manager.stop().await;
    drop(prometheus);

    assert_eq!(ours["good"], "");
    for pool in ["slow", "fail", "many", "big"] {
        assert_eq!(ours[pool], theirs[pool], "error text for {pool}");
    }
    // Parse errors carry Prometheus 3's wording plus the line (2.42's lexer words them
    // differently and names no line); see docs/compatibility.md.
    for (pool, line) in [("garbage", "line 1: "), ("badvalue", "line 2: ")] {
        assert!(!theirs[pool].is_empty(), "Prometheus must mark {pool} down");
        assert!(
            ours[pool].starts_with(line),
            "{pool}: {:?} (Prometheus: {:?})",
            ours[pool],
            theirs[pool]
        );
    }
    assert!(
        ours["badvalue"].contains("not_a_number"),
        "{:?} vs {:?}",
        ours["badvalue"],
        theirs["badvalue"]
    );

    // The healthy target's samples are all there; failing targets stored only report series.
    let dump = storage.dump();
    let job_series = |job: &str| -> Vec<String> {
        dump.iter()
            .filter(|s| s.labels.get("job") == Some(job))
            .filter(|s| s.samples.iter().any(|(_, v)| !is_stale_nan(*v)))
            .map(|s| s.labels.metric_name().unwrap().to_string())
            .collect()
    };
    let good = job_series("good");
    assert!(
        good.contains(&"a".to_string()) && good.contains(&"b".to_string()),
        "{good:?}"
    );
    let synthetic = [
        "scrape_duration_seconds",
        "scrape_samples_post_metric_relabeling",
        "scrape_samples_scraped",
        "scrape_series_added",
        "up",
    ];
    for job in ["garbage", "badvalue", "slow", "fail", "many", "big"] {
        let names = job_series(job);
        assert!(
            names.iter().all(|n| synthetic.contains(&n.as_str())),
            "{job} stored {names:?}"
        );
        let up = dump
            .iter()
            .find(|s| s.labels.get("job") == Some(job) && s.labels.metric_name() == Some("up"))
            .unwrap();
        assert!(
            up.samples.iter().all(|&(_, v)| v == 0.0),
            "{job}: up must be 0"
        );
    }
}
