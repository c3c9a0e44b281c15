//! Atomic creation of a block: chunks are streamed to `<parent>/<ULID>.tmp/chunks` as series are added;
//! [`BlockWriter::finish`] writes the index and `meta.json`, fsyncs everything and renames the directory.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::index::{ChunkMeta, write_index};
use super::meta::{BlockCompaction, BlockMeta, BlockStats, META_VERSION, new_ulid, sync_dir};
use super::{CHUNKS_FILE, CHUNKS_HEADER_LEN, CHUNKS_MAGIC, CHUNKS_VERSION, INDEX_FILE, TMP_SUFFIX};
use crate::encoding::put_uvarint;
use crate::error::{Error, Result};
use crate::labels::Labels;

/// One encoded chunk handed to [`BlockWriter::add_series`].
#[derive(Debug, Clone, Copy)]
pub struct ChunkInput<'a> {
    /// Timestamp of the chunk's first sample, in milliseconds.
    pub min_time: i64,
    /// Timestamp of the chunk's last sample (inclusive), in milliseconds.
    pub max_time: i64,
    /// Number of samples in the chunk (only counted in the block's stats).
    pub num_samples: u32,
    /// The chunk codec's encoding byte, stored as is.
    pub encoding: u8,
    /// The encoded chunk, stored as is.
    pub data: &'a [u8],
}

/// Builds one block in a temporary directory and moves it into place when finished.
///
/// Dropping a writer that was not finished removes its temporary directory.
pub struct BlockWriter {
    parent: PathBuf,
    tmp_dir: PathBuf,
    ulid: String,
    min_time: i64,
    max_time: i64,
    compaction: BlockCompaction,
    chunks_path: PathBuf,
    chunks: Option<BufWriter<File>>,
    chunks_len: u64,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    stats: BlockStats,
    /// Set after a failed write: the files may be inconsistent, so the block can no longer be finished.
    failed: bool,
    /// Set once the directory was renamed into place (or removed), so `Drop` leaves it alone.
    done: bool,
}

