//! Docker's json-file log lines, and the record types both container formats decode into.
//!
//! Docker's json-file driver writes one JSON object per line:
//! `{"log":"text\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}`, plus an `"attrs"`
//! object when the `labels`, `env` or `tag` options are set (ignored here). The daemon copies a
//! container's output in 16 KiB buffers, so a longer line becomes several objects sharing one
//! timestamp; only the last one's `log` ends in `\n`. [`DockerDecoder`] joins those chunks back into
//! one [`LogRecord`] per line, keeping a pending partial per stream since stdout and stderr chunks
//! may interleave.
//!
//! One trailing `\n` is removed from the joined line. A `\r` before it is kept: Docker stores the
//! bytes the container wrote (so `docker logs` reproduces them), and a collector should not alter
//! content. The record's timestamp is the first chunk's.
//!
//! [`Rejoin`] is the partial-line assembly shared with the CRI decoder: per-stream pending text, a
//! byte limit per record (beyond it the record is cut at a UTF-8 boundary, emitted, and the rest of
//! its chunks discarded), and the smallest start offset of any unfinished record. A record cut at
//! the limit has been emitted, so it no longer counts as unfinished while its remaining chunks are
//! dropped: a restart from a position inside it yields the remainder as a record of its own rather
//! than the emitted part twice.

use std::borrow::Cow;

use serde::Deserialize;

use super::time::parse_rfc3339_nanos;
use crate::{Error, Result};

/// The output stream a container log line was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl LogStream {
    /// The stream's name as both formats write it: `"stdout"` or `"stderr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }

    /// Parses `"stdout"` or `"stderr"`.
    pub fn parse(s: &[u8]) -> Option<LogStream> {
        match s {
            b"stdout" => Some(LogStream::Stdout),
            b"stderr" => Some(LogStream::Stderr),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            LogStream::Stdout => 0,
            LogStream::Stderr => 1,
        }
    }
}

/// One complete container log line, partial chunks already joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The line's timestamp (its first chunk's), nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The stream it was written to.
    pub stream: LogStream,
    /// The text, without the trailing `\n`.
    pub line: String,
    /// File offset where the first raw line of this record began.
    pub start_offset: u64,
}

/// The state of one stream in a [`Rejoin`].
#[derive(Debug, Default)]
enum Slot {
    /// No record in progress.
    #[default]
    Idle,
    /// Chunks of a record are being collected.
    Joining { ts_ns: i64, start_offset: u64, buf: String },
    /// The record in progress went over the limit and was emitted; its remaining chunks are dropped.
    Discarding,
}

/// Joins partial chunks into records, per stream, with a per-record byte limit.
#[derive(Debug)]
pub(crate) struct Rejoin {
    max_line_bytes: usize,
    slots: [Slot; 2],
    truncated: u64,
}

impl Rejoin {
    /// An assembler whose records are at most `max_line_bytes` bytes (at least 1 is used).
    pub(crate) fn new(max_line_bytes: usize) -> Rejoin {
        Rejoin {
            max_line_bytes: max_line_bytes.max(1),
            slots: [Slot::Idle, Slot::Idle],
            truncated: 0,
        }
    }

