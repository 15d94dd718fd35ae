//! The head: the in-memory, appendable part of the database holding the newest samples.
//!
//! - Series are found by ref (the scrape cache passes it back) or by labels, each table
//!   split in lock stripes so appends from many targets do not contend.
//! - [`HeadAppender`] buffers a transaction. Commit writes it to the WAL (when the head
//!   has one) and only then applies it, under the head's commit lock; a query snapshots
//!   chunks under the same lock, so it never sees half a commit.
//! - [`Head::replay`] rebuilds the head from a WAL at start-up.

mod disk;
mod int_map;
mod postings;
mod series;

pub(crate) use series::ClosedChunk;

use crate::head::disk::{ChunkDiskMapper, FoundChunk};
use crate::head::int_map::IntMap;
use crate::head::postings::MemPostings;
use crate::head::series::{ChunkSink, MemSeries, decode_into};
use ember_model::{Labels, Matcher, Timestamp};
use ember_storage::{
    AppendError, Appendable, Appender, Metadata, Querier, Queryable, Series, SeriesRef, SeriesSet,
    Shard, StorageError,
};
use ember_wal::Wal;
use ember_wal::record::{self, RecordType, RefSample};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

const STRIPES: usize = 64;

/// Head settings.
#[derive(Clone, Debug)]
pub struct HeadOptions {
    /// The chunk range (2h): head chunks never span a multiple of it.
    pub chunk_range_ms: i64,
    /// Samples older than this belong to persisted blocks and are refused (out of bounds).
    pub min_valid_time: Timestamp,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            chunk_range_ms: 2 * 3600 * 1000,
            min_valid_time: i64::MIN,
        }
    }
}

/// Series lookup tables, split in stripes.
struct SeriesStripes {
    by_ref: Vec<RwLock<IntMap<Arc<MemSeries>>>>,
    /// Labels hash → refs with that hash. The labels themselves live once, in the series.
    by_hash: Vec<RwLock<IntMap<HashRefs>>>,
}

/// The refs of series whose labels share a hash: almost always one, kept inline.
enum HashRefs {
    One(u64),
    Many(Vec<u64>),
}

impl HashRefs {
    fn as_slice(&self) -> &[u64] {
        match self {
            HashRefs::One(r) => std::slice::from_ref(r),
            HashRefs::Many(refs) => refs,
        }
    }

    fn push(&mut self, r: u64) {
        match self {
            HashRefs::One(first) => *self = HashRefs::Many(vec![*first, r]),
            HashRefs::Many(refs) => refs.push(r),
        }
    }

    /// Removes `r`; returns whether none is left.
    fn remove(&mut self, r: u64) -> bool {
        match self {
            HashRefs::One(only) => *only == r,
            HashRefs::Many(refs) => {
                refs.retain(|&x| x != r);
                if let [last] = refs.as_slice() {
                    *self = HashRefs::One(*last);
                }
                false
            }
        }
    }
}

impl SeriesStripes {
    fn new() -> Self {
        SeriesStripes {
            by_ref: (0..STRIPES).map(|_| RwLock::default()).collect(),
            by_hash: (0..STRIPES).map(|_| RwLock::default()).collect(),
        }
    }

    fn get(&self, series_ref: u64) -> Option<Arc<MemSeries>> {
        self.by_ref[series_ref as usize % STRIPES]
            .read()
            .expect("series stripe")
            .get(&series_ref)
            .cloned()
    }

    fn labels_hash(labels: &Labels) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        labels.hash(&mut h);
        h.finish()
    }

    /// The series with exactly `labels` among `refs`.
    fn find(
        &self,
        refs: Option<&HashRefs>,
        labels: &Labels,
        postings: &RwLock<MemPostings>,
    ) -> Option<Arc<MemSeries>> {
        let refs = refs?;
        let postings = postings.read().expect("postings lock");
        refs.as_slice()
            .iter()
            .filter_map(|&r| self.get(r))
            .find(|s| postings.same_labels(&s.labels, labels))
    }

    /// Forgets that series `series_ref` has labels hashing to `hash`.
    fn remove_hash(&self, hash: u64, series_ref: u64) {
        let mut by_hash = self.by_hash[hash as usize % STRIPES]
            .write()
            .expect("labels stripe");
        if by_hash
            .get_mut(&hash)
            .is_some_and(|refs| refs.remove(series_ref))
        {
            by_hash.remove(&hash);
        }
    }
}

/// The WAL and the buffers commits encode into.
struct WalWriter {
    wal: Wal,
    series_buf: Vec<u8>,
    samples_buf: Vec<u8>,
    samples: Vec<RefSample>,
}

