//! The `global` section: defaults every scrape config and rule group inherits.

use crate::duration::{RawDuration, nonzero};
use crate::error::{Violation, violation};
use crate::raw::BaseDir;
use crate::scrape::{HistogramOptions, ScrapeLimits, ScrapeProtocol, validate_protocols};
use crate::size::RawSize;
use ember_model::Labels;
use ember_relabel::NameValidation;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Default `scrape_interval`.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
/// Default `scrape_timeout`.
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `evaluation_interval`.
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

/// The resolved `global` section.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalConfig {
    /// `scrape_interval` (default 1m).
    pub scrape_interval: Duration,
    /// `scrape_timeout` (default 10s, but never more than the interval).
    pub scrape_timeout: Duration,
    /// `evaluation_interval` for rule groups (default 1m).
    pub evaluation_interval: Duration,
    /// `rule_query_offset` (default 0).
    pub rule_query_offset: Duration,
    /// `scrape_protocols`, when set globally; scrape configs fall back to it.
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// `external_labels`, with `$VAR`/`${VAR}` expanded from the environment.
    pub external_labels: Labels,
    /// `query_log_file`, resolved against the config directory.
    pub query_log_file: Option<PathBuf>,
    /// `scrape_failure_log_file`, resolved against the config directory.
    pub scrape_failure_log_file: Option<PathBuf>,
    /// Scrape limits inherited by scrape configs that leave them at 0.
    pub limits: ScrapeLimits,
    /// Native-histogram settings inherited by scrape configs.
    pub histograms: HistogramOptions,
    /// `extra_scrape_metrics`.
    pub extra_scrape_metrics: bool,
    /// `metric_name_validation_scheme`: which label names are valid. Ember defaults to
    /// legacy names (`[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus 2's rule); `utf8` opts in to
    /// Prometheus 3's UTF-8 names.
    pub name_validation: NameValidation,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            evaluation_interval: DEFAULT_EVALUATION_INTERVAL,
            rule_query_offset: Duration::ZERO,
            scrape_protocols: None,
            external_labels: Labels::empty(),
            query_log_file: None,
            scrape_failure_log_file: None,
            limits: ScrapeLimits::default(),
            histograms: HistogramOptions::default(),
            extra_scrape_metrics: false,
            name_validation: NameValidation::Legacy,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobalConfig {
    #[serde(default)]
    scrape_interval: Option<RawDuration>,
    #[serde(default)]
    scrape_timeout: Option<RawDuration>,
    #[serde(default)]
    scrape_protocols: Option<Vec<String>>,
    #[serde(default)]
    evaluation_interval: Option<RawDuration>,
    #[serde(default)]
    rule_query_offset: Option<RawDuration>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    query_log_file: Option<String>,
    #[serde(default)]
    scrape_failure_log_file: Option<String>,
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
    keep_dropped_targets: Option<u64>,
    #[serde(default)]
    metric_name_validation_scheme: Option<String>,
    #[serde(default)]
    metric_name_escaping_scheme: Option<String>,
    #[serde(default)]
    scrape_native_histograms: Option<bool>,
    #[serde(default)]
    convert_classic_histograms_to_nhcb: Option<bool>,
    #[serde(default)]
    always_scrape_classic_histograms: Option<bool>,
    #[serde(default)]
    extra_scrape_metrics: Option<bool>,
}

/// Parses `metric_name_validation_scheme`; `None` when unset.
pub(crate) fn parse_name_validation(
    scheme: Option<&str>,
) -> Result<Option<NameValidation>, Violation> {
    match scheme.unwrap_or("") {
        "" => Ok(None),
        "legacy" => Ok(Some(NameValidation::Legacy)),
        "utf8" => Ok(Some(NameValidation::Utf8)),
        other => violation(format!(
            "unknown name validation method specified, must be either '', 'legacy' or 'utf8', got {other}"
        )),
    }
}

/// Checks `metric_name_escaping_scheme`.
pub(crate) fn check_escaping_scheme(scheme: Option<&str>) -> Result<(), Violation> {
    match scheme.unwrap_or("") {
        "" | "allow-utf-8" | "underscores" | "dots" | "values" => Ok(()),
        other => violation(format!(
            "unknown name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {other:?}"
        )),
    }
}

