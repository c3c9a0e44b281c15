//! Drives container log files into the log store with exactly-once delivery.
//!
//! A [`Collector`] scans the Docker and CRI roots (at start and every `rescan_interval`), follows
//! every container's log files with [`FileTailer`](crate::logs::tail::FileTailer) /
//! [`GzTailer`](crate::logs::tail::GzTailer), decodes them, and hands records to
//! [`LogStore::append_from_files`] in batches together with the file positions they reach. The store
//! saves those positions atomically with its next commit and forgets uncommitted ones after a crash,
//! so a restarted collector resumes exactly where the stored lines end.
//!
//! Where to start reading a container at startup (or when it first appears), given the stored
//! positions: its files, rotated ones oldest first and then the current one, are matched against
//! them. A plain file matches the position stored under its (device, inode) when its head
//! fingerprint still does; a `.gz` rotated file matches a position of a file in the same directory
//! whose fingerprint its decompressed head reproduces, and is then read from that offset with
//! positions still reported under the original identity. Files older than the oldest match are
//! skipped (already stored), matched files resume at their offsets, unmatched newer files are read
//! from 0. With no match at all, a container found by the first scan (a first start) has only its
//! current file read, from 0, leaving rotated history alone; a container that appears later (it
//! started while Loupe runs) has all its files read from 0, rotated ones too, since they are new.
//!
//! While following, each poll checks the current file: rotated, the old handle is drained to its
//! end and the new current file is read from 0; truncated (copytruncate), reading restarts at 0. A
//! finished file's position is forgotten once every older file of its container is finished too
//! (so a restart never mistakes a gap for a new file). A container whose directory disappeared is
//! drained, flushed and forgotten.

mod source;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ::logs::{FilePosition, LogStore, PushEntry, PushStream};
use tsdb::Labels;

use self::source::{Limits, Source};
use super::discover::{ContainerLogs, SourceKind, scan_cri, scan_docker};
use super::docker::{LogRecord, LogStream};
use super::meta::{cri_labels, detected_level, docker_labels, service_name};
use super::tail::{TailConfig, file_identity, fingerprint_matches, is_gz};
use crate::{Error, Result};

/// Settings of a [`Collector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Docker's `containers` directory (e.g. `/var/lib/docker/containers`), if collected.
    pub docker_root: Option<PathBuf>,
    /// The kubelet's pod log directory (e.g. `/var/log/pods`), if collected.
    pub cri_root: Option<PathBuf>,
    /// Pause between polls of the files. Default 250 ms.
    pub poll_interval: Duration,
    /// Pause between scans of the roots for new and removed containers. Default 5 s.
    pub rescan_interval: Duration,
    /// Longest log line stored; longer lines are truncated. Default 256 KiB.
    pub max_line_bytes: usize,
    /// Bytes read per file per poll, and the size at which a batch is appended. Default 1 MiB.
    pub batch_bytes: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            docker_root: None,
            cri_root: None,
            poll_interval: Duration::from_millis(250),
            rescan_interval: Duration::from_secs(5),
            max_line_bytes: 256 * 1024,
            batch_bytes: 1024 * 1024,
        }
    }
}

/// What one [`Collector::poll_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Records appended to the store.
    pub records: usize,
    /// Raw bytes read from files.
    pub bytes: u64,
    /// Files followed.
    pub files: usize,
    /// Errors met (scans, reads), each logged.
    pub errors: usize,
}

/// The state of one followed file, for status pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// The path the file had when it was opened (a rotated file may have been renamed since).
    pub path: PathBuf,
    /// The log layout.
    pub kind: SourceKind,
    /// The container id (Docker) or `<ns>_<pod>_<uid>/<container>` (CRI).
    pub container_id: String,
    /// The container's stream labels (without `stream` and `service_name`).
    pub labels: Vec<(String, String)>,
    /// Bytes read so far (decompressed bytes for a `.gz` file).
    pub offset: u64,
    /// The file's size, when known (not for `.gz` files).
    pub size: Option<u64>,
    /// `size - offset`: bytes not read yet.
    pub lag_bytes: Option<u64>,
    /// The last error reading the file.
    pub last_error: Option<String>,
    /// Lines skipped as malformed.
    pub malformed_lines: u64,
}

