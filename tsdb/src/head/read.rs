//! Reading the head: postings for matchers, label names and values, chunk snapshots.

use std::sync::Arc;

use super::Head;
use crate::chunk::XorAppender;
use crate::error::Result;
use crate::labels::{Labels, Matcher};
use crate::postings::{PostingsSource, postings_for_matchers};
use crate::querier::{ChunkData, ChunkSource};

impl PostingsSource for Head {
    fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>> {
        Ok(self.postings.read().get(name, value))
    }

    fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> Result<Vec<u64>> {
        Ok(self.postings.read().matching(name, accept))
    }

    fn all_postings(&self) -> Result<Vec<u64>> {
        Ok(self.postings.read().all())
    }
}

impl Head {
    /// Series matching `matchers` with data in `[mint, maxt]`, each with a snapshot of its chunks
    /// in that range (closed chunks are shared, the open chunk and out-of-order samples copied).
    pub(crate) fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<(Labels, Vec<ChunkData>)>> {
        let refs = postings_for_matchers(self, matchers)?;
        let mut out = Vec::with_capacity(refs.len());
        for series_ref in refs {
            let Some(series) = self.series_by_ref(series_ref) else {
                continue;
            };
            let chunks = {
                let data = series.data.lock();
                let deleted =
                    |min_time: i64, max_time: i64| data.deleted.clone().filter(|d| d.overlaps(min_time, max_time));
                // Chunks wholly deleted are left out, so a series deleted in the whole range is not
                // selected at all.
                let visible =
                    |min_time: i64, max_time: i64| data.deleted.as_ref().is_none_or(|d| !d.covers(min_time, max_time));
                let mut chunks: Vec<ChunkData> = Vec::new();
                for closed in data
                    .closed
                    .iter()
                    .filter(|c| c.max_time >= mint && c.min_time <= maxt && visible(c.min_time, c.max_time))
                {
                    chunks.push(ChunkData {
                        min_time: closed.min_time,
                        max_time: closed.max_time,
                        source: ChunkSource::Memory(closed.bytes(self.chunk_files())?),
                        deleted: deleted(closed.min_time, closed.max_time),
                    });
                }
                if let Some(open) = &data.open
                    && let (Some(min_time), Some(max_time)) = (open.min_time(), open.max_time())
                    && max_time >= mint
                    && min_time <= maxt
                    && visible(min_time, max_time)
                {
                    let bytes: Arc<[u8]> = Arc::from(open.bytes());
                    chunks.push(ChunkData {
                        min_time,
                        max_time,
                        source: ChunkSource::Memory(bytes),
                        deleted: deleted(min_time, max_time),
                    });
                }
                let ooo: Vec<_> = data
                    .out_of_order
                    .iter()
                    .filter(|s| s.t >= mint && s.t <= maxt)
                    .collect();
                if let (Some(first), Some(last)) = (ooo.first(), ooo.last())
                    && visible(first.t, last.t)
                {
                    let mut appender = XorAppender::new();
                    for sample in &ooo {
                        appender.append(sample.t, sample.v);
                    }
                    let (min_time, max_time) = (first.t, last.t);
                    let bytes: Arc<[u8]> = Arc::from(appender.into_bytes());
                    chunks.push(ChunkData {
                        min_time,
                        max_time,
                        source: ChunkSource::Memory(bytes),
                        deleted: deleted(min_time, max_time),
                    });
                }
                chunks
            };
            if !chunks.is_empty() {
                out.push((series.labels.clone(), chunks));
            }
        }
        Ok(out)
    }

    /// Label names of series matching `matchers` (all series when empty), sorted.
    pub(crate) fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.postings.read().label_names());
        }
        let mut names = std::collections::BTreeSet::new();
        for series_ref in postings_for_matchers(self, matchers)? {
            if let Some(series) = self.series_by_ref(series_ref) {
                names.extend(series.labels.iter().map(|l| l.name.to_string()));
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Values of label `name` among series matching `matchers` (all series when empty), sorted.
    pub(crate) fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.postings.read().label_values(name));
        }
        let mut values = std::collections::BTreeSet::new();
        for series_ref in postings_for_matchers(self, matchers)? {
            if let Some(value) = self.series_by_ref(series_ref).as_ref().and_then(|s| s.labels.get(name)) {
                values.insert(value.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }
}