impl RawGlobalConfig {
    pub(crate) fn resolve(self, dir: &BaseDir) -> Result<GlobalConfig, Violation> {
        let name_validation = parse_name_validation(self.metric_name_validation_scheme.as_deref())?
            .unwrap_or(NameValidation::Legacy);
        let mut external_labels = Vec::new();
        for (name, value) in self.external_labels {
            if !name_validation.is_valid_label_name(&name) {
                return violation(format!("{name:?} is not a valid label name"));
            }
            external_labels.push((name, expand_env(&value)));
        }
        let scrape_interval = nonzero(self.scrape_interval).unwrap_or(DEFAULT_SCRAPE_INTERVAL);
        let explicit_timeout = nonzero(self.scrape_timeout);
        if explicit_timeout.is_some_and(|t| t > scrape_interval) {
            return violation("global scrape timeout greater than scrape interval");
        }
        let scrape_protocols = match self.scrape_protocols {
            Some(names) => Some(
                validate_protocols(&names)
                    .map_err(|m| Violation::new(format!("{m} for global config")))?,
            ),
            None => None,
        };
        check_escaping_scheme(self.metric_name_escaping_scheme.as_deref())?;
        Ok(GlobalConfig {
            scrape_interval,
            scrape_timeout: explicit_timeout.unwrap_or(DEFAULT_SCRAPE_TIMEOUT.min(scrape_interval)),
            evaluation_interval: nonzero(self.evaluation_interval)
                .unwrap_or(DEFAULT_EVALUATION_INTERVAL),
            rule_query_offset: self.rule_query_offset.map_or(Duration::ZERO, |d| d.0),
            scrape_protocols,
            external_labels: Labels::from_pairs(external_labels),
            query_log_file: dir.optional_file(self.query_log_file),
            scrape_failure_log_file: dir.optional_file(self.scrape_failure_log_file),
            limits: ScrapeLimits {
                body_size_limit: self.body_size_limit.map_or(0, |s| s.0),
                sample_limit: self.sample_limit.unwrap_or(0),
                target_limit: self.target_limit.unwrap_or(0),
                label_limit: self.label_limit.unwrap_or(0),
                label_name_length_limit: self.label_name_length_limit.unwrap_or(0),
                label_value_length_limit: self.label_value_length_limit.unwrap_or(0),
                keep_dropped_targets: self.keep_dropped_targets.unwrap_or(0),
            },
            histograms: HistogramOptions {
                scrape_native_histograms: self.scrape_native_histograms.unwrap_or(false),
                always_scrape_classic_histograms: self
                    .always_scrape_classic_histograms
                    .unwrap_or(false),
                convert_classic_histograms_to_nhcb: self
                    .convert_classic_histograms_to_nhcb
                    .unwrap_or(false),
            },
            extra_scrape_metrics: self.extra_scrape_metrics.unwrap_or(false),
            name_validation,
        })
    }
}

/// Expands `$NAME` and `${NAME}` from the environment (unset is empty) and `$$` to `$`,
/// as Prometheus does for external label values. A `$` not followed by a name stays.
fn expand_env(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (expansion, consumed) = expand_reference(after);
        out.push_str(&expansion);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// Expands the reference in `after` (the text following a `$`); returns the expansion and
/// how many bytes of `after` it used.
fn expand_reference(after: &str) -> (String, usize) {
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    if after.starts_with('$') {
        return ("$".to_string(), 1);
    }
    if let Some(braced) = after.strip_prefix('{') {
        return match braced.find('}') {
            Some(end) => (env(&braced[..end]), end + 2),
            None => ("$".to_string(), 0),
        };
    }
    let end = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    match end {
        0 => ("$".to_string(), 0),
        _ => (env(&after[..end]), end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_environment() {
        // PATH is set in every test environment; the unset name is ours.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_env("a-$PATH"), format!("a-{path}"));
        assert_eq!(expand_env("${PATH}x"), format!("{path}x"));
        assert_eq!(expand_env("$$5"), "$5");
        assert_eq!(expand_env("${EMBER_CONFIG_TEST_UNSET}|"), "|");
        assert_eq!(expand_env("cost: $ 5"), "cost: $ 5");
        assert_eq!(expand_env("plain"), "plain");
    }
}
