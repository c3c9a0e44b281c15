//! The PromQL engine: options, the instant and range query entry points, the step loop, the
//! query limits and the final `__name__` clean-up.
//!
//! Evaluation walks the syntax tree once per step with [`Evaluator::eval`]. Every selector's
//! series are read from storage once, before the first step, for the whole time span the query
//! needs (see [`super::selectors::preload`]); steps then only slice those samples.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tsdb::Labels;

use super::selectors::{self, Loaded};
use super::value::{InstantSample, QueryResult, Series, Storage, Value};
use crate::error::Error;
use crate::promql::ast::{AtModifier, Expr, ValueType};

/// Limits and defaults of the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOptions {
    /// How far back (ms) an instant selector looks for a sample; 300 000 (5m) by default.
    pub lookback_delta: i64,
    /// The most samples a query may hold in memory at once; 50 000 000 by default.
    pub max_samples: usize,
    /// The longest a query may run; 2 minutes by default.
    pub timeout: Duration,
    /// The most points a range query may return per series; 11 000 by default.
    pub max_points_per_series: usize,
    /// The step (ms) of subqueries that give none (`x[5m:]`); 60 000 by default.
    pub default_subquery_step: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: 300_000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_points_per_series: 11_000,
            default_subquery_step: 60_000,
        }
    }
}

/// Evaluates PromQL expressions against a [`Storage`].
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

/// Checks a range query's resolution like Prometheus's API does: at most 11 000 points per series.
pub fn check_resolution(start: i64, end: i64, step: i64) -> Result<(), Error> {
    check_points(start, end, step, 11_000)
}

