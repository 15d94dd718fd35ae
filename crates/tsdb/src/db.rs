//! The database: persisted blocks plus the head, behind the storage traits.
//!
//! Appends go to the head. When the head spans more than 1.5 chunk ranges its oldest
//! range is written as a block and the head (and WAL) truncated; retention then deletes
//! the oldest blocks. Queries merge blocks and head per series. A block being deleted
//! stays readable to queries already holding it (it is reference-counted and mmapped).

use crate::TsdbError;
use crate::block::Block;
use crate::compact::{TMP_SUFFIX, compaction_ranges, merge_blocks, plan, write_head_block};
use crate::head::{Head, HeadOptions};
use crate::metrics::DbStats;
use ember_model::{Labels, Matcher, Timestamp};
use ember_storage::{
    AppendError, Appendable, Appender, Metadata, Querier, Queryable, Series, SeriesRef, SeriesSet,
    Shard, StorageError,
};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// The file flocked while a process has the database open (Prometheus's name).
const LOCK_FILE: &str = "lock";
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The suffix an unreadable block's directory gets when it is set aside.
pub(crate) const QUARANTINE_SUFFIX: &str = ".corrupted";

/// Database settings.
#[derive(Clone, Debug)]
pub struct DbOptions {
    /// Blocks older than this, measured from the newest block's end, are deleted (0 = off).
    pub retention_ms: i64,
    /// Blocks are deleted, oldest first, while blocks + WAL exceed this (0 = off).
    pub retention_bytes: u64,
    /// The head's chunk range and the level-1 block range (2h).
    pub block_range_ms: i64,
    /// The largest block compaction builds; `None` for a tenth of the retention, at most
    /// 31 days. Equal to `block_range_ms`, blocks are never merged (as a Thanos sidecar
    /// needs).
    pub max_block_duration_ms: Option<i64>,
    /// WAL settings.
    pub wal: ember_wal::WalOptions,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_bytes: 0,
            block_range_ms: 2 * 3600 * 1000,
            max_block_duration_ms: None,
            wal: Default::default(),
        }
    }
}

struct DbInner {
    dir: PathBuf,
    options: DbOptions,
    head: Head,
    /// Sorted by min time.
    blocks: RwLock<Vec<Arc<Block>>>,
    stats: DbStats,
    /// Serialises compaction and retention.
    maintenance: Mutex<()>,
    compact_signal: SyncSender<()>,
    /// The `lock` file, flocked while the database is open.
    lock: std::fs::File,
    /// No lock file was left by a previous run (it ended cleanly).
    clean_start: bool,
}

/// An open database. Cloning shares it.
#[derive(Clone)]
pub struct Db(Arc<DbInner>);

