//! One time window of the log store: a tantivy index in its own directory.
//!
//! A window holds the lines whose timestamps fall in `[start, start + width)`. It has a writer only
//! while lines arrive for it (closed again after an idle commit), a reader reloaded after every
//! commit, and per-stream statistics kept in memory: computed from the fast fields when the window
//! is opened and updated on every append, so label lookups and index statistics never read lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tantivy::schema::{TantivyDocument, Term};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

use tsdb::Labels;

use crate::error::{Error, Result};
use crate::push::PushEntry;
use crate::schema::{LogSchema, encode_metadata, register_tokenizer};

/// Memory budget of a window's index writer (one indexing thread).
const WRITER_MEMORY_BYTES: usize = 64 << 20;

/// Segments merged at a time.
const MERGE_SEGMENTS: usize = 16;

/// What a window's commit payload records.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payload {
    /// The store-wide commit number this window was last committed under.
    pub commit: u64,
}

/// Entries and bytes of one stream in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStats {
    /// The stream's labels.
    pub labels: Arc<Labels>,
    /// Number of entries.
    pub entries: u64,
    /// Sum of the entries' line lengths in bytes.
    pub bytes: u64,
    /// Smallest timestamp (ns).
    pub min_ts: i64,
    /// Largest timestamp (ns).
    pub max_ts: i64,
}

/// Per-stream statistics of a window, keyed by the stream's label bytes.
pub type StatsMap = HashMap<Box<[u8]>, StreamStats>;

/// The read side of a window: what queries use, while the write side commits.
#[derive(Clone)]
pub struct WindowView {
    /// Start of the window (ns, inclusive).
    pub start: i64,
    /// End of the window (ns, exclusive).
    pub end: i64,
    /// The window's directory.
    pub dir: PathBuf,
    /// The reader, reloaded after each commit.
    pub reader: IndexReader,
    /// The schema's fields.
    pub fields: LogSchema,
    /// Per-stream statistics, including lines not yet committed.
    pub stats: Arc<RwLock<StatsMap>>,
}

/// One window's index, writer, reader and statistics.
pub struct Window {
    /// Start of the window (ns, inclusive).
    pub start: i64,
    /// End of the window (ns, exclusive).
    pub end: i64,
    dir: PathBuf,
    index: Index,
    fields: LogSchema,
    writer: Option<IndexWriter<TantivyDocument>>,
    reader: IndexReader,
    /// Documents added since the last commit.
    dirty: u64,
    /// Commits in a row with nothing added (the writer is closed after one).
    idle: u32,
    /// Per-stream statistics, keyed by the stream's label bytes; shared with the read side.
    stats: Arc<RwLock<StatsMap>>,
    /// The payload of the last commit.
    payload: Payload,
    /// The `seq` of the next document added.
    next_seq: u64,
}

