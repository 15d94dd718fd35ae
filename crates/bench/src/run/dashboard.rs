//! `ember-bench queries`: query latency on the same stored data. The testkit's dashboard
//! dataset (10,000 series, one day at 15 s) is remote-written, in time order, into every
//! system at once; once each has compacted what it holds (Ember and Prometheus cut 2 h
//! blocks and merge them, VictoriaMetrics flushes), the dashboard queries are timed one
//! system at a time and their answers compared with Prometheus's.

use super::api::{Api, At};
use super::phases::{Launch, log, time_query};
use super::process::{Process, Signal};
use super::{compare_with_prometheus, empty_data_dir, free_port, version};
use crate::measure::machine::Machine;
use crate::measure::{self_metrics, stats};
use crate::report::QueryKind;
use crate::report::dashboard::{DashboardQuery, DashboardReport};
use crate::system::SystemKind;
use anyhow::{Context as _, bail};
use ember_testkit::dashboard::{self, DAY_MS, STEP_MS};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Scrapes per remote-write request: 8 × 10,000 samples.
const STEPS_PER_WRITE: usize = 8;
/// Range queries cover the day but its first hour (whose 5 m windows are partial), with
/// a 5 m step: 277 steps, as the engine's criterion benchmark.
const RANGE_MS: i64 = 23 * 3600 * 1000;
const RANGE_STEP_S: f64 = 300.0;

/// What to run and how.
#[derive(Clone, Debug)]
pub struct DashboardPlan {
    pub systems: Vec<(SystemKind, PathBuf)>,
    pub workdir: PathBuf,
    pub keep_data: bool,
    pub runs: usize,
    pub tolerance: f64,
}

/// One system, started with the remote-write receiver on an empty data directory.
struct Running {
    kind: SystemKind,
    api: Api,
    process: Process,
    version: String,
}

async fn start(plan: &DashboardPlan, kind: SystemKind, binary: &Path) -> anyhow::Result<Running> {
    let dir = plan.workdir.join(kind.id());
    let data = empty_data_dir(&dir)?;
    // No targets: every sample arrives by remote write.
    let config = dir.join("empty.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
    )?;
    let port = free_port()?;
    let mut args = kind.args(&config, &data, port);
    if kind != SystemKind::VictoriaMetrics {
        args.push("--web.enable-remote-write-receiver".to_string());
    }
    let launch = Launch {
        kind,
        binary: binary.to_path_buf(),
        args,
        log: dir.join(format!("{}.log", kind.id())),
        dir,
    };
    let api = Api::new(port)?;
    let mut process = launch.spawn()?;
    launch
        .wait_ready(&api, &mut process, Duration::from_secs(120))
        .await?;
    let version = version::detect(kind, binary);
    log(kind, &format!("{version}; on 127.0.0.1:{port}"));
    Ok(Running {
        kind,
        api,
        process,
        version,
    })
}

/// Remote-writes the whole day, ending at `end_ms`, into every system; every request goes
/// to all of them before the next one is built, so each receives samples in time order.
async fn load(systems: &[Running], end_ms: i64) -> anyhow::Result<u64> {
    let series = dashboard::series();
    let steps = (DAY_MS / STEP_MS) as usize;
    let first_ms = end_ms - (steps as i64 - 1) * STEP_MS;
    let mut values = vec![0.0; series.len()];
    let mut batch: Vec<Vec<(i64, f64)>> = vec![Vec::with_capacity(STEPS_PER_WRITE); series.len()];
    let mut samples = 0u64;
    let started = Instant::now();
    for step in 0..steps {
        dashboard::advance(&series, step as i64, &mut values);
        let t = first_ms + step as i64 * STEP_MS;
        for (points, &v) in batch.iter_mut().zip(&values) {
            points.push((t, v));
        }
        if batch[0].len() < STEPS_PER_WRITE && step + 1 < steps {
            continue;
        }
        samples += (series.len() * batch[0].len()) as u64;
        let body = ember_testkit::remote_write_body(
            series
                .iter()
                .zip(batch.iter_mut())
                .map(|(s, points)| (s.labels.clone(), std::mem::take(points))),
        );
        let writes = systems.iter().map(|s| s.api.remote_write(body.clone()));
        for (s, result) in systems.iter().zip(futures::future::join_all(writes).await) {
            result.with_context(|| format!("{} refused samples at step {step}", s.kind.title()))?;
        }
        if step % 1440 < STEPS_PER_WRITE {
            eprintln!("loaded {step}/{steps} scrapes in {:?}", started.elapsed());
        }
    }
    Ok(samples)
}

