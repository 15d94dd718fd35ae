//! Agreement with the real `promtool check config` (Prometheus 2.42): for every config in the
//! table, and for the operators' seed configs, promtool and `check_config` both pass or both
//! fail.
//!
//! The table avoids the places where Ember deliberately follows Prometheus 3 instead of 2.42
//! (global scrape limits, `scrape_protocols`, Alertmanager API v1, Debian-dropped SD kinds,
//! `scheme` values other than http/https with explicit ports).

use std::path::{Path, PathBuf};
use std::process::Command;

const RULES: &str =
    "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n";

struct Case {
    name: &'static str,
    config: &'static str,
    /// Extra files (relative name, content) next to the config.
    files: &'static [(&'static str, &'static str)],
    passes: bool,
}

const fn good(name: &'static str, config: &'static str) -> Case {
    Case {
        name,
        config,
        files: &[],
        passes: true,
    }
}

const fn bad(name: &'static str, config: &'static str) -> Case {
    Case {
        name,
        config,
        files: &[],
        passes: false,
    }
}

const fn with_files(case: Case, files: &'static [(&'static str, &'static str)]) -> Case {
    Case { files, ..case }
}

const FULL: &str = r#"
global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 30s
  query_log_file: queries.log
  external_labels:
    cluster: prod
    replica: 0
