//! `/api/v1/query` and `/api/v1/query_range`: PromQL over HTTP with Prometheus's
//! parameters, JSON shapes, float formatting and error types.

use crate::WebState;
use crate::api::{ErrorType, error};
use crate::params::Params;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ember_model::{Labels, now_millis};
use ember_promql::ast::ValueType;
use ember_promql::{ErrorKind, QueryError, QueryOutput, QueryStats, QueryValue};
use std::fmt::Write;
use std::sync::Arc;

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS_PER_SERIES: i64 = 11_000;

pub(crate) fn routes(
    registry: &ember_selfmetrics::Registry,
    max_concurrency: usize,
) -> Router<Arc<WebState>> {
    let service = Arc::new(QueryService::new(registry, max_concurrency));
    Router::new()
        .route("/api/v1/query", get(instant).post(instant))
        .route("/api/v1/query_range", get(range).post(range))
        .layer(axum::Extension(service))
}

/// The engine for one request: the server's, with the request's `timeout` (never above
/// the server's) and `lookback_delta` applied, as Prometheus's API does.
fn request_engine(
    base: &ember_promql::Engine,
    p: &Params,
) -> Result<ember_promql::Engine, Response> {
    let mut opts = base.options().clone();
    if let Some(t) = p.get("timeout").filter(|t| !t.is_empty()) {
        let ms = parse_step(t).map_err(|e| {
            error(
                ErrorType::BadData,
                format!("invalid parameter \"timeout\": {e}"),
            )
        })?;
        opts.timeout = opts
            .timeout
            .min(std::time::Duration::from_millis(ms.max(0) as u64));
    }
    if let Some(l) = p.get("lookback_delta").filter(|l| !l.is_empty()) {
        let ms = parse_step(l).map_err(|e| {
            error(
                ErrorType::BadData,
                format!("invalid parameter \"lookback_delta\": {e}"),
            )
        })?;
        if ms > 0 {
            opts.lookback_delta = std::time::Duration::from_millis(ms as u64);
        }
    }
    Ok(ember_promql::Engine::new(opts))
}

/// What to evaluate.
enum QueryRequest {
    Instant {
        query: String,
        ts: i64,
    },
    Range {
        query: String,
        start: i64,
        end: i64,
        step: i64,
    },
}

/// Runs queries under the concurrency limit, timing them into
/// `prometheus_engine_query_duration_seconds` and writing the query log.
struct QueryService {
    limit: Arc<tokio::sync::Semaphore>,
    durations: ember_selfmetrics::SummaryVec,
    running: ember_selfmetrics::Gauge,
    log: std::sync::Mutex<Option<(std::path::PathBuf, std::fs::File)>>,
}

impl QueryService {
    fn new(registry: &ember_selfmetrics::Registry, max_concurrency: usize) -> Self {
        registry
            .gauge(
                "prometheus_engine_queries_concurrent_max",
                "The max number of concurrent queries.",
            )
            .set(max_concurrency as f64);
        QueryService {
            limit: Arc::new(tokio::sync::Semaphore::new(max_concurrency.max(1))),
            durations: registry.summary_vec(
                "prometheus_engine_query_duration_seconds",
                "Query timings",
                &["slice"],
                &[0.5, 0.9, 0.99],
            ),
            running: registry.gauge(
                "prometheus_engine_queries",
                "The current number of queries being executed or waiting.",
            ),
            log: std::sync::Mutex::new(None),
        }
    }

