//! `ember check config FILE`: promtool's `check config` for Ember.
//!
//! Loads and validates the file, then checks what only the file system can tell: every
//! `rule_files` entry without a `*` must name an existing file (a glob matching nothing is
//! fine), credential and client-certificate files of scrape configs must exist, and file-SD
//! files that exist must parse. Missing file-SD files, other missing files (CA, password)
//! and unsupported features are warnings. Rule file *contents* are checked by the caller
//! (`ember check rules`) on [`CheckReport::rule_files`].

use crate::discovery::{ServiceDiscovery, TargetGroup, check_target_addresses, read_target_groups};
use crate::error::{ConfigError, Position};
use crate::http_client::HttpClientConfig;
use crate::{Config, load_file};
use std::fmt;
use std::path::{Path, PathBuf};

/// Why `check config` failed.
#[derive(Debug)]
pub enum CheckError {
    /// The config did not load.
    Load(ConfigError),
    /// The config loaded but a file it references is missing or broken.
    Reference {
        /// What is wrong.
        message: String,
        /// The config entry (rule file, scrape config, Alertmanager config) that refers to
        /// the file.
        position: Option<Position>,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Load(e) => e.fmt(f),
            CheckError::Reference {
                message,
                position: Some(p),
            } => write!(f, "{p}: {message}"),
            CheckError::Reference {
                message,
                position: None,
            } => f.write_str(message),
        }
    }
}

impl std::error::Error for CheckError {}

impl CheckError {
    /// Where in the config the problem is, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            CheckError::Load(e) => e.position(),
            CheckError::Reference { position, .. } => *position,
        }
    }
}

/// The outcome of checking one config file.
#[derive(Debug)]
pub struct CheckReport {
    /// The file as given.
    pub file: PathBuf,
    /// Rule files the `rule_files` globs matched, for the caller to check.
    pub rule_files: Vec<PathBuf>,
    /// Problems that do not fail the check.
    pub warnings: Vec<String>,
    /// The failure, if the check failed.
    pub error: Option<CheckError>,
}

impl CheckReport {
    /// True when the config passed.
    pub fn is_success(&self) -> bool {
        self.error.is_none()
    }

    /// The report in promtool's layout:
    ///
    /// ```text
    /// Checking prometheus.yml
    ///   WARNING: ...
    ///   SUCCESS: 2 rule files found
    ///  SUCCESS: prometheus.yml is valid prometheus config file syntax
    /// ```
    ///
    /// or `  FAILED: <error>` in place of the success lines.
    pub fn lines(&self) -> Vec<String> {
        let file = self.file.display();
        let mut lines = vec![format!("Checking {file}")];
        lines.extend(self.warnings.iter().map(|w| format!("  WARNING: {w}")));
        match &self.error {
            Some(error) => lines.push(format!("  FAILED: {error}")),
            None => {
                if !self.rule_files.is_empty() {
                    lines.push(format!(
                        "  SUCCESS: {} rule files found",
                        self.rule_files.len()
                    ));
                }
                lines.push(format!(
                    " SUCCESS: {file} is valid prometheus config file syntax"
                ));
            }
        }
        lines
    }
}

