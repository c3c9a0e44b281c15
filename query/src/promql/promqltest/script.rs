//! Parsing test scripts into commands: `load`, `clear` and `eval` with their expectations.
//!
//! Lines are trimmed and `#` lines count as blank; a blank line ends a block. See
//! [`super::series`] for the series-line notation.

use tsdb::Labels;

use super::series::{SeqValue, parse_duration_ms, parse_number, parse_series_line, split_descriptor};
use crate::promql::ParseError;

/// A parsed script: its commands in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// The commands.
    pub commands: Vec<Command>,
}

/// One script command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `load <step>` (or `load_with_nhcb <step>`) and its series lines.
    Load(Load),
    /// `clear`: drop all loaded data.
    Clear,
    /// `eval ...`: one test case.
    Eval(Eval),
}

/// A `load` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// 1-based line of the `load` command.
    pub line: usize,
    /// Time between consecutive values, ms; value i sits at `i * step_ms`.
    pub step_ms: i64,
    /// `load_with_nhcb`: classic histogram series are also folded into native histograms.
    pub with_nhcb: bool,
    /// The series lines.
    pub series: Vec<LoadSeries>,
}

/// One series line of a `load` block.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadSeries {
    /// The series' labels.
    pub labels: Labels,
    /// The expanded values.
    pub values: Vec<SeqValue>,
    /// True when an `@st` line (start timestamps) applies to this series.
    pub start_timestamps: bool,
}

/// When an eval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalTime {
    /// `eval instant at <t>`, ms.
    Instant(i64),
    /// `eval range from <start> to <end> step <step>`, ms.
    Range {
        /// First step.
        start: i64,
        /// Last possible step.
        end: i64,
        /// Resolution.
        step: i64,
    },
}

/// How an expected error or annotation text must look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageMatch {
    /// Any text.
    Any,
    /// `msg: <text>`: exactly this text.
    Exact(String),
    /// `regex: <re>`: text containing a match of this (unanchored) regular expression.
    Regex(String),
}

/// The `expect ...` lines (and legacy `eval_*` forms) of an eval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expectations {
    /// `expect fail [msg|regex]`, `eval_fail`, `expected_fail_message|regexp`.
    pub fail: Option<MessageMatch>,
    /// `expect warn ...` lines: each must match a warning, and every warning must match one.
    pub warn: Vec<MessageMatch>,
    /// `eval_warn`: at least one warning.
    pub any_warn: bool,
    /// `expect no_warn`.
    pub no_warn: bool,
    /// `expect info ...` lines.
    pub info: Vec<MessageMatch>,
    /// `eval_info`: at least one info annotation.
    pub any_info: bool,
    /// `expect no_info`.
    pub no_info: bool,
    /// `expect ordered` / `eval_ordered`: vector order matters.
    pub ordered: bool,
}

/// One expected series of an eval's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    /// Exact label set (including `__name__` when present).
    pub labels: Labels,
    /// One value (instant) or one per step (range); `_` = no point.
    pub values: Vec<SeqValue>,
    /// 1-based position among the expected series (for `expect ordered`).
    pub pos: usize,
}

/// An `eval` command: one test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// 1-based line of the `eval` command (the case's identity).
    pub line: usize,
    /// The query text.
    pub expr: String,
    /// Instant or range.
    pub time: EvalTime,
    /// Error and annotation expectations.
    pub expect: Expectations,
    /// A bare number line: a scalar result.
    pub scalar: Option<f64>,
    /// `expect string "<s>"`: a string result.
    pub string: Option<String>,
    /// `expect range vector from .. to .. step ..`: an instant query returning a matrix.
    pub range_vector: Option<(i64, i64, i64)>,
    /// Expected series; empty (with no scalar/string) = an empty result.
    pub series: Vec<ExpectedSeries>,
}

impl Eval {
    /// True when an expected value is a native histogram literal.
    pub fn expects_histograms(&self) -> bool {
        self.series.iter().any(|s| s.values.contains(&SeqValue::Histogram))
    }
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        pos: 0,
        line,
        col: 1,
        message: message.into(),
    }
}

/// Splits off `n` whitespace-separated words; returns them and the trimmed rest.
fn words(s: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut out = Vec::with_capacity(n);
    let mut rest = s.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace)?;
        out.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    Some((out, rest))
}

fn duration(s: &str, line: usize, what: &str) -> Result<i64, ParseError> {
    parse_duration_ms(s).map_err(|e| err(line, format!("invalid {what} {s:?}: {e}")))
}

