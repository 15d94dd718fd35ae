//! Function calls. Range functions walk each series' windows; instant functions map values.

use crate::ast::{Call, Expr, MatrixSelector, ValueType};
use crate::eval::{Evaluator, Grid, RangeInput, StepSeries, Value};
use crate::value::QueryError;
use crate::{histogram, math};
use ember_model::{Labels, METRIC_NAME, MatchType, PromRegex, is_valid_label_name};
use std::collections::HashSet;

/// Evaluates a function call over the grid.
pub(crate) fn eval_call(ev: &mut Evaluator<'_>, call: &Call, grid: &Grid) -> Result<Value, QueryError> {
    let name = call.name.as_str();
    let args = &call.args;
    if let Some(f) = range_function(name) {
        return eval_range_function(ev, f, call, grid);
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
        "time" => Ok(Value::Scalar((0..grid.len).map(|i| grid.time(i) as f64 / 1000.0).collect())),
        "pi" => Ok(Value::Scalar(vec![std::f64::consts::PI; grid.len])),
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
                ev.warn(format!(
                    "PromQL warning: {name} is ineffective for range queries since results are always ordered by labels"
                ));
            } else {
                let desc = name == "sort_desc";
                v.sort_by(|a, b| {
                    let (x, y) = (a.values[0].unwrap_or(f64::NAN), b.values[0].unwrap_or(f64::NAN));
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
        "label_replace" => eval_label_replace(ev, args, grid),
        "label_join" => eval_label_join(ev, args, grid),
        "histogram_quantile" => {
            let q = ev.eval_scalar(&args[0], grid)?;
            warn_quantile_range(ev, &q);
            let v = ev.eval_vector(&args[1], grid)?;
            Ok(Value::Vector(histogram::histogram_quantile(ev, &q, v, grid.len)))
        }
        other => Err(QueryError::bad_data(format!(
            "function {other:?} is not supported yet"
        ))),
    }
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(inner) => unparen(inner),
        other => other,
    }
}

fn time_series(grid: &Grid) -> StepSeries {
    StepSeries {
        labels: Labels::empty(),
        values: (0..grid.len).map(|i| Some(grid.time(i) as f64 / 1000.0)).collect(),
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
        "sgn" => |x: f64| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { x },
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
        "clamp" => (ev.eval_scalar(&args[1], grid)?, ev.eval_scalar(&args[2], grid)?),
        "clamp_min" => (ev.eval_scalar(&args[1], grid)?, vec![f64::INFINITY; grid.len]),
        _ => (vec![f64::NEG_INFINITY; grid.len], ev.eval_scalar(&args[1], grid)?),
    };
    for s in &mut v {
        for (i, x) in s.values.iter_mut().enumerate() {
            // `clamp` with min > max returns nothing for that step.
            *x = x.and_then(|x| {
                (name != "clamp" || min[i] <= max[i])
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
            .filter(|m| m.kind == MatchType::Equal && m.name != METRIC_NAME && !dup.contains(m.name.as_str()))
            .map(|m| (m.name.clone(), m.value.clone())),
    )
}

fn absent_result(arg: &Expr, values: Vec<Option<f64>>) -> Vec<StepSeries> {
    if values.iter().all(Option::is_none) {
        return Vec::new();
    }
    vec![StepSeries {
        labels: absent_labels(arg),
        values,
        drop_name: false,
    }]
}

fn string_arg(e: &Expr) -> Result<&str, QueryError> {
    match unparen(e) {
        Expr::String(s) => Ok(s),
        _ => Err(QueryError::bad_data("expected a string argument")),
    }
}

fn eval_label_replace(ev: &mut Evaluator<'_>, args: &[Expr], grid: &Grid) -> Result<Value, QueryError> {
    let dst = string_arg(&args[1])?;
    let replacement = string_arg(&args[2])?;
    let src = string_arg(&args[3])?;
    let regex = string_arg(&args[4])?;
    let re = PromRegex::new(regex).map_err(|e| {
        QueryError::bad_data(format!("invalid regular expression in label_replace(): {regex}: {e}"))
    })?;
    if !is_valid_label_name(dst) && dst != METRIC_NAME {
        return Err(QueryError::bad_data(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(&args[0], grid)?;
    for s in &mut v {
        let value = s.labels.get(src).unwrap_or("");
        if let Some(new) = re.replace(value, replacement) {
            let mut b = s.labels.to_builder();
            b.set(dst, new);
            s.labels = b.build();
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    Ok(Value::Vector(merge_duplicates(v)?))
}

fn eval_label_join(ev: &mut Evaluator<'_>, args: &[Expr], grid: &Grid) -> Result<Value, QueryError> {
    let dst = string_arg(&args[1])?;
    let sep = string_arg(&args[2])?;
    let srcs = args[3..].iter().map(string_arg).collect::<Result<Vec<_>, _>>()?;
    if !is_valid_label_name(dst) && dst != METRIC_NAME {
        return Err(QueryError::bad_data(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(&args[0], grid)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(sep);
        let mut b = s.labels.to_builder();
        b.set(dst, joined);
        s.labels = b.build();
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Value::Vector(merge_duplicates(v)?))
}

/// Merges series that ended up with the same labels, failing when two of them have a
/// value at the same step.
pub(crate) fn merge_duplicates(v: Vec<StepSeries>) -> Result<Vec<StepSeries>, QueryError> {
    let mut index: std::collections::HashMap<(Labels, bool), usize> = Default::default();
    let mut out: Vec<StepSeries> = Vec::with_capacity(v.len());
    for s in v {
        match index.get(&(s.labels.clone(), s.drop_name)) {
            Some(&j) => {
                let target = &mut out[j];
                for (o, x) in target.values.iter_mut().zip(s.values) {
                    if let Some(x) = x {
                        if o.is_some() {
                            return Err(QueryError::execution(
                                "vector cannot contain metrics with the same labelset",
                            ));
                        }
                        *o = Some(x);
                    }
                }
            }
            None => {
                index.insert((s.labels.clone(), s.drop_name), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}

/// A function over one window of points; `RangeCtx` describes the window.
type RangeFn = fn(&RangeCtx, &[(i64, f64)]) -> Option<f64>;

/// What a range function knows about its window.
pub(crate) struct RangeCtx {
    /// Window end (inclusive), ms.
    end: i64,
    /// The evaluation time of the step (before `@` and `offset`), ms.
    step_time: i64,
    /// Range, ms.
    range_ms: i64,
    /// The scalar parameter at this step (quantile, duration, …), if any.
    param: f64,
    /// The second scalar parameter (trend factor), if any.
    param2: f64,
}

fn range_function(name: &str) -> Option<RangeFn> {
    Some(match name {
        "rate" => |c, w| math::extrapolated_rate(w, c.end - c.range_ms, c.end, true, true),
        "increase" => |c, w| math::extrapolated_rate(w, c.end - c.range_ms, c.end, true, false),
        "delta" => |c, w| math::extrapolated_rate(w, c.end - c.range_ms, c.end, false, false),
        "irate" => |_, w| math::instant_delta(w, true),
        "idelta" => |_, w| math::instant_delta(w, false),
        "resets" => |_, w| Some(w.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64),
        "changes" => |_, w| {
            Some(w.windows(2).filter(|p| !(p[1].1 == p[0].1 || (p[1].1.is_nan() && p[0].1.is_nan()))).count() as f64)
        },
        "deriv" => |_, w| (w.len() >= 2).then(|| math::linear_regression(w, w[0].0).0),
        "predict_linear" => |c, w| {
            (w.len() >= 2).then(|| {
                let (slope, intercept) = math::linear_regression(w, c.step_time);
                intercept + slope * c.param
            })
        },
        "avg_over_time" => |_, w| Some(math::mean(w.iter().map(|p| p.1))),
        "sum_over_time" => |_, w| Some(math::kahan_sum(w.iter().map(|p| p.1))),
        "count_over_time" => |_, w| Some(w.len() as f64),
        "min_over_time" => |_, w| Some(w.iter().map(|p| p.1).fold(f64::NAN, |m, x| if x < m || m.is_nan() { x } else { m })),
        "max_over_time" => |_, w| Some(w.iter().map(|p| p.1).fold(f64::NAN, |m, x| if x > m || m.is_nan() { x } else { m })),
        "last_over_time" => |_, w| w.last().map(|p| p.1),
        "first_over_time" => |_, w| w.first().map(|p| p.1),
        "present_over_time" => |_, _| Some(1.0),
        "stddev_over_time" => |_, w| Some(math::variance(w.iter().map(|p| p.1)).sqrt()),
        "stdvar_over_time" => |_, w| Some(math::variance(w.iter().map(|p| p.1))),
        "quantile_over_time" => |c, w| {
            let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
            Some(math::quantile(c.param, &mut vals))
        },
        "double_exponential_smoothing" | "holt_winters" => |c, w| math::double_exponential_smoothing(w, c.param, c.param2),
        "absent_over_time" => |_, _| None,
        _ => return None,
    })
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

/// `rate` and `increase` expect counters; Prometheus infers that from the name suffix.
fn warn_not_counter(ev: &mut Evaluator<'_>, input: &RangeInput) {
    const SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];
    for s in &input.series {
        let Some(name) = s.labels.metric_name() else {
            continue;
        };
        if !s.drop_name && !SUFFIXES.iter().any(|suffix| name.ends_with(suffix)) {
            ev.info(format!(
                "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            ));
        }
    }
}

fn eval_range_function(
    ev: &mut Evaluator<'_>,
    f: RangeFn,
    call: &Call,
    grid: &Grid,
) -> Result<Value, QueryError> {
    let name = call.name.as_str();
    // The matrix argument is first except for quantile_over_time.
    let (matrix_arg, params) = match name {
        "quantile_over_time" => (&call.args[1], &call.args[..1]),
        _ => (&call.args[0], &call.args[1..]),
    };
    let mut scalars = Vec::with_capacity(params.len());
    for p in params {
        if p.value_type() != ValueType::Scalar {
            return Err(QueryError::bad_data("expected a scalar parameter"));
        }
        scalars.push(ev.eval_scalar(p, grid)?);
    }
    if matches!(name, "double_exponential_smoothing" | "holt_winters") {
        math::check_smoothing_factors(&scalars)?;
    }
    if name == "quantile_over_time" {
        warn_quantile_range(ev, &scalars[0]);
    }
    let input: RangeInput = ev.eval_range(matrix_arg, grid)?;
    if matches!(name, "rate" | "increase") {
        warn_not_counter(ev, &input);
    }
    if name == "absent_over_time" {
        let mut values = vec![Some(1.0); grid.len];
        for s in &input.series {
            input.for_each_window(s, |i, _| values[i] = None);
        }
        return Ok(Value::Vector(absent_result(matrix_arg, values)));
    }
    let keeps_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out = Vec::with_capacity(input.series.len());
    for s in &input.series {
        let mut values = vec![None; grid.len];
        let mut any = false;
        input.for_each_window(s, |i, w| {
            let ctx = RangeCtx {
                end: input.ends[i],
                step_time: grid.time(i),
                range_ms: input.range_ms,
                param: scalars.first().map_or(0.0, |p| p[i]),
                param2: scalars.get(1).map_or(0.0, |p| p[i]),
            };
            if let Some(v) = f(&ctx, w) {
                values[i] = Some(v);
                any = true;
            }
        });
        if any {
            out.push(StepSeries {
                labels: s.labels.clone(),
                values,
                drop_name: s.drop_name || !keeps_name,
            });
        }
    }
    Ok(Value::Vector(out))
}
