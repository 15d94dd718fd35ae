//! The `alerting` section: alert relabelling and the Alertmanagers to notify.

use crate::discovery::ServiceDiscovery;
use crate::duration::RawDuration;
use crate::error::{Violation, violation};
use crate::http_client::HttpClientConfig;
use crate::raw::{BaseDir, Entry, entry, raw_section};
use crate::relabel::{RawRelabelConfig, resolve_rules};
use crate::scrape::Scheme;
use ember_relabel::{NameValidation, RelabelConfig};
use serde::Deserialize;
use std::time::Duration;

/// The resolved `alerting` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertingConfig {
    /// `alert_relabel_configs`, applied to every alert before sending.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// `alertmanagers`.
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One `alertmanagers` entry: how to find and talk to a set of Alertmanagers.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertmanagerConfig {
    /// Where the Alertmanagers are.
    pub service_discovery: ServiceDiscovery,
    /// HTTP client settings.
    pub http_client: HttpClientConfig,
    /// `scheme` (default http).
    pub scheme: Scheme,
    /// `path_prefix` put before `/api/v2/alerts`.
    pub path_prefix: String,
    /// `timeout` for sending alerts (default 10s).
    pub timeout: Duration,
    /// `api_version`; only `v2` is supported, as in Prometheus 3.
    pub api_version: String,
    /// `relabel_configs`, applied to discovered Alertmanager targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// `alert_relabel_configs`, applied to alerts sent to these Alertmanagers.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// True when `sigv4` is set (not supported by Ember yet).
    pub sigv4: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlertingConfig {
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    alert_relabel_configs: Vec<Entry<RawRelabelConfig>>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    alertmanagers: Vec<Entry<RawAlertmanagerConfig>>,
}

raw_section! {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(crate) struct RawAlertmanagerConfig with http_client, service_discovery {
        #[serde(default)]
        sigv4: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        scheme: Option<String>,
        #[serde(default)]
        path_prefix: Option<String>,
        #[serde(default)]
        timeout: Option<RawDuration>,
        #[serde(default)]
        api_version: Option<String>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        relabel_configs: Vec<Entry<RawRelabelConfig>>,
        #[serde(default, deserialize_with = "crate::raw::null_as_default")]
        alert_relabel_configs: Vec<Entry<RawRelabelConfig>>,
    }
}

impl RawAlertingConfig {
    pub(crate) fn resolve(
        self,
        dir: &BaseDir,
        names: NameValidation,
    ) -> Result<(AlertingConfig, Vec<crate::error::Position>), Violation> {
        let alert_relabel_configs = resolve_rules(
            self.alert_relabel_configs,
            names,
            "empty or null alert relabeling rule",
        )?;
        let mut alertmanagers = Vec::new();
        let mut positions = Vec::new();
        for raw in self.alertmanagers {
            let (raw, position) = entry(raw, "empty or null alertmanager config section")?;
            alertmanagers.push(raw.resolve(dir, names).map_err(|v| v.at(position))?);
            positions.push(position);
        }
        Ok((
            AlertingConfig {
                alert_relabel_configs,
                alertmanagers,
            },
            positions,
        ))
    }
}

impl RawAlertmanagerConfig {
    fn resolve(
        mut self,
        dir: &BaseDir,
        names: NameValidation,
    ) -> Result<AlertmanagerConfig, Violation> {
        let http_client = self.take_http_client().resolve(true, dir)?;
        let sigv4 = self.sigv4.is_some();
        if http_client.has_auth() && sigv4 {
            return violation(
                "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured",
            );
        }
        let service_discovery = self.take_service_discovery().resolve(dir, names)?;
        if self.relabel_configs.is_empty() {
            service_discovery.check_static_addresses()?;
        }
        let api_version = self.api_version.unwrap_or_else(|| "v2".to_string());
        if api_version != "v2" {
            return violation(format!(
                "expected Alertmanager api version to be one of [v2] but got {api_version}"
            ));
        }
        Ok(AlertmanagerConfig {
            service_discovery,
            http_client,
            scheme: Scheme::parse(self.scheme)?,
            path_prefix: self.path_prefix.unwrap_or_default(),
            timeout: self.timeout.map_or(Duration::from_secs(10), |d| d.0),
            api_version,
            relabel_configs: resolve_rules(
                self.relabel_configs,
                names,
                "empty or null Alertmanager target relabeling rule",
            )?,
            alert_relabel_configs: resolve_rules(
                self.alert_relabel_configs,
                names,
                "empty or null Alertmanager alert relabeling rule",
            )?,
            sigv4,
        })
    }
}
