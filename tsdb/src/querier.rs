//! Reading across the head and the blocks: series in label order with lazily decoded samples.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::block::{Block, ChunkBytes};
use crate::chunk::{ChunkIter, ENCODING_XOR};
use crate::error::Result;
use crate::head::Head;
use crate::labels::{Labels, Matcher};
use crate::postings::{PostingsSource, postings_for_matchers};
use crate::sample::Sample;
use crate::tombstones::SharedIntervals;

/// Where a chunk's bytes live.
#[derive(Clone)]
pub(crate) enum ChunkSource {
    /// In the head (shared or copied).
    Memory(Arc<[u8]>),
    /// Inside a block's mmap'd chunk file, CRC already verified.
    Block(ChunkBytes),
}

/// One encoded chunk of a selected series.
#[derive(Clone)]
pub(crate) struct ChunkData {
    pub min_time: i64,
    pub max_time: i64,
    pub source: ChunkSource,
    /// Ranges of the chunk's source deleted by `Db::delete_series`: their samples are skipped.
    pub deleted: Option<SharedIntervals>,
}

impl ChunkData {
    fn iter(&self) -> ChunkIter<'_> {
        match &self.source {
            ChunkSource::Memory(bytes) => ChunkIter::new(ENCODING_XOR, bytes),
            ChunkSource::Block(bytes) => ChunkIter::new(bytes.encoding(), bytes),
        }
    }

    /// The encoded chunk.
    fn bytes(&self) -> &[u8] {
        match &self.source {
            ChunkSource::Memory(bytes) => bytes,
            ChunkSource::Block(bytes) => bytes,
        }
    }
}

/// A selected series: labels plus chunk references; samples are decoded only when iterated.
#[derive(Clone)]
pub struct Series {
    labels: Labels,
    chunks: Vec<ChunkData>,
    mint: i64,
    maxt: i64,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

impl Series {
    /// The series' labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Number of chunks the series spans in the selected range.
    pub fn num_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Samples with `mint <= t <= maxt`, in time order, one per timestamp.
    pub fn iter(&self) -> SampleIter<'_> {
        let overlapping = self.chunks.windows(2).any(|w| w[1].min_time <= w[0].max_time);
        if overlapping {
            let mut all: Vec<Sample> = Vec::new();
            for chunk in &self.chunks {
                let deleted = chunk.deleted.as_deref();
                all.extend(
                    chunk
                        .iter()
                        .filter(|(t, _)| deleted.is_none_or(|d| !d.contains(*t)))
                        .map(|(t, v)| Sample::new(t, v)),
                );
            }
            all.sort_by_key(|s| s.t);
            all.dedup_by_key(|s| s.t);
            all.retain(|s| s.t >= self.mint && s.t <= self.maxt);
            return SampleIter {
                inner: Inner::Merged(all.into_iter()),
            };
        }
        SampleIter {
            inner: Inner::Chain {
                series: self,
                next_chunk: 0,
                current: None,
                deleted: None,
            },
        }
    }

