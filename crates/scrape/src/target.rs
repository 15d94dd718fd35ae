//! Targets: turning discovered label sets into scrape targets (Prometheus's
//! `PopulateLabels`), and the per-target state the API shows.

use ember_model::{Labels, LabelsBuilder, Timestamp};
use ember_relabel::RelabelConfig;
use std::sync::Mutex;
use std::time::Duration;

/// The labels Prometheus attaches before relabelling.
pub const ADDRESS_LABEL: &str = "__address__";
/// Scheme label.
pub const SCHEME_LABEL: &str = "__scheme__";
/// Metrics path label.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// Interval label.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// Timeout label.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of URL parameter labels.
pub const PARAM_LABEL_PREFIX: &str = "__param_";

/// Pool-level inputs to target label population.
pub struct PoolDefaults<'a> {
    /// The job name.
    pub job_name: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The metrics path.
    pub metrics_path: &'a str,
    /// Interval, already in Prometheus's duration syntax.
    pub scrape_interval: &'a str,
    /// Timeout, already in Prometheus's duration syntax.
    pub scrape_timeout: &'a str,
    /// `params`: the first value of each becomes a `__param_<name>` label.
    pub params: &'a [(String, Vec<String>)],
    /// `relabel_configs`.
    pub relabel: &'a [RelabelConfig],
}

/// The outcome of populating one discovered target.
#[derive(Debug, PartialEq)]
pub enum Populated {
    /// A target to scrape: final labels (with `__`-labels still present for URL building).
    Active {
        /// Final labels, `__`-labels included.
        labels: Labels,
        /// Labels before relabelling.
        discovered: Labels,
    },
    /// Dropped by relabelling.
    Dropped {
        /// Labels before relabelling.
        discovered: Labels,
    },
}

/// Applies Prometheus's label population: pool defaults (where the target does not set
/// them), relabelling, then checks and the `instance` default.
pub fn populate_labels(
    target: &Labels,
    group: &Labels,
    pool: &PoolDefaults<'_>,
) -> Result<Populated, String> {
    let mut b = LabelsBuilder::default();
    for l in group.iter().chain(target.iter()) {
        b.set(l.name.clone(), l.value.clone());
    }
    let defaults = [
        ("job", pool.job_name),
        (SCHEME_LABEL, pool.scheme),
        (METRICS_PATH_LABEL, pool.metrics_path),
        (SCRAPE_INTERVAL_LABEL, pool.scrape_interval),
        (SCRAPE_TIMEOUT_LABEL, pool.scrape_timeout),
    ];
    for (name, value) in defaults {
        if b.get(name).is_none() {
            b.set(name, value);
        }
    }
    for (name, values) in pool.params {
        let label = format!("{PARAM_LABEL_PREFIX}{name}");
        if b.get(&label).is_none() {
            if let Some(first) = values.first() {
                b.set(label, first.clone());
            }
        }
    }
    let discovered = b.build();
    let Some(relabelled) = ember_relabel::process(&discovered, pool.relabel) else {
        return Ok(Populated::Dropped { discovered });
    };
    let address = relabelled.get(ADDRESS_LABEL).unwrap_or_default();
    if address.is_empty() {
        return Err("no address".into());
    }
    if address.contains('/') {
        return Err(format!("{address:?} is not a valid hostname"));
    }
    for (label, name) in [
        (SCRAPE_INTERVAL_LABEL, "interval"),
        (SCRAPE_TIMEOUT_LABEL, "timeout"),
    ] {
        let value = relabelled.get(label).unwrap_or_default();
        match ember_config::parse_duration(value) {
            Ok(d) if d.is_zero() => return Err(format!("scrape {name} cannot be 0")),
            Ok(_) => {}
            Err(e) => return Err(format!("error parsing scrape {name}: {e}")),
        }
    }
    let interval = relabelled
        .get(SCRAPE_INTERVAL_LABEL)
        .and_then(|v| ember_config::parse_duration(v).ok());
    let timeout = relabelled
        .get(SCRAPE_TIMEOUT_LABEL)
        .and_then(|v| ember_config::parse_duration(v).ok());
    if let (Some(i), Some(t)) = (interval, timeout) {
        if t > i {
            return Err(format!(
                "scrape timeout cannot be greater than scrape interval ({:?} > {:?})",
                ember_config::format_duration(t),
                ember_config::format_duration(i)
            ));
        }
    }
    // Labels starting with `__meta_` never survive; `instance` defaults to the address.
    let mut out = relabelled.to_builder();
    out.retain(|l| !l.name.starts_with("__meta_"));
    if out.get("instance").is_none() {
        out.set("instance", address.to_string());
    }
    Ok(Populated::Active {
        labels: out.build(),
        discovered,
    })
}

/// The labels stored with every scraped series: the final labels without `__`-labels.
pub fn public_labels(labels: &Labels) -> Labels {
    let mut b = labels.to_builder();
    b.retain(|l| !l.name.starts_with("__"));
    b.build()
}

