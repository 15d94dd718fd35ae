//! The operators' seed configs (shared corpus) load unchanged, with the jobs, targets and
//! intervals they describe.

use ember_config::{Config, Scheme, load_file};
use std::path::PathBuf;
use std::time::Duration;

fn seed(name: &str) -> PathBuf {
    ember_testkit::shared_dir().join("seed-configs").join(name)
}

fn load_seed(name: &str) -> Config {
    load_file(seed(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn targets(config: &Config, job: &str) -> Vec<String> {
    let scrape = config
        .scrape_config(job)
        .unwrap_or_else(|| panic!("job {job} missing"));
    scrape
        .service_discovery
        .static_configs
        .iter()
        .flat_map(|g| g.targets.clone())
        .collect()
}

const SECONDS_15: Duration = Duration::from_secs(15);
const SECONDS_10: Duration = Duration::from_secs(10);
const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn phase1_base_stack() {
    let config = load_seed("phase1-prometheus.yml");
    assert_eq!(config.global.scrape_interval, SECONDS_15);
    assert_eq!(config.global.scrape_timeout, SECONDS_10);
    assert_eq!(config.global.evaluation_interval, MINUTE);
    let jobs: Vec<&str> = config
        .scrape_configs
        .iter()
        .map(|c| c.job_name.as_str())
        .collect();
    assert_eq!(jobs, ["prometheus", "node"]);
    assert_eq!(targets(&config, "prometheus"), ["prometheus:9090"]);
    assert_eq!(targets(&config, "node"), ["node-exporter:9100"]);
    for scrape in &config.scrape_configs {
        assert_eq!(scrape.scrape_interval, SECONDS_15);
        assert_eq!(scrape.scrape_timeout, SECONDS_10);
        assert_eq!(scrape.metrics_path, "/metrics");
        assert_eq!(scrape.scheme, Scheme::Http);
        assert!(scrape.honor_timestamps && !scrape.honor_labels);
    }
    assert!(config.unsupported_features().is_empty());
}

#[test]
fn phase1_optimized_global() {
    let config = load_seed("phase1-optimized-global.yml");
    assert_eq!(config.global.scrape_interval, Duration::from_secs(30));
    assert_eq!(config.global.evaluation_interval, Duration::from_secs(30));
    assert_eq!(config.global.scrape_timeout, SECONDS_10);
    assert!(config.scrape_configs.is_empty());
}

#[test]
fn phase2_federation() {
    let secondary = load_seed("phase2-prometheus-secondary.yml");
    assert_eq!(targets(&secondary, "node"), ["node-exporter:9100"]);
    assert_eq!(secondary.scrape_configs[0].scrape_interval, SECONDS_15);

    let main = load_seed("phase2-prometheus-main.yml");
    let federate = main.scrape_config("federate").unwrap();
    assert!(federate.honor_labels);
    assert_eq!(federate.metrics_path, "/federate");
    assert_eq!(federate.params["match[]"], [r#"{job=~".*"}"#]);
    assert_eq!(federate.scrape_interval, MINUTE, "global default");
    assert_eq!(federate.scrape_timeout, SECONDS_10);
    assert_eq!(targets(&main, "federate"), ["prometheus-secondary:9090"]);

    let selective = load_seed("phase2-selective-federation.yml");
    let federate = selective.scrape_config("federate").unwrap();
    assert_eq!(
        federate.params["match[]"],
        [r#"{job="api"}"#, r#"{job="database"}"#]
    );
    assert_eq!(
        targets(&selective, "federate"),
        ["prometheus-prod:9090", "prometheus-staging:9090"]
    );
}

#[test]
fn phase3_external_labels() {
    let config = load_seed("phase3-prometheus.yml");
    let labels = &config.global.external_labels;
    assert_eq!(labels.get("cluster"), Some("prod"));
    assert_eq!(labels.get("replica"), Some("0"));
    assert_eq!(targets(&config, "prometheus"), ["localhost:9090"]);
}

#[test]
fn phase4_meta_monitoring() {
    let config = load_seed("phase4-meta-monitoring.yml");
    assert_eq!(targets(&config, "self"), ["localhost:9090"]);
    assert_eq!(config.scrape_configs[0].scrape_interval, MINUTE);
}

#[test]
fn every_prometheus_seed_loads_and_round_trips() {
    let dir = ember_testkit::shared_dir().join("seed-configs");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        // Thanos bucket configs, rule files and Grafana provisioning are not Prometheus configs.
        let not_prometheus = name.starts_with("phase3-bucket-")
            || text.contains("\ngroups:")
            || text.starts_with("groups:")
            || name.starts_with("grafana-");
        if !name.ends_with(".yml") || not_prometheus {
            continue;
        }
        let config = load_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.source_text, text);
        // The rendered config is itself a valid config describing the same jobs.
        let rendered = ember_config::load_str(&config.to_yaml(), "rendered")
            .unwrap_or_else(|e| panic!("{name} rendered:\n{}\n{e}", config.to_yaml()));
        assert_eq!(rendered.scrape_configs, config.scrape_configs, "{name}");
        assert_eq!(rendered.global, config.global, "{name}");
        loaded += 1;
    }
    assert_eq!(loaded, 7, "seven Prometheus configs in the corpus");
}
