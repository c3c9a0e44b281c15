//! Loupe's query languages, without I/O.
//!
//! - [`promql`]: the PromQL parser (nom), its syntax tree and canonical printer, and the evaluation
//!   engine, which reads series through the [`promql::eval::Storage`] trait (implemented over the
//!   TSDB's querier by the binary, and in memory by the conformance tests).
//! - [`logql`]: the LogQL parser, its syntax tree and canonical printer.
#![warn(missing_docs)]

pub mod error;
pub mod logql;
pub mod promql;

pub use error::Error;
