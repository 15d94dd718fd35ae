//! Turns one scrape body into appends: parse, apply target labels and metric relabelling
//! (once per new series, then cached), enforce limits, and stale-mark vanished series.

use crate::cache::{CacheEntry, MetadataLine, ScrapeCache};
use ember_exposition::{Entry, Format, Parser};
#[cfg(test)]
use ember_model::is_stale_nan;
use ember_model::{Labels, STALE_NAN, Timestamp};
use ember_relabel::RelabelConfig;
use ember_storage::{AppendError, Appender};

/// Per-target options that shape how a scrape is appended.
#[derive(Clone, Debug, Default)]
pub struct AppendOptions {
    /// Scraped labels win over target labels instead of being renamed `exported_*`.
    pub honor_labels: bool,
    /// Use timestamps from the exposition instead of the scrape time.
    pub honor_timestamps: bool,
    /// Fail the scrape when more samples than this survive relabelling (0 = no limit).
    pub sample_limit: usize,
    /// Fail the scrape when a series has more labels than this (0 = no limit).
    pub label_limit: usize,
    /// Fail the scrape when a label name is longer than this (0 = no limit).
    pub label_name_length_limit: usize,
    /// Fail the scrape when a label value is longer than this (0 = no limit).
    pub label_value_length_limit: usize,
    /// `metric_relabel_configs`.
    pub metric_relabel: Vec<RelabelConfig>,
}

/// Counts from appending one scrape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Samples in the body (`scrape_samples_scraped`).
    pub scraped: usize,
    /// Samples left after metric relabelling (`scrape_samples_post_metric_relabeling`).
    pub post_relabel: usize,
    /// Series seen for the first time (`scrape_series_added`).
    pub series_added: usize,
    /// Samples refused as out of order.
    pub out_of_order: usize,
    /// Samples refused as duplicates.
    pub duplicate: usize,
    /// Samples refused as out of bounds.
    pub out_of_bounds: usize,
}

/// Why appending a scrape failed; the whole scrape is then rolled back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum AppendFailure {
    /// The body did not parse.
    #[error("{0}")]
    Parse(String),
    /// A limit was exceeded; the message is Prometheus's.
    #[error("{0}")]
    Limit(String),
    /// The storage failed.
    #[error("{0}")]
    Storage(String),
}

/// Everything the appending of one target's scrapes needs.
pub(crate) struct TargetAppender<'a> {
    pub(crate) target_labels: &'a Labels,
    pub(crate) options: &'a AppendOptions,
    pub(crate) cache: &'a mut ScrapeCache,
}