/// Parses a script.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let word = l.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        if word == "clear" {
            commands.push(Command::Clear);
            i += 1;
        } else if word.starts_with("load") {
            let (load, next) = parse_load(&lines, i)?;
            commands.push(Command::Load(load));
            i = next;
        } else if word.starts_with("eval") {
            let (eval, next) = parse_eval(&lines, i)?;
            commands.push(Command::Eval(eval));
            i = next;
        } else {
            return Err(err(i + 1, format!("invalid command {l:?}")));
        }
    }
    Ok(Script { commands })
}

/// Parses a `load` block starting at `lines[i]`; returns it and the index after the block.
fn parse_load(lines: &[&str], i: usize) -> Result<(Load, usize), ParseError> {
    let line = i + 1;
    let (w, rest) = words(lines[i], 1).ok_or_else(|| err(line, "invalid load command, want load <step>"))?;
    let with_nhcb = match w[0].to_ascii_lowercase().as_str() {
        "load" => false,
        "load_with_nhcb" => true,
        _ => return Err(err(line, format!("invalid load command {:?}", lines[i]))),
    };
    let step_ms = duration(rest, line, "load step")?;
    let mut load = Load {
        line,
        step_ms,
        with_nhcb,
        series: Vec::new(),
    };
    let mut default_st = false;
    let mut pending_st: Option<Labels> = None;
    let mut j = i + 1;
    while j < lines.len() && !lines[j].is_empty() {
        let l = lines[j];
        if let Some(labels) = st_line(l).map_err(|e| err(j + 1, e))? {
            match labels {
                None => default_st = true,
                Some(labels) => pending_st = Some(labels),
            }
            j += 1;
            continue;
        }
        let (labels, values) = parse_series_line(l).map_err(|e| err(j + 1, e))?;
        let start_timestamps = default_st || pending_st.take().is_some_and(|st| st == labels);
        load.series.push(LoadSeries {
            labels,
            values,
            start_timestamps,
        });
        j += 1;
    }
    Ok((load, j))
}

/// Recognises a start-timestamp line `metric{..}@st <seq>` (`Some(Some(labels))`) or a
/// standalone `@st <seq>` (`Some(None)`); `None` for other lines.
#[allow(clippy::type_complexity)]
fn st_line(l: &str) -> Result<Option<Option<Labels>>, String> {
    if let Some(rest) = l.strip_prefix("@st")
        && rest.starts_with(char::is_whitespace)
    {
        return Ok(Some(None));
    }
    let Some((desc, rest)) = split_descriptor(l) else {
        return Ok(None);
    };
    match rest.strip_prefix("@st") {
        Some(after) if after.starts_with(char::is_whitespace) => {
            let labels = super::series::parse_descriptor(desc)?;
            Ok(Some(Some(labels)))
        }
        _ => Ok(None),
    }
}

/// Parses `msg: <text>` / `regex: <re>` after an expect keyword.
fn message_match(rest: &str, line: usize) -> Result<MessageMatch, ParseError> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(MessageMatch::Any);
    }
    if let Some(m) = rest.strip_prefix("msg:") {
        return Ok(MessageMatch::Exact(m.trim().to_string()));
    }
    if let Some(r) = rest.strip_prefix("regex:") {
        return Ok(MessageMatch::Regex(r.trim().to_string()));
    }
    Err(err(
        line,
        format!("invalid expect suffix {rest:?}, want msg: or regex:"),
    ))
}

