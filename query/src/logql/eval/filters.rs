//! Line filters (`|=`, `!=`, `|~`, `!~`, `|>`, `!>`, `ip(…)`) and label filters, compiled once per
//! query and applied per line.
//!
//! - `|= "a" or "b"` keeps a line containing either value; `!= "a" or "b"` keeps a line containing
//!   neither (Loki negates the whole alternation).
//! - `|~` is an unanchored RE2-style match; `|>` must match the whole line with `<_>` wildcards.
//! - Numeric, duration and bytes label filters skip a line that lacks the label, and let through a
//!   line whose value does not convert after recording `LabelFilterErr`; a line that already
//!   carries an error passes them untouched — only string matchers can test `__error__`.

use regex::Regex;

use super::ip::IpPattern;
use super::labels::{ERROR_DETAILS_LABEL, ERROR_LABEL, LineLabels};
use super::parsers::{Pattern, parse_bytes, parse_duration_seconds, parse_number};
use crate::error::Error;
use crate::logql::ast::{CmpOp, FilterValue, LabelFilterExpr, LineFilterOp};

/// One alternative of a line filter.
#[derive(Debug, Clone)]
enum LineMatch {
    Substring(String),
    Regex(Regex),
    Pattern(Pattern),
    Ip(IpPattern),
}

impl LineMatch {
    fn matches(&self, line: &str) -> bool {
        match self {
            LineMatch::Substring(s) => s.is_empty() || memchr_contains(line, s),
            LineMatch::Regex(r) => r.is_match(line),
            LineMatch::Pattern(p) => p.matches(line),
            LineMatch::Ip(p) => p.matches_line(line),
        }
    }
}

fn memchr_contains(haystack: &str, needle: &str) -> bool {
    haystack.contains(needle)
}

/// A compiled line filter.
#[derive(Debug, Clone)]
pub struct LineFilter {
    negated: bool,
    alternatives: Vec<LineMatch>,
}

impl LineFilter {
    /// Compiles `op values`.
    pub fn compile(op: LineFilterOp, values: &[FilterValue]) -> Result<LineFilter, Error> {
        let mut alternatives = Vec::with_capacity(values.len());
        for value in values {
            alternatives.push(match (op, value) {
                (_, FilterValue::Ip(p)) => LineMatch::Ip(IpPattern::parse(p).map_err(Error::Execution)?),
                (LineFilterOp::Contains | LineFilterOp::NotContains, FilterValue::Str(s)) => {
                    LineMatch::Substring(s.clone())
                }
                (LineFilterOp::Regex | LineFilterOp::NotRegex, FilterValue::Str(s)) => LineMatch::Regex(
                    regex::RegexBuilder::new(s)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| Error::Execution(format!("invalid line filter regex {s:?}: {e}")))?,
                ),
                (LineFilterOp::Pattern | LineFilterOp::NotPattern, FilterValue::Str(s)) => {
                    LineMatch::Pattern(Pattern::parse_line_filter(s).map_err(Error::Execution)?)
                }
            });
        }
        Ok(LineFilter {
            negated: op.is_negative(),
            alternatives,
        })
    }

    /// True when the line passes.
    pub fn keep(&self, line: &str) -> bool {
        self.alternatives.iter().any(|m| m.matches(line)) != self.negated
    }
}

/// Largest compiled size of a regex from a query.
pub const REGEX_SIZE_LIMIT: usize = 10 << 20;

/// A compiled label filter.
#[derive(Debug, Clone)]
pub enum LabelFilter {
    /// Both sides pass.
    And(Box<LabelFilter>, Box<LabelFilter>),
    /// Either side passes.
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// A string matcher.
    Matcher(tsdb::Matcher),
    /// `ip("…")` on a label.
    Ip {
        /// The label.
        label: String,
        /// `!=` instead of `=`.
        negated: bool,
        /// The addresses.
        pattern: IpPattern,
    },
    /// A numeric comparison; `kind` says how the label's value converts.
    Compare {
        /// The label.
        label: String,
        /// The operator.
        op: CmpOp,
        /// The right-hand side, in the unit `kind` converts to.
        value: f64,
        /// The conversion.
        kind: NumberKind,
    },
}

