//! `ember server`: load the config, open storage, start scraping and the web server, and
//! handle reloads and signals.

use crate::cli::ServerFlags;
use anyhow::Context;
use ember_config::Config;
use ember_scrape::{Health, ScrapeManager};
use ember_selfmetrics::{Gauge, Registry};
use ember_web::{
    BuildInfo, DroppedTargetView, RuntimeConfig, TargetHealth, TargetSource, TargetView,
    WebOptions, WebState,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio_util::sync::CancellationToken;

pub(crate) fn run(flags: ServerFlags) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(flags))
}

/// The config Ember runs without `--config.file`: scrape itself every 15s.
/// Under a route prefix, Ember's own `/metrics` moves with it.
fn embedded_default_config(listen_address: &str, route_prefix: &str) -> String {
    let (host, port) = listen_address.rsplit_once(':').unwrap_or(("", "9090"));
    let host = match host {
        "" | "0.0.0.0" | "[::]" => "localhost",
        h => h,
    };
    format!(
        "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    metrics_path: {route_prefix}/metrics\n    static_configs:\n      - targets: ['{host}:{port}']\n"
    )
}

fn load_config(flags: &ServerFlags) -> anyhow::Result<Config> {
    match &flags.config_file {
        Some(path) => {
            ember_config::load_file(std::path::Path::new(path)).map_err(|e| anyhow::anyhow!("{e}"))
        }
        None => ember_config::load_str(
            &embedded_default_config(&flags.listen_address, &route_prefix(flags)),
            "<embedded default>",
        )
        .map_err(|e| anyhow::anyhow!("{e}")),
    }
}

/// Applies new configs; serialises reloads and records their outcome.
struct Reloader {
    flags: ServerFlags,
    scrape: Arc<ScrapeManager>,
    runtime_config: Arc<RwLock<RuntimeConfig>>,
    last_reload_successful: Gauge,
    last_reload_success_time: Gauge,
    lock: Mutex<()>,
}

impl Reloader {
    async fn apply(&self, config: &Config) -> anyhow::Result<()> {
        self.scrape
            .apply_config(config)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let now = chrono::Utc::now();
        *self.runtime_config.write().expect("runtime config lock") = RuntimeConfig {
            yaml: config.to_yaml(),
            external_labels: config.global.external_labels.clone(),
            last_reload_successful: true,
            loaded_at: now,
            query_log_file: config.global.query_log_file.clone(),
        };
        self.last_reload_successful.set(1.0);
        self.last_reload_success_time.set(now.timestamp() as f64);
        Ok(())
    }

    /// Loads the config file again; on any error the running config stays in force.
    fn reload(&self) -> Result<(), String> {
        let _serial = self.lock.lock().expect("reload lock");
        let result = load_config(&self.flags)
            .and_then(|config| tokio::runtime::Handle::current().block_on(self.apply(&config)));
        match &result {
            Ok(()) => tracing::info!(
                filename = self.flags.config_file.as_deref().unwrap_or(""),
                "Completed loading of configuration file"
            ),
            Err(e) => {
                self.last_reload_successful.set(0.0);
                self.runtime_config
                    .write()
                    .expect("runtime config lock")
                    .last_reload_successful = false;
                tracing::error!(err = %e, "Error reloading config; the previous configuration stays in force");
            }
        }
        result.map_err(|e| format!("{e:#}"))
    }
}