/// The URL to scrape: scheme, address and path from labels, `params` overridden by
/// `__param_*` labels.
pub fn scrape_url(labels: &Labels, params: &[(String, Vec<String>)]) -> String {
    let scheme = labels.get(SCHEME_LABEL).unwrap_or("http");
    let address = labels.get(ADDRESS_LABEL).unwrap_or_default();
    let path = labels.get(METRICS_PATH_LABEL).unwrap_or("/metrics");
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, values) in params {
        let label = format!("{PARAM_LABEL_PREFIX}{name}");
        match labels.get(&label) {
            Some(v) => query.push((name.clone(), v.to_string())),
            None => query.extend(values.iter().map(|v| (name.clone(), v.clone()))),
        }
    }
    for l in labels.iter() {
        if let Some(name) = l.name.strip_prefix(PARAM_LABEL_PREFIX) {
            if !params.iter().any(|(n, _)| n == name) {
                query.push((name.to_string(), l.value.clone()));
            }
        }
    }
    let mut url = format!("{scheme}://{address}{path}");
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        let encoded: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", url_escape(k), url_escape(v)))
            .collect();
        url.push_str(&encoded.join("&"));
    }
    url
}

fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Health of the last scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Health {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// Last scrape succeeded.
    Up,
    /// Last scrape failed.
    Down,
}

/// What the last scrape of a target did.
#[derive(Clone, Debug, Default)]
pub struct TargetStatus {
    /// Health of the last scrape.
    pub health: Health,
    /// Error text of the last scrape; empty when it succeeded.
    pub last_error: String,
    /// Start of the last scrape.
    pub last_scrape_ms: Option<Timestamp>,
    /// Duration of the last scrape.
    pub last_duration: Duration,
}

/// A scrape target: identity plus the status its loop updates.
#[derive(Debug)]
pub struct Target {
    /// Final labels, `__`-labels included (scheme, address, path, params).
    pub labels: Labels,
    /// Labels before relabelling.
    pub discovered: Labels,
    /// The URL scraped.
    pub url: String,
    /// Labels attached to every scraped series.
    pub public_labels: Labels,
    status: Mutex<TargetStatus>,
    /// Metric family metadata from the target's exposition, by family name.
    metadata: Mutex<std::sync::Arc<std::collections::BTreeMap<String, ember_storage::Metadata>>>,
}

impl Target {
    /// A target that has not been scraped yet.
    pub fn new(labels: Labels, discovered: Labels, params: &[(String, Vec<String>)]) -> Self {
        let url = scrape_url(&labels, params);
        let public_labels = public_labels(&labels);
        Target {
            labels,
            discovered,
            url,
            public_labels,
            status: Mutex::default(),
            metadata: Mutex::default(),
        }
    }

    /// The status of the last scrape.
    pub fn status(&self) -> TargetStatus {
        self.status.lock().expect("target status lock").clone()
    }

    /// The metric family metadata the target exposes (`# TYPE`, `# HELP`, `# UNIT`).
    pub fn metadata(
        &self,
    ) -> std::sync::Arc<std::collections::BTreeMap<String, ember_storage::Metadata>> {
        self.metadata.lock().expect("target metadata lock").clone()
    }

    pub(crate) fn set_metadata(
        &self,
        metadata: std::collections::BTreeMap<String, ember_storage::Metadata>,
    ) {
        *self.metadata.lock().expect("target metadata lock") = std::sync::Arc::new(metadata);
    }

    pub(crate) fn set_status(&self, status: TargetStatus) {
        *self.status.lock().expect("target status lock") = status;
    }

    /// A stable hash of the target's identity, used to spread scrape start offsets.
    pub fn offset_hash(&self) -> u64 {
        // FNV-1a over labels and URL: stable across restarts, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self
            .public_labels
            .to_string()
            .bytes()
            .chain(self.url.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool<'a>(params: &'a [(String, Vec<String>)]) -> PoolDefaults<'a> {
        PoolDefaults {
            job_name: "node",
            scheme: "http",
            metrics_path: "/metrics",
            scrape_interval: "15s",
            scrape_timeout: "10s",
            params,
            relabel: &[],
        }
    }

    #[test]
    fn population_adds_defaults_and_instance() {
        let target = Labels::from_pairs([(ADDRESS_LABEL, "h:9100")]);
        let group = Labels::from_pairs([("env", "prod"), ("__meta_x", "y")]);
        let params = vec![("module".to_string(), vec!["a".to_string(), "b".to_string()])];
        let Populated::Active { labels, discovered } =
            populate_labels(&target, &group, &pool(&params)).unwrap()
        else {
            panic!("target dropped")
        };
        assert_eq!(discovered.get("__meta_x"), Some("y"));
        assert_eq!(labels.get("__meta_x"), None);
        assert_eq!(labels.get("instance"), Some("h:9100"));
        assert_eq!(labels.get("__param_module"), Some("a"));
        let t = Target::new(labels, discovered, &params);
        assert_eq!(t.url, "http://h:9100/metrics?module=a");
        assert_eq!(
            t.public_labels,
            Labels::from_pairs([("env", "prod"), ("instance", "h:9100"), ("job", "node")])
        );
    }

    #[test]
    fn missing_address_is_an_error() {
        let err = populate_labels(&Labels::empty(), &Labels::empty(), &pool(&[])).unwrap_err();
        assert_eq!(err, "no address");
    }
}
