//! Shorthand for writing relabel rules in tests.

use ember_model::PromRegex;
use ember_relabel::{Action, NameValidation, RelabelConfig};

/// A rule under construction; fields not set keep Prometheus's defaults.
pub(crate) struct Rule(RelabelConfig);

/// Starts a rule for `action`.
pub(crate) fn rule(action: Action) -> Rule {
    Rule(RelabelConfig::default_for(action))
}

impl Rule {
    pub(crate) fn source(mut self, names: &[&str]) -> Self {
        self.0.source_labels = names.iter().map(|n| n.to_string()).collect();
        self
    }

    pub(crate) fn separator(mut self, separator: &str) -> Self {
        self.0.separator = separator.to_string();
        self
    }

    pub(crate) fn regex(mut self, pattern: &str) -> Self {
        self.0.regex = PromRegex::new(pattern).unwrap_or_else(|e| panic!("regex {pattern:?}: {e}"));
        self
    }

    pub(crate) fn modulus(mut self, modulus: u64) -> Self {
        self.0.modulus = modulus;
        self
    }

    pub(crate) fn target(mut self, target_label: &str) -> Self {
        self.0.target_label = target_label.to_string();
        self
    }

    pub(crate) fn replacement(mut self, replacement: &str) -> Self {
        self.0.replacement = replacement.to_string();
        self
    }

    /// Prometheus 2's label-name rule instead of UTF-8.
    pub(crate) fn legacy_names(mut self) -> Self {
        self.0.name_validation = NameValidation::Legacy;
        self
    }

    /// The rule as built; callers decide whether it must validate.
    pub(crate) fn build(self) -> RelabelConfig {
        self.0
    }
}

/// Rules Prometheus 3 accepts.
pub(crate) fn valid_rules() -> Vec<RelabelConfig> {
    use Action::*;
    vec![
        rule(Keep).build(),
        rule(Drop).build(),
        rule(LabelMap).build(),
        rule(LabelDrop).build(),
        rule(LabelKeep).build(),
        rule(Replace).target("t").build(),
        rule(HashMod).target("t").modulus(3).build(),
        rule(Lowercase).target("t").build(),
        rule(Uppercase).target("t").build(),
        rule(KeepEqual).source(&["a"]).target("t").build(),
        rule(DropEqual).source(&["a"]).target("t").build(),
        // UTF-8 names (Prometheus 3) allow what legacy names reject.
        rule(Replace).target("0${3}").build(),
        rule(Replace).target("-${3}").build(),
        rule(Replace).target("foo-bar").build(),
        rule(Lowercase).target("${3}").build(),
        rule(HashMod).target("a.b").modulus(2).build(),
        rule(LabelMap).replacement("a-$1").build(),
        // Legacy names allow `$` references in replace targets and labelmap replacements.
        rule(Replace).target("${1}").legacy_names().build(),
        rule(Replace).target("foo_${bar}_$2").legacy_names().build(),
        rule(LabelMap)
            .regex("__meta_(.+)")
            .replacement("${1}")
            .legacy_names()
            .build(),
    ]
}

/// Rules Prometheus rejects, with its error message.
pub(crate) fn invalid_rules() -> Vec<(RelabelConfig, &'static str)> {
    use Action::*;
    vec![
        (
            rule(HashMod).target("t").build(),
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            rule(Replace).build(),
            "relabel configuration for replace action requires 'target_label' value",
        ),
        (
            rule(HashMod).modulus(1).build(),
            "relabel configuration for hashmod action requires 'target_label' value",
        ),
        (
            rule(Lowercase).build(),
            "relabel configuration for lowercase action requires 'target_label' value",
        ),
        (
            rule(Uppercase).build(),
            "relabel configuration for uppercase action requires 'target_label' value",
        ),
        (
            rule(KeepEqual).source(&["a"]).build(),
            "relabel configuration for keepequal action requires 'target_label' value",
        ),
        (
            rule(DropEqual).source(&["a"]).build(),
            "relabel configuration for dropequal action requires 'target_label' value",
        ),
        (
            rule(Replace).target("foo-bar").legacy_names().build(),
            r#""foo-bar" is invalid 'target_label' for replace action"#,
        ),
        (
            rule(Replace).target("-${1}").legacy_names().build(),
            r#""-${1}" is invalid 'target_label' for replace action"#,
        ),
        (
            rule(Lowercase).target("${3}").legacy_names().build(),
            r#""${3}" is invalid 'target_label' for lowercase action"#,
        ),
        (
            rule(KeepEqual).target("a.b").legacy_names().build(),
            r#""a.b" is invalid 'target_label' for keepequal action"#,
        ),
        (
            rule(HashMod)
                .target("a.b")
                .modulus(2)
                .legacy_names()
                .build(),
            r#""a.b" is invalid 'target_label' for hashmod action"#,
        ),
        (
            rule(Lowercase).target("t").replacement("x").build(),
            "'replacement' can not be set for lowercase action",
        ),
        (
            rule(Uppercase).target("t").replacement("x").build(),
            "'replacement' can not be set for uppercase action",
        ),
        (
            rule(KeepEqual).target("t").replacement("x").build(),
            "'replacement' can not be set for keepequal action",
        ),
        (
            rule(LabelMap).replacement("").build(),
            r#""" is invalid 'replacement' for labelmap action"#,
        ),
        (
            rule(LabelMap).replacement("a-$1").legacy_names().build(),
            r#""a-$1" is invalid 'replacement' for labelmap action"#,
        ),
        (
            rule(KeepEqual).target("t").regex("x").build(),
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            rule(DropEqual).target("t").separator(",").build(),
            "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            rule(DropEqual).target("t").modulus(2).build(),
            "dropequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            rule(LabelDrop).source(&["a"]).build(),
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            rule(LabelKeep).target("t").build(),
            "labelkeep action requires only 'regex', and no other fields",
        ),
        (
            rule(LabelKeep).separator(",").build(),
            "labelkeep action requires only 'regex', and no other fields",
        ),
        (
            rule(LabelDrop).replacement("x").build(),
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            rule(LabelDrop).modulus(4).build(),
            "labeldrop action requires only 'regex', and no other fields",
        ),
    ]
}
