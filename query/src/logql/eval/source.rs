//! Where the LogQL engine reads lines: the log store, or lines held in memory (tests and the
//! conformance scripts).

use std::sync::Arc;

use logs::{Direction, LineMeta, LogLine, LogStore, Selection};
use tsdb::Labels;

use crate::error::Error;

/// Lines, in the selection's order, a batch at a time.
pub trait LineCursor {
    /// Up to `max` further lines; empty when exhausted.
    fn next_batch(&mut self, max: usize) -> Result<Vec<LogLine>, Error>;
}

/// Selected lines without their text, a batch at a time.
pub trait MetaCursor {
    /// Up to `max` further lines; empty when exhausted.
    fn next_meta(&mut self, max: usize) -> Result<Vec<LineMeta>, Error>;
}

/// A source of log lines for the engine.
pub trait LogSource: Sync {
    /// Starts selecting: the lines of streams matching `selection.matchers` with a timestamp in
    /// `[start_ns, end_ns)`, in `direction` order (ties in the source's insertion order, reversed
    /// for backward). `required_tokens` is a pre-filter a source may apply or ignore.
    fn select(&self, selection: &Selection) -> Result<Box<dyn LineCursor + '_>, Error>;

    /// Counting without reading lines, as [`LogStore::select_meta`] defines it; `None` (the
    /// default) when the source cannot, and the engine reads the lines instead.
    fn select_meta(&self, selection: &Selection) -> Result<Option<Box<dyn MetaCursor + '_>>, Error> {
        let _ = selection;
        Ok(None)
    }
}

impl MetaCursor for logs::Cursor {
    fn next_meta(&mut self, max: usize) -> Result<Vec<LineMeta>, Error> {
        logs::Cursor::next_meta(self, max).map_err(|e| Error::Storage(e.to_string()))
    }
}

impl LineCursor for logs::Cursor {
    fn next_batch(&mut self, max: usize) -> Result<Vec<LogLine>, Error> {
        logs::Cursor::next_batch(self, max).map_err(|e| Error::Storage(e.to_string()))
    }
}

impl LogSource for LogStore {
    fn select(&self, selection: &Selection) -> Result<Box<dyn LineCursor + '_>, Error> {
        let cursor = LogStore::select(self, selection).map_err(|e| Error::Storage(e.to_string()))?;
        Ok(Box::new(cursor))
    }

    fn select_meta(&self, selection: &Selection) -> Result<Option<Box<dyn MetaCursor + '_>>, Error> {
        let cursor = LogStore::select_meta(self, selection).map_err(|e| Error::Storage(e.to_string()))?;
        Ok(cursor.map(|c| Box::new(c) as Box<dyn MetaCursor>))
    }
}

/// Lines held in memory, in insertion order. It ignores `required_tokens`: it is the brute-force
/// reference the indexed store is compared with.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    lines: Vec<LogLine>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// Adds a line of `labels` at `ts_ns`.
    pub fn push(&mut self, labels: &Arc<Labels>, ts_ns: i64, line: &str, metadata: Vec<(String, String)>) {
        self.lines.push(LogLine {
            ts_ns,
            labels: Arc::clone(labels),
            line: line.to_string(),
            metadata,
        });
    }

    /// Removes every line.
    pub fn clear(&mut self) {
        self.lines.clear();
    }

    /// Number of lines held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

struct VecCursor {
    lines: std::vec::IntoIter<LogLine>,
}

impl LineCursor for VecCursor {
    fn next_batch(&mut self, max: usize) -> Result<Vec<LogLine>, Error> {
        Ok(self.lines.by_ref().take(max).collect())
    }
}

impl LogSource for MemorySource {
    fn select(&self, selection: &Selection) -> Result<Box<dyn LineCursor + '_>, Error> {
        if selection.matchers.is_empty() {
            return Err(Error::Execution("a stream selector needs at least one matcher".into()));
        }
        let mut lines: Vec<LogLine> = self
            .lines
            .iter()
            .filter(|l| {
                l.ts_ns >= selection.start_ns
                    && l.ts_ns < selection.end_ns
                    && tsdb::labels::matches_labels(&selection.matchers, &l.labels)
            })
            .cloned()
            .collect();
        lines.sort_by_key(|l| l.ts_ns);
        if selection.direction == Direction::Backward {
            lines.reverse();
        }
        Ok(Box::new(VecCursor {
            lines: lines.into_iter(),
        }))
    }
}
