//! Running one eval and comparing its result with Prometheus's tolerance rules.

use super::eval::{AnnotationKind, Eval, TextExpectation};
use crate::ast::{At, Expr, MatrixSelector};
use crate::math::almost_equal;
use crate::{Engine, QueryValue};
use ember_model::is_stale_nan;
use ember_storage::Queryable;

pub(super) fn run_eval<S: Queryable>(
    engine: &Engine,
    storage: &S,
    ev: &Eval,
) -> Result<(), String> {
    let result = match (ev.range, ev.range_vector) {
        (Some((s, e, step)), _) => engine.range_query_with_warnings(storage, &ev.query, s, e, step),
        (None, Some((_, end, _))) => engine.instant_query_with_warnings(storage, &ev.query, end),
        (None, None) => engine.instant_query_with_warnings(storage, &ev.query, ev.at),
    };
    let out = match (result, &ev.fail) {
        (Err(e), Some(expect)) => return check_failure(&e.message, expect),
        (Err(e), None) => return Err(format!("unexpected error: {}", e.message)),
        (Ok(_), Some(_)) => return Err("expected the query to fail".into()),
        (Ok(out), None) => out,
    };
    check_annotations(ev, &out.warnings)?;
    compare(ev, &out.value)?;
    if ev.range.is_none()
        && ev.range_vector.is_none()
        && ev.string.is_none()
        && !ev.ordered
        && !calls_any(&ev.query, engine, &["start", "end", "range", "step"])
    {
        check_range_variant(engine, storage, ev)?;
    }
    if ev.range.is_none() && ev.range_vector.is_none() {
        check_at_variant(engine, storage, ev)?;
    }
    Ok(())
}

/// Functions whose result depends on the evaluation time itself, so pinning selectors
/// with `@` changes the result.
const TIME_DEPENDENT: [&str; 15] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
    "start",
    "end",
    "range",
    "step",
];

/// True when `query` calls one of `functions`.
fn calls_any(query: &str, engine: &Engine, functions: &[&str]) -> bool {
    let Ok(expr) = engine.parse(query) else {
        return false;
    };
    let mut found = false;
    expr.walk(&mut |e| {
        if let Expr::Call(c) = e {
            found |= functions.contains(&c.name.as_str());
        }
    });
    found
}

/// Prometheus's harness also pins every selector and subquery without `@` to the eval
/// time and runs the query at other times; the result must not change.
fn check_at_variant<S: Queryable>(engine: &Engine, storage: &S, ev: &Eval) -> Result<(), String> {
    let Ok(mut expr) = engine.parse(&ev.query) else {
        return Ok(());
    };
    if calls_any(&ev.query, engine, &TIME_DEPENDENT) {
        return Ok(());
    }
    // Selectors inside a subquery follow the subquery's own steps, so pinning stops there.
    let pinned = Some(At::Timestamp(ev.at));
    expr.walk_mut(&mut |e| match e {
        Expr::Vector(sel) | Expr::Matrix(MatrixSelector { selector: sel, .. }) => {
            sel.at = sel.at.or(pinned);
            false
        }
        Expr::Subquery(sq) => {
            sq.at = sq.at.or(pinned);
            false
        }
        _ => true,
    });
    let t = ev.at;
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    for at in times {
        let value = match engine.instant_query_expr(storage, &expr, at) {
            Ok(out) => out.value,
            Err(e) => {
                return Err(format!(
                    "@ variant at {at}: unexpected error: {}",
                    e.message
                ));
            }
        };
        compare(ev, &value).map_err(|e| format!("@ variant at {at}: {e}"))?;
    }
    Ok(())
}

/// Prometheus's harness also runs every instant eval as a range query from t-1m to t+1m
/// and checks the middle step.
fn check_range_variant<S: Queryable>(
    engine: &Engine,
    storage: &S,
    ev: &Eval,
) -> Result<(), String> {
    let Ok(out) = engine.range_query(storage, &ev.query, ev.at - 60_000, ev.at + 60_000, 60_000)
    else {
        // Some instant-only expressions (strings, range vectors) cannot run as range queries.
        return Ok(());
    };
    let QueryValue::Matrix(m) = out else {
        return Err("range variant returned a non-matrix".into());
    };
    let middle: Vec<crate::Sample> = m
        .into_iter()
        .filter_map(|s| {
            s.points
                .iter()
                .find(|p| p.0 == ev.at)
                .map(|p| crate::Sample {
                    labels: s.labels.clone(),
                    t: p.0,
                    v: p.1,
                })
        })
        .collect();
    let value = match ev.scalar {
        Some(_) => QueryValue::Scalar {
            t: ev.at,
            v: middle.first().map_or(f64::NAN, |s| s.v),
        },
        None => QueryValue::Vector(middle),
    };
    compare(ev, &value).map_err(|e| format!("range variant: {e}"))
}

fn check_failure(msg: &str, expect: &TextExpectation) -> Result<(), String> {
    if expect.matches(msg)? {
        Ok(())
    } else {
        Err(format!("expected error {expect:?}, got {msg:?}"))
    }
}

