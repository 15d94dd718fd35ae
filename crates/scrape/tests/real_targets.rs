//! One scrape of a real node_exporter 1.5 and a real Prometheus 2.42 `/metrics`: the
//! (series, value) pairs Ember appends equal what the exposition body holds, with the
//! target labels attached, plus the five synthetic series with `up` = 1.
//!
//! A recording proxy sits between Ember and each peer so the body Ember scraped is known.

#[allow(unreachable_pub)]
mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use ember_exposition::{Entry, Parser, format_for_content_type};
use ember_model::Labels;
use ember_testkit::{Peer, Prometheus, free_port, require_binary};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
struct Recorder {
    upstream: String,
    bodies: Arc<Mutex<Vec<(String, Vec<u8>)>>>,
}

async fn forward(State(r): State<Recorder>, request: Request) -> Response {
    let accept = request.headers().get(header::ACCEPT).cloned();
    let url = format!("http://{}{}", r.upstream, request.uri());
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let resp = req.send().await.expect("upstream reachable");
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.bytes().await.expect("upstream body").to_vec();
    r.bodies
        .lock()
        .unwrap()
        .push((content_type.clone(), body.clone()));
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

async fn recording_proxy(upstream: String) -> (String, Recorder) {
    let recorder = Recorder {
        upstream,
        bodies: Arc::default(),
    };
    let addr = common::serve(Router::new().fallback(forward).with_state(recorder.clone())).await;
    (addr.to_string(), recorder)
}

/// The (labels, value bits) pairs a body holds, with the target labels attached.
fn expected_pairs(content_type: &str, body: &[u8], target: &Labels) -> BTreeSet<(Labels, u64)> {
    let mut parser = Parser::new(body, format_for_content_type(content_type));
    let mut out = BTreeSet::new();
    while let Some(entry) = parser.next() {
        let Entry::Sample(s) = entry.expect("reference body parses") else {
            continue;
        };
        let mut b = s.to_labels().to_builder();
        for l in target.iter() {
            b.set(l.name.clone(), l.value.clone());
        }
        out.insert((b.build(), s.value.to_bits()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_samples_equal_the_scraped_bodies() {
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
    let prometheus =
        tokio::task::block_in_place(|| Prometheus::start("global: {scrape_interval: 1m}\n", &[]));
    let prom_addr = prometheus.base.trim_start_matches("http://").to_string();
    tokio::task::block_in_place(|| {
        node.wait_ready(
            &format!("http://127.0.0.1:{node_port}/metrics"),
            Duration::from_secs(20),
        );
    });

    let (node_proxy, node_rec) = recording_proxy(format!("127.0.0.1:{node_port}")).await;
    let (prom_proxy, prom_rec) = recording_proxy(prom_addr).await;
    let yaml = format!(
        "scrape_configs:\n  - job_name: node\n    scrape_interval: 1h\n    static_configs: [{{targets: ['{node_proxy}']}}]\n  - job_name: prometheus\n    scrape_interval: 1h\n    static_configs: [{{targets: ['{prom_proxy}']}}]\n"
    );
    // A 1h interval with Prometheus's offset could start late; a short interval then stop
    // after the first scrape keeps the test quick and still examines exactly one scrape.
    let yaml = yaml.replace("1h", "2s");
    let (manager, storage) = common::start_manager(&yaml).await;
    common::wait_scraped(&manager, 2, Duration::from_secs(20)).await;
    manager.stop().await;

    let dump = storage.dump();
    for (job, proxy, recorder) in [
        ("node", &node_proxy, &node_rec),
        ("prometheus", &prom_proxy, &prom_rec),
    ] {
        let target = Labels::from_pairs([("job", job), ("instance", proxy.as_str())]);
        let (content_type, body) = recorder.bodies.lock().unwrap()[0].clone();
        let expected = expected_pairs(&content_type, &body, &target);
        assert!(
            expected.len() > 100,
            "{job}: the body should hold many samples, got {}",
            expected.len()
        );

        let up = dump
            .iter()
            .find(|s| s.labels.get("job") == Some(job) && s.labels.metric_name() == Some("up"))
            .expect("up series");
        let (first_ts, up_value) = up.samples[0];
        assert_eq!(up_value, 1.0, "{job}: up");
        let synthetic = [
            "up",
            "scrape_duration_seconds",
            "scrape_samples_scraped",
            "scrape_samples_post_metric_relabeling",
            "scrape_series_added",
        ];
        let mut stored = BTreeSet::new();
        for s in dump.iter().filter(|s| s.labels.get("job") == Some(job)) {
            let Some(&(_, v)) = s.samples.iter().find(|(t, _)| *t == first_ts) else {
                continue;
            };
            if synthetic.contains(&s.labels.metric_name().unwrap_or_default()) {
                continue;
            }
            stored.insert((s.labels.clone(), v.to_bits()));
        }
        let missing: Vec<_> = expected.difference(&stored).take(5).collect();
        let extra: Vec<_> = stored.difference(&expected).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{job} ({content_type}): missing {missing:?}, extra {extra:?}"
        );
        for name in synthetic {
            assert!(
                dump.iter()
                    .any(|s| s.labels.get("job") == Some(job)
                        && s.labels.metric_name() == Some(name)),
                "{job}: {name} missing"
            );
        }
        let scraped = dump
            .iter()
            .find(|s| {
                s.labels.get("job") == Some(job)
                    && s.labels.metric_name() == Some("scrape_samples_scraped")
            })
            .unwrap();
        assert_eq!(
            scraped.samples[0].1 as usize,
            expected.len(),
            "{job}: scrape_samples_scraped"
        );
    }
}
