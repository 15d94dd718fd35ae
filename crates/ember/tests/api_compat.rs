//! The HTTP API as its clients use it, Ember beside a real Prometheus 2.42 holding the
//! same data (remote-written with explicit timestamps, plus a scraped node_exporter where
//! metadata and targets matter):
//!
//! - `promtool query instant|range|series|labels` prints the same for both;
//! - the requests Grafana's Prometheus data source sends get answers of the same JSON
//!   shape, equal wherever the data makes them deterministic;
//! - `stats` has Prometheus's shape and sample counts;
//! - parse errors carry Prometheus's positions and wording, `/api/v1/parse_query` has
//!   Prometheus 3's documented shape;
//! - target state filters, `limit` on the metadata endpoints and gzip responses.
//!
//! Where Ember follows Prometheus 3 and 2.42 differs (see docs/compatibility.md), Ember's
//! answer is asserted on its own.

use ember_testkit::{
    Peer, Prometheus, eventually, free_port, http_get, http_post, remote_write, require_binary,
};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;

/// Samples every 15 s for 30 minutes, the last at `now`.
const SAMPLES: i64 = 120;

/// `temperature{instance,job}` (gauges) and `http_requests_total{code,instance,job}`
/// (counters) for two jobs of three instances, ending at `now` (a multiple of 15 s).
fn write_body(now: i64) -> Vec<u8> {
    use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
    use prost::Message;
    let labels = |pairs: &[(&str, String)]| -> Vec<Label> {
        pairs
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.clone(),
            })
            .collect()
    };
    let series = |labels: Vec<Label>, value: &dyn Fn(i64) -> f64| TimeSeries {
        labels,
        samples: (0..SAMPLES)
            .map(|k| Sample {
                value: value(k),
                timestamp: now - (SAMPLES - 1 - k) * 15_000,
            })
            .collect(),
        exemplars: vec![],
    };
    let mut timeseries = Vec::new();
    for job in ["api", "db"] {
        for instance in 0..3i64 {
            for code in ["200", "500"] {
                let rate = (instance + 1) as f64 * if code == "200" { 10.0 } else { 1.0 };
                timeseries.push(series(
                    labels(&[
                        ("__name__", "http_requests_total".into()),
                        ("code", code.into()),
                        ("instance", format!("h{instance}")),
                        ("job", job.into()),
                    ]),
                    &|k| rate * k as f64 * 15.0,
                ));
            }
            timeseries.push(series(
                labels(&[
                    ("__name__", "temperature".into()),
                    ("instance", format!("h{instance}")),
                    ("job", job.into()),
                ]),
                &|k| 20.0 + ((k * 7 + instance * 3) % 11) as f64 * 0.5,
            ));
        }
    }
    let request = WriteRequest {
        timeseries,
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

/// Now in milliseconds, rounded down to 15 s.
fn aligned_now() -> i64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    ms / 15_000 * 15_000
}

/// Ember and Prometheus with the same configuration and the same remote-written data.
struct Pair {
    _ember: Peer,
    _prometheus: Prometheus,
    _node: Option<Peer>,
    ours: String,
    theirs: String,
    /// The newest sample's time, in ms.
    now: i64,
}

