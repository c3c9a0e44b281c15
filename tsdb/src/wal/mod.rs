//! The write-ahead log: every append batch is written here before the head acknowledges it.
//!
//! The WAL is a directory of numbered segment files holding CRC32C-framed [`Record`]s, plus at most one
//! checkpoint that condenses older segments. [`Wal::open`] replays everything and repairs a corrupt
//! tail; [`Wal::log`] hands records to the kernel before returning (fsyncing them under
//! [`SyncPolicy::Always`]); [`Wal::checkpoint`] drops what the head no longer needs. The on-disk format is
//! specified in `tsdb/docs/wal.md`. A [`Wal`] has a single writer and no internal locking.

mod checkpoint;
mod record;
mod segment;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use checkpoint::{CheckpointPlan, CheckpointStats};
pub use record::{MAX_RECORD_SIZE, Record, SampleRecord, SeriesRecord, TombstoneRecord};

use crate::error::{Error, Result};
use segment::Appender;

/// When appended records are fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Fsync before [`Wal::log`] returns: acknowledged batches survive power loss.
    Always,
    /// The owner calls [`Wal::sync`] at this interval; a crash of the machine may lose that much.
    Interval(Duration),
    /// Leave flushing to the OS (segments are still fsynced on [`Wal::close`]).
    Never,
}

/// Tuning of a [`Wal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment is rotated when the next record would make it larger than this many bytes.
    pub segment_size: u64,
    /// When appends are fsynced.
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: 128 << 20,
            sync: SyncPolicy::Interval(Duration::from_secs(1)),
        }
    }
}

/// What [`Wal::open`] replayed and repaired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records passed to the callback.
    pub records: u64,
    /// Samples in those records.
    pub samples: u64,
    /// Series in those records.
    pub series: u64,
    /// Bytes dropped by the repair: the corrupt tail of a segment plus the segments after it.
    pub truncated_bytes: u64,
    /// Files read: checkpoint files plus segments.
    pub segments: u32,
}

/// An open write-ahead log.
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    appender: Appender,
}

impl Wal {
    /// Opens (creating) the WAL in `dir`, repairs the tail, and streams every intact record — the latest
    /// checkpoint first, then the segments after it — to `on_record`, then starts a fresh segment for
    /// appends. Corruption is repaired with a warning, never refused; errors come from I/O and from
    /// `on_record`.
    pub fn open(
        dir: &Path,
        options: WalOptions,
        mut on_record: impl FnMut(Record) -> Result<()>,
    ) -> Result<(Wal, ReplayStats)> {
        let started = std::time::Instant::now();
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (checkpoint, segments) = checkpoint::clean_up(dir)?;
        let mut stats = ReplayStats::default();
        let mut buf = Vec::new();
        let mut counting = |record: Record| {
            stats.records += 1;
            match &record {
                Record::Series(s) => stats.series += s.len() as u64,
                Record::Samples(s) => stats.samples += s.len() as u64,
                Record::Tombstones(_) => {}
            }
            on_record(record)
        };
        let mut files = 0;
        if let Some(index) = checkpoint {
            files += checkpoint::replay_checkpoint(&checkpoint::checkpoint_path(dir, index), &mut buf, &mut counting)?;
        }
        let mut expected = checkpoint.map(|c| c + 1);
        for &(index, _) in &segments {
            if expected.is_some_and(|e| e != index) {
                tracing::warn!(dir = %dir.display(), expected, found = index, "gap in wal segment numbers");
            }
            expected = Some(index + 1);
        }
        let (truncated, read) = segment::replay_segments(dir, &segments, &mut buf, &mut counting)?;
        stats.truncated_bytes = truncated;
        stats.segments = files + read;
        // Segments after a repaired corruption were deleted: their numbers are reused.
        let next = segments[..read as usize]
            .last()
            .map(|s| s.0)
            .max(checkpoint)
            .unwrap_or(0)
            + 1;
        let mut appender = Appender::create(dir, next, options.segment_size, options.sync != SyncPolicy::Never)?;
        appender.closed_bytes = checkpoint::closed_bytes(dir, next)?;
        tracing::info!(
            dir = %dir.display(),
            records = stats.records,
            series = stats.series,
            samples = stats.samples,
            files = stats.segments,
            truncated_bytes = stats.truncated_bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "wal replayed"
        );
        Ok((
            Wal {
                dir: dir.to_path_buf(),
                options,
                appender,
            },
            stats,
        ))
    }

