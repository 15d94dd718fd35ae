//! Scraping a real node_exporter 1.5 behind TLS and basic auth (its `--web.config.file`):
//! `ca_file`, `server_name`, `insecure_skip_verify`, `basic_auth` and `authorization`
//! each do what Prometheus's do.

#[allow(unreachable_pub, dead_code)]
mod common;

use ember_testkit::{Peer, free_port, require_binary};
use std::collections::BTreeMap;
use std::time::Duration;

/// bcrypt("secret"), as node_exporter's web config expects.
const SECRET_HASH: &str = "$2b$04$CWnMGUWGt3pmK52Z3TO.YOt2b.hqg6dIHcV0os1XiqMezoY40mCdq";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_settings_are_honoured() {
    let cert = rcgen::generate_simple_self_signed(vec!["ember-test.local".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let crt = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&crt, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  alice: {SECRET_HASH}\n",
            crt.display(),
            key.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let args = vec![
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--web.config.file={}", web.display()),
        "--no-collector.systemd".to_string(),
    ];
    let _node = Peer::start(
        "node_exporter",
        require_binary("prometheus-node-exporter"),
        &args,
        dir,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    let ca = crt.display();
    let target = format!("static_configs: [{{targets: ['127.0.0.1:{port}']}}]");
    let job = |name: &str, settings: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    scrape_interval: 1s\n    scrape_timeout: 1s\n{settings}    {target}\n"
        )
    };
    let good_tls = format!("    tls_config: {{ca_file: {ca}, server_name: ember-test.local}}\n");
    let mut yaml = String::from("scrape_configs:\n");
    yaml.push_str(&job(
        "ok",
        &format!("{good_tls}    basic_auth: {{username: alice, password: secret}}\n"),
    ));
    yaml.push_str(&job("skip_verify", "    tls_config: {insecure_skip_verify: true}\n    basic_auth: {username: alice, password: secret}\n"));
    yaml.push_str(&job(
        "wrong_password",
        &format!("{good_tls}    basic_auth: {{username: alice, password: nope}}\n"),
    ));
    yaml.push_str(&job(
        "bearer_instead",
        &format!("{good_tls}    authorization: {{credentials: abc}}\n"),
    ));
    yaml.push_str(&job("wrong_name", &format!("    tls_config: {{ca_file: {ca}, server_name: other.local}}\n    basic_auth: {{username: alice, password: secret}}\n")));
    yaml.push_str(&job(
        "unknown_ca",
        "    basic_auth: {username: alice, password: secret}\n",
    ));

    let (manager, storage) = common::start_manager(&yaml).await;
    common::wait_scraped(&manager, 6, Duration::from_secs(20)).await;
    let errors: BTreeMap<String, String> = manager
        .active_targets()
        .into_iter()
        .map(|t| (t.pool.clone(), t.target.status().last_error))
        .collect();
    manager.stop().await;

    assert_eq!(errors["ok"], "");
    assert_eq!(errors["skip_verify"], "");
    assert_eq!(
        errors["wrong_password"],
        "server returned HTTP status 401 Unauthorized"
    );
    assert_eq!(
        errors["bearer_instead"],
        "server returned HTTP status 401 Unauthorized"
    );
    for job in ["wrong_name", "unknown_ca"] {
        assert!(
            errors[job].to_lowercase().contains("certificate"),
            "{job}: {}",
            errors[job]
        );
    }
    let node_series = storage
        .dump()
        .iter()
        .filter(|s| {
            s.labels.get("job") == Some("ok")
                && s.labels.metric_name() == Some("node_cpu_seconds_total")
        })
        .count();
    assert!(node_series > 0, "samples scraped over TLS with basic auth");
}
