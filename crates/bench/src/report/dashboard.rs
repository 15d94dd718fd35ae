//! The report of `ember-bench queries`: dashboard query latency on the same stored data,
//! per system, with Ember's ratio to each peer and the answer checks.

use super::markdown::{answers, format_number, machine_line};
use super::{AnswerCheck, QueryKind};
use crate::measure::machine::Machine;
use crate::measure::stats;
use crate::system::SystemKind;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One query's timing on one system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardQuery {
    pub system: SystemKind,
    /// Short name (`rate`, `binary_join`, …).
    pub name: String,
    pub query: String,
    pub kind: QueryKind,
    pub median_s: f64,
    pub p99_s: f64,
    pub series: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DashboardReport {
    pub date: String,
    pub machine: Machine,
    /// Each system and the version that ran, in run order.
    pub versions: Vec<(SystemKind, String)>,
    pub series: usize,
    /// Samples written into each system.
    pub samples: u64,
    /// Seconds the remote-write load took (all systems at once).
    pub load_s: f64,
    pub runs: usize,
    pub tolerance: f64,
    pub queries: Vec<DashboardQuery>,
    pub answers: Vec<AnswerCheck>,
}

impl DashboardReport {
    fn find(&self, system: SystemKind, name: &str, kind: QueryKind) -> Option<&DashboardQuery> {
        self.queries
            .iter()
            .find(|q| q.system == system && q.name == name && q.kind == kind)
    }

    fn systems(&self) -> Vec<SystemKind> {
        self.versions.iter().map(|(k, _)| *k).collect()
    }

    /// Ember's median divided by `peer`'s, for every query both answered.
    pub fn ratios(&self, peer: SystemKind) -> Vec<f64> {
        self.queries
            .iter()
            .filter(|q| q.system == SystemKind::Ember)
            .filter_map(|q| {
                let other = self.find(peer, &q.name, q.kind)?;
                stats::ratio(Some(q.median_s), Some(other.median_s))
            })
            .collect()
    }

    /// Answer checks that count (not informational) and failed.
    pub fn mismatches(&self) -> usize {
        self.answers
            .iter()
            .filter(|a| !a.informational && !a.comparison.matches())
            .count()
    }
}

