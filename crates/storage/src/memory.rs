//! An in-memory store: a map from label set to samples behind one lock.
//!
//! It keeps Prometheus's append rules (out-of-order and duplicate timestamps refused) so
//! tests written against it hold for the persistent store too.

use crate::appender::{AppendError, Appendable, Appender, Metadata, SeriesRef};
use crate::querier::{Querier, Queryable, Series, SeriesSet, Shard, StorageError};
use ember_model::{Labels, Matcher, Timestamp};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

#[derive(Default)]
struct Inner {
    refs: HashMap<Labels, SeriesRef>,
    series: Vec<MemSeries>,
    metadata: HashMap<String, Metadata>,
}

struct MemSeries {
    labels: Labels,
    samples: Vec<(Timestamp, f64)>,
}

impl Inner {
    fn series_for(&self, series_ref: SeriesRef, labels: &Labels) -> Option<SeriesRef> {
        let hinted = series_ref
            .checked_sub(1)
            .and_then(|i| self.series.get(i as usize))
            .filter(|s| &s.labels == labels)
            .map(|_| series_ref);
        hinted.or_else(|| self.refs.get(labels).copied())
    }

    fn last_sample(&self, series_ref: SeriesRef) -> Option<(Timestamp, f64)> {
        self.series[(series_ref - 1) as usize]
            .samples
            .last()
            .copied()
    }

    fn get_or_create(&mut self, labels: &Labels) -> SeriesRef {
        if let Some(&r) = self.refs.get(labels) {
            return r;
        }
        self.series.push(MemSeries {
            labels: labels.clone(),
            samples: Vec::new(),
        });
        let r = self.series.len() as SeriesRef;
        self.refs.insert(labels.clone(), r);
        r
    }
}

/// An in-memory [`Appendable`] and [`Queryable`]. Cloning shares the same data.
#[derive(Clone, Default)]
pub struct MemStorage {
    inner: Arc<RwLock<Inner>>,
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every series with all its samples, sorted by labels (for tests and tools).
    pub fn dump(&self) -> Vec<Series> {
        let inner = self.inner.read().expect("memory storage lock");
        let mut all: Vec<Series> = inner
            .series
            .iter()
            .filter(|s| !s.samples.is_empty())
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s.samples.clone(),
            })
            .collect();
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        all
    }

    /// Number of series with samples.
    pub fn num_series(&self) -> usize {
        let inner = self.inner.read().expect("memory storage lock");
        inner
            .series
            .iter()
            .filter(|s| !s.samples.is_empty())
            .count()
    }

    /// The metadata last recorded for a metric family name.
    pub fn metadata(&self, metric: &str) -> Option<Metadata> {
        self.inner
            .read()
            .expect("memory storage lock")
            .metadata
            .get(metric)
            .cloned()
    }
}

impl Appendable for MemStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(MemAppender {
            storage: self.clone(),
            pending: Vec::new(),
            metadata: Vec::new(),
        })
    }
}

struct PendingSample {
    labels: Labels,
    t: Timestamp,
    v: f64,
}

struct MemAppender {
    storage: MemStorage,
    pending: Vec<PendingSample>,
    metadata: Vec<(String, Metadata)>,
}

impl MemAppender {
    /// The newest sample this transaction or the store holds for `labels`.
    fn newest(
        &self,
        inner: &Inner,
        series_ref: Option<SeriesRef>,
        labels: &Labels,
    ) -> Option<(Timestamp, f64)> {
        let pending = self
            .pending
            .iter()
            .rev()
            .find(|p| &p.labels == labels)
            .map(|p| (p.t, p.v));
        pending.or_else(|| series_ref.and_then(|r| inner.last_sample(r)))
    }
}

impl Appender for MemAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels("empty label set".into()));
        }
        // The series gets its ref now (samples stay invisible until commit), so the
        // writer can append by ref from the next sample on.
        let mut inner = self.storage.inner.write().expect("memory storage lock");
        let r = match inner.series_for(series_ref, labels) {
            Some(r) => r,
            None => inner.get_or_create(labels),
        };
        if let Some((last_t, last_v)) = self.newest(&inner, Some(r), labels) {
            if t < last_t {
                return Err(AppendError::OutOfOrder);
            }
            if t == last_t && last_v.to_bits() != v.to_bits() {
                return Err(AppendError::DuplicateTimestamp);
            }
            if t == last_t {
                return Ok(r);
            }
        }
        drop(inner);
        self.pending.push(PendingSample {
            labels: labels.clone(),
            t,
            v,
        });
        Ok(r)
    }

    fn append_by_ref(
        &mut self,
        series_ref: SeriesRef,
        t: Timestamp,
        v: f64,
    ) -> Result<bool, AppendError> {
        let labels = {
            let inner = self.storage.inner.read().expect("memory storage lock");
            match series_ref
                .checked_sub(1)
                .and_then(|i| inner.series.get(i as usize))
            {
                Some(s) => s.labels.clone(),
                None => return Ok(false),
            }
        };
        self.append(series_ref, &labels, t, v).map(|_| true)
    }

    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, AppendError> {
        let name = labels.metric_name().unwrap_or_default().to_string();
        self.metadata.push((name, metadata.clone()));
        Ok(series_ref)
    }

    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        let mut inner = self.storage.inner.write().expect("memory storage lock");
        for p in self.pending {
            let r = inner.get_or_create(&p.labels);
            let samples = &mut inner.series[(r - 1) as usize].samples;
            // Another transaction may have committed newer samples since append checked.
            if samples.last().is_none_or(|&(t, _)| t < p.t) {
                samples.push((p.t, p.v));
            }
        }
        for (name, m) in self.metadata {
            inner.metadata.insert(name, m);
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) {}
}

