//! PromQL for Ember.
//!
//! Today this crate owns the parser adapter: `promql-parser` is used in exactly one module
//! ([`parse`]) and its output converted into Ember's own types, so the parser can be
//! swapped without touching callers. The evaluation engine lands here next.
//!
//! Invariant: no HTTP, JSON or files; evaluation goes through `ember_storage::Queryable`.
#![deny(missing_docs)]

mod parse;

pub use parse::{ParseError, parse_series_selector};
