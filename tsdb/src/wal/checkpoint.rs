//! Checkpoints: older segments condensed into `checkpoint.NNNNNNNN/`, keeping only what the head needs.

use std::fs;
use std::path::{Path, PathBuf};

use super::Wal;
use super::record::{Record, SampleRecord, SeriesRecord, TombstoneRecord};
use super::segment::{self, Appender, CHECKPOINT_PREFIX, Corruption, TMP_SUFFIX, list_dir, segment_name, sync_dir};
use crate::error::{Error, Result};

/// Segments `(index, size)` in index order.
type SegmentList = Vec<(u32, u64)>;

/// Entries buffered by the checkpoint writer before they are written as records.
const FLUSH_ENTRIES: usize = 16 * 1024;

/// What [`Wal::checkpoint`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Index of the checkpoint written (the last segment it covers); `None` when there was nothing to do.
    pub checkpoint: Option<u32>,
    /// Segment files deleted because the checkpoint covers them.
    pub segments_removed: u32,
    /// Series written to the checkpoint.
    pub series_kept: u64,
    /// Series dropped because `keep_series` refused them.
    pub series_dropped: u64,
    /// Samples written to the checkpoint.
    pub samples_kept: u64,
    /// Samples dropped (too old, or of a dropped series).
    pub samples_dropped: u64,
    /// Size of the new checkpoint in bytes.
    pub bytes: u64,
}

/// The directory of checkpoint `index` in `dir`.
pub(super) fn checkpoint_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{}", segment_name(index)))
}

fn remove_dir(path: &Path, why: &str) -> Result<()> {
    tracing::info!(dir = %path.display(), reason = why, "removing wal directory");
    fs::remove_dir_all(path).map_err(|e| Error::io(path, e))
}

