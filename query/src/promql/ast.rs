//! The PromQL syntax tree produced by [`parse`](super::parse).
//!
//! Durations (ranges, offsets, subquery steps) are `i64` milliseconds; `@` timestamps are
//! milliseconds since the epoch. Every node knows its [`ValueType`].

use tsdb::Matcher;

use super::functions::Function;

/// The type an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A single float.
    Scalar,
    /// An instant vector: one sample per series.
    Vector,
    /// A range vector: a window of samples per series.
    Matrix,
    /// A string.
    String,
}

impl ValueType {
    /// The name Prometheus uses in type errors: `scalar`, `instant vector`, `range vector`, `string`.
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }

    /// The short name Prometheus uses in its API: `scalar`, `vector`, `matrix`, `string`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }
}

/// Where an expression was written in the query: a byte range plus the 1-based line and column
/// (in bytes) of its start, which annotations print as `(line:col)` like Prometheus.
///
/// Positions are metadata: any two ranges compare equal (and hash alike), so syntax trees
/// compare by meaning. Test positions by comparing their fields. The default (line 0) means
/// "unknown": the expression was not parsed from text.
#[derive(Debug, Clone, Copy, Default)]
pub struct PosRange {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// 1-based line of `start`; 0 when unknown.
    pub line: usize,
    /// 1-based column (in bytes) of `start` within its line.
    pub col: usize,
}

impl PosRange {
    /// True when the range came from parsed text.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

impl PartialEq for PosRange {
    /// Always true: positions never make two syntax trees differ.
    fn eq(&self, _other: &PosRange) -> bool {
        true
    }
}

impl Eq for PosRange {}

impl std::hash::Hash for PosRange {
    /// Hashes nothing, consistent with `eq`.
    fn hash<H: std::hash::Hasher>(&self, _state: &mut H) {}
}

impl std::fmt::Display for PosRange {
    /// `line:col`, the form Prometheus appends to annotations.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// The `@` modifier of a selector or subquery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtModifier {
    /// `@ <unix seconds>`, stored in milliseconds.
    Timestamp(i64),
    /// `@ start()`: the start of the range query.
    Start,
    /// `@ end()`: the end of the range query.
    End,
}

/// An instant vector selector such as `http_requests_total{job="api"} offset 5m`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    /// The metric name when given outside the braces (or as a lone quoted name inside them).
    pub name: Option<String>,
    /// All matchers in written order; when `name` is set, its `__name__="…"` matcher is last.
    pub matchers: Vec<Matcher>,
    /// The offset in milliseconds (negative looks ahead); 0 when absent.
    pub offset: i64,
    /// The `@` modifier, if any.
    pub at: Option<AtModifier>,
}

/// A range vector selector: `<vector selector>[<range>]`; offset and `@` live in `vs`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    /// The selector whose samples are windowed.
    pub vs: VectorSelector,
    /// The window length in milliseconds (always > 0).
    pub range: i64,
}

/// A subquery: `<instant expr>[<range>:<step>]` with optional offset and `@`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    /// The instant-vector expression evaluated at each step.
    pub expr: Box<Expr>,
    /// The window length in milliseconds.
    pub range: i64,
    /// The resolution in milliseconds; `None` means the engine's default.
    pub step: Option<i64>,
    /// The offset in milliseconds; 0 when absent.
    pub offset: i64,
    /// The `@` modifier, if any.
    pub at: Option<AtModifier>,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Pos,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `^` (right-associative).
    Pow,
    /// `atan2`.
    Atan2,
    /// `==`.
    Eql,
    /// `!=`.
    Neq,
    /// `<=`.
    Lte,
    /// `<`.
    Lss,
    /// `>=`.
    Gte,
    /// `>`.
    Gtr,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `unless`.
    Unless,
}

impl BinaryOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Lte => "<=",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Gtr => ">",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
        }
    }

    /// Binding strength: `or` 1, `and unless` 2, comparisons 3, `+ -` 4, `* / % atan2` 5, `^` 6.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql | BinaryOp::Neq | BinaryOp::Lte | BinaryOp::Lss | BinaryOp::Gte | BinaryOp::Gtr => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Atan2 => 5,
            BinaryOp::Pow => 6,
        }
    }

    /// True only for `^`.
    pub fn is_right_assoc(self) -> bool {
        self == BinaryOp::Pow
    }

    /// True for `== != <= < >= >`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == 3
    }

    /// True for `and or unless`.
    pub fn is_set_operator(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }
}

