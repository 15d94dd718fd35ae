//! Where targets come from: `static_configs`, `file_sd_configs`, `dns_sd_configs`, and the
//! other service-discovery kinds, which are accepted and recorded as unsupported.
//!
//! [`read_target_groups`] reads a file-SD file (JSON or YAML) the way Prometheus does.

use crate::duration::RawDuration;
use crate::error::{ConfigError, Position, Violation, violation};
use crate::raw::{BaseDir, Entry, entry};
use ember_model::Labels;
use ember_relabel::NameValidation;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The label file SD sets to the file a target group came from.
pub const FILE_SD_FILEPATH_LABEL: &str = "__meta_filepath";

/// A group of targets sharing labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroup {
    /// Target addresses (`host:port`), each becoming `__address__`.
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    pub labels: Labels,
    /// Identifies the group within its provider: the index for static configs,
    /// `file:index` for file SD.
    pub source: String,
}

/// A `file_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSdConfig {
    /// Path globs (the last path element may contain `*`), resolved against the config
    /// directory. Only `.json`, `.yml` and `.yaml` files are allowed.
    pub files: Vec<String>,
    /// `refresh_interval` (default 5m).
    pub refresh_interval: Duration,
}

/// A `dns_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsSdConfig {
    /// Names to query.
    pub names: Vec<String>,
    /// Record type (default SRV).
    pub record_type: DnsRecordType,
    /// Port for A/AAAA/MX/NS records (required for them; SRV records carry their own).
    pub port: u16,
    /// `refresh_interval` (default 30s).
    pub refresh_interval: Duration,
}

/// The DNS record type a DNS SD config queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DnsRecordType {
    /// `SRV` (default).
    Srv,
    /// `A`
    A,
    /// `AAAA`
    Aaaa,
    /// `MX`
    Mx,
    /// `NS`
    Ns,
}

impl DnsRecordType {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::Srv => "SRV",
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Ns => "NS",
        }
    }
}

