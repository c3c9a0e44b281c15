//! One in-memory series of the head: its labels, closed chunks, the open chunk and out-of-order samples.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use super::chunk_files::{DiskChunkRef, HeadChunkFiles};
use crate::chunk::XorAppender;
use crate::error::Result;
use crate::labels::Labels;
use crate::sample::Sample;
use crate::tombstones::{Intervals, SharedIntervals};

/// Where a full head chunk is kept.
#[derive(Debug, Clone)]
pub(crate) enum ChunkLocation {
    /// In `chunks_head/` (the normal case).
    Disk(DiskChunkRef),
    /// On the heap: the head has no chunk files, or writing one failed.
    Memory(Box<Arc<[u8]>>),
}

/// A full, immutable chunk kept until the head range it belongs to is written to a block.
#[derive(Debug, Clone)]
pub(crate) struct ClosedChunk {
    pub min_time: i64,
    pub max_time: i64,
    pub location: ChunkLocation,
}

impl ClosedChunk {
    /// The chunk's bytes, read back from disk when needed.
    pub fn bytes(&self, files: Option<&HeadChunkFiles>) -> Result<Arc<[u8]>> {
        match (&self.location, files) {
            (ChunkLocation::Memory(bytes), _) => Ok(Arc::clone(bytes)),
            (ChunkLocation::Disk(chunk), Some(files)) => files.read(*chunk),
            (ChunkLocation::Disk(_), None) => Err(crate::error::Error::Closed),
        }
    }
}

/// What can go wrong when one sample is appended to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendOutcome {
    /// Stored.
    Appended,
    /// Same timestamp and bit-identical value as a stored sample: accepted and ignored.
    Duplicate,
    /// Same timestamp, different value.
    DuplicateConflict,
    /// Older than the newest sample and outside the out-of-order window.
    OutOfOrder,
}

/// Out-of-order samples of a series: rare, so one pointer when there are none.
#[derive(Debug, Default)]
#[allow(clippy::box_collection)] // one pointer when empty, the common case, instead of three words
pub(crate) struct OutOfOrder(Option<Box<Vec<Sample>>>);

impl std::ops::Deref for OutOfOrder {
    type Target = [Sample];
    fn deref(&self) -> &[Sample] {
        self.0.as_deref().map_or(&[], |v| v.as_slice())
    }
}

impl OutOfOrder {
    /// Inserts at `position`, allocating on first use.
    pub fn insert(&mut self, position: usize, sample: Sample) {
        self.0.get_or_insert_with(Default::default).insert(position, sample);
    }

    /// Keeps the samples `keep` accepts, freeing the buffer when none are left.
    pub fn retain(&mut self, keep: impl FnMut(&Sample) -> bool) {
        if let Some(samples) = &mut self.0 {
            samples.retain(keep);
            if samples.is_empty() {
                self.0 = None;
            }
        }
    }

    /// Heap bytes.
    pub fn heap_size(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |v| 24 + v.capacity() * std::mem::size_of::<Sample>())
    }
}

/// The mutable part of a series, behind the series' mutex.
#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    pub closed: Vec<ClosedChunk>,
    /// The chunk being appended to; its last sample is the series' newest in-order sample.
    pub open: Option<XorAppender>,
    /// Accepted out-of-order samples, sorted by time, unique timestamps.
    pub out_of_order: OutOfOrder,
    /// Ranges deleted by `Db::delete_series`: hidden from queries, left out of blocks.
    pub deleted: Option<SharedIntervals>,
}

/// A series in the head.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub series_ref: u64,
    pub labels: Labels,
    pub data: Mutex<SeriesData>,
    /// Set when garbage collection removed the series from the head's maps.
    pub removed: AtomicBool,
    /// The head's truncation count when the series was created: a series that has never had a
    /// sample is kept through the truncation that follows its creation, since an appender may
    /// still be about to commit to it.
    pub created_epoch: u32,
}