    /// Logs `records` with a single write (unless a segment boundary falls inside them).
    pub fn log(&mut self, records: &[Record]) -> Result<()> {
        self.appender.begin()?;
        for record in records {
            match record {
                Record::Series(series) => self.appender.push_series(series)?,
                Record::Samples(samples) => self.appender.push_samples(samples)?,
                Record::Tombstones(tombstones) => self.appender.push_tombstones(tombstones)?,
            }
        }
        self.commit()
    }

    /// Logs new series and then samples in one write: the hot path of an append commit. Empty slices
    /// produce no record.
    pub fn log_batch(&mut self, series: &[SeriesRecord], samples: &[SampleRecord]) -> Result<()> {
        self.appender.begin()?;
        self.appender.push_series(series)?;
        self.appender.push_samples(samples)?;
        self.commit()
    }

    /// Logs new series.
    pub fn log_series(&mut self, series: &[SeriesRecord]) -> Result<()> {
        self.log_batch(series, &[])
    }

    /// Logs float samples.
    pub fn log_samples(&mut self, samples: &[SampleRecord]) -> Result<()> {
        self.log_batch(&[], samples)
    }

    fn commit(&mut self) -> Result<()> {
        self.appender.commit(self.options.sync == SyncPolicy::Always)
    }

    /// Fsyncs the current segment (older segments were fsynced when rotated, unless the policy is
    /// [`SyncPolicy::Never`]). A failed fsync makes every later call fail.
    pub fn sync(&mut self) -> Result<()> {
        self.appender.sync()
    }

    /// A handle on the current segment, so the owner can fsync it without holding its lock: the
    /// same durability as [`Wal::sync`] for the bytes written before this call. Report a failure
    /// with [`Wal::sync_failed`].
    pub fn sync_target(&self) -> Result<(std::fs::File, std::path::PathBuf)> {
        self.appender.sync_target()
    }

    /// Marks the WAL unusable after an fsync through [`Wal::sync_target`] failed.
    pub fn sync_failed(&mut self, why: String) {
        self.appender.poison(why);
    }

    /// Bytes on disk: segments plus the checkpoint.
    pub fn size_bytes(&self) -> u64 {
        self.appender.closed_bytes + self.appender.segment_bytes()
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fsyncs and closes the WAL.
    pub fn close(mut self) -> Result<()> {
        self.appender.sync()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::labels::Labels;
    use crate::sample::stale_nan;
    use std::sync::{Arc, Mutex};

    /// Options with tiny segments and no fsync, for tests.
    pub fn small(segment_size: u64) -> WalOptions {
        WalOptions {
            segment_size,
            sync: SyncPolicy::Never,
        }
    }

    /// Opens the WAL in `dir`, returning it with every replayed record.
    pub fn open_all(dir: &Path, options: WalOptions) -> (Wal, Vec<Record>, ReplayStats) {
        let mut records = Vec::new();
        let (wal, stats) = Wal::open(dir, options, |r| {
            records.push(r);
            Ok(())
        })
        .expect("open wal");
        (wal, records, stats)
    }

    pub fn series(series_ref: u64) -> SeriesRecord {
        let name = format!("metric_{series_ref}");
        let labels = Labels::new([("__name__", name.as_str()), ("job", "test")]).expect("labels");
        SeriesRecord { series_ref, labels }
    }

    pub fn sample(series_ref: u64, t: i64) -> SampleRecord {
        SampleRecord {
            series_ref,
            t,
            v: t as f64 * 0.5,
        }
    }

    /// Files of segment names in `dir`, sorted.
    pub fn segment_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    struct Capture(Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!("{}={:?} ", field.name(), value));
        }
    }

