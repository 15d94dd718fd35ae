//! Applying relabel rules to a label set.

use crate::case::{go_lowercase, go_uppercase};
use crate::template::expand;
use crate::{Action, RelabelConfig};
use ember_model::{Label, Labels, LabelsBuilder};
use md5::{Digest, Md5};
use std::collections::HashSet;

/// Applies `rules` in order. Returns `None` when a rule drops the label set.
///
/// The rules must have passed [`RelabelConfig::validate`]; a `hashmod` rule with
/// modulus 0 panics, as it does in Prometheus.
pub fn process(labels: &Labels, rules: &[RelabelConfig]) -> Option<Labels> {
    let mut set = WorkingSet::new(labels);
    for rule in rules {
        if !apply(rule, &mut set) {
            return None;
        }
    }
    Some(set.labels.build())
}

/// Applies one rule; false when it drops the label set.
fn apply(rule: &RelabelConfig, set: &mut WorkingSet) -> bool {
    let source: Vec<&str> = rule
        .source_labels
        .iter()
        .map(|name| set.get(name))
        .collect();
    let value = source.join(&rule.separator);
    match rule.action {
        Action::Keep => return rule.regex.is_match(&value),
        Action::Drop => return !rule.regex.is_match(&value),
        Action::KeepEqual => return set.get(&rule.target_label) == value,
        Action::DropEqual => return set.get(&rule.target_label) != value,
        Action::Replace => replace(rule, &value, set),
        Action::Lowercase => set.set(rule.target_label.clone(), go_lowercase(&value)),
        Action::Uppercase => set.set(rule.target_label.clone(), go_uppercase(&value)),
        Action::HashMod => set.set(
            rule.target_label.clone(),
            hash_mod(&value, rule.modulus).to_string(),
        ),
        Action::LabelMap => {
            for label in set.snapshot() {
                if let Some(groups) = rule.regex.captures(&label.name) {
                    set.set(expand(&rule.replacement, &groups), label.value);
                }
            }
        }
        Action::LabelDrop => {
            set.labels.retain(|label| !rule.regex.is_match(&label.name));
        }
        Action::LabelKeep => {
            set.labels.retain(|label| rule.regex.is_match(&label.name));
        }
    }
    true
}

/// `replace`: on a match, write the expanded replacement to the expanded target; an
/// empty replacement deletes the target, an invalid target name skips the rule.
fn replace(rule: &RelabelConfig, value: &str, set: &mut WorkingSet) {
    let Some(groups) = rule.regex.captures(value) else {
        return;
    };
    let target = expand(&rule.target_label, &groups);
    if rule.name_validation.is_valid_label_name(&target) {
        set.set(target, expand(&rule.replacement, &groups));
    }
}

/// Prometheus's shard number: the last 8 bytes of the MD5 digest as a big-endian
/// integer, modulo `modulus`.
fn hash_mod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let tail: [u8; 8] = digest[8..].try_into().expect("an MD5 digest has 16 bytes");
    u64::from_be_bytes(tail) % modulus
}

/// The label set while rules run.
///
/// It iterates like Prometheus 3's `labels.Builder`, which `labelmap` walks: input
/// labels that no rule has written, in name order, then written labels in the order
/// they were first written. When `labelmap` maps two names to one, the later one in
/// this order wins, so the order is part of the result.
struct WorkingSet {
    labels: LabelsBuilder,
    /// Names written by a rule; a label not in here keeps its input position.
    written: HashSet<String>,
}

impl WorkingSet {
    fn new(labels: &Labels) -> Self {
        WorkingSet {
            labels: labels.to_builder(),
            written: HashSet::new(),
        }
    }

    /// The value of `name`, `""` when absent.
    fn get(&self, name: &str) -> &str {
        self.labels.get(name).unwrap_or("")
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    fn set(&mut self, name: String, value: String) {
        if !value.is_empty() && !self.written.contains(&name) {
            // The first write moves the label behind the unwritten input labels.
            self.labels.del(&name);
            self.written.insert(name.clone());
        }
        self.labels.set(name, value);
    }

    /// The labels in iteration order, detached so rules can write while walking them.
    fn snapshot(&self) -> Vec<Label> {
        self.labels.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_mod_matches_prometheus() {
        // Values from Prometheus's own relabel tests.
        assert_eq!(hash_mod("baz", 1000), 976);
        assert_eq!(hash_mod("foo\nbar", 1000), 734);
        assert_eq!(hash_mod("anything", 1), 0);
    }

    #[test]
    fn first_write_moves_label_behind_input_labels() {
        let mut set = WorkingSet::new(&Labels::from_pairs([("a", "1"), ("b", "2"), ("c", "3")]));
        set.set("a".into(), "10".into());
        set.set("d".into(), "4".into());
        set.set("a".into(), "11".into());
        let order: Vec<_> = set
            .snapshot()
            .into_iter()
            .map(|l| (l.name, l.value))
            .collect();
        let expected = [("b", "2"), ("c", "3"), ("a", "11"), ("d", "4")];
        assert_eq!(order, expected.map(|(n, v)| (n.to_string(), v.to_string())));
    }
}
