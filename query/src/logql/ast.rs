//! The LogQL syntax tree produced by [`parse`](super::parse).
//!
//! A query is either a log query ([`LogExpr`]: a stream selector and a pipeline) or a metric
//! query ([`MetricExpr`]). Durations are nanoseconds. Parentheses are not kept: binary
//! operations print fully parenthesised, as Loki does, so the tree alone fixes the meaning.

use tsdb::Matcher;

/// A parsed LogQL query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A query returning log lines.
    Log(LogExpr),
    /// A query returning samples.
    Metric(MetricExpr),
}

/// A stream selector followed by a pipeline: `{app="foo"} |= "err" | json`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    /// The stream matchers inside `{…}`, in written order.
    pub matchers: Vec<Matcher>,
    /// The pipeline stages, in written order. [`Stage::Unwrap`] only occurs inside a range
    /// aggregation, and is followed by label filters only.
    pub stages: Vec<Stage>,
}

impl LogExpr {
    /// Literal strings every matching line must contain, for the store to pre-filter on: for
    /// each `|= "text"` with one non-empty value (and each `|~` whose regex is a plain literal
    /// without flags), up to the first stage that rewrites the line or its labels (a parser,
    /// `line_format`, `label_format`, `decolorize`, `drop`, `keep` or `unwrap`).
    pub fn line_filter_needles(&self) -> Vec<String> {
        let mut out = Vec::new();
        for stage in &self.stages {
            match stage {
                Stage::LineFilter { op, values } => {
                    let [FilterValue::Str(s)] = values.as_slice() else {
                        continue;
                    };
                    let literal = match op {
                        LineFilterOp::Contains => true,
                        LineFilterOp::Regex => !s.contains(|c: char| r"\.+*?()|[]{}^$".contains(c)),
                        _ => false,
                    };
                    if literal && !s.is_empty() {
                        out.push(s.clone());
                    }
                }
                Stage::LabelFilter(_) => {}
                _ => break,
            }
        }
        out
    }
}

/// One pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "a" or "b"`, `!= "a"`, `|~ "re"`, `!~ "re"`, `|> "<_> x"`, `!> "…"`. Negative
    /// filters always hold one value: `!= "a" or "b"` parses as `!= "a" != "b"`, as in Loki.
    LineFilter {
        /// The operator.
        op: LineFilterOp,
        /// The alternatives (at least one); a line passes a positive filter if any matches.
        values: Vec<FilterValue>,
    },
    /// `| json`, `| logfmt`, `| regexp "…"`, `| pattern "…"`, `| unpack`.
    Parser(ParserStage),
    /// `| status >= 400 and level="error"`.
    LabelFilter(LabelFilterExpr),
    /// `| line_format "{{.a}}"`: the template text.
    LineFormat(String),
    /// `| label_format dst=src, x="{{.y}}"`.
    LabelFormat(Vec<LabelFormat>),
    /// `| drop a, b="v"`.
    Drop(Vec<LabelSelect>),
    /// `| keep a, b="v"`.
    Keep(Vec<LabelSelect>),
    /// `| decolorize`: strips ANSI colour sequences from the line.
    Decolorize,
    /// `| unwrap x`, `| unwrap duration(x)`, `| unwrap bytes(x)`: the sample value of a range
    /// aggregation.
    Unwrap {
        /// The label holding the value.
        label: String,
        /// How to convert the label's value, when not a plain float.
        conversion: Option<UnwrapConversion>,
    },
}

/// The operator of a line filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineFilterOp {
    /// `|=`: the line contains the text.
    Contains,
    /// `!=`: the line does not contain the text.
    NotContains,
    /// `|~`: the (unanchored) regex matches the line.
    Regex,
    /// `!~`: the regex does not match the line.
    NotRegex,
    /// `|>`: the pattern matches the whole line.
    Pattern,
    /// `!>`: the pattern does not match the line.
    NotPattern,
}

impl LineFilterOp {
    /// The operator's text: `|=`, `!=`, `|~`, `!~`, `|>` or `!>`.
    pub fn as_str(self) -> &'static str {
        match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Regex => "|~",
            LineFilterOp::NotRegex => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        }
    }

    /// True for `!=`, `!~` and `!>`.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            LineFilterOp::NotContains | LineFilterOp::NotRegex | LineFilterOp::NotPattern
        )
    }
}