/// One container and the files followed for it.
struct Container {
    logs: ContainerLogs,
    labels: Vec<(String, String)>,
    /// Stream labels for stdout and stderr records.
    stream_labels: [Labels; 2],
    /// Oldest first; the current file, when followed, is the last one and not final.
    sources: Vec<Source>,
    /// The path of the current file: reopened from 0 after a rotation.
    current_path: Option<PathBuf>,
    /// The directory disappeared: drain, flush, forget, drop.
    removed: bool,
}

/// Records and positions on their way to the store.
#[derive(Default)]
struct Batch {
    streams: Vec<PushStream>,
    index: HashMap<Labels, usize>,
    positions: Vec<FilePosition>,
    /// Positions to forget once the batch is appended.
    forget: Vec<String>,
    bytes: usize,
    records: usize,
}

impl Batch {
    fn add(&mut self, labels: &Labels, record: LogRecord) {
        // As Loki: `detected_level` only when a level is found (Grafana shows the rest as unknown).
        let metadata = detected_level(&record.line)
            .map(|level| vec![("detected_level".to_owned(), level.to_owned())])
            .unwrap_or_default();
        self.bytes += record.line.len();
        self.records += 1;
        let entry = PushEntry {
            ts_ns: record.ts_ns,
            metadata,
            line: record.line,
        };
        let slot = match self.index.get(labels) {
            Some(slot) => *slot,
            None => {
                self.streams.push(PushStream {
                    labels: labels.clone(),
                    entries: Vec::new(),
                });
                self.index.insert(labels.clone(), self.streams.len() - 1);
                self.streams.len() - 1
            }
        };
        self.streams[slot].entries.push(entry);
    }
}

/// Follows container log files and appends their lines to a [`LogStore`].
pub struct Collector {
    config: CollectorConfig,
    limits: Limits,
    store: Arc<LogStore>,
    /// By `"<kind>:<id>"`.
    containers: BTreeMap<String, Container>,
    last_scan: Option<Instant>,
    /// A batch the store refused; sent again before anything else is read.
    unsent: Option<Batch>,
    status: Arc<RwLock<Vec<FileStatus>>>,
    /// The last poll used some file's whole budget: poll again without sleeping.
    behind: bool,
    /// The first scan is done: containers found from now on appeared while Loupe runs, so all
    /// of their files (rotated ones too) are new and read from the start.
    scanned_once: bool,
}

impl Collector {
    /// A collector for `config`'s roots, appending to `store`. Nothing is read before
    /// [`Collector::poll_once`].
    pub fn new(config: CollectorConfig, store: Arc<LogStore>) -> Collector {
        let limits = Limits {
            tail: TailConfig {
                max_line_bytes: config.max_line_bytes.max(1),
                ..TailConfig::default()
            },
            max_line_bytes: config.max_line_bytes.max(1),
            batch_bytes: config.batch_bytes.max(1),
        };
        Collector {
            config,
            limits,
            store,
            containers: BTreeMap::new(),
            last_scan: None,
            unsent: None,
            status: Arc::new(RwLock::new(Vec::new())),
            behind: false,
            scanned_once: false,
        }
    }

    /// The status of every followed file, replaced after each poll.
    pub fn status(&self) -> Arc<RwLock<Vec<FileStatus>>> {
        Arc::clone(&self.status)
    }

