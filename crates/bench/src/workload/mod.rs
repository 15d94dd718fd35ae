//! The workload: N simulated scrape targets, each a node_exporter-like body (node_exporter
//! 1.5's 505 series plus request-duration histograms), with optional series churn.
//!
//! Everything is deterministic for a seed. Target `j` answers its `k`-th scrape of a run
//! with samples stamped `epoch + phase_j + k × interval` (explicit timestamps), whose values
//! are pure functions of (seed, target, series, that offset). So two systems that scraped
//! the same slots hold the same samples at the same epoch-relative times whatever their
//! scrape phase or jitter, and their query answers can be compared point by point.

mod serve;
mod template;
mod values;

pub use serve::TargetServer;

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use template::{Line, SERIES_PER_HISTOGRAM, Template, ValueClass};
use values::{Draw, TargetDraws};

/// The label that changes on churned series.
const CHURN_LABEL: &str = "generation";

/// Series churn: every `every_s` seconds, each target replaces `share` of its series (info
/// metrics excepted) by giving them a new `generation` label value, at a target-specific
/// moment within the period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Churn {
    pub share: f64,
    pub every_s: u64,
}

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadParams {
    pub seed: u64,
    pub targets: usize,
    /// Requested series per target; rounded down to node_exporter's series plus whole
    /// histograms (14 series each, at least one). See [`Workload::series_per_target`].
    pub series_per_target: usize,
    pub interval_ms: u64,
    pub churn: Option<Churn>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkloadError {
    #[error("series per target must be at least {min} (node_exporter's series and one histogram)")]
    TooFewSeries { min: usize },
    #[error("the number of targets must be at least 1")]
    NoTargets,
    #[error("the scrape interval must be at least 1s")]
    Interval,
    #[error("the churn share must be in (0, 1], got {0}")]
    ChurnShare(f64),
    #[error("the churn period must be at least one scrape interval")]
    ChurnPeriod,
}

/// A validated workload: the shared body template plus the parameters.
#[derive(Clone, Debug)]
pub struct Workload {
    params: WorkloadParams,
    template: Template,
}

impl Workload {
    pub fn new(params: WorkloadParams) -> Result<Workload, WorkloadError> {
        let min = Self::min_series_per_target();
        if params.series_per_target < min {
            return Err(WorkloadError::TooFewSeries { min });
        }
        if params.targets == 0 {
            return Err(WorkloadError::NoTargets);
        }
        if params.interval_ms < 1000 {
            return Err(WorkloadError::Interval);
        }
        if let Some(churn) = params.churn {
            if !(churn.share > 0.0 && churn.share <= 1.0) {
                return Err(WorkloadError::ChurnShare(churn.share));
            }
            if churn.every_s * 1000 < params.interval_ms {
                return Err(WorkloadError::ChurnPeriod);
            }
        }
        let histograms =
            (params.series_per_target - template::node_exporter_series()) / SERIES_PER_HISTOGRAM;
        Ok(Workload {
            template: Template::new(histograms),
            params,
        })
    }

    /// The smallest `series_per_target`: node_exporter's series plus one histogram.
    pub fn min_series_per_target() -> usize {
        template::node_exporter_series() + SERIES_PER_HISTOGRAM
    }

    pub fn params(&self) -> &WorkloadParams {
        &self.params
    }

    /// Series in every body (the requested number, rounded down to whole histograms).
    pub fn series_per_target(&self) -> usize {
        self.template.series().count()
    }

    /// The `instance` label of target `target`, shaped like a real host's.
    pub fn instance(target: usize) -> String {
        format!("node-{target:05}.bench.internal:9100")
    }

    fn draws(&self, target: usize) -> TargetDraws {
        TargetDraws {
            seed: self.params.seed,
            target: target as u64,
        }
    }

    /// Milliseconds from the epoch to the samples of `target`'s scrape number `slot`.
    pub fn sample_offset_ms(&self, target: usize, slot: u64) -> u64 {
        let interval = self.params.interval_ms;
        let phase = (self.draws(target).of_target(Draw::Phase) * interval as f64) as u64;
        phase + slot * interval
    }

    /// The churn generation of `target`'s churned series at `offset_ms`, if churn is on.
    fn generation(&self, target: usize, offset_ms: u64) -> Option<u64> {
        let churn = self.params.churn?;
        let every_ms = churn.every_s * 1000;
        let phase = (self.draws(target).of_target(Draw::ChurnPhase) * every_ms as f64) as u64;
        Some((offset_ms + phase) / every_ms)
    }

    /// Whether the `churnable`-th churnable series of `target` is among the churned share.
    /// A Weyl sequence rather than independent draws, so each target churns the share to
    /// within a series or two.
    fn churns(&self, target: usize, churnable: usize) -> bool {
        let Some(churn) = self.params.churn else {
            return false;
        };
        const GOLDEN: f64 = 0.618_033_988_749_894_9;
        let start = self.draws(target).of_target(Draw::Churned);
        ((churnable as f64).mul_add(GOLDEN, start)).fract() < churn.share
    }

    /// Writes `target`'s body for its scrape number `slot` of the run started at
    /// `epoch_ms` (Unix milliseconds) into `out` (cleared first).
    pub fn render(&self, target: usize, slot: u64, epoch_ms: i64, out: &mut String) {
        out.clear();
        let offset_ms = self.sample_offset_ms(target, slot);
        let timestamp_ms = epoch_ms + offset_ms as i64;
        let t_s = offset_ms as f64 / 1000.0;
        let generation = self.generation(target, offset_ms);
        let draws = self.draws(target);
        let mut series = 0usize;
        // Info metrics never churn: queries join on them, and with explicit timestamps (so
        // no staleness markers) an old and a new generation would both match for 5 minutes.
        let mut churnable = 0usize;
        for line in &self.template.lines {
            let s = match line {
                Line::Meta(text) => {
                    out.push_str(text);
                    out.push('\n');
                    continue;
                }
                Line::Series(s) => s,
            };
            out.push_str(&s.open);
            let churned = s.class != ValueClass::One && self.churns(target, churnable);
            churnable += usize::from(s.class != ValueClass::One);
            match generation.filter(|_| churned) {
                Some(generation) => {
                    let sep = if s.has_labels { "," } else { "{" };
                    let _ = write!(out, "{sep}{CHURN_LABEL}=\"{generation}\"}}");
                }
                None if s.has_labels => out.push('}'),
                None => {}
            }
            let v = values::value(draws, series as u64, s.class, t_s);
            let _ = writeln!(out, " {} {timestamp_ms}", ember_exposition::format_float(v));
            series += 1;
        }
    }
}

#[cfg(test)]
mod tests;