/// Annotations as the harness checks them: `no_*` forbids a kind; otherwise, when
/// expectations of a kind exist, each must match an annotation and each annotation of
/// that kind must match an expectation.
///
/// Prometheus ends annotation texts with the expression's position (`(1:25)`); Ember
/// reports no positions yet, so `(1:1)` stands in when comparing.
fn check_annotations(ev: &Eval, warnings: &[String]) -> Result<(), String> {
    let texts: Vec<(AnnotationKind, String)> = warnings
        .iter()
        .filter_map(|w| AnnotationKind::of(w).map(|k| (k, format!("{w} (1:1)"))))
        .collect();
    for (kind, forbidden) in [
        (AnnotationKind::Warning, ev.no_warn),
        (AnnotationKind::Info, ev.no_info),
    ] {
        let actual: Vec<&str> = texts
            .iter()
            .filter(|t| t.0 == kind)
            .map(|t| t.1.as_str())
            .collect();
        let expected: Vec<&TextExpectation> = ev
            .annotations
            .iter()
            .filter(|a| a.0 == kind)
            .map(|a| &a.1)
            .collect();
        if forbidden && !actual.is_empty() {
            return Err(format!("unexpected {kind:?} annotations: {actual:?}"));
        }
        if expected.is_empty() {
            continue;
        }
        for e in &expected {
            let mut found = false;
            for text in &actual {
                found |= e.matches(&normalize_position(text, e))?;
            }
            if !found {
                return Err(format!(
                    "no {kind:?} annotation matches {e:?}; got {actual:?}"
                ));
            }
        }
        for text in &actual {
            let mut found = false;
            for e in &expected {
                found |= e.matches(&normalize_position(text, e))?;
            }
            if !found {
                return Err(format!("unexpected {kind:?} annotation {text:?}"));
            }
        }
    }
    Ok(())
}

/// Gives our stand-in position the expected text's position, so expectations compare on
/// the message alone.
fn normalize_position(text: &str, expected: &TextExpectation) -> String {
    let Some(base) = text.strip_suffix(" (1:1)") else {
        return text.to_string();
    };
    let position = match expected {
        TextExpectation::Message(m) if m.ends_with(')') => m.rfind(" (").map(|i| &m[i..]),
        TextExpectation::Regex(r) if r.ends_with("\\)") => r.rfind(" \\(").map(|i| &r[i..]),
        _ => None,
    };
    let literal = position.map(|p| p.replace('\\', ""));
    match literal {
        Some(p) if is_position(&p) => format!("{base}{p}"),
        _ => text.to_string(),
    }
}

/// True for ` (12:34)`.
fn is_position(s: &str) -> bool {
    s.strip_prefix(" (")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.split_once(':'))
        .is_some_and(|(a, b)| {
            [a, b]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        })
}

/// Float equality as Prometheus's harness checks it.
fn same_value(expected: f64, actual: f64) -> bool {
    if is_stale_nan(expected) || is_stale_nan(actual) {
        return is_stale_nan(expected) && is_stale_nan(actual);
    }
    if expected.is_nan() && actual.is_nan() {
        return true;
    }
    almost_equal(expected, actual, 1e-6)
}

fn compare(ev: &Eval, value: &QueryValue) -> Result<(), String> {
    if let Some(want) = &ev.string {
        return match value {
            QueryValue::String { v, .. } if v == want => Ok(()),
            other => Err(format!("expected string {want:?}, got {other:?}")),
        };
    }
    if let Some(want) = ev.scalar {
        return match value {
            QueryValue::Scalar { v, .. } if same_value(want, *v) => Ok(()),
            other => Err(format!("expected scalar {want}, got {other:?}")),
        };
    }
    match value {
        QueryValue::Vector(samples) => compare_vector(ev, samples),
        QueryValue::Matrix(series) => compare_matrix(ev, series),
        other => Err(format!("expected a vector, got {other:?}")),
    }
}

fn compare_vector(ev: &Eval, samples: &[crate::Sample]) -> Result<(), String> {
    if samples.len() != ev.series.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            ev.series.len(),
            samples.len(),
            samples
                .iter()
                .map(|s| format!("{} {}", s.labels, s.v))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (pos, (labels, values)) in ev.series.iter().enumerate() {
        let want = values
            .first()
            .copied()
            .flatten()
            .ok_or("expected sample without value")?;
        let found = samples.iter().position(|s| &s.labels == labels);
        let Some(idx) = found else {
            return Err(format!("missing sample {labels}"));
        };
        if ev.ordered && idx != pos {
            return Err(format!("sample {labels} at position {idx}, expected {pos}"));
        }
        if !same_value(want, samples[idx].v) {
            return Err(format!("{labels}: expected {want}, got {}", samples[idx].v));
        }
    }
    Ok(())
}

fn compare_matrix(ev: &Eval, series: &[crate::SeriesPoints]) -> Result<(), String> {
    let (start, step) = match (ev.range, ev.range_vector) {
        (Some((s, _, step)), _) | (None, Some((s, _, step))) => (s, step),
        (None, None) => return Err("got a range vector for an instant eval".into()),
    };
    if series.len() != ev.series.len() {
        return Err(format!(
            "expected {} series, got {}: {}",
            ev.series.len(),
            series.len(),
            series
                .iter()
                .map(|s| s.labels.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (labels, values) in &ev.series {
        let got = series
            .iter()
            .find(|s| &s.labels == labels)
            .ok_or_else(|| format!("missing series {labels}"))?;
        let want: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (start + k as i64 * step, v)))
            .collect();
        let same = want.len() == got.points.len()
            && want
                .iter()
                .zip(&got.points)
                .all(|(w, g)| w.0 == g.0 && same_value(w.1, g.1));
        if !same {
            return Err(format!("{labels}: expected {want:?}, got {:?}", got.points));
        }
    }
    Ok(())
}
