//! Reading a block: its index and chunks files are memory-mapped and validated on open.

use std::fmt;
use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::index::{ChunkMeta, IndexReader};
use super::meta::BlockMeta;
use super::{CHUNKS_FILE, CHUNKS_HEADER_LEN, CHUNKS_MAGIC, CHUNKS_VERSION, INDEX_FILE, META_FILE};
use crate::encoding::get_uvarint;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::tombstones::{self, BlockTombstones, Intervals, SharedIntervals};
use parking_lot::RwLock;

/// An open, immutable block. `Send + Sync`; share it as `Arc<Block>`.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: Arc<Mmap>,
    chunks_path: PathBuf,
    size_bytes: u64,
    /// Deleted ranges by series id, from the `tombstones` file (replaced as a whole).
    tombstones: RwLock<Arc<BlockTombstones>>,
}

/// Memory-maps the file at `path`, which must be at least `min_len` bytes long.
fn map_file(path: &Path, min_len: usize) -> Result<Mmap> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len < min_len as u64 {
        return Err(Error::corrupt(path, format!("file too short: {len} bytes")));
    }
    // SAFETY: block files are immutable: they are written and fsynced before the block directory is
    // renamed into place, and nothing in this crate modifies or truncates them afterwards (retention
    // deletes whole directories, which keeps existing mappings valid on unix). The map is therefore
    // never changed under us by this process. If another process truncates or rewrites the file while
    // it is mapped, reads may see changed bytes (all of which are bounds-checked, so at worst this gives
    // corruption errors) or fault with SIGBUS; that is outside what we can guard against.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    Ok(map)
}