    impl tracing::Subscriber for Capture {
        fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
            tracing::subscriber::Interest::sometimes()
        }
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            if *event.metadata().level() == tracing::Level::WARN {
                let mut fields = Fields(String::new());
                event.record(&mut fields);
                self.0.lock().expect("lock").push(fields.0);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    /// Runs `f` and returns its result with the warnings it logged (fields as `name=value`).
    pub fn with_warnings<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let result = tracing::subscriber::with_default(Capture(warnings.clone()), f);
        let warnings = warnings.lock().expect("lock").clone();
        (result, warnings)
    }

    #[test]
    fn round_trip_across_small_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, records, stats) = open_all(dir.path(), small(300));
        assert!(records.is_empty());
        assert_eq!(stats, ReplayStats::default());
        let mut expected = Vec::new();
        for batch in 0..40u64 {
            let new_series: Vec<SeriesRecord> = (batch * 2..batch * 2 + 2).map(series).collect();
            let samples: Vec<SampleRecord> = (0..batch * 2 + 2).map(|r| sample(r, batch as i64 * 1000)).collect();
            wal.log_batch(&new_series, &samples).expect("log");
            expected.push(Record::Series(new_series));
            expected.push(Record::Samples(samples));
        }
        let weird = vec![
            SampleRecord {
                series_ref: 0,
                t: 50_000,
                v: stale_nan(),
            },
            SampleRecord {
                series_ref: 1,
                t: 50_000,
                v: f64::from_bits(0x7ff8_0000_dead_beef),
            },
        ];
        wal.log(&[Record::Samples(weird.clone())]).expect("log");
        expected.push(Record::Samples(weird));
        let size = wal.size_bytes();
        wal.close().expect("close");
        let files = segment_files(dir.path());
        assert!(files.len() > 10, "{files:?}");
        let on_disk: u64 = files
            .iter()
            .map(|f| fs::metadata(dir.path().join(f)).expect("stat").len())
            .sum();
        assert_eq!(size, on_disk);

        let (wal, records, stats) = open_all(dir.path(), small(300));
        assert_eq!(records, expected);
        assert_eq!(stats.records, 81);
        assert_eq!(stats.series, 80);
        assert_eq!(stats.samples, (1..=40).map(|b| b * 2).sum::<u64>() + 2);
        assert_eq!(stats.truncated_bytes, 0);
        assert_eq!(stats.segments as usize, files.len());
        assert_eq!(wal.size_bytes(), on_disk);
        assert_eq!(
            segment_files(dir.path()).len(),
            files.len() + 1,
            "a fresh segment is started"
        );
    }

    #[test]
    fn always_policy_and_empty_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = WalOptions {
            segment_size: 1 << 20,
            sync: SyncPolicy::Always,
        };
        let (mut wal, _, _) = open_all(dir.path(), options);
        wal.log_batch(&[], &[]).expect("empty batch");
        assert_eq!(wal.size_bytes(), 0);
        wal.log_series(&[series(1)]).expect("series");
        wal.log_samples(&[sample(1, 10), sample(1, 20)]).expect("samples");
        wal.sync().expect("sync");
        drop(wal); // no close: everything was written straight to the file
        let (_, records, _) = open_all(dir.path(), options);
        assert_eq!(
            records,
            vec![
                Record::Series(vec![series(1)]),
                Record::Samples(vec![sample(1, 10), sample(1, 20)])
            ]
        );
    }

    #[test]
    fn records_above_the_maximum_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _, _) = open_all(dir.path(), small(1 << 20));
        let value = "x".repeat(MAX_RECORD_SIZE);
        let labels = Labels::new([("big", value.as_str())]).expect("labels");
        let result = wal.log_series(&[SeriesRecord { series_ref: 1, labels }]);
        assert!(matches!(result, Err(Error::InvalidArgument(_))), "{result:?}");
        wal.log_samples(&[sample(1, 1)]).expect("later batches still work");
        wal.close().expect("close");
        let (_, records, _) = open_all(dir.path(), small(1 << 20));
        assert_eq!(records, vec![Record::Samples(vec![sample(1, 1)])]);
    }
}
