//! Appending records: [`Wal`].

use super::{
    FragmentType, HEADER_SIZE, PAGE_SIZE, SNAPPY_FLAG, list_segments, segment_path, sync_dir,
};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

/// Prometheus's default segment size, 128 MiB.
pub const DEFAULT_SEGMENT_SIZE: usize = 128 * 1024 * 1024;

/// Bytes gathered before a write system call in the middle of a large batch; a batch is
/// always written out completely before [`Wal::log`] returns.
const WRITE_CHUNK: usize = 1024 * 1024;

/// When [`Wal::log`] forces records to stable storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Prometheus's behaviour. `log` returns once the records are written to the
    /// operating system: they survive a crash of this process, but an OS crash or power
    /// loss can lose the most recent ones. Each finished segment is fsynced in the
    /// background when the next one starts; [`Wal::sync`] and [`Wal::close`] fsync
    /// everything.
    #[default]
    SegmentEnd,
    /// "Acknowledged means durable": `log` fsyncs the records (and, after a segment
    /// change, the previous segment and the directory entry of the new one) before it
    /// returns `Ok`, so they survive power loss.
    EveryLog,
}

/// How a [`Wal`] writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Size at which a new segment is started; a multiple of [`PAGE_SIZE`]. A record
    /// larger than a whole segment gets a segment of its own that is as large as needed.
    pub segment_size: usize,
    /// Snappy-compress each record whose compressed form is smaller
    /// (`--storage.tsdb.wal-compression`, on by default).
    pub compression: bool,
    /// When records are fsynced.
    pub sync: SyncMode,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compression: true,
            sync: SyncMode::default(),
        }
    }
}

/// Counts a [`Wal`] keeps for self-monitoring (Prometheus's `prometheus_tsdb_wal_*`),
/// readable at any time through [`Wal::stats`].
#[derive(Debug, Default)]
pub struct WalStats {
    /// Writes of buffered pages to the segment file.
    pub page_flushes: AtomicU64,
    /// Pages completed (filled or padded) and written.
    pub completed_pages: AtomicU64,
}

/// Called with the duration of every WAL fsync.
pub type FsyncObserver = Arc<dyn Fn(std::time::Duration) + Send + Sync>;

/// An optional [`FsyncObserver`] (a closure has no `Debug`).
#[derive(Clone, Default)]
struct FsyncHook(Option<FsyncObserver>);

impl std::fmt::Debug for FsyncHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "FsyncHook(set)"
        } else {
            "FsyncHook(none)"
        })
    }
}

impl FsyncHook {
    /// Fsyncs `file`, reporting the time taken.
    fn sync(&self, file: &File) -> io::Result<()> {
        let started = std::time::Instant::now();
        let result = file.sync_data();
        if let Some(observe) = &self.0 {
            observe(started.elapsed());
        }
        result
    }
}

/// A write-ahead log in one directory, appending to its newest segment.
///
/// Not internally synchronised: writers share it behind a lock. Open it, read it from
/// start to end (and [`repair`](Wal::repair) it on corruption) before logging, as
/// Prometheus requires.
#[derive(Debug)]
pub struct Wal {
    pub(super) dir: PathBuf,
    options: WalOptions,
    active: ActiveSegment,
    /// Scratch space for one compressed record.
    compressed: Vec<u8>,
    encoder: snap::raw::Encoder,
    /// The fsync of the previous segment, run in the background like Prometheus does so a
    /// segment change does not stall writers.
    retiring: Option<JoinHandle<io::Result<()>>>,
    /// Set when the log may no longer match what this writer believes is on disk (a
    /// failed rollback or fsync): every later call fails instead of writing garbage.
    pub(super) failed: bool,
    stats: Arc<WalStats>,
    fsync_hook: FsyncHook,
}

