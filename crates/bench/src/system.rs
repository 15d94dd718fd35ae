//! The three systems under test: how each is started, how it says it is ready, and which of
//! its own metrics count ingested samples and active series.

use crate::measure::self_metrics::{self, Select};
use ember_exposition::ParseError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SystemKind {
    Ember,
    Prometheus,
    #[value(name = "vm")]
    #[serde(rename = "vm")]
    VictoriaMetrics,
}

/// How a system writes its data to disk for the bytes-per-sample figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flush {
    /// `POST /api/v1/admin/tsdb/snapshot`: the head is written as a block under
    /// `snapshots/NAME/`, whose size and `meta.json` sample count are measured.
    Snapshot,
    /// `GET /internal/force_flush`: in-memory rows go to parts in the data directory.
    ForceFlush,
}

impl SystemKind {
    pub const ALL: [SystemKind; 3] = [
        SystemKind::Ember,
        SystemKind::Prometheus,
        SystemKind::VictoriaMetrics,
    ];

    /// Short name for paths and logs.
    pub fn id(self) -> &'static str {
        match self {
            SystemKind::Ember => "ember",
            SystemKind::Prometheus => "prometheus",
            SystemKind::VictoriaMetrics => "vm",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SystemKind::Ember => "Ember",
            SystemKind::Prometheus => "Prometheus",
            SystemKind::VictoriaMetrics => "VictoriaMetrics",
        }
    }

    /// Where the binary is unless told otherwise (Ember: relative to the workspace root).
    pub fn default_binary(self) -> PathBuf {
        PathBuf::from(match self {
            SystemKind::Ember => "target/release/ember",
            SystemKind::Prometheus => "/usr/bin/prometheus",
            SystemKind::VictoriaMetrics => "/usr/bin/victoria-metrics",
        })
    }

    /// What to do when the binary is missing.
    pub fn install_hint(self) -> &'static str {
        match self {
            SystemKind::Ember => "build it: cargo build --release -p ember",
            SystemKind::Prometheus => "install Prometheus 2.42: apt-get install prometheus",
            SystemKind::VictoriaMetrics => {
                "install VictoriaMetrics 1.79: apt-get install victoria-metrics"
            }
        }
    }

    /// Command-line arguments: scrape `config`, store in `data`, listen on 127.0.0.1:`port`.
    pub fn args(self, config: &Path, data: &Path, port: u16) -> Vec<String> {
        let (config, data) = (config.display(), data.display());
        let listen = format!("127.0.0.1:{port}");
        let prometheus_style = vec![
            format!("--config.file={config}"),
            format!("--storage.tsdb.path={data}"),
            format!("--web.listen-address={listen}"),
            "--web.enable-admin-api".to_string(),
        ];
        match self {
            SystemKind::Ember => [vec!["server".to_string()], prometheus_style].concat(),
            SystemKind::Prometheus => prometheus_style,
            SystemKind::VictoriaMetrics => vec![
                format!("-httpListenAddr={listen}"),
                format!("-storageDataPath={data}"),
                format!("-promscrape.config={config}"),
                // Keep everything (1 month), show the newest samples at once (the default
                // hides the last 30 s), do not cache answers between repeated queries, and
                // lift the limits (300k series, 30 s) that `{__name__=~".+"}` over a million
                // series exceeds; Ember and Prometheus have no such limits by default.
                "-retentionPeriod=1".to_string(),
                "-search.latencyOffset=0s".to_string(),
                "-search.disableCache".to_string(),
                "-search.maxUniqueTimeseries=100000000".to_string(),
                "-search.maxQueryDuration=10m".to_string(),
            ],
        }
    }

    /// The path that answers 200 once the system serves queries.
    pub fn ready_path(self) -> &'static str {
        match self {
            SystemKind::VictoriaMetrics => "/health",
            _ => "/-/ready",
        }
    }

    pub fn flush(self) -> Flush {
        match self {
            SystemKind::VictoriaMetrics => Flush::ForceFlush,
            _ => Flush::Snapshot,
        }
    }

    /// Samples ingested so far, from the system's `/metrics`.
    pub fn samples_ingested(self, metrics: &str) -> Result<Option<f64>, ParseError> {
        match self {
            SystemKind::VictoriaMetrics => {
                self_metrics::sum(metrics, "vm_rows_inserted_total", Select::All)
            }
            _ => self_metrics::sum(
                metrics,
                "prometheus_tsdb_head_samples_appended_total",
                Select::All,
            ),
        }
    }

    /// Active series by the system's own count.
    pub fn active_series(self, metrics: &str) -> Result<Option<f64>, ParseError> {
        match self {
            SystemKind::VictoriaMetrics => self_metrics::sum(
                metrics,
                "vm_cache_entries",
                Select::LabelIs("type", "storage/hour_metric_ids"),
            ),
            _ => self_metrics::sum(metrics, "prometheus_tsdb_head_series", Select::All),
        }
    }
}

/// Rows stored in VictoriaMetrics' data parts (not its index), after a flush.
pub fn victoria_metrics_stored_rows(metrics: &str) -> Result<Option<f64>, ParseError> {
    self_metrics::sum(
        metrics,
        "vm_rows",
        Select::LabelStartsWith("type", "storage/"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_follow_each_systems_flag_style() {
        let (config, data) = (Path::new("/w/scrape.yml"), Path::new("/w/data"));
        let ember = SystemKind::Ember.args(config, data, 9000);
        assert_eq!(ember[0], "server");
        assert!(ember.contains(&"--web.listen-address=127.0.0.1:9000".to_string()));
        assert!(ember.contains(&"--web.enable-admin-api".to_string()));
        let prometheus = SystemKind::Prometheus.args(config, data, 9001);
        assert_eq!(prometheus[0], "--config.file=/w/scrape.yml");
        let vm = SystemKind::VictoriaMetrics.args(config, data, 9002);
        assert!(vm.contains(&"-promscrape.config=/w/scrape.yml".to_string()));
        assert!(vm.contains(&"-storageDataPath=/w/data".to_string()));
    }

    #[test]
    fn counters_come_from_each_systems_own_metrics() {
        let prometheus = "prometheus_tsdb_head_series 520\n\
                          prometheus_tsdb_head_samples_appended_total{type=\"float\"} 9000\n";
        let kind = SystemKind::Prometheus;
        assert_eq!(kind.active_series(prometheus), Ok(Some(520.0)));
        assert_eq!(kind.samples_ingested(prometheus), Ok(Some(9000.0)));
        let vm = "vm_cache_entries{type=\"storage/hour_metric_ids\"} 525\n\
                  vm_rows_inserted_total{type=\"promscrape\"} 8000\n\
                  vm_rows{type=\"storage/small\"} 7000\nvm_rows{type=\"indexdb\"} 3\n";
        let kind = SystemKind::VictoriaMetrics;
        assert_eq!(kind.active_series(vm), Ok(Some(525.0)));
        assert_eq!(kind.samples_ingested(vm), Ok(Some(8000.0)));
        assert_eq!(victoria_metrics_stored_rows(vm), Ok(Some(7000.0)));
    }
}
