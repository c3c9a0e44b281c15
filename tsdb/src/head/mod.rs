//! The head: the most recent samples, in memory, appended concurrently with queries.
//!
//! Series live in hash-sharded maps (by label hash, collisions resolved by comparing labels, and
//! by reference); an inverted index maps label pairs to series references. Appends are batched
//! by an [`Appender`] and applied under one commit lock that also writes the WAL, so a batch is
//! acknowledged only once it is logged.

mod append;
mod chunk_files;
mod delete;
mod postings;
mod read;
mod series;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

pub(crate) use append::now_ms;
pub use append::{Appender, CommitStats, SeriesRef};
pub(crate) use series::MemSeries;

use crate::error::Result;
use crate::labels::Labels;
use crate::wal::{SeriesRecord, Wal};
use chunk_files::HeadChunkFiles;
use postings::MemPostings;
use series::AppendLimits;

const SHARDS: usize = 64;

/// Settings of the head.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Block duration in milliseconds; chunks never cross a multiple of it.
    pub chunk_range: i64,
    /// How far behind the newest head sample an out-of-order sample may be (ms); 0 rejects them.
    pub out_of_order_window: i64,
    /// Samples per chunk before a new one is cut.
    pub samples_per_chunk: usize,
    /// How far past the wall clock a sample may be (ms); `None` accepts any future timestamp.
    /// Keep it at most half the block duration: a sample that far ahead must not make the head cut
    /// the block range that "now" is in.
    pub max_future: Option<i64>,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            chunk_range: 2 * 3_600_000,
            out_of_order_window: 0,
            samples_per_chunk: 120,
            max_future: Some(3_600_000),
        }
    }
}

/// Series by label hash.
type HashShard = FxHashMap<u64, Bucket>;

/// The series of one label hash: almost always one; a hash collision keeps several.
enum Bucket {
    One(Arc<MemSeries>),
    Many(Vec<Arc<MemSeries>>),
}

impl Bucket {
    fn as_slice(&self) -> &[Arc<MemSeries>] {
        match self {
            Bucket::One(series) => std::slice::from_ref(series),
            Bucket::Many(list) => list,
        }
    }

    fn find(&self, labels: &Labels) -> Option<&Arc<MemSeries>> {
        self.as_slice().iter().find(|s| s.labels == *labels)
    }

    fn push(&mut self, series: Arc<MemSeries>) {
        match self {
            Bucket::One(first) => *self = Bucket::Many(vec![first.clone(), series]),
            Bucket::Many(list) => list.push(series),
        }
    }

