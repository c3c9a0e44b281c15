//! Selecting lines: stream matchers, a time range, a direction and an optional token pre-filter.
//!
//! A [`Cursor`] walks the windows overlapping the range in the requested direction. Within a
//! window it cuts the remaining range into time slices small enough that the matching documents'
//! timestamps fit in memory (the slice width adapts to the density of matches), sorts each slice
//! by time and loads the stored lines of just the documents it hands out. A needle query matches
//! a handful of documents and takes one slice per window; a scan over millions of lines proceeds
//! slice by slice with bounded memory.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{IndexRecordOption, TantivyDocument, Term, Value};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use tsdb::{Labels, Matcher};

use super::LogStore;
use crate::error::{Error, Result};
use crate::schema::decode_metadata;
use crate::window::WindowView;

/// Order of the lines a cursor returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    Forward,
    /// Newest first.
    Backward,
}

/// What to select.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Stream matchers (at least one; Loki requires a non-empty selector).
    pub matchers: Vec<Matcher>,
    /// Start of the range, ns, inclusive.
    pub start_ns: i64,
    /// End of the range, ns, exclusive.
    pub end_ns: i64,
    /// Order of the results.
    pub direction: Direction,
    /// Lowercase tokens every returned line must contain in its index (from
    /// [`crate::schema::needle_tokens`]); a pre-filter only: lines are still to be checked exactly.
    pub required_tokens: Vec<String>,
    /// Lowercase ASCII strings each returned line must have inside one of its indexed tokens
    /// (from [`crate::schema::needle_substring`]), or an over-long token. Found by scanning each
    /// segment's term dictionary (results cached per segment).
    pub token_substrings: Vec<String>,
}

/// A line as the query side sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Timestamp, Unix ns.
    pub ts_ns: i64,
    /// The stream's labels.
    pub labels: Arc<Labels>,
    /// The line.
    pub line: String,
    /// Structured metadata.
    pub metadata: Vec<(String, String)>,
}

/// Most document timestamps held in memory by one slice.
const SLICE_CAP: usize = 1 << 16;

struct WindowScan {
    view: WindowView,
    searcher: tantivy::Searcher,
    /// Stream terms to restrict to; `None` when every stream of the window matches.
    streams: Option<Vec<Term>>,
    /// For each of the selection's token substrings, the line terms containing it (computed
    /// when the window is first reached).
    substring_terms: Option<Vec<Vec<Term>>>,
    lo: i64,
    hi: i64,
}

/// An iterator over selected lines, in batches.
pub struct Cursor {
    /// Counting mode ([`LogStore::select_meta`]): substring clauses match terms only and lines
    /// with an over-long token are left out, so the documents returned match exactly.
    meta: bool,
    direction: Direction,
    tokens: Vec<String>,
    substrings: Vec<String>,
    cache: Arc<SubstringCache>,
    windows: Vec<WindowScan>,
    current: usize,
    pending: std::collections::VecDeque<(i64, u64, DocAddress)>,
    span: i64,
    labels: HashMap<(usize, SegmentOrdinal, u64), Arc<Labels>>,
    /// The `stream` column of each (window, segment) read so far: opening a column decodes its
    /// index, far too costly to repeat per document.
    columns: HashMap<(usize, SegmentOrdinal), tantivy::columnar::BytesColumn>,
    /// The `len` column of each (window, segment), in counting mode.
    lens: HashMap<(usize, SegmentOrdinal), tantivy::columnar::Column<u64>>,
    /// The `meta` column of each (window, segment), in counting mode.
    metas: HashMap<(usize, SegmentOrdinal), Option<tantivy::columnar::BytesColumn>>,
    /// Decoded structured metadata by (window, segment, term ordinal).
    decoded: HashMap<(usize, SegmentOrdinal, u64), Arc<Metadata>>,
    /// The one empty metadata shared by every line without any (callers memoise by address).
    no_metadata: Arc<Metadata>,
}

