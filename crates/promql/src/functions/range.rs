//! Range-vector functions: one kernel per window, applied series by series.

use super::{absent_result, unparen, warn_quantile_range};
use crate::ast::{Call, Expr, ValueType};
use crate::eval::{Evaluator, Grid, RangeInput, RangeSeries, StepSeries, Value, Windows};
use crate::math;
use crate::value::QueryError;

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

pub(super) fn range_function(name: &str) -> Option<RangeFn> {
    Some(match name {
        "rate" => |c, w| math::extrapolated_rate(w, c.end - c.range_ms, c.end, true, true),
        "increase" => |c, w| math::extrapolated_rate(w, c.end - c.range_ms, c.end, true, false),
        "delta" => |c, w| math::extrapolated_rate(w, c.end - c.range_ms, c.end, false, false),
        "irate" => |_, w| math::instant_delta(w, true),
        "idelta" => |_, w| math::instant_delta(w, false),
        "resets" => |_, w| Some(w.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64),
        "changes" => |_, w| {
            Some(
                w.windows(2)
                    .filter(|p| !(p[1].1 == p[0].1 || (p[1].1.is_nan() && p[0].1.is_nan())))
                    .count() as f64,
            )
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
        "min_over_time" => |_, w| {
            Some(
                w.iter()
                    .map(|p| p.1)
                    .fold(f64::NAN, |m, x| if x < m || m.is_nan() { x } else { m }),
            )
        },
        "max_over_time" => |_, w| {
            Some(
                w.iter()
                    .map(|p| p.1)
                    .fold(f64::NAN, |m, x| if x > m || m.is_nan() { x } else { m }),
            )
        },
        "last_over_time" => |_, w| w.last().map(|p| p.1),
        "first_over_time" => |_, w| w.first().map(|p| p.1),
        "present_over_time" => |_, _| Some(1.0),
        "stddev_over_time" => |_, w| Some(math::variance(w.iter().map(|p| p.1)).sqrt()),
        "stdvar_over_time" => |_, w| Some(math::variance(w.iter().map(|p| p.1))),
        "quantile_over_time" => |c, w| {
            let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
            Some(math::quantile(c.param, &mut vals))
        },
        "double_exponential_smoothing" | "holt_winters" => {
            |c, w| math::double_exponential_smoothing(w, c.param, c.param2)
        }
        "absent_over_time" => |_, _| None,
        "mad_over_time" => |_, w| {
            if w.iter().any(|p| p.1.is_nan()) {
                return Some(f64::NAN);
            }
            let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
            let median = math::quantile(0.5, &mut vals);
            vals.iter_mut().for_each(|v| *v = (*v - median).abs());
            Some(math::quantile(0.5, &mut vals))
        },
        "ts_of_first_over_time" => |_, w| w.first().map(|p| p.0 as f64 / 1000.0),
        "ts_of_last_over_time" => |_, w| w.last().map(|p| p.0 as f64 / 1000.0),
        // The latest of equal extremes wins; NaN only when every value is NaN.
        "ts_of_min_over_time" => |_, w| extreme_time(w, |cur, best| cur <= best),
        "ts_of_max_over_time" => |_, w| extreme_time(w, |cur, best| cur >= best),
        _ => return None,
    })
}

/// `rate` and `increase` expect counters; Prometheus infers that from the name suffix.
fn warn_not_counter<'a>(ev: &mut Evaluator<'_>, names: impl IntoIterator<Item = &'a str>) {
    const SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];
    for name in names {
        if !SUFFIXES.iter().any(|suffix| name.ends_with(suffix)) {
            ev.info(format!(
                "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
            ));
        }
    }
}

/// The timestamp (seconds) of the sample preferred by `better(candidate, best)`.
fn extreme_time(w: &[(i64, f64)], better: fn(f64, f64) -> bool) -> Option<f64> {
    let mut best = *w.first()?;
    for &p in &w[1..] {
        if better(p.1, best.1) || best.1.is_nan() {
            best = p;
        }
    }
    Some(best.0 as f64 / 1000.0)
}

pub(super) fn eval_range_function(
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
    let counter_check = matches!(name, "rate" | "increase");
    let keeps_name = matches!(name, "last_over_time" | "first_over_time");
    let apply = |windows: &Windows, s: RangeSeries| {
        apply_windows(f, windows, s, grid, &scalars, keeps_name)
    };
    // A selector argument is read and reduced series by series: no raw samples are kept.
    if let (Expr::Matrix(m), false) = (unparen(matrix_arg), name == "absent_over_time") {
        let (selected, _) = ev.map_matrix_selector(m, grid, |s: &StepSeries| &s.labels, apply)?;
        if counter_check {
            warn_not_counter(ev, selected.names.iter().map(String::as_str));
        }
        return Ok(Value::Vector(selected.series));
    }
    let input: RangeInput = ev.eval_range(matrix_arg, grid)?;
    if counter_check {
        let names = input
            .series
            .iter()
            .filter(|s| !s.drop_name)
            .filter_map(|s| s.labels.metric_name());
        warn_not_counter(ev, names);
    }
    if name == "absent_over_time" {
        let mut values = vec![Some(1.0); grid.len];
        for s in &input.series {
            input.windows.for_each(&s.points, |i, _| values[i] = None);
        }
        return Ok(Value::Vector(absent_result(matrix_arg, values)));
    }
    let windows = &input.windows;
    let out = input
        .series
        .into_iter()
        .filter_map(|s| apply(windows, s))
        .collect();
    Ok(Value::Vector(out))
}

/// `f` over every window of series `s`; `None` when no window gave a value.
fn apply_windows(
    f: RangeFn,
    windows: &Windows,
    s: RangeSeries,
    grid: &Grid,
    scalars: &[Vec<f64>],
    keeps_name: bool,
) -> Option<StepSeries> {
    let mut values = vec![None; grid.len];
    let mut any = false;
    windows.for_each(&s.points, |i, w| {
        let ctx = RangeCtx {
            end: windows.ends[i],
            step_time: grid.time(i),
            range_ms: windows.range_ms,
            param: scalars.first().map_or(0.0, |p| p[i]),
            param2: scalars.get(1).map_or(0.0, |p| p[i]),
        };
        if let Some(v) = f(&ctx, w) {
            values[i] = Some(v);
            any = true;
        }
    });
    any.then_some(StepSeries {
        labels: s.labels,
        values,
        drop_name: s.drop_name || !keeps_name,
    })
}
