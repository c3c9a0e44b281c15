//! The write-ahead log of pushed lines.
//!
//! A push is acknowledged only after its record was written to the WAL (one `write` call: the
//! record survives `kill -9` in the page cache; `fsync` per append is an option for power loss).
//! Lines read from container log files are not written here: the files themselves are replayed
//! from the positions saved with each commit. The format is specified in `logs/docs/format.md`.
//!
//! Segment files are `wal/<first sequence number, 20 digits>`; a record is
//! `len: u32 LE | crc32c(body): u32 LE | body`, the body being `seq: u64 LE` then the streams.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tsdb::Labels;

use crate::error::{Error, Result};
use crate::push::{PushEntry, PushStream};
use crate::schema::{put_uvarint, read_str, read_uvarint};

/// A segment is closed and a new one started once it is larger than this.
const SEGMENT_BYTES: u64 = 64 << 20;

/// Records larger than this are corrupt (the push body limit is far below).
const MAX_RECORD_BYTES: usize = 1 << 30;

/// The open WAL: appends go to the last segment.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    file_path: PathBuf,
    file_len: u64,
    fsync: bool,
    next_seq: u64,
    buf: Vec<u8>,
}

/// One decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub struct WalRecord {
    /// Its sequence number (1, 2, …; increasing across segments).
    pub seq: u64,
    /// The streams it carried.
    pub streams: Vec<PushStream>,
}

impl Wal {
    /// Opens the WAL in `dir`, replaying every intact record with a sequence number above
    /// `after_seq` into `replay`. A torn record at the end of the last segment (a crash during a
    /// write) is cut off; corruption elsewhere stops the replay there with a warning.
    pub fn open(
        dir: &Path,
        after_seq: u64,
        fsync: bool,
        mut replay: impl FnMut(WalRecord) -> Result<()>,
    ) -> Result<Wal> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let segments = list_segments(dir)?;
        let mut last_seq = after_seq;
        let mut valid_len = 0u64;
        for (i, (_, path)) in segments.iter().enumerate() {
            let mut bytes = Vec::new();
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| Error::io(path, e))?;
            let mut pos = 0usize;
            while pos < bytes.len() {
                match decode_record(&bytes[pos..]) {
                    Ok((record, used)) => {
                        pos += used;
                        last_seq = last_seq.max(record.seq);
                        if record.seq > after_seq {
                            replay(record)?;
                        }
                    }
                    Err(reason) => {
                        tracing::warn!(path = %path.display(), offset = pos, reason, "wal replay stopped at a bad record");
                        break;
                    }
                }
            }
            if i + 1 == segments.len() {
                valid_len = pos as u64;
            }
        }
        let (file_path, file_len) = match segments.last() {
            Some((_, path)) => (path.clone(), valid_len),
            None => (segment_path(dir, last_seq + 1), 0),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file_path)
            .map_err(|e| Error::io(&file_path, e))?;
        file.set_len(file_len).map_err(|e| Error::io(&file_path, e))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            file,
            file_path,
            file_len,
            fsync,
            next_seq: last_seq + 1,
            buf: Vec::new(),
        })
    }

    /// Writes one record holding `streams`; returns its sequence number. When this returns, the
    /// record survives a crash of the process.
    pub fn append(&mut self, streams: &[PushStream]) -> Result<u64> {
        if self.file_len >= SEGMENT_BYTES {
            self.rotate()?;
        }
        let seq = self.next_seq;
        self.buf.clear();
        self.buf.extend_from_slice(&[0; 8]);
        self.buf.extend_from_slice(&seq.to_le_bytes());
        encode_streams(&mut self.buf, streams);
        let body_len = self.buf.len() - 8;
        let len = u32::try_from(body_len).map_err(|_| Error::TooLarge(format!("wal record of {body_len} bytes")))?;
        let crc = crc32c::crc32c(&self.buf[8..]);
        self.buf[0..4].copy_from_slice(&len.to_le_bytes());
        self.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.file_path, e))?;
        if self.fsync {
            self.file.sync_data().map_err(|e| Error::io(&self.file_path, e))?;
        }
        self.file_len += self.buf.len() as u64;
        self.next_seq += 1;
        Ok(seq)
    }

    /// The sequence number of the last record written (0 if none ever was).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Flushes the current segment to disk.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.file_path, e))
    }

    /// Deletes the segments whose records all have sequence numbers up to `seq` (they are in
    /// committed indexes). The segment being written is kept.
    pub fn truncate_through(&mut self, seq: u64) -> Result<()> {
        let segments = list_segments(&self.dir)?;
        for pair in segments.windows(2) {
            let (_, path) = &pair[0];
            let (next_first, _) = &pair[1];
            if *next_first <= seq + 1 && *path != self.file_path {
                fs::remove_file(path).map_err(|e| Error::io(path, e))?;
            }
        }
        Ok(())
    }

    fn rotate(&mut self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::io(&self.file_path, e))?;
        let path = segment_path(&self.dir, self.next_seq);
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        self.file_path = path;
        self.file_len = 0;
        Ok(())
    }
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}"))
}

