//! Batched appends to the head: validate, apply, log to the WAL, acknowledge.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Head;
use super::series::{AppendOutcome, MemSeries};
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::sample::Sample;
use crate::wal::SampleRecord;

/// What a commit did with its samples. Rejected samples do not fail the batch: the others are
/// stored, and the first rejection is kept to report.
#[derive(Debug, Default, Clone)]
pub struct CommitStats {
    /// Samples stored.
    pub appended: usize,
    /// Exact duplicates (same timestamp and value): accepted and ignored, as Prometheus does.
    pub duplicates: usize,
    /// Same timestamp as a stored sample with another value.
    pub duplicate_conflicts: usize,
    /// Older than the newest sample of their series, outside the out-of-order window.
    pub out_of_order: usize,
    /// Older than the head accepts (already written to a block).
    pub out_of_bounds: usize,
    /// Further in the future than the head accepts.
    pub too_far_in_future: usize,
    /// The first rejection, as an error naming series and timestamp.
    pub first_error: Option<Error>,
}

impl CommitStats {
    /// Number of rejected samples.
    pub fn rejected(&self) -> usize {
        self.duplicate_conflicts + self.out_of_order + self.out_of_bounds + self.too_far_in_future
    }
}

/// A handle on a head series, as a scrape cache keeps it: [`Appender::append_ref`] appends to it
/// without a label or reference lookup.
#[derive(Clone)]
pub struct SeriesRef(Arc<MemSeries>);

impl SeriesRef {
    /// The series' reference number (as logged in the WAL).
    pub fn id(&self) -> u64 {
        self.0.series_ref
    }

    /// The series' labels.
    pub fn labels(&self) -> &Labels {
        &self.0.labels
    }
}

impl std::fmt::Debug for SeriesRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SeriesRef({}, {})", self.0.series_ref, self.0.labels)
    }
}

/// A batch of samples to add to the head. Nothing is durable before [`Appender::commit`] returns
/// `Ok`; samples become visible to queries during the commit, just before the WAL write.
pub struct Appender<'a> {
    head: &'a Head,
    samples: Vec<(Arc<MemSeries>, Sample)>,
}

impl<'a> Appender<'a> {
    pub(super) fn new(head: &'a Head) -> Self {
        Appender {
            head,
            samples: Vec::new(),
        }
    }

    /// Adds a sample for the series `labels` and returns a handle on the series, which later
    /// batches may pass to [`Appender::append_ref`] to skip the label lookup.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef> {
        if labels.is_empty() {
            return Err(Error::InvalidLabels {
                labels: labels.to_string(),
                reason: "empty label set".into(),
            });
        }
        let series = self.head.get_or_create(labels);
        self.samples.push((series.clone(), Sample::new(t, v)));
        Ok(SeriesRef(series))
    }

    /// Adds a sample for a series handle returned earlier, without looking anything up. A series
    /// garbage-collected in the meantime is recreated at commit.
    pub fn append_ref(&mut self, series: &SeriesRef, t: i64, v: f64) {
        self.samples.push((series.0.clone(), Sample::new(t, v)));
    }

    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Applies the batch and writes it to the WAL. When this returns `Ok`, every accepted sample
    /// is in the WAL (and fsynced if the WAL's policy says so).
    pub fn commit(self) -> Result<CommitStats> {
        let head = self.head;
        let options = head.options();
        let mut stats = CommitStats::default();
        let mut state = head.commit.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        if let Some(error) = &state.failed {
            return Err(error.clone());
        }
        let min_valid = head.min_valid_time();
        let head_max = head.max_time.load(Ordering::Acquire);
        let ooo_min = if options.out_of_order_window > 0 {
            head_max.saturating_sub(options.out_of_order_window).max(min_valid)
        } else {
            i64::MAX
        };
        let limits = head.append_limits(ooo_min);
        let max_valid = options
            .max_future
            .map_or(i64::MAX, |future| now_ms().saturating_add(future));
        let mut logged = Vec::with_capacity(self.samples.len());
        let (mut batch_min, mut batch_max) = (i64::MAX, i64::MIN);
        for (series, sample) in self.samples {
            let series = if series.is_removed() {
                head.get_or_create(&series.labels)
            } else {
                series
            };
            if sample.t > max_valid {
                stats.too_far_in_future += 1;
                stats.first_error.get_or_insert_with(|| Error::TooFarInFuture {
                    series: series.labels.to_string(),
                    timestamp: sample.t,
                    max_valid,
                });
                continue;
            }
            if sample.t < min_valid {
                stats.out_of_bounds += 1;
                stats.first_error.get_or_insert_with(|| Error::OutOfBounds {
                    series: series.labels.to_string(),
                    timestamp: sample.t,
                    min_valid,
                });
                continue;
            }
            let outcome = series.data.lock().append(sample, &limits);
            match outcome {
                AppendOutcome::Appended => {
                    logged.push(SampleRecord {
                        series_ref: series.series_ref,
                        t: sample.t,
                        v: sample.v,
                    });
                    batch_min = batch_min.min(sample.t);
                    batch_max = batch_max.max(sample.t);
                }
                AppendOutcome::Duplicate => stats.duplicates += 1,
                AppendOutcome::DuplicateConflict => {
                    stats.duplicate_conflicts += 1;
                    stats.first_error.get_or_insert_with(|| Error::DuplicateSample {
                        series: series.labels.to_string(),
                        timestamp: sample.t,
                    });
                }
                AppendOutcome::OutOfOrder => {
                    stats.out_of_order += 1;
                    stats.first_error.get_or_insert_with(|| Error::OutOfOrder {
                        series: series.labels.to_string(),
                        timestamp: sample.t,
                    });
                }
            }
        }
        stats.appended = logged.len();
        let series_records = std::mem::take(&mut *head.pending_series.lock());
        if let Some(wal) = state.wal.as_mut()
            && (!series_records.is_empty() || !logged.is_empty())
            && let Err(error) = wal.log_batch(&series_records, &logged)
        {
            // Keep the series records for the next commit: later samples depend on them.
            head.pending_series.lock().extend(series_records);
            tracing::error!(%error, "wal write failed; refusing further appends until restart");
            state.failed = Some(error.clone());
            return Err(error);
        }
        if batch_min <= batch_max {
            head.note_time(batch_min);
            head.note_time(batch_max);
        }
        head.samples_appended
            .fetch_add(stats.appended as u64, Ordering::Relaxed);
        Ok(stats)
    }

    /// Discards the batch.
    pub fn rollback(self) {}
}

/// Milliseconds since the Unix epoch by the wall clock.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