/// Waits until a system is done with what the load set off: Ember and Prometheus until
/// their head spans at most 3.5 h and no compaction ran for 70 s (both check once a
/// minute); VictoriaMetrics after a flush and a pause for its merges.
async fn settle(s: &Running) -> anyhow::Result<()> {
    if s.kind == SystemKind::VictoriaMetrics {
        let (status, body) = s.api.get("/internal/force_flush").await?;
        if status != 200 {
            bail!("force_flush: HTTP {status}: {body}");
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    let mut last = None;
    let mut since = Instant::now();
    while Instant::now() < deadline {
        let metrics = s.api.metrics().await?;
        let get = |name| self_metrics::sum(&metrics, name, self_metrics::Select::All);
        let head_span_ms = get("prometheus_tsdb_head_max_time")?.unwrap_or(0.0)
            - get("prometheus_tsdb_head_min_time")?.unwrap_or(0.0);
        let compactions = get("prometheus_tsdb_compactions_total")?.unwrap_or(0.0);
        if last != Some(compactions) {
            last = Some(compactions);
            since = Instant::now();
        }
        if head_span_ms <= 3.5 * 3600e3 && since.elapsed() >= Duration::from_secs(70) {
            log(s.kind, &format!("settled after {compactions} compactions"));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    bail!("still compacting after 30 minutes")
}

/// Loads, settles and times every system; a system that fails to start stops the run
/// (the comparison needs them all on the same data).
pub async fn run(plan: &DashboardPlan) -> anyhow::Result<DashboardReport> {
    let date = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut systems = Vec::new();
    for (kind, binary) in &plan.systems {
        systems.push(start(plan, *kind, binary).await?);
    }
    let end_ms = chrono::Utc::now().timestamp_millis() / STEP_MS * STEP_MS - STEP_MS;
    let started = Instant::now();
    let samples = load(&systems, end_ms).await?;
    let load_s = started.elapsed().as_secs_f64();
    eprintln!("loaded {samples} samples into each system in {load_s:.0} s");
    for s in &systems {
        settle(s).await.with_context(|| s.kind.title())?;
    }

    // Halfway between two scrapes: Prometheus 2.42's windows include their start and
    // 3.x's (Ember's) do not, so at a scrape's timestamp they would hold different samples.
    let eval_ms = end_ms + STEP_MS / 2;
    let end_s = eval_ms as f64 / 1000.0;
    let kinds = [
        (QueryKind::Instant, At::Instant { time: end_s }),
        (
            QueryKind::Range,
            At::Range {
                start: end_s - RANGE_MS as f64 / 1000.0,
                end: end_s,
                step: RANGE_STEP_S,
            },
        ),
    ];
    let mut queries = Vec::new();
    let mut answers = Vec::new();
    for s in &systems {
        for (name, query) in dashboard::QUERIES {
            for (qkind, at) in kinds {
                let (latencies, answer) =
                    time_query(&s.api, query, at, plan.runs, eval_ms)
                        .await
                        .with_context(|| format!("{}: {} {query}", s.kind.title(), qkind.name()))?;
                let median_s = stats::median(&latencies).unwrap_or(0.0);
                log(
                    s.kind,
                    &format!("{} {name}: median {:.1} ms", qkind.name(), median_s * 1e3),
                );
                queries.push(DashboardQuery {
                    system: s.kind,
                    name: name.to_string(),
                    query: query.to_string(),
                    kind: qkind,
                    median_s,
                    p99_s: stats::percentile(&latencies, 99.0).unwrap_or(0.0),
                    series: answer.series.len(),
                });
                answers.push((s.kind, query, qkind, answer));
            }
        }
    }
    let checks = compare_with_prometheus(
        answers.iter().map(|(k, query, q, a)| (*k, *query, *q, a)),
        plan.tolerance,
    );
    let versions = systems
        .iter()
        .map(|s| (s.kind, s.version.clone()))
        .collect();
    for mut s in systems {
        s.process
            .stop(Signal::Term, Duration::from_secs(120))
            .await?;
    }
    if !plan.keep_data {
        for (kind, _) in &plan.systems {
            let _ = std::fs::remove_dir_all(plan.workdir.join(kind.id()));
        }
    }
    Ok(DashboardReport {
        date,
        machine: Machine::current(),
        versions,
        series: dashboard::series().len(),
        samples,
        load_s,
        runs: plan.runs,
        tolerance: plan.tolerance,
        queries,
        answers: checks,
    })
}