impl Db {
    /// Opens (or creates) the database in `dir`: removes leftovers of interrupted block
    /// writes, opens blocks, replays the WAL, and starts the background compactor.
    /// Its metrics are registered on `registry`.
    pub fn open(
        dir: &Path,
        options: DbOptions,
        registry: &ember_selfmetrics::Registry,
    ) -> Result<(Db, crate::ReplayStats), TsdbError> {
        let io = |e: std::io::Error| TsdbError::Io {
            path: dir.to_path_buf(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // Two processes on one directory would corrupt it; a lock file left behind means
        // the last run did not shut down cleanly.
        let lock_path = dir.join(LOCK_FILE);
        let clean_start = !lock_path.exists();
        let lock = std::fs::File::create(&lock_path).map_err(io)?;
        lock_within(&lock, LOCK_WAIT).map_err(|e| TsdbError::Io {
            path: lock_path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("lock DB directory: {e} (is another process using it?)"),
            ),
        })?;
        let mut blocks = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)?.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !path.is_dir() || name == "wal" || name == "chunks_head" {
                continue;
            }
            if name.ends_with(TMP_SUFFIX) || name.ends_with(".tmp-for-deletion") {
                tracing::info!(dir = %path.display(), "Removing leftover temporary block directory");
                std::fs::remove_dir_all(&path).map_err(io)?;
                continue;
            }
            if name.ends_with(QUARANTINE_SUFFIX) {
                continue;
            }
            if path.join("meta.json").is_file() {
                match Block::open(&path) {
                    Ok(b) => blocks.push(Arc::new(b)),
                    Err(e) => {
                        // Set the block aside so the rest is served and it is not retried.
                        let aside = dir.join(format!("{name}{QUARANTINE_SUFFIX}"));
                        std::fs::rename(&path, &aside).map_err(io)?;
                        tracing::error!(err = %e, moved_to = %aside.display(), "Block is unreadable; quarantined, serving the other blocks");
                    }
                }
            }
        }
        // A crash after a merge but before its parents were deleted leaves both: the merged
        // block wins.
        let superseded: std::collections::HashSet<String> = blocks
            .iter()
            .flat_map(|b| b.meta().compaction.parents.iter().map(|p| p.ulid.clone()))
            .collect();
        for b in blocks
            .iter()
            .filter(|b| superseded.contains(&b.meta().ulid))
        {
            tracing::info!(ulid = %b.meta().ulid, "Removing block already merged into another");
            delete_block_dir(b.dir())?;
        }
        blocks.retain(|b| !superseded.contains(&b.meta().ulid));
        blocks.sort_by_key(|b| b.meta().min_time);
        let min_valid_time = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN);
        let head_options = HeadOptions {
            chunk_range_ms: options.block_range_ms,
            min_valid_time,
        };
        let replay_started = std::time::Instant::now();
        let (head, replay) = Head::replay(head_options, &dir.join("wal"), options.wal.clone())
            .map_err(|e| TsdbError::Io {
                path: dir.join("wal"),
                source: e,
            })?;
        let (compact_signal, wake) = sync_channel(1);
        let db = Db(Arc::new(DbInner {
            dir: dir.to_path_buf(),
            options,
            head,
            blocks: RwLock::new(blocks),
            stats: DbStats::register(registry),
            maintenance: Mutex::new(()),
            compact_signal,
            lock,
            clean_start,
        }));
        let weak = Arc::downgrade(&db.0);
        std::thread::Builder::new()
            .name("tsdb-compactor".into())
            .spawn(move || compactor(weak, wake))
            .map_err(io)?;
        crate::metrics::register_gauges(registry, &db);
        if replay.repaired.is_some() {
            db.0.stats.wal_corruptions.inc();
        }
        let stats = &db.0.stats;
        stats
            .data_replay_duration
            .set(replay_started.elapsed().as_secs_f64());
        stats.reloads.inc();
        let _ = db.0.compact_signal.try_send(());
        Ok((db, replay))
    }

    /// A handle that does not keep the database open (for metric callbacks).
    pub(crate) fn downgrade(&self) -> WeakDb {
        WeakDb(Arc::downgrade(&self.0))
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.0.head
    }

    /// The loaded blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.0.blocks.read().expect("blocks lock").clone()
    }

    /// Compaction and retention counters.
    pub fn stats(&self) -> &DbStats {
        &self.0.stats
    }

    /// Persists head ranges as blocks while the head is compactable, then applies
    /// retention. Runs in the background after commits; callable directly (tests, tools).
    pub fn compact(&self) -> Result<(), TsdbError> {
        let inner = &self.0;
        let _serial = inner.maintenance.lock().expect("maintenance lock");
        inner.stats.compactions_triggered.inc();
        while inner.head.compactable() {
            let (min, _) = inner
                .head
                .time_range()
                .expect("compactable head has samples");
            let range = inner.options.block_range_ms;
            let mint = min.div_euclid(range) * range;
            let maxt = mint + range;
            let series = inner.head.chunks_in_range(mint, maxt);
            for c in series.iter().flat_map(|(_, chunks)| chunks) {
                let stats = &inner.stats;
                stats.chunk_size_bytes.observe(c.bytes.len() as f64);
                stats
                    .chunk_samples
                    .observe(f64::from(u16::from_be_bytes([c.bytes[0], c.bytes[1]])));
                stats.chunk_range.observe((c.maxt - c.mint) as f64);
            }
            let block = if series.is_empty() {
                None
            } else {
                let meta =
                    self.write_block(|| write_head_block(&inner.dir, mint, maxt, &series))?;
                tracing::info!(ulid = %meta.ulid, mint, maxt, series = meta.stats.num_series, "Wrote block from head");
                Some(self.open_new_block(&meta)?)
            };
            self.truncate_head(maxt, block)?;
        }
        self.compact_blocks()?;
        self.apply_retention()
    }

    /// Runs `write` (a block write) with the compaction metrics kept.
    fn write_block(
        &self,
        write: impl FnOnce() -> Result<crate::BlockMeta, TsdbError>,
    ) -> Result<crate::BlockMeta, TsdbError> {
        let stats = &self.0.stats;
        let started = std::time::Instant::now();
        stats.populating_block.set(1.0);
        let result = write();
        stats.populating_block.set(0.0);
        match &result {
            Ok(_) => {
                stats.compactions.inc();
                stats
                    .compaction_duration
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(_) => stats.compactions_failed.inc(),
        }
        result
    }

    /// Loads `block` (the head's data before `mint`) and drops that data from the head in
    /// one step for readers, then checkpoints the WAL.
    fn truncate_head(&self, mint: Timestamp, block: Option<Arc<Block>>) -> Result<(), TsdbError> {
        let inner = &self.0;
        let stats = &inner.stats;
        let wal_error = |e| TsdbError::Io {
            path: inner.dir.join("wal"),
            source: e,
        };
        {
            // Readers take the block list and the head snapshot under this lock (see
            // `DbQuerier::sources`), so none sees the range in neither or in both.
            let mut blocks = inner.blocks.write().expect("blocks lock");
            if let Some(block) = block {
                blocks.push(block);
                blocks.sort_by_key(|b| b.meta().min_time);
                stats.reloads.inc();
            }
            let started = std::time::Instant::now();
            stats.head_truncations.inc();
            inner.head.gc(mint).map_err(|e| {
                stats.head_truncations_failed.inc();
                wal_error(e)
            })?;
            stats
                .head_gc_duration
                .observe(started.elapsed().as_secs_f64());
        }
        let started = std::time::Instant::now();
        stats.wal_truncations.inc();
        stats.checkpoint_creations.inc();
        inner.head.truncate_wal(mint).map_err(|e| {
            stats.wal_truncations_failed.inc();
            stats.checkpoint_creations_failed.inc();
            wal_error(e)
        })?;
        stats
            .wal_truncate_duration
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Opens a block just written.
    fn open_new_block(&self, meta: &crate::BlockMeta) -> Result<Arc<Block>, TsdbError> {
        Block::open(&self.0.dir.join(&meta.ulid))
            .map(Arc::new)
            .inspect_err(|_| self.0.stats.reloads_failures.inc())
    }

    /// Swaps blocks in the loaded set: `old` out, `new` in.
    fn replace_blocks(&self, old: &[Arc<Block>], new: Option<Arc<Block>>) {
        let mut blocks = self.0.blocks.write().expect("blocks lock");
        blocks.retain(|b| !old.iter().any(|o| Arc::ptr_eq(o, b)));
        blocks.extend(new);
        blocks.sort_by_key(|b| b.meta().min_time);
        self.0.stats.reloads.inc();
    }

    /// Merges blocks into larger ranges while the planner finds groups to merge.
    fn compact_blocks(&self) -> Result<(), TsdbError> {
        let inner = &self.0;
        let ranges = compaction_ranges(inner.options.block_range_ms, self.max_block_duration());
        loop {
            let group = plan(&self.blocks(), &ranges);
            if group.len() < 2 {
                return Ok(());
            }
            let meta = self.write_block(|| merge_blocks(&inner.dir, &group))?;
            let overlapping = group
                .windows(2)
                .any(|w| w[0].meta().max_time > w[1].meta().min_time);
            if overlapping {
                inner.stats.vertical_compactions.inc();
            }
            let merged = self.open_new_block(&meta)?;
            tracing::info!(ulid = %meta.ulid, parents = group.len(), mint = meta.min_time, maxt = meta.max_time, "Compacted blocks");
            self.replace_blocks(&group, Some(merged));
            for parent in &group {
                delete_block_dir(parent.dir())?;
            }
        }
    }

    /// The largest block compaction builds: a tenth of the retention, at most 31 days.
    fn max_block_duration(&self) -> i64 {
        let month = 31 * 24 * 3600 * 1000;
        let options = &self.0.options;
        match (options.max_block_duration_ms, options.retention_ms) {
            (Some(max), _) => max.max(options.block_range_ms),
            (None, 0) => month,
            (None, r) => (r / 10).clamp(options.block_range_ms, month),
        }
    }

    /// Deletes whole blocks beyond the time or size retention, oldest first.
    fn apply_retention(&self) -> Result<(), TsdbError> {
        let inner = &self.0;
        let blocks = self.blocks();
        let mut doomed: Vec<Arc<Block>> = Vec::new();
        if inner.options.retention_ms > 0 {
            if let Some(newest) = blocks.iter().map(|b| b.meta().max_time).max() {
                let before = doomed.len();
                doomed.extend(
                    blocks
                        .iter()
                        .filter(|b| newest - b.meta().max_time > inner.options.retention_ms)
                        .cloned(),
                );
                if doomed.len() > before {
                    inner.stats.time_retentions.inc();
                }
            }
        }
        if inner.options.retention_bytes > 0 {
            let mut total = inner.head.wal_size();
            let mut size_doomed = false;
            for b in blocks.iter().rev() {
                total += b.size();
                if total > inner.options.retention_bytes
                    && !doomed.iter().any(|d| Arc::ptr_eq(d, b))
                {
                    doomed.push(b.clone());
                    size_doomed = true;
                }
            }
            if size_doomed {
                inner.stats.size_retentions.inc();
            }
        }
        if doomed.is_empty() {
            return Ok(());
        }
        self.replace_blocks(&doomed, None);
        for b in doomed {
            tracing::info!(ulid = %b.meta().ulid, "Deleting block beyond retention");
            delete_block_dir(b.dir())?;
        }
        Ok(())
    }

    /// Deletes the samples in `[mint, maxt]` of series matching `matchers`, in blocks
    /// (tombstones) and in the head (re-encoded chunks, logged to the WAL).
    pub fn delete_series(
        &self,
        matchers: &[Matcher],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<(), TsdbError> {
        let _serial = self.0.maintenance.lock().expect("maintenance lock");
        for b in self.blocks().iter().filter(|b| b.overlaps(mint, maxt)) {
            b.delete(matchers, mint, maxt)?;
        }
        self.0
            .head
            .delete(matchers, mint, maxt)
            .map_err(|e| TsdbError::Io {
                path: self.0.dir.join("wal"),
                source: e,
            })?;
        Ok(())
    }

    /// Rewrites every block that has tombstones without the deleted data.
    pub fn clean_tombstones(&self) -> Result<(), TsdbError> {
        let inner = &self.0;
        let _serial = inner.maintenance.lock().expect("maintenance lock");
        let started = std::time::Instant::now();
        for old in self.blocks().into_iter().filter(|b| b.has_tombstones()) {
            let meta = merge_blocks(&inner.dir, std::slice::from_ref(&old))?;
            let cleaned = self.open_new_block(&meta)?;
            self.replace_blocks(std::slice::from_ref(&old), Some(cleaned));
            delete_block_dir(old.dir())?;
        }
        inner
            .stats
            .tombstone_cleanup
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Writes a snapshot into `dir`: hard links to every block's files, plus (unless
    /// `skip_head`) the head written as a block.
    pub fn snapshot(&self, dir: &Path, skip_head: bool) -> Result<(), TsdbError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| TsdbError::Io {
                path: path.clone(),
                source: e,
            }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for b in self.blocks() {
            let dest = dir.join(&b.meta().ulid);
            link_tree(b.dir(), &dest).map_err(io(&dest))?;
        }
        if !skip_head {
            let series = self.0.head.all_chunks();
            if let Some((min, max)) = self.0.head.time_range() {
                crate::compact::write_head_block(dir, min, max + 1, &series)?;
            }
        }
        Ok(())
    }

    /// The oldest timestamp stored, in blocks or the head.
    pub fn lowest_timestamp(&self) -> Option<Timestamp> {
        let blocks = self.blocks().iter().map(|b| b.meta().min_time).min();
        let head = self.0.head.time_range().map(|(min, _)| min);
        blocks.into_iter().chain(head).min()
    }

    /// Total bytes of blocks plus WAL, as size retention counts them.
    pub fn size(&self) -> u64 {
        self.blocks().iter().map(|b| b.size()).sum::<u64>() + self.0.head.wal_size()
    }

    /// The retention size limit in bytes (0 = none).
    pub fn retention_limit_bytes(&self) -> u64 {
        self.0.options.retention_bytes
    }

    /// Whether the previous run left no lock file behind.
    pub fn clean_start(&self) -> bool {
        self.0.clean_start
    }

    /// Fsyncs the WAL and removes the lock file (graceful shutdown).
    pub fn close(&self) -> std::io::Result<()> {
        self.0.head.close()?;
        self.0.lock.unlock()?;
        std::fs::remove_file(self.0.dir.join(LOCK_FILE))
    }
}

/// A weak reference to a [`Db`].
pub(crate) struct WeakDb(std::sync::Weak<DbInner>);

impl WeakDb {
    pub(crate) fn upgrade(&self) -> Option<Db> {
        self.0.upgrade().map(Db)
    }
}

/// How long opening waits for the directory lock: a database dropped in this process
/// holds it until its compactor finishes the pass it is in.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Flocks `file`, retrying until `wait` has passed.
fn lock_within(file: &std::fs::File, wait: Duration) -> Result<(), std::fs::TryLockError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

/// Recreates the directory tree `from` under `to` with hard links to its files.
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            link_tree(&entry.path(), &dest)?;
        } else {
            std::fs::hard_link(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// Deletes a block directory, renaming it first so a crash mid-delete leaves a directory
/// start-up removes. Queries holding the block keep reading their mmaps.
fn delete_block_dir(dir: &Path) -> Result<(), TsdbError> {
    let tmp = dir.with_extension("tmp-for-deletion");
    std::fs::rename(dir, &tmp)
        .and_then(|_| std::fs::remove_dir_all(&tmp))
        .map_err(|e| TsdbError::Io {
            path: dir.to_path_buf(),
            source: e,
        })
}

/// Runs maintenance after commits that made the head compactable, and every minute.
fn compactor(db: std::sync::Weak<DbInner>, wake: Receiver<()>) {
    loop {
        match wake.recv_timeout(Duration::from_secs(60)) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let Some(inner) = db.upgrade() else { return };
        if let Err(e) = Db(inner).compact() {
            tracing::error!(err = %e, "Compaction failed");
        }
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(DbAppender {
            inner: self.0.head.appender(),
            db: self.0.clone(),
        })
    }
}

/// A head transaction that wakes the compactor when its commit makes the head compactable.
struct DbAppender {
    inner: Box<dyn Appender>,
    db: Arc<DbInner>,
}

impl Appender for DbAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        self.inner.append(series_ref, labels, t, v)
    }

    fn append_by_ref(
        &mut self,
        series_ref: SeriesRef,
        t: Timestamp,
        v: f64,
    ) -> Result<bool, AppendError> {
        self.inner.append_by_ref(series_ref, t, v)
    }

    fn update_metadata(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        metadata: &Metadata,
    ) -> Result<SeriesRef, AppendError> {
        self.inner.update_metadata(series_ref, labels, metadata)
    }

    fn commit(self: Box<Self>) -> Result<(), AppendError> {
        self.inner.commit()?;
        if self.db.head.compactable() {
            let _ = self.db.compact_signal.try_send(());
        }
        Ok(())
    }

    fn rollback(self: Box<Self>) {
        self.inner.rollback();
    }
}

impl Queryable for Db {
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<Box<dyn Querier + '_>, StorageError> {
        let blocks = self
            .blocks()
            .into_iter()
            .filter(|b| b.overlaps(mint, maxt))
            .collect();
        Ok(Box::new(DbQuerier {
            db: self.0.clone(),
            blocks,
            mint,
            maxt,
        }))
    }
}

