//! Full head chunks written out of the heap into `chunks_head/` files and read back on demand.
//!
//! A head series keeps only its open chunk in memory; when a chunk is full it is appended to the
//! current file and the series keeps a 12-byte reference. Reads go through the OS page cache
//! (`pread`), so the process's resident memory holds what queries touch, not every chunk of the
//! last hours. The files are a cache, not a source of truth: the WAL rebuilds the head, so they
//! are neither fsynced nor kept across restarts.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Where a full head chunk lives on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskChunkRef {
    pub file: u32,
    pub offset: u32,
    pub len: u32,
}

struct ChunkFile {
    file: Arc<File>,
    len: u64,
    max_time: i64,
}

struct Inner {
    files: BTreeMap<u32, ChunkFile>,
    next_id: u32,
}

/// The `chunks_head/` directory.
pub(crate) struct HeadChunkFiles {
    dir: PathBuf,
    file_size: u64,
    inner: Mutex<Inner>,
}

impl HeadChunkFiles {
    /// Opens `dir`, removing the files of a previous run (the WAL replay rebuilds them).
    pub fn open(dir: &Path, file_size: u64) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let file_size = file_size.clamp(1 << 16, u64::from(u32::MAX));
        Ok(HeadChunkFiles {
            dir: dir.to_path_buf(),
            file_size,
            inner: Mutex::new(Inner {
                files: BTreeMap::new(),
                next_id: 1,
            }),
        })
    }

    fn path(&self, id: u32) -> PathBuf {
        self.dir.join(format!("{id:08}"))
    }

    /// Appends a chunk whose newest sample is at `max_time`.
    pub fn write(&self, data: &[u8], max_time: i64) -> Result<DiskChunkRef> {
        let len = u32::try_from(data.len()).map_err(|_| Error::InvalidArgument("chunk too large".into()))?;
        let mut inner = self.inner.lock();
        let needs_new = match inner.files.last_key_value() {
            None => true,
            Some((_, current)) => current.len + u64::from(len) > self.file_size,
        };
        if needs_new {
            let id = inner.next_id;
            let path = self.path(id);
            let file = File::options()
                .create_new(true)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            inner.next_id += 1;
            inner.files.insert(
                id,
                ChunkFile {
                    file: Arc::new(file),
                    len: 0,
                    max_time: i64::MIN,
                },
            );
        }
        let (&id, current) = inner.files.last_key_value().ok_or(Error::Closed)?;
        let offset = current.len;
        current
            .file
            .write_all_at(data, offset)
            .map_err(|e| Error::io(self.path(id), e))?;
        let current = inner.files.get_mut(&id).ok_or(Error::Closed)?;
        current.len += u64::from(len);
        current.max_time = current.max_time.max(max_time);
        let offset = u32::try_from(offset).map_err(|_| Error::InvalidArgument("chunk file offset".into()))?;
        Ok(DiskChunkRef { file: id, offset, len })
    }

    /// Reads a chunk back.
    pub fn read(&self, chunk: DiskChunkRef) -> Result<Arc<[u8]>> {
        let file = {
            let inner = self.inner.lock();
            inner.files.get(&chunk.file).map(|f| f.file.clone())
        };
        let path = || self.path(chunk.file);
        let file = file.ok_or_else(|| Error::corrupt(path(), format!("head chunk file {} is gone", chunk.file)))?;
        let mut buffer = vec![0u8; chunk.len as usize];
        file.read_exact_at(&mut buffer, u64::from(chunk.offset))
            .map_err(|e| Error::io(path(), e))?;
        Ok(Arc::from(buffer))
    }

    /// Deletes every file, except the one being written, whose chunks all end before `min_time`.
    pub fn truncate_before(&self, min_time: i64) -> Result<usize> {
        let mut inner = self.inner.lock();
        let current = inner.files.last_key_value().map(|(&id, _)| id);
        let doomed: Vec<u32> = inner
            .files
            .iter()
            .filter(|(id, f)| Some(**id) != current && f.max_time < min_time)
            .map(|(id, _)| *id)
            .collect();
        for id in &doomed {
            inner.files.remove(id);
            let path = self.path(*id);
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
        Ok(doomed.len())
    }

    /// Bytes in the files.
    pub fn size_bytes(&self) -> u64 {
        self.inner.lock().files.values().map(|f| f.len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_rotate_truncate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = HeadChunkFiles::open(&dir.path().join("chunks_head"), 1 << 16).expect("open");
        let big = vec![7u8; 40_000];
        let a = files.write(&big, 100).expect("write");
        let b = files.write(b"small", 200).expect("write");
        let c = files.write(&big, 300).expect("write, rotates");
        assert_eq!((a.file, b.file, c.file), (1, 1, 2));
        assert_eq!(&files.read(b).expect("read")[..], b"small");
        assert_eq!(files.read(c).expect("read").len(), 40_000);
        assert_eq!(files.truncate_before(250).expect("truncate"), 1);
        assert!(files.read(a).is_err(), "deleted file");
        assert_eq!(
            files.truncate_before(1000).expect("truncate"),
            0,
            "the current file stays"
        );
        assert_eq!(files.size_bytes(), 40_000);
    }

    #[test]
    fn reopening_starts_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chunks_head");
        let files = HeadChunkFiles::open(&path, 1 << 16).expect("open");
        files.write(b"data", 1).expect("write");
        drop(files);
        let files = HeadChunkFiles::open(&path, 1 << 16).expect("reopen");
        assert_eq!(files.size_bytes(), 0);
        assert_eq!(std::fs::read_dir(&path).expect("dir").count(), 0);
    }
}
