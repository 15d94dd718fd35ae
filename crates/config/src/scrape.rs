//! `scrape_configs`: what to scrape, how often, and with which limits, after inheriting
//! the global settings.

use crate::discovery::ServiceDiscovery;
use crate::duration::{RawDuration, nonzero};
use crate::error::{Violation, violation};
use crate::global::{GlobalConfig, check_escaping_scheme, parse_name_validation};
use crate::http_client::HttpClientConfig;
use crate::raw::{BaseDir, Entry, raw_section};
use crate::relabel::{RawRelabelConfig, resolve_rules};
use crate::size::RawSize;
use ember_relabel::{NameValidation, RelabelConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One resolved scrape config (a job).
#[derive(Clone, Debug, PartialEq)]
pub struct ScrapeConfig {
    /// `job_name`: the default `job` label; unique across the config.
    pub job_name: String,
    /// `honor_labels` (default false).
    pub honor_labels: bool,
    /// `honor_timestamps` (default true).
    pub honor_timestamps: bool,
    /// `track_timestamps_staleness` (default false).
    pub track_timestamps_staleness: bool,
    /// `scheme` (default http).
    pub scheme: Scheme,
    /// `metrics_path` (default `/metrics`).
    pub metrics_path: String,
    /// `params`: URL query parameters, each name with its values in order.
    pub params: BTreeMap<String, Vec<String>>,
    /// `scrape_interval`, inherited from global when unset.
    pub scrape_interval: Duration,
    /// `scrape_timeout`: inherited from global when unset, but never more than the interval.
    pub scrape_timeout: Duration,
    /// `scrape_protocols` in order of preference (the `Accept` header).
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// `fallback_scrape_protocol` for responses without a usable `Content-Type`.
    pub fallback_scrape_protocol: Option<ScrapeProtocol>,
    /// `enable_compression`: ask for gzip (default true).
    pub enable_compression: bool,
    /// Limits, each inherited from global when 0.
    pub limits: ScrapeLimits,
    /// Native-histogram settings, inherited from global when unset.
    pub histograms: HistogramOptions,
    /// `native_histogram_bucket_limit` (0 = none).
    pub native_histogram_bucket_limit: u64,
    /// `native_histogram_min_bucket_factor` (0 = none).
    pub native_histogram_min_bucket_factor: f64,
    /// `scrape_failure_log_file`, inherited from global.
    pub scrape_failure_log_file: Option<PathBuf>,
    /// `extra_scrape_metrics`, inherited from global.
    pub extra_scrape_metrics: bool,
    /// HTTP client settings.
    pub http_client: HttpClientConfig,
    /// Target sources.
    pub service_discovery: ServiceDiscovery,
    /// `relabel_configs`, applied to targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// `metric_relabel_configs`, applied to scraped samples.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// `metric_name_validation_scheme`, inherited from global: which label names relabel
    /// rules and target labels may use.
    pub name_validation: NameValidation,
}

/// The URL scheme used to scrape (or to reach Alertmanager).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`
    Http,
    /// `https`
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    pub(crate) fn parse(text: Option<String>) -> Result<Scheme, Violation> {
        match text.as_deref() {
            None | Some("") | Some("http") => Ok(Scheme::Http),
            Some("https") => Ok(Scheme::Https),
            Some(other) => violation(format!("invalid scheme: {other:?}")),
        }
    }
}

/// Per-scrape limits; 0 means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrapeLimits {
    /// `body_size_limit` in bytes (uncompressed).
    pub body_size_limit: u64,
    /// `sample_limit`: samples per scrape after metric relabelling.
    pub sample_limit: u64,
    /// `target_limit`: targets per scrape config after relabelling.
    pub target_limit: u64,
    /// `label_limit`: labels per sample.
    pub label_limit: u64,
    /// `label_name_length_limit`.
    pub label_name_length_limit: u64,
    /// `label_value_length_limit`.
    pub label_value_length_limit: u64,
    /// `keep_dropped_targets`: dropped targets remembered per job for the UI.
    pub keep_dropped_targets: u64,
}

