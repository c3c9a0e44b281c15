//! Running a parsed script against the LogQL engine over a [`MemorySource`], and comparing
//! results with the expectations.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use logs::Direction;
use tsdb::Labels;

use super::script::{Command, Eval, EvalKind, Expected, ExpectedEntry, ExpectedSeries, parse_script};
use crate::logql::eval::{Engine, EngineOptions, LogEntry, MemorySource, MetricSeries, QueryParams, QueryValue};
use crate::logql::parse;

/// Relative tolerance of float comparisons.
pub const EPSILON: f64 = 1e-6;

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The result matched.
    Passed,
    /// It did not: what differed.
    Failed(String),
    /// `eval_skip`: the reason (its `# KNOWN:` comment).
    Skipped(String),
}

/// One case (an eval, or a script error) and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// 1-based line of the eval (or of the script error).
    pub line: usize,
    /// The query (empty for a script error).
    pub query: String,
    /// What happened.
    pub outcome: Outcome,
}

/// The results of one script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The script's name (file name, or `<script>`).
    pub name: String,
    /// Every case, in script order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    /// Cases that failed (including script errors).
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// Cases skipped with `eval_skip`.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.outcome)).count()
    }

    /// `name: N passed, N failed, N skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{}: {} passed, {} failed, {} skipped",
            self.name,
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// One paragraph per failed case: `name:line: query` then the indented difference.
    pub fn failures(&self) -> String {
        let mut out = String::new();
        for c in &self.cases {
            if let Outcome::Failed(msg) = &c.outcome {
                let _ = writeln!(out, "{}:{}: {}", self.name, c.line, c.query);
                for l in msg.lines() {
                    let _ = writeln!(out, "    {l}");
                }
            }
        }
        out
    }
}

/// Reads and runs a script file; the report is named after the file.
pub fn run_file(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok(run_named(&name, &text))
}

/// Runs a script given as text; the report is named `<script>`.
pub fn run_script(text: &str) -> Report {
    run_named("<script>", text)
}

/// Runs a script given as text under `name`. A script that does not parse gives one failed case
/// at the offending line.
pub fn run_named(name: &str, text: &str) -> Report {
    let mut report = Report {
        name: name.to_string(),
        cases: Vec::new(),
    };
    let script = match parse_script(text) {
        Ok(s) => s,
        Err((line, msg)) => {
            report.cases.push(CaseResult {
                line,
                query: String::new(),
                outcome: Outcome::Failed(format!("script error: {msg}")),
            });
            return report;
        }
    };
    let mut source = MemorySource::new();
    let mut streams: HashMap<Labels, Arc<Labels>> = HashMap::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear => {
                source.clear();
                streams.clear();
            }
            Command::Load(load) => {
                let labels = Arc::clone(
                    streams
                        .entry(load.labels.clone())
                        .or_insert_with(|| Arc::new(load.labels.clone())),
                );
                for e in &load.entries {
                    source.push(&labels, e.ts_ns, &e.text, e.metadata.clone());
                }
            }
            Command::Eval(eval) => {
                let outcome = match &eval.skip {
                    Some(reason) => Outcome::Skipped(reason.clone()),
                    None => match run_eval(&source, eval) {
                        Ok(()) => Outcome::Passed,
                        Err(msg) => Outcome::Failed(msg),
                    },
                };
                report.cases.push(CaseResult {
                    line: eval.line,
                    query: eval.query.clone(),
                    outcome,
                });
            }
        }
    }
    report
}