async fn serve(flags: ServerFlags) -> anyhow::Result<()> {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "Starting Ember");
    log_features(&flags);
    let config = load_config(&flags)?;
    std::fs::create_dir_all(&flags.storage_path)
        .with_context(|| format!("creating storage directory {:?}", flags.storage_path))?;
    let registry = Registry::new();
    let (db, replay) = open_db(&flags, &config, &registry)?;
    let storage = Arc::new(db.clone());
    ember_selfmetrics::process::register(&registry);
    registry
        .gauge_vec("ember_build_info", "A metric with a constant '1' value labeled by version, revision and rustversion from which Ember was built.", &["version", "revision", "rustversion"])
        .with(&[env!("CARGO_PKG_VERSION"), "", "unknown"])
        .set(1.0);
    let reloader = Arc::new(Reloader {
        flags: flags.clone(),
        scrape: ScrapeManager::new(storage.clone(), &registry),
        runtime_config: Arc::default(),
        last_reload_successful: registry.gauge(
            "prometheus_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
        ),
        last_reload_success_time: registry.gauge(
            "prometheus_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
        ),
        lock: Mutex::new(()),
    });
    reloader.apply(&config).await?;

    let quit = CancellationToken::new();
    let route_prefix = route_prefix(&flags);
    let reload_fn = {
        let r = reloader.clone();
        Arc::new(move || r.reload())
    };
    let state = Arc::new(WebState {
        appendable: storage.clone(),
        queryable: storage.clone(),
        engine: query_engine(&flags, &config)?,
        targets: Arc::new(ScrapeTargets(reloader.scrape.clone())),
        admin: Arc::new(DbAdmin {
            db: db.clone(),
            dir: std::path::PathBuf::from(&flags.storage_path),
        }),
        registry: registry.clone(),
        options: WebOptions {
            enable_lifecycle: flags.enable_lifecycle,
            enable_admin_api: flags.enable_admin_api,
            enable_remote_write_receiver: flags.enable_remote_write_receiver,
            query_max_concurrency: flags.query_max_concurrency as usize,
            per_step_stats: feature_enabled(&flags, "promql-per-step-stats"),
            route_prefix,
            flags: flags.as_map(),
        },
        runtime: reloader.runtime_config.clone(),
        ready: AtomicBool::new(false),
        reload: reload_fn.clone(),
        quit: quit.clone(),
        wal_replay: ember_web::WalReplayStatus {
            min: replay.segments.0,
            max: replay.segments.1,
            current: replay.segments.1,
        },
        build: BuildInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            revision: String::new(),
            rust_version: "unknown".into(),
            start_time: chrono::Utc::now(),
            storage_path: flags.storage_path.clone(),
        },
    });
    let listener = tokio::net::TcpListener::bind(&flags.listen_address)
        .await
        .with_context(|| format!("listening on {}", flags.listen_address))?;
    tracing::info!(address = %flags.listen_address, "Listening");
    tokio::spawn(handle_signals(quit.clone(), reload_fn));
    state.ready.store(true, Ordering::Release);
    tracing::info!("Server is ready to receive web requests.");
    let app = ember_web::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(quit.clone().cancelled_owned())
        .await
        .context("serving HTTP")?;
    tracing::info!("Stopping scrape manager...");
    reloader.scrape.stop().await;
    db.close().context("closing the WAL")?;
    tracing::info!("See you next time!");
    Ok(())
}

/// The `--enable-feature` values Ember acts on.
const KNOWN_FEATURES: &[&str] = &["promql-per-step-stats"];

/// Whether `--enable-feature` names `feature`.
fn feature_enabled(flags: &ServerFlags, feature: &str) -> bool {
    flags.enable_feature.iter().any(|f| f.trim() == feature)
}

/// Logs the enabled features, warning about the ones Ember does not have.
fn log_features(flags: &ServerFlags) {
    for f in flags
        .enable_feature
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
    {
        if KNOWN_FEATURES.contains(&f) {
            tracing::info!(option = f, "Experimental feature enabled");
        } else {
            tracing::warn!(
                option = f,
                "Unknown or unsupported option for --enable-feature"
            );
        }
    }
}

/// Retention from the flags, overridden by the config file's `storage.tsdb` section;
/// 15d when neither time nor size is set, as Prometheus does.
fn retention(flags: &ServerFlags, config: &Config) -> anyhow::Result<(i64, u64)> {
    let flag_time = flags
        .retention_time
        .as_deref()
        .map(ember_config::parse_duration)
        .transpose()
        .context("--storage.tsdb.retention.time")?;
    let flag_size = flags
        .retention_size
        .as_deref()
        .map(ember_config::parse_size)
        .transpose()
        .context("--storage.tsdb.retention.size")?;
    let time = config.storage.tsdb.retention_time.or(flag_time);
    let size = config
        .storage
        .tsdb
        .retention_size
        .or(flag_size)
        .unwrap_or(0);
    let time_ms = match time {
        Some(t) => t.as_millis() as i64,
        None if size == 0 => 15 * 24 * 3600 * 1000,
        None => 0,
    };
    Ok((time_ms, size))
}

/// The PromQL engine configured from the `--query.*` flags.
fn query_engine(flags: &ServerFlags, config: &Config) -> anyhow::Result<ember_promql::Engine> {
    let lookback_delta = ember_config::parse_duration(&flags.query_lookback_delta)
        .context("--query.lookback-delta")?;
    let timeout = ember_config::parse_duration(&flags.query_timeout).context("--query.timeout")?;
    Ok(ember_promql::Engine::new(ember_promql::EngineOptions {
        lookback_delta,
        timeout,
        max_samples: flags.query_max_samples as usize,
        default_subquery_step: config.global.evaluation_interval,
    }))
}

