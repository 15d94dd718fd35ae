//! One system's run: start it on fresh targets and an empty data directory, ingest, measure
//! CPU and memory, flush to disk, time the queries, kill and recover, stop.

use super::api::Api;
use super::phases::{self, Answers, Launch, log};
use super::process::Signal;
use super::queries::Window;
use super::sampler::RssSampler;
use super::{Plan, empty_data_dir, free_port, logs, scrape_config, version};
use crate::report::SystemFigures;
use crate::system::SystemKind;
use crate::workload::TargetServer;
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// A system's figures, its answers (for comparison across systems) and remarks.
pub(crate) struct Outcome {
    pub(crate) figures: SystemFigures,
    pub(crate) answers: Answers,
    pub(crate) notes: Vec<String>,
}

/// Waits until every target has served a sample later than `eval_ms`, so the system holds
/// all samples up to the evaluation time. Returns false on timeout.
async fn wait_served(targets: &TargetServer, eval_ms: i64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if targets.served_through_ms().is_some_and(|t| t > eval_ms) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Runs `kind` from `binary` through every measurement.
pub(crate) async fn run(
    plan: &Plan,
    generator: &tokio::runtime::Handle,
    kind: SystemKind,
    binary: &Path,
) -> anyhow::Result<Outcome> {
    let dir = plan.workdir.join(kind.id());
    let data = empty_data_dir(&dir)?;
    let interval = Duration::from_millis(plan.workload.params().interval_ms);
    let window = Window::new(plan.ingest.as_secs(), interval.as_secs());
    let mut notes = Vec::new();
    let note =
        |notes: &mut Vec<String>, what: String| notes.push(format!("{}: {what}", kind.title()));

    // Fresh targets whose sample times count from this run's epoch.
    let epoch_ms = chrono::Utc::now().timestamp() * 1000;
    let targets =
        TargetServer::start(generator, plan.workload.clone(), epoch_ms).context("serve targets")?;
    let config = dir.join("scrape.yml");
    std::fs::write(
        &config,
        scrape_config::render(&plan.workload, targets.addrs()),
    )?;
    let port = free_port()?;
    let api = Api::new(port)?;
    let launch = Launch {
        kind,
        binary: binary.to_path_buf(),
        args: kind.args(&config, &data, port),
        log: dir.join(format!("{}.log", kind.id())),
        dir: dir.clone(),
    };
    let version = version::detect(kind, binary);
    log(
        kind,
        &format!("{version}; on 127.0.0.1:{port}, data in {}", data.display()),
    );

    let started = Instant::now();
    let mut process = launch.spawn()?;
    let pid = Arc::new(AtomicU32::new(process.pid()));
    let sampler = RssSampler::start(pid.clone(), started, plan.rss_every);
    launch
        .wait_ready(&api, &mut process, Duration::from_secs(600))
        .await?;
    let startup_s = started.elapsed().as_secs_f64();
    let ready = Instant::now();

    let ingestion = phases::ingest(
        kind,
        &api,
        process.pid(),
        &sampler,
        ready,
        (plan.warmup, plan.ingest),
    )
    .await?;

    // Query once every target has served a sample past the evaluation time, so the system
    // holds the same samples as every other one.
    let eval_ms = epoch_ms + window.eval_offset_s as i64 * 1000;
    if !wait_served(&targets, eval_ms, 3 * interval + Duration::from_secs(60)).await {
        let lag = "not every target was scraped past the evaluation time; answers may lack samples";
        note(&mut notes, lag.to_string());
    }
    let eval_s = window.eval_time(epoch_ms);
    let mut count = async |query: &str| match api.scalar(query, eval_s).await {
        Ok(n) => n,
        Err(e) => {
            note(&mut notes, format!("{e:#}"));
            None
        }
    };
    let series_by_query = count("count({__name__=~\".+\"})").await;
    let targets_up = count("count(up == 1)").await;
    // Flushed now, at the same point of every run, so that each system's flush holds as
    // many samples per series: bytes per sample fall as series grow longer.
    let disk = phases::disk(kind, &api, &data)
        .await
        .map_err(|e| note(&mut notes, format!("disk figures unavailable: {e:#}")))
        .ok();
    let (queries, answers) =
        phases::queries(kind, &api, window, epoch_ms, plan.query_runs, &mut notes).await;

    log(kind, "SIGKILL and restart on the same data");
    let restart =
        phases::kill_and_recover(&launch, &api, &mut process, &pid, ingestion.active_series)
            .await
            .map_err(|e| note(&mut notes, format!("restart after SIGKILL failed: {e:#}")))
            .ok();
    let shutdown_s = process.stop(Signal::Term, Duration::from_secs(120)).await?;
    if shutdown_s.is_none() {
        note(
            &mut notes,
            "did not exit within 120 s of SIGTERM; killed".to_string(),
        );
    }
    drop(targets);
    let log_text = std::fs::read_to_string(&launch.log).unwrap_or_default();
    let (log_problems, log_examples) = logs::scan(&log_text, 5);
    if !plan.keep_data {
        std::fs::remove_dir_all(&data).with_context(|| format!("remove {}", data.display()))?;
    }
    log(kind, "done");

    let figures = SystemFigures {
        system: kind,
        version,
        startup_s,
        active_series: ingestion.active_series,
        series_by_query,
        targets_up,
        cpu: ingestion.cpu,
        memory: ingestion.memory,
        rss_timeline: sampler.points(),
        disk,
        queries,
        restart,
        shutdown_s: shutdown_s.map(|d| d.as_secs_f64()),
        log_problems,
        log_examples,
    };
    Ok(Outcome {
        figures,
        answers,
        notes,
    })
}