    /// One round: rescans the roots when due (always on the first call), reads what is available
    /// from every followed file (at most `batch_bytes` per file) and appends it in batches of about
    /// `batch_bytes`. Read and scan errors are logged and counted; an error appending to the store
    /// is returned, and the batch is retried on the next call before anything else is read.
    pub fn poll_once(&mut self) -> Result<PollStats> {
        let mut stats = PollStats::default();
        self.behind = false;
        if let Some(batch) = self.unsent.take() {
            stats.records += self.send(batch)?;
        }
        if self
            .last_scan
            .is_none_or(|t| t.elapsed() >= self.config.rescan_interval)
        {
            self.last_scan = Some(Instant::now());
            stats.errors += self.rescan();
        }
        let mut batch = Batch::default();
        let keys: Vec<String> = self.containers.keys().cloned().collect();
        for key in keys {
            let Some(container) = self.containers.get_mut(&key) else {
                continue;
            };
            self.behind |= container.poll(&self.limits, &mut batch, &mut stats);
            if batch.bytes >= self.limits.batch_bytes {
                stats.records += self.send(std::mem::take(&mut batch))?;
            }
        }
        stats.records += self.send(batch)?;
        self.containers.retain(|_, c| !(c.removed && c.sources.is_empty()));
        stats.files = self.containers.values().map(|c| c.sources.len()).sum();
        self.publish_status();
        Ok(stats)
    }

    /// Polls until `stop` is set, sleeping `poll_interval` between polls unless a file had more to
    /// read. Errors are logged; nothing panics.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match self.poll_once() {
                Ok(stats) if stats.records > 0 || stats.errors > 0 => {
                    tracing::debug!(
                        records = stats.records,
                        bytes = stats.bytes,
                        files = stats.files,
                        errors = stats.errors,
                        "container log poll"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    self.behind = false;
                    tracing::warn!(error = %e, "appending container logs to the log store failed");
                }
            }
            if self.behind {
                continue;
            }
            let until = Instant::now() + self.config.poll_interval;
            while !stop.load(Ordering::Relaxed) {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
        }
    }

    /// Appends a batch, then forgets its finished files' positions. Returns the records appended;
    /// on failure the batch is kept for the next poll.
    fn send(&mut self, batch: Batch) -> Result<usize> {
        if (!batch.streams.is_empty() || !batch.positions.is_empty())
            && let Err(e) = self.store.append_from_files(&batch.streams, &batch.positions)
        {
            self.unsent = Some(batch);
            return Err(Error::Scrape(format!("log store: {e}")));
        }
        for key in &batch.forget {
            self.store.forget_position(key);
        }
        Ok(batch.records)
    }

    /// Scans the roots: starts following new containers, notices CRI restarts, marks containers
    /// whose directory is gone, and forgets stored positions no file accounts for. Returns the
    /// number of errors.
    fn rescan(&mut self) -> usize {
        let mut errors = 0;
        let mut scanned: Vec<ContainerLogs> = Vec::new();
        let mut roots_ok: Vec<PathBuf> = Vec::new();
        let roots = [
            (self.config.docker_root.clone(), SourceKind::Docker),
            (self.config.cri_root.clone(), SourceKind::Cri),
        ];
        for (root, kind) in roots {
            let Some(root) = root else { continue };
            if !root.is_dir() {
                tracing::debug!(root = %root.display(), "container log root missing");
                continue;
            }
            let found = match kind {
                SourceKind::Docker => scan_docker(&root),
                SourceKind::Cri => scan_cri(&root),
            };
            match found {
                Ok(found) => {
                    scanned.extend(found);
                    roots_ok.push(root);
                }
                Err(e) => {
                    errors += 1;
                    tracing::warn!(root = %root.display(), error = %e, "scanning container logs failed");
                }
            }
        }
        let positions = self.store.positions();
        let mut claimed: HashSet<String> = self
            .containers
            .values()
            .flat_map(|c| c.sources.iter().map(Source::key))
            .collect();
        let mut seen = HashSet::new();
        for logs in scanned {
            let key = format!("{:?}:{}", logs.kind, logs.id);
            seen.insert(key.clone());
            match self.containers.get_mut(&key) {
                Some(container) => container.update(logs),
                None => {
                    let (container, errs) =
                        Container::start(logs, &positions, &mut claimed, &self.limits, self.scanned_once);
                    errors += errs;
                    self.containers.insert(key, container);
                }
            }
        }
        for (key, container) in &mut self.containers {
            if !seen.contains(key) && !container.removed && !container.logs.dir.exists() {
                tracing::info!(container = %container.logs.id, "container log directory removed, draining");
                container.removed = true;
                for source in &mut container.sources {
                    source.final_ = true;
                }
            }
        }
        // Positions of files under a scanned root that no followed file reports: skipped history
        // and files deleted meanwhile.
        for (key, pos) in &positions {
            let under = roots_ok.iter().any(|root| Path::new(&pos.path).starts_with(root));
            if under && !claimed.contains(key) {
                tracing::debug!(path = %pos.path, key = %key, "forgetting the position of a file no longer followed");
                self.store.forget_position(key);
            }
        }
        self.scanned_once = true;
        errors
    }

    fn publish_status(&self) {
        let mut all = Vec::new();
        for c in self.containers.values() {
            for s in &c.sources {
                let offset = s.read_offset();
                let size = s.size();
                all.push(FileStatus {
                    path: s.path.clone(),
                    kind: c.logs.kind,
                    container_id: c.logs.id.clone(),
                    labels: c.labels.clone(),
                    offset,
                    size,
                    lag_bytes: size.map(|n| n.saturating_sub(offset)),
                    last_error: s.last_error.clone(),
                    malformed_lines: s.malformed,
                });
            }
        }
        match self.status.write() {
            Ok(mut status) => *status = all,
            Err(poisoned) => *poisoned.into_inner() = all,
        }
    }
}

