//! Function calls. Instant functions map values here; range functions ([`range`]) walk
//! each series' windows; label functions live in [`labels`].

mod labels;
mod range;

pub(crate) use labels::merge_duplicates;

use crate::ast::{Call, Expr, MatrixSelector};
use crate::eval::{Evaluator, Grid, StepSeries, Value};
use crate::value::QueryError;
use crate::{histogram, math};
use ember_model::{Labels, METRIC_NAME, MatchType};
use std::collections::HashSet;

/// Evaluates a function call over the grid.
pub(crate) fn eval_call(
    ev: &mut Evaluator<'_>,
    call: &Call,
    grid: &Grid,
) -> Result<Value, QueryError> {
    let name = call.name.as_str();
    let args = &call.args;
    if let Some(f) = range::range_function(name) {
        return range::eval_range_function(ev, f, call, grid);
    }
    if let Some(f) = math_function(name) {
        let mut v = ev.eval_vector(&args[0], grid)?;
        map_values(&mut v, f);
        return Ok(Value::Vector(v));
    }
    if let Some(f) = date_function(name) {
        let mut v = match args.first() {
            Some(arg) => ev.eval_vector(arg, grid)?,
            None => vec![time_series(grid)],
        };
        map_values(&mut v, |secs| {
            if secs.is_finite() {
                f(math::civil_from_seconds(secs as i64))
            } else {
                f64::NAN
            }
        });
        return Ok(Value::Vector(v));
    }
    match name {
        "time" => Ok(Value::Scalar(
            (0..grid.len)
                .map(|i| grid.time(i) as f64 / 1000.0)
                .collect(),
        )),
        "pi" => Ok(Value::Scalar(vec![std::f64::consts::PI; grid.len])),
        "start" => Ok(Value::Scalar(vec![
            ev.query_start as f64 / 1000.0;
            grid.len
        ])),
        "end" => Ok(Value::Scalar(vec![ev.query_end as f64 / 1000.0; grid.len])),
        "range" => Ok(Value::Scalar(vec![
            (ev.query_end - ev.query_start) as f64
                / 1000.0;
            grid.len
        ])),
        "step" => Ok(Value::Scalar(vec![ev.query_step as f64 / 1000.0; grid.len])),
        "sort_by_label" | "sort_by_label_desc" => {
            let names = args[1..]
                .iter()
                .map(string_arg)
                .collect::<Result<Vec<_>, _>>()?;
            let mut v = ev.eval_vector(&args[0], grid)?;
            let desc = name == "sort_by_label_desc";
            // The full label set breaks ties, in the same direction.
            v.sort_by(|a, b| {
                let by_labels = names
                    .iter()
                    .map(|n| {
                        labels::natural_cmp(
                            a.labels.get(n).unwrap_or(""),
                            b.labels.get(n).unwrap_or(""),
                        )
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or_else(|| a.labels.cmp(&b.labels));
                if desc { by_labels.reverse() } else { by_labels }
            });
            Ok(Value::Vector(v))
        }
        "vector" => {
            let s = ev.eval_scalar(&args[0], grid)?;
            Ok(Value::Vector(vec![StepSeries {
                labels: Labels::empty(),
                values: s.into_iter().map(Some).collect(),
                drop_name: false,
            }]))
        }
        "scalar" => {
            let v = ev.eval_vector(&args[0], grid)?;
            let mut out = vec![f64::NAN; grid.len];
            let mut counts = vec![0u32; grid.len];
            for s in &v {
                for (i, x) in s.values.iter().enumerate() {
                    if let Some(x) = x {
                        counts[i] += 1;
                        out[i] = *x;
                    }
                }
            }
            for (o, c) in out.iter_mut().zip(counts) {
                if c != 1 {
                    *o = f64::NAN;
                }
            }
            Ok(Value::Scalar(out))
        }
        "round" => {
            let mut v = ev.eval_vector(&args[0], grid)?;
            let to = match args.get(1) {
                Some(a) => ev.eval_scalar(a, grid)?,
                None => vec![1.0; grid.len],
            };
            map_values_at(&mut v, |i, x| {
                let inv = 1.0 / to[i];
                (x * inv + 0.5).floor() / inv
            });
            Ok(Value::Vector(v))
        }
        "clamp" | "clamp_min" | "clamp_max" => eval_clamp(ev, name, args, grid),
        "timestamp" => {
            let mut v = match unparen(&args[0]) {
                Expr::Vector(sel) => ev.eval_vector_selector(sel, grid, true)?,
                other => {
                    let mut v = ev.eval_vector(other, grid)?;
                    map_values_at(&mut v, |i, _| grid.time(i) as f64 / 1000.0);
                    v
                }
            };
            v.iter_mut().for_each(|s| s.drop_name = true);
            Ok(Value::Vector(v))
        }
        "sort" | "sort_desc" => {
            let mut v = ev.eval_vector(&args[0], grid)?;
            if grid.len > 1 {
                ev.warn(
                    "PromQL warning: sort is ineffective for range queries since results are always ordered by labels".into(),
                );
            } else {
                let desc = name == "sort_desc";
                v.sort_by(|a, b| {
                    let (x, y) = (
                        a.values[0].unwrap_or(f64::NAN),
                        b.values[0].unwrap_or(f64::NAN),
                    );
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if desc => y.total_cmp(&x),
                        _ => x.total_cmp(&y),
                    }
                });
            }
            Ok(Value::Vector(v))
        }
        "absent" => {
            let v = ev.eval_vector(&args[0], grid)?;
            let mut values = vec![Some(1.0); grid.len];
            for s in &v {
                for (o, x) in values.iter_mut().zip(&s.values) {
                    if x.is_some() {
                        *o = None;
                    }
                }
            }
            Ok(Value::Vector(absent_result(&args[0], values)))
        }
        // Native-histogram functions skip float samples, and Ember stores float samples
        // only: the arguments are evaluated (for their errors) and the result is empty.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" | "histogram_fraction" => {
            for arg in args {
                ev.eval(arg, grid)?;
            }
            Ok(Value::Vector(Vec::new()))
        }
        "label_replace" => labels::eval_label_replace(ev, args, grid),
        "label_join" => labels::eval_label_join(ev, args, grid),
        "histogram_quantile" => {
            let q = ev.eval_scalar(&args[0], grid)?;
            warn_quantile_range(ev, &q);
            let v = ev.eval_vector(&args[1], grid)?;
            Ok(Value::Vector(histogram::histogram_quantile(
                ev, &q, v, grid.len,
            )))
        }
        other => Err(QueryError::bad_data(format!(
            "function {other:?} is not supported yet"
        ))),
    }
}

