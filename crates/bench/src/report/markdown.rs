//! The Markdown report: a header saying what ran where, then one table per group of
//! figures with each system's value and Ember's ratio to each peer.

use super::{AnswerCheck, Figure, KEY_FIGURES, MIB, QueryKind, Report, SystemFigures};
use crate::measure::machine::Machine;
use crate::measure::stats;
use crate::system::SystemKind;
use std::fmt::Write as _;

/// `1234567.8` with `digits` decimals and thousands separators: `1,234,567.80`.
pub fn format_number(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let text = format!("{:.*}", digits, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match frac {
        "" => format!("{sign}{grouped}"),
        _ => format!("{sign}{grouped}.{frac}"),
    }
}

/// The report header's line saying what machine the run was on.
pub(crate) fn machine_line(m: &Machine) -> String {
    format!(
        "- Machine: {}, {} cores, {} GiB memory, Linux {}",
        m.cpu_model,
        m.cores,
        format_number(m.memory_bytes as f64 / (MIB * 1024.0), 1),
        m.kernel
    )
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format_number(v, digits))
}

/// Reads one figure from a system's figures.
type Getter<'a> = Box<dyn Fn(&SystemFigures) -> Option<f64> + 'a>;

/// One row: a label and how to get the value from each system.
struct Row<'a> {
    label: String,
    digits: usize,
    get: Getter<'a>,
}

impl<'a> Row<'a> {
    fn new(label: &str, digits: usize, get: impl Fn(&SystemFigures) -> Option<f64> + 'a) -> Self {
        Row {
            label: label.to_string(),
            digits,
            get: Box::new(get),
        }
    }
}

