//! The database: a data directory with a WAL, a head and blocks, kept in shape by [`Db::maintain`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use rustc_hash::FxHashMap;

use crate::block::{self, Block};
use crate::compact;
use crate::error::{Error, Result};
use crate::head::{Appender, Head, HeadOptions, HeadStats, MemSeries};
use crate::querier::Querier;
use crate::retention;
use crate::wal::{Record, Wal, WalOptions};

/// Settings of a [`Db`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Duration of a block cut from the head, in ms (default 2 h).
    pub block_range: i64,
    /// Samples per chunk of the head (default 120, as Prometheus cuts them).
    pub samples_per_chunk: usize,
    /// Samples per chunk written into blocks (default 240, at most
    /// [`crate::chunk::MAX_SAMPLES_PER_CHUNK`]): longer chunks spread their fixed costs (first
    /// sample, encoding parameters, framing) over more samples.
    pub block_chunk_samples: usize,
    /// Out-of-order window in ms (default 0: out-of-order samples are rejected).
    pub out_of_order_window: i64,
    /// Delete blocks older than this (ms) relative to the newest data (default 15 days).
    pub retention_time: Option<i64>,
    /// Delete the oldest blocks while blocks and WAL together exceed this many bytes.
    pub retention_size: Option<u64>,
    /// Largest block compaction builds, in ms (default: 10 % of the retention time, at most 31 days).
    pub max_block_range: Option<i64>,
    /// WAL segment size and fsync policy.
    pub wal: WalOptions,
    /// How far past the wall clock a sample may be, in ms (default 1 h; `None` accepts anything).
    pub max_future: Option<i64>,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            block_range: 2 * 3_600_000,
            samples_per_chunk: 120,
            block_chunk_samples: 240,
            out_of_order_window: 0,
            retention_time: Some(15 * 24 * 3_600_000),
            retention_size: None,
            max_block_range: None,
            wal: WalOptions::default(),
            max_future: Some(3_600_000),
        }
    }
}

/// What [`Db::maintain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaintainReport {
    /// Blocks written from the head.
    pub blocks_cut: usize,
    /// Compactions run.
    pub compactions: usize,
    /// Blocks deleted by retention.
    pub blocks_deleted: usize,
}

/// Figures about the whole database, for self-monitoring.
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    /// The head's figures.
    pub head: HeadStats,
    /// Number of blocks.
    pub blocks: usize,
    /// Bytes of all blocks on disk.
    pub blocks_bytes: u64,
    /// Bytes of the WAL on disk.
    pub wal_bytes: u64,
    /// Bytes of full head chunks in `chunks_head/`.
    pub head_chunk_bytes: u64,
    /// Samples in blocks.
    pub block_samples: u64,
    /// Blocks cut from the head since start.
    pub blocks_cut_total: u64,
    /// Compactions since start.
    pub compactions_total: u64,
    /// Blocks deleted by retention since start.
    pub retention_deletions_total: u64,
}

/// An open data directory.
pub struct Db {
    dir: PathBuf,
    options: DbOptions,
    head: Arc<Head>,
    blocks: Arc<RwLock<Vec<Arc<Block>>>>,
    maintenance: Mutex<()>,
    _lock: File,
    blocks_cut: AtomicU64,
    compactions: AtomicU64,
    retention_deletions: AtomicU64,
}