    async fn run(
        &self,
        state: Arc<WebState>,
        engine: ember_promql::Engine,
        request: QueryRequest,
        path: &'static str,
    ) -> Result<(QueryOutput, Timings), QueryError> {
        self.running.add(1.0);
        let queued = std::time::Instant::now();
        let permit = self
            .limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| QueryError::internal(e.to_string()))?;
        let queue_time = queued.elapsed().as_secs_f64();
        let state2 = state.clone();
        let timed = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let started = std::time::Instant::now();
            let query = match &request {
                QueryRequest::Instant { query, .. } | QueryRequest::Range { query, .. } => query,
            };
            let expr = engine.parse(query).map_err(invalid_query)?;
            if matches!(request, QueryRequest::Range { .. }) {
                let t = expr.value_type();
                if t != ValueType::Scalar && t != ValueType::Vector {
                    return Err(invalid_query(QueryError::bad_data(format!(
                        "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                        t.name()
                    ))));
                }
            }
            let prepare = started.elapsed().as_secs_f64();
            let out = match &request {
                QueryRequest::Instant { ts, .. } => {
                    engine.instant_query_expr(state2.queryable.as_ref(), &expr, *ts)
                }
                QueryRequest::Range {
                    start, end, step, ..
                } => engine.range_query_expr(state2.queryable.as_ref(), &expr, *start, *end, *step),
            }?;
            Ok::<_, QueryError>((
                out,
                prepare,
                started.elapsed().as_secs_f64() - prepare,
                request,
            ))
        })
        .await
        .unwrap_or_else(|e| Err(QueryError::internal(e.to_string())));
        self.running.add(-1.0);
        let (out, prepare, eval, request) = timed?;
        let timings = Timings {
            queue: queue_time,
            prepare,
            eval,
        };
        self.durations.with(&["queue_time"]).observe(queue_time);
        self.durations.with(&["prepare_time"]).observe(prepare);
        self.durations.with(&["inner_eval"]).observe(eval);
        self.durations.with(&["result_sort"]).observe(0.0);
        self.log_query(&state, &request, path, &timings);
        Ok((out, timings))
    }

    /// Appends the query to `global.query_log_file` as Prometheus's JSON line; the file is
    /// reopened when a reload changes its name.
    fn log_query(&self, state: &WebState, request: &QueryRequest, path: &str, timings: &Timings) {
        use std::io::Write as _;
        let Some(file_name) = state
            .runtime
            .read()
            .expect("runtime config lock")
            .query_log_file
            .clone()
        else {
            return;
        };
        let mut log = self.log.lock().expect("query log lock");
        if log.as_ref().is_none_or(|(p, _)| *p != file_name) {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file_name)
            {
                Ok(f) => *log = Some((file_name.clone(), f)),
                Err(e) => {
                    tracing::error!(file = %file_name.display(), err = %e, "Cannot open query log");
                    return;
                }
            }
        }
        let rfc3339 = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        let (query, start, end, step) = match request {
            QueryRequest::Instant { query, ts } => (query, *ts, *ts, 0),
            QueryRequest::Range {
                query,
                start,
                end,
                step,
            } => (query, *start, *end, *step / 1000),
        };
        let line = serde_json::json!({
            "httpRequest": {"clientIP": "", "method": "GET", "path": path},
            "params": {"end": rfc3339(end), "query": query, "start": rfc3339(start), "step": step},
            "stats": {"timings": timings.json()},
            "ts": rfc3339(now_millis()),
        });
        if let Some((_, f)) = log.as_mut() {
            if let Err(e) = writeln!(f, "{line}") {
                tracing::error!(err = %e, "Writing the query log failed");
            }
        }
    }
}

async fn instant(
    State(s): State<Arc<WebState>>,
    axum::Extension(service): axum::Extension<Arc<QueryService>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    let query = p.get("query").unwrap_or("").to_string();
    let ts = match p.time_or("time", now_millis()) {
        Ok(t) => t,
        Err(e) => return error(ErrorType::BadData, e),
    };
    let engine = match request_engine(&s.engine, &p) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let stats = StatsMode::of(&p, s.options.per_step_stats);
    respond(
        service
            .run(
                s,
                engine,
                QueryRequest::Instant { query, ts },
                "/api/v1/query",
            )
            .await,
        stats,
        |_| ts,
    )
}

