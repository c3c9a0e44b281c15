//! Parsing logqltest scripts into commands: `load`, `clear` and `eval` blocks with their
//! expectations. The notation is defined in the [module docs](super).

use tsdb::Labels;

use super::notation::{Pairs, parse_duration_ns, parse_labels, parse_line_text, parse_pairs, parse_values, split_word};

/// A parsed script: its commands in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// The commands.
    pub commands: Vec<Command>,
}

/// One script command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `load {labels}` and its lines.
    Load(Load),
    /// `clear`: drop every loaded line.
    Clear,
    /// `eval ...` or `eval_skip ...`: one test case.
    Eval(Eval),
}

/// A `load` block: lines of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// 1-based line of the `load` command.
    pub line: usize,
    /// The stream's labels.
    pub labels: Labels,
    /// The lines, in script order.
    pub entries: Vec<LoadEntry>,
}

/// One log line of a `load` block.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadEntry {
    /// Timestamp, ns from 0.
    pub ts_ns: i64,
    /// The line text.
    pub text: String,
    /// Structured metadata.
    pub metadata: Vec<(String, String)>,
}

/// What an eval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at <t>`: a metric query at one time, ns.
    Instant(i64),
    /// `eval range from <a> to <b> step <s>`: a metric range query, ns.
    Range {
        /// First step.
        start: i64,
        /// Last possible step.
        end: i64,
        /// Resolution (> 0).
        step: i64,
    },
    /// `eval logs from <a> to <b> [limit N] [forward|backward]`: a log query over `[a, b)`.
    Logs {
        /// Start, ns (inclusive).
        start: i64,
        /// End, ns (exclusive).
        end: i64,
        /// Most entries (default 100).
        limit: usize,
        /// True for `forward` (default `backward`).
        forward: bool,
    },
}

/// An expected series (metric evals).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    /// Exact label set.
    pub labels: Labels,
    /// One value (instant) or one per step (range); `None` = no point.
    pub values: Vec<Option<f64>>,
}

/// An expected log entry (log evals).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedEntry {
    /// All the entry's labels (stream, metadata and parsed).
    pub labels: Labels,
    /// Timestamp, ns.
    pub ts_ns: i64,
    /// The (formatted) line.
    pub text: String,
}

/// What an eval expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// `expect empty`: no series, no entries.
    Empty,
    /// `expect fail [msg: text]`: the query must fail (to parse or to run); the error must
    /// contain `text` when given.
    Fail(Option<String>),
    /// A bare number: a scalar result (instant evals).
    Scalar(f64),
    /// `{labels} values` lines.
    Series(Vec<ExpectedSeries>),
    /// `{labels} <time> <line>` lines, in result order.
    Entries(Vec<ExpectedEntry>),
}

/// An `eval` command: one test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// 1-based line of the command (the case's identity).
    pub line: usize,
    /// The query text.
    pub query: String,
    /// Instant, range or logs.
    pub kind: EvalKind,
    /// The expectation.
    pub expected: Expected,
    /// `expect ordered`: instant samples must come in this order.
    pub ordered: bool,
    /// `eval_skip`: not run; the reason is the nearest `# KNOWN:` comment above it.
    pub skip: Option<String>,
}

/// A script error: 1-based line and message.
pub type ScriptError = (usize, String);

/// Most lines a `load` time expansion (`A+BxN`) may produce.
const MAX_EXPANSION: i64 = 100_000;

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Script, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut commands = Vec::new();
    let mut known: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let n = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() {
            known = None;
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(reason) = comment.trim().strip_prefix("KNOWN:") {
                known = Some(reason.trim().to_string());
            }
            continue;
        }
        let mut body: Vec<(usize, &str)> = Vec::new();
        while i < lines.len() {
            let l = lines[i].trim();
            if l.is_empty() {
                break;
            }
            if !l.starts_with('#') {
                body.push((i + 1, l));
            }
            i += 1;
        }
        let (word, rest) = split_word(line);
        let cmd = match word {
            "clear" if rest.is_empty() && body.is_empty() => Command::Clear,
            "clear" => return Err((n, "clear takes no arguments and no body".into())),
            "load" => Command::Load(parse_load(n, rest, &body)?),
            "eval" => Command::Eval(parse_eval(n, rest, &body, None)?),
            "eval_skip" => {
                let reason = known.take().unwrap_or_else(|| "skipped".to_string());
                Command::Eval(parse_eval(n, rest, &body, Some(reason))?)
            }
            other => return Err((n, format!("unknown command {other:?}"))),
        };
        known = None;
        commands.push(cmd);
    }
    Ok(Script { commands })
}

