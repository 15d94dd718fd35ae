//! Endpoints whose subsystems come later (rules, alerting, exemplars) answer with
//! Prometheus's empty shapes, so clients such as Grafana work today; and
//! `/api/v1/format_query` and `/api/v1/parse_query`.

use crate::WebState;
use crate::api::{ErrorType, error, success};
use crate::params::{MAX_TIME, MIN_TIME, Params};
use axum::Router;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ember_promql::ast::Expr;
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
            get(query_exemplars).post(query_exemplars),
        )
        .route("/api/v1/format_query", get(format_query).post(format_query))
        .route(
            "/api/v1/parse_query",
            get(crate::parse_query::parse_query).post(crate::parse_query::parse_query),
        )
}

async fn format_query(RawQuery(q): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    match ember_promql::format_query(p.get("query").unwrap_or("")) {
        Ok(formatted) => success(json!(formatted)),
        Err(e) => error(
            ErrorType::BadData,
            format!("invalid parameter \"query\": {e}"),
        ),
    }
}

/// No exemplar storage yet: a valid request finds no exemplars. Parameters are checked
/// as Prometheus checks them, and a query without selectors is answered, as there, with
/// `204 No Content`.
async fn query_exemplars(RawQuery(q): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), &body);
    let (start, end) = match (p.time_or("start", MIN_TIME), p.time_or("end", MAX_TIME)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return error(ErrorType::BadData, e),
    };
    if end < start {
        return error(
            ErrorType::BadData,
            "end timestamp must not be before start timestamp",
        );
    }
    match ember_promql::parse_expr(p.get("query").unwrap_or("")) {
        Err(e) => error(ErrorType::BadData, e.to_string()),
        Ok(expr) => {
            let mut selectors = false;
            expr.walk(&mut |e| {
                selectors |= matches!(e, Expr::Vector(_) | Expr::Matrix(_));
            });
            if selectors {
                success(json!([]))
            } else {
                axum::http::StatusCode::NO_CONTENT.into_response()
            }
        }
    }
}
