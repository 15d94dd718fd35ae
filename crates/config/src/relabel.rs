//! `relabel_configs`, `metric_relabel_configs`, `write_relabel_configs` and
//! `alert_relabel_configs`: parsed into [`ember_relabel::RelabelConfig`] with Prometheus's
//! defaults, then checked with [`RelabelConfig::validate`].

use crate::error::{Violation, violation};
use crate::raw::{Entry, entry};
use ember_model::PromRegex;
use ember_relabel::{Action, NameValidation, RelabelConfig};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Option<Vec<String>>,
    #[serde(default)]
    separator: Option<String>,
    /// `None` when absent (default regex), `Some(None)` for an explicit null (empty regex).
    #[serde(default, deserialize_with = "present")]
    regex: Option<Option<String>>,
    #[serde(default)]
    modulus: Option<u64>,
    #[serde(default)]
    target_label: Option<String>,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

/// Marks a field as present even when its value is `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Parses a list of relabel rules; `null_message` is Prometheus's error for a `null` entry.
pub(crate) fn resolve_rules(
    raw: Vec<Entry<RawRelabelConfig>>,
    names: NameValidation,
    null_message: &str,
) -> Result<Vec<RelabelConfig>, Violation> {
    raw.into_iter()
        .map(|e| {
            let (rule, position) = entry(e, null_message)?;
            resolve_rule(rule, names).map_err(|v| v.at(position))
        })
        .collect()
}

fn resolve_rule(raw: RawRelabelConfig, names: NameValidation) -> Result<RelabelConfig, Violation> {
    let action = match raw.action.as_deref() {
        None => Action::Replace,
        Some("") => return violation("relabel action cannot be empty"),
        Some(text) => text
            .parse::<Action>()
            .map_err(|e| Violation::new(e.to_string()))?,
    };
    let mut rule = RelabelConfig::default_for(action);
    rule.name_validation = names;
    if let Some(source_labels) = raw.source_labels {
        if let Some(bad) = source_labels.iter().find(|l| !names.is_valid_label_name(l)) {
            return violation(format!("{bad:?} is not a valid label name"));
        }
        rule.source_labels = source_labels;
    }
    if let Some(regex) = raw.regex {
        rule.regex = PromRegex::new(&regex.unwrap_or_default())
            .map_err(|e| Violation::new(e.to_string()))?;
    }
    rule.separator = raw.separator.unwrap_or(rule.separator);
    rule.modulus = raw.modulus.unwrap_or(rule.modulus);
    rule.target_label = raw.target_label.unwrap_or(rule.target_label);
    rule.replacement = raw.replacement.unwrap_or(rule.replacement);
    rule.validate().map_err(|e| Violation::new(e.to_string()))?;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<RelabelConfig, Violation> {
        let raw: RawRelabelConfig = serde_saphyr::from_str(yaml).expect("test YAML parses");
        resolve_rule(raw, NameValidation::Legacy)
    }

    fn message(yaml: &str) -> String {
        parse(yaml).expect_err("rule should be rejected").message
    }

    #[test]
    fn defaults() {
        let rule = parse("target_label: x").unwrap();
        assert_eq!(rule.action, Action::Replace);
        assert_eq!(rule.separator, ";");
        assert_eq!(rule.regex.as_str(), "(.*)");
        assert_eq!(rule.replacement, "$1");
        assert_eq!(rule.name_validation, NameValidation::Legacy);
        assert!(rule.source_labels.is_empty());
        assert_eq!(
            parse("action: KEEP\nsource_labels: [a]").unwrap().action,
            Action::Keep
        );
        assert_eq!(parse("regex:\naction: keep").unwrap().regex.as_str(), "");
        assert!(parse("target_label: '${1}_x'").is_ok());
        assert!(parse("action: labelmap\nregex: '__meta_(.+)'").is_ok());
        assert!(parse("action: labeldrop\nregex: tmp_.*").is_ok());
        assert!(parse("action: keepequal\nsource_labels: [a]\ntarget_label: b").is_ok());
    }

    #[test]
    fn prometheus_validation_messages() {
        assert_eq!(message("action: foo"), r#"unknown relabel action "foo""#);
        assert_eq!(message("action: ''"), "relabel action cannot be empty");
        assert_eq!(
            message("source_labels: [x]"),
            "relabel configuration for replace action requires 'target_label' value"
        );
        assert_eq!(
            message("action: hashmod\ntarget_label: x"),
            "relabel configuration for hashmod requires non-zero modulus"
        );
        assert_eq!(
            message("target_label: 1x"),
            r#""1x" is invalid 'target_label' for replace action"#
        );
        assert_eq!(
            message("target_label: 'a-$1'"),
            r#""a-$1" is invalid 'target_label' for replace action"#
        );
        assert_eq!(
            message("action: lowercase\ntarget_label: x\nreplacement: y"),
            "'replacement' can not be set for lowercase action"
        );
        assert_eq!(
            message("action: labeldrop\nregex: x\nsource_labels: [a]"),
            "labeldrop action requires only 'regex', and no other fields"
        );
        assert_eq!(
            message("action: dropequal\nsource_labels: [a]\ntarget_label: b\nregex: x"),
            "dropequal action requires only 'source_labels' and `target_label`, and no other fields"
        );
        assert_eq!(
            message("source_labels: [a-b]\ntarget_label: x"),
            r#""a-b" is not a valid label name"#
        );
        assert!(message("regex: '(a'\ntarget_label: x").starts_with("error parsing regexp"));
        assert_eq!(
            message("action: labelmap\nreplacement: '1$1'"),
            r#""1$1" is invalid 'replacement' for labelmap action"#
        );
    }

    #[test]
    fn utf8_names_when_requested() {
        let raw: RawRelabelConfig = serde_saphyr::from_str("target_label: 'a.b'").unwrap();
        assert!(resolve_rule(raw, NameValidation::Utf8).is_ok());
        assert!(parse("target_label: 'a.b'").is_err());
    }
}
