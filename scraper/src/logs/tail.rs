//! Following one container log file: complete lines from an offset, rotation and truncation
//! detection, the head fingerprint, and reading gzip'd rotated files.
//!
//! A [`FileTailer`] holds an open handle on one file and hands out only complete (`\n`-terminated)
//! lines, each with the byte offset it starts at. Its [`FileTailer::position`] is the offset just
//! after the last line returned, together with the file's identity (device, inode) and an xxh3 hash
//! of its first bytes (up to [`FINGERPRINT_MAX`]); a restarted collector hands that position back to
//! [`FileTailer::open`] and resumes exactly there, neither losing nor repeating a line.
//!
//! Rotation (Docker renames `<id>-json.log` to `.1`, the kubelet renames `<n>.log` to
//! `<n>.log.<timestamp>`) is seen by [`FileTailer::check`] as [`FileState::Rotated`]: the caller keeps
//! reading the old handle with [`FileTailer::drain`] until it returns no line, then opens the path
//! again. A copytruncate (length below our offset, or different first bytes) is
//! [`FileState::Truncated`] and restarts at 0.
//!
//! Rotated files compressed with gzip (`*.gz`) are read with [`GzTailer`], whose offsets count bytes
//! of the decompressed stream; [`fingerprint_of`] hashes the decompressed head, so a stored position
//! whose file was renamed and compressed meanwhile is found again by fingerprint.
//!
//! All I/O is synchronous `std::fs`; the collector runs it on a blocking thread.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use ::logs::FilePosition;
use flate2::read::MultiGzDecoder;
use xxhash_rust::xxh3::xxh3_64;

use crate::Result;
use crate::error::Error;

/// How many leading bytes of a file the fingerprint covers at most.
pub const FINGERPRINT_MAX: u32 = 1024;

/// Tuning of a [`FileTailer`] or [`GzTailer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailConfig {
    /// Longest line handed out in one piece, in bytes (without the `\n`). A longer line is split into
    /// pieces of exactly this size (the last piece holds the rest), so memory stays bounded.
    pub max_line_bytes: usize,
    /// Capacity of the read buffer, in bytes.
    pub buffer_bytes: usize,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            max_line_bytes: 1024 * 1024,
            buffer_bytes: 64 * 1024,
        }
    }
}

/// What [`FileTailer::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// Nothing new to read.
    Unchanged,
    /// The file holds bytes past what was read: call [`FileTailer::read_lines`].
    Grown,
    /// The file was truncated (its length fell below the read position, or its first bytes changed):
    /// the tailer was reset to offset 0 and will read the file again from its start.
    Truncated,
    /// The path now names another file, or nothing: the tailer keeps its handle on the old file.
    /// Read the rest with [`FileTailer::drain`] until it returns 0, then open the path again.
    Rotated,
}

/// A line, or a piece of an over-long line, with the offset of its first byte.
pub type Line = (u64, Vec<u8>);

/// Device and inode of the file `path` names (symlinks followed): the identity positions are keyed by.
pub fn file_identity(path: &Path) -> Result<(u64, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| tail_error(path, format!("stat: {e}")))?;
    Ok((meta.dev(), meta.ino()))
}

/// Whether `path` is a gzip'd rotated file, by its `.gz` extension.
pub fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "gz")
}

/// Fingerprint of the first `len` bytes (at most [`FINGERPRINT_MAX`]) of a file, decompressed first
/// when the file [`is_gz`]. Returns the xxh3 hash and how many bytes it covers: fewer than asked when
/// the file (or stream) is shorter.
///
/// A stored [`FilePosition`] matches a candidate file when
/// `fingerprint_of(candidate, pos.fingerprint_len)? == (pos.fingerprint, pos.fingerprint_len)`;
/// see [`fingerprint_matches`].
pub fn fingerprint_of(path: &Path, len: u32) -> Result<(u64, u32)> {
    let want = len.min(FINGERPRINT_MAX) as usize;
    let file = File::open(path).map_err(|e| tail_error(path, format!("open: {e}")))?;
    let head = if is_gz(path) {
        read_head(MultiGzDecoder::new(file), want)
    } else {
        read_head(file, want)
    }
    .map_err(|e| tail_error(path, format!("read head: {e}")))?;
    Ok((xxh3_64(&head), head.len() as u32))
}