/// One value of a line filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FilterValue {
    /// A string, regex or pattern, depending on the operator.
    Str(String),
    /// `ip("10.0.0.0/8")`: an address, a CIDR range or an `a-b` range (only with `|=` / `!=`).
    Ip(String),
}

/// A parser stage.
#[derive(Debug, Clone, PartialEq)]
pub enum ParserStage {
    /// `| json` (all fields) or `| json a="p.q[0]", b` (only these).
    Json(Vec<Extraction>),
    /// `| logfmt [--strict] [--keep-empty] [a="k", b]`.
    Logfmt {
        /// `--strict`: stop at the first malformed pair.
        strict: bool,
        /// `--keep-empty`: keep standalone keys as empty labels.
        keep_empty: bool,
        /// The fields to extract; empty means all.
        extractions: Vec<Extraction>,
    },
    /// `| regexp "(?P<name>…)"`: the expression (with at least one named group).
    Regexp(String),
    /// `| pattern "<a> <_> <b>"`: the pattern (with at least one named capture).
    Pattern(String),
    /// `| unpack`: unpacks a line packed by Promtail's `pack` stage.
    Unpack,
}

/// `label="expression"` of `json` / `logfmt`; a bare `b` means `b="b"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extraction {
    /// The label to create.
    pub label: String,
    /// The JSON path (`p.q[0]`, `["a b"]`) or logfmt key.
    pub expr: String,
}

/// A comparison operator of a numeric, duration or bytes label filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==` (also written `=`).
    Eq,
    /// `!=`.
    Neq,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
}

impl CmpOp {
    /// The operator's canonical text.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
        }
    }
}

/// A label filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilterExpr {
    /// Both sides must pass (`and`, `,` or juxtaposition).
    And(Box<LabelFilterExpr>, Box<LabelFilterExpr>),
    /// Either side must pass.
    Or(Box<LabelFilterExpr>, Box<LabelFilterExpr>),
    /// A string comparison `a="x"`, `a!="x"`, `a=~"re"`, `a!~"re"` (regexes fully anchored).
    Matcher(Matcher),
    /// `a=ip("10.0.0.0/8")` or `a!=ip("…")`.
    Ip {
        /// The label.
        label: String,
        /// True for `!=`.
        negated: bool,
        /// The address, CIDR or range.
        pattern: String,
    },
    /// `status >= 400`: the label parsed as a float.
    Number {
        /// The label.
        label: String,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side.
        value: f64,
    },
    /// `duration > 1.5s`: the label parsed as a Go duration.
    Duration {
        /// The label.
        label: String,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side, in nanoseconds.
        ns: i64,
    },
    /// `size < 20MB`: the label parsed as a byte size.
    Bytes {
        /// The label.
        label: String,
        /// The comparison.
        op: CmpOp,
        /// The right-hand side, in bytes.
        bytes: u64,
    },
}

/// One `dst=…` item of `label_format`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LabelFormat {
    /// The label to set.
    pub dst: String,
    /// Its new value.
    pub value: LabelFormatValue,
}

/// The value of a `label_format` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LabelFormatValue {
    /// `dst=src`: rename `src` to `dst`.
    Rename(String),
    /// `dst="{{.a}}-{{.b}}"`: a template.
    Template(String),
}

/// One item of `drop` / `keep`.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelSelect {
    /// A label name.
    Name(String),
    /// A label with a condition on its value (`b="v"`).
    Matcher(Matcher),
}

/// The conversion of `| unwrap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnwrapConversion {
    /// `bytes(x)`: `1.5KiB`-like values.
    Bytes,
    /// `duration(x)`: Go durations, as seconds.
    Duration,
    /// `duration_seconds(x)`: same as `duration`.
    DurationSeconds,
}

impl UnwrapConversion {
    /// The conversion's name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnwrapConversion::Bytes => "bytes",
            UnwrapConversion::Duration => "duration",
            UnwrapConversion::DurationSeconds => "duration_seconds",
        }
    }
}

