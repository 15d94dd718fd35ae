//! Endpoints whose subsystems come later (rules, alerting, exemplars) answer with
//! Prometheus's empty shapes, so clients such as Grafana work today; and
//! `/api/v1/format_query`.

use crate::WebState;
use crate::api::{ErrorType, error, success};
use crate::params::Params;
use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route(
            "/api/v1/rules",
            get(|| async { success(json!({ "groups": [] })) }),
        )
        .route(
            "/api/v1/alerts",
            get(|| async { success(json!({ "alerts": [] })) }),
        )
        .route(
            "/api/v1/alertmanagers",
            get(|| async {
                success(json!({ "activeAlertmanagers": [], "droppedAlertmanagers": [] }))
            }),
        )
        .route(
            "/api/v1/query_exemplars",
            get(|| async { success(json!([])) }).post(|| async { success(json!([])) }),
        )
        .route("/api/v1/format_query", get(format_query).post(format_query))
}

async fn format_query(RawQuery(q): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    match ember_promql::format_query(p.get("query").unwrap_or("")) {
        Ok(formatted) => success(json!(formatted)),
        Err(e) => error(ErrorType::BadData, e.to_string()),
    }
}