/// Whether the file at `path` (plain or `.gz`) starts with the bytes `pos` fingerprinted. The inode is
/// not compared: this finds a file again after it was renamed and compressed.
pub fn fingerprint_matches(path: &Path, pos: &FilePosition) -> Result<bool> {
    if pos.fingerprint_len > FINGERPRINT_MAX {
        return Ok(false);
    }
    Ok(fingerprint_of(path, pos.fingerprint_len)? == (pos.fingerprint, pos.fingerprint_len))
}

/// Follows one plain (uncompressed) log file.
#[derive(Debug)]
pub struct FileTailer {
    path: PathBuf,
    reader: BufReader<File>,
    dev: u64,
    inode: u64,
    lines: LineSplitter,
    fingerprint: u64,
    fingerprint_len: u32,
    rotated: bool,
}

impl FileTailer {
    /// Opens `path` with the default [`TailConfig`]; see [`FileTailer::open_with`].
    pub fn open(path: &Path, resume: Option<&FilePosition>) -> Result<FileTailer> {
        FileTailer::open_with(path, resume, TailConfig::default())
    }

    /// Opens `path` and positions it. With `resume` naming the same device and inode, whose
    /// fingerprint still matches the file's first `fingerprint_len` bytes and whose offset is within
    /// the file, reading starts at `resume.offset`; otherwise (a new, replaced or truncated file) at 0,
    /// and the reason is logged.
    pub fn open_with(path: &Path, resume: Option<&FilePosition>, config: TailConfig) -> Result<FileTailer> {
        let file = File::open(path).map_err(|e| tail_error(path, format!("open: {e}")))?;
        let meta = file.metadata().map_err(|e| tail_error(path, format!("stat: {e}")))?;
        let (dev, inode, len) = (meta.dev(), meta.ino(), meta.len());
        let start = match resume {
            None => 0,
            Some(pos) => match resume_offset(&file, dev, inode, len, pos) {
                Ok(offset) => offset,
                Err(why) => {
                    tracing::info!(path = %path.display(), stored_offset = pos.offset, reason = why,
                        "log file does not match its stored position, reading from the start");
                    0
                }
            },
        };
        let mut tailer = FileTailer {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(config.buffer_bytes.max(1), file),
            dev,
            inode,
            lines: LineSplitter::new(start, config.max_line_bytes),
            fingerprint: xxh3_64(&[]),
            fingerprint_len: 0,
            rotated: false,
        };
        tailer
            .reader
            .seek(SeekFrom::Start(start))
            .map_err(|e| tail_error(path, format!("seek: {e}")))?;
        tailer.refresh_fingerprint(len.min(u64::from(FINGERPRINT_MAX)) as u32)?;
        tracing::debug!(path = %path.display(), dev, inode, offset = start, "tailing log file");
        Ok(tailer)
    }

    /// The path this tailer was opened with (after a rotation it may name another file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends up to about `max_bytes` worth of complete lines to `out`, each without its `\n` and
    /// with the offset of its first byte, and returns how many it appended. A trailing line without
    /// `\n` stays unread until its end arrives (see [`FileTailer::drain`] for a file that will not
    /// grow again). A line longer than [`TailConfig::max_line_bytes`] comes out in pieces.
    pub fn read_lines(&mut self, max_bytes: usize, out: &mut Vec<Line>) -> Result<usize> {
        let n = self
            .lines
            .read(&mut self.reader, max_bytes, false, out)
            .map_err(|e| self.io_error("read", e))?;
        self.grow_fingerprint()?;
        Ok(n)
    }

    /// Like [`FileTailer::read_lines`], but for a file that will not grow any more (rotated away or
    /// deleted): at end of file an unterminated last line is returned too. Returns 0 once the file is
    /// exhausted.
    pub fn drain(&mut self, max_bytes: usize, out: &mut Vec<Line>) -> Result<usize> {
        let n = self
            .lines
            .read(&mut self.reader, max_bytes, true, out)
            .map_err(|e| self.io_error("read", e))?;
        self.grow_fingerprint()?;
        Ok(n)
    }

    /// The position just after the last line returned: where a restarted collector resumes.
    pub fn position(&self) -> FilePosition {
        FilePosition {
            path: self.path.to_string_lossy().into_owned(),
            dev: self.dev,
            inode: self.inode,
            fingerprint: self.fingerprint,
            fingerprint_len: self.fingerprint_len,
            offset: self.lines.offset,
        }
    }