impl TargetAppender<'_> {
    /// Appends the samples of `body` at scrape time `ts` into `app`, then stale markers for
    /// every series the previous successful scrape (`prev_iter`) had and this one lacks.
    /// Returns the iteration number to pass as `prev_iter` next time.
    pub(crate) fn append_body(
        &mut self,
        app: &mut dyn Appender,
        body: &[u8],
        format: Format,
        ts: Timestamp,
        prev_iter: u64,
    ) -> Result<(u64, AppendStats), (u64, AppendFailure, AppendStats)> {
        let iter = self.cache.begin();
        let mut stats = AppendStats::default();
        match self.append_samples(app, body, format, ts, iter, &mut stats) {
            Ok(()) => {
                self.mark_stale(app, prev_iter, iter, ts);
                self.cache.evict_older_than(iter.saturating_sub(2));
                Ok((iter, stats))
            }
            Err(e) => {
                self.cache.abort(iter);
                Err((iter, e, stats))
            }
        }
    }

    /// Appends stale markers for everything the previous successful scrape had: used after
    /// a failed scrape (a failed scrape counts as an empty one) and when a target goes away.
    pub(crate) fn append_all_stale(
        &mut self,
        app: &mut dyn Appender,
        prev_iter: u64,
        ts: Timestamp,
    ) -> u64 {
        let iter = self.cache.begin();
        self.mark_stale(app, prev_iter, iter, ts);
        iter
    }

    fn mark_stale(&mut self, app: &mut dyn Appender, prev_iter: u64, iter: u64, ts: Timestamp) {
        for series_ref in self.cache.gone_since(prev_iter, iter) {
            // Refusals (e.g. a newer sample already stored) are expected and harmless here,
            // and a series the storage has dropped needs no marker.
            let _ = app.append_by_ref(series_ref, ts, STALE_NAN);
        }
    }

    fn append_samples(
        &mut self,
        app: &mut dyn Appender,
        body: &[u8],
        format: Format,
        ts: Timestamp,
        iter: u64,
        stats: &mut AppendStats,
    ) -> Result<(), AppendFailure> {
        let mut parser = Parser::new(body, format);
        while let Some(entry) = parser.next() {
            let sample = match entry.map_err(|e| AppendFailure::Parse(e.to_string()))? {
                Entry::Sample(s) => s,
                Entry::Type { metric, kind } => {
                    self.cache
                        .update_metadata(&metric, MetadataLine::Type(kind));
                    continue;
                }
                Entry::Help { metric, text } => {
                    self.cache
                        .update_metadata(&metric, MetadataLine::Help(&text));
                    continue;
                }
                Entry::Unit { metric, unit } => {
                    self.cache
                        .update_metadata(&metric, MetadataLine::Unit(&unit));
                    continue;
                }
                _ => continue,
            };
            stats.scraped += 1;
            let t = match sample.timestamp_ms {
                Some(t) if self.options.honor_timestamps => t,
                _ => ts,
            };
            let explicit_timestamp = self.options.honor_timestamps && sample.timestamp_ms.is_some();
            let raw = sample.series_id();
            let mut new_labels = None;
            let entry = match self.cache.get_mut(raw) {
                Some(e) => e,
                None => {
                    new_labels = resolve_labels(&sample, self.target_labels, self.options)?;
                    stats.series_added += usize::from(new_labels.is_some());
                    let entry = CacheEntry {
                        dropped: new_labels.is_none(),
                        series_ref: 0,
                        last_iter: 0,
                        prev_iter: 0,
                        explicit_timestamp,
                    };
                    self.cache.insert(raw, entry);
                    self.cache.get_mut(raw).expect("entry just inserted")
                }
            };
            entry.touch(iter);
            entry.explicit_timestamp = explicit_timestamp;
            if entry.dropped {
                continue;
            }
            stats.post_relabel += 1;
            if self.options.sample_limit > 0 && stats.post_relabel > self.options.sample_limit {
                return Err(AppendFailure::Limit("sample limit exceeded".into()));
            }
            let appended = match app.append_by_ref(entry.series_ref, t, sample.value) {
                Ok(true) => Ok(entry.series_ref),
                Ok(false) => {
                    let labels = match new_labels {
                        Some(labels) => labels,
                        None => resolve_labels(&sample, self.target_labels, self.options)?
                            .expect("relabelling kept this series when it was cached"),
                    };
                    app.append(entry.series_ref, &labels, t, sample.value)
                }
                Err(e) => Err(e),
            };
            match appended {
                Ok(r) => entry.series_ref = r,
                Err(AppendError::OutOfOrder) => stats.out_of_order += 1,
                Err(AppendError::DuplicateTimestamp) => stats.duplicate += 1,
                Err(AppendError::OutOfBounds) => stats.out_of_bounds += 1,
                Err(e @ AppendError::InvalidLabels(_)) => {
                    return Err(AppendFailure::Parse(e.to_string()));
                }
                Err(e @ AppendError::Storage(_)) => {
                    return Err(AppendFailure::Storage(e.to_string()));
                }
            }
        }
        Ok(())
    }
}

/// Builds the final label set of a scraped series; `None` when relabelling drops it.
fn resolve_labels(
    sample: &ember_exposition::Sample<'_>,
    target_labels: &Labels,
    options: &AppendOptions,
) -> Result<Option<Labels>, AppendFailure> {
    if sample.metric_name().is_empty() {
        return Err(AppendFailure::Parse(
            "missing metric name (__name__ label)".into(),
        ));
    }
    let mut names: Vec<std::borrow::Cow<'_, str>> = sample.labels().map(|(n, _)| n).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(AppendFailure::Parse(format!(
            "label name {:?} is not unique: invalid sample",
            w[0]
        )));
    }
    // Prometheus 3 normalises `le` and `quantile` values (`1` becomes `1.0`).
    let scraped = sample.to_labels();
    let labels = merge_target_labels(&scraped, target_labels, options.honor_labels);
    let Some(labels) = ember_relabel::process(&labels, &options.metric_relabel) else {
        return Ok(None);
    };
    check_label_limits(&labels, options)?;
    Ok(Some(labels))
}

/// Attaches target labels to a scraped series the way Prometheus does: with
/// `honor_labels` scraped values win; otherwise a clashing scraped label is kept as
/// `exported_<name>` (prefixed again until the name is free).
pub fn merge_target_labels(scraped: &Labels, target: &Labels, honor_labels: bool) -> Labels {
    let mut b = scraped.to_builder();
    if honor_labels {
        for l in target.iter().filter(|l| !scraped.has(&l.name)) {
            b.set(l.name.clone(), l.value.clone());
        }
        return b.build();
    }
    let mut conflicts: Vec<(&str, &str)> = Vec::new();
    for l in target.iter() {
        if let Some(v) = scraped.get(&l.name) {
            conflicts.push((&l.name, v));
        }
        b.set(l.name.clone(), l.value.clone());
    }
    conflicts.sort_by_key(|(name, _)| name.len());
    for (name, value) in conflicts {
        let mut exported = format!("exported_{name}");
        while b.get(&exported).is_some() {
            exported = format!("exported_{exported}");
        }
        b.set(exported, value);
    }
    b.build()
}

