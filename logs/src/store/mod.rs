//! The log store: windows, WAL, commits, recovery and retention.
//!
//! Layout of the store's directory:
//!
//! ```text
//! checkpoint.json        last complete commit: number, WAL sequence, file positions
//! wal/<20 digits>        WAL segments of pushed lines (see `wal`)
//! windows/<start ns>/    one tantivy index per time window
//! ```
//!
//! Every document carries the number of the commit it was added under. A commit round commits
//! every window that changed, each with that number in its payload, then writes the checkpoint.
//! At open, a window whose payload is newer than the checkpoint (the process died between two
//! windows' commits) has that commit's documents deleted, so all windows agree with the
//! checkpoint; then the WAL is replayed from the checkpoint's sequence number, and file collectors
//! resume from the checkpoint's positions. Nothing acknowledged is lost and nothing is stored
//! twice.

mod select;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::position::FilePosition;
use crate::push::{PushEntry, PushStream};
use crate::wal::Wal;
use crate::window::{StreamStats, Window, WindowView, dir_size};

pub use select::{Cursor, Direction, LineMeta, LogLine, Metadata, Selection};

/// One day in nanoseconds: the default window width.
pub const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// Settings of the log store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Width of a window (one tantivy index), in nanoseconds. Default one day.
    pub window_ns: i64,
    /// How often new lines are committed and become searchable. Default 2 s.
    pub commit_interval: Duration,
    /// Windows that ended longer ago than this are deleted. Default none.
    pub retention_age: Option<Duration>,
    /// The oldest windows are deleted while the store is larger than this. Default none.
    pub retention_bytes: Option<u64>,
    /// `fsync` the WAL on every push (survives power loss, not only process crashes).
    pub wal_fsync: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            window_ns: DAY_NS,
            commit_interval: Duration::from_secs(2),
            retention_age: None,
            retention_bytes: None,
            wal_fsync: false,
        }
    }
}

/// The checkpoint file: the last commit that completed in every window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Checkpoint {
    commit: u64,
    wal_seq: u64,
    positions: BTreeMap<String, FilePosition>,
}

struct WriteState {
    wal: Wal,
    windows: BTreeMap<i64, Window>,
    positions: BTreeMap<String, FilePosition>,
    /// Number of the commit in progress: documents added now carry it.
    commit: u64,
    /// Anything appended or positions moved since the last commit.
    changed: bool,
}

/// Store-wide figures for `/metrics` and the status pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Number of windows (indexes).
    pub windows: usize,
    /// Number of distinct streams over all windows.
    pub streams: usize,
    /// Entries over all windows.
    pub entries: u64,
    /// Sum of line lengths over all windows.
    pub line_bytes: u64,
    /// Bytes on disk: indexes and WAL.
    pub disk_bytes: u64,
    /// Entries appended but not yet committed (not yet searchable).
    pub uncommitted: u64,
}

/// The log store. Cheap to share behind an `Arc`; appends are serialised, reads run concurrently.
pub struct LogStore {
    dir: PathBuf,
    options: StoreOptions,
    write: Mutex<WriteState>,
    views: RwLock<BTreeMap<i64, WindowView>>,
    substring_cache: Arc<select::SubstringCache>,
    /// Entries appended since the last commit (read without the write lock, for `/metrics`).
    uncommitted: std::sync::atomic::AtomicU64,
}

