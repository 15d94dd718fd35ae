//! Relabel rules: actions, defaults and Prometheus's load-time validation.

use crate::case::go_lowercase;
use ember_model::{PromRegex, is_valid_label_name};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// A relabel action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `replace` (default): write the expanded `replacement` to the expanded
    /// `target_label` when `regex` matches the joined source values.
    Replace,
    /// `keep`: drop the label set unless `regex` matches the joined source values.
    Keep,
    /// `drop`: drop the label set when `regex` matches the joined source values.
    Drop,
    /// `keepequal`: drop the label set unless the joined source values equal the
    /// value of `target_label`.
    KeepEqual,
    /// `dropequal`: drop the label set when the joined source values equal the value
    /// of `target_label`.
    DropEqual,
    /// `hashmod`: set `target_label` to the MD5 of the joined source values, modulo
    /// `modulus`.
    HashMod,
    /// `labelmap`: for every label name `regex` matches, copy the value to the name
    /// given by the expanded `replacement`.
    LabelMap,
    /// `labeldrop`: remove every label whose name `regex` matches.
    LabelDrop,
    /// `labelkeep`: remove every label whose name `regex` does not match.
    LabelKeep,
    /// `lowercase`: set `target_label` to the lowercased joined source values.
    Lowercase,
    /// `uppercase`: set `target_label` to the uppercased joined source values.
    Uppercase,
}

impl Action {
    /// Every action with its configuration name.
    const NAMES: [(Action, &'static str); 11] = [
        (Action::Replace, "replace"),
        (Action::Keep, "keep"),
        (Action::Drop, "drop"),
        (Action::KeepEqual, "keepequal"),
        (Action::DropEqual, "dropequal"),
        (Action::HashMod, "hashmod"),
        (Action::LabelMap, "labelmap"),
        (Action::LabelDrop, "labeldrop"),
        (Action::LabelKeep, "labelkeep"),
        (Action::Lowercase, "lowercase"),
        (Action::Uppercase, "uppercase"),
    ];

    /// The name used in configuration files, e.g. `"hashmod"`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(action, _)| *action == self)
            .map(|(_, name)| *name)
            .expect("every action has a name")
    }

    /// Actions that read or write `target_label` and so require one.
    fn uses_target_label(self) -> bool {
        matches!(
            self,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        )
    }

    /// Actions that reject a `replacement` (Prometheus does not check `hashmod`'s).
    fn rejects_replacement(self) -> bool {
        matches!(
            self,
            Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = ConfigError;

    /// Parses a configuration name. Like Prometheus, the name is lowercased first, so
    /// `Replace` and `KEEP` are accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = go_lowercase(s);
        Self::NAMES
            .iter()
            .find(|(_, name)| *name == lower)
            .map(|(action, _)| *action)
            .ok_or_else(|| ConfigError::UnknownAction(s.to_string()))
    }
}

/// Which label names rules may produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameValidation {
    /// Any non-empty UTF-8 name: Prometheus 3's default.
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*`: Prometheus 2, or Prometheus 3 with
    /// `metric_name_validation_scheme: legacy`.
    Legacy,
}

/// Prometheus's legacy rule for a name template: legacy name characters and `$` references,
/// not starting with a digit.
static LEGACY_NAME_TEMPLATE: LazyLock<regex::Regex> = LazyLock::new(|| {
    let reference = r"\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+)";
    regex::Regex::new(&format!(
        "^(?:[A-Za-z_]|{reference})(?:[0-9A-Za-z_]|{reference})*$"
    ))
    .expect("template pattern compiles")
});

impl NameValidation {
    /// True when `name` is an acceptable label name.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_valid_label_name(name),
        }
    }

    /// True when `template` (with `$` references) may expand to a valid name.
    fn is_valid_name_template(self, template: &str) -> bool {
        match self {
            NameValidation::Utf8 => self.is_valid_label_name(template),
            NameValidation::Legacy => LEGACY_NAME_TEMPLATE.is_match(template),
        }
    }
}

/// Why a relabel rule is rejected; the messages are Prometheus's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The action name is not one of Prometheus's.
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    /// `hashmod` with `modulus: 0`.
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    /// An action that needs `target_label` has none.
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTargetLabel(Action),
    /// `target_label` is not a valid label name (or name template, for `replace`).
    #[error("{target_label:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        /// The offending `target_label`.
        target_label: String,
        /// The rule's action.
        action: Action,
    },
    /// `replacement` set for an action that does not use it.
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(Action),
    /// A `labelmap` replacement that cannot produce a valid label name.
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        /// The offending `replacement`.
        replacement: String,
        /// The rule's action.
        action: Action,
    },
    /// `keepequal`/`dropequal` with a field other than `source_labels` and `target_label`.
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    EqualityExtraFields(Action),
    /// `labeldrop`/`labelkeep` with a field other than `regex`.
    #[error("{0} action requires only 'regex', and no other fields")]
    LabelFilterExtraFields(Action),
}

/// One relabel rule. Build it from [`RelabelConfig::default_for`] so that fields the
/// configuration leaves out carry Prometheus's defaults, then check it with
/// [`RelabelConfig::validate`] before handing it to [`crate::process`].
#[derive(Clone, Debug, PartialEq)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator`; an absent label joins as `""`.
    pub source_labels: Vec<String>,
    /// Separator for joined source values (default `;`).
    pub separator: String,
    /// Anchored regex (default `(.*)`). A configuration that gives `regex` without a
    /// value (YAML null) means the empty regex, which matches only `""`.
    pub regex: PromRegex,
    /// Modulus for `hashmod` (default 0, which `hashmod` rejects).
    pub modulus: u64,
    /// Target label for `replace` (a template there), `hashmod`, `lowercase`,
    /// `uppercase`, `keepequal` and `dropequal`.
    pub target_label: String,
    /// Replacement template (default `$1`) for `replace` and `labelmap`.
    pub replacement: String,
    /// The action (default `replace`).
    pub action: Action,
    /// Which names `target_label`, `replacement` and the `replace` result may be
    /// (default UTF-8). Prometheus takes it from the scrape configuration's
    /// `metric_name_validation_scheme`.
    pub name_validation: NameValidation,
}

