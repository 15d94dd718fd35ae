//! Prometheus's write-ahead log, byte-compatible with Prometheus 2.x and 3.x: Ember's
//! head writes it and replays it on start-up, Prometheus can replay ours, and we can read
//! Prometheus's.
//!
//! - [`record`] encodes and decodes record payloads (series, samples, tombstones,
//!   exemplars, metadata) into reusable buffers; [`record::record_type`] classifies a
//!   record, including the histogram types this crate only skips.
//! - [`Wal`] appends records to 32 KiB pages in numbered segment files, fragmenting and
//!   snappy-compressing them like Prometheus. [`WalOptions`] sets the segment size,
//!   compression and the [`SyncMode`] that decides what a returned [`Wal::log`] call
//!   guarantees.
//! - [`Reader`] reads records back from one or more [`SegmentRange`]s (a checkpoint, then
//!   the WAL). Damage is a [`CorruptionError`] naming the segment and the offset of the
//!   last good record boundary; [`Wal::repair`] cuts the log there so start-up never
//!   crash-loops.
//! - [`checkpoint`] compacts old segments into `checkpoint.NNNNNNNN`, keeping what replay
//!   still needs; [`last_checkpoint`] finds the newest one.
//!
//! Replay on start-up:
//!
//! ```no_run
//! use ember_wal::{Reader, ReadError, SegmentRange, Wal, WalOptions, last_checkpoint};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::path::Path::new("data/wal");
//! let mut wal = Wal::open(dir, WalOptions::default())?; // starts a new segment
//! let mut ranges = Vec::new();
//! let mut first = 0;
//! if let Some(cp) = last_checkpoint(dir)? {
//!     first = cp.index + 1;
//!     ranges.push(SegmentRange::all(cp.path));
//! }
//! ranges.push(SegmentRange { dir: dir.into(), first: Some(first), last: None });
//! let mut reader = Reader::open(&ranges)?;
//! loop {
//!     match reader.next_record() {
//!         Ok(Some(rec)) => { /* record::decode_* into the head */ }
//!         Ok(None) => break,
//!         Err(ReadError::Corruption(c)) if c.dir == dir => {
//!             wal.repair(&c)?; // everything before the damage was replayed
//!             break;
//!         }
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod checkpoint;
pub mod record;
mod wlog;

pub use checkpoint::{
    CheckpointDir, CheckpointError, CheckpointStats, checkpoint, last_checkpoint,
};
pub use wlog::{
    CorruptionError, CorruptionReason, DEFAULT_SEGMENT_SIZE, FragmentType, FsyncObserver,
    PAGE_SIZE, Position, ReadError, Reader, RepairReport, SegmentRange, SyncMode, Wal, WalOptions,
    WalStats, segment_path,
};
