//! `ember-bench`: Ember, Prometheus 2.42 and VictoriaMetrics 1.79 side by side on the same
//! simulated targets; see docs/benchmarks.md.
//!
//! - `ember-bench run [--quick]` runs the systems and writes a Markdown report, a PNG chart
//!   and the raw figures (JSON).
//! - `ember-bench targets` only serves the workload and writes a scrape config for it, for
//!   pointing any system at it by hand.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use ember_bench::report::{chart, dashboard, markdown};
use ember_bench::run::dashboard::DashboardPlan;
use ember_bench::run::{self, Plan, scrape_config};
use ember_bench::system::SystemKind;
use ember_bench::workload::{Churn, TargetServer, Workload, WorkloadParams};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    about = "Ember vs Prometheus vs VictoriaMetrics on the same simulated node_exporter targets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the systems one after the other and write the report.
    Run(RunArgs),
    /// Only serve the simulated targets (until Ctrl-C) and write a scrape config for them.
    Targets(TargetsArgs),
    /// Dashboard query latency on the same stored data: one day of the dashboard dataset
    /// (10,000 series) remote-written into each system, then the queries timed.
    Queries(QueriesArgs),
}

/// Parses `90`, `90s`, `15m` or `1h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit in {text:?} (use s, m or h)")),
    };
    Ok(Duration::from_secs(seconds))
}

#[derive(Args)]
struct WorkloadArgs {
    /// Simulated targets, one loopback port each [quick: 100, full: 2000].
    #[arg(long)]
    targets: Option<usize>,
    /// Series per target: node_exporter's 505 plus whole 14-series histograms, at least 519.
    #[arg(long, default_value_t = 519)]
    series_per_target: usize,
    /// Scrape interval [quick: 5s, full: 15s].
    #[arg(long, value_parser = parse_duration)]
    interval: Option<Duration>,
    /// Share of each target's series replaced every `--churn-every` (0 = no churn).
    #[arg(long, default_value_t = 0.0)]
    churn_share: f64,
    /// Churn period.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    churn_every: Duration,
    /// Seed of every simulated value.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl WorkloadArgs {
    fn workload(&self, quick: bool) -> anyhow::Result<Workload> {
        let (targets, interval) = if quick { (100, 5) } else { (2000, 15) };
        let churn = (self.churn_share > 0.0).then_some(Churn {
            share: self.churn_share,
            every_s: self.churn_every.as_secs(),
        });
        let params = WorkloadParams {
            seed: self.seed,
            targets: self.targets.unwrap_or(targets),
            series_per_target: self.series_per_target,
            interval_ms: self
                .interval
                .unwrap_or(Duration::from_secs(interval))
                .as_millis() as u64,
            churn,
        };
        Ok(Workload::new(params)?)
    }
}

#[derive(Args)]
struct RunArgs {
    /// Small and short: 100 targets at 5s, 60s per system; under 5 minutes in all.
    /// Without it: 2000 targets at 15s (~1M series), 20 minutes per system.
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Ingestion per system, from ready to the end of the CPU window [quick: 60s, full: 20m].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Time from ready to the start of the CPU window [quick: 20s, full: 5m].
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Timed runs of each query, after one warm-up run [quick: 10, full: 20].
    #[arg(long)]
    query_runs: Option<usize>,
    /// How often resident memory is sampled for the chart [quick: 2s, full: 10s].
    #[arg(long, value_parser = parse_duration)]
    rss_every: Option<Duration>,
    /// Systems to run, in this order.
    #[arg(long, value_delimiter = ',', default_value = "ember,prometheus,vm")]
    systems: Vec<SystemKind>,
    /// Run the systems at the same time instead of one after the other (they then compete
    /// for the cores and their figures are not comparable with a sequential run's).
    #[arg(long)]
    concurrent: bool,
    #[command(flatten)]
    binaries: Binaries,
    /// Keep data directories, configs and logs here (default: a temporary directory,
    /// removed at the end).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// The Markdown report; the chart and the raw figures go beside it (.png, .json).
    #[arg(long, default_value = "target/ember-bench/report.md")]
    report: PathBuf,
    /// Relative tolerance when comparing answers.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
}

/// Where each system's binary is.
#[derive(Args)]
struct Binaries {
    #[arg(long, default_value = "target/release/ember")]
    ember: PathBuf,
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus: PathBuf,
    #[arg(long, default_value = "/usr/bin/victoria-metrics")]
    victoria_metrics: PathBuf,
}

impl Binaries {
    /// The binaries of `systems`, checked to exist and made absolute (each system starts
    /// in its own work directory).
    fn resolve(&self, systems: &[SystemKind]) -> anyhow::Result<Vec<(SystemKind, PathBuf)>> {
        let binary = |kind| match kind {
            SystemKind::Ember => self.ember.clone(),
            SystemKind::Prometheus => self.prometheus.clone(),
            SystemKind::VictoriaMetrics => self.victoria_metrics.clone(),
        };
        let systems: Vec<(SystemKind, PathBuf)> =
            systems.iter().map(|k| (*k, binary(*k))).collect();
        run::check_binaries(&systems)?;
        Ok(systems
            .into_iter()
            .map(|(kind, path)| Ok((kind, std::fs::canonicalize(&path)?)))
            .collect::<std::io::Result<Vec<_>>>()?)
    }
}

