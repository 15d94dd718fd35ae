//! Selectors and subqueries: the only code that reads storage. Series stream in one at a
//! time ([`for_each_series`]): a vector selector keeps only each series' step values.

use super::{Evaluator, Grid, RangeInput, RangeSeries, StepSeries};
use crate::ast::{MatrixSelector, Subquery, VectorSelector};
use crate::value::QueryError;
use ember_model::{Matcher, is_stale_nan};
use ember_storage::Series;

/// Calls `visit` with every series matching `matchers`, with its samples in
/// `[mint, maxt]`, in label order, as storage decodes them; stops at the deadline.
fn for_each_series(
    ev: &Evaluator<'_>,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
    mut visit: impl FnMut(Series),
) -> Result<(), QueryError> {
    let internal = |e: ember_storage::StorageError| QueryError::internal(e.to_string());
    let querier = ev.storage.querier(mint, maxt).map_err(internal)?;
    for (i, series) in querier.select(matchers).map_err(internal)?.enumerate() {
        if i % 1024 == 1023 {
            ev.check_deadline()?;
        }
        visit(series.map_err(internal)?);
    }
    Ok(())
}

fn min_max(times: &[i64]) -> (i64, i64) {
    let min = times.iter().copied().min().unwrap_or(0);
    let max = times.iter().copied().max().unwrap_or(0);
    (min, max)
}

impl Evaluator<'_> {
    /// An instant-vector selector: per step, the newest sample within the lookback delta
    /// `(t - lookback, t]`, unless it is a staleness marker. With `timestamps`, the value is
    /// the sample's timestamp in seconds (for `timestamp()`).
    pub(crate) fn eval_vector_selector(
        &mut self,
        sel: &VectorSelector,
        grid: &Grid,
        timestamps: bool,
    ) -> Result<Vec<StepSeries>, QueryError> {
        let ends = self.ref_times(grid, sel.at, sel.offset_ms);
        let (min, max) = min_max(&ends);
        let lookback_ms = self.lookback_ms;
        let mut per_step = vec![0usize; grid.len];
        let mut out = Vec::new();
        for_each_series(self, &sel.matchers, min - lookback_ms + 1, max, |s| {
            let mut values = vec![None; grid.len];
            let mut any = false;
            for (i, &end) in ends.iter().enumerate() {
                let idx = s.samples.partition_point(|p| p.0 <= end);
                let Some(&(t, v)) = idx.checked_sub(1).map(|j| &s.samples[j]) else {
                    continue;
                };
                if t <= end - lookback_ms || is_stale_nan(v) {
                    continue;
                }
                values[i] = Some(if timestamps { t as f64 / 1000.0 } else { v });
                per_step[i] += 1;
                any = true;
            }
            if any {
                out.push(StepSeries {
                    labels: s.labels,
                    values,
                    drop_name: false,
                });
            }
        })?;
        self.check_samples(per_step.iter().copied().max().unwrap_or(0))?;
        self.count_samples(&per_step);
        Ok(out)
    }

    /// A range-vector selector: raw samples (staleness markers removed) for windows
    /// `(end - range, end]`.
    pub(crate) fn eval_matrix_selector(
        &mut self,
        m: &MatrixSelector,
        grid: &Grid,
    ) -> Result<RangeInput, QueryError> {
        let sel = &m.selector;
        let ends = self.ref_times(grid, sel.at, sel.offset_ms);
        let (min, max) = min_max(&ends);
        let mut series = Vec::new();
        for_each_series(self, &sel.matchers, min - m.range_ms + 1, max, |s| {
            let mut points = s.samples;
            points.retain(|p| !is_stale_nan(p.1));
            series.push(RangeSeries {
                labels: s.labels,
                points,
                drop_name: false,
            });
        })?;
        let input = RangeInput {
            series,
            range_ms: m.range_ms,
            ends,
        };
        let per_step = input.window_samples_per_step();
        self.check_samples(per_step.iter().copied().max().unwrap_or(0))?;
        self.count_samples(&per_step);
        Ok(input)
    }

    /// A subquery: the inner expression evaluated on its own grid, aligned to absolute
    /// multiples of the subquery step, covering every window.
    pub(crate) fn eval_subquery(
        &mut self,
        sq: &Subquery,
        grid: &Grid,
    ) -> Result<RangeInput, QueryError> {
        let ends = self.ref_times(grid, sq.at, sq.offset_ms);
        let (min, max) = min_max(&ends);
        let step = sq.step_ms.unwrap_or(self.subquery_step_ms).max(1);
        let first = min - sq.range_ms;
        // Ceiling to a multiple of the step (Go's truncating division, as Prometheus).
        let mut start = step * (first / step);
        if start < first {
            start += step;
        }
        // The inner evaluation's reads are not the query's: only the windows count.
        let outer_counts = std::mem::take(&mut self.samples_per_step);
        let series = if max < start {
            Vec::new()
        } else {
            let inner = Grid {
                start,
                step,
                len: ((max - start) / step) as usize + 1,
            };
            match self.eval(&sq.expr, &inner)? {
                super::Value::Vector(vs) => vs
                    .into_iter()
                    .map(|s| RangeSeries {
                        points: steps_to_points(&inner, &s.values),
                        labels: s.labels,
                        drop_name: s.drop_name,
                    })
                    .collect(),
                super::Value::Scalar(vals) => vec![RangeSeries {
                    labels: Default::default(),
                    points: (0..inner.len).map(|i| (inner.time(i), vals[i])).collect(),
                    drop_name: false,
                }],
                _ => {
                    return Err(QueryError::bad_data(
                        "subquery is only allowed on instant vector",
                    ));
                }
            }
        };
        self.samples_per_step = outer_counts;
        let input = RangeInput {
            series,
            range_ms: sq.range_ms,
            ends,
        };
        self.count_samples(&input.window_samples_per_step());
        Ok(input)
    }
}

fn steps_to_points(grid: &Grid, values: &[Option<f64>]) -> Vec<(i64, f64)> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (grid.time(i), v)))
        .collect()
}

impl RangeInput {
    /// How many points each step's windows hold together.
    fn window_samples_per_step(&self) -> Vec<usize> {
        let mut per_step = vec![0usize; self.ends.len()];
        for s in &self.series {
            self.for_each_window(s, |i, w| per_step[i] += w.len());
        }
        per_step
    }
}
