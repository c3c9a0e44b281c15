//! File-based service discovery (`file_sd_configs`): JSON or YAML files listing target groups,
//! re-read when they change.
//!
//! A file holds a list of `{targets: [host:port…], labels: {name: value…}}` objects. Each group gets
//! a `__meta_filepath` label naming its file. Patterns may use `*` in the file name (not in
//! directories), as in Prometheus. A file that cannot be read or parsed keeps its previous groups
//! and logs the error; a file that disappears loses its groups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::error::Error;
use crate::target::{ADDRESS_LABEL, TargetGroup};

/// Largest discovery file read, in bytes.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// How often files are checked for changes (besides the full re-read every `refresh_interval`).
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// One `file_sd_configs` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSdConfig {
    /// Paths or patterns (`*` in the last path element) of `.json`, `.yml` or `.yaml` files.
    pub files: Vec<String>,
    /// Re-read every file at least this often (default 5m).
    pub refresh_interval: Duration,
}

impl FileSdConfig {
    /// Checks the patterns as Prometheus does: a known extension, `*` only in the file name.
    pub fn validate(&self) -> Result<(), Error> {
        for pattern in &self.files {
            let path = Path::new(pattern);
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let parent = path.parent().and_then(|p| p.to_str()).unwrap_or("");
            let lower = name.to_ascii_lowercase();
            if !(lower.ends_with(".json") || lower.ends_with(".yml") || lower.ends_with(".yaml")) {
                return Err(Error::Config(format!(
                    "file_sd_configs: {pattern:?} must end in .json, .yml or .yaml"
                )));
            }
            if parent.contains('*') || parent.contains('?') || parent.contains('[') {
                return Err(Error::Config(format!(
                    "file_sd_configs: path {pattern:?} may only use patterns in its last element"
                )));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Parses the content of a discovery file; `path` decides the format (`.json` or YAML).
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<TargetGroup>, Error> {
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let groups: Vec<FileGroup> = if is_json {
        serde_json::from_str(text).map_err(|e| Error::Discovery(format!("{}: {e}", path.display())))?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_saphyr::from_str(text).map_err(|e| Error::Discovery(format!("{}: {e}", path.display())))?
    };
    let file = path.display().to_string();
    let mut out = Vec::with_capacity(groups.len());
    for (index, group) in groups.into_iter().enumerate() {
        for address in &group.targets {
            if address.contains('/') || address.is_empty() {
                return Err(Error::Discovery(format!(
                    "{file}: group {index}: {address:?} is not a valid target address (want host:port)"
                )));
            }
        }
        for name in group.labels.keys() {
            if name.is_empty() {
                return Err(Error::Discovery(format!("{file}: group {index}: empty label name")));
            }
        }
        let mut labels: Vec<(String, String)> = group.labels.into_iter().collect();
        labels.push(("__meta_filepath".into(), file.clone()));
        out.push(TargetGroup {
            source: format!("{file}:{index}"),
            targets: group
                .targets
                .into_iter()
                .map(|a| vec![(ADDRESS_LABEL.to_string(), a)])
                .collect(),
            labels,
        });
    }
    Ok(out)
}

/// Expands the patterns of a config into the files that exist now, sorted.
pub fn expand(patterns: &[String]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for pattern in patterns {
        let path = Path::new(pattern);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains('*') {
            if path.is_file() {
                files.push(path.to_path_buf());
            }
            continue;
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            if let Some(file_name) = file_name.to_str()
                && wildcard_match(name, file_name)
                && entry.path().is_file()
            {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

/// `*` matches any run of characters (including none); everything else matches itself.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// What is known about one discovery file.
#[derive(Debug, Clone)]
struct FileState {
    modified: Option<SystemTime>,
    len: u64,
    groups: Vec<TargetGroup>,
}

/// The state of one `file_sd_configs` entry between polls.
#[derive(Debug)]
pub struct FileWatcher {
    config: FileSdConfig,
    files: BTreeMap<PathBuf, FileState>,
    last_full_read: Option<std::time::Instant>,
}

impl FileWatcher {
    /// A watcher that has read nothing yet.
    pub fn new(config: FileSdConfig) -> Self {
        FileWatcher {
            config,
            files: BTreeMap::new(),
            last_full_read: None,
        }
    }

    /// Re-reads the files that changed (all of them once per refresh interval). Returns the groups of
    /// every file when anything changed, `None` otherwise. Errors are logged; the file keeps its
    /// previous groups.
    pub fn poll(&mut self) -> Option<Vec<TargetGroup>> {
        let full = self
            .last_full_read
            .is_none_or(|at| at.elapsed() >= self.config.refresh_interval);
        if full {
            self.last_full_read = Some(std::time::Instant::now());
        }
        let present = expand(&self.config.files);
        let mut changed = false;
        let before = self.files.len();
        self.files.retain(|path, _| present.contains(path));
        changed |= self.files.len() != before;
        for path in present {
            let meta = std::fs::metadata(&path).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.as_ref().map_or(0, |m| m.len());
            if !full
                && let Some(state) = self.files.get(&path)
                && state.modified == modified
                && state.len == len
            {
                continue;
            }
            match read_groups(&path, len) {
                Ok(groups) => {
                    let state = self.files.entry(path).or_insert(FileState {
                        modified: None,
                        len: 0,
                        groups: Vec::new(),
                    });
                    changed |= state.groups != groups;
                    *state = FileState { modified, len, groups };
                }
                Err(error) => {
                    tracing::error!(file = %path.display(), %error, "reading discovery file failed");
                    if let Some(state) = self.files.get_mut(&path) {
                        // Retry on the next poll, keep the last good groups.
                        state.modified = None;
                    }
                }
            }
        }
        changed.then(|| self.groups())
    }

    /// The groups of every file, in file order.
    pub fn groups(&self) -> Vec<TargetGroup> {
        self.files.values().flat_map(|s| s.groups.iter().cloned()).collect()
    }
}

fn read_groups(path: &Path, len: u64) -> Result<Vec<TargetGroup>, Error> {
    if len > MAX_FILE_SIZE {
        return Err(Error::Discovery(format!(
            "{}: file is larger than {MAX_FILE_SIZE} bytes",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::Discovery(format!("{}: {e}", path.display())))?;
    parse_file(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_and_yaml_groups() {
        let json = r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#;
        let groups = parse_file(Path::new("/sd/x.json"), json).expect("valid");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].source, "/sd/x.json:0");
        assert_eq!(groups[0].targets.len(), 2);
        assert!(groups[0].labels.contains(&("env".into(), "prod".into())));
        assert!(
            groups[1]
                .labels
                .contains(&("__meta_filepath".into(), "/sd/x.json".into()))
        );
        let yaml = "- targets: ['a:1']\n  labels:\n    team: db\n";
        let groups = parse_file(Path::new("/sd/x.yml"), yaml).expect("valid");
        assert_eq!(groups[0].targets[0][0].1, "a:1");
        assert!(groups[0].labels.contains(&("team".into(), "db".into())));
    }

    #[test]
    fn rejects_bad_files() {
        let error = parse_file(Path::new("x.json"), "[{\"target\": []}]").expect_err("misspelled key");
        assert!(error.to_string().contains("target"), "{error}");
        assert!(parse_file(Path::new("x.json"), "[{\"targets\": [\"http://a/b\"]}]").is_err());
        assert!(parse_file(Path::new("x.yaml"), "- targets: [a:1\n").is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.json", "a.json"));
        assert!(wildcard_match("node-*.yml", "node-1.yml"));
        assert!(!wildcard_match("node-*.yml", "db-1.yml"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a*b*c", "abx"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        let bad = FileSdConfig {
            files: vec!["/x/*/a.json".into()],
            refresh_interval: Duration::from_secs(60),
        };
        assert!(bad.validate().is_err());
        let bad = FileSdConfig {
            files: vec!["/x/a.txt".into()],
            refresh_interval: Duration::from_secs(60),
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn watcher_sees_changes_and_removals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("t.json");
        std::fs::write(&file, r#"[{"targets": ["a:1"]}]"#).expect("write");
        let mut watcher = FileWatcher::new(FileSdConfig {
            files: vec![dir.path().join("*.json").display().to_string()],
            refresh_interval: Duration::from_secs(300),
        });
        let groups = watcher.poll().expect("first read");
        assert_eq!(groups.len(), 1);
        assert!(watcher.poll().is_none(), "nothing changed");
        std::fs::write(&file, r#"[{"targets": ["a:1", "b:2"]}]"#).expect("write");
        let groups = watcher.poll().expect("changed");
        assert_eq!(groups[0].targets.len(), 2);
        std::fs::write(&file, "not json").expect("write");
        assert!(watcher.poll().is_none(), "a broken file keeps its groups");
        assert_eq!(watcher.groups()[0].targets.len(), 2);
        std::fs::remove_file(&file).expect("remove");
        assert_eq!(watcher.poll().map(|g| g.len()), Some(0));
    }
}