/// All target sources of one scrape config or Alertmanager config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceDiscovery {
    /// `static_configs`.
    pub static_configs: Vec<TargetGroup>,
    /// `file_sd_configs`.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// `dns_sd_configs`.
    pub dns_sd_configs: Vec<DnsSdConfig>,
    /// Keys of service-discovery kinds that were configured but that Ember does not run
    /// yet, e.g. `kubernetes_sd_configs`.
    pub unsupported: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStaticConfig {
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    targets: Vec<String>,
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileSdConfig {
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    files: Vec<String>,
    #[serde(default)]
    refresh_interval: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDnsSdConfig {
    #[serde(default, deserialize_with = "crate::raw::null_as_default")]
    names: Vec<String>,
    #[serde(default, rename = "type")]
    record_type: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    refresh_interval: Option<RawDuration>,
}

/// The service-discovery fields lifted out of a raw section by `take_service_discovery`.
#[derive(Debug, Default)]
pub(crate) struct RawServiceDiscovery {
    pub(crate) static_configs: Vec<Entry<RawStaticConfig>>,
    pub(crate) file_sd_configs: Vec<Entry<RawFileSdConfig>>,
    pub(crate) dns_sd_configs: Vec<Entry<RawDnsSdConfig>>,
    pub(crate) unsupported: Vec<String>,
}

impl RawServiceDiscovery {
    pub(crate) fn resolve(
        self,
        dir: &BaseDir,
        names: NameValidation,
    ) -> Result<ServiceDiscovery, Violation> {
        let mut static_configs = Vec::new();
        for (index, raw) in self.static_configs.into_iter().enumerate() {
            let (raw, position) = entry(raw, "empty or null section in static_configs")?;
            let labels = group_labels(raw.labels, names).map_err(|v| v.at(position))?;
            static_configs.push(TargetGroup {
                targets: raw.targets,
                labels,
                source: index.to_string(),
            });
        }
        let mut file_sd_configs = Vec::new();
        for raw in self.file_sd_configs {
            let (raw, position) = entry(raw, "empty or null section in file_sd_configs")?;
            file_sd_configs.push(resolve_file_sd(raw, dir).map_err(|v| v.at(position))?);
        }
        let mut dns_sd_configs = Vec::new();
        for raw in self.dns_sd_configs {
            let (raw, position) = entry(raw, "empty or null section in dns_sd_configs")?;
            dns_sd_configs.push(resolve_dns_sd(raw).map_err(|v| v.at(position))?);
        }
        Ok(ServiceDiscovery {
            static_configs,
            file_sd_configs,
            dns_sd_configs,
            unsupported: self.unsupported,
        })
    }
}

impl ServiceDiscovery {
    /// Checks static targets for URLs, as Prometheus does when no relabelling could
    /// rewrite them.
    pub(crate) fn check_static_addresses(&self) -> Result<(), Violation> {
        self.static_configs
            .iter()
            .try_for_each(check_target_addresses)
    }
}

/// Rejects target addresses that contain a `/` (a URL instead of `host:port`).
pub(crate) fn check_target_addresses(group: &TargetGroup) -> Result<(), Violation> {
    match group.targets.iter().find(|t| t.contains('/')) {
        Some(target) => violation(format!("{target:?} is not a valid hostname")),
        None => Ok(()),
    }
}

fn group_labels(
    labels: BTreeMap<String, String>,
    names: NameValidation,
) -> Result<Labels, Violation> {
    if let Some(name) = labels.keys().find(|n| !names.is_valid_label_name(n)) {
        return violation(format!("{name:?} is not a valid label name"));
    }
    Ok(Labels::from_pairs(labels))
}

/// True for a file SD path: `*` only in the last element, and a JSON or YAML extension.
fn is_file_sd_path(path: &str) -> bool {
    let extension_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"]
        .iter()
        .any(|ext| path.ends_with(ext));
    extension_ok && crate::raw::stars_only_in_last_element(path)
}

fn resolve_file_sd(raw: RawFileSdConfig, dir: &BaseDir) -> Result<FileSdConfig, Violation> {
    if raw.files.is_empty() {
        return violation("file service discovery config must contain at least one path name");
    }
    if let Some(bad) = raw.files.iter().find(|f| !is_file_sd_path(f)) {
        return violation(format!("path name {bad:?} is not valid for file discovery"));
    }
    Ok(FileSdConfig {
        files: raw.files.into_iter().map(|f| dir.glob(f)).collect(),
        refresh_interval: raw
            .refresh_interval
            .map_or(Duration::from_secs(300), |d| d.0),
    })
}

fn resolve_dns_sd(raw: RawDnsSdConfig) -> Result<DnsSdConfig, Violation> {
    if raw.names.is_empty() {
        return violation("DNS-SD config must contain at least one SRV record name");
    }
    let type_text = raw.record_type.unwrap_or_else(|| "SRV".to_string());
    let record_type = match type_text.to_ascii_uppercase().as_str() {
        "SRV" => DnsRecordType::Srv,
        "A" => DnsRecordType::A,
        "AAAA" => DnsRecordType::Aaaa,
        "MX" => DnsRecordType::Mx,
        "NS" => DnsRecordType::Ns,
        _ => return violation(format!("invalid DNS-SD records type {type_text}")),
    };
    let port = raw.port.unwrap_or(0);
    if record_type != DnsRecordType::Srv && port == 0 {
        return violation("a port is required in DNS-SD configs for all record types except SRV");
    }
    Ok(DnsSdConfig {
        names: raw.names,
        record_type,
        port,
        refresh_interval: raw
            .refresh_interval
            .map_or(Duration::from_secs(30), |d| d.0),
    })
}

/// The format of a file-SD file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetGroupFormat {
    /// `.json`
    Json,
    /// `.yml` / `.yaml`
    Yaml,
}

impl TargetGroupFormat {
    /// The format for `path`'s extension (case-insensitive), if it is a file-SD extension.
    pub fn for_path(path: &Path) -> Option<TargetGroupFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(TargetGroupFormat::Json),
            "yml" | "yaml" => Some(TargetGroupFormat::Yaml),
            _ => None,
        }
    }
}

/// Target groups as JSON (unknown fields ignored, as Go's JSON decoder does).
#[derive(Debug, Deserialize)]
struct JsonTargetGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// One target group as read from a file, before validation.
struct FileTargetGroup {
    labels: BTreeMap<String, String>,
    targets: Vec<String>,
    position: Option<Position>,
}

/// Parses a file-SD document (label names must be legacy names). Each group gets `source`
/// `"{source}:{index}"` and the `__meta_filepath` label set to `source`, as Prometheus's
/// file SD does.
pub fn parse_target_groups(
    text: &str,
    source: &str,
    format: TargetGroupFormat,
) -> Result<Vec<TargetGroup>, ConfigError> {
    let groups = match format {
        TargetGroupFormat::Json => parse_json_groups(text, source)?,
        TargetGroupFormat::Yaml => parse_yaml_groups(text, source)?,
    };
    groups
        .into_iter()
        .enumerate()
        .map(|(index, mut group)| {
            group
                .labels
                .insert(FILE_SD_FILEPATH_LABEL.to_string(), source.to_string());
            let labels = group_labels(group.labels, NameValidation::Legacy).map_err(|v| {
                ConfigError::Parse {
                    source_name: source.to_string(),
                    position: group.position,
                    message: v.message,
                }
            })?;
            Ok(TargetGroup {
                targets: group.targets,
                labels,
                source: format!("{source}:{index}"),
            })
        })
        .collect()
}

