//! Ember's self-monitoring registry.
//!
//! - [`Registry`] holds metric families and renders them in the text exposition format.
//! - [`Counter`], [`Gauge`] and [`Histogram`] are lock-free handles; the `*Vec` types add
//!   label dimensions. [`Registry::gauge_fn`] samples a value at render time.
//! - [`process`] reads `process_*` metrics from `/proc`, like Go's process collector.
//!
//! Metric names follow Prometheus's own wherever the meaning is the same, so existing
//! meta-monitoring dashboards and alerts work unchanged.
#![deny(missing_docs)]

mod metric;
pub mod process;
mod registry;

pub use metric::{
    Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramVec, Summary, SummaryVec,
};
pub use registry::{CollectedSample, Kind, Registry};
