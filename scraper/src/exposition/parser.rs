//! The line-walking [`Parser`] iterator and its conveniences.

use super::Entry;
use super::Format;
use super::lexer::LineError;
use super::line::{CommentLine, comment_line, sample_line, split_series, tail_of_line};
use super::types::ParsedSample;
use crate::error::Error;

/// The longest line accepted, in bytes (without its line feed). Longer lines are an error, which bounds
/// the work and memory spent on one entry.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// An iterator over the entries of an exposition payload.
///
/// Yields `Ok(entry)` for every sample, HELP, TYPE, UNIT and other comment line, in input order. Blank
/// lines (text format only) and the OpenMetrics `# EOF` line yield nothing. After the first error the
/// iterator yields that error once and then ends.
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    /// The input not yet split into lines.
    rest: &'a str,
    format: Format,
    /// The number of lines taken so far (the 1-based number of the last line taken).
    line_no: usize,
    /// The last line taken, for positions at the end of the input.
    last_line: &'a str,
    /// Whether the last line taken ended with a line feed.
    last_had_newline: bool,
    done: bool,
}

impl<'a> Parser<'a> {
    /// Creates a parser over `input` in `format`.
    pub fn new(input: &'a str, format: Format) -> Self {
        Parser {
            rest: input,
            format,
            line_no: 0,
            last_line: "",
            last_had_newline: true,
            done: false,
        }
    }

    /// The number of lines read so far (after an error, the line the error is on).
    pub fn line(&self) -> usize {
        self.line_no
    }

    fn error(&mut self, line: usize, column: usize, reason: impl Into<String>) -> Option<Result<Entry<'a>, Error>> {
        self.done = true;
        Some(Err(Error::Parse {
            line,
            column,
            reason: reason.into(),
        }))
    }

    fn line_error(&mut self, line: &str, e: LineError<'_>) -> Option<Result<Entry<'a>, Error>> {
        let offset = line.len().saturating_sub(e.at.len());
        let column = line.get(..offset).map_or(offset, |before| before.chars().count()) + 1;
        self.error(self.line_no, column, e.reason)
    }

    /// The position just after the last character of the input.
    fn end_position(&self) -> (usize, usize) {
        if self.last_had_newline {
            (self.line_no + 1, 1)
        } else {
            (self.line_no, self.last_line.chars().count() + 1)
        }
    }

    /// Splits off the next line; `None` at the end of the input, `Err` when it is too long.
    fn take_line(&mut self) -> Option<Result<&'a str, ()>> {
        if self.rest.is_empty() {
            return None;
        }
        self.line_no = self.line_no.saturating_add(1);
        let (line, rest, had_newline) = match self.rest.find('\n') {
            Some(pos) => (&self.rest[..pos], &self.rest[pos + 1..], true),
            None => (self.rest, "", false),
        };
        if line.len() > MAX_LINE_LEN {
            return Some(Err(()));
        }
        self.rest = rest;
        self.last_line = line;
        self.last_had_newline = had_newline;
        Some(Ok(line.strip_suffix('\r').unwrap_or(line)))
    }
}

/// An entry as [`Parser::next_raw`] yields it: sample lines are split at the end of their series
/// text, which is returned unparsed, so a caller that caches series by text skips label parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum RawEntry<'a> {
    /// A sample line whose value (and timestamp, and exemplar) parsed; `series` is the text of its
    /// name and label set, NOT validated. Callers that do not know `series` yet must call
    /// [`Parser::parse_sample`] on `line`, which validates everything.
    Sample {
        /// The whole line.
        line: &'a str,
        /// The series text: from the first non-blank character to the end of the name or label set.
        series: &'a str,
        /// The sample value.
        value: f64,
        /// The explicit timestamp in milliseconds, if any.
        timestamp_ms: Option<i64>,
    },
    /// Any other entry, fully parsed (including sample lines the fast split could not handle).
    Entry(Entry<'a>),
}

