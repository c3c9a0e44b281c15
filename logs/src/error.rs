//! The crate's error type.
//!
//! Every fallible operation of the logs crate returns [`Error`]. Messages are lowercase and name the
//! input that failed; the binary maps [`Error::Push`] to a plain-text 400, [`Error::TooLarge`] to 413
//! and [`Error::Limit`] to 429, as Loki does.

/// An error of the logs crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A push request body could not be decoded (bad JSON, protobuf, compression, labels, timestamps).
    #[error("{0}")]
    Push(String),
    /// A push request or one of its lines is larger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A push request breaks a rate or stream limit.
    #[error("{0}")]
    Limit(String),
    /// A file on disk (WAL, checkpoint, index metadata) is corrupt or was written by another version.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file that failed.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// An I/O operation on the store's directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// tantivy failed.
    #[error("index {path}: {source}")]
    Index {
        /// The index directory.
        path: String,
        /// The underlying error.
        source: tantivy::TantivyError,
    },
    /// A query argument is invalid (bad matcher, empty selector, inverted time range).
    #[error("{0}")]
    Query(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// An [`Error::Index`] for the index at `path`.
    pub fn index(path: impl AsRef<std::path::Path>, source: tantivy::TantivyError) -> Error {
        Error::Index {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