async fn range(
    State(s): State<Arc<WebState>>,
    axum::Extension(service): axum::Extension<Arc<QueryService>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    let query = p.get("query").unwrap_or("").to_string();
    let (start, end) = match (required_time(&p, "start"), required_time(&p, "end")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    if end < start {
        return error(
            ErrorType::BadData,
            "invalid parameter \"end\": end timestamp must not be before start time",
        );
    }
    let step = match p.get("step").map(parse_step) {
        Some(Ok(step)) => step,
        Some(Err(e)) => {
            return error(
                ErrorType::BadData,
                format!("invalid parameter \"step\": {e}"),
            );
        }
        None => {
            return error(
                ErrorType::BadData,
                "invalid parameter \"step\": cannot parse \"\" to a valid duration",
            );
        }
    };
    if step <= 0 {
        return error(
            ErrorType::BadData,
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        );
    }
    if (end - start) / step > MAX_POINTS_PER_SERIES {
        return error(
            ErrorType::BadData,
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    let engine = match request_engine(&s.engine, &p) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let stats = StatsMode::of(&p, s.options.per_step_stats);
    respond(
        service
            .run(
                s,
                engine,
                QueryRequest::Range {
                    query,
                    start,
                    end,
                    step,
                },
                "/api/v1/query_range",
            )
            .await,
        stats,
        |i| start + step * i as i64,
    )
}

/// A time parameter a range query cannot do without.
fn required_time(p: &Params, key: &str) -> Result<i64, Response> {
    crate::params::parse_time(p.get(key).unwrap_or("")).map_err(|e| {
        error(
            ErrorType::BadData,
            format!("invalid parameter \"{key}\": {e}"),
        )
    })
}

/// A step as Prometheus accepts it: float seconds or a duration (`15s`), in milliseconds.
fn parse_step(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() {
            return Ok((secs * 1000.0).round() as i64);
        }
    }
    parse_prom_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Prometheus duration syntax (`1h30m`, `15s`, `500ms`) in milliseconds.
fn parse_prom_duration(s: &str) -> Option<i64> {
    let units = [
        ("ms", 1),
        ("s", 1000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
        ("w", 604_800_000),
        ("y", 31_536_000_000),
    ];
    let mut rest = s;
    let mut total = 0i64;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, ms) = units
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())?;
        total = total.checked_add(n.checked_mul(*ms)?)?;
        rest = &rest[unit.len()..];
    }
    (!s.is_empty()).then_some(total)
}

/// How long each phase of a query took, in seconds.
struct Timings {
    queue: f64,
    prepare: f64,
    eval: f64,
}

impl Timings {
    /// Prometheus's `timings` object, keys in its order (the result is produced sorted:
    /// no sort time).
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "evalTotalTime": self.prepare + self.eval,
            "resultSortTime": 0.0,
            "queryPreparationTime": self.prepare,
            "innerEvalTime": self.eval,
            "execQueueTime": self.queue,
            "execTotalTime": self.queue + self.prepare + self.eval,
        })
    }
}

/// What the `stats` parameter asks for: nothing when absent or empty, timings and sample
/// counts otherwise, and per-step counts for `stats=all` when
/// `--enable-feature=promql-per-step-stats` is set (as in Prometheus).
#[derive(Clone, Copy, PartialEq)]
enum StatsMode {
    None,
    Summary,
    PerStep,
}

impl StatsMode {
    fn of(p: &Params, per_step_enabled: bool) -> Self {
        match p.get("stats") {
            None | Some("") => StatsMode::None,
            Some("all") if per_step_enabled => StatsMode::PerStep,
            Some(_) => StatsMode::Summary,
        }
    }
}

/// The `stats` object, in Prometheus's key order.
fn write_stats(
    out: &mut String,
    mode: StatsMode,
    timings: &Timings,
    stats: &QueryStats,
    step_time: impl Fn(usize) -> i64,
) {
    let _ = write!(out, "{{\"timings\":{},\"samples\":{{", timings.json());
    if mode == StatsMode::PerStep {
        out.push_str("\"totalQueryableSamplesPerStep\":[");
        for (i, n) in stats.samples_per_step.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            write_timestamp(out, step_time(i));
            let _ = write!(out, ",{n}]");
        }
        out.push_str("],");
    }
    let _ = write!(
        out,
        "\"totalQueryableSamples\":{},\"peakSamples\":{}}}}}",
        stats.total_samples(),
        stats.peak_samples
    );
}

/// A query that did not parse or type-check is a bad `query` parameter.
fn invalid_query(e: QueryError) -> QueryError {
    QueryError {
        message: format!("invalid parameter \"query\": {}", e.message),
        ..e
    }
}