    /// An upper bound of the samples [`Series::iter`] yields: the sample counts of the chunks'
    /// headers (at most [`crate::chunk::MAX_SAMPLES_PER_CHUNK`] each), for sizing buffers.
    pub fn sample_hint(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| crate::chunk::num_samples(c.bytes()).min(crate::chunk::MAX_SAMPLES_PER_CHUNK))
            .sum()
    }

    /// Appends the samples [`Series::iter`] yields that also lie in `[mint, maxt]` to `out` as
    /// `(t, value)` pairs: chunk by chunk in one decoding loop each, trimming only the chunks at
    /// the edges of the range.
    pub fn decode_into(&self, out: &mut Vec<(i64, f64)>, mint: i64, maxt: i64) {
        let (lo, hi) = (mint.max(self.mint), maxt.min(self.maxt));
        let simple = self.chunks.iter().all(|c| c.deleted.is_none())
            && !self.chunks.windows(2).any(|w| w[1].min_time <= w[0].max_time);
        if !simple {
            out.extend(self.iter().filter(|s| s.t >= lo && s.t <= hi).map(|s| (s.t, s.v)));
            return;
        }
        for chunk in &self.chunks {
            if chunk.max_time < lo {
                continue;
            }
            if chunk.min_time > hi {
                break;
            }
            let start = out.len();
            chunk.iter().decode_into(out);
            // A chunk's timestamps increase (its decoder stops where they do not).
            let added = &out[start..];
            if added.last().is_some_and(|x| x.0 > hi) {
                let keep = added.partition_point(|x| x.0 <= hi);
                out.truncate(start + keep);
            }
            let added = &out[start..];
            if added.first().is_some_and(|x| x.0 < lo) {
                let skip = added.partition_point(|x| x.0 < lo);
                out.drain(start..start + skip);
            }
        }
    }

    /// All samples in range, collected.
    pub fn samples(&self) -> Vec<Sample> {
        self.iter().collect()
    }
}

/// Iterator over a series' samples.
pub struct SampleIter<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Chain {
        series: &'a Series,
        next_chunk: usize,
        current: Option<ChunkIter<'a>>,
        /// The current chunk's deleted ranges.
        deleted: Option<&'a crate::tombstones::Intervals>,
    },
    Merged(std::vec::IntoIter<Sample>),
}

impl Iterator for SampleIter<'_> {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        match &mut self.inner {
            Inner::Merged(iter) => iter.next(),
            Inner::Chain {
                series,
                next_chunk,
                current,
                deleted,
            } => loop {
                if let Some(iter) = current {
                    for (t, v) in iter.by_ref() {
                        if t > series.maxt {
                            *next_chunk = series.chunks.len();
                            break;
                        }
                        if t >= series.mint && deleted.is_none_or(|d| !d.contains(t)) {
                            return Some(Sample::new(t, v));
                        }
                    }
                    *current = None;
                }
                let chunk = series.chunks.get(*next_chunk)?;
                *next_chunk += 1;
                *current = Some(chunk.iter());
                *deleted = chunk.deleted.as_deref();
            },
        }
    }
}

/// Adapts a block's u32 postings to the generic source.
pub(crate) struct BlockPostings<'a>(pub &'a Block);

impl PostingsSource for BlockPostings<'_> {
    fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>> {
        Ok(self.0.postings(name, value)?.into_iter().map(u64::from).collect())
    }

    fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> Result<Vec<u64>> {
        Ok(self
            .0
            .postings_matching(name, accept)?
            .into_iter()
            .map(u64::from)
            .collect())
    }

    fn all_postings(&self) -> Result<Vec<u64>> {
        Ok(self.0.all_postings()?.into_iter().map(u64::from).collect())
    }
}

