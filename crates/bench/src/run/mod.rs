//! Runs the systems on the workload, one at a time unless asked otherwise, and gathers a
//! [`Report`]. Every process started here listens on 127.0.0.1 and is stopped by its pid.

mod api;
pub mod dashboard;
mod logs;
mod phases;
mod process;
mod queries;
mod sampler;
pub mod scrape_config;
mod system_run;
mod version;

use crate::compare::{self, Answer};
use crate::measure::machine::Machine;
use crate::report::{AnswerCheck, PlanSummary, QueryKind, Report};
use crate::system::SystemKind;
use crate::workload::Workload;
use anyhow::{Context as _, bail};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What to run and how.
#[derive(Clone, Debug)]
pub struct Plan {
    pub workload: Arc<Workload>,
    /// `quick` or `full`, for the report.
    pub mode: String,
    /// Ingestion time per system, from ready to the end of the CPU window.
    pub ingest: Duration,
    /// Time from ready to the start of the CPU window.
    pub warmup: Duration,
    pub query_runs: usize,
    pub rss_every: Duration,
    pub systems: Vec<(SystemKind, PathBuf)>,
    /// Data directories, configs and logs go under `workdir/<system>/`.
    pub workdir: PathBuf,
    pub keep_data: bool,
    pub concurrent: bool,
    pub tolerance: f64,
}

/// Fails, with how to get them, if any of the systems' binaries is missing.
pub fn check_binaries(systems: &[(SystemKind, PathBuf)]) -> anyhow::Result<()> {
    let missing: Vec<String> = systems
        .iter()
        .filter(|(_, path)| !path.is_file())
        .map(|(kind, path)| {
            format!(
                "  {} not found at {}: {}",
                kind.title(),
                path.display(),
                kind.install_hint()
            )
        })
        .collect();
    if !missing.is_empty() {
        bail!("missing systems:\n{}", missing.join("\n"));
    }
    Ok(())
}

/// A free port on 127.0.0.1 for a system to listen on.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `dir/data`, emptied (a kept work directory may hold an earlier run's data).
fn empty_data_dir(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let data = dir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data).with_context(|| format!("clear {}", data.display()))?;
    }
    std::fs::create_dir_all(&data)?;
    Ok(data)
}

/// Compares every system's answers `(system, query, kind, answer)` with Prometheus's (the
/// reference), or with VictoriaMetrics' when Prometheus did not run.
fn compare_with_prometheus<'a>(
    answers: impl IntoIterator<Item = (SystemKind, &'a str, QueryKind, &'a Answer)>,
    tolerance: f64,
) -> Vec<AnswerCheck> {
    let answers: Vec<_> = answers.into_iter().collect();
    let ran = |kind| answers.iter().any(|a| a.0 == kind);
    let Some(reference) = [SystemKind::Prometheus, SystemKind::VictoriaMetrics]
        .into_iter()
        .find(|k| ran(*k))
    else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    for &(kind, query, qkind, answer) in answers.iter().filter(|a| a.0 != reference) {
        let wanted = answers
            .iter()
            .find(|a| a.0 == reference && a.1 == query && a.2 == qkind);
        let Some(&(_, _, _, wanted)) = wanted else {
            continue;
        };
        checks.push(AnswerCheck {
            query: query.to_string(),
            kind: qkind,
            left: kind,
            right: reference,
            informational: kind == SystemKind::VictoriaMetrics
                || reference == SystemKind::VictoriaMetrics,
            comparison: compare::compare(answer, wanted, tolerance),
        });
    }
    checks
}

/// Runs the plan. A system that fails is reported in the notes; the others still run.
pub async fn run(plan: &Plan, generator: &tokio::runtime::Handle) -> anyhow::Result<Report> {
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let runs = plan.systems.iter().map(|(kind, binary)| async move {
        (*kind, system_run::run(plan, generator, *kind, binary).await)
    });
    let outcomes = if plan.concurrent {
        futures::future::join_all(runs).await
    } else {
        let mut done = Vec::new();
        for run in runs {
            done.push(run.await);
        }
        done
    };
    let mut systems = Vec::new();
    let mut answers = Vec::new();
    let mut notes = Vec::new();
    for (kind, outcome) in outcomes {
        match outcome {
            Ok(o) => {
                systems.push(o.figures);
                answers.push((kind, o.answers));
                notes.extend(o.notes);
            }
            Err(e) => {
                eprintln!("{}: {e:#}", kind.title());
                notes.push(format!("{} failed: {e:#}", kind.title()));
            }
        }
    }
    if systems.is_empty() {
        bail!("no system completed its run:\n{}", notes.join("\n"));
    }
    let interval_s = plan.workload.params().interval_ms / 1000;
    let window = queries::Window::new(plan.ingest.as_secs(), interval_s);
    Ok(Report {
        date,
        machine: Machine::current(),
        workload: plan.workload.params().clone(),
        series_per_target: plan.workload.series_per_target(),
        plan: PlanSummary {
            mode: plan.mode.clone(),
            concurrent: plan.concurrent,
            ingest_s: plan.ingest.as_secs(),
            warmup_s: plan.warmup.as_secs(),
            query_runs: plan.query_runs,
            tolerance: plan.tolerance,
            eval_offset_s: window.eval_offset_s,
            range_s: window.range_s,
            step_s: window.step_s,
        },
        systems,
        answers: compare_with_prometheus(
            answers
                .iter()
                .flat_map(|(kind, a)| a.iter().map(move |(q, k, a)| (*kind, *q, *k, a))),
            plan.tolerance,
        ),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(value: &str) -> Answer {
        let data =
            json!({"resultType": "vector", "result": [{"metric": {}, "value": [10, value]}]});
        Answer::parse(&data, 0).unwrap()
    }

    fn check_answers(all: &[(SystemKind, Answer)], tolerance: f64) -> Vec<AnswerCheck> {
        compare_with_prometheus(
            all.iter().map(|(k, a)| (*k, "q", QueryKind::Instant, a)),
            tolerance,
        )
    }

    #[test]
    fn answers_are_checked_against_prometheus() {
        let all = vec![
            (SystemKind::Ember, answer("1")),
            (SystemKind::Prometheus, answer("1")),
            (SystemKind::VictoriaMetrics, answer("2")),
        ];
        let checks = check_answers(&all, 1e-6);
        assert_eq!(checks.len(), 2);
        assert_eq!(
            (checks[0].left, checks[0].right),
            (SystemKind::Ember, SystemKind::Prometheus)
        );
        assert!(!checks[0].informational && checks[0].comparison.matches());
        assert!(checks[1].informational && !checks[1].comparison.matches());
    }

    #[test]
    fn without_prometheus_ember_is_checked_against_victoria_metrics() {
        let all = vec![
            (SystemKind::Ember, answer("1")),
            (SystemKind::VictoriaMetrics, answer("1")),
        ];
        let checks = check_answers(&all, 1e-6);
        assert_eq!(checks.len(), 1);
        assert!(checks[0].informational);
        assert!(check_answers(&all[..1], 1e-6).is_empty());
    }

    #[test]
    fn missing_binaries_say_how_to_get_them() {
        let err = check_binaries(&[(
            SystemKind::VictoriaMetrics,
            PathBuf::from("/nonexistent/vm"),
        )])
        .unwrap_err()
        .to_string();
        assert!(err.contains("apt-get install victoria-metrics"), "{err}");
    }
}
