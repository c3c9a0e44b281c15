//! The index file of a block: symbols, series with their chunk metas, and postings.
//!
//! [`write_index`] encodes it from the sorted series of a block; [`IndexReader`] validates it on open
//! (every section's CRC, symbol order, fixed-width tables) and then answers lookups by binary search
//! over the in-file tables. The layout is specified in `tsdb/docs/format.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::{be_u32, be_u64};
use crate::encoding::{get_uvarint, put_uvarint, unzigzag, zigzag};
use crate::error::{Error, Result};
use crate::labels::Labels;

/// Where a chunk is and which time range it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkMeta {
    /// Timestamp of the chunk's first sample, in milliseconds.
    pub min_time: i64,
    /// Timestamp of the chunk's last sample (inclusive), in milliseconds.
    pub max_time: i64,
    /// Byte offset of the chunk in the block's chunks file.
    pub chunk_ref: u64,
}

/// Magic number at the start of the index file (`"LPIX"`).
const INDEX_MAGIC: u32 = 0x4C50_4958;
/// Version byte of the index file.
const INDEX_VERSION: u8 = 1;
const HEADER_LEN: usize = 8;
const NUM_SECTIONS: usize = 5;
const TOC_LEN: usize = NUM_SECTIONS * 8 + 4;
const CRC_LEN: usize = 4;
const TABLE_ENTRY_LEN: usize = 16;

/// A buffered file writer that tracks its position and the CRC of the current section.
struct SectionWriter<'a> {
    path: &'a Path,
    out: BufWriter<File>,
    pos: u64,
    crc: u32,
}

impl SectionWriter<'_> {
    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| Error::io(self.path, e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.raw(bytes)
    }

    fn end_section(&mut self) -> Result<()> {
        let crc = std::mem::take(&mut self.crc);
        self.raw(&crc.to_be_bytes())
    }
}

fn encode_postings(out: &mut Vec<u8>, count: usize, ids: impl IntoIterator<Item = u32>) {
    put_uvarint(out, count as u64);
    let mut previous = 0;
    for (i, id) in ids.into_iter().enumerate() {
        put_uvarint(out, u64::from(if i == 0 { id } else { id - previous }));
        previous = id;
    }
}

fn encode_series(out: &mut Vec<u8>, label_refs: &[(u32, u32)], chunks: &[ChunkMeta]) {
    put_uvarint(out, label_refs.len() as u64);
    for &(name, value) in label_refs {
        put_uvarint(out, u64::from(name));
        put_uvarint(out, u64::from(value));
    }
    put_uvarint(out, chunks.len() as u64);
    let mut previous: Option<ChunkMeta> = None;
    for chunk in chunks {
        match previous {
            None => put_uvarint(out, zigzag(chunk.min_time)),
            Some(p) => put_uvarint(out, zigzag(chunk.min_time.wrapping_sub(p.min_time))),
        }
        put_uvarint(out, chunk.max_time.wrapping_sub(chunk.min_time) as u64);
        match previous {
            None => put_uvarint(out, chunk.chunk_ref),
            Some(p) => put_uvarint(out, zigzag(chunk.chunk_ref.wrapping_sub(p.chunk_ref) as i64)),
        }
        previous = Some(*chunk);
    }
}