fn parse_load(n: usize, rest: &str, body: &[(usize, &str)]) -> Result<Load, ScriptError> {
    let (labels, tail) = parse_labels(rest).map_err(|e| (n, e))?;
    if !tail.trim().is_empty() {
        return Err((n, format!("unexpected text after the load labels: {tail:?}")));
    }
    if labels.is_empty() {
        return Err((n, "a loaded stream needs at least one label".into()));
    }
    let mut entries = Vec::new();
    for &(ln, line) in body {
        let (time, text) = split_word(line);
        let times = parse_time_spec(time).map_err(|e| (ln, e))?;
        let (metadata, text) = parse_metadata(text).map_err(|e| (ln, e))?;
        let text = parse_line_text(text).map_err(|e| (ln, e))?;
        for (k, ts) in times.into_iter().enumerate() {
            entries.push(LoadEntry {
                ts_ns: ts,
                text: text.replace("{{i}}", &k.to_string()),
                metadata: metadata.clone(),
            });
        }
    }
    Ok(Load {
        line: n,
        labels,
        entries,
    })
}

/// `<dur>` or `<dur>+<dur>x<N>` (N+1 times, `step` apart).
fn parse_time_spec(spec: &str) -> Result<Vec<i64>, String> {
    let Some((first, repeat)) = spec.split_once('+') else {
        return Ok(vec![parse_duration_ns(spec)?]);
    };
    let (step, count) = repeat
        .rsplit_once('x')
        .ok_or_else(|| format!("bad time expansion {spec:?}: want <start>+<step>x<count>"))?;
    let start = parse_duration_ns(first)?;
    let step = parse_duration_ns(step)?;
    let count: i64 = count
        .parse()
        .map_err(|_| format!("bad repeat count in time expansion {spec:?}"))?;
    if !(0..=MAX_EXPANSION).contains(&count) {
        return Err(format!("repeat count in {spec:?} must be 0..={MAX_EXPANSION}"));
    }
    Ok((0..=count)
        .map(|k| start.saturating_add(step.saturating_mul(k)))
        .collect())
}

/// An optional `{metadata k="v", ...}` prefix of a line's text.
fn parse_metadata(text: &str) -> Result<(Pairs, &str), String> {
    let Some(rest) = text.strip_prefix("{metadata") else {
        return Ok((Vec::new(), text));
    };
    if !rest.starts_with([' ', '}']) {
        return Ok((Vec::new(), text));
    }
    let (pairs, tail) = parse_pairs(rest)?;
    Ok((pairs, tail.trim_start()))
}

fn parse_eval(n: usize, rest: &str, body: &[(usize, &str)], skip: Option<String>) -> Result<Eval, ScriptError> {
    let err = |m: String| (n, m);
    let (mode, rest) = split_word(rest);
    let (kind, query) = match mode {
        "instant" => {
            let rest = expect_word(rest, "at").map_err(err)?;
            let (t, q) = split_word(rest);
            (EvalKind::Instant(parse_duration_ns(t).map_err(err)?), q)
        }
        "range" | "logs" => {
            let rest = expect_word(rest, "from").map_err(err)?;
            let (a, rest) = split_word(rest);
            let rest = expect_word(rest, "to").map_err(err)?;
            let (b, rest) = split_word(rest);
            let (start, end) = (parse_duration_ns(a).map_err(err)?, parse_duration_ns(b).map_err(err)?);
            if mode == "range" {
                let rest = expect_word(rest, "step").map_err(err)?;
                let (s, q) = split_word(rest);
                let step = parse_duration_ns(s).map_err(err)?;
                if step <= 0 {
                    return Err(err("the step must be positive".into()));
                }
                (EvalKind::Range { start, end, step }, q)
            } else {
                let (mut limit, mut forward, mut q) = (100usize, false, rest);
                loop {
                    let (w, r) = split_word(q);
                    match w {
                        "limit" => {
                            let (v, r2) = split_word(r);
                            limit = v.parse().map_err(|_| err(format!("bad limit {v:?}")))?;
                            q = r2;
                        }
                        "forward" => (forward, q) = (true, r),
                        "backward" => (forward, q) = (false, r),
                        _ => break,
                    }
                }
                (
                    EvalKind::Logs {
                        start,
                        end,
                        limit,
                        forward,
                    },
                    q,
                )
            }
        }
        other => return Err(err(format!("eval wants instant, range or logs, not {other:?}"))),
    };
    if query.is_empty() {
        return Err(err("eval without a query".into()));
    }
    let (expected, ordered) = parse_expectations(n, &kind, body)?;
    Ok(Eval {
        line: n,
        query: query.to_string(),
        kind,
        expected,
        ordered,
        skip,
    })
}