impl Container {
    /// Starts following a container first seen by a scan, choosing its files and offsets from the
    /// stored positions (see the module documentation). `claimed` holds the position keys already
    /// in use, and gains the new ones. Returns the container and the number of open errors.
    fn start(
        logs: ContainerLogs,
        positions: &HashMap<String, FilePosition>,
        claimed: &mut HashSet<String>,
        limits: &Limits,
        new_since_start: bool,
    ) -> (Container, usize) {
        let labels = container_labels(&logs);
        let stream_labels = [LogStream::Stdout, LogStream::Stderr].map(|s| stream_labels(&labels, s, &logs.id));
        let mut container = Container {
            current_path: logs.current.clone().or_else(|| match logs.kind {
                SourceKind::Docker => Some(logs.dir.join(format!("{}-json.log", logs.id))),
                SourceKind::Cri => None,
            }),
            logs,
            labels,
            stream_labels,
            sources: Vec::new(),
            removed: false,
        };
        let mut errors = 0;
        for (path, resume, final_) in plan(&container.logs, positions, claimed, new_since_start) {
            let opened = if is_gz(&path) {
                Source::open_gz(&path, resume.as_ref(), container.logs.kind, limits)
            } else {
                Source::open_plain(&path, resume.as_ref(), final_, container.logs.kind, limits)
            };
            match opened {
                Ok(source) => {
                    claimed.insert(source.key());
                    container.sources.push(source);
                }
                Err(e) => {
                    errors += 1;
                    tracing::warn!(path = %path.display(), error = %e, "opening container log file failed");
                }
            }
        }
        container.resolve_key_conflicts();
        (container, errors)
    }

    /// Takes a later scan of a followed container: a new current file (a CRI container restarted)
    /// makes the followed one final.
    fn update(&mut self, logs: ContainerLogs) {
        if let Some(current) = &logs.current
            && self.current_path.as_ref() != Some(current)
        {
            tracing::debug!(container = %logs.id, path = %current.display(), "new current container log file");
            if let Some(last) = self.sources.last_mut() {
                last.final_ = true;
            }
            self.current_path = Some(current.clone());
        }
        self.logs = logs;
    }