impl Window {
    /// Opens the window in `dir`, creating it if needed. `checkpoint` is the store's last complete
    /// commit: documents added under a later commit number (a commit that crashed half-way across
    /// windows) are deleted, so the window holds exactly what the checkpoint says.
    pub fn open(dir: &Path, start: i64, end: i64, checkpoint: u64) -> Result<Window> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Index {
            path: dir.display().to_string(),
            source: tantivy::TantivyError::from(e),
        })?;
        let exists = Index::exists(&directory).map_err(|e| Error::Index {
            path: dir.display().to_string(),
            source: tantivy::TantivyError::from(e),
        })?;
        // An existing index keeps the schema it was written with (legacy windows included).
        let index = if exists {
            Index::open(directory).map_err(|e| Error::index(dir, e))?
        } else {
            Index::create(directory, LogSchema::new().schema, tantivy::IndexSettings::default())
                .map_err(|e| Error::index(dir, e))?
        };
        let mut fields = schema_of(&index, dir)?;
        register_tokenizer(&index);
        let mut payload = payload_of(&index, dir)?;
        let index = if exists && crate::migrate::needs_rewrite(&index, &fields, dir)? {
            let index = crate::migrate::rewrite(dir, index, &fields, &payload, checkpoint)?;
            register_tokenizer(&index);
            fields = schema_of(&index, dir)?;
            payload = payload_of(&index, dir)?;
            index
        } else {
            index
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::index(dir, e))?;
        let mut window = Window {
            start,
            end,
            dir: dir.to_path_buf(),
            index,
            fields,
            writer: None,
            reader,
            dirty: 0,
            idle: 0,
            stats: Arc::new(RwLock::new(HashMap::new())),
            payload,
            next_seq: 0,
        };
        if window.payload.commit > checkpoint {
            window.roll_back(checkpoint)?;
        }
        window.load_stats()?;
        Ok(window)
    }

    /// Deletes the documents of commits after `checkpoint` and commits that.
    fn roll_back(&mut self, checkpoint: u64) -> Result<()> {
        let torn = self.payload.commit;
        tracing::warn!(dir = %self.dir.display(), torn, checkpoint, "rolling back a half-done commit");
        let term = Term::from_field_u64(self.fields.batch, torn);
        self.writer()?.delete_term(term);
        self.dirty += 1;
        self.commit(checkpoint)
    }

    /// Recomputes the per-stream statistics from the fast fields of every live document.
    fn load_stats(&mut self) -> Result<()> {
        let searcher = self.reader.searcher();
        let mut stats: HashMap<Box<[u8]>, StreamStats> = HashMap::new();
        let mut key = Vec::new();
        let mut next_seq = 0u64;
        for segment in searcher.segment_readers() {
            let fast = segment.fast_fields();
            let err = |e| Error::index(&self.dir, e);
            let Some(streams) = fast.bytes("stream").map_err(err)? else {
                continue;
            };
            let ts = fast.i64("ts").map_err(err)?;
            let len = fast.u64("len").map_err(err)?;
            if self.fields.seq.is_some() {
                let seq = fast.u64("seq").map_err(err)?;
                if let Some(max) = seq.max_value().checked_add(1)
                    && segment.num_docs() > 0
                {
                    next_seq = next_seq.max(max);
                }
            }
            let mut by_ord: HashMap<u64, (u64, u64, i64, i64)> = HashMap::new();
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_some_and(|a| a.is_deleted(doc)) {
                    continue;
                }
                let Some(ord) = streams.term_ords(doc).next() else {
                    continue;
                };
                let t = ts.first(doc).unwrap_or(0);
                let l = len.first(doc).unwrap_or(0);
                let e = by_ord.entry(ord).or_insert((0, 0, i64::MAX, i64::MIN));
                e.0 += 1;
                e.1 += l;
                e.2 = e.2.min(t);
                e.3 = e.3.max(t);
            }
            for (ord, (entries, bytes, min_ts, max_ts)) in by_ord {
                key.clear();
                if !streams
                    .ord_to_bytes(ord, &mut key)
                    .map_err(|e| Error::io(&self.dir, e))?
                {
                    continue;
                }
                let Some(labels) = Labels::from_bytes(&key) else {
                    tracing::warn!(dir = %self.dir.display(), "skipping a stream with undecodable labels");
                    continue;
                };
                let s = stats
                    .entry(key.clone().into_boxed_slice())
                    .or_insert_with(|| StreamStats {
                        labels: Arc::new(labels),
                        entries: 0,
                        bytes: 0,
                        min_ts: i64::MAX,
                        max_ts: i64::MIN,
                    });
                s.entries += entries;
                s.bytes += bytes;
                s.min_ts = s.min_ts.min(min_ts);
                s.max_ts = s.max_ts.max(max_ts);
            }
        }
        *self.stats.write() = stats;
        self.next_seq = self.next_seq.max(next_seq);
        Ok(())
    }

    fn writer(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        if self.writer.is_none() {
            let writer: IndexWriter<TantivyDocument> = self
                .index
                .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
                .map_err(|e| Error::index(&self.dir, e))?;
            // Merge 16 segments at a time rather than 8: each line is rewritten by fewer merges
            // (commits every few seconds make many small segments).
            let mut policy = tantivy::indexer::LogMergePolicy::default();
            policy.set_min_num_segments(MERGE_SEGMENTS);
            writer.set_merge_policy(Box::new(policy));
            self.writer = Some(writer);
        }
        self.writer
            .as_mut()
            .ok_or_else(|| Error::Query("index writer vanished".into()))
    }

    /// Adds the entries of one stream, tagged with the store-wide commit number `batch`.
    pub fn add(&mut self, labels: &Labels, entries: &[&PushEntry], batch: u64) -> Result<()> {
        let fields = self.fields.clone();
        let key = labels.as_bytes();
        let dir = self.dir.clone();
        let mut next_seq = self.next_seq;
        let writer = self.writer()?;
        let (mut min_ts, mut max_ts, mut bytes) = (i64::MAX, i64::MIN, 0u64);
        // One hand-off to the indexing thread per call, not one per document.
        let mut operations = Vec::with_capacity(entries.len());
        for entry in entries {
            // Sized up front: the line, the stream key, metadata and five numbers.
            let mut doc = TantivyDocument::with_capacity(entry.line.len() + key.len() + 96);
            doc.add_i64(fields.ts, entry.ts_ns);
            doc.add_bytes(fields.stream, key);
            doc.add_text(fields.line, &entry.line);
            if !entry.metadata.is_empty() {
                doc.add_bytes(fields.meta, &encode_metadata(&entry.metadata));
            }
            doc.add_u64(fields.len, entry.line.len() as u64);
            doc.add_u64(fields.batch, batch);
            if let Some(seq) = fields.seq {
                doc.add_u64(seq, next_seq);
                next_seq += 1;
            }
            operations.push(tantivy::indexer::UserOperation::Add(doc));
            min_ts = min_ts.min(entry.ts_ns);
            max_ts = max_ts.max(entry.ts_ns);
            bytes += entry.line.len() as u64;
        }
        writer.run(operations).map_err(|e| Error::index(&dir, e))?;
        self.next_seq = next_seq;
        self.dirty += entries.len() as u64;
        let mut map = self.stats.write();
        let stats = map.entry(key.into()).or_insert_with(|| StreamStats {
            labels: Arc::new(labels.clone()),
            entries: 0,
            bytes: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
        });
        stats.entries += entries.len() as u64;
        stats.bytes += bytes;
        stats.min_ts = stats.min_ts.min(min_ts);
        stats.max_ts = stats.max_ts.max(max_ts);
        Ok(())
    }

    /// Whether documents were added since the last commit.
    pub fn is_dirty(&self) -> bool {
        self.dirty > 0
    }

    /// Commits what was added under the store-wide commit number `commit` and makes it
    /// searchable. A window with nothing new is not committed; after such an idle round its
    /// writer (and the writer's memory) is released.
    pub fn commit(&mut self, commit: u64) -> Result<()> {
        if self.dirty == 0 {
            self.idle += 1;
            if self.idle >= 2
                && let Some(writer) = self.writer.take()
            {
                writer.wait_merging_threads().map_err(|e| Error::index(&self.dir, e))?;
            }
            return Ok(());
        }
        let payload = Payload { commit };
        let text = serde_json::to_string(&payload).map_err(|e| Error::Query(e.to_string()))?;
        let dir = self.dir.clone();
        let writer = self.writer()?;
        let mut prepared = writer.prepare_commit().map_err(|e| Error::index(&dir, e))?;
        prepared.set_payload(&text);
        prepared.commit().map_err(|e| Error::index(&dir, e))?;
        self.reader.reload().map_err(|e| Error::index(&self.dir, e))?;
        self.payload = payload;
        self.dirty = 0;
        self.idle = 0;
        Ok(())
    }

    /// Closes the writer, waiting for merges (used at shutdown, after a final commit).
    pub fn close(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.take() {
            writer.wait_merging_threads().map_err(|e| Error::index(&self.dir, e))?;
        }
        Ok(())
    }

    /// The searcher of the last commit.
    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    /// The schema's fields.
    pub fn fields(&self) -> &LogSchema {
        &self.fields
    }

    /// The window's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The read side of this window.
    pub fn view(&self) -> WindowView {
        WindowView {
            start: self.start,
            end: self.end,
            dir: self.dir.clone(),
            reader: self.reader.clone(),
            fields: self.fields.clone(),
            stats: Arc::clone(&self.stats),
        }
    }

    /// Bytes the window takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }

    /// Number of live documents in the committed index whose `batch` is `batch` (tests).
    #[cfg(test)]
    pub fn count_batch(&self, batch: u64) -> u64 {
        use tantivy::{DocSet, TERMINATED};
        let searcher = self.searcher();
        let mut count = 0;
        for segment in searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(self.fields.batch) else {
                continue;
            };
            let term = Term::from_field_u64(self.fields.batch, batch);
            let Ok(Some(mut postings)) = inverted.read_postings(&term, tantivy::schema::IndexRecordOption::Basic)
            else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if !segment.alive_bitset().is_some_and(|a| a.is_deleted(doc)) {
                    count += 1;
                }
                doc = postings.advance();
            }
        }
        count
    }
}

/// The fields of the window index `index` in `dir`.
fn schema_of(index: &Index, dir: &Path) -> Result<LogSchema> {
    LogSchema::from_index(index).ok_or_else(|| Error::Corrupt {
        path: dir.display().to_string(),
        reason: "index schema is not a log window's".into(),
    })
}

/// The payload of the last commit of `index` in `dir`.
fn payload_of(index: &Index, dir: &Path) -> Result<Payload> {
    let metas = index.load_metas().map_err(|e| Error::index(dir, e))?;
    match metas.payload.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|e| Error::Corrupt {
            path: dir.display().to_string(),
            reason: format!("bad commit payload: {e}"),
        }),
        None => Ok(Payload::default()),
    }
}

/// Total size of the files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
