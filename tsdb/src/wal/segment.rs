//! Segment files: naming and listing, the frame reader, the appender that writes and rotates segments,
//! and the repair of a corrupt tail on open.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use super::record::{self, HEADER_SIZE, MAX_RECORD_SIZE, Record, SampleRecord, SeriesRecord, TombstoneRecord};
use crate::error::{Error, Result};

/// Prefix of checkpoint directory names (`checkpoint.NNNNNNNN`).
pub(super) const CHECKPOINT_PREFIX: &str = "checkpoint.";
/// Suffix of entries being written (deleted on open).
pub(super) const TMP_SUFFIX: &str = ".tmp";
const READ_BUFFER_SIZE: usize = 1 << 20;
/// Largest index an 8-digit name can hold.
const MAX_SEGMENT_INDEX: u32 = 99_999_999;

/// The file name of segment `index`: 8 decimal digits.
pub(super) fn segment_name(index: u32) -> String {
    format!("{index:08}")
}

/// Parses an 8-digit segment name.
pub(super) fn parse_index(name: &str) -> Option<u32> {
    if name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}

/// What a WAL (or checkpoint) directory holds.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Segments `(index, size)`, sorted by index.
    pub segments: Vec<(u32, u64)>,
    /// Checkpoint indexes, sorted.
    pub checkpoints: Vec<u32>,
    /// Leftover temporary entries.
    pub tmp: Vec<PathBuf>,
}

/// Lists the segments, checkpoints and temporary entries of `dir`; other entries are ignored.
pub(super) fn list_dir(dir: &Path) -> Result<Listing> {
    let mut listing = Listing::default();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.ends_with(TMP_SUFFIX) {
            listing.tmp.push(entry.path());
        } else if let Some(index) = parse_index(&name) {
            let size = entry.metadata().map_err(|e| Error::io(entry.path(), e))?.len();
            listing.segments.push((index, size));
        } else if let Some(index) = name.strip_prefix(CHECKPOINT_PREFIX).and_then(parse_index) {
            listing.checkpoints.push(index);
        } else {
            tracing::debug!(file = %entry.path().display(), "ignoring unknown file in wal directory");
        }
    }
    listing.segments.sort_unstable();
    listing.checkpoints.sort_unstable();
    Ok(listing)
}

/// Fsyncs a directory so that created, renamed and deleted entries are durable.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Deletes a file, logging the deletion.
pub(super) fn remove_file(path: &Path, why: &str) -> Result<()> {
    tracing::info!(file = %path.display(), reason = why, "removing wal file");
    fs::remove_file(path).map_err(|e| Error::io(path, e))
}

/// Where and why a segment stops being readable.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Corruption {
    /// Byte offset of the first bad frame.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Streams the intact records of the segment at `path` to `on_record`, reusing `buf` for payloads.
/// Returns the file length and, when the segment does not end cleanly, where the first bad frame starts.
pub(super) fn read_segment(
    path: &Path,
    buf: &mut Vec<u8>,
    on_record: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<(u64, Option<Corruption>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let capacity = usize::try_from(file_len)
        .unwrap_or(READ_BUFFER_SIZE)
        .clamp(HEADER_SIZE, READ_BUFFER_SIZE);
    let mut reader = BufReader::with_capacity(capacity, file);
    let mut offset = 0u64;
    let corrupt = |offset: u64, reason: String| Ok((file_len, Some(Corruption { offset, reason })));
    while offset < file_len {
        let remaining = file_len - offset;
        if remaining < HEADER_SIZE as u64 {
            return corrupt(offset, format!("torn record header ({remaining} bytes)"));
        }
        let mut header = [0u8; HEADER_SIZE];
        read_exact(&mut reader, &mut header, path)?;
        let (len, crc) = record::parse_header(&header);
        let len = len as usize;
        if len == 0 || len > MAX_RECORD_SIZE {
            return corrupt(offset, format!("invalid record length {len}"));
        }
        if len as u64 > remaining - HEADER_SIZE as u64 {
            return corrupt(
                offset,
                format!("torn record (length {len}, {} bytes left)", remaining - 8),
            );
        }
        buf.clear();
        buf.resize(len, 0);
        read_exact(&mut reader, buf, path)?;
        if crc32c::crc32c(buf) != crc {
            return corrupt(offset, "checksum mismatch".to_string());
        }
        match record::decode(buf) {
            Ok(rec) => on_record(rec)?,
            Err(reason) => return corrupt(offset, format!("undecodable record: {reason}")),
        }
        offset += (HEADER_SIZE + len) as u64;
    }
    Ok((file_len, None))
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<()> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        // The file shrank under us: report it as corruption rather than as an I/O failure.
        ErrorKind::UnexpectedEof => Error::corrupt(path, "segment shorter than its length"),
        _ => Error::io(path, e),
    })
}