/// A selected line without its text: what counting needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMeta {
    /// Timestamp, Unix ns.
    pub ts_ns: i64,
    /// The stream's labels.
    pub labels: Arc<Labels>,
    /// The line's length in bytes.
    pub len: u64,
    /// Structured metadata.
    pub metadata: Arc<Metadata>,
}

/// Structured metadata pairs.
pub type Metadata = Vec<(String, String)>;

impl LogStore {
    /// Starts selecting lines. The cursor sees the last commit at the time each window is
    /// reached; lines appended but not committed are not returned.
    pub fn select(&self, selection: &Selection) -> Result<Cursor> {
        if selection.matchers.is_empty() {
            return Err(Error::Query("a stream selector needs at least one matcher".into()));
        }
        let mut windows = Vec::new();
        for view in self.overlapping(selection.start_ns, selection.end_ns) {
            let stats = view.stats.read();
            let mut terms = Vec::new();
            let mut all = true;
            for (key, s) in stats.iter() {
                let in_time = s.max_ts >= selection.start_ns && s.min_ts < selection.end_ns;
                if in_time && tsdb::labels::matches_labels(&selection.matchers, &s.labels) {
                    terms.push(Term::from_field_bytes(view.fields.stream, key));
                } else {
                    all = false;
                }
            }
            drop(stats);
            if terms.is_empty() {
                continue;
            }
            let lo = selection.start_ns.max(view.start);
            let hi = selection.end_ns.min(view.end);
            let searcher = view.reader.searcher();
            windows.push(WindowScan {
                streams: (!all).then_some(terms),
                substring_terms: None,
                searcher,
                view,
                lo,
                hi,
            });
        }
        if selection.direction == Direction::Backward {
            windows.reverse();
        }
        Ok(Cursor {
            meta: false,
            direction: selection.direction,
            tokens: selection.required_tokens.clone(),
            substrings: selection.token_substrings.clone(),
            cache: Arc::clone(&self.substring_cache),
            windows,
            current: 0,
            pending: Default::default(),
            span: i64::MAX,
            labels: HashMap::new(),
            columns: HashMap::new(),
            lens: HashMap::new(),
            metas: HashMap::new(),
            decoded: HashMap::new(),
            no_metadata: Arc::default(),
        })
    }

    /// Like [`LogStore::select`], for counting without reading lines: the documents returned
    /// contain every `token_substrings` entry inside one of their terms (for single-word needles,
    /// exactly the lines containing the words) and have no over-long token; the lines with one
    /// must be selected separately (`required_tokens: [LONG_TOKEN]`) and checked. `None` when
    /// `required_tokens` is not empty.
    pub fn select_meta(&self, selection: &Selection) -> Result<Option<Cursor>> {
        if !selection.required_tokens.is_empty() {
            return Ok(None);
        }
        let mut cursor = self.select(selection)?;
        cursor.meta = true;
        Ok(Some(cursor))
    }
}