/// Opens the database, replaying its WAL and logging what replay found.
fn open_db(
    flags: &ServerFlags,
    config: &Config,
    registry: &Registry,
) -> anyhow::Result<(ember_tsdb::Db, ember_tsdb::ReplayStats)> {
    let (retention_ms, retention_bytes) = retention(flags, config)?;
    let dir = std::path::Path::new(&flags.storage_path);
    tracing::info!("Replaying WAL, this may take a while");
    let started = std::time::Instant::now();
    let block_range = ember_config::parse_duration(&flags.min_block_duration)
        .context("--storage.tsdb.min-block-duration")?;
    let max_block = flags
        .max_block_duration
        .as_deref()
        .map(ember_config::parse_duration)
        .transpose()
        .context("--storage.tsdb.max-block-duration")?;
    let options = ember_tsdb::DbOptions {
        retention_ms,
        retention_bytes,
        block_range_ms: block_range.as_millis() as i64,
        max_block_duration_ms: max_block.map(|d| d.as_millis() as i64),
        ..Default::default()
    };
    let (db, stats) = ember_tsdb::Db::open(dir, options, registry)
        .with_context(|| format!("opening storage in {}", dir.display()))?;
    if let Some(repair) = &stats.repaired {
        tracing::warn!(repair = %repair, "WAL was corrupted; repaired by truncating at the first bad record");
    }
    tracing::info!(
        series = stats.series,
        samples = stats.samples,
        unknown_refs = stats.unknown_refs,
        blocks = db.blocks().len(),
        duration = ?started.elapsed(),
        "WAL replay completed"
    );
    Ok((db, stats))
}

/// `--web.route-prefix`, defaulting to the path of `--web.external-url` as Prometheus does.
fn route_prefix(flags: &ServerFlags) -> String {
    let prefix = flags.route_prefix.clone().unwrap_or_else(|| {
        let url = flags.external_url.as_str();
        url.split_once("://")
            .map(|(_, rest)| rest.find('/').map_or("", |i| &rest[i..]).to_string())
            .unwrap_or_default()
    });
    prefix.trim_end_matches('/').to_string()
}

async fn handle_signals(quit: CancellationToken, reload: ember_web::ReloadFn) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("installing signal handlers failed");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::warn!("Received SIGTERM, exiting gracefully..."); break; }
            _ = int.recv() => { tracing::warn!("Received SIGINT, exiting gracefully..."); break; }
            _ = hup.recv() => {
                let reload = reload.clone();
                let _ = tokio::task::spawn_blocking(move || reload()).await;
            }
            _ = quit.cancelled() => return,
        }
    }
    quit.cancel();
}

/// Adapts the database to the web layer's admin API.
struct DbAdmin {
    db: ember_tsdb::Db,
    dir: std::path::PathBuf,
}

impl ember_web::TsdbAdmin for DbAdmin {
    fn status(&self, limit: usize) -> ember_web::TsdbStatus {
        let head = self.db.head();
        let stats = head.postings_stats(limit);
        let (min_time, max_time) = head.time_range().unwrap_or((i64::MAX, i64::MIN));
        ember_web::TsdbStatus {
            num_series: head.num_series(),
            num_label_pairs: stats.num_label_pairs,
            chunk_count: head.num_chunks(),
            min_time,
            max_time,
            series_count_by_metric_name: stats.series_count_by_metric_name,
            label_value_count_by_label_name: stats.label_value_count_by_label_name,
            memory_in_bytes_by_label_name: stats.memory_in_bytes_by_label_name,
            series_count_by_label_value_pair: stats.series_count_by_label_value_pair,
        }
    }

    fn snapshot(&self, skip_head: bool) -> Result<String, String> {
        // Prometheus's naming: UTC time, then 16 random hex digits.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let random = nanos.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(std::process::id());
        let name = format!(
            "{}-{random:016x}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        );
        self.db
            .snapshot(&self.dir.join("snapshots").join(&name), skip_head)
            .map_err(|e| e.to_string())?;
        Ok(name)
    }

    fn delete_series(
        &self,
        matchers: &[ember_model::Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<(), String> {
        self.db
            .delete_series(matchers, mint, maxt)
            .map_err(|e| e.to_string())
    }

    fn clean_tombstones(&self) -> Result<(), String> {
        self.db.clean_tombstones().map_err(|e| e.to_string())
    }
}

/// Adapts the scrape manager to the web layer's view of targets.
struct ScrapeTargets(Arc<ScrapeManager>);

impl TargetSource for ScrapeTargets {
    fn active_targets(&self) -> Vec<TargetView> {
        self.0
            .active_targets()
            .into_iter()
            .map(|a| {
                let status = a.target.status();
                TargetView {
                    discovered_labels: a.target.discovered.clone(),
                    labels: a.target.public_labels.clone(),
                    scrape_pool: a.pool,
                    scrape_url: a.target.url.clone(),
                    global_url: a.target.url.clone(),
                    last_error: status.last_error,
                    last_scrape_ms: status.last_scrape_ms,
                    last_scrape_duration_seconds: status.last_duration.as_secs_f64(),
                    health: match status.health {
                        Health::Unknown => TargetHealth::Unknown,
                        Health::Up => TargetHealth::Up,
                        Health::Down => TargetHealth::Down,
                    },
                    scrape_interval: ember_config::format_duration(a.interval),
                    scrape_timeout: ember_config::format_duration(a.timeout),
                    metadata: a.target.metadata(),
                }
            })
            .collect()
    }

    fn dropped_targets(&self) -> Vec<DroppedTargetView> {
        self.0
            .dropped_targets()
            .into_iter()
            .map(|(_, discovered_labels)| DroppedTargetView { discovered_labels })
            .collect()
    }
}
