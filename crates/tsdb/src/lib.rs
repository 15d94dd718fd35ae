//! Ember's local time-series database, byte-compatible with Prometheus's TSDB
//! (see the formats in the shared `tsdb-format` corpus).
//!
//! - [`chunkenc`]: given samples, an XOR chunk; given a chunk, its samples.
//! - [`chunks`]: chunk segment files of blocks (`chunks/000001`) and of the head
//!   (`chunks_head/`), read through mmap.
//! - [`index`]: given a block's series and chunk metadata, the index file; given an index,
//!   symbols, series and postings without loading it into the heap.
//!
//! - [`Head`]: the appendable in-memory part, logged to the WAL (`ember-wal`) and
//!   rebuilt from it at start-up.
//!
//! Invariant: the only crate that touches a data directory's block files.
#![deny(missing_docs)]

pub mod chunkenc;
pub mod chunks;
mod head;
pub mod index;

pub use head::{Head, HeadAppender, HeadOptions, ReplayStats};