pub(super) fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(inner) => unparen(inner),
        other => other,
    }
}

fn time_series(grid: &Grid) -> StepSeries {
    StepSeries {
        labels: Labels::empty(),
        values: (0..grid.len)
            .map(|i| Some(grid.time(i) as f64 / 1000.0))
            .collect(),
        drop_name: false,
    }
}

/// Applies `f` to every value and marks the name for removal.
fn map_values(v: &mut [StepSeries], f: impl Fn(f64) -> f64) {
    map_values_at(v, |_, x| f(x));
}

/// Applies `f(step, value)` to every value and marks the name for removal.
fn map_values_at(v: &mut [StepSeries], f: impl Fn(usize, f64) -> f64) {
    for s in v {
        for (i, x) in s.values.iter_mut().enumerate() {
            if let Some(x) = x {
                *x = f(i, *x);
            }
        }
        s.drop_name = true;
    }
}

fn math_function(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => f64::to_degrees,
        "rad" => f64::to_radians,
        _ => return None,
    })
}

fn date_function(name: &str) -> Option<fn(math::Civil) -> f64> {
    Some(match name {
        "year" => |c: math::Civil| c.year as f64,
        "month" => |c: math::Civil| c.month as f64,
        "day_of_month" => |c: math::Civil| c.day as f64,
        "day_of_year" => |c: math::Civil| c.day_of_year as f64,
        "day_of_week" => |c: math::Civil| c.weekday as f64,
        "days_in_month" => |c: math::Civil| c.days_in_month as f64,
        "hour" => |c: math::Civil| c.hour as f64,
        "minute" => |c: math::Civil| c.minute as f64,
        _ => return None,
    })
}

fn eval_clamp(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: &[Expr],
    grid: &Grid,
) -> Result<Value, QueryError> {
    let mut v = ev.eval_vector(&args[0], grid)?;
    let (min, max) = match name {
        "clamp" => (
            ev.eval_scalar(&args[1], grid)?,
            ev.eval_scalar(&args[2], grid)?,
        ),
        "clamp_min" => (
            ev.eval_scalar(&args[1], grid)?,
            vec![f64::INFINITY; grid.len],
        ),
        _ => (
            vec![f64::NEG_INFINITY; grid.len],
            ev.eval_scalar(&args[1], grid)?,
        ),
    };
    for s in &mut v {
        for (i, x) in s.values.iter_mut().enumerate() {
            // `clamp` with min > max returns nothing for that step; a NaN bound is not
            // "greater", so it yields NaN values.
            *x = x.and_then(|x| {
                (name != "clamp" || min[i].is_nan() || max[i].is_nan() || min[i] <= max[i])
                    .then(|| math::go_max(min[i], math::go_min(max[i], x)))
            });
        }
        s.drop_name = true;
    }
    v.retain(|s| s.values.iter().any(Option::is_some));
    Ok(Value::Vector(v))
}

/// Labels for `absent`/`absent_over_time`: the selector's equality matchers, except
/// names matched more than once.
fn absent_labels(arg: &Expr) -> Labels {
    let matchers = match unparen(arg) {
        Expr::Vector(sel) => &sel.matchers,
        Expr::Matrix(MatrixSelector { selector, .. }) => &selector.matchers,
        _ => return Labels::empty(),
    };
    let mut seen = HashSet::new();
    let mut dup = HashSet::new();
    for m in matchers {
        if !seen.insert(m.name.as_str()) {
            dup.insert(m.name.as_str());
        }
    }
    Labels::from_pairs(
        matchers
            .iter()
            .filter(|m| {
                m.kind == MatchType::Equal
                    && m.name != METRIC_NAME
                    && !dup.contains(m.name.as_str())
            })
            .map(|m| (m.name.clone(), m.value.clone())),
    )
}

pub(super) fn absent_result(arg: &Expr, values: Vec<Option<f64>>) -> Vec<StepSeries> {
    if values.iter().all(Option::is_none) {
        return Vec::new();
    }
    vec![StepSeries {
        labels: absent_labels(arg),
        values,
        drop_name: false,
    }]
}

pub(super) fn string_arg(e: &Expr) -> Result<&str, QueryError> {
    match unparen(e) {
        Expr::String(s) => Ok(s),
        _ => Err(QueryError::bad_data("expected a string argument")),
    }
}

/// Warns once when a quantile parameter lies outside [0, 1].
pub(crate) fn warn_quantile_range(ev: &mut Evaluator<'_>, q: &[f64]) {
    if let Some(bad) = q.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        ev.warn(format!(
            "PromQL warning: quantile value should be between 0 and 1, got {}",
            crate::aggregate::format_float(*bad)
        ));
    }
}
