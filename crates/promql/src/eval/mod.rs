//! The evaluator: every expression is evaluated over a whole [`Grid`] of step timestamps at
//! once, series by series, so an instant query is simply a one-step grid.
//!
//! Instant vectors are dense per step ([`StepSeries`]): operators that pair series across
//! steps (binary operators, aggregations) compute their matching keys once per series and
//! then walk the steps by index, without hashing labels per step.

mod selector;

use crate::aggregate;
use crate::ast::{At, Expr, ValueType};
use crate::binary;
use crate::functions;
use crate::value::QueryError;
use ember_model::Labels;
use ember_storage::Queryable;
use std::time::Instant;

/// Evaluation timestamps `start, start + step, …` (`len` of them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Grid {
    pub(crate) start: i64,
    pub(crate) step: i64,
    pub(crate) len: usize,
}

impl Grid {
    /// The timestamp of step `i`.
    pub(crate) fn time(&self, i: usize) -> i64 {
        self.start + self.step * i as i64
    }
}

/// One series of an instant vector over the grid: `values[i]` is the value at step `i`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StepSeries {
    pub(crate) labels: Labels,
    pub(crate) values: Vec<Option<f64>>,
    /// Set when `__name__` is to be removed at the end of evaluation (Prometheus 3's
    /// delayed name removal): until then the name still distinguishes series.
    pub(crate) drop_name: bool,
}

/// One series of a range vector: raw points in time order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RangeSeries {
    pub(crate) labels: Labels,
    pub(crate) points: Vec<(i64, f64)>,
    pub(crate) drop_name: bool,
}

/// An intermediate result.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// One value per step.
    Scalar(Vec<f64>),
    String(String),
    Vector(Vec<StepSeries>),
    /// Only produced for an instant evaluation of a range expression.
    Matrix(Vec<RangeSeries>),
}

/// The windows `(end - range, end]` a range expression is evaluated for, one per step.
pub(crate) struct Windows {
    pub(crate) range_ms: i64,
    /// Window end per step (after `@` and `offset`).
    pub(crate) ends: Vec<i64>,
}

impl Windows {
    /// Calls `f(step, window)` for every step whose window holds at least one of `points`.
    pub(crate) fn for_each(&self, points: &[(i64, f64)], mut f: impl FnMut(usize, &[(i64, f64)])) {
        for (i, &end) in self.ends.iter().enumerate() {
            let start = end - self.range_ms;
            // Windows move forward with the steps except under `@`, so search each time;
            // it is logarithmic and keeps `@` correct.
            let lo = points.partition_point(|p| p.0 <= start);
            let hi = points.partition_point(|p| p.0 <= end);
            if lo < hi {
                f(i, &points[lo..hi]);
            }
        }
    }
}

/// Range-vector input of a function: the series and the windows.
pub(crate) struct RangeInput {
    pub(crate) series: Vec<RangeSeries>,
    pub(crate) windows: Windows,
}

/// Per-query evaluation state.
pub(crate) struct Evaluator<'a> {
    pub(crate) storage: &'a dyn Queryable,
    pub(crate) lookback_ms: i64,
    pub(crate) max_samples: usize,
    pub(crate) deadline: Option<Instant>,
    pub(crate) subquery_step_ms: i64,
    pub(crate) query_start: i64,
    pub(crate) query_end: i64,
    /// The query's step; 0 for instant queries.
    pub(crate) query_step: i64,
    pub(crate) warnings: Vec<String>,
    /// Samples read per step of the query's grid, for `stats` (see [`Evaluator::count_samples`]).
    pub(crate) samples_per_step: Vec<u64>,
    /// The largest number of samples one selector returned.
    pub(crate) peak_samples: u64,
}

/// Fails once `deadline` has passed.
pub(crate) fn check_deadline(deadline: Option<Instant>) -> Result<(), QueryError> {
    match deadline {
        Some(d) if Instant::now() > d => Err(QueryError {
            kind: crate::value::ErrorKind::Timeout,
            message: "query timed out in expression evaluation".into(),
        }),
        _ => Ok(()),
    }
}

pub(crate) const TOO_MANY_SAMPLES: &str =
    "query processing would load too many samples into memory in query execution";