/// The head's shared state.
pub(crate) struct HeadInner {
    options: HeadOptions,
    series: SeriesStripes,
    postings: RwLock<MemPostings>,
    next_ref: AtomicU64,
    num_series: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// Held for writing while a commit applies, for reading while a query snapshots.
    commit_lock: RwLock<()>,
    counters: HeadCounters,
    /// See [`HeadOptions::min_valid_time`]; raised when the head is truncated.
    min_valid_time: AtomicI64,
    wal: Option<Mutex<WalWriter>>,
    wal_dir: Option<PathBuf>,
    /// Where full chunks go (`chunks_head/` beside the WAL); `None` keeps them in memory.
    disk: Option<ChunkDiskMapper>,
    wal_options: ember_wal::WalOptions,
}

impl HeadInner {
    fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        let (min, max) = (
            self.min_time.load(Ordering::Relaxed),
            self.max_time.load(Ordering::Relaxed),
        );
        (min <= max).then_some((min, max))
    }

    fn get(&self, series_ref: u64) -> Option<Arc<MemSeries>> {
        self.series.get(series_ref)
    }

    /// Returns the series for `labels`, creating it when missing; `series_ref` is the ref
    /// to give a new series (0 = next free one).
    fn get_or_create(&self, labels: &Labels, series_ref: u64, logged: bool) -> Arc<MemSeries> {
        let hash = SeriesStripes::labels_hash(labels);
        let stripe = hash as usize % STRIPES;
        if let Some(s) = self.series.find(
            self.series.by_hash[stripe]
                .read()
                .expect("labels stripe")
                .get(&hash),
            labels,
            &self.postings,
        ) {
            return s;
        }
        let mut by_hash = self.series.by_hash[stripe].write().expect("labels stripe");
        if let Some(s) = self.series.find(by_hash.get(&hash), labels, &self.postings) {
            return s;
        }
        let r = if series_ref == 0 {
            self.next_ref.fetch_add(1, Ordering::Relaxed)
        } else {
            series_ref
        };
        self.next_ref.fetch_max(r + 1, Ordering::Relaxed);
        let ids = self.postings.write().expect("postings lock").add(r, labels);
        let s = Arc::new(MemSeries::new(r, ids, logged));
        self.series.by_ref[r as usize % STRIPES]
            .write()
            .expect("series stripe")
            .insert(r, s.clone());
        self.num_series.fetch_add(1, Ordering::Relaxed);
        self.counters.series_created.fetch_add(1, Ordering::Relaxed);
        by_hash
            .entry(hash)
            .and_modify(|refs| refs.push(r))
            .or_insert(HashRefs::One(r));
        s
    }

    /// Gives `series` (just created by the replay) its chunks found in `chunks_head/`,
    /// except those older than the head's valid range (already in blocks).
    fn restore_mapped(&self, series: &MemSeries, chunks: Vec<FoundChunk>, stats: &mut ReplayStats) {
        let Some(disk) = &self.disk else { return };
        let min_valid = self.min_valid_time.load(Ordering::Relaxed);
        let kept: Vec<&FoundChunk> = chunks.iter().filter(|c| c.maxt >= min_valid).collect();
        // Chunks rewritten by a deletion leave their old copies behind, overlapping the
        // new ones: such a series is rebuilt from the WAL alone.
        if kept.windows(2).any(|w| w[1].mint <= w[0].maxt) {
            return;
        }
        let Some(newest) = kept.last() else { return };
        let Some(last) = disk.last_sample(newest.chunk_ref) else {
            return;
        };
        let mut data = series.data.lock().expect("series lock");
        if data.num_chunks() > 0 {
            return;
        }
        data.restore_mapped(kept.iter().map(|c| (c.mint, c.maxt, c.chunk_ref)), last);
        self.min_time.fetch_min(kept[0].mint, Ordering::Relaxed);
        self.max_time.fetch_max(newest.maxt, Ordering::Relaxed);
        self.counters
            .chunks_created
            .fetch_add(kept.len() as u64, Ordering::Relaxed);
        stats.mapped_chunks += kept.len() as u64;
        stats.mapped_samples += kept.iter().map(|c| u64::from(c.samples)).sum::<u64>();
    }

    /// Where the closed chunks of series `series_ref` go.
    fn sink(&self, series_ref: u64) -> ChunkSink<'_> {
        ChunkSink {
            disk: self.disk.as_ref(),
            series_ref,
            chunk_range: self.options.chunk_range_ms,
            chunks_created: &self.counters.chunks_created,
        }
    }

    /// Appends one sample to a series, dropping it when not newer than the series' last
    /// or older than the head's valid range.
    fn apply_one(&self, series: &MemSeries, t: Timestamp, v: f64) -> bool {
        if t < self.min_valid_time.load(Ordering::Relaxed) {
            return false;
        }
        let mut data = series.data.lock().expect("series lock");
        if data.last.is_some_and(|(last, _)| last >= t) {
            return false;
        }
        data.append(t, v, &self.sink(series.series_ref));
        self.min_time.fetch_min(t, Ordering::Relaxed);
        self.max_time.fetch_max(t, Ordering::Relaxed);
        true
    }

    /// Writes a transaction to the WAL: Series records for series never logged, then the
    /// samples. The caller holds the WAL lock through apply so WAL order is apply order.
    fn log(&self, w: &mut WalWriter, samples: &[PendingSample]) -> std::io::Result<()> {
        w.series_buf.clear();
        w.samples_buf.clear();
        w.samples.clear();
        let unlogged: Vec<&MemSeries> = samples
            .iter()
            .map(|p| p.series.as_ref())
            .filter(|s| !s.logged.swap(true, Ordering::Relaxed))
            .collect();
        if !unlogged.is_empty() {
            let labels = self.labels_of(unlogged.iter().copied());
            record::encode_series(
                unlogged.iter().zip(&labels).map(|(s, l)| (s.series_ref, l)),
                &mut w.series_buf,
            );
        }
        w.samples.extend(samples.iter().map(|p| RefSample {
            series_ref: p.series.series_ref,
            timestamp: p.t,
            value: p.v,
        }));
        record::encode_samples(&w.samples, &mut w.samples_buf);
        let result = if w.series_buf.is_empty() {
            w.wal.log(&[&w.samples_buf])
        } else {
            w.wal.log(&[&w.series_buf, &w.samples_buf])
        };
        if result.is_err() {
            for s in unlogged {
                s.logged.store(false, Ordering::Relaxed);
            }
        }
        result
    }

    /// Chunk snapshots of every series matching `matchers`, taken under the commit lock.
    fn snapshot(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
        shard: Shard,
    ) -> Vec<(Labels, Vec<ClosedChunk>)> {
        let refs = self
            .postings
            .read()
            .expect("postings lock")
            .select(matchers);
        let series = refs.into_iter().filter_map(|r| self.get(r));
        // A shard needs the labels to choose its series: resolved first, they spare it
        // copying other shards' chunks. The whole selection resolves labels only for the
        // series with chunks in range.
        let candidates: Vec<(Option<Labels>, Arc<MemSeries>)> = if shard == Shard::WHOLE {
            series.map(|s| (None, s)).collect()
        } else {
            let series: Vec<Arc<MemSeries>> = series.collect();
            let labels = self.labels_of(series.iter().map(Arc::as_ref));
            labels
                .into_iter()
                .zip(series)
                .filter(|(labels, _)| shard.contains_labels(labels))
                .map(|(labels, s)| (Some(labels), s))
                .collect()
        };
        let snapshots: Vec<(Option<Labels>, Arc<MemSeries>, Vec<ClosedChunk>)> = {
            let _consistent = self.commit_lock.read().expect("commit lock");
            candidates
                .into_iter()
                .filter_map(|(labels, s)| {
                    let chunks = s.data.lock().expect("series lock").snapshot(
                        mint,
                        maxt,
                        self.disk.as_ref(),
                    );
                    (!chunks.is_empty()).then_some((labels, s, chunks))
                })
                .collect()
        };
        let unresolved = snapshots.iter().filter(|(l, _, _)| l.is_none());
        let mut resolved = self
            .labels_of(unresolved.map(|(_, s, _)| s.as_ref()))
            .into_iter();
        snapshots
            .into_iter()
            .map(|(labels, _, chunks)| {
                let labels = labels.or_else(|| resolved.next());
                (labels.expect("one label set per snapshot"), chunks)
            })
            .collect()
    }

    /// The label sets of `series`, resolved under one lock.
    fn labels_of<'a>(&self, series: impl Iterator<Item = &'a MemSeries>) -> Vec<Labels> {
        let postings = self.postings.read().expect("postings lock");
        series.map(|s| postings.labels(&s.labels)).collect()
    }
}

