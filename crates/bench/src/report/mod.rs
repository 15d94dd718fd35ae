//! The figures of a run (also written as JSON) and their presentation: a Markdown report
//! ([`markdown`]) and a PNG chart ([`chart`]).

pub mod chart;
pub mod dashboard;
pub mod markdown;

use crate::compare::Comparison;
use crate::measure::machine::Machine;
use crate::measure::stats;
use crate::system::SystemKind;
use crate::workload::WorkloadParams;
use serde::{Deserialize, Serialize};

/// Everything a run measured, plus what it ran on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// When the run started (UTC, RFC 3339).
    pub date: String,
    pub machine: Machine,
    pub workload: WorkloadParams,
    /// Series per target actually served (`workload.series_per_target` rounded down).
    pub series_per_target: usize,
    pub plan: PlanSummary,
    pub systems: Vec<SystemFigures>,
    pub answers: Vec<AnswerCheck>,
    /// Anything the reader should know about this run (lagging systems, failures).
    pub notes: Vec<String>,
}

/// How the run was conducted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanSummary {
    /// `quick`, `full` or `custom`.
    pub mode: String,
    /// Whether the systems ran at the same time (default: one after the other).
    pub concurrent: bool,
    pub ingest_s: u64,
    pub warmup_s: u64,
    pub query_runs: usize,
    pub tolerance: f64,
    /// Instant queries are evaluated, and range queries end, this long after the epoch.
    pub eval_offset_s: u64,
    pub range_s: u64,
    pub step_s: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryKind {
    Instant,
    Range,
}

impl QueryKind {
    pub fn name(self) -> &'static str {
        match self {
            QueryKind::Instant => "instant",
            QueryKind::Range => "range",
        }
    }
}