    /// Reads every file once (opening the current file after a rotation) into `batch`, then lets go
    /// of the finished files at the front. Returns whether some file had more than its budget.
    fn poll(&mut self, limits: &Limits, batch: &mut Batch, stats: &mut PollStats) -> bool {
        let mut behind = false;
        let mut i = 0;
        while i < self.sources.len() {
            if batch.bytes >= limits.batch_bytes {
                // Bounded memory: the rest waits for the next poll, which comes without a pause.
                behind = true;
                break;
            }
            let last = i + 1 == self.sources.len();
            let source = &mut self.sources[i];
            let mut out = Vec::new();
            match source.read(limits, &mut out) {
                Ok(outcome) => {
                    stats.bytes += outcome.bytes as u64;
                    behind |= outcome.full;
                }
                Err(e) => {
                    stats.errors += 1;
                    tracing::warn!(path = %source.path.display(), error = %e, "reading container log file failed");
                    source.last_error = Some(e.to_string());
                }
            }
            for record in out {
                let labels = match record.stream {
                    LogStream::Stdout => &self.stream_labels[0],
                    LogStream::Stderr => &self.stream_labels[1],
                };
                batch.add(labels, record);
            }
            if let Some(pos) = source.take_position() {
                batch.positions.push(pos);
            }
            if last && source.final_ && !self.removed {
                self.open_current(limits, stats);
            }
            i += 1;
        }
        if self.sources.is_empty() && !self.removed {
            self.open_current(limits, stats);
        }
        while self.sources.first().is_some_and(|s| s.finished) {
            let done = self.sources.remove(0);
            let key = done.key();
            if !self.sources.iter().any(|s| s.key() == key) {
                batch.forget.push(key);
            }
        }
        behind
    }

    /// Opens the current path from 0 after the previous current file was rotated away (or none was
    /// there yet); a missing file is retried at the next poll.
    fn open_current(&mut self, limits: &Limits, stats: &mut PollStats) {
        let Some(path) = &self.current_path else { return };
        match file_identity(path) {
            Ok(id) if self.sources.iter().any(|s| s.identity() == id) => return,
            Ok(_) => {}
            Err(_) => return,
        }
        match Source::open_plain(path, None, false, self.logs.kind, limits) {
            Ok(source) => {
                tracing::debug!(path = %path.display(), "following new current container log file");
                self.sources.push(source);
                self.resolve_key_conflicts();
            }
            Err(e) => {
                stats.errors += 1;
                tracing::warn!(path = %path.display(), error = %e, "opening container log file failed");
            }
        }
    }
}

impl Container {
    /// Gives a gzip file reporting under its original's key its own key when a followed plain file
    /// has that key (the original's inode was reused): two files must never share a position.
    fn resolve_key_conflicts(&mut self) {
        let plain: HashSet<String> = self.sources.iter().filter(|s| s.is_plain()).map(Source::key).collect();
        for source in &mut self.sources {
            if !source.is_plain() && plain.contains(&source.key()) {
                source.take_own_identity();
            }
        }
    }
}

