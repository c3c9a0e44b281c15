//! LogQL evaluation: pipelines over log lines and metric queries over steps.
//!
//! [`Engine`] reads lines from a [`LogSource`] (the tantivy log store, or [`MemorySource`]),
//! runs each query's compiled [`Pipeline`] on them and returns a [`QueryValue`]: entries for a
//! log query, series for a metric query. Line filters become index pre-filters ([`accel`]);
//! every candidate line is still checked exactly.

pub mod accel;
mod engine;
pub mod filters;
pub mod ip;
pub mod labels;
mod metric;
pub mod parsers;
pub mod pipeline;
mod range;
pub mod source;
pub mod template;

pub use engine::{Engine, EngineOptions, LogEntry, MetricSeries, QueryParams, QueryValue};
pub use labels::LineLabels;
pub use metric::Steps;
pub use pipeline::Pipeline;
pub use source::{LineCursor, LogSource, MemorySource, MetaCursor};
