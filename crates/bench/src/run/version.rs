//! What version of each system ran, for the report.

use crate::system::SystemKind;
use std::path::Path;
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Some(
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())?
            .to_string(),
    )
}

/// `2.42.0+ds` from `prometheus, version 2.42.0+ds (branch: …)`.
pub(crate) fn parse_prometheus_version(line: &str) -> Option<&str> {
    line.split("version ").nth(1)?.split_whitespace().next()
}

/// The version of `binary`, as precise as can be found: its own version output, the
/// Debian package's version (the Debian build of VictoriaMetrics prints none), and for
/// Ember the git commit it was built from.
pub(crate) fn detect(kind: SystemKind, binary: &Path) -> String {
    let bin = binary.to_string_lossy();
    match kind {
        SystemKind::Ember => {
            let own = output(&bin, &["--version"]).unwrap_or_else(|| "ember".into());
            let commit = output("git", &["rev-parse", "--short", "HEAD"]);
            let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"]).is_some();
            match commit {
                Some(c) if dirty => format!("{own} (git {c}, with uncommitted changes)"),
                Some(c) => format!("{own} (git {c})"),
                None => own,
            }
        }
        SystemKind::Prometheus => output(&bin, &["--version"])
            .as_deref()
            .and_then(parse_prometheus_version)
            .map_or_else(|| "unknown".into(), str::to_string),
        SystemKind::VictoriaMetrics => output(&bin, &["-version"])
            .or_else(|| {
                let package = binary.file_name()?.to_str()?;
                output("dpkg-query", &["-W", "-f=${Version}", package])
                    .map(|v| format!("{v} (Debian package)"))
            })
            .unwrap_or_else(|| "unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_version_from_its_banner() {
        let line =
            "prometheus, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5+deb12u1)";
        assert_eq!(parse_prometheus_version(line), Some("2.42.0+ds"));
        assert_eq!(parse_prometheus_version("nonsense"), None);
    }
}