impl Pair {
    /// Both servers on `config` (with the remote-write receiver and `flags`), fed the same
    /// samples. With `node_exporter`, the config's `NODE` placeholder becomes a running
    /// exporter's address and both wait until they scraped it.
    fn start(config: &str, node_exporter: bool, flags: &[&str]) -> Pair {
        let node = node_exporter.then(|| {
            let port = free_port();
            let mut node = Peer::start(
                "node_exporter",
                require_binary("prometheus-node-exporter"),
                &[
                    format!("--web.listen-address=127.0.0.1:{port}"),
                    "--no-collector.systemd".into(),
                ],
                tempfile::tempdir().unwrap(),
            );
            node.wait_ready(
                &format!("http://127.0.0.1:{port}/metrics"),
                Duration::from_secs(20),
            );
            (node, port)
        });
        let config = match &node {
            Some((_, port)) => config.replace("NODE", &format!("127.0.0.1:{port}")),
            None => config.to_string(),
        };
        let mut prom_flags = vec!["--web.enable-remote-write-receiver"];
        prom_flags.extend(flags);
        let prometheus = Prometheus::start(&config, &prom_flags);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ember.yml"), &config).unwrap();
        let port = free_port();
        let mut args = vec![
            "server".to_string(),
            format!("--web.listen-address=127.0.0.1:{port}"),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--config.file={}", dir.path().join("ember.yml").display()),
            "--web.enable-remote-write-receiver".to_string(),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let mut ember = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
        let ours = format!("http://127.0.0.1:{port}");
        ember.wait_ready(&format!("{ours}/-/ready"), Duration::from_secs(20));

        let now = aligned_now();
        let body = write_body(now);
        for base in [&ours, &prometheus.base] {
            remote_write(base, &body);
        }
        if node.is_some() {
            for base in [&ours, &prometheus.base] {
                eventually("a scrape of node_exporter", Duration::from_secs(30), || {
                    let (_, v) = get(&format!(
                        "{base}/api/v1/query?query=up%7Bjob%3D%22node%22%7D"
                    ));
                    (v["data"]["result"].as_array()?.len() == 1).then_some(())
                });
            }
        }
        Pair {
            _ember: ember,
            theirs: prometheus.base.clone(),
            _prometheus: prometheus,
            _node: node.map(|(n, _)| n),
            ours,
            now,
        }
    }

    /// Seconds, `offset_ms` after the newest sample, as a query parameter.
    fn t(&self, offset_ms: i64) -> String {
        let ms = self.now + offset_ms;
        format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
    }
}

fn parse_json(url: &str, status: u16, body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{url}: {status} {e}: {body:?}"))
}

fn get(url: &str) -> (u16, Value) {
    let (status, body) = http_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (status, parse_json(url, status, &body))
}

fn post_form(url: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let body = form(pairs);
    let (status, text) = http_post(
        url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    (status, parse_json(url, status, &text))
}

/// `application/x-www-form-urlencoded` encoding.
fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The structure of a JSON value: object keys with the shapes of their values, arrays as
/// the sorted set of their elements' shapes, scalars as their JSON type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => {
            let mut shapes: Vec<String> = items.iter().map(|i| shape(i).to_string()).collect();
            shapes.sort();
            shapes.dedup();
            Value::Array(
                shapes
                    .iter()
                    .map(|s| serde_json::from_str(s).unwrap())
                    .collect(),
            )
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), shape(&map[k])))
                    .collect(),
            )
        }
    }
}

/// Equal JSON, except that sample values (numeric strings) may differ in the last bits
/// (relative 1e-9): engines sum in different orders.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            x == y
                || match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

