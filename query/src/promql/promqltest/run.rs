//! Running a parsed script against an engine, case by case.
//!
//! Loads go into a [`MemoryStorage`] (series in label order); each eval is classified (see
//! [`super::classify`]) and, unless skipped, evaluated and compared. Like Prometheus's runner, an
//! instant eval whose result is a vector or scalar is also run as a range query from `t-1m` to
//! `t+1m` with step 1m, and the point at `t` must match too (not for `expect ordered`, and not
//! for queries using `start()`, `end()`, `range()` or `step()`). A panicking engine fails the
//! case instead of aborting the run.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use tsdb::{Labels, LabelsBuilder, Sample};

use super::classify::{LoadedFeatures, SkipReason, classify};
use super::compare::{check_annotations, check_failure, compare_result};
use super::report::FileReport;
use super::script::{Command, Eval, EvalTime, Load, parse_script};
use super::series::SeqValue;
use crate::error::Error;
use crate::promql::eval::{Engine, InstantSample, MemoryStorage, QueryResult, Series, Value};
use crate::promql::{Expr, parse};

/// The engine interface the runner needs (implemented by [`Engine`]; tests use fakes).
pub trait QueryEngine {
    /// Evaluates `expr` at `t_ms`.
    fn eval_instant(&self, storage: &MemoryStorage, expr: &Expr, t_ms: i64) -> Result<QueryResult, Error>;
    /// Evaluates `expr` at every step from `start_ms` to `end_ms`.
    fn eval_range(
        &self,
        storage: &MemoryStorage,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, Error>;
}

impl QueryEngine for Engine {
    fn eval_instant(&self, storage: &MemoryStorage, expr: &Expr, t_ms: i64) -> Result<QueryResult, Error> {
        Engine::instant(self, storage, expr, t_ms, None)
    }

    fn eval_range(
        &self,
        storage: &MemoryStorage,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, Error> {
        Engine::range(self, storage, expr, start_ms, end_ms, step_ms, None)
    }
}

/// How strictly cases are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Also run instant evals as a 3-step range query and check the middle point.
    pub check_range_mode: bool,
    /// Check `expect warn|info msg:/regex:` texts (false: only presence).
    pub check_annotation_text: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check_range_mode: true,
            check_annotation_text: true,
        }
    }
}

/// What happened to one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The result matched.
    Passed,
    /// The case needs an unsupported feature.
    Skipped(SkipReason),
    /// The result did not match; why.
    Failed(String),
}

/// One case's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// 1-based line of the `eval` (or of a script syntax error).
    pub line: usize,
    /// The query.
    pub expr: String,
    /// The outcome.
    pub outcome: Outcome,
}

/// The loaded data of a running script.
#[derive(Default)]
struct Data {
    series: BTreeMap<Labels, Vec<Sample>>,
    features: LoadedFeatures,
    storage: MemoryStorage,
}

impl Data {
    fn load(&mut self, load: &Load) {
        for s in &load.series {
            let samples = self.series.entry(s.labels.clone()).or_default();
            let mut t = 0i64;
            for v in &s.values {
                match v {
                    SeqValue::Float(f) => samples.push(Sample::new(t, *f)),
                    SeqValue::Histogram => push_unique(&mut self.features.histogram_series, &s.labels),
                    SeqValue::Omitted => {}
                }
                t = t.saturating_add(load.step_ms);
            }
            // Later loads overwrite earlier samples at the same timestamp.
            samples.reverse();
            samples.sort_by_key(|x| x.t);
            samples.dedup_by_key(|x| x.t);
            if s.start_timestamps {
                push_unique(&mut self.features.start_timestamp_series, &s.labels);
            }
            if load.with_nhcb
                && let Some(base) = nhcb_base(&s.labels)
            {
                push_unique(&mut self.features.histogram_series, &base);
            }
        }
        self.series.retain(|_, v| !v.is_empty());
        self.storage = MemoryStorage {
            series: self
                .series
                .iter()
                .map(|(labels, samples)| Series {
                    labels: labels.clone(),
                    samples: samples.clone(),
                })
                .collect(),
        };
    }
}

fn push_unique(list: &mut Vec<Labels>, labels: &Labels) {
    if !list.contains(labels) {
        list.push(labels.clone());
    }
}

/// The native histogram series `load_with_nhcb` builds from a classic `_bucket`/`_count`/`_sum`.
fn nhcb_base(labels: &Labels) -> Option<Labels> {
    let name = labels.metric_name()?;
    let base = ["_bucket", "_count", "_sum"]
        .iter()
        .find_map(|s| name.strip_suffix(s))?;
    if name.ends_with("_bucket") && labels.get("le").is_none() {
        return None;
    }
    let mut b = LabelsBuilder::new(labels);
    b.set(tsdb::METRIC_NAME, base);
    b.del("le");
    Some(b.labels())
}