impl ScrapeLimits {
    /// Each limit left at 0 takes the global value.
    fn inherit(self, global: &ScrapeLimits) -> ScrapeLimits {
        let pick = |own: u64, global: u64| if own == 0 { global } else { own };
        ScrapeLimits {
            body_size_limit: pick(self.body_size_limit, global.body_size_limit),
            sample_limit: pick(self.sample_limit, global.sample_limit),
            target_limit: pick(self.target_limit, global.target_limit),
            label_limit: pick(self.label_limit, global.label_limit),
            label_name_length_limit: pick(
                self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            label_value_length_limit: pick(
                self.label_value_length_limit,
                global.label_value_length_limit,
            ),
            keep_dropped_targets: pick(self.keep_dropped_targets, global.keep_dropped_targets),
        }
    }
}

/// Native-histogram scrape settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistogramOptions {
    /// `scrape_native_histograms`.
    pub scrape_native_histograms: bool,
    /// `always_scrape_classic_histograms` (Prometheus 2's `scrape_classic_histograms`).
    pub always_scrape_classic_histograms: bool,
    /// `convert_classic_histograms_to_nhcb`.
    pub convert_classic_histograms_to_nhcb: bool,
}

/// An exposition format a scrape may negotiate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScrapeProtocol {
    /// `PrometheusProto`: delimited protobuf `MetricFamily` messages.
    PrometheusProto,
    /// `PrometheusText0.0.4`
    PrometheusText0_0_4,
    /// `PrometheusText1.0.0`
    PrometheusText1_0_0,
    /// `OpenMetricsText0.0.1`
    OpenMetricsText0_0_1,
    /// `OpenMetricsText1.0.0`
    OpenMetricsText1_0_0,
}

impl ScrapeProtocol {
    const ALL: [ScrapeProtocol; 5] = [
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::PrometheusText0_0_4,
        ScrapeProtocol::PrometheusText1_0_0,
    ];

    /// The default preference order.
    pub const DEFAULT: [ScrapeProtocol; 4] = [
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ];

    /// The preference order when native histograms are scraped: protobuf first.
    pub const PROTO_FIRST: [ScrapeProtocol; 5] = [
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::OpenMetricsText1_0_0,
        ScrapeProtocol::OpenMetricsText0_0_1,
        ScrapeProtocol::PrometheusText1_0_0,
        ScrapeProtocol::PrometheusText0_0_4,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => "PrometheusProto",
            ScrapeProtocol::PrometheusText0_0_4 => "PrometheusText0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "PrometheusText1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "OpenMetricsText0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type with parameters, as used in the `Accept` header.
    pub fn header_value(self) -> &'static str {
        match self {
            ScrapeProtocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            ScrapeProtocol::PrometheusText0_0_4 => "text/plain;version=0.0.4",
            ScrapeProtocol::PrometheusText1_0_0 => "text/plain;version=1.0.0",
            ScrapeProtocol::OpenMetricsText0_0_1 => "application/openmetrics-text;version=0.0.1",
            ScrapeProtocol::OpenMetricsText1_0_0 => "application/openmetrics-text;version=1.0.0",
        }
    }

    fn parse(text: &str) -> Result<ScrapeProtocol, String> {
        ScrapeProtocol::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| {
                let supported: Vec<&str> = ScrapeProtocol::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown scrape protocol {text}, supported: [{}]",
                    supported.join(" ")
                )
            })
    }
}

