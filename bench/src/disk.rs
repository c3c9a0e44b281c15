//! Phase c: bytes per sample on disk once the head has been cut into blocks and compacted.
//!
//! `Db::maintain` only cuts head ranges while the head spans more than 1.5 block ranges, so the
//! newest ~2–3 h stay in the head (and the WAL); the figures here cover the blocks only. Besides the
//! totals, every chunk of every block is attributed to its series' [`Kind`], and re-encoded with its
//! timestamps snapped to an exact 15 s grid to show what scrape jitter costs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tsdb::block::{Block, CHUNKS_FILE, INDEX_FILE};
use tsdb::chunk::{ChunkIter, encode_for_block};
use tsdb::db::{Db, MaintainReport};

use crate::Result;
use crate::dataset::{INTERVAL_MS, Kind};

/// Safety cap on the `maintain` calls of the final compaction.
const MAX_MAINTAIN_CALLS: usize = 64;

/// One block after compaction.
#[derive(Debug, Clone, Serialize)]
pub struct BlockFigures {
    /// Its ULID (directory name).
    pub ulid: String,
    /// Inclusive start, ms.
    pub min_time: i64,
    /// Exclusive end, ms.
    pub max_time: i64,
    /// Compaction level.
    pub level: u32,
    /// Series in the block.
    pub series: u64,
    /// Samples in the block (`BlockMeta` stats).
    pub samples: u64,
    /// Chunks in the block.
    pub chunks: u64,
    /// Size of the `chunks` file.
    pub chunk_file_bytes: u64,
    /// Size of the `index` file.
    pub index_bytes: u64,
    /// Size of every file of the block directory.
    pub total_bytes: u64,
}

/// Chunk bytes attributed to one kind of series.
#[derive(Debug, Clone, Serialize)]
pub struct KindFigures {
    /// The kind.
    pub kind: Kind,
    /// Samples of that kind in blocks.
    pub samples: u64,
    /// Encoded chunk bytes (chunk data only, without the chunks file's length/encoding/CRC framing).
    pub chunk_bytes: u64,
    /// `chunk_bytes / samples`.
    pub bytes_per_sample: f64,
    /// Bytes per sample of the same chunks re-encoded with timestamps on an exact 15 s grid.
    pub bytes_per_sample_without_jitter: f64,
    /// Share of all block chunk bytes.
    pub share_of_chunk_bytes: f64,
}

/// Phase c figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiskFigures {
    /// `maintain` calls until one did nothing.
    pub maintain_calls: usize,
    /// Wall time of those calls.
    pub maintain_seconds: f64,
    /// Blocks left.
    pub blocks: Vec<BlockFigures>,
    /// Samples in blocks.
    pub block_samples: u64,
    /// Samples still in the head.
    pub head_samples: u64,
    /// Time range still in the head, hours.
    pub head_hours: f64,
    /// Bytes of the WAL.
    pub wal_bytes: u64,
    /// Sum of the blocks' `chunks` files.
    pub chunk_file_bytes: u64,
    /// Sum of the blocks' `index` files.
    pub index_bytes: u64,
    /// Sum of every block file.
    pub all_block_bytes: u64,
    /// `chunk_file_bytes / block_samples`.
    pub chunk_bytes_per_sample: f64,
    /// `all_block_bytes / block_samples`.
    pub all_bytes_per_sample: f64,
    /// Chunk data bytes per sample (framing excluded), as stored.
    pub chunk_data_bytes_per_sample: f64,
    /// Chunk data bytes per sample with every chunk re-encoded on an exact 15 s grid (no jitter).
    pub chunk_data_bytes_per_sample_without_jitter: f64,
    /// Per kind, in [`Kind::ALL`] order.
    pub by_kind: Vec<KindFigures>,
}

