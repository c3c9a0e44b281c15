//! The crate's error type.

use crate::promql::ParseError;

/// An error of the query crate. Each variant maps to one of Prometheus's API error types in the
/// binary: `Parse` → `bad_data`, `Execution` → `execution`, `Timeout` → `timeout`,
/// `TooManySamples` → `execution`, `Storage` → `internal`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The query text does not parse or does not type-check.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// LogQL text does not parse or does not type-check (Loki's message format).
    #[error("{0}")]
    LogParse(#[from] crate::logql::ParseError),
    /// Evaluation failed (e.g. `vector cannot contain metrics with the same labelset`).
    #[error("{0}")]
    Execution(String),
    /// The query ran longer than its timeout.
    #[error("query timed out in {0}")]
    Timeout(String),
    /// The query would load more samples than allowed.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(String),
    /// The storage failed.
    #[error("{0}")]
    Storage(String),
}
