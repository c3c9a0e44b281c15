//! Deleting time ranges of head series: tombstones in memory, logged to the WAL.

use super::Head;
use crate::error::Result;
use crate::labels::Matcher;
use crate::postings::postings_for_matchers;
use crate::wal::{Record, TombstoneRecord};

impl Head {
    /// Deletes `[mint, maxt]` from the series matching `matchers`, clamped to what each series
    /// holds now (as Prometheus: samples appended later past a series' newest are not deleted).
    /// The tombstones are written to the WAL and fsynced before they take effect; returns how
    /// many series got one.
    pub(crate) fn delete(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<usize> {
        let refs = postings_for_matchers(self, matchers)?;
        self.with_wal(|wal| {
            let mut records = Vec::new();
            let mut targets = Vec::new();
            for series_ref in refs {
                let Some(series) = self.series_by_ref(series_ref) else {
                    continue;
                };
                let range = {
                    let data = series.data.lock();
                    match (data.min_time(), data.last()) {
                        (Some(first), Some(last)) => Some((mint.max(first), maxt.min(last.t.max(first)))),
                        (Some(first), None) => Some((mint.max(first), maxt)),
                        _ => None,
                    }
                };
                let Some((from, to)) = range.filter(|(from, to)| from <= to) else {
                    continue;
                };
                records.push(TombstoneRecord {
                    series_ref: series.series_ref,
                    mint: from,
                    maxt: to,
                });
                targets.push((series, from, to));
            }
            if records.is_empty() {
                return Ok(0);
            }
            // A head without a WAL (in memory only) just applies them.
            if let Some(wal) = wal {
                wal.log(&[Record::Tombstones(records)])?;
                wal.sync()?;
            }
            for (series, from, to) in &targets {
                series.data.lock().delete(*from, *to);
            }
            Ok(targets.len())
        })
    }
}
