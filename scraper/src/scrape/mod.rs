//! Scraping one target: the loop ([`LoopHandle`]) and how a response becomes samples
//! ([`SeriesCache`]).

mod append;
mod run;
#[cfg(test)]
mod tests;

pub use append::{MetricMetadata, ScrapeOutcome, SeriesCache};
pub use run::{Health, LoopHandle, TIMESTAMP_TOLERANCE_MS, TargetStatus, align_timestamp, now_ms, scrape_offset};
