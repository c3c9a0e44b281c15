//! Whole-system scrape benchmark: Loupe against Prometheus on the same synthetic targets.
//!
//! [`run`] starts the deterministic targets ([`server`], [`exposition`]) in this process, writes one
//! `prometheus.yml`-style file listing them ([`config_yaml`]), then runs each system in turn — never both
//! at once — for a warm-up and a measured window ([`runner`]), and summarises CPU seconds per million
//! samples ingested, memory and disk ([`report`]).

pub mod exposition;
mod harness;
pub mod process;
pub mod report;
pub mod runner;
pub mod server;

pub use harness::{Settings, config_yaml, prometheus_version, run};