/// A query returning samples.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    /// `count_over_time({…} |= "x" [5m])` and friends.
    RangeAggregation(RangeAggregation),
    /// `sum by (l) (…)` and friends.
    VectorAggregation(VectorAggregation),
    /// `lhs op rhs`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<MetricExpr>,
        /// The right operand.
        rhs: Box<MetricExpr>,
        /// The `bool` modifier of a comparison.
        return_bool: bool,
        /// `on(…)` / `ignoring(…)` and `group_left` / `group_right`, when written.
        matching: Option<VectorMatching>,
    },
    /// A number. Operations between two literals are folded at parse time, as in Loki.
    Literal(f64),
    /// `vector(1)`.
    Vector(f64),
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    LabelReplace {
        /// The input.
        expr: Box<MetricExpr>,
        /// The label to write.
        dst: String,
        /// The replacement, with `$1`-style references.
        replacement: String,
        /// The label to read.
        src: String,
        /// The regex, anchored at both ends.
        regex: String,
    },
}

/// A range aggregation over a log range.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeAggregation {
    /// The operation.
    pub op: RangeOp,
    /// The parameter of `quantile_over_time`.
    pub param: Option<f64>,
    /// The selector and pipeline, including any `| unwrap` stage.
    pub log: LogExpr,
    /// The range, in nanoseconds.
    pub range_ns: i64,
    /// The `offset`, in nanoseconds (0 when absent).
    pub offset_ns: i64,
    /// `by (…)` / `without (…)` after the call, where the operation allows it.
    pub grouping: Option<Grouping>,
}

/// A range aggregation operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `count_over_time`.
    CountOverTime,
    /// `rate`.
    Rate,
    /// `rate_counter` (unwrap only).
    RateCounter,
    /// `bytes_over_time`.
    BytesOverTime,
    /// `bytes_rate`.
    BytesRate,
    /// `absent_over_time`.
    AbsentOverTime,
    /// `sum_over_time` (unwrap only).
    SumOverTime,
    /// `avg_over_time` (unwrap only).
    AvgOverTime,
    /// `min_over_time` (unwrap only).
    MinOverTime,
    /// `max_over_time` (unwrap only).
    MaxOverTime,
    /// `first_over_time` (unwrap only).
    FirstOverTime,
    /// `last_over_time` (unwrap only).
    LastOverTime,
    /// `stddev_over_time` (unwrap only).
    StddevOverTime,
    /// `stdvar_over_time` (unwrap only).
    StdvarOverTime,
    /// `quantile_over_time(φ, …)` (unwrap only).
    QuantileOverTime,
}

/// Every range operation, for lookups by name.
pub const RANGE_OPS: [RangeOp; 15] = [
    RangeOp::CountOverTime,
    RangeOp::Rate,
    RangeOp::RateCounter,
    RangeOp::BytesOverTime,
    RangeOp::BytesRate,
    RangeOp::AbsentOverTime,
    RangeOp::SumOverTime,
    RangeOp::AvgOverTime,
    RangeOp::MinOverTime,
    RangeOp::MaxOverTime,
    RangeOp::FirstOverTime,
    RangeOp::LastOverTime,
    RangeOp::StddevOverTime,
    RangeOp::StdvarOverTime,
    RangeOp::QuantileOverTime,
];

impl RangeOp {
    /// The operation's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::CountOverTime => "count_over_time",
            RangeOp::Rate => "rate",
            RangeOp::RateCounter => "rate_counter",
            RangeOp::BytesOverTime => "bytes_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::AbsentOverTime => "absent_over_time",
            RangeOp::SumOverTime => "sum_over_time",
            RangeOp::AvgOverTime => "avg_over_time",
            RangeOp::MinOverTime => "min_over_time",
            RangeOp::MaxOverTime => "max_over_time",
            RangeOp::FirstOverTime => "first_over_time",
            RangeOp::LastOverTime => "last_over_time",
            RangeOp::StddevOverTime => "stddev_over_time",
            RangeOp::StdvarOverTime => "stdvar_over_time",
            RangeOp::QuantileOverTime => "quantile_over_time",
        }
    }

    /// The operation called `name`, if any.
    pub fn from_name(name: &str) -> Option<RangeOp> {
        RANGE_OPS.into_iter().find(|op| op.as_str() == name)
    }

    /// True when the operation may be applied to an unwrapped range.
    pub fn allows_unwrap(self) -> bool {
        !matches!(
            self,
            RangeOp::CountOverTime | RangeOp::BytesOverTime | RangeOp::BytesRate
        )
    }

    /// True when the operation may be applied to a range without `| unwrap`.
    pub fn allows_plain(self) -> bool {
        matches!(
            self,
            RangeOp::CountOverTime
                | RangeOp::Rate
                | RangeOp::BytesOverTime
                | RangeOp::BytesRate
                | RangeOp::AbsentOverTime
        )
    }

    /// True when `by (…)` / `without (…)` may follow the operation (as in Loki).
    pub fn allows_grouping(self) -> bool {
        matches!(
            self,
            RangeOp::AvgOverTime
                | RangeOp::StddevOverTime
                | RangeOp::StdvarOverTime
                | RangeOp::QuantileOverTime
                | RangeOp::MaxOverTime
                | RangeOp::MinOverTime
                | RangeOp::FirstOverTime
                | RangeOp::LastOverTime
        )
    }
}

