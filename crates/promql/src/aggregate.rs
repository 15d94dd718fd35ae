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
        (Param::Scalar(k), AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk)
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
        (AggregateOp::Limitk, Param::Scalar(k)) => {
            // The first k members present at each step, in input order.
            keep_members(input, &groups, grid.len, |i, present| {
                count_k(k[i], present.len())
            })
        }
        (AggregateOp::LimitRatio, Param::Scalar(r)) => {
            let ratios = capped_ratios(ev, &r);
            let offsets: Vec<f64> = input.iter().map(|s| ratio_offset(&s.labels)).collect();
            keep_members(input, &groups, grid.len, |i, present| {
                present.retain(|&(m, _)| ratio_keeps(ratios[i], offsets[m]));
                present.len()
            })
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
    keep_members(input, groups, steps, |i, present| {
        present.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if top => b.1.total_cmp(&a.1),
            _ => a.1.total_cmp(&b.1),
        });
        count_k(k[i], present.len())
    })
}

/// How many of `available` members a `k` parameter keeps.
fn count_k(k: f64, available: usize) -> usize {
    if k < 1.0 {
        0
    } else {
        k.min(available as f64) as usize
    }
}

/// The series a `topk`-like operator keeps: per group and step, `choose(step, present)`
/// may reorder and shorten the present members `(index, value)` and returns how many of
/// the first ones are kept. Kept series keep their labels and only their kept steps; an
/// instant query lists them in the order chosen, a range query in input order.
fn keep_members(
    input: Vec<StepSeries>,
    groups: &Groups,
    steps: usize,
    mut choose: impl FnMut(usize, &mut Vec<(usize, f64)>) -> usize,
) -> Vec<StepSeries> {
    let mut keep = vec![vec![false; steps]; input.len()];
    let mut chosen_order: Vec<usize> = Vec::with_capacity(input.len());
    let mut present: Vec<(usize, f64)> = Vec::new();
    for members in &groups.members {
        for i in 0..steps {
            present.clear();
            present.extend(
                members
                    .iter()
                    .filter_map(|&m| input[m].values[i].map(|v| (m, v))),
            );
            let n = choose(i, &mut present);
            for &(m, _) in &present[..n] {
                keep[m][i] = true;
                if steps == 1 {
                    chosen_order.push(m);
                }
            }
        }
    }
    let mut input: Vec<Option<StepSeries>> = input.into_iter().map(Some).collect();
    let order: Vec<usize> = if steps == 1 {
        chosen_order
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

/// `limit_ratio`'s ratios capped to [-1, 1], with Prometheus's warning when one was not.
fn capped_ratios(ev: &mut Evaluator<'_>, ratios: &[f64]) -> Vec<f64> {
    ratios
        .iter()
        .map(|&r| {
            let capped = r.clamp(-1.0, 1.0);
            if capped != r {
                ev.warn(format!(
                    "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
                    format_float(r),
                    format_float(capped)
                ));
            }
            capped
        })
        .collect()
}

/// Where a series falls in [0, 1]: its label-set hash as Prometheus computes it
/// (xxHash64 of every name and value, each followed by 0xff) over the largest hash.
fn ratio_offset(labels: &Labels) -> f64 {
    let mut bytes = Vec::with_capacity(256);
    for l in labels.iter() {
        bytes.extend_from_slice(l.name.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(l.value.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0) as f64 / u64::MAX as f64
}

/// A positive ratio keeps the series below it, a negative one those at or above
/// `1 + ratio`: `r` and `r - 1` keep complementary sets.
fn ratio_keeps(ratio: f64, offset: f64) -> bool {
    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
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