impl Evaluator<'_> {
    /// Fails once the query has run past its deadline.
    pub(crate) fn check_deadline(&self) -> Result<(), QueryError> {
        check_deadline(self.deadline)
    }

    /// Fails when one step would hold more samples than allowed.
    pub(crate) fn check_samples(&self, count: usize) -> Result<(), QueryError> {
        if count > self.max_samples {
            return Err(QueryError::execution(TOO_MANY_SAMPLES));
        }
        Ok(())
    }

    /// Checks a selector's per-step sample counts against the limit, then adds them to
    /// the query's statistics.
    pub(crate) fn account_samples(&mut self, per_step: &[usize]) -> Result<(), QueryError> {
        self.check_samples(per_step.iter().copied().max().unwrap_or(0))?;
        self.count_samples(per_step);
        Ok(())
    }

    /// Adds a selector's per-step sample counts to the query's statistics. Selectors
    /// inside a subquery are evaluated on the subquery's own grid; their counts are
    /// discarded there (Prometheus counts only the subquery's output windows).
    pub(crate) fn count_samples(&mut self, per_step: &[usize]) {
        if self.samples_per_step.len() < per_step.len() {
            self.samples_per_step.resize(per_step.len(), 0);
        }
        for (total, &n) in self.samples_per_step.iter_mut().zip(per_step) {
            *total += n as u64;
        }
        let held: usize = per_step.iter().sum();
        self.peak_samples = self.peak_samples.max(held as u64);
    }

    /// Records a warning annotation (once per distinct text).
    pub(crate) fn warn(&mut self, text: String) {
        if !self.warnings.contains(&text) {
            self.warnings.push(text);
        }
    }

    /// Records an info annotation (once per distinct text).
    pub(crate) fn info(&mut self, text: String) {
        self.warn(text);
    }

    /// The absolute time of an `@` modifier.
    pub(crate) fn at_time(&self, at: At) -> i64 {
        match at {
            At::Timestamp(t) => t,
            At::Start => self.query_start,
            At::End => self.query_end,
        }
    }

    /// Per-step reference times of a selector or subquery: `@` pins them, `offset` shifts.
    pub(crate) fn ref_times(&self, grid: &Grid, at: Option<At>, offset_ms: i64) -> Vec<i64> {
        let pinned = at.map(|a| self.at_time(a));
        (0..grid.len)
            .map(|i| pinned.unwrap_or_else(|| grid.time(i)) - offset_ms)
            .collect()
    }

    /// Evaluates `expr` at every step of `grid`.
    pub(crate) fn eval(&mut self, expr: &Expr, grid: &Grid) -> Result<Value, QueryError> {
        self.check_deadline()?;
        match expr {
            Expr::Number(v) => Ok(Value::Scalar(vec![*v; grid.len])),
            Expr::String(s) => Ok(Value::String(s.clone())),
            Expr::Paren(e) => self.eval(e, grid),
            Expr::Vector(sel) => Ok(Value::Vector(self.eval_vector_selector(sel, grid, false)?)),
            Expr::Matrix(_) | Expr::Subquery(_) => {
                let input = self.eval_range(expr, grid)?;
                Ok(Value::Matrix(input.windowed_at_last_step()))
            }
            Expr::Negate(e) => Ok(match self.eval(e, grid)? {
                Value::Scalar(v) => Value::Scalar(v.into_iter().map(|x| -x).collect()),
                Value::Vector(mut vs) => {
                    for s in &mut vs {
                        s.values.iter_mut().flatten().for_each(|x| *x = -*x);
                        s.drop_name = true;
                    }
                    Value::Vector(vs)
                }
                other => other,
            }),
            Expr::Call(call) => functions::eval_call(self, call, grid),
            Expr::Aggregate(agg) => aggregate::eval_aggregate(self, agg, grid),
            Expr::Binary(bin) => binary::eval_binary(self, bin, grid),
        }
    }

    /// Evaluates to an instant vector (the caller has type-checked the expression).
    pub(crate) fn eval_vector(
        &mut self,
        expr: &Expr,
        grid: &Grid,
    ) -> Result<Vec<StepSeries>, QueryError> {
        match self.eval(expr, grid)? {
            Value::Vector(v) => Ok(v),
            _ => Err(type_error(expr, ValueType::Vector)),
        }
    }

    /// Evaluates to one scalar per step.
    pub(crate) fn eval_scalar(&mut self, expr: &Expr, grid: &Grid) -> Result<Vec<f64>, QueryError> {
        match self.eval(expr, grid)? {
            Value::Scalar(v) => Ok(v),
            _ => Err(type_error(expr, ValueType::Scalar)),
        }
    }

    /// Evaluates a range expression (matrix selector or subquery) for windows ending at
    /// each step.
    pub(crate) fn eval_range(
        &mut self,
        expr: &Expr,
        grid: &Grid,
    ) -> Result<RangeInput, QueryError> {
        match expr {
            Expr::Paren(e) => self.eval_range(e, grid),
            Expr::Matrix(m) => self.eval_matrix_selector(m, grid),
            Expr::Subquery(sq) => self.eval_subquery(sq, grid),
            other => Err(type_error(other, ValueType::Matrix)),
        }
    }
}

impl RangeInput {
    /// The raw points of the last step's window of every series (an instant query of a
    /// range expression).
    fn windowed_at_last_step(self) -> Vec<RangeSeries> {
        let Some(&end) = self.windows.ends.last() else {
            return Vec::new();
        };
        let start = end - self.windows.range_ms;
        self.series
            .into_iter()
            .filter_map(|mut s| {
                s.points.retain(|p| p.0 > start && p.0 <= end);
                (!s.points.is_empty()).then_some(s)
            })
            .collect()
    }
}

fn type_error(expr: &Expr, want: ValueType) -> QueryError {
    QueryError::bad_data(format!(
        "expected type {} in expression, got {}",
        want.name(),
        expr.value_type().name()
    ))
}