impl Default for RelabelConfig {
    /// Prometheus's defaults: a `replace` rule with no target yet.
    fn default() -> Self {
        RelabelConfig::default_for(Action::Replace)
    }
}

impl RelabelConfig {
    /// Default `separator`.
    pub const DEFAULT_SEPARATOR: &str = ";";
    /// Default `regex`.
    pub const DEFAULT_REGEX: &str = "(.*)";
    /// Default `replacement`.
    pub const DEFAULT_REPLACEMENT: &str = "$1";

    /// A rule for `action` with every other field at Prometheus's default.
    pub fn default_for(action: Action) -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: Self::DEFAULT_SEPARATOR.to_string(),
            regex: PromRegex::new(Self::DEFAULT_REGEX).expect("default regex compiles"),
            modulus: 0,
            target_label: String::new(),
            replacement: Self::DEFAULT_REPLACEMENT.to_string(),
            action,
            name_validation: NameValidation::default(),
        }
    }

    /// Prometheus's checks when loading a rule, in Prometheus's order, so the first
    /// error reported is the one Prometheus reports.
    ///
    /// Prometheus tells an omitted `regex` from an explicit `regex: (.*)` (only the first
    /// is allowed for `keepequal`/`dropequal`), and an omitted `source_labels` from an
    /// explicit empty list (only the first is allowed for `labeldrop`/`labelkeep`);
    /// these fields cannot tell, so both forms are accepted here.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let action = self.action;
        let names = self.name_validation;
        if action == Action::HashMod && self.modulus == 0 {
            return Err(ConfigError::ZeroModulus);
        }
        if action.uses_target_label() && self.target_label.is_empty() {
            return Err(ConfigError::MissingTargetLabel(action));
        }
        let target_is_valid = match action {
            Action::Replace if self.target_label.contains('$') => {
                names.is_valid_name_template(&self.target_label)
            }
            action if action.uses_target_label() => names.is_valid_label_name(&self.target_label),
            _ => true,
        };
        if !target_is_valid {
            return Err(ConfigError::InvalidTargetLabel {
                target_label: self.target_label.clone(),
                action,
            });
        }
        if action.rejects_replacement() && self.replacement != Self::DEFAULT_REPLACEMENT {
            return Err(ConfigError::ReplacementNotAllowed(action));
        }
        if action == Action::LabelMap && !names.is_valid_name_template(&self.replacement) {
            return Err(ConfigError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action,
            });
        }
        let shared_fields_are_default = self.modulus == 0
            && self.separator == Self::DEFAULT_SEPARATOR
            && self.replacement == Self::DEFAULT_REPLACEMENT;
        if matches!(action, Action::KeepEqual | Action::DropEqual)
            && (self.regex.as_str() != Self::DEFAULT_REGEX || !shared_fields_are_default)
        {
            return Err(ConfigError::EqualityExtraFields(action));
        }
        if matches!(action, Action::LabelDrop | Action::LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || !shared_fields_are_default)
        {
            return Err(ConfigError::LabelFilterExtraFields(action));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for (action, name) in Action::NAMES {
            assert_eq!(action.to_string(), name);
            assert_eq!(name.parse::<Action>(), Ok(action));
        }
        assert_eq!("LabelMap".parse::<Action>(), Ok(Action::LabelMap));
        assert_eq!(
            "copy".parse::<Action>().unwrap_err().to_string(),
            r#"unknown relabel action "copy""#
        );
    }

    #[test]
    fn legacy_name_templates() {
        for (template, valid) in [
            ("-label", false),
            ("label", true),
            ("label${1}", true),
            ("${1}label", true),
            ("${1}", true),
            ("${", false),
            ("$", false),
            ("${}", false),
            ("foo${", false),
            ("$1", true),
            ("asd$2asd", true),
            ("-foo${1}bar-", false),
            ("bar.foo${1}bar", false),
            ("_${1}_", true),
            ("foo${bar}foo", true),
            ("1abc", false),
            ("a$", false),
        ] {
            assert_eq!(
                NameValidation::Legacy.is_valid_name_template(template),
                valid,
                "{template:?}"
            );
        }
    }
}