/// The segment being appended to, with the bytes placed but not yet written.
#[derive(Debug)]
pub(super) struct ActiveSegment {
    index: u32,
    file: File,
    /// Bytes in the file.
    written: u64,
    /// Encoded fragments and padding following `written`.
    pending: Vec<u8>,
    stats: Arc<WalStats>,
}

impl ActiveSegment {
    fn create(
        dir: &Path,
        index: u32,
        pending: Vec<u8>,
        stats: Arc<WalStats>,
    ) -> io::Result<ActiveSegment> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(segment_path(dir, index))?;
        Ok(ActiveSegment {
            index,
            file,
            written: 0,
            pending,
            stats,
        })
    }

    /// The segment's size once pending bytes are written.
    fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    fn offset_in_page(&self) -> usize {
        (self.len() % PAGE_SIZE as u64) as usize
    }

    /// Fills the rest of the current page with zeros, if it was started.
    fn pad_page(&mut self) {
        let used = self.offset_in_page();
        if used != 0 {
            self.pending
                .resize(self.pending.len() + PAGE_SIZE - used, 0);
        }
    }

    /// Appends `data` as fragments: as much as fits in the current page, then page by page.
    fn put_record(&mut self, data: &[u8], flags: u8) -> io::Result<()> {
        let mut rest = data;
        let mut first = true;
        loop {
            let room = PAGE_SIZE - self.offset_in_page() - HEADER_SIZE;
            let (part, tail) = rest.split_at(rest.len().min(room));
            let fragment = match (first, tail.is_empty()) {
                (true, true) => FragmentType::Full,
                (true, false) => FragmentType::First,
                (false, false) => FragmentType::Middle,
                (false, true) => FragmentType::Last,
            };
            self.pending.push(fragment as u8 | flags);
            self.pending
                .extend_from_slice(&(part.len() as u16).to_be_bytes());
            self.pending
                .extend_from_slice(&crc32c::crc32c(part).to_be_bytes());
            self.pending.extend_from_slice(part);
            // A header no longer fits: the rest of the page is padding.
            if PAGE_SIZE - self.offset_in_page() < HEADER_SIZE {
                self.pad_page();
            }
            if self.pending.len() >= WRITE_CHUNK {
                self.write_pending()?;
            }
            if tail.is_empty() {
                return Ok(());
            }
            rest = tail;
            first = false;
        }
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(&self.pending)?;
        let page = PAGE_SIZE as u64;
        let pages_before = self.written / page;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        self.stats.page_flushes.fetch_add(1, Ordering::Relaxed);
        self.stats
            .completed_pages
            .fetch_add(self.written / page - pages_before, Ordering::Relaxed);
        Ok(())
    }

    /// Drops everything after byte `len`, written or pending.
    fn roll_back(&mut self, len: u64) -> io::Result<()> {
        self.pending.clear();
        self.file.set_len(len)?;
        self.written = len;
        Ok(())
    }
}

