//! The scrape cache: what a raw series line resolved to last time, and which series a
//! target exposed in its previous scrape (for staleness markers).
//!
//! Keyed by the raw `name{labels}` bytes of the exposition, so a steady target costs one
//! hash lookup per sample and no label parsing or relabelling after its first scrape.
//! Entries keep the storage ref, not the labels: the storage resolves the ref, and the
//! rare sample whose ref the storage no longer knows gets its labels built again.

use ember_model::MetricType;
use ember_storage::{Metadata, SeriesRef};
use std::collections::{BTreeMap, HashMap};

/// Hashing for keys that come from scraped bodies: randomly seeded, and much cheaper than
/// SipHash per sample.
type FastHashMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One `# TYPE`, `# HELP` or `# UNIT` line's content.
pub(crate) enum MetadataLine<'a> {
    Type(MetricType),
    Help(&'a str),
    Unit(&'a str),
}

/// What a raw series resolved to.
pub(crate) struct CacheEntry {
    /// Metric relabelling dropped the series.
    pub(crate) dropped: bool,
    /// The storage ref from the last append.
    pub(crate) series_ref: SeriesRef,
    /// The scrape iteration that last saw this series.
    pub(crate) last_iter: u64,
    /// The iteration that saw it before `last_iter`, restored when a scrape is aborted.
    pub(crate) prev_iter: u64,
    /// Whether the last sample carried an explicit timestamp (those are never stale-marked).
    pub(crate) explicit_timestamp: bool,
}

/// Per-target cache across scrapes.
#[derive(Default)]
pub(crate) struct ScrapeCache {
    entries: FastHashMap<Box<[u8]>, CacheEntry>,
    /// `# TYPE`/`# HELP`/`# UNIT` per metric family, for the metadata API.
    metadata: FastHashMap<String, Metadata>,
    /// Set when `metadata` changed since [`ScrapeCache::take_metadata_change`].
    metadata_changed: bool,
    /// The current scrape iteration; starts at 1 so that 0 means "never seen".
    iter: u64,
}

impl ScrapeCache {
    /// Records a metadata line of family `metric` (created untyped when new) and notes
    /// whether anything changed. A steady target's lines change nothing and allocate
    /// nothing.
    pub(crate) fn update_metadata(&mut self, metric: &str, line: MetadataLine<'_>) {
        if let Some(entry) = self.metadata.get_mut(metric) {
            self.metadata_changed |= line.apply(entry);
            return;
        }
        let mut entry = Metadata {
            kind: MetricType::Unknown,
            help: String::new(),
            unit: String::new(),
        };
        line.apply(&mut entry);
        self.metadata.insert(metric.to_string(), entry);
        self.metadata_changed = true;
    }

    /// The metadata by family name, when it changed since the last call.
    pub(crate) fn take_metadata_change(&mut self) -> Option<BTreeMap<String, Metadata>> {
        std::mem::take(&mut self.metadata_changed).then(|| {
            self.metadata
                .iter()
                .map(|(name, m)| (name.clone(), m.clone()))
                .collect()
        })
    }

    /// Starts a new scrape iteration.
    pub(crate) fn begin(&mut self) -> u64 {
        self.iter += 1;
        self.iter
    }

    pub(crate) fn get_mut(&mut self, raw: &[u8]) -> Option<&mut CacheEntry> {
        self.entries.get_mut(raw)
    }

    /// Forgets that the aborted scrape `iter` saw anything, so staleness is computed
    /// against the last scrape that succeeded.
    pub(crate) fn abort(&mut self, iter: u64) {
        for e in self.entries.values_mut().filter(|e| e.last_iter == iter) {
            e.last_iter = e.prev_iter;
        }
    }

    pub(crate) fn insert(&mut self, raw: &[u8], entry: CacheEntry) {
        self.entries.insert(raw.into(), entry);
    }

    /// Series seen in the previous successful scrape but not in `iter`, which must be
    /// marked stale; `prev_iter` is the iteration of that previous scrape.
    pub(crate) fn gone_since(&self, prev_iter: u64, iter: u64) -> Vec<SeriesRef> {
        self.entries
            .values()
            .filter(|e| {
                prev_iter != 0
                    && e.last_iter == prev_iter
                    && prev_iter != iter
                    && !e.explicit_timestamp
            })
            .filter(|e| !e.dropped)
            .map(|e| e.series_ref)
            .collect()
    }

    /// Drops entries not seen for a few scrapes so churned series do not leak memory.
    pub(crate) fn evict_older_than(&mut self, iter: u64) {
        self.entries.retain(|_, e| e.last_iter >= iter);
    }
}

impl CacheEntry {
    /// Records that scrape `iter` saw this series.
    pub(crate) fn touch(&mut self, iter: u64) {
        if self.last_iter != iter {
            self.prev_iter = self.last_iter;
            self.last_iter = iter;
        }
    }
}

impl MetadataLine<'_> {
    /// Writes the line into `entry`; returns whether that changed it.
    fn apply(self, entry: &mut Metadata) -> bool {
        match self {
            MetadataLine::Type(kind) => std::mem::replace(&mut entry.kind, kind) != kind,
            MetadataLine::Help(text) => replace_text(&mut entry.help, text),
            MetadataLine::Unit(text) => replace_text(&mut entry.unit, text),
        }
    }
}

/// Sets `field` to `text`; returns whether it differed.
fn replace_text(field: &mut String, text: &str) -> bool {
    if field == text {
        return false;
    }
    field.clear();
    field.push_str(text);
    true
}
