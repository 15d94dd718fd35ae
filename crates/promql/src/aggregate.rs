//! Aggregation operators. Each input series is assigned to its group once; the steps are
//! then walked by index over the group's members.

use crate::ast::{Aggregate, AggregateOp, Expr, Grouping};
use crate::eval::{Evaluator, Grid, StepSeries, Value};
use crate::math;
use crate::value::QueryError;
use ember_model::{Labels, METRIC_NAME, is_valid_label_name};
use std::collections::HashMap;

/// Evaluates an aggregation over the grid.
pub(crate) fn eval_aggregate(
    ev: &mut Evaluator<'_>,
    agg: &Aggregate,
    grid: &Grid,
) -> Result<Value, QueryError> {
    let param = match (&agg.param, agg.op) {
        (Some(p), AggregateOp::CountValues) => Param::Label(string_param(p)?),
        (Some(p), _) => Param::Scalar(ev.eval_scalar(p, grid)?),
        (None, _) => Param::None,
    };
    match (&param, agg.op) {
        (Param::Scalar(k), AggregateOp::Topk | AggregateOp::Bottomk)
            if k.iter().any(|k| k.is_nan()) =>
        {
            return Err(QueryError::execution("Parameter value is NaN"));
        }
        (Param::Scalar(q), AggregateOp::Quantile) => crate::functions::warn_quantile_range(ev, q),
        _ => {}
    }
    let input = ev.eval_vector(&agg.expr, grid)?;
    let groups = group_series(&input, &agg.grouping);
    let out = match (agg.op, param) {
        (AggregateOp::Topk | AggregateOp::Bottomk, Param::Scalar(k)) => {
            select_k(input, &groups, &k, agg.op == AggregateOp::Topk, grid.len)
        }
        (AggregateOp::CountValues, Param::Label(label)) => {
            count_values(&input, &groups, &label, grid.len)?
        }
        (AggregateOp::Quantile, Param::Scalar(q)) => {
            reduce(&input, &groups, grid.len, |i, vals| {
                Some(math::quantile(q[i], vals))
            })
        }
        (AggregateOp::Limitk | AggregateOp::LimitRatio, _) => {
            return Err(QueryError::bad_data(
                "limitk and limit_ratio are not supported yet",
            ));
        }
        (op, _) => reduce(&input, &groups, grid.len, |_, vals| simple(op, vals)),
    };
    Ok(Value::Vector(out))
}

enum Param {
    None,
    Scalar(Vec<f64>),
    Label(String),
}

fn string_param(e: &Expr) -> Result<String, QueryError> {
    match e {
        Expr::String(s) => Ok(s.clone()),
        Expr::Paren(inner) => string_param(inner),
        _ => Err(QueryError::bad_data("expected a string parameter")),
    }
}

/// Output groups in order of first appearance, with their member series' indexes.
struct Groups {
    keys: Vec<Labels>,
    members: Vec<Vec<usize>>,
    drop_name: Vec<bool>,
}

fn group_series(input: &[StepSeries], grouping: &Grouping) -> Groups {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut g = Groups {
        keys: Vec::new(),
        members: Vec::new(),
        drop_name: Vec::new(),
    };
    for (i, s) in input.iter().enumerate() {
        let key = group_labels(&s.labels, grouping);
        let gi = *index.entry(key.clone()).or_insert_with(|| {
            g.keys.push(key);
            g.members.push(Vec::new());
            g.drop_name.push(false);
            g.keys.len() - 1
        });
        g.members[gi].push(i);
        // A group keeps a to-be-dropped name only if `by` kept the name at all.
        g.drop_name[gi] |= s.drop_name && g.keys[gi].has(METRIC_NAME);
    }
    g
}

/// The labels a series contributes to its group's key.
pub(crate) fn group_labels(labels: &Labels, grouping: &Grouping) -> Labels {
    let mut b = labels.to_builder();
    match grouping {
        Grouping::By(names) => {
            b.retain(|l| names.iter().any(|n| n == &l.name));
        }
        Grouping::Without(names) => {
            b.retain(|l| !names.iter().any(|n| n == &l.name) && !is_name_label(&l.name));
        }
    }
    b.build()
}

/// The labels removed together with the metric name.
pub(crate) fn is_name_label(name: &str) -> bool {
    matches!(name, METRIC_NAME | "__type__" | "__unit__")
}