impl Queryable for MemStorage {
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(MemQuerier {
            storage: self,
            mint,
            maxt,
        }))
    }
}

struct MemQuerier<'a> {
    storage: &'a MemStorage,
    mint: Timestamp,
    maxt: Timestamp,
}

fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl MemQuerier<'_> {
    fn matching<T>(
        &self,
        matchers: &[Matcher],
        mut f: impl FnMut(&MemSeries) -> Option<T>,
    ) -> Vec<T> {
        let inner = self.storage.inner.read().expect("memory storage lock");
        inner
            .series
            .iter()
            .filter(|s| matches_all(&s.labels, matchers))
            .filter(|s| {
                s.samples
                    .iter()
                    .any(|&(t, _)| t >= self.mint && t <= self.maxt)
            })
            .filter_map(&mut f)
            .collect()
    }
}

impl Querier for MemQuerier<'_> {
    fn select_shard(
        &self,
        matchers: &[Matcher],
        shard: Shard,
    ) -> Result<SeriesSet<'_>, StorageError> {
        let mut out = self.matching(matchers, |s| {
            if !shard.contains_labels(&s.labels) {
                return None;
            }
            let samples = s
                .samples
                .iter()
                .copied()
                .filter(|&(t, _)| t >= self.mint && t <= self.maxt)
                .collect();
            Some(Series {
                labels: s.labels.clone(),
                samples,
            })
        });
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Box::new(out.into_iter().map(Ok)))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut names = BTreeSet::new();
        self.matching(matchers, |s| {
            names.extend(s.labels.iter().map(|l| l.name.clone()));
            Some(())
        });
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut values = BTreeSet::new();
        self.matching(matchers, |s| {
            values.extend(s.labels.get(name).map(str::to_string));
            Some(())
        });
        Ok(values.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_model::MatchType;

    fn lbls(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)])
    }

    #[test]
    fn commit_makes_samples_visible_rollback_discards() {
        let s = MemStorage::new();
        let mut app = s.appender();
        app.append(0, &lbls("a"), 10, 1.0).unwrap();
        assert_eq!(s.num_series(), 0, "uncommitted samples are invisible");
        app.commit().unwrap();
        let mut app = s.appender();
        app.append(0, &lbls("b"), 10, 1.0).unwrap();
        app.rollback();
        let dump = s.dump();
        assert_eq!(dump.len(), 1);
        assert_eq!(dump[0].samples, vec![(10, 1.0)]);
    }

    #[test]
    fn out_of_order_and_duplicates_are_refused() {
        let s = MemStorage::new();
        let mut app = s.appender();
        app.append(0, &lbls("a"), 10, 1.0).unwrap();
        assert_eq!(
            app.append(0, &lbls("a"), 5, 1.0),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(
            app.append(0, &lbls("a"), 10, 2.0),
            Err(AppendError::DuplicateTimestamp)
        );
        assert!(
            app.append(0, &lbls("a"), 10, 1.0).is_ok(),
            "same value at same timestamp is ignored"
        );
        app.commit().unwrap();
        let mut app = s.appender();
        assert_eq!(
            app.append(0, &lbls("a"), 9, 1.0),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(
            app.append(0, &Labels::empty(), 9, 1.0),
            Err(AppendError::InvalidLabels("empty label set".into()))
        );
    }

    #[test]
    fn select_filters_by_matchers_and_time() {
        let s = MemStorage::new();
        let mut app = s.appender();
        for t in [10, 20, 30] {
            app.append(0, &lbls("a"), t, t as f64).unwrap();
            app.append(0, &lbls("b"), t, t as f64).unwrap();
        }
        app.commit().unwrap();
        let q = s.querier(15, 25).unwrap();
        let m = Matcher::new(MatchType::Equal, "job", "b").unwrap();
        let got = q.select_all(&[m]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, vec![(20, 20.0)]);
        assert_eq!(q.label_values("job", &[]).unwrap(), vec!["a", "b"]);
        assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "job"]);
    }
}
