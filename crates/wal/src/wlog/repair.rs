//! Cutting a damaged log back to its last good record: [`Wal::repair`].

use super::{CorruptionError, CorruptionReason, Wal, list_segments, segment_path, sync_dir};
use std::fs::{self, OpenOptions};
use std::io;

/// What [`Wal::repair`] dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Bytes cut from the end of the damaged segment.
    pub truncated_bytes: u64,
    /// Segments after the damaged one that were deleted.
    pub deleted_segments: usize,
    /// The size of those segments.
    pub deleted_bytes: u64,
}

impl Wal {
    /// Repairs the damage a [`Reader`](super::Reader) reported, so start-up never
    /// crash-loops on a torn or corrupted tail (Prometheus's `Repair`): the damaged
    /// segment is cut at `err.offset`, the last good record boundary, every later segment
    /// is deleted, and logging continues in a new segment after the damaged one.
    ///
    /// Later segments go even if they are intact: records can depend on earlier ones
    /// (samples on their series), so nothing after a gap can be trusted. Reading the WAL
    /// again then yields exactly the records before the damage.
    ///
    /// Refuses corruption outside this WAL's directory (a checkpoint cannot be repaired
    /// this way) and zstd records (not damaged, just unsupported). If the repair fails
    /// halfway, the WAL refuses further calls.
    pub fn repair(&mut self, err: &CorruptionError) -> io::Result<RepairReport> {
        self.check_usable()?;
        if err.reason == CorruptionReason::UnsupportedCompression {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing to repair readable data: {err}"),
            ));
        }
        if fs::canonicalize(&err.dir)? != fs::canonicalize(&self.dir)? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot repair {}: not in the WAL directory {}",
                    err.segment_path().display(),
                    self.dir.display()
                ),
            ));
        }
        let result = self.cut_after(err);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn cut_after(&mut self, err: &CorruptionError) -> io::Result<RepairReport> {
        self.wait_for_retired()?;
        let damaged = OpenOptions::new().write(true).open(err.segment_path())?;
        let mut report = RepairReport::default();
        for index in list_segments(&self.dir)?
            .into_iter()
            .filter(|&i| i > err.segment)
        {
            let path = segment_path(&self.dir, index);
            report.deleted_bytes += fs::metadata(&path)?.len();
            fs::remove_file(&path)?;
            report.deleted_segments += 1;
        }
        let len = damaged.metadata()?.len();
        if len > err.offset {
            damaged.set_len(err.offset)?;
            damaged.sync_data()?;
            report.truncated_bytes = len - err.offset;
        }
        // The active segment was the newest, so it is gone or cut: start afresh after
        // the damaged one, as opening the WAL would.
        let next = err.segment.checked_add(1).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "segment numbers exhausted")
        })?;
        self.switch_to_new_segment(next)?;
        sync_dir(&self.dir)?;
        Ok(report)
    }
}
