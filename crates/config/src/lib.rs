//! Ember's configuration: the only crate that knows YAML.
//!
//! [`load_file`] / [`load_str`] read a Prometheus configuration file and return a
//! validated, resolved [`Config`]: defaults applied, global settings inherited by every
//! scrape config, relative file paths joined to the config file's directory, relabel rules
//! compiled. Prometheus's files load unchanged; errors name the file, line and column and
//! reuse Prometheus's wording ([`ConfigError`]).
//!
//! - Sections: [`GlobalConfig`], [`ScrapeConfig`] (with [`HttpClientConfig`] and
//!   [`ServiceDiscovery`]), [`AlertingConfig`], [`RemoteWriteConfig`], [`RemoteReadConfig`],
//!   [`StorageConfig`], [`TracingConfig`], [`OtlpConfig`].
//! - Service discovery kinds Ember does not run yet (Kubernetes, Consul, EC2, ...) are
//!   accepted and listed by [`Config::unsupported_features`] so the server can warn.
//! - Values: [`parse_duration`]/[`format_duration`] and [`parse_size`]/[`format_size`]
//!   speak Prometheus's syntax; [`Secret`] never prints its value.
//! - [`check_config`] is `ember check config` (promtool's `check config`);
//!   [`Config::to_yaml`] is the `/api/v1/status/config` rendering.
//! - File SD files are read with [`read_target_groups`].
//!
//! Invariant: raw serde structs (strict: unknown fields are errors) stay private; the
//! public types hold only validated values.
#![deny(missing_docs)]

mod alerting;
mod check;
mod discovery;
mod duration;
mod error;
mod global;
mod http_client;
mod load;
mod raw;
mod relabel;
mod remote;
mod render;
mod scrape;
mod secret;
mod size;
mod storage;

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use check::{CheckError, CheckReport, check_config};
pub use discovery::{
    DnsRecordType, DnsSdConfig, FILE_SD_FILEPATH_LABEL, FileSdConfig, ServiceDiscovery,
    TargetGroup, TargetGroupFormat, parse_target_groups, read_target_groups,
};
pub use duration::{DurationError, format_duration, parse_duration};
pub use ember_relabel::NameValidation;
pub use error::{ConfigError, Position};
pub use global::{
    DEFAULT_EVALUATION_INTERVAL, DEFAULT_SCRAPE_INTERVAL, DEFAULT_SCRAPE_TIMEOUT, GlobalConfig,
};
pub use http_client::{
    Authorization, BasicAuth, HttpClientConfig, HttpHeader, OAuth2, ProxyConfig, TlsConfig,
    TlsVersion,
};
pub use remote::{
    MetadataConfig, QueueConfig, RemoteReadConfig, RemoteWriteConfig, RemoteWriteMessage,
};
pub use scrape::{HistogramOptions, Scheme, ScrapeConfig, ScrapeLimits, ScrapeProtocol};
pub use secret::Secret;
pub use size::{SizeError, format_size, parse_size};
pub use storage::{ExemplarsConfig, OtlpConfig, StorageConfig, TracingConfig, TsdbConfig};

use std::path::{Path, PathBuf};

/// A validated Prometheus configuration with every default filled in.
///
/// `Debug` leaves out [`Config::source_text`], which may hold secrets.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// `global`.
    pub global: GlobalConfig,
    /// `rule_files` globs, resolved against the config directory.
    pub rule_files: Vec<String>,
    /// `scrape_config_files` globs, resolved against the config directory (recorded; not
    /// loaded yet, see [`Config::unsupported_features`]).
    pub scrape_config_files: Vec<String>,
    /// `scrape_configs`, in file order, job names unique.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `alerting`.
    pub alerting: AlertingConfig,
    /// `remote_write`.
    pub remote_write: Vec<RemoteWriteConfig>,
    /// `remote_read`.
    pub remote_read: Vec<RemoteReadConfig>,
    /// `storage`.
    pub storage: StorageConfig,
    /// `tracing`, when configured.
    pub tracing: Option<TracingConfig>,
    /// `otlp`.
    pub otlp: OtlpConfig,
    /// The file name (or the name given to [`load_str`]).
    pub source_name: String,
    /// The text the config was loaded from, unchanged.
    pub source_text: String,
    /// The directory relative paths were resolved against; `None` when they were left as
    /// written ([`load_str`], or a file named without a directory).
    pub directory: Option<PathBuf>,
    origins: Origins,
}

/// Where list entries start in the source text, for messages about them after loading.
#[derive(Clone, Debug, Default, PartialEq)]
struct Origins {
    rule_files: Vec<Position>,
    scrape_configs: Vec<Position>,
    alertmanagers: Vec<Position>,
}

/// Loads a config from text. `source_name` names it in errors. Relative paths in the config
/// are kept as written; use [`load_file`] to resolve them against the file's directory.
/// Empty text is a valid config.
pub fn load_str(yaml: &str, source_name: &str) -> Result<Config, ConfigError> {
    load::load(yaml, source_name, None)
}

/// Loads a config file, resolving relative paths inside it (rule files, file SD files, TLS
/// and credential files) against the file's directory, as Prometheus does.
pub fn load_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    load::load(&text, &path.to_string_lossy(), dir)
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("global", &self.global)
            .field("rule_files", &self.rule_files)
            .field("scrape_config_files", &self.scrape_config_files)
            .field("scrape_configs", &self.scrape_configs)
            .field("alerting", &self.alerting)
            .field("remote_write", &self.remote_write)
            .field("remote_read", &self.remote_read)
            .field("storage", &self.storage)
            .field("tracing", &self.tracing)
            .field("otlp", &self.otlp)
            .field("source_name", &self.source_name)
            .field(
                "source_text",
                &format_args!("<{} bytes>", self.source_text.len()),
            )
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The scrape config for `job_name`.
    pub fn scrape_config(&self, job_name: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|c| c.job_name == job_name)
    }

    /// Settings that were accepted but that Ember does not act on yet, one sentence each,
    /// for the server to log as warnings.
    pub fn unsupported_features(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.scrape_config_files.is_empty() {
            notes.push(
                "scrape_config_files is not supported yet; the files it names are not loaded"
                    .to_string(),
            );
        }
        for scrape in &self.scrape_configs {
            for kind in &scrape.service_discovery.unsupported {
                notes.push(format!(
                    "{kind} in scrape config with job name {:?} is not supported yet; its targets are not discovered",
                    scrape.job_name
                ));
            }
        }
        for (index, alertmanager) in self.alerting.alertmanagers.iter().enumerate() {
            for kind in &alertmanager.service_discovery.unsupported {
                notes.push(format!(
                    "{kind} in alertmanager config {index} is not supported yet; its Alertmanagers are not discovered"
                ));
            }
            if alertmanager.sigv4 {
                notes.push(format!(
                    "sigv4 in alertmanager config {index} is not supported yet"
                ));
            }
        }
        for (index, write) in self.remote_write.iter().enumerate() {
            for auth in &write.unsupported_auth {
                notes.push(format!(
                    "{auth} in remote write config {index} ({}) is not supported yet",
                    write.url
                ));
            }
        }
        notes
    }

    /// The resolved config as YAML, in the style of Prometheus's `/api/v1/status/config`:
    /// defaults filled in, durations canonical, secrets replaced by `<secret>`.
    pub fn to_yaml(&self) -> String {
        render::to_yaml(self)
    }
}
