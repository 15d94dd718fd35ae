//! Ember's local time-series database, byte-compatible with Prometheus's TSDB
//! (see the formats in the shared `tsdb-format` corpus).
//!
//! - [`chunkenc`]: given samples, an XOR chunk; given a chunk, its samples.
//! - [`chunks`]: chunk segment files of blocks (`chunks/000001`) and of the head
//!   (`chunks_head/`), read through mmap.
//! - [`index`]: given a block's series and chunk metadata, the index file; given an index,
//!   symbols, series and postings without loading it into the heap.
//!
//! - [`Db`]: blocks plus head behind the storage traits; compaction of the head into
//!   blocks and retention by time and size. [`Block`]: one persisted block.
//! - [`Head`]: the appendable in-memory part, logged to the WAL (`ember-wal`) and
//!   rebuilt from it at start-up.
//!
//! Invariant: the only crate that touches a data directory's block files.
#![deny(missing_docs)]

mod block;
pub mod chunkenc;
pub mod chunks;
mod compact;
mod db;
mod head;
pub mod index;
mod meta;
mod metrics;
pub mod tombstones;

pub use block::Block;
pub use db::{Db, DbOptions};
pub use head::{Head, HeadAppender, HeadCounters, HeadOptions, PostingsStats, ReplayStats};
pub use meta::{BlockCompaction, BlockDesc, BlockMeta, BlockStats};
pub use metrics::DbStats;

/// A storage failure, naming the file or directory involved.
#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    /// An I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A block could not be read or written.
    #[error("block {}: {message}", dir.display())]
    Block {
        /// The block directory.
        dir: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl TsdbError {
    pub(crate) fn block(dir: &std::path::Path, e: impl std::fmt::Display) -> Self {
        TsdbError::Block {
            dir: dir.to_path_buf(),
            message: e.to_string(),
        }
    }
}
