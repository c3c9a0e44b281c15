//! The crate's error type.
//!
//! Every fallible operation of the scraper crate returns [`Error`]. Messages are lowercase and name
//! the input that failed, so they can be shown to a user as they are (the targets API shows a failed
//! scrape's error as `lastError`).

/// An error of the scraper crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Exposition text (Prometheus text 0.0.4 or OpenMetrics 1.0 text) could not be parsed.
    #[error("line {line}, column {column}: {reason}")]
    Parse {
        /// 1-based line number of the offending line.
        line: usize,
        /// 1-based column, counted in Unicode characters from the start of the line.
        column: usize,
        /// What was wrong, lowercase, e.g. `expected "=" after label name`.
        reason: String,
    },
    /// The HTTP request failed: connection, status, timeout, TLS or a credentials file.
    #[error("{0}")]
    Http(String),
    /// The response body was larger than the job's `body_size_limit` (bytes, after decompression).
    #[error("body size limit exceeded (limit: {0} bytes)")]
    BodySizeLimit(u64),
    /// The scrape had more samples after metric relabeling than the job's `sample_limit`.
    #[error("sample limit exceeded (limit: {0})")]
    SampleLimit(usize),
    /// A sample broke `label_limit`, `label_name_length_limit` or `label_value_length_limit`.
    #[error("{0}")]
    LabelLimit(String),
    /// A scraped sample cannot be stored (invalid labels, for instance).
    #[error("{0}")]
    Scrape(String),
    /// A relabeling rule or a discovery setting is invalid.
    #[error("{0}")]
    Config(String),
    /// A service-discovery file could not be read or parsed.
    #[error("{0}")]
    Discovery(String),
    /// A container log line (Docker json-file, CRI) or container metadata file could not be parsed.
    #[error("{0}")]
    LogFormat(String),
    /// A log file could not be opened, read or followed.
    #[error("{path}: {reason}")]
    Tail {
        /// The file.
        path: String,
        /// What failed, lowercase.
        reason: String,
    },
}