impl Db {
    /// Opens (creating) the database in `dir`: loads blocks, replays the WAL into the head.
    /// A torn WAL tail is truncated with a warning; another process using `dir` is an error.
    pub fn open(dir: &Path, options: DbOptions) -> Result<Db> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let lock_path = dir.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(Error::InvalidArgument(format!(
                "data directory {} is in use by another process",
                dir.display()
            )));
        }
        block::remove_temporary(dir)?;
        remove_deleted(dir)?;
        let mut blocks = Vec::new();
        for path in block::list_blocks(dir)? {
            blocks.push(Arc::new(Block::open(&path)?));
        }
        blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
        let head_options = HeadOptions {
            chunk_range: options.block_range,
            out_of_order_window: options.out_of_order_window,
            samples_per_chunk: options.samples_per_chunk,
            max_future: options.max_future,
        };
        let head = Arc::new(Head::with_chunk_dir(head_options, &dir.join("chunks_head"))?);
        if let Some(max) = blocks.iter().map(|b| b.meta().max_time).max() {
            head.set_min_valid_time(max);
        }
        let started = std::time::Instant::now();
        let (wal, replay) = replay_wal(&dir.join("wal"), options.wal, &head)?;
        head.set_wal(wal);
        tracing::info!(
            dir = %dir.display(),
            blocks = blocks.len(),
            series = head.stats().num_series,
            samples = replay.samples,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "opened tsdb"
        );
        Ok(Db {
            dir: dir.to_path_buf(),
            options,
            head,
            blocks: Arc::new(RwLock::new(blocks)),
            maintenance: Mutex::new(()),
            _lock: lock,
            blocks_cut: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
            retention_deletions: AtomicU64::new(0),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options in force.
    pub fn options(&self) -> &DbOptions {
        &self.options
    }

    /// Starts a batch of appends.
    pub fn appender(&self) -> Appender<'_> {
        self.head.appender()
    }

    /// A view of the data in `[mint, maxt]` (inclusive, ms).
    pub fn querier(&self, mint: i64, maxt: i64) -> Querier {
        Querier::new(self.head.clone(), self.blocks.clone(), mint, maxt)
    }

    /// The head (for statistics and tests).
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Metadata of every block, oldest first.
    pub fn blocks(&self) -> Vec<block::BlockMeta> {
        self.blocks.read().iter().map(|b| b.meta().clone()).collect()
    }

    /// Current figures.
    pub fn stats(&self) -> DbStats {
        let blocks = self.blocks.read();
        DbStats {
            head: self.head.stats(),
            blocks: blocks.len(),
            blocks_bytes: blocks.iter().map(|b| b.size_bytes()).sum(),
            block_samples: blocks.iter().map(|b| b.meta().stats.num_samples).sum(),
            wal_bytes: self.head.with_wal(|wal| wal.map_or(0, |w| w.size_bytes())),
            head_chunk_bytes: self.head.chunk_file_bytes(),
            blocks_cut_total: self.blocks_cut.load(Ordering::Relaxed),
            compactions_total: self.compactions.load(Ordering::Relaxed),
            retention_deletions_total: self.retention_deletions.load(Ordering::Relaxed),
        }
    }

    /// fsyncs the WAL (for the `Interval` policy) without holding the commit lock during the fsync.
    pub fn sync_wal(&self) -> Result<()> {
        let Some((file, path)) = self.head.with_wal(|wal| wal.map(|w| w.sync_target())).transpose()? else {
            return Ok(());
        };
        if let Err(error) = file.sync_data() {
            let why = format!("fsync of {} failed: {error}", path.display());
            self.head.with_wal(|wal| wal.map(|w| w.sync_failed(why)));
            return Err(Error::io(path, error));
        }
        Ok(())
    }

    /// Cuts head ranges older than 1.5 block ranges into blocks, compacts, applies retention.
    pub fn maintain(&self) -> Result<MaintainReport> {
        let _guard = self.maintenance.lock();
        let mut report = MaintainReport::default();
        let range = self.options.block_range;
        loop {
            let stats = self.head.stats();
            let (Some(min), Some(max)) = (stats.min_time, stats.max_time) else {
                break;
            };
            if max.saturating_sub(min) < range.saturating_add(range / 2) {
                break;
            }
            let start = min.div_euclid(range).saturating_mul(range);
            self.cut_block(start, start.saturating_add(range))?;
            report.blocks_cut += 1;
        }
        report.compactions = self.compact()?;
        report.blocks_deleted = self.apply_retention()?;
        Ok(report)
    }

    /// Writes the head's samples in `[start, end)` to a block, then drops them from the head and
    /// checkpoints the WAL.
    fn cut_block(&self, start: i64, end: i64) -> Result<()> {
        // Close the range first, under the commit lock: from here on no commit can add a sample
        // below `end`, so what is read below is all the range will ever hold in the head.
        self.head.with_wal(|_| self.head.set_min_valid_time(end));
        let mut series: Vec<Arc<MemSeries>> = self.head.all_series();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        let mut writer = block::BlockWriter::create(&self.dir, start, end, 1, Vec::new())?;
        let mut written = 0usize;
        for s in &series {
            let samples = s
                .data
                .lock()
                .samples_between(start, end.saturating_sub(1), self.head.chunk_files())?;
            if samples.is_empty() {
                continue;
            }
            let chunks = compact::encode_chunks(&samples, self.options.block_chunk_samples);
            writer.add_series(&s.labels, &compact::chunk_inputs(&chunks))?;
            written += 1;
        }
        let (meta, path) = writer.finish()?;
        let block = Arc::new(Block::open(&path)?);
        self.add_block(block);
        let removed = self.head.truncate(end);
        // A failed checkpoint only delays WAL shrinking: log it and go on with maintenance.
        if let Err(error) = self.checkpoint_wal(end) {
            tracing::error!(%error, "wal checkpoint failed");
        }
        self.blocks_cut.fetch_add(1, Ordering::Relaxed);
        tracing::info!(ulid = %meta.ulid, min_time = start, max_time = end, series = written, removed_series = removed, "cut head block");
        Ok(())
    }

    /// Deletes the samples in `[mint, maxt]` of the series matching `matchers`, everywhere: blocks
    /// get (or extend) a `tombstones` file, head series a tombstone in the WAL. Both are on disk
    /// when this returns; queries no longer see the samples at once, compaction and
    /// [`Db::clean_tombstones`] remove them from the files. Returns how many series of the head
    /// and the blocks got a tombstone.
    pub fn delete_series(&self, matchers: &[crate::labels::Matcher], mint: i64, maxt: i64) -> Result<usize> {
        if matchers.is_empty() {
            return Err(Error::InvalidArgument("no matchers given to delete series".into()));
        }
        if maxt < mint {
            return Ok(0);
        }
        // No block is cut or compacted meanwhile: a cut would carry head samples into a block
        // after the head's tombstones were read, a compaction would drop a block's new tombstones.
        let _guard = self.maintenance.lock();
        let mut deleted = 0;
        let blocks = self.blocks.read().clone();
        for block in blocks
            .iter()
            .filter(|b| b.meta().min_time <= maxt && b.meta().max_time > mint)
        {
            let mut ids = Vec::new();
            for id in crate::postings::postings_for_matchers(&crate::querier::BlockPostings(block), matchers)? {
                let id = u32::try_from(id).map_err(|_| Error::InvalidArgument(format!("series id {id}")))?;
                let (_, metas) = block.series(id)?;
                if metas.iter().any(|m| m.max_time >= mint && m.min_time <= maxt) {
                    ids.push(id);
                }
            }
            block.add_tombstones(&ids, mint, maxt)?;
            deleted += ids.len();
        }
        deleted += self.head.delete(matchers, mint, maxt)?;
        tracing::info!(series = deleted, mint, maxt, "deleted series data");
        Ok(deleted)
    }

    /// Rewrites every block that has tombstones without the deleted samples (a block left empty
    /// is removed). Returns how many blocks were rewritten.
    pub fn clean_tombstones(&self) -> Result<usize> {
        let _guard = self.maintenance.lock();
        let blocks = self.blocks.read().clone();
        let mut cleaned = 0;
        for block in blocks.iter().filter(|b| b.has_tombstones()) {
            let path = compact::compact_one(&self.dir, block, self.options.block_chunk_samples)?;
            let ulid = block.meta().ulid.clone();
            match path {
                Some(path) => {
                    let rewritten = Arc::new(Block::open(&path)?);
                    tracing::info!(ulid = %rewritten.meta().ulid, source = %ulid, "rewrote block without deleted data");
                    self.add_block(rewritten);
                }
                None => tracing::info!(source = %ulid, "removed block whose data was all deleted"),
            }
            self.remove_blocks(&[ulid])?;
            cleaned += 1;
        }
        Ok(cleaned)
    }

    /// Starts a batch of samples older than the head accepts, to be written as blocks.
    pub fn backfiller(&self) -> crate::backfill::Backfiller<'_> {
        crate::backfill::Backfiller::new(self)
    }

    /// Plans under the commit lock, rewrites old segments without it, deletes them under it again:
    /// appends go on while the checkpoint is written.
    fn checkpoint_wal(&self, min_time: i64) -> Result<()> {
        let plan = self
            .head
            .with_wal(|wal| wal.map(|w| w.prepare_checkpoint()))
            .transpose()?
            .flatten();
        let Some(plan) = plan else { return Ok(()) };
        let stats = plan.write(|r| self.head.has_series(r), min_time)?;
        if let Some(result) = self.head.with_wal(|wal| wal.map(|w| w.finish_checkpoint(plan, stats))) {
            result?;
        }
        Ok(())
    }

    pub(crate) fn add_block(&self, block: Arc<Block>) {
        let mut blocks = self.blocks.write();
        blocks.push(block);
        blocks.sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    }

    fn remove_blocks(&self, ulids: &[String]) -> Result<()> {
        let removed: Vec<Arc<Block>> = {
            let mut blocks = self.blocks.write();
            let (gone, kept): (Vec<_>, Vec<_>) = blocks.drain(..).partition(|b| ulids.contains(&b.meta().ulid));
            *blocks = kept;
            gone
        };
        for block in removed {
            // Queries still holding the block keep their mappings; the files go when they drop it.
            let dir = block.dir().to_path_buf();
            let doomed = dir.with_extension("deleted");
            std::fs::rename(&dir, &doomed).map_err(|e| Error::io(&dir, e))?;
            std::fs::remove_dir_all(&doomed).map_err(|e| Error::io(&doomed, e))?;
        }
        Ok(())
    }

    fn compact(&self) -> Result<usize> {
        let mut done = 0;
        let max_range = self.options.max_block_range.unwrap_or_else(|| {
            let tenth = self.options.retention_time.map_or(i64::MAX, |r| r / 10);
            tenth.min(31 * 24 * 3_600_000)
        });
        let ranges = compact::ranges(self.options.block_range, max_range);
        loop {
            let blocks = self.blocks.read().clone();
            let metas: Vec<&block::BlockMeta> = blocks.iter().map(|b| b.meta()).collect();
            let Some(plan) = compact::plan(&metas, &ranges) else {
                break;
            };
            let inputs: Vec<Arc<Block>> = plan.iter().map(|&i| blocks[i].clone()).collect();
            let path = compact::compact(&self.dir, &inputs, self.options.block_chunk_samples)?;
            let merged = Arc::new(Block::open(&path)?);
            let ulids: Vec<String> = inputs.iter().map(|b| b.meta().ulid.clone()).collect();
            tracing::info!(ulid = %merged.meta().ulid, sources = ?ulids, "compacted blocks");
            self.add_block(merged);
            self.remove_blocks(&ulids)?;
            self.compactions.fetch_add(1, Ordering::Relaxed);
            done += 1;
        }
        Ok(done)
    }

    fn apply_retention(&self) -> Result<usize> {
        let blocks = self.blocks.read().clone();
        let wal_bytes = self.head.with_wal(|wal| wal.map_or(0, |w| w.size_bytes())) + self.head.chunk_file_bytes();
        // Measured from the newest data, but never from beyond the accepted future: one bogus
        // far-future sample must not age every block out.
        let ceiling = self
            .options
            .max_future
            .map_or(i64::MAX, |f| crate::head::now_ms().saturating_add(f));
        let newest = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .chain(self.head.stats().max_time)
            .max();
        let newest = newest.map(|t| t.min(ceiling));
        let candidates: Vec<retention::BlockInfo> = blocks
            .iter()
            .map(|b| retention::BlockInfo {
                min_time: b.meta().min_time,
                max_time: b.meta().max_time,
                bytes: b.size_bytes(),
            })
            .collect();
        let policy = retention::Policy {
            time: self.options.retention_time,
            size: self.options.retention_size,
        };
        let doomed = retention::blocks_to_delete(&candidates, policy, newest, wal_bytes);
        if doomed.is_empty() {
            return Ok(0);
        }
        let ulids: Vec<String> = doomed.iter().map(|&i| blocks[i].meta().ulid.clone()).collect();
        tracing::info!(blocks = ?ulids, "deleting blocks past retention");
        self.remove_blocks(&ulids)?;
        self.retention_deletions
            .fetch_add(ulids.len() as u64, Ordering::Relaxed);
        Ok(ulids.len())
    }

    /// Flushes and closes the WAL. Appends after this fail.
    pub fn close(&self) -> Result<()> {
        if let Some(wal) = self.head.take_wal() {
            wal.close()?;
        }
        Ok(())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(%error, "closing tsdb");
        }
    }
}

