//! Loupe's pull side.
//!
//! - [`exposition`]: the parser of Prometheus text format 0.0.4 and OpenMetrics 1.0 text, turning a
//!   response into [`Entry`] values (samples and `# HELP` / `# TYPE` / `# UNIT` metadata). Also used by
//!   `loupe import` and `POST /api/v1/import/prometheus`.
//! - [`relabel`]: Prometheus relabeling, every action.
//! - [`target`] and [`discovery`]: target groups (static or from files) become [`Target`]s with
//!   their labels and URL.
//! - [`scrape`]: the per-target loop and the [`SeriesCache`] that turns a response into appends,
//!   staleness markers and the `up` / `scrape_*` series.
//! - [`manager`]: one pool per job; applies a new job list on reload without restarting unchanged
//!   targets.
//!
//! The crate knows no configuration file: the binary parses YAML and hands over [`JobConfig`]s.
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

pub mod client;
pub mod discovery;
pub mod duration;
pub mod error;
pub mod exposition;
pub mod logs;
pub mod manager;
pub mod relabel;
pub mod scrape;
pub mod target;
mod tls;

pub use error::Error;
pub use exposition::{Entry, Exemplar, Format, MetricType, ParsedSample, Parser, format_from_content_type, parse_all};
pub use manager::{JobConfig, ScrapeManager};
pub use scrape::SeriesCache;
pub use target::{ScrapeSettings, Target, TargetGroup};

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
