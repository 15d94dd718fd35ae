//! The same data remote-written to Ember and to a real Prometheus 2.42, then the same
//! PromQL queries against both HTTP APIs: results must agree (relative tolerance 1e-6).
//! A seed of the differential suite; it grows with the engine.

use ember_testkit::{Peer, Prometheus, free_port, http_get, remote_write};
use serde_json::Value;
use std::time::Duration;

fn write_body(now: i64) -> Vec<u8> {
    use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
    use prost::Message;
    let mut timeseries = Vec::new();
    for job in ["api", "db"] {
        for instance in 0..3 {
            for code in ["200", "500"] {
                let labels = vec![
                    Label {
                        name: "__name__".into(),
                        value: "http_requests_total".into(),
                    },
                    Label {
                        name: "code".into(),
                        value: code.into(),
                    },
                    Label {
                        name: "instance".into(),
                        value: format!("h{instance}"),
                    },
                    Label {
                        name: "job".into(),
                        value: job.into(),
                    },
                ];
                let rate = (instance + 1) as f64 * if code == "200" { 10.0 } else { 1.0 };
                let samples = (0..120)
                    .map(|k| Sample {
                        value: rate * k as f64 * 15.0,
                        timestamp: now - (119 - k) * 15_000,
                    })
                    .collect();
                timeseries.push(TimeSeries {
                    labels,
                    samples,
                    exemplars: vec![],
                });
            }
            let labels = vec![
                Label {
                    name: "__name__".into(),
                    value: "temperature".into(),
                },
                Label {
                    name: "instance".into(),
                    value: format!("h{instance}"),
                },
                Label {
                    name: "job".into(),
                    value: job.into(),
                },
            ];
            let samples = (0..120)
                .map(|k| Sample {
                    value: 20.0 + ((k * 7 + instance * 3) % 11) as f64 * 0.5,
                    timestamp: now - (119 - k) * 15_000,
                })
                .collect();
            timeseries.push(TimeSeries {
                labels,
                samples,
                exemplars: vec![],
            });
        }
    }
    snap::raw::Encoder::new()
        .compress_vec(
            &WriteRequest {
                timeseries,
                metadata: vec![],
            }
            .encode_to_vec(),
        )
        .unwrap()
}

fn get_json(url: &str) -> Value {
    let (status, body) = http_get(url).unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    assert!(
        status == 200 || v["status"] == "error",
        "{url}: {status} {body}"
    );
    v
}

/// Results sorted by their metric labels, values parsed, for comparison.
fn normalise(v: &Value) -> Vec<(String, Vec<(f64, f64)>)> {
    let data = &v["data"];
    let points = |p: &Value| {
        (
            p[0].as_f64().unwrap(),
            p[1].as_str().unwrap().parse::<f64>().unwrap(),
        )
    };
    let mut out: Vec<(String, Vec<(f64, f64)>)> = match data["resultType"].as_str().unwrap() {
        "scalar" => vec![(String::new(), vec![points(&data["result"])])],
        "vector" => data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["metric"].to_string(), vec![points(&r["value"])]))
            .collect(),
        "matrix" => data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"].to_string(),
                    r["values"].as_array().unwrap().iter().map(points).collect(),
                )
            })
            .collect(),
        other => panic!("unexpected result type {other}"),
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || ((a - b).abs() <= 1e-6 * a.abs().max(b.abs()))
}

#[test]
fn ember_answers_like_prometheus() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        / 15_000
        * 15_000;
    let body = write_body(now);

    let ember_port = free_port();
    let ember_dir = tempfile::tempdir().unwrap();
    let ember_args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{ember_port}"),
        format!(
            "--storage.tsdb.path={}",
            ember_dir.path().join("data").display()
        ),
        "--web.enable-remote-write-receiver".to_string(),
        "--config.file=/dev/null".to_string(),
    ];
    let mut ember = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &ember_args, ember_dir);
    let ember_base = format!("http://127.0.0.1:{ember_port}");
    ember.wait_ready(&format!("{ember_base}/-/ready"), Duration::from_secs(20));

    let prometheus = Prometheus::start(
        "global: {scrape_interval: 1h}\n",
        &["--web.enable-remote-write-receiver"],
    );
    let prom_base = prometheus.base.clone();

    for base in [&ember_base, &prom_base] {
        remote_write(base, &body);
    }

    let queries = [
        "http_requests_total",
        "http_requests_total{code=\"500\"}",
        "rate(http_requests_total[5m])",
        "sum by (job) (rate(http_requests_total[5m]))",
        "sum without (instance) (http_requests_total)",
        "avg(temperature) by (job)",
        "max_over_time(temperature[10m])",
        "avg_over_time(temperature[10m])",
        "increase(http_requests_total[10m])",
        "topk(2, temperature)",
        "count(temperature > 22)",
        "temperature > bool 22",
        "http_requests_total{code=\"500\"} / ignoring(code) http_requests_total{code=\"200\"}",
        "sum(rate(http_requests_total[5m])) by (job) / on(job) group_left sum(rate(http_requests_total[5m])) by (job)",
        "quantile(0.9, temperature)",
        "delta(temperature[10m])",
        "deriv(temperature[10m])",
        "scalar(sum(temperature))",
        "temperature offset 5m",
        "abs(temperature - 22)",
    ];
    let mut failures = Vec::new();
    // Query times fall between samples: at a sample's exact timestamp, 2.42's left-closed
    // range windows and Prometheus 3's left-open ones (which Ember follows) differ by design.
    let t = now as f64 / 1000.0 + 7.0;
    for q in queries {
        let enc: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let paths = [
            format!("/api/v1/query?query={enc}&time={t}"),
            format!(
                "/api/v1/query_range?query={enc}&start={}&end={t}&step=60",
                t - 1200.0
            ),
        ];
        for path in paths {
            let ours = get_json(&format!("{ember_base}{path}"));
            let theirs = get_json(&format!("{prom_base}{path}"));
            if theirs["status"] != "success" {
                if ours["status"] == "success" {
                    failures.push(format!(
                        "{path}: Prometheus failed ({}) but Ember did not",
                        theirs["error"]
                    ));
                }
                continue;
            }
            if ours["status"] != "success" {
                failures.push(format!("{q}: Ember failed: {}", ours["error"]));
                continue;
            }
            let (a, b) = (normalise(&ours), normalise(&theirs));
            let same = a.len() == b.len()
                && a.iter().zip(&b).all(|(x, y)| {
                    x.0 == y.0
                        && x.1.len() == y.1.len()
                        && x.1
                            .iter()
                            .zip(&y.1)
                            .all(|(p, q)| p.0 == q.0 && close(p.1, q.1))
                });
            if !same {
                failures.push(format!("{path}:\n  ember      {a:?}\n  prometheus {b:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