/// Series of one block matching `matchers` with chunks overlapping `[mint, maxt]`.
pub(crate) fn select_block(
    block: &Block,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> Result<Vec<(Labels, Vec<ChunkData>)>> {
    let mut out = Vec::new();
    for id in postings_for_matchers(&BlockPostings(block), matchers)? {
        let id = u32::try_from(id).map_err(|_| crate::Error::InvalidArgument(format!("series id {id}")))?;
        let (labels, metas) = block.series(id)?;
        let deleted = block.deleted(id);
        let mut chunks = Vec::new();
        for meta in metas
            .iter()
            .filter(|m| m.max_time >= mint && m.min_time <= maxt)
            .filter(|m| deleted.as_ref().is_none_or(|d| !d.covers(m.min_time, m.max_time)))
        {
            let bytes = block.chunk(meta)?;
            if !crate::chunk::is_known_encoding(bytes.encoding()) {
                return Err(crate::Error::corrupt(
                    block.dir().join(crate::block::CHUNKS_FILE),
                    format!("chunk ref {} has unknown encoding {}", meta.chunk_ref, bytes.encoding()),
                ));
            }
            chunks.push(ChunkData {
                min_time: meta.min_time,
                max_time: meta.max_time,
                source: ChunkSource::Block(bytes),
                deleted: deleted.clone().filter(|d| d.overlaps(meta.min_time, meta.max_time)),
            });
        }
        if !chunks.is_empty() {
            out.push((labels, chunks));
        }
    }
    Ok(out)
}

/// A view over the head and the blocks overlapping a time range.
///
/// Each call reads the head first and then takes the current block list, so data moving from the
/// head into a new block in between is seen (twice at worst, and merged), never missed.
pub struct Querier {
    head: Arc<Head>,
    all_blocks: Arc<RwLock<Vec<Arc<Block>>>>,
    mint: i64,
    maxt: i64,
}

impl Querier {
    pub(crate) fn new(head: Arc<Head>, all_blocks: Arc<RwLock<Vec<Arc<Block>>>>, mint: i64, maxt: i64) -> Self {
        Querier {
            head,
            all_blocks,
            mint,
            maxt,
        }
    }

    /// The blocks overlapping the range, as they are now.
    fn blocks(&self) -> Vec<Arc<Block>> {
        let (mint, maxt) = (self.mint, self.maxt);
        let blocks = self.all_blocks.read();
        blocks
            .iter()
            .filter(|b| b.meta().max_time > mint && b.meta().min_time <= maxt)
            .cloned()
            .collect()
    }

    fn head_overlaps(&self) -> bool {
        let stats = self.head.stats();
        matches!((stats.min_time, stats.max_time), (Some(min), Some(max)) if max >= self.mint && min <= self.maxt)
    }

    /// Series matching all `matchers`, sorted by labels, merged across head and blocks.
    pub fn select(&self, matchers: &[Matcher]) -> Result<Vec<Series>> {
        let mut merged: BTreeMap<Labels, Vec<ChunkData>> = BTreeMap::new();
        if self.head_overlaps() {
            for (labels, chunks) in self.head.select(matchers, self.mint, self.maxt)? {
                merged.entry(labels).or_default().extend(chunks);
            }
        }
        for block in &self.blocks() {
            for (labels, chunks) in select_block(block, matchers, self.mint, self.maxt)? {
                merged.entry(labels).or_default().extend(chunks);
            }
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut chunks)| {
                chunks.sort_by_key(|c| (c.min_time, c.max_time));
                Series {
                    labels,
                    chunks,
                    mint: self.mint,
                    maxt: self.maxt,
                }
            })
            .collect())
    }

    /// Sorted label names of series matching `matchers` (all when empty) in range.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut names = std::collections::BTreeSet::new();
        let head_names = if self.head_overlaps() {
            self.head.label_names(matchers)?
        } else {
            Vec::new()
        };
        names.extend(head_names);
        for block in &self.blocks() {
            if matchers.is_empty() {
                names.extend(block.label_names());
            } else {
                for id in postings_for_matchers(&BlockPostings(block), matchers)? {
                    let id = u32::try_from(id).map_err(|_| crate::Error::InvalidArgument(format!("series id {id}")))?;
                    names.extend(block.series(id)?.0.iter().map(|l| l.name.to_string()));
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Sorted values of label `name` among series matching `matchers` (all when empty) in range.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        let mut values = std::collections::BTreeSet::new();
        let head_values = if self.head_overlaps() {
            self.head.label_values(name, matchers)?
        } else {
            Vec::new()
        };
        values.extend(head_values);
        for block in &self.blocks() {
            if matchers.is_empty() {
                values.extend(block.label_values(name));
            } else {
                for id in postings_for_matchers(&BlockPostings(block), matchers)? {
                    let id = u32::try_from(id).map_err(|_| crate::Error::InvalidArgument(format!("series id {id}")))?;
                    if let Some(value) = block.series(id)?.0.get(name) {
                        values.insert(value.to_string());
                    }
                }
            }
        }
        Ok(values.into_iter().collect())
    }
}
