//! Backfill: samples older than the head accepts are written straight into new blocks, one per
//! block-range window. Compaction later merges them with the blocks they overlap.

use rustc_hash::FxHashMap;

use crate::block::{Block, BlockWriter};
use crate::compact::{chunk_inputs, encode_chunks};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::sample::Sample;

/// What a backfill commit did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BackfillStats {
    /// Samples written.
    pub written: usize,
    /// Exact duplicates dropped.
    pub duplicates: usize,
    /// Samples dropped because another sample of the series had the same timestamp and another value.
    pub duplicate_conflicts: usize,
    /// Blocks written.
    pub blocks: usize,
}

/// Collects old samples and writes them as blocks on [`Backfiller::commit`].
pub struct Backfiller<'a> {
    db: &'a Db,
    series: FxHashMap<Labels, Vec<Sample>>,
    samples: usize,
}

impl<'a> Backfiller<'a> {
    pub(crate) fn new(db: &'a Db) -> Self {
        Backfiller {
            db,
            series: FxHashMap::default(),
            samples: 0,
        }
    }

    /// Adds a sample; it must be older than the head's minimum valid time.
    pub fn add(&mut self, labels: &Labels, t: i64, v: f64) -> Result<()> {
        if labels.is_empty() {
            return Err(Error::InvalidLabels {
                labels: labels.to_string(),
                reason: "empty label set".into(),
            });
        }
        let min_valid = self.db.head().min_valid_time();
        if t >= min_valid {
            return Err(Error::InvalidArgument(format!(
                "timestamp {t} is in the head's range (from {min_valid}): append it"
            )));
        }
        match self.series.get_mut(labels) {
            Some(samples) => samples.push(Sample::new(t, v)),
            None => {
                self.series.insert(labels.clone(), vec![Sample::new(t, v)]);
            }
        }
        self.samples += 1;
        Ok(())
    }

    /// Number of samples collected.
    pub fn len(&self) -> usize {
        self.samples
    }

    /// True when nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// Writes one block per block-range window the samples fall in. When this returns `Ok`, the
    /// blocks are on disk (fsynced) and visible to queries.
    pub fn commit(self) -> Result<BackfillStats> {
        let range = self.db.options().block_range;
        let per_chunk = self.db.options().block_chunk_samples;
        let mut stats = BackfillStats::default();
        let mut windows: std::collections::BTreeMap<i64, Vec<(Labels, Vec<Sample>)>> = Default::default();
        for (labels, mut samples) in self.series {
            samples.sort_by_key(|s| s.t);
            let mut unique: Vec<Sample> = Vec::with_capacity(samples.len());
            for sample in samples {
                match unique.last() {
                    Some(last) if last.t == sample.t && last.same_as(&sample) => stats.duplicates += 1,
                    Some(last) if last.t == sample.t => stats.duplicate_conflicts += 1,
                    _ => unique.push(sample),
                }
            }
            let mut start = 0;
            while start < unique.len() {
                let window = unique[start].t.div_euclid(range);
                let end = start + unique[start..].partition_point(|s| s.t.div_euclid(range) == window);
                windows
                    .entry(window.saturating_mul(range))
                    .or_default()
                    .push((labels.clone(), unique[start..end].to_vec()));
                start = end;
            }
        }
        // Blocks end where the head begins, even when the block duration changed since the head's
        // lower bound was set: the next start-up sets the head's bound from the newest block.
        let min_valid = self.db.head().min_valid_time();
        for (window_start, mut series) in windows {
            series.sort_by(|a, b| a.0.cmp(&b.0));
            let mut writer = BlockWriter::create(
                self.db.dir(),
                window_start,
                window_start.saturating_add(range).min(min_valid),
                1,
                Vec::new(),
            )?;
            for (labels, samples) in &series {
                let chunks = encode_chunks(samples, per_chunk);
                writer.add_series(labels, &chunk_inputs(&chunks))?;
                stats.written += samples.len();
            }
            let (meta, path) = writer.finish()?;
            self.db.add_block(std::sync::Arc::new(Block::open(&path)?));
            tracing::info!(ulid = %meta.ulid, min_time = meta.min_time, max_time = meta.max_time, series = series.len(), "backfilled block");
            stats.blocks += 1;
        }
        Ok(stats)
    }
}
