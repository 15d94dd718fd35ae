//! The measurements of one system's run, in the order they happen: ingestion (CPU and
//! memory), queries, disk, and recovery after SIGKILL.

use super::api::{Api, At};
use super::process::{Process, Signal};
use super::queries::{QUERIES, Window};
use super::sampler::RssSampler;
use crate::compare::Answer;
use crate::measure::{disk, machine, proc_stats, stats};
use crate::report::{
    CpuFigures, DiskFigures, MemoryFigures, QueryFigures, QueryKind, RestartFigures,
};
use crate::system::{self, Flush, SystemKind};
use anyhow::{Context as _, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Each query's answer, for comparison across systems.
pub(crate) type Answers = Vec<(&'static str, QueryKind, Answer)>;

/// Everything needed to (re)start one system.
pub(crate) struct Launch {
    pub(crate) kind: SystemKind,
    pub(crate) binary: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) dir: PathBuf,
    pub(crate) log: PathBuf,
}

impl Launch {
    pub(crate) fn spawn(&self) -> anyhow::Result<Process> {
        Process::spawn(&self.binary, &self.args, &self.log, &self.dir)
            .with_context(|| format!("start {}", self.binary.display()))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    pub(crate) async fn wait_ready(
        &self,
        api: &Api,
        process: &mut Process,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if process.has_exited() {
                bail!("exited before it was ready; log:\n{}", self.log_tail());
            }
            if matches!(api.get(self.kind.ready_path()).await, Ok((200, _))) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("not ready after {timeout:?}; log:\n{}", self.log_tail())
    }
}

pub(crate) fn log(kind: SystemKind, msg: &str) {
    eprintln!(
        "[{}] {}: {msg}",
        chrono::Local::now().format("%H:%M:%S"),
        kind.id()
    );
}

/// Samples ingested and CPU seconds (the system's and ember-bench's own) at one moment.
struct Counters {
    at: Instant,
    cpu_s: f64,
    harness_cpu_s: f64,
    samples: f64,
    metrics: String,
}

async fn counters(kind: SystemKind, api: &Api, pid: u32) -> anyhow::Result<Counters> {
    let metrics = api.metrics().await?;
    let samples = kind
        .samples_ingested(&metrics)?
        .context("no ingested-samples counter in /metrics")?;
    Ok(Counters {
        at: Instant::now(),
        cpu_s: proc_stats::cpu_seconds(pid)?,
        harness_cpu_s: proc_stats::cpu_seconds(std::process::id())?,
        samples,
        metrics,
    })
}

/// What the ingestion phase measured.
pub(crate) struct Ingestion {
    pub(crate) cpu: CpuFigures,
    pub(crate) memory: MemoryFigures,
    pub(crate) active_series: Option<f64>,
}

/// Waits out the warm-up (whose first scrapes create every series), then measures CPU per
/// sample and memory over the window up to `ingest` after `ready`.
pub(crate) async fn ingest(
    kind: SystemKind,
    api: &Api,
    pid: u32,
    sampler: &RssSampler,
    ready: Instant,
    (warmup, ingest): (Duration, Duration),
) -> anyhow::Result<Ingestion> {
    tokio::time::sleep_until((ready + warmup).into()).await;
    let first = counters(kind, api, pid).await?;
    log(
        kind,
        &format!("measuring CPU for {:?}", ingest.saturating_sub(warmup)),
    );
    tokio::time::sleep_until((ready + ingest).into()).await;
    let last = counters(kind, api, pid).await?;
    let memory = proc_stats::memory(pid)?;
    let active_series = kind.active_series(&last.metrics)?;
    let samples = last.samples - first.samples;
    let cpu_s = last.cpu_s - first.cpu_s;
    let window_rss: Vec<f64> = sampler
        .points_between(first.at, last.at)
        .iter()
        .map(|p| p.rss as f64)
        .collect();
    let steady_rss = stats::mean(&window_rss).map_or(memory.rss, |m| m as u64);
    Ok(Ingestion {
        cpu: CpuFigures {
            window_s: last.at.duration_since(first.at).as_secs_f64(),
            cpu_s,
            samples,
            per_million_samples: stats::ratio(Some(cpu_s), Some(samples / 1e6)),
            harness_cpu_s: last.harness_cpu_s - first.harness_cpu_s,
            load_average: machine::load_average(),
        },
        memory: MemoryFigures {
            steady_rss,
            peak_rss: memory.hwm,
            bytes_per_series: stats::ratio(Some(steady_rss as f64), active_series),
        },
        active_series,
    })
}

/// One warm-up run, then `runs` timed ones; their latencies and the last answer.
pub(crate) async fn time_query(
    api: &Api,
    query: &str,
    at: At,
    runs: usize,
    epoch_ms: i64,
) -> anyhow::Result<(Vec<f64>, Answer)> {
    api.query(query, at).await?; // warm-up, not timed
    let mut latencies = Vec::with_capacity(runs);
    let mut last = Value::Null;
    for _ in 0..runs {
        let (latency, data) = api.query(query, at).await?;
        latencies.push(latency.as_secs_f64());
        last = data;
    }
    Ok((latencies, Answer::parse(&last, epoch_ms)?))
}

/// Times every query, instant and range, at the window's times; a failing query is noted
/// and skipped.
pub(crate) async fn queries(
    kind: SystemKind,
    api: &Api,
    window: Window,
    epoch_ms: i64,
    runs: usize,
    notes: &mut Vec<String>,
) -> (Vec<QueryFigures>, Answers) {
    let mut figures = Vec::new();
    let mut answers = Vec::new();
    for query in QUERIES {
        for qkind in [QueryKind::Instant, QueryKind::Range] {
            let at = window.at(qkind, epoch_ms);
            let (latencies, answer) = match time_query(api, query, at, runs, epoch_ms).await {
                Ok(timed) => timed,
                Err(e) => {
                    notes.push(format!(
                        "{}: {} query failed: {e:#}",
                        kind.title(),
                        qkind.name()
                    ));
                    continue;
                }
            };
            let median_s = stats::median(&latencies).unwrap_or(0.0);
            let series = answer.series.len();
            log(
                kind,
                &format!(
                    "{} {query}: median {:.1} ms, {series} series",
                    qkind.name(),
                    median_s * 1000.0
                ),
            );
            figures.push(QueryFigures {
                query: query.to_string(),
                kind: qkind,
                median_s,
                p99_s: stats::percentile(&latencies, 99.0).unwrap_or(0.0),
                runs: latencies.len(),
                series,
            });
            answers.push((query, qkind, answer));
        }
    }
    (figures, answers)
}

/// Has the system write what it holds (a snapshot block, or VictoriaMetrics' flush) and
/// measures bytes per sample.
pub(crate) async fn disk(kind: SystemKind, api: &Api, data: &Path) -> anyhow::Result<DiskFigures> {
    let (bytes, samples) = match kind.flush() {
        Flush::Snapshot => {
            let body = api.post("/api/v1/admin/tsdb/snapshot").await?;
            let doc: Value = serde_json::from_str(&body)?;
            let name = doc
                .pointer("/data/name")
                .and_then(Value::as_str)
                .context("snapshot answer has no name")?;
            let blocks = disk::blocks(&data.join("snapshots").join(name))?;
            (blocks.bytes, blocks.samples)
        }
        Flush::ForceFlush => {
            let (status, body) = api.get("/internal/force_flush").await?;
            if status != 200 {
                bail!("force_flush: HTTP {status}: {body}");
            }
            let metrics = api.metrics().await?;
            let rows = system::victoria_metrics_stored_rows(&metrics)?.unwrap_or(0.0);
            (disk::dir_bytes(data, None)?, rows as u64)
        }
    };
    Ok(DiskFigures {
        bytes,
        samples,
        bytes_per_sample: stats::ratio(Some(bytes as f64), Some(samples as f64)),
        data_dir_bytes: disk::dir_bytes(data, Some("snapshots"))?,
    })
}

fn unix_now_s() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// SIGKILL, then start again on the same data: time until queries are answered and until
/// the series count is back, and the peak RSS meanwhile. `pid` is updated for the sampler.
pub(crate) async fn kill_and_recover(
    launch: &Launch,
    api: &Api,
    process: &mut Process,
    pid: &AtomicU32,
    series_before: Option<f64>,
) -> anyhow::Result<RestartFigures> {
    process.stop(Signal::Kill, Duration::from_secs(30)).await?;
    let started = Instant::now();
    *process = launch.spawn()?;
    pid.store(process.pid(), Ordering::SeqCst);
    let mut figures = RestartFigures::default();
    let mut answering = None;
    let deadline = started + Duration::from_secs(900);
    while Instant::now() < deadline {
        if process.has_exited() {
            bail!("exited while recovering; log:\n{}", launch.log_tail());
        }
        if let Ok(m) = proc_stats::memory(process.pid()) {
            figures.peak_rss = figures.peak_rss.max(m.rss);
        }
        if answering.is_none() {
            let probe = api
                .query("count(up)", At::Instant { time: unix_now_s() })
                .await;
            answering = probe.is_ok().then(|| started.elapsed());
        } else if let Some(before) = series_before {
            let series = match api.metrics().await {
                Ok(m) => launch.kind.active_series(&m).ok().flatten(),
                Err(_) => None,
            };
            if series.is_some_and(|n| n >= 0.99 * before) {
                figures.series_restored_s = Some(started.elapsed().as_secs_f64());
                break;
            }
        } else {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    figures.answering_s = answering
        .context("not answering queries 15 minutes after restart")?
        .as_secs_f64();
    if let Ok(m) = proc_stats::memory(process.pid()) {
        figures.peak_rss = figures.peak_rss.max(m.hwm);
    }
    Ok(figures)
}