/// The segments in `dir`, by first sequence number.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if let Some(first) = name
            .to_str()
            .filter(|n| n.len() == 20)
            .and_then(|n| n.parse::<u64>().ok())
        {
            segments.push((first, entry.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

fn encode_streams(out: &mut Vec<u8>, streams: &[PushStream]) {
    put_uvarint(out, streams.len() as u64);
    for stream in streams {
        let labels = stream.labels.as_bytes();
        put_uvarint(out, labels.len() as u64);
        out.extend_from_slice(labels);
        put_uvarint(out, stream.entries.len() as u64);
        for entry in &stream.entries {
            out.extend_from_slice(&entry.ts_ns.to_le_bytes());
            put_uvarint(out, entry.line.len() as u64);
            out.extend_from_slice(entry.line.as_bytes());
            put_uvarint(out, entry.metadata.len() as u64);
            for (name, value) in &entry.metadata {
                put_uvarint(out, name.len() as u64);
                out.extend_from_slice(name.as_bytes());
                put_uvarint(out, value.len() as u64);
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
}

/// Decodes the record at the start of `bytes`; returns it and the bytes it used.
pub fn decode_record(bytes: &[u8]) -> Result<(WalRecord, usize), &'static str> {
    let header = bytes.get(..8).ok_or("torn record header")?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD_BYTES {
        return Err("record length out of range");
    }
    let body = bytes.get(8..8 + len).ok_or("torn record body")?;
    if crc32c::crc32c(body) != crc {
        return Err("checksum mismatch");
    }
    let record = decode_body(body).ok_or("malformed record body")?;
    Ok((record, 8 + len))
}

fn decode_body(body: &[u8]) -> Option<WalRecord> {
    let (seq_bytes, mut rest) = body.split_at_checked(8)?;
    let seq = u64::from_le_bytes(seq_bytes.try_into().ok()?);
    let stream_count = read_uvarint(&mut rest)?;
    let mut streams = Vec::with_capacity(stream_count.min(1024) as usize);
    for _ in 0..stream_count {
        let len = usize::try_from(read_uvarint(&mut rest)?).ok()?;
        let (labels, tail) = rest.split_at_checked(len)?;
        rest = tail;
        let labels = Labels::from_bytes(labels)?;
        let entry_count = read_uvarint(&mut rest)?;
        let mut entries = Vec::with_capacity(entry_count.min(4096) as usize);
        for _ in 0..entry_count {
            let (ts, tail) = rest.split_at_checked(8)?;
            rest = tail;
            let ts_ns = i64::from_le_bytes(ts.try_into().ok()?);
            let line = read_str(&mut rest)?;
            let meta_count = read_uvarint(&mut rest)?;
            let mut metadata = Vec::with_capacity(meta_count.min(64) as usize);
            for _ in 0..meta_count {
                metadata.push((read_str(&mut rest)?, read_str(&mut rest)?));
            }
            entries.push(PushEntry { ts_ns, line, metadata });
        }
        streams.push(PushStream { labels, entries });
    }
    rest.is_empty().then_some(WalRecord { seq, streams })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stream(app: &str, lines: &[(i64, &str)]) -> PushStream {
        PushStream {
            labels: Labels::new([("app", app)]).unwrap_or_else(|_| Labels::empty()),
            entries: lines
                .iter()
                .map(|(ts, line)| PushEntry {
                    ts_ns: *ts,
                    line: line.to_string(),
                    metadata: vec![("trace_id".into(), "t1".into())],
                })
                .collect(),
        }
    }

    fn replay_all(dir: &Path, after: u64) -> (Vec<WalRecord>, Wal) {
        let mut records = Vec::new();
        let wal = Wal::open(dir, after, false, |r| {
            records.push(r);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("open: {e}"));
        (records, wal)
    }

    #[test]
    fn records_survive_reopen_and_replay_after_a_sequence_number() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (records, mut wal) = replay_all(dir.path(), 0);
        assert!(records.is_empty());
        assert_eq!(wal.append(&[stream("a", &[(1, "one"), (2, "two")])]).ok(), Some(1));
        assert_eq!(
            wal.append(&[stream("b", &[(3, "three")]), stream("a", &[(4, "")])])
                .ok(),
            Some(2)
        );
        drop(wal);
        let (records, mut wal) = replay_all(dir.path(), 0);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].streams[0].entries[0].line, "three");
        assert_eq!(records[0].streams[0].entries[1].metadata[0].1, "t1");
        assert_eq!(wal.append(&[stream("c", &[(5, "five")])]).ok(), Some(3));
        drop(wal);
        let (records, _) = replay_all(dir.path(), 2);
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (_, mut wal) = replay_all(dir.path(), 0);
        wal.append(&[stream("a", &[(1, "kept")])])
            .unwrap_or_else(|e| panic!("{e}"));
        wal.append(&[stream("a", &[(2, "torn")])])
            .unwrap_or_else(|e| panic!("{e}"));
        let path = wal.file_path.clone();
        drop(wal);
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(len - 3))
            .unwrap_or_else(|e| panic!("{e}"));
        let (records, mut wal) = replay_all(dir.path(), 0);
        assert_eq!(records.len(), 1);
        assert_eq!(wal.append(&[stream("a", &[(3, "after")])]).ok(), Some(2));
        drop(wal);
        let (records, _) = replay_all(dir.path(), 0);
        let lines: Vec<_> = records.iter().map(|r| r.streams[0].entries[0].line.clone()).collect();
        assert_eq!(lines, ["kept", "after"]);
    }

    #[test]
    fn truncation_deletes_only_fully_committed_segments() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (_, mut wal) = replay_all(dir.path(), 0);
        wal.append(&[stream("a", &[(1, "x")])])
            .unwrap_or_else(|e| panic!("{e}"));
        wal.rotate().unwrap_or_else(|e| panic!("{e}"));
        wal.append(&[stream("a", &[(2, "y")])])
            .unwrap_or_else(|e| panic!("{e}"));
        wal.append(&[stream("a", &[(3, "z")])])
            .unwrap_or_else(|e| panic!("{e}"));
        wal.rotate().unwrap_or_else(|e| panic!("{e}"));
        wal.truncate_through(2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list_segments(dir.path()).map(|s| s.len()).unwrap_or(0), 3 - 1);
        wal.truncate_through(3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list_segments(dir.path()).map(|s| s.len()).unwrap_or(0), 1);
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_record(&bytes);
        }

        #[test]
        fn records_round_trip(lines in proptest::collection::vec((any::<i64>(), ".{0,40}"), 1..20)) {
            let refs: Vec<(i64, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
            let streams = vec![stream("p", &refs)];
            let mut buf = vec![0; 8];
            buf.extend_from_slice(&7u64.to_le_bytes());
            encode_streams(&mut buf, &streams);
            let len = (buf.len() - 8) as u32;
            let crc = crc32c::crc32c(&buf[8..]);
            buf[0..4].copy_from_slice(&len.to_le_bytes());
            buf[4..8].copy_from_slice(&crc.to_le_bytes());
            let (record, used) = decode_record(&buf).map_err(TestCaseError::fail)?;
            prop_assert_eq!(used, buf.len());
            prop_assert_eq!(record, WalRecord { seq: 7, streams });
        }
    }
}