impl Cursor {
    /// Up to `max` further lines, in order; empty when the selection is exhausted.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<LogLine>> {
        let mut out = Vec::with_capacity(max.min(4096));
        while out.len() < max {
            let Some((ts, address)) = self.next_address()? else {
                break;
            };
            out.push(self.load(ts, address)?);
        }
        Ok(out)
    }

    /// Up to `max` further lines without their text (see [`LogStore::select_meta`]).
    pub fn next_meta(&mut self, max: usize) -> Result<Vec<LineMeta>> {
        let mut out = Vec::with_capacity(max.min(4096));
        while out.len() < max {
            let Some((ts_ns, address)) = self.next_address()? else {
                break;
            };
            out.push(LineMeta {
                ts_ns,
                labels: self.labels_of(address)?,
                len: self.len_of(address)?,
                metadata: self.metadata_of(address)?,
            });
        }
        Ok(out)
    }

    /// The next matching document in order, filling slices as needed; `None` when exhausted.
    fn next_address(&mut self) -> Result<Option<(i64, DocAddress)>> {
        loop {
            if let Some((ts, _, address)) = self.pending.pop_front() {
                return Ok(Some((ts, address)));
            }
            if self.current >= self.windows.len() {
                return Ok(None);
            }
            if !self.fill()? {
                self.current += 1;
                self.span = i64::MAX;
            }
        }
    }

    fn metadata_of(&mut self, address: DocAddress) -> Result<Arc<Metadata>> {
        let scan = &self.windows[self.current];
        let column = match self.metas.entry((self.current, address.segment_ord)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let segment = scan.searcher.segment_reader(address.segment_ord);
                let column = segment
                    .fast_fields()
                    .bytes("meta")
                    .map_err(|e| Error::index(&scan.view.dir, e))?;
                v.insert(column)
            }
        };
        let Some(column) = column else {
            return Ok(Arc::clone(&self.no_metadata));
        };
        let Some(ord) = column.term_ords(address.doc_id).next() else {
            return Ok(Arc::clone(&self.no_metadata));
        };
        let key = (self.current, address.segment_ord, ord);
        if let Some(found) = self.decoded.get(&key) {
            return Ok(Arc::clone(found));
        }
        let mut bytes = Vec::new();
        column
            .ord_to_bytes(ord, &mut bytes)
            .map_err(|e| Error::io(&scan.view.dir, e))?;
        let pairs = decode_metadata(&bytes).ok_or_else(|| corrupt(scan, "undecodable structured metadata"))?;
        let pairs = Arc::new(pairs);
        if self.decoded.len() >= DECODED_CACHE_ENTRIES {
            self.decoded.clear();
        }
        self.decoded.insert(key, Arc::clone(&pairs));
        Ok(pairs)
    }

    fn len_of(&mut self, address: DocAddress) -> Result<u64> {
        let scan = &self.windows[self.current];
        let column = match self.lens.entry((self.current, address.segment_ord)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let segment = scan.searcher.segment_reader(address.segment_ord);
                let column = segment
                    .fast_fields()
                    .u64("len")
                    .map_err(|e| Error::index(&scan.view.dir, e))?;
                v.insert(column)
            }
        };
        Ok(column.first(address.doc_id).unwrap_or(0))
    }

    /// Fills `pending` from the next slice of the current window; false when the window is done.
    fn fill(&mut self) -> Result<bool> {
        if self.windows[self.current].substring_terms.is_none() {
            let terms = self.substring_terms(&self.windows[self.current])?;
            self.windows[self.current].substring_terms = Some(terms);
        }
        loop {
            let scan = &self.windows[self.current];
            if scan.lo >= scan.hi {
                return Ok(false);
            }
            let width = scan.hi - scan.lo;
            let span = self.span.min(width).max(1);
            let (lo, hi) = match self.direction {
                Direction::Forward => (scan.lo, scan.lo.saturating_add(span)),
                Direction::Backward => (scan.hi.saturating_sub(span), scan.hi),
            };
            let query = self.query(scan, lo, hi);
            // A one-nanosecond slice cannot be cut further: take all of it.
            let cap = if span == 1 { usize::MAX } else { SLICE_CAP };
            let collector = TimestampCollector { cap };
            let (mut docs, overflow) = scan
                .searcher
                .search(&query, &collector)
                .map_err(|e| Error::index(&scan.view.dir, e))?;
            if overflow && span > 1 {
                self.span = span / 2;
                continue;
            }
            match self.direction {
                Direction::Forward => {
                    docs.sort_unstable();
                    self.windows[self.current].lo = hi;
                }
                Direction::Backward => {
                    docs.sort_unstable_by(|a, b| b.cmp(a));
                    self.windows[self.current].hi = lo;
                }
            }
            if docs.len() < SLICE_CAP / 8 {
                self.span = span.saturating_mul(2);
            }
            self.pending.extend(docs);
            if !self.pending.is_empty() {
                return Ok(true);
            }
        }
    }

    fn query(&self, scan: &WindowScan, lo: i64, hi: i64) -> BooleanQuery {
        let fields = &scan.view.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(fields.ts, lo)),
                Bound::Excluded(Term::from_field_i64(fields.ts, hi)),
            )),
        )];
        if let Some(terms) = &scan.streams {
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms.iter().cloned()))));
        }
        for token in &self.tokens {
            let term = Term::from_field_text(fields.line, token);
            clauses.push((Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
        }
        for terms in scan.substring_terms.iter().flatten() {
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms.iter().cloned()))));
        }
        if self.meta && !self.substrings.is_empty() {
            let marker = Term::from_field_text(fields.line, crate::schema::LONG_TOKEN);
            clauses.push((
                Occur::MustNot,
                Box::new(TermQuery::new(marker, IndexRecordOption::Basic)),
            ));
        }
        BooleanQuery::new(clauses)
    }

    /// The line terms of `scan`'s window containing each substring, plus the long-token marker.
    fn substring_terms(&self, scan: &WindowScan) -> Result<Vec<Vec<Term>>> {
        if self.substrings.is_empty() {
            return Ok(Vec::new());
        }
        let field = scan.view.fields.line;
        let mut out = Vec::with_capacity(self.substrings.len());
        for needle in &self.substrings {
            let mut keys: Vec<Vec<u8>> = Vec::new();
            if !self.meta {
                keys.push(crate::schema::LONG_TOKEN.as_bytes().to_vec());
            }
            for segment in scan.searcher.segment_readers() {
                let found = self
                    .cache
                    .terms(segment, field, needle)
                    .map_err(|e| Error::index(&scan.view.dir, e))?;
                keys.extend(found.iter().cloned());
            }
            // The term set is built as an FST: sorted, without duplicates.
            keys.sort_unstable();
            keys.dedup();
            out.push(
                keys.iter()
                    .filter_map(|k| std::str::from_utf8(k).ok())
                    .map(|k| Term::from_field_text(field, k))
                    .collect(),
            );
        }
        Ok(out)
    }

    fn load(&mut self, ts_ns: i64, address: DocAddress) -> Result<LogLine> {
        let scan = &self.windows[self.current];
        let fields = &scan.view.fields;
        let doc: TantivyDocument = scan
            .searcher
            .doc(address)
            .map_err(|e| Error::index(&scan.view.dir, e))?;
        let line = doc
            .get_first(fields.line)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let metadata = match doc.get_first(fields.meta).and_then(|v| v.as_bytes()) {
            Some(bytes) => decode_metadata(bytes).ok_or_else(|| Error::Corrupt {
                path: scan.view.dir.display().to_string(),
                reason: "undecodable structured metadata".into(),
            })?,
            None => Vec::new(),
        };
        let labels = self.labels_of(address)?;
        Ok(LogLine {
            ts_ns,
            labels,
            line,
            metadata,
        })
    }

    fn labels_of(&mut self, address: DocAddress) -> Result<Arc<Labels>> {
        let scan = &self.windows[self.current];
        let column = match self.columns.entry((self.current, address.segment_ord)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let segment = scan.searcher.segment_reader(address.segment_ord);
                let column = segment
                    .fast_fields()
                    .bytes("stream")
                    .map_err(|e| Error::index(&scan.view.dir, e))?
                    .ok_or_else(|| corrupt(scan, "missing stream column"))?;
                v.insert(column)
            }
        };
        let ord = column
            .term_ords(address.doc_id)
            .next()
            .ok_or_else(|| corrupt(scan, "document without stream"))?;
        let key = (self.current, address.segment_ord, ord);
        if let Some(labels) = self.labels.get(&key) {
            return Ok(Arc::clone(labels));
        }
        let mut bytes = Vec::new();
        column
            .ord_to_bytes(ord, &mut bytes)
            .map_err(|e| Error::io(&scan.view.dir, e))?;
        let labels = Arc::new(Labels::from_bytes(&bytes).ok_or_else(|| corrupt(scan, "undecodable stream labels"))?);
        self.labels.insert(key, Arc::clone(&labels));
        Ok(labels)
    }
}

