//! Loupe's pull side.
//!
//! Today this crate holds the exposition-format parser ([`exposition`]): it turns Prometheus text
//! format 0.0.4 and OpenMetrics 1.0 text into [`Entry`] values (samples with their labels, and the
//! `# HELP` / `# TYPE` / `# UNIT` metadata) without depending on the storage engine's types. It is used
//! by `loupe import` and `POST /api/v1/import/prometheus` to backfill data, and later by the scrape loop.
//!
//! ```
//! use scraper::{Entry, Format, parse_all};
//!
//! let entries = parse_all("up{job=\"node\"} 1 1700000000000\n", Format::PrometheusText)?;
//! let Entry::Sample(sample) = &entries[0] else { unreachable!() };
//! assert_eq!(sample.name, "up");
//! assert_eq!(sample.timestamp_ms, Some(1_700_000_000_000));
//! # Ok::<(), scraper::Error>(())
//! ```
#![warn(missing_docs)]

pub mod error;
pub mod exposition;

pub use error::Error;
pub use exposition::{Entry, Exemplar, Format, MetricType, ParsedSample, Parser, format_from_content_type, parse_all};

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
