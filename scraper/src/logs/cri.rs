//! Kubernetes CRI container log lines.
//!
//! Container runtimes (containerd, CRI-O) write `/var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log`
//! with one line per chunk: `<RFC3339Nano time> <stdout|stderr> <tag> <content>`, e.g.
//! `2016-10-06T00:17:09.669794202Z stdout F hello`. The tag is a `:`-separated list whose first
//! element is `P` (partial: the line continues in the next chunk of the same stream) or `F` (full:
//! this chunk ends the line); further elements are ignored. The kubelet joins `P` chunks up to the
//! next `F`, and so does [`CriDecoder`], per stream since stdout and stderr chunks may interleave.
//!
//! Content may be empty (`... stdout F ` for an empty line); a line that stops right after the tag,
//! without the separating space, is accepted as empty content too (the kubelet rejects it, but it
//! carries no ambiguity). Content is taken verbatim after the single separating space; bytes that
//! are not UTF-8 become U+FFFD. The record's timestamp is the first chunk's.

use super::docker::{LogRecord, LogStream, Rejoin};
use super::time::parse_rfc3339_nanos;
use crate::{Error, Result};

/// One parsed CRI line: its fields, content still raw bytes.
#[derive(Debug, PartialEq, Eq)]
struct CriLine<'a> {
    ts_ns: i64,
    stream: LogStream,
    last: bool,
    content: &'a [u8],
}

/// Splits `raw` at the first space: (before, after), or `None` without a space.
fn split_space(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = raw.iter().position(|&b| b == b' ')?;
    Some((&raw[..i], &raw[i + 1..]))
}

/// Parses one CRI line; the error is the reason, without the offset.
fn parse_line(raw: &[u8]) -> std::result::Result<CriLine<'_>, String> {
    let (ts, rest) = split_space(raw).ok_or("missing stream after the timestamp")?;
    let ts = std::str::from_utf8(ts).map_err(|_| "timestamp is not utf-8".to_owned())?;
    let ts_ns = parse_rfc3339_nanos(ts).map_err(|e| e.to_string())?;
    let (stream, rest) = split_space(rest).ok_or("missing tag after the stream")?;
    let stream = LogStream::parse(stream).ok_or_else(|| {
        format!(
            "unknown stream {:?}, expected stdout or stderr",
            String::from_utf8_lossy(stream)
        )
    })?;
    let (tags, content) = split_space(rest).unwrap_or((rest, b""));
    let first_tag = tags.split(|&b| b == b':').next().unwrap_or(tags);
    let last = match first_tag {
        b"F" => true,
        b"P" => false,
        _ => {
            return Err(format!(
                "unknown tag {:?}, expected P or F",
                String::from_utf8_lossy(tags)
            ));
        }
    };
    Ok(CriLine {
        ts_ns,
        stream,
        last,
        content,
    })
}

/// Decodes CRI log lines into [`LogRecord`]s, joining `P` chunks up to the next `F`.
#[derive(Debug)]
pub struct CriDecoder {
    rejoin: Rejoin,
}

impl CriDecoder {
    /// A decoder whose records are at most `max_line_bytes` bytes; longer lines are truncated.
    pub fn new(max_line_bytes: usize) -> Self {
        CriDecoder {
            rejoin: Rejoin::new(max_line_bytes),
        }
    }