/// What the head counts as it works (Prometheus's `prometheus_tsdb_head_*` counters);
/// read with `load(Ordering::Relaxed)`.
#[derive(Debug, Default)]
pub struct HeadCounters {
    /// Samples committed.
    pub samples_appended: AtomicU64,
    /// Samples refused for being older than their series' newest.
    pub out_of_order_samples: AtomicU64,
    /// Commits whose WAL write failed.
    pub wal_writes_failed: AtomicU64,
    /// Series created.
    pub series_created: AtomicU64,
    /// Series removed by truncation.
    pub series_removed: AtomicU64,
    /// Appends naming a series ref the head does not have.
    pub series_not_found: AtomicU64,
    /// Chunks started.
    pub chunks_created: AtomicU64,
    /// Chunks dropped by truncation or deletion.
    pub chunks_removed: AtomicU64,
    /// Appenders not yet committed or rolled back.
    pub active_appenders: AtomicI64,
}

/// Head cardinality, as `/api/v1/status/tsdb` reports it: `(name, count)` lists, largest
/// first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PostingsStats {
    /// Distinct label pairs.
    pub num_label_pairs: u64,
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Bytes of distinct values per label name.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

/// What a WAL replay found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayStats {
    /// Series records read.
    pub series: u64,
    /// Samples applied from the WAL.
    pub samples: u64,
    /// Full chunks taken back from `chunks_head/` instead of being rebuilt.
    pub mapped_chunks: u64,
    /// Samples in those chunks (their WAL samples are skipped).
    pub mapped_samples: u64,
    /// Samples naming a series no record introduced.
    pub unknown_refs: u64,
    /// Corruption found and repaired, as a human-readable note.
    pub repaired: Option<String>,
    /// The first and last WAL segment replayed.
    pub segments: (u32, u32),
}

