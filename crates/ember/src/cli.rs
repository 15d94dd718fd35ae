//! Command-line flags, named as Prometheus names them where the meaning is the same.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Ember: a Prometheus-compatible monitoring server.
#[derive(Parser, Debug)]
#[command(name = "ember", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the server.
    // Boxed: the server flags dwarf every other command's arguments.
    Server(Box<ServerFlags>),
    /// Check configuration files.
    #[command(subcommand)]
    Check(Check),
    /// Inspect the blocks of a data directory (like `promtool tsdb`).
    #[command(subcommand)]
    Tsdb(Tsdb),
}

#[derive(Subcommand, Debug)]
pub(crate) enum Check {
    /// Check that configuration files are valid (like `promtool check config`).
    Config {
        /// Configuration files to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum Tsdb {
    /// List the blocks: time range, sample, chunk and series counts, size.
    List {
        /// Print times as UTC dates and sizes in KiB, MiB, ….
        #[arg(short = 'r', long)]
        human_readable: bool,
        /// Data directory.
        #[arg(default_value = "data/")]
        dir: PathBuf,
    },
    /// Analyze churn and label cardinality of a block.
    Analyze {
        /// Data directory.
        #[arg(default_value = "data/")]
        dir: PathBuf,
        /// Block to analyze (default: the newest).
        block_id: Option<String>,
        /// How many items to show in each list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print every sample of the blocks as `{labels} value timestamp` lines.
    Dump {
        /// Data directory.
        #[arg(default_value = "data/")]
        dir: PathBuf,
        /// Minimum timestamp to dump (ms).
        #[arg(long, default_value_t = i64::MIN, allow_negative_numbers = true)]
        min_time: i64,
        /// Maximum timestamp to dump (ms).
        #[arg(long, default_value_t = i64::MAX, allow_negative_numbers = true)]
        max_time: i64,
        /// Series selector; repeat for the union of several (default: every series).
        #[arg(long = "match")]
        selectors: Vec<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ServerFlags {
    /// Configuration file path; without it Ember runs its embedded default config.
    #[arg(long = "config.file")]
    pub(crate) config_file: Option<String>,
    /// Base path for metrics storage.
    #[arg(long = "storage.tsdb.path", default_value = "data/")]
    pub(crate) storage_path: String,
    /// How long to retain samples in storage (default 15d when no size limit is set).
    #[arg(long = "storage.tsdb.retention.time")]
    pub(crate) retention_time: Option<String>,
    /// Maximum number of bytes of storage blocks to retain (e.g. 5GB); 0 disables.
    #[arg(long = "storage.tsdb.retention.size")]
    pub(crate) retention_size: Option<String>,
    /// Range of the blocks cut from the head (hidden in Prometheus too; Thanos sets it).
    #[arg(
        long = "storage.tsdb.min-block-duration",
        default_value = "2h",
        hide = true
    )]
    pub(crate) min_block_duration: String,
    /// Largest block compaction builds (default: 10% of the retention, at most 31d); set
    /// equal to the min block duration to disable compaction, as a Thanos sidecar needs.
    #[arg(long = "storage.tsdb.max-block-duration", hide = true)]
    pub(crate) max_block_duration: Option<String>,
    /// Address to listen on for the UI, API and telemetry.
    #[arg(long = "web.listen-address", default_value = "127.0.0.1:9090")]
    pub(crate) listen_address: String,
    /// The URL under which Ember is externally reachable.
    #[arg(long = "web.external-url", default_value = "")]
    pub(crate) external_url: String,
    /// Prefix for the internal routes of web endpoints (defaults to the external URL's path).
    #[arg(long = "web.route-prefix")]
    pub(crate) route_prefix: Option<String>,
    /// Enable shutdown and reload via HTTP request.
    #[arg(long = "web.enable-lifecycle")]
    pub(crate) enable_lifecycle: bool,
    /// Enable API endpoints for admin control actions.
    #[arg(long = "web.enable-admin-api")]
    pub(crate) enable_admin_api: bool,
    /// Enable the API endpoint accepting remote write requests.
    #[arg(long = "web.enable-remote-write-receiver")]
    pub(crate) enable_remote_write_receiver: bool,
    /// Maximum time a query may take before being aborted.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub(crate) query_timeout: String,
    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub(crate) query_max_samples: u64,
    /// How far back to look for a sample when evaluating an instant vector.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub(crate) query_lookback_delta: String,
    /// Maximum number of queries executed concurrently.
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    pub(crate) query_max_concurrency: u32,
    /// Comma-separated experimental features to enable (Ember knows
    /// `promql-per-step-stats`; others are accepted and logged as unsupported).
    #[arg(long = "enable-feature", value_delimiter = ',')]
    pub(crate) enable_feature: Vec<String>,
    /// Only log messages with the given severity or above: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info", value_parser = ["debug", "info", "warn", "error"])]
    pub(crate) log_level: String,
    /// Output format of log messages: logfmt or json.
    #[arg(long = "log.format", default_value = "logfmt", value_parser = ["logfmt", "json"])]
    pub(crate) log_format: String,
}

impl ServerFlags {
    /// Every flag and its value, for `/api/v1/status/flags` (Prometheus lists them all).
    pub(crate) fn as_map(&self) -> std::collections::BTreeMap<String, String> {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        [
            ("config.file", opt(&self.config_file)),
            ("storage.tsdb.path", self.storage_path.clone()),
            ("storage.tsdb.retention.time", opt(&self.retention_time)),
            ("storage.tsdb.retention.size", opt(&self.retention_size)),
            (
                "storage.tsdb.min-block-duration",
                self.min_block_duration.clone(),
            ),
            (
                "storage.tsdb.max-block-duration",
                opt(&self.max_block_duration),
            ),
            ("web.listen-address", self.listen_address.clone()),
            ("web.external-url", self.external_url.clone()),
            ("web.route-prefix", opt(&self.route_prefix)),
            ("web.enable-lifecycle", self.enable_lifecycle.to_string()),
            ("web.enable-admin-api", self.enable_admin_api.to_string()),
            (
                "web.enable-remote-write-receiver",
                self.enable_remote_write_receiver.to_string(),
            ),
            ("query.timeout", self.query_timeout.clone()),
            ("query.max-samples", self.query_max_samples.to_string()),
            ("query.lookback-delta", self.query_lookback_delta.clone()),
            (
                "query.max-concurrency",
                self.query_max_concurrency.to_string(),
            ),
            ("enable-feature", self.enable_feature.join(",")),
            ("log.level", self.log_level.clone()),
            ("log.format", self.log_format.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