impl MemSeries {
    pub fn new(series_ref: u64, labels: Labels, created_epoch: u32) -> Self {
        MemSeries {
            series_ref,
            labels,
            data: Mutex::new(SeriesData::default()),
            removed: AtomicBool::new(false),
            created_epoch,
        }
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }
}

impl SeriesData {
    /// Deletes `[mint, maxt]` from what queries and block cuts see.
    pub fn delete(&mut self, mint: i64, maxt: i64) {
        let mut next = self.deleted.as_deref().cloned().unwrap_or_default();
        next.add(mint, maxt);
        self.deleted = (!next.is_empty()).then(|| Arc::new(next));
    }

    /// Oldest timestamp held, if any.
    pub fn min_time(&self) -> Option<i64> {
        let in_order = self
            .closed
            .first()
            .map(|c| c.min_time)
            .or_else(|| self.open.as_ref().and_then(|o| o.min_time()));
        let ooo = self.out_of_order.first().map(|s| s.t);
        match (in_order, ooo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when the series holds no samples.
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty()
            && self.open.as_ref().is_none_or(|o| o.num_samples() == 0)
            && self.out_of_order.is_empty()
    }

    /// Newest in-order sample, for duplicate and order checks.
    pub fn last(&self) -> Option<Sample> {
        self.open
            .as_ref()
            .and_then(|o| o.last())
            .map(|(t, v)| Sample::new(t, v))
    }

    /// Checks whether `sample` could be appended, without changing anything.
    pub fn check(&self, sample: Sample, ooo_min_time: i64, files: Option<&HeadChunkFiles>) -> AppendOutcome {
        let Some(last) = self.last() else {
            return AppendOutcome::Appended;
        };
        if sample.t > last.t {
            return AppendOutcome::Appended;
        }
        if sample.t == last.t {
            return if sample.same_as(&last) {
                AppendOutcome::Duplicate
            } else {
                AppendOutcome::DuplicateConflict
            };
        }
        if sample.t < ooo_min_time {
            return AppendOutcome::OutOfOrder;
        }
        match self.out_of_order.binary_search_by_key(&sample.t, |s| s.t) {
            Ok(i) if self.out_of_order[i].same_as(&sample) => AppendOutcome::Duplicate,
            Ok(_) => AppendOutcome::DuplicateConflict,
            Err(_) => match self.in_order_sample_at(sample.t, files) {
                Some(existing) if existing.same_as(&sample) => AppendOutcome::Duplicate,
                Some(_) => AppendOutcome::DuplicateConflict,
                None => AppendOutcome::Appended,
            },
        }
    }

    /// Finds an in-order sample at exactly `t` (slow path, used only for out-of-order appends).
    /// An unreadable chunk file counts as "no sample there".
    fn in_order_sample_at(&self, t: i64, files: Option<&HeadChunkFiles>) -> Option<Sample> {
        for chunk in self.closed.iter().filter(|c| c.min_time <= t && t <= c.max_time) {
            let bytes = chunk.bytes(files).ok()?;
            if let Some((_, v)) = crate::chunk::XorIter::new(&bytes).find(|(st, _)| *st == t) {
                return Some(Sample::new(t, v));
            }
        }
        let open = self.open.as_ref().filter(|o| o.min_time().is_some_and(|m| m <= t))?;
        crate::chunk::XorIter::new(open.bytes())
            .find(|(st, _)| *st == t)
            .map(|(t, v)| Sample::new(t, v))
    }

    /// Appends `sample` if [`SeriesData::check`] accepts it. Chunks never cross a multiple of
    /// the block duration, so whole chunks move to blocks.
    pub fn append(&mut self, sample: Sample, limits: &AppendLimits<'_>) -> AppendOutcome {
        let outcome = self.check(sample, limits.ooo_min_time, limits.files);
        if outcome != AppendOutcome::Appended {
            return outcome;
        }
        if self.last().is_some_and(|last| sample.t < last.t) {
            let position = self.out_of_order.partition_point(|s| s.t < sample.t);
            self.out_of_order.insert(position, sample);
            return outcome;
        }
        let must_cut = match &self.open {
            None => false,
            Some(open) => {
                let window = |t: i64| t.div_euclid(limits.chunk_range);
                open.num_samples() >= limits.samples_per_chunk
                    || open.bytes().len() > MAX_CHUNK_BYTES
                    // All samples of a chunk share one window, so the newest (a field) stands for the oldest
                    // (which would be decoded from the bytes).
                    || open.max_time().is_some_and(|newest| window(newest) != window(sample.t))
            }
        };
        if must_cut {
            self.close_open_chunk(limits.files);
        }
        self.open
            .get_or_insert_with(XorAppender::new)
            .append(sample.t, sample.v);
        outcome
    }

    /// Moves the open chunk to the closed list, writing it to the chunk files when there are any
    /// (and keeping it on the heap if that fails).
    pub fn close_open_chunk(&mut self, files: Option<&HeadChunkFiles>) {
        let Some(mut open) = self.open.take() else { return };
        let (Some(min_time), Some(max_time)) = (open.min_time(), open.max_time()) else {
            self.open = Some(open);
            return;
        };
        let location = match files.map(|f| f.write(open.bytes(), max_time)) {
            Some(Ok(disk)) => {
                // The bytes are on disk: keep the buffer for the next chunk.
                open.reset();
                self.open = Some(open);
                ChunkLocation::Disk(disk)
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "cannot write head chunk to disk, keeping it in memory");
                ChunkLocation::Memory(Box::new(Arc::from(open.into_bytes())))
            }
            None => ChunkLocation::Memory(Box::new(Arc::from(open.into_bytes()))),
        };
        // Exact growth: a series holds a handful of chunks, doubling would waste a third.
        self.closed.reserve_exact(1);
        self.closed.push(ClosedChunk {
            min_time,
            max_time,
            location,
        });
    }