impl<'a> Parser<'a> {
    /// Like [`Iterator::next`], but sample lines come back as [`RawEntry::Sample`] with their series
    /// text unparsed (errors in the value, timestamp or exemplar are still reported, with their
    /// position).
    pub fn next_raw(&mut self) -> Option<Result<RawEntry<'a>, Error>> {
        if self.done {
            return None;
        }
        let first = self.rest.bytes().find(|&b| b != b' ' && b != b'\t');
        if matches!(first, Some(b'#') | Some(b'\n') | Some(b'\r') | None) {
            return self.next().map(|r| r.map(RawEntry::Entry));
        }
        // Anything unusual is handed to the full parser, from the same line.
        let saved = self.clone();
        let split = match self.take_line() {
            Some(Ok(line)) => split_series(line).map(|(series, tail)| (line, series, tail)),
            _ => None,
        };
        let Some((line, series, tail)) = split else {
            *self = saved;
            return self.next().map(|r| r.map(RawEntry::Entry));
        };
        match tail_of_line(line, tail, self.format) {
            Ok(parsed) => Some(Ok(RawEntry::Sample {
                line,
                series,
                value: parsed.value,
                timestamp_ms: parsed.timestamp_ms,
            })),
            Err(e) => self.line_error(line, e).map(|r| r.map(RawEntry::Entry)),
        }
    }

    /// Fully parses and validates a sample line returned by [`Parser::next_raw`]; an error names
    /// the current line.
    pub fn parse_sample(&mut self, line: &'a str) -> Result<ParsedSample<'a>, Error> {
        match sample_line(line, self.format) {
            Ok(sample) => Ok(sample),
            Err(e) => match self.line_error(line, e) {
                Some(Err(error)) => Err(error),
                _ => Err(Error::Parse {
                    line: self.line_no,
                    column: 1,
                    reason: "invalid sample line".into(),
                }),
            },
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = match self.take_line() {
                None if self.format == Format::OpenMetrics => {
                    let (line, column) = self.end_position();
                    return self.error(line, column, "missing \"# EOF\" at the end of openmetrics input");
                }
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(())) => {
                    return self.error(self.line_no, 1, format!("line is longer than {MAX_LINE_LEN} bytes"));
                }
                Some(Ok(line)) => line,
            };
            let first = line.bytes().find(|&b| b != b' ' && b != b'\t');
            let result = match first {
                None if self.format == Format::PrometheusText => continue,
                None => return self.error(self.line_no, 1, "blank lines are not allowed in openmetrics"),
                Some(b'#') => comment_line(line, self.format).map(|comment| match comment {
                    CommentLine::Entry(entry) => Some(entry),
                    CommentLine::Eof => None,
                }),
                Some(_) => sample_line(line, self.format).map(|sample| Some(Entry::Sample(sample))),
            };
            match result {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => {
                    // `# EOF`: nothing may follow, not even an empty line.
                    self.done = true;
                    if !self.rest.is_empty() {
                        let line = self.line_no.saturating_add(1);
                        return self.error(line, 1, "unexpected content after \"# EOF\"");
                    }
                    return None;
                }
                Err(e) => return self.line_error(line, e),
            }
        }
        None
    }
}

impl std::iter::FusedIterator for Parser<'_> {}

/// Parses a whole payload, stopping at the first error.
pub fn parse_all(input: &str, format: Format) -> Result<Vec<Entry<'_>>, Error> {
    Parser::new(input, format).collect()
}

/// The format named by an HTTP `Content-Type` value: `application/openmetrics-text` (any parameters, any
/// case) is [`Format::OpenMetrics`]; anything else, including an empty value, is
/// [`Format::PrometheusText`].
pub fn format_from_content_type(content_type: &str) -> Format {
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::PrometheusText
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        assert_eq!(format_from_content_type(om), Format::OpenMetrics);
        assert_eq!(
            format_from_content_type("Application/OpenMetrics-Text"),
            Format::OpenMetrics
        );
        let text = "text/plain; version=0.0.4; charset=utf-8";
        assert_eq!(format_from_content_type(text), Format::PrometheusText);
        assert_eq!(format_from_content_type(""), Format::PrometheusText);
        assert_eq!(format_from_content_type("application/json"), Format::PrometheusText);
    }

    #[test]
    fn stops_after_first_error() {
        let mut parser = Parser::new("a 1\nb x\nc 3\n", Format::PrometheusText);
        assert!(matches!(parser.next(), Some(Ok(Entry::Sample(_)))));
        assert!(matches!(parser.next(), Some(Err(Error::Parse { line: 2, .. }))));
        assert_eq!(parser.line(), 2);
        assert!(parser.next().is_none());
        assert!(parser.next().is_none());
    }

    #[test]
    fn line_length_limit() {
        let long = format!("a{} 1\n", "b".repeat(MAX_LINE_LEN));
        let err = parse_all(&long, Format::PrometheusText).unwrap_err();
        assert_eq!(err.to_string(), "line 1, column 1: line is longer than 1048576 bytes");
        let fits = format!("a{} 1\n", "b".repeat(MAX_LINE_LEN - 4));
        assert_eq!(parse_all(&fits, Format::PrometheusText).map(|e| e.len()), Ok(1));
    }

    #[test]
    fn carriage_returns_and_blank_lines() {
        let entries = parse_all("a 1\r\n\r\n  \t\nb 2\r\n", Format::PrometheusText).unwrap();
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn end_positions() {
        let err = |input: &str| parse_all(input, Format::OpenMetrics).unwrap_err().to_string();
        assert_eq!(
            err(""),
            "line 1, column 1: missing \"# EOF\" at the end of openmetrics input"
        );
        assert_eq!(
            err("a 1\n"),
            "line 2, column 1: missing \"# EOF\" at the end of openmetrics input"
        );
        assert_eq!(
            err("a 1"),
            "line 1, column 4: missing \"# EOF\" at the end of openmetrics input"
        );
        assert_eq!(err("# EOF\n\n"), "line 2, column 1: unexpected content after \"# EOF\"");
        assert_eq!(
            err("# EOF\na 1"),
            "line 2, column 1: unexpected content after \"# EOF\""
        );
        assert_eq!(parse_all("a 1\n# EOF", Format::OpenMetrics).map(|e| e.len()), Ok(1));
        assert_eq!(parse_all("a 1\n# EOF\n", Format::OpenMetrics).map(|e| e.len()), Ok(1));
    }
}