impl Block {
    /// Opens the block in `dir`: reads `meta.json`, maps and validates `index` and `chunks`.
    pub fn open(dir: &Path) -> Result<Block> {
        let meta = BlockMeta::read(dir)?;
        let index_path = dir.join(INDEX_FILE);
        let index_map = map_file(&index_path, 1)?;
        let index_len = index_map.len() as u64;
        let index = IndexReader::new(index_path.clone(), Box::new(index_map))?;
        if u64::from(index.num_series()) != meta.stats.num_series {
            return Err(Error::corrupt(
                &index_path,
                format!(
                    "index has {} series but meta.json says {}",
                    index.num_series(),
                    meta.stats.num_series
                ),
            ));
        }
        let chunks_path = dir.join(CHUNKS_FILE);
        let chunks = map_file(&chunks_path, CHUNKS_HEADER_LEN)?;
        let magic = u32::from_be_bytes([chunks[0], chunks[1], chunks[2], chunks[3]]);
        if magic != CHUNKS_MAGIC {
            return Err(Error::corrupt(&chunks_path, format!("bad magic {magic:#010x}")));
        }
        if chunks[4] != CHUNKS_VERSION {
            return Err(Error::corrupt(
                &chunks_path,
                format!("unsupported chunks version {}", chunks[4]),
            ));
        }
        if chunks[5..CHUNKS_HEADER_LEN] != [0, 0, 0] {
            return Err(Error::corrupt(&chunks_path, "non-zero header padding"));
        }
        let meta_len = std::fs::metadata(dir.join(META_FILE)).map(|m| m.len()).unwrap_or(0);
        let size_bytes = index_len + chunks.len() as u64 + meta_len;
        let tombstones = tombstones::read(dir)?;
        if let Some((&id, _)) = tombstones.last_key_value()
            && id >= index.num_series()
        {
            return Err(Error::corrupt(
                dir.join(tombstones::TOMBSTONES_FILE),
                format!("series id {id} is not in the block"),
            ));
        }
        tracing::debug!(dir = %dir.display(), series = index.num_series(), size_bytes, "opened block");
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks: Arc::new(chunks),
            chunks_path,
            size_bytes,
            tombstones: RwLock::new(Arc::new(tombstones)),
        })
    }

    /// The deleted ranges of series `id`, if any.
    pub(crate) fn deleted(&self, id: u32) -> Option<SharedIntervals> {
        self.tombstones.read().get(&id).cloned()
    }

    /// True when some of the block's samples are deleted.
    pub fn has_tombstones(&self) -> bool {
        !self.tombstones.read().is_empty()
    }

    /// Deletes `[mint, maxt]` of the series `ids`: merges the range into the `tombstones` file,
    /// replaced atomically before this returns. Callers serialise calls (the database's
    /// maintenance lock).
    pub(crate) fn add_tombstones(&self, ids: &[u32], mint: i64, maxt: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut next: BlockTombstones = (**self.tombstones.read()).clone();
        for &id in ids {
            let entry = next.entry(id).or_insert_with(|| Arc::new(Intervals::new()));
            Arc::make_mut(entry).add(mint, maxt);
        }
        tombstones::write(&self.dir, &next)?;
        *self.tombstones.write() = Arc::new(next);
        Ok(())
    }

    /// The block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Total size of the block's files in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Logs an error that can only come from a file changed after it was validated, and returns `T::default()`.
    fn or_log<T: Default>(&self, result: Result<T>) -> T {
        result.unwrap_or_else(|e| {
            tracing::error!(dir = %self.dir.display(), error = %e, "block index changed after open");
            T::default()
        })
    }

    /// All label names, sorted (read from the postings table).
    pub fn label_names(&self) -> Vec<String> {
        self.or_log(self.index.label_names())
    }

    /// The values of label `name`, sorted (empty when the block has no such label).
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.or_log(self.index.label_values(name))
    }

    /// The ids of the series with label `name="value"`, ascending (empty if there are none).
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>> {
        self.index.postings(name, value)
    }

    /// The ids of the series whose label `name` has a value accepted by `pred`, ascending and unique.
    pub fn postings_matching(&self, name: &str, pred: impl FnMut(&str) -> bool) -> Result<Vec<u32>> {
        self.index.postings_matching(name, pred)
    }

    /// The ids of all series, ascending.
    pub fn all_postings(&self) -> Result<Vec<u32>> {
        self.index.all_postings()
    }

    /// Number of series in the block; ids are `0..num_series()`.
    pub fn num_series(&self) -> u32 {
        self.index.num_series()
    }

    /// The labels and chunk metas (in the order they were written) of series `id`.
    pub fn series(&self, id: u32) -> Result<(Labels, Vec<ChunkMeta>)> {
        self.index.series(id)
    }

    /// The bytes of the chunk `meta` points to, after checking its CRC.
    pub fn chunk(&self, meta: &ChunkMeta) -> Result<ChunkBytes> {
        let data: &[u8] = &self.chunks;
        let chunk_ref = meta.chunk_ref;
        let bad = |what: &str| Error::corrupt(&self.chunks_path, format!("chunk ref {chunk_ref}: {what}"));
        let mut pos = match usize::try_from(chunk_ref) {
            Ok(pos) if pos >= CHUNKS_HEADER_LEN && pos < data.len() => pos,
            _ => return Err(bad("out of range")),
        };
        let len = get_uvarint(data, &mut pos).ok_or_else(|| bad("truncated length"))?;
        let encoding_pos = pos;
        let start = encoding_pos + 1;
        let end = usize::try_from(len).ok().and_then(|len| start.checked_add(len));
        let crc_end = end
            .and_then(|end| end.checked_add(4))
            .filter(|&crc_end| crc_end <= data.len());
        let (Some(end), Some(crc_end)) = (end, crc_end) else {
            return Err(bad(&format!("length {len} runs past the end of the file")));
        };
        let stored = data
            .get(end..crc_end)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes);
        if stored != Some(crc32c::crc32c(&data[encoding_pos..end])) {
            return Err(bad("checksum mismatch"));
        }
        Ok(ChunkBytes {
            map: Arc::clone(&self.chunks),
            start,
            end,
            encoding: data[encoding_pos],
        })
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("dir", &self.dir)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// A chunk's bytes inside the chunks file's memory map, which it keeps alive.
#[derive(Clone)]
pub struct ChunkBytes {
    map: Arc<Mmap>,
    start: usize,
    end: usize,
    encoding: u8,
}