    /// Looks at the path and the open file: whether the path was rotated away, the file was
    /// truncated (then the tailer restarts at 0), grew, or is unchanged. Once rotated, stays rotated.
    pub fn check(&mut self) -> Result<FileState> {
        if self.rotated {
            return Ok(FileState::Rotated);
        }
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.dev() == self.dev && meta.ino() == self.inode => {}
            Ok(meta) => {
                tracing::debug!(path = %self.path.display(), old_inode = self.inode, new_inode = meta.ino(),
                    "log file rotated");
                self.rotated = true;
                return Ok(FileState::Rotated);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %self.path.display(), inode = self.inode, "log file removed");
                self.rotated = true;
                return Ok(FileState::Rotated);
            }
            Err(e) => return Err(self.io_error("stat", e)),
        }
        let len = self
            .reader
            .get_ref()
            .metadata()
            .map_err(|e| self.io_error("stat", e))?
            .len();
        let consumed = self.lines.consumed();
        // Truncated: shorter than what we read or fingerprinted, or the first bytes were rewritten
        // (a copytruncate followed by new writes past our offset before this check).
        let truncated = len < consumed
            || len < u64::from(self.fingerprint_len)
            || (self.fingerprint_len > 0 && xxh3_64(&self.head(self.fingerprint_len)?) != self.fingerprint);
        if truncated {
            tracing::info!(path = %self.path.display(), len, offset = self.lines.offset,
                "log file truncated, reading from the start");
            self.reader
                .seek(SeekFrom::Start(0))
                .map_err(|e| self.io_error("seek", e))?;
            self.lines.reset(0);
            self.fingerprint_len = 0;
            self.fingerprint = xxh3_64(&[]);
            self.refresh_fingerprint(len.min(u64::from(FINGERPRINT_MAX)) as u32)?;
            return Ok(FileState::Truncated);
        }
        Ok(if len > consumed {
            FileState::Grown
        } else {
            FileState::Unchanged
        })
    }

    /// Recomputes the fingerprint while it covers fewer than [`FINGERPRINT_MAX`] bytes and more bytes
    /// have been read; after that it never changes.
    fn grow_fingerprint(&mut self) -> Result<()> {
        if self.fingerprint_len >= FINGERPRINT_MAX {
            return Ok(());
        }
        let known = self.lines.consumed().min(u64::from(FINGERPRINT_MAX)) as u32;
        if known > self.fingerprint_len {
            self.refresh_fingerprint(known)
        } else {
            Ok(())
        }
    }

    /// Sets the fingerprint to the hash of the first `len` bytes (fewer if the file is shorter).
    fn refresh_fingerprint(&mut self, len: u32) -> Result<()> {
        let head = self.head(len)?;
        self.fingerprint = xxh3_64(&head);
        self.fingerprint_len = head.len() as u32;
        Ok(())
    }

    /// The file's first `len` bytes (at most [`FINGERPRINT_MAX`]) as they are now.
    fn head(&self, len: u32) -> Result<Vec<u8>> {
        let mut head = vec![0u8; len.min(FINGERPRINT_MAX) as usize];
        let got = read_at_full(self.reader.get_ref(), &mut head).map_err(|e| self.io_error("read head", e))?;
        head.truncate(got);
        Ok(head)
    }

    fn io_error(&self, op: &str, e: io::Error) -> Error {
        tail_error(&self.path, format!("{op}: {e}"))
    }
}

/// Checks a stored position against the opened file; the offset to start at, or why not.
fn resume_offset(file: &File, dev: u64, inode: u64, len: u64, pos: &FilePosition) -> Result<u64, &'static str> {
    if pos.dev != dev || pos.inode != inode {
        return Err("another file (device or inode differ)");
    }
    if pos.fingerprint_len > FINGERPRINT_MAX {
        return Err("stored fingerprint length out of range");
    }
    if len < pos.offset {
        return Err("file shorter than the stored offset (truncated)");
    }
    let mut head = vec![0u8; pos.fingerprint_len as usize];
    let got = read_at_full(file, &mut head).map_err(|_| "cannot read the file's first bytes")?;
    if got != head.len() || xxh3_64(&head) != pos.fingerprint {
        return Err("first bytes differ (file replaced)");
    }
    Ok(pos.offset)
}

