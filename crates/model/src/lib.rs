//! Ember's leaf types: the vocabulary every other crate speaks.
//!
//! - [`Labels`] is a sorted, duplicate-free label set; [`LabelsBuilder`] edits one.
//! - [`Matcher`] selects label values (`=`, `!=`, `=~`, `!~`) with Prometheus regex
//!   semantics, compiled by [`PromRegex`].
//! - [`MetricType`] is a metric family's declared type.
//! - [`Timestamp`] and [`STALE_NAN`] are the sample-level conventions shared by scrape,
//!   storage and query.
//!
//! Invariant: this crate does no I/O and knows no serialization format.
#![deny(missing_docs)]

mod labels;
mod matcher;
mod metric_type;
mod quote;
mod regex;
mod sample;

pub use labels::{
    Label, Labels, LabelsBuilder, METRIC_NAME, is_valid_label_name, is_valid_metric_name,
};
pub use matcher::{MatchType, Matcher};
pub use metric_type::MetricType;
pub use quote::go_quote;
pub use regex::{PromRegex, RegexError};
pub use sample::{STALE_NAN, Timestamp, is_stale_nan, now_millis};