impl BlockWriter {
    /// Starts a block covering `[min_time, max_time)` in `parent` (created if missing).
    ///
    /// `sources` are the ULIDs of the level-1 blocks merged into this one; when empty, the block lists
    /// itself, as a block cut from the head does.
    pub fn create(
        parent: &Path,
        min_time: i64,
        max_time: i64,
        level: u32,
        sources: Vec<String>,
    ) -> Result<BlockWriter> {
        if min_time >= max_time {
            return Err(Error::InvalidArgument(format!(
                "empty block time range [{min_time}, {max_time})"
            )));
        }
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let ulid = new_ulid();
        let tmp_dir = parent.join(format!("{ulid}{TMP_SUFFIX}"));
        fs::create_dir(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        let sources = if sources.is_empty() {
            vec![ulid.clone()]
        } else {
            sources
        };
        let chunks_path = tmp_dir.join(CHUNKS_FILE);
        let mut writer = BlockWriter {
            parent: parent.to_path_buf(),
            tmp_dir,
            ulid,
            min_time,
            max_time,
            compaction: BlockCompaction { level, sources },
            chunks_path,
            chunks: None,
            chunks_len: 0,
            series: Vec::new(),
            stats: BlockStats::default(),
            failed: false,
            done: false,
        };
        // On error `writer` is dropped here, which removes the temporary directory.
        let file = File::create(&writer.chunks_path).map_err(|e| Error::io(&writer.chunks_path, e))?;
        writer.chunks = Some(BufWriter::with_capacity(1 << 16, file));
        let mut header = [0u8; CHUNKS_HEADER_LEN];
        header[..4].copy_from_slice(&CHUNKS_MAGIC.to_be_bytes());
        header[4] = CHUNKS_VERSION;
        writer.write_chunks(&header)?;
        tracing::debug!(ulid = %writer.ulid, min_time, max_time, level, "creating block");
        Ok(writer)
    }

    /// The ULID naming the block being written.
    pub fn ulid(&self) -> &str {
        &self.ulid
    }

    fn write_chunks(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(out) = self.chunks.as_mut() else {
            return Err(Error::InvalidArgument("block writer already finished".into()));
        };
        if let Err(e) = out.write_all(bytes) {
            self.failed = true;
            return Err(Error::io(&self.chunks_path, e));
        }
        self.chunks_len += bytes.len() as u64;
        Ok(())
    }

    /// Adds a series with its chunks. Calls must come in strictly increasing label order; each chunk must
    /// satisfy `min_time <= max_time` and lie within the block's time range.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkInput<'_>]) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidArgument("block writer failed earlier".into()));
        }
        if labels.is_empty() {
            return Err(Error::InvalidArgument("series with no labels".into()));
        }
        if let Some((last, _)) = self.series.last()
            && labels <= last
        {
            return Err(Error::InvalidArgument(format!(
                "series {labels} added after {last}: not in label order"
            )));
        }
        if self.series.len() >= u32::MAX as usize {
            return Err(Error::InvalidArgument(
                "block cannot hold more than 2^32-1 series".into(),
            ));
        }
        for chunk in chunks {
            if chunk.min_time > chunk.max_time || chunk.min_time < self.min_time || chunk.max_time >= self.max_time {
                return Err(Error::InvalidArgument(format!(
                    "chunk [{}, {}] of series {labels} is not within block range [{}, {})",
                    chunk.min_time, chunk.max_time, self.min_time, self.max_time
                )));
            }
        }
        let mut metas = Vec::with_capacity(chunks.len());
        let mut head = Vec::with_capacity(11);
        for chunk in chunks {
            let chunk_ref = self.chunks_len;
            head.clear();
            put_uvarint(&mut head, chunk.data.len() as u64);
            head.push(chunk.encoding);
            let crc = crc32c::crc32c_append(crc32c::crc32c(&[chunk.encoding]), chunk.data);
            self.write_chunks(&head)?;
            self.write_chunks(chunk.data)?;
            self.write_chunks(&crc.to_be_bytes())?;
            metas.push(ChunkMeta {
                min_time: chunk.min_time,
                max_time: chunk.max_time,
                chunk_ref,
            });
            self.stats.num_samples += u64::from(chunk.num_samples);
        }
        self.stats.num_chunks += chunks.len() as u64;
        self.series.push((labels.clone(), metas));
        Ok(())
    }

    /// Writes the index and `meta.json`, fsyncs every file, renames the directory into place and fsyncs
    /// the parent. Returns the block's meta and final directory.
    pub fn finish(mut self) -> Result<(BlockMeta, PathBuf)> {
        if self.failed {
            return Err(Error::InvalidArgument("block writer failed earlier".into()));
        }
        let out = self
            .chunks
            .take()
            .ok_or_else(|| Error::InvalidArgument("block writer already finished".into()))?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&self.chunks_path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.chunks_path, e))?;
        drop(file);

        let index_size = write_index(&self.tmp_dir.join(INDEX_FILE), &self.series)?;
        self.stats.num_series = self.series.len() as u64;
        let meta = BlockMeta {
            version: META_VERSION,
            ulid: self.ulid.clone(),
            min_time: self.min_time,
            max_time: self.max_time,
            stats: self.stats,
            compaction: self.compaction.clone(),
        };
        meta.write(&self.tmp_dir)?;
        sync_dir(&self.tmp_dir)?;
        let final_dir = self.parent.join(&self.ulid);
        fs::rename(&self.tmp_dir, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
        self.done = true;
        sync_dir(&self.parent)?;
        tracing::info!(
            ulid = %self.ulid,
            series = meta.stats.num_series,
            chunks = meta.stats.num_chunks,
            samples = meta.stats.num_samples,
            index_bytes = index_size,
            chunks_bytes = self.chunks_len,
            "wrote block"
        );
        Ok((meta, final_dir))
    }

    /// Abandons the block and removes its temporary directory.
    pub fn abort(mut self) -> Result<()> {
        self.chunks = None;
        self.done = true;
        fs::remove_dir_all(&self.tmp_dir).map_err(|e| Error::io(&self.tmp_dir, e))
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.chunks = None;
        if let Err(e) = fs::remove_dir_all(&self.tmp_dir) {
            tracing::warn!(path = %self.tmp_dir.display(), error = %e, "cannot remove unfinished block directory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{META_FILE, list_blocks};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).expect("valid labels")
    }

    fn chunk(min_time: i64, max_time: i64, data: &[u8]) -> ChunkInput<'_> {
        ChunkInput {
            min_time,
            max_time,
            num_samples: 2,
            encoding: 1,
            data,
        }
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_chunks_file_layout_and_meta() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = BlockWriter::create(dir.path(), 0, 100, 1, vec![]).expect("create");
        let ulid = writer.ulid().to_string();
        assert_eq!(entries(dir.path()), [format!("{ulid}.tmp")]);
        writer
            .add_series(&labels(&[("a", "1")]), &[chunk(0, 10, b"xyz"), chunk(11, 99, b"")])
            .expect("add");
        let (meta, path) = writer.finish().expect("finish");
        assert_eq!(path, dir.path().join(&ulid));
        assert_eq!(entries(dir.path()), [ulid.as_str()]);
        assert_eq!(entries(&path), [CHUNKS_FILE, INDEX_FILE, META_FILE]);
        assert_eq!(list_blocks(dir.path()).expect("list"), [path.as_path()]);
        assert_eq!(
            meta.stats,
            BlockStats {
                num_series: 1,
                num_samples: 4,
                num_chunks: 2
            }
        );
        assert_eq!(
            meta.compaction,
            BlockCompaction {
                level: 1,
                sources: vec![ulid.clone()]
            }
        );
        assert_eq!(BlockMeta::read(&path).expect("read meta"), meta);

        let chunks = fs::read(path.join(CHUNKS_FILE)).expect("read chunks");
        let mut expected = vec![0x4C, 0x50, 0x43, 0x48, 1, 0, 0, 0, 3, 1, b'x', b'y', b'z'];
        expected.extend_from_slice(&crc32c::crc32c(&[1, b'x', b'y', b'z']).to_be_bytes());
        expected.extend_from_slice(&[0, 1]);
        expected.extend_from_slice(&crc32c::crc32c(&[1]).to_be_bytes());
        assert_eq!(chunks, expected);
    }

    #[test]
    fn rejects_out_of_order_series_and_stays_usable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = BlockWriter::create(dir.path(), 0, 100, 2, vec!["S1".into(), "S2".into()]).expect("create");
        writer.add_series(&labels(&[("a", "2")]), &[]).expect("add");
        for earlier in [labels(&[("a", "2")]), labels(&[("a", "1"), ("b", "1")])] {
            let err = writer
                .add_series(&earlier, &[chunk(0, 1, b"x")])
                .expect_err("out of order");
            assert!(
                matches!(&err, Error::InvalidArgument(m) if m.contains("not in label order")),
                "{err}"
            );
        }
        assert!(writer.add_series(&Labels::empty(), &[]).is_err(), "empty labels");
        writer
            .add_series(&labels(&[("a", "2"), ("b", "1")]), &[chunk(0, 1, b"x")])
            .expect("add after prefix");
        let (meta, _) = writer.finish().expect("finish");
        assert_eq!(meta.stats.num_series, 2);
        assert_eq!(meta.stats.num_chunks, 1, "rejected chunks were not written");
        assert_eq!(meta.compaction.sources, ["S1", "S2"]);
    }

    #[test]
    fn rejects_chunks_outside_the_block_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            BlockWriter::create(dir.path(), 10, 10, 1, vec![]).is_err(),
            "empty range"
        );
        let mut writer = BlockWriter::create(dir.path(), 10, 20, 1, vec![]).expect("create");
        let series = labels(&[("a", "1")]);
        for (min, max) in [(9, 12), (10, 20), (15, 14)] {
            assert!(
                writer.add_series(&series, &[chunk(min, max, b"x")]).is_err(),
                "[{min}, {max}]"
            );
        }
        writer.add_series(&series, &[chunk(10, 19, b"x")]).expect("in range");
    }

    #[test]
    fn abort_and_drop_remove_the_temporary_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = BlockWriter::create(dir.path(), 0, 100, 1, vec![]).expect("create");
        writer
            .add_series(&labels(&[("a", "1")]), &[chunk(0, 1, b"x")])
            .expect("add");
        writer.abort().expect("abort");
        assert_eq!(entries(dir.path()), Vec::<String>::new());
        let writer = BlockWriter::create(&dir.path().join("nested"), 0, 100, 1, vec![]).expect("create");
        assert_eq!(entries(&dir.path().join("nested")).len(), 1);
        drop(writer);
        assert_eq!(entries(&dir.path().join("nested")), Vec::<String>::new());
    }
}