impl Wal {
    /// Opens the WAL in `dir`, creating the directory if needed, and starts a new segment
    /// after the last existing one (`00000000` in an empty directory), as Prometheus does:
    /// existing segments are never appended to, so a torn tail stays where it is until a
    /// reader reports it and [`Wal::repair`] cuts it.
    pub fn open(dir: impl AsRef<Path>, options: WalOptions) -> io::Result<Wal> {
        let dir = dir.as_ref().to_path_buf();
        if options.segment_size == 0 || !options.segment_size.is_multiple_of(PAGE_SIZE) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "invalid segment size {}: must be a positive multiple of {PAGE_SIZE}",
                    options.segment_size
                ),
            ));
        }
        std::fs::create_dir_all(&dir)?;
        let next = match list_segments(&dir)?.last() {
            Some(&last) => last.checked_add(1).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "segment numbers exhausted")
            })?,
            None => 0,
        };
        let stats = Arc::new(WalStats::default());
        let active = ActiveSegment::create(&dir, next, Vec::new(), stats.clone())?;
        sync_dir(&dir)?;
        Ok(Wal {
            dir,
            options,
            active,
            compressed: Vec::new(),
            encoder: snap::raw::Encoder::new(),
            retiring: None,
            failed: false,
            stats,
            fsync_hook: FsyncHook::default(),
        })
    }

    /// Page counts, shared: they keep counting after this call.
    pub fn stats(&self) -> Arc<WalStats> {
        self.stats.clone()
    }

    /// Reports the duration of every later fsync to `observe`.
    pub fn on_fsync(&mut self, observe: FsyncObserver) {
        self.fsync_hook = FsyncHook(Some(observe));
    }

    /// The WAL's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the WAL was opened with.
    pub fn options(&self) -> &WalOptions {
        &self.options
    }

    /// The segment records are appended to.
    pub fn current_segment(&self) -> u32 {
        self.active.index
    }

    /// Appends `records`, in order, each as one record.
    ///
    /// When this returns `Ok`, every record is in the segment file, written to the
    /// operating system (and fsynced with [`SyncMode::EveryLog`]). When it returns an
    /// error, a prefix of `records` (possibly none) is in the log, each one whole: the
    /// partial tail of the batch is cut off again, so the log stays readable and usable.
    /// If even that fails, the WAL refuses all further calls.
    pub fn log(&mut self, records: &[&[u8]]) -> io::Result<()> {
        self.check_usable()?;
        let mut batch_start = self.mark();
        let result = records
            .iter()
            .try_for_each(|rec| self.append(rec, &mut batch_start))
            .and_then(|()| self.active.write_pending());
        self.undo_on_error(batch_start, result)?;
        if self.options.sync == SyncMode::EveryLog {
            self.sync()?;
        }
        Ok(())
    }

    /// The active segment and its length: a point [`Wal::undo_on_error`] can return to.
    fn mark(&self) -> (u32, u64) {
        debug_assert!(self.active.pending.is_empty());
        (self.active.index, self.active.written)
    }

    /// Passes `result` through; on error, cuts the active segment back to `mark` so the
    /// file and this writer agree again, or marks the WAL failed if that is impossible.
    fn undo_on_error<T>(&mut self, mark: (u32, u64), result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            let (index, len) = mark;
            if index != self.active.index || self.active.roll_back(len).is_err() {
                self.failed = true;
            }
        }
        result
    }

    fn append(&mut self, rec: &[u8], batch_start: &mut (u32, u64)) -> io::Result<()> {
        let compressed_len = self.compress(rec)?;
        let stored_len = compressed_len.unwrap_or(rec.len());
        if !self.fits(stored_len) {
            self.start_segment()?;
            *batch_start = (self.active.index, 0);
        }
        match compressed_len {
            Some(n) => self.active.put_record(&self.compressed[..n], SNAPPY_FLAG),
            None => self.active.put_record(rec, 0),
        }
    }

    /// Snappy-compresses `rec` into the scratch buffer and returns the compressed length,
    /// or `None` when compression is off or does not make the record smaller (Prometheus
    /// stores such records uncompressed too).
    fn compress(&mut self, rec: &[u8]) -> io::Result<Option<usize>> {
        if !self.options.compression || rec.is_empty() {
            return Ok(None);
        }
        let max = snap::raw::max_compress_len(rec.len());
        if max == 0 {
            return Ok(None); // Too large for one snappy block.
        }
        if self.compressed.len() < max {
            self.compressed.resize(max, 0);
        }
        let n = self
            .encoder
            .compress(rec, &mut self.compressed[..max])
            .map_err(io::Error::other)?;
        Ok((n < rec.len()).then_some(n))
    }

    /// Whether `len` bytes of record data fit in the active segment (Prometheus's rule:
    /// the rest of this page plus the remaining pages, less a header each). An empty
    /// segment takes any record, however large, rather than being left behind empty.
    fn fits(&self, len: usize) -> bool {
        let len_so_far = self.active.len();
        if len_so_far == 0 {
            return true;
        }
        let page = PAGE_SIZE as i64;
        let header = HEADER_SIZE as i64;
        let pages_per_segment = (self.options.segment_size / PAGE_SIZE) as i64;
        let done_pages = len_so_far as i64 / page;
        let room_in_page = page - self.active.offset_in_page() as i64 - header;
        let room = room_in_page + (page - header) * (pages_per_segment - done_pages - 1);
        len as i64 <= room
    }

    /// Pads and writes the active segment, then makes the next one active. The finished
    /// segment is fsynced on a background thread (joined by the next [`Wal::sync`]).
    fn start_segment(&mut self) -> io::Result<u32> {
        self.active.pad_page();
        self.active.write_pending()?;
        let next = self.active.index.checked_add(1).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "segment numbers exhausted")
        })?;
        let finished = self.switch_to_new_segment(next)?;
        self.wait_for_retired()?;
        let dir = self.dir.clone();
        let hook = self.fsync_hook.clone();
        self.retiring = Some(std::thread::spawn(move || {
            hook.sync(&finished.file)?;
            sync_dir(&dir)
        }));
        Ok(next)
    }

    /// Creates segment `index` and makes it the active one; returns the previous one.
    pub(super) fn switch_to_new_segment(&mut self, index: u32) -> io::Result<ActiveSegment> {
        // The write buffer is empty between batches; keep its capacity.
        let pending = std::mem::take(&mut self.active.pending);
        let next = ActiveSegment::create(&self.dir, index, pending, self.stats.clone())?;
        Ok(std::mem::replace(&mut self.active, next))
    }

    /// Closes the active segment (padding its last page) and starts the next one;
    /// returns the new segment's number. The head calls this before a checkpoint so the
    /// segments it covers are complete.
    pub fn next_segment(&mut self) -> io::Result<u32> {
        self.check_usable()?;
        let mark = self.mark();
        let result = self.start_segment();
        let index = self.undo_on_error(mark, result)?;
        if self.options.sync == SyncMode::EveryLog {
            self.sync()?;
        }
        Ok(index)
    }

    /// Fsyncs everything logged so far, including finished segments and the directory
    /// entry of the active one. After an fsync failure the WAL refuses further calls: the
    /// kernel may have dropped the unwritten pages, so a retry could report success for
    /// data that is gone.
    pub fn sync(&mut self) -> io::Result<()> {
        self.check_usable()?;
        self.wait_for_retired()?;
        let result = self.fsync_hook.sync(&self.active.file);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Waits for the background fsync of the previous segment; its failure fails the WAL
    /// for the same reason a failed [`Wal::sync`] does.
    pub(super) fn wait_for_retired(&mut self) -> io::Result<()> {
        let Some(handle) = self.retiring.take() else {
            return Ok(());
        };
        let result = handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("segment fsync thread panicked")));
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// The first and last segment numbers in the directory.
    pub fn segments(&self) -> io::Result<(u32, u32)> {
        let segments = list_segments(&self.dir)?;
        match (segments.first(), segments.last()) {
            (Some(&first), Some(&last)) => Ok((first, last)),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no segments in {}", self.dir.display()),
            )),
        }
    }

    /// Deletes the segments numbered below `before` (never the active one), e.g. those a
    /// new checkpoint covers. Returns how many were deleted.
    pub fn truncate(&mut self, before: u32) -> io::Result<usize> {
        let before = before.min(self.active.index);
        let mut deleted = 0;
        for index in list_segments(&self.dir)?
            .into_iter()
            .take_while(|&i| i < before)
        {
            std::fs::remove_file(segment_path(&self.dir, index))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Pads the last page like Prometheus, fsyncs and closes the WAL.
    pub fn close(mut self) -> io::Result<()> {
        self.check_usable()?;
        self.active.pad_page();
        self.active.write_pending()?;
        self.sync()
    }

    pub(super) fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(format!(
                "WAL in {} failed earlier and must be reopened",
                self.dir.display()
            )));
        }
        Ok(())
    }
}
