//! Compaction: planning which blocks to merge and merging them into one.
//!
//! Blocks that overlap in time are merged first (vertical compaction: backfill or out-of-order
//! data). Then blocks that together fill a window of the next size up — 2 h → 6 h → 24 h → 3 d …,
//! each three times the previous — are merged once that window is complete.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::block::{Block, BlockWriter, ChunkBytes, ChunkInput};
use crate::chunk::{self, ChunkIter};
use crate::error::Result;
use crate::labels::Labels;
use crate::sample::Sample;

/// An encoded chunk ready to be written.
pub(crate) struct EncodedChunk {
    pub min_time: i64,
    pub max_time: i64,
    pub num_samples: u32,
    pub encoding: u8,
    pub data: Vec<u8>,
}

/// Encodes time-ordered samples into block chunks of `per_chunk` samples, each in the smallest of
/// the XOR, decimal and packed encodings.
pub(crate) fn encode_chunks(samples: &[Sample], per_chunk: usize) -> Vec<EncodedChunk> {
    let per_chunk = per_chunk.clamp(1, chunk::MAX_SAMPLES_PER_CHUNK);
    samples
        .chunks(per_chunk)
        .filter_map(|part| {
            let (first, last) = (part.first()?, part.last()?);
            let pairs: Vec<(i64, f64)> = part.iter().map(|s| (s.t, s.v)).collect();
            let (encoding, data) = chunk::encode_for_block(&pairs);
            Some(EncodedChunk {
                min_time: first.t,
                max_time: last.t,
                num_samples: part.len() as u32,
                encoding,
                data,
            })
        })
        .collect()
}

/// Decodes a chunk of `block`, failing on an unknown encoding or malformed bytes.
pub(crate) fn decode_block_chunk(block: &Block, bytes: &ChunkBytes, out: &mut Vec<Sample>) -> Result<()> {
    let mut samples = ChunkIter::new(bytes.encoding(), bytes);
    out.extend(samples.by_ref().map(|(t, v)| Sample::new(t, v)));
    if samples.error() {
        return Err(crate::Error::corrupt(
            block.dir().join(crate::block::CHUNKS_FILE),
            format!("a chunk with encoding {} does not decode", bytes.encoding()),
        ));
    }
    Ok(())
}

/// Borrows encoded chunks as block-writer input.
pub(crate) fn chunk_inputs(chunks: &[EncodedChunk]) -> Vec<ChunkInput<'_>> {
    chunks
        .iter()
        .map(|c| ChunkInput {
            min_time: c.min_time,
            max_time: c.max_time,
            num_samples: c.num_samples,
            encoding: c.encoding,
            data: &c.data,
        })
        .collect()
}

/// Block sizes compaction builds: `base`, then ×3 steps up to `max`.
pub(crate) fn ranges(base: i64, max: i64) -> Vec<i64> {
    let mut out = vec![base];
    let mut next = base.saturating_mul(3);
    while next <= max && out.len() < 16 {
        out.push(next);
        next = next.saturating_mul(3);
    }
    out
}

/// Which blocks (indices into `metas`, sorted by time) to merge next, if any.
pub(crate) fn plan(metas: &[&crate::block::BlockMeta], ranges: &[i64]) -> Option<Vec<usize>> {
    if metas.len() < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..metas.len()).collect();
    order.sort_by_key(|&i| (metas[i].min_time, metas[i].max_time));
    // Overlapping blocks first.
    let mut group = vec![order[0]];
    let mut group_max = metas[order[0]].max_time;
    for &i in &order[1..] {
        if metas[i].min_time < group_max {
            group.push(i);
            group_max = group_max.max(metas[i].max_time);
        } else {
            if group.len() > 1 {
                return Some(group);
            }
            group = vec![i];
            group_max = metas[i].max_time;
        }
    }
    if group.len() > 1 {
        return Some(group);
    }
    let newest = metas.iter().map(|m| m.max_time).max()?;
    for &range in ranges.iter().skip(1) {
        let mut windows: std::collections::BTreeMap<i64, Vec<usize>> = std::collections::BTreeMap::new();
        for &i in &order {
            let window = metas[i].min_time.div_euclid(range);
            let window_end = (window + 1).saturating_mul(range);
            if metas[i].max_time <= window_end && metas[i].max_time.saturating_sub(metas[i].min_time) < range {
                windows.entry(window).or_default().push(i);
            }
        }
        for (window, members) in windows {
            let window_end = (window + 1).saturating_mul(range);
            if members.len() > 1 && window_end <= newest {
                return Some(members);
            }
        }
    }
    None
}

