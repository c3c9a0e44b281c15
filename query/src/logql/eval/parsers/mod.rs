//! LogQL's line parsers (`| json`, `| logfmt`, `| pattern`, `| unpack`) and the value conversions of label
//! filters and `unwrap` (durations, humanised bytes, numbers), as pure functions over one log line.
//!
//! The parsers report labels through an `emit(name, value)` callback and failures as a [`ParserError`], which
//! the pipeline records as `__error__`/`__error_details__`. They never panic, recurse a bounded depth, and
//! allocate in proportion to the line. The semantics follow Loki 3.x (its docs' "Parser expression"
//! section and the behaviour of its parsers); each function documents its rules, and the `_extracted`
//! suffix for keys that clash with stream labels is left to the pipeline.

mod convert;
mod json;
mod json_path;
mod json_scan;
mod logfmt;
mod pattern;
mod text;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use convert::{parse_bytes, parse_duration_nanos, parse_duration_seconds, parse_number};
pub use json::{json_all, unpack};
pub use json_path::{JsonPath, JsonSegment, json_extract};
pub use logfmt::logfmt;
pub use pattern::Pattern;
pub use text::{JSON_PARSER_ERR, LOGFMT_PARSER_ERR, ParserError, sanitize_key};
