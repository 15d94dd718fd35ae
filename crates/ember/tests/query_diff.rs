//! Differential test of the PromQL engine: Ember and a real Prometheus 2.42 scrape the same
//! deterministic exporter for two and a half minutes, then over a thousand queries (every
//! function and operator, aggregations with their parameters, vector matching, offsets,
//! `@`, subqueries) run against both HTTP APIs, each as two instant queries and two range
//! queries, and must agree result by result: same status, result type and label sets,
//! values within a relative tolerance of 1e-6 (NaN equals NaN), and the order of `sort`
//! and `sort_desc`. Everything runs twice: with the default lookback delta, then with both
//! servers restarted on the same data with a 20 s lookback, shorter than the gaps of
//! `demo_sparse`.
//!
//! How the two histories are made identical: the exporter stamps every sample with an
//! explicit timestamp on a coarse grid (every [`GRID_MS`], at phase [`PHASE_MS`] within a
//! second) and serves nothing before a start time chosen once both servers are scraping.
//! Both scrape every second, so each sees every grid point several times; re-scraping the
//! same `(timestamp, value)` is a no-op in both. `demo_pushed`, which needs staleness
//! markers the exposition format cannot carry, is remote-written to both. The test checks
//! that the raw samples are identical before it compares anything else.
//!
//! How 2.42's left-closed windows are kept out of the way (Ember follows Prometheus 3,
//! whose range and lookback windows are left-open): samples sit at `….234` seconds,
//! queries are evaluated at `….5` seconds with whole-second steps, ranges and offsets,
//! subquery steps are whole seconds too, and the inner range of a nested subquery is off
//! whole seconds, so no window edge ever falls on a sample or a subquery step.
//!
//! Queries whose answers legitimately differ are listed in [`KNOWN_DIFFERENCES`] with the
//! reason (a change between 2.42 and Prometheus 3, or a deliberate difference of Ember);
//! the test asserts that they still differ in the expected way, and
//! docs/compatibility.md lists them. Every other difference fails the test; the full list
//! goes to `query_diff.txt` in the target's tmp directory.

use ember_model::STALE_NAN;
use ember_testkit::{Peer, Prometheus, eventually, free_port, http_get, remote_write};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Distance between two samples of a series.
const GRID_MS: i64 = 5_000;
/// Samples sit at `k * GRID_MS + PHASE_MS`: off whole seconds, so never on a window edge.
const PHASE_MS: i64 = 1_234;
/// Grid points after the first one: 30 points = 150 s of data.
const POINTS: i64 = 30;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ---------------------------------------------------------------------------------------
// The exporter.

/// A `/metrics` endpoint on 127.0.0.1 serving [`exposition`] for the newest grid point
/// inside `[start, start + POINTS * GRID_MS]`, and an empty body before `start`.
struct Exporter {
    /// The port on 127.0.0.1.
    port: u16,
    start: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
}

impl Exporter {
    /// Starts serving on a free port.
    fn start() -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the exporter");
        let port = listener.local_addr().unwrap().port();
        let start = Arc::new(AtomicI64::new(i64::MAX));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (start.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, s.load(Ordering::SeqCst)));
            }
        });
        Exporter { port, start, stop }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so the thread ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut conn: TcpStream, start: i64) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let newest = (now_ms() - PHASE_MS).div_euclid(GRID_MS) * GRID_MS + PHASE_MS;
    let body = if newest < start {
        String::new()
    } else {
        let ts = newest.min(start + POINTS * GRID_MS);
        exposition((ts - start) / GRID_MS, ts)
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
}

/// The whole exposition at grid point `k` (timestamp `ts`): every value is a function of
/// the series and `k` only.
fn exposition(k: i64, ts: i64) -> String {
    let kf = k as f64;
    let mut out = String::new();
    let mut line = |name: &str, labels: &[(&str, &str)], v: f64| {
        let labels: Vec<String> = labels.iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
        let v = if v.is_nan() {
            "NaN".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
        } else {
            format!("{v:?}")
        };
        out.push_str(&format!("{name}{{{}}} {v} {ts}\n", labels.join(",")));
    };
    let jobs = ["api", "db"];
    let instances = ["h0", "h1", "h2"];

    // Counters whose rates differ by every label. Counters start at zero: 2.42 and 3
    // extrapolate a counter born inside a window differently unless it starts at zero
    // (see KNOWN_DIFFERENCES).
    for (j, job) in jobs.iter().enumerate() {
        for (i, inst) in instances.iter().enumerate() {
            for code in ["200", "500"] {
                let rate = (i + 1) as f64
                    * if code == "200" { 10.0 } else { 1.3 }
                    * if j == 1 { 2.5 } else { 1.0 };
                line(
                    "demo_requests_total",
                    &[("code", code), ("instance", inst), ("job", job)],
                    rate * kf * 5.0,
                );
            }
        }
    }
    // Counters that reset every 8 and every 6 points.
    for (i, inst) in instances[..2].iter().enumerate() {
        let v = (k % (8 - 2 * i as i64)) as f64 * (2 + i) as f64;
        line("demo_resets_total", &[("instance", inst)], v);
    }
    // Gauges: sinusoidal, crossing zero, with NaN and infinities, sparse, huge, tiny.
    for (j, job) in jobs.iter().enumerate() {
        for (i, inst) in instances.iter().enumerate() {
            let v = 20.0 + 10.0 * (0.3 * kf + i as f64).sin() + 5.0 * j as f64;
            line(
                "demo_temperature_celsius",
                &[("instance", inst), ("job", job)],
                v,
            );
        }
    }
    for (i, inst) in instances.iter().enumerate() {
        line(
            "demo_balance",
            &[("instance", inst)],
            (kf - 12.0) * 1.5 * (i + 1) as f64,
        );
    }
    let ratio0 = if k % 3 == 0 {
        f64::NAN
    } else {
        (k % 5) as f64 / 4.0 - 0.5
    };
    line("demo_ratio", &[("instance", "h0")], ratio0);
    let ratio1 = match k % 7 {
        2 => f64::INFINITY,
        5 => f64::NEG_INFINITY,
        r => r as f64 * 0.75 + 0.1,
    };
    line("demo_ratio", &[("instance", "h1")], ratio1);
    line("demo_ratio", &[("instance", "h2")], 0.25 * kf);
    if k % 10 < 6 {
        line("demo_sparse", &[("instance", "h0")], kf * 2.0);
    }
    if (8..=18).contains(&k) {
        line("demo_sparse", &[("instance", "h1")], 100.0 - kf);
    }
    line("demo_big", &[], 1e15 + kf * 0.125);
    line("demo_tiny", &[], kf * 1e-9);
    line("demo_const", &[], 42.0);
    // CPU seconds by mode, and an info metric to join them with.
    for (i, inst) in instances.iter().enumerate() {
        for (mode, w) in [
            ("idle", 0.7 - 0.01 * i as f64),
            ("user", 0.2 + 0.05 * i as f64),
            ("system", 0.1 + 0.003 * i as f64),
        ] {
            line(
                "demo_cpu_seconds_total",
                &[("instance", inst), ("mode", mode)],
                kf * 5.0 * w,
            );
        }
        line(
            "demo_info",
            &[
                ("instance", inst),
                ("region", if i == 1 { "us" } else { "eu" }),
                ("version", &format!("1.{i}")),
            ],
            1.0,
        );
    }
    // A classic histogram per job; `le` in canonical float form (Prometheus 3 and Ember
    // normalise it, 2.42 keeps it as scraped).
    let bounds = ["0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf"];
    for (job, per_bucket, sum) in [
        ("api", [3.0, 5.0, 8.0, 6.0, 4.0, 2.0, 1.0, 1.0], 12.3),
        ("db", [0.0, 1.0, 2.0, 5.0, 9.0, 7.0, 3.0, 2.0], 25.7),
    ] {
        let mut cumulative = 0.0;
        for (le, n) in bounds.iter().zip(per_bucket) {
            cumulative += n;
            line(
                "demo_latency_seconds_bucket",
                &[("job", job), ("le", le)],
                cumulative * kf,
            );
        }
        line("demo_latency_seconds_sum", &[("job", job)], sum * kf);
        line(
            "demo_latency_seconds_count",
            &[("job", job)],
            cumulative * kf,
        );
    }
    let mut text = String::from(
        "# TYPE demo_requests_total counter\n# TYPE demo_temperature_celsius gauge\n# TYPE demo_latency_seconds histogram\n",
    );
    text.push_str(&out);
    text
}