/// Most decoded metadata sets a counting cursor keeps.
const DECODED_CACHE_ENTRIES: usize = 65_536;

/// Most (segment, substring) term lists kept; the cache is emptied when it grows past this.
const SUBSTRING_CACHE_ENTRIES: usize = 4096;

/// A segment and a substring.
type SubstringKey = (tantivy::index::SegmentId, String);

/// Term lists of substring pre-filters, by segment (segments never change) and substring.
#[derive(Default)]
pub struct SubstringCache {
    entries: parking_lot::Mutex<HashMap<SubstringKey, Arc<Vec<Vec<u8>>>>>,
}

impl SubstringCache {
    /// The terms of `field` in `segment` that contain `needle`.
    fn terms(
        &self,
        segment: &SegmentReader,
        field: tantivy::schema::Field,
        needle: &str,
    ) -> tantivy::Result<Arc<Vec<Vec<u8>>>> {
        let key = (segment.segment_id(), needle.to_string());
        if let Some(found) = self.entries.lock().get(&key) {
            return Ok(Arc::clone(found));
        }
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().stream()?;
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let mut found = Vec::new();
        while stream.advance() {
            let key = stream.key();
            if finder.find(key).is_some() {
                found.push(key.to_vec());
            }
        }
        let found = Arc::new(found);
        let mut entries = self.entries.lock();
        if entries.len() >= SUBSTRING_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, Arc::clone(&found));
        Ok(found)
    }
}

