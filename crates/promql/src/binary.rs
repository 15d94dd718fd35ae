//! Binary operators: scalar/scalar, vector/scalar and vector/vector with label matching.
//!
//! Matching signatures are computed and interned once per series; each step then matches
//! by signature id through a dense table, so no labels are hashed per step.

use crate::ast::{Binary, BinaryOp, Cardinality, Matching};
use crate::eval::{Evaluator, Grid, StepSeries, Value};
use crate::value::QueryError;
use ember_model::{Labels, METRIC_NAME};
use std::collections::HashMap;

/// Evaluates a binary operation over the grid.
pub(crate) fn eval_binary(
    ev: &mut Evaluator<'_>,
    bin: &Binary,
    grid: &Grid,
) -> Result<Value, QueryError> {
    let lhs = ev.eval(&bin.lhs, grid)?;
    let rhs = ev.eval(&bin.rhs, grid)?;
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => Ok(Value::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&a, &b)| {
                    let (v, keep) = apply(bin.op, a, b);
                    if bin.op.is_comparison() {
                        f64::from(u8::from(keep))
                    } else {
                        v
                    }
                })
                .collect(),
        )),
        (Value::Vector(v), Value::Scalar(s)) => Ok(Value::Vector(vector_scalar(bin, v, &s, false))),
        (Value::Scalar(s), Value::Vector(v)) => Ok(Value::Vector(vector_scalar(bin, v, &s, true))),
        (Value::Vector(l), Value::Vector(r)) => {
            let out = match bin.op {
                BinaryOp::And | BinaryOp::Unless => and_unless(bin, l, &r, grid.len),
                BinaryOp::Or => or(bin, l, r, grid.len),
                _ => vector_vector(bin, &l, &r, grid.len)?,
            };
            Ok(Value::Vector(out))
        }
        _ => Err(QueryError::bad_data(
            "binary expression must contain only scalar and instant vector types",
        )),
    }
}

/// Applies `op`; for comparisons the value is `lhs` and the flag says whether it holds.
fn apply(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eq => (l, l == r),
        BinaryOp::Ne => (l, l != r),
        BinaryOp::Gt => (l, l > r),
        BinaryOp::Lt => (l, l < r),
        BinaryOp::Ge => (l, l >= r),
        BinaryOp::Le => (l, l <= r),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => (l, true),
    }
}

/// Arithmetic and `bool` comparisons produce a new quantity, so the name goes.
fn drops_name(bin: &Binary) -> bool {
    !bin.op.is_comparison() || bin.return_bool
}

fn vector_scalar(
    bin: &Binary,
    mut v: Vec<StepSeries>,
    s: &[f64],
    scalar_left: bool,
) -> Vec<StepSeries> {
    let drop = drops_name(bin);
    for series in &mut v {
        for (i, slot) in series.values.iter_mut().enumerate() {
            let Some(x) = *slot else { continue };
            let (l, r) = if scalar_left { (s[i], x) } else { (x, s[i]) };
            let (value, keep) = apply(bin.op, l, r);
            *slot = if bin.op.is_comparison() {
                if bin.return_bool {
                    Some(f64::from(u8::from(keep)))
                } else {
                    // The vector's element is the result even when the scalar is on the left.
                    keep.then_some(x)
                }
            } else {
                Some(value)
            };
        }
        series.drop_name |= drop;
    }
    v.retain(|s| s.values.iter().any(Option::is_some));
    v
}

/// The labels two series are matched on.
fn signature(labels: &Labels, matching: &Matching) -> Labels {
    let mut b = labels.to_builder();
    match matching {
        Matching::On(names) => b.retain(|l| names.iter().any(|n| n == &l.name)),
        Matching::Ignoring(names) => {
            b.retain(|l| l.name != METRIC_NAME && !names.iter().any(|n| n == &l.name))
        }
    };
    b.build()
}

/// Interns the signatures of both sides; returns per-series ids and the signature labels.
fn signatures(
    lhs: &[StepSeries],
    rhs: &[StepSeries],
    matching: &Matching,
) -> (Vec<usize>, Vec<usize>, Vec<Labels>) {
    let mut ids: HashMap<Labels, usize> = HashMap::new();
    let mut sigs = Vec::new();
    let mut id_of = |s: &StepSeries| {
        let sig = signature(&s.labels, matching);
        *ids.entry(sig.clone()).or_insert_with(|| {
            sigs.push(sig);
            sigs.len() - 1
        })
    };
    let l = lhs.iter().map(&mut id_of).collect();
    let r = rhs.iter().map(&mut id_of).collect();
    (l, r, sigs)
}

fn and_unless(
    bin: &Binary,
    mut lhs: Vec<StepSeries>,
    rhs: &[StepSeries],
    steps: usize,
) -> Vec<StepSeries> {
    let (lsig, rsig, sigs) = signatures(&lhs, rhs, &bin.matching);
    let mut present = vec![false; sigs.len()];
    let keep_matched = bin.op == BinaryOp::And;
    for i in 0..steps {
        present.iter_mut().for_each(|p| *p = false);
        for (s, &sig) in rhs.iter().zip(&rsig) {
            if s.values[i].is_some() {
                present[sig] = true;
            }
        }
        for (s, &sig) in lhs.iter_mut().zip(&lsig) {
            if present[sig] != keep_matched {
                s.values[i] = None;
            }
        }
    }
    lhs.retain(|s| s.values.iter().any(Option::is_some));
    lhs
}