impl ChunkBytes {
    /// The chunk's encoding byte.
    pub fn encoding(&self) -> u8 {
        self.encoding
    }
}

impl Deref for ChunkBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }
}

impl fmt::Debug for ChunkBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkBytes")
            .field("encoding", &self.encoding)
            .field("len", &(self.end - self.start))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockWriter, ChunkInput, TMP_SUFFIX, list_blocks, remove_temporary};
    use proptest::prelude::*;

    /// Deterministic chunk payload for chunk `j` of series `i`.
    fn payload(i: usize, j: usize) -> Vec<u8> {
        (0..(i * 7 + j * 13) % 50)
            .map(|k| (i * 31 + j * 17 + k) as u8)
            .collect()
    }

    /// 300 series over 4 label names, sorted, each with `1 + i % 4` chunks of 1000 ms.
    fn test_series() -> Vec<Labels> {
        let mut all: Vec<Labels> = (0..300)
            .map(|i| {
                let (name, instance, job, id) = (
                    format!("metric_{}", i % 5),
                    format!("host-{}", i % 30),
                    format!("job{}", i % 3),
                    i.to_string(),
                );
                Labels::new([
                    ("__name__", name.as_str()),
                    ("instance", &instance),
                    ("job", &job),
                    ("id", &id),
                ])
                .expect("labels")
            })
            .collect();
        all.sort();
        all
    }

    fn write_block(parent: &Path, series: &[Labels]) -> PathBuf {
        let mut writer = BlockWriter::create(parent, 0, 10_000, 1, vec![]).expect("create");
        for (i, labels) in series.iter().enumerate() {
            let payloads: Vec<Vec<u8>> = (0..1 + i % 4).map(|j| payload(i, j)).collect();
            let chunks: Vec<ChunkInput<'_>> = payloads
                .iter()
                .enumerate()
                .map(|(j, data)| ChunkInput {
                    min_time: j as i64 * 1000,
                    max_time: j as i64 * 1000 + 999,
                    num_samples: 120,
                    encoding: (j % 3) as u8,
                    data,
                })
                .collect();
            writer.add_series(labels, &chunks).expect("add series");
        }
        writer.finish().expect("finish").1
    }

    fn flip_byte(path: &Path, pos: usize) {
        let mut bytes = std::fs::read(path).expect("read");
        bytes[pos] ^= 0x01;
        std::fs::write(path, bytes).expect("write");
    }

    #[test]
    fn round_trips_a_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let series = test_series();
        let path = write_block(dir.path(), &series);
        let block = Block::open(&path).expect("open");
        assert_eq!(block.dir(), path);
        assert_eq!(block.meta().stats.num_series, 300);
        assert_eq!(block.meta().stats.num_chunks, 750);
        assert_eq!(block.meta().stats.num_samples, 750 * 120);
        let index_len = std::fs::metadata(path.join(INDEX_FILE)).expect("stat").len();
        let chunks_len = std::fs::metadata(path.join(CHUNKS_FILE)).expect("stat").len();
        let meta_len = std::fs::metadata(path.join(META_FILE)).expect("stat").len();
        assert_eq!(block.size_bytes(), index_len + chunks_len + meta_len);
        eprintln!(
            "index: {index_len} bytes for 300 series = {} bytes/series",
            index_len / 300
        );

        assert_eq!(block.label_names(), ["__name__", "id", "instance", "job"]);
        assert_eq!(block.label_values("job"), ["job0", "job1", "job2"]);
        assert_eq!(block.label_values("instance").len(), 30);
        assert_eq!(block.label_values("id").len(), 300);
        assert_eq!(block.label_values("nope"), Vec::<String>::new());
        assert_eq!(block.all_postings().expect("all"), (0..300).collect::<Vec<u32>>());
        for (name, value) in [
            ("job", "job1"),
            ("instance", "host-7"),
            ("__name__", "metric_3"),
            ("id", "42"),
        ] {
            let expected: Vec<u32> = (0..300)
                .filter(|&i| series[i as usize].get(name) == Some(value))
                .collect();
            assert!(!expected.is_empty());
            assert_eq!(
                block.postings(name, value).expect("postings"),
                expected,
                "{name}={value}"
            );
        }
        assert_eq!(block.postings("job", "job9").expect("postings"), Vec::<u32>::new());
        let expected: Vec<u32> = (0..300)
            .filter(|&i| matches!(series[i as usize].get("job"), Some("job0" | "job2")))
            .collect();
        assert_eq!(
            block.postings_matching("job", |v| v != "job1").expect("matching"),
            expected
        );
        assert_eq!(
            block.postings_matching("job", |_| false).expect("matching"),
            Vec::<u32>::new()
        );

        for (i, labels) in series.iter().enumerate() {
            let (read, metas) = block.series(i as u32).expect("series");
            assert_eq!(&read, labels);
            assert_eq!(metas.len(), 1 + i % 4);
            for (j, meta) in metas.iter().enumerate() {
                assert_eq!((meta.min_time, meta.max_time), (j as i64 * 1000, j as i64 * 1000 + 999));
                let chunk = block.chunk(meta).expect("chunk");
                assert_eq!(&*chunk, payload(i, j).as_slice());
                assert_eq!(chunk.encoding(), (j % 3) as u8);
            }
        }
        assert!(block.series(300).is_err());
        let shared = Arc::new(block);
        let handle = std::thread::spawn(move || shared.label_names().len());
        assert_eq!(handle.join().expect("thread"), 4);
    }

    #[test]
    fn empty_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_block(dir.path(), &[]);
        let block = Block::open(&path).expect("open");
        assert_eq!(block.meta().stats, Default::default());
        assert_eq!(block.label_names(), Vec::<String>::new());
        assert_eq!(block.all_postings().expect("all"), Vec::<u32>::new());
        assert_eq!(block.postings("a", "b").expect("postings"), Vec::<u32>::new());
        assert!(block.series(0).is_err());
    }

    #[test]
    fn flipped_index_byte_fails_open_naming_the_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_block(dir.path(), &test_series()[..20]);
        let len = std::fs::metadata(path.join(INDEX_FILE)).expect("stat").len() as usize;
        flip_byte(&path.join(INDEX_FILE), len / 2);
        let err = Block::open(&path).expect_err("corrupt index");
        assert!(
            matches!(&err, Error::DataCorruption { path: p, .. } if p.ends_with(INDEX_FILE)),
            "{err}"
        );
    }

    #[test]
    fn flipped_chunk_byte_fails_only_that_chunk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_block(dir.path(), &test_series()[..20]);
        let block = Block::open(&path).expect("open");
        let (_, metas) = block.series(3).expect("series");
        let victim = metas[0];
        drop(block);
        flip_byte(&path.join(CHUNKS_FILE), victim.chunk_ref as usize + 3);
        let block = Block::open(&path).expect("chunks are checked lazily");
        let err = block.chunk(&victim).expect_err("corrupt chunk");
        let detail = format!("chunk ref {}: checksum mismatch", victim.chunk_ref);
        assert!(
            matches!(&err, Error::DataCorruption { path: p, detail: d } if p.ends_with(CHUNKS_FILE) && *d == detail),
            "{err}"
        );
        for id in [0, 2, 4, 19] {
            for meta in block.series(id).expect("series").1 {
                block.chunk(&meta).expect("other chunks are intact");
            }
        }
        for chunk_ref in [0, 7, u64::MAX, block.chunks.len() as u64] {
            let err = block
                .chunk(&ChunkMeta {
                    min_time: 0,
                    max_time: 0,
                    chunk_ref,
                })
                .expect_err("bad ref");
            assert!(
                err.to_string()
                    .contains(&format!("chunk ref {chunk_ref}: out of range")),
                "{err}"
            );
        }
    }

    #[test]
    fn truncated_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_block(dir.path(), &test_series()[..20]);
        let chunks_path = path.join(CHUNKS_FILE);
        let chunks = std::fs::read(&chunks_path).expect("read");
        let (_, metas) = Block::open(&path).expect("open").series(19).expect("series");
        let last = *metas.last().expect("chunk");
        std::fs::write(&chunks_path, &chunks[..chunks.len() - 1]).expect("truncate");
        let block = Block::open(&path).expect("open");
        let err = block.chunk(&last).expect_err("truncated chunk");
        assert!(err.to_string().contains("runs past the end"), "{err}");
        std::fs::write(&chunks_path, &chunks[..5]).expect("truncate");
        assert!(matches!(Block::open(&path), Err(Error::DataCorruption { path: p, .. }) if p == chunks_path));
        std::fs::write(&chunks_path, &chunks).expect("restore");

        let index_path = path.join(INDEX_FILE);
        let index = std::fs::read(&index_path).expect("read");
        for len in [0, 8, index.len() / 2, index.len() - 1] {
            std::fs::write(&index_path, &index[..len]).expect("truncate");
            assert!(matches!(Block::open(&path), Err(Error::DataCorruption { path: p, .. }) if p == index_path));
        }
        std::fs::write(&index_path, &index).expect("restore");
        std::fs::remove_file(path.join(META_FILE)).expect("remove meta");
        assert!(matches!(Block::open(&path), Err(Error::Io { .. })));
    }

    #[test]
    fn leftover_temporary_directory_is_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let done = write_block(dir.path(), &test_series()[..3]);
        let mut crashed = BlockWriter::create(dir.path(), 0, 10, 1, vec![]).expect("create");
        crashed.add_series(&test_series()[0], &[]).expect("add");
        let tmp = dir.path().join(format!("{}{TMP_SUFFIX}", crashed.ulid()));
        std::mem::forget(crashed); // a crash: no Drop, the directory stays
        assert!(tmp.is_dir());
        assert_eq!(list_blocks(dir.path()).expect("list"), [done.as_path()]);
        assert_eq!(remove_temporary(dir.path()).expect("remove"), 1);
        assert!(!tmp.exists());
        assert!(Block::open(&done).is_ok());
    }

    fn label_set() -> impl Strategy<Value = Labels> {
        proptest::collection::btree_map("[a-c_]{1,3}", "[a-z0-9ü]{1,4}", 1..4)
            .prop_map(|m| Labels::new(m.iter().map(|(n, v)| (n.as_str(), v.as_str()))).expect("labels"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn random_label_sets_round_trip(sets in proptest::collection::btree_set(label_set(), 0..40)) {
            let dir = tempfile::tempdir().expect("tempdir");
            let series: Vec<Labels> = sets.into_iter().collect();
            let block = Block::open(&write_block(dir.path(), &series)).expect("open");
            let mut names: Vec<String> = series.iter().flat_map(|l| l.iter().map(|l| l.name.to_string())).collect();
            names.sort();
            names.dedup();
            prop_assert_eq!(block.label_names(), names.clone());
            for name in &names {
                let mut values: Vec<String> = series.iter().filter_map(|l| l.get(name).map(String::from)).collect();
                values.sort();
                values.dedup();
                prop_assert_eq!(block.label_values(name), values.clone());
                for value in &values {
                    let expected: Vec<u32> =
                        (0..series.len() as u32).filter(|&i| series[i as usize].get(name) == Some(value.as_str())).collect();
                    prop_assert_eq!(block.postings(name, value).expect("postings"), expected);
                }
            }
            for (i, labels) in series.iter().enumerate() {
                let (read, metas) = block.series(i as u32).expect("series");
                prop_assert_eq!(&read, labels);
                for (j, meta) in metas.iter().enumerate() {
                    let chunk = block.chunk(meta).expect("chunk");
                    prop_assert_eq!(&*chunk, &payload(i, j)[..]);
                }
            }
        }
    }
}