fn check_label_limits(labels: &Labels, o: &AppendOptions) -> Result<(), AppendFailure> {
    let metric = labels.metric_name().unwrap_or_default();
    let metric = truncate(metric, 50);
    if o.label_limit > 0 && labels.len() > o.label_limit {
        return Err(AppendFailure::Limit(format!(
            "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {})",
            labels.len(),
            o.label_limit
        )));
    }
    for l in labels.iter() {
        if o.label_name_length_limit > 0 && l.name.len() > o.label_name_length_limit {
            return Err(AppendFailure::Limit(format!(
                "label_name_length_limit exceeded (metric: {metric}, label name: {}, length: {}, limit: {})",
                truncate(&l.name, 50),
                l.name.len(),
                o.label_name_length_limit
            )));
        }
        if o.label_value_length_limit > 0 && l.value.len() > o.label_value_length_limit {
            return Err(AppendFailure::Limit(format!(
                "label_value_length_limit exceeded (metric: {metric}, label name: {}, value: {:?}, length: {}, limit: {})",
                truncate(&l.name, 50),
                truncate(&l.value, 50),
                l.value.len(),
                o.label_value_length_limit
            )));
        }
    }
    Ok(())
}

/// The first `max` bytes of `s`, cut at a character boundary (Go's `%.50s` counts runes;
/// close enough for error text).
fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_storage::{Appendable, MemStorage, SeriesRef};

    struct Harness {
        storage: MemStorage,
        cache: ScrapeCache,
        target: Labels,
        options: AppendOptions,
        prev_iter: u64,
        /// Appenders behave as a storage that dropped every series since its last append.
        forget_refs: bool,
    }

    /// An appender of a storage that no longer knows any ref it handed out.
    struct ForgetsRefs(Box<dyn Appender>);

    impl Appender for ForgetsRefs {
        fn append(
            &mut self,
            _: SeriesRef,
            labels: &Labels,
            t: Timestamp,
            v: f64,
        ) -> Result<SeriesRef, AppendError> {
            self.0.append(0, labels, t, v)
        }
        fn update_metadata(
            &mut self,
            r: SeriesRef,
            labels: &Labels,
            m: &ember_storage::Metadata,
        ) -> Result<SeriesRef, AppendError> {
            self.0.update_metadata(r, labels, m)
        }
        fn commit(self: Box<Self>) -> Result<(), AppendError> {
            self.0.commit()
        }
        fn rollback(self: Box<Self>) {
            self.0.rollback()
        }
    }

    impl Harness {
        fn new(options: AppendOptions) -> Self {
            let target = Labels::from_pairs([("job", "j"), ("instance", "i:1")]);
            Harness {
                storage: MemStorage::new(),
                cache: ScrapeCache::default(),
                target,
                options,
                prev_iter: 0,
                forget_refs: false,
            }
        }

        fn appender(&self) -> Box<dyn Appender> {
            let app = self.storage.appender();
            if self.forget_refs {
                Box::new(ForgetsRefs(app))
            } else {
                app
            }
        }

        fn scrape(&mut self, body: &str, ts: Timestamp) -> Result<AppendStats, AppendFailure> {
            let mut app = self.appender();
            let mut ta = TargetAppender {
                target_labels: &self.target,
                options: &self.options,
                cache: &mut self.cache,
            };
            match ta.append_body(
                app.as_mut(),
                body.as_bytes(),
                Format::PromText,
                ts,
                self.prev_iter,
            ) {
                Ok((iter, stats)) => {
                    self.prev_iter = iter;
                    app.commit().unwrap();
                    Ok(stats)
                }
                Err((_, e, _)) => {
                    app.rollback();
                    let mut app = self.appender();
                    let mut ta = TargetAppender {
                        target_labels: &self.target,
                        options: &self.options,
                        cache: &mut self.cache,
                    };
                    self.prev_iter = ta.append_all_stale(app.as_mut(), self.prev_iter, ts);
                    app.commit().unwrap();
                    Err(e)
                }
            }
        }

        fn samples(&self, name: &str) -> Vec<(Timestamp, f64)> {
            self.storage
                .dump()
                .into_iter()
                .find(|s| s.labels.metric_name() == Some(name))
                .map(|s| s.samples)
                .unwrap_or_default()
        }
    }

    #[test]
    fn vanished_series_get_one_staleness_marker() {
        let mut h = Harness::new(AppendOptions {
            honor_timestamps: true,
            ..Default::default()
        });
        let stats = h.scrape("a 1\nb 2\n", 1000).unwrap();
        assert_eq!((stats.scraped, stats.series_added), (2, 2));
        h.scrape("a 3\n", 2000).unwrap();
        h.scrape("a 4\n", 3000).unwrap();
        let b = h.samples("b");
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(is_stale_nan(b[1].1) && b[1].0 == 2000);
        let a = h.samples("a");
        assert_eq!(a, vec![(1000, 1.0), (2000, 3.0), (3000, 4.0)]);
    }

    #[test]
    fn a_failed_scrape_marks_everything_stale_once() {
        let mut h = Harness::new(AppendOptions {
            honor_timestamps: true,
            ..Default::default()
        });
        h.scrape("a 1\nexplicit 5 500\n", 1000).unwrap();
        assert!(matches!(
            h.scrape("a 1\nbroken{\n", 2000),
            Err(AppendFailure::Parse(_))
        ));
        h.scrape("", 3000).unwrap();
        let a = h.samples("a");
        assert_eq!(a.len(), 2, "one marker, not one per failure: {a:?}");
        assert!(is_stale_nan(a[1].1));
        assert_eq!(
            h.samples("explicit"),
            vec![(500, 5.0)],
            "series with explicit timestamps are never stale-marked"
        );
    }

    #[test]
    fn sample_limit_fails_the_whole_scrape() {
        let mut h = Harness::new(AppendOptions {
            sample_limit: 2,
            ..Default::default()
        });
        let err = h.scrape("a 1\nb 2\nc 3\n", 1000).unwrap_err();
        assert_eq!(err, AppendFailure::Limit("sample limit exceeded".into()));
        assert!(h.storage.dump().is_empty());
    }

    #[test]
    fn duplicate_label_names_and_label_limits_are_errors() {
        let mut h = Harness::new(AppendOptions::default());
        let err = h.scrape("a{x=\"1\",x=\"2\"} 1\n", 1000).unwrap_err();
        assert!(err.to_string().contains("not unique"), "{err}");
        let mut h = Harness::new(AppendOptions {
            label_limit: 3,
            ..Default::default()
        });
        let err = h.scrape("a{x=\"1\",y=\"2\"} 1\n", 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label_limit exceeded (metric: a, number of labels: 5, limit: 3)"
        );
    }

    /// A metric relabelling rule that drops the series named `name`.
    fn drop_metric(name: &str) -> RelabelConfig {
        let mut drop = RelabelConfig::default_for(ember_relabel::Action::Drop);
        drop.source_labels = vec!["__name__".into()];
        drop.regex = ember_model::PromRegex::new(name).unwrap();
        drop
    }

    #[test]
    fn metric_relabelling_drops_are_cached_and_counted() {
        let mut h = Harness::new(AppendOptions {
            metric_relabel: vec![drop_metric("b")],
            ..Default::default()
        });
        for ts in [1000, 2000] {
            let stats = h.scrape("a 1\nb 2\n", ts).unwrap();
            assert_eq!((stats.scraped, stats.post_relabel), (2, 1));
        }
        assert!(h.samples("b").is_empty());
        assert_eq!(h.samples("a").len(), 2);
    }

    #[test]
    fn series_the_storage_forgot_are_appended_with_rebuilt_labels() {
        let mut h = Harness::new(AppendOptions {
            metric_relabel: vec![drop_metric("b")],
            ..Default::default()
        });
        h.scrape("a{x=\"1\"} 1\nb 2\n", 1000).unwrap();
        h.forget_refs = true;
        let stats = h.scrape("a{x=\"1\"} 2\nb 3\n", 2000).unwrap();
        assert_eq!((stats.series_added, stats.post_relabel), (0, 1));
        let all = h.storage.dump();
        assert_eq!(all.len(), 1, "b stays dropped: {all:?}");
        assert_eq!(
            all[0].labels,
            l(&[
                ("__name__", "a"),
                ("instance", "i:1"),
                ("job", "j"),
                ("x", "1")
            ])
        );
        assert_eq!(all[0].samples, vec![(1000, 1.0), (2000, 2.0)]);
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn clashing_labels_become_exported() {
        let scraped = l(&[("__name__", "m"), ("job", "inner"), ("exported_job", "x")]);
        let target = l(&[("job", "outer"), ("instance", "h:1")]);
        let got = merge_target_labels(&scraped, &target, false);
        assert_eq!(
            got,
            l(&[
                ("__name__", "m"),
                ("job", "outer"),
                ("instance", "h:1"),
                ("exported_job", "x"),
                ("exported_exported_job", "inner")
            ])
        );
        let honored = merge_target_labels(&scraped, &target, true);
        assert_eq!(honored.get("job"), Some("inner"));
        assert_eq!(honored.get("instance"), Some("h:1"));
    }
}