fn promtool(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(require_binary("promtool"))
        .arg("query")
        .args(args)
        .output()
        .expect("run promtool");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn promtool_query_prints_the_same_as_against_prometheus() {
    let pair = Pair::start("global: {scrape_interval: 1h}\n", false, &[]);
    // Query times fall between samples: at a sample's exact time, 2.42's left-closed range
    // windows and Prometheus 3's left-open ones (which Ember follows) differ by design.
    let (t, start, end) = (pair.t(-100_000), pair.t(-1_193_000), pair.t(7_000));
    let early = pair.t(-593_000);
    // `SERVER` stands for the server's URL.
    let invocations: Vec<Vec<&str>> = vec![
        vec!["instant", "--time", &t, "SERVER", "temperature"],
        vec![
            "instant",
            "--time",
            &t,
            "SERVER",
            "sum by (job) (rate(http_requests_total[5m]))",
        ],
        vec![
            "instant",
            "--time",
            &t,
            "SERVER",
            "scalar(sum(temperature))",
        ],
        vec![
            "instant",
            "--time",
            &t,
            "SERVER",
            "temperature{instance=\"h1\"}[1m]",
        ],
        vec!["instant", "--time", &t, "SERVER", "\"a string\""],
        vec!["instant", "--time", &t, "SERVER", "no_such_metric"],
        vec![
            "instant",
            "--time",
            &t,
            "-o",
            "json",
            "SERVER",
            "topk(2, temperature)",
        ],
        vec!["instant", "--time", &t, "SERVER", "sum(temperature"],
        vec!["instant", "--time", &t, "SERVER", "temperature{job=api}"],
        vec!["instant", "--time", &t, "SERVER", "rate(temperature)"],
        vec![
            "range",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "1m",
            "SERVER",
            "avg(temperature)",
        ],
        vec![
            "range",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "90s",
            "SERVER",
            "temperature{job=\"db\"}",
        ],
        vec![
            "range",
            "--start",
            &start,
            "--end",
            &end,
            "SERVER",
            "temperature{instance=\"h0\"}",
        ],
        vec![
            "range",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "30s",
            "SERVER",
            "increase(http_requests_total{code=\"500\"}[5m])",
        ],
        vec![
            "range", "--start", &start, "--end", &end, "--step", "5m", "SERVER", "1 + 1",
        ],
        vec![
            "range",
            "--start",
            &start,
            "--end",
            &end,
            "--step",
            "5m",
            "-o",
            "json",
            "SERVER",
            "max(temperature) by (job)",
        ],
        vec!["series", "--match", "temperature", "SERVER"],
        vec![
            "series",
            "--match",
            "temperature{job=\"api\"}",
            "--match",
            "http_requests_total{code=\"500\",instance=\"h0\"}",
            "SERVER",
        ],
        vec![
            "series",
            "--match",
            "temperature",
            "--start",
            &start,
            "--end",
            &early,
            "SERVER",
        ],
        vec![
            "series",
            "--match",
            "temperature",
            "--start",
            "2000-01-01T00:00:00Z",
            "--end",
            "2000-01-02T00:00:00Z",
            "SERVER",
        ],
        vec!["series", "--match", "temperature{job=api}", "SERVER"],
        vec![
            "series",
            "-o",
            "json",
            "--match",
            "http_requests_total{job=\"db\"}",
            "SERVER",
        ],
        vec!["labels", "SERVER", "job"],
        vec!["labels", "SERVER", "__name__"],
        vec!["labels", "SERVER", "no_such_label"],
        vec!["labels", "--match", "temperature", "SERVER", "instance"],
        vec![
            "labels",
            "--match",
            "http_requests_total{job=\"db\"}",
            "--start",
            &start,
            "--end",
            &end,
            "SERVER",
            "code",
        ],
        vec![
            "labels",
            "--match",
            "temperature",
            "--start",
            "2000-01-01T00:00:00Z",
            "--end",
            "2000-01-02T00:00:00Z",
            "SERVER",
            "job",
        ],
        vec!["labels", "-o", "json", "SERVER", "instance"],
    ];
    let mut failures = Vec::new();
    for args in &invocations {
        let run = |base: &str| {
            let args: Vec<&str> = args
                .iter()
                .map(|a| if *a == "SERVER" { base } else { a })
                .collect();
            promtool(&args)
        };
        let (ours, theirs) = (run(&pair.ours), run(&pair.theirs));
        if ours != theirs {
            failures.push(format!(
                "promtool query {args:?}:\n  ember      {ours:?}\n  prometheus {theirs:?}"
            ));
        }
        // Two empty answers would agree vacuously: every invocation prints something
        // (data or an error) but the ones that look where there is nothing.
        let empty_expected = args
            .iter()
            .any(|a| a.contains("2000-") || a.contains("no_such"));
        if !empty_expected && theirs.1.trim().is_empty() && theirs.2.is_empty() {
            failures.push(format!(
                "promtool query {args:?}: Prometheus printed nothing"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Ember follows Prometheus 3: a range query's bad `query` is an invalid parameter too
    // (2.42 leaves the prefix out there).
    let (code, out, err) = promtool(&[
        "range",
        "--start",
        &start,
        "--end",
        &end,
        &pair.ours,
        "temperature[1m]",
    ]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "query error: bad_data: invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector\n"
    );
}

/// The requests Grafana's Prometheus data source sends.
#[test]
fn grafana_requests_get_prometheus_shaped_answers() {
    let config = "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['NODE']}]\n";
    let pair = Pair::start(config, true, &["--enable-feature=promql-per-step-stats"]);
    let (t, start, end) = (pair.t(7_000), pair.t(-1_193_000), pair.t(7_000));
    // (method, path, form): deterministic answers are compared whole, the others by shape.
    let exact: Vec<(&str, String, Vec<(&str, &str)>)> = vec![
        (
            "POST",
            "/api/v1/query".into(),
            vec![
                ("query", "sum by (job) (rate(http_requests_total[5m]))"),
                ("time", &t),
            ],
        ),
        (
            "POST",
            "/api/v1/query".into(),
            vec![("query", "temperature"), ("time", &t), ("timeout", "30s")],
        ),
        (
            "POST",
            "/api/v1/query".into(),
            vec![("query", "scalar(count(temperature))"), ("time", &t)],
        ),
        (
            "POST",
            "/api/v1/query_range".into(),
            vec![
                ("query", "avg by (job) (temperature)"),
                ("start", &start),
                ("end", &end),
                ("step", "60"),
            ],
        ),
        (
            "POST",
            "/api/v1/query_range".into(),
            vec![
                ("query", "rate(http_requests_total{job=\"db\"}[2m])"),
                ("start", &start),
                ("end", &end),
                ("step", "2m"),
            ],
        ),
        (
            "GET",
            format!(
                "/api/v1/query?{}",
                form(&[
                    ("query", "topk(3, http_requests_total{job=\"api\"})"),
                    ("time", &t)
                ])
            ),
            vec![],
        ),
        (
            "POST",
            "/api/v1/labels".into(),
            vec![("start", &start), ("end", &end), ("match[]", "temperature")],
        ),
        (
            "GET",
            format!(
                "/api/v1/labels?{}",
                form(&[
                    ("match[]", "http_requests_total"),
                    ("start", &start),
                    ("end", &end)
                ])
            ),
            vec![],
        ),
        (
            "GET",
            format!(
                "/api/v1/label/__name__/values?{}",
                form(&[
                    ("start", &start),
                    ("end", &end),
                    ("match[]", "{job=\"api\"}")
                ])
            ),
            vec![],
        ),
        (
            "GET",
            format!(
                "/api/v1/label/__name__/values?{}",
                form(&[("match[]", "{__name__=~\"temp.*\"}")])
            ),
            vec![],
        ),
        (
            "GET",
            format!(
                "/api/v1/label/instance/values?{}",
                form(&[
                    ("start", &start),
                    ("end", &end),
                    ("match[]", "temperature"),
                    ("match[]", "http_requests_total{job=\"db\"}")
                ])
            ),
            vec![],
        ),
        ("GET", "/api/v1/label/job/values".into(), vec![]),
        (
            "GET",
            format!(
                "/api/v1/series?{}",
                form(&[
                    ("match[]", "temperature{job=\"db\"}"),
                    ("start", &start),
                    ("end", &end)
                ])
            ),
            vec![],
        ),
        (
            "POST",
            "/api/v1/series".into(),
            vec![
                ("match[]", "temperature{instance=\"h2\"}"),
                ("match[]", "http_requests_total{code=\"500\",job=\"api\"}"),
                ("start", &start),
                ("end", &end),
            ],
        ),
        (
            "POST",
            "/api/v1/series".into(),
            vec![
                ("match[]", "temperature"),
                ("start", "2000-01-01T00:00:00Z"),
                ("end", "2000-01-01T01:00:00Z"),
            ],
        ),
        ("GET", "/api/v1/metadata?metric=node_load1".into(), vec![]),
        (
            "GET",
            "/api/v1/metadata?metric=node_cpu_seconds_total&limit=1".into(),
            vec![],
        ),
        (
            "GET",
            "/api/v1/metadata?metric=no_such_metric".into(),
            vec![],
        ),
        (
            "GET",
            format!(
                "/api/v1/query_exemplars?{}",
                form(&[("query", "temperature"), ("start", &start), ("end", &end)])
            ),
            vec![],
        ),
        (
            "POST",
            "/api/v1/query_exemplars".into(),
            vec![
                ("query", "rate(http_requests_total[5m])"),
                ("start", &start),
                ("end", &end),
            ],
        ),
        // Errors Grafana shows to users.
        (
            "POST",
            "/api/v1/query".into(),
            vec![("query", "sum(rate(temperature[5m])"), ("time", &t)],
        ),
        ("GET", "/api/v1/series".into(), vec![]),
        (
            "POST",
            "/api/v1/query_exemplars".into(),
            vec![("query", "temperature"), ("start", &end), ("end", &start)],
        ),
    ];
    let request = |base: &str, method: &str, path: &str, f: &[(&str, &str)]| {
        let url = format!("{base}{path}");
        if method == "POST" {
            post_form(&url, f)
        } else {
            get(&url)
        }
    };
    let mut failures = Vec::new();
    for (method, path, f) in &exact {
        let ours = request(&pair.ours, method, path, f);
        let theirs = request(&pair.theirs, method, path, f);
        if ours.0 != theirs.0 || !close(&ours.1, &theirs.1) {
            failures.push(format!(
                "{method} {path} {f:?}:\n  ember      {ours:?}\n  prometheus {theirs:?}"
            ));
        }
        if theirs.0 == 200
            && theirs.1["data"].as_array().is_some_and(|a| a.is_empty())
            && !path.contains("exemplars")
            && !f.iter().any(|(_, v)| v.starts_with("2000"))
        {
            failures.push(format!(
                "{method} {path}: Prometheus found nothing: the comparison is vacuous"
            ));
        }
    }
    // Answers that depend on the exporter's state or the build: same shape.
    let shaped = [
        "/api/v1/labels",
        "/api/v1/metadata",
        "/api/v1/status/buildinfo",
        "/api/v1/targets",
    ];
    for path in shaped {
        let (ours, theirs) = (
            get(&format!("{}{path}", pair.ours)),
            get(&format!("{}{path}", pair.theirs)),
        );
        if (ours.0, shape(&ours.1)) != (theirs.0, shape(&theirs.1)) {
            failures.push(format!(
                "GET {path} shapes:\n  ember      {}\n  prometheus {}",
                shape(&ours.1),
                shape(&theirs.1)
            ));
        }
    }
    // `limit` on metadata: which families Prometheus picks depends on Go's map order.
    let entries = |base: &str| {
        let (_, v) = get(&format!("{base}/api/v1/metadata?limit=2"));
        let families = v["data"].as_object().unwrap().clone();
        (
            families.len(),
            shape(&Value::Array(families.values().cloned().collect())),
        )
    };
    let ours = entries(&pair.ours);
    assert_eq!(ours, entries(&pair.theirs), "metadata?limit=2");
    assert_eq!(ours.0, 2);
    // A query without selectors has no exemplars to look for: 204, no body.
    for base in [&pair.ours, &pair.theirs] {
        let (status, body) = http_get(&format!("{base}/api/v1/query_exemplars?query=1")).unwrap();
        assert_eq!((status, body.as_str()), (204, ""), "{base}");
    }

    // `stats`: the same shape, and the same sample counts (not the timings, and not
    // peakSamples: engines hold intermediate results differently).
    let stats_requests: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/api/v1/query",
            vec![("query", "temperature"), ("time", &t), ("stats", "all")],
        ),
        (
            "/api/v1/query",
            vec![
                ("query", "rate(http_requests_total[5m])"),
                ("time", &t),
                ("stats", "all"),
            ],
        ),
        (
            "/api/v1/query",
            vec![
                (
                    "query",
                    "max_over_time(rate(http_requests_total[1m])[5m:1m])",
                ),
                ("time", &t),
                ("stats", "all"),
            ],
        ),
        (
            "/api/v1/query",
            vec![("query", "1"), ("time", &t), ("stats", "true")],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "avg(temperature)"),
                ("start", &start),
                ("end", &end),
                ("step", "120"),
                ("stats", "all"),
            ],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "sum(increase(http_requests_total[3m]))"),
                ("start", &start),
                ("end", &end),
                ("step", "5m"),
                ("stats", "all"),
            ],
        ),
        (
            "/api/v1/query_range",
            vec![
                ("query", "temperature"),
                ("start", &start),
                ("end", &end),
                ("step", "5m"),
                ("stats", "1"),
            ],
        ),
    ];
    for (path, f) in &stats_requests {
        let (a, b) = (
            post_form(&format!("{}{path}", pair.ours), f),
            post_form(&format!("{}{path}", pair.theirs), f),
        );
        assert_eq!((a.0, b.0), (200, 200), "{path} {f:?}: {a:?} {b:?}");
        let (sa, sb) = (&a.1["data"]["stats"], &b.1["data"]["stats"]);
        if shape(&a.1) != shape(&b.1) {
            failures.push(format!(
                "{path} {f:?} shapes:\n  ember      {}\n  prometheus {}",
                shape(&a.1),
                shape(&b.1)
            ));
        }
        for key in ["totalQueryableSamples", "totalQueryableSamplesPerStep"] {
            if sa["samples"][key] != sb["samples"][key] {
                failures.push(format!(
                    "{path} {f:?} {key}: ember {} prometheus {}",
                    sa["samples"][key], sb["samples"][key]
                ));
            }
        }
        assert!(
            sb["samples"]["totalQueryableSamples"].as_u64().is_some(),
            "{sb}"
        );
        assert!(
            sa["timings"]["execTotalTime"].as_f64().unwrap()
                >= sa["timings"]["evalTotalTime"].as_f64().unwrap()
        );
        if !close(&a.1["data"]["result"], &b.1["data"]["result"]) {
            failures.push(format!(
                "{path} {f:?} results:\n  ember      {}\n  prometheus {}",
                a.1["data"]["result"], b.1["data"]["result"]
            ));
        }
    }
    // A bad time: Prometheus 3's wording (2.42 capitalises "Invalid").
    let (status, v) = post_form(
        &format!("{}/api/v1/query", pair.ours),
        &[("query", "up"), ("time", "yesterday")],
    );
    assert_eq!(
        (status, &v["error"]),
        (
            400,
            &json!(
                "invalid parameter \"time\": invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp"
            )
        )
    );
    // Without `stats` there is no stats object.
    let (_, plain) = post_form(
        &format!("{}/api/v1/query", pair.ours),
        &[("query", "temperature"), ("time", &t)],
    );
    assert!(plain["data"].get("stats").is_none(), "{plain}");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Per-step counts need `--enable-feature=promql-per-step-stats`, in Ember as in Prometheus.
