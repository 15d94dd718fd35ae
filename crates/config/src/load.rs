//! Loading: YAML text → raw structs → validated, resolved [`Config`].

use crate::alerting::RawAlertingConfig;
use crate::error::{ConfigError, Position, Violation};
use crate::global::RawGlobalConfig;
use crate::raw::{BaseDir, Entry, entry, stars_only_in_last_element};
use crate::remote::{
    RawRemoteReadConfig, RawRemoteWriteConfig, resolve_remote_reads, resolve_remote_writes,
};
use crate::scrape::RawScrapeConfig;
use crate::storage::{RawOtlpConfig, RawStorageConfig, RawTracingConfig};
use crate::{Config, Origins};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    global: Option<RawGlobalConfig>,
    // Go runtime tuning (`gogc`); meaningless for Ember but accepted.
    #[serde(default, rename = "runtime")]
    _runtime: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    alerting: Option<RawAlertingConfig>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    rule_files: Vec<serde_saphyr::Spanned<String>>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    scrape_config_files: Vec<String>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    scrape_configs: Vec<Entry<RawScrapeConfig>>,
    #[serde(default)]
    storage: Option<RawStorageConfig>,
    #[serde(default)]
    tracing: Option<RawTracingConfig>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    remote_write: Vec<Entry<RawRemoteWriteConfig>>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    remote_read: Vec<Entry<RawRemoteReadConfig>>,
    #[serde(default)]
    otlp: Option<RawOtlpConfig>,
}

/// Parses YAML with the options Prometheus's strict YAML decoding implies: duplicate keys
/// are errors, YAML 1.1 booleans (`yes`/`no`) are accepted.
pub(crate) fn parse_yaml<'de, T: Deserialize<'de>>(
    text: &'de str,
    source_name: &str,
) -> Result<T, ConfigError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| ConfigError::from_yaml(source_name, &e))
}

pub(crate) fn load(
    text: &str,
    source_name: &str,
    dir: Option<&Path>,
) -> Result<Config, ConfigError> {
    let raw: RawConfig = parse_yaml::<Option<RawConfig>>(text, source_name)?.unwrap_or_default();
    let dir = BaseDir(dir.map(Path::to_path_buf));
    resolve(raw, text, source_name, &dir).map_err(|v| v.into_error(source_name))
}

fn resolve(
    raw: RawConfig,
    text: &str,
    source_name: &str,
    dir: &BaseDir,
) -> Result<Config, Violation> {
    let global = raw.global.unwrap_or_default().resolve(dir)?;

    let mut rule_files = Vec::new();
    let mut rule_file_positions = Vec::new();
    for pattern in raw.rule_files {
        let position = Position::of(&pattern);
        if !stars_only_in_last_element(&pattern.value) {
            return Err(
                Violation::new(format!("invalid rule file path {:?}", pattern.value)).at(position),
            );
        }
        rule_files.push(dir.glob(pattern.value));
        rule_file_positions.push(position);
    }
    if let Some(bad) = raw
        .scrape_config_files
        .iter()
        .find(|p| !stars_only_in_last_element(p))
    {
        return Err(Violation::new(format!(
            "invalid scrape config file path {bad:?}"
        )));
    }

    let mut scrape_configs: Vec<crate::ScrapeConfig> = Vec::new();
    let mut scrape_config_positions = Vec::new();
    for raw in raw.scrape_configs {
        let (raw, position) = entry(raw, "empty or null scrape config section")?;
        let config = raw.resolve(&global, dir).map_err(|v| v.at(position))?;
        if scrape_configs.iter().any(|c| c.job_name == config.job_name) {
            return Err(Violation::new(format!(
                "found multiple scrape configs with job name {:?}",
                config.job_name
            ))
            .at(position));
        }
        scrape_configs.push(config);
        scrape_config_positions.push(position);
    }

    let names = global.name_validation;
    let (alerting, alertmanager_positions) =
        raw.alerting.unwrap_or_default().resolve(dir, names)?;
    Ok(Config {
        global,
        rule_files,
        scrape_config_files: raw
            .scrape_config_files
            .into_iter()
            .map(|p| dir.glob(p))
            .collect(),
        scrape_configs,
        alerting,
        remote_write: resolve_remote_writes(raw.remote_write, dir, names)?,
        remote_read: resolve_remote_reads(raw.remote_read, dir)?,
        storage: raw.storage.unwrap_or_default().resolve(),
        tracing: raw.tracing.map(|t| t.resolve(dir)).transpose()?,
        otlp: raw.otlp.unwrap_or_default().resolve()?,
        source_name: source_name.to_string(),
        source_text: text.to_string(),
        directory: dir.0.clone(),
        origins: Origins {
            rule_files: rule_file_positions,
            scrape_configs: scrape_config_positions,
            alertmanagers: alertmanager_positions,
        },
    })
}