/// Reads blocks and the head.
struct DbQuerier {
    db: Arc<DbInner>,
    /// The blocks when the querier was made, kept readable even if deleted since.
    blocks: Vec<Arc<Block>>,
    mint: Timestamp,
    maxt: Timestamp,
}

fn storage_error(e: impl std::fmt::Display) -> StorageError {
    StorageError(e.to_string())
}

impl DbQuerier {
    fn labels_of(&self, matchers: &[Matcher]) -> Result<Vec<Labels>, StorageError> {
        let (blocks, head) = self.sources(matchers, Shard::WHOLE);
        let mut all = std::collections::BTreeSet::new();
        for b in &blocks {
            all.extend(
                b.matching_labels(matchers, self.mint, self.maxt)
                    .map_err(storage_error)?,
            );
        }
        all.extend(head.map(|s| s.labels));
        Ok(all.into_iter().collect())
    }
}

impl DbQuerier {
    /// Series matching `matchers` from every block and the head, merged into one label
    /// order, each decoded when reached.
    fn series(
        &self,
        matchers: &[Matcher],
        shard: Shard,
    ) -> Result<MergedSeries<'static>, StorageError> {
        let (blocks, head) = self.sources(matchers, shard);
        let mut sources: Vec<SeriesIter<'static>> = Vec::with_capacity(blocks.len() + 1);
        for b in blocks {
            let series = b
                .select(matchers, self.mint, self.maxt, shard)
                .map_err(storage_error)?;
            sources.push(Box::new(series.map(|r| r.map_err(storage_error))));
        }
        sources.push(Box::new(head.map(Ok)));
        Ok(MergedSeries {
            sources: sources.into_iter().map(Iterator::peekable).collect(),
        })
    }

    /// The blocks overlapping the range (those loaded now plus those the querier started
    /// with) and the head's matching series, taken together under the block-list lock so
    /// a head compaction is seen entirely or not at all.
    fn sources(
        &self,
        matchers: &[Matcher],
        shard: Shard,
    ) -> (Vec<Arc<Block>>, impl Iterator<Item = Series> + use<>) {
        let loaded = self.db.blocks.read().expect("blocks lock");
        let mut blocks = self.blocks.clone();
        for b in loaded.iter().filter(|b| b.overlaps(self.mint, self.maxt)) {
            if !blocks.iter().any(|kept| Arc::ptr_eq(kept, b)) {
                blocks.push(b.clone());
            }
        }
        let head = self
            .db
            .head
            .select_series(matchers, self.mint, self.maxt, shard);
        (blocks, head)
    }
}