/// How a label filter reads a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// A float.
    Number,
    /// A Go duration, in seconds.
    Duration,
    /// Humanised bytes.
    Bytes,
}

impl LabelFilter {
    /// Compiles the filter.
    pub fn compile(expr: &LabelFilterExpr) -> Result<LabelFilter, Error> {
        Ok(match expr {
            LabelFilterExpr::And(a, b) => {
                LabelFilter::And(Box::new(LabelFilter::compile(a)?), Box::new(LabelFilter::compile(b)?))
            }
            LabelFilterExpr::Or(a, b) => {
                LabelFilter::Or(Box::new(LabelFilter::compile(a)?), Box::new(LabelFilter::compile(b)?))
            }
            LabelFilterExpr::Matcher(m) => LabelFilter::Matcher(m.clone()),
            LabelFilterExpr::Ip {
                label,
                negated,
                pattern,
            } => LabelFilter::Ip {
                label: label.clone(),
                negated: *negated,
                pattern: IpPattern::parse(pattern).map_err(Error::Execution)?,
            },
            LabelFilterExpr::Number { label, op, value } => LabelFilter::Compare {
                label: label.clone(),
                op: *op,
                value: *value,
                kind: NumberKind::Number,
            },
            LabelFilterExpr::Duration { label, op, ns } => LabelFilter::Compare {
                label: label.clone(),
                op: *op,
                value: *ns as f64 / 1e9,
                kind: NumberKind::Duration,
            },
            LabelFilterExpr::Bytes { label, op, bytes } => LabelFilter::Compare {
                label: label.clone(),
                op: *op,
                value: *bytes as f64,
                kind: NumberKind::Bytes,
            },
        })
    }

    /// True when the line passes; may record a conversion error on `labels`.
    pub fn keep(&self, labels: &mut LineLabels) -> bool {
        match self {
            LabelFilter::And(a, b) => a.keep(labels) && b.keep(labels),
            LabelFilter::Or(a, b) => a.keep(labels) || b.keep(labels),
            LabelFilter::Matcher(m) => m.matches(labels.get(m.name()).unwrap_or("")),
            LabelFilter::Ip {
                label,
                negated,
                pattern,
            } => {
                if labels.has_error() {
                    return true;
                }
                let Some(value) = labels.get(label) else {
                    return false;
                };
                pattern.matches_value(value) != *negated
            }
            LabelFilter::Compare { label, op, value, kind } => {
                if labels.has_error() {
                    return true;
                }
                let Some(raw) = labels.get(label) else {
                    return false;
                };
                let converted = match kind {
                    NumberKind::Number => parse_number(raw),
                    NumberKind::Duration => parse_duration_seconds(raw),
                    NumberKind::Bytes => parse_bytes(raw),
                };
                match converted {
                    Some(v) => compare(*op, v, *value),
                    None => {
                        let details = format!("{} filter: cannot convert {raw:?}", kind_name(*kind));
                        labels.set_error("LabelFilterErr", &details);
                        true
                    }
                }
            }
        }
    }

    /// True when this filter only tests the error labels (`| __error__ = ""` and the like).
    pub fn is_error_filter(&self) -> bool {
        match self {
            LabelFilter::Matcher(m) => m.name() == ERROR_LABEL || m.name() == ERROR_DETAILS_LABEL,
            LabelFilter::And(a, b) | LabelFilter::Or(a, b) => a.is_error_filter() && b.is_error_filter(),
            _ => false,
        }
    }
}

fn kind_name(kind: NumberKind) -> &'static str {
    match kind {
        NumberKind::Number => "numeric",
        NumberKind::Duration => "duration",
        NumberKind::Bytes => "bytes",
    }
}

