//! PromQL for Ember: the parser adapter, the evaluation engine and a test-script runner.
//!
//! - [`parse_expr`] converts `promql-parser`'s tree into Ember's own [`ast`]; module
//!   `parse` is the only one that knows the parser crate.
//! - [`Engine`] runs instant and range queries against any `ember_storage::Queryable`.
//!   Every expression is evaluated over a whole grid of steps at once, series by series
//!   (an instant query is a one-step grid), so selectors and range functions walk sample
//!   arrays instead of re-selecting per step. Module map: `eval` (grid, intermediate
//!   values, dispatch; `eval::selector` reads storage), `functions` (instant, range and
//!   label functions), `aggregate`, `binary`, `histogram` (`histogram_quantile`), `math`
//!   (float kernels), `engine` (entry points, delayed `__name__` removal), `value`
//!   (results and errors).
//! - [`promqltest`] runs Prometheus's PromQL test scripts against any storage.
//!
//! Invariant: no HTTP, JSON or files; evaluation reads storage only through
//! `ember_storage::Queryable`, in one module (`eval::selector`).
#![deny(missing_docs)]

mod aggregate;
pub mod ast;
mod binary;
mod engine;
mod eval;
mod functions;
mod histogram;
mod math;
mod parse;
pub mod promqltest;
mod value;

pub use engine::{Engine, EngineOptions};
pub use parse::{ParseError, format_query, parse_expr, parse_series_selector};
pub use value::{ErrorKind, QueryError, QueryOutput, QueryStats, QueryValue, Sample, SeriesPoints};
