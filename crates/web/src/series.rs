//! `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`.

use crate::WebState;
use crate::api::{ErrorType, error, labels_json, success_with_warnings};
use crate::params::{MAX_TIME, MIN_TIME, Params};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use ember_model::Matcher;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
}

/// The parsed `match[]`, `start`, `end` and `limit` parameters.
struct Selection {
    matcher_sets: Vec<Vec<Matcher>>,
    start: i64,
    end: i64,
    limit: usize,
}

fn selection(query: Option<String>, body: &[u8]) -> Result<Selection, Response> {
    let p = Params::parse(query.as_deref().unwrap_or(""), body);
    let bad = |e: String| error(ErrorType::BadData, e);
    let start = p.time_or("start", MIN_TIME).map_err(bad)?;
    let end = p.time_or("end", MAX_TIME).map_err(bad)?;
    let limit = match p.get("limit") {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n < 0 => {
                return Err(bad(
                    "invalid parameter \"limit\": limit must be non-negative".into(),
                ));
            }
            Ok(n) => n as usize,
            Err(_) => {
                return Err(bad(format!(
                    "invalid parameter \"limit\": cannot parse {v:?} to a valid limit"
                )));
            }
        },
    };
    let matcher_sets = p
        .all("match[]")
        .iter()
        .map(|s| {
            ember_promql::parse_series_selector(s)
                .map_err(|e| bad(format!("invalid parameter \"match[]\": {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Selection {
        matcher_sets,
        start,
        end,
        limit,
    })
}

/// Prometheus 3's warning when `limit` cut a list short.
const TRUNCATED: &str = "results truncated due to limit";

/// `items` cut at `limit` (0: no limit), with Prometheus 3's warning when anything was cut.
fn limited<T>(mut items: Vec<T>, limit: usize) -> (Vec<T>, Vec<String>) {
    if limit > 0 && items.len() > limit {
        items.truncate(limit);
        (items, vec![TRUNCATED.to_string()])
    } else {
        (items, Vec::new())
    }
}

async fn series(State(s): State<Arc<WebState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let sel = match selection(q, &body) {
        Ok(sel) => sel,
        Err(r) => return r,
    };
    if sel.matcher_sets.is_empty() {
        return error(ErrorType::BadData, "no match[] parameter provided");
    }
    let querier = match s.queryable.querier(sel.start, sel.end) {
        Ok(q) => q,
        Err(e) => return error(ErrorType::Internal, e.to_string()),
    };
    let mut all = BTreeSet::new();
    for matchers in &sel.matcher_sets {
        let labels = querier.select(matchers).and_then(|set| {
            set.map(|s| s.map(|s| s.labels))
                .collect::<Result<Vec<_>, _>>()
        });
        match labels {
            Ok(labels) => all.extend(labels),
            Err(e) => return error(ErrorType::Internal, e.to_string()),
        }
    }
    let (series, warnings) = limited(all.into_iter().collect(), sel.limit);
    let out: Vec<Value> = series.iter().map(labels_json).collect();
    success_with_warnings(Value::Array(out), warnings)
}

async fn labels(State(s): State<Arc<WebState>>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    match selection(q, &body) {
        Ok(sel) => {
            union_over_match_sets(&s, sel, |querier, matchers| querier.label_names(matchers))
        }
        Err(r) => r,
    }
}

async fn label_values(
    State(s): State<Arc<WebState>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    match selection(q, b"") {
        Ok(sel) => union_over_match_sets(&s, sel, |querier, matchers| {
            querier.label_values(&name, matchers)
        }),
        Err(r) => r,
    }
}

/// Answers a names or values request: the union of `lookup` over every `match[]` set (or
/// over all series when there is none), sorted and cut at `limit`.
fn union_over_match_sets(
    s: &WebState,
    sel: Selection,
    lookup: impl Fn(
        &dyn ember_storage::Querier,
        &[Matcher],
    ) -> Result<Vec<String>, ember_storage::StorageError>,
) -> Response {
    let querier = match s.queryable.querier(sel.start, sel.end) {
        Ok(q) => q,
        Err(e) => return error(ErrorType::Internal, e.to_string()),
    };
    let sets = if sel.matcher_sets.is_empty() {
        vec![Vec::new()]
    } else {
        sel.matcher_sets
    };
    let mut all = BTreeSet::new();
    for matchers in &sets {
        match lookup(querier.as_ref(), matchers) {
            Ok(found) => all.extend(found),
            Err(e) => return error(ErrorType::Internal, e.to_string()),
        }
    }
    let (values, warnings) = limited(all.into_iter().collect::<Vec<String>>(), sel.limit);
    success_with_warnings(Value::from(values), warnings)
}