/// Reads a gzip'd rotated log file, with offsets counted in the decompressed stream.
///
/// The file is final: at the end of the stream an unterminated last line is returned too.
#[derive(Debug)]
pub struct GzTailer {
    path: PathBuf,
    reader: BufReader<MultiGzDecoder<File>>,
    dev: u64,
    inode: u64,
    lines: LineSplitter,
    fingerprint: u64,
    fingerprint_len: u32,
}

impl GzTailer {
    /// Opens the gzip file `path` and skips the first `skip_until_offset` decompressed bytes (the
    /// offset of a stored position whose fingerprint matched, see [`fingerprint_matches`]). A stream
    /// shorter than that is read to its end, yielding no line.
    pub fn open(path: &Path, skip_until_offset: u64, config: TailConfig) -> Result<GzTailer> {
        let (fingerprint, fingerprint_len) = fingerprint_of(path, FINGERPRINT_MAX)?;
        let file = File::open(path).map_err(|e| tail_error(path, format!("open: {e}")))?;
        let meta = file.metadata().map_err(|e| tail_error(path, format!("stat: {e}")))?;
        let mut reader = BufReader::with_capacity(config.buffer_bytes.max(1), MultiGzDecoder::new(file));
        let skipped = io::copy(&mut (&mut reader).take(skip_until_offset), &mut io::sink())
            .map_err(|e| tail_error(path, format!("decompress: {e}")))?;
        if skipped < skip_until_offset {
            tracing::warn!(path = %path.display(), skip_until_offset, stream_len = skipped,
                "gzip log file shorter than the stored offset");
        }
        Ok(GzTailer {
            path: path.to_path_buf(),
            reader,
            dev: meta.dev(),
            inode: meta.ino(),
            lines: LineSplitter::new(skipped, config.max_line_bytes),
            fingerprint,
            fingerprint_len,
        })
    }

    /// The path of the gzip file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends up to about `max_bytes` worth of lines to `out` (offsets in the decompressed stream;
    /// the unterminated last line of the stream included) and returns how many. Returns 0 at the end.
    /// A damaged or incomplete stream (a file still being compressed) is an error.
    pub fn read_lines(&mut self, max_bytes: usize, out: &mut Vec<Line>) -> Result<usize> {
        self.lines
            .read(&mut self.reader, max_bytes, true, out)
            .map_err(|e| tail_error(&self.path, format!("decompress: {e}")))
    }

    /// The position after the last line returned: the gzip file's own device and inode, the
    /// fingerprint of its decompressed head, and the decompressed offset.
    pub fn position(&self) -> FilePosition {
        FilePosition {
            path: self.path.to_string_lossy().into_owned(),
            dev: self.dev,
            inode: self.inode,
            fingerprint: self.fingerprint,
            fingerprint_len: self.fingerprint_len,
            offset: self.lines.offset,
        }
    }
}

/// Cuts a byte stream into lines, keeping the partial last line between calls.
#[derive(Debug)]
struct LineSplitter {
    /// Offset just after the last line (or piece) handed out.
    offset: u64,
    /// Bytes after `offset` already taken from the reader, not yet ending in `\n`.
    pending: Vec<u8>,
    /// Longest line handed out in one piece.
    cap: usize,
}

impl LineSplitter {
    fn new(offset: u64, cap: usize) -> LineSplitter {
        LineSplitter {
            offset,
            pending: Vec::new(),
            cap: cap.max(1),
        }
    }

    fn reset(&mut self, offset: u64) {
        self.offset = offset;
        self.pending.clear();
    }

    /// Bytes taken from the reader so far: the offset plus the pending partial line.
    fn consumed(&self) -> u64 {
        self.offset + self.pending.len() as u64
    }

    fn emit(&mut self, out: &mut Vec<Line>, terminated: bool) {
        let line = std::mem::take(&mut self.pending);
        let len = line.len() as u64 + u64::from(terminated);
        out.push((self.offset, line));
        self.offset += len;
    }