/// Per group and step, reduces the members' present values with `f(step, values)`.
fn reduce(
    input: &[StepSeries],
    groups: &Groups,
    steps: usize,
    f: impl Fn(usize, &mut [f64]) -> Option<f64>,
) -> Vec<StepSeries> {
    let mut buf = Vec::new();
    let mut out = Vec::with_capacity(groups.keys.len());
    for (g, members) in groups.members.iter().enumerate() {
        let mut values = vec![None; steps];
        for (i, value) in values.iter_mut().enumerate() {
            buf.clear();
            buf.extend(members.iter().filter_map(|&m| input[m].values[i]));
            if !buf.is_empty() {
                *value = f(i, &mut buf);
            }
        }
        if values.iter().any(Option::is_some) {
            out.push(StepSeries {
                labels: groups.keys[g].clone(),
                values,
                drop_name: groups.drop_name[g],
            });
        }
    }
    out
}

fn simple(op: AggregateOp, vals: &mut [f64]) -> Option<f64> {
    let it = vals.iter().copied();
    Some(match op {
        AggregateOp::Sum => math::kahan_sum(it),
        AggregateOp::Avg => math::mean(it),
        AggregateOp::Count => vals.len() as f64,
        AggregateOp::Group => 1.0,
        AggregateOp::Min => it.fold(f64::NAN, |m, x| if x < m || m.is_nan() { x } else { m }),
        AggregateOp::Max => it.fold(f64::NAN, |m, x| if x > m || m.is_nan() { x } else { m }),
        AggregateOp::Stdvar => math::variance(it),
        AggregateOp::Stddev => math::variance(it).sqrt(),
        _ => return None,
    })
}

/// `topk`/`bottomk`: per group and step, the `k` largest (smallest) series keep their
/// value and labels. NaN ranks last either way. For a single step the output is ordered
/// by rank within each group.
fn select_k(
    input: Vec<StepSeries>,
    groups: &Groups,
    k: &[f64],
    top: bool,
    steps: usize,
) -> Vec<StepSeries> {
    let mut keep = vec![vec![false; steps]; input.len()];
    let mut rank_order: Vec<usize> = Vec::with_capacity(input.len());
    let mut cand: Vec<(usize, f64)> = Vec::new();
    for members in &groups.members {
        for i in 0..steps {
            let kk = k[i];
            cand.clear();
            cand.extend(
                members
                    .iter()
                    .filter_map(|&m| input[m].values[i].map(|v| (m, v))),
            );
            cand.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if top => b.1.total_cmp(&a.1),
                _ => a.1.total_cmp(&b.1),
            });
            let n = if kk < 1.0 {
                0
            } else {
                (kk.min(cand.len() as f64)) as usize
            };
            for &(m, _) in &cand[..n] {
                keep[m][i] = true;
                if steps == 1 {
                    rank_order.push(m);
                }
            }
        }
    }
    let mut input: Vec<Option<StepSeries>> = input.into_iter().map(Some).collect();
    let order: Vec<usize> = if steps == 1 {
        rank_order
    } else {
        (0..input.len()).collect()
    };
    let mut out = Vec::with_capacity(order.len());
    for m in order {
        let Some(mut s) = input[m].take() else {
            continue;
        };
        for (v, &kept) in s.values.iter_mut().zip(&keep[m]) {
            if !kept {
                *v = None;
            }
        }
        if s.values.iter().any(Option::is_some) {
            out.push(s);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(crate) fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn count_values(
    input: &[StepSeries],
    groups: &Groups,
    label: &str,
    steps: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    if !is_valid_label_name(label) {
        return Err(QueryError::execution(format!(
            "invalid label name {label:?}"
        )));
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<StepSeries> = Vec::new();
    for (g, members) in groups.members.iter().enumerate() {
        for &m in members {
            for i in 0..steps {
                let Some(v) = input[m].values[i] else {
                    continue;
                };
                let mut b = groups.keys[g].to_builder();
                b.set(label, format_float(v));
                let key = b.build();
                let o = *index.entry(key.clone()).or_insert_with(|| {
                    out.push(StepSeries {
                        labels: key,
                        values: vec![None; steps],
                        drop_name: false,
                    });
                    out.len() - 1
                });
                *out[o].values[i].get_or_insert(0.0) += 1.0;
            }
        }
    }
    Ok(out)
}
