//! Rewriting windows written by an older Loupe into the current format.
//!
//! A window is rewritten when its schema is not the current one (older tokenizer, no `seq`, `meta`
//! not a fast field) or when its term dictionaries are FSTs: Loupe now builds tantivy with
//! SSTable term dictionaries, which index several times cheaper, and tantivy reads only the kind
//! it was built for. Everything a window holds can be read without its term dictionaries — the
//! timestamp, stream and `seq` from the fast fields, the line and metadata from the document
//! store — so the rewrite re-indexes every live line into a fresh index beside the old one and
//! then swaps the directories. Nothing is lost and nothing is stored twice:
//!
//! 1. the new index is written to `<start>.rewrite` and committed (fsynced by tantivy);
//! 2. `<start>` is renamed to `<start>.old`, then `<start>.rewrite` to `<start>`;
//! 3. `<start>.old` is deleted.
//!
//! [`recover`] runs before windows are opened and finishes or undoes a rewrite a crash
//! interrupted: a leftover `.rewrite` beside its window is incomplete and deleted; a `.old` beside
//! its window is the finished swap's leftover; a `.old` alone is put back (or replaced by a
//! complete `.rewrite`, when the crash came between the two renames).
//!
//! Rewritten lines carry commit number 0, which no commit uses, so rolling back a later torn
//! commit never touches them. A legacy window whose last commit was torn cannot be rolled back
//! (the commit numbers sit in the unreadable dictionary): its lines are all kept, and the torn
//! commit's lines, replayed from the WAL or re-read from their files, may then appear twice.

use std::path::{Path, PathBuf};

use tantivy::schema::{TantivyDocument, Value};
use tantivy::{Index, ReloadPolicy};

use crate::error::{Error, Result};
use crate::schema::{LogSchema, register_tokenizer};
use crate::window::Payload;

/// Writer memory of a rewrite (one indexing thread).
const REWRITE_MEMORY_BYTES: usize = 64 << 20;

/// Documents handed to the writer at a time.
const REWRITE_BATCH: usize = 4096;

/// Suffix of a rewrite in progress.
const REWRITE_SUFFIX: &str = "rewrite";

/// Suffix of the old directory between the two renames of the swap.
const OLD_SUFFIX: &str = "old";

/// `windows/<start>` → `windows/<start>.<suffix>`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    dir.with_file_name(name)
}

/// Whether the window `index` (schema `fields`) must be rewritten before use.
pub fn needs_rewrite(index: &Index, fields: &LogSchema, dir: &Path) -> Result<bool> {
    if !fields.is_current() {
        return Ok(true);
    }
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(|e| Error::index(dir, e))?;
    for segment in reader.searcher().segment_readers() {
        if let Err(e) = segment.inverted_index(fields.line) {
            if e.to_string().contains("Unsupported dictionary type") {
                return Ok(true);
            }
            return Err(Error::index(dir, e));
        }
    }
    Ok(false)
}