/// Replays segments in order and repairs the first corruption: the segment is truncated at the bad
/// frame and every later segment deleted. Returns the bytes cut and the number of segments read (the
/// segments that remain).
pub(super) fn replay_segments(
    dir: &Path,
    segments: &[(u32, u64)],
    buf: &mut Vec<u8>,
    on_record: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<(u64, u32)> {
    let mut read = 0;
    for (i, &(index, _)) in segments.iter().enumerate() {
        let path = dir.join(segment_name(index));
        let (file_len, corruption) = read_segment(&path, buf, on_record)?;
        read += 1;
        let Some(Corruption { offset, reason }) = corruption else {
            continue;
        };
        let later: Vec<PathBuf> = segments[i + 1..]
            .iter()
            .map(|&(idx, _)| dir.join(segment_name(idx)))
            .collect();
        let later_bytes: u64 = segments[i + 1..].iter().map(|&(_, size)| size).sum();
        tracing::warn!(
            file = %path.display(),
            offset,
            reason = %reason,
            truncated_bytes = file_len - offset,
            deleted_segments = ?later,
            deleted_bytes = later_bytes,
            "corrupt wal segment: truncating it and deleting later segments"
        );
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.set_len(offset)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        for later_path in &later {
            fs::remove_file(later_path).map_err(|e| Error::io(later_path, e))?;
        }
        sync_dir(dir)?;
        return Ok((file_len - offset + later_bytes, read));
    }
    Ok((0, read))
}

/// One open segment file, written with `O_APPEND` straight from the caller's buffer.
struct SegmentFile {
    file: File,
    path: PathBuf,
    index: u32,
    size: u64,
}

impl SegmentFile {
    fn create(dir: &Path, index: u32) -> Result<Self> {
        if index > MAX_SEGMENT_INDEX {
            return Err(Error::InvalidArgument(format!(
                "wal segment index overflow in {}",
                dir.display()
            )));
        }
        let path = dir.join(segment_name(index));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(SegmentFile {
            file,
            path,
            index,
            size: 0,
        })
    }
}

/// Writes framed records into numbered segments of a directory, rotating at `segment_size`.
///
/// A batch is encoded into a reused buffer by the `push_*` methods and handed to the kernel by
/// [`Appender::commit`]. Failed writes are rolled back; a failed rollback or fsync poisons the appender.
pub(super) struct Appender {
    dir: PathBuf,
    segment: SegmentFile,
    segment_size: u64,
    sync_on_rotate: bool,
    buf: Vec<u8>,
    /// Bytes in closed segments of this directory (maintained by the owner after deletions).
    pub closed_bytes: u64,
    poisoned: Option<String>,
}

impl Appender {
    /// Creates segment `index` in `dir` (it must not exist) and fsyncs `dir` when `sync_on_rotate`.
    pub fn create(dir: &Path, index: u32, segment_size: u64, sync_on_rotate: bool) -> Result<Self> {
        let segment = SegmentFile::create(dir, index)?;
        if sync_on_rotate {
            sync_dir(dir)?;
        }
        let buf = Vec::new();
        Ok(Appender {
            dir: dir.to_path_buf(),
            segment,
            segment_size,
            sync_on_rotate,
            buf,
            closed_bytes: 0,
            poisoned: None,
        })
    }

    /// Index of the segment being written.
    pub fn index(&self) -> u32 {
        self.segment.index
    }

    /// Bytes written to the current segment.
    pub fn segment_bytes(&self) -> u64 {
        self.segment.size
    }

    /// Starts a batch: fails if poisoned, drops anything left from a failed batch.
    pub fn begin(&mut self) -> Result<()> {
        self.check_poisoned()?;
        self.buf.clear();
        Ok(())
    }

    fn check_poisoned(&self) -> Result<()> {
        match &self.poisoned {
            Some(why) => Err(Error::io(
                &self.segment.path,
                std::io::Error::other(format!("wal is unusable: {why}")),
            )),
            None => Ok(()),
        }
    }

    /// Encodes `series` into the batch as one or more records.
    pub fn push_series(&mut self, mut series: &[SeriesRecord]) -> Result<()> {
        while !series.is_empty() {
            let start = record::begin_frame(&mut self.buf);
            let n = record::encode_series(&mut self.buf, series);
            self.place_frame(start)?;
            series = &series[n..];
        }
        Ok(())
    }

    /// Encodes `samples` into the batch as one or more records.
    pub fn push_samples(&mut self, mut samples: &[SampleRecord]) -> Result<()> {
        while !samples.is_empty() {
            let start = record::begin_frame(&mut self.buf);
            let n = record::encode_samples(&mut self.buf, samples);
            self.place_frame(start)?;
            samples = &samples[n..];
        }
        Ok(())
    }

    /// Encodes `tombstones` into the batch as one or more records.
    pub fn push_tombstones(&mut self, mut tombstones: &[TombstoneRecord]) -> Result<()> {
        while !tombstones.is_empty() {
            let start = record::begin_frame(&mut self.buf);
            let n = record::encode_tombstones(&mut self.buf, tombstones);
            self.place_frame(start)?;
            tombstones = &tombstones[n..];
        }
        Ok(())
    }

    /// Finishes the frame begun at `start`; if it would overflow the current segment, writes what
    /// precedes it and rotates first, so that it opens the next segment.
    fn place_frame(&mut self, start: usize) -> Result<()> {
        record::finish_frame(&mut self.buf, start).map_err(|len| {
            Error::InvalidArgument(format!(
                "wal record of {len} bytes exceeds the maximum of {MAX_RECORD_SIZE}"
            ))
        })?;
        let before = self.segment.size + start as u64;
        if before > 0 && self.segment.size + self.buf.len() as u64 > self.segment_size {
            self.write(start)?;
            self.rotate()?;
            self.buf.copy_within(start.., 0);
            self.buf.truncate(self.buf.len() - start);
        }
        Ok(())
    }

    /// Writes the first `len` bytes of the buffer to the current segment, rolling back on failure.
    fn write(&mut self, len: usize) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let seg = &mut self.segment;
        if let Err(e) = seg.file.write_all(&self.buf[..len]) {
            if let Err(rollback) = seg.file.set_len(seg.size) {
                self.poisoned = Some(format!(
                    "rollback of a failed write to {} failed: {rollback}",
                    seg.path.display()
                ));
            }
            return Err(Error::io(&seg.path, e));
        }
        seg.size += len as u64;
        Ok(())
    }

    /// Hands the batch to the kernel, then fsyncs it when `sync`.
    pub fn commit(&mut self, sync: bool) -> Result<()> {
        self.write(self.buf.len())?;
        self.buf.clear();
        if sync { self.sync() } else { Ok(()) }
    }

    /// Fsyncs the current segment; a failure poisons the appender.
    pub fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if let Err(e) = self.segment.file.sync_data() {
            self.poisoned = Some(format!("fsync of {} failed: {e}", self.segment.path.display()));
            return Err(Error::io(&self.segment.path, e));
        }
        Ok(())
    }

    /// A second handle on the current segment, to fsync it without holding the WAL's owner lock.
    pub fn sync_target(&self) -> Result<(File, PathBuf)> {
        self.check_poisoned()?;
        let file = self
            .segment
            .file
            .try_clone()
            .map_err(|e| Error::io(&self.segment.path, e))?;
        Ok((file, self.segment.path.clone()))
    }

    /// Records that an fsync through [`Appender::sync_target`] failed: every later call fails.
    pub fn poison(&mut self, why: String) {
        self.poisoned.get_or_insert(why);
    }

    /// Closes the current segment (fsyncing it when `sync_on_rotate`) and starts the next one.
    pub fn rotate(&mut self) -> Result<()> {
        if self.sync_on_rotate {
            self.sync()?;
        }
        let segment = SegmentFile::create(&self.dir, self.segment.index.saturating_add(1))?;
        if self.sync_on_rotate {
            sync_dir(&self.dir)?;
        }
        tracing::debug!(file = %segment.path.display(), "wal segment rotated");
        self.closed_bytes += self.segment.size;
        self.segment = segment;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(range: std::ops::Range<u64>) -> Vec<SampleRecord> {
        range
            .map(|i| SampleRecord {
                series_ref: i,
                t: i as i64 * 10,
                v: i as f64,
            })
            .collect()
    }

    fn read_all(dir: &Path) -> (Vec<Record>, Vec<(u32, Option<Corruption>)>) {
        let mut records = Vec::new();
        let mut results = Vec::new();
        let listing = list_dir(dir).expect("list");
        for (index, _) in listing.segments {
            let mut push = |r: Record| {
                records.push(r);
                Ok(())
            };
            let (_, c) = read_segment(&dir.join(segment_name(index)), &mut Vec::new(), &mut push).expect("read");
            results.push((index, c));
        }
        (records, results)
    }

    #[test]
    fn names_are_eight_digits() {
        assert_eq!(segment_name(42), "00000042");
        assert_eq!(parse_index("00000042"), Some(42));
        assert_eq!(parse_index("0000042"), None);
        assert_eq!(parse_index("0000004a"), None);
        assert_eq!(parse_index("+0000042"), None);
    }

    #[test]
    fn appender_rotates_at_segment_size_on_record_boundaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = Appender::create(dir.path(), 1, 100, true).expect("create");
        for i in 0..10 {
            app.begin().expect("begin");
            app.push_samples(&samples(i * 3..i * 3 + 3)).expect("push");
            app.commit(false).expect("commit");
        }
        let listing = list_dir(dir.path()).expect("list");
        assert!(listing.segments.len() > 3, "{listing:?}");
        assert!(listing.segments.iter().all(|&(_, size)| size <= 100));
        assert_eq!(
            app.closed_bytes + app.segment_bytes(),
            listing.segments.iter().map(|s| s.1).sum::<u64>()
        );
        let (records, results) = read_all(dir.path());
        assert!(results.iter().all(|(_, c)| c.is_none()));
        let all: Vec<SampleRecord> = records
            .into_iter()
            .flat_map(|r| if let Record::Samples(s) = r { s } else { Vec::new() })
            .collect();
        assert_eq!(all, samples(0..30));
    }

    #[test]
    fn a_record_larger_than_the_segment_size_gets_its_own_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = Appender::create(dir.path(), 7, 50, false).expect("create");
        app.begin().expect("begin");
        app.push_samples(&samples(0..1)).expect("push");
        app.push_samples(&samples(1..20)).expect("push");
        app.push_samples(&samples(20..21)).expect("push");
        app.commit(true).expect("commit");
        let sizes: Vec<(u32, u64)> = list_dir(dir.path()).expect("list").segments;
        assert_eq!(sizes.iter().map(|s| s.0).collect::<Vec<_>>(), vec![7, 8, 9]);
        assert!(sizes[1].1 > 50);
    }

    #[test]
    fn reader_reports_torn_and_corrupt_frames() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(segment_name(1));
        let mut bytes = Vec::new();
        record::encode_framed(&mut bytes, &Record::Samples(samples(0..2)));
        let first_len = bytes.len() as u64;
        record::encode_framed(&mut bytes, &Record::Samples(samples(2..4)));
        let check = |content: &[u8]| {
            fs::write(&path, content).expect("write");
            let mut n = 0;
            let (_, c) = read_segment(&path, &mut Vec::new(), &mut |_| {
                n += 1;
                Ok(())
            })
            .expect("read");
            (n, c.map(|c| (c.offset, c.reason)))
        };
        assert_eq!(check(&bytes), (2, None));
        assert_eq!(
            check(&bytes[..bytes.len() - 1]),
            (1, Some((first_len, "torn record (length 23, 22 bytes left)".into())))
        );
        assert_eq!(
            check(&bytes[..first_len as usize + 3]),
            (1, Some((first_len, "torn record header (3 bytes)".into())))
        );
        let mut flipped = bytes.clone();
        flipped[first_len as usize + 12] ^= 0x40;
        assert_eq!(check(&flipped), (1, Some((first_len, "checksum mismatch".into()))));
        let mut huge = bytes.clone();
        huge[first_len as usize..first_len as usize + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            check(&huge),
            (1, Some((first_len, format!("invalid record length {}", u32::MAX))))
        );
        let mut zero = bytes[..first_len as usize].to_vec();
        zero.extend_from_slice(&[0; 64]);
        assert_eq!(check(&zero), (1, Some((first_len, "invalid record length 0".into()))));
    }

    #[test]
    fn lengths_beyond_the_file_do_not_allocate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(segment_name(1));
        let mut bytes = ((MAX_RECORD_SIZE - 1) as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 12]);
        fs::write(&path, &bytes).expect("write");
        let mut buf = Vec::new();
        let (_, c) = read_segment(&path, &mut buf, &mut |_| Ok(())).expect("read");
        assert_eq!(c.map(|c| c.offset), Some(0));
        assert!(buf.capacity() < 1024, "allocated {}", buf.capacity());
    }

    #[test]
    fn repair_truncates_and_deletes_later_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = Appender::create(dir.path(), 1, 60, false).expect("create");
        for i in 0..6 {
            app.begin().expect("begin");
            app.push_samples(&samples(i * 2..i * 2 + 2)).expect("push");
            app.commit(false).expect("commit");
        }
        let segments = list_dir(dir.path()).expect("list").segments;
        assert_eq!(segments.len(), 6);
        let second = dir.path().join(segment_name(2));
        let mut bytes = fs::read(&second).expect("read");
        bytes[HEADER_SIZE + 2] ^= 1;
        fs::write(&second, &bytes).expect("write");
        let mut n = 0;
        let (cut, read) = replay_segments(dir.path(), &segments, &mut Vec::new(), &mut |_| {
            n += 1;
            Ok(())
        })
        .expect("replay");
        assert_eq!((n, read), (1, 2));
        assert_eq!(cut, segments[1..].iter().map(|s| s.1).sum::<u64>());
        let after = list_dir(dir.path()).expect("list").segments;
        assert_eq!(after, vec![(1, segments[0].1), (2, 0)]);
    }

    mod wal_repair {
        use super::super::super::Wal;
        use super::super::super::tests::{open_all, sample, segment_files, small, with_warnings};
        use super::*;

        /// Logs three sample records into one segment and closes the WAL; returns the segment path and
        /// the offsets where records 2 and 3 start.
        fn three_records(dir: &Path) -> (PathBuf, u64, u64) {
            let (mut wal, _, _) = open_all(dir, small(1 << 20));
            wal.log_samples(&[sample(1, 1)]).expect("log");
            let second = wal.size_bytes();
            wal.log_samples(&[sample(1, 2), sample(2, 2)]).expect("log");
            let third = wal.size_bytes();
            wal.log_samples(&[sample(1, 3)]).expect("log");
            wal.close().expect("close");
            (dir.join(segment_name(1)), second, third)
        }

        fn all_samples(records: &[Record]) -> Vec<SampleRecord> {
            records
                .iter()
                .flat_map(|r| {
                    if let Record::Samples(s) = r {
                        s.clone()
                    } else {
                        Vec::new()
                    }
                })
                .collect()
        }

        #[test]
        fn torn_tail_is_truncated_and_appends_after_reopen_are_readable() {
            let dir = tempfile::tempdir().expect("tempdir");
            let (path, _, third) = three_records(dir.path());
            let len = fs::metadata(&path).expect("stat").len();
            OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("open")
                .set_len(len - 5)
                .expect("truncate");

            let ((mut wal, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(1 << 20)));
            assert_eq!(all_samples(&records), vec![sample(1, 1), sample(1, 2), sample(2, 2)]);
            assert_eq!(stats.truncated_bytes, len - 5 - third);
            assert_eq!(fs::metadata(&path).expect("stat").len(), third);
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].contains("00000001") && warnings[0].contains(&format!("offset={third}")),
                "{warnings:?}"
            );
            wal.log_samples(&[sample(3, 4)]).expect("log");
            wal.close().expect("close");

            let ((_, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(1 << 20)));
            assert_eq!(
                all_samples(&records),
                vec![sample(1, 1), sample(1, 2), sample(2, 2), sample(3, 4)]
            );
            assert_eq!(stats.truncated_bytes, 0);
            assert!(warnings.is_empty(), "{warnings:?}");
        }

        #[test]
        fn flipped_byte_in_the_middle_record_drops_it_and_the_rest() {
            let dir = tempfile::tempdir().expect("tempdir");
            let (path, second, third) = three_records(dir.path());
            let mut bytes = fs::read(&path).expect("read");
            bytes[second as usize + HEADER_SIZE + 4] ^= 0x10;
            fs::write(&path, &bytes).expect("write");
            let ((_, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(1 << 20)));
            assert_eq!(all_samples(&records), vec![sample(1, 1)]);
            assert_eq!(stats.truncated_bytes, bytes.len() as u64 - second);
            assert_eq!(fs::metadata(&path).expect("stat").len(), second);
            assert!(warnings[0].contains("checksum mismatch"), "{warnings:?}");
            assert!(third > second);
        }

        #[test]
        fn corruption_in_an_older_segment_deletes_later_segments() {
            let dir = tempfile::tempdir().expect("tempdir");
            let (mut wal, _, _) = open_all(dir.path(), small(40));
            for t in 0..8 {
                wal.log_samples(&[sample(1, t), sample(2, t)]).expect("log");
            }
            wal.close().expect("close");
            let before = segment_files(dir.path());
            assert_eq!(before.len(), 8, "{before:?}");
            let third = dir.path().join(segment_name(3));
            let mut bytes = fs::read(&third).expect("read");
            bytes[2] = 0xff; // length far beyond the file
            fs::write(&third, &bytes).expect("write");

            let ((mut wal, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(40)));
            assert_eq!(
                all_samples(&records),
                vec![sample(1, 0), sample(2, 0), sample(1, 1), sample(2, 1)]
            );
            assert_eq!(stats.segments, 3);
            assert_eq!(
                segment_files(dir.path()),
                vec!["00000001", "00000002", "00000003", "00000004"]
            );
            assert_eq!(fs::metadata(&third).expect("stat").len(), 0);
            assert!(
                warnings[0].contains("00000008") && warnings[0].contains("offset=0"),
                "{warnings:?}"
            );
            wal.log_samples(&[sample(9, 9)]).expect("log");
            wal.close().expect("close");
            let (_, records, _) = open_all(dir.path(), small(40));
            assert_eq!(all_samples(&records).last(), Some(&sample(9, 9)));
        }

        #[test]
        fn garbage_segment_opens_empty() {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut garbage = u32::MAX.to_le_bytes().to_vec();
            garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
            fs::write(dir.path().join(segment_name(1)), &garbage).expect("write");
            fs::write(dir.path().join("notes.txt"), b"unrelated").expect("write");
            let ((wal, records, stats), warnings) = with_warnings(|| open_all(dir.path(), small(1 << 20)));
            assert!(records.is_empty());
            assert_eq!(stats.truncated_bytes, garbage.len() as u64);
            assert_eq!(warnings.len(), 1);
            assert_eq!(segment_files(dir.path()), vec!["00000001", "00000002", "notes.txt"]);
            let _: Wal = wal;
        }
    }
}
