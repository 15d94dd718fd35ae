//! `/federate`: the newest sample of every series matching `match[]`, in the text format.

use crate::WebState;
use crate::api::{ErrorType, error};
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

/// `match[]` values from a raw query string (axum's `Query` cannot repeat keys into a map).
pub(crate) fn repeated_param(query: &str, key: &str) -> Vec<String> {
    form_pairs(query)
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn federate(State(s): State<Arc<WebState>>, RawQuery(query): RawQuery) -> Response {
    let selectors = repeated_param(query.as_deref().unwrap_or(""), "match[]");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_params_are_decoded() {
        let q = "match%5B%5D=%7Bjob%3D~%22.%2A%22%7D&match[]=up&x=1";
        assert_eq!(repeated_param(q, "match[]"), vec![r#"{job=~".*"}"#, "up"]);
    }
}
