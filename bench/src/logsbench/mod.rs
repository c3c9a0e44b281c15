//! Whole-system benchmark of Loupe's container-log ingestion (`logs-bench`).
//!
//! [`run`] generates a deterministic Docker json-file tree ([`generate`], text from [`content`]), points
//! a release `loupe serve` at it with a config that tails it and does nothing else, and measures each
//! run ([`run`]) until Loupe's `loupe_logs_entries` gauge equals the generated line count: wall time,
//! Loupe's CPU seconds and peak RSS, then the index size on disk after the next commit. [`report`]
//! turns the runs into MB/s per core and index size / raw size against the targets.
//! [`queries`] then times LogQL queries (a needle, a common term, a metric query) through the Loki
//! API against `grep -F` over the same files.

pub mod content;
pub mod generate;
pub mod queries;
pub mod report;
mod run;

pub use run::{Measurement, Settings, config_yaml, run};