// ---------------------------------------------------------------------------------------
// The queries.

/// How a query whose answer legitimately differs from 2.42's is checked.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Check {
    /// 2.42 keeps `__name__` where Prometheus 3 drops it: the answers must differ, and agree
    /// once the name is removed from 2.42's.
    NameKeptBy242,
    /// 2.42 has no such function: it must refuse the query and Ember must answer it.
    UnknownTo242,
    /// Prometheus 3 removed the function: 2.42 must answer and Ember must refuse.
    RemovedIn3,
    /// Values differ: only that they still do is asserted.
    Differs,
}

/// A query whose answer differs between 2.42 and Prometheus 3 (which Ember follows).
struct Known {
    query: &'static str,
    check: Check,
    reason: &'static str,
}

/// The 2.42-vs-3 differences the queries meet, and Ember's deliberate differences;
/// docs/compatibility.md lists them too.
const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        query: "predict_linear(demo_requests_total[1m] @ end(), 3600)",
        check: Check::Differs,
        reason: "in range queries 2.42 moves a range pinned with @ along the steps inside \
                 predict_linear (prometheus#11708, fixed in 2.50)",
    },
    Known {
        query: r#"label_replace(rate(demo_requests_total[1m]), "n", "$1", "__name__", "(.+)")"#,
        check: Check::Differs,
        reason: "Ember removes __name__ at the end of evaluation, as Prometheus 3 does with \
                 promql-delayed-name-removal (the semantics of 3's test corpus)",
    },
    Known {
        query: r#"count by (__name__) (rate({__name__=~"demo_requests_total|demo_cpu_seconds_total"}[1m]))"#,
        check: Check::Differs,
        reason: "Ember removes __name__ at the end of evaluation, as Prometheus 3 does with \
                 promql-delayed-name-removal: grouping by the name then collides",
    },
    Known {
        query: "demo_cpu_seconds_total * on(instance) group_left(__name__) demo_info",
        check: Check::Differs,
        reason: "Ember removes __name__ at the end of evaluation, as Prometheus 3 does with \
                 promql-delayed-name-removal: a name copied by group_left goes too",
    },
    Known {
        query: "year(vector(NaN))",
        check: Check::Differs,
        reason: "not version-related: Prometheus converts NaN to a Go int64 (undefined; \
                 year 292277026596 on amd64), Ember answers NaN",
    },
    Known {
        query: "hour(vector(Inf))",
        check: Check::Differs,
        reason: "not version-related: Prometheus converts ±Inf to a Go int64 (undefined), \
                 Ember answers NaN",
    },
    Known {
        query: "demo_balance atan2 3",
        check: Check::NameKeptBy242,
        reason: "atan2 drops the metric name since 2.46 (prometheus#12595)",
    },
    Known {
        query: "2 atan2 demo_temperature_celsius",
        check: Check::NameKeptBy242,
        reason: "atan2 drops the metric name since 2.46 (prometheus#12595)",
    },
    Known {
        query: r#"demo_requests_total{code="500"} atan2 ignoring(code) demo_requests_total{code="200"}"#,
        check: Check::NameKeptBy242,
        reason: "atan2 drops the metric name since 2.46 (prometheus#12595)",
    },
    Known {
        query: "demo_cpu_seconds_total atan2 on(instance) group_left(version, region) demo_info",
        check: Check::NameKeptBy242,
        reason: "atan2 drops the metric name since 2.46 (prometheus#12595)",
    },
    Known {
        query: "mad_over_time(demo_balance[1m])",
        check: Check::UnknownTo242,
        reason: "added after 2.42; experimental in 3 (--enable-feature=promql-experimental-functions), always on in Ember",
    },
    Known {
        query: r#"sort_by_label(demo_temperature_celsius, "instance")"#,
        check: Check::UnknownTo242,
        reason: "added after 2.42; experimental in 3 (--enable-feature=promql-experimental-functions), always on in Ember",
    },
    Known {
        query: "first_over_time(demo_balance[1m])",
        check: Check::UnknownTo242,
        reason: "added in 3.7, experimental until 3.14; always on in Ember",
    },
    Known {
        query: "holt_winters(demo_temperature_celsius[1m], 0.5, 0.5)",
        check: Check::RemovedIn3,
        reason: "renamed double_exponential_smoothing in 3.0",
    },
    Known {
        query: "double_exponential_smoothing(demo_temperature_celsius[1m], 0.5, 0.5)",
        check: Check::UnknownTo242,
        reason: "2.42's holt_winters, renamed in 3.0 and experimental since; always on in Ember",
    },
    Known {
        query: "rate(demo_sparse[1m])",
        check: Check::Differs,
        reason: "extrapolation towards the zero point of a counter born inside the window \
                 is limited only after the half-interval rule since 2.51 (prometheus#13725)",
    },
    Known {
        query: "rate(demo_temperature_celsius[2m])",
        check: Check::Differs,
        reason: "extrapolation towards the zero point of a counter born inside the window \
                 is limited only after the half-interval rule since 2.51 (prometheus#13725)",
    },
    Known {
        query: "increase(demo_temperature_celsius[2m])",
        check: Check::Differs,
        reason: "extrapolation towards the zero point of a counter born inside the window \
                 is limited only after the half-interval rule since 2.51 (prometheus#13725)",
    },
    Known {
        query: "increase(demo_sparse[1m])",
        check: Check::Differs,
        reason: "extrapolation towards the zero point of a counter born inside the window \
                 is limited only after the half-interval rule since 2.51 (prometheus#13725)",
    },
];

