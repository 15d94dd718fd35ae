//! `/api/v1/metadata` and `/api/v1/targets/metadata`: metric family metadata as the
//! targets expose it (Prometheus serves it from its scrape caches, not from storage).

use crate::WebState;
use crate::api::{ErrorType, error, labels_json, success};
use crate::params::Params;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use ember_storage::Metadata;
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/targets/metadata", get(targets_metadata))
}

fn metadata_json(m: &Metadata) -> Value {
    json!({"type": m.kind.as_str(), "help": m.help, "unit": m.unit})
}

/// A non-negative limit parameter; absent, empty or negative means no limit.
fn limit_param(p: &Params, key: &str) -> Result<usize, Response> {
    match p.get(key) {
        None | Some("") => Ok(usize::MAX),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n < 0 => Ok(usize::MAX),
            Ok(n) => Ok(n as usize),
            Err(_) => Err(error(
                ErrorType::BadData,
                format!("invalid parameter \"{key}\": {v:?} is not a number"),
            )),
        },
    }
}

async fn metadata(State(s): State<Arc<WebState>>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), b"");
    let (limit, per_metric) = match (
        limit_param(&p, "limit"),
        limit_param(&p, "limit_per_metric"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let wanted = p.get("metric").filter(|m| !m.is_empty());
    let mut by_metric: std::collections::BTreeMap<String, Vec<Metadata>> = Default::default();
    for t in s.targets.active_targets() {
        for (name, m) in t
            .metadata
            .iter()
            .filter(|(name, _)| wanted.is_none_or(|w| w == name.as_str()))
        {
            let entries = by_metric.entry(name.clone()).or_default();
            if !entries.contains(m) && entries.len() < per_metric {
                entries.push(m.clone());
            }
        }
    }
    let out: Map<String, Value> = by_metric
        .into_iter()
        .take(limit)
        .map(|(name, entries)| {
            (
                name,
                Value::Array(entries.iter().map(metadata_json).collect()),
            )
        })
        .collect();
    success(Value::Object(out))
}

async fn targets_metadata(State(s): State<Arc<WebState>>, RawQuery(q): RawQuery) -> Response {
    let p = Params::parse(q.as_deref().unwrap_or(""), b"");
    let limit = match limit_param(&p, "limit") {
        Ok(l) => l,
        Err(r) => return r,
    };
    let matchers = match p.get("match_target").filter(|m| !m.is_empty()) {
        Some(sel) => match ember_promql::parse_series_selector(sel) {
            Ok(m) => m,
            Err(e) => {
                return error(
                    ErrorType::BadData,
                    format!("invalid parameter \"match_target\": {e}"),
                );
            }
        },
        None => Vec::new(),
    };
    let wanted = p.get("metric").filter(|m| !m.is_empty());
    let mut out = Vec::new();
    for t in s.targets.active_targets() {
        if !matchers
            .iter()
            .all(|m| m.matches(t.labels.get(&m.name).unwrap_or("")))
        {
            continue;
        }
        for (name, m) in t
            .metadata
            .iter()
            .filter(|(name, _)| wanted.is_none_or(|w| w == name.as_str()))
        {
            let mut entry = json!({"target": labels_json(&t.labels), "type": m.kind.as_str(), "help": m.help, "unit": m.unit});
            if wanted.is_none() {
                entry["metric"] = json!(name);
            }
            out.push(entry);
            if out.len() >= limit {
                return success(Value::Array(out));
            }
        }
    }
    success(Value::Array(out))
}
