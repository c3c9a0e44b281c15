//! PromQL evaluation: the numeric kernels and the engine that walks the syntax tree.

mod agg_fast;
mod aggregate;
mod binary;
mod calls;
mod engine;
mod histogram;
mod info;
mod label_calls;
pub mod math_fns;
mod range_calls;
pub mod range_fns;
mod selectors;
mod subquery;
mod value;

#[cfg(test)]
mod engine_tests;

/// Binary operators on evaluated operands, shared with the LogQL engine.
pub(crate) use binary::eval as binary_eval;
pub(crate) use engine::{Elem, Val};
pub use engine::{Engine, EngineOptions, check_resolution};
pub use value::{InstantSample, MemoryStorage, QueryResult, Series, Storage, TsdbStorage, Value};
