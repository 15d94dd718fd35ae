//! The Prometheus HTTP API v1: response envelope, targets, status pages and the
//! remote-write receiver.

use crate::WebState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ember_model::Labels;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/targets", get(targets))
        .route("/api/v1/status/config", get(status_config))
        .route("/api/v1/status/flags", get(status_flags))
        .route("/api/v1/status/buildinfo", get(status_buildinfo))
        .route("/api/v1/status/runtimeinfo", get(status_runtimeinfo))
        .route("/api/v1/status/walreplay", get(status_walreplay))
        .route("/api/v1/write", post(remote_write))
}

/// Prometheus's error types, each with its HTTP status.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ErrorType {
    BadData,
    Execution,
    Timeout,
    Canceled,
    Internal,
    Unavailable,
}

impl ErrorType {
    fn parts(self) -> (&'static str, StatusCode) {
        match self {
            ErrorType::BadData => ("bad_data", StatusCode::BAD_REQUEST),
            ErrorType::Execution => ("execution", StatusCode::UNPROCESSABLE_ENTITY),
            ErrorType::Timeout => ("timeout", StatusCode::SERVICE_UNAVAILABLE),
            // Prometheus's "client closed connection" status.
            ErrorType::Canceled => ("canceled", StatusCode::from_u16(499).expect("valid status")),
            ErrorType::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            ErrorType::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        }
    }
}

pub(crate) fn success(data: Value) -> Response {
    axum::Json(json!({"status": "success", "data": data})).into_response()
}

/// A success envelope with `warnings` when there are any.
pub(crate) fn success_with_warnings(data: Value, warnings: Vec<String>) -> Response {
    if warnings.is_empty() {
        return success(data);
    }
    axum::Json(json!({"status": "success", "data": data, "warnings": warnings})).into_response()
}

pub(crate) fn error(kind: ErrorType, message: impl Into<String>) -> Response {
    let (name, status) = kind.parts();
    (
        status,
        axum::Json(json!({"status": "error", "errorType": name, "error": message.into()})),
    )
        .into_response()
}

pub(crate) fn labels_json(labels: &Labels) -> Value {
    let map: Map<String, Value> = labels
        .iter()
        .map(|l| (l.name.clone(), Value::String(l.value.clone())))
        .collect();
    Value::Object(map)
}

/// Go's `time.RFC3339Nano` rendering of a Unix-millisecond time in UTC.
pub(crate) fn rfc3339_nano(ms: Option<i64>) -> String {
    let Some(t) = ms.and_then(chrono::DateTime::from_timestamp_millis) else {
        return "0001-01-01T00:00:00Z".into();
    };
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = format!("{:09}", t.timestamp_subsec_nanos());
    let frac = nanos.trim_end_matches('0');
    if frac.is_empty() {
        format!("{base}Z")
    } else {
        format!("{base}.{frac}Z")
    }
}

async fn targets(
    State(s): State<Arc<WebState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let state = q
        .get("state")
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    let want_active = state.is_empty() || state == "active" || state == "any";
    let want_dropped = state.is_empty() || state == "dropped" || state == "any";
    let active: Vec<Value> = if want_active {
        s.targets
            .active_targets()
            .into_iter()
            .map(|t| {
                json!({
                    "discoveredLabels": labels_json(&t.discovered_labels),
                    "labels": labels_json(&t.labels),
                    "scrapePool": t.scrape_pool,
                    "scrapeUrl": t.scrape_url,
                    "globalUrl": t.global_url,
                    "lastError": t.last_error,
                    "lastScrape": rfc3339_nano(t.last_scrape_ms),
                    "lastScrapeDuration": t.last_scrape_duration_seconds,
                    "health": t.health.as_str(),
                    "scrapeInterval": t.scrape_interval,
                    "scrapeTimeout": t.scrape_timeout,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let dropped: Vec<Value> = if want_dropped {
        s.targets
            .dropped_targets()
            .into_iter()
            .map(|t| json!({"discoveredLabels": labels_json(&t.discovered_labels)}))
            .collect()
    } else {
        Vec::new()
    };
    success(json!({"activeTargets": active, "droppedTargets": dropped}))
}

async fn status_config(State(s): State<Arc<WebState>>) -> Response {
    let yaml = s.runtime.read().expect("runtime config lock").yaml.clone();
    success(json!({ "yaml": yaml }))
}

async fn status_flags(State(s): State<Arc<WebState>>) -> Response {
    success(json!(s.options.flags))
}

async fn status_buildinfo(State(s): State<Arc<WebState>>) -> Response {
    let b = &s.build;
    success(json!({
        "version": b.version,
        "revision": b.revision,
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": b.rust_version,
    }))
}

async fn status_runtimeinfo(State(s): State<Arc<WebState>>) -> Response {
    let b = &s.build;
    let (reload_ok, loaded_at) = {
        let rt = s.runtime.read().expect("runtime config lock");
        (rt.last_reload_successful, rt.loaded_at)
    };
    success(json!({
        "startTime": b.start_time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "CWD": std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
        "reloadConfigSuccess": reload_ok,
        "lastConfigTime": loaded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "corruptionCount": 0,
        "goroutineCount": 0,
        "GOMAXPROCS": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": s.options.flags.get("storage.tsdb.retention.time").cloned().unwrap_or_default(),
    }))
}

async fn status_walreplay(State(s): State<Arc<WebState>>) -> Response {
    let w = s.wal_replay;
    success(json!({"min": w.min, "max": w.max, "current": w.current}))
}

async fn remote_write(State(s): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !s.options.enable_remote_write_receiver {
        return (
            StatusCode::NOT_FOUND,
            "remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n",
        )
            .into_response();
    }
    let encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("snappy");
    if !encoding.eq_ignore_ascii_case("snappy") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content encoding {encoding:?}\n"),
        )
            .into_response();
    }
    let storage = s.appendable.clone();
    let result =
        tokio::task::spawn_blocking(move || ember_remote::receive_write(storage.as_ref(), &body))
            .await;
    match result {
        Ok(Ok(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) if e.is_client_error() => {
            tracing::warn!(err = %e, "remote write request refused");
            (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
        }
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => error(ErrorType::Internal, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format_matches_go() {
        assert_eq!(rfc3339_nano(None), "0001-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nano(Some(1_700_000_000_720)),
            "2023-11-14T22:13:20.72Z"
        );
        assert_eq!(
            rfc3339_nano(Some(1_700_000_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }
}
