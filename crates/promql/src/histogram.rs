//! `histogram_quantile` over classic histograms (`le`-labelled bucket series).

use crate::eval::{Evaluator, StepSeries};
use crate::math::almost_equal;
use ember_model::Labels;
use std::collections::HashMap;

const BUCKET_LABEL: &str = "le";

/// Per step, estimates quantile `q[step]` of every histogram (bucket series grouped by
/// their labels without `le`).
pub(crate) fn histogram_quantile(
    ev: &mut Evaluator<'_>,
    q: &[f64],
    input: Vec<StepSeries>,
    steps: usize,
) -> Vec<StepSeries> {
    // Group once per series, then walk the steps.
    let mut group_of: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
    for (idx, s) in input.iter().enumerate() {
        let le = s.labels.get(BUCKET_LABEL).unwrap_or("");
        let Some(upper) = parse_bound(le) else {
            ev.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {:?}",
                s.labels.metric_name().unwrap_or("")
            ));
            continue;
        };
        let mut b = s.labels.to_builder();
        b.del(BUCKET_LABEL);
        let key = b.build();
        let g = *group_of.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push((upper, idx));
    }
    let mut out = Vec::with_capacity(groups.len());
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for (labels, members) in groups {
        let mut values = vec![None; steps];
        for (i, value) in values.iter_mut().enumerate() {
            buckets.clear();
            buckets.extend(
                members
                    .iter()
                    .filter_map(|&(ub, idx)| input[idx].values[i].map(|c| (ub, c))),
            );
            if !buckets.is_empty() {
                let (v, forced) = bucket_quantile(q[i], &mut buckets);
                *value = Some(v);
                if forced {
                    ev.info(format!(
                        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                        labels.metric_name().unwrap_or("")
                    ));
                }
            }
        }
        out.push(StepSeries {
            labels,
            values,
            drop_name: true,
        });
    }
    out
}

fn parse_bound(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

/// The quantile of one histogram given `(upper bound, cumulative count)` buckets, and
/// whether decreasing counts had to be flattened.
fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return (f64::NAN, false);
    }
    // Buckets with the same bound (e.g. `1` and `1.0`) count as one.
    buckets.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 += later.1;
            true
        } else {
            false
        }
    });
    let forced = ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let last = buckets.len() - 1;
    let b = buckets[..last].partition_point(|x| x.1 < rank);
    if b == last {
        return (buckets[last - 1].0, forced);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return (buckets[0].0, forced);
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    (start + (end - start) * (rank / count), forced)
}

/// Cumulative counts must not decrease; tiny float noise and real decreases are both
/// flattened to the previous count. Returns whether a real decrease was flattened.
fn ensure_monotonic(buckets: &mut [(f64, f64)]) -> bool {
    let Some(&(_, mut prev)) = buckets.first() else {
        return false;
    };
    let mut forced = false;
    for b in &mut buckets[1..] {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.1 = prev;
            continue;
        }
        if curr < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}
