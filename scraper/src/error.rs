//! The crate's error type.
//!
//! Every fallible operation of the scraper crate returns [`Error`]. Messages are lowercase and name
//! where in the input the problem is, so they can be shown to a user as they are.

/// An error of the scraper crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Exposition text (Prometheus text 0.0.4 or OpenMetrics 1.0) could not be parsed.
    #[error("line {line}, column {column}: {reason}")]
    Parse {
        /// 1-based line number of the offending line.
        line: usize,
        /// 1-based column, counted in Unicode characters from the start of the line.
        column: usize,
        /// What was wrong, lowercase, e.g. `expected "=" after label name`.
        reason: String,
    },
}