/// Which side of a vector match may have several series per match group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// Plain matching: one series per group on each side.
    OneToOne,
    /// `group_left`: many series on the left.
    ManyToOne,
    /// `group_right`: many series on the right.
    OneToMany,
    /// Set operators (`and`, `or`, `unless`).
    ManyToMany,
}

/// How the two sides of a vector/vector binary operation are matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VectorMatching {
    /// The match cardinality.
    pub card: Cardinality,
    /// The labels listed after `on` or `ignoring`.
    pub matching_labels: Vec<String>,
    /// True for `on(...)`, false for `ignoring(...)` or no clause.
    pub on: bool,
    /// The extra labels listed after `group_left` / `group_right`.
    pub include: Vec<String>,
}

/// An aggregation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `sum`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `avg`.
    Avg,
    /// `group`.
    Group,
    /// `stddev`.
    Stddev,
    /// `stdvar`.
    Stdvar,
    /// `count`.
    Count,
    /// `count_values` (string parameter).
    CountValues,
    /// `topk` (scalar parameter).
    Topk,
    /// `bottomk` (scalar parameter).
    Bottomk,
    /// `quantile` (scalar parameter).
    Quantile,
    /// `limitk` (scalar parameter; experimental in Prometheus).
    Limitk,
    /// `limit_ratio` (scalar parameter; experimental in Prometheus).
    LimitRatio,
}

impl AggregateOp {
    /// Every aggregation operator.
    pub const ALL: [AggregateOp; 14] = [
        AggregateOp::Sum,
        AggregateOp::Min,
        AggregateOp::Max,
        AggregateOp::Avg,
        AggregateOp::Group,
        AggregateOp::Stddev,
        AggregateOp::Stdvar,
        AggregateOp::Count,
        AggregateOp::CountValues,
        AggregateOp::Topk,
        AggregateOp::Bottomk,
        AggregateOp::Quantile,
        AggregateOp::Limitk,
        AggregateOp::LimitRatio,
    ];

    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Avg => "avg",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Count => "count",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::Quantile => "quantile",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// Looks an operator up by name, ignoring ASCII case like Prometheus's lexer.
    pub fn from_name(name: &str) -> Option<AggregateOp> {
        AggregateOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(name))
    }

    /// The type of the leading parameter, if the operator takes one.
    pub fn param_type(self) -> Option<ValueType> {
        match self {
            AggregateOp::CountValues => Some(ValueType::String),
            AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Quantile
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio => Some(ValueType::Scalar),
            _ => None,
        }
    }
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A float literal (a duration literal in expression position becomes its seconds).
    NumberLiteral(f64),
    /// A string literal, unescaped.
    StringLiteral(String),
    /// An instant vector selector.
    VectorSelector(VectorSelector),
    /// A range vector selector.
    MatrixSelector(MatrixSelector),
    /// A subquery.
    Subquery(Subquery),
    /// `-x` or `+x` (a sign on a number literal is folded into the literal instead).
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand (scalar or instant vector).
        expr: Box<Expr>,
    },
    /// `lhs op [bool] [on|ignoring (…)] [group_left|group_right (…)] rhs`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
        /// True when `bool` was given (comparisons only).
        return_bool: bool,
        /// Present exactly when both operands are instant vectors.
        matching: Option<VectorMatching>,
    },
    /// `op [by|without (…)] ([param,] expr)`.
    Aggregate {
        /// The operator.
        op: AggregateOp,
        /// The aggregated instant vector.
        expr: Box<Expr>,
        /// The parameter of `topk`, `bottomk`, `quantile`, `count_values`, `limitk`, `limit_ratio`.
        param: Option<Box<Expr>>,
        /// The labels of the `by` / `without` clause.
        grouping: Vec<String>,
        /// True for `without`.
        without: bool,
        /// Where `param` was written (default when there is none); annotations about it cite it.
        param_pos: PosRange,
    },
    /// A function call.
    Call {
        /// The function, from [`FUNCTIONS`](super::functions::FUNCTIONS).
        func: &'static Function,
        /// The arguments, type-checked against the function's signature.
        args: Vec<Expr>,
        /// Where each argument was written (same length as `args` when parsed; may be empty when
        /// built by hand); annotations about an argument cite it.
        arg_pos: Vec<PosRange>,
    },
    /// `(expr)`.
    Paren(Box<Expr>),
}