/// The in-memory head; cloning shares it.
#[derive(Clone)]
pub struct Head(Arc<HeadInner>);

impl Head {
    /// An empty head without a WAL (tests, tools).
    pub fn new(options: HeadOptions) -> Self {
        Head::empty(options, None)
    }

    /// An empty head whose closed chunks go to `disk` (or stay in memory).
    fn empty(options: HeadOptions, disk: Option<ChunkDiskMapper>) -> Self {
        Head(Arc::new(HeadInner {
            min_valid_time: AtomicI64::new(options.min_valid_time),
            wal_dir: None,
            wal_options: Default::default(),
            options,
            series: SeriesStripes::new(),
            postings: RwLock::default(),
            next_ref: AtomicU64::new(1),
            num_series: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            commit_lock: RwLock::new(()),
            counters: HeadCounters::default(),
            wal: None,
            disk,
        }))
    }

    /// Opens the WAL in `wal_dir`, replays it into a new head (repairing a corrupt tail),
    /// and returns the head, which logs every later commit to that WAL.
    pub fn replay(
        options: HeadOptions,
        wal_dir: &std::path::Path,
        wal_options: ember_wal::WalOptions,
    ) -> std::io::Result<(Head, ReplayStats)> {
        let mut wal = Wal::open(wal_dir, wal_options)?;
        // Full chunks live in `chunks_head/` beside the WAL: those found go back to their
        // series, and the replay only rebuilds what came after them.
        let chunks_dir = wal_dir.parent().unwrap_or(wal_dir).join("chunks_head");
        let (disk, mut mapped) =
            ChunkDiskMapper::open(&chunks_dir).map_err(std::io::Error::other)?;
        let head = Head::empty(options, Some(disk));
        let mut stats = ReplayStats {
            segments: wal.segments()?,
            ..Default::default()
        };
        if let Some(corruption) = head.apply_wal(wal_dir, &mut mapped, &mut stats)? {
            let report = wal.repair(&corruption)?;
            stats.repaired = Some(format!(
                "{corruption}; dropped {} bytes and {} later segments ({} bytes)",
                report.truncated_bytes, report.deleted_segments, report.deleted_bytes
            ));
        }
        let head = Head::with_wal_from(head, wal);
        Ok((head, stats))
    }

    /// The head a WAL directory holds, read without writing anything (tools): chunks stay
    /// in memory and a corrupt tail only ends the replay, noted in the stats.
    pub fn read_only(wal_dir: &std::path::Path) -> std::io::Result<(Head, ReplayStats)> {
        let head = Head::new(HeadOptions::default());
        let mut stats = ReplayStats::default();
        if let Some(corruption) = head.apply_wal(wal_dir, &mut IntMap::default(), &mut stats)? {
            stats.repaired = Some(format!("{corruption}; the rest was not read"));
        }
        Ok((head, stats))
    }

