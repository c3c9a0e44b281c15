//! LogQL: parsing Loki queries into a checked syntax tree, printing them back, and evaluating
//! them ([`eval`]).
//!
//! [`parse`] turns query text into an [`Expr`]: a log query ([`LogExpr`]: a stream selector and
//! its pipeline) or a metric query ([`MetricExpr`]), checked as Loki 3.x checks them at parse
//! time. `Display` on the tree prints Loki's canonical form (see [`printer`]).
//!
//! Stream matchers and string label filters use [`tsdb::Matcher`], whose regexes are anchored at
//! both ends and compiled with `(?s)` (`.` matches `\n`), like the Prometheus matchers Loki uses.
//! Line-filter regexes (`|~`, `!~`) are unanchored and do not get `(?s)`.

pub mod ast;
pub mod eval;
pub mod lexer;
pub mod logqltest;
pub mod parser;
mod parser_ops;
mod parser_pipeline;
pub mod printer;

#[cfg(test)]
mod parse_props;
#[cfg(test)]
mod parse_tests;

pub use ast::{
    BinaryOp, Cardinality, CmpOp, Expr, Extraction, FilterValue, Grouping, LabelFilterExpr, LabelFormat,
    LabelFormatValue, LabelSelect, LineFilterOp, LogExpr, MetricExpr, ParserStage, RangeAggregation, RangeOp, Stage,
    UnwrapConversion, VectorAggregation, VectorMatching, VectorOp,
};
pub use parser::{ParseError, parse};