/// Finishes or undoes the rewrites a crash interrupted in `windows_dir` (see the module
/// documentation). Runs before any window is opened.
pub fn recover(windows_dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(windows_dir).map_err(|e| Error::io(windows_dir, e))?;
    let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(start) = name.strip_suffix(&format!(".{OLD_SUFFIX}")) else {
            continue;
        };
        let window = path.with_file_name(start);
        let rewrite = sibling(&window, REWRITE_SUFFIX);
        if window.exists() {
            tracing::info!(dir = %window.display(), "removing the old copy of a rewritten log window");
        } else if rewrite.exists() {
            tracing::warn!(dir = %window.display(), "completing an interrupted log window rewrite");
            rename(&rewrite, &window)?;
        } else {
            tracing::warn!(dir = %window.display(), "restoring a log window whose rewrite was interrupted");
            rename(&path, &window)?;
            continue;
        }
        std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
    }
    let entries = std::fs::read_dir(windows_dir).map_err(|e| Error::io(windows_dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == REWRITE_SUFFIX) {
            tracing::warn!(dir = %path.display(), "deleting an incomplete log window rewrite");
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io(from, e))?;
    if let Some(parent) = to.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

/// Rewrites the window in `dir` (opened as `old`, schema `old_fields`) into the current format
/// and returns the new index, opened in `dir`. `checkpoint` is the store's last complete commit.
pub fn rewrite(dir: &Path, old: Index, old_fields: &LogSchema, payload: &Payload, checkpoint: u64) -> Result<Index> {
    let started = std::time::Instant::now();
    let tmp = sibling(dir, REWRITE_SUFFIX);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let directory = tantivy::directory::MmapDirectory::open(&tmp).map_err(|e| Error::Index {
        path: tmp.display().to_string(),
        source: tantivy::TantivyError::from(e),
    })?;
    let fresh = LogSchema::new();
    let new = Index::create(directory, fresh.schema.clone(), tantivy::IndexSettings::default())
        .map_err(|e| Error::index(&tmp, e))?;
    register_tokenizer(&new);
    let copied = copy_documents(dir, &old, old_fields, &new, &fresh, &tmp)?;
    let mut writer = copied.writer;
    let commit = if payload.commit > checkpoint {
        tracing::warn!(
            dir = %dir.display(),
            torn = payload.commit,
            checkpoint,
            "a legacy log window's last commit was torn; its lines are kept and may appear twice"
        );
        checkpoint
    } else {
        payload.commit
    };
    let text = serde_json::to_string(&Payload { commit }).map_err(|e| Error::Query(e.to_string()))?;
    let mut prepared = writer.prepare_commit().map_err(|e| Error::index(&tmp, e))?;
    prepared.set_payload(&text);
    prepared.commit().map_err(|e| Error::index(&tmp, e))?;
    writer.wait_merging_threads().map_err(|e| Error::index(&tmp, e))?;
    drop(new);
    drop(old);
    let old_dir = sibling(dir, OLD_SUFFIX);
    rename(dir, &old_dir)?;
    rename(&tmp, dir)?;
    std::fs::remove_dir_all(&old_dir).map_err(|e| Error::io(&old_dir, e))?;
    tracing::info!(
        dir = %dir.display(),
        lines = copied.lines,
        seconds = started.elapsed().as_secs_f64(),
        "rewrote a log window in the current format"
    );
    let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Index {
        path: dir.display().to_string(),
        source: tantivy::TantivyError::from(e),
    })?;
    Index::open(directory).map_err(|e| Error::index(dir, e))
}

/// The writer holding the copied documents (not yet committed) and how many there were.
struct Copied {
    writer: tantivy::IndexWriter<TantivyDocument>,
    lines: u64,
}