    /// Applies the last checkpoint and the segments after it, giving each series created
    /// its chunks from `mapped` first; stops at the first corruption and returns it.
    fn apply_wal(
        &self,
        wal_dir: &std::path::Path,
        mapped: &mut IntMap<Vec<FoundChunk>>,
        stats: &mut ReplayStats,
    ) -> std::io::Result<Option<ember_wal::CorruptionError>> {
        let mut ranges = Vec::new();
        let first_segment = match ember_wal::last_checkpoint(wal_dir)? {
            Some(cp) => {
                ranges.push(ember_wal::SegmentRange::all(&cp.path));
                Some(cp.index + 1)
            }
            None => None,
        };
        ranges.push(match first_segment {
            Some(first) => ember_wal::SegmentRange::between(wal_dir, first, u32::MAX),
            None => ember_wal::SegmentRange::all(wal_dir),
        });
        let mut reader = ember_wal::Reader::open(&ranges)?;
        let mut series_recs = Vec::new();
        let mut samples = Vec::new();
        let mut tombstones = Vec::new();
        let mut refs: IntMap<Arc<MemSeries>> = IntMap::default();
        loop {
            let record = match reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(None),
                Err(ember_wal::ReadError::Corruption(c)) => return Ok(Some(c)),
                Err(ember_wal::ReadError::Io { path, source }) => {
                    return Err(std::io::Error::new(
                        source.kind(),
                        format!("{}: {source}", path.display()),
                    ));
                }
            };
            match record::record_type(record) {
                RecordType::Series => {
                    series_recs.clear();
                    if record::decode_series(record, &mut series_recs).is_err() {
                        continue;
                    }
                    for s in &series_recs {
                        stats.series += 1;
                        let series = self.0.get_or_create(&s.labels, s.series_ref, true);
                        if let Some(chunks) = mapped.remove(&s.series_ref) {
                            self.0.restore_mapped(&series, chunks, stats);
                        }
                        refs.insert(s.series_ref, series);
                    }
                }
                RecordType::Samples => {
                    samples.clear();
                    if record::decode_samples(record, &mut samples).is_err() {
                        continue;
                    }
                    for s in &samples {
                        match refs.get(&s.series_ref) {
                            Some(series) => {
                                stats.samples +=
                                    u64::from(self.0.apply_one(series, s.timestamp, s.value))
                            }
                            None => stats.unknown_refs += 1,
                        }
                    }
                }
                RecordType::Tombstones => {
                    tombstones.clear();
                    if record::decode_tombstones(record, &mut tombstones).is_err() {
                        continue;
                    }
                    for t in &tombstones {
                        if let Some(series) = refs.get(&t.series_ref) {
                            series.data.lock().expect("series lock").delete_range(
                                t.min_time,
                                t.max_time,
                                &self.0.sink(series.series_ref),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Attaches `wal` to a head built without one (after replay).
    fn with_wal_from(head: Head, wal: Wal) -> Head {
        let inner = Arc::try_unwrap(head.0)
            .unwrap_or_else(|_| unreachable!("replayed head is not shared yet"));
        Head(Arc::new(HeadInner {
            wal_dir: Some(wal.dir().to_path_buf()),
            wal_options: wal.options().clone(),
            wal: Some(Mutex::new(WalWriter {
                wal,
                series_buf: Vec::new(),
                samples_buf: Vec::new(),
                samples: Vec::new(),
            })),
            ..inner
        }))
    }

    /// Number of series in the head.
    pub fn num_series(&self) -> u64 {
        self.0.num_series.load(Ordering::Relaxed)
    }

    /// Cardinality figures, each list cut at the `limit` largest entries.
    pub fn postings_stats(&self, limit: usize) -> PostingsStats {
        self.0.postings.read().expect("postings lock").stats(limit)
    }

    /// The WAL's page counts, when the head has a WAL.
    pub(crate) fn wal_stats(&self) -> Option<Arc<ember_wal::WalStats>> {
        let wal = self.0.wal.as_ref()?;
        Some(wal.lock().expect("wal lock").wal.stats())
    }

    /// Reports the duration of every WAL fsync to `observe`.
    pub(crate) fn on_wal_fsync(&self, observe: ember_wal::FsyncObserver) {
        if let Some(wal) = &self.0.wal {
            wal.lock().expect("wal lock").wal.on_fsync(observe);
        }
    }

    /// Series matching `matchers` with samples in `[mint, maxt]`, in label order: a
    /// consistent snapshot of their chunks (compressed), each series decoded when reached.
    pub(crate) fn select_series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
        shard: Shard,
    ) -> impl Iterator<Item = Series> + use<> {
        let mut snapshot = self.0.snapshot(matchers, mint, maxt, shard);
        snapshot.sort_by(|a, b| a.0.cmp(&b.0));
        snapshot.into_iter().filter_map(move |(labels, chunks)| {
            let mut samples = Vec::new();
            decode_into(&chunks, mint, maxt, &mut samples);
            (!samples.is_empty()).then_some(Series { labels, samples })
        })
    }

    /// What the head has counted so far.
    pub fn counters(&self) -> &HeadCounters {
        &self.0.counters
    }

    /// The WAL segment being written, if the head has a WAL.
    pub fn wal_segment_current(&self) -> Option<u32> {
        self.0
            .wal
            .as_ref()
            .map(|w| w.lock().expect("wal lock").wal.current_segment())
    }

    /// The oldest and newest sample timestamps, `None` when empty.
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        self.0.time_range()
    }

    /// Number of chunks in the head.
    pub fn num_chunks(&self) -> u64 {
        self.0
            .series
            .by_ref
            .iter()
            .map(|stripe| {
                stripe
                    .read()
                    .expect("series stripe")
                    .values()
                    .map(|s| s.data.lock().expect("series lock").num_chunks() as u64)
                    .sum::<u64>()
            })
            .sum()
    }

    /// True when the head spans more than 1.5 chunk ranges, so its oldest range can be
    /// persisted as a block (Prometheus's rule).
    pub fn compactable(&self) -> bool {
        self.time_range()
            .is_some_and(|(min, max)| max - min > self.0.options.chunk_range_ms / 2 * 3)
    }

    /// The chunk range.
    pub fn chunk_range_ms(&self) -> i64 {
        self.0.options.chunk_range_ms
    }

    /// Every series with its chunks lying in `[mint, maxt)`, sorted by labels. Head chunks
    /// never cross a chunk-range boundary, so for aligned ranges no chunk is split.
    pub(crate) fn chunks_in_range(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Vec<(Labels, Vec<ClosedChunk>)> {
        let all = [
            Matcher::new(ember_model::MatchType::Regex, "__name__", ".*").expect("static regex"),
        ];
        let mut out: Vec<(Labels, Vec<ClosedChunk>)> = self
            .0
            .snapshot(&all, mint, maxt - 1, Shard::WHOLE)
            .into_iter()
            .map(|(labels, chunks)| {
                (
                    labels,
                    chunks
                        .into_iter()
                        .filter(|c| c.mint >= mint && c.maxt < maxt)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, chunks)| !chunks.is_empty())
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Drops everything before `mint` (now persisted in a block), then checkpoints and
    /// truncates the WAL: [`gc`](Self::gc) then [`truncate_wal`](Self::truncate_wal).
    pub fn truncate(&self, mint: Timestamp) -> std::io::Result<()> {
        self.gc(mint)?;
        self.truncate_wal(mint)
    }

    /// Drops chunks ending before `mint`, then series left empty; later samples before
    /// `mint` are refused.
    pub(crate) fn gc(&self, mint: Timestamp) -> std::io::Result<()> {
        let inner = &self.0;
        inner.min_valid_time.fetch_max(mint, Ordering::Relaxed);
        let mut new_min = i64::MAX;
        let mut gone: Vec<Arc<MemSeries>> = Vec::new();
        let mut chunks_removed = 0;
        {
            let _apply = inner.commit_lock.write().expect("commit lock");
            for stripe in &inner.series.by_ref {
                let mut stripe = stripe.write().expect("series stripe");
                let mut removed = Vec::new();
                for (r, s) in stripe.iter() {
                    let mut data = s.data.lock().expect("series lock");
                    let chunks_before = data.num_chunks();
                    // A series keeps its newest sample for order checks even when its
                    // chunks are gone, unless nothing recent remains.
                    let empty = data.truncate_before(mint);
                    chunks_removed += chunks_before - data.num_chunks();
                    if empty {
                        removed.push(*r);
                    } else if let Some((first, _)) = data.time_range() {
                        new_min = new_min.min(first);
                    }
                }
                gone.extend(removed.into_iter().filter_map(|r| stripe.remove(&r)));
            }
            inner.min_time.store(new_min, Ordering::Relaxed);
            if new_min == i64::MAX {
                inner.max_time.store(i64::MIN, Ordering::Relaxed);
            }
        }
        // Index entries go after the series table, each lock taken alone, so this never
        // nests locks in an order series creation could invert.
        for s in &gone {
            let labels = inner.labels_of(std::iter::once(s.as_ref())).remove(0);
            inner
                .series
                .remove_hash(SeriesStripes::labels_hash(&labels), s.series_ref);
            inner
                .postings
                .write()
                .expect("postings lock")
                .remove(s.series_ref, &s.labels);
        }
        inner
            .num_series
            .fetch_sub(gone.len() as u64, Ordering::Relaxed);
        let counters = &inner.counters;
        counters
            .series_removed
            .fetch_add(gone.len() as u64, Ordering::Relaxed);
        counters
            .chunks_removed
            .fetch_add(chunks_removed as u64, Ordering::Relaxed);
        if let Some(disk) = &inner.disk {
            disk.truncate_before(mint).map_err(std::io::Error::other)?;
        }
        Ok(())
    }

    /// Moves the WAL to a new segment, checkpoints the older ones (keeping series still in
    /// the head and samples from `mint` on) and deletes them. Commits continue meanwhile.
    pub(crate) fn truncate_wal(&self, mint: Timestamp) -> std::io::Result<()> {
        let (Some(wal), Some(dir)) = (&self.0.wal, &self.0.wal_dir) else {
            return Ok(());
        };
        let (first, current) = {
            let mut w = wal.lock().expect("wal lock");
            let (first, _) = w.wal.segments()?;
            (first, w.wal.next_segment()?)
        };
        if current == 0 || first >= current {
            return Ok(());
        }
        let inner = self.0.clone();
        let keep = move |r: u64| inner.get(r).is_some();
        ember_wal::checkpoint(dir, &self.0.wal_options, first, current - 1, keep, mint)
            .map_err(|e| std::io::Error::other(format!("WAL checkpoint: {e}")))?;
        wal.lock().expect("wal lock").wal.truncate(current)?;
        Ok(())
    }

    /// Deletes the samples in `[mint, maxt]` of series matching `matchers`: logged to the
    /// WAL as a Tombstones record (so replay repeats it), then applied to the chunks.
    /// Returns how many series were affected.
    pub fn delete(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> std::io::Result<usize> {
        let inner = &self.0;
        let refs = inner
            .postings
            .read()
            .expect("postings lock")
            .select(matchers);
        let affected: Vec<Arc<MemSeries>> = refs
            .into_iter()
            .filter_map(|r| inner.get(r))
            .filter(|s| {
                let data = s.data.lock().expect("series lock");
                data.time_range()
                    .is_some_and(|(first, last)| first <= maxt && last >= mint)
            })
            .collect();
        if affected.is_empty() {
            return Ok(0);
        }
        let mut wal = inner.wal.as_ref().map(|w| w.lock().expect("wal lock"));
        if let Some(w) = wal.as_deref_mut() {
            let records: Vec<record::Tombstone> = affected
                .iter()
                .map(|s| record::Tombstone {
                    series_ref: s.series_ref,
                    min_time: mint,
                    max_time: maxt,
                })
                .collect();
            let mut buf = Vec::new();
            record::encode_tombstones(&records, &mut buf);
            w.wal.log(&[&buf])?;
        }
        let _apply = inner.commit_lock.write().expect("commit lock");
        for s in &affected {
            let mut data = s.data.lock().expect("series lock");
            let chunks_before = data.num_chunks();
            data.delete_range(mint, maxt, &inner.sink(s.series_ref));
            inner
                .counters
                .chunks_removed
                .fetch_add(chunks_before as u64, Ordering::Relaxed);
        }
        drop(wal);
        Ok(affected.len())
    }

    /// Every series with all its chunks (for a snapshot of the head).
    pub(crate) fn all_chunks(&self) -> Vec<(Labels, Vec<ClosedChunk>)> {
        match self.time_range() {
            Some((min, max)) => self.chunks_in_range(min, max + 1),
            None => Vec::new(),
        }
    }

    /// Bytes of the WAL directory (segments and checkpoints), for size-based retention.
    pub fn wal_size(&self) -> u64 {
        self.0.wal_dir.as_deref().map(dir_size).unwrap_or(0)
    }

    /// Flushes and fsyncs the WAL (graceful shutdown).
    pub fn close(&self) -> std::io::Result<()> {
        match &self.0.wal {
            Some(w) => w.lock().expect("wal lock").wal.sync(),
            None => Ok(()),
        }
    }
}

/// Total size of the files under `dir`.
pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

struct PendingSample {
    series: Arc<MemSeries>,
    t: Timestamp,
    v: f64,
}

/// A transaction against the head.
pub struct HeadAppender {
    head: Arc<HeadInner>,
    samples: Vec<PendingSample>,
    /// The newest pending sample per series ref, for in-transaction order checks.
    pending_last: IntMap<(Timestamp, f64)>,
}

impl Appendable for Head {
    fn appender(&self) -> Box<dyn Appender> {
        let counters = &self.0.counters;
        counters.active_appenders.fetch_add(1, Ordering::Relaxed);
        Box::new(HeadAppender {
            head: self.0.clone(),
            samples: Vec::new(),
            pending_last: IntMap::default(),
        })
    }
}

impl Drop for HeadAppender {
    fn drop(&mut self) {
        let counters = &self.head.counters;
        counters.active_appenders.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HeadAppender {
    /// Checks a sample against the series' newest (pending or committed) and queues it.
    fn add(
        &mut self,
        series: Arc<MemSeries>,
        t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        if t < self.head.min_valid_time.load(Ordering::Relaxed) {
            return Err(AppendError::OutOfBounds);
        }
        let last = match self.pending_last.get(&series.series_ref) {
            Some(&p) => Some(p),
            None => series.data.lock().expect("series lock").last,
        };
        if let Some((last_t, last_v)) = last {
            if t < last_t {
                self.head
                    .counters
                    .out_of_order_samples
                    .fetch_add(1, Ordering::Relaxed);
                return Err(AppendError::OutOfOrder);
            }
            if t == last_t {
                return if last_v.to_bits() == v.to_bits() {
                    Ok(series.series_ref)
                } else {
                    Err(AppendError::DuplicateTimestamp)
                };
            }
        }
        self.pending_last.insert(series.series_ref, (t, v));
        let r = series.series_ref;
        self.samples.push(PendingSample { series, t, v });
        Ok(r)
    }
}

impl Appender for HeadAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        let known = self.head.get(series_ref).filter(|s| {
            let postings = self.head.postings.read().expect("postings lock");
            postings.same_labels(&s.labels, labels)
        });
        let series = match known {
            Some(s) => s,
            None => {
                if labels.is_empty() {
                    return Err(AppendError::InvalidLabels("empty label set".into()));
                }
                self.head.get_or_create(labels, 0, false)
            }
        };
        self.add(series, t, v)
    }

    fn append_by_ref(
        &mut self,
        series_ref: SeriesRef,
        t: Timestamp,
        v: f64,
    ) -> Result<bool, AppendError> {
        match self.head.get(series_ref) {
            Some(series) => self.add(series, t, v).map(|_| true),
            None => {
                if series_ref != 0 {
                    let counters = &self.head.counters;
                    counters.series_not_found.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false)
            }
        }
    }

    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        _labels: &Labels,
        _metadata: &Metadata,
    ) -> Result<SeriesRef, AppendError> {
        Ok(series_ref)
    }

    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        if self.samples.is_empty() {
            return Ok(());
        }
        let head = &self.head;
        let mut wal = head.wal.as_ref().map(|w| w.lock().expect("wal lock"));
        if let Some(w) = wal.as_deref_mut() {
            head.log(w, &self.samples).map_err(|e| {
                head.counters
                    .wal_writes_failed
                    .fetch_add(1, Ordering::Relaxed);
                AppendError::Storage(format!("write to WAL: {e}"))
            })?;
        }
        let _apply = head.commit_lock.write().expect("commit lock");
        let applied = self
            .samples
            .iter()
            .filter(|p| head.apply_one(&p.series, p.t, p.v))
            .count();
        head.counters
            .samples_appended
            .fetch_add(applied as u64, Ordering::Relaxed);
        drop(wal);
        Ok(())
    }

    fn rollback(self: Box<Self>) {}
}

impl Queryable for Head {
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(HeadQuerier {
            head: self.0.clone(),
            mint,
            maxt,
        }))
    }
}

struct HeadQuerier {
    head: Arc<HeadInner>,
    mint: Timestamp,
    maxt: Timestamp,
}

impl HeadQuerier {
    fn matching_labels(&self, matchers: &[Matcher]) -> Vec<Labels> {
        self.head
            .snapshot(matchers, self.mint, self.maxt, Shard::WHOLE)
            .into_iter()
            .map(|(l, _)| l)
            .collect()
    }
}

impl Querier for HeadQuerier {
    fn select_shard(
        &self,
        matchers: &[Matcher],
        shard: Shard,
    ) -> Result<SeriesSet<'_>, StorageError> {
        let series = Head(self.head.clone()).select_series(matchers, self.mint, self.maxt, shard);
        Ok(Box::new(series.map(Ok)))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        Ok(ember_storage::label_names_of(
            &self.matching_labels(matchers),
        ))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        Ok(ember_storage::label_values_of(
            &self.matching_labels(matchers),
            name,
        ))
    }
}