/// Removes `<ulid>.deleted` directories a crash left behind in the middle of a block deletion.
fn remove_deleted(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() && path.extension().is_some_and(|e| e == "deleted") {
            tracing::info!(dir = %path.display(), "removing a half-deleted block");
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Replays the WAL into `head` and returns it ready for appends.
fn replay_wal(dir: &Path, options: WalOptions, head: &Head) -> Result<(Wal, crate::wal::ReplayStats)> {
    let mut by_ref: FxHashMap<u64, Arc<MemSeries>> = FxHashMap::default();
    let min_valid = head.min_valid_time();
    // Everything in the WAL was accepted once: take it back, out of order or not.
    let limits = head.append_limits(i64::MIN);
    let mut unknown = 0u64;
    let result = Wal::open(dir, options, |record| {
        match record {
            Record::Series(series) => {
                for s in series {
                    let created = head.create_with_ref(s.series_ref, &s.labels);
                    head.add_ref_alias(s.series_ref, &created);
                    by_ref.insert(s.series_ref, created);
                }
            }
            Record::Samples(samples) => {
                for s in samples {
                    if s.t < min_valid {
                        continue;
                    }
                    let Some(series) = by_ref.get(&s.series_ref) else {
                        unknown += 1;
                        continue;
                    };
                    // Everything in the WAL was accepted once: take it back, out of order or not.
                    series.data.lock().append(crate::Sample::new(s.t, s.v), &limits);
                    head.note_time(s.t);
                }
            }
            Record::Tombstones(tombstones) => {
                for t in tombstones {
                    if let Some(series) = by_ref.get(&t.series_ref) {
                        series.data.lock().delete(t.mint, t.maxt);
                    }
                }
            }
        }
        Ok(())
    })?;
    if unknown > 0 {
        tracing::warn!(samples = unknown, "wal samples for unknown series skipped");
    }
    Ok(result)
}