fn expect_word<'a>(s: &'a str, word: &str) -> Result<&'a str, String> {
    match split_word(s) {
        (w, rest) if w == word => Ok(rest),
        (w, _) => Err(format!("expected {word:?}, found {w:?}")),
    }
}

fn parse_expectations(n: usize, kind: &EvalKind, body: &[(usize, &str)]) -> Result<(Expected, bool), ScriptError> {
    let mut expected: Option<Expected> = None;
    let mut ordered = false;
    let mut series: Vec<ExpectedSeries> = Vec::new();
    let mut entries: Vec<ExpectedEntry> = Vec::new();
    let steps = match *kind {
        EvalKind::Range { start, end, step } => Some((end.saturating_sub(start).max(0) / step).saturating_add(1)),
        _ => None,
    };
    for &(ln, line) in body {
        let set = |slot: &mut Option<Expected>, e: Expected| {
            if slot.is_some() {
                return Err((ln, "only one `expect empty|fail` or scalar per eval".to_string()));
            }
            *slot = Some(e);
            Ok(())
        };
        if let Some(what) = line.strip_prefix("expect ") {
            let what = what.trim();
            if what == "empty" {
                set(&mut expected, Expected::Empty)?;
            } else if what == "ordered" {
                ordered = true;
            } else if what == "fail" {
                set(&mut expected, Expected::Fail(None))?;
            } else if let Some(msg) = what.strip_prefix("fail msg:") {
                set(&mut expected, Expected::Fail(Some(msg.trim().to_string())))?;
            } else {
                return Err((ln, format!("unknown expectation {what:?}")));
            }
            continue;
        }
        if !line.starts_with('{') {
            let v = parse_values(line).map_err(|e| (ln, e))?;
            match (kind, v.as_slice()) {
                (EvalKind::Instant(_), [Some(x)]) => set(&mut expected, Expected::Scalar(*x))?,
                _ => return Err((ln, format!("expected `{{labels}} ...` or a scalar, found {line:?}"))),
            }
            continue;
        }
        let (labels, rest) = parse_labels(line).map_err(|e| (ln, e))?;
        match kind {
            EvalKind::Logs { .. } => {
                let (t, text) = split_word(rest.trim_start());
                let ts_ns = parse_duration_ns(t).map_err(|e| (ln, e))?;
                let text = parse_line_text(text).map_err(|e| (ln, e))?;
                entries.push(ExpectedEntry { labels, ts_ns, text });
            }
            _ => {
                let values = parse_values(rest).map_err(|e| (ln, e))?;
                let want = steps.unwrap_or(1);
                if values.len() as i64 != want {
                    return Err((ln, format!("expected {want} value(s), found {}", values.len())));
                }
                if series.iter().any(|s| s.labels == labels) {
                    return Err((ln, format!("series {labels} expected twice")));
                }
                series.push(ExpectedSeries { labels, values });
            }
        }
    }
    let listed = !series.is_empty() || !entries.is_empty();
    let expected = match (expected, listed) {
        (Some(_), true) => return Err((n, "results listed together with `expect empty|fail` or a scalar".into())),
        (Some(e), false) => e,
        (None, true) if !entries.is_empty() => Expected::Entries(entries),
        (None, true) => Expected::Series(series),
        (None, false) => {
            return Err((
                n,
                "eval has no expectation (list results or write `expect empty`)".into(),
            ));
        }
    };
    Ok((expected, ordered))
}