    /// Drops everything older than `min_time`; chunks never straddle a block boundary, so this
    /// removes whole chunks. Returns true when the series became empty.
    pub fn truncate_before(&mut self, min_time: i64) -> bool {
        self.closed.retain(|c| c.max_time >= min_time);
        if self
            .open
            .as_ref()
            .and_then(|o| o.max_time())
            .is_some_and(|max| max < min_time)
        {
            self.open = None;
        }
        self.out_of_order.retain(|s| s.t >= min_time);
        if let Some(deleted) = &self.deleted
            && deleted.ranges().first().is_some_and(|r| r.1 < min_time)
        {
            let mut next = Intervals::clone(deleted);
            next.drop_before(min_time);
            self.deleted = (!next.is_empty()).then(|| Arc::new(next));
        }
        self.is_empty()
    }

    /// Every sample with `mint <= t <= maxt` that was not deleted, in time order, duplicates (by
    /// timestamp) removed.
    pub fn samples_between(&self, mint: i64, maxt: i64, files: Option<&HeadChunkFiles>) -> Result<Vec<Sample>> {
        let mut out = Vec::new();
        let in_range = |(t, _): &(i64, f64)| *t >= mint && *t <= maxt;
        for chunk in self.closed.iter().filter(|c| c.max_time >= mint && c.min_time <= maxt) {
            let bytes = chunk.bytes(files)?;
            out.extend(
                crate::chunk::XorIter::new(&bytes)
                    .filter(in_range)
                    .map(|(t, v)| Sample::new(t, v)),
            );
        }
        if let Some(open) = &self.open {
            out.extend(
                crate::chunk::XorIter::new(open.bytes())
                    .filter(in_range)
                    .map(|(t, v)| Sample::new(t, v)),
            );
        }
        if !self.out_of_order.is_empty() {
            out.extend(self.out_of_order.iter().filter(|s| s.t >= mint && s.t <= maxt).copied());
            out.sort_by_key(|s| s.t);
            out.dedup_by_key(|s| s.t);
        }
        if let Some(deleted) = &self.deleted {
            out.retain(|s| !deleted.contains(s.t));
        }
        Ok(out)
    }