fn respond(
    result: Result<(QueryOutput, Timings), QueryError>,
    stats: StatsMode,
    step_time: impl Fn(usize) -> i64,
) -> Response {
    match result {
        Ok((out, timings)) => {
            let mut body = String::with_capacity(256);
            body.push_str("{\"status\":\"success\",\"data\":");
            write_value(&mut body, &out.value);
            if stats != StatsMode::None {
                body.pop();
                body.push_str(",\"stats\":");
                write_stats(&mut body, stats, &timings, &out.stats, step_time);
                body.push('}');
            }
            body.push('}');
            if !out.warnings.is_empty() {
                body.pop();
                body.push_str(",\"warnings\":");
                body.push_str(
                    &serde_json::to_string(&out.warnings).unwrap_or_else(|_| "[]".into()),
                );
                body.push('}');
            }
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => {
            let kind = match e.kind {
                ErrorKind::BadData => ErrorType::BadData,
                ErrorKind::Execution => ErrorType::Execution,
                ErrorKind::Timeout => ErrorType::Timeout,
                ErrorKind::Canceled => ErrorType::Canceled,
                ErrorKind::Internal => ErrorType::Internal,
            };
            error(kind, e.message)
        }
    }
}

/// The `data` object of a query response, rendered by hand so timestamps and values are
/// formatted exactly as Prometheus formats them.
fn write_value(out: &mut String, value: &QueryValue) {
    match value {
        QueryValue::Scalar { t, v } => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            write_point(out, *t, *v);
        }
        QueryValue::String { t, v } => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            write_timestamp(out, *t);
            out.push(',');
            out.push_str(&serde_json::to_string(v).unwrap_or_default());
            out.push(']');
        }
        QueryValue::Vector(samples) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":[");
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        QueryValue::Matrix(series) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":[");
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, &(t, v)) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(out, t, v);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
}

fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(&l.name).unwrap_or_default());
        out.push(':');
        out.push_str(&serde_json::to_string(&l.value).unwrap_or_default());
    }
    out.push('}');
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    out.push_str(&format_value(v));
    out.push_str("\"]");
}

/// Seconds with up to millisecond precision and no trailing zeros: `1435781451.781`, `1`.
fn write_timestamp(out: &mut String, t: i64) {
    let secs = t.div_euclid(1000);
    let ms = t.rem_euclid(1000);
    if ms == 0 {
        let _ = write!(out, "{secs}");
    } else {
        let frac = format!("{ms:03}");
        let _ = write!(out, "{secs}.{}", frac.trim_end_matches('0'));
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)` with Prometheus's spellings of the specials.
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_prometheus() {
        let mut s = String::new();
        write_timestamp(&mut s, 1_435_781_451_781);
        s.push(' ');
        write_timestamp(&mut s, 1000);
        s.push(' ');
        write_timestamp(&mut s, 1500);
        assert_eq!(s, "1435781451.781 1 1.5");
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(-0.0), "-0");
    }

    #[test]
    fn stats_object_in_prometheus_key_order() {
        let timings = Timings {
            queue: 0.5,
            prepare: 0.25,
            eval: 1.0,
        };
        let stats = QueryStats {
            samples_per_step: vec![3, 4],
            peak_samples: 5,
        };
        let render = |mode| {
            let mut s = String::new();
            write_stats(&mut s, mode, &timings, &stats, |i| 1000 + 1500 * i as i64);
            serde_json::from_str::<serde_json::Value>(&s).expect("valid JSON");
            s
        };
        let timings = r#"{"timings":{"evalTotalTime":1.25,"resultSortTime":0.0,"queryPreparationTime":0.25,"innerEvalTime":1.0,"execQueueTime":0.5,"execTotalTime":1.75}"#;
        assert_eq!(
            render(StatsMode::PerStep),
            format!(
                r#"{timings},"samples":{{"totalQueryableSamplesPerStep":[[1,3],[2.5,4]],"totalQueryableSamples":7,"peakSamples":5}}}}"#
            )
        );
        assert_eq!(
            render(StatsMode::Summary),
            format!(r#"{timings},"samples":{{"totalQueryableSamples":7,"peakSamples":5}}}}"#)
        );
    }

    #[test]
    fn steps() {
        assert_eq!(parse_step("15"), Ok(15_000));
        assert_eq!(parse_step("1.5"), Ok(1_500));
        assert_eq!(parse_step("1m30s"), Ok(90_000));
        assert!(parse_step("x").is_err());
    }
}
