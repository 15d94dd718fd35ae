//! `/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit` and `/metrics`.

use crate::WebState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", axum::routing::post(reload).put(reload))
        .route("/-/quit", axum::routing::post(quit).put(quit))
        .route("/metrics", get(metrics))
}

async fn healthy() -> &'static str {
    "Prometheus Server is Healthy.\n"
}

async fn ready(State(s): State<Arc<WebState>>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        "Prometheus Server is Ready.\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

async fn reload(State(s): State<Arc<WebState>>) -> Response {
    if !s.options.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
    }
    let reload = s.reload.clone();
    match tokio::task::spawn_blocking(move || reload()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

async fn quit(State(s): State<Arc<WebState>>) -> Response {
    if !s.options.enable_lifecycle {
        return (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response();
    }
    s.quit.cancel();
    "Requesting termination... Goodbye!\n".into_response()
}

async fn metrics(State(s): State<Arc<WebState>>) -> Response {
    let body = s.registry.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
