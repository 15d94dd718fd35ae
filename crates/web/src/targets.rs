use ember_model::Labels;

/// Health of a target's last scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetHealth {
    /// Not scraped yet.
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl TargetHealth {
    /// Prometheus's API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetHealth::Unknown => "unknown",
            TargetHealth::Up => "up",
            TargetHealth::Down => "down",
        }
    }
}

/// One active target as `/api/v1/targets` shows it.
#[derive(Clone, Debug)]
pub struct TargetView {
    /// Labels before relabelling.
    pub discovered_labels: Labels,
    /// Labels after relabelling.
    pub labels: Labels,
    /// The job name.
    pub scrape_pool: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// The URL as seen from outside (same as scrape_url for us).
    pub global_url: String,
    /// The last scrape's error, empty when it succeeded.
    pub last_error: String,
    /// When the last scrape started (Unix ms), `None` before the first.
    pub last_scrape_ms: Option<i64>,
    /// How long the last scrape took, in seconds.
    pub last_scrape_duration_seconds: f64,
    /// Health of the last scrape.
    pub health: TargetHealth,
    /// The scrape interval, in Prometheus's duration syntax.
    pub scrape_interval: String,
    /// The scrape timeout, in Prometheus's duration syntax.
    pub scrape_timeout: String,
    /// Metric family metadata the target exposes, by family name.
    pub metadata: std::sync::Arc<std::collections::BTreeMap<String, ember_storage::Metadata>>,
}

/// A target dropped by relabelling.
#[derive(Clone, Debug)]
pub struct DroppedTargetView {
    /// Labels before relabelling.
    pub discovered_labels: Labels,
}

/// What the web layer needs from the scrape manager.
pub trait TargetSource: Send + Sync {
    /// Active targets, grouped by pool in pool-name order.
    fn active_targets(&self) -> Vec<TargetView>;
    /// Targets dropped by relabelling.
    fn dropped_targets(&self) -> Vec<DroppedTargetView>;
}