impl Expr {
    /// The type this expression evaluates to.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::NumberLiteral(_) => ValueType::Scalar,
            Expr::StringLiteral(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate { .. } => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Unary { expr, .. } | Expr::Paren(expr) => expr.value_type(),
            Expr::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Call { func, .. } => func.return_type,
        }
    }

    /// Where argument `i` of a call was written; unknown when not recorded.
    pub fn arg_pos(&self, i: usize) -> PosRange {
        match self {
            Expr::Call { arg_pos, .. } => arg_pos.get(i).copied().unwrap_or_default(),
            _ => PosRange::default(),
        }
    }

    /// Resets every recorded position to unknown, so `Debug` output compares by meaning.
    pub fn clear_positions(&mut self) {
        match self {
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
            Expr::Subquery(sq) => sq.expr.clear_positions(),
            Expr::Unary { expr, .. } | Expr::Paren(expr) => expr.clear_positions(),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.clear_positions();
                rhs.clear_positions();
            }
            Expr::Aggregate {
                expr, param, param_pos, ..
            } => {
                *param_pos = PosRange::default();
                expr.clear_positions();
                if let Some(p) = param {
                    p.clear_positions();
                }
            }
            Expr::Call { args, arg_pos, .. } => {
                arg_pos.iter_mut().for_each(|p| *p = PosRange::default());
                args.iter_mut().for_each(Expr::clear_positions);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_order_matches_prometheus() {
        assert!(BinaryOp::Pow.precedence() > BinaryOp::Mul.precedence());
        assert_eq!(BinaryOp::Atan2.precedence(), BinaryOp::Mod.precedence());
        assert!(BinaryOp::Add.precedence() > BinaryOp::Gtr.precedence());
        assert!(BinaryOp::Eql.precedence() > BinaryOp::And.precedence());
        assert_eq!(BinaryOp::Unless.precedence(), BinaryOp::And.precedence());
        assert!(BinaryOp::And.precedence() > BinaryOp::Or.precedence());
        assert!(BinaryOp::Pow.is_right_assoc() && !BinaryOp::Sub.is_right_assoc());
    }

    #[test]
    fn aggregate_names_are_case_insensitive() {
        assert_eq!(AggregateOp::from_name("SUM"), Some(AggregateOp::Sum));
        assert_eq!(AggregateOp::from_name("limit_ratio"), Some(AggregateOp::LimitRatio));
        assert_eq!(AggregateOp::from_name("rate"), None);
        assert_eq!(AggregateOp::CountValues.param_type(), Some(ValueType::String));
        assert_eq!(AggregateOp::Sum.param_type(), None);
    }

    #[test]
    fn value_types() {
        let n = Expr::NumberLiteral(1.0);
        let bin = Expr::Binary {
            op: BinaryOp::Add,
            lhs: Box::new(n.clone()),
            rhs: Box::new(Expr::Paren(Box::new(n.clone()))),
            return_bool: false,
            matching: None,
        };
        assert_eq!(bin.value_type(), ValueType::Scalar);
        assert_eq!(Expr::StringLiteral("a".into()).value_type(), ValueType::String);
        assert_eq!(ValueType::Matrix.documented(), "range vector");
    }

    #[test]
    fn positions_never_affect_equality() {
        let at = |start, line, col| PosRange {
            start,
            end: start + 1,
            line,
            col,
        };
        assert_eq!(at(0, 1, 1), at(7, 2, 3));
        assert_eq!(at(7, 2, 3).to_string(), "2:3");
        assert!(!PosRange::default().is_known());
        let call = |pos| Expr::Call {
            func: crate::promql::functions::function("abs").expect("abs exists"),
            args: vec![Expr::NumberLiteral(1.0)],
            arg_pos: vec![pos],
        };
        let mut a = call(at(4, 1, 5));
        assert_eq!(a, call(at(9, 3, 1)));
        assert_eq!(a.arg_pos(0).col, 5);
        assert!(!a.arg_pos(1).is_known());
        a.clear_positions();
        assert_eq!(format!("{a:?}"), format!("{:?}", call(PosRange::default())));
    }
}
