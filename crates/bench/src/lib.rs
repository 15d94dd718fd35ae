//! The side-by-side benchmark (docs/benchmarks.md): a deterministic node_exporter-like
//! workload served on loopback ([`workload`]), and the pieces `ember-bench` uses to run
//! Ember, Prometheus and VictoriaMetrics on it and report what each costs.

pub mod compare;
pub mod measure;
pub mod report;
pub mod run;
pub mod system;
pub mod workload;
