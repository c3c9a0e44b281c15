//! PromQL: parsing queries into a typed syntax tree and printing them back.
//!
//! [`parse`] turns query text into an [`Expr`] (type-checked like Prometheus 3.x);
//! `Expr`'s `Display` prints the canonical form that Prometheus's `format_query` returns.

pub mod ast;
pub mod eval;
pub mod functions;
pub mod lexer;
pub mod parser;
mod parser_ops;
pub mod printer;
pub mod promqltest;

#[cfg(test)]
mod parse_tests;

pub use ast::{
    AggregateOp, AtModifier, BinaryOp, Cardinality, Expr, MatrixSelector, Subquery, UnaryOp, ValueType, VectorMatching,
    VectorSelector,
};
pub use functions::{FUNCTIONS, Function, function};
pub use parser::{MAX_NESTING, MAX_TREE_HEIGHT, ParseError, parse};