/// Formats a count with thousands separators (`11,000`).
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn check_points(start: i64, end: i64, step: i64, max_points: usize) -> Result<(), Error> {
    if step <= 0 {
        return Err(Error::Execution(
            "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if end < start {
        return Err(Error::Execution("end timestamp must not be before start time".into()));
    }
    if end.saturating_sub(start) / step > i64::try_from(max_points).unwrap_or(i64::MAX) {
        return Err(Error::Execution(format!(
            "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
            thousands(max_points)
        )));
    }
    Ok(())
}

impl Engine {
    /// An engine with the given options.
    pub fn new(options: EngineOptions) -> Engine {
        Engine { options }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Instant query at `t` (ms). `lookback` overrides the lookback delta for this query.
    pub fn instant(
        &self,
        storage: &dyn Storage,
        expr: &Expr,
        t: i64,
        lookback: Option<i64>,
    ) -> Result<QueryResult, Error> {
        let mut ev = Evaluator::new(storage, &self.options, expr, t, t, 0, lookback)?;
        let value = match ev.eval(expr, t)? {
            Val::Scalar(v) => Value::Scalar { t, v },
            Val::Str(v) => Value::String { t, v },
            Val::Vector(vec) => {
                let vec = finish_vector(vec)?;
                Value::Vector(
                    vec.into_iter()
                        .map(|(labels, v)| InstantSample { labels, t, v })
                        .collect(),
                )
            }
            Val::Matrix(mat) => {
                let mut out = Vec::with_capacity(mat.len());
                for s in mat {
                    let labels = if s.drop_name { drop_name(&s.labels) } else { s.labels };
                    let samples = s.samples.into_iter().map(|(t, v)| tsdb::Sample::new(t, v)).collect();
                    out.push(Series { labels, samples });
                }
                check_unique(out.iter().map(|s| &s.labels))?;
                Value::Matrix(out)
            }
        };
        Ok(ev.into_result(value))
    }

    /// Range query: every step from `start` to `end` (ms, inclusive). The value is always a
    /// [`Value::Matrix`] sorted by labels; a scalar expression gives one series without labels.
    /// Fails for a non-positive step, `end < start`, more than
    /// [`EngineOptions::max_points_per_series`] steps, or a range-vector/string expression.
    pub fn range(
        &self,
        storage: &dyn Storage,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        lookback: Option<i64>,
    ) -> Result<QueryResult, Error> {
        check_points(start, end, step, self.options.max_points_per_series)?;
        let vt = expr.value_type();
        if vt != ValueType::Scalar && vt != ValueType::Vector {
            return Err(Error::Execution(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                vt.documented()
            )));
        }
        let mut ev = Evaluator::new(storage, &self.options, expr, start, end, step, lookback)?;
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut out: Vec<Series> = Vec::new();
        let mut points = 0usize;
        let mut t = start;
        while t <= end {
            ev.check_deadline()?;
            ev.current_samples = points;
            let step_out: Vec<(Labels, f64)> = match ev.eval(expr, t)? {
                Val::Scalar(v) => vec![(Labels::empty(), v)],
                Val::Vector(vec) => finish_vector(vec)?,
                Val::Str(_) | Val::Matrix(_) => {
                    return Err(Error::Execution("range query step did not return a vector".into()));
                }
            };
            for (labels, v) in step_out {
                points += 1;
                if points > self.options.max_samples {
                    return Err(Error::TooManySamples("query execution".into()));
                }
                let i = match index.get(&labels) {
                    Some(&i) => i,
                    None => {
                        index.insert(labels.clone(), out.len());
                        out.push(Series {
                            labels,
                            samples: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                out[i].samples.push(tsdb::Sample::new(t, v));
            }
            t = match t.checked_add(step) {
                Some(next) => next,
                None => break,
            };
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(ev.into_result(Value::Matrix(out)))
    }
}

/// Drops `__name__` from a label set, with the `__type__` and `__unit__` metadata labels that
/// describe it.
pub(super) fn drop_name(labels: &Labels) -> Labels {
    labels.without(|n| n == tsdb::METRIC_NAME || n == "__type__" || n == "__unit__")
}

/// Applies delayed name removal to a result vector and rejects duplicate label sets.
fn finish_vector(vec: Vec<Elem>) -> Result<Vec<(Labels, f64)>, Error> {
    let out: Vec<(Labels, f64)> = vec
        .into_iter()
        .map(|e| {
            let labels = if e.drop_name { drop_name(&e.labels) } else { e.labels };
            (labels, e.v)
        })
        .collect();
    check_unique(out.iter().map(|(l, _)| l))?;
    Ok(out)
}

/// Fails with Prometheus's error when two label sets are equal.
pub(super) fn check_unique<'a>(labels: impl Iterator<Item = &'a Labels>) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for l in labels {
        if !seen.insert(l) {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}

/// One element of an instant vector during evaluation: the labels still carry `__name__`
/// when a function or operator only marked it for removal (`drop_name`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Elem {
    /// The labels, possibly with a `__name__` to drop at the end.
    pub labels: Labels,
    /// The value.
    pub v: f64,
    /// Drop `__name__` when the query finishes.
    pub drop_name: bool,
}

/// One series of a range vector during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RangeElem {
    /// The labels, possibly with a `__name__` to drop at the end.
    pub labels: Labels,
    /// The window's samples `(t ms, value)`, oldest first, never empty.
    pub samples: Vec<(i64, f64)>,
    /// Drop `__name__` when the query finishes.
    pub drop_name: bool,
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    /// A float.
    Scalar(f64),
    /// A string.
    Str(String),
    /// An instant vector.
    Vector(Vec<Elem>),
    /// A range vector.
    Matrix(Vec<RangeElem>),
}

/// The state of one query's evaluation.
pub(super) struct Evaluator<'a> {
    pub opts: &'a EngineOptions,
    /// The lookback delta of this query (ms).
    pub lookback: i64,
    /// Query start, end and step (ms; step 0 for instant queries).
    pub start: i64,
    pub end: i64,
    pub step: i64,
    /// Series read for each selector, keyed by the selector node's address.
    pub data: HashMap<usize, Vec<Loaded>>,
    deadline: Instant,
    /// Samples held by the current step.
    pub current_samples: usize,
    /// Compiled `label_replace` regexes by source text (range queries reuse them every step).
    pub regexes: HashMap<String, regex::Regex>,
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl<'a> Evaluator<'a> {
    fn new(
        storage: &dyn Storage,
        opts: &'a EngineOptions,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        lookback: Option<i64>,
    ) -> Result<Evaluator<'a>, Error> {
        let lookback = lookback.filter(|l| *l > 0).unwrap_or(opts.lookback_delta);
        let mut ev = Evaluator {
            opts,
            lookback,
            start,
            end,
            step,
            data: HashMap::new(),
            deadline: Instant::now() + opts.timeout,
            current_samples: 0,
            regexes: HashMap::new(),
            warnings: Vec::new(),
            infos: Vec::new(),
        };
        selectors::preload(&mut ev, storage, expr, start, end)?;
        Ok(ev)
    }

    fn into_result(self, value: Value) -> QueryResult {
        QueryResult {
            value,
            warnings: self.warnings,
            infos: self.infos,
        }
    }

    /// Fails once the query ran past its timeout.
    pub fn check_deadline(&self) -> Result<(), Error> {
        if Instant::now() > self.deadline {
            return Err(Error::Timeout("query execution".into()));
        }
        Ok(())
    }

    /// Counts `n` more samples held by the current step against the limit.
    pub fn add_samples(&mut self, n: usize) -> Result<(), Error> {
        self.current_samples = self.current_samples.saturating_add(n);
        if self.current_samples > self.opts.max_samples {
            return Err(Error::TooManySamples("query execution".into()));
        }
        Ok(())
    }

    /// Records a `PromQL warning: …` annotation (once).
    pub fn warn(&mut self, msg: String) {
        let msg = format!("PromQL warning: {msg}");
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    /// Records a `PromQL info: …` annotation (once).
    pub fn info(&mut self, msg: String) {
        let msg = format!("PromQL info: {msg}");
        if !self.infos.contains(&msg) {
            self.infos.push(msg);
        }
    }

    /// The time an `@` modifier pins a selector or subquery to, if any.
    pub fn at_time(&self, at: Option<AtModifier>) -> Option<i64> {
        at.map(|a| match a {
            AtModifier::Timestamp(t) => t,
            AtModifier::Start => self.start,
            AtModifier::End => self.end,
        })
    }

    /// Evaluates `expr` at time `t` (ms).
    pub fn eval(&mut self, expr: &Expr, t: i64) -> Result<Val, Error> {
        match expr {
            Expr::NumberLiteral(v) => Ok(Val::Scalar(*v)),
            Expr::StringLiteral(s) => Ok(Val::Str(s.clone())),
            Expr::Paren(inner) => self.eval(inner, t),
            Expr::Unary { op, expr } => {
                let v = self.eval(expr, t)?;
                match (op, v) {
                    (crate::promql::ast::UnaryOp::Pos, v) => Ok(v),
                    (_, Val::Scalar(v)) => Ok(Val::Scalar(-v)),
                    (_, Val::Vector(mut vec)) => {
                        for e in &mut vec {
                            e.v = -e.v;
                            e.drop_name = true;
                        }
                        Ok(Val::Vector(vec))
                    }
                    _ => Err(Error::Execution(
                        "unary expression only allowed on scalars or vectors".into(),
                    )),
                }
            }
            Expr::VectorSelector(vs) => {
                let out = selectors::instant(self, vs, t);
                self.add_samples(out.len())?;
                Ok(Val::Vector(out))
            }
            Expr::MatrixSelector(ms) => {
                let (out, _) = selectors::matrix(self, ms, t);
                self.add_samples(out.iter().map(|s| s.samples.len()).sum())?;
                Ok(Val::Matrix(out))
            }
            Expr::Subquery(sq) => Ok(Val::Matrix(super::subquery::eval(self, sq, t)?.0)),
            Expr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => {
                let l = self.eval(lhs, t)?;
                let r = self.eval(rhs, t)?;
                super::binary::eval(*op, l, r, *return_bool, matching.as_ref())
            }
            Expr::Aggregate {
                op,
                expr,
                param,
                grouping,
                without,
            } => {
                let param = match param {
                    Some(p) => Some(self.eval(p, t)?),
                    None => None,
                };
                let Val::Vector(input) = self.eval(expr, t)? else {
                    return Err(Error::Execution("aggregation over a non-vector".into()));
                };
                super::aggregate::eval(self, *op, param, input, grouping, *without)
            }
            Expr::Call { func, args } => super::calls::eval(self, func, args, t),
        }
    }

    /// Evaluates an expression that must give a scalar (function parameters).
    pub fn eval_scalar(&mut self, expr: &Expr, t: i64) -> Result<f64, Error> {
        match self.eval(expr, t)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(Error::Execution("expected a scalar".into())),
        }
    }

    /// Evaluates an expression that must give an instant vector.
    pub fn eval_vector(&mut self, expr: &Expr, t: i64) -> Result<Vec<Elem>, Error> {
        match self.eval(expr, t)? {
            Val::Vector(v) => Ok(v),
            _ => Err(Error::Execution("expected an instant vector".into())),
        }
    }

    /// Evaluates an expression that must give a string.
    pub fn eval_string(&mut self, expr: &Expr, t: i64) -> Result<String, Error> {
        match self.eval(expr, t)? {
            Val::Str(v) => Ok(v),
            _ => Err(Error::Execution("expected a string".into())),
        }
    }
}

/// Formats a float like Go's `%g` for the common cases used in annotations.
pub(super) fn go_g(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}
