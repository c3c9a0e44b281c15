//! The one error type of the `tsdb` crate.

use std::path::PathBuf;
use std::sync::Arc;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the storage engine.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory that was being accessed.
        path: PathBuf,
        /// The underlying error (shared so the enum stays `Clone`).
        source: Arc<std::io::Error>,
    },
    /// A file's content does not match its format or checksum.
    #[error("data corruption in {path}: {detail}")]
    DataCorruption {
        /// The corrupt file.
        path: PathBuf,
        /// What was wrong with it.
        detail: String,
    },
    /// A regular expression in a label matcher does not compile.
    #[error("invalid regular expression {regex:?}: {reason}")]
    InvalidRegex {
        /// The expression as given by the user.
        regex: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A label set is not acceptable (empty name, duplicate name, bad metric name…).
    #[error("invalid labels {labels}: {reason}")]
    InvalidLabels {
        /// The label set as text.
        labels: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A sample is older than the newest sample of its series and outside the out-of-order window.
    #[error("out of order sample for series {series} at timestamp {timestamp}")]
    OutOfOrder {
        /// The series as text.
        series: String,
        /// The rejected timestamp in milliseconds.
        timestamp: i64,
    },
    /// A sample has the timestamp of an existing sample but a different value.
    #[error("duplicate sample for timestamp {timestamp} with a different value for series {series}")]
    DuplicateSample {
        /// The series as text.
        series: String,
        /// The rejected timestamp in milliseconds.
        timestamp: i64,
    },
    /// A sample is older than what the head still accepts (its range was already written to a block).
    #[error("out of bounds sample for series {series} at timestamp {timestamp}: older than {min_valid}")]
    OutOfBounds {
        /// The series as text.
        series: String,
        /// The rejected timestamp in milliseconds.
        timestamp: i64,
        /// The oldest timestamp the head accepts.
        min_valid: i64,
    },
    /// A sample is further in the future than the head accepts.
    #[error("sample for series {series} at timestamp {timestamp} is too far in the future (after {max_valid})")]
    TooFarInFuture {
        /// The series as text.
        series: String,
        /// The rejected timestamp in milliseconds.
        timestamp: i64,
        /// The newest timestamp accepted at the time of the append.
        max_valid: i64,
    },
    /// The database has been closed.
    #[error("database is closed")]
    Closed,
    /// An argument was invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// Builds a corruption error for `path`.
    pub fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::DataCorruption {
            path: path.into(),
            detail: detail.into(),
        }
    }
}
