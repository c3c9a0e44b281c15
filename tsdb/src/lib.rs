//! Loupe's time-series database.
//!
//! Samples are appended to the in-memory **head** after being logged in the **WAL**; the head is
//! periodically cut into immutable, mmap'd **blocks** (Gorilla-compressed chunks plus an inverted
//! index), which **compaction** merges into larger ones and **retention** deletes by age or size.
//! A **querier** merges head and blocks and returns series in label order.

#![warn(missing_docs)]

mod encoding;
pub mod error;
pub mod labels;
pub mod sample;

pub use error::{Error, Result};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME, MatchType, Matcher};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
pub mod backfill;
pub mod block;
pub mod chunk;
mod compact;
pub mod db;
pub mod head;
pub mod postings;
pub mod querier;
mod retention;
pub mod tombstones;
pub mod wal;
