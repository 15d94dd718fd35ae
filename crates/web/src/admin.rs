//! `/api/v1/admin/tsdb/*` (with `--web.enable-admin-api`): snapshot, delete_series,
//! clean_tombstones.

use crate::WebState;
use crate::api::{ErrorType, error, success};
use crate::params::{MAX_TIME, MIN_TIME, Params};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ember_model::{Matcher, Timestamp};
use serde_json::json;
use std::sync::Arc;

/// Head figures for `/api/v1/status/tsdb`; lists are `(name, count)`, largest first.
#[derive(Clone, Debug, Default)]
pub struct TsdbStatus {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label pairs in the head.
    pub num_label_pairs: u64,
    /// Chunks in the head.
    pub chunk_count: u64,
    /// Oldest sample in the head (ms).
    pub min_time: i64,
    /// Newest sample in the head (ms).
    pub max_time: i64,
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Bytes of distinct values per label name.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

/// What the admin and status APIs need from the storage.
pub trait TsdbAdmin: Send + Sync {
    /// Head cardinality with each list cut at `limit` entries.
    fn status(&self, limit: usize) -> TsdbStatus;
    /// Writes a snapshot under the data directory's `snapshots/` and returns its name.
    fn snapshot(&self, skip_head: bool) -> Result<String, String>;
    /// Deletes the samples in `[mint, maxt]` of series matching `matchers`.
    fn delete_series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<(), String>;
    /// Rewrites blocks without their deleted data.
    fn clean_tombstones(&self) -> Result<(), String>;
}

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/status/tsdb", axum::routing::get(status))
        .route("/api/v1/admin/tsdb/snapshot", post(snapshot).put(snapshot))
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(delete_series).put(delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(clean_tombstones).put(clean_tombstones),
        )
}

fn disabled(s: &WebState) -> Option<Response> {
    (!s.options.enable_admin_api).then(|| error(ErrorType::Unavailable, "admin APIs disabled"))
}

async fn status(State(s): State<Arc<WebState>>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), b"");
    let limit = match p.get("limit") {
        None | Some("") => 10,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 && n <= 10_000 => n,
            _ => {
                return error(
                    ErrorType::BadData,
                    format!("limit must be a positive number between 1 and 10000, got {v:?}"),
                );
            }
        },
    };
    let st = s.admin.status(limit);
    let list = |items: &[(String, u64)]| {
        items
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect::<Vec<_>>()
    };
    success(json!({
        "headStats": {
            "numSeries": st.num_series,
            "numLabelPairs": st.num_label_pairs,
            "chunkCount": st.chunk_count,
            "minTime": st.min_time,
            "maxTime": st.max_time,
        },
        "seriesCountByMetricName": list(&st.series_count_by_metric_name),
        "labelValueCountByLabelName": list(&st.label_value_count_by_label_name),
        "memoryInBytesByLabelName": list(&st.memory_in_bytes_by_label_name),
        "seriesCountByLabelValuePair": list(&st.series_count_by_label_value_pair),
    }))
}

async fn snapshot(State(s): State<Arc<WebState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    if let Some(r) = disabled(&s) {
        return r;
    }
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    let skip_head = match p.get("skip_head") {
        None | Some("") => false,
        Some(v) => match v.parse::<bool>() {
            Ok(b) => b,
            Err(_) => {
                return error(
                    ErrorType::BadData,
                    format!("unable to parse boolean 'skip_head' argument: {v:?}"),
                );
            }
        },
    };
    let admin = s.admin.clone();
    match tokio::task::spawn_blocking(move || admin.snapshot(skip_head)).await {
        Ok(Ok(name)) => success(json!({ "name": name })),
        Ok(Err(e)) => error(ErrorType::Internal, format!("create snapshot: {e}")),
        Err(e) => error(ErrorType::Internal, e.to_string()),
    }
}

async fn delete_series(
    State(s): State<Arc<WebState>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = disabled(&s) {
        return r;
    }
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    let selectors = p.all("match[]");
    if selectors.is_empty() {
        return error(ErrorType::BadData, "no match[] parameter provided");
    }
    let (mint, maxt) = match (p.time_or("start", MIN_TIME), p.time_or("end", MAX_TIME)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error(ErrorType::BadData, e),
    };
    let mut sets = Vec::new();
    for sel in &selectors {
        match ember_promql::parse_series_selector(sel) {
            Ok(m) => sets.push(m),
            Err(e) => return error(ErrorType::BadData, e.to_string()),
        }
    }
    let admin = s.admin.clone();
    let result = tokio::task::spawn_blocking(move || {
        sets.iter()
            .try_for_each(|m| admin.delete_series(m, mint, maxt))
    })
    .await;
    match result {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => error(ErrorType::Internal, e),
        Err(e) => error(ErrorType::Internal, e.to_string()),
    }
}

async fn clean_tombstones(State(s): State<Arc<WebState>>) -> Response {
    if let Some(r) = disabled(&s) {
        return r;
    }
    let admin = s.admin.clone();
    match tokio::task::spawn_blocking(move || admin.clean_tombstones()).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => error(ErrorType::Internal, e),
        Err(e) => error(ErrorType::Internal, e.to_string()),
    }
}