    /// Reads up to about `max_bytes` from `reader`; with `final_at_eof`, an unterminated last line is
    /// handed out at end of stream.
    fn read<R: BufRead>(
        &mut self,
        reader: &mut R,
        max_bytes: usize,
        final_at_eof: bool,
        out: &mut Vec<Line>,
    ) -> io::Result<usize> {
        let before = out.len();
        let mut taken = 0usize;
        while taken < max_bytes {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if final_at_eof && !self.pending.is_empty() {
                    self.emit(out, false);
                }
                break;
            }
            if self.pending.len() >= self.cap {
                // A full piece: one line if the next byte ends it, else a piece of a longer line.
                if buf[0] == b'\n' {
                    reader.consume(1);
                    taken += 1;
                    self.emit(out, true);
                } else {
                    self.emit(out, false);
                }
                continue;
            }
            let room = self.cap - self.pending.len();
            match memchr::memchr(b'\n', buf) {
                Some(i) if i <= room => {
                    if self.pending.is_empty() {
                        // The common case, a whole line in the buffer: one allocation of its size.
                        self.pending = buf[..i].to_vec();
                    } else {
                        self.pending.extend_from_slice(&buf[..i]);
                    }
                    reader.consume(i + 1);
                    taken += i + 1;
                    self.emit(out, true);
                }
                _ => {
                    let n = room.min(buf.len());
                    self.pending.extend_from_slice(&buf[..n]);
                    reader.consume(n);
                    taken += n;
                }
            }
        }
        Ok(out.len() - before)
    }
}