rule_files: [rules/*.yml]
scrape_configs:
  - job_name: api
    honor_labels: yes
    honor_timestamps: false
    scheme: https
    metrics_path: /probe
    params: {module: [http_2xx], target: ['a', 'b']}
    scrape_interval: 1m30s
    scrape_timeout: 500ms
    body_size_limit: 1.5GB
    sample_limit: 1000
    label_limit: 64
    target_limit: 10
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true, server_name: api.local, min_version: TLS12}
    follow_redirects: false
    proxy_url: http://proxy:3128
    static_configs:
      - targets: ['a:443', 'b:443']
        labels: {team: x, tier: '1'}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        regex: '([^:]+):\d+'
        target_label: instance
        replacement: '${1}'
      - {action: Replace, target_label: '${1}_copy', source_labels: [team], regex: '(t.*)'}
      - {action: hashmod, source_labels: [instance], target_label: shard, modulus: 4}
      - {action: keep, source_labels: [shard], regex: '0|1'}
      - {action: labelmap, regex: '__meta_(.+)'}
      - {action: lowercase, source_labels: [team], target_label: team_lower}
      - {action: keepequal, source_labels: [team], target_label: team}
    metric_relabel_configs:
      - {action: drop, source_labels: [__name__], regex: 'go_.*'}
      - {action: labeldrop, regex: 'tmp_.*'}
      - {action: labelkeep, regex: '.+'}
  - job_name: dns
    dns_sd_configs:
      - names: [_prometheus._tcp.example.org]
      - {names: [db.example.org], type: AAAA, port: 9100, refresh_interval: 1m}
  - job_name: files
    bearer_token: t0ken
    file_sd_configs:
      - files: [sd/*.json, sd/*.yml]
        refresh_interval: 10m
alerting:
  alert_relabel_configs:
    - {action: labeldrop, regex: replica}
  alertmanagers:
    - scheme: http
      path_prefix: /am
      timeout: 5s
      static_configs: [{targets: ['am:9093']}]
remote_write:
  - url: http://remote:9201/write
    remote_timeout: 10s
    headers: {X-Scope-OrgID: tenant}
    write_relabel_configs:
      - {action: drop, source_labels: [__name__], regex: 'expensive_.*'}
    queue_config: {capacity: 5000, max_shards: 10, min_backoff: 50ms}
    metadata_config: {send: false}
remote_read:
  - url: http://remote:9201/read
    read_recent: true
    required_matchers: {env: prod}
storage:
  tsdb: {out_of_order_time_window: 30m}
  exemplars: {max_exemplars: 1000}
"#;

const FULL_FILES: &[(&str, &str)] = &[
    ("rules/recording.yml", RULES),
    (
        "sd/a.json",
        r#"[{"targets": ["h1:9100", "h2:9100"], "labels": {"env": "prod"}}]"#,
    ),
    ("sd/b.yml", "- targets: ['h3:9100']\n  labels: {env: dev}\n"),
];

fn cases() -> Vec<Case> {
    vec![
        good("empty", ""),
        good("comments only", "# nothing\n"),
        with_files(good("full", FULL), FULL_FILES),
        good("rule glob matching nothing", "rule_files: ['none/*.yml']\n"),
        with_files(
            good("rule file", "rule_files: [recording.yml]\n"),
            &[("recording.yml", RULES)],
        ),
        good(
            "missing file_sd file warns",
            "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [nope.json]}]\n",
        ),
        good(
            "missing ca_file",
            "scrape_configs:\n  - job_name: a\n    tls_config: {ca_file: nope.pem}\n",
        ),
        good(
            "missing password_file",
            "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: nope}\n",
        ),
        with_files(
            good(
                "existing credentials file",
                "scrape_configs:\n  - job_name: a\n    authorization: {credentials_file: token}\n",
            ),
            &[("token", "t0ken")],
        ),
        good(
            "zero interval inherits",
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 0\n",
        ),
        good(
            "global interval below default timeout",
            "global:\n  scrape_interval: 5s\n",
        ),
        good(
            "timeout equal to interval",
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 5s\n",
        ),
        good(
            "negative body size",
            "scrape_configs:\n  - job_name: a\n    body_size_limit: -1KB\n",
        ),
        good(
            "durations",
            "global:\n  scrape_interval: 2d\n  evaluation_interval: 1w\nscrape_configs:\n  - job_name: a\n    scrape_interval: 1y\n    scrape_timeout: 1h30m\n",
        ),
        good(
            "url target with relabelling",
            "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://h:1/x']}]\n    relabel_configs: [{source_labels: [__address__], regex: 'http://([^/]+)/.*', target_label: __address__}]\n",
        ),
        bad(
            "unknown field",
            "scrape_configs:\n  - job_name: a\n    scrape_intervl: 5s\n",
        ),
        bad(
            "unknown top-level field",
            "scrape_config:\n  - job_name: a\n",
        ),
        bad(
            "duplicate key",
            "global:\n  scrape_interval: 15s\n  scrape_interval: 10s\n",
        ),
        bad("yaml syntax", "scrape_configs: [\n"),
        bad("not a mapping", "- a\n"),
        bad(
            "duration repeated unit",
            "global:\n  scrape_interval: 1h1h\n",
        ),
        bad("duration without unit", "global:\n  scrape_interval: 15\n"),
        bad(
            "duration fraction",
            "global:\n  evaluation_interval: 1.5h\n",
        ),
        bad(
            "duration out of order",
            "scrape_configs:\n  - job_name: a\n    scrape_timeout: 30s1m\n",
        ),
        bad(
            "size without unit",
            "scrape_configs:\n  - job_name: a\n    body_size_limit: 10\n",
        ),
        bad(
            "size with SI spelling",
            "scrape_configs:\n  - job_name: a\n    body_size_limit: 1kB\n",
        ),
        bad(
            "negative limit",
            "scrape_configs:\n  - job_name: a\n    sample_limit: -1\n",
        ),
        bad(
            "timeout over interval",
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
        ),
        bad(
            "global timeout over interval",
            "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
        ),
        bad(
            "inherited timeout over job interval is capped, explicit is not",
            "global:\n  scrape_timeout: 30s\nscrape_configs:\n  - job_name: a\n    scrape_interval: 10s\n    scrape_timeout: 30s\n",
        ),
        bad(
            "duplicate job",
            "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
        ),
        bad("empty job name", "scrape_configs:\n  - job_name: ''\n"),
        bad(
            "missing job name",
            "scrape_configs:\n  - scrape_interval: 5s\n",
        ),
        bad("null scrape config", "scrape_configs:\n  -\n"),
        bad(
            "empty target",
            "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['']}]\n",
        ),
        good(
            "empty target rewritten by relabelling",
            "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['']}]\n    relabel_configs: [{target_label: __address__, replacement: 'h:1'}]\n",
        ),
        good(
            "empty alertmanager target",
            "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['']}]\n",
        ),
        bad(
            "url as target",
            "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://h:1']}]\n",
        ),
        bad(
            "invalid target label name",
            "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1'], labels: {'a-b': x}}]\n",
        ),
        bad(
            "params not a list",
            "scrape_configs:\n  - job_name: a\n    params: {a: b}\n",
        ),
        bad(
            "ftp scheme",
            "scrape_configs:\n  - job_name: a\n    scheme: ftp\n    static_configs: [{targets: [h]}]\n",
        ),
        bad(
            "unknown relabel action",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: copy}]\n",
        ),
        bad(
            "hashmod without modulus",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: hashmod, target_label: x}]\n",
        ),
        bad(
            "replace without target",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{source_labels: [x]}]\n",
        ),
        bad(
            "bad relabel regex",
            "scrape_configs:\n  - job_name: a\n    metric_relabel_configs: [{regex: '(a', target_label: x}]\n",
        ),
        bad(
            "labeldrop with source labels",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: labeldrop, regex: x, source_labels: [a]}]\n",
        ),
        bad(
            "invalid target_label",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{target_label: '1x'}]\n",
        ),
        bad(
            "invalid source label",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{source_labels: ['a-b'], target_label: x}]\n",
        ),
        bad(
            "lowercase with replacement",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: lowercase, source_labels: [a], target_label: b, replacement: c}]\n",
        ),
        bad(
            "null relabel rule",
            "scrape_configs:\n  - job_name: a\n    relabel_configs: [~]\n",
        ),
        bad(
            "invalid external label",
            "global:\n  external_labels: {'1bad': x}\n",
        ),
        bad("missing rule file", "rule_files: [nope.yml]\n"),
        bad(
            "rule path with wildcard directory",
            "rule_files: ['a/*/b.yml']\n",
        ),
        bad(
            "missing credentials file",
            "scrape_configs:\n  - job_name: a\n    authorization: {credentials_file: nope}\n",
        ),
        bad(
            "missing bearer token file",
            "scrape_configs:\n  - job_name: a\n    bearer_token_file: nope\n",
        ),
        bad(
            "missing client cert",
            "scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: nope.pem, key_file: nope.key}\n",
        ),
        bad(
            "client cert without key",
            "scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: nope.pem}\n",
        ),
        bad(
            "unknown TLS version",
            "scrape_configs:\n  - job_name: a\n    tls_config: {min_version: TLS99}\n",
        ),
        bad(
            "basic auth and bearer token",
            "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    bearer_token: t\n",
        ),
        bad(
            "bearer token and file",
            "scrape_configs:\n  - job_name: a\n    bearer_token: t\n    bearer_token_file: f\n",
        ),
        bad(
            "authorization type basic",
            "scrape_configs:\n  - job_name: a\n    authorization: {type: Basic, credentials: x}\n",
        ),
        bad(
            "password and password_file",
            "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p, password_file: f}\n",
        ),
        bad(
            "file_sd extension",
            "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [targets.txt]}]\n",
        ),
        bad(
            "file_sd without files",
            "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{refresh_interval: 1m}]\n",
        ),
        with_files(
            bad(
                "file_sd with broken file",
                "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [sd.json]}]\n",
            ),
            &[("sd.json", "[{\"targets\": [")],
        ),
        with_files(
            bad(
                "file_sd with url target",
                "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [sd.yml]}]\n",
            ),
            &[("sd.yml", "- targets: ['http://h:1']\n")],
        ),
        bad(
            "dns A without port",
            "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [x], type: A}]\n",
        ),
        bad(
            "dns bad type",
            "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{names: [x], type: TXT}]\n",
        ),
        bad(
            "dns without names",
            "scrape_configs:\n  - job_name: a\n    dns_sd_configs: [{type: SRV}]\n",
        ),
        bad("remote write without url", "remote_write:\n  - name: x\n"),
        bad(
            "remote write reserved header",
            "remote_write:\n  - url: http://a\n    headers: {User-Agent: x}\n",
        ),
        bad(
            "remote write authorization header",
            "remote_write:\n  - url: http://a\n    headers: {Authorization: x}\n",
        ),
        bad(
            "duplicate remote write names",
            "remote_write:\n  - {url: 'http://a', name: n}\n  - {url: 'http://b', name: n}\n",
        ),
        bad(
            "remote read without url",
            "remote_read:\n  - read_recent: true\n",
        ),
        bad(
            "alertmanager api v3",
            "alerting:\n  alertmanagers:\n    - api_version: v3\n",
        ),
        bad(
            "alertmanager url target",
            "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['http://am:9093']}]\n",
        ),
        bad(
            "alert relabel invalid",
            "alerting:\n  alert_relabel_configs: [{action: hashmod, target_label: x}]\n",
        ),
    ]
}