fn corrupt(scan: &WindowScan, reason: &str) -> Error {
    Error::Corrupt {
        path: scan.view.dir.display().to_string(),
        reason: reason.into(),
    }
}

/// Collects `(timestamp, address)` of matching documents, up to `cap`; reports overflow.
struct TimestampCollector {
    cap: usize,
}

struct TimestampSegmentCollector {
    segment: SegmentOrdinal,
    ts: tantivy::columnar::Column<i64>,
    /// Insertion order within the window (absent in windows written before it existed, where
    /// ties fall back to document addresses).
    seq: Option<tantivy::columnar::Column<u64>>,
    docs: Vec<(i64, u64, DocAddress)>,
    cap: usize,
    overflow: bool,
}

impl Collector for TimestampCollector {
    type Fruit = (Vec<(i64, u64, DocAddress)>, bool);
    type Child = TimestampSegmentCollector;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let has_seq = reader.schema().get_field("seq").is_ok();
        Ok(TimestampSegmentCollector {
            segment,
            ts: reader.fast_fields().i64("ts")?,
            seq: if has_seq {
                Some(reader.fast_fields().u64("seq")?)
            } else {
                None
            },
            docs: Vec::new(),
            cap: self.cap,
            overflow: false,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<(i64, u64, DocAddress)>, bool)>) -> tantivy::Result<Self::Fruit> {
        let overflow = fruits.iter().any(|f| f.1) || fruits.iter().map(|f| f.0.len()).sum::<usize>() > self.cap;
        if overflow {
            return Ok((Vec::new(), true));
        }
        Ok((fruits.into_iter().flat_map(|f| f.0).collect(), false))
    }
}

impl SegmentCollector for TimestampSegmentCollector {
    type Fruit = (Vec<(i64, u64, DocAddress)>, bool);

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self.docs.len() >= self.cap {
            self.overflow = true;
            return;
        }
        let ts = self.ts.first(doc).unwrap_or(0);
        let seq = self.seq.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
        self.docs.push((ts, seq, DocAddress::new(self.segment, doc)));
    }

    fn harvest(self) -> Self::Fruit {
        (self.docs, self.overflow)
    }
}
