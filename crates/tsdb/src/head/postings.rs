//! The head's label index: interned label strings, and postings (label pair → sorted
//! series refs) for matcher evaluation.
//!
//! Series keep their labels as symbol ids ([`SeriesLabels`]), so a string shared by many
//! series (a job, an instance, a metric name) is stored once. Symbols are counted by the
//! series that use them and freed with the last one, so churn does not grow the table.

use crate::index::matchers::RegexShape;
use ember_model::{Label, Labels, MatchType, Matcher};
use std::collections::HashMap;
use std::sync::Arc;

type SymbolId = u32;

/// A series' labels as symbol ids: name, value, name, value, … in name order.
pub(crate) struct SeriesLabels(Box<[SymbolId]>);

struct Symbol {
    text: Arc<str>,
    /// Label names and values of live series that use it.
    uses: u32,
}

/// Symbols plus label name → label value → sorted series refs. Refs only grow, so
/// appends keep the lists sorted.
#[derive(Default)]
pub(crate) struct MemPostings {
    ids: HashMap<Arc<str>, SymbolId>,
    /// Indexed by id; `None` for freed ids, which `free` lists for reuse.
    symbols: Vec<Option<Symbol>>,
    free: Vec<SymbolId>,
    by_name: HashMap<SymbolId, HashMap<SymbolId, Vec<u64>>>,
    all: Vec<u64>,
}

impl MemPostings {
    /// Indexes a new series and returns its labels as symbol ids.
    pub(crate) fn add(&mut self, series_ref: u64, labels: &Labels) -> SeriesLabels {
        let mut ids = Vec::with_capacity(labels.len() * 2);
        for l in labels.iter() {
            let (name, value) = (self.intern(&l.name), self.intern(&l.value));
            ids.extend([name, value]);
            let list = self
                .by_name
                .entry(name)
                .or_default()
                .entry(value)
                .or_default();
            insert_sorted(list, series_ref);
        }
        insert_sorted(&mut self.all, series_ref);
        SeriesLabels(ids.into_boxed_slice())
    }

    /// Forgets a series: its postings entries and its uses of symbols.
    pub(crate) fn remove(&mut self, series_ref: u64, labels: &SeriesLabels) {
        for pair in labels.0.chunks_exact(2) {
            let (name, value) = (pair[0], pair[1]);
            if let Some(values) = self.by_name.get_mut(&name) {
                if let Some(list) = values.get_mut(&value) {
                    if let Ok(i) = list.binary_search(&series_ref) {
                        list.remove(i);
                    }
                    if list.is_empty() {
                        values.remove(&value);
                    }
                }
                if values.is_empty() {
                    self.by_name.remove(&name);
                }
            }
            self.release(name);
            self.release(value);
        }
        if let Ok(i) = self.all.binary_search(&series_ref) {
            self.all.remove(i);
        }
    }

    /// The label set behind `labels`.
    pub(crate) fn labels(&self, labels: &SeriesLabels) -> Labels {
        Labels::from_sorted(
            labels
                .0
                .chunks_exact(2)
                .map(|pair| Label {
                    name: self.text(pair[0]).to_string(),
                    value: self.text(pair[1]).to_string(),
                })
                .collect(),
        )
    }

    /// Whether `ids` spells exactly `labels`.
    pub(crate) fn same_labels(&self, ids: &SeriesLabels, labels: &Labels) -> bool {
        ids.0.len() == labels.len() * 2
            && ids
                .0
                .chunks_exact(2)
                .zip(labels.iter())
                .all(|(pair, l)| self.text(pair[0]) == l.name && self.text(pair[1]) == l.value)
    }

    fn text(&self, id: SymbolId) -> &str {
        &self.symbols[id as usize]
            .as_ref()
            .expect("a live series uses only live symbols")
            .text
    }

    fn intern(&mut self, s: &str) -> SymbolId {
        if let Some(&id) = self.ids.get(s) {
            let symbol = self.symbols[id as usize]
                .as_mut()
                .expect("mapped id is live");
            symbol.uses += 1;
            return id;
        }
        let text: Arc<str> = Arc::from(s);
        let symbol = Some(Symbol {
            text: text.clone(),
            uses: 1,
        });
        let id = match self.free.pop() {
            Some(id) => {
                self.symbols[id as usize] = symbol;
                id
            }
            None => {
                self.symbols.push(symbol);
                SymbolId::try_from(self.symbols.len() - 1).expect("fewer than 2^32 symbols")
            }
        };
        self.ids.insert(text, id);
        id
    }

    fn release(&mut self, id: SymbolId) {
        let slot = &mut self.symbols[id as usize];
        let symbol = slot.as_mut().expect("released id is live");
        symbol.uses -= 1;
        if symbol.uses == 0 {
            let text = slot.take().expect("checked above").text;
            self.ids.remove(&text);
            self.free.push(id);
        }
    }

    /// Values of label `name` with their postings.
    fn values_of(&self, name: &str) -> impl Iterator<Item = (&str, &Vec<u64>)> {
        self.ids
            .get(name)
            .and_then(|id| self.by_name.get(id))
            .into_iter()
            .flatten()
            .map(|(v, refs)| (self.text(*v), refs))
    }

