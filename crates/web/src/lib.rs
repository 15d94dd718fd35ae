//! Ember's HTTP surface.
//!
//! [`router`] builds the axum router over a [`WebState`]: lifecycle endpoints
//! (`/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit`), `/metrics`, `/federate`, the
//! remote-write receiver and the Prometheus HTTP API v1.
//!
//! The crate declares the narrow interfaces it reads through ([`TargetSource`],
//! [`ReloadFn`]) so that it never depends on the scrape manager or the config crate.
//! Invariant: this is the only crate that knows the API's JSON shapes.
#![deny(missing_docs)]

mod admin;
mod api;
mod federate;
mod http_metrics;
mod lifecycle;
mod metadata;
mod params;
mod parse_query;
mod query;
mod series;
mod stubs;
mod targets;

use axum::Router;
use ember_model::Labels;
use ember_selfmetrics::Registry;
use ember_storage::{Appendable, Queryable};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

pub use admin::{TsdbAdmin, TsdbStatus};
pub use targets::{DroppedTargetView, TargetHealth, TargetSource, TargetView};

/// Reloads the configuration; returns Prometheus-style error text on failure.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Switches set by command-line flags.
#[derive(Clone, Debug, Default)]
pub struct WebOptions {
    /// `--web.enable-lifecycle`: allow `/-/reload` and `/-/quit`.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`.
    pub enable_admin_api: bool,
    /// `--web.enable-remote-write-receiver`: accept `POST /api/v1/write`.
    pub enable_remote_write_receiver: bool,
    /// `--web.route-prefix`, without a trailing slash (empty for `/`).
    pub route_prefix: String,
    /// `--query.max-concurrency`.
    pub query_max_concurrency: usize,
    /// `--enable-feature=promql-per-step-stats`: `stats=all` adds per-step sample counts.
    pub per_step_stats: bool,
    /// Every flag with its value, for `/api/v1/status/flags`.
    pub flags: BTreeMap<String, String>,
}

/// The parts of the running configuration the web layer shows or uses; replaced on reload.
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfig {
    /// The loaded configuration rendered as YAML, for `/api/v1/status/config`.
    pub yaml: String,
    /// `global.external_labels`, attached to federated series.
    pub external_labels: Labels,
    /// Whether the last reload attempt succeeded.
    pub last_reload_successful: bool,
    /// When the running configuration was loaded.
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// `global.query_log_file`: where every query is logged, if set.
    pub query_log_file: Option<std::path::PathBuf>,
}

/// Everything the handlers share.
pub struct WebState {
    /// Where remote-write samples go.
    pub appendable: Arc<dyn Appendable>,
    /// Where queries and federation read from.
    pub queryable: Arc<dyn Queryable>,
    /// The PromQL engine, configured from the `--query.*` flags.
    pub engine: ember_promql::Engine,
    /// Snapshot and deletion, for the admin API.
    pub admin: Arc<dyn TsdbAdmin>,
    /// Scrape targets for `/api/v1/targets`.
    pub targets: Arc<dyn TargetSource>,
    /// Self-metrics for `/metrics`.
    pub registry: Registry,
    /// Flags.
    pub options: WebOptions,
    /// Replaced on each successful reload.
    pub runtime: Arc<RwLock<RuntimeConfig>>,
    /// Set once storage is open and the first config is applied.
    pub ready: AtomicBool,
    /// Called by `/-/reload`.
    pub reload: ReloadFn,
    /// Triggered by `/-/quit`.
    pub quit: tokio_util::sync::CancellationToken,
    /// Build and runtime facts for `/api/v1/status/*`.
    pub build: BuildInfo,
    /// How the WAL replay at start-up went.
    pub wal_replay: WalReplayStatus,
}

/// WAL replay progress for `/api/v1/status/walreplay` (segment numbers).
#[derive(Clone, Copy, Debug, Default)]
pub struct WalReplayStatus {
    /// First segment to replay.
    pub min: u32,
    /// Last segment to replay.
    pub max: u32,
    /// Last segment replayed.
    pub current: u32,
}

/// Version facts for `/api/v1/status/buildinfo` and `ember_build_info`.
#[derive(Clone, Debug, Default)]
pub struct BuildInfo {
    /// Release version.
    pub version: String,
    /// Source revision, if known.
    pub revision: String,
    /// Compiler version.
    pub rust_version: String,
    /// Process start time.
    pub start_time: chrono::DateTime<chrono::Utc>,
    /// The storage directory, for runtimeinfo.
    pub storage_path: String,
}

/// The full router, mounted under the route prefix. Registers the HTTP metrics on the
/// state's registry, so build it once per registry.
pub fn router(state: Arc<WebState>) -> Router {
    let prefix = state.options.route_prefix.clone();
    let routes = lifecycle::routes()
        .merge(api::routes())
        .merge(federate::routes())
        .merge(series::routes())
        .merge(query::routes(
            &state.registry,
            state.options.query_max_concurrency,
        ))
        .merge(metadata::routes())
        .merge(stubs::routes())
        .merge(admin::routes())
        .with_state(state.clone())
        .route_layer(axum::middleware::from_fn_with_state(
            http_metrics::HttpMetrics::register(&state.registry),
            http_metrics::track,
        ))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true));
    if prefix.is_empty() {
        routes
    } else {
        Router::new().nest(&prefix, routes)
    }
}
