//! `/federate`: the newest sample of every series matching `match[]`, in the text format.

use crate::WebState;
use crate::api::{ErrorType, error};
use crate::params::Params;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ember_model::{Labels, Timestamp, is_stale_nan, now_millis};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far back a sample may lie and still be federated, as Prometheus's lookback delta.
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/federate", get(federate))
}

async fn federate(State(s): State<Arc<WebState>>, RawQuery(query): RawQuery) -> Response {
    let selectors = Params::parse(query.as_deref().unwrap_or(""), b"").all("match[]");
    let mut matcher_sets = Vec::with_capacity(selectors.len());
    for sel in &selectors {
        match ember_promql::parse_series_selector(sel) {
            Ok(m) => matcher_sets.push(m),
            Err(e) => return error(ErrorType::BadData, e.to_string()),
        }
    }
    let now = now_millis();
    let querier = match s.queryable.querier(now - LOOKBACK_MS, now) {
        Ok(q) => q,
        Err(e) => return error(ErrorType::Internal, e.to_string()),
    };
    let mut newest: BTreeMap<Labels, (Timestamp, f64)> = BTreeMap::new();
    for matchers in &matcher_sets {
        let series = match querier.select(matchers) {
            Ok(s) => s,
            Err(e) => return error(ErrorType::Internal, e.to_string()),
        };
        for series in series {
            let series = match series {
                Ok(s) => s,
                Err(e) => return error(ErrorType::Internal, e.to_string()),
            };
            if let Some(&(t, v)) = series.samples.last().filter(|(_, v)| !is_stale_nan(*v)) {
                newest.insert(series.labels, (t, v));
            }
        }
    }
    let external = s
        .runtime
        .read()
        .expect("runtime config lock")
        .external_labels
        .clone();
    let body = render(newest, &external);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Groups series into untyped families by metric name, adding external labels a series lacks.
fn render(newest: BTreeMap<Labels, (Timestamp, f64)>, external: &Labels) -> String {
    let mut by_name: BTreeMap<String, Vec<(Labels, Timestamp, f64)>> = BTreeMap::new();
    for (labels, (t, v)) in newest {
        let mut b = labels.to_builder();
        for l in external.iter().filter(|l| !labels.has(&l.name)) {
            b.set(l.name.clone(), l.value.clone());
        }
        let labels = b.build();
        let name = labels.metric_name().unwrap_or_default().to_string();
        by_name.entry(name).or_default().push((labels, t, v));
    }
    let mut body = String::new();
    let mut w = ember_exposition::TextWriter::new(&mut body);
    for (name, series) in by_name {
        w.metric_type(&name, ember_exposition::MetricType::Unknown);
        for (labels, t, v) in series {
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .filter(|l| l.name != ember_model::METRIC_NAME)
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect();
            w.sample(&name, pairs.iter().copied(), v, Some(t));
        }
    }
    body
}
