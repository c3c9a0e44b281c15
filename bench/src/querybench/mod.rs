//! Bulk import and query latency: Loupe against VictoriaMetrics and Prometheus on one dataset.
//!
//! [`run`] generates a deterministic dataset ([`dataset`]) as Prometheus text with millisecond
//! timestamps; Prometheus gets it as blocks made by `promtool` from an OpenMetrics file
//! ([`promtool`]), Loupe and VictoriaMetrics through `POST /api/v1/import/prometheus` ([`systems`]).
//! Once their background work has settled (import time and bytes per sample on disk), each query of
//! [`QUERIES`] is timed on each system in turn (one warm-up, then rotating runs) and Loupe's answers
//! are compared with the peers' ([`compare`]): Prometheus's must match within a relative 1e-6;
//! VictoriaMetrics' rate-based answers differ by design (it does not extrapolate) and are reported as
//! such. Results go to a [`report::Report`].

pub mod client;
pub mod compare;
pub mod dataset;
mod harness;
pub mod promtool;
pub mod report;
pub mod systems;

pub use harness::{QUERIES, QuerySpec, Settings, run, step_ms};