/// Resident memory at one moment, for the chart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RssPoint {
    /// Seconds since the system was first started.
    pub t_s: f64,
    pub rss: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuFigures {
    pub window_s: f64,
    pub cpu_s: f64,
    pub samples: f64,
    pub per_million_samples: Option<f64>,
    /// CPU seconds ember-bench itself (targets, polling) used in the window.
    pub harness_cpu_s: f64,
    /// The machine's 1-minute load average at the end of the window.
    pub load_average: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryFigures {
    /// Mean `VmRSS` over the CPU window.
    pub steady_rss: u64,
    /// `VmHWM` at the end of ingestion.
    pub peak_rss: u64,
    pub bytes_per_series: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskFigures {
    /// Bytes written by the flush (snapshot blocks, or VictoriaMetrics' data directory).
    pub bytes: u64,
    /// Samples they hold (`meta.json` `numSamples`, or `vm_rows{type=~"storage/.*"}`).
    pub samples: u64,
    pub bytes_per_sample: Option<f64>,
    /// The whole data directory (WAL, head chunks, index), snapshots excluded.
    pub data_dir_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryFigures {
    pub query: String,
    pub kind: QueryKind,
    pub median_s: f64,
    pub p99_s: f64,
    pub runs: usize,
    pub series: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RestartFigures {
    /// From spawning the process again until a query succeeds.
    pub answering_s: f64,
    /// Until the active-series count is back to 99% of what it was.
    pub series_restored_s: Option<f64>,
    /// Peak resident memory while recovering.
    pub peak_rss: u64,
}

/// One system's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemFigures {
    pub system: SystemKind,
    pub version: String,
    /// From spawn until ready, on an empty data directory.
    pub startup_s: f64,
    pub active_series: Option<f64>,
    pub series_by_query: Option<f64>,
    pub targets_up: Option<f64>,
    pub cpu: CpuFigures,
    pub memory: MemoryFigures,
    pub rss_timeline: Vec<RssPoint>,
    pub disk: Option<DiskFigures>,
    pub queries: Vec<QueryFigures>,
    /// After SIGKILL.
    pub restart: Option<RestartFigures>,
    /// From SIGTERM until the process exited.
    pub shutdown_s: Option<f64>,
    /// Warning and error lines in the system's log, and the first few of them.
    pub log_problems: usize,
    pub log_examples: Vec<String>,
}

/// Whether two systems gave the same answer to one query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerCheck {
    pub query: String,
    pub kind: QueryKind,
    pub left: SystemKind,
    pub right: SystemKind,
    /// Differences are expected (VictoriaMetrics computes `rate` differently): reported,
    /// not counted as failures.
    pub informational: bool,
    pub comparison: Comparison,
}

const MIB: f64 = 1024.0 * 1024.0;

/// A figure that every system has, as shown in the tables and the chart.
pub(crate) struct Figure {
    pub(crate) label: &'static str,
    /// Short label for the chart.
    pub(crate) short: &'static str,
    pub(crate) digits: usize,
    pub(crate) get: fn(&SystemFigures) -> Option<f64>,
}

fn query_medians(s: &SystemFigures) -> Vec<f64> {
    s.queries.iter().map(|q| q.median_s).collect()
}

/// The headline figures, one per cost, in the order the chart shows them.
pub(crate) const KEY_FIGURES: [Figure; 6] = [
    Figure {
        label: "CPU seconds per million samples",
        short: "CPU/sample",
        digits: 2,
        get: |s| s.cpu.per_million_samples,
    },
    Figure {
        label: "RSS bytes per active series",
        short: "RSS/series",
        digits: 0,
        get: |s| s.memory.bytes_per_series,
    },
    Figure {
        label: "peak RSS during ingestion (MiB)",
        short: "peak RSS",
        digits: 1,
        get: |s| Some(s.memory.peak_rss as f64 / MIB),
    },
    Figure {
        label: "disk bytes per sample",
        short: "disk/sample",
        digits: 3,
        get: |s| s.disk.as_ref().and_then(|d| d.bytes_per_sample),
    },
    Figure {
        label: "query latency, geometric mean of medians (ms)",
        short: "query",
        digits: 2,
        get: |s| stats::geometric_mean(&query_medians(s)).map(|v| v * 1000.0),
    },
    Figure {
        label: "answering queries after SIGKILL (s)",
        short: "restart",
        digits: 2,
        get: |s| s.restart.as_ref().map(|r| r.answering_s),
    },
];

impl Report {
    pub fn system(&self, kind: SystemKind) -> Option<&SystemFigures> {
        self.systems.iter().find(|s| s.system == kind)
    }

    /// The peers Ember is compared with, in report order.
    pub fn peers(&self) -> Vec<SystemKind> {
        if self.system(SystemKind::Ember).is_none() {
            return Vec::new();
        }
        self.systems
            .iter()
            .map(|s| s.system)
            .filter(|k| *k != SystemKind::Ember)
            .collect()
    }

    /// Ember's value of a figure divided by `peer`'s.
    pub(crate) fn ratio(
        &self,
        figure: fn(&SystemFigures) -> Option<f64>,
        peer: SystemKind,
    ) -> Option<f64> {
        let ember = self.system(SystemKind::Ember).and_then(figure);
        stats::ratio(ember, self.system(peer).and_then(figure))
    }

    /// Answer checks that count (not informational) and failed.
    pub fn mismatches(&self) -> usize {
        self.answers
            .iter()
            .filter(|a| !a.informational && !a.comparison.matches())
            .count()
    }
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_round_trip_through_json() {
        let report = fixture::report();
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"system\":\"ember\""));
        assert!(json.contains("\"system\":\"vm\""));
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.systems, report.systems);
        assert_eq!(back.answers, report.answers);
    }

    #[test]
    fn ratios_and_mismatches() {
        let report = fixture::report();
        let cpu = KEY_FIGURES[0].get;
        let ratio = report.ratio(cpu, SystemKind::Prometheus).unwrap();
        assert!((ratio - 0.8).abs() < 1e-12);
        assert_eq!(
            report.peers(),
            vec![SystemKind::Prometheus, SystemKind::VictoriaMetrics]
        );
        // The only differing answer is VictoriaMetrics', which is informational.
        assert_eq!(report.mismatches(), 0);
    }
}