/// Checks a config file the way `promtool check config` does (see the module docs).
pub fn check_config(path: impl AsRef<Path>) -> CheckReport {
    let path = path.as_ref();
    let mut report = CheckReport {
        file: path.to_path_buf(),
        rule_files: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    match load_file(path) {
        Ok(config) => {
            report.warnings.extend(config.unsupported_features());
            if let Err(error) = check_references(&config, &mut report) {
                report.error = Some(error);
            }
        }
        Err(error) => report.error = Some(CheckError::Load(error)),
    }
    report
}

fn reference_error(message: String, position: Option<Position>) -> CheckError {
    CheckError::Reference { message, position }
}

fn check_references(config: &Config, report: &mut CheckReport) -> Result<(), CheckError> {
    for (index, pattern) in config.rule_files.iter().enumerate() {
        let position = config.origins.rule_files.get(index).copied();
        let matches = glob_files(pattern).map_err(|m| reference_error(m, position))?;
        if !pattern.contains('*') && matches.is_empty() {
            return Err(reference_error(
                format!("{pattern:?} does not point to an existing file"),
                position,
            ));
        }
        for file in &matches {
            if let Err(e) = std::fs::File::open(file).and_then(|f| readable_file(&f)) {
                return Err(reference_error(
                    format!("error checking rule file {:?}: {e}", file.display()),
                    position,
                ));
            }
        }
        report.rule_files.extend(matches);
    }

    for (index, scrape) in config.scrape_configs.iter().enumerate() {
        let position = config.origins.scrape_configs.get(index).copied();
        let context = format!("in scrape job {:?}", scrape.job_name);
        check_client_files(&scrape.http_client, &context, &mut report.warnings)
            .map_err(|m| reference_error(m, position))?;
        // Without relabelling, the discovered addresses are the scrape addresses.
        let check_addresses = scrape.relabel_configs.is_empty();
        if check_addresses {
            require_addresses(&scrape.service_discovery.static_configs)
                .map_err(|m| reference_error(m, position))?;
        }
        check_file_sd(
            &scrape.service_discovery,
            &format!("scrape job {:?}", scrape.job_name),
            check_addresses.then_some(require_addresses),
            &mut report.warnings,
        )
        .map_err(|m| reference_error(m, position))?;
    }
    for (index, alertmanager) in config.alerting.alertmanagers.iter().enumerate() {
        let position = config.origins.alertmanagers.get(index).copied();
        warn_missing_files(
            &alertmanager.http_client,
            "in alertmanager config",
            &mut report.warnings,
        );
        let check_addresses = alertmanager.relabel_configs.is_empty();
        check_file_sd(
            &alertmanager.service_discovery,
            "alertmanager config",
            check_addresses.then_some(no_urls),
            &mut report.warnings,
        )
        .map_err(|m| reference_error(m, position))?;
    }
    for write in &config.remote_write {
        warn_missing_files(
            &write.http_client,
            &format!("in remote write config {:?}", write.url),
            &mut report.warnings,
        );
    }
    for read in &config.remote_read {
        warn_missing_files(
            &read.http_client,
            &format!("in remote read config {:?}", read.url),
            &mut report.warnings,
        );
    }
    Ok(())
}

/// Fails for a directory: a rule file must be a regular file.
fn readable_file(file: &std::fs::File) -> std::io::Result<()> {
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    Ok(())
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let paths = glob::glob(pattern).map_err(|e| format!("invalid glob {pattern:?}: {e}"))?;
    Ok(paths.filter_map(Result::ok).collect())
}

/// Credential and client-certificate files must exist (as promtool checks); other files
/// the client reads are warned about.
fn check_client_files(
    client: &HttpClientConfig,
    context: &str,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    if let Some(file) = client
        .authorization
        .as_ref()
        .and_then(|a| a.credentials_file.as_ref())
        && let Err(e) = std::fs::metadata(file)
    {
        return Err(format!(
            "error checking authorization credentials or bearer token file {:?}: {e}",
            file.display()
        ));
    }
    for (key, file) in [
        ("client cert", &client.tls.cert_file),
        ("client key", &client.tls.key_file),
    ] {
        if let Some(file) = file
            && let Err(e) = std::fs::metadata(file)
        {
            return Err(format!(
                "error checking {key} file {:?}: {e}",
                file.display()
            ));
        }
    }
    warn_missing_files(client, context, warnings);
    Ok(())
}

fn warn_missing_files(client: &HttpClientConfig, context: &str, warnings: &mut Vec<String>) {
    for (key, file) in client.referenced_files() {
        if !file.exists() {
            warnings.push(format!(
                "{key} {:?} {context} does not exist",
                file.display()
            ));
        }
    }
}

/// Checks target groups read from file SD.
type GroupCheck = fn(&[TargetGroup]) -> Result<(), String>;

/// Scrape targets must have an address and must not be URLs, as promtool finds when it
/// builds the targets.
fn require_addresses(groups: &[TargetGroup]) -> Result<(), String> {
    for (group_index, group) in groups.iter().enumerate() {
        if let Some(instance) = group.targets.iter().position(|t| t.is_empty()) {
            return Err(format!(
                "instance {instance} in group {group_index}: no address"
            ));
        }
    }
    no_urls(groups)
}

fn no_urls(groups: &[TargetGroup]) -> Result<(), String> {
    groups
        .iter()
        .try_for_each(check_target_addresses)
        .map_err(|v| v.message)
}

fn check_file_sd(
    sd: &ServiceDiscovery,
    owner: &str,
    check_groups: Option<GroupCheck>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    for config in &sd.file_sd_configs {
        for pattern in &config.files {
            let files = glob_files(pattern)?;
            if files.is_empty() {
                warnings.push(format!(
                    "file {pattern:?} for file_sd in {owner} does not exist"
                ));
            }
            for file in files {
                let groups = read_target_groups(&file)
                    .map_err(|e| format!("checking SD file {pattern:?}: {e}"))?;
                if let Some(check) = check_groups {
                    check(&groups)?;
                }
            }
        }
    }
    Ok(())
}