    /// Heap bytes held by this series' data (chunk references, heap chunks and buffers).
    pub fn heap_size(&self) -> usize {
        let on_heap = |c: &ClosedChunk| match &c.location {
            ChunkLocation::Memory(bytes) => bytes.len() + 16 + 16,
            ChunkLocation::Disk(_) => 0,
        };
        self.closed.iter().map(on_heap).sum::<usize>()
            + self.closed.capacity() * std::mem::size_of::<ClosedChunk>()
            + self.open.as_ref().map_or(0, |o| o.heap_size())
            + self.out_of_order.heap_size()
    }
}

/// The limits an append is checked against.
pub(crate) struct AppendLimits<'a> {
    /// Oldest timestamp an out-of-order sample may have (`i64::MAX` disables them).
    pub ooo_min_time: i64,
    /// Block duration: chunks never cross a multiple of it.
    pub chunk_range: i64,
    /// Samples per chunk before a new one is cut.
    pub samples_per_chunk: usize,
    /// Where full chunks go, if anywhere but the heap.
    pub files: Option<&'a HeadChunkFiles>,
}

/// A chunk is cut before it grows past this many bytes (Prometheus uses 1024 too).
pub(crate) const MAX_CHUNK_BYTES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: i64 = 7_200_000;

    fn limits(ooo_min_time: i64) -> AppendLimits<'static> {
        AppendLimits {
            ooo_min_time,
            chunk_range: RANGE,
            samples_per_chunk: 120,
            files: None,
        }
    }

    #[test]
    fn appends_in_order_and_cuts_chunks() {
        let mut data = SeriesData::default();
        for i in 0..300 {
            assert_eq!(
                data.append(Sample::new(i * 1000, i as f64), &limits(i64::MIN)),
                AppendOutcome::Appended
            );
        }
        assert_eq!(data.closed.len(), 2);
        assert_eq!(data.samples_between(0, i64::MAX, None).expect("read").len(), 300);
        assert_eq!(data.samples_between(5000, 9000, None).expect("read").len(), 5);
    }

    #[test]
    fn never_crosses_a_block_boundary() {
        let mut data = SeriesData::default();
        data.append(Sample::new(RANGE - 1, 1.0), &limits(i64::MIN));
        data.append(Sample::new(RANGE, 2.0), &limits(i64::MIN));
        assert_eq!(data.closed.len(), 1);
        assert_eq!(data.closed[0].max_time, RANGE - 1);
        assert!(!data.truncate_before(RANGE));
        assert_eq!(
            data.samples_between(0, i64::MAX, None).expect("read"),
            vec![Sample::new(RANGE, 2.0)]
        );
    }

    #[test]
    fn duplicates_and_out_of_order() {
        let mut data = SeriesData::default();
        data.append(Sample::new(10, 1.0), &limits(i64::MIN));
        data.append(Sample::new(20, 2.0), &limits(i64::MIN));
        assert_eq!(
            data.check(Sample::new(20, 2.0), i64::MAX, None),
            AppendOutcome::Duplicate
        );
        assert_eq!(
            data.check(Sample::new(20, 3.0), i64::MAX, None),
            AppendOutcome::DuplicateConflict
        );
        assert_eq!(
            data.check(Sample::new(15, 3.0), i64::MAX, None),
            AppendOutcome::OutOfOrder
        );
        assert_eq!(data.append(Sample::new(15, 3.0), &limits(0)), AppendOutcome::Appended);
        assert_eq!(data.check(Sample::new(10, 1.0), 0, None), AppendOutcome::Duplicate);
        assert_eq!(
            data.check(Sample::new(10, 9.0), 0, None),
            AppendOutcome::DuplicateConflict
        );
        assert_eq!(
            data.check(Sample::new(15, 4.0), 0, None),
            AppendOutcome::DuplicateConflict
        );
        let all: Vec<i64> = data
            .samples_between(0, 100, None)
            .expect("read")
            .iter()
            .map(|s| s.t)
            .collect();
        assert_eq!(all, vec![10, 15, 20]);
    }
}