/// Writes the index of `series` (in strictly increasing label order, each with chunks whose
/// `max_time >= min_time`) to `path`, fsyncs it and returns its size in bytes.
pub(super) fn write_index(path: &Path, series: &[(Labels, Vec<ChunkMeta>)]) -> Result<u64> {
    let too_big = |what: &str| Error::InvalidArgument(format!("index {} too large: {what}", path.display()));
    let symbols: BTreeSet<&str> = series
        .iter()
        .flat_map(|(l, _)| l.iter().flat_map(|l| [l.name, l.value]))
        .collect();
    if symbols.len() > u32::MAX as usize || series.len() > u32::MAX as usize {
        return Err(too_big("more than 2^32-1 symbols or series"));
    }
    let refs: FxHashMap<&str, u32> = symbols.iter().enumerate().map(|(i, s)| (*s, i as u32)).collect();
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut out = SectionWriter {
        path,
        out: BufWriter::with_capacity(1 << 16, file),
        pos: 0,
        crc: 0,
    };
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(&INDEX_MAGIC.to_be_bytes());
    header[4] = INDEX_VERSION;
    out.raw(&header)?;
    let mut toc = [0u64; NUM_SECTIONS];
    let mut buf = Vec::new();

    toc[0] = out.pos;
    for symbol in &symbols {
        buf.clear();
        put_uvarint(&mut buf, symbol.len() as u64);
        buf.extend_from_slice(symbol.as_bytes());
        out.put(&buf)?;
    }
    if out.pos - toc[0] > u64::from(u32::MAX) {
        return Err(too_big("symbol table over 4 GiB"));
    }
    out.end_section()?;

    toc[1] = out.pos;
    let mut offsets = Vec::with_capacity(series.len());
    let mut postings: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
    let mut label_refs = Vec::new();
    for (id, (labels, chunks)) in series.iter().enumerate() {
        offsets.push(out.pos - toc[1]);
        label_refs.clear();
        // Every name and value was inserted into `symbols` above, so the lookups cannot miss.
        label_refs.extend(
            labels
                .iter()
                .filter_map(|l| Some((*refs.get(l.name)?, *refs.get(l.value)?))),
        );
        for &pair in &label_refs {
            postings.entry(pair).or_default().push(id as u32);
        }
        buf.clear();
        encode_series(&mut buf, &label_refs, chunks);
        out.put(&buf)?;
    }
    out.end_section()?;

    toc[2] = out.pos;
    for offset in offsets {
        out.put(&offset.to_be_bytes())?;
    }
    out.end_section()?;

    toc[3] = out.pos;
    buf.clear();
    encode_postings(&mut buf, series.len(), 0..series.len() as u32);
    out.put(&buf)?;
    let mut table = Vec::with_capacity(postings.len() * TABLE_ENTRY_LEN);
    for ((name, value), ids) in &postings {
        table.extend_from_slice(&name.to_be_bytes());
        table.extend_from_slice(&value.to_be_bytes());
        table.extend_from_slice(&(out.pos - toc[3]).to_be_bytes());
        buf.clear();
        encode_postings(&mut buf, ids.len(), ids.iter().copied());
        out.put(&buf)?;
    }
    out.end_section()?;

    toc[4] = out.pos;
    out.put(&table)?;
    out.end_section()?;

    let mut toc_bytes = Vec::with_capacity(TOC_LEN);
    for offset in toc {
        toc_bytes.extend_from_slice(&offset.to_be_bytes());
    }
    toc_bytes.extend_from_slice(&crc32c::crc32c(&toc_bytes).to_be_bytes());
    out.raw(&toc_bytes)?;
    let size = out.pos;
    let file = out.out.into_inner().map_err(|e| Error::io(path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(path, e))?;
    Ok(size)
}

/// The bytes of an index: a memory map in production, a vector in tests.
pub(super) type IndexBytes = Box<dyn AsRef<[u8]> + Send + Sync>;

/// Section bodies (CRCs excluded) and the symbol offsets found while validating an index.
struct Layout {
    symbols: Range<usize>,
    symbol_offsets: Vec<u32>,
    series: Range<usize>,
    series_offsets: Range<usize>,
    postings: Range<usize>,
    table: Range<usize>,
}

/// A validated index file.
pub(super) struct IndexReader {
    path: PathBuf,
    data: IndexBytes,
    layout: Layout,
    num_series: u32,
    num_entries: usize,
}

impl IndexReader {
    /// Validates `data`, the content of the index file at `path` (named in errors).
    pub(super) fn new(path: PathBuf, data: IndexBytes) -> Result<IndexReader> {
        let layout = parse_layout(&path, (*data).as_ref())?;
        let num_series = (layout.series_offsets.len() / 8) as u32;
        let num_entries = layout.table.len() / TABLE_ENTRY_LEN;
        Ok(IndexReader {
            path,
            data,
            layout,
            num_series,
            num_entries,
        })
    }

    fn bytes(&self) -> &[u8] {
        (*self.data).as_ref()
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(&self.path, detail)
    }

    /// Number of series; ids are `0..num_series`.
    pub(super) fn num_series(&self) -> u32 {
        self.num_series
    }

    /// Number of symbols.
    pub(super) fn num_symbols(&self) -> usize {
        self.layout.symbol_offsets.len()
    }

    /// The string of symbol `sym`.
    fn symbol(&self, sym: u64) -> Result<&str> {
        let offset = usize::try_from(sym)
            .ok()
            .and_then(|i| self.layout.symbol_offsets.get(i))
            .ok_or_else(|| self.corrupt(format!("symbol ref {sym} out of range")))?;
        let body = &self.bytes()[self.layout.symbols.clone()];
        read_symbol(body, &mut (*offset as usize)).ok_or_else(|| self.corrupt(format!("unreadable symbol {sym}")))
    }

    /// The ref of `s`, if it is a symbol of this index.
    fn find_symbol(&self, s: &str) -> Result<Option<u32>> {
        let (mut lo, mut hi) = (0usize, self.num_symbols());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.symbol(mid as u64)?.cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(mid as u32)),
            }
        }
        Ok(None)
    }

    /// Postings table entry `i`: (name ref, value ref, postings offset).
    fn entry(&self, i: usize) -> Result<(u32, u32, u64)> {
        let pos = self.layout.table.start + i * TABLE_ENTRY_LEN;
        let data = self.bytes();
        match (be_u32(data, pos), be_u32(data, pos + 4), be_u64(data, pos + 8)) {
            (Some(name), Some(value), Some(offset)) if i < self.num_entries => Ok((name, value, offset)),
            _ => Err(self.corrupt(format!("postings table entry {i} out of range"))),
        }
    }

    /// Index of the first table entry whose (name, value) is not below `key`.
    fn lower_bound(&self, key: (u64, u64)) -> Result<usize> {
        let (mut lo, mut hi) = (0, self.num_entries);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (name, value, _) = self.entry(mid)?;
            if (u64::from(name), u64::from(value)) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The table entries of label `name` (an empty range if absent).
    fn name_range(&self, name: &str) -> Result<Range<usize>> {
        match self.find_symbol(name)? {
            None => Ok(0..0),
            Some(sym) => {
                let sym = u64::from(sym);
                Ok(self.lower_bound((sym, 0))?..self.lower_bound((sym + 1, 0))?)
            }
        }
    }

    /// All label names, sorted.
    pub(super) fn label_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut i = 0;
        while i < self.num_entries {
            let (name, _, _) = self.entry(i)?;
            names.push(self.symbol(u64::from(name))?.to_string());
            i = self.lower_bound((u64::from(name) + 1, 0))?;
        }
        Ok(names)
    }

    /// The values of label `name`, sorted.
    pub(super) fn label_values(&self, name: &str) -> Result<Vec<String>> {
        self.name_range(name)?
            .map(|i| Ok(self.symbol(u64::from(self.entry(i)?.1))?.to_string()))
            .collect()
    }

    /// The series ids having label `name="value"`.
    pub(super) fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>> {
        let (Some(name), Some(value)) = (self.find_symbol(name)?, self.find_symbol(value)?) else {
            return Ok(Vec::new());
        };
        let i = self.lower_bound((u64::from(name), u64::from(value)))?;
        if i < self.num_entries {
            let (n, v, offset) = self.entry(i)?;
            if (n, v) == (name, value) {
                return self.postings_list(offset);
            }
        }
        Ok(Vec::new())
    }

    /// The union of the postings of `name=v` over the values `v` accepted by `pred`, sorted.
    pub(super) fn postings_matching(&self, name: &str, mut pred: impl FnMut(&str) -> bool) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        for i in self.name_range(name)? {
            let (_, value, offset) = self.entry(i)?;
            if pred(self.symbol(u64::from(value))?) {
                ids.extend(self.postings_list(offset)?);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Every series id.
    pub(super) fn all_postings(&self) -> Result<Vec<u32>> {
        self.postings_list(0)
    }

    fn postings_list(&self, offset: u64) -> Result<Vec<u32>> {
        let body = &self.bytes()[self.layout.postings.clone()];
        let bad = |what: &str| self.corrupt(format!("postings list at offset {offset}: {what}"));
        let mut pos = usize::try_from(offset).map_err(|_| bad("offset out of range"))?;
        let count = get_uvarint(body, &mut pos).ok_or_else(|| bad("truncated count"))?;
        if count > body.len().saturating_sub(pos) as u64 {
            return Err(bad("count exceeds the section"));
        }
        let mut ids = Vec::with_capacity(count as usize);
        let mut previous = 0u64;
        for i in 0..count {
            let delta = get_uvarint(body, &mut pos).ok_or_else(|| bad("truncated id"))?;
            if i > 0 && delta == 0 {
                return Err(bad("ids not strictly ascending"));
            }
            let id = previous
                .checked_add(delta)
                .filter(|&id| id < u64::from(self.num_series));
            let id = id.ok_or_else(|| bad("series id out of range"))?;
            ids.push(id as u32);
            previous = id;
        }
        Ok(ids)
    }

    /// The labels and chunk metas of series `id`.
    pub(super) fn series(&self, id: u32) -> Result<(Labels, Vec<ChunkMeta>)> {
        if id >= self.num_series {
            return Err(Error::InvalidArgument(format!(
                "series id {id} out of range: index {} has {} series",
                self.path.display(),
                self.num_series
            )));
        }
        let data = self.bytes();
        let offsets = &self.layout.series_offsets;
        let start = be_u64(data, offsets.start + id as usize * 8);
        let end = if id + 1 < self.num_series {
            be_u64(data, offsets.start + (id as usize + 1) * 8)
        } else {
            Some(self.layout.series.len() as u64)
        };
        let series = &self.layout.series;
        let entry = match (start, end) {
            (Some(start), Some(end)) if start < end && end <= series.len() as u64 => {
                data.get(series.start + start as usize..series.start + end as usize)
            }
            _ => None,
        };
        let entry = entry.ok_or_else(|| self.corrupt(format!("series {id}: offsets out of range")))?;
        self.decode_series(id, entry)
    }

    fn decode_series(&self, id: u32, entry: &[u8]) -> Result<(Labels, Vec<ChunkMeta>)> {
        let bad = |what: &str| self.corrupt(format!("series {id}: {what}"));
        let mut pos = 0;
        let mut next = |what: &str| get_uvarint(entry, &mut pos).ok_or_else(|| bad(what));
        let num_labels = next("truncated label count")?;
        if num_labels == 0 || num_labels > entry.len() as u64 / 2 {
            return Err(bad("invalid label count"));
        }
        let mut pairs = Vec::with_capacity(num_labels as usize);
        let mut previous_name = None;
        for _ in 0..num_labels {
            let name = next("truncated label")?;
            let value = next("truncated label")?;
            if previous_name.is_some_and(|p| p >= name) {
                return Err(bad("label names not strictly ascending"));
            }
            previous_name = Some(name);
            pairs.push((self.symbol(name)?, self.symbol(value)?));
        }
        let num_chunks = next("truncated chunk count")?;
        if num_chunks > entry.len() as u64 / 3 {
            return Err(bad("invalid chunk count"));
        }
        let mut chunks: Vec<ChunkMeta> = Vec::with_capacity(num_chunks as usize);
        for _ in 0..num_chunks {
            let min = unzigzag(next("truncated chunk meta")?);
            let span = next("truncated chunk meta")?;
            let reference = next("truncated chunk meta")?;
            let (min_time, chunk_ref) = match chunks.last() {
                None => (min, reference),
                Some(p) => (
                    p.min_time.wrapping_add(min),
                    p.chunk_ref.wrapping_add(unzigzag(reference) as u64),
                ),
            };
            let max_time = min_time
                .checked_add_unsigned(span)
                .ok_or_else(|| bad("chunk max_time overflows"))?;
            chunks.push(ChunkMeta {
                min_time,
                max_time,
                chunk_ref,
            });
        }
        if pos != entry.len() {
            return Err(bad("trailing bytes"));
        }
        // Symbols are unique, non-empty and sorted, and the name refs strictly ascend, so the names do too.
        Ok((Labels::from_sorted(pairs), chunks))
    }
}

fn read_symbol<'a>(body: &'a [u8], pos: &mut usize) -> Option<&'a str> {
    let len = usize::try_from(get_uvarint(body, pos)?).ok()?;
    let end = pos.checked_add(len)?;
    let bytes = body.get(*pos..end)?;
    *pos = end;
    std::str::from_utf8(bytes).ok()
}