    /// Adds one chunk; `last` marks the chunk that ends its record. Returns the finished record, if any.
    pub(crate) fn chunk(
        &mut self,
        stream: LogStream,
        ts_ns: i64,
        offset: u64,
        text: Cow<'_, str>,
        last: bool,
    ) -> Option<LogRecord> {
        let max = self.max_line_bytes;
        let slot = &mut self.slots[stream.index()];
        match slot {
            Slot::Discarding => {
                if last {
                    *slot = Slot::Idle;
                }
                None
            }
            Slot::Idle => {
                if text.len() > max {
                    self.truncated += 1;
                    *slot = if last { Slot::Idle } else { Slot::Discarding };
                    tracing::debug!(offset, limit = max, "container log line over the limit, truncated");
                    let line = text[..floor_char_boundary(&text, max)].to_owned();
                    return Some(LogRecord {
                        ts_ns,
                        stream,
                        line,
                        start_offset: offset,
                    });
                }
                if last {
                    return Some(LogRecord {
                        ts_ns,
                        stream,
                        line: text.into_owned(),
                        start_offset: offset,
                    });
                }
                *slot = Slot::Joining {
                    ts_ns,
                    start_offset: offset,
                    buf: text.into_owned(),
                };
                None
            }
            Slot::Joining { buf, .. } => {
                let room = max - buf.len();
                let over = text.len() > room;
                if over {
                    buf.push_str(&text[..floor_char_boundary(&text, room)]);
                } else {
                    buf.push_str(&text);
                }
                if !over && !last {
                    return None;
                }
                let next = if over && !last { Slot::Discarding } else { Slot::Idle };
                let Slot::Joining {
                    ts_ns,
                    start_offset,
                    buf,
                } = std::mem::replace(slot, next)
                else {
                    return None;
                };
                if over {
                    self.truncated += 1;
                    tracing::debug!(
                        offset = start_offset,
                        limit = max,
                        "container log line over the limit, truncated"
                    );
                }
                Some(LogRecord {
                    ts_ns,
                    stream,
                    line: buf,
                    start_offset,
                })
            }
        }
    }

    /// The smallest start offset of any record still being joined.
    pub(crate) fn pending_start(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::Joining { start_offset, .. } => Some(*start_offset),
                _ => None,
            })
            .min()
    }

    /// Emits every record still being joined, in start-offset order, and resets all streams.
    pub(crate) fn flush(&mut self) -> Vec<LogRecord> {
        let mut out = Vec::new();
        for (slot, stream) in self.slots.iter_mut().zip([LogStream::Stdout, LogStream::Stderr]) {
            if let Slot::Joining {
                ts_ns,
                start_offset,
                buf,
            } = std::mem::take(slot)
            {
                out.push(LogRecord {
                    ts_ns,
                    stream,
                    line: buf,
                    start_offset,
                });
            }
        }
        out.sort_by_key(|r| r.start_offset);
        out
    }

    /// How many records were cut at the limit so far.
    pub(crate) fn truncated(&self) -> u64 {
        self.truncated
    }
}

/// The largest index `<= n` that is a char boundary of `s`.
pub(crate) fn floor_char_boundary(s: &str, n: usize) -> usize {
    if n >= s.len() {
        return s.len();
    }
    let mut i = n;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One json-file line, borrowing from the raw bytes where no escapes forced a copy.
#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(borrow)]
    log: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
}

/// Decodes Docker json-file lines into [`LogRecord`]s, joining 16 KiB partial chunks.
#[derive(Debug)]
pub struct DockerDecoder {
    rejoin: Rejoin,
}

impl DockerDecoder {
    /// A decoder whose records are at most `max_line_bytes` bytes; longer lines are truncated.
    pub fn new(max_line_bytes: usize) -> Self {
        DockerDecoder {
            rejoin: Rejoin::new(max_line_bytes),
        }
    }

    /// Decodes one physical line (`raw`, without its `\n`) that starts at file offset `offset`.
    ///
    /// Returns the record this line completes, `None` while a partial line is pending, or an error
    /// for a malformed line (which leaves the decoder's state untouched, so the caller may skip it).
    pub fn push(&mut self, raw: &[u8], offset: u64) -> Result<Option<LogRecord>> {
        let bad = |what: &dyn std::fmt::Display| Error::LogFormat(format!("line at offset {offset}: {what}"));
        let parsed: RawLine<'_> = serde_json::from_slice(raw).map_err(|e| bad(&format_args!("invalid json: {e}")))?;
        let log = parsed.log.ok_or_else(|| bad(&"missing \"log\""))?;
        let stream_name = parsed.stream.ok_or_else(|| bad(&"missing \"stream\""))?;
        let stream = LogStream::parse(stream_name.as_bytes()).ok_or_else(|| {
            bad(&format_args!(
                "unknown stream {stream_name:?}, expected stdout or stderr"
            ))
        })?;
        let time = parsed.time.ok_or_else(|| bad(&"missing \"time\""))?;
        let ts_ns = parse_rfc3339_nanos(&time).map_err(|e| bad(&e))?;
        // An owned `log` (it had escapes, usually just its final `\n`) is moved, not copied.
        let (text, last) = match log {
            Cow::Owned(mut text) => {
                let last = text.ends_with('\n');
                if last {
                    text.pop();
                }
                (Cow::Owned(text), last)
            }
            Cow::Borrowed(log) => match log.strip_suffix('\n') {
                Some(text) => (Cow::Borrowed(text), true),
                None => (Cow::Borrowed(log), false),
            },
        };
        Ok(self.rejoin.chunk(stream, ts_ns, offset, text, last))
    }

