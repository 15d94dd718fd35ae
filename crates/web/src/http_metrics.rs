//! `prometheus_http_*` metrics for every request, labelled by route template as
//! Prometheus labels them (`handler="/api/v1/query"`).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ember_selfmetrics::{CounterVec, HistogramVec, Registry};
use std::time::Instant;

/// The request metrics, shared by the middleware.
#[derive(Clone)]
pub(crate) struct HttpMetrics {
    requests: CounterVec,
    duration: HistogramVec,
    response_size: HistogramVec,
}

impl HttpMetrics {
    pub(crate) fn register(registry: &Registry) -> Self {
        HttpMetrics {
            requests: registry.counter_vec(
                "prometheus_http_requests_total",
                "Counter of HTTP requests.",
                &["code", "handler"],
            ),
            duration: registry.histogram_vec(
                "prometheus_http_request_duration_seconds",
                "Histogram of latencies for HTTP requests.",
                &["handler"],
                &[0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0],
            ),
            response_size: registry.histogram_vec(
                "prometheus_http_response_size_bytes",
                "Histogram of response size for HTTP requests.",
                &["handler"],
                &[100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9],
            ),
        }
    }
}

pub(crate) async fn track(
    State(metrics): State<HttpMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let handler = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let code = response.status().as_u16().to_string();
    metrics.requests.with(&[&code, &handler]).inc();
    metrics
        .duration
        .with(&[&handler])
        .observe(started.elapsed().as_secs_f64());
    if let Some(size) = response
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<f64>().ok())
    {
        metrics.response_size.with(&[&handler]).observe(size);
    }
    response
}
