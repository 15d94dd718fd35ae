//! The query entry points: parse, evaluate over a grid, then finish the result (delayed
//! `__name__` removal, duplicate checks, output shape).

use crate::aggregate::is_name_label;
use crate::ast::{Expr, ValueType};
use crate::eval::{Evaluator, Grid, StepSeries, Value};
use crate::functions::merge_duplicates;
use crate::parse::parse_expr;
use crate::value::{QueryError, QueryOutput, QueryStats, QueryValue, Sample, SeriesPoints};
use ember_storage::Queryable;
use std::time::{Duration, Instant};

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta: Duration,
    /// The most samples one step of a query may hold.
    pub max_samples: usize,
    /// The longest a query may run.
    pub timeout: Duration,
    /// The step of a subquery written without one, such as `x[5m:]` (Prometheus uses the
    /// global evaluation interval, 1m by default).
    pub default_subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// The PromQL engine. It holds only settings; every query brings its storage.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with these settings.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The settings.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `ts_ms`.
    pub fn instant_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        ts_ms: i64,
    ) -> Result<QueryValue, QueryError> {
        self.instant_query_with_warnings(storage, query, ts_ms)
            .map(|o| o.value)
    }

    /// Evaluates `query` at `ts_ms`, returning annotations beside the value.
    pub fn instant_query_with_warnings(
        &self,
        storage: &dyn Queryable,
        query: &str,
        ts_ms: i64,
    ) -> Result<QueryOutput, QueryError> {
        let expr = parse_expr(query).map_err(|e| QueryError::bad_data(e.0))?;
        self.instant_query_expr(storage, &expr, ts_ms)
    }

    /// Evaluates an already parsed expression at `ts_ms`.
    pub fn instant_query_expr(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        ts_ms: i64,
    ) -> Result<QueryOutput, QueryError> {
        let grid = Grid {
            start: ts_ms,
            step: 1,
            len: 1,
        };
        let mut ev = self.evaluator(storage, ts_ms, ts_ms, 0);
        let value = match ev.eval(expr, &grid)? {
            Value::Scalar(v) => QueryValue::Scalar { t: ts_ms, v: v[0] },
            Value::String(s) => QueryValue::String { t: ts_ms, v: s },
            Value::Vector(vs) => QueryValue::Vector(
                finish(vs)?
                    .into_iter()
                    .filter_map(|s| {
                        s.values[0].map(|v| Sample {
                            labels: s.labels,
                            t: ts_ms,
                            v,
                        })
                    })
                    .collect(),
            ),
            Value::Matrix(ms) => {
                let mut out: Vec<SeriesPoints> = ms
                    .into_iter()
                    .map(|s| SeriesPoints {
                        labels: if s.drop_name {
                            without_name(&s.labels)
                        } else {
                            s.labels
                        },
                        points: s.points,
                    })
                    .collect();
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                QueryValue::Matrix(out)
            }
        };
        let stats = query_stats(&mut ev, grid.len, &value);
        Ok(QueryOutput {
            value,
            warnings: ev.warnings,
            stats,
        })
    }

    /// Evaluates `query` at `start_ms, start_ms + step_ms, …, end_ms`.
    pub fn range_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryValue, QueryError> {
        self.range_query_with_warnings(storage, query, start_ms, end_ms, step_ms)
            .map(|o| o.value)
    }

    /// Like [`Engine::range_query`], returning annotations beside the value.
    pub fn range_query_with_warnings(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryOutput, QueryError> {
        let expr = parse_expr(query).map_err(|e| QueryError::bad_data(e.0))?;
        self.range_query_expr(storage, &expr, start_ms, end_ms, step_ms)
    }

    /// Evaluates an already parsed expression at `start_ms, start_ms + step_ms, …, end_ms`.
    pub fn range_query_expr(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryOutput, QueryError> {
        if step_ms <= 0 {
            return Err(QueryError::bad_data(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if end_ms < start_ms {
            return Err(QueryError::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        let t = expr.value_type();
        if t != ValueType::Scalar && t != ValueType::Vector {
            return Err(QueryError::bad_data(format!(
                "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                t.name()
            )));
        }
        let grid = Grid {
            start: start_ms,
            step: step_ms,
            len: ((end_ms - start_ms) / step_ms) as usize + 1,
        };
        let mut ev = self.evaluator(storage, start_ms, end_ms, step_ms);
        let series = match ev.eval(expr, &grid)? {
            Value::Scalar(v) => vec![StepSeries {
                labels: Default::default(),
                values: v.into_iter().map(Some).collect(),
                drop_name: false,
            }],
            Value::Vector(vs) => finish(vs)?,
            _ => {
                return Err(QueryError::internal(
                    "range query produced a non-vector value",
                ));
            }
        };
        let mut out: Vec<SeriesPoints> = series
            .into_iter()
            .map(|s| SeriesPoints {
                labels: s.labels,
                points: s
                    .values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (grid.time(i), v)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        let value = QueryValue::Matrix(out);
        let stats = query_stats(&mut ev, grid.len, &value);
        Ok(QueryOutput {
            value,
            warnings: ev.warnings,
            stats,
        })
    }

    /// Parses `query` into Ember's syntax tree (for callers that inspect queries).
    pub fn parse(&self, query: &str) -> Result<Expr, QueryError> {
        parse_expr(query).map_err(|e| QueryError::bad_data(e.0))
    }

    fn evaluator<'a>(
        &self,
        storage: &'a dyn Queryable,
        start: i64,
        end: i64,
        step: i64,
    ) -> Evaluator<'a> {
        Evaluator {
            storage,
            lookback_ms: self.opts.lookback_delta.as_millis() as i64,
            max_samples: self.opts.max_samples,
            deadline: Instant::now().checked_add(self.opts.timeout),
            subquery_step_ms: self.opts.default_subquery_step.as_millis() as i64,
            query_start: start,
            query_end: end,
            query_step: step,
            warnings: Vec::new(),
            samples_per_step: Vec::new(),
            peak_samples: 0,
        }
    }
}

/// The query's sample statistics: the selectors' counts, one entry per step, and the peak
/// including the result.
fn query_stats(ev: &mut Evaluator<'_>, steps: usize, value: &QueryValue) -> QueryStats {
    let result_samples = match value {
        QueryValue::Scalar { .. } | QueryValue::String { .. } => 1,
        QueryValue::Vector(v) => v.len(),
        QueryValue::Matrix(m) => m.iter().map(|s| s.points.len()).sum(),
    } as u64;
    let mut samples_per_step = std::mem::take(&mut ev.samples_per_step);
    samples_per_step.resize(steps, 0);
    QueryStats {
        samples_per_step,
        peak_samples: ev.peak_samples.max(result_samples),
    }
}

fn without_name(labels: &ember_model::Labels) -> ember_model::Labels {
    let mut b = labels.to_builder();
    b.retain(|l| !is_name_label(&l.name));
    b.build()
}

/// Applies delayed name removal and rejects series that then collide at a step.
fn finish(vs: Vec<StepSeries>) -> Result<Vec<StepSeries>, QueryError> {
    let any_drop = vs.iter().any(|s| s.drop_name);
    if !any_drop {
        return Ok(vs);
    }
    let renamed = vs
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = without_name(&s.labels);
                s.drop_name = false;
            }
            s
        })
        .collect();
    merge_duplicates(renamed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ErrorKind;
    use ember_model::Labels;
    use ember_storage::{Appendable, MemStorage};

    fn storage() -> MemStorage {
        let s = MemStorage::new();
        let mut app = s.appender();
        for (job, step) in [("a", 1.0), ("b", 2.0)] {
            let l = Labels::from_pairs([("__name__", "up_total"), ("job", job)]);
            for i in 0..10 {
                app.append(0, &l, i * 60_000, i as f64 * step).unwrap();
            }
        }
        app.commit().unwrap();
        s
    }

    #[test]
    fn instant_and_range_queries() {
        let (s, e) = (storage(), Engine::default());
        let QueryValue::Vector(v) = e.instant_query(&s, "sum(up_total)", 120_000).unwrap() else {
            panic!("not a vector")
        };
        assert_eq!((v.len(), v[0].v, v[0].t), (1, 6.0, 120_000));
        let QueryValue::Matrix(m) = e
            .range_query(&s, "rate(up_total[2m])", 120_000, 240_000, 60_000)
            .unwrap()
        else {
            panic!("not a matrix")
        };
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].labels, Labels::from_pairs([("job", "a")]));
        assert_eq!(m[0].points.len(), 3);
        assert!((m[1].points[0].1 - 2.0 / 60.0).abs() < 1e-12);
        let QueryValue::Scalar { v, .. } = e.instant_query(&s, "1 + 2 * 3", 0).unwrap() else {
            panic!("not a scalar")
        };
        assert_eq!(v, 7.0);
    }

    #[test]
    fn sample_statistics_count_what_selectors_read() {
        let (s, e) = (storage(), Engine::default());
        let stats = |q: &str, start: i64, end: i64| {
            if start == end {
                e.instant_query_with_warnings(&s, q, start).unwrap().stats
            } else {
                e.range_query_with_warnings(&s, q, start, end, 60_000)
                    .unwrap()
                    .stats
            }
        };
        let st = stats("up_total", 120_000, 120_000);
        assert_eq!((st.samples_per_step, st.peak_samples), (vec![2], 2));
        let st = stats("sum(up_total)", 120_000, 240_000);
        assert_eq!(st.samples_per_step, vec![2, 2, 2]);
        assert_eq!(st.total_samples(), 6);
        // Two points per window and series.
        assert_eq!(
            stats("rate(up_total[2m])", 240_000, 240_000).total_samples(),
            4
        );
        // The subquery's windows count (3 points per series), not its inner reads.
        let st = stats("max_over_time(up_total[3m:1m])", 240_000, 240_000);
        assert_eq!(st.samples_per_step, vec![6]);
        let st = stats("1", 0, 120_000);
        assert_eq!((st.samples_per_step, st.peak_samples), (vec![0, 0, 0], 3));
    }

    #[test]
    fn errors_use_prometheus_wording() {
        let (s, e) = (storage(), Engine::default());
        let err = e.instant_query(&s, "sum(", 0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadData);
        assert_eq!(err.message, "1:5: parse error: unclosed left parenthesis");
        let err = e
            .instant_query(&s, r#"label_replace(up_total, "job", "x", "", "")"#, 60_000)
            .unwrap_err();
        assert_eq!(
            err.message,
            "vector cannot contain metrics with the same labelset"
        );
        let err = e
            .instant_query(&s, "up_total + on() up_total", 60_000)
            .unwrap_err();
        assert!(
            err.message
                .starts_with("found duplicate series for the match group {}"),
            "{}",
            err.message
        );
        let small = Engine::new(EngineOptions {
            max_samples: 1,
            ..EngineOptions::default()
        });
        let err = small.instant_query(&s, "up_total", 60_000).unwrap_err();
        assert_eq!(err.message, crate::eval::TOO_MANY_SAMPLES);
        let err = e
            .range_query(&s, "up_total[1m]", 0, 60_000, 1000)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadData);
    }
}