fn table(report: &DashboardReport, kind: QueryKind, out: &mut String) {
    let systems = report.systems();
    let peers: Vec<SystemKind> = systems
        .iter()
        .copied()
        .filter(|k| *k != SystemKind::Ember && systems.contains(&SystemKind::Ember))
        .collect();
    let mut header = vec!["query".to_string(), "series".to_string()];
    header.extend(
        systems
            .iter()
            .map(|s| format!("{} median (p99) ms", s.title())),
    );
    header.extend(peers.iter().map(|p| format!("Ember/{}", p.title())));
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(header.len() - 1));
    let names = report
        .queries
        .iter()
        .filter(|q| q.kind == kind && Some(q.system) == systems.first().copied());
    for first in names {
        let mut cells = vec![format!("`{}`", first.query), first.series.to_string()];
        for system in &systems {
            cells.push(report.find(*system, &first.name, kind).map_or_else(
                || "n/a".to_string(),
                |q| {
                    format!(
                        "{} ({})",
                        format_number(q.median_s * 1e3, 2),
                        format_number(q.p99_s * 1e3, 2)
                    )
                },
            ));
        }
        let median = |k| report.find(k, &first.name, kind).map(|q| q.median_s);
        for peer in &peers {
            let r = stats::ratio(median(SystemKind::Ember), median(*peer));
            cells.push(r.map_or_else(|| "n/a".to_string(), |r| format_number(r, 2)));
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// The report as Markdown.
pub fn render(report: &DashboardReport) -> String {
    let mut out = String::new();
    let m = &report.machine;
    let _ = writeln!(out, "# Dashboard queries on the same data\n");
    let _ = writeln!(out, "- Date: {}", report.date);
    let _ = writeln!(out, "{}", machine_line(m));
    let versions: Vec<String> = report
        .versions
        .iter()
        .map(|(k, v)| format!("{} `{v}`", k.title()))
        .collect();
    let _ = writeln!(out, "- Systems: {}", versions.join(", "));
    let flushed = if report.systems().contains(&SystemKind::VictoriaMetrics) {
        "; VictoriaMetrics flushed"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "- Data: the testkit's dashboard dataset, {} series × 1 day at 15 s = {} samples, \
         remote-written into every system in time order ({} s), then left to compact \
         (2 h blocks and their merges{flushed})",
        format_number(report.series as f64, 0),
        format_number(report.samples as f64, 0),
        format_number(report.load_s, 0)
    );
    let _ = writeln!(
        out,
        "- Queries: instant at the end of the day; range over the last 23 h with a 5 m step \
         (277 steps); one warm-up then {} timed runs each, one system at a time, \
         client-side until the whole body arrived\n",
        report.runs
    );
    for (title, kind) in [
        ("Range queries (23 h, 5 m step)", QueryKind::Range),
        ("Instant queries", QueryKind::Instant),
    ] {
        let _ = writeln!(out, "## {title}\n");
        table(report, kind, &mut out);
    }
    for (peer, _) in report
        .versions
        .iter()
        .filter(|(k, _)| *k != SystemKind::Ember)
    {
        let ratios = report.ratios(*peer);
        if let Some(g) = stats::geometric_mean(&ratios) {
            let _ = writeln!(
                out,
                "Geometric mean of Ember/{} over the {} medians: {}\n",
                peer.title(),
                ratios.len(),
                format_number(g, 2)
            );
        }
    }
    answers(&report.answers, report.tolerance, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Comparison;

    fn query(system: SystemKind, kind: QueryKind, median_s: f64) -> DashboardQuery {
        DashboardQuery {
            system,
            name: "rate".into(),
            query: "rate(http_requests_total[5m])".into(),
            kind,
            median_s,
            p99_s: median_s * 2.0,
            series: 2000,
        }
    }

    fn report() -> DashboardReport {
        let (e, p) = (SystemKind::Ember, SystemKind::Prometheus);
        DashboardReport {
            date: "2026-12-06T00:00:00Z".into(),
            machine: Machine {
                cpu_model: "cpu".into(),
                cores: 2,
                memory_bytes: 1 << 34,
                kernel: "6.1".into(),
            },
            versions: vec![(e, "ember 0.1.0".into()), (p, "2.42.0".into())],
            series: 10_000,
            samples: 57_600_000,
            load_s: 60.0,
            runs: 10,
            tolerance: 1e-6,
            queries: vec![
                query(e, QueryKind::Instant, 0.002),
                query(p, QueryKind::Instant, 0.008),
                query(e, QueryKind::Range, 0.100),
                query(p, QueryKind::Range, 0.200),
            ],
            answers: vec![AnswerCheck {
                query: "rate(http_requests_total[5m])".into(),
                kind: QueryKind::Range,
                left: e,
                right: p,
                informational: false,
                comparison: Comparison {
                    common_series: 2000,
                    points: 554_000,
                    ..Comparison::default()
                },
            }],
        }
    }

    #[test]
    fn ratios_pair_the_same_query_and_kind() {
        let r = report();
        let mut ratios = r.ratios(SystemKind::Prometheus);
        ratios.sort_by(f64::total_cmp);
        assert_eq!(ratios, vec![0.25, 0.5]);
        assert_eq!(r.mismatches(), 0);
    }

    #[test]
    fn markdown_has_both_tables_ratios_and_answers() {
        let md = render(&report());
        assert!(md.contains("57,600,000 samples"), "{md}");
        assert!(
            !md.contains("VictoriaMetrics"),
            "only the systems that ran: {md}"
        );
        assert!(
            md.contains("| `rate(http_requests_total[5m])` | 2000 | 100.00 (200.00) | 200.00 (400.00) | 0.50 |"),
            "{md}"
        );
        assert!(md.contains("| 2.00 (4.00) | 8.00 (16.00) | 0.25 |"), "{md}");
        assert!(md.contains("Geometric mean of Ember/Prometheus over the 2 medians: 0.35"));
        assert!(md.contains("same (2000 series, 554000 points)"), "{md}");
    }
}
