//! Service discovery: `static_configs` and `file_sd_configs`.
//!
//! Static groups come straight from the config; [`FileWatcher`] re-reads file SD files
//! when they change and reports the complete set of groups it knows.

pub use ember_config::TargetGroup;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Watches the files matched by glob patterns; re-reads them when their modification
/// times change (checked every `poll`) and at least every `refresh_interval`.
pub struct FileWatcher {
    patterns: Vec<String>,
    refresh_interval: Duration,
    seen: BTreeMap<PathBuf, Option<SystemTime>>,
    last_full_read: Option<std::time::Instant>,
    last_groups: BTreeMap<PathBuf, Vec<TargetGroup>>,
}

impl FileWatcher {
    /// A watcher over `patterns` (already resolved against the config directory).
    pub fn new(patterns: Vec<String>, refresh_interval: Duration) -> Self {
        FileWatcher {
            patterns,
            refresh_interval,
            seen: BTreeMap::new(),
            last_full_read: None,
            last_groups: BTreeMap::new(),
        }
    }

    fn matched_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self
            .patterns
            .iter()
            .filter_map(|p| glob::glob(p).ok())
            .flat_map(|paths| paths.filter_map(Result::ok))
            .collect();
        files.sort();
        files.dedup();
        files
    }

    /// Returns the current groups when something changed since the last call, with any
    /// per-file read errors (a file that fails keeps its previous groups, as Prometheus does).
    pub fn poll(&mut self) -> Option<(Vec<TargetGroup>, Vec<String>)> {
        let files = self.matched_files();
        let now = std::time::Instant::now();
        let due = self
            .last_full_read
            .is_none_or(|t| now.duration_since(t) >= self.refresh_interval);
        let stamps: BTreeMap<PathBuf, Option<SystemTime>> = files
            .iter()
            .map(|f| {
                (
                    f.clone(),
                    std::fs::metadata(f).and_then(|m| m.modified()).ok(),
                )
            })
            .collect();
        if !due && stamps == self.seen {
            return None;
        }
        let mut errors = Vec::new();
        let mut groups = BTreeMap::new();
        for f in &files {
            match ember_config::read_target_groups(f).map_err(|e| e.to_string()) {
                Ok(g) => {
                    groups.insert(f.clone(), g);
                }
                Err(e) => {
                    errors.push(e);
                    if let Some(old) = self.last_groups.get(f) {
                        groups.insert(f.clone(), old.clone());
                    }
                }
            }
        }
        self.seen = stamps;
        self.last_full_read = Some(now);
        let changed = groups != self.last_groups;
        self.last_groups = groups;
        (changed || !errors.is_empty()).then(|| {
            (
                self.last_groups.values().flatten().cloned().collect(),
                errors,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_sd_json_and_yaml_and_change_detection() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.json");
        std::fs::write(
            &json,
            r#"[{"targets":["h1:1","h2:2"],"labels":{"env":"prod"}}]"#,
        )
        .unwrap();
        let yaml = dir.path().join("b.yml");
        std::fs::write(&yaml, "- targets: ['h3:3']\n").unwrap();
        let mut w = FileWatcher::new(
            vec![format!("{}/*", dir.path().display())],
            Duration::from_secs(300),
        );
        let (groups, errors) = w.poll().expect("first poll reports groups");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].targets, vec!["h1:1", "h2:2"]);
        assert_eq!(groups[0].labels.get("env"), Some("prod"));
        assert_eq!(
            groups[0].labels.get("__meta_filepath"),
            Some(json.display().to_string().as_str())
        );
        assert!(w.poll().is_none(), "nothing changed");
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&yaml, "- targets: ['h3:3', 'h4:4']\n").unwrap();
        // Force a distinct mtime even on coarse filesystems.
        let later = SystemTime::now() + Duration::from_secs(2);
        std::fs::File::options()
            .write(true)
            .open(&yaml)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let (groups, _) = w.poll().expect("change detected");
        assert_eq!(groups[1].targets.len(), 2);
        std::fs::write(&json, "not json").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&json)
            .unwrap()
            .set_modified(later + Duration::from_secs(2))
            .unwrap();
        let (groups, errors) = w.poll().expect("error reported");
        assert_eq!(errors.len(), 1);
        assert_eq!(groups.len(), 2, "a broken file keeps its previous targets");
    }
}