fn run_eval(source: &MemorySource, eval: &Eval) -> Result<(), String> {
    let result = parse(&eval.query).map_err(crate::error::Error::from).and_then(|expr| {
        let engine = Engine::new(source, EngineOptions::default());
        match eval.kind {
            EvalKind::Instant(t) => engine.query_instant(&expr, t),
            EvalKind::Range { start, end, step } => engine.query_range(
                &expr,
                &QueryParams {
                    start_ns: start,
                    end_ns: end,
                    step_ns: step,
                    interval_ns: 0,
                    limit: 100,
                    direction: Direction::Backward,
                },
            ),
            EvalKind::Logs {
                start,
                end,
                limit,
                forward,
            } => engine.query_range(
                &expr,
                &QueryParams {
                    start_ns: start,
                    end_ns: end,
                    step_ns: 0,
                    interval_ns: 0,
                    limit,
                    direction: if forward {
                        Direction::Forward
                    } else {
                        Direction::Backward
                    },
                },
            ),
        }
    });
    let value = match (result, &eval.expected) {
        (Err(e), Expected::Fail(None)) => return ok_if(true, || e.to_string()),
        (Err(e), Expected::Fail(Some(msg))) => {
            let text = e.to_string();
            return ok_if(text.contains(msg.as_str()), || {
                format!("expected an error containing {msg:?}, got error: {text}")
            });
        }
        (Err(e), _) => return Err(format!("unexpected error: {e}")),
        (Ok(v), Expected::Fail(_)) => return Err(format!("expected an error, got {}", render_value(&v))),
        (Ok(v), _) => v,
    };
    compare(eval, &value)
}

fn ok_if(ok: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(msg()) }
}

/// Compares a result with the eval's expectation.
pub fn compare(eval: &Eval, value: &QueryValue) -> Result<(), String> {
    let got = || render_value(value);
    match (&eval.expected, value) {
        (Expected::Empty, QueryValue::Streams(e)) if e.is_empty() => Ok(()),
        (Expected::Empty, QueryValue::Matrix(m)) if m.is_empty() => Ok(()),
        (Expected::Empty, QueryValue::Vector { samples, .. }) if samples.is_empty() => Ok(()),
        (Expected::Empty, _) => Err(format!("expected an empty result, got:\n{}", got())),
        (Expected::Scalar(want), QueryValue::Scalar { value: v, .. }) => {
            ok_if(almost_equal(*want, *v), || format!("expected scalar {want}, got {v}"))
        }
        (Expected::Series(want), QueryValue::Vector { samples, .. }) => compare_vector(want, samples, eval.ordered),
        (Expected::Series(want), QueryValue::Matrix(m)) => compare_matrix(want, m, &eval.kind),
        (Expected::Entries(want), QueryValue::Streams(got_entries)) => compare_entries(want, got_entries),
        _ => Err(format!("result of the wrong kind for the expectation; got:\n{}", got())),
    }
}

/// `a` and `b` are equal within [`EPSILON`] relative error; NaN equals NaN.
pub fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / sum < EPSILON
}

fn compare_vector(want: &[ExpectedSeries], got: &[(Labels, f64)], ordered: bool) -> Result<(), String> {
    let mut problems: Vec<String> = Vec::new();
    for (i, w) in want.iter().enumerate() {
        let expected = w.values.first().copied().flatten();
        match got.iter().position(|(l, _)| *l == w.labels) {
            None => problems.push(format!("missing {} {}", w.labels, fmt_opt(expected))),
            Some(pos) => {
                let v = got[pos].1;
                match expected {
                    Some(e) if almost_equal(e, v) => {}
                    _ => problems.push(format!("{}: expected {}, got {v}", w.labels, fmt_opt(expected))),
                }
                if ordered && pos != i {
                    problems.push(format!(
                        "{}: expected at position {}, got at {}",
                        w.labels,
                        i + 1,
                        pos + 1
                    ));
                }
            }
        }
    }
    for (l, v) in got {
        if !want.iter().any(|w| w.labels == *l) {
            problems.push(format!("unexpected {l} {v}"));
        }
    }
    finish(problems)
}