/// Runs every command of `script`; returns one result per eval.
pub fn run_script(script: &super::script::Script, engine: &dyn QueryEngine, opts: &RunOptions) -> Vec<CaseResult> {
    let mut data = Data::default();
    let mut results = Vec::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear => data = Data::default(),
            Command::Load(load) => data.load(load),
            Command::Eval(eval) => {
                let outcome = run_eval(eval, &data, engine, opts);

                results.push(CaseResult {
                    line: eval.line,
                    expr: eval.expr.clone(),
                    outcome,
                });
            }
        }
    }
    results
}

/// Reads, parses and runs one script file. A syntax error becomes one failed case at its line.
pub fn run_file(path: &Path, engine: &dyn QueryEngine, opts: &RunOptions) -> FileReport {
    let name = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let failed = |line: usize, msg: String| FileReport {
        name: name.clone(),
        cases: vec![CaseResult {
            line,
            expr: String::new(),
            outcome: Outcome::Failed(msg),
        }],
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return failed(0, format!("cannot read {}: {e}", path.display())),
    };
    match parse_script(&text) {
        Ok(script) => FileReport {
            name: name.clone(),
            cases: run_script(&script, engine, opts),
        },
        Err(e) => failed(e.line, format!("script error: {}", e.message)),
    }
}

/// Calls the engine, turning a panic into an error text.
fn call(f: impl FnOnce() -> Result<QueryResult, Error>) -> Result<QueryResult, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("engine panicked: {msg}"))
        }
    }
}

fn run_eval(eval: &Eval, data: &Data, engine: &dyn QueryEngine, opts: &RunOptions) -> Outcome {
    let parsed = parse(&eval.expr);
    if let Some(reason) = classify(eval, parsed.as_ref().ok(), &data.features) {
        return Outcome::Skipped(reason);
    }
    let expr = match parsed {
        Ok(e) => e,
        Err(e) => return Outcome::Failed(format!("does not parse: {e}")),
    };
    match check_eval(eval, &expr, &data.storage, engine, opts) {
        Ok(()) => Outcome::Passed,
        Err(msg) => Outcome::Failed(msg),
    }
}

fn check_eval(
    eval: &Eval,
    expr: &Expr,
    storage: &MemoryStorage,
    engine: &dyn QueryEngine,
    opts: &RunOptions,
) -> Result<(), String> {
    let result = match eval.time {
        EvalTime::Instant(t) => call(|| engine.eval_instant(storage, expr, t)),
        EvalTime::Range { start, end, step } => call(|| engine.eval_range(storage, expr, start, end, step)),
    };
    let result = match (result, &eval.expect.fail) {
        (Err(e), Some(m)) => return check_failure(m, &e),
        (Err(e), None) => return Err(format!("unexpected error: {e}")),
        (Ok(_), Some(_)) => return Err("expected an error but got none".into()),
        (Ok(r), None) => r,
    };
    check_annotations(
        &eval.expect,
        &result.warnings,
        &result.infos,
        opts.check_annotation_text,
    )?;
    compare_result(eval, &result.value)?;
    let EvalTime::Instant(t) = eval.time else {
        return Ok(());
    };
    let uses_query_context = ["start()", "end()", "range()", "step()"]
        .iter()
        .any(|f| eval.expr.contains(f));
    let vector_or_scalar = matches!(result.value, Value::Vector(_) | Value::Scalar { .. });
    if !opts.check_range_mode
        || eval.range_vector.is_some()
        || eval.string.is_some()
        || uses_query_context
        || !vector_or_scalar
    {
        return Ok(());
    }
    check_range_mode(eval, expr, storage, engine, t, &result.value).map_err(|e| format!("in range mode: {e}"))
}

/// Runs an instant eval as a range query around `t` and compares the point at `t`.
fn check_range_mode(
    eval: &Eval,
    expr: &Expr,
    storage: &MemoryStorage,
    engine: &dyn QueryEngine,
    t: i64,
    instant: &Value,
) -> Result<(), String> {
    const MINUTE: i64 = 60_000;
    let res = call(|| engine.eval_range(storage, expr, t - MINUTE, t + MINUTE, MINUTE))?;
    if eval.expect.ordered {
        return Ok(());
    }
    let Value::Matrix(m) = res.value else {
        return Err(format!("a range query returned a {}", res.value.type_name()));
    };
    if let Some(w) = m.windows(2).find(|w| w[0].labels > w[1].labels) {
        return Err(format!(
            "matrix is not sorted by labels: {} before {}",
            w[0].labels, w[1].labels
        ));
    }
    let vector: Vec<InstantSample> = m
        .iter()
        .filter_map(|s| {
            s.samples.iter().find(|p| p.t == t).map(|p| InstantSample {
                labels: s.labels.clone(),
                t,
                v: p.v,
            })
        })
        .collect();
    let value = match instant {
        Value::Scalar { .. } => match vector.first() {
            Some(s) => Value::Scalar { t, v: s.v },
            None => return Err(format!("no point at {t} for a scalar query")),
        },
        _ => Value::Vector(vector),
    };
    compare_result(eval, &value)
}

#[cfg(test)]
#[path = "run_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
