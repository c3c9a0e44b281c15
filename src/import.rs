//! Backfill: Prometheus text or OpenMetrics with timestamps, written into the TSDB.
//! Used by `loupe import` and `POST /api/v1/import/prometheus`.

use scraper::exposition::{Entry, Format, Parser};
use tsdb::db::Db;
use tsdb::{Labels, METRIC_NAME};

/// Samples appended to the head per commit.
const BATCH: usize = 20_000;
/// Samples older than the head collected before they are written as blocks.
const BACKFILL_BATCH: usize = 1_000_000;

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportStats {
    /// Samples parsed.
    pub samples: u64,
    /// Samples stored (in the head or in backfilled blocks).
    pub appended: u64,
    /// Of those, samples older than the head's range, written straight into blocks.
    pub backfilled: u64,
    /// Samples rejected by the TSDB (out of order, out of bounds, conflicting duplicates).
    pub rejected: u64,
    /// The first rejection.
    pub first_rejection: Option<String>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not valid exposition text.
    #[error("{0}")]
    Parse(#[from] scraper::Error),
    /// A sample's labels are invalid.
    #[error("{0}")]
    Labels(tsdb::Error),
    /// The TSDB failed to store an accepted batch.
    #[error("{0}")]
    Storage(tsdb::Error),
}

/// Parses `text` and appends every sample to `db`, committing in batches. Samples without a
/// timestamp get `default_timestamp`. `progress` is called after each batch with the number of
/// samples parsed so far. The whole text is parsed once before anything is written, so a
/// parse error stores nothing.
pub fn import_text(
    db: &Db,
    text: &str,
    format: Format,
    default_timestamp: i64,
    mut progress: impl FnMut(u64),
) -> Result<ImportStats, ImportError> {
    let mut parser = Parser::new(text, format);
    while let Some(entry) = parser.next() {
        if let Entry::Sample(sample) = entry? {
            // What `Labels::new` would reject later, after earlier batches were stored.
            if sample.labels.iter().any(|(name, _)| name == METRIC_NAME) {
                return Err(ImportError::Labels(tsdb::Error::InvalidLabels {
                    labels: sample.name.to_string(),
                    reason: format!(
                        "line {}: label {METRIC_NAME} given besides the metric name",
                        parser.line()
                    ),
                }));
            }
        }
    }
    let mut stats = ImportStats::default();
    let mut appender = db.appender();
    let mut backfiller = db.backfiller();
    // Input is usually grouped by series: reuse the previous series' reference when labels repeat.
    let mut previous: Option<(String, tsdb::head::SeriesRef)> = None;
    let mut key = String::new();
    let mut consumed = 0u64;
    for entry in Parser::new(text, format) {
        let Entry::Sample(sample) = entry? else { continue };
        // Length-prefixed, so no label text can make two different label sets share a key.
        key.clear();
        for part in std::iter::once(sample.name.as_ref())
            .chain(sample.labels.iter().flat_map(|(n, v)| [n.as_ref(), v.as_ref()]))
        {
            key.push_str(&part.len().to_string());
            key.push(':');
            key.push_str(part);
        }
        let t = sample.timestamp_ms.unwrap_or(default_timestamp);
        if t < db.head().min_valid_time() {
            // Older than the head accepts: goes straight into blocks.
            let pairs = std::iter::once((METRIC_NAME, sample.name.as_ref()))
                .chain(sample.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
            let labels = Labels::new(pairs).map_err(ImportError::Labels)?;
            backfiller.add(&labels, t, sample.value).map_err(ImportError::Storage)?;
            if backfiller.len() >= BACKFILL_BATCH {
                commit_backfill(backfiller, &mut stats)?;
                backfiller = db.backfiller();
            }
            stats.samples += 1;
            consumed += 1;
            continue;
        }
        let reused = match &previous {
            Some((previous_key, series)) if *previous_key == key => {
                appender.append_ref(series, t, sample.value);
                true
            }
            _ => false,
        };
        if !reused {
            let pairs = std::iter::once((METRIC_NAME, sample.name.as_ref()))
                .chain(sample.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
            let labels = Labels::new(pairs).map_err(ImportError::Labels)?;
            let series_ref = appender.append(&labels, t, sample.value).map_err(ImportError::Labels)?;
            previous = Some((key.clone(), series_ref));
        }
        stats.samples += 1;
        consumed += 1;
        if appender.len() >= BATCH {
            commit(appender, &mut stats)?;
            appender = db.appender();
            progress(consumed);
        }
    }
    commit(appender, &mut stats)?;
    commit_backfill(backfiller, &mut stats)?;
    progress(consumed);
    Ok(stats)
}

fn commit_backfill(backfiller: tsdb::backfill::Backfiller<'_>, stats: &mut ImportStats) -> Result<(), ImportError> {
    if backfiller.is_empty() {
        return Ok(());
    }
    let result = backfiller.commit().map_err(ImportError::Storage)?;
    stats.appended += result.written as u64;
    stats.backfilled += result.written as u64;
    stats.rejected += result.duplicate_conflicts as u64;
    if result.duplicate_conflicts > 0 && stats.first_rejection.is_none() {
        stats.first_rejection = Some(format!(
            "{} backfilled samples had the timestamp of another with a different value",
            result.duplicate_conflicts
        ));
    }
    Ok(())
}

fn commit(appender: tsdb::head::Appender<'_>, stats: &mut ImportStats) -> Result<(), ImportError> {
    let result = appender.commit().map_err(ImportError::Storage)?;
    stats.appended += result.appended as u64;
    stats.rejected += result.rejected() as u64;
    if stats.first_rejection.is_none() {
        stats.first_rejection = result.first_error.map(|e| e.to_string());
    }
    Ok(())
}