#[derive(Args)]
struct QueriesArgs {
    /// Systems to load and query, in this order.
    #[arg(long, value_delimiter = ',', default_value = "ember,prometheus")]
    systems: Vec<SystemKind>,
    #[command(flatten)]
    binaries: Binaries,
    /// Timed runs of each query, after one warm-up run.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Keep data directories and logs here (default: a temporary directory, removed).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// The Markdown report; the raw figures go beside it (.json).
    #[arg(long, default_value = "target/ember-bench/queries.md")]
    report: PathBuf,
    /// Relative tolerance when comparing answers.
    #[arg(long, default_value_t = 1e-6)]
    tolerance: f64,
}

#[derive(Args)]
struct TargetsArgs {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Where to write the scrape config for the targets.
    #[arg(long, default_value = "ember-bench-targets.yml")]
    config: PathBuf,
}

/// Raises the open-file limit to its maximum: thousands of targets each hold a listening
/// socket and a connection, and the systems started here inherit the limit.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// The targets are served on their own single-threaded runtime, so rendering bodies never
/// delays the runner's timing of queries.
fn generator_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("targets")
        .enable_all()
        .build()?)
}

fn runner_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The work directory: `chosen`, or a temporary one that lives as long as the returned
/// guard and is then removed.
fn workdir(chosen: Option<&PathBuf>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    let (dir, temp) = match chosen {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new().prefix("ember-bench-").tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    std::fs::create_dir_all(&dir)?;
    Ok((dir, temp))
}

/// Writes `text` to `path`, creating its directory.
fn write_report(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

/// Writes the Markdown report to `path` and the raw figures beside it (.json), prints the
/// report, and warns when Ember's answers differed from Prometheus's.
fn publish(
    path: &std::path::Path,
    md: &str,
    figures: &impl serde::Serialize,
    mismatches: usize,
) -> anyhow::Result<()> {
    write_report(path, md)?;
    write_report(
        &path.with_extension("json"),
        &serde_json::to_string_pretty(figures)?,
    )?;
    println!("{md}");
    eprintln!("report: {}", path.display());
    if mismatches > 0 {
        eprintln!("{mismatches} answers of Ember differ from Prometheus's; see the report");
    }
    Ok(())
}

fn queries(args: QueriesArgs) -> anyhow::Result<()> {
    let systems = args.binaries.resolve(&args.systems)?;
    let (workdir, _temp) = workdir(args.workdir.as_ref())?;
    let plan = DashboardPlan {
        systems,
        workdir,
        keep_data: args.workdir.is_some(),
        runs: args.runs,
        tolerance: args.tolerance,
    };
    raise_open_file_limit();
    let report = runner_runtime()?.block_on(run::dashboard::run(&plan))?;
    let md = dashboard::render(&report);
    publish(&args.report, &md, &report, report.mismatches())
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let quick = args.quick;
    let pick = |value: Option<Duration>, quick_s: u64, full_s: u64| {
        value.unwrap_or(Duration::from_secs(if quick { quick_s } else { full_s }))
    };
    let workload = Arc::new(args.workload.workload(quick)?);
    let ingest = pick(args.duration, 60, 1200);
    let warmup = pick(args.warmup, 20, 300);
    anyhow::ensure!(warmup < ingest, "--warmup must be shorter than --duration");
    let systems = args.binaries.resolve(&args.systems)?;
    let (workdir, _temp) = workdir(args.workdir.as_ref())?;
    let plan = Plan {
        workload,
        mode: if quick { "quick" } else { "full" }.to_string(),
        ingest,
        warmup,
        query_runs: args.query_runs.unwrap_or(if quick { 10 } else { 20 }),
        rss_every: pick(args.rss_every, 2, 10),
        systems,
        workdir,
        keep_data: args.workdir.is_some(),
        concurrent: args.concurrent,
        tolerance: args.tolerance,
    };
    raise_open_file_limit();
    let generator = generator_runtime()?;
    let report = runner_runtime()?.block_on(run::run(&plan, generator.handle()))?;

    if let Some(parent) = args.report.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let chart_path = args.report.with_extension("png");
    let chart_name = chart_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string());
    let chart_ok = match chart::render_png(&report, &chart_path) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("chart not written: {e}");
            false
        }
    };
    let md = markdown::render(&report, chart_name.as_deref().filter(|_| chart_ok));
    publish(&args.report, &md, &report, report.mismatches())
}

fn serve_targets(args: TargetsArgs) -> anyhow::Result<()> {
    let workload = Arc::new(args.workload.workload(false)?);
    raise_open_file_limit();
    let runtime = generator_runtime()?;
    let epoch_ms = chrono::Utc::now().timestamp() * 1000;
    let targets = TargetServer::start(runtime.handle(), workload.clone(), epoch_ms)?;
    std::fs::write(
        &args.config,
        scrape_config::render(&workload, targets.addrs()),
    )?;
    eprintln!(
        "{} targets × {} series; scrape config in {}; Ctrl-C to stop",
        workload.params().targets,
        workload.series_per_target(),
        args.config.display()
    );
    runtime.block_on(tokio::signal::ctrl_c())?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Run(args) => run(args),
        Command::Targets(args) => serve_targets(args),
        Command::Queries(args) => queries(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn command_line_parses() {
        let cli = Cli::try_parse_from(["ember-bench", "run", "--quick", "--systems", "ember,vm"])
            .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run");
        };
        assert!(args.quick);
        assert_eq!(
            args.systems,
            vec![SystemKind::Ember, SystemKind::VictoriaMetrics]
        );
        assert_eq!(args.workload.workload(true).unwrap().params().targets, 100);
    }
}
