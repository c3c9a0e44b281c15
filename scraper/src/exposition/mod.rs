//! Parsing of the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
//!
//! [`Parser`] walks the input line by line and yields one [`Entry`] per meaningful line: a sample, a
//! `# HELP`, `# TYPE` or `# UNIT` line, or another comment. Names and values borrow from the input
//! unless they contained escape sequences, so simple lines cost no allocation beyond the label vector.
//! The parser never panics; on bad input it yields one [`Error::Parse`](crate::Error::Parse) naming the
//! 1-based line and column, and then stops.
//!
//! The two formats differ in a few places, all handled here:
//! - timestamps are integer milliseconds in text 0.0.4 and (possibly fractional) seconds in OpenMetrics;
//!   [`ParsedSample::timestamp_ms`] is always milliseconds;
//! - OpenMetrics requires a final `# EOF` line with nothing after it, forbids blank lines and unknown
//!   escape sequences, and allows exemplars (`# {trace_id="x"} 1 1.5`) after a sample;
//! - text 0.0.4 keeps unknown backslash sequences verbatim and ignores blank lines.
//!
//! Runs of spaces and tabs separate tokens in both formats (OpenMetrics asks for exactly one space; being
//! lenient there is harmless). Metric and label names may be bare (`[a-zA-Z_:][a-zA-Z0-9_:]*`, no `:` in
//! label names) or quoted UTF-8 in the Prometheus 3 style: `{"metric.name", "label.x"="v"} 1`.

mod lexer;
mod line;
mod parser;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
mod types;

pub use parser::{MAX_LINE_LEN, Parser, RawEntry, format_from_content_type, parse_all};
pub use types::{Entry, Exemplar, Format, Label, MetricType, ParsedSample};
