//! Selectors and subqueries: the only code that reads storage. Series stream in one at a
//! time and are mapped as they come ([`map_series`]): a vector selector keeps only each
//! series' step values, a range function fused with its selector only its results. Reads
//! spanning an hour or more are split by label hash over the cores.

use super::{Evaluator, Grid, RangeInput, RangeSeries, StepSeries, Windows, check_deadline};
use crate::ast::{MatrixSelector, Subquery, VectorSelector};
use crate::value::QueryError;
use ember_model::{Labels, Matcher, is_stale_nan};
use ember_storage::{Series, Shard};

/// Reads spanning at least this long are split over the cores: their decoding and window
/// arithmetic outweigh a thread start and a second index lookup.
const PARALLEL_SPAN_MS: i64 = 3600 * 1000;
/// At most this many threads per selector.
const MAX_SHARDS: usize = 4;

/// What a selection saw besides its mapped series.
pub(crate) struct Selected<T> {
    /// The mapped series, in label order.
    pub(crate) series: Vec<T>,
    /// Samples counted per step by the mapping function.
    pub(crate) per_step: Vec<usize>,
    /// Metric names of the series read (for `rate`'s counter check), sorted and distinct.
    pub(crate) names: Vec<String>,
}

/// Maps every series matching `matchers` with samples in `[mint, maxt]` with `f`, which
/// also counts samples per step (`steps` of them); keeps what it returns, in label order
/// (`labels_of` tells each result's labels). Stops at the deadline.
fn map_series<T: Send>(
    ev: &Evaluator<'_>,
    matchers: &[Matcher],
    (mint, maxt): (i64, i64),
    steps: usize,
    labels_of: fn(&T) -> &Labels,
    f: impl Fn(Series, &mut [usize]) -> Option<T> + Sync,
) -> Result<Selected<T>, QueryError> {
    let internal = |e: ember_storage::StorageError| QueryError::internal(e.to_string());
    let (storage, deadline) = (ev.storage, ev.deadline);
    let read = |shard: Shard| -> Result<Selected<T>, QueryError> {
        let querier = storage.querier(mint, maxt).map_err(internal)?;
        let mut part = Selected {
            series: Vec::new(),
            per_step: vec![0; steps],
            names: Vec::new(),
        };
        for (i, series) in querier
            .select_shard(matchers, shard)
            .map_err(internal)?
            .enumerate()
        {
            if i % 1024 == 1023 {
                check_deadline(deadline)?;
            }
            let series = series.map_err(internal)?;
            if let Some(name) = series.labels.metric_name()
                && part.names.last().map(String::as_str) != Some(name)
            {
                part.names.push(name.to_string());
            }
            part.series.extend(f(series, &mut part.per_step));
        }
        Ok(part)
    };
    let shards = if maxt - mint >= PARALLEL_SPAN_MS {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_SHARDS))
    } else {
        1
    };
    let count = shards as u32;
    let parts = if shards == 1 {
        vec![read(Shard::WHOLE)]
    } else {
        std::thread::scope(|scope| {
            let read = &read;
            let others: Vec<_> = (1..count)
                .map(|index| scope.spawn(move || read(Shard { index, count })))
                .collect();
            let mut parts = vec![read(Shard { index: 0, count })];
            parts.extend(
                others
                    .into_iter()
                    .map(|h| h.join().expect("selector thread panicked")),
            );
            parts
        })
    };
    let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut per_step = vec![0; steps];
    let mut names = Vec::new();
    let mut lists = Vec::with_capacity(parts.len());
    for part in parts {
        for (total, n) in per_step.iter_mut().zip(part.per_step) {
            *total += n;
        }
        names.extend(part.names);
        lists.push(part.series);
    }
    names.sort_unstable();
    names.dedup();
    Ok(Selected {
        series: merge_by_labels(lists, labels_of),
        per_step,
        names,
    })
}

/// Merges lists each in label order into one.
fn merge_by_labels<T>(mut lists: Vec<Vec<T>>, labels_of: fn(&T) -> &Labels) -> Vec<T> {
    if lists.len() == 1 {
        return lists.pop().expect("one list");
    }
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    let mut lists: Vec<_> = lists
        .into_iter()
        .map(|l| l.into_iter().peekable())
        .collect();
    loop {
        let next = lists
            .iter_mut()
            .enumerate()
            .filter_map(|(i, l)| Some((i, labels_of(l.peek()?))))
            .min_by(|a, b| a.1.cmp(b.1))
            .map(|(i, _)| i);
        match next.and_then(|i| lists[i].next()) {
            Some(t) => out.push(t),
            None => return out,
        }
    }
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
        let selected = map_series(
            self,
            &sel.matchers,
            (min - lookback_ms + 1, max),
            grid.len,
            |s: &StepSeries| &s.labels,
            |s, per_step| {
                let mut values = vec![None; ends.len()];
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
                any.then_some(StepSeries {
                    labels: s.labels,
                    values,
                    drop_name: false,
                })
            },
        )?;
        self.account_samples(&selected.per_step)?;
        Ok(selected.series)
    }

    /// A range-vector selector: raw samples (staleness markers removed) for windows
    /// `(end - range, end]`.
    pub(crate) fn eval_matrix_selector(
        &mut self,
        m: &MatrixSelector,
        grid: &Grid,
    ) -> Result<RangeInput, QueryError> {
        let (selected, windows) =
            self.map_matrix_selector(m, grid, |s: &RangeSeries| &s.labels, |_, s| Some(s))?;
        Ok(RangeInput {
            series: selected.series,
            windows,
        })
    }

    /// A range-vector selector whose series are mapped by `f` as they are read (a range
    /// function fused with its selector keeps no raw samples), with the windows they
    /// were read for.
    pub(crate) fn map_matrix_selector<T: Send>(
        &mut self,
        m: &MatrixSelector,
        grid: &Grid,
        labels_of: fn(&T) -> &Labels,
        f: impl Fn(&Windows, RangeSeries) -> Option<T> + Sync,
    ) -> Result<(Selected<T>, Windows), QueryError> {
        let sel = &m.selector;
        let windows = Windows {
            range_ms: m.range_ms,
            ends: self.ref_times(grid, sel.at, sel.offset_ms),
        };
        let (min, max) = min_max(&windows.ends);
        let selected = map_series(
            self,
            &sel.matchers,
            (min - m.range_ms + 1, max),
            grid.len,
            labels_of,
            |s, per_step| {
                let mut points = s.samples;
                points.retain(|p| !is_stale_nan(p.1));
                windows.for_each(&points, |i, w| per_step[i] += w.len());
                f(
                    &windows,
                    RangeSeries {
                        labels: s.labels,
                        points,
                        drop_name: false,
                    },
                )
            },
        )?;
        self.account_samples(&selected.per_step)?;
        Ok((selected, windows))
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
            windows: Windows {
                range_ms: sq.range_ms,
                ends,
            },
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
        let mut per_step = vec![0usize; self.windows.ends.len()];
        for s in &self.series {
            self.windows
                .for_each(&s.points, |i, w| per_step[i] += w.len());
        }
        per_step
    }
}