fn compare_matrix(want: &[ExpectedSeries], got: &[MetricSeries], kind: &EvalKind) -> Result<(), String> {
    let EvalKind::Range { start, step, .. } = *kind else {
        return Err("a matrix result for a non-range eval".into());
    };
    let mut problems: Vec<String> = Vec::new();
    for w in want {
        let Some(s) = got.iter().find(|s| s.labels == w.labels) else {
            problems.push(format!("missing {} {}", w.labels, fmt_values(&w.values)));
            continue;
        };
        let mut actual: Vec<Option<f64>> = vec![None; w.values.len()];
        let mut stray: Vec<i64> = Vec::new();
        for &(t, v) in &s.points {
            let off = t.saturating_sub(start);
            let i = usize::try_from(off / step)
                .ok()
                .filter(|&i| off % step == 0 && i < actual.len());
            match i {
                Some(i) => actual[i] = Some(v),
                None => stray.push(t),
            }
        }
        let same = actual.iter().zip(&w.values).all(|(a, e)| match (a, e) {
            (Some(a), Some(e)) => almost_equal(*a, *e),
            (None, None) => true,
            _ => false,
        });
        if !same || !stray.is_empty() {
            problems.push(format!(
                "{}:\n  expected {}\n  got      {}",
                w.labels,
                fmt_values(&w.values),
                fmt_values(&actual)
            ));
        }
    }
    for s in got {
        if !want.iter().any(|w| w.labels == s.labels) {
            problems.push(format!("unexpected {} {}", s.labels, render_points(&s.points)));
        }
    }
    let sorted = got.windows(2).all(|p| p[0].labels <= p[1].labels);
    if !sorted {
        problems.push("matrix series are not sorted by labels".into());
    }
    finish(problems)
}

fn compare_entries(want: &[ExpectedEntry], got: &[LogEntry]) -> Result<(), String> {
    let same = want.len() == got.len()
        && want
            .iter()
            .zip(got)
            .all(|(w, g)| w.labels == g.labels && w.ts_ns == g.ts_ns && w.text == g.line);
    if same {
        return Ok(());
    }
    let mut msg = String::from("expected entries:\n");
    for w in want {
        let _ = writeln!(msg, "  {} {} {:?}", w.labels, fmt_ts(w.ts_ns), w.text);
    }
    msg.push_str("got entries:\n");
    msg.push_str(&render_entries(got));
    Err(msg)
}

fn finish(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "_".to_string(), |v| v.to_string())
}

fn fmt_values(values: &[Option<f64>]) -> String {
    values.iter().map(|v| fmt_opt(*v)).collect::<Vec<_>>().join(" ")
}

/// A timestamp as a duration from 0 (`1m30s`), or in ns when not whole milliseconds.
pub fn fmt_ts(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns % 1_000_000 != 0 || ns < 0 {
        return format!("{ns}ns");
    }
    let mut ms = ns / 1_000_000;
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            let _ = write!(out, "{}{unit}", ms / size);
            ms %= size;
        }
    }
    out
}

fn render_points(points: &[(i64, f64)]) -> String {
    points
        .iter()
        .map(|(t, v)| format!("{v}@{}", fmt_ts(*t)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn render_entries(entries: &[LogEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        let _ = writeln!(out, "  {} {} {:?}", e.labels, fmt_ts(e.ts_ns), e.line);
    }
    out
}

/// A result as text, for failure messages.
pub fn render_value(value: &QueryValue) -> String {
    match value {
        QueryValue::Streams(e) if e.is_empty() => "  (no entries)\n".into(),
        QueryValue::Streams(e) => render_entries(e),
        QueryValue::Matrix(m) if m.is_empty() => "  (no series)\n".into(),
        QueryValue::Matrix(m) => m
            .iter()
            .map(|s| format!("  {} {}\n", s.labels, render_points(&s.points)))
            .collect(),
        QueryValue::Vector { samples, .. } if samples.is_empty() => "  (no samples)\n".into(),
        QueryValue::Vector { samples, .. } => samples.iter().map(|(l, v)| format!("  {l} {v}\n")).collect(),
        QueryValue::Scalar { value, .. } => format!("  scalar {value}\n"),
    }
}
