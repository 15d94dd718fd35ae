//! Prometheus relabelling (`relabel_configs`, `metric_relabel_configs`).
//!
//! [`RelabelConfig`] is one rule; [`RelabelConfig::default_for`] gives Prometheus's
//! defaults and [`RelabelConfig::validate`] Prometheus's load-time checks, with the same
//! error texts. [`process`] applies a list of validated rules to a label set and returns
//! `None` when a rule drops it.
//!
//! Semantics follow Prometheus 3: regexes are `^(?s:…)$` ([`ember_model::PromRegex`]),
//! label names are UTF-8 unless a rule asks for [`NameValidation::Legacy`], templates
//! (`$1`, `${name}`, `$$`) expand like Go's `regexp.Expand`, and `lowercase`/`uppercase`
//! map case character by character like Go's `strings.ToLower`/`ToUpper`.
//!
//! Invariant: pure functions of (labels, rules); no I/O, no YAML.
#![deny(missing_docs)]

mod case;
mod config;
mod process;
mod template;

pub use config::{Action, ConfigError, NameValidation, RelabelConfig};
pub use process::process;
