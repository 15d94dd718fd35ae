//! The runtime-reloadable `storage` section, plus `tracing` and `otlp`.

use crate::duration::RawDuration;
use crate::error::{Violation, violation};
use crate::http_client::{RawTlsConfig, TlsConfig, resolve_tls};
use crate::raw::BaseDir;
use crate::size::RawSize;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The resolved `storage` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// `tsdb`.
    pub tsdb: TsdbConfig,
    /// `exemplars`.
    pub exemplars: ExemplarsConfig,
}

/// `storage.tsdb`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsdbConfig {
    /// `out_of_order_time_window`: how far back out-of-order samples are accepted (0 = none).
    pub out_of_order_time_window: Duration,
    /// `retention.time`, when set in the file (command-line flags otherwise).
    pub retention_time: Option<Duration>,
    /// `retention.size` in bytes, when set in the file.
    pub retention_size: Option<u64>,
}

/// `storage.exemplars`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExemplarsConfig {
    /// `max_exemplars` in the circular buffer (default 100000; 0 or less disables storage).
    pub max_exemplars: i64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            tsdb: TsdbConfig::default(),
            exemplars: ExemplarsConfig {
                max_exemplars: 100_000,
            },
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorageConfig {
    #[serde(default)]
    tsdb: Option<RawTsdbConfig>,
    #[serde(default)]
    exemplars: Option<RawExemplarsConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTsdbConfig {
    #[serde(default)]
    out_of_order_time_window: Option<RawDuration>,
    #[serde(default)]
    retention: Option<RawRetention>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    #[serde(default)]
    time: Option<RawDuration>,
    #[serde(default)]
    size: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemplarsConfig {
    #[serde(default)]
    max_exemplars: Option<i64>,
}

impl RawStorageConfig {
    pub(crate) fn resolve(self) -> StorageConfig {
        let tsdb = self.tsdb.unwrap_or_default();
        let retention = tsdb.retention.unwrap_or_default();
        StorageConfig {
            tsdb: TsdbConfig {
                out_of_order_time_window: tsdb
                    .out_of_order_time_window
                    .map_or(Duration::ZERO, |d| d.0),
                retention_time: retention.time.map(|d| d.0).filter(|d| !d.is_zero()),
                retention_size: retention.size.map(|s| s.0).filter(|s| *s != 0),
            },
            exemplars: ExemplarsConfig {
                max_exemplars: self
                    .exemplars
                    .and_then(|e| e.max_exemplars)
                    .unwrap_or(100_000),
            },
        }
    }
}

/// The resolved `tracing` section (OpenTelemetry span export).
#[derive(Clone, Debug, PartialEq)]
pub struct TracingConfig {
    /// `client_type`: `grpc` (default) or `http`.
    pub client_type: String,
    /// `endpoint` (required).
    pub endpoint: String,
    /// `sampling_fraction`.
    pub sampling_fraction: f64,
    /// `insecure`.
    pub insecure: bool,
    /// `tls_config`.
    pub tls: TlsConfig,
    /// `headers`.
    pub headers: BTreeMap<String, String>,
    /// `compression`: empty or `gzip`.
    pub compression: String,
    /// `timeout` (0 = exporter default).
    pub timeout: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTracingConfig {
    #[serde(default)]
    client_type: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    sampling_fraction: Option<f64>,
    #[serde(default)]
    insecure: Option<bool>,
    #[serde(default)]
    tls_config: Option<RawTlsConfig>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    compression: Option<String>,
    #[serde(default)]
    timeout: Option<RawDuration>,
}

impl RawTracingConfig {
    pub(crate) fn resolve(self, dir: &BaseDir) -> Result<TracingConfig, Violation> {
        let client_type = self.client_type.unwrap_or_else(|| "grpc".to_string());
        if client_type != "grpc" && client_type != "http" {
            return violation(format!(
                "expected tracing client type to be to be http or grpc, but got {client_type}"
            ));
        }
        for name in self.headers.keys() {
            if name.eq_ignore_ascii_case("authorization") {
                return violation("custom authorization header configuration is not yet supported");
            }
        }
        let endpoint = self.endpoint.unwrap_or_default();
        if endpoint.is_empty() {
            return violation("tracing endpoint must be set");
        }
        let compression = self.compression.unwrap_or_default();
        if !compression.is_empty() && compression != "gzip" {
            return violation(format!(
                "invalid compression type {compression} provided, valid options: gzip"
            ));
        }
        Ok(TracingConfig {
            client_type,
            endpoint,
            sampling_fraction: self.sampling_fraction.unwrap_or(0.0),
            insecure: self.insecure.unwrap_or(false),
            tls: resolve_tls(self.tls_config.unwrap_or_default(), dir)?,
            headers: self.headers,
            compression,
            timeout: self.timeout.map_or(Duration::ZERO, |d| d.0),
        })
    }
}

/// The resolved `otlp` section (OTLP receiver translation settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtlpConfig {
    /// `promote_resource_attributes`.
    pub promote_resource_attributes: Vec<String>,
    /// `promote_all_resource_attributes`.
    pub promote_all_resource_attributes: bool,
    /// `ignore_resource_attributes` (only with `promote_all_resource_attributes`).
    pub ignore_resource_attributes: Vec<String>,
    /// `translation_strategy`, as written (empty = default).
    pub translation_strategy: String,
    /// `keep_identifying_resource_attributes`.
    pub keep_identifying_resource_attributes: bool,
    /// `convert_histograms_to_nhcb`.
    pub convert_histograms_to_nhcb: bool,
    /// `promote_scope_metadata`.
    pub promote_scope_metadata: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOtlpConfig {
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    promote_resource_attributes: Vec<String>,
    #[serde(default)]
    promote_all_resource_attributes: Option<bool>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    ignore_resource_attributes: Vec<String>,
    #[serde(default)]
    translation_strategy: Option<String>,
    #[serde(default)]
    keep_identifying_resource_attributes: Option<bool>,
    #[serde(default)]
    convert_histograms_to_nhcb: Option<bool>,
    #[serde(default)]
    promote_scope_metadata: Option<bool>,
    // Translator switches Ember has no use for; accepted so Prometheus 3 configs load.
    #[serde(default, rename = "label_name_underscore_sanitization")]
    _label_name_underscore_sanitization: Option<bool>,
    #[serde(default, rename = "label_name_preserve_multiple_underscores")]
    _label_name_preserve_multiple_underscores: Option<bool>,
}

impl RawOtlpConfig {
    pub(crate) fn resolve(self) -> Result<OtlpConfig, Violation> {
        let promote_all = self.promote_all_resource_attributes.unwrap_or(false);
        if promote_all && !self.promote_resource_attributes.is_empty() {
            return violation(
                "'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously",
            );
        }
        if !promote_all && !self.ignore_resource_attributes.is_empty() {
            return violation(
                "'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true",
            );
        }
        let translation_strategy = self.translation_strategy.unwrap_or_default();
        let known = [
            "",
            "UnderscoreEscapingWithSuffixes",
            "UnderscoreEscapingWithoutSuffixes",
            "NoUTF8EscapingWithSuffixes",
            "NoTranslation",
        ];
        if !known.contains(&translation_strategy.as_str()) {
            return violation(format!(
                "unsupported OTLP translation strategy {translation_strategy:?}"
            ));
        }
        Ok(OtlpConfig {
            promote_resource_attributes: self.promote_resource_attributes,
            promote_all_resource_attributes: promote_all,
            ignore_resource_attributes: self.ignore_resource_attributes,
            translation_strategy,
            keep_identifying_resource_attributes: self
                .keep_identifying_resource_attributes
                .unwrap_or(false),
            convert_histograms_to_nhcb: self.convert_histograms_to_nhcb.unwrap_or(false),
            promote_scope_metadata: self.promote_scope_metadata.unwrap_or(false),
        })
    }
}
