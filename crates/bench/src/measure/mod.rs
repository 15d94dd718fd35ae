//! Figures read from the outside: `/proc`, the systems' own `/metrics`, data directories,
//! and the arithmetic that turns repeated measurements into medians, percentiles and ratios.

pub mod disk;
pub mod machine;
pub mod proc_stats;
pub mod self_metrics;
pub mod stats;
