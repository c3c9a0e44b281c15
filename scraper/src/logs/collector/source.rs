//! One followed log file of a container: its reader (plain or gzip), its decoder, and the position
//! that may be stored for it.
//!
//! Exactly-once hinges on the position a [`Source`] reports: the *clean* offset, the end of the last
//! raw line after which the decoder had no partial record pending and every record decoded so far
//! was handed out. Records decoded while a partial record of the other stream is still pending
//! (Docker stdout and stderr chunks interleave) are held back until the partial completes, so a
//! restart from the clean offset decodes exactly the records not yet stored: none twice, none
//! lost. Only when the held-back records outgrow a bound (a partial that never completes while the
//! other stream keeps writing) are they released early, with the position held at the partial's
//! start as the decoders require; a crash in that state repeats the released records.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ::logs::FilePosition;

use crate::Result;
use crate::logs::cri::CriDecoder;
use crate::logs::discover::SourceKind;
use crate::logs::docker::{DockerDecoder, LogRecord};
use crate::logs::tail::{FileState, FileTailer, GzTailer, Line, TailConfig};

/// How many times in a row reading a gzip file may fail before it is given up.
const MAX_GZ_FAILURES: u32 = 5;

/// Sizes that bound a source's memory.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Passed to the tailers: the longest physical line read in one piece.
    pub tail: TailConfig,
    /// The longest record the decoders build.
    pub max_line_bytes: usize,
    /// Bytes read per file per poll, and the bound on held-back records.
    pub batch_bytes: usize,
}

/// The decoder of a container's log format.
#[derive(Debug)]
enum Decoder {
    Docker(DockerDecoder),
    Cri(CriDecoder),
}

impl Decoder {
    fn new(kind: SourceKind, max_line_bytes: usize) -> Decoder {
        match kind {
            SourceKind::Docker => Decoder::Docker(DockerDecoder::new(max_line_bytes)),
            SourceKind::Cri => Decoder::Cri(CriDecoder::new(max_line_bytes)),
        }
    }

    fn push(&mut self, raw: &[u8], offset: u64) -> Result<Option<LogRecord>> {
        match self {
            Decoder::Docker(d) => d.push(raw, offset),
            Decoder::Cri(d) => d.push(raw, offset),
        }
    }

    fn pending_start(&self) -> Option<u64> {
        match self {
            Decoder::Docker(d) => d.pending_start(),
            Decoder::Cri(d) => d.pending_start(),
        }
    }

    fn flush(&mut self) -> Vec<LogRecord> {
        match self {
            Decoder::Docker(d) => d.flush(),
            Decoder::Cri(d) => d.flush(),
        }
    }
}

/// The file reader: a plain file followed (or drained), or a gzip'd rotated file.
#[derive(Debug)]
enum Reader {
    Plain(FileTailer),
    Gz {
        /// `None` after a read error: reopened at `resume_at` on the next read.
        tailer: Option<Box<GzTailer>>,
        /// Identity and fingerprint of the file (or of the plain file it was compressed from).
        base: FilePosition,
        /// The gzip file's own device and inode.
        own: (u64, u64),
        /// Decompressed offset after the last line handed out.
        resume_at: u64,
        /// Consecutive read failures.
        failures: u32,
    },
}

/// What one [`Source::read`] did.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ReadOutcome {
    /// Raw bytes read.
    pub bytes: usize,
    /// The budget was used up: more is probably waiting.
    pub full: bool,
}

/// One followed file.
#[derive(Debug)]
pub(super) struct Source {
    /// The path the file had when it was opened.
    pub path: PathBuf,
    reader: Reader,
    /// The file will not grow any more (rotated away, an older file, or its container is gone): it
    /// is read to its end, unterminated last line included, and then finished.
    pub final_: bool,
    /// Read to its end and flushed; its position can be forgotten.
    pub finished: bool,
    decoder: Decoder,
    /// Records decoded after the clean offset, waiting for the decoder's pending partial.
    held: Vec<LogRecord>,
    held_bytes: usize,
    /// Offset up to which every record has been handed out: the position to store.
    clean: u64,
    /// The offset last reported to the store (or found there), if any.
    reported: Option<u64>,
    /// A second handle on a plain file, for its size in the status.
    size_handle: Option<File>,
    /// Lines the decoder rejected.
    pub malformed: u64,
    /// The last read error.
    pub last_error: Option<String>,
    /// Tailer settings, to reopen a gzip file.
    tail: TailConfig,
}