/// Applies a comparison operator.
pub fn compare(op: CmpOp, l: f64, r: f64) -> bool {
    match op {
        CmpOp::Eq => l == r,
        CmpOp::Neq => l != r,
        CmpOp::Gt => l > r,
        CmpOp::Gte => l >= r,
        CmpOp::Lt => l < r,
        CmpOp::Lte => l <= r,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use tsdb::{Labels, MatchType};

    fn line_filter(op: LineFilterOp, values: &[&str]) -> LineFilter {
        let values: Vec<FilterValue> = values.iter().map(|v| FilterValue::Str(v.to_string())).collect();
        LineFilter::compile(op, &values).expect("compiles")
    }

    #[test]
    fn line_filters_and_alternatives() {
        let f = line_filter(LineFilterOp::Contains, &["error", "warn"]);
        assert!(f.keep("an error here"));
        assert!(f.keep("warning"));
        assert!(!f.keep("all good"));
        let f = line_filter(LineFilterOp::NotContains, &["error", "warn"]);
        assert!(!f.keep("an error here"));
        assert!(f.keep("all good"));
        assert!(line_filter(LineFilterOp::Contains, &[""]).keep("anything"));
        assert!(!line_filter(LineFilterOp::NotContains, &[""]).keep("anything"));
        let f = line_filter(LineFilterOp::Regex, &["err(or)?"]);
        assert!(f.keep("xx err yy"));
        assert!(!line_filter(LineFilterOp::Regex, &["^err"]).keep("an err"));
        assert!(!line_filter(LineFilterOp::Contains, &["Error"]).keep("error"));
        assert!(LineFilter::compile(LineFilterOp::Regex, &[FilterValue::Str("(".into())]).is_err());
        let ip = LineFilter::compile(LineFilterOp::Contains, &[FilterValue::Ip("10.0.0.0/8".into())]).expect("ip");
        assert!(ip.keep("from 10.2.3.4"));
        assert!(!ip.keep("from 11.2.3.4"));
    }

    fn labels(pairs: &[(&str, &str)]) -> LineLabels {
        LineLabels::new(Arc::new(Labels::new(pairs.iter().copied()).expect("labels")), &[])
    }

    #[test]
    fn numeric_filters_skip_missing_and_flag_bad_values() {
        let f = LabelFilter::compile(&LabelFilterExpr::Number {
            label: "status".into(),
            op: CmpOp::Gte,
            value: 500.0,
        })
        .expect("compiles");
        assert!(f.keep(&mut labels(&[("status", "503")])));
        assert!(!f.keep(&mut labels(&[("status", "200")])));
        assert!(!f.keep(&mut labels(&[("app", "x")])));
        let mut bad = labels(&[("status", "abc")]);
        assert!(f.keep(&mut bad));
        assert_eq!(bad.get(ERROR_LABEL), Some("LabelFilterErr"));
        let d = LabelFilter::compile(&LabelFilterExpr::Duration {
            label: "took".into(),
            op: CmpOp::Gt,
            ns: 1_000_000_000,
        })
        .expect("compiles");
        assert!(d.keep(&mut labels(&[("took", "1.5s")])));
        assert!(!d.keep(&mut labels(&[("took", "300ms")])));
    }

    #[test]
    fn and_or_and_string_matchers() {
        let m = |n: &str, v: &str| LabelFilterExpr::Matcher(tsdb::Matcher::new(MatchType::Equal, n, v).expect("m"));
        let f = LabelFilter::compile(&LabelFilterExpr::Or(
            Box::new(m("a", "1")),
            Box::new(LabelFilterExpr::And(Box::new(m("b", "2")), Box::new(m("c", "")))),
        ))
        .expect("compiles");
        assert!(f.keep(&mut labels(&[("a", "1")])));
        assert!(f.keep(&mut labels(&[("b", "2")])));
        assert!(!f.keep(&mut labels(&[("b", "2"), ("c", "3")])));
        let e = LabelFilter::compile(&m(ERROR_LABEL, "")).expect("compiles");
        assert!(e.is_error_filter());
        assert!(!f.is_error_filter());
    }
}