/// Checks a `scrape_protocols` list; the error lacks the "for ... config" suffix.
pub(crate) fn validate_protocols(names: &[String]) -> Result<Vec<ScrapeProtocol>, String> {
    if names.is_empty() {
        return Err("scrape_protocols cannot be empty".to_string());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut protocols = Vec::new();
    for name in names {
        let lower = name.to_lowercase();
        if seen.contains(&lower) {
            return Err(format!(
                "duplicated protocol in scrape_protocols, got [{}]",
                names.join(" ")
            ));
        }
        protocols.push(ScrapeProtocol::parse(name).map_err(|e| format!("scrape_protocols: {e}"))?);
        seen.push(lower);
    }
    Ok(protocols)
}

raw_section! {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawScrapeConfig with http_client, service_discovery {
        #[serde(default)]
        job_name: Option<String>,
        #[serde(default)]
        honor_labels: Option<bool>,
        #[serde(default)]
        honor_timestamps: Option<bool>,
        #[serde(default)]
        track_timestamps_staleness: Option<bool>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        params: BTreeMap<String, Vec<String>>,
        #[serde(default)]
        scrape_interval: Option<RawDuration>,
        #[serde(default)]
        scrape_timeout: Option<RawDuration>,
        #[serde(default)]
        scrape_protocols: Option<Vec<String>>,
        #[serde(default)]
        fallback_scrape_protocol: Option<String>,
        #[serde(default)]
        scrape_native_histograms: Option<bool>,
        #[serde(default, alias = "scrape_classic_histograms")]
        always_scrape_classic_histograms: Option<bool>,
        #[serde(default)]
        convert_classic_histograms_to_nhcb: Option<bool>,
        #[serde(default)]
        scrape_failure_log_file: Option<String>,
        #[serde(default)]
        metrics_path: Option<String>,
        #[serde(default)]
        scheme: Option<String>,
        #[serde(default)]
        enable_compression: Option<bool>,
        #[serde(default)]
        body_size_limit: Option<RawSize>,
        #[serde(default)]
        sample_limit: Option<u64>,
        #[serde(default)]
        target_limit: Option<u64>,
        #[serde(default)]
        label_limit: Option<u64>,
        #[serde(default)]
        label_name_length_limit: Option<u64>,
        #[serde(default)]
        label_value_length_limit: Option<u64>,
        #[serde(default)]
        native_histogram_bucket_limit: Option<u64>,
        #[serde(default)]
        native_histogram_min_bucket_factor: Option<f64>,
        #[serde(default)]
        keep_dropped_targets: Option<u64>,
        #[serde(default)]
        metric_name_validation_scheme: Option<String>,
        #[serde(default)]
        metric_name_escaping_scheme: Option<String>,
        #[serde(default)]
        extra_scrape_metrics: Option<bool>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        relabel_configs: Vec<Entry<RawRelabelConfig>>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        metric_relabel_configs: Vec<Entry<RawRelabelConfig>>,
    }
}

impl RawScrapeConfig {
    /// Validates one scrape config and fills in global defaults, as Prometheus's
    /// `ScrapeConfig.UnmarshalYAML` and `Validate` do.
    pub(crate) fn resolve(
        mut self,
        global: &GlobalConfig,
        dir: &BaseDir,
    ) -> Result<ScrapeConfig, Violation> {
        let job_name = self.job_name.take().unwrap_or_default();
        if job_name.is_empty() {
            return violation("job_name is empty");
        }
        let for_job = |message: String| {
            Violation::new(format!(
                "{message} for scrape config with job name {job_name:?}"
            ))
        };
        let name_validation = parse_name_validation(self.metric_name_validation_scheme.as_deref())?
            .unwrap_or(global.name_validation);
        let http_client = self.take_http_client().resolve(true, dir)?;
        let service_discovery = self
            .take_service_discovery()
            .resolve(dir, name_validation)?;
        if self.relabel_configs.is_empty() {
            service_discovery.check_static_addresses()?;
        }
        let relabel_configs = resolve_rules(
            std::mem::take(&mut self.relabel_configs),
            name_validation,
            "empty or null target relabeling rule in scrape config",
        )?;
        let metric_relabel_configs = resolve_rules(
            std::mem::take(&mut self.metric_relabel_configs),
            name_validation,
            "empty or null metric relabeling rule in scrape config",
        )?;

        let scrape_interval = nonzero(self.scrape_interval).unwrap_or(global.scrape_interval);
        let explicit_timeout = nonzero(self.scrape_timeout);
        if explicit_timeout.is_some_and(|t| t > scrape_interval) {
            return violation(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {job_name:?}"
            ));
        }
        let scrape_timeout = explicit_timeout.unwrap_or(global.scrape_timeout.min(scrape_interval));

        let histograms = HistogramOptions {
            scrape_native_histograms: self
                .scrape_native_histograms
                .unwrap_or(global.histograms.scrape_native_histograms),
            always_scrape_classic_histograms: self
                .always_scrape_classic_histograms
                .unwrap_or(global.histograms.always_scrape_classic_histograms),
            convert_classic_histograms_to_nhcb: self
                .convert_classic_histograms_to_nhcb
                .unwrap_or(global.histograms.convert_classic_histograms_to_nhcb),
        };
        let scrape_protocols = match (&self.scrape_protocols, &global.scrape_protocols) {
            (Some(names), _) => validate_protocols(names).map_err(for_job)?,
            (None, Some(global)) => global.clone(),
            (None, None) if histograms.scrape_native_histograms => {
                ScrapeProtocol::PROTO_FIRST.to_vec()
            }
            (None, None) => ScrapeProtocol::DEFAULT.to_vec(),
        };
        let fallback_scrape_protocol = match self.fallback_scrape_protocol.as_deref() {
            None | Some("") => None,
            Some(name) => Some(ScrapeProtocol::parse(name).map_err(|e| {
                Violation::new(format!("invalid fallback_scrape_protocol for scrape config with job name {job_name:?}: {e}"))
            })?),
        };
        check_escaping_scheme(self.metric_name_escaping_scheme.as_deref())?;
        let own_limits = ScrapeLimits {
            body_size_limit: self.body_size_limit.map_or(0, |s| s.0),
            sample_limit: self.sample_limit.unwrap_or(0),
            target_limit: self.target_limit.unwrap_or(0),
            label_limit: self.label_limit.unwrap_or(0),
            label_name_length_limit: self.label_name_length_limit.unwrap_or(0),
            label_value_length_limit: self.label_value_length_limit.unwrap_or(0),
            keep_dropped_targets: self.keep_dropped_targets.unwrap_or(0),
        };
        let scheme = Scheme::parse(self.scheme).map_err(|v| for_job(v.message))?;
        Ok(ScrapeConfig {
            honor_labels: self.honor_labels.unwrap_or(false),
            honor_timestamps: self.honor_timestamps.unwrap_or(true),
            track_timestamps_staleness: self.track_timestamps_staleness.unwrap_or(false),
            scheme,
            metrics_path: self
                .metrics_path
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/metrics".to_string()),
            params: self.params,
            scrape_interval,
            scrape_timeout,
            scrape_protocols,
            fallback_scrape_protocol,
            enable_compression: self.enable_compression.unwrap_or(true),
            limits: own_limits.inherit(&global.limits),
            histograms,
            native_histogram_bucket_limit: self.native_histogram_bucket_limit.unwrap_or(0),
            native_histogram_min_bucket_factor: self
                .native_histogram_min_bucket_factor
                .unwrap_or(0.0),
            scrape_failure_log_file: dir
                .optional_file(self.scrape_failure_log_file)
                .or_else(|| global.scrape_failure_log_file.clone()),
            extra_scrape_metrics: self
                .extra_scrape_metrics
                .unwrap_or(global.extra_scrape_metrics),
            http_client,
            service_discovery,
            relabel_configs,
            metric_relabel_configs,
            name_validation,
            job_name,
        })
    }
}