/// `by (…)` or `without (…)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Grouping {
    /// The label names.
    pub labels: Vec<String>,
    /// True for `without`.
    pub without: bool,
}

/// A vector aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorAggregation {
    /// The operation.
    pub op: VectorOp,
    /// The `k` of `topk`, `bottomk` and `approx_topk` (always positive).
    pub param: Option<i64>,
    /// `by (…)` / `without (…)`; `by ()` is stored as `None` (it means the same).
    pub grouping: Option<Grouping>,
    /// The aggregated expression.
    pub expr: Box<MetricExpr>,
}

/// A vector aggregation operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VectorOp {
    /// `sum`.
    Sum,
    /// `avg`.
    Avg,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `count`.
    Count,
    /// `stddev`.
    Stddev,
    /// `stdvar`.
    Stdvar,
    /// `topk`.
    Topk,
    /// `bottomk`.
    Bottomk,
    /// `sort`.
    Sort,
    /// `sort_desc`.
    SortDesc,
    /// `approx_topk` (no grouping allowed).
    ApproxTopk,
}

/// Every vector operation, for lookups by name.
pub const VECTOR_OPS: [VectorOp; 12] = [
    VectorOp::Sum,
    VectorOp::Avg,
    VectorOp::Min,
    VectorOp::Max,
    VectorOp::Count,
    VectorOp::Stddev,
    VectorOp::Stdvar,
    VectorOp::Topk,
    VectorOp::Bottomk,
    VectorOp::Sort,
    VectorOp::SortDesc,
    VectorOp::ApproxTopk,
];

impl VectorOp {
    /// The operation's name.
    pub fn as_str(self) -> &'static str {
        match self {
            VectorOp::Sum => "sum",
            VectorOp::Avg => "avg",
            VectorOp::Min => "min",
            VectorOp::Max => "max",
            VectorOp::Count => "count",
            VectorOp::Stddev => "stddev",
            VectorOp::Stdvar => "stdvar",
            VectorOp::Topk => "topk",
            VectorOp::Bottomk => "bottomk",
            VectorOp::Sort => "sort",
            VectorOp::SortDesc => "sort_desc",
            VectorOp::ApproxTopk => "approx_topk",
        }
    }

    /// The operation called `name`, if any.
    pub fn from_name(name: &str) -> Option<VectorOp> {
        VECTOR_OPS.into_iter().find(|op| op.as_str() == name)
    }

    /// True for the operations taking a `k` parameter.
    pub fn takes_param(self) -> bool {
        matches!(self, VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk)
    }
}

/// A binary operator: LogQL's are PromQL's (without `atan2`).
pub use crate::promql::ast::BinaryOp;

/// How the series of the two sides of a binary operation are matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VectorMatching {
    /// True for `on(…)`, false for `ignoring(…)`.
    pub on: bool,
    /// The labels of `on` / `ignoring`.
    pub labels: Vec<String>,
    /// `group_left` / `group_right`, if any.
    pub card: Cardinality,
    /// The extra labels of `group_left(…)` / `group_right(…)`.
    pub include: Vec<String>,
}

/// The cardinality of a vector matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// No grouping modifier.
    OneToOne,
    /// `group_left`.
    ManyToOne,
    /// `group_right`.
    OneToMany,
}