/// Runs `maintain` until it does nothing, then measures every block.
pub fn compact_and_measure(db: &Db) -> Result<DiskFigures> {
    let mut figures = DiskFigures::default();
    let started = Instant::now();
    loop {
        let report = db.maintain()?;
        figures.maintain_calls += 1;
        if report == MaintainReport::default() || figures.maintain_calls >= MAX_MAINTAIN_CALLS {
            break;
        }
    }
    figures.maintain_seconds = started.elapsed().as_secs_f64();
    let stats = db.stats();
    figures.wal_bytes = stats.wal_bytes;
    if let (Some(min), Some(max)) = (stats.head.min_time, stats.head.max_time) {
        figures.head_hours = (max - min) as f64 / 3_600_000.0;
    }
    let mut by_kind: BTreeMap<Kind, (u64, u64, u64)> = BTreeMap::new();
    for meta in db.blocks() {
        let dir = db.dir().join(&meta.ulid);
        let block = Block::open(&dir)?;
        attribute_chunks(&block, &mut by_kind)?;
        let chunk_file_bytes = file_len(&dir.join(CHUNKS_FILE))?;
        let index_bytes = file_len(&dir.join(INDEX_FILE))?;
        let total_bytes = dir_bytes(&dir)?;
        figures.block_samples += meta.stats.num_samples;
        figures.chunk_file_bytes += chunk_file_bytes;
        figures.index_bytes += index_bytes;
        figures.all_block_bytes += total_bytes;
        figures.blocks.push(BlockFigures {
            ulid: meta.ulid.clone(),
            min_time: meta.min_time,
            max_time: meta.max_time,
            level: meta.compaction.level,
            series: meta.stats.num_series,
            samples: meta.stats.num_samples,
            chunks: meta.stats.num_chunks,
            chunk_file_bytes,
            index_bytes,
            total_bytes,
        });
    }
    figures.head_samples = count_head_samples(db)?;
    let per_sample = |bytes: u64| bytes as f64 / figures.block_samples.max(1) as f64;
    figures.chunk_bytes_per_sample = per_sample(figures.chunk_file_bytes);
    figures.all_bytes_per_sample = per_sample(figures.all_block_bytes);
    let total_chunk_bytes: u64 = by_kind.values().map(|v| v.1).sum();
    let total_regular_bytes: u64 = by_kind.values().map(|v| v.2).sum();
    figures.chunk_data_bytes_per_sample = per_sample(total_chunk_bytes);
    figures.chunk_data_bytes_per_sample_without_jitter = per_sample(total_regular_bytes);
    figures.by_kind = by_kind
        .into_iter()
        .map(|(kind, (samples, bytes, regular))| KindFigures {
            kind,
            samples,
            chunk_bytes: bytes,
            bytes_per_sample: bytes as f64 / samples.max(1) as f64,
            bytes_per_sample_without_jitter: regular as f64 / samples.max(1) as f64,
            share_of_chunk_bytes: bytes as f64 / total_chunk_bytes.max(1) as f64,
        })
        .collect();
    Ok(figures)
}

/// Adds each chunk of `block` to its series' kind: (samples, bytes, bytes re-encoded on a grid).
fn attribute_chunks(block: &Block, by_kind: &mut BTreeMap<Kind, (u64, u64, u64)>) -> Result<()> {
    let mut samples = Vec::with_capacity(tsdb::chunk::MAX_SAMPLES_PER_CHUNK);
    for id in 0..block.num_series() {
        let (labels, metas) = block.series(id)?;
        let name = labels.metric_name().unwrap_or("");
        let kind = Kind::of_metric(name).ok_or_else(|| format!("series {labels} is not from the dataset"))?;
        let entry = by_kind.entry(kind).or_default();
        for meta in &metas {
            let bytes = block.chunk(meta)?;
            samples.clear();
            samples.extend(ChunkIter::new(bytes.encoding(), &bytes));
            entry.0 += samples.len() as u64;
            entry.1 += bytes.len() as u64;
            entry.2 += regular_grid_len(&samples) as u64;
        }
    }
    Ok(())
}

/// Encoded size of `samples` with timestamps replaced by `t0 + i * 15 s`.
fn regular_grid_len(samples: &[(i64, f64)]) -> usize {
    let Some(&(t0, _)) = samples.first() else {
        return 0;
    };
    let on_grid: Vec<(i64, f64)> = samples
        .iter()
        .enumerate()
        .map(|(i, &(_, v))| (t0 + i as i64 * INTERVAL_MS, v))
        .collect();
    encode_for_block(&on_grid).1.len()
}

/// Samples left in the head, counted through a querier.
fn count_head_samples(db: &Db) -> Result<u64> {
    let stats = db.head().stats();
    let (Some(min), Some(max)) = (stats.min_time, stats.max_time) else {
        return Ok(0);
    };
    let all = tsdb::Matcher::new(tsdb::MatchType::Regex, tsdb::METRIC_NAME, ".+")?;
    let querier = db.querier(min, max);
    // Blocks end before the head's minimum time, so this range only sees head samples.
    let mut count = 0;
    for series in querier.select(&[all])? {
        count += series.iter().count() as u64;
    }
    Ok(count)
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?
        .len())
}

/// Bytes of the regular files directly inside `dir`.
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let meta = entry
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", entry.path().display()))?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}