#[test]
fn per_step_stats_need_the_feature_flag() {
    let pair = Pair::start("global: {scrape_interval: 1h}\n", false, &[]);
    let (start, end) = (pair.t(-600_000), pair.t(0));
    let f = [
        ("query", "temperature"),
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("step", "60"),
        ("stats", "all"),
    ];
    let (a, b) = (
        post_form(&format!("{}/api/v1/query_range", pair.ours), &f),
        post_form(&format!("{}/api/v1/query_range", pair.theirs), &f),
    );
    assert_eq!(shape(&a.1["data"]["stats"]), shape(&b.1["data"]["stats"]));
    assert!(
        a.1["data"]["stats"]["samples"]
            .get("totalQueryableSamplesPerStep")
            .is_none()
    );
    // 11 steps of 6 series.
    assert_eq!(
        a.1["data"]["stats"]["samples"]["totalQueryableSamples"],
        json!(66)
    );
    assert_eq!(
        a.1["data"]["stats"]["samples"]["totalQueryableSamples"],
        b.1["data"]["stats"]["samples"]["totalQueryableSamples"]
    );
}

#[test]
fn parse_errors_targets_limits_and_gzip() {
    let config = "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['NODE']}]\n  - job_name: dropped\n    static_configs: [{targets: ['127.0.0.1:1']}]\n    relabel_configs: [{source_labels: [__address__], regex: '.*:1', action: drop}]\n";
    let pair = Pair::start(config, true, &[]);
    let t = pair.t(7_000);

    // Parse errors: Prometheus's positions and words, for queries where 2.42 and 3.x agree.
    for q in [
        "sum(",
        "temperature{job=api}",
        "x + y{a=b}",
        "rate(temperature)",
        "histogram_quantile(x, 0.5)",
        "foo{",
        "x{a=\"b\"",
        "1 +",
        "rate(temperature[5m]) + ",
        "temperature[5m",
        "unknown_fn(x)",
        "x + unknown_fn(x)",
        ")",
        "x)",
        "{}",
        "x offset",
        "topk(x)",
        "\"a\" + 1",
        "1 and 2",
        "(1 and 2)",
        "label_replace(x, \"a\")",
        "'unterminated",
        "x{a=\"b\"} + 'open",
        "x[5m:1m:1m]",
        "x{a~\"b\"}",
        "-",
        "a\n+ (",
        "",
    ] {
        let path = format!("/api/v1/query?{}", form(&[("query", q), ("time", &t)]));
        let (ours, theirs) = (
            get(&format!("{}{path}", pair.ours)),
            get(&format!("{}{path}", pair.theirs)),
        );
        assert_eq!(theirs.0, 400, "{q:?}: {theirs:?}");
        assert_eq!(ours, theirs, "{q:?}");
        let f = [("query", q)];
        assert_eq!(
            post_form(&format!("{}/api/v1/format_query", pair.ours), &f),
            post_form(&format!("{}/api/v1/format_query", pair.theirs), &f),
            "format_query {q:?}"
        );
    }
    // The same positions in `match[]` selectors.
    let path = format!("/api/v1/series?{}", form(&[("match[]", "up{job=node}")]));
    assert_eq!(
        get(&format!("{}{path}", pair.ours)),
        get(&format!("{}{path}", pair.theirs))
    );

    // /api/v1/parse_query (Prometheus 3; 2.42 has no such endpoint): the documented example.
    let selector = |name: &str| json!({"matchers": [{"name": "__name__", "type": "=", "value": name}], "name": name, "offset": 0, "startOrEnd": null, "timestamp": null, "type": "vectorSelector"});
    let documented = json!({"status": "success", "data": {
        "bool": false, "lhs": selector("foo"),
        "matching": {"card": "one-to-one", "include": [], "labels": [], "on": false},
        "op": "/", "rhs": selector("bar"), "type": "binaryExpr"}});
    let (status, body) =
        http_get(&format!("{}/api/v1/parse_query?query=foo/bar", pair.ours)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), documented);
    assert!(
        body.contains(r#"{"bool":false,"lhs":{"matchers""#),
        "keys in Go's sorted order: {body}"
    );
    let (status, v) = post_form(
        &format!("{}/api/v1/parse_query", pair.ours),
        &[("query", "sum by (job) (rate(x[5m] @ start()))")],
    );
    assert_eq!(status, 200);
    assert_eq!(v["data"]["type"], "aggregation");
    assert_eq!(v["data"]["grouping"], json!(["job"]));
    assert_eq!(v["data"]["expr"]["func"]["argTypes"], json!(["matrix"]));
    assert_eq!(v["data"]["expr"]["args"][0]["startOrEnd"], "start");
    let (status, v) = post_form(
        &format!("{}/api/v1/parse_query", pair.ours),
        &[("query", "sum(")],
    );
    assert_eq!(
        (status, v),
        (
            400,
            json!({"status": "error", "errorType": "bad_data", "error": "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"})
        )
    );
    assert_eq!(
        http_get(&format!("{}/api/v1/parse_query?query=up", pair.theirs))
            .unwrap()
            .0,
        404,
        "2.42 has no parse_query"
    );

    // Target state filters.
    for (state, active, dropped) in [
        ("", 1, 1),
        ("active", 1, 0),
        ("dropped", 0, 1),
        ("any", 1, 1),
        ("Active", 1, 0),
        ("bogus", 0, 0),
    ] {
        let path = format!("/api/v1/targets?state={state}");
        let (ours, theirs) = (
            get(&format!("{}{path}", pair.ours)).1,
            get(&format!("{}{path}", pair.theirs)).1,
        );
        let count = |v: &Value, key: &str| v["data"][key].as_array().unwrap().len();
        assert_eq!(
            (
                count(&ours, "activeTargets"),
                count(&ours, "droppedTargets")
            ),
            (active, dropped),
            "{path}: {ours}"
        );
        assert_eq!(
            (
                count(&theirs, "activeTargets"),
                count(&theirs, "droppedTargets")
            ),
            (active, dropped),
            "{path}: {theirs}"
        );
        assert_eq!(shape(&ours), shape(&theirs), "{path}");
        assert_eq!(
            ours["data"]["droppedTargets"], theirs["data"]["droppedTargets"],
            "{path}"
        );
        if active == 1 {
            for key in [
                "discoveredLabels",
                "labels",
                "scrapePool",
                "scrapeUrl",
                "health",
                "scrapeInterval",
                "scrapeTimeout",
            ] {
                assert_eq!(
                    ours["data"]["activeTargets"][0][key], theirs["data"]["activeTargets"][0][key],
                    "{path} {key}"
                );
            }
        }
    }

    // `limit` (Prometheus 3; 2.42 ignores it): cut, with a warning only when something was cut.
    let truncated = json!(["results truncated due to limit"]);
    let (_, all_jobs) = get(&format!("{}/api/v1/label/job/values", pair.ours));
    assert_eq!(all_jobs["data"], json!(["api", "db", "node"]));
    for (path, want_len, warned) in [
        ("/api/v1/label/job/values?limit=1", 1, true),
        ("/api/v1/label/job/values?limit=3", 3, false),
        ("/api/v1/label/job/values?limit=0", 3, false),
        (
            "/api/v1/label/instance/values?limit=2&match[]=temperature",
            2,
            true,
        ),
        ("/api/v1/series?match[]=temperature&limit=4", 4, true),
        ("/api/v1/series?match[]=temperature&limit=6", 6, false),
        ("/api/v1/labels?match[]=temperature&limit=2", 2, true),
        ("/api/v1/labels?match[]=temperature&limit=10", 3, false),
    ] {
        let (status, v) = get(&format!("{}{path}", pair.ours));
        assert_eq!(status, 200, "{path}: {v}");
        assert_eq!(v["data"].as_array().unwrap().len(), want_len, "{path}: {v}");
        assert_eq!(
            v.get("warnings"),
            warned.then_some(&truncated),
            "{path}: {v}"
        );
    }
    let (_, first) = get(&format!(
        "{}/api/v1/series?match[]=temperature&limit=2",
        pair.ours
    ));
    let (_, all) = get(&format!(
        "{}/api/v1/series?match[]=temperature",
        pair.theirs
    ));
    assert_eq!(
        first["data"].as_array().unwrap()[..],
        all["data"].as_array().unwrap()[..2],
        "the first series in order"
    );
    let (status, v) = get(&format!(
        "{}/api/v1/series?match[]=temperature&limit=-1",
        pair.ours
    ));
    assert_eq!(
        (status, &v["error"]),
        (
            400,
            &json!("invalid parameter \"limit\": limit must be non-negative")
        )
    );

    // gzip when asked for, the same JSON once decompressed.
    for path in [
        format!(
            "/api/v1/query?{}",
            form(&[("query", "temperature"), ("time", &t)])
        ),
        format!(
            "/api/v1/query_range?{}",
            form(&[
                ("query", "temperature"),
                ("start", &pair.t(-600_000)),
                ("end", &t),
                ("step", "15")
            ])
        ),
        "/api/v1/series?match[]=http_requests_total".to_string(),
        "/api/v1/labels".to_string(),
        "/api/v1/label/instance/values".to_string(),
        "/api/v1/targets".to_string(),
        "/api/v1/metadata".to_string(),
    ] {
        for base in [&pair.ours, &pair.theirs] {
            let (status, headers, body) = raw_get(&format!("{base}{path}"), true);
            assert_eq!(status, 200, "{base}{path}");
            assert!(
                headers.contains("content-encoding: gzip"),
                "{base}{path}: {headers}"
            );
            let mut text = String::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_string(&mut text)
                .expect("gzip body");
            let (_, plain_headers, plain) = raw_get(&format!("{base}{path}"), false);
            assert!(
                !plain_headers.contains("content-encoding"),
                "{base}{path}: {plain_headers}"
            );
            if !path.contains("targets")
                && !path.contains("metadata")
                && !path.starts_with("/api/v1/labels")
            {
                assert_eq!(text.as_bytes(), &plain[..], "{base}{path}");
            }
            serde_json::from_str::<Value>(&text).expect("JSON");
        }
    }
}

/// A GET returning status, lower-cased headers and the raw body (de-chunked, not decoded).
fn raw_get(url: &str, gzip: bool) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{accept}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = out;
    }
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, body)
}
