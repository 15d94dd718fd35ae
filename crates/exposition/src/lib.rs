//! Prometheus exposition formats: reading scrape bodies and writing `/metrics`.
//!
//! - [`Parser`] reads a body in one [`Format`] (Prometheus text 0.0.4 or OpenMetrics 1.0)
//!   and yields [`Entry`] values that borrow from the body: `# HELP`, `# TYPE` and
//!   `# UNIT` metadata, comments, and [`Sample`]s. It never allocates for a sample whose
//!   names and values contain no escapes.
//! - [`Sample`] keeps the raw series bytes ([`Sample::series_id`], the scrape-cache key)
//!   and decodes its metric name and [`LabelPairs`] lazily, so a cache hit costs only the
//!   scan. OpenMetrics samples may carry an [`Exemplar`].
//! - [`ParseError`] names the 1-based line and the reason, in Prometheus's wording. The
//!   parser stops at the first error, as Prometheus does.
//! - [`TextWriter`] writes the text format for `/metrics` and `/federate`; [`format_float`]
//!   renders values exactly like Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
//! - [`format_for_content_type`] and [`SCRAPE_ACCEPT_HEADER`] negotiate the format over
//!   HTTP the way Prometheus's scraper does.

#![deny(missing_docs)]

mod entry;
mod error;
mod family;
mod fields;
mod format;
mod gofloat;
mod labels;
mod lex;
mod openmetrics;
mod parser;
mod promtext;
mod writer;

pub use ember_model::MetricType;
pub use entry::{Entry, Exemplar, NORMAL_NAN, Sample};
pub use error::ParseError;
pub use format::{Format, SCRAPE_ACCEPT_HEADER, format_for_content_type};
pub use gofloat::format_float;
pub use labels::LabelPairs;
pub use parser::Parser;
pub use writer::TextWriter;
