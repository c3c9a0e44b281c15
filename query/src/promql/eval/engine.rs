//! The PromQL engine: options, the instant and range query entry points, the step loop, the
//! query limits and the final `__name__` clean-up.
//!
//! Evaluation walks the syntax tree once per step with [`Evaluator::eval`]. Every selector's
//! series are read from storage once, before the first step, for the whole time span the query
//! needs (see [`super::selectors::preload`]); steps then only slice those samples, each
//! selector remembering per series where the previous step's window lay.
//!
//! A range query with enough work runs its steps in consecutive slices on several threads,
//! each with its own [`Evaluator`] over the shared loaded series. Within a slice, a range
//! function of a range selector is computed for all of the slice's steps at once, series by
//! series (see `range_calls::Column`), and aggregations keep their groups across steps.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tsdb::Labels;

use super::selectors::{self, Loaded};
use super::value::{InstantSample, QueryResult, Series, Storage, Value};
use crate::error::Error;
use crate::promql::ast::{AtModifier, Expr, PosRange, ValueType};

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
        let steps = StepRange { start, end, step };
        let threads = worker_count(&ev, steps.count());
        if threads > 1
            && let Some(out) = range_parallel(&mut ev, expr, steps, threads)
        {
            return Ok(ev.into_result(Value::Matrix(out)));
        }
        let mut col = Collector::default();
        let times: Vec<i64> = steps.times().collect();
        ev.run_steps(expr, &times, &mut col)?;
        Ok(ev.into_result(Value::Matrix(col.finish())))
    }
}

/// The evaluation times of a range query.
#[derive(Debug, Clone, Copy)]
struct StepRange {
    start: i64,
    end: i64,
    step: i64,
}

impl StepRange {
    /// Every evaluation time, in order.
    fn times(self) -> impl Iterator<Item = i64> {
        let StepRange { start, end, step } = self;
        std::iter::successors(Some(start), move |t| t.checked_add(step)).take_while(move |t| *t <= end)
    }

    /// The number of evaluation times.
    fn count(self) -> usize {
        usize::try_from((self.end - self.start) / self.step).map_or(usize::MAX, |n| n.saturating_add(1))
    }
}

/// Steps × loaded series below which a range query runs on one thread.
const PARALLEL_MIN_WORK: usize = 20_000;

/// How many threads evaluate the steps of a range query: one unless there is enough work.
fn worker_count(ev: &Evaluator<'_>, steps: usize) -> usize {
    let series: usize = ev.data.values().map(Vec::len).sum();
    if steps < 4 || steps.saturating_mul(series.max(1)) < PARALLEL_MIN_WORK {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(steps / 2)
}

/// Evaluates the steps in `threads` consecutive slices at once, each slice on its own forked
/// [`Evaluator`], and joins the slices' series. Returns `None` when a slice failed or the slices
/// together break the sample limit; the caller then evaluates sequentially, which reports the
/// same error the sequential evaluation always would.
fn range_parallel(ev: &mut Evaluator<'_>, expr: &Expr, steps: StepRange, threads: usize) -> Option<Vec<Series>> {
    let times: Vec<i64> = steps.times().collect();
    let per = times.len().div_ceil(threads);
    let slices: Vec<&[i64]> = times.chunks(per.max(1)).collect();
    let forks: Vec<Evaluator<'_>> = slices.iter().skip(1).map(|_| ev.fork()).collect();
    let (first, rest) = slices.split_first()?;
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = rest
            .iter()
            .zip(forks)
            .map(|(slice, mut fork)| {
                scope.spawn(move || {
                    let mut col = Collector::default();
                    let ok = fork.run_steps(expr, slice, &mut col).is_ok();
                    (ok, col, fork)
                })
            })
            .collect();
        let mut col = Collector::default();
        let ok = ev.run_steps(expr, first, &mut col).is_ok();
        let mut results = vec![(ok, col, None)];
        for h in handles {
            match h.join() {
                Ok((ok, col, fork)) => results.push((ok, col, Some(fork))),
                Err(_) => results.push((false, Collector::default(), None)),
            }
        }
        results
    });
    let mut merged: Option<Collector> = None;
    let mut forks = Vec::new();
    for (ok, col, fork) in results {
        if !ok {
            return None;
        }
        merged = Some(match merged {
            None => col,
            Some(mut acc) => {
                // Points held before this slice's steps, as the sequential evaluation counts them.
                if acc.points.saturating_add(col.peak) > ev.opts.max_samples {
                    return None;
                }
                acc.append(col);
                acc
            }
        });
        forks.extend(fork);
    }
    for fork in forks {
        ev.absorb_annotations(fork);
    }
    Some(merged?.finish())
}

