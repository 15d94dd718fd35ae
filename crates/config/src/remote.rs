//! `remote_write` and `remote_read`: where samples are sent and read from.

use crate::duration::RawDuration;
use crate::error::{Position, Violation, violation};
use crate::http_client::HttpClientConfig;
use crate::raw::{BaseDir, Entry, entry, raw_section};
use crate::relabel::{RawRelabelConfig, resolve_rules};
use ember_relabel::{NameValidation, RelabelConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One resolved `remote_write` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteWriteConfig {
    /// `url` of the receiver.
    pub url: String,
    /// `remote_timeout` (default 30s).
    pub remote_timeout: Duration,
    /// `headers` added to every request.
    pub headers: BTreeMap<String, String>,
    /// `write_relabel_configs`, applied before sending.
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// `name`, unique among remote write configs when set.
    pub name: String,
    /// `send_exemplars`.
    pub send_exemplars: bool,
    /// `send_native_histograms`.
    pub send_native_histograms: bool,
    /// `round_robin_dns`.
    pub round_robin_dns: bool,
    /// `protobuf_message`: which remote-write protocol version to speak.
    pub protobuf_message: RemoteWriteMessage,
    /// HTTP client settings (`enable_http2` defaults to false here, as in Prometheus).
    pub http_client: HttpClientConfig,
    /// `queue_config`.
    pub queue_config: QueueConfig,
    /// `metadata_config`.
    pub metadata_config: MetadataConfig,
    /// Cloud authentication sections that were set but are not supported by Ember yet
    /// (`sigv4`, `azuread`, `google_iam`).
    pub unsupported_auth: Vec<String>,
}

/// The remote-write protobuf message (protocol version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoteWriteMessage {
    /// `prometheus.WriteRequest`: remote write 1.0 (default).
    V1,
    /// `io.prometheus.write.v2.Request`: remote write 2.0.
    V2,
}

impl RemoteWriteMessage {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RemoteWriteMessage::V1 => "prometheus.WriteRequest",
            RemoteWriteMessage::V2 => "io.prometheus.write.v2.Request",
        }
    }
}

/// Remote-write queue tuning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// `capacity`: samples buffered per shard (default 10000).
    pub capacity: u64,
    /// `max_shards` (default 50).
    pub max_shards: u64,
    /// `min_shards` (default 1).
    pub min_shards: u64,
    /// `max_samples_per_send` (default 2000).
    pub max_samples_per_send: u64,
    /// `batch_send_deadline` (default 5s).
    pub batch_send_deadline: Duration,
    /// `min_backoff` (default 30ms).
    pub min_backoff: Duration,
    /// `max_backoff` (default 5s).
    pub max_backoff: Duration,
    /// `retry_on_http_429` (default false).
    pub retry_on_http_429: bool,
    /// `sample_age_limit`: older samples are dropped (0 = keep all).
    pub sample_age_limit: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: false,
            sample_age_limit: Duration::ZERO,
        }
    }
}

/// Remote-write metadata sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataConfig {
    /// `send` (default true).
    pub send: bool,
    /// `send_interval` (default 1m).
    pub send_interval: Duration,
    /// `max_samples_per_send` (default 2000).
    pub max_samples_per_send: u64,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: Duration::from_secs(60),
            max_samples_per_send: 2000,
        }
    }
}

/// One resolved `remote_read` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteReadConfig {
    /// `url` of the endpoint.
    pub url: String,
    /// `remote_timeout` (default 1m).
    pub remote_timeout: Duration,
    /// `chunked_read_limit` in bytes (default 50MB).
    pub chunked_read_limit: u64,
    /// `headers` added to every request.
    pub headers: BTreeMap<String, String>,
    /// `read_recent`: also query for data the local storage should have.
    pub read_recent: bool,
    /// `name`, unique among remote read configs when set.
    pub name: String,
    /// HTTP client settings.
    pub http_client: HttpClientConfig,
    /// `required_matchers`: equality matchers a query must contain to be sent.
    pub required_matchers: BTreeMap<String, String>,
    /// `filter_external_labels` (default true).
    pub filter_external_labels: bool,
}

