//! PromQL evaluation: the numeric kernels and (soon) the engine that walks the syntax tree.

pub mod math_fns;
pub mod range_fns;
mod value;

pub use value::{InstantSample, MemoryStorage, QueryResult, Series, Storage, TsdbStorage, Value};