/// Parses the `eval` line at `lines[i]` and its body; returns it and the index after the body.
fn parse_eval(lines: &[&str], i: usize) -> Result<(Eval, usize), ParseError> {
    let line = i + 1;
    let bad = || err(line, format!("invalid eval command {:?}", lines[i]));
    let (head, _) = words(lines[i], 2).ok_or_else(bad)?;
    let modifier = match head[0].to_ascii_lowercase().as_str() {
        "eval" => "",
        "eval_fail" => "fail",
        "eval_warn" => "warn",
        "eval_info" => "info",
        "eval_ordered" => "ordered",
        _ => return Err(bad()),
    };
    let (time, expr) = match head[1] {
        "instant" => {
            let (w, expr) = words(lines[i], 4).ok_or_else(bad)?;
            if w[2] != "at" || expr.is_empty() {
                return Err(bad());
            }
            (EvalTime::Instant(duration(w[3], line, "eval time")?), expr)
        }
        "range" if modifier != "ordered" => {
            let (w, expr) = words(lines[i], 8).ok_or_else(bad)?;
            if w[2] != "from" || w[4] != "to" || w[6] != "step" || expr.is_empty() {
                return Err(bad());
            }
            let (start, end) = (duration(w[3], line, "start")?, duration(w[5], line, "end")?);
            if end < start {
                return Err(err(line, "invalid eval range: end before start"));
            }
            let step = duration(w[7], line, "step")?;
            (EvalTime::Range { start, end, step }, expr)
        }
        _ => return Err(bad()),
    };
    let mut eval = Eval {
        line,
        expr: expr.to_string(),
        time,
        expect: Expectations::default(),
        scalar: None,
        string: None,
        range_vector: None,
        series: Vec::new(),
    };
    match modifier {
        "fail" => eval.expect.fail = Some(MessageMatch::Any),
        "warn" => eval.expect.any_warn = true,
        "info" => eval.expect.any_info = true,
        "ordered" => eval.expect.ordered = true,
        _ => {}
    }
    let mut j = i + 1;
    while j < lines.len() && !lines[j].is_empty() {
        let l = lines[j];
        let lno = j + 1;
        j += 1;
        if eval.expect.fail.is_some() {
            if let Some(m) = l.strip_prefix("expected_fail_message") {
                eval.expect.fail = Some(MessageMatch::Exact(m.trim().to_string()));
                break;
            }
            if let Some(r) = l.strip_prefix("expected_fail_regexp") {
                eval.expect.fail = Some(MessageMatch::Regex(r.trim().to_string()));
                break;
            }
        }
        if let Some(rest) = l.strip_prefix("expect range vector") {
            let padded = format!("{rest} ");
            let (w, tail) = words(&padded, 6).ok_or_else(|| err(lno, "invalid expect range vector"))?;
            if w[0] != "from" || w[2] != "to" || w[4] != "step" || !tail.is_empty() {
                return Err(err(lno, "invalid expect range vector, want from <d> to <d> step <d>"));
            }
            let (s, e, st) = (
                duration(w[1], lno, "start")?,
                duration(w[3], lno, "end")?,
                duration(w[5], lno, "step")?,
            );
            eval.range_vector = Some((s, e, st));
            continue;
        }
        if let Some(rest) = l.strip_prefix("expect string") {
            eval.string = Some(unquote(rest.trim()).ok_or_else(|| err(lno, "expect string needs a quoted string"))?);
            continue;
        }
        if l.split(' ').next() == Some("expect") {
            parse_expect(&mut eval.expect, l, lno)?;
            continue;
        }
        if let Some(f) = parse_number(l) {
            eval.scalar = Some(f);
            break;
        }
        let (labels, values) = parse_series_line(l).map_err(|e| err(lno, e))?;
        if values.len() > 1 && matches!(time, EvalTime::Instant(_)) && eval.range_vector.is_none() {
            return Err(err(
                lno,
                "multiple values in an instant evaluation need 'expect range vector'",
            ));
        }
        let pos = eval.series.len() + 1;
        eval.series.retain(|s| s.labels != labels);
        eval.series.push(ExpectedSeries { labels, values, pos });
    }
    Ok((eval, j))
}

/// Applies one `expect <kind> [msg:|regex: ...]` line.
fn parse_expect(e: &mut Expectations, l: &str, line: usize) -> Result<(), ParseError> {
    let padded = format!("{l} ");
    let (w, rest) = words(&padded, 2).ok_or_else(|| err(line, "invalid expect line"))?;
    let m = message_match(rest, line)?;
    match w[1] {
        "fail" if e.fail.is_some() => return Err(err(line, "multiple expect fail lines")),
        "fail" => e.fail = Some(m),
        "warn" => e.warn.push(m),
        "info" => e.info.push(m),
        "no_warn" => e.no_warn = true,
        "no_info" => e.no_info = true,
        "ordered" => e.ordered = true,
        other => return Err(err(line, format!("invalid expect type {other:?}"))),
    }
    if (e.no_warn && (!e.warn.is_empty() || e.any_warn)) || (e.no_info && (!e.info.is_empty() || e.any_info)) {
        return Err(err(line, "warn/no_warn and info/no_info cannot be used together"));
    }
    Ok(())
}

/// Unquotes a Go string literal (`"..."` with escapes, or raw `` `...` ``).
fn unquote(s: &str) -> Option<String> {
    if s.len() >= 2 && s.starts_with('`') && s.ends_with('`') {
        return Some(s[1..s.len() - 1].to_string());
    }
    if !(s.len() >= 2 && s.starts_with('"') && s.ends_with('"')) {
        return None;
    }
    match crate::promql::lexer::tokenize(s).ok()?.as_slice() {
        [t, eof] if eof.start == s.len() && t.end == s.len() => match &t.kind {
            crate::promql::lexer::TokenKind::Str(v) => Some(v.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
#[path = "script_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
