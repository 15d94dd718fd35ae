//! In-memory postings: label pair → sorted series refs, for the head's matcher evaluation.

use ember_model::{Labels, MatchType, Matcher};
use std::collections::HashMap;

/// Label name → label value → sorted series refs. Refs only grow, so appends stay sorted.
#[derive(Default)]
pub(crate) struct MemPostings {
    by_name: HashMap<String, HashMap<String, Vec<u64>>>,
    all: Vec<u64>,
}

impl MemPostings {
    pub(crate) fn add(&mut self, series_ref: u64, labels: &Labels) {
        for l in labels.iter() {
            let list = self
                .by_name
                .entry(l.name.clone())
                .or_default()
                .entry(l.value.clone())
                .or_default();
            insert_sorted(list, series_ref);
        }
        insert_sorted(&mut self.all, series_ref);
    }

    pub(crate) fn remove(&mut self, series_ref: u64, labels: &Labels) {
        for l in labels.iter() {
            if let Some(values) = self.by_name.get_mut(&l.name) {
                if let Some(list) = values.get_mut(&l.value) {
                    list.retain(|&r| r != series_ref);
                    if list.is_empty() {
                        values.remove(&l.value);
                    }
                }
                if values.is_empty() {
                    self.by_name.remove(&l.name);
                }
            }
        }
        self.all.retain(|&r| r != series_ref);
    }

    /// Cardinality figures for `/api/v1/status/tsdb`, each list the `limit` largest.
    pub(crate) fn stats(&self, limit: usize) -> crate::head::PostingsStats {
        let top = |mut v: Vec<(String, u64)>| {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
            v
        };
        let mut pairs = Vec::new();
        let mut values_per_name = Vec::new();
        let mut bytes_per_name = Vec::new();
        let mut num_label_pairs = 0;
        for (name, values) in &self.by_name {
            num_label_pairs += values.len() as u64;
            values_per_name.push((name.clone(), values.len() as u64));
            bytes_per_name.push((name.clone(), values.keys().map(|v| v.len() as u64).sum()));
            pairs.extend(
                values
                    .iter()
                    .map(|(v, refs)| (format!("{name}={v}"), refs.len() as u64)),
            );
        }
        let by_metric = self
            .by_name
            .get(ember_model::METRIC_NAME)
            .map(|values| {
                values
                    .iter()
                    .map(|(v, refs)| (v.clone(), refs.len() as u64))
                    .collect()
            })
            .unwrap_or_default();
        crate::head::PostingsStats {
            num_label_pairs,
            series_count_by_metric_name: top(by_metric),
            label_value_count_by_label_name: top(values_per_name),
            memory_in_bytes_by_label_name: top(bytes_per_name),
            series_count_by_label_value_pair: top(pairs),
        }
    }

    /// Refs of series matching every matcher, sorted, with Prometheus's semantics: a
    /// matcher that matches the empty string also selects series lacking the label.
    /// Lists are intersected smallest first.
    pub(crate) fn select(&self, matchers: &[Matcher]) -> Vec<u64> {
        let mut include: Vec<Vec<u64>> = Vec::new();
        let mut exclude: Vec<Vec<u64>> = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                // Series that have the label with a value the matcher rejects are excluded.
                let rejected = self.union_where(&m.name, |v| !m.matches(v));
                exclude.push(rejected);
            } else {
                include.push(self.union_for(m));
            }
        }
        if include.is_empty() {
            include.push(self.all.clone());
        }
        include.sort_by_key(Vec::len);
        let mut result = include.swap_remove(0);
        for other in &include {
            result = intersect(&result, other);
        }
        for ex in &exclude {
            result = subtract(&result, ex);
        }
        result
    }

    fn union_for(&self, m: &Matcher) -> Vec<u64> {
        match m.kind {
            MatchType::Equal => self
                .by_name
                .get(&m.name)
                .and_then(|v| v.get(&m.value))
                .cloned()
                .unwrap_or_default(),
            _ => self.union_where(&m.name, |v| m.matches(v)),
        }
    }

    fn union_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> Vec<u64> {
        let Some(values) = self.by_name.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<u64> = values
            .iter()
            .filter(|(v, _)| keep(v))
            .flat_map(|(_, refs)| refs.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn insert_sorted(list: &mut Vec<u64>, r: u64) {
    match list.last() {
        Some(&last) if last < r => list.push(r),
        None => list.push(r),
        _ => {
            if let Err(i) = list.binary_search(&r) {
                list.insert(i, r);
            }
        }
    }
}

fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter()
        .copied()
        .filter(|r| b.binary_search(r).is_err())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MatchType, n: &str, v: &str) -> Matcher {
        Matcher::new(kind, n, v).unwrap()
    }

    #[test]
    fn matcher_semantics() {
        let mut p = MemPostings::default();
        p.add(1, &Labels::from_pairs([("__name__", "up"), ("job", "a")]));
        p.add(2, &Labels::from_pairs([("__name__", "up"), ("job", "b")]));
        p.add(3, &Labels::from_pairs([("__name__", "up")]));
        assert_eq!(p.select(&[m(MatchType::Equal, "job", "a")]), vec![1]);
        assert_eq!(p.select(&[m(MatchType::NotEqual, "job", "a")]), vec![2, 3]);
        assert_eq!(p.select(&[m(MatchType::Regex, "job", "a|b")]), vec![1, 2]);
        assert_eq!(
            p.select(&[
                m(MatchType::Equal, "__name__", "up"),
                m(MatchType::Equal, "job", "")
            ]),
            vec![3]
        );
        assert_eq!(p.select(&[m(MatchType::NotRegex, "job", ".+")]), vec![3]);
        p.remove(2, &Labels::from_pairs([("__name__", "up"), ("job", "b")]));
        assert_eq!(p.select(&[m(MatchType::Regex, "job", ".+")]), vec![1]);
    }
}