/// Removes leftovers of interrupted checkpoints (temporary entries, superseded checkpoints, segments the
/// newest checkpoint covers). Returns the newest checkpoint and the segments after it.
pub(super) fn clean_up(dir: &Path) -> Result<(Option<u32>, SegmentList)> {
    let listing = list_dir(dir)?;
    let checkpoint = listing.checkpoints.last().copied();
    let mut removed = false;
    for tmp in &listing.tmp {
        if tmp.is_dir() {
            remove_dir(tmp, "unfinished checkpoint")?;
        } else {
            segment::remove_file(tmp, "unfinished temporary file")?;
        }
        removed = true;
    }
    for &old in listing.checkpoints.iter().filter(|&&c| Some(c) != checkpoint) {
        remove_dir(&checkpoint_path(dir, old), "superseded checkpoint")?;
        removed = true;
    }
    let (covered, segments): (Vec<_>, Vec<_>) = listing
        .segments
        .into_iter()
        .partition(|&(index, _)| checkpoint.is_some_and(|c| index <= c));
    for (index, _) in covered {
        segment::remove_file(&dir.join(segment_name(index)), "segment covered by checkpoint")?;
        removed = true;
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok((checkpoint, segments))
}

/// Streams the records of the checkpoint at `path`. Corruption ends the replay of the checkpoint with a
/// warning but changes nothing on disk. Returns the number of files read.
pub(super) fn replay_checkpoint(
    path: &Path,
    buf: &mut Vec<u8>,
    on_record: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<u32> {
    let mut read = 0;
    for (index, _) in list_dir(path)?.segments {
        let file = path.join(segment_name(index));
        let (_, corruption) = segment::read_segment(&file, buf, on_record)?;
        read += 1;
        if let Some(Corruption { offset, reason }) = corruption {
            tracing::warn!(file = %file.display(), offset, reason = %reason, "corrupt wal checkpoint: ignoring the rest of it");
            break;
        }
    }
    Ok(read)
}

/// Bytes of the segments below `current` plus the newest checkpoint.
pub(super) fn closed_bytes(dir: &Path, current: u32) -> Result<u64> {
    let listing = list_dir(dir)?;
    let mut total: u64 = listing.segments.iter().filter(|s| s.0 < current).map(|s| s.1).sum();
    if let Some(&index) = listing.checkpoints.last() {
        total += list_dir(&checkpoint_path(dir, index))?
            .segments
            .iter()
            .map(|s| s.1)
            .sum::<u64>();
    }
    Ok(total)
}

/// Filters records into a checkpoint, batching survivors into large records.
struct Writer<K> {
    out: Appender,
    keep_series: K,
    min_time: i64,
    series: Vec<SeriesRecord>,
    samples: Vec<SampleRecord>,
    tombstones: Vec<TombstoneRecord>,
    stats: CheckpointStats,
}

impl<K: Fn(u64) -> bool> Writer<K> {
    fn add(&mut self, record: Record) -> Result<()> {
        match record {
            Record::Series(series) => {
                for s in series {
                    if (self.keep_series)(s.series_ref) {
                        self.series.push(s);
                        self.stats.series_kept += 1;
                    } else {
                        self.stats.series_dropped += 1;
                    }
                }
            }
            Record::Samples(samples) => {
                for s in samples {
                    if s.t >= self.min_time && (self.keep_series)(s.series_ref) {
                        self.samples.push(s);
                        self.stats.samples_kept += 1;
                    } else {
                        self.stats.samples_dropped += 1;
                    }
                }
            }
            Record::Tombstones(tombstones) => {
                // A range wholly before `min_time` covers nothing the head still holds.
                self.tombstones.extend(
                    tombstones
                        .into_iter()
                        .filter(|t| t.maxt >= self.min_time && (self.keep_series)(t.series_ref)),
                );
            }
        }
        if self.series.len() + self.samples.len() + self.tombstones.len() >= FLUSH_ENTRIES {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Writes buffered series before buffered samples and tombstones, so every entry follows its
    /// series.
    fn flush(&mut self) -> Result<()> {
        self.out.begin()?;
        self.out.push_series(&self.series)?;
        self.out.push_samples(&self.samples)?;
        self.out.push_tombstones(&self.tombstones)?;
        self.out.commit(false)?;
        self.series.clear();
        self.samples.clear();
        self.tombstones.clear();
        Ok(())
    }
}

/// A checkpoint planned under the WAL's lock ([`Wal::prepare_checkpoint`]) and written without it
/// ([`CheckpointPlan::write`]), so appends go on while older segments are rewritten; then
/// [`Wal::finish_checkpoint`] deletes what it replaced.
#[derive(Debug)]
pub struct CheckpointPlan {
    dir: PathBuf,
    segment_size: u64,
    previous: Option<u32>,
    sources: Vec<u32>,
    last: u32,
    old_checkpoints: Vec<u32>,
    started: std::time::Instant,
}

impl Wal {
    /// Rotates to a new segment, then rewrites every older segment (and the previous checkpoint) into
    /// `checkpoint.NNNNNNNN` keeping only series for which `keep_series(ref)` is true and samples with
    /// `t >= min_time` whose series is kept; written to a temporary dir, fsynced, renamed; then older
    /// segments and checkpoints are deleted. Corruption in a segment aborts the checkpoint and deletes
    /// nothing; corruption in the previous checkpoint is logged and its intact prefix kept.
    pub fn checkpoint(&mut self, keep_series: impl Fn(u64) -> bool, min_time: i64) -> Result<CheckpointStats> {
        let Some(plan) = self.prepare_checkpoint()? else {
            return Ok(CheckpointStats::default());
        };
        let stats = plan.write(keep_series, min_time)?;
        self.finish_checkpoint(plan, stats)
    }

    /// First step of [`Wal::checkpoint`]: rotates to a new segment and lists the closed segments to
    /// rewrite. `None` when there is nothing to checkpoint.
    pub fn prepare_checkpoint(&mut self) -> Result<Option<CheckpointPlan>> {
        let started = std::time::Instant::now();
        self.appender.begin()?;
        if self.appender.segment_bytes() > 0 {
            self.appender.rotate()?;
        }
        let current = self.appender.index();
        let listing = list_dir(&self.dir)?;
        let previous = listing.checkpoints.last().copied();
        let sources: Vec<u32> = listing
            .segments
            .iter()
            .map(|s| s.0)
            .filter(|&i| i < current && previous.is_none_or(|p| i > p))
            .collect();
        let Some(&last) = sources.last() else {
            return Ok(None);
        };
        Ok(Some(CheckpointPlan {
            dir: self.dir.clone(),
            segment_size: self.options.segment_size,
            previous,
            sources,
            last,
            old_checkpoints: listing.checkpoints.clone(),
            started,
        }))
    }

    /// Last step of [`Wal::checkpoint`]: deletes the segments and checkpoints the new one replaced.
    pub fn finish_checkpoint(&mut self, plan: CheckpointPlan, mut stats: CheckpointStats) -> Result<CheckpointStats> {
        for &index in &plan.sources {
            segment::remove_file(&self.dir.join(segment_name(index)), "segment covered by checkpoint")?;
            stats.segments_removed += 1;
        }
        for &old in &plan.old_checkpoints {
            remove_dir(&checkpoint_path(&self.dir, old), "superseded checkpoint")?;
        }
        sync_dir(&self.dir)?;
        self.appender.closed_bytes = closed_bytes(&self.dir, self.appender.index())?;
        stats.checkpoint = Some(plan.last);
        tracing::info!(
            dir = %checkpoint_path(&self.dir, plan.last).display(),
            segments_removed = stats.segments_removed,
            series_kept = stats.series_kept,
            series_dropped = stats.series_dropped,
            samples_kept = stats.samples_kept,
            samples_dropped = stats.samples_dropped,
            bytes = stats.bytes,
            elapsed_ms = plan.started.elapsed().as_millis() as u64,
            "wal checkpoint written"
        );
        Ok(stats)
    }
}

impl CheckpointPlan {
    /// Middle step of [`Wal::checkpoint`], safe while appends continue: rewrites the planned
    /// segments into a temporary directory, fsyncs it and renames it into place.
    pub fn write(&self, keep_series: impl Fn(u64) -> bool, min_time: i64) -> Result<CheckpointStats> {
        let final_path = checkpoint_path(&self.dir, self.last);
        let tmp_path = PathBuf::from(format!("{}{TMP_SUFFIX}", final_path.display()));
        if tmp_path.exists() {
            remove_dir(&tmp_path, "unfinished checkpoint")?;
        }
        fs::create_dir(&tmp_path).map_err(|e| Error::io(&tmp_path, e))?;
        let stats = match self.write_into(&tmp_path, keep_series, min_time) {
            Ok(stats) => stats,
            Err(e) => {
                if let Err(cleanup) = fs::remove_dir_all(&tmp_path) {
                    tracing::warn!(dir = %tmp_path.display(), error = %cleanup, "cannot remove unfinished checkpoint");
                }
                return Err(e);
            }
        };
        fs::rename(&tmp_path, &final_path).map_err(|e| Error::io(&final_path, e))?;
        sync_dir(&self.dir)?;
        Ok(stats)
    }

    fn write_into(&self, tmp_path: &Path, keep_series: impl Fn(u64) -> bool, min_time: i64) -> Result<CheckpointStats> {
        let out = Appender::create(tmp_path, 0, self.segment_size, true)?;
        let mut writer = Writer {
            out,
            keep_series,
            min_time,
            series: Vec::new(),
            samples: Vec::new(),
            tombstones: Vec::new(),
            stats: Default::default(),
        };
        let mut buf = Vec::new();
        if let Some(index) = self.previous {
            replay_checkpoint(&checkpoint_path(&self.dir, index), &mut buf, &mut |r| writer.add(r))?;
        }
        for &index in &self.sources {
            let path = self.dir.join(segment_name(index));
            let (_, corruption) = segment::read_segment(&path, &mut buf, &mut |r| writer.add(r))?;
            if let Some(Corruption { offset, reason }) = corruption {
                return Err(Error::corrupt(&path, format!("at offset {offset}: {reason}")));
            }
        }
        writer.flush()?;
        writer.out.sync()?;
        sync_dir(tmp_path)?;
        writer.stats.bytes = writer.out.closed_bytes + writer.out.segment_bytes();
        Ok(writer.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::tests::{open_all, sample, segment_files, series, small, with_warnings};

    fn flatten(records: &[Record]) -> (Vec<u64>, Vec<SampleRecord>) {
        let mut refs = Vec::new();
        let mut samples = Vec::new();
        for record in records {
            match record {
                Record::Series(s) => refs.extend(s.iter().map(|s| s.series_ref)),
                Record::Samples(s) => samples.extend_from_slice(s),
                Record::Tombstones(_) => {}
            }
        }
        (refs, samples)
    }

    fn disk_bytes(dir: &Path) -> u64 {
        let mut total = 0;
        for entry in fs::read_dir(dir).expect("read dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("stat");
            total += if meta.is_dir() {
                disk_bytes(&entry.path())
            } else {
                meta.len()
            };
        }
        total
    }

    /// Six series, samples at t = 0..10 for each, in small segments.
    fn populated(dir: &Path) -> Wal {
        let (mut wal, _, _) = open_all(dir, small(200));
        wal.log_series(&(1..=6).map(series).collect::<Vec<_>>()).expect("log");
        for t in 0..10 {
            wal.log_samples(&(1..=6).map(|r| sample(r, t)).collect::<Vec<_>>())
                .expect("log");
        }
        wal
    }

    #[test]
    fn appends_continue_while_a_checkpoint_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = populated(dir.path());
        let plan = wal
            .prepare_checkpoint()
            .expect("prepare")
            .expect("something to checkpoint");
        // Appends between the steps land in segments the plan does not touch.
        wal.log_series(&[series(7)]).expect("log");
        for t in 10..20 {
            wal.log_samples(&[sample(2, t), sample(7, t)]).expect("log");
        }
        let stats = plan.write(|r| r % 2 == 0, 5).expect("write");
        let stats = wal.finish_checkpoint(plan, stats).expect("finish");
        assert_eq!((stats.series_kept, stats.samples_kept), (3, 15));
        wal.close().expect("close");
        let (_, records, _) = open_all(dir.path(), small(200));
        let (refs, samples) = flatten(&records);
        assert_eq!(refs, vec![2, 4, 6, 7]);
        let series2: Vec<i64> = samples.iter().filter(|s| s.series_ref == 2).map(|s| s.t).collect();
        assert_eq!(series2, (5..20).collect::<Vec<_>>());
        assert_eq!(samples.iter().filter(|s| s.series_ref == 7).count(), 10);
    }

    #[test]
    fn checkpoint_drops_filtered_series_and_old_samples() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = populated(dir.path());
        let segments_before = segment_files(dir.path()).len() as u32;
        let stats = wal.checkpoint(|r| r % 2 == 0, 5).expect("checkpoint");
        assert_eq!(stats.checkpoint, Some(segments_before));
        assert_eq!(stats.segments_removed, segments_before);
        assert_eq!((stats.series_kept, stats.series_dropped), (3, 3));
        assert_eq!((stats.samples_kept, stats.samples_dropped), (15, 45));
        let name = format!("checkpoint.{:08}", segments_before);
        assert_eq!(
            segment_files(dir.path()),
            vec![format!("{:08}", segments_before + 1), name.clone()]
        );
        assert_eq!(stats.bytes, disk_bytes(&dir.path().join(&name)));
        assert_eq!(wal.size_bytes(), disk_bytes(dir.path()));
        wal.log_samples(&[sample(2, 10)]).expect("log");
        assert_eq!(wal.size_bytes(), disk_bytes(dir.path()));
        wal.close().expect("close");

        let (wal, records, replay) = open_all(dir.path(), small(200));
        let (refs, samples) = flatten(&records);
        assert_eq!(refs, vec![2, 4, 6]);
        let mut expected: Vec<SampleRecord> = (5..10).flat_map(|t| [2, 4, 6].map(|r| sample(r, t))).collect();
        expected.push(sample(2, 10));
        assert_eq!(samples, expected);
        assert_eq!(
            replay.segments, 3,
            "two checkpoint files (200-byte segments) and one segment"
        );
        assert_eq!(wal.size_bytes(), disk_bytes(dir.path()));
    }

    #[test]
    fn second_checkpoint_folds_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = populated(dir.path());
        let first = wal
            .checkpoint(|r| r % 2 == 0, 5)
            .expect("checkpoint")
            .checkpoint
            .expect("written");
        wal.log_samples(&[sample(2, 10), sample(4, 10)]).expect("log");
        let stats = wal.checkpoint(|r| r == 2, 8).expect("checkpoint");
        assert_eq!(stats.checkpoint, Some(first + 1));
        assert_eq!((stats.series_kept, stats.series_dropped), (1, 2));
        assert_eq!((stats.samples_kept, stats.samples_dropped), (3, 14));
        assert_eq!(
            segment_files(dir.path()),
            vec![format!("{:08}", first + 2), format!("checkpoint.{:08}", first + 1)]
        );
        wal.close().expect("close");
        let (_, records, _) = open_all(dir.path(), small(200));
        assert_eq!(
            flatten(&records),
            (vec![2], vec![sample(2, 8), sample(2, 9), sample(2, 10)])
        );
    }

    #[test]
    fn checkpoint_without_older_segments_does_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _, _) = open_all(dir.path(), small(200));
        assert_eq!(
            wal.checkpoint(|_| true, 0).expect("checkpoint"),
            CheckpointStats::default()
        );
        assert_eq!(segment_files(dir.path()), vec!["00000001"]);
    }

    #[test]
    fn open_removes_leftovers_of_interrupted_checkpoints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = populated(dir.path());
        let index = wal
            .checkpoint(|_| true, 0)
            .expect("checkpoint")
            .checkpoint
            .expect("written");
        wal.log_samples(&[sample(1, 10)]).expect("log");
        wal.close().expect("close");
        // A crash could leave: an unfinished checkpoint, a superseded one, a segment already checkpointed.
        let tmp = dir.path().join(format!("checkpoint.{:08}.tmp", index + 1));
        fs::create_dir(&tmp).expect("mkdir");
        fs::write(tmp.join("00000000"), b"partial").expect("write");
        fs::create_dir(dir.path().join("checkpoint.00000000")).expect("mkdir");
        fs::write(dir.path().join(segment_name(index)), b"stale segment").expect("write");

        let ((_, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(200)));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(stats.truncated_bytes, 0);
        assert_eq!(flatten(&records).1.len(), 61);
        assert_eq!(
            segment_files(dir.path()),
            vec![
                format!("{:08}", index + 1),
                format!("{:08}", index + 2),
                format!("checkpoint.{index:08}")
            ]
        );
    }

    #[test]
    fn corrupt_segment_aborts_the_checkpoint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = populated(dir.path());
        let before = segment_files(dir.path());
        let first = dir.path().join(segment_name(1));
        let mut bytes = fs::read(&first).expect("read");
        bytes[HEADER_SIZE_FOR_TEST] ^= 0xff;
        fs::write(&first, &bytes).expect("write");
        let result = wal.checkpoint(|_| true, 0);
        assert!(matches!(result, Err(Error::DataCorruption { .. })), "{result:?}");
        let mut after = before.clone();
        after.push(format!("{:08}", before.len() + 1)); // the rotation happened
        assert_eq!(segment_files(dir.path()), after);
    }

    const HEADER_SIZE_FOR_TEST: usize = super::super::record::HEADER_SIZE;

    #[test]
    fn corrupt_checkpoint_is_replayed_up_to_the_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut wal = populated(dir.path());
        let index = wal
            .checkpoint(|_| true, 0)
            .expect("checkpoint")
            .checkpoint
            .expect("written");
        wal.log_samples(&[sample(1, 10)]).expect("log");
        wal.close().expect("close");
        let files = segment_files(&checkpoint_path(dir.path(), index));
        assert_eq!(
            files.len(),
            2,
            "series and samples records do not share a 200-byte segment"
        );
        let file = checkpoint_path(dir.path(), index).join(&files[1]);
        let mut bytes = fs::read(&file).expect("read");
        let len = bytes.len();
        bytes[len - 3] ^= 0x01;
        fs::write(&file, &bytes).expect("write");
        let ((_, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(200)));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("checkpoint"), "{warnings:?}");
        let (refs, samples) = flatten(&records);
        assert_eq!(refs, (1..=6).collect::<Vec<_>>());
        assert_eq!(samples.last(), Some(&sample(1, 10)));
        assert!(samples.len() < 61);
        assert_eq!(stats.truncated_bytes, 0);
        assert_eq!(fs::read(&file).expect("read"), bytes, "the checkpoint is left as it is");
    }
}
