//! `check_config`: promtool's `check config` semantics and report layout.

use ember_config::{CheckError, Position, check_config};
use std::path::Path;

/// Writes `files` (relative name, content) into a temp dir; returns it.
fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

const RULES: &str = "groups:\n- name: g\n  rules:\n  - record: a:b\n    expr: up\n";

fn error_text(dir: &Path) -> String {
    let report = check_config(dir.join("prometheus.yml"));
    assert!(
        !report.is_success(),
        "expected failure: {:?}",
        report.lines()
    );
    report.error.unwrap().to_string()
}

#[test]
fn success_report_lists_rule_files() {
    let dir = fixture(&[
        (
            "prometheus.yml",
            "rule_files:\n  - rules/*.yml\n  - other.yml\n  - nothing/*.yml\n",
        ),
        ("rules/a.yml", RULES),
        ("rules/b.yml", RULES),
        ("other.yml", RULES),
    ]);
    let path = dir.path().join("prometheus.yml");
    let report = check_config(&path);
    assert!(report.is_success(), "{:?}", report.lines());
    let mut found: Vec<_> = report
        .rule_files
        .iter()
        .map(|f| f.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            Path::new("other.yml"),
            Path::new("rules/a.yml"),
            Path::new("rules/b.yml")
        ]
    );
    let file = path.display();
    assert_eq!(
        report.lines(),
        [
            format!("Checking {file}"),
            "  SUCCESS: 3 rule files found".to_string(),
            format!(" SUCCESS: {file} is valid prometheus config file syntax"),
        ]
    );
}

#[test]
fn missing_literal_rule_file_fails_with_position() {
    let dir = fixture(&[
        (
            "prometheus.yml",
            "rule_files:\n  - ok.yml\n  - missing.yml\n",
        ),
        ("ok.yml", RULES),
    ]);
    let report = check_config(dir.path().join("prometheus.yml"));
    let error = report.error.as_ref().expect("missing rule file fails");
    assert!(matches!(error, CheckError::Reference { .. }));
    assert_eq!(error.position(), Some(Position { line: 3, column: 5 }));
    let missing = dir.path().join("missing.yml");
    assert_eq!(
        error.to_string(),
        format!(
            "line 3 column 5: {:?} does not point to an existing file",
            missing.display().to_string()
        )
    );
    assert_eq!(
        report.lines().last().unwrap(),
        &format!("  FAILED: {error}")
    );
}

#[test]
fn rule_file_that_is_a_directory_fails() {
    let dir = fixture(&[
        ("prometheus.yml", "rule_files: [rules.d]\n"),
        ("rules.d/x.yml", RULES),
    ]);
    assert!(error_text(dir.path()).contains("is a directory"));
}

#[test]
fn load_errors_carry_line_and_column() {
    let dir = fixture(&[(
        "prometheus.yml",
        "scrape_configs:\n  - job_name: a\n    scrape_intervl: 5s\n",
    )]);
    let report = check_config(dir.path().join("prometheus.yml"));
    let error = report.error.as_ref().unwrap();
    assert!(matches!(error, CheckError::Load(_)));
    assert_eq!(error.position(), Some(Position { line: 3, column: 5 }));
    assert!(
        report.lines()[1].starts_with("  FAILED: parsing YAML file "),
        "{:?}",
        report.lines()
    );
    assert!(report.lines()[1].contains("line 3 column 5: unknown field `scrape_intervl`"));
}

#[test]
fn credential_and_client_certificate_files_must_exist() {
    let dir = fixture(&[(
        "prometheus.yml",
        "scrape_configs:\n  - job_name: a\n    authorization: {credentials_file: token}\n",
    )]);
    assert!(
        error_text(dir.path())
            .contains("error checking authorization credentials or bearer token file")
    );
    let dir = fixture(&[(
        "prometheus.yml",
        "scrape_configs:\n  - job_name: a\n    bearer_token_file: token\n",
    )]);
    assert!(
        error_text(dir.path())
            .contains("error checking authorization credentials or bearer token file")
    );
    let dir = fixture(&[(
        "prometheus.yml",
        "scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: c.pem, key_file: k.pem}\n",
    )]);
    let text = error_text(dir.path());
    assert!(
        text.starts_with("line 2 column 5: error checking client cert file"),
        "{text}"
    );
    let dir = fixture(&[
        (
            "prometheus.yml",
            "scrape_configs:\n  - job_name: a\n    authorization: {credentials_file: token}\n",
        ),
        ("token", "t0ken"),
    ]);
    assert!(check_config(dir.path().join("prometheus.yml")).is_success());
}

#[test]
fn other_missing_files_are_warnings() {
    let yaml = "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: pw}\n    tls_config: {ca_file: ca.pem}\n    file_sd_configs: [{files: [sd/*.json]}]\n    kubernetes_sd_configs: [{role: pod}]\n";
    let dir = fixture(&[("prometheus.yml", yaml)]);
    let report = check_config(dir.path().join("prometheus.yml"));
    assert!(report.is_success(), "{:?}", report.lines());
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains(
            "kubernetes_sd_configs in scrape config with job name \"a\" is not supported yet"
        ),
        "{warnings}"
    );
    assert!(warnings.contains("password_file"), "{warnings}");
    assert!(warnings.contains("ca_file"), "{warnings}");
    assert!(
        warnings.contains(r#"for file_sd in scrape job "a" does not exist"#),
        "{warnings}"
    );
    assert_eq!(report.warnings.len(), 4);
    assert!(report.lines()[1].starts_with("  WARNING: "));
}

#[test]
fn file_sd_files_are_parsed() {
    let config = "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: ['sd/*.json', 'sd/*.yml']}]\n";
    let dir = fixture(&[
        ("prometheus.yml", config),
        (
            "sd/a.json",
            r#"[{"targets": ["h:1"], "labels": {"env": "x"}}]"#,
        ),
        ("sd/b.yml", "- targets: ['h:2']\n"),
    ]);
    let report = check_config(dir.path().join("prometheus.yml"));
    assert!(report.is_success(), "{:?}", report.lines());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let dir = fixture(&[
        ("prometheus.yml", config),
        ("sd/a.json", "[{\"targets\": ["),
    ]);
    assert!(error_text(dir.path()).contains("checking SD file"));
    let dir = fixture(&[
        ("prometheus.yml", config),
        ("sd/b.yml", "- targets: ['http://h:2/x']\n"),
    ]);
    assert!(error_text(dir.path()).contains("is not a valid hostname"));
    let dir = fixture(&[
        ("prometheus.yml", config),
        ("sd/b.yml", "- targets: [a]\n  lables: {}\n"),
    ]);
    assert!(error_text(dir.path()).contains("unknown field `lables`"));
}

#[test]
fn unreadable_config_fails() {
    let report = check_config("/nonexistent/prometheus.yml");
    assert!(!report.is_success());
    assert!(
        report.lines()[1].starts_with("  FAILED: reading config file /nonexistent/prometheus.yml")
    );
}
