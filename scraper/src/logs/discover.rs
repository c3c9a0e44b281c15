//! Finding container log files: a Docker data root's `containers/` directory and a Kubernetes CRI
//! pod log root.
//!
//! - Docker json-file: `<root>/<64-hex id>/<id>-json.log`, rotated by renaming to `<id>-json.log.1`
//!   (older ones shifted to `.2`, `.3`, ...), optionally compressed to `<id>-json.log.<N>.gz`;
//!   metadata in `<root>/<id>/config.v2.json`.
//! - CRI (kubelet): `<root>/<ns>_<pod>_<uid>/<container>/<restart>.log`, rotated by renaming to
//!   `<restart>.log.<YYYYMMDD-hhmmss>`, older rotations gzipped (`.gz`); a container restart starts a
//!   new `<restart+1>.log` and leaves the previous one behind.
//!
//! A scan only lists names; nothing is opened. Names that do not fit a layout are skipped with a
//! debug log. Output is sorted by id, and each container's rotated files oldest first, so a
//! collector can read them in order.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;
use crate::error::Error;

/// Which runtime layout a container's logs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// Docker json-file logs.
    Docker,
    /// Kubernetes CRI logs written by the container runtime under the kubelet's pod log directory.
    Cri,
}

/// The log files of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLogs {
    /// The layout.
    pub kind: SourceKind,
    /// The Docker container id, or `<ns>_<pod>_<uid>/<container>` for CRI.
    pub id: String,
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The file being written: Docker `<id>-json.log`, CRI the highest restart's `<n>.log`. `None`
    /// when it is missing (between a rotation's rename and the new file, or only old files are left).
    pub current: Option<PathBuf>,
    /// Rotated files, oldest first. Docker: `.N[.gz]` down to `.1[.gz]`. CRI: per restart number
    /// ascending, its `<n>.log.<timestamp>[.gz]` by timestamp, then (for restarts before the current
    /// one) `<n>.log` itself. When both a plain file and its `.gz` exist (compression in progress),
    /// only the plain one is listed.
    pub rotated: Vec<PathBuf>,
    /// Docker's `config.v2.json`, when present.
    pub meta_file: Option<PathBuf>,
    /// CRI: the pod directory's name, `<ns>_<pod>_<uid>`.
    pub pod_dir_name: Option<String>,
    /// CRI: the container directory's name.
    pub container_dir_name: Option<String>,
}

/// Lists the containers under a Docker `containers` directory (e.g. `/var/lib/docker/containers`)
/// that have at least one json-file log. An unreadable `root` is an error; an unreadable container
/// directory is skipped.
pub fn scan_docker(root: &Path) -> Result<Vec<ContainerLogs>> {
    let mut found = Vec::new();
    for (name, dir) in list_dirs(root)? {
        if !is_container_id(&name) {
            tracing::debug!(dir = %dir.display(), "skipping directory: not a docker container id");
            continue;
        }
        let Some(files) = list_file_names(&dir) else { continue };
        let base = format!("{name}-json.log");
        let mut current = None;
        let mut rotated: Vec<(u64, bool, PathBuf)> = Vec::new();
        let mut meta_file = None;
        for file in files {
            if file == base {
                current = Some(dir.join(&file));
            } else if file == "config.v2.json" {
                meta_file = Some(dir.join(&file));
            } else if let Some(rest) = file.strip_prefix(&base).and_then(|r| r.strip_prefix('.')) {
                let (num, gz) = match rest.strip_suffix(".gz") {
                    Some(num) => (num, true),
                    None => (rest, false),
                };
                match parse_number(num) {
                    Some(n) if n >= 1 => rotated.push((n, gz, dir.join(&file))),
                    _ => tracing::debug!(file = %dir.join(&file).display(), "skipping file: bad rotation suffix"),
                }
            }
        }
        // Oldest first: the highest number is the oldest; a plain file shadows its `.gz`.
        rotated.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        rotated.dedup_by(|later, first| later.0 == first.0);
        if current.is_none() && rotated.is_empty() {
            tracing::debug!(dir = %dir.display(), "skipping container directory without a log file");
            continue;
        }
        found.push(ContainerLogs {
            kind: SourceKind::Docker,
            id: name,
            dir,
            current,
            rotated: rotated.into_iter().map(|(_, _, p)| p).collect(),
            meta_file,
            pod_dir_name: None,
            container_dir_name: None,
        });
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Lists the containers under a kubelet pod log directory (e.g. `/var/log/pods`) that have at least
/// one log file. An unreadable `root` is an error; an unreadable pod or container directory is
/// skipped.
pub fn scan_cri(root: &Path) -> Result<Vec<ContainerLogs>> {
    let mut found = Vec::new();
    for (pod_name, pod_dir) in list_dirs(root)? {
        if !is_pod_dir_name(&pod_name) {
            tracing::debug!(dir = %pod_dir.display(), "skipping directory: not <namespace>_<pod>_<uid>");
            continue;
        }
        let containers = match list_dirs(&pod_dir) {
            Ok(containers) => containers,
            Err(e) => {
                tracing::debug!(dir = %pod_dir.display(), error = %e, "skipping unreadable pod directory");
                continue;
            }
        };
        for (container_name, dir) in containers {
            let Some(files) = list_file_names(&dir) else { continue };
            // (restart, timestamp or None for the plain `<n>.log`, gz, path)
            let mut logs: Vec<(u64, Option<String>, bool, PathBuf)> = Vec::new();
            for file in files {
                match parse_cri_file_name(&file) {
                    Some((n, ts, gz)) => logs.push((n, ts, gz, dir.join(&file))),
                    None => tracing::debug!(file = %dir.join(&file).display(), "skipping file: not a cri log name"),
                }
            }
            let Some(last_restart) = logs.iter().map(|l| l.0).max() else {
                tracing::debug!(dir = %dir.display(), "skipping container directory without a log file");
                continue;
            };
            // Per restart: timestamped rotations in time order (plain before its `.gz`), then `<n>.log`.
            logs.sort_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| match (&a.1, &b.1) {
                    (Some(x), Some(y)) => x.cmp(y).then(a.2.cmp(&b.2)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
            });
            logs.dedup_by(|later, first| later.0 == first.0 && later.1.is_some() && later.1 == first.1);
            let mut current = None;
            let mut rotated = Vec::new();
            for (n, ts, _, path) in logs {
                if n == last_restart && ts.is_none() {
                    current = Some(path);
                } else {
                    rotated.push(path);
                }
            }
            found.push(ContainerLogs {
                kind: SourceKind::Cri,
                id: format!("{pod_name}/{container_name}"),
                dir,
                current,
                rotated,
                meta_file: None,
                pod_dir_name: Some(pod_name.clone()),
                container_dir_name: Some(container_name),
            });
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Subdirectories of `dir` (symlinks followed) with UTF-8 names, as (name, path).
fn list_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = fs::read_dir(dir).map_err(|e| Error::Tail {
        path: dir.display().to_string(),
        reason: format!("read directory: {e}"),
    })?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "skipping unreadable directory entry");
                continue;
            }
        };
        let path = entry.path();
        if !fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => dirs.push((name, path)),
            Err(_) => tracing::debug!(dir = %path.display(), "skipping directory with a non-utf-8 name"),
        }
    }
    Ok(dirs)
}