/// Reads up to `buf.len()` bytes from the start of `file` without moving its cursor; returns how many.
fn read_at_full(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads up to `want` bytes from the start of a stream.
fn read_head<R: Read>(reader: R, want: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(want);
    reader.take(want as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn tail_error(path: &Path, reason: String) -> Error {
    Error::Tail {
        path: path.display().to_string(),
        reason,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    fn open_rw(path: &Path) -> File {
        std::fs::OpenOptions::new().write(true).open(path).unwrap()
    }

    fn read_all(t: &mut FileTailer) -> Vec<Line> {
        let mut out = Vec::new();
        while t.read_lines(1 << 20, &mut out).unwrap() > 0 {}
        out
    }

    fn line(offset: u64, text: &str) -> Line {
        (offset, text.as_bytes().to_vec())
    }

    fn lines(want: &[(u64, &str)]) -> Vec<Line> {
        want.iter().map(|&(o, l)| line(o, l)).collect()
    }

    fn tailer(path: &Path, max_line_bytes: usize, buffer_bytes: usize) -> FileTailer {
        FileTailer::open_with(
            path,
            None,
            TailConfig {
                max_line_bytes,
                buffer_bytes,
            },
        )
        .unwrap()
    }

    #[test]
    fn partial_last_line_waits_for_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        append(&path, b"one\ntwo\nthr");
        let mut t = FileTailer::open(&path, None).unwrap();
        let mut out = Vec::new();
        assert_eq!(t.read_lines(4, &mut out).unwrap(), 1, "bounded by max_bytes");
        assert_eq!((t.position().offset, out), (4, lines(&[(0, "one")])));
        assert_eq!(read_all(&mut t), lines(&[(4, "two")]));
        assert_eq!(t.position().offset, 8);
        assert_eq!(t.check().unwrap(), FileState::Unchanged);
        append(&path, b"ee\nfo");
        assert_eq!(t.check().unwrap(), FileState::Grown);
        assert_eq!(read_all(&mut t), lines(&[(8, "three")]));
        assert_eq!(t.position().offset, 14);
        append(&path, b"ur\n");
        assert_eq!(read_all(&mut t), lines(&[(14, "four")]));
        assert_eq!(t.position().offset, 19);
        assert_eq!(t.path(), path.as_path());
    }

    #[test]
    fn resume_at_stored_offset_repeats_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        append(&path, b"first\nsecond\n");
        let mut t = FileTailer::open(&path, None).unwrap();
        assert_eq!(read_all(&mut t).len(), 2);
        let pos = t.position();
        assert_eq!((pos.offset, pos.fingerprint_len), (13, 13));
        drop(t);
        append(&path, b"third\n");
        let mut t = FileTailer::open(&path, Some(&pos)).unwrap();
        assert_eq!(read_all(&mut t), lines(&[(13, "third")]));
        assert_eq!(t.position().key(), pos.key());
    }

    #[test]
    fn resume_against_replaced_file_starts_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        append(&path, b"hello\nworld\n");
        let mut t = FileTailer::open(&path, None).unwrap();
        read_all(&mut t);
        let pos = t.position();
        drop(t);

        // Same inode, first bytes rewritten (length still past the offset).
        open_rw(&path).write_all(b"HELLO\n").unwrap();
        let mut t = FileTailer::open(&path, Some(&pos)).unwrap();
        assert_eq!(read_all(&mut t), lines(&[(0, "HELLO"), (6, "world")]));

        // A new file (new inode, the old one still exists elsewhere) with the same first bytes.
        std::fs::rename(&path, dir.path().join("x.log.1")).unwrap();
        append(&path, b"hello\nworld\nagain\n");
        let t = FileTailer::open(&path, Some(&pos)).unwrap();
        assert_ne!(t.position().inode, pos.inode);
        assert_eq!(t.position().offset, 0);
        // Shorter than the stored offset.
        let mut short = pos.clone();
        short.inode = t.position().inode;
        short.offset = 1000;
        assert_eq!(FileTailer::open(&path, Some(&short)).unwrap().position().offset, 0);
        // An impossible fingerprint length.
        let mut bad = t.position();
        bad.fingerprint_len = 5000;
        bad.offset = 6;
        assert_eq!(FileTailer::open(&path, Some(&bad)).unwrap().position().offset, 0);
        // A missing file is an error naming it.
        let missing = dir.path().join("nope.log");
        let err = FileTailer::open(&missing, None).unwrap_err();
        assert!(
            matches!(&err, Error::Tail { path: p, reason } if p.ends_with("nope.log") && reason.starts_with("open:"))
        );
        assert!(matches!(fingerprint_of(&missing, 10), Err(Error::Tail { .. })));
    }

    #[test]
    fn copytruncate_is_detected_and_restarts_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        append(&path, b"line one\nline two\n");
        let mut t = FileTailer::open(&path, None).unwrap();
        assert_eq!(read_all(&mut t).len(), 2);
        open_rw(&path).set_len(0).unwrap();
        append(&path, b"new\n");
        assert_eq!(t.check().unwrap(), FileState::Truncated);
        assert_eq!(t.position().offset, 0);
        assert_eq!(read_all(&mut t), lines(&[(0, "new")]));
        assert_eq!(t.position().fingerprint, xxh3_64(b"new\n"));
        // Truncated and rewritten past our offset before the check: caught by the changed head.
        open_rw(&path).set_len(0).unwrap();
        append(&path, b"bbbbbbbb\n");
        assert_eq!(t.check().unwrap(), FileState::Truncated);
        assert_eq!(read_all(&mut t), lines(&[(0, "bbbbbbbb")]));
        assert_eq!(t.check().unwrap(), FileState::Unchanged);
    }

    #[test]
    fn docker_rename_rotation_drains_old_handle_then_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("abc-json.log");
        append(&current, b"a\nb\n");
        let mut t = FileTailer::open(&current, None).unwrap();
        assert_eq!(read_all(&mut t).len(), 2);
        append(&current, b"c\nunterminated");
        std::fs::rename(&current, dir.path().join("abc-json.log.1")).unwrap();
        assert_eq!(t.check().unwrap(), FileState::Rotated);
        append(&current, b"fresh\n");
        assert_eq!(t.check().unwrap(), FileState::Rotated);
        let mut out = Vec::new();
        while t.drain(1 << 20, &mut out).unwrap() > 0 {}
        assert_eq!(out, lines(&[(4, "c"), (6, "unterminated")]));
        assert_eq!(t.position().offset, 18);
        let mut t = FileTailer::open(&current, None).unwrap();
        assert_eq!(read_all(&mut t), lines(&[(0, "fresh")]));
        // Deleted outright: also rotated, the handle still reads.
        std::fs::remove_file(&current).unwrap();
        assert_eq!(t.check().unwrap(), FileState::Rotated);
        assert_eq!(t.drain(100, &mut out).unwrap(), 0);
    }

    #[test]
    fn fingerprint_grows_to_1024_bytes_then_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fp.log");
        append(&path, b"");
        let mut t = FileTailer::open(&path, None).unwrap();
        assert_eq!(
            (t.position().fingerprint_len, t.position().fingerprint),
            (0, xxh3_64(b""))
        );
        let row = [b'x'; 99];
        let mut content = Vec::new();
        for _ in 0..15 {
            let mut l = row.to_vec();
            l.push(b'\n');
            append(&path, &l);
            content.extend_from_slice(&l);
            read_all(&mut t);
            let pos = t.position();
            let want = content.len().min(1024);
            assert_eq!(pos.fingerprint_len as usize, want);
            assert_eq!(pos.fingerprint, xxh3_64(&content[..want]));
            assert_eq!(
                fingerprint_of(&path, 4096).unwrap(),
                (xxh3_64(&content[..want]), want as u32)
            );
        }
        assert_eq!(t.position().fingerprint_len, 1024);
    }

    #[test]
    fn long_lines_are_split_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.log");
        append(&path, b"0123456789ab\n01234567\n0123\n\n");
        let mut t = tailer(&path, 4, 3);
        let got: Vec<String> = read_all(&mut t)
            .iter()
            .map(|(o, l)| format!("{o}:{}", String::from_utf8_lossy(l)))
            .collect();
        assert_eq!(got.join(" "), "0:0123 4:4567 8:89ab 13:0123 17:4567 22:0123 27:");
        assert_eq!(t.position().offset, 28);
    }

    #[test]
    fn chunked_writes_with_tiny_buffers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chunks.log");
        let mut text = Vec::new();
        let mut seed = 7u32;
        for i in 0..200 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, (seed >> 16) as usize % 40));
            text.push(b'\n');
        }
        append(&path, b"");
        let mut t = tailer(&path, 1000, 5);
        let mut out = Vec::new();
        for chunk in text.chunks(17) {
            append(&path, chunk);
            t.read_lines(23, &mut out).unwrap();
        }
        while t.read_lines(1 << 20, &mut out).unwrap() > 0 {}
        let mut rebuilt = Vec::new();
        for (offset, l) in &out {
            assert_eq!(*offset as usize, rebuilt.len());
            rebuilt.extend_from_slice(l);
            rebuilt.push(b'\n');
        }
        assert_eq!(rebuilt, text);
        assert_eq!(out.len(), 200);
    }

    fn gzip(path: &Path, bytes: &[u8]) {
        let mut enc = flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    #[test]
    fn gz_rotated_file_found_by_fingerprint_and_read_from_offset() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("id-json.log");
        append(&plain, b"alpha\nbeta\ngamma\ndelta");
        let mut t = FileTailer::open(&plain, None).unwrap();
        let mut out = Vec::new();
        t.read_lines(6, &mut out).unwrap();
        let pos = t.position();
        assert_eq!(pos.offset, 6);
        drop(t);
        let gz = dir.path().join("id-json.log.1.gz");
        gzip(&gz, &std::fs::read(&plain).unwrap());
        std::fs::remove_file(&plain).unwrap();

        assert!(is_gz(&gz));
        assert!(fingerprint_matches(&gz, &pos).unwrap());
        assert_eq!(
            fingerprint_of(&gz, pos.fingerprint_len).unwrap(),
            (pos.fingerprint, pos.fingerprint_len)
        );
        let mut g = GzTailer::open(&gz, pos.offset, TailConfig::default()).unwrap();
        let mut out = Vec::new();
        while g.read_lines(1 << 20, &mut out).unwrap() > 0 {}
        assert_eq!(out, lines(&[(6, "beta"), (11, "gamma"), (17, "delta")]));
        assert_eq!(g.position().offset, 22);
        assert_eq!(g.position().fingerprint, xxh3_64(b"alpha\nbeta\ngamma\ndelta"));
        assert_eq!(g.path(), gz.as_path());

        let other = dir.path().join("other.log.gz");
        gzip(&other, b"something else\n");
        assert!(!fingerprint_matches(&other, &pos).unwrap());
        // Skipping past the end yields nothing.
        let mut g = GzTailer::open(&other, 1000, TailConfig::default()).unwrap();
        assert_eq!(g.read_lines(100, &mut out).unwrap(), 0);
        // A damaged or incomplete stream is an error.
        let gz = dir.path().join("a.log.2.gz");
        gzip(&gz, &[b'q'; 5000]);
        let bytes = std::fs::read(&gz).unwrap();
        std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        let result = GzTailer::open(&gz, 0, TailConfig::default()).and_then(|mut g| {
            let mut out = Vec::new();
            while g.read_lines(1 << 20, &mut out)? > 0 {}
            Ok(out)
        });
        assert!(matches!(result, Err(Error::Tail { .. })), "{result:?}");
    }
}