/// Gathers the step results of a range query into series.
///
/// Steps usually return the same series in the same order, so each element is first compared
/// with the series the element at its position went to in the previous step (`last`), which
/// spares hashing its labels and removing `__name__` again.
#[derive(Default)]
struct Collector {
    /// The output series (labels final, without `__name__` when it was dropped).
    out: Vec<Series>,
    /// The labels and `drop_name` flag of the element that last fed each output series.
    sources: Vec<(Labels, bool)>,
    /// Output series by final labels.
    index: HashMap<Labels, usize>,
    /// The step number that last fed each output series (duplicate detection).
    stamp: Vec<usize>,
    /// The output series of each position of the previous step.
    last: Vec<usize>,
    /// Steps gathered so far.
    steps: usize,
    /// Points gathered so far.
    points: usize,
    /// The most samples any step held, counting only this collector's earlier points.
    peak: usize,
}

impl Collector {
    /// The output series of an element, created when new.
    fn resolve(&mut self, pos: usize, labels: Labels, drop: bool) -> usize {
        if let Some(&j) = self.last.get(pos)
            && let Some(src) = self.sources.get(j)
            && src.1 == drop
            && src.0 == labels
        {
            return j;
        }
        let fin = if drop { drop_name(&labels) } else { labels.clone() };
        let j = match self.index.get(&fin) {
            Some(&j) => j,
            None => {
                self.index.insert(fin.clone(), self.out.len());
                self.out.push(Series {
                    labels: fin,
                    samples: Vec::new(),
                });
                self.sources.push((Labels::empty(), false));
                self.stamp.push(usize::MAX);
                self.out.len() - 1
            }
        };
        self.sources[j] = (labels, drop);
        j
    }