fn table(report: &Report, rows: &[Row<'_>]) -> String {
    let peers = report.peers();
    let mut header: Vec<String> = vec!["figure".into()];
    header.extend(report.systems.iter().map(|s| s.system.title().to_string()));
    header.extend(peers.iter().map(|p| format!("Ember/{}", p.title())));
    let mut out = format!("| {} |\n|---|", header.join(" | "));
    out.push_str(&"---:|".repeat(header.len() - 1));
    out.push('\n');
    for row in rows {
        let mut cells = vec![row.label.clone()];
        cells.extend(
            report
                .systems
                .iter()
                .map(|s| cell((row.get)(s), row.digits)),
        );
        let ember = report.system(SystemKind::Ember).and_then(|s| (row.get)(s));
        for peer in &peers {
            let other = report.system(*peer).and_then(|s| (row.get)(s));
            cells.push(cell(stats::ratio(ember, other), 2));
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

fn mib(bytes: u64) -> Option<f64> {
    Some(bytes as f64 / MIB)
}

fn header(report: &Report, chart: Option<&str>, out: &mut String) {
    let w = &report.workload;
    let m = &report.machine;
    let p = &report.plan;
    let _ = writeln!(out, "# Side by side: Ember, Prometheus, VictoriaMetrics\n");
    let _ = writeln!(out, "- Date: {}", report.date);
    let _ = writeln!(out, "{}", machine_line(m));
    let versions: Vec<String> = report
        .systems
        .iter()
        .map(|s| format!("{} `{}`", s.system.title(), s.version))
        .collect();
    let _ = writeln!(out, "- Systems: {}", versions.join(", "));
    let churn = w.churn.map_or_else(
        || "no churn".to_string(),
        |c| {
            format!(
                "{}% of series replaced every {} s",
                format_number(c.share * 100.0, 1),
                c.every_s
            )
        },
    );
    let _ = writeln!(
        out,
        "- Workload: {} targets × {} series = {} series, scraped every {} s; {churn}; seed {}",
        w.targets,
        report.series_per_target,
        format_number((w.targets * report.series_per_target) as f64, 0),
        w.interval_ms as f64 / 1000.0,
        w.seed
    );
    let how = if p.concurrent {
        "all systems at the same time"
    } else {
        "one system at a time"
    };
    let _ = writeln!(
        out,
        "- Plan: `{}` mode, {how}; {} s of ingestion each, CPU window from {} s to the end; \
         queries evaluated at epoch + {} s (range queries over the last {} s, step {} s), \
         one warm-up then {} timed runs each",
        p.mode, p.ingest_s, p.warmup_s, p.eval_offset_s, p.range_s, p.step_s, p.query_runs
    );
    let _ = writeln!(
        out,
        "\nEvery figure is a cost: lower is better. `Ember/X` is Ember's value divided by X's \
         (below 1: Ember uses less). Figures come from a single run; see docs/benchmarks.md \
         for how each is measured and its limits.\n"
    );
    if let Some(chart) = chart {
        let _ = writeln!(out, "![key ratios and RSS over time]({chart})\n");
    }
}

fn figure_rows(figures: &[Figure]) -> Vec<Row<'static>> {
    figures
        .iter()
        .map(|f| Row::new(f.label, f.digits, f.get))
        .collect()
}

fn query_table(report: &Report, kind: QueryKind, p99: bool) -> String {
    // Every query some system answered, in the order they ran.
    let mut queries: Vec<&str> = Vec::new();
    for q in report.systems.iter().flat_map(|s| &s.queries) {
        if q.kind == kind && !queries.contains(&q.query.as_str()) {
            queries.push(&q.query);
        }
    }
    let rows: Vec<Row<'_>> = queries
        .into_iter()
        .map(|query| {
            Row::new(&format!("`{query}`"), 2, move |s: &SystemFigures| {
                let q = s
                    .queries
                    .iter()
                    .find(|q| q.kind == kind && q.query == query)?;
                Some(1000.0 * if p99 { q.p99_s } else { q.median_s })
            })
        })
        .collect();
    table(report, &rows)
}

/// The answer checks as a table, after a line saying how they were compared.
pub(crate) fn answers(checks: &[AnswerCheck], tolerance: f64, out: &mut String) {
    if checks.is_empty() {
        return;
    }
    let vm_note = if checks.iter().any(|a| a.informational) {
        "; VictoriaMetrics extrapolates `rate` differently, so its differences are informational"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "## Answers\n\nEach query's answers compared point by point (relative tolerance \
         {tolerance}){vm_note}.\n"
    );
    let _ = writeln!(
        out,
        "| query | kind | compared | result |\n|---|---|---|---|"
    );
    for a in checks {
        let c = &a.comparison;
        let verdict = if c.matches() {
            format!("same ({} series, {} points)", c.common_series, c.points)
        } else {
            let mark = if a.informational {
                "differs"
            } else {
                "**differs**"
            };
            let mut text = format!(
                "{mark}: {} of {} points, {}+{} series on one side only, max relative difference {:.2e}",
                c.differing_points, c.points, c.only_left, c.only_right, c.max_relative_diff
            );
            if let Some(example) = &c.example {
                let _ = write!(text, "; e.g. `{example}`");
            }
            text
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} vs {}{} | {} |",
            a.query,
            a.kind.name(),
            a.left.title(),
            a.right.title(),
            if a.informational {
                " (informational)"
            } else {
                ""
            },
            verdict.replace('|', "\\|")
        );
    }
    out.push('\n');
}

/// The whole report; `chart` is the chart's path relative to the report, if any.
pub fn render(report: &Report, chart: Option<&str>) -> String {
    let mut out = String::new();
    header(report, chart, &mut out);
    let sections: [(&str, Vec<Row<'_>>); 5] = [
        ("Key figures", figure_rows(&KEY_FIGURES)),
        (
            "Ingestion",
            vec![
                Row::new("active series (own metric)", 0, |s| s.active_series),
                Row::new("series (`count({__name__=~\".+\"})`)", 0, |s| {
                    s.series_by_query
                }),
                Row::new("targets up", 0, |s| s.targets_up),
                Row::new("samples in the CPU window", 0, |s| Some(s.cpu.samples)),
                Row::new("CPU seconds in the window", 2, |s| Some(s.cpu.cpu_s)),
                Row::new("CPU seconds per million samples", 2, |s| {
                    s.cpu.per_million_samples
                }),
                Row::new("ember-bench's own CPU seconds in the window", 2, |s| {
                    Some(s.cpu.harness_cpu_s)
                }),
                Row::new(
                    "machine load average (1 min) at the end of the window",
                    2,
                    |s| s.cpu.load_average,
                ),
            ],
        ),
        (
            "Memory",
            vec![
                Row::new("steady RSS, mean over the CPU window (MiB)", 1, |s| {
                    mib(s.memory.steady_rss)
                }),
                Row::new("peak RSS during ingestion, VmHWM (MiB)", 1, |s| {
                    mib(s.memory.peak_rss)
                }),
                Row::new("RSS bytes per active series", 0, |s| {
                    s.memory.bytes_per_series
                }),
            ],
        ),
        (
            "Disk",
            vec![
                Row::new("bytes per sample after a flush", 3, |s| {
                    s.disk.as_ref()?.bytes_per_sample
                }),
                Row::new("flushed bytes (MiB)", 2, |s| mib(s.disk.as_ref()?.bytes)),
                Row::new("samples in the flushed data", 0, |s| {
                    Some(s.disk.as_ref()?.samples as f64)
                }),
                Row::new("data directory without snapshots (MiB)", 1, |s| {
                    mib(s.disk.as_ref()?.data_dir_bytes)
                }),
            ],
        ),
        (
            "Start, restart and stop",
            vec![
                Row::new("ready after start on an empty data directory (s)", 2, |s| {
                    Some(s.startup_s)
                }),
                Row::new("answering queries after SIGKILL and restart (s)", 2, |s| {
                    Some(s.restart.as_ref()?.answering_s)
                }),
                Row::new("series count back after SIGKILL (s)", 2, |s| {
                    s.restart.as_ref()?.series_restored_s
                }),
                Row::new("peak RSS while recovering (MiB)", 1, |s| {
                    mib(s.restart.as_ref()?.peak_rss)
                }),
                Row::new("exit after SIGTERM (s)", 2, |s| s.shutdown_s),
            ],
        ),
    ];
    for (title, rows) in &sections {
        let _ = writeln!(out, "## {title}\n\n{}", table(report, rows));
    }
    for (kind, p99, title) in [
        (
            QueryKind::Instant,
            false,
            "Instant queries, median latency (ms)",
        ),
        (
            QueryKind::Instant,
            true,
            "Instant queries, p99 latency (ms)",
        ),
        (
            QueryKind::Range,
            false,
            "Range queries, median latency (ms)",
        ),
        (QueryKind::Range, true, "Range queries, p99 latency (ms)"),
    ] {
        let _ = writeln!(out, "## {title}\n\n{}", query_table(report, kind, p99));
    }
    answers(&report.answers, report.plan.tolerance, &mut out);
    let noisy: Vec<&SystemFigures> = report
        .systems
        .iter()
        .filter(|s| s.log_problems > 0)
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(out, "## Warnings and errors in the logs\n");
        for s in noisy {
            let _ = writeln!(
                out,
                "- {}: {} lines, first ones:",
                s.system.title(),
                s.log_problems
            );
            for line in &s.log_examples {
                let _ = writeln!(out, "  - `{}`", line.replace('`', "'"));
            }
        }
        out.push('\n');
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn numbers_get_separators_and_fixed_decimals() {
        assert_eq!(format_number(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number(1000.0, 0), "1,000");
        assert_eq!(format_number(-1234.5, 1), "-1,234.5");
        assert_eq!(format_number(-0.001, 1), "0.0");
        assert_eq!(format_number(0.125, 3), "0.125");
    }

    #[test]
    fn report_has_header_tables_ratios_and_answers() {
        let md = render(&fixture::report(), Some("quick.png"));
        assert!(md.contains("- Machine: Test CPU @ 2.0GHz, 2 cores, 24.0 GiB memory"));
        assert!(md.contains("100 targets × 519 series = 51,900 series, scraped every 5 s"));
        assert!(md.contains("10.0% of series replaced every 600 s"));
        assert!(md.contains("![key ratios and RSS over time](quick.png)"));
        assert!(md.contains(
            "| figure | Ember | Prometheus | VictoriaMetrics | Ember/Prometheus | Ember/VictoriaMetrics |"
        ));
        // 6.36 × 0.8 = 5.088 for Ember; ratio 0.8 to Prometheus, 1.6 to VictoriaMetrics.
        assert!(
            md.contains("| CPU seconds per million samples | 5.09 | 6.36 | 3.18 | 0.80 | 1.60 |"),
            "{md}"
        );
        assert!(
            md.contains("| RSS bytes per active series | 1,600 | 2,000 | 1,000 | 0.80 | 1.60 |")
        );
        assert!(md.contains(
            "| `rate(node_cpu_seconds_total[5m])` | 8.00 | 10.00 | 5.00 | 0.80 | 1.60 |"
        ));
        assert!(md.contains("| instant | Ember vs Prometheus | same (1600 series, 1600 points) |"));
        assert!(md.contains(
            "VictoriaMetrics vs Prometheus (informational) | differs: 1600 of 1600 points"
        ));
        assert!(md.contains("## Notes\n\n- a note"));
        assert!(!md.contains("## Warnings and errors"));
    }

    #[test]
    fn without_ember_there_are_no_ratio_columns() {
        let mut report = fixture::report();
        report.systems.retain(|s| s.system != SystemKind::Ember);
        let md = render(&report, None);
        assert!(md.contains("| figure | Prometheus | VictoriaMetrics |\n"));
        assert!(!md.contains("| Ember/"));
    }
}