    /// The smallest start offset of any pending partial line: a caller persisting its read
    /// position must not store one past this, or the unfinished record would be lost on restart.
    pub fn pending_start(&self) -> Option<u64> {
        self.rejoin.pending_start()
    }

    /// Emits the pending partial lines as they are (e.g. when the file is gone), in offset order.
    pub fn flush(&mut self) -> Vec<LogRecord> {
        self.rejoin.flush()
    }

    /// How many records were longer than the limit and truncated.
    pub fn truncated(&self) -> u64 {
        self.rejoin.truncated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2019-01-01T11:11:11.111111111Z";
    const T1_NS: i64 = 1_546_341_071_111_111_111;

    fn line(log: &str, stream: &str, time: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"log": log, "stream": stream, "time": time})).unwrap_or_default()
    }

    fn push(d: &mut DockerDecoder, raw: &[u8], offset: u64) -> Option<LogRecord> {
        match d.push(raw, offset) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(d: &mut DockerDecoder, raw: &[u8]) -> String {
        match d.push(raw, 7) {
            Err(Error::LogFormat(msg)) => msg,
            other => panic!("expected a log format error, got {other:?}"),
        }
    }

    #[test]
    fn single_line() {
        let mut d = DockerDecoder::new(1 << 20);
        let raw = br#"{"log":"hello world\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}"#;
        let rec = push(&mut d, raw, 0);
        assert_eq!(
            rec,
            Some(LogRecord {
                ts_ns: T1_NS,
                stream: LogStream::Stdout,
                line: "hello world".into(),
                start_offset: 0
            })
        );
        assert_eq!(d.pending_start(), None);
    }

    #[test]
    fn attrs_and_escapes() {
        let mut d = DockerDecoder::new(1 << 20);
        let raw = br#"{"log":"a \"q\" \u00e9\ttab\r\n","stream":"stderr","attrs":{"tag":"x","n":[1,2]},"time":"2019-01-01T11:11:11.111111111Z"}"#;
        let rec = push(&mut d, raw, 5).unwrap_or_else(|| panic!("no record"));
        assert_eq!(rec.line, "a \"q\" é\ttab\r");
        assert_eq!(rec.stream, LogStream::Stderr);
        assert_eq!(rec.start_offset, 5);
    }

    #[test]
    fn empty_line() {
        let mut d = DockerDecoder::new(16);
        assert_eq!(
            push(&mut d, &line("\n", "stdout", T1), 0).map(|r| r.line),
            Some(String::new())
        );
    }

    #[test]
    fn partial_rejoin_across_three_chunks() {
        let mut d = DockerDecoder::new(1 << 20);
        let a = line("first-", "stdout", T1);
        let b = line("second-", "stdout", "2019-01-01T11:11:12Z");
        let c = line("third\n", "stdout", "2019-01-01T11:11:13Z");
        assert_eq!(push(&mut d, &a, 100), None);
        assert_eq!(d.pending_start(), Some(100));
        assert_eq!(push(&mut d, &b, 200), None);
        assert_eq!(d.pending_start(), Some(100));
        let rec = push(&mut d, &c, 300).unwrap_or_else(|| panic!("no record"));
        assert_eq!(rec.line, "first-second-third");
        assert_eq!(rec.ts_ns, T1_NS, "the first chunk's time");
        assert_eq!(rec.start_offset, 100);
        assert_eq!(d.pending_start(), None);
    }

    #[test]
    fn interleaved_stdout_stderr_partials() {
        let mut d = DockerDecoder::new(1 << 20);
        assert_eq!(push(&mut d, &line("out1 ", "stdout", T1), 0), None);
        assert_eq!(push(&mut d, &line("err1 ", "stderr", T1), 50), None);
        assert_eq!(d.pending_start(), Some(0));
        let out = push(&mut d, &line("out2\n", "stdout", T1), 100).unwrap_or_else(|| panic!("no stdout"));
        assert_eq!(
            (out.line.as_str(), out.stream, out.start_offset),
            ("out1 out2", LogStream::Stdout, 0)
        );
        assert_eq!(d.pending_start(), Some(50));
        let whole = push(&mut d, &line("whole\n", "stdout", T1), 150).unwrap_or_else(|| panic!("no line"));
        assert_eq!(whole.line, "whole");
        let err = push(&mut d, &line("err2\n", "stderr", T1), 200).unwrap_or_else(|| panic!("no stderr"));
        assert_eq!(
            (err.line.as_str(), err.stream, err.start_offset),
            ("err1 err2", LogStream::Stderr, 50)
        );
        assert_eq!(d.pending_start(), None);
    }

    #[test]
    fn flush_emits_pending_in_offset_order() {
        let mut d = DockerDecoder::new(1 << 20);
        push(&mut d, &line("e", "stderr", T1), 10);
        push(&mut d, &line("o", "stdout", T1), 20);
        let out = d.flush();
        assert_eq!(
            out.iter()
                .map(|r| (r.line.as_str(), r.start_offset))
                .collect::<Vec<_>>(),
            [("e", 10), ("o", 20)]
        );
        assert_eq!(d.pending_start(), None);
        assert!(d.flush().is_empty());
    }

    #[test]
    fn oversize_is_truncated_and_rest_discarded() {
        let mut d = DockerDecoder::new(10);
        assert_eq!(push(&mut d, &line("abcdef", "stdout", T1), 0), None);
        // 6 + 6 > 10: emit the first 10 bytes now, drop the rest of this record.
        let rec = push(&mut d, &line("ghijkl", "stdout", T1), 100).unwrap_or_else(|| panic!("no record"));
        assert_eq!((rec.line.as_str(), rec.start_offset), ("abcdefghij", 0));
        assert_eq!(d.truncated(), 1);
        assert_eq!(d.pending_start(), None);
        assert_eq!(push(&mut d, &line("mnop", "stdout", T1), 200), None);
        assert_eq!(push(&mut d, &line("end\n", "stdout", T1), 300), None);
        // The next record is normal again.
        assert_eq!(
            push(&mut d, &line("ok\n", "stdout", T1), 400).map(|r| r.line),
            Some("ok".into())
        );
        // A single complete chunk over the limit, cut at a UTF-8 boundary (é is 2 bytes).
        let rec = push(&mut d, &line("123456789é-tail\n", "stdout", T1), 500).unwrap_or_else(|| panic!("none"));
        assert_eq!(rec.line, "123456789");
        assert_eq!(d.truncated(), 2);
        // Exactly at the limit is not truncated.
        assert_eq!(
            push(&mut d, &line("0123456789\n", "stdout", T1), 600).map(|r| r.line),
            Some("0123456789".into())
        );
        assert_eq!(d.truncated(), 2);
    }

    #[test]
    fn malformed_lines() {
        let mut d = DockerDecoder::new(1 << 20);
        push(&mut d, &line("pending", "stdout", T1), 0);
        assert!(err(&mut d, b"{\"log\":\"x\"").starts_with("line at offset 7: invalid json: "));
        assert!(err(&mut d, b"not json").starts_with("line at offset 7: invalid json: "));
        assert_eq!(
            err(&mut d, br#"{"log":"x\n","stream":"stdout"}"#),
            "line at offset 7: missing \"time\""
        );
        assert_eq!(
            err(&mut d, br#"{"stream":"stdout","time":"x"}"#),
            "line at offset 7: missing \"log\""
        );
        assert_eq!(
            err(&mut d, br#"{"log":"x\n","time":"x"}"#),
            "line at offset 7: missing \"stream\""
        );
        assert_eq!(
            err(&mut d, &line("x\n", "stdin", T1)),
            "line at offset 7: unknown stream \"stdin\", expected stdout or stderr"
        );
        assert_eq!(
            err(&mut d, &line("x\n", "stdout", "yesterday")),
            "line at offset 7: invalid timestamp \"yesterday\": too short for yyyy-mm-ddThh:mm:ssZ"
        );
        assert!(err(&mut d, br#"{"log":5,"stream":"stdout","time":"x"}"#).contains("invalid json"));
        // The pending partial survived the errors.
        assert_eq!(d.pending_start(), Some(0));
        assert_eq!(
            push(&mut d, &line(" done\n", "stdout", T1), 9).map(|r| r.line),
            Some("pending done".into())
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// Formats `text` as Docker does: 16 KiB chunks (`chunk` bytes here, to keep the test quick),
        /// only the last ending in `\n`, all with one timestamp.
        fn docker_lines(text: &str, stream: &str, chunk: usize) -> Vec<Vec<u8>> {
            let mut out = Vec::new();
            let mut rest = text;
            while rest.len() >= chunk {
                let cut = floor_char_boundary(rest, chunk).max(rest.chars().next().map_or(0, char::len_utf8));
                out.push(line(&rest[..cut], stream, T1));
                rest = &rest[cut..];
            }
            out.push(line(&format!("{rest}\n"), stream, T1));
            out
        }

        proptest! {
            #[test]
            fn chunked_interleaved_lines_round_trip(
                out_lines in proptest::collection::vec("[^\n]{0,200}", 0..8),
                err_lines in proptest::collection::vec("[^\n]{0,200}", 0..8),
                chunk in 1usize..64,
            ) {
                // Alternate the physical lines of the two streams so their partials interleave.
                let out_raw: Vec<Vec<u8>> = out_lines.iter().flat_map(|t| docker_lines(t, "stdout", chunk)).collect();
                let err_raw: Vec<Vec<u8>> = err_lines.iter().flat_map(|t| docker_lines(t, "stderr", chunk)).collect();
                let mut raws = Vec::new();
                for i in 0..out_raw.len().max(err_raw.len()) {
                    raws.extend(out_raw.get(i));
                    raws.extend(err_raw.get(i));
                }
                let mut d = DockerDecoder::new(1 << 20);
                let (mut got_out, mut got_err) = (Vec::new(), Vec::new());
                let mut offset = 0u64;
                for raw in raws {
                    if let Some(rec) = d.push(raw, offset).map_err(|e| TestCaseError::fail(e.to_string()))? {
                        match rec.stream {
                            LogStream::Stdout => got_out.push(rec.line),
                            LogStream::Stderr => got_err.push(rec.line),
                        }
                    }
                    offset += raw.len() as u64 + 1;
                }
                prop_assert_eq!(got_out, out_lines);
                prop_assert_eq!(got_err, err_lines);
                prop_assert_eq!(d.pending_start(), None);
                prop_assert_eq!(d.truncated(), 0);
            }

            #[test]
            fn real_16k_chunks_round_trip(len in 0usize..40_000, c in proptest::char::any()) {
                let text: String = std::iter::repeat_n(c, len / c.len_utf8().max(1))
                    .filter(|c| *c != '\n')
                    .collect();
                let mut d = DockerDecoder::new(1 << 20);
                let mut rec = None;
                for (i, raw) in docker_lines(&text, "stdout", 16 * 1024).iter().enumerate() {
                    rec = d.push(raw, i as u64).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                prop_assert_eq!(rec.map(|r| r.line), Some(text));
            }
        }
    }
}
