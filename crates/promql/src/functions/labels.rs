//! `label_replace`, `label_join`, `sort_by_label` ordering and the duplicate check they need.

use super::string_arg;
use crate::ast::Expr;
use crate::eval::{Evaluator, Grid, StepSeries, Value};
use crate::value::QueryError;
use ember_model::{Labels, METRIC_NAME, PromRegex};

/// Prometheus 3 accepts any UTF-8 label name; a replacement character means the query
/// held bytes that were not UTF-8.
fn is_valid_destination(name: &str) -> bool {
    !name.is_empty() && !name.contains('\u{FFFD}')
}

pub(super) fn eval_label_replace(
    ev: &mut Evaluator<'_>,
    args: &[Expr],
    grid: &Grid,
) -> Result<Value, QueryError> {
    let dst = string_arg(&args[1])?;
    let replacement = string_arg(&args[2])?;
    let src = string_arg(&args[3])?;
    let regex = string_arg(&args[4])?;
    let re = PromRegex::new(regex).map_err(|e| {
        QueryError::bad_data(format!(
            "invalid regular expression in label_replace(): {regex}: {e}"
        ))
    })?;
    if !is_valid_destination(dst) {
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

pub(super) fn eval_label_join(
    ev: &mut Evaluator<'_>,
    args: &[Expr],
    grid: &Grid,
) -> Result<Value, QueryError> {
    let dst = string_arg(&args[1])?;
    let sep = string_arg(&args[2])?;
    let srcs = args[3..]
        .iter()
        .map(string_arg)
        .collect::<Result<Vec<_>, _>>()?;
    if !is_valid_destination(dst) {
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

/// Natural order: runs of digits compare as numbers, everything else byte-wise.
pub(super) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> impl Iterator<Item = &str> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digit = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digit)
                .unwrap_or(rest.len());
            let (chunk, tail) = rest.split_at(end);
            rest = tail;
            Some(chunk)
        })
    }
    let (mut x, mut y) = (chunks(a), chunks(b));
    loop {
        let (cx, cy) = match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(cx), Some(cy)) => (cx, cy),
        };
        let both_digits = cx.starts_with(|c: char| c.is_ascii_digit())
            && cy.starts_with(|c: char| c.is_ascii_digit());
        let order = if both_digits {
            let (tx, ty) = (cx.trim_start_matches('0'), cy.trim_start_matches('0'));
            tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
        } else {
            cx.cmp(cy)
        };
        if order.is_ne() {
            return order;
        }
    }
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