/// Merges `blocks` into one new block in `parent` and returns its path. Series present in
/// several blocks get their chunks concatenated, or re-encoded when they overlap in time. Deleted
/// samples (the blocks' tombstones) are left out, so the new block has no tombstones.
pub(crate) fn compact(parent: &Path, blocks: &[Arc<Block>], per_chunk: usize) -> Result<PathBuf> {
    let min_time = blocks.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let max_time = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let level = blocks.iter().map(|b| b.meta().compaction.level).max().unwrap_or(0) + 1;
    let mut sources: Vec<String> = blocks
        .iter()
        .flat_map(|b| b.meta().compaction.sources.clone())
        .collect();
    sources.extend(blocks.iter().map(|b| b.meta().ulid.clone()));
    sources.sort();
    sources.dedup();
    let mut entries: Vec<(Labels, usize, u32)> = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        for id in block.all_postings()? {
            let (labels, _) = block.series(id)?;
            entries.push((labels, index, id));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut writer = BlockWriter::create(parent, min_time, max_time, level, sources)?;
    let mut start = 0;
    while start < entries.len() {
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == entries[start].0 {
            end += 1;
        }
        // Chunks wholly deleted are left out; one partly deleted forces a re-encode without the
        // deleted samples.
        let mut parts = Vec::new();
        for (_, index, id) in &entries[start..end] {
            let block = &blocks[*index];
            let (_, metas) = block.series(*id)?;
            let deleted = block.deleted(*id);
            for meta in metas {
                if deleted.as_ref().is_some_and(|d| d.covers(meta.min_time, meta.max_time)) {
                    continue;
                }
                let partly = deleted.clone().filter(|d| d.overlaps(meta.min_time, meta.max_time));
                parts.push((meta, block.chunk(&meta)?, *index, partly));
            }
        }
        parts.sort_by_key(|(m, _, _, _)| (m.min_time, m.max_time));
        let overlapping = parts.windows(2).any(|w| w[1].0.min_time <= w[0].0.max_time);
        if overlapping || parts.iter().any(|p| p.3.is_some()) {
            let mut samples: Vec<Sample> = Vec::new();
            let mut decoded = Vec::new();
            for (_, bytes, index, deleted) in &parts {
                decoded.clear();
                decode_block_chunk(&blocks[*index], bytes, &mut decoded)?;
                samples.extend(
                    decoded
                        .iter()
                        .filter(|s| deleted.as_ref().is_none_or(|d| !d.contains(s.t))),
                );
            }
            samples.sort_by_key(|s| s.t);
            samples.dedup_by_key(|s| s.t);
            if !samples.is_empty() {
                let chunks = encode_chunks(&samples, per_chunk);
                writer.add_series(&entries[start].0, &chunk_inputs(&chunks))?;
            }
        } else if !parts.is_empty() {
            let inputs: Vec<ChunkInput<'_>> = parts
                .iter()
                .map(|(meta, bytes, _, _)| ChunkInput {
                    min_time: meta.min_time,
                    max_time: meta.max_time,
                    num_samples: chunk::num_samples(bytes) as u32,
                    encoding: bytes.encoding(),
                    data: bytes,
                })
                .collect();
            writer.add_series(&entries[start].0, &inputs)?;
        }
        start = end;
    }
    let (_, path) = writer.finish()?;
    Ok(path)
}

/// Rewrites one block without its deleted samples, over the same time range. `None`
/// (and nothing written) when no sample is left.
pub(crate) fn compact_one(parent: &Path, block: &Arc<Block>, per_chunk: usize) -> Result<Option<PathBuf>> {
    let path = compact(parent, std::slice::from_ref(block), per_chunk)?;
    let rewritten = Block::open(&path)?;
    if rewritten.meta().stats.num_samples > 0 {
        return Ok(Some(path));
    }
    drop(rewritten);
    std::fs::remove_dir_all(&path).map_err(|e| crate::Error::io(&path, e))?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockCompaction, BlockMeta, BlockStats};

    const H: i64 = 3_600_000;

    fn meta(min: i64, max: i64) -> BlockMeta {
        BlockMeta {
            version: 1,
            ulid: format!("{min}-{max}"),
            min_time: min,
            max_time: max,
            stats: BlockStats::default(),
            compaction: BlockCompaction {
                level: 1,
                sources: Vec::new(),
            },
        }
    }

    fn plan_of(blocks: &[(i64, i64)]) -> Option<Vec<usize>> {
        let metas: Vec<BlockMeta> = blocks.iter().map(|&(a, b)| meta(a * H, b * H)).collect();
        let refs: Vec<&BlockMeta> = metas.iter().collect();
        plan(&refs, &ranges(2 * H, 31 * 24 * H))
    }

    #[test]
    fn ranges_grow_by_three() {
        assert_eq!(ranges(2 * H, 24 * H), vec![2 * H, 6 * H, 18 * H]);
    }

    #[test]
    fn plans_overlaps_then_complete_windows() {
        assert_eq!(plan_of(&[(0, 2), (1, 3)]), Some(vec![0, 1]));
        // Three 2 h blocks fill [0, 6 h) once newer data exists.
        assert_eq!(plan_of(&[(0, 2), (2, 4)]), None);
        assert_eq!(plan_of(&[(0, 2), (2, 4), (4, 6)]), Some(vec![0, 1, 2]));
        assert_eq!(plan_of(&[(0, 6), (6, 8)]), None);
    }
}
