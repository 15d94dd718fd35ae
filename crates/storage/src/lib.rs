//! The seam between Ember's writers (scrape, remote write, rules) and readers (query,
//! federation, API) and whatever stores the data.
//!
//! - [`Appendable`] hands out [`Appender`]s: a transaction of samples that ends in
//!   [`Appender::commit`] or [`Appender::rollback`]. A reader never sees half a commit.
//! - [`Queryable`] hands out [`Querier`]s scoped to an inclusive `[mint, maxt]` range;
//!   [`Querier::select`] returns the matching series with their samples in time order.
//! - [`MemStorage`] implements both in memory, for tests and for wiring before a
//!   persistent store is plugged in.
//!
//! Invariant: no files and no encodings here; writers and readers only see these traits.
#![deny(missing_docs)]

mod appender;
mod memory;
mod querier;

pub use appender::{AppendError, Appendable, Appender, Metadata, SeriesRef};
pub use memory::MemStorage;
pub use querier::{
    Querier, Queryable, Series, SeriesSet, Shard, StorageError, label_names_of, label_values_of,
};