    /// Removes `series`; returns true when the bucket became empty.
    fn remove(&mut self, series: &Arc<MemSeries>) -> bool {
        match self {
            Bucket::One(only) => Arc::ptr_eq(only, series),
            Bucket::Many(list) => {
                list.retain(|s| !Arc::ptr_eq(s, series));
                match list.len() {
                    0 => true,
                    1 => {
                        let last = list.remove(0);
                        *self = Bucket::One(last);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}
/// Series by reference.
type RefShard = FxHashMap<u64, Arc<MemSeries>>;

/// State changed only under the commit lock.
pub(crate) struct CommitState {
    pub wal: Option<Wal>,
    /// Set by [`Head::take_wal`]: commits fail from then on.
    pub closed: bool,
    /// The first WAL write failure. The samples of that commit are already in memory but not in
    /// the WAL, so a retry would be acknowledged as duplicates without being logged: every later
    /// commit fails with this error until a restart replays the WAL.
    pub failed: Option<crate::error::Error>,
}

/// The in-memory part of the database.
pub struct Head {
    options: HeadOptions,
    /// Where full chunks go; `None` keeps them on the heap.
    chunk_files: Option<HeadChunkFiles>,
    // Lock order: hash shard, then ref shard, then postings, then pending_series.
    hash_shards: Box<[RwLock<HashShard>]>,
    ref_shards: Box<[RwLock<RefShard>]>,
    postings: RwLock<MemPostings>,
    next_ref: AtomicU64,
    /// Series created but not yet written to the WAL; drained by the next commit.
    pending_series: Mutex<Vec<SeriesRecord>>,
    commit: Mutex<CommitState>,
    min_valid_time: AtomicI64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    num_series: AtomicUsize,
    samples_appended: AtomicU64,
    /// Truncations so far (see `MemSeries::created_epoch`).
    truncations: std::sync::atomic::AtomicU32,
}

/// Heap bytes of the head by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryBreakdown {
    /// Series structs (and their reference counts).
    pub series: usize,
    /// Label sets.
    pub labels: usize,
    /// References to full chunks (and heap chunks when there are no chunk files).
    pub chunk_refs: usize,
    /// Open chunks being appended to.
    pub open_chunks: usize,
    /// Out-of-order buffers and chunks kept on the heap.
    pub other: usize,
    /// Lookup maps (by hash, by reference).
    pub maps: usize,
    /// The inverted index.
    pub postings: usize,
}

impl MemoryBreakdown {
    /// Sum of the parts.
    pub fn total(&self) -> usize {
        self.series + self.labels + self.chunk_refs + self.open_chunks + self.other + self.maps + self.postings
    }
}

/// Figures about the head, for self-monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Series currently in memory.
    pub num_series: usize,
    /// Oldest sample time, if any.
    pub min_time: Option<i64>,
    /// Newest sample time, if any.
    pub max_time: Option<i64>,
    /// Samples appended since start (replay excluded).
    pub samples_appended: u64,
}

impl Head {
    /// An empty head that logs to `wal` when given and keeps every chunk on the heap.
    pub fn new(options: HeadOptions, wal: Option<Wal>) -> Self {
        Self::build(options, wal, None)
    }

    /// An empty head that writes full chunks to `dir` (emptied first) instead of the heap.
    pub fn with_chunk_dir(options: HeadOptions, dir: &std::path::Path) -> Result<Self> {
        const CHUNK_FILE_SIZE: u64 = 128 << 20;
        Ok(Self::build(
            options,
            None,
            Some(HeadChunkFiles::open(dir, CHUNK_FILE_SIZE)?),
        ))
    }

    fn build(options: HeadOptions, wal: Option<Wal>, chunk_files: Option<HeadChunkFiles>) -> Self {
        Head {
            options,
            chunk_files,
            hash_shards: (0..SHARDS).map(|_| RwLock::new(HashShard::default())).collect(),
            ref_shards: (0..SHARDS).map(|_| RwLock::new(RefShard::default())).collect(),
            postings: RwLock::new(MemPostings::default()),
            next_ref: AtomicU64::new(1),
            pending_series: Mutex::new(Vec::new()),
            commit: Mutex::new(CommitState {
                wal,
                closed: false,
                failed: None,
            }),
            min_valid_time: AtomicI64::new(i64::MIN),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            num_series: AtomicUsize::new(0),
            samples_appended: AtomicU64::new(0),
            truncations: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// The limits an append is checked against, for out-of-order samples from `ooo_min_time` on.
    pub(crate) fn append_limits(&self, ooo_min_time: i64) -> AppendLimits<'_> {
        AppendLimits {
            ooo_min_time,
            chunk_range: self.options.chunk_range,
            samples_per_chunk: self.options.samples_per_chunk,
            files: self.chunk_files.as_ref(),
        }
    }

    /// The chunk files, if the head has any.
    pub(crate) fn chunk_files(&self) -> Option<&HeadChunkFiles> {
        self.chunk_files.as_ref()
    }

    /// Bytes of full head chunks written to disk.
    pub fn chunk_file_bytes(&self) -> u64 {
        self.chunk_files.as_ref().map_or(0, |f| f.size_bytes())
    }

    /// The options the head runs with.
    pub fn options(&self) -> &HeadOptions {
        &self.options
    }

    /// Starts a batch of appends.
    pub fn appender(&self) -> Appender<'_> {
        Appender::new(self)
    }

    /// Current figures.
    pub fn stats(&self) -> HeadStats {
        let min = self.min_time.load(Ordering::Acquire);
        let max = self.max_time.load(Ordering::Acquire);
        HeadStats {
            num_series: self.num_series.load(Ordering::Relaxed),
            // Empty is min > max (the initial state), so samples at i64::MIN/MAX still count.
            min_time: (min <= max).then_some(min),
            max_time: (min <= max).then_some(max),
            samples_appended: self.samples_appended.load(Ordering::Relaxed),
        }
    }

    /// Samples older than this are rejected as out of bounds (their range is in a block).
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::Acquire)
    }

    /// Raises the minimum valid time (after blocks were loaded or cut).
    pub fn set_min_valid_time(&self, t: i64) {
        self.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    fn shard_of_hash(&self, hash: u64) -> &RwLock<HashShard> {
        &self.hash_shards[(hash % SHARDS as u64) as usize]
    }

    fn shard_of_ref(&self, series_ref: u64) -> &RwLock<RefShard> {
        &self.ref_shards[(series_ref % SHARDS as u64) as usize]
    }

    /// Looks a series up by reference.
    pub(crate) fn series_by_ref(&self, series_ref: u64) -> Option<Arc<MemSeries>> {
        self.shard_of_ref(series_ref).read().get(&series_ref).cloned()
    }

    /// Looks a series up by labels.
    pub(crate) fn series_by_labels(&self, labels: &Labels, hash: u64) -> Option<Arc<MemSeries>> {
        let shard = self.shard_of_hash(hash).read();
        shard.get(&hash).and_then(|bucket| bucket.find(labels).cloned())
    }

    /// Finds or creates the series for `labels`. A new series is queued for the WAL before it
    /// becomes visible, so no commit can log a sample of it ahead of its series record.
    pub(crate) fn get_or_create(&self, labels: &Labels) -> Arc<MemSeries> {
        let hash = labels.stable_hash();
        if let Some(series) = self.series_by_labels(labels, hash) {
            return series;
        }
        self.insert_series(labels, hash, None)
    }

    /// Makes `alias` another reference to `series` (WAL replay found the same labels logged under
    /// two references), so checkpoints keep the alias's samples too.
    pub(crate) fn add_ref_alias(&self, alias: u64, series: &Arc<MemSeries>) {
        if alias != series.series_ref {
            self.next_ref.fetch_max(alias + 1, Ordering::AcqRel);
            self.shard_of_ref(alias).write().insert(alias, series.clone());
        }
    }

    /// Creates a series with a known reference (WAL replay). Returns the existing series when the
    /// labels are already present under another reference.
    pub(crate) fn create_with_ref(&self, series_ref: u64, labels: &Labels) -> Arc<MemSeries> {
        self.insert_series(labels, labels.stable_hash(), Some(series_ref))
    }

    fn insert_series(&self, labels: &Labels, hash: u64, known_ref: Option<u64>) -> Arc<MemSeries> {
        let mut shard = self.shard_of_hash(hash).write();
        if let Some(existing) = shard.get(&hash).and_then(|bucket| bucket.find(labels)) {
            return existing.clone();
        }
        let series_ref = match known_ref {
            Some(r) => {
                self.next_ref.fetch_max(r + 1, Ordering::AcqRel);
                r
            }
            None => self.next_ref.fetch_add(1, Ordering::AcqRel),
        };
        let epoch = self.truncations.load(Ordering::Acquire);
        let series = Arc::new(MemSeries::new(series_ref, labels.clone(), epoch));
        match shard.get_mut(&hash) {
            Some(bucket) => bucket.push(series.clone()),
            None => {
                shard.insert(hash, Bucket::One(series.clone()));
            }
        }
        self.shard_of_ref(series_ref).write().insert(series_ref, series.clone());
        self.postings.write().add(series_ref, labels);
        if known_ref.is_none() {
            self.pending_series.lock().push(SeriesRecord {
                series_ref,
                labels: labels.clone(),
            });
        }
        self.num_series.fetch_add(1, Ordering::Relaxed);
        series
    }

    /// Attaches the WAL after replay.
    pub(crate) fn set_wal(&self, wal: Wal) {
        self.commit.lock().wal = Some(wal);
    }

    pub(crate) fn note_time(&self, t: i64) {
        self.min_time.fetch_min(t, Ordering::AcqRel);
        self.max_time.fetch_max(t, Ordering::AcqRel);
    }

    /// True when the series is still in the head (used to filter WAL checkpoints).
    pub fn has_series(&self, series_ref: u64) -> bool {
        self.shard_of_ref(series_ref).read().contains_key(&series_ref)
    }

    /// Runs `f` with the WAL under the commit lock (no commit runs meanwhile).
    pub(crate) fn with_wal<T>(&self, f: impl FnOnce(Option<&mut Wal>) -> T) -> T {
        let mut state = self.commit.lock();
        f(state.wal.as_mut())
    }

    /// Takes the WAL out (on close).
    pub(crate) fn take_wal(&self) -> Option<Wal> {
        let mut state = self.commit.lock();
        state.closed = true;
        state.wal.take()
    }

    /// Drops all data older than `min_time` and removes series left empty. Runs under the commit
    /// lock so no append races with the removal. Returns the number of series removed.
    pub fn truncate(&self, min_time: i64) -> usize {
        let _commit = self.commit.lock();
        self.set_min_valid_time(min_time);
        let epoch = self.truncations.fetch_add(1, Ordering::AcqRel);
        let mut removed = Vec::new();
        let mut new_min = i64::MAX;
        let mut any_left = false;
        for shard in self.hash_shards.iter() {
            let mut shard = shard.write();
            let mut emptied = Vec::new();
            for bucket in shard.values() {
                for series in bucket.as_slice() {
                    let mut data = series.data.lock();
                    let fresh = series.created_epoch == epoch && data.is_empty();
                    if data.truncate_before(min_time) && !fresh {
                        emptied.push(series.clone());
                    } else if let Some(t) = data.min_time() {
                        new_min = new_min.min(t);
                        any_left = true;
                    }
                }
            }
            for series in emptied {
                let hash = series.labels.stable_hash();
                if let Some(bucket) = shard.get_mut(&hash)
                    && bucket.remove(&series)
                {
                    shard.remove(&hash);
                }
                series.removed.store(true, Ordering::Release);
                removed.push(series);
            }
        }
        if !removed.is_empty() {
            // Every reference to a removed series goes, aliases from WAL replay included.
            for shard in self.ref_shards.iter() {
                shard.write().retain(|_, series| !series.is_removed());
            }
        }
        self.postings
            .write()
            .remove(removed.iter().map(|s| (s.series_ref, &s.labels)));
        if let Some(files) = &self.chunk_files
            && let Err(error) = files.truncate_before(min_time)
        {
            tracing::warn!(%error, "cannot delete old head chunk files");
        }
        self.num_series.fetch_sub(removed.len(), Ordering::Relaxed);
        self.min_time.store(new_min, Ordering::Release);
        if !any_left {
            self.max_time.store(i64::MIN, Ordering::Release);
        }
        removed.len()
    }

    /// Every series, for block cutting and statistics.
    pub(crate) fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut all = Vec::with_capacity(self.num_series.load(Ordering::Relaxed));
        for shard in self.ref_shards.iter() {
            all.extend(shard.read().values().cloned());
        }
        all
    }

    /// Approximate heap bytes used by series, chunks and the index.
    pub fn memory_bytes(&self) -> usize {
        self.memory_breakdown().total()
    }

    /// Approximate heap bytes by part.
    pub fn memory_breakdown(&self) -> MemoryBreakdown {
        let mut parts = MemoryBreakdown::default();
        for shard in self.ref_shards.iter() {
            parts.maps += shard.read().capacity() * 17;
        }
        for shard in self.hash_shards.iter() {
            let shard = shard.read();
            parts.maps += shard.capacity() * (8 + std::mem::size_of::<Bucket>() + 1);
            for bucket in shard.values() {
                if let Bucket::Many(list) = bucket {
                    parts.maps += list.capacity() * 8;
                }
                for series in bucket.as_slice() {
                    parts.series += std::mem::size_of::<MemSeries>() + 16;
                    parts.labels += series.labels.heap_size();
                    let data = series.data.lock();
                    parts.chunk_refs += data.closed.capacity() * std::mem::size_of::<series::ClosedChunk>();
                    parts.open_chunks += data.open.as_ref().map_or(0, |o| o.heap_size());
                    parts.other += data.heap_size()
                        - data.closed.capacity() * std::mem::size_of::<series::ClosedChunk>()
                        - data.open.as_ref().map_or(0, |o| o.heap_size());
                }
            }
        }
        parts.postings = self.postings.read().heap_size();
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_collisions_keep_series_apart() {
        let head = Head::new(HeadOptions::default(), None);
        let a = Labels::new([("__name__", "a")]).expect("valid");
        let b = Labels::new([("__name__", "b")]).expect("valid");
        // Force both label sets into the same hash bucket.
        let forced = 42;
        let series_a = head.insert_series(&a, forced, None);
        let series_b = head.insert_series(&b, forced, None);
        assert_ne!(series_a.series_ref, series_b.series_ref);
        assert_eq!(
            head.series_by_labels(&a, forced).map(|s| s.series_ref),
            Some(series_a.series_ref)
        );
        assert_eq!(
            head.series_by_labels(&b, forced).map(|s| s.series_ref),
            Some(series_b.series_ref)
        );
        assert_eq!(
            head.insert_series(&a, forced, None).series_ref,
            series_a.series_ref,
            "found, not recreated"
        );
        assert_eq!(head.stats().num_series, 2);
        assert_eq!(
            head.pending_series.lock().len(),
            2,
            "each new series is queued once for the wal"
        );
    }

    #[test]
    fn truncate_removes_emptied_series_everywhere() {
        let head = Head::new(
            HeadOptions {
                chunk_range: 1000,
                ..HeadOptions::default()
            },
            None,
        );
        let old = Labels::new([("__name__", "old")]).expect("valid");
        let new = Labels::new([("__name__", "new")]).expect("valid");
        let mut appender = head.appender();
        appender.append(&old, 100, 1.0).expect("append");
        appender.append(&new, 100, 1.0).expect("append");
        appender.append(&new, 1500, 2.0).expect("append");
        assert_eq!(appender.commit().expect("commit").appended, 3);
        assert_eq!(head.truncate(1000), 1);
        assert_eq!(head.stats().num_series, 1);
        assert_eq!(head.stats().min_time, Some(1500));
        assert!(head.series_by_labels(&old, old.stable_hash()).is_none());
        assert_eq!(head.postings.read().label_values("__name__"), vec!["new"]);
        let mut appender = head.appender();
        appender.append(&old, 500, 1.0).expect("append");
        let stats = appender.commit().expect("commit");
        assert_eq!(stats.out_of_bounds, 1, "below the minimum valid time");
    }
}