type SeriesIter<'a> = Box<dyn Iterator<Item = Result<Series, StorageError>> + 'a>;

/// Series from several sources, each in label order, merged into one label order. A
/// series several sources hold (overlapping blocks, a block and the head) comes out
/// once, its samples merged by timestamp.
struct MergedSeries<'a> {
    sources: Vec<std::iter::Peekable<SeriesIter<'a>>>,
}

impl Iterator for MergedSeries<'_> {
    type Item = Result<Series, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        for source in &mut self.sources {
            if matches!(source.peek(), Some(Err(_))) {
                return source.next();
            }
        }
        let first = self
            .sources
            .iter_mut()
            .filter_map(|s| s.peek())
            .filter_map(|r| r.as_ref().ok())
            .map(|s| &s.labels)
            .min()?
            .clone();
        let mut merged: Option<Series> = None;
        for source in &mut self.sources {
            let Some(Ok(series)) = source.next_if(|r| r.as_ref().is_ok_and(|s| s.labels == first))
            else {
                continue;
            };
            match &mut merged {
                Some(m) => merge_samples(&mut m.samples, series.samples),
                None => merged = Some(series),
            }
        }
        merged.map(Ok)
    }
}

impl Querier for DbQuerier {
    fn select_shard(
        &self,
        matchers: &[Matcher],
        shard: Shard,
    ) -> Result<SeriesSet<'_>, StorageError> {
        Ok(Box::new(self.series(matchers, shard)?))
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        Ok(ember_storage::label_names_of(&self.labels_of(matchers)?))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        Ok(ember_storage::label_values_of(
            &self.labels_of(matchers)?,
            name,
        ))
    }
}

/// Merges sorted `more` into sorted `into`; on equal timestamps the first source wins.
fn merge_samples(into: &mut Vec<(Timestamp, f64)>, more: Vec<(Timestamp, f64)>) {
    let old = std::mem::take(into);
    into.reserve(old.len() + more.len());
    let (mut a, mut b) = (old.into_iter().peekable(), more.into_iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 < y.0 => into.push(a.next().expect("peeked")),
            (Some(x), Some(y)) if x.0 > y.0 => into.push(b.next().expect("peeked")),
            (Some(_), Some(_)) => {
                into.push(a.next().expect("peeked"));
                b.next();
            }
            (Some(_), None) => into.push(a.next().expect("peeked")),
            (None, Some(_)) => into.push(b.next().expect("peeked")),
            (None, None) => break,
        }
    }
}