fn parse_json_groups(text: &str, source: &str) -> Result<Vec<FileTargetGroup>, ConfigError> {
    let groups: Vec<Option<JsonTargetGroup>> =
        serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            source_name: source.to_string(),
            position: Some(Position {
                line: e.line() as u64,
                column: e.column() as u64,
            }),
            message: strip_json_location(&e),
        })?;
    groups
        .into_iter()
        .map(|g| {
            let g = g.ok_or_else(|| null_group(source, None))?;
            Ok(FileTargetGroup {
                labels: g.labels,
                targets: g.targets,
                position: None,
            })
        })
        .collect()
}

fn parse_yaml_groups(text: &str, source: &str) -> Result<Vec<FileTargetGroup>, ConfigError> {
    let groups: Vec<Entry<RawStaticConfig>> =
        crate::load::parse_yaml::<Option<_>>(text, source)?.unwrap_or_default();
    groups
        .into_iter()
        .map(|g| {
            let position = Position::of(&g);
            let g = g.value.ok_or_else(|| null_group(source, Some(position)))?;
            Ok(FileTargetGroup {
                labels: g.labels,
                targets: g.targets,
                position: Some(position),
            })
        })
        .collect()
}

fn null_group(source: &str, position: Option<Position>) -> ConfigError {
    ConfigError::Parse {
        source_name: source.to_string(),
        position,
        message: "nil target group item found".into(),
    }
}

fn strip_json_location(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix)
        .map(str::to_string)
        .unwrap_or(text)
}

/// Reads a file-SD file; the format follows the extension.
pub fn read_target_groups(path: &Path) -> Result<Vec<TargetGroup>, ConfigError> {
    let source = path.to_string_lossy();
    let format = TargetGroupFormat::for_path(path).ok_or_else(|| ConfigError::Parse {
        source_name: source.to_string(),
        position: None,
        message: format!(
            "invalid file extension: {:?}",
            path.extension().unwrap_or_default().to_string_lossy()
        ),
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse_target_groups(&text, &source, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sd_paths() {
        for ok in [
            "targets.json",
            "dir/*.yml",
            "/abs/x*.yaml",
            "a/b/c.JSON",
            "dir/**.json",
        ] {
            assert!(is_file_sd_path(ok), "{ok}");
        }
        for bad in ["targets.txt", "*/x.yml", "noext"] {
            assert!(!is_file_sd_path(bad), "{bad}");
        }
    }

    #[test]
    fn parses_json_and_yaml_groups() {
        let json = r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}, "extra": 1}]"#;
        let groups = parse_target_groups(json, "sd.json", TargetGroupFormat::Json).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].targets, ["a:1", "b:2"]);
        assert_eq!(groups[0].labels.get("env"), Some("prod"));
        assert_eq!(
            groups[0].labels.get(FILE_SD_FILEPATH_LABEL),
            Some("sd.json")
        );
        assert_eq!(groups[0].source, "sd.json:0");

        let yaml = "- targets: ['c:3']\n- targets: ['d:4']\n  labels: {team: x}\n";
        let groups = parse_target_groups(yaml, "sd.yml", TargetGroupFormat::Yaml).unwrap();
        assert_eq!(groups[1].source, "sd.yml:1");
        assert_eq!(groups[1].labels.get("team"), Some("x"));
        assert!(
            parse_target_groups("", "e.yml", TargetGroupFormat::Yaml)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn rejects_bad_groups() {
        let err = parse_target_groups(
            "- targets: [a]\n  lables: {}\n",
            "x.yml",
            TargetGroupFormat::Yaml,
        )
        .unwrap_err();
        assert_eq!(err.position(), Some(Position { line: 2, column: 3 }));
        let err = parse_target_groups(
            r#"[{"labels": {"1x": "y"}}]"#,
            "x.json",
            TargetGroupFormat::Json,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains(r#""1x" is not a valid label name"#),
            "{err}"
        );
        let err = parse_target_groups("[null]", "x.json", TargetGroupFormat::Json).unwrap_err();
        assert!(err.to_string().contains("nil target group"), "{err}");
        let err = parse_target_groups("[{", "x.json", TargetGroupFormat::Json).unwrap_err();
        assert_eq!(err.position().map(|p| p.line), Some(1));
    }
}
