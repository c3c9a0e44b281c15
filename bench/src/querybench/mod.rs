//! Query latency benchmark: Loupe against VictoriaMetrics on the same imported dataset.
//!
//! [`run`] generates a deterministic dataset ([`dataset`]) as Prometheus text with millisecond
//! timestamps, imports it into both systems through `POST /api/v1/import/prometheus` ([`systems`]),
//! waits for their background work to settle, then times each query of [`QUERIES`] on each system in
//! turn (one warm-up, then alternating runs) and compares the answers ([`compare`]): `count by` must
//! match exactly; the `rate`-based queries differ by design (VictoriaMetrics does not extrapolate) and
//! are reported as such. Results go to a [`report::Report`].

pub mod client;
pub mod compare;
pub mod dataset;
mod harness;
pub mod report;
pub mod systems;

pub use harness::{QUERIES, QuerySpec, Settings, run, step_ms};