raw_section! {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawRemoteWriteConfig with http_client {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        remote_timeout: Option<RawDuration>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        headers: BTreeMap<String, String>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        write_relabel_configs: Vec<Entry<RawRelabelConfig>>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        send_exemplars: Option<bool>,
        #[serde(default)]
        send_native_histograms: Option<bool>,
        #[serde(default)]
        round_robin_dns: Option<bool>,
        #[serde(default)]
        protobuf_message: Option<String>,
        #[serde(default)]
        queue_config: Option<RawQueueConfig>,
        #[serde(default)]
        metadata_config: Option<RawMetadataConfig>,
        #[serde(default)]
        sigv4: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        azuread: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        google_iam: Option<serde::de::IgnoredAny>,
    }
}

raw_section! {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawRemoteReadConfig with http_client {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        remote_timeout: Option<RawDuration>,
        #[serde(default)]
        chunked_read_limit: Option<u64>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        read_recent: Option<bool>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        required_matchers: BTreeMap<String, String>,
        #[serde(default)]
        filter_external_labels: Option<bool>,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueueConfig {
    #[serde(default)]
    capacity: Option<u64>,
    #[serde(default)]
    max_shards: Option<u64>,
    #[serde(default)]
    min_shards: Option<u64>,
    #[serde(default)]
    max_samples_per_send: Option<u64>,
    #[serde(default)]
    batch_send_deadline: Option<RawDuration>,
    #[serde(default)]
    min_backoff: Option<RawDuration>,
    #[serde(default)]
    max_backoff: Option<RawDuration>,
    #[serde(default)]
    retry_on_http_429: Option<bool>,
    #[serde(default)]
    sample_age_limit: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetadataConfig {
    #[serde(default)]
    send: Option<bool>,
    #[serde(default)]
    send_interval: Option<RawDuration>,
    #[serde(default)]
    max_samples_per_send: Option<u64>,
}

/// Headers remote write/read `headers` may not set, lowercased.
const RESERVED_HEADERS: [&str; 16] = [
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

fn validate_headers(headers: &BTreeMap<String, String>) -> Result<(), Violation> {
    for name in headers.keys() {
        let lower = name.to_ascii_lowercase();
        if lower == "authorization" {
            return violation(
                "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter",
            );
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return violation(format!(
                "{name} is a reserved header. It must not be changed"
            ));
        }
    }
    Ok(())
}

/// Resolves the `remote_write` list, rejecting duplicate names.
pub(crate) fn resolve_remote_writes(
    raw: Vec<Entry<RawRemoteWriteConfig>>,
    dir: &BaseDir,
    names: NameValidation,
) -> Result<Vec<RemoteWriteConfig>, Violation> {
    let mut configs: Vec<RemoteWriteConfig> = Vec::new();
    for raw in raw {
        let (raw, position) = entry(raw, "empty or null remote write config section")?;
        let config = raw.resolve(dir, names).map_err(|v| v.at(position))?;
        if !config.name.is_empty() && configs.iter().any(|c| c.name == config.name) {
            return Err(Violation::new(format!(
                "found multiple remote write configs with job name {:?}",
                config.name
            ))
            .at(position));
        }
        configs.push(config);
    }
    Ok(configs)
}

/// Resolves the `remote_read` list, rejecting duplicate names.
pub(crate) fn resolve_remote_reads(
    raw: Vec<Entry<RawRemoteReadConfig>>,
    dir: &BaseDir,
) -> Result<Vec<RemoteReadConfig>, Violation> {
    let mut configs: Vec<RemoteReadConfig> = Vec::new();
    for raw in raw {
        let (raw, position): (RawRemoteReadConfig, Position) =
            entry(raw, "empty or null remote read config section")?;
        let config = raw.resolve(dir).map_err(|v| v.at(position))?;
        if !config.name.is_empty() && configs.iter().any(|c| c.name == config.name) {
            return Err(Violation::new(format!(
                "found multiple remote read configs with job name {:?}",
                config.name
            ))
            .at(position));
        }
        configs.push(config);
    }
    Ok(configs)
}

impl RawRemoteWriteConfig {
    fn resolve(
        mut self,
        dir: &BaseDir,
        names: NameValidation,
    ) -> Result<RemoteWriteConfig, Violation> {
        let url = self
            .url
            .take()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Violation::new("url for remote_write is empty"))?;
        let write_relabel_configs = resolve_rules(
            std::mem::take(&mut self.write_relabel_configs),
            names,
            "empty or null relabeling rule in remote write config",
        )?;
        validate_headers(&self.headers)?;
        let protobuf_message = match self.protobuf_message.as_deref() {
            None | Some("") | Some("prometheus.WriteRequest") => RemoteWriteMessage::V1,
            Some("io.prometheus.write.v2.Request") => RemoteWriteMessage::V2,
            Some(other) => {
                return violation(format!(
                    "invalid protobuf_message value: unknown type for remote write protobuf message {other}, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"
                ));
            }
        };
        let http_client = self.take_http_client().resolve(false, dir)?;
        let mut configured = Vec::new();
        if http_client.basic_auth.is_some() {
            configured.push("basic_auth");
        }
        if http_client.authorization.is_some() {
            configured.push("authorization");
        }
        if http_client.oauth2.is_some() {
            configured.push("oauth2");
        }
        let cloud: Vec<&str> = [
            ("sigv4", self.sigv4.is_some()),
            ("azuread", self.azuread.is_some()),
            ("google_iam", self.google_iam.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        configured.extend(&cloud);
        if configured.len() > 1 {
            return violation(format!(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                configured.join(" ")
            ));
        }
        let queue = self.queue_config.unwrap_or_default();
        let defaults = QueueConfig::default();
        let metadata = self.metadata_config.unwrap_or_default();
        Ok(RemoteWriteConfig {
            url,
            remote_timeout: self.remote_timeout.map_or(Duration::from_secs(30), |d| d.0),
            headers: self.headers,
            write_relabel_configs,
            name: self.name.unwrap_or_default(),
            send_exemplars: self.send_exemplars.unwrap_or(false),
            send_native_histograms: self.send_native_histograms.unwrap_or(false),
            round_robin_dns: self.round_robin_dns.unwrap_or(false),
            protobuf_message,
            http_client,
            queue_config: QueueConfig {
                capacity: queue.capacity.unwrap_or(defaults.capacity),
                max_shards: queue.max_shards.unwrap_or(defaults.max_shards),
                min_shards: queue.min_shards.unwrap_or(defaults.min_shards),
                max_samples_per_send: queue
                    .max_samples_per_send
                    .unwrap_or(defaults.max_samples_per_send),
                batch_send_deadline: queue
                    .batch_send_deadline
                    .map_or(defaults.batch_send_deadline, |d| d.0),
                min_backoff: queue.min_backoff.map_or(defaults.min_backoff, |d| d.0),
                max_backoff: queue.max_backoff.map_or(defaults.max_backoff, |d| d.0),
                retry_on_http_429: queue
                    .retry_on_http_429
                    .unwrap_or(defaults.retry_on_http_429),
                sample_age_limit: queue
                    .sample_age_limit
                    .map_or(defaults.sample_age_limit, |d| d.0),
            },
            metadata_config: MetadataConfig {
                send: metadata.send.unwrap_or(true),
                send_interval: metadata
                    .send_interval
                    .map_or(Duration::from_secs(60), |d| d.0),
                max_samples_per_send: metadata.max_samples_per_send.unwrap_or(2000),
            },
            unsupported_auth: cloud.into_iter().map(str::to_string).collect(),
        })
    }
}

impl RawRemoteReadConfig {
    fn resolve(mut self, dir: &BaseDir) -> Result<RemoteReadConfig, Violation> {
        let url = self
            .url
            .take()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Violation::new("url for remote_read is empty"))?;
        validate_headers(&self.headers)?;
        Ok(RemoteReadConfig {
            url,
            remote_timeout: self.remote_timeout.map_or(Duration::from_secs(60), |d| d.0),
            chunked_read_limit: self.chunked_read_limit.unwrap_or(50_000_000),
            http_client: self.take_http_client().resolve(true, dir)?,
            headers: self.headers,
            read_recent: self.read_recent.unwrap_or(false),
            name: self.name.unwrap_or_default(),
            required_matchers: self.required_matchers,
            filter_external_labels: self.filter_external_labels.unwrap_or(true),
        })
    }
}