/// Checks the header, TOC and section CRCs, the symbols and the fixed-width tables.
fn parse_layout(path: &Path, data: &[u8]) -> Result<Layout> {
    let bad = |detail: String| Error::corrupt(path, detail);
    let len = data.len();
    if len < HEADER_LEN + NUM_SECTIONS * CRC_LEN + TOC_LEN {
        return Err(bad(format!("file too short: {len} bytes")));
    }
    let magic = be_u32(data, 0).unwrap_or(0);
    if magic != INDEX_MAGIC {
        return Err(bad(format!("bad magic {magic:#010x}")));
    }
    if data[4] != INDEX_VERSION {
        return Err(bad(format!("unsupported index version {}", data[4])));
    }
    if data[5..HEADER_LEN] != [0, 0, 0] {
        return Err(bad("non-zero header padding".into()));
    }
    let toc_start = len - TOC_LEN;
    let toc = &data[toc_start..];
    if be_u32(toc, TOC_LEN - 4) != Some(crc32c::crc32c(&toc[..TOC_LEN - 4])) {
        return Err(bad("toc checksum mismatch".into()));
    }
    let mut starts = [0usize; NUM_SECTIONS + 1];
    for (k, start) in starts.iter_mut().take(NUM_SECTIONS).enumerate() {
        *start = be_u64(toc, k * 8)
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(usize::MAX);
    }
    starts[NUM_SECTIONS] = toc_start;
    if starts[0] != HEADER_LEN {
        return Err(bad(format!("symbols section at {} instead of {HEADER_LEN}", starts[0])));
    }
    const NAMES: [&str; NUM_SECTIONS] = ["symbols", "series", "series offsets", "postings", "postings table"];
    let mut bodies: [Range<usize>; NUM_SECTIONS] = Default::default();
    for k in 0..NUM_SECTIONS {
        let (start, end) = (starts[k], starts[k + 1]);
        if start.checked_add(CRC_LEN).is_none_or(|min_end| min_end > end) {
            return Err(bad(format!("{} section has invalid bounds {start}..{end}", NAMES[k])));
        }
        let body = start..end - CRC_LEN;
        if be_u32(data, body.end) != Some(crc32c::crc32c(&data[body.clone()])) {
            return Err(bad(format!("{} section checksum mismatch", NAMES[k])));
        }
        bodies[k] = body;
    }
    let [symbols, series, series_offsets, postings, table] = bodies;

    let symbol_offsets = parse_symbols(&data[symbols.clone()]).map_err(|d| bad(format!("symbols: {d}")))?;
    let num_symbols = symbol_offsets.len() as u64;

    if series_offsets.len() % 8 != 0 || series_offsets.len() / 8 > u32::MAX as usize {
        return Err(bad(format!(
            "series offsets section has invalid length {}",
            series_offsets.len()
        )));
    }
    let num_series = series_offsets.len() / 8;
    if num_series == 0 && !series.is_empty() {
        return Err(bad("series section is not empty but there are no series".into()));
    }
    let mut previous = None;
    for i in 0..num_series {
        let offset = be_u64(data, series_offsets.start + i * 8).unwrap_or(u64::MAX);
        let valid = match previous {
            None => offset == 0,
            Some(p) => offset > p && offset < series.len() as u64,
        };
        if !valid {
            return Err(bad(format!("series offset {i} is invalid: {offset}")));
        }
        previous = Some(offset);
    }

    if postings.is_empty() {
        return Err(bad("postings section has no all-series list".into()));
    }
    if table.len() % TABLE_ENTRY_LEN != 0 {
        return Err(bad(format!("postings table has invalid length {}", table.len())));
    }
    let mut previous = None;
    for (i, entry) in data[table.clone()].chunks_exact(TABLE_ENTRY_LEN).enumerate() {
        let (name, value, offset) = (be_u32(entry, 0), be_u32(entry, 4), be_u64(entry, 8));
        let (Some(name), Some(value), Some(offset)) = (name, value, offset) else {
            return Err(bad(format!("postings table entry {i} is truncated")));
        };
        let valid = u64::from(name) < num_symbols
            && u64::from(value) < num_symbols
            && previous.is_none_or(|p| p < (name, value))
            && offset < postings.len() as u64;
        if !valid {
            return Err(bad(format!(
                "postings table entry {i} is invalid: ({name}, {value}, {offset})"
            )));
        }
        previous = Some((name, value));
    }
    Ok(Layout {
        symbols,
        symbol_offsets,
        series,
        series_offsets,
        postings,
        table,
    })
}