/// Names of the regular files (symlinks followed) in `dir`; `None` (logged) when unreadable.
fn list_file_names(dir: &Path) -> Option<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::debug!(dir = %dir.display(), error = %e, "skipping unreadable container directory");
            return None;
        }
    };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        if !fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(_) => tracing::debug!(file = %entry.path().display(), "skipping file with a non-utf-8 name"),
        }
    }
    Some(names)
}

/// A Docker container id: 64 lowercase hex digits.
fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<namespace>_<pod>_<uid>`: three non-empty parts (namespace and pod names cannot hold `_`).
fn is_pod_dir_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('_').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty())
}

/// A decimal number of at most 19 digits (no sign, no empty string).
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `<n>.log`, `<n>.log.<YYYYMMDD-hhmmss>` or `<n>.log.<YYYYMMDD-hhmmss>.gz` as (n, timestamp, gz).
fn parse_cri_file_name(name: &str) -> Option<(u64, Option<String>, bool)> {
    let (num, rest) = name.split_once(".log")?;
    let n = parse_number(num)?;
    if rest.is_empty() {
        return Some((n, None, false));
    }
    let rest = rest.strip_prefix('.')?;
    let (ts, gz) = match rest.strip_suffix(".gz") {
        Some(ts) => (ts, true),
        None => (rest, false),
    };
    let b = ts.as_bytes();
    let valid = b.len() == 15 && b[8] == b'-' && b.iter().enumerate().all(|(i, c)| i == 8 || c.is_ascii_digit());
    valid.then(|| (n, Some(ts.to_string()), gz))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x\n").unwrap();
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn scan_docker_lists_current_rotated_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let a = "a".repeat(64);
        let b = format!("{}0", "b".repeat(63));
        for f in [
            "-json.log",
            "-json.log.1",
            "-json.log.1.gz",
            "-json.log.2.gz",
            "-json.log.3.gz",
            "-json.log.10",
        ] {
            touch(&root.join(&a).join(format!("{a}{f}")));
        }
        for bad in ["-json.log.x", "-json.log.0", "-json.log.", "-json.log.1.gz.tmp"] {
            touch(&root.join(&a).join(format!("{a}{bad}")));
        }
        touch(&root.join(&a).join("config.v2.json"));
        touch(&root.join(&a).join("hostconfig.json"));
        touch(&root.join(&b).join(format!("{b}-json.log.1")));
        touch(&root.join("c".repeat(64)).join("config.v2.json")); // no log file
        touch(&root.join("A".repeat(64)).join(format!("{}-json.log", "A".repeat(64)))); // not lowercase hex
        touch(&root.join("short").join("short-json.log"));
        touch(&root.join("d".repeat(64))); // a file, not a directory

        let found = scan_docker(root).unwrap();
        assert_eq!(
            found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            vec![a.as_str(), b.as_str()]
        );
        let first = &found[0];
        assert_eq!(first.kind, SourceKind::Docker);
        assert_eq!(first.dir, root.join(&a));
        assert_eq!(first.current, Some(root.join(&a).join(format!("{a}-json.log"))));
        let suffixes: Vec<String> = names(&first.rotated).iter().map(|n| n[a.len()..].to_string()).collect();
        assert_eq!(
            suffixes,
            vec!["-json.log.10", "-json.log.3.gz", "-json.log.2.gz", "-json.log.1"]
        );
        assert_eq!(first.meta_file, Some(root.join(&a).join("config.v2.json")));
        assert_eq!(
            (first.pod_dir_name.as_deref(), first.container_dir_name.as_deref()),
            (None, None)
        );
        let second = &found[1];
        assert_eq!(second.current, None);
        assert_eq!(names(&second.rotated), vec![format!("{b}-json.log.1")]);
        assert_eq!(second.meta_file, None);
    }

    #[test]
    fn scan_cri_orders_restarts_and_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let app = root
            .join("default_web-0_0f1e2d3c-0000-4000-8000-000000000001")
            .join("app");
        for f in [
            "0.log",
            "0.log.20240101-000000.gz",
            "1.log.20240102-120000",
            "1.log.20240102-130000",
            "1.log.20240102-130000.gz",
            "1.log",
            "10.log",
            "10.log.20240104-000000",
            "1.log.tmp",
            "2.log.20240103-000000.gz.tmp",
            "x.log",
            "3.log.2024-01-01",
            "0.logs",
        ] {
            touch(&app.join(f));
        }
        let pod = root.join("default_web-0_0f1e2d3c-0000-4000-8000-000000000001");
        touch(&pod.join("sidecar").join("0.log"));
        fs::create_dir_all(pod.join("empty")).unwrap();
        touch(&root.join("kube-system_bad").join("c").join("0.log"));
        touch(&root.join("a_b_c").join("z").join("3.log.20240101-000000.gz"));

        let found = scan_cri(root).unwrap();
        let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "a_b_c/z",
                "default_web-0_0f1e2d3c-0000-4000-8000-000000000001/app",
                "default_web-0_0f1e2d3c-0000-4000-8000-000000000001/sidecar",
            ]
        );
        assert_eq!(found[0].current, None);
        assert_eq!(names(&found[0].rotated), vec!["3.log.20240101-000000.gz"]);
        let c = &found[1];
        assert_eq!(c.kind, SourceKind::Cri);
        assert_eq!(c.dir, app);
        assert_eq!(c.current, Some(app.join("10.log")));
        assert_eq!(
            names(&c.rotated),
            vec![
                "0.log.20240101-000000.gz",
                "0.log",
                "1.log.20240102-120000",
                "1.log.20240102-130000",
                "1.log",
                "10.log.20240104-000000",
            ]
        );
        assert_eq!(
            c.pod_dir_name.as_deref(),
            Some("default_web-0_0f1e2d3c-0000-4000-8000-000000000001")
        );
        assert_eq!(c.container_dir_name.as_deref(), Some("app"));
        assert_eq!(c.meta_file, None);
        assert_eq!(found[2].current, Some(pod.join("sidecar").join("0.log")));
        assert!(found[2].rotated.is_empty());
    }

    #[test]
    fn unreadable_root_is_an_error_and_empty_root_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(matches!(scan_docker(&missing), Err(Error::Tail { path, .. }) if path.ends_with("missing")));
        assert!(matches!(scan_cri(&missing), Err(Error::Tail { .. })));
        assert_eq!(scan_docker(dir.path()).unwrap(), Vec::new());
        assert_eq!(scan_cri(dir.path()).unwrap(), Vec::new());
    }

    #[test]
    fn name_parsers_reject_bad_input() {
        assert_eq!(parse_cri_file_name("7.log"), Some((7, None, false)));
        assert_eq!(
            parse_cri_file_name("7.log.20240102-030405.gz"),
            Some((7, Some("20240102-030405".into()), true))
        );
        for bad in [
            "",
            ".log",
            "-1.log",
            "+1.log",
            "1.log.",
            "1.log.2024010-030405",
            "1.log.20240102x030405",
            "99999999999999999999.log",
            "1.log.20240102-030405.gz.tmp",
        ] {
            assert_eq!(parse_cri_file_name(bad), None, "{bad}");
        }
        assert!(is_pod_dir_name("ns_pod_uid"));
        for bad in ["ns_pod", "ns__uid", "a_b_c_d", "_b_c"] {
            assert!(!is_pod_dir_name(bad), "{bad}");
        }
        assert!(is_container_id(&"0123456789abcdef".repeat(4)));
        assert!(!is_container_id(&"0123456789abcdeg".repeat(4)));
        assert_eq!(parse_number("18446744073709551615"), None);
    }
}
