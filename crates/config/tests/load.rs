//! Loading: defaults, inheritance, paths, errors with positions, rendering.

use ember_config::{
    ConfigError, DnsRecordType, NameValidation, Position, RemoteWriteMessage, Scheme,
    ScrapeProtocol, load_file, load_str,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn error(yaml: &str) -> ConfigError {
    match load_str(yaml, "test.yml") {
        Ok(config) => panic!("expected an error, loaded {config:?}"),
        Err(e) => e,
    }
}

fn at(line: u64, column: u64) -> Option<Position> {
    Some(Position { line, column })
}

#[test]
fn empty_and_comment_only_files_are_valid() {
    for text in [
        "",
        "\n",
        "# nothing here\n",
        "global:\n",
        "scrape_configs:\n",
    ] {
        let config = load_str(text, "empty.yml").unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(config.global.scrape_interval, secs(60));
        assert_eq!(config.global.scrape_timeout, secs(10));
        assert_eq!(config.global.evaluation_interval, secs(60));
        assert!(config.scrape_configs.is_empty());
        assert_eq!(config.storage.exemplars.max_exemplars, 100_000);
    }
}

#[test]
fn unknown_field_names_line_and_column() {
    let yaml = "scrape_configs:\n  - job_name: x\n    scrape_intervl: 5s\n";
    let err = error(yaml);
    assert!(matches!(err, ConfigError::Parse { .. }));
    assert_eq!(err.position(), at(3, 5));
    assert_eq!(
        err.to_string(),
        "parsing YAML file test.yml: line 3 column 5: unknown field `scrape_intervl` (did you mean `scrape_interval`?)"
    );
    let err = error("global:\n  foo: 1\n");
    assert_eq!(
        err.to_string(),
        "parsing YAML file test.yml: line 2 column 3: unknown field `foo`"
    );
    let err = error(
        "scrape_configs:\n  - job_name: x\n    static_configs:\n      - targets: [a]\n        label: {}\n",
    );
    assert_eq!(err.position(), at(5, 9));
}

#[test]
fn wrong_types_name_their_position() {
    let err = error("scrape_configs:\n  - job_name: [a]\n");
    assert_eq!(err.position(), at(2, 15));
    let err = error("global:\n  sample_limit: lots\n");
    assert_eq!(err.position().map(|p| p.line), Some(2));
    let err = error("scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n");
    assert_eq!(err.position().map(|p| p.line), Some(3));
    let err = error("scrape_configs:\n  - job_name: a\n    params:\n      a: b\n");
    assert_eq!(err.position().map(|p| p.line), Some(4));
    let err = error("scrape_configs: {}\n");
    assert_eq!(err.position().map(|p| p.line), Some(1));
}

#[test]
fn syntax_and_duplicate_key_errors() {
    let err = error("scrape_configs: [\n");
    assert!(err.position().is_some(), "{err}");
    let err = error("global:\n  scrape_interval: 15s\n  scrape_interval: 10s\n");
    assert_eq!(err.position(), at(3, 3));
    assert_eq!(
        err.to_string(),
        "parsing YAML file test.yml: line 3 column 3: duplicate mapping key: scrape_interval"
    );
}

#[test]
fn bad_durations_and_sizes() {
    let err = error("global:\n  scrape_interval: 1h1h\n");
    assert_eq!(err.position(), at(2, 20));
    assert!(
        err.to_string()
            .ends_with(r#"not a valid duration string: "1h1h""#),
        "{err}"
    );
    let err = error("global:\n  scrape_interval: \"\"\n");
    assert!(err.to_string().ends_with("empty duration string"), "{err}");
    let err = error("scrape_configs:\n  - job_name: a\n    scrape_timeout: 5\n");
    assert!(
        err.to_string()
            .ends_with(r#"not a valid duration string: "5""#),
        "{err}"
    );
    let err = error("scrape_configs:\n  - job_name: a\n    body_size_limit: 10\n");
    assert!(
        err.to_string().ends_with("units: unknown unit  in 10"),
        "{err}"
    );
    let config = load_str(
        "scrape_configs:\n  - job_name: a\n    body_size_limit: 1.5GB\n",
        "t",
    )
    .unwrap();
    assert_eq!(config.scrape_configs[0].limits.body_size_limit, 3 << 29);
}

#[test]
fn duplicate_job_names() {
    let err = error(
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n  - job_name: a\n    scrape_interval: 1m\n",
    );
    assert!(matches!(err, ConfigError::Invalid { .. }));
    assert_eq!(err.position(), at(4, 5));
    assert_eq!(
        err.to_string(),
        r#"parsing YAML file test.yml: line 4 column 5: found multiple scrape configs with job name "a""#
    );
}

#[test]
fn timeout_greater_than_interval() {
    let err = error(
        "scrape_configs:\n  - job_name: x\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
    );
    assert_eq!(err.position(), at(2, 5));
    assert!(
        err.to_string().ends_with(
            r#"scrape timeout greater than scrape interval for scrape config with job name "x""#
        ),
        "{err}"
    );
    let err = error("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n");
    assert!(
        err.to_string()
            .ends_with("global scrape timeout greater than scrape interval"),
        "{err}"
    );
    // Inherited timeouts are capped instead.
    let config = load_str("global:\n  scrape_interval: 5s\n", "t").unwrap();
    assert_eq!(config.global.scrape_timeout, secs(5));
    let config = load_str(
        "scrape_configs:\n  - job_name: x\n    scrape_interval: 3s\n",
        "t",
    )
    .unwrap();
    assert_eq!(config.scrape_configs[0].scrape_timeout, secs(3));
}

#[test]
fn job_and_entry_rules() {
    assert!(
        error("scrape_configs:\n  - job_name: ''\n")
            .to_string()
            .ends_with("job_name is empty")
    );
    assert!(
        error("scrape_configs:\n  - scrape_interval: 5s\n")
            .to_string()
            .ends_with("job_name is empty")
    );
    let err = error("scrape_configs:\n  -\n  - job_name: a\n");
    assert!(
        err.to_string()
            .ends_with("empty or null scrape config section"),
        "{err}"
    );
    let err = error(
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://h:1']}]\n",
    );
    assert!(
        err.to_string()
            .ends_with(r#""http://h:1" is not a valid hostname"#),
        "{err}"
    );
    // With relabelling, addresses may be rewritten, so they are not checked.
    let yaml = "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h/1']}]\n    relabel_configs:\n      - {target_label: x, replacement: y}\n";
    assert!(load_str(yaml, "t").is_ok());
    let err = error("scrape_configs:\n  - job_name: a\n    scheme: ftp\n");
    assert!(
        err.to_string()
            .ends_with(r#"invalid scheme: "ftp" for scrape config with job name "a""#),
        "{err}"
    );
    let err =
        error("scrape_configs:\n  - job_name: a\n    static_configs: [{labels: {'1x': y}}]\n");
    assert!(
        err.to_string()
            .ends_with(r#""1x" is not a valid label name"#),
        "{err}"
    );
    let err = error("rule_files: ['a/*/b.yml']\n");
    assert!(
        err.to_string()
            .ends_with(r#"invalid rule file path "a/*/b.yml""#),
        "{err}"
    );
}

#[test]
fn relabel_errors_point_at_the_rule() {
    let yaml = "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - target_label: ok\n      - action: hashmod\n        target_label: x\n";
    let err = error(yaml);
    assert_eq!(err.position(), at(5, 9));
    assert!(
        err.to_string()
            .ends_with("relabel configuration for hashmod requires non-zero modulus"),
        "{err}"
    );
    let err = error(
        "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: nope\n",
    );
    assert!(
        err.to_string()
            .ends_with(r#"unknown relabel action "nope""#),
        "{err}"
    );
    let err = error(
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '(a'\n        target_label: x\n",
    );
    assert!(err.to_string().contains("error parsing regexp"), "{err}");
    let err = error("alerting:\n  alert_relabel_configs:\n    - source_labels: [x]\n");
    assert!(
        err.to_string()
            .ends_with("relabel configuration for replace action requires 'target_label' value"),
        "{err}"
    );
    let err = error("remote_write:\n  - url: http://x\n    write_relabel_configs: [~]\n");
    assert!(
        err.to_string()
            .ends_with("empty or null relabeling rule in remote write config"),
        "{err}"
    );
}

#[test]
fn scrape_configs_inherit_global_values() {
    let yaml = r#"
global:
  scrape_interval: 30s
  scrape_timeout: 20s
  sample_limit: 1000
  label_limit: 30
  body_size_limit: 10MB
  target_limit: 7
  keep_dropped_targets: 9
  scrape_protocols: [PrometheusText0.0.4]
scrape_configs:
  - job_name: inherits
  - job_name: overrides
    scrape_interval: 10s
    sample_limit: 5
    scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]
  - job_name: explicit_zero
    scrape_interval: 0
    scrape_timeout: 0
"#;
    let config = load_str(yaml, "t").unwrap();
    let inherits = config.scrape_config("inherits").unwrap();
    assert_eq!(
        (inherits.scrape_interval, inherits.scrape_timeout),
        (secs(30), secs(20))
    );
    assert_eq!(inherits.limits.sample_limit, 1000);
    assert_eq!(inherits.limits.label_limit, 30);
    assert_eq!(inherits.limits.body_size_limit, 10 << 20);
    assert_eq!(inherits.limits.target_limit, 7);
    assert_eq!(inherits.limits.keep_dropped_targets, 9);
    assert_eq!(
        inherits.scrape_protocols,
        [ScrapeProtocol::PrometheusText0_0_4]
    );
    let overrides = config.scrape_config("overrides").unwrap();
    assert_eq!(overrides.scrape_interval, secs(10));
    assert_eq!(
        overrides.scrape_timeout,
        secs(10),
        "global timeout capped to the job's interval"
    );
    assert_eq!(overrides.limits.sample_limit, 5);
    assert_eq!(overrides.limits.label_limit, 30);
    assert_eq!(
        overrides.scrape_protocols,
        [
            ScrapeProtocol::OpenMetricsText1_0_0,
            ScrapeProtocol::PrometheusText0_0_4
        ]
    );
    let zero = config.scrape_config("explicit_zero").unwrap();
    assert_eq!(
        (zero.scrape_interval, zero.scrape_timeout),
        (secs(30), secs(20))
    );
}

#[test]
fn scrape_defaults() {
    let config = load_str("scrape_configs:\n  - job_name: a\n", "t").unwrap();
    let c = &config.scrape_configs[0];
    assert_eq!(c.metrics_path, "/metrics");
    assert_eq!(c.scheme, Scheme::Http);
    assert!(c.honor_timestamps && !c.honor_labels && c.enable_compression);
    assert!(c.http_client.follow_redirects && c.http_client.enable_http2);
    assert_eq!(c.scrape_protocols, ScrapeProtocol::DEFAULT);
    assert_eq!(c.name_validation, NameValidation::Legacy);
    let native = load_str(
        "scrape_configs:\n  - job_name: a\n    scrape_native_histograms: true\n",
        "t",
    )
    .unwrap();
    assert_eq!(
        native.scrape_configs[0].scrape_protocols,
        ScrapeProtocol::PROTO_FIRST
    );
    let err = error("scrape_configs:\n  - job_name: a\n    scrape_protocols: [Nope]\n");
    assert!(
        err.to_string().contains("unknown scrape protocol Nope"),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with(r#"for scrape config with job name "a""#),
        "{err}"
    );
}

#[test]
fn http_client_settings() {
    let yaml = r#"
scrape_configs:
  - job_name: bearer
    bearer_token: s3cret
    tls_config: {server_name: example, min_version: TLS12}
    follow_redirects: false
    enable_http2: false
    proxy_url: http://proxy:3128
  - job_name: auth
    authorization: {credentials_file: token}
  - job_name: basic
    basic_auth: {username: u, password_file: pw}
"#;
    let config = load_str(yaml, "t").unwrap();
    let bearer = &config.scrape_config("bearer").unwrap().http_client;
    let auth = bearer.authorization.as_ref().unwrap();
    assert_eq!(auth.kind, "Bearer");
    assert_eq!(auth.credentials.as_ref().unwrap().expose(), "s3cret");
    assert_eq!(bearer.tls.server_name.as_deref(), Some("example"));
    assert!(!bearer.follow_redirects && !bearer.enable_http2);
    assert_eq!(bearer.proxy.proxy_url.as_deref(), Some("http://proxy:3128"));
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "secrets never appear in Debug output"
    );
    assert!(!config.to_yaml().contains("s3cret"));
    assert!(config.to_yaml().contains("credentials: <secret>"));
    let auth = config
        .scrape_config("auth")
        .unwrap()
        .http_client
        .authorization
        .clone()
        .unwrap();
    assert_eq!(
        (auth.kind.as_str(), auth.credentials_file),
        ("Bearer", Some(PathBuf::from("token")))
    );

    for (yaml, message) in [
        (
            "basic_auth: {username: u}\n    bearer_token: x",
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
        ),
        (
            "authorization: {type: Basic, credentials: x}",
            r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
        ),
        (
            "authorization: {credentials: x}\n    bearer_token_file: f",
            "authorization is not compatible with bearer_token & bearer_token_file",
        ),
        (
            "basic_auth: {password: a, password_file: b}",
            "at most one of basic_auth password, password_file & password_ref must be configured",
        ),
        (
            "tls_config: {cert_file: c}",
            "exactly one of key or key_file must be configured when a client certificate is configured",
        ),
        (
            "tls_config: {ca: x, ca_file: y}",
            "at most one of ca, ca_file & ca_ref must be configured",
        ),
        (
            "oauth2: {client_id: a}",
            "oauth2 token_url must be configured",
        ),
        (
            "no_proxy: localhost",
            "if no_proxy is configured, proxy_url must also be configured",
        ),
    ] {
        let err = error(&format!("scrape_configs:\n  - job_name: a\n    {yaml}\n"));
        assert!(err.to_string().ends_with(message), "{yaml}: {err}");
    }
    let err = error("scrape_configs:\n  - job_name: a\n    tls_config: {min_version: TLS99}\n");
    assert!(
        err.to_string().contains("unknown TLS version: TLS99"),
        "{err}"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("conf");
    std::fs::create_dir(&config_dir).unwrap();
    let path = config_dir.join("prometheus.yml");
    std::fs::write(
        &path,
        r#"
global:
  query_log_file: queries.log
rule_files: [rules/*.yml, /abs/rules.yml]
scrape_configs:
  - job_name: a
    basic_auth: {username: u, password_file: secrets/pw}
    tls_config: {ca_file: ca.pem, cert_file: tls/c.pem, key_file: /abs/k.pem}
    file_sd_configs:
      - files: [sd/*.json, /abs/sd.yml]
  - job_name: b
    bearer_token_file: token
  - job_name: c
    authorization: {credentials_file: creds}
"#,
    )
    .unwrap();
    let config = load_file(&path).unwrap();
    let join = |p: &str| config_dir.join(p);
    assert_eq!(config.directory.as_deref(), Some(config_dir.as_path()));
    assert_eq!(config.global.query_log_file, Some(join("queries.log")));
    assert_eq!(
        config.rule_files,
        [
            join("rules/*.yml").to_string_lossy().into_owned(),
            "/abs/rules.yml".to_string()
        ]
    );
    let a = config.scrape_config("a").unwrap();
    assert_eq!(
        a.http_client.basic_auth.as_ref().unwrap().password_file,
        Some(join("secrets/pw"))
    );
    assert_eq!(a.http_client.tls.ca_file, Some(join("ca.pem")));
    assert_eq!(a.http_client.tls.cert_file, Some(join("tls/c.pem")));
    assert_eq!(
        a.http_client.tls.key_file.as_deref(),
        Some(Path::new("/abs/k.pem"))
    );
    let files = &a.service_discovery.file_sd_configs[0].files;
    assert_eq!(
        files,
        &[
            join("sd/*.json").to_string_lossy().into_owned(),
            "/abs/sd.yml".to_string()
        ]
    );
    assert_eq!(
        a.service_discovery.file_sd_configs[0].refresh_interval,
        secs(300)
    );
    let b = config
        .scrape_config("b")
        .unwrap()
        .http_client
        .authorization
        .clone()
        .unwrap();
    assert_eq!(b.credentials_file, Some(join("token")));
    let c = config
        .scrape_config("c")
        .unwrap()
        .http_client
        .authorization
        .clone()
        .unwrap();
    assert_eq!(c.credentials_file, Some(join("creds")));

    // From a string there is no directory: paths stay as written.
    let config = load_str(&config.source_text, "inline").unwrap();
    assert_eq!(
        config.global.query_log_file,
        Some(PathBuf::from("queries.log"))
    );
    assert_eq!(config.rule_files[0], "rules/*.yml");
}

#[test]
fn anchors_and_merge_keys() {
    let yaml = r#"
x-defaults: &defaults
  scrape_interval: 5s
  metrics_path: /m
scrape_configs:
  - <<: *defaults
    job_name: a
  - <<: *defaults
    job_name: b
    metrics_path: /other
"#;
    // Prometheus rejects unknown top-level keys, so the anchor must live inside a known one.
    assert!(load_str(yaml, "t").is_err());
    let yaml = r#"
scrape_configs:
  - &first
    job_name: a
    scrape_interval: 5s
    metrics_path: /m
  - <<: *first
    job_name: b
    metrics_path: /other
"#;
    let config = load_str(yaml, "t").unwrap();
    let b = config.scrape_config("b").unwrap();
    assert_eq!(
        (b.scrape_interval, b.metrics_path.as_str()),
        (secs(5), "/other")
    );
}

#[test]
fn missing_file_is_a_read_error() {
    let err = load_file("/nonexistent/ember/prometheus.yml").unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("reading config file /nonexistent/ember/prometheus.yml"),
        "{err}"
    );
}

#[test]
fn service_discovery_kinds() {
    let yaml = r#"
scrape_configs:
  - job_name: dns
    dns_sd_configs:
      - names: [_prometheus._tcp.example.org]
      - names: [db.example.org]
        type: A
        port: 9100
        refresh_interval: 1m
  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod
        namespaces: {names: [default]}
    consul_sd_configs:
      - server: localhost:8500
    ec2_sd_configs: []
"#;
    let config = load_str(yaml, "t").unwrap();
    let dns = &config
        .scrape_config("dns")
        .unwrap()
        .service_discovery
        .dns_sd_configs;
    assert_eq!(dns[0].record_type, DnsRecordType::Srv);
    assert_eq!(dns[0].refresh_interval, secs(30));
    assert_eq!(
        (dns[1].record_type, dns[1].port, dns[1].refresh_interval),
        (DnsRecordType::A, 9100, secs(60))
    );
    let k8s = &config.scrape_config("k8s").unwrap().service_discovery;
    assert_eq!(
        k8s.unsupported,
        ["consul_sd_configs", "kubernetes_sd_configs"]
    );
    let notes = config.unsupported_features();
    assert_eq!(notes.len(), 2);
    assert!(notes[1].starts_with(
        r#"kubernetes_sd_configs in scrape config with job name "k8s" is not supported yet"#
    ));

    let err = error(
        "scrape_configs:\n  - job_name: a\n    dns_sd_configs:\n      - names: [x]\n        type: A\n",
    );
    assert!(
        err.to_string()
            .ends_with("a port is required in DNS-SD configs for all record types except SRV"),
        "{err}"
    );
    let err = error(
        "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: [targets.txt]\n",
    );
    assert!(
        err.to_string()
            .ends_with(r#"path name "targets.txt" is not valid for file discovery"#),
        "{err}"
    );
    let err = error(
        "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - refresh_interval: 1m\n",
    );
    assert!(
        err.to_string()
            .ends_with("file service discovery config must contain at least one path name"),
        "{err}"
    );
}

#[test]
fn alerting_remote_storage_sections() {
    let yaml = r#"
global:
  external_labels: {replica: "1"}
alerting:
  alert_relabel_configs:
    - {action: labeldrop, regex: replica}
  alertmanagers:
    - scheme: https
      path_prefix: /am
      timeout: 5s
      static_configs: [{targets: ['am:9093']}]
remote_write:
  - url: http://remote/api/v1/write
    name: main
    headers: {X-Scope-OrgID: tenant}
    send_exemplars: true
    queue_config: {max_shards: 10, min_backoff: 100ms}
    metadata_config: {send: false}
  - url: http://remote2/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
remote_read:
  - url: http://remote/api/v1/read
    read_recent: true
    required_matchers: {env: prod}
storage:
  tsdb: {out_of_order_time_window: 30m}
  exemplars: {max_exemplars: 5}
tracing:
  endpoint: localhost:4317
  sampling_fraction: 0.5
otlp:
  promote_resource_attributes: [service.instance.id]
"#;
    let config = load_str(yaml, "t").unwrap();
    let am = &config.alerting.alertmanagers[0];
    assert_eq!(
        (
            am.scheme,
            am.path_prefix.as_str(),
            am.timeout,
            am.api_version.as_str()
        ),
        (Scheme::Https, "/am", secs(5), "v2")
    );
    assert_eq!(am.service_discovery.static_configs[0].targets, ["am:9093"]);
    assert_eq!(config.alerting.alert_relabel_configs.len(), 1);
    let rw = &config.remote_write[0];
    assert_eq!(
        (rw.url.as_str(), rw.name.as_str(), rw.remote_timeout),
        ("http://remote/api/v1/write", "main", secs(30))
    );
    assert!(rw.send_exemplars && !rw.http_client.enable_http2);
    assert_eq!(rw.headers["X-Scope-OrgID"], "tenant");
    assert_eq!(
        (rw.queue_config.max_shards, rw.queue_config.capacity),
        (10, 10_000)
    );
    assert_eq!(rw.queue_config.min_backoff, Duration::from_millis(100));
    assert!(!rw.metadata_config.send);
    assert_eq!(rw.metadata_config.send_interval, secs(60));
    assert_eq!(
        config.remote_write[1].protobuf_message,
        RemoteWriteMessage::V2
    );
    let rr = &config.remote_read[0];
    assert!(rr.read_recent && rr.filter_external_labels);
    assert_eq!(rr.remote_timeout, secs(60));
    assert_eq!(rr.required_matchers["env"], "prod");
    assert_eq!(config.storage.tsdb.out_of_order_time_window, secs(1800));
    assert_eq!(config.storage.exemplars.max_exemplars, 5);
    let tracing = config.tracing.as_ref().unwrap();
    assert_eq!(
        (tracing.client_type.as_str(), tracing.sampling_fraction),
        ("grpc", 0.5)
    );
    assert_eq!(
        config.otlp.promote_resource_attributes,
        ["service.instance.id"]
    );

    for (yaml, message) in [
        (
            "remote_write:\n  - name: x\n",
            "url for remote_write is empty",
        ),
        (
            "remote_write:\n  - url: http://a\n    headers: {Content-Type: x}\n",
            "Content-Type is a reserved header. It must not be changed",
        ),
        (
            "remote_write:\n  - url: http://a\n    name: n\n  - url: http://b\n    name: n\n",
            r#"found multiple remote write configs with job name "n""#,
        ),
        (
            "remote_read:\n  - read_recent: true\n",
            "url for remote_read is empty",
        ),
        (
            "alerting:\n  alertmanagers:\n    - api_version: v1\n",
            "expected Alertmanager api version to be one of [v2] but got v1",
        ),
        (
            "tracing:\n  client_type: grpc\n",
            "tracing endpoint must be set",
        ),
        (
            "global:\n  external_labels: {'1bad': x}\n",
            r#""1bad" is not a valid label name"#,
        ),
    ] {
        let err = error(yaml);
        assert!(err.to_string().ends_with(message), "{yaml}: {err}");
    }
}

#[test]
fn utf8_name_validation_is_opt_in() {
    let yaml = "global:\n  metric_name_validation_scheme: utf8\n  external_labels: {'k8s.cluster': a}\nscrape_configs:\n  - job_name: a\n    relabel_configs: [{target_label: 'service.name', replacement: x}]\n";
    let config = load_str(yaml, "t").unwrap();
    assert_eq!(config.global.name_validation, NameValidation::Utf8);
    assert_eq!(
        config.scrape_configs[0].name_validation,
        NameValidation::Utf8
    );
    assert_eq!(
        config.scrape_configs[0].relabel_configs[0].name_validation,
        NameValidation::Utf8
    );
    assert!(load_str(&yaml.replace("utf8", "legacy"), "t").is_err());
}

#[test]
fn rendered_yaml_reloads_to_the_same_config() {
    let yaml = r#"
global:
  scrape_interval: 30s
  scrape_timeout: 20s
  external_labels: {cluster: prod}
  sample_limit: 1000
  body_size_limit: 10MB
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: api
    scrape_interval: 1m30s
    params: {'match[]': ['{job="a"}', up]}
    basic_auth: {username: u, password: hunter2}
    tls_config: {ca_file: ca.pem, insecure_skip_verify: true, min_version: TLS12}
    static_configs:
      - targets: ['a:1', 'b:2']
        labels: {team: x}
    relabel_configs:
      - source_labels: [__address__, job]
        regex: '(.*):\d+'
        target_label: host
      - {action: hashmod, source_labels: [a], target_label: shard, modulus: 4}
    metric_relabel_configs:
      - action: labeldrop
        regex: tmp_.*
  - job_name: files
    file_sd_configs:
      - files: [sd/*.json]
        refresh_interval: 30s
    dns_sd_configs: [{names: [x.example], type: AAAA, port: 80}]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['am:9093']}]
remote_write:
  - url: http://remote/write
    queue_config: {max_shards: 10}
storage:
  tsdb: {out_of_order_time_window: 1h}
"#;
    let config = load_str(yaml, "t").unwrap();
    let rendered = config.to_yaml();
    assert!(rendered.contains("scrape_interval: 1m30s"), "{rendered}");
    assert!(rendered.contains("body_size_limit: 10MiB"), "{rendered}");
    assert!(rendered.contains("password: <secret>"), "{rendered}");
    assert!(!rendered.contains("hunter2"));
    assert!(
        rendered.contains("- source_labels: [__address__, job]"),
        "{rendered}"
    );
    assert!(rendered.contains("regex: (.*):\\d+"), "{rendered}");
    // Secrets are redacted, so compare everything but the password.
    let reloaded = load_str(&rendered, "rendered").unwrap();
    assert_eq!(reloaded.global, config.global);
    assert_eq!(reloaded.rule_files, config.rule_files);
    assert_eq!(reloaded.alerting, config.alerting);
    assert_eq!(reloaded.remote_write, config.remote_write);
    assert_eq!(reloaded.storage, config.storage);
    assert_eq!(reloaded.scrape_configs[1], config.scrape_configs[1]);
    let (mut api, mut reloaded_api) = (
        config.scrape_configs[0].clone(),
        reloaded.scrape_configs[0].clone(),
    );
    api.http_client.basic_auth = None;
    reloaded_api.http_client.basic_auth = None;
    assert_eq!(reloaded_api, api);
}