impl LogStore {
    /// Opens (or creates) the store in `dir`, recovering from a crash as described in the module
    /// documentation.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<LogStore> {
        if options.window_ns <= 0 {
            return Err(Error::Query("log window width must be positive".into()));
        }
        let windows_dir = dir.join("windows");
        std::fs::create_dir_all(&windows_dir).map_err(|e| Error::io(&windows_dir, e))?;
        crate::migrate::recover(&windows_dir)?;
        let checkpoint = read_checkpoint(&dir.join("checkpoint.json"))?;
        let mut windows = BTreeMap::new();
        let mut highest = checkpoint.commit;
        for entry in std::fs::read_dir(&windows_dir).map_err(|e| Error::io(&windows_dir, e))? {
            let entry = entry.map_err(|e| Error::io(&windows_dir, e))?;
            let Some(start) = entry.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) else {
                continue;
            };
            highest = highest.max(read_payload_commit(&entry.path()));
            let end = start.saturating_add(options.window_ns);
            let window = Window::open(&entry.path(), start, end, checkpoint.commit)?;
            windows.insert(start, window);
        }
        let mut pending: Vec<PushStream> = Vec::new();
        let wal = Wal::open(&dir.join("wal"), checkpoint.wal_seq, options.wal_fsync, |record| {
            pending.extend(record.streams);
            Ok(())
        })?;
        let store = LogStore {
            substring_cache: Arc::default(),
            dir: dir.to_path_buf(),
            options,
            write: Mutex::new(WriteState {
                wal,
                windows,
                positions: checkpoint.positions,
                commit: highest + 1,
                changed: false,
            }),
            views: RwLock::new(BTreeMap::new()),
            uncommitted: std::sync::atomic::AtomicU64::new(0),
        };
        {
            let mut state = store.write.lock();
            let replayed: usize = pending.iter().map(|s| s.entries.len()).sum();
            if replayed > 0 {
                tracing::info!(entries = replayed, "replaying the log wal");
                store.index(&mut state, &pending)?;
            }
            store.publish_views(&state);
        }
        store.commit()?;
        Ok(store)
    }

    /// Appends pushed streams: written to the WAL, then indexed. When this returns `Ok`, the lines
    /// survive a crash and become searchable at the next commit.
    pub fn append(&self, streams: &[PushStream]) -> Result<()> {
        if streams.iter().all(|s| s.entries.is_empty()) {
            return Ok(());
        }
        let mut state = self.write.lock();
        state.wal.append(streams)?;
        self.index(&mut state, streams)
    }

    /// Appends lines read from files, with each file's position just after the last complete
    /// record included. Not written to the WAL: after a crash the files are read again from the
    /// positions of the last commit ([`LogStore::positions`]).
    pub fn append_from_files(&self, streams: &[PushStream], positions: &[FilePosition]) -> Result<()> {
        let mut state = self.write.lock();
        self.index(&mut state, streams)?;
        for position in positions {
            state.positions.insert(position.key(), position.clone());
        }
        state.changed |= !positions.is_empty();
        Ok(())
    }

    /// Forgets the position of a file that is gone for good.
    pub fn forget_position(&self, key: &str) {
        let mut state = self.write.lock();
        state.changed |= state.positions.remove(key).is_some();
    }

    /// The file positions of the last commit plus those appended since: where collectors resume.
    pub fn positions(&self) -> HashMap<String, FilePosition> {
        self.write
            .lock()
            .positions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn index(&self, state: &mut WriteState, streams: &[PushStream]) -> Result<()> {
        let width = self.options.window_ns;
        let batch = state.commit;
        let mut created = false;
        for stream in streams {
            let mut by_window: BTreeMap<i64, Vec<&PushEntry>> = BTreeMap::new();
            for entry in &stream.entries {
                by_window
                    .entry(entry.ts_ns.div_euclid(width) * width)
                    .or_default()
                    .push(entry);
            }
            for (start, entries) in by_window {
                let window = match state.windows.entry(start) {
                    std::collections::btree_map::Entry::Occupied(slot) => slot.into_mut(),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        let dir = self.dir.join("windows").join(start.to_string());
                        created = true;
                        slot.insert(Window::open(
                            &dir,
                            start,
                            start.saturating_add(width),
                            batch.saturating_sub(1),
                        )?)
                    }
                };
                window.add(&stream.labels, &entries, batch)?;
                self.uncommitted
                    .fetch_add(entries.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
        state.changed = true;
        if created {
            self.publish_views(state);
        }
        Ok(())
    }

    fn publish_views(&self, state: &WriteState) {
        *self.views.write() = state.windows.iter().map(|(start, w)| (*start, w.view())).collect();
    }

    /// Commits everything appended so far: it becomes searchable, the WAL before it is deleted
    /// and file positions are saved. Called every `commit_interval` by [`LogStore::run_committer`].
    pub fn commit(&self) -> Result<()> {
        let mut state = self.write.lock();
        let commit = state.commit;
        let changed = state.changed;
        for window in state.windows.values_mut() {
            window.commit(commit)?;
        }
        self.uncommitted.store(0, std::sync::atomic::Ordering::Relaxed);
        if !changed {
            return Ok(());
        }
        let checkpoint = Checkpoint {
            commit,
            wal_seq: state.wal.last_seq(),
            positions: state.positions.clone(),
        };
        write_checkpoint(&self.dir.join("checkpoint.json"), &checkpoint)?;
        state.wal.truncate_through(checkpoint.wal_seq)?;
        state.commit += 1;
        state.changed = false;
        Ok(())
    }

    /// Deletes windows past the retention age or over the size limit (oldest first; the newest
    /// window is always kept). Returns how many were deleted.
    pub fn apply_retention(&self, now_ns: i64) -> Result<usize> {
        let mut state = self.write.lock();
        let mut doomed = Vec::new();
        if let Some(age) = self.options.retention_age {
            let cutoff = now_ns.saturating_sub(i64::try_from(age.as_nanos()).unwrap_or(i64::MAX));
            doomed.extend(state.windows.values().filter(|w| w.end <= cutoff).map(|w| w.start));
        }
        if let Some(limit) = self.options.retention_bytes {
            let sizes: Vec<(i64, u64)> = state.windows.values().map(|w| (w.start, w.disk_bytes())).collect();
            let mut total: u64 = sizes.iter().map(|(_, s)| s).sum::<u64>() + dir_size(&self.dir.join("wal"));
            for (start, size) in sizes.iter().take(sizes.len().saturating_sub(1)) {
                if total <= limit {
                    break;
                }
                doomed.push(*start);
                total = total.saturating_sub(*size);
            }
        }
        doomed.sort_unstable();
        doomed.dedup();
        for start in &doomed {
            if let Some(mut window) = state.windows.remove(start) {
                window.close()?;
                let dir = window.dir().to_path_buf();
                drop(window);
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                tracing::info!(dir = %dir.display(), "deleted a log window by retention");
            }
        }
        if !doomed.is_empty() {
            self.publish_views(&state);
        }
        Ok(doomed.len())
    }

    /// Commits every `commit_interval` and applies retention every minute until `stop` is set;
    /// commits a last time before returning. Run it on a thread of its own.
    pub fn run_committer(&self, stop: &std::sync::atomic::AtomicBool) {
        use std::sync::atomic::Ordering;
        let mut last_retention = std::time::Instant::now();
        while !stop.load(Ordering::Relaxed) {
            std::thread::park_timeout(self.options.commit_interval);
            if let Err(e) = self.commit() {
                tracing::error!(error = %e, "log store commit failed");
            }
            if last_retention.elapsed() >= Duration::from_secs(60) {
                last_retention = std::time::Instant::now();
                if let Err(e) = self.apply_retention(now_ns()) {
                    tracing::error!(error = %e, "log retention failed");
                }
            }
        }
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "closing the log store failed");
        }
    }

    /// Commits and releases the index writers (shutdown).
    pub fn close(&self) -> Result<()> {
        self.commit()?;
        let mut state = self.write.lock();
        state.wal.sync()?;
        for window in state.windows.values_mut() {
            window.close()?;
        }
        Ok(())
    }

    /// Store-wide figures.
    pub fn stats(&self) -> StoreStats {
        let views = self.views.read();
        let mut streams = std::collections::HashSet::new();
        let mut out = StoreStats {
            windows: views.len(),
            ..StoreStats::default()
        };
        for view in views.values() {
            for (key, s) in view.stats.read().iter() {
                streams.insert(key.clone());
                out.entries += s.entries;
                out.line_bytes += s.bytes;
            }
            out.disk_bytes += dir_size(&view.dir);
        }
        out.streams = streams.len();
        out.disk_bytes += dir_size(&self.dir.join("wal"));
        out.uncommitted = self.uncommitted.load(std::sync::atomic::Ordering::Relaxed);
        out
    }

    /// Per-stream statistics of the streams matching `matchers` with entries in `[start, end)`
    /// (by the windows' per-stream time bounds), summed over windows.
    pub fn stream_stats(&self, matchers: &[tsdb::Matcher], start_ns: i64, end_ns: i64) -> Vec<StreamStats> {
        let mut by_stream: HashMap<Box<[u8]>, StreamStats> = HashMap::new();
        for view in self.overlapping(start_ns, end_ns) {
            for (key, s) in view.stats.read().iter() {
                if s.max_ts < start_ns || s.min_ts >= end_ns || !tsdb::labels::matches_labels(matchers, &s.labels) {
                    continue;
                }
                by_stream
                    .entry(key.clone())
                    .and_modify(|t| {
                        t.entries += s.entries;
                        t.bytes += s.bytes;
                        t.min_ts = t.min_ts.min(s.min_ts);
                        t.max_ts = t.max_ts.max(s.max_ts);
                    })
                    .or_insert_with(|| s.clone());
            }
        }
        let mut out: Vec<StreamStats> = by_stream.into_values().collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Label names of the streams matching `matchers` in `[start, end)`, sorted.
    pub fn label_names(&self, matchers: &[tsdb::Matcher], start_ns: i64, end_ns: i64) -> Vec<String> {
        let mut names = std::collections::BTreeSet::new();
        for s in self.stream_stats(matchers, start_ns, end_ns) {
            names.extend(s.labels.iter().map(|l| l.name.to_string()));
        }
        names.into_iter().collect()
    }

    /// Values of label `name` over the streams matching `matchers` in `[start, end)`, sorted.
    pub fn label_values(&self, name: &str, matchers: &[tsdb::Matcher], start_ns: i64, end_ns: i64) -> Vec<String> {
        let mut values = std::collections::BTreeSet::new();
        for s in self.stream_stats(matchers, start_ns, end_ns) {
            if let Some(v) = s.labels.get(name) {
                values.insert(v.to_string());
            }
        }
        values.into_iter().collect()
    }

    /// The window views overlapping `[start, end)`, oldest first.
    fn overlapping(&self, start_ns: i64, end_ns: i64) -> Vec<WindowView> {
        self.views
            .read()
            .values()
            .filter(|v| v.end > start_ns && v.start < end_ns)
            .cloned()
            .collect()
    }
}

/// Now as Unix nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: path.display().to_string(),
            reason: format!("bad checkpoint: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes the checkpoint atomically: a temporary file, fsync, rename, fsync of the directory.
fn write_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(checkpoint).map_err(|e| Error::Query(e.to_string()))?;
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(&bytes).map_err(|e| Error::io(&tmp, e))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The commit number in a window's `meta.json` payload, without opening the index (0 if none).
fn read_payload_commit(dir: &Path) -> u64 {
    #[derive(Deserialize)]
    struct Meta {
        payload: Option<String>,
    }
    std::fs::read(dir.join("meta.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Meta>(&b).ok())
        .and_then(|m| m.payload)
        .and_then(|p| serde_json::from_str::<crate::window::Payload>(&p).ok())
        .map_or(0, |p| p.commit)
}

#[cfg(test)]
mod tests;