impl Source {
    /// Opens a plain file, resuming at `resume` when it still matches (see [`FileTailer::open_with`]).
    pub fn open_plain(
        path: &Path,
        resume: Option<&FilePosition>,
        final_: bool,
        kind: SourceKind,
        limits: &Limits,
    ) -> Result<Source> {
        let tailer = FileTailer::open_with(path, resume, limits.tail)?;
        let start = tailer.position();
        // A new file reports its position at once, even before anything is read: the store then
        // knows the container's files from the same commit that forgets a drained rotated one, so
        // a restart after this file was rotated away too still reads it (it matches) rather than
        // taking it for history. A resumed file reports when a stale stored position is replaced.
        let reported = match resume {
            None => None,
            Some(p) => (p.key() == start.key() && p.offset == start.offset).then_some(p.offset),
        };
        let size_handle = File::open(path).ok().filter(|f| {
            f.metadata()
                .is_ok_and(|m| m.dev() == start.dev && m.ino() == start.inode)
        });
        Ok(Source::new(
            path,
            Reader::Plain(tailer),
            final_,
            kind,
            limits,
            start.offset,
            reported,
            size_handle,
        ))
    }

    /// Opens a gzip'd rotated file from `resume`'s offset (or 0). Positions are reported under
    /// `resume`'s identity and fingerprint (the plain file it was compressed from), else the gzip
    /// file's own.
    pub fn open_gz(path: &Path, resume: Option<&FilePosition>, kind: SourceKind, limits: &Limits) -> Result<Source> {
        let tailer = GzTailer::open(path, resume.map_or(0, |p| p.offset), limits.tail)?;
        let own = tailer.position();
        let mut base = resume.cloned().unwrap_or_else(|| own.clone());
        base.path = own.path.clone();
        let reported = match resume {
            None => Some(own.offset),
            Some(p) => (p.offset == own.offset).then_some(p.offset),
        };
        let reader = Reader::Gz {
            tailer: Some(Box::new(tailer)),
            base,
            own: (own.dev, own.inode),
            resume_at: own.offset,
            failures: 0,
        };
        Ok(Source::new(
            path, reader, true, kind, limits, own.offset, reported, None,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        path: &Path,
        reader: Reader,
        final_: bool,
        kind: SourceKind,
        limits: &Limits,
        start: u64,
        reported: Option<u64>,
        size_handle: Option<File>,
    ) -> Source {
        Source {
            path: path.to_path_buf(),
            reader,
            final_,
            finished: false,
            decoder: Decoder::new(kind, limits.max_line_bytes),
            held: Vec::new(),
            held_bytes: 0,
            clean: start,
            reported,
            size_handle,
            malformed: 0,
            last_error: None,
            tail: limits.tail,
        }
    }

    /// Device and inode of the file: for a plain file, a match against another file's identity.
    pub fn identity(&self) -> (u64, u64) {
        let p = self.raw_position();
        (p.dev, p.inode)
    }

    /// Whether this is a plain file (not a gzip file).
    pub fn is_plain(&self) -> bool {
        matches!(self.reader, Reader::Plain(_))
    }

    /// A gzip file reporting under the identity of the plain file it was compressed from switches to
    /// its own identity: that plain file's inode was reused by a file followed now, whose positions
    /// take the key over. A restart then finds the gzip file under its own key.
    pub fn take_own_identity(&mut self) {
        if let Reader::Gz { base, own, .. } = &mut self.reader
            && (base.dev, base.inode) != *own
        {
            tracing::debug!(path = %self.path.display(), old_key = %base.key(),
                "inode of a compressed log file's original reused, reporting under the gzip file's own");
            (base.dev, base.inode) = *own;
            self.reported = None;
        }
    }

    /// The key the position is stored under.
    pub fn key(&self) -> String {
        self.raw_position().key()
    }

    /// The reader's position: identity, fingerprint, and the offset read so far.
    fn raw_position(&self) -> FilePosition {
        match &self.reader {
            Reader::Plain(t) => t.position(),
            Reader::Gz {
                tailer,
                base,
                resume_at,
                ..
            } => {
                let mut p = base.clone();
                p.offset = tailer.as_ref().map_or(*resume_at, |t| t.position().offset);
                p
            }
        }
    }

    /// Bytes of the file read so far.
    pub fn read_offset(&self) -> u64 {
        self.raw_position().offset
    }

    /// The file's current size, for a plain file whose second handle could be opened.
    pub fn size(&self) -> Option<u64> {
        self.size_handle
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.len())
    }

    /// The position to store, when it moved since last reported.
    pub fn take_position(&mut self) -> Option<FilePosition> {
        if self.reported == Some(self.clean) {
            return None;
        }
        let mut p = self.raw_position();
        p.offset = self.clean;
        self.reported = Some(self.clean);
        Some(p)
    }

    /// Reads about `limits.batch_bytes` (at least one line) and decodes it; records that may be
    /// stored go to `out`. A followed file is checked first: rotated, it becomes final and is drained;
    /// truncated, it restarts at 0. A final file that is exhausted is flushed and finished. On a read
    /// error the lines read before it are still decoded.
    pub fn read(&mut self, limits: &Limits, out: &mut Vec<LogRecord>) -> Result<ReadOutcome> {
        let mut outcome = ReadOutcome::default();
        if self.finished {
            return Ok(outcome);
        }
        if let Reader::Plain(tailer) = &mut self.reader
            && !self.final_
        {
            match tailer.check()? {
                FileState::Rotated => self.final_ = true,
                FileState::Truncated => {
                    // The pending partials' text was read before the truncation: hand it out as is.
                    out.append(&mut self.held);
                    out.extend(self.decoder.flush());
                    self.held_bytes = 0;
                    self.clean = 0;
                    self.reported = None;
                }
                FileState::Unchanged | FileState::Grown => {}
            }
        }
        let budget = limits.batch_bytes.max(1);
        let mut lines: Vec<Line> = Vec::new();
        while outcome.bytes < budget {
            lines.clear();
            let mut result = self.read_lines(budget - outcome.bytes, &mut lines);
            if matches!(result, Ok(0)) && self.final_ {
                // Nothing came out of the budget: make sure it was the end, not a long partial line.
                result = self.read_lines(limits.tail.max_line_bytes.saturating_add(1), &mut lines);
            }
            let end = self.raw_position().offset;
            for (i, (offset, raw)) in lines.iter().enumerate() {
                outcome.bytes += raw.len() + 1;
                match self.decoder.push(raw, *offset) {
                    Ok(Some(record)) => {
                        self.held_bytes += record.line.len();
                        self.held.push(record);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        self.malformed += 1;
                        tracing::warn!(path = %self.path.display(), offset, error = %e,
                            "skipping malformed container log line");
                    }
                }
                let next = lines.get(i + 1).map_or(end, |l| l.0);
                self.settle(next, limits.batch_bytes.max(limits.max_line_bytes), out);
            }
            match result {
                Err(e) => {
                    self.read_failed(&e, out);
                    return Err(e);
                }
                Ok(0) => {
                    if self.final_ {
                        self.finish(out);
                    }
                    break;
                }
                Ok(_) => {}
            }
        }
        if let Reader::Gz { failures, .. } = &mut self.reader {
            *failures = 0;
        }
        outcome.full = outcome.bytes >= budget;
        Ok(outcome)
    }

    /// Hands out the held records once no partial is pending, moving the clean offset to `next`.
    fn settle(&mut self, next: u64, held_limit: usize, out: &mut Vec<LogRecord>) {
        match self.decoder.pending_start() {
            None => {
                out.append(&mut self.held);
                self.held_bytes = 0;
                self.clean = next;
            }
            Some(start) if self.held_bytes > held_limit => {
                tracing::debug!(path = %self.path.display(), pending_start = start,
                    "partial line pending too long, releasing the records after it");
                out.append(&mut self.held);
                self.held_bytes = 0;
                self.clean = self.clean.max(start);
            }
            Some(_) => {}
        }
    }

    /// Reads lines from whichever reader, reopening a gzip file after an earlier failure.
    fn read_lines(&mut self, max_bytes: usize, lines: &mut Vec<Line>) -> Result<usize> {
        let final_ = self.final_;
        match &mut self.reader {
            Reader::Plain(t) if final_ => t.drain(max_bytes, lines),
            Reader::Plain(t) => t.read_lines(max_bytes, lines),
            Reader::Gz { tailer, resume_at, .. } => {
                let gz = match tailer {
                    Some(gz) => gz,
                    None => tailer.insert(Box::new(GzTailer::open(&self.path, *resume_at, self.tail)?)),
                };
                gz.read_lines(max_bytes, lines)
            }
        }
    }

    /// Notes a read error; a gzip file is reopened at its last line next time, and given up after
    /// repeated failures.
    fn read_failed(&mut self, e: &crate::Error, out: &mut Vec<LogRecord>) {
        self.last_error = Some(e.to_string());
        if let Reader::Gz {
            tailer,
            resume_at,
            failures,
            ..
        } = &mut self.reader
        {
            if let Some(gz) = tailer.take() {
                *resume_at = gz.position().offset;
            }
            *failures += 1;
            if *failures >= MAX_GZ_FAILURES {
                tracing::warn!(path = %self.path.display(), offset = *resume_at, error = %e,
                    "giving up on a damaged gzip log file");
                self.finish(out);
            }
        }
    }

    /// The file is exhausted: hands out everything, partials included, and moves the position to
    /// the end.
    fn finish(&mut self, out: &mut Vec<LogRecord>) {
        out.append(&mut self.held);
        out.extend(self.decoder.flush());
        self.held_bytes = 0;
        self.clean = self.raw_position().offset;
        self.finished = true;
    }
}