/// Returns the offset of every symbol in `body`, checking UTF-8, non-emptiness and strict order.
fn parse_symbols(body: &[u8]) -> std::result::Result<Vec<u32>, String> {
    if body.len() > u32::MAX as usize {
        return Err(format!("section too large: {} bytes", body.len()));
    }
    let mut offsets = Vec::new();
    let mut pos = 0;
    let mut previous: Option<&str> = None;
    while pos < body.len() {
        let start = pos;
        let symbol = read_symbol(body, &mut pos).ok_or_else(|| format!("unreadable symbol at offset {start}"))?;
        if symbol.is_empty() || previous.is_some_and(|p| p >= symbol) {
            return Err(format!("symbol at offset {start} is empty or out of order"));
        }
        previous = Some(symbol);
        offsets.push(start as u32);
    }
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).expect("valid labels")
    }

    fn meta(min_time: i64, max_time: i64, chunk_ref: u64) -> ChunkMeta {
        ChunkMeta {
            min_time,
            max_time,
            chunk_ref,
        }
    }

    /// Three series: `{a="1"}`, `{a="1", b="x"}`, `{a="2", b="y"}`.
    fn small_series() -> Vec<(Labels, Vec<ChunkMeta>)> {
        vec![
            (
                labels(&[("a", "1")]),
                vec![meta(0, 9, 8), meta(10, 19, 40), meta(5, 7, 20)],
            ),
            (labels(&[("a", "1"), ("b", "x")]), vec![]),
            (
                labels(&[("a", "2"), ("b", "y")]),
                vec![meta(i64::MIN, i64::MAX, u64::MAX)],
            ),
        ]
    }

    fn write_to_vec(series: &[(Labels, Vec<ChunkMeta>)]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("index");
        let size = write_index(&path, series).expect("write index");
        let bytes = std::fs::read(&path).expect("read index");
        assert_eq!(size, bytes.len() as u64);
        bytes
    }

    fn open(bytes: Vec<u8>) -> Result<IndexReader> {
        IndexReader::new(PathBuf::from("/blocks/x/index"), Box::new(bytes))
    }

    /// Builds an index file around arbitrary section bodies, with correct CRCs and TOC.
    fn assemble(bodies: &[Vec<u8>; NUM_SECTIONS]) -> Vec<u8> {
        let mut out = INDEX_MAGIC.to_be_bytes().to_vec();
        out.extend_from_slice(&[INDEX_VERSION, 0, 0, 0]);
        let mut toc = Vec::new();
        for body in bodies {
            toc.extend_from_slice(&(out.len() as u64).to_be_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(&crc32c::crc32c(body).to_be_bytes());
        }
        toc.extend_from_slice(&crc32c::crc32c(&toc).to_be_bytes());
        out.extend_from_slice(&toc);
        out
    }

    fn section_bodies(index: &IndexReader) -> [Vec<u8>; NUM_SECTIONS] {
        let l = &index.layout;
        [&l.symbols, &l.series, &l.series_offsets, &l.postings, &l.table].map(|r| index.bytes()[r.clone()].to_vec())
    }

    /// Runs every read operation; they may fail but must not panic.
    fn exercise(index: &IndexReader) {
        let _ = index.label_names();
        for name in ["a", "b", "zzz", ""] {
            let _ = index.label_values(name);
            let _ = index.postings(name, "1");
            let _ = index.postings_matching(name, |_| true);
        }
        let _ = index.all_postings();
        for id in 0..index.num_series().min(64) {
            let _ = index.series(id);
        }
    }

    #[test]
    fn varints_round_trip_known_values() {
        let mut buf = Vec::new();
        put_uvarint(&mut buf, 300);
        assert_eq!(buf, [0xac, 0x02]);
        assert_eq!(get_uvarint(&buf, &mut 0), Some(300));
        assert_eq!(get_uvarint(&[0x80], &mut 0), None, "truncated");
        assert_eq!(get_uvarint(&[0xff; 10], &mut 0), None, "over 64 bits");
        buf.clear();
        put_uvarint(&mut buf, u64::MAX);
        assert_eq!(get_uvarint(&buf, &mut 0), Some(u64::MAX));
        assert_eq!(
            (zigzag(0), zigzag(-1), zigzag(1), zigzag(i64::MIN)),
            (0, 1, 2, u64::MAX)
        );
    }

    #[test]
    fn reads_back_small_index() {
        let series = small_series();
        let index = open(write_to_vec(&series)).expect("open");
        assert_eq!(index.num_series(), 3);
        assert_eq!(index.num_symbols(), 6, "1 2 a b x y");
        assert_eq!(index.label_names().expect("names"), ["a", "b"]);
        assert_eq!(index.label_values("a").expect("values"), ["1", "2"]);
        assert_eq!(index.label_values("b").expect("values"), ["x", "y"]);
        assert_eq!(
            index.label_values("x").expect("values"),
            Vec::<String>::new(),
            "a value is not a name"
        );
        assert_eq!(index.postings("a", "1").expect("postings"), [0, 1]);
        assert_eq!(index.postings("b", "y").expect("postings"), [2]);
        assert_eq!(index.postings("b", "1").expect("postings"), Vec::<u32>::new());
        assert_eq!(index.postings("c", "1").expect("postings"), Vec::<u32>::new());
        assert_eq!(index.postings_matching("a", |v| v != "1").expect("matching"), [2]);
        assert_eq!(index.postings_matching("b", |_| true).expect("matching"), [1, 2]);
        assert_eq!(index.all_postings().expect("all"), [0, 1, 2]);
        for (id, expected) in series.iter().enumerate() {
            assert_eq!(&index.series(id as u32).expect("series"), expected);
        }
        assert!(matches!(index.series(3), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn every_flipped_byte_and_truncation_is_detected() {
        let bytes = write_to_vec(&small_series());
        for pos in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[pos] ^= 0x20;
            let err = open(flipped)
                .err()
                .unwrap_or_else(|| panic!("flip at {pos} not detected"));
            assert!(
                matches!(&err, Error::DataCorruption { path, .. } if path.ends_with("index")),
                "{err}"
            );
        }
        for len in 0..bytes.len() {
            assert!(open(bytes[..len].to_vec()).is_err(), "truncation to {len} not detected");
        }
    }

    #[test]
    fn rejects_valid_crcs_around_bad_tables() {
        let bytes = write_to_vec(&small_series());
        let bodies = section_bodies(&open(bytes).expect("open"));
        assert!(open(assemble(&bodies)).is_ok(), "reassembly is faithful");
        let mut unsorted = bodies.clone();
        unsorted[0] = vec![1, b'b', 1, b'a'];
        let err = open(assemble(&unsorted)).err().expect("unsorted symbols");
        assert!(err.to_string().contains("out of order"), "{err}");
        let mut bad_offsets = bodies.clone();
        bad_offsets[2][7] = 1;
        assert!(open(assemble(&bad_offsets)).is_err(), "first series offset must be 0");
        let mut bad_table = bodies.clone();
        bad_table[4][3] = 200;
        assert!(open(assemble(&bad_table)).is_err(), "name ref out of range");
        let mut bad_postings = bodies;
        bad_postings[3][0] = 9;
        let index = open(assemble(&bad_postings)).expect("postings are checked lazily");
        let err = index.all_postings().expect_err("count too large");
        assert!(err.to_string().contains("postings list at offset 0"), "{err}");
    }

    proptest! {
        #[test]
        fn varints_round_trip(value: u64, signed: i64) {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, value);
            put_uvarint(&mut buf, zigzag(signed));
            let mut pos = 0;
            prop_assert_eq!(get_uvarint(&buf, &mut pos), Some(value));
            prop_assert_eq!(get_uvarint(&buf, &mut pos).map(unzigzag), Some(signed));
            prop_assert_eq!(pos, buf.len());
        }

        #[test]
        fn mutated_sections_never_panic(pos in any::<prop::sample::Index>(), byte: u8, section in 0..NUM_SECTIONS) {
            let good = open(write_to_vec(&small_series())).expect("open");
            let mut bodies = section_bodies(&good);
            if !bodies[section].is_empty() {
                let at = pos.index(bodies[section].len());
                bodies[section][at] = byte;
            }
            if let Ok(index) = open(assemble(&bodies)) {
                exercise(&index);
            }
        }
    }
}