/// Adds every live document of `old` to a writer on `new`.
fn copy_documents(dir: &Path, old: &Index, of: &LogSchema, new: &Index, nf: &LogSchema, tmp: &Path) -> Result<Copied> {
    let writer: tantivy::IndexWriter<TantivyDocument> = new
        .writer_with_num_threads(1, REWRITE_MEMORY_BYTES)
        .map_err(|e| Error::index(tmp, e))?;
    let reader = old
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(|e| Error::index(dir, e))?;
    let searcher = reader.searcher();
    let nseq = nf
        .seq
        .ok_or_else(|| Error::Query("the current schema has no seq field".into()))?;
    let mut next_seq = 0u64;
    let mut lines = 0u64;
    let mut key = Vec::new();
    let mut batch = Vec::with_capacity(REWRITE_BATCH);
    for segment in searcher.segment_readers() {
        let err = |e| Error::index(dir, e);
        let fast = segment.fast_fields();
        let Some(streams) = fast.bytes("stream").map_err(err)? else {
            continue;
        };
        let ts = fast.i64("ts").map_err(err)?;
        let seq = match of.seq {
            Some(_) => Some(fast.u64("seq").map_err(err)?),
            None => None,
        };
        let store = segment.get_store_reader(4).map_err(|e| Error::io(dir, e))?;
        let alive = segment.alive_bitset();
        for doc in 0..segment.max_doc() {
            if alive.is_some_and(|a| a.is_deleted(doc)) {
                continue;
            }
            let stored: TantivyDocument = store.get(doc).map_err(err)?;
            let line = stored.get_first(of.line).and_then(|v| v.as_str()).unwrap_or_default();
            key.clear();
            let has_stream = match streams.term_ords(doc).next() {
                Some(ord) => streams.ord_to_bytes(ord, &mut key).map_err(|e| Error::io(dir, e))?,
                None => false,
            };
            if !has_stream {
                return Err(Error::Corrupt {
                    path: dir.display().to_string(),
                    reason: format!("document {doc} has no stream"),
                });
            }
            let s = match &seq {
                Some(column) => column.first(doc).unwrap_or(next_seq),
                None => next_seq,
            };
            next_seq = next_seq.max(s.saturating_add(1));
            let mut out = TantivyDocument::default();
            out.add_i64(nf.ts, ts.first(doc).unwrap_or(0));
            out.add_bytes(nf.stream, &key);
            out.add_text(nf.line, line);
            if let Some(meta) = stored.get_first(of.meta).and_then(|v| v.as_bytes()) {
                out.add_bytes(nf.meta, meta);
            }
            out.add_u64(nf.len, line.len() as u64);
            out.add_u64(nf.batch, 0);
            out.add_u64(nseq, s);
            batch.push(tantivy::indexer::UserOperation::Add(out));
            lines += 1;
            if batch.len() >= REWRITE_BATCH {
                writer
                    .run(std::mem::take(&mut batch))
                    .map_err(|e| Error::index(tmp, e))?;
            }
        }
    }
    if !batch.is_empty() {
        writer.run(batch).map_err(|e| Error::index(tmp, e))?;
    }
    Ok(Copied { writer, lines })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tsdb::{MatchType, Matcher};

    use super::*;
    use crate::schema::{needle_substring, needle_tokens};
    use crate::{Direction, LogStore, Selection, StoreOptions};

    /// Start of the fixture's only window: 2026-11-22T00:00:00Z.
    const T: i64 = 1_795_305_600_000_000_000;

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
        for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
            let entry = entry.unwrap_or_else(|e| panic!("{e}"));
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    /// A store written by Loupe 3ae7976 (FST term dictionaries): two streams, five lines, one with
    /// structured metadata, one with an over-long token.
    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fst-store");
        copy_tree(&from, dir.path());
        dir
    }

    fn open(dir: &Path) -> LogStore {
        let options = StoreOptions {
            window_ns: 24 * 3_600_000_000_000,
            commit_interval: Duration::from_millis(50),
            ..StoreOptions::default()
        };
        LogStore::open(dir, options).unwrap_or_else(|e| panic!("open: {e}"))
    }

    /// Timestamp, line and structured metadata of a selected line.
    type Line = (i64, String, Vec<(String, String)>);

    fn lines(store: &LogStore, needle: &str) -> Vec<Line> {
        let any = Matcher::new(MatchType::Regex, "app", ".+").unwrap_or_else(|e| panic!("{e}"));
        let tokens = needle_tokens(needle);
        let selection = Selection {
            matchers: vec![any],
            start_ns: T,
            end_ns: T + 1_000_000_000,
            direction: Direction::Forward,
            token_substrings: if tokens.is_empty() {
                needle_substring(needle).into_iter().collect()
            } else {
                Vec::new()
            },
            required_tokens: tokens,
        };
        let mut cursor = store.select(&selection).unwrap_or_else(|e| panic!("select: {e}"));
        let mut out = Vec::new();
        loop {
            let batch = cursor.next_batch(10).unwrap_or_else(|e| panic!("next: {e}"));
            if batch.is_empty() {
                break;
            }
            out.extend(batch.into_iter().map(|l| (l.ts_ns, l.line, l.metadata)));
        }
        out
    }

    fn segment_files(window: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(window)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".term"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_fst_store_is_rewritten_and_keeps_every_line() {
        let dir = fixture();
        let window = dir.path().join("windows").join(T.to_string());
        let before = segment_files(&window);
        let store = open(dir.path());
        let after = segment_files(&window);
        assert_eq!(before.len(), 1);
        assert_eq!(after.len(), 1);
        assert_ne!(before, after, "the window was rewritten into a new segment");
        let names: Vec<String> = std::fs::read_dir(dir.path().join("windows"))
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![T.to_string()], "no .old or .rewrite left behind");

        let got = lines(&store, "");
        let long = format!("{} long token line", "x".repeat(80));
        let trace = vec![("trace_id".to_string(), "abc123".to_string())];
        // The push API of the time had added the detected level as metadata.
        let level = vec![("detected_level".to_string(), "error".to_string())];
        assert_eq!(
            got,
            vec![
                (T + 1000, "legacy line one order 6167217".to_string(), vec![]),
                (
                    T + 1500,
                    "level=error msg=\"legacy failure\" code=500".to_string(),
                    level
                ),
                (T + 2000, "GET /api/v1/orders 200 ok".to_string(), trace),
                (T + 2000, "same time second line".to_string(), vec![]),
                (T + 3000, long.clone(), vec![]),
            ]
        );
        // The rewritten index answers token and substring pre-filters (the line with an over-long
        // token is a candidate of every substring, to be checked against its text).
        let token: Vec<i64> = lines(&store, " line ").into_iter().map(|l| l.0).collect();
        assert_eq!(token, vec![T + 1000, T + 2000, T + 3000]);
        let legacy: Vec<i64> = lines(&store, "legacy").into_iter().map(|l| l.0).collect();
        assert_eq!(legacy, vec![T + 1000, T + 1500, T + 3000]);
        let inner: Vec<i64> = lines(&store, "egac").into_iter().map(|l| l.0).collect();
        assert_eq!(inner, vec![T + 1000, T + 1500, T + 3000]);
        let marked: Vec<String> = lines(&store, "xxxxx").into_iter().map(|l| l.1).collect();
        assert_eq!(marked, vec![long]);
        assert_eq!(store.stats().entries, 5);
        assert_eq!(store.stats().streams, 2);

        // New lines go on top; a second open finds nothing to rewrite.
        let stream = crate::PushStream {
            labels: tsdb::Labels::new([("app", "db")]).unwrap_or_else(|e| panic!("{e}")),
            entries: vec![crate::PushEntry {
                ts_ns: T + 4000,
                line: "after the rewrite".into(),
                metadata: Vec::new(),
            }],
        };
        store.append(&[stream]).unwrap_or_else(|e| panic!("append: {e}"));
        store.close().unwrap_or_else(|e| panic!("close: {e}"));
        drop(store);
        let rewritten = segment_files(&window);
        let store = open(dir.path());
        assert_eq!(segment_files(&window), rewritten, "no second rewrite");
        let got: Vec<String> = lines(&store, "").into_iter().map(|l| l.1).collect();
        assert_eq!(got.len(), 6);
        assert_eq!(got[5], "after the rewrite");
    }

    fn mkdir(path: &Path, marker: &str) {
        std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(path.join("marker"), marker).unwrap_or_else(|e| panic!("{e}"));
    }

    fn marker(path: &Path) -> String {
        std::fs::read_to_string(path.join("marker")).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn recover_finishes_or_undoes_an_interrupted_swap() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let w = dir.path();
        // Swap finished, old copy left: the old copy goes.
        mkdir(&w.join("1"), "new");
        mkdir(&w.join("1.old"), "old");
        // Crash between the renames: the complete rewrite is promoted.
        mkdir(&w.join("2.old"), "old");
        mkdir(&w.join("2.rewrite"), "new");
        // Old directory renamed, nothing else: it is put back.
        mkdir(&w.join("3.old"), "old");
        // A rewrite in progress beside its window: incomplete, deleted.
        mkdir(&w.join("4"), "old");
        mkdir(&w.join("4.rewrite"), "partial");
        recover(w).unwrap_or_else(|e| panic!("recover: {e}"));
        let mut names: Vec<String> = std::fs::read_dir(w)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["1", "2", "3", "4"]);
        assert_eq!(marker(&w.join("1")), "new");
        assert_eq!(marker(&w.join("2")), "new");
        assert_eq!(marker(&w.join("3")), "old");
        assert_eq!(marker(&w.join("4")), "old");
    }
}