    /// Adds one step's result at `t`; fails on duplicate label sets or too many points.
    fn add(&mut self, t: i64, result: Val, max_samples: usize) -> Result<(), Error> {
        let step = self.steps;
        self.steps += 1;
        let elems: Vec<(Labels, bool, f64)> = match result {
            Val::Scalar(v) => vec![(Labels::empty(), false, v)],
            Val::Vector(vec) => vec.into_iter().map(|e| (e.labels, e.drop_name, e.v)).collect(),
            Val::Str(_) | Val::Matrix(_) => {
                return Err(Error::Execution("range query step did not return a vector".into()));
            }
        };
        let mut targets = Vec::with_capacity(elems.len());
        for (pos, (labels, drop, v)) in elems.into_iter().enumerate() {
            let j = self.resolve(pos, labels, drop);
            if self.stamp[j] == step {
                return Err(Error::Execution(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
            self.stamp[j] = step;
            targets.push((j, v));
        }
        self.last.clear();
        self.last.extend(targets.iter().map(|x| x.0));
        for (j, v) in targets {
            self.points += 1;
            if self.points > max_samples {
                return Err(Error::TooManySamples("query execution".into()));
            }
            self.out[j].samples.push(tsdb::Sample::new(t, v));
        }
        self.peak = self.peak.max(self.points);
        Ok(())
    }

    /// Appends the series of `later`, whose steps all come after this collector's.
    fn append(&mut self, later: Collector) {
        self.peak = self.peak.max(self.points.saturating_add(later.peak));
        self.points = self.points.saturating_add(later.points);
        for s in later.out {
            match self.index.get(&s.labels) {
                Some(&j) => self.out[j].samples.extend(s.samples),
                None => {
                    self.index.insert(s.labels.clone(), self.out.len());
                    self.out.push(s);
                }
            }
        }
    }

    /// The series, sorted by labels.
    fn finish(self) -> Vec<Series> {
        let mut out = self.out;
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
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
pub(crate) struct Elem {
    /// The labels, possibly with a `__name__` to drop at the end.
    pub labels: Labels,
    /// The value.
    pub v: f64,
    /// Drop `__name__` when the query finishes.
    pub drop_name: bool,
}

/// One series of a range vector during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RangeElem {
    /// The labels, possibly with a `__name__` to drop at the end.
    pub labels: Labels,
    /// The window's samples `(t ms, value)`, oldest first, never empty.
    pub samples: Vec<(i64, f64)>,
    /// Drop `__name__` when the query finishes.
    pub drop_name: bool,
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
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
    pub data: Arc<HashMap<usize, Vec<Loaded>>>,
    /// Per selector (same keys as `data`) and series, where the previous step's window started
    /// and ended (see [`selectors::seek`]).
    pub cursors: RefCell<HashMap<usize, Vec<[usize; 2]>>>,
    /// The evaluation times `(first, last, step)` of the range query steps this evaluator runs.
    pub grid: Option<(i64, i64, i64)>,
    /// Range functions of range selectors evaluated at every time of `grid` at once, keyed like
    /// `data` (`None`: not possible for that selector).
    pub columns: HashMap<usize, Option<super::range_calls::Column>>,
    /// The groups of each aggregation, keyed by the address of its argument expression.
    pub groups: HashMap<usize, super::aggregate::GroupCache>,
    /// The groups of each aggregation the fast path evaluates, keyed like `groups`.
    pub fast_groups: HashMap<usize, super::agg_fast::FastGroups>,
    deadline: Instant,
    /// Samples held by the current step.
    pub current_samples: usize,
    /// Compiled `label_replace` regexes by source text (range queries reuse them every step).
    pub regexes: HashMap<String, regex::Regex>,
    warnings: Vec<String>,
    infos: Vec<String>,
    /// The argument that [`Evaluator::warn`] and [`Evaluator::info`] cite: set by the caller of a
    /// function for the duration of its evaluation (see [`Evaluator::cite`]).
    cited: PosRange,
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
            data: Arc::new(HashMap::new()),
            cursors: RefCell::new(HashMap::new()),
            grid: None,
            columns: HashMap::new(),
            groups: HashMap::new(),
            fast_groups: HashMap::new(),
            deadline: Instant::now() + opts.timeout,
            current_samples: 0,
            regexes: HashMap::new(),
            warnings: Vec::new(),
            infos: Vec::new(),
            cited: PosRange::default(),
        };
        selectors::preload(&mut ev, storage, expr, start, end)?;
        Ok(ev)
    }

    /// A second evaluator of the same query over the same loaded series, for another thread.
    fn fork(&self) -> Evaluator<'a> {
        Evaluator {
            opts: self.opts,
            lookback: self.lookback,
            start: self.start,
            end: self.end,
            step: self.step,
            data: Arc::clone(&self.data),
            cursors: RefCell::new(HashMap::new()),
            grid: None,
            columns: HashMap::new(),
            groups: HashMap::new(),
            fast_groups: HashMap::new(),
            deadline: self.deadline,
            current_samples: 0,
            regexes: HashMap::new(),
            warnings: Vec::new(),
            infos: Vec::new(),
            cited: self.cited,
        }
    }

    /// Adds the annotations of a fork that evaluated later steps, as if evaluated here.
    fn absorb_annotations(&mut self, fork: Evaluator<'_>) {
        for w in fork.warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
        for i in fork.infos {
            if !self.infos.contains(&i) {
                self.infos.push(i);
            }
        }
    }

    /// Evaluates `expr` at each of `times` (increasing) into `col`.
    fn run_steps(&mut self, expr: &Expr, times: &[i64], col: &mut Collector) -> Result<(), Error> {
        self.grid = match (times.first(), times.last()) {
            (Some(&first), Some(&last)) if self.step > 0 => Some((first, last, self.step)),
            _ => None,
        };
        for &t in times {
            self.check_deadline()?;
            self.current_samples = col.points;
            let result = self.eval(expr, t)?;
            col.peak = col.peak.max(self.current_samples);
            col.add(t, result, self.opts.max_samples)?;
        }
        Ok(())
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

    /// Makes `pos` the position that [`Evaluator::warn`] and [`Evaluator::info`] cite; returns
    /// the previous one, which the caller restores when the function is evaluated.
    pub fn cite(&mut self, pos: PosRange) -> PosRange {
        std::mem::replace(&mut self.cited, pos)
    }

    /// Records a `PromQL warning: …` annotation (once) citing the current argument.
    pub fn warn(&mut self, msg: String) {
        self.warn_at(self.cited, msg);
    }

    /// Records a `PromQL info: …` annotation (once) citing the current argument.
    pub fn info(&mut self, msg: String) {
        self.info_at(self.cited, msg);
    }

    /// Records a `PromQL warning: … (line:col)` annotation (once) about the expression at `pos`.
    pub fn warn_at(&mut self, pos: PosRange, msg: String) {
        let msg = annotation("PromQL warning", pos, &msg);
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    /// Records a `PromQL info: … (line:col)` annotation (once) about the expression at `pos`.
    pub fn info_at(&mut self, pos: PosRange, msg: String) {
        let msg = annotation("PromQL info", pos, &msg);
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
                param_pos,
            } => {
                let node = std::ptr::from_ref::<Expr>(expr) as usize;
                if param.is_none()
                    && let Some(out) = super::agg_fast::eval(self, node, *op, expr, grouping, *without, t)
                {
                    return out;
                }
                let param = match param {
                    Some(p) => Some(self.eval(p, t)?),
                    None => None,
                };
                let Val::Vector(input) = self.eval(expr, t)? else {
                    return Err(Error::Execution("aggregation over a non-vector".into()));
                };
                let prev = self.cite(*param_pos);
                let out = super::aggregate::eval(self, node, *op, param, input, grouping, *without);
                self.cite(prev);
                out
            }
            Expr::Call { func, args, arg_pos } => super::calls::eval(self, func, args, arg_pos, t),
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

/// `kind: msg (line:col)` like Prometheus's annotations; without the suffix when `pos` is unknown.
fn annotation(kind: &str, pos: PosRange, msg: &str) -> String {
    if pos.is_known() {
        format!("{kind}: {msg} ({pos})")
    } else {
        format!("{kind}: {msg}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::eval::MemoryStorage;
    use crate::promql::parser::parse;

    /// 300 series (some counters with resets, gaps and staleness markers) over 2 h at 15 s.
    fn storage() -> MemoryStorage {
        let mut series: Vec<Series> = (0..300)
            .map(|i: i64| {
                let labels = Labels::new([
                    ("__name__", if i % 3 == 0 { "x_total" } else { "x" }),
                    ("job", &format!("job-{}", i % 4)),
                    ("instance", &format!("i-{i}")),
                ])
                .expect("valid labels");
                let samples = (0..480i64)
                    .filter(|k| (k + i) % 97 > 10)
                    .map(|k| {
                        let v = if (k + i) % 53 == 0 {
                            tsdb::stale_nan()
                        } else {
                            ((k * (i % 7 + 1)) % 400) as f64
                        };
                        tsdb::Sample::new(k * 15_000 + i % 5, v)
                    })
                    .collect();
                Series { labels, samples }
            })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        MemoryStorage { series }
    }

    /// Range queries (parallel steps, columns, the step collector) give exactly what instant
    /// queries at each step give.
    #[test]
    fn range_query_matches_instant_queries() {
        let storage = storage();
        let engine = Engine::default();
        let (start, end, step) = (600_000, 7_200_000, 17_000);
        let queries = [
            "rate(x[5m])",
            "sum by (job) (rate(x_total[5m]))",
            "count_over_time(x[1h])",
            "max_over_time(x[10m] offset 3m)",
            "topk(3, x)",
            "count by (job) (x)",
            "rate(x[5m] @ 3600)",
            "avg_over_time(rate(x[5m])[15m:1m])",
            "avg without (instance) (x)",
            "max by (job) (max_over_time(x[10m]))",
            "stddev(rate(x_total[5m]))",
            "sum by (__name__) (last_over_time(x[5m]))",
            "min by (job) (x offset 2m)",
            "group by (job) ((changes(x[3m])))",
            "sum(count_over_time(x[1m] @ 3600))",
        ];
        for q in queries {
            let expr = parse(q).expect("valid query");
            let steps = StepRange { start, end, step };
            let ev = Evaluator::new(&storage, engine.options(), &expr, start, end, step, None).expect("loads");
            if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
                assert!(worker_count(&ev, steps.count()) > 1, "{q}: runs on one thread");
            }
            let range = engine
                .range(&storage, &expr, start, end, step, None)
                .expect("range query");
            let mut expected: HashMap<Labels, Vec<tsdb::Sample>> = HashMap::new();
            let mut infos = Vec::new();
            // Every fifth step (instant queries are slow in debug builds).
            let checked: Vec<i64> = steps.times().step_by(5).collect();
            for &t in &checked {
                let r = engine.instant(&storage, &expr, t, None).expect("instant query");
                for i in r.infos {
                    if !infos.contains(&i) {
                        infos.push(i);
                    }
                }
                let Value::Vector(v) = r.value else {
                    panic!("{q}: not a vector")
                };
                for s in v {
                    expected.entry(s.labels).or_default().push(tsdb::Sample::new(t, s.v));
                }
            }
            let Value::Matrix(got) = range.value else {
                panic!("{q}: not a matrix")
            };
            let got: Vec<Series> = got
                .into_iter()
                .map(|mut s| {
                    s.samples.retain(|x| checked.contains(&x.t));
                    s
                })
                .filter(|s| !s.samples.is_empty())
                .collect();
            assert_eq!(got.len(), expected.len(), "{q}");
            for s in got {
                let want = &expected[&s.labels];
                assert_eq!(s.samples.len(), want.len(), "{q} {}", s.labels);
                for (a, b) in s.samples.iter().zip(want) {
                    assert_eq!(a.t, b.t, "{q}");
                    assert!(
                        a.v == b.v || (a.v.is_nan() && b.v.is_nan()),
                        "{q} {} {a:?} {b:?}",
                        s.labels
                    );
                }
            }
            // Infos of the unchecked steps are missing from `infos`; every series has one here.
            assert_eq!(range.infos, infos, "{q}");
        }
    }

    /// The sample limit fails a range query evaluated on several threads like a sequential one.
    #[test]
    fn parallel_range_query_keeps_the_sample_limit() {
        let storage = storage();
        // About 200 points per step over 441 steps: each half of the steps stays below 60 000
        // points, both together do not.
        let expr = parse("x").expect("valid query");
        let limited = |max_samples| {
            Engine::new(EngineOptions {
                max_samples,
                ..EngineOptions::default()
            })
        };
        let err = limited(60_000)
            .range(&storage, &expr, 600_000, 7_200_000, 15_000, None)
            .expect_err("too many samples");
        assert!(matches!(err, Error::TooManySamples(_)), "{err:?}");
        let ok = limited(200_000).range(&storage, &expr, 600_000, 7_200_000, 15_000, None);
        assert!(ok.is_ok());
    }

    #[test]
    fn step_range_times() {
        let steps = StepRange {
            start: 0,
            end: 50,
            step: 20,
        };
        assert_eq!(steps.times().collect::<Vec<_>>(), vec![0, 20, 40]);
        assert_eq!(steps.count(), 3);
    }
}