/// The files of a newly seen container to read, oldest first: (path, stored position to resume
/// from, final). See the module documentation for the rules; `new_since_start` (the container
/// appeared after the collector's first scan) reads every file of an unmatched container.
fn plan(
    logs: &ContainerLogs,
    positions: &HashMap<String, FilePosition>,
    claimed: &mut HashSet<String>,
    new_since_start: bool,
) -> Vec<(PathBuf, Option<FilePosition>, bool)> {
    let files: Vec<&PathBuf> = logs.rotated.iter().chain(logs.current.iter()).collect();
    let mut matches: Vec<Option<FilePosition>> = vec![None; files.len()];
    // Plain files (and gzip files under their own identity) by (device, inode) and fingerprint.
    for (slot, path) in matches.iter_mut().zip(&files) {
        let Ok((dev, inode)) = file_identity(path) else {
            continue;
        };
        let key = format!("{dev}:{inode}");
        if claimed.contains(&key) {
            continue;
        }
        let Some(pos) = positions.get(&key) else { continue };
        let len_ok = is_gz(path) || std::fs::metadata(path).is_ok_and(|m| m.len() >= pos.offset);
        if len_ok && fingerprint_matches(path, pos).unwrap_or(false) {
            claimed.insert(key);
            *slot = Some(pos.clone());
        }
    }
    // Gzip files compressed from a plain file whose position is stored: by fingerprint, among the
    // positions of files in the same directory.
    for (slot, path) in matches.iter_mut().zip(&files) {
        if slot.is_some() || !is_gz(path) {
            continue;
        }
        let mut candidates: Vec<(&String, &FilePosition)> = positions
            .iter()
            .filter(|(key, pos)| {
                !claimed.contains(*key)
                    && pos.fingerprint_len > 0
                    && Path::new(&pos.path).parent() == Some(logs.dir.as_path())
            })
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(b.0));
        if let Some((key, pos)) = candidates
            .into_iter()
            .find(|(_, pos)| fingerprint_matches(path, pos).unwrap_or(false))
        {
            claimed.insert(key.clone());
            *slot = Some(pos.clone());
        }
    }
    let Some(oldest) = matches.iter().position(Option::is_some) else {
        if new_since_start {
            return files
                .into_iter()
                .map(|path| (path.clone(), None, logs.current.as_ref() != Some(path)))
                .collect();
        }
        return logs.current.iter().map(|p| (p.clone(), None, false)).collect();
    };
    files
        .into_iter()
        .zip(matches)
        .skip(oldest)
        .map(|(path, pos)| {
            let final_ = logs.current.as_ref() != Some(path);
            (path.clone(), pos, final_)
        })
        .collect()
}

/// The container's labels, from `config.v2.json` (Docker) or the directory names (CRI); a fallback
/// of `container=<short id>` when they cannot be read (logged).
fn container_labels(logs: &ContainerLogs) -> Vec<(String, String)> {
    let found = match logs.kind {
        SourceKind::Docker => match &logs.meta_file {
            Some(meta) => std::fs::read(meta)
                .map_err(|e| Error::Tail {
                    path: meta.display().to_string(),
                    reason: format!("read: {e}"),
                })
                .and_then(|bytes| docker_labels(&bytes)),
            None => Err(Error::LogFormat(format!("container {}: no config.v2.json", logs.id))),
        },
        SourceKind::Cri => cri_labels(
            logs.pod_dir_name.as_deref().unwrap_or_default(),
            logs.container_dir_name.as_deref().unwrap_or_default(),
        ),
    };
    match found {
        Ok(labels) if !labels.is_empty() => labels
            .into_iter()
            .filter(|(name, _)| name != "stream" && name != "service_name")
            .collect(),
        other => {
            let reason = other.err().map_or_else(|| "no labels".to_owned(), |e| e.to_string());
            let fallback = fallback_container(logs);
            tracing::warn!(container = %logs.id, fallback = %fallback, reason = %reason,
                "container metadata unavailable, labelling by id");
            vec![("container".to_owned(), fallback)]
        }
    }
}

/// `container` when metadata is missing: the short Docker id, or the CRI container directory name.
fn fallback_container(logs: &ContainerLogs) -> String {
    match (&logs.kind, &logs.container_dir_name) {
        (SourceKind::Cri, Some(name)) if !name.is_empty() => name.clone(),
        _ => logs.id.chars().take(12).collect(),
    }
}

/// The labels of one output stream: the container's labels, `stream` and `service_name`.
fn stream_labels(labels: &[(String, String)], stream: LogStream, id: &str) -> Labels {
    let service = service_name(labels);
    let pairs = labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain([("stream", stream.as_str()), ("service_name", service.as_str())]);
    Labels::new(pairs).unwrap_or_else(|e| {
        tracing::warn!(container = %id, error = %e, "invalid container labels, labelling by id");
        let short: String = id.chars().take(12).collect();
        Labels::from_sorted([
            ("container", short.as_str()),
            ("service_name", short.as_str()),
            ("stream", stream.as_str()),
        ])
    })
}