fn or(
    bin: &Binary,
    mut lhs: Vec<StepSeries>,
    mut rhs: Vec<StepSeries>,
    steps: usize,
) -> Vec<StepSeries> {
    let (lsig, rsig, sigs) = signatures(&lhs, &rhs, &bin.matching);
    let mut present = vec![false; sigs.len()];
    for i in 0..steps {
        present.iter_mut().for_each(|p| *p = false);
        for (s, &sig) in lhs.iter().zip(&lsig) {
            if s.values[i].is_some() {
                present[sig] = true;
            }
        }
        for (s, &sig) in rhs.iter_mut().zip(&rsig) {
            if present[sig] {
                s.values[i] = None;
            }
        }
    }
    // A right-hand series with the labels of a left-hand one is the same series: it fills
    // the steps the left one lacks (where it has a value, the right one was just removed).
    let mut index: HashMap<(Labels, bool), usize> = lhs
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.labels.clone(), s.drop_name), i))
        .collect();
    for s in rhs {
        if s.values.iter().all(Option::is_none) {
            continue;
        }
        match index.get(&(s.labels.clone(), s.drop_name)) {
            Some(&i) => {
                for (slot, v) in lhs[i].values.iter_mut().zip(s.values) {
                    if slot.is_none() {
                        *slot = v;
                    }
                }
            }
            None => {
                index.insert((s.labels.clone(), s.drop_name), lhs.len());
                lhs.push(s);
            }
        }
    }
    lhs
}

fn duplicate_error(sig: &Labels, side: &str, a: &Labels, b: &Labels) -> QueryError {
    QueryError::execution(format!(
        "found duplicate series for the match group {sig} on the {side} hand-side of the operation: [{a}, {b}];many-to-many matching not allowed: matching labels must be unique on one side"
    ))
}

/// Arithmetic and comparisons between two vectors.
fn vector_vector(
    bin: &Binary,
    lhs: &[StepSeries],
    rhs: &[StepSeries],
    steps: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    // Iterate over the "many" side; `swapped` means the many side is the right operand.
    let (swapped, include): (bool, &[String]) = match &bin.card {
        Cardinality::OneToMany(l) => (true, l),
        Cardinality::ManyToOne(l) => (false, l),
        _ => (false, &[]),
    };
    let one_to_one = matches!(bin.card, Cardinality::OneToOne);
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let (many_sig, one_sig, sigs) = signatures(many, one, &bin.matching);
    let one_side_name = if swapped { "left" } else { "right" };
    let drop = drops_name(bin);

    let mut one_at: Vec<Option<usize>> = vec![None; sigs.len()];
    let mut matched: Vec<Option<usize>> = vec![None; sigs.len()];
    let mut out_index: HashMap<(usize, usize), usize> = HashMap::new();
    let mut by_labels: HashMap<(Labels, bool), usize> = HashMap::new();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut written_at: Vec<usize> = Vec::new();

    for i in 0..steps {
        one_at.iter_mut().for_each(|x| *x = None);
        matched.iter_mut().for_each(|x| *x = None);
        for (j, (s, &sig)) in one.iter().zip(&one_sig).enumerate() {
            if s.values[i].is_none() {
                continue;
            }
            if let Some(prev) = one_at[sig] {
                return Err(duplicate_error(
                    &sigs[sig],
                    one_side_name,
                    &one[prev].labels,
                    &s.labels,
                ));
            }
            one_at[sig] = Some(j);
        }
        for (m, (s, &sig)) in many.iter().zip(&many_sig).enumerate() {
            let Some(mv) = s.values[i] else { continue };
            let Some(o) = one_at[sig] else { continue };
            if one_to_one {
                if let Some(prev) = matched[sig] {
                    let _ = prev;
                    return Err(QueryError::execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                matched[sig] = Some(m);
            }
            let ov = one[o].values[i].expect("present at this step");
            let (l, r) = if swapped { (ov, mv) } else { (mv, ov) };
            let (value, keep) = apply(bin.op, l, r);
            let value = if bin.return_bool {
                f64::from(u8::from(keep))
            } else if !keep {
                continue;
            } else {
                value
            };
            let idx = match out_index.get(&(m, o)) {
                Some(&idx) => idx,
                None => {
                    let labels = result_labels(bin, &s.labels, &one[o].labels, include);
                    let drop_name = s.drop_name || drop;
                    let idx = *by_labels
                        .entry((labels.clone(), drop_name))
                        .or_insert_with(|| {
                            out.push(StepSeries {
                                labels,
                                values: vec![None; steps],
                                drop_name,
                            });
                            written_at.push(usize::MAX);
                            out.len() - 1
                        });
                    out_index.insert((m, o), idx);
                    idx
                }
            };
            if written_at[idx] == i {
                return Err(QueryError::execution(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            written_at[idx] = i;
            out[idx].values[i] = Some(value);
        }
    }
    Ok(out)
}

/// The labels of a result: the many side's, reduced for one-to-one matching, plus the
/// `group_x` labels copied from the one side.
fn result_labels(bin: &Binary, many: &Labels, one: &Labels, include: &[String]) -> Labels {
    let mut b = many.to_builder();
    if matches!(bin.card, Cardinality::OneToOne) {
        match &bin.matching {
            Matching::On(names) => b.retain(|l| names.iter().any(|n| n == &l.name)),
            Matching::Ignoring(names) => b.retain(|l| !names.iter().any(|n| n == &l.name)),
        };
    }
    for name in include {
        match one.get(name) {
            Some(v) => b.set(name.clone(), v),
            None => b.del(name),
        };
    }
    b.build()
}