    /// Decodes one physical line (`raw`, without its `\n`) that starts at file offset `offset`.
    ///
    /// Returns the record this line completes, `None` while a partial line is pending, or an error
    /// for a malformed line (which leaves the decoder's state untouched, so the caller may skip it).
    pub fn push(&mut self, raw: &[u8], offset: u64) -> Result<Option<LogRecord>> {
        let line = parse_line(raw).map_err(|reason| Error::LogFormat(format!("line at offset {offset}: {reason}")))?;
        let content = String::from_utf8_lossy(line.content);
        Ok(self.rejoin.chunk(line.stream, line.ts_ns, offset, content, line.last))
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

    const T: &str = "2016-10-06T00:17:09.669794202Z";
    const T_NS: i64 = 1_475_713_029_669_794_202;

    fn push(d: &mut CriDecoder, raw: &str, offset: u64) -> Option<LogRecord> {
        match d.push(raw.as_bytes(), offset) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(raw: &[u8]) -> String {
        match CriDecoder::new(100).push(raw, 3) {
            Err(Error::LogFormat(msg)) => msg,
            other => panic!("expected a log format error, got {other:?}"),
        }
    }

    #[test]
    fn full_line() {
        let mut d = CriDecoder::new(1 << 20);
        let rec = push(&mut d, &format!("{T} stderr F  two leading spaces kept "), 42);
        assert_eq!(
            rec,
            Some(LogRecord {
                ts_ns: T_NS,
                stream: LogStream::Stderr,
                line: " two leading spaces kept ".into(),
                start_offset: 42
            })
        );
    }

    #[test]
    fn partial_partial_full() {
        let mut d = CriDecoder::new(1 << 20);
        assert_eq!(push(&mut d, &format!("{T} stdout P part one, "), 0), None);
        assert_eq!(d.pending_start(), Some(0));
        assert_eq!(push(&mut d, "2016-10-06T00:17:10Z stdout P part two, ", 60), None);
        let rec = push(&mut d, "2016-10-06T00:17:11Z stdout F end", 120).unwrap_or_else(|| panic!("no record"));
        assert_eq!(rec.line, "part one, part two, end");
        assert_eq!(rec.ts_ns, T_NS);
        assert_eq!(rec.start_offset, 0);
        assert_eq!(d.pending_start(), None);
    }

    #[test]
    fn extra_tags_are_ignored() {
        let mut d = CriDecoder::new(1 << 20);
        assert_eq!(push(&mut d, &format!("{T} stdout P:x a"), 0), None);
        assert_eq!(
            push(&mut d, &format!("{T} stdout F:x:y b"), 10).map(|r| r.line),
            Some("ab".into())
        );
    }

    #[test]
    fn empty_content() {
        let mut d = CriDecoder::new(1 << 20);
        assert_eq!(
            push(&mut d, &format!("{T} stdout F "), 0).map(|r| r.line),
            Some(String::new())
        );
        assert_eq!(
            push(&mut d, &format!("{T} stdout F"), 1).map(|r| r.line),
            Some(String::new())
        );
        assert_eq!(push(&mut d, &format!("{T} stdout P abc"), 2), None);
        assert_eq!(
            push(&mut d, &format!("{T} stdout F"), 3).map(|r| r.line),
            Some("abc".into())
        );
    }

    #[test]
    fn interleaved_streams() {
        let mut d = CriDecoder::new(1 << 20);
        assert_eq!(push(&mut d, &format!("{T} stderr P e1-"), 10), None);
        assert_eq!(push(&mut d, &format!("{T} stdout P o1-"), 20), None);
        assert_eq!(d.pending_start(), Some(10));
        let o = push(&mut d, &format!("{T} stdout F o2"), 30).unwrap_or_else(|| panic!("no stdout"));
        assert_eq!(
            (o.line.as_str(), o.stream, o.start_offset),
            ("o1-o2", LogStream::Stdout, 20)
        );
        assert_eq!(d.pending_start(), Some(10));
        let flushed = d.flush();
        assert_eq!(flushed.len(), 1);
        assert_eq!(
            (flushed[0].line.as_str(), flushed[0].stream),
            ("e1-", LogStream::Stderr)
        );
        assert_eq!(d.pending_start(), None);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut d = CriDecoder::new(1 << 20);
        let mut raw = format!("{T} stdout F a").into_bytes();
        raw.extend_from_slice(&[0xff, b'b', 0xc3]);
        assert_eq!(
            d.push(&raw, 0).ok().flatten().map(|r| r.line),
            Some("a\u{fffd}b\u{fffd}".into())
        );
    }

    #[test]
    fn oversize_truncation() {
        let mut d = CriDecoder::new(8);
        assert_eq!(push(&mut d, &format!("{T} stdout P 12345"), 0), None);
        let rec = push(&mut d, &format!("{T} stdout P 6789"), 10).unwrap_or_else(|| panic!("no record"));
        assert_eq!(rec.line, "12345678");
        assert_eq!(d.truncated(), 1);
        assert_eq!(d.pending_start(), None);
        assert_eq!(push(&mut d, &format!("{T} stdout P more"), 20), None);
        assert_eq!(push(&mut d, &format!("{T} stdout F end"), 30), None);
        assert_eq!(
            push(&mut d, &format!("{T} stdout F next"), 40).map(|r| r.line),
            Some("next".into())
        );
        // A multi-byte character straddling the limit is left out whole.
        let rec = push(&mut d, &format!("{T} stdout F 1234567€"), 50).unwrap_or_else(|| panic!("none"));
        assert_eq!(rec.line, "1234567");
        assert_eq!(d.truncated(), 2);
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(err(b""), "line at offset 3: missing stream after the timestamp");
        assert_eq!(
            err(b"2016-10-06T00:17:09Z"),
            "line at offset 3: missing stream after the timestamp"
        );
        assert_eq!(
            err(b"2016-10-06T00:17:09Z stdout"),
            "line at offset 3: missing tag after the stream"
        );
        assert_eq!(
            err(b"2016-10-06T00:17:09Z stdin F x"),
            "line at offset 3: unknown stream \"stdin\", expected stdout or stderr"
        );
        assert_eq!(
            err(b"2016-10-06T00:17:09Z stdout X x"),
            "line at offset 3: unknown tag \"X\", expected P or F"
        );
        assert_eq!(
            err(b"2016-10-06T00:17:09Z stdout  x"),
            "line at offset 3: unknown tag \"\", expected P or F"
        );
        assert_eq!(
            err(b"2016-10-06T00:17:09Z stdout p x"),
            "line at offset 3: unknown tag \"p\", expected P or F"
        );
        assert_eq!(
            err(b"2016-10-06 stdout F x"),
            "line at offset 3: invalid timestamp \"2016-10-06\": too short for yyyy-mm-ddThh:mm:ssZ"
        );
        assert_eq!(err(b"\xff stdout F x"), "line at offset 3: timestamp is not utf-8");
        // A pending partial survives a malformed line.
        let mut d = CriDecoder::new(100);
        push(&mut d, &format!("{T} stdout P keep"), 0);
        assert!(d.push(b"garbage", 9).is_err());
        assert_eq!(
            push(&mut d, &format!("{T} stdout F !"), 20).map(|r| r.line),
            Some("keep!".into())
        );
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// Formats `text` as a runtime does: `P` chunks of `chunk` bytes, then one `F` chunk.
        fn cri_lines(text: &str, stream: &str, chunk: usize) -> Vec<String> {
            let mut out = Vec::new();
            let mut rest = text;
            while rest.len() > chunk {
                let mut cut = chunk;
                while !rest.is_char_boundary(cut) {
                    cut += 1;
                }
                out.push(format!("{T} {stream} P {}", &rest[..cut]));
                rest = &rest[cut..];
            }
            out.push(format!("{T} {stream} F {rest}"));
            out
        }

        proptest! {
            #[test]
            fn chunked_interleaved_lines_round_trip(
                out_lines in proptest::collection::vec("[^\n]{0,200}", 0..8),
                err_lines in proptest::collection::vec("[^\n]{0,200}", 0..8),
                chunk in 1usize..64,
            ) {
                let out_raw: Vec<String> = out_lines.iter().flat_map(|t| cri_lines(t, "stdout", chunk)).collect();
                let err_raw: Vec<String> = err_lines.iter().flat_map(|t| cri_lines(t, "stderr", chunk)).collect();
                let mut raws = Vec::new();
                for i in 0..out_raw.len().max(err_raw.len()) {
                    raws.extend(out_raw.get(i));
                    raws.extend(err_raw.get(i));
                }
                let mut d = CriDecoder::new(1 << 20);
                let (mut got_out, mut got_err) = (Vec::new(), Vec::new());
                let mut offset = 0u64;
                for raw in raws {
                    if let Some(rec) = d.push(raw.as_bytes(), offset).map_err(|e| TestCaseError::fail(e.to_string()))? {
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
            }

            #[test]
            fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
                let mut d = CriDecoder::new(16);
                let _ = d.push(&raw, 0);
                let mut prefixed = format!("{T} stdout ").into_bytes();
                prefixed.extend_from_slice(&raw);
                if let Ok(Some(rec)) = d.push(&prefixed, 1) {
                    prop_assert!(rec.line.len() <= 16);
                }
            }
        }
    }
}