/// Every query, built from lists of selectors, functions and operators. `at` is an
/// absolute evaluation time for `@`.
fn queries(at: &str) -> Vec<String> {
    let mut q: Vec<String> = KNOWN_DIFFERENCES
        .iter()
        .map(|k| k.query.to_string())
        .collect();
    let mut add = |s: String| {
        if !q.contains(&s) {
            q.push(s);
        }
    };

    // Selectors, plain and with modifiers.
    let selectors = [
        "demo_requests_total",
        r#"demo_requests_total{code="500"}"#,
        r#"demo_requests_total{job=~"a.*",code!="200"}"#,
        r#"demo_requests_total{instance=~"h[01]",job!~"db"}"#,
        "demo_temperature_celsius",
        "demo_balance",
        "demo_resets_total",
        "demo_sparse",
        "demo_ratio",
        "demo_cpu_seconds_total",
        "demo_info",
        "demo_const",
        "demo_big",
        "demo_tiny",
        "demo_latency_seconds_bucket",
        r#"{__name__=~"demo_latency_seconds_(sum|count)"}"#,
        "demo_no_such_metric",
    ];
    for s in selectors {
        add(s.to_string());
    }
    for s in ["demo_balance", "demo_sparse", "demo_requests_total"] {
        for m in [
            " offset 1m",
            " offset -20s",
            " @ start()",
            " @ end()",
            &format!(" @ {at}"),
            &format!(" @ {at} offset 40s"),
        ] {
            add(format!("{s}{m}"));
        }
    }
    for m in [
        "demo_requests_total[1m]",
        "demo_sparse[50s]",
        "demo_ratio[30s] offset 20s",
        &format!("demo_balance[40s] @ {at}"),
    ] {
        add(m.to_string());
    }

    // Range-vector functions over matrix selectors.
    let matrices = [
        "demo_requests_total[1m]",
        "demo_resets_total[90s]",
        "demo_temperature_celsius[2m]",
        "demo_sparse[1m]",
        "demo_ratio[1m]",
        "demo_balance[45s]",
        "demo_big[1m]",
        "demo_const[20s]",
    ];
    let range_functions = [
        "rate",
        "increase",
        "delta",
        "irate",
        "idelta",
        "resets",
        "changes",
        "deriv",
        "avg_over_time",
        "sum_over_time",
        "count_over_time",
        "min_over_time",
        "max_over_time",
        "last_over_time",
        "present_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "absent_over_time",
    ];
    for f in range_functions {
        for m in matrices {
            add(format!("{f}({m})"));
        }
    }
    for m in matrices {
        add(format!("quantile_over_time(0.3, {m})"));
        add(format!("quantile_over_time(0.9, {m})"));
        add(format!("predict_linear({m}, 60)"));
        add(format!("predict_linear({m}, -30)"));
    }
    add("quantile_over_time(-1, demo_balance[1m])".into());
    add("quantile_over_time(1.5, demo_balance[1m])".into());
    add("absent_over_time(demo_no_such_metric[1m])".into());
    add(r#"absent_over_time(demo_no_such_metric{job="x",instance=~"y"}[1m])"#.into());
    for f in [
        "rate",
        "increase",
        "deriv",
        "max_over_time",
        "count_over_time",
        "avg_over_time",
    ] {
        for sel in ["demo_requests_total[1m]", "demo_cpu_seconds_total[40s]"] {
            for m in [
                " offset 30s",
                " offset -15s",
                " @ start()",
                " @ end()",
                &format!(" @ {at}"),
                &format!(" @ {at} offset 1m"),
            ] {
                add(format!("{f}({sel}{m})"));
            }
        }
    }

    // Subqueries.
    for s in [
        "max_over_time(rate(demo_requests_total[30s])[1m:7s])",
        "avg_over_time(demo_temperature_celsius[2m:11s])",
        "rate(demo_requests_total[1m:3s])",
        "irate(demo_requests_total[1m:3s])",
        "deriv(demo_balance[1m:])",
        "sum_over_time(demo_balance[2m:])",
        "min_over_time(sum by (job) (demo_temperature_celsius)[90s:13s])",
        "sum_over_time(demo_sparse[2m:4s])",
        "count_over_time(demo_sparse[1m:2s] offset 20s)",
        "last_over_time(demo_requests_total[1m:7s])",
        "quantile_over_time(0.5, demo_balance[1m:6s])",
        "absent_over_time(demo_no_such_metric[1m:5s])",
        "changes(demo_resets_total[2m:3s])",
        "resets(demo_resets_total[2m:3s])",
        "increase(demo_cpu_seconds_total[1m:4s])",
        "stddev_over_time(demo_temperature_celsius[2m:5s] offset 10s)",
        // The inner range is off whole seconds: an outer step never puts an inner window
        // edge on an inner step (2.42's windows are closed at the left, 3's open).
        "max_over_time(deriv(demo_balance[30s500ms:3s])[1m:7s])",
        "avg_over_time(rate(demo_requests_total[1m])[2m:9s] @ end())",
        "sum_over_time(vector(1)[1m:8s])",
        "count_over_time((demo_temperature_celsius > 22)[2m:6s])",
        "demo_temperature_celsius[1m:7s]",
        "rate(demo_requests_total[30s])[1m:10s]",
        "max_over_time(demo_ratio[1m:3s])",
        "min_over_time(demo_ratio[1m:3s])",
    ] {
        add(s.to_string());
    }
    add(format!("max_over_time(demo_ratio[1m:3s] @ {at})"));
    add(format!(
        "avg_over_time(demo_requests_total[1m:6s] @ {at} offset 20s)"
    ));
    add("sum_over_time(demo_balance[1m:4s] @ start())".into());

    // Instant functions.
    let math = [
        "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "acos", "asin",
        "atan", "cos", "sin", "tan", "cosh", "sinh", "tanh", "asinh", "acosh", "atanh", "deg",
        "rad", "-",
    ];
    for f in math {
        for v in [
            "demo_temperature_celsius",
            "demo_balance",
            "demo_ratio",
            "demo_tiny",
        ] {
            add(format!("{f}({v})"));
        }
    }
    for v in ["demo_balance", "demo_temperature_celsius", "demo_ratio"] {
        for f in [
            format!("round({v})"),
            format!("round({v}, 0.3)"),
            format!("round({v}, 5)"),
            format!("clamp({v}, -5, 25)"),
            format!("clamp({v}, 5, -5)"),
            format!("clamp_min({v}, 0)"),
            format!("clamp_max({v}, 21)"),
            format!("timestamp({v})"),
            format!("scalar({v})"),
            format!("sort({v})"),
            format!("sort_desc({v})"),
            format!("absent({v})"),
        ] {
            add(f);
        }
    }
    for f in [
        "year",
        "month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
    ] {
        add(format!("{f}()"));
        add(format!("{f}(timestamp(demo_const))"));
        add(format!("{f}(demo_balance * 86400 * 40)"));
    }
    for s in [
        "timestamp(rate(demo_requests_total[1m]))",
        "timestamp(demo_sparse offset 30s)",
        "time()",
        "time() - timestamp(demo_sparse)",
        "vector(1)",
        "vector(time())",
        "scalar(demo_const)",
        "scalar(demo_no_such_metric)",
        "absent(demo_no_such_metric)",
        r#"absent(demo_no_such_metric{job="x",instance=~"y",region="eu"})"#,
        "absent(demo_const)",
        "absent(sum(demo_no_such_metric))",
        "sort(rate(demo_requests_total[1m]))",
        "sort_desc(demo_requests_total)",
        "sort(demo_sparse)",
        "pi()",
        "1 + 2 * 3",
        "2 ^ 3 ^ 2",
        "-(2 - 5) % 3",
        r#""hello""#,
        "scalar(demo_const) * demo_balance",
        "vector(scalar(demo_balance))",
    ] {
        add(s.to_string());
    }

    // Label functions.
    for s in [
        r#"label_replace(demo_requests_total, "host", "$1", "instance", "h(.*)")"#,
        r#"label_replace(demo_requests_total, "job", "x", "", "")"#,
        r#"label_replace(demo_temperature_celsius, "instance", "$0-$0", "instance", ".*")"#,
        r#"label_replace(demo_temperature_celsius, "nope", "$1", "instance", "z(.*)")"#,
        r#"label_replace(demo_balance, "__name__", "renamed", "", "")"#,
        r#"label_replace(demo_balance, "tag", "${1}x", "instance", "(h)1")"#,
        r#"label_join(demo_requests_total, "id", "/", "job", "instance", "code")"#,
        r#"label_join(demo_info, "where", "-", "region", "nope")"#,
        r#"label_join(demo_info, "instance", "", "version")"#,
        r#"sum by (host) (label_replace(demo_requests_total, "host", "$1", "instance", "(h[01])"))"#,
    ] {
        add(s.to_string());
    }

    // Aggregations.
    let groupings = ["", " by (job)", " without (instance)", " by (job, code)"];
    let agg_inputs = [
        "demo_requests_total",
        "rate(demo_requests_total[1m])",
        "demo_temperature_celsius",
        "demo_ratio",
        "demo_cpu_seconds_total",
    ];
    for op in [
        "sum", "avg", "min", "max", "count", "stddev", "stdvar", "group",
    ] {
        for g in groupings {
            for v in agg_inputs {
                add(format!("{op}{g} ({v})"));
            }
        }
    }
    for g in groupings {
        for v in agg_inputs {
            add(format!("topk{g} (2, {v})"));
            add(format!("bottomk{g} (1, {v})"));
            add(format!("quantile{g} (0.75, {v})"));
            add(format!(r#"count_values{g} ("value", {v})"#));
        }
    }
    for s in [
        "quantile(0, demo_temperature_celsius)",
        "quantile(1.5, demo_temperature_celsius)",
        "quantile(-0.5, demo_temperature_celsius)",
        "topk(0, demo_balance)",
        "topk(100, demo_balance)",
        "topk(scalar(demo_const) - 40, demo_temperature_celsius)",
        "bottomk(1.9, demo_balance)",
        "topk by (instance) (1, demo_ratio)",
        r#"count_values("v", round(demo_temperature_celsius))"#,
        r#"count_values("le", demo_latency_seconds_bucket)"#,
        "sum(sum by (job) (demo_requests_total))",
        "max(topk(3, demo_temperature_celsius))",
        "count(count by (job) (demo_requests_total))",
        "avg by (mode) (rate(demo_cpu_seconds_total[1m]))",
        "sum by (__name__) (demo_latency_seconds_bucket)",
        "sum without (le) (demo_latency_seconds_bucket)",
        "max by (instance) (demo_big)",
        "stddev(demo_big)",
        "avg(demo_tiny)",
        "count(demo_no_such_metric)",
        "sum(demo_no_such_metric)",
        "count by (job) (demo_requests_total) > bool 5",
    ] {
        add(s.to_string());
    }

    // Binary operators.
    // (`atan2` with a vector operand is among the known differences.)
    let arithmetic = ["+", "-", "*", "/", "%", "^"];
    let comparison = ["==", "!=", ">", "<", ">=", "<="];
    let mut ops: Vec<String> = arithmetic.iter().map(|s| s.to_string()).collect();
    ops.extend(comparison.iter().map(|s| s.to_string()));
    ops.extend(comparison.iter().map(|s| format!("{s} bool")));
    let pairs = [
        ("demo_requests_total", "", "demo_requests_total"),
        (
            r#"demo_requests_total{code="500"}"#,
            " ignoring(code)",
            r#"demo_requests_total{code="200"}"#,
        ),
        (
            "demo_temperature_celsius",
            " on(instance) group_left",
            "demo_balance",
        ),
        (
            "demo_cpu_seconds_total",
            " on(instance) group_left(version, region)",
            "demo_info",
        ),
        (
            "demo_info",
            " on(instance) group_right(version)",
            "demo_cpu_seconds_total",
        ),
        ("demo_balance", "", "3"),
        ("2", "", "demo_temperature_celsius"),
        ("demo_ratio", "", "0"),
        ("4", "", "3"),
    ];
    add("4 atan2 3".into());
    for (l, m, r) in pairs {
        for op in &ops {
            // Comparisons between two scalars need `bool`.
            if l == "4" && comparison.contains(&op.as_str()) {
                continue;
            }
            add(format!("{l} {op}{m} {r}"));
        }
    }
    for s in [
        r#"demo_requests_total and demo_requests_total{code="200"}"#,
        r#"demo_requests_total{code="500"} and on(instance) demo_temperature_celsius{job="api"}"#,
        "demo_sparse or demo_balance",
        "demo_sparse unless demo_balance",
        "demo_balance unless on(instance) demo_sparse",
        "demo_balance and on(instance) demo_sparse",
        "demo_temperature_celsius > 20 or demo_balance",
        r#"demo_requests_total unless ignoring(code) demo_requests_total{code="500"}"#,
        "(demo_temperature_celsius > 25) and on(instance) (demo_balance > 0)",
        "rate(demo_requests_total[1m]) or vector(0)",
        "sum(rate(demo_requests_total[1m])) or vector(0)",
        "demo_no_such_metric or demo_const",
        "demo_const and demo_no_such_metric",
        "demo_requests_total + on(job) demo_requests_total",
        "demo_cpu_seconds_total / on(instance) demo_info",
        "demo_cpu_seconds_total * on(instance) group_left demo_temperature_celsius",
        "sum by (job) (rate(demo_requests_total[1m])) / on(job) group_left sum by (job) (rate(demo_requests_total[1m]))",
        r#"sum by (job, code) (rate(demo_requests_total[1m])) / ignoring(code) group_left sum by (job) (rate(demo_requests_total[1m]))"#,
        "demo_balance * on() group_left() demo_const",
        "demo_balance > bool on(instance) demo_balance offset 30s",
        "increase(demo_requests_total[1m]) == bool 0",
        "demo_temperature_celsius > on(job, instance) demo_temperature_celsius offset 20s",
        "demo_balance - demo_balance offset 1m",
        "demo_big - 1e15",
        "demo_ratio != demo_ratio",
        "demo_ratio == bool demo_ratio",
        "-demo_balance ^ 2",
        "demo_balance % -4",
        "demo_balance ^ 0.5",
        "1 / demo_balance",
        "0 / (demo_balance - demo_balance)",
    ] {
        add(s.to_string());
    }

    // Edge cases: literals, special values, collisions, matching corners.
    for s in [
        "Inf",
        "-Inf",
        "NaN",
        "NaN == bool NaN",
        "1e308 * 10",
        "0x10 + 1",
        ".5 + 1",
        "5 % 0",
        "-5 % 3",
        "5.5 % -2",
        "2 ^ -1",
        "(-8) ^ (1/3)",
        "0 ^ 0",
        "Inf - Inf",
        "-1 / 0",
        "0 / 0",
        "demo_balance / 0",
        "demo_balance % 0",
        "demo_balance ^ demo_balance",
        "demo_balance > 0 < 10",
        "demo_ratio > -Inf",
        "demo_ratio == Inf",
        "demo_ratio != NaN",
        "demo_ratio == bool NaN",
        "demo_balance > bool demo_temperature_celsius",
        "demo_temperature_celsius > ignoring(job) group_left demo_balance",
        "demo_temperature_celsius + on(instance) group_left(job) demo_balance",
        "demo_info * on(instance) group_right(version) demo_cpu_seconds_total",
        "demo_info * on(instance) group_right demo_cpu_seconds_total",
        "demo_cpu_seconds_total / on(instance, mode) group_left sum by (instance, mode) (demo_cpu_seconds_total)",
        "demo_cpu_seconds_total / ignoring(mode) group_left sum without (mode) (demo_cpu_seconds_total)",
        "sum without (mode) (demo_cpu_seconds_total) / ignoring(mode) demo_cpu_seconds_total",
        "sum without (mode) (demo_cpu_seconds_total) / ignoring(mode) group_right demo_cpu_seconds_total",
        "demo_requests_total and on() demo_const",
        r#"demo_requests_total unless on(job) demo_requests_total{job="api"}"#,
        r#"demo_requests_total{job="api"} or on(instance) demo_requests_total{job="db"}"#,
        "(demo_balance or demo_sparse) or demo_const",
        "demo_sparse and ignoring(instance) demo_balance",
        "vector(1) and on() demo_no_such_metric",
        r#"demo_sparse or label_replace(demo_balance, "x", "y", "", "")"#,
        "demo_balance + scalar(demo_sparse)",
        "demo_balance unless demo_balance > 0",
        "demo_temperature_celsius == bool on(instance, job) group_left demo_temperature_celsius",
        "round(demo_ratio * 10)",
        "round(demo_balance, -4)",
        "round(-2.5 + demo_const * 0)",
        r#"absent_over_time(demo_sparse{instance="h1"}[20s])"#,
        "present_over_time(demo_sparse[15s])",
        "absent_over_time(demo_sparse[15s])",
        "timestamp(demo_balance @ start())",
        "timestamp(timestamp(demo_balance))",
        "vector(time()) - on() timestamp(demo_const)",
        r#"label_replace(demo_requests_total, "code", "$1xx", "code", "(.).*")"#,
        r#"label_replace(demo_requests_total, "code", "Nxx", "code", ".*")"#,
        r#"label_replace(demo_info, "", "x", "instance", ".*")"#,
        r#"label_replace(demo_info, "a", "x", "instance", "(")"#,
        r#"label_join(demo_requests_total, "__name__", "_", "job", "code")"#,
        r#"label_replace(rate(demo_requests_total[1m]), "n", "$1", "__name__", "(.+)")"#,
        r#"sort_desc(count_values("v", demo_info))"#,
        "scalar(vector(3)) + scalar(demo_const)",
        "histogram_quantile(0.5, sum without (instance) (rate(demo_latency_seconds_bucket[1m])))",
        r#"histogram_quantile(0.5, rate(demo_latency_seconds_bucket{job="db"}[30s] offset 1m))"#,
        "histogram_quantile(0.9, demo_temperature_celsius)",
        "quantile_over_time(NaN, demo_balance[1m])",
        "predict_linear(demo_requests_total[1m] @ end(), 3600)",
        r#"count_over_time({__name__=~"demo_(balance|sparse)"}[1m])"#,
        r#"last_over_time({__name__=~"demo_(balance|sparse)"}[1m])"#,
        r#"rate({__name__=~"demo_latency_seconds_(sum|count)"}[1m])"#,
        r#"{__name__=~"demo_latency_seconds_(sum|count)"} * 2"#,
        r#"-{__name__=~"demo_latency_seconds_(sum|count)"}"#,
        r#"abs({__name__=~"demo_latency_seconds_(sum|count)"})"#,
        r#"sum by (__name__) ({__name__=~"demo_latency_seconds_(sum|count)"} * 2)"#,
        r#"count by (__name__) (rate({__name__=~"demo_requests_total|demo_cpu_seconds_total"}[1m]))"#,
        r#"{__name__=~"demo_latency_seconds_(sum|count)"} > 0"#,
        r#"{__name__=~"demo_latency_seconds_(sum|count)"} > bool 0"#,
        "topk(1, demo_ratio)",
        "bottomk(2, demo_ratio)",
        "topk(NaN, demo_balance)",
        r#"topk(scalar(demo_sparse{instance="h0"}) / 10, demo_temperature_celsius)"#,
        r#"quantile(scalar(demo_ratio{instance="h2"}) / 8, demo_temperature_celsius)"#,
        "group by (region) (demo_info)",
        r#"count_values without (instance) ("version", demo_info)"#,
        r#"count_values("instance", demo_balance)"#,
        r#"count_values by (instance) ("instance", demo_balance)"#,
        "avg(demo_big)",
        "sum(demo_big) - 3e15",
        "stdvar(demo_big)",
        "rate(demo_requests_total[1m:5s] offset 30s)",
        "max_over_time(demo_balance[10s:30s])",
        "min_over_time(demo_balance[1m:1m])",
        "sum_over_time(demo_balance[3m:])",
        "count_over_time(demo_balance[90s:] @ start())",
        "avg_over_time((demo_balance @ start())[1m:10s])",
        "max_over_time((demo_balance offset 20s)[1m:10s] offset 10s)",
        "sum_over_time(sum_over_time(demo_balance[20s])[1m:7s])",
        "max_over_time(max_over_time(demo_temperature_celsius[30s500ms:4s])[1m:9s])",
        "timestamp(vector(1))",
        "day_of_week(vector(1e9))",
        "minute(vector(-1))",
        "days_in_month(vector(951782400))",
        "year(vector(NaN))",
        "hour(vector(Inf))",
        r#""x""#,
        "-1",
        "+1",
        "vector(1) + vector(2)",
        "vector(1) or vector(2)",
        "sum(vector(1)) by (x)",
        "1 > bool 2",
        "1 < 2",
    ] {
        add(s.to_string());
    }
    add(format!(
        "last_over_time(rate(demo_cpu_seconds_total[30s])[45s:11s] @ {at})"
    ));
    add(format!("demo_balance[1m:7s] @ {at}"));

    // More corners: modifiers on subqueries, NaN parameters, label clashes.
    for s in [
        "demo_balance @ 0",
        "demo_balance offset 1h",
        "count_over_time(demo_balance[1m] @ start() offset -30s)",
        "max_over_time(demo_balance[1m:7s] offset 3s)",
        "sum_over_time((demo_balance @ start() offset 10s)[1m:5s] offset 20s)",
        "max_over_time((demo_ratio / 0)[1m:4s])",
        "demo_balance > scalar(demo_no_such_metric)",
        "sort_desc(topk(3, demo_temperature_celsius))",
        "sort(bottomk(3, demo_temperature_celsius))",
        "demo_cpu_seconds_total * on(instance) group_left(mode) demo_info",
        "demo_cpu_seconds_total * on(instance) group_left(__name__) demo_info",
        "demo_cpu_seconds_total > on(instance) group_left(version) demo_info",
        "demo_balance + demo_balance * 2 ^ 2 % 3",
        "-2 ^ 2",
        "clamp(demo_balance, NaN, 5)",
        "clamp_max(demo_balance, NaN)",
        "clamp_min(demo_ratio, -Inf)",
        "round(demo_balance, 0)",
        "histogram_quantile(0.5, demo_latency_seconds_bucket offset 140s)",
        "histogram_quantile(0.5, sum by (le) (demo_latency_seconds_bucket))",
        r#"histogram_quantile(0.5, demo_latency_seconds_bucket{job="api"} - demo_latency_seconds_bucket{job="api"} offset 30s)"#,
        r#"absent(demo_no_such_metric{job="x"} offset 1m)"#,
        r#"absent(rate(demo_no_such_metric{job="x"}[1m]))"#,
        r#"absent_over_time(demo_no_such_metric{job="x"}[1m:5s])"#,
        "vector(1) unless on() vector(2)",
        "timestamp(sum(demo_balance))",
        "last_over_time(timestamp(demo_balance)[1m:3s])",
        "count(demo_no_such_metric) or vector(0)",
        r#"label_replace(demo_info, "v", "${1}-$2-$9", "version", "(\\d)\\.(\\d)")"#,
        r#"label_replace(demo_info, "version", "", "version", ".*")"#,
        r#"label_join(demo_info, "region", ",", "region", "region")"#,
        "changes(demo_sparse[2m])",
        "resets(demo_sparse[2m])",
        "idelta(demo_sparse[2m])",
        "irate(demo_sparse[2m])",
        "deriv(demo_sparse[2m])",
        "delta(demo_sparse[2m])",
        "demo_sparse offset 7s",
        "last_over_time(demo_sparse[7s])",
        "demo_sparse unless on(instance) demo_sparse offset 10s",
        "sum(demo_sparse) by (job)",
        r#"quantile_over_time(scalar(demo_sparse{instance="h0"}) / 100, demo_balance[1m])"#,
        r#"predict_linear(demo_balance[1m], scalar(demo_sparse{instance="h0"}))"#,
        r#"round(demo_balance, scalar(demo_sparse{instance="h0"}))"#,
        r#"clamp(demo_balance, scalar(demo_sparse{instance="h0"}), 30)"#,
        "max_over_time(rate(demo_resets_total[20s])[1m:6s])",
        "increase(demo_resets_total[2m])",
        "rate(demo_resets_total[2m] offset -1m)",
        "sum(increase(demo_latency_seconds_bucket[90s])) by (le)",
    ] {
        add(s.to_string());
    }

    // Dashboard- and alert-style expressions.
    for s in [
        r#"sum by (job) (rate(demo_requests_total{code=~"5.."}[1m])) / sum by (job) (rate(demo_requests_total[1m])) > 0.01"#,
        "histogram_quantile(0.99, sum by (job, le) (rate(demo_latency_seconds_bucket[1m]))) > 0.5",
        r#"100 * (1 - avg by (instance) (rate(demo_cpu_seconds_total{mode="idle"}[1m])))"#,
        r#"topk(3, sum by (instance) (rate(demo_cpu_seconds_total{mode!="idle"}[1m])))"#,
        "count(demo_temperature_celsius > 25) by (job) / count(demo_temperature_celsius) by (job)",
        "increase(demo_requests_total[2m]) / 120",
        "deriv(demo_balance[2m]) * 60",
        "sum(rate(demo_requests_total[1m])) without (code, instance)",
        "max_over_time(sum(rate(demo_requests_total[30s]))[2m:15s])",
        "quantile_over_time(0.95, sum by (job) (rate(demo_requests_total[30s]))[2m:10s])",
        "avg(demo_temperature_celsius) by (job) unless on(job) (count by (job) (demo_temperature_celsius) < 3)",
        "demo_temperature_celsius - on(instance, job) group_left avg_over_time(demo_temperature_celsius[1m])",
        "(demo_temperature_celsius - avg_over_time(demo_temperature_celsius[1m])) / stddev_over_time(demo_temperature_celsius[1m])",
        "stddev by (job) (demo_temperature_celsius) / avg by (job) (demo_temperature_celsius)",
        r#"label_replace(sum by (instance) (rate(demo_cpu_seconds_total[1m])), "host", "$1", "instance", "(.*)") * on(host) group_left(region) label_replace(demo_info, "host", "$1", "instance", "(.*)")"#,
        "sort_desc(sum by (instance) (demo_cpu_seconds_total))",
        r#"bottomk(1, sum by (instance) (rate(demo_cpu_seconds_total{mode="idle"}[1m])))"#,
        "sum by (region) (demo_cpu_seconds_total * on(instance) group_left(region) demo_info)",
        "group by (instance) (demo_cpu_seconds_total)",
        "sum(demo_requests_total offset 1m) - sum(demo_requests_total)",
        "vector(time() - 60) < bool on() timestamp(demo_const)",
        r#"count_values("code", demo_requests_total)"#,
        "time() - demo_balance",
        "scalar(sum(rate(demo_requests_total[1m]))) / count(demo_requests_total)",
        "demo_temperature_celsius and on(job) topk by (job) (1, demo_temperature_celsius)",
        "rate(demo_requests_total[1m]) > 0 and rate(demo_requests_total[1m]) < 10",
        "(rate(demo_requests_total[1m]) > bool 5) * 100",
        "abs(delta(demo_temperature_celsius[1m])) > 2",
        "changes(demo_temperature_celsius[2m]) > 10",
        "avg without (instance, code) (rate(demo_requests_total[1m]))",
        "max by (job) (max_over_time(demo_temperature_celsius[1m]))",
        "sum by (job) (increase(demo_latency_seconds_count[1m])) / sum by (job) (increase(demo_latency_seconds_sum[1m]))",
        r#"sum by (le) (rate(demo_latency_seconds_bucket{job=~"api|db"}[1m])) / ignoring(le) group_left sum(rate(demo_latency_seconds_count[1m]))"#,
        "max_over_time(demo_balance[1m]) - min_over_time(demo_balance[1m])",
        "predict_linear(demo_balance[1m], 300) < 0",
        "demo_balance != 0 and demo_balance offset 1m == 0",
        "count by (job) (changes(demo_temperature_celsius[1m]) > 0)",
    ] {
        add(s.to_string());
    }

    // Staleness markers (remote-written).
    for s in [
        "demo_pushed",
        "demo_pushed offset 30s",
        "demo_pushed[1m]",
        "rate(demo_pushed[1m])",
        "count_over_time(demo_pushed[1m])",
        "last_over_time(demo_pushed[1m])",
        "max_over_time(demo_pushed[1m:3s])",
        "count_over_time(demo_pushed[40s:2s])",
        "timestamp(demo_pushed)",
        r#"absent(demo_pushed{instance="p1"})"#,
        "demo_pushed or demo_balance",
        "sum(demo_pushed)",
        "present_over_time(demo_pushed[20s])",
        "absent_over_time(demo_pushed[20s])",
        "changes(demo_pushed[2m])",
        "resets(demo_pushed[2m])",
        "idelta(demo_pushed[30s])",
        "demo_pushed @ start()",
        "demo_pushed > bool 20",
        "demo_pushed + on(instance) group_left demo_const",
    ] {
        add(s.to_string());
    }

    // Series that come and go, and `@` inside and outside subqueries.
    for s in [
        format!("sum_over_time((demo_balance @ {at})[1m:10s] @ end())"),
        "count_over_time((demo_balance offset 20s)[1m:10s] @ start())".to_string(),
        format!("max_over_time(rate(demo_requests_total[30s] @ {at})[1m:10s])"),
        "avg_over_time(avg_over_time(demo_balance[30s500ms:5s] @ end())[1m:7s])".to_string(),
        "max_over_time(demo_balance[1m:7s] offset -10s)".to_string(),
        "timestamp(demo_balance @ end())".to_string(),
        "rate((demo_sparse or demo_balance)[1m:5s])".to_string(),
        r#"label_replace(demo_sparse, "instance", "x", "", "")"#.to_string(),
        "sum by (instance) (demo_sparse) / on(instance) demo_sparse".to_string(),
        "demo_sparse - demo_sparse offset 15s".to_string(),
        r#"absent(demo_sparse{instance="h1"})"#.to_string(),
        r#"scalar(demo_sparse{instance="h1"})"#.to_string(),
        "quantile(0.5, demo_sparse)".to_string(),
        "topk(1, demo_sparse)".to_string(),
        r#"count_values("v", demo_sparse)"#.to_string(),
        "-demo_sparse".to_string(),
        "demo_sparse > 10".to_string(),
        "demo_sparse unless demo_sparse offset 1m".to_string(),
        "demo_sparse * on(instance) group_left demo_info".to_string(),
        "avg_over_time(demo_sparse[30s] @ start())".to_string(),
    ] {
        add(s);
    }

    // Histograms.
    for q in ["0", "0.25", "0.5", "0.9", "0.99", "1", "-1", "1.5"] {
        add(format!(
            "histogram_quantile({q}, rate(demo_latency_seconds_bucket[1m]))"
        ));
    }
    for s in [
        "histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[1m])))",
        "histogram_quantile(0.9, sum by (le, job) (increase(demo_latency_seconds_bucket[2m])))",
        "histogram_quantile(0.5, demo_latency_seconds_bucket)",
        "histogram_quantile(scalar(demo_const) / 50, demo_latency_seconds_bucket)",
        r#"histogram_quantile(0.5, demo_latency_seconds_bucket{le!="+Inf"})"#,
        r#"histogram_quantile(0.5, demo_latency_seconds_bucket{le=~"0.*|\\+Inf"})"#,
        "rate(demo_latency_seconds_sum[1m]) / rate(demo_latency_seconds_count[1m])",
        // Native-histogram functions ignore float samples.
        "histogram_count(demo_latency_seconds_bucket)",
        "histogram_sum(rate(demo_latency_seconds_bucket[1m]))",
        "histogram_fraction(0, 0.5, demo_latency_seconds_bucket)",
        r#"sum(rate(demo_latency_seconds_bucket{le="+Inf"}[1m])) by (job)"#,
        r#"demo_latency_seconds_bucket{le="0.5"} / ignoring(le) demo_latency_seconds_count"#,
    ] {
        add(s.to_string());
    }
    q
}

// ---------------------------------------------------------------------------------------
// Comparison.

fn get_json(url: &str) -> Value {
    let (status, body) = http_get(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    assert!(
        status == 200 || v["status"] == "error",
        "{url}: {status} {body}"
    );
    v
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An API answer with `__name__` removed from every result.
fn without_name(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(results) = v["data"]["result"].as_array_mut() {
        for r in results {
            if let Some(m) = r["metric"].as_object_mut() {
                m.remove("__name__");
            }
        }
    }
    v
}

type Series = (BTreeMap<String, String>, Vec<(f64, f64)>);

/// A result as comparable data: result type, series (labels and points) in the order
/// given, and the value of a string result.
fn parse_result(v: &Value) -> (String, Vec<Series>, Option<String>) {
    let data = &v["data"];
    let kind = data["resultType"].as_str().unwrap_or("").to_string();
    let point = |p: &Value| {
        let v = p[1].as_str().unwrap_or("");
        let v = match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse::<f64>().unwrap_or(f64::NAN),
        };
        (p[0].as_f64().unwrap(), v)
    };
    let labels = |m: &Value| -> BTreeMap<String, String> {
        m.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    match kind.as_str() {
        "scalar" => (
            kind,
            vec![(BTreeMap::new(), vec![point(&data["result"])])],
            None,
        ),
        "string" => {
            let s = data["result"][1].as_str().map(str::to_string);
            (kind, Vec::new(), s)
        }
        "vector" => {
            let series = data["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (labels(&r["metric"]), vec![point(&r["value"])]))
                .collect();
            (kind, series, None)
        }
        "matrix" => {
            let series = data["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        labels(&r["metric"]),
                        r["values"].as_array().unwrap().iter().map(point).collect(),
                    )
                })
                .collect();
            (kind, series, None)
        }
        other => panic!("unexpected result type {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

fn same_points(a: &[(f64, f64)], b: &[(f64, f64)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.0 == q.0 && close(p.1, q.1))
}

fn show_labels(l: &BTreeMap<String, String>) -> String {
    let l: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", l.join(","))
}

fn show(series: &[Series]) -> String {
    series
        .iter()
        .map(|(l, p)| {
            let p: Vec<String> = p.iter().map(|(t, v)| format!("{v}@{t}")).collect();
            format!("{} [{}]", show_labels(l), p.join(" "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What differs between two results sorted by labels: series on one side only, and the
/// first differing point of series on both.
fn diff_text(a: &[Series], b: &[Series]) -> String {
    let mut out = Vec::new();
    let (ma, mb): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        a.iter().map(|s| (&s.0, &s.1)).collect(),
        b.iter().map(|s| (&s.0, &s.1)).collect(),
    );
    for (l, p) in &ma {
        match mb.get(l) {
            None => out.push(format!(
                "only in ember: {} ({} points)",
                show_labels(l),
                p.len()
            )),
            Some(q) if !same_points(p, q) => {
                let pt = |x: &[(f64, f64)], i: usize| {
                    x.get(i)
                        .map_or("-".to_string(), |(t, v)| format!("{v}@{t}"))
                };
                let i = (0..p.len().max(q.len()))
                    .find(|&i| match (p.get(i), q.get(i)) {
                        (Some(x), Some(y)) => x.0 != y.0 || !close(x.1, y.1),
                        _ => true,
                    })
                    .unwrap_or(0);
                out.push(format!(
                    "{}: {} vs {} points, first difference at #{i}: ember {} prometheus {}",
                    show_labels(l),
                    p.len(),
                    q.len(),
                    pt(p, i),
                    pt(q, i)
                ));
            }
            _ => {}
        }
    }
    for (l, q) in &mb {
        if !ma.contains_key(l) {
            out.push(format!(
                "only in prometheus: {} ({} points)",
                show_labels(l),
                q.len()
            ));
        }
    }
    out.join("\n    ")
}

/// Compares two API answers. `ordered`: the order of an instant vector matters (sort);
/// then the value sequences must match in order, labels as a set (ties may swap).
fn compare(ours: &Value, theirs: &Value, ordered: bool) -> Result<(), String> {
    match (ours["status"].as_str(), theirs["status"].as_str()) {
        (Some("error"), Some("error")) => return Ok(()),
        (Some("success"), Some("success")) => {}
        _ => {
            return Err(format!(
                "status: ember {} ({}), prometheus {} ({})",
                ours["status"], ours["error"], theirs["status"], theirs["error"]
            ));
        }
    }
    let (ak, mut a, astr) = parse_result(ours);
    let (bk, mut b, bstr) = parse_result(theirs);
    if ak != bk {
        return Err(format!("result type: ember {ak}, prometheus {bk}"));
    }
    if astr != bstr {
        return Err(format!("string: ember {astr:?}, prometheus {bstr:?}"));
    }
    if ordered && ak == "vector" {
        let values = |s: &[Series]| s.iter().map(|x| x.1[0].1).collect::<Vec<f64>>();
        let (va, vb) = (values(&a), values(&b));
        if va.len() != vb.len() || va.iter().zip(&vb).any(|(x, y)| !close(*x, *y)) {
            return Err(format!(
                "order:\n    ember      {}\n    prometheus {}",
                show(&a),
                show(&b)
            ));
        }
    }
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    let same = a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x.0 == y.0 && same_points(&x.1, &y.1));
    if same {
        Ok(())
    } else {
        Err(format!("results:\n    {}", diff_text(&a, &b)))
    }
}

fn fmt_secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

// ---------------------------------------------------------------------------------------
// The test.

/// The outcome of comparing every query on two servers holding the same history.
struct Outcome {
    /// Distinct queries run.
    queries: usize,
    /// Comparisons made (each query as two instant queries and two range queries).
    compared: usize,
    /// Comparisons that agreed.
    agreed: usize,
    /// Known differences run, and confirmed as such.
    known_run: usize,
    /// Known differences confirmed as such.
    known_confirmed: usize,
    /// Unexpected differences, one text per comparison, and known differences that did
    /// not show as expected.
    failures: Vec<String>,
}

/// Runs every query against both servers, whose history starts at `start` (ms).
fn compare_all(ours: &str, theirs: &str, start: i64) -> Outcome {
    let last = start + POINTS * GRID_MS;
    // Evaluation times at half seconds, never on a sample or a window edge.
    let end = last.div_euclid(1000) * 1000 + 2_500;
    let mid = start.div_euclid(1000) * 1000 + 75_500;
    let range_start = start.div_euclid(1000) * 1000 + 30_500;
    let early_start = start.div_euclid(1000) * 1000 - 20_500;

    // Precondition: both stored exactly the same samples.
    let raw = format!(
        "/api/v1/query?query={}&time={}",
        encode(r#"{__name__=~"demo_.+"}[10m]"#),
        fmt_secs(end)
    );
    let (a, b) = (
        get_json(&format!("{ours}{raw}")),
        get_json(&format!("{theirs}{raw}")),
    );
    let (_, series, _) = parse_result(&b);
    assert!(
        series.len() > 40 && series.iter().any(|s| s.1.len() as i64 == POINTS + 1),
        "Prometheus did not ingest the exporter's history: {}",
        show(&series)
    );
    if let Err(e) = compare(&a, &b, false) {
        panic!("the two histories differ, so no query can be compared: {e}");
    }

    let at = fmt_secs(mid);
    let all = queries(&at);
    let mut out = Outcome {
        queries: all.len(),
        compared: 0,
        agreed: 0,
        known_run: 0,
        known_confirmed: 0,
        failures: Vec::new(),
    };
    for q in &all {
        let enc = encode(q);
        let ordered = q.starts_with("sort(") || q.starts_with("sort_desc(");
        let paths = [
            format!("/api/v1/query?query={enc}&time={}", fmt_secs(end)),
            format!("/api/v1/query?query={enc}&time={}", fmt_secs(mid)),
            format!(
                "/api/v1/query_range?query={enc}&start={}&end={}&step=7",
                fmt_secs(range_start),
                fmt_secs(end)
            ),
            // Starting before the history, with a step that is not a divisor of the range.
            format!(
                "/api/v1/query_range?query={enc}&start={}&end={}&step=13",
                fmt_secs(early_start),
                fmt_secs(mid)
            ),
        ];
        let known = KNOWN_DIFFERENCES.iter().find(|k| k.query == q);
        let mut differs = false;
        let mut problems = Vec::new();
        for path in paths {
            let (a, b) = (
                get_json(&format!("{ours}{path}")),
                get_json(&format!("{theirs}{path}")),
            );
            out.compared += 1;
            let result = compare(&a, &b, ordered);
            differs |= result.is_err();
            match (known.map(|k| k.check), result) {
                (None, Ok(())) => out.agreed += 1,
                (None, Err(e)) => out.failures.push(format!("{q}\n  {path}\n  {e}")),
                (Some(Check::NameKeptBy242), _) => {
                    if let Err(e) = compare(&a, &without_name(&b), ordered) {
                        problems.push(format!("{path}: not equal without the name: {e}"));
                    }
                }
                (Some(Check::UnknownTo242), _) => {
                    if a["status"] != "success" || b["status"] != "error" {
                        problems.push(format!(
                            "{path}: Ember {} ({}), Prometheus {}",
                            a["status"], a["error"], b["status"]
                        ));
                    }
                }
                (Some(Check::RemovedIn3), _) => {
                    if a["status"] != "error" || b["status"] != "success" {
                        problems.push(format!(
                            "{path}: Ember {}, Prometheus {} ({})",
                            a["status"], b["status"], b["error"]
                        ));
                    }
                }
                (Some(Check::Differs), _) => {}
            }
        }
        if let Some(k) = known {
            out.known_run += 1;
            if !differs {
                problems.push("answers agree now: remove it from KNOWN_DIFFERENCES".into());
            }
            if problems.is_empty() {
                out.known_confirmed += 1;
            } else {
                out.failures.push(format!(
                    "{q} (known difference: {})\n  {}",
                    k.reason,
                    problems.join("\n  ")
                ));
            }
        }
    }
    out
}

/// The scrape configuration of both servers.
fn scrape_config(exporter_port: Option<u16>) -> String {
    let mut config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 13s\n".to_string();
    if let Some(port) = exporter_port {
        config.push_str(&format!(
            "scrape_configs:\n  - job_name: demo\n    honor_labels: true\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ));
    }
    config
}

/// Starts Ember with `config` on `data` (a directory that may hold an earlier history).
fn start_ember(config: &str, data: &std::path::Path, flags: &[&str]) -> (Peer, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ember.yml"), config).unwrap();
    let port = free_port();
    let mut args = vec![
        "server".to_string(),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--storage.tsdb.path={}", data.display()),
        format!("--config.file={}", dir.path().join("ember.yml").display()),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    let mut ember = Peer::start("ember", env!("CARGO_BIN_EXE_ember"), &args, dir);
    let base = format!("http://127.0.0.1:{port}");
    ember.wait_ready(&format!("{base}/-/ready"), Duration::from_secs(60));
    (ember, base)
}

/// Scrapes the exporter with both servers until the whole history is stored; returns its
/// start (ms).
fn record_history(ours: &str, theirs: &str, exporter: &Exporter) -> i64 {
    for base in [ours, theirs] {
        eventually("a scrape of the exporter", Duration::from_secs(30), || {
            let v = get_json(&format!(
                "{base}/api/v1/query?query=up%7Bjob%3D%22demo%22%7D"
            ));
            (v["data"]["result"][0]["value"][1] == "1").then_some(())
        });
    }
    // Both are scraping: history starts at the next grid point but one.
    let start = ((now_ms() - PHASE_MS).div_euclid(GRID_MS) + 2) * GRID_MS + PHASE_MS;
    exporter.start.store(start, Ordering::SeqCst);
    let wait = start + POINTS * GRID_MS + 3_000 - now_ms();
    std::thread::sleep(Duration::from_millis(wait.max(0) as u64));
    let body = pushed_history(start);
    for base in [ours, theirs] {
        remote_write(base, &body);
    }
    start
}

/// `demo_pushed`, remote-written on the same grid as the scraped history, because the
/// exposition format cannot carry staleness markers: `p0` goes stale at point 10 and
/// comes back at 14, `p1` goes stale for good at point 20.
fn pushed_history(start: i64) -> Vec<u8> {
    use ember_remote::prompb::{Label, Sample, TimeSeries, WriteRequest};
    use prost::Message;
    let series = |instance: &str, points: Vec<(i64, f64)>| TimeSeries {
        labels: [
            ("__name__", "demo_pushed"),
            ("instance", instance),
            ("job", "push"),
        ]
        .iter()
        .map(|(n, v)| Label {
            name: n.to_string(),
            value: v.to_string(),
        })
        .collect(),
        samples: points
            .into_iter()
            .map(|(k, v)| Sample {
                value: v,
                timestamp: start + k * GRID_MS,
            })
            .collect(),
        exemplars: vec![],
    };
    let p0 = (0..=POINTS)
        .filter(|k| !(11..14).contains(k))
        .map(|k| (k, if k == 10 { STALE_NAN } else { k as f64 * 1.5 }))
        .collect();
    let p1 = (0..=20)
        .map(|k| (k, if k == 20 { STALE_NAN } else { k as f64 * 2.0 }))
        .collect();
    let request = WriteRequest {
        timeseries: vec![series("p0", p0), series("p1", p1)],
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

/// Checks an outcome; the full list of differences goes to a file beside the test.
fn assert_outcome(out: &Outcome, report: &std::path::Path) {
    eprintln!(
        "{} queries, {} comparisons, {} agree; {} of {} runs of known differences confirmed",
        out.queries, out.compared, out.agreed, out.known_confirmed, out.known_run
    );
    let _ = std::fs::write(report, out.failures.join("\n"));
    let shown: Vec<String> = out
        .failures
        .iter()
        .take(20)
        .map(|f| f.chars().take(1500).collect())
        .collect();
    assert!(
        out.failures.is_empty(),
        "{} unexpected results (all of them in {}):\n{}",
        out.failures.len(),
        report.display(),
        shown.join("\n")
    );
}

/// The flag of both servers that accepts remote writes.
const RECEIVER: &str = "--web.enable-remote-write-receiver";

/// The lookback delta of the second pass: shorter than the gaps of `demo_sparse`, so
/// series vanish and come back between steps.
const SHORT_LOOKBACK: &str = "--query.lookback-delta=20s";

/// Merges the outcome of a second pass into the first, labelling its failures.
fn merge_outcomes(mut a: Outcome, b: Outcome, label: &str) -> Outcome {
    a.queries += b.queries;
    a.compared += b.compared;
    a.agreed += b.agreed;
    a.known_run += b.known_run;
    a.known_confirmed += b.known_confirmed;
    a.failures
        .extend(b.failures.into_iter().map(|f| format!("[{label}] {f}")));
    a
}

#[test]
fn ember_answers_like_prometheus_on_scraped_data() {
    let exporter = Exporter::start();
    let config = scrape_config(Some(exporter.port));
    let dirs = tempfile::tempdir().unwrap();
    let (prom_data, ember_data) = (dirs.path().join("prometheus"), dirs.path().join("ember"));
    let prom_flag = format!("--storage.tsdb.path={}", prom_data.display());
    let mut prometheus = Prometheus::start(&config, &[&prom_flag, RECEIVER]);
    let (mut ember, ours) = start_ember(&config, &ember_data, &[RECEIVER]);
    let start = record_history(&ours, &prometheus.base, &exporter);
    let first = compare_all(&ours, &prometheus.base, start);

    // Second pass on the same data, both restarted with a short lookback delta.
    assert!(
        ember.terminate(Duration::from_secs(30)),
        "Ember did not stop"
    );
    assert!(
        prometheus.peer.terminate(Duration::from_secs(30)),
        "Prometheus did not stop"
    );
    drop(exporter);
    let config = scrape_config(None);
    let prometheus = Prometheus::start(&config, &[&prom_flag, SHORT_LOOKBACK]);
    let (ember, ours) = start_ember(&config, &ember_data, &[SHORT_LOOKBACK]);
    let second = compare_all(&ours, &prometheus.base, start);
    drop(ember);
    drop(prometheus);
    assert_outcome(
        &merge_outcomes(first, second, "lookback 20s"),
        &std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("query_diff.txt"),
    );
}