fn promtool_passes(promtool: &Path, config: &Path) -> bool {
    let output = Command::new(promtool)
        .arg("check")
        .arg("config")
        .arg(config)
        .output()
        .expect("run promtool");
    output.status.success()
}

fn check_both(promtool: &Path, config: &Path) -> (bool, bool, Vec<String>) {
    let report = ember_config::check_config(config);
    (
        promtool_passes(promtool, config),
        report.is_success(),
        report.lines(),
    )
}

#[test]
fn table_agrees_with_promtool() {
    let promtool = ember_testkit::require_binary("promtool");
    let mut disagreements = Vec::new();
    let cases = cases();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in case.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, case.config).unwrap();
        let (promtool_ok, ember_ok, lines) = check_both(&promtool, &config);
        if promtool_ok != ember_ok || ember_ok != case.passes {
            disagreements.push(format!(
                "{}: promtool {}, ember {}, expected {}\n  {}",
                case.name,
                verdict(promtool_ok),
                verdict(ember_ok),
                verdict(case.passes),
                lines.join("\n  ")
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
}

#[test]
fn seed_configs_agree_with_promtool() {
    let promtool = ember_testkit::require_binary("promtool");
    let dir = ember_testkit::shared_dir().join("seed-configs");
    let seeds: Vec<PathBuf> = [
        "phase1-prometheus.yml",
        "phase1-optimized-global.yml",
        "phase2-prometheus-main.yml",
        "phase2-prometheus-secondary.yml",
        "phase2-selective-federation.yml",
        "phase3-prometheus.yml",
        "phase4-meta-monitoring.yml",
    ]
    .iter()
    .map(|name| dir.join(name))
    .collect();
    for seed in &seeds {
        let (promtool_ok, ember_ok, lines) = check_both(&promtool, seed);
        assert!(
            promtool_ok && ember_ok,
            "{}: promtool {promtool_ok}, ember {ember_ok}\n{}",
            seed.display(),
            lines.join("\n")
        );
    }
    // The seed rule files, referenced from a config, pass both checks too.
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("prometheus.yml");
    let rules = ["phase4-recording-rules.yml", "phase4-meta-alerts.yml"]
        .map(|r| dir.join(r).display().to_string());
    std::fs::write(
        &config,
        format!("rule_files:\n  - {}\n  - {}\n", rules[0], rules[1]),
    )
    .unwrap();
    let (promtool_ok, ember_ok, lines) = check_both(&promtool, &config);
    assert!(
        promtool_ok && ember_ok,
        "promtool {promtool_ok}, ember {ember_ok}\n{}",
        lines.join("\n")
    );
    assert!(
        lines.contains(&"  SUCCESS: 2 rule files found".to_string()),
        "{lines:?}"
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "passes" } else { "fails" }
}