    /// The postings of `name="value"`.
    fn list(&self, name: &str, value: &str) -> &[u64] {
        let id = |s: &str| self.ids.get(s).copied();
        id(name)
            .zip(id(value))
            .and_then(|(n, v)| self.by_name.get(&n)?.get(&v))
            .map_or(&[], Vec::as_slice)
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
        for (&name, values) in &self.by_name {
            let name = self.text(name);
            num_label_pairs += values.len() as u64;
            values_per_name.push((name.to_string(), values.len() as u64));
            bytes_per_name.push((
                name.to_string(),
                values.keys().map(|&v| self.text(v).len() as u64).sum(),
            ));
            pairs.extend(
                values
                    .iter()
                    .map(|(&v, refs)| (format!("{name}={}", self.text(v)), refs.len() as u64)),
            );
        }
        let by_metric = self
            .values_of(ember_model::METRIC_NAME)
            .map(|(v, refs)| (v.to_string(), refs.len() as u64))
            .collect();
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
                exclude.push(self.rejected_by(m));
            } else {
                let accepted = self.accepted_by(m);
                if accepted.is_empty() {
                    return accepted;
                }
                include.push(accepted);
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

    /// Series whose value of `m.name` `m` accepts.
    fn accepted_by(&self, m: &Matcher) -> Vec<u64> {
        match m.kind {
            MatchType::Equal => self.list(&m.name, &m.value).to_vec(),
            MatchType::Regex => self.regex_matches(m),
            MatchType::NotEqual | MatchType::NotRegex => {
                self.union_where(&m.name, |v| m.matches(v))
            }
        }
    }

    /// Series that have label `m.name` with a value `m` rejects.
    fn rejected_by(&self, m: &Matcher) -> Vec<u64> {
        match m.kind {
            MatchType::NotEqual => self.list(&m.name, &m.value).to_vec(),
            MatchType::NotRegex => self.regex_matches(m),
            MatchType::Equal | MatchType::Regex => self.union_where(&m.name, |v| !m.matches(v)),
        }
    }

    /// Series whose value of `m.name` the regex of `m` matches, its negation ignored;
    /// string comparisons stand in for the regex when its shape allows.
    fn regex_matches(&self, m: &Matcher) -> Vec<u64> {
        match RegexShape::of(&m.value) {
            Some(RegexShape::Literals(values)) => {
                self.union(values.iter().map(|v| self.list(&m.name, v)))
            }
            Some(RegexShape::Prefix(prefix)) => {
                self.union_where(&m.name, |v| v.starts_with(prefix.as_str()))
            }
            None => {
                let positive = m.kind == MatchType::Regex;
                self.union_where(&m.name, |v| m.matches(v) == positive)
            }
        }
    }

    fn union_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> Vec<u64> {
        self.union(
            self.values_of(name)
                .filter(|(v, _)| keep(v))
                .map(|(_, refs)| refs.as_slice()),
        )
    }

    /// The sorted union of lists that are disjoint (one label's values).
    fn union<'a>(&self, lists: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
        let lists: Vec<&[u64]> = lists.collect();
        match lists.as_slice() {
            [] => Vec::new(),
            [one] => one.to_vec(),
            _ => {
                let mut out: Vec<u64> = lists.concat();
                out.sort_unstable();
                out
            }
        }
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
        let b = Labels::from_pairs([("__name__", "up"), ("job", "b")]);
        p.add(1, &Labels::from_pairs([("__name__", "up"), ("job", "a")]));
        let b_ids = p.add(2, &b);
        p.add(3, &Labels::from_pairs([("__name__", "up")]));
        p.add(4, &Labels::from_pairs([("__name__", "up"), ("job", "abc")]));
        let select = |p: &MemPostings, ms: &[Matcher]| p.select(ms);
        assert_eq!(select(&p, &[m(MatchType::Equal, "job", "a")]), vec![1]);
        assert_eq!(
            select(&p, &[m(MatchType::NotEqual, "job", "a")]),
            vec![2, 3, 4]
        );
        assert_eq!(select(&p, &[m(MatchType::Regex, "job", "a|b")]), vec![1, 2]);
        assert_eq!(select(&p, &[m(MatchType::Regex, "job", "a.*")]), vec![1, 4]);
        assert_eq!(select(&p, &[m(MatchType::Regex, "job", "a.+")]), vec![4]);
        assert_eq!(
            select(&p, &[m(MatchType::Regex, "job", ".+")]),
            vec![1, 2, 4]
        );
        assert_eq!(
            select(&p, &[m(MatchType::Regex, "job", "x|y")]),
            Vec::<u64>::new()
        );
        assert_eq!(
            select(
                &p,
                &[
                    m(MatchType::Equal, "__name__", "up"),
                    m(MatchType::Equal, "job", "")
                ]
            ),
            vec![3]
        );
        assert_eq!(select(&p, &[m(MatchType::NotRegex, "job", ".+")]), vec![3]);
        assert_eq!(
            select(&p, &[m(MatchType::NotRegex, "job", "a|b")]),
            vec![3, 4]
        );
        assert!(p.same_labels(&b_ids, &b));
        assert_eq!(p.labels(&b_ids), b);
        p.remove(2, &b_ids);
        assert_eq!(select(&p, &[m(MatchType::Regex, "job", ".+")]), vec![1, 4]);
    }

    #[test]
    fn symbols_are_shared_and_freed_with_their_last_series() {
        let mut p = MemPostings::default();
        let x = p.add(1, &Labels::from_pairs([("job", "x")]));
        let y = p.add(2, &Labels::from_pairs([("job", "y")]));
        assert_eq!(x.0[0], y.0[0], "the name is interned once");
        assert_eq!(p.ids.len(), 3);
        p.remove(1, &x);
        assert_eq!(p.ids.len(), 2, "x is freed, job is still used");
        let z = p.add(3, &Labels::from_pairs([("job", "z")]));
        assert_eq!(z.0[1], x.0[1], "a freed id is reused");
        assert_eq!(p.labels(&z), Labels::from_pairs([("job", "z")]));
        p.remove(2, &y);
        p.remove(3, &z);
        assert!(p.ids.is_empty() && p.by_name.is_empty() && p.all.is_empty());
    }
}
