//! Deciding which cases need features Loupe does not run, so they are skipped, not failed.
//!
//! A case is skipped when its query uses flagged syntax (`anchored`/`smoothed` range selectors,
//! `fill*()` binary-operator modifiers, duration expressions like `[5m+1m]` or
//! `offset (step())`), the `info()` function or start timestamps, or when it touches native
//! histograms: a `{{...}}` literal in the query or the expected result, a histogram-only
//! function, or a selector that matches a series loaded with histogram samples. Syntax is
//! detected on the query text with string literals blanked, so it works even when the query
//! does not parse; selectors are checked on the parsed query.

use tsdb::{Labels, Matcher};

use super::script::Eval;
use crate::promql::{Expr, FUNCTIONS};

/// Why a case is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// `anchored` / `smoothed` range selectors (`promql-extended-range-selectors`).
    ExtendedRangeSelectors,
    /// `fill()`, `fill_left()`, `fill_right()` (`promql-binop-fill-modifiers`).
    FillModifiers,
    /// Arithmetic in ranges, steps and offsets (`promql-duration-expr`).
    DurationExpressions,
    /// The experimental `info()` function.
    InfoFunction,
    /// Series loaded with start timestamps (`@st` lines) or `start_timestamp()`.
    StartTimestamps,
    /// Native histogram data, literals or functions.
    NativeHistograms,
}

impl SkipReason {
    /// Every reason, in report order.
    pub const ALL: [SkipReason; 6] = [
        SkipReason::NativeHistograms,
        SkipReason::ExtendedRangeSelectors,
        SkipReason::FillModifiers,
        SkipReason::DurationExpressions,
        SkipReason::InfoFunction,
        SkipReason::StartTimestamps,
    ];

    /// A short label for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ExtendedRangeSelectors => "anchored/smoothed",
            SkipReason::FillModifiers => "fill modifiers",
            SkipReason::DurationExpressions => "duration expressions",
            SkipReason::InfoFunction => "info()",
            SkipReason::StartTimestamps => "start timestamps",
            SkipReason::NativeHistograms => "native histograms",
        }
    }
}

/// What the loaded data holds that matters for skipping.
#[derive(Debug, Clone, Default)]
pub struct LoadedFeatures {
    /// Series with at least one native histogram sample (including `load_with_nhcb` series).
    pub histogram_series: Vec<Labels>,
    /// Series with start timestamps.
    pub start_timestamp_series: Vec<Labels>,
}

/// The query with the contents of string literals replaced by spaces (quotes kept).
fn code_only(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                    out.push(' ');
                } else if c == '\\' && q != '`' {
                    escaped = true;
                    out.push(' ');
                } else if c == q {
                    quote = None;
                    out.push(c);
                } else {
                    out.push(' ');
                }
            }
            None => {
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Byte offsets just past each whole-word occurrence of `word` in `code`.
fn word_ends<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let b = code.as_bytes();
    code.match_indices(word).filter_map(move |(i, _)| {
        let end = i + word.len();
        let before_ok = i == 0 || !is_ident(b[i - 1]);
        let after_ok = end >= b.len() || !is_ident(b[end]);
        (before_ok && after_ok).then_some(end)
    })
}

fn has_word(code: &str, word: &str) -> bool {
    word_ends(code, word).next().is_some()
}

/// True when `word` occurs as a call: the word, optional spaces, `(`.
fn has_call(code: &str, word: &str) -> bool {
    word_ends(code, word).any(|end| code[end..].trim_start().starts_with('('))
}

/// True when a `[...]` range or subquery holds more than plain durations and numbers, or an
/// `offset` is followed by a parenthesis or a function call.
fn has_duration_expression(code: &str) -> bool {
    let mut rest = code;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else { break };
        let inner = &rest[open + 1..open + close];
        for part in inner.split(':') {
            let p = part.trim();
            let plain = p.is_empty()
                || super::series::parse_duration_ms(p).is_ok()
                || p.chars().all(|c| c.is_ascii_digit() || c == '.');
            if !plain {
                return true;
            }
        }
        rest = &rest[open + close + 1..];
    }
    word_ends(code, "offset").any(|end| {
        let after = code[end..].trim_start();
        let after = after.strip_prefix(['-', '+']).unwrap_or(after).trim_start();
        after.starts_with('(') || {
            let name_len = after.bytes().take_while(|&c| is_ident(c)).count();
            name_len > 0 && after[name_len..].trim_start().starts_with('(')
        }
    })
}

/// Every matcher list of the selectors in `expr`.
fn selectors<'a>(expr: &'a Expr, out: &mut Vec<&'a [Matcher]>) {
    match expr {
        Expr::VectorSelector(vs) => out.push(&vs.matchers),
        Expr::MatrixSelector(ms) => out.push(&ms.vs.matchers),
        Expr::Subquery(sq) => selectors(&sq.expr, out),
        Expr::Unary { expr, .. } | Expr::Paren(expr) => selectors(expr, out),
        Expr::Binary { lhs, rhs, .. } => {
            selectors(lhs, out);
            selectors(rhs, out);
        }
        Expr::Aggregate { expr, param, .. } => {
            selectors(expr, out);
            if let Some(p) = param {
                selectors(p, out);
            }
        }
        Expr::Call { args, .. } => args.iter().for_each(|a| selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
    }
}

fn touches(expr: &Expr, series: &[Labels]) -> bool {
    if series.is_empty() {
        return false;
    }
    let mut sels = Vec::new();
    selectors(expr, &mut sels);
    sels.iter()
        .any(|m| series.iter().any(|l| tsdb::labels::matches_labels(m, l)))
}

/// Why `eval` must be skipped, if it must; `parsed` is its query when it parses.
pub fn classify(eval: &Eval, parsed: Option<&Expr>, loaded: &LoadedFeatures) -> Option<SkipReason> {
    let code = code_only(&eval.expr);
    if has_word(&code, "anchored") || has_word(&code, "smoothed") {
        return Some(SkipReason::ExtendedRangeSelectors);
    }
    if ["fill", "fill_left", "fill_right"].iter().any(|w| has_call(&code, w)) {
        return Some(SkipReason::FillModifiers);
    }
    if has_duration_expression(&code) {
        return Some(SkipReason::DurationExpressions);
    }
    if has_call(&code, "info") {
        return Some(SkipReason::InfoFunction);
    }
    if has_call(&code, "start_timestamp") || parsed.is_some_and(|e| touches(e, &loaded.start_timestamp_series)) {
        return Some(SkipReason::StartTimestamps);
    }
    let nh_function = FUNCTIONS.iter().any(|f| f.native_histogram && has_call(&code, f.name));
    if code.contains("{{")
        || eval.expects_histograms()
        || nh_function
        || parsed.is_some_and(|e| touches(e, &loaded.histogram_series))
    {
        return Some(SkipReason::NativeHistograms);
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::promql::promqltest::script::{Command, parse_script};

    fn eval_of(script: &str) -> Eval {
        match parse_script(script).unwrap().commands.pop() {
            Some(Command::Eval(e)) => e,
            other => panic!("not an eval: {other:?}"),
        }
    }

    fn reason(expr: &str) -> Option<SkipReason> {
        let e = eval_of(&format!("eval instant at 1m {expr}\n"));
        let parsed = crate::promql::parse(expr).ok();
        classify(&e, parsed.as_ref(), &LoadedFeatures::default())
    }

    #[test]
    fn syntax_features() {
        use SkipReason::*;
        assert_eq!(reason("rate(m[5m] anchored)"), Some(ExtendedRangeSelectors));
        assert_eq!(reason("increase(m[2m] smoothed)"), Some(ExtendedRangeSelectors));
        assert_eq!(reason("a + fill(0) b"), Some(FillModifiers));
        assert_eq!(reason("a + fill_left (5) b"), Some(FillModifiers));
        assert_eq!(reason("changes(m[26m+4m])"), Some(DurationExpressions));
        assert_eq!(reason("count_over_time(m[step()])"), Some(DurationExpressions));
        assert_eq!(reason("sum_over_time(m[30s:20*500ms])"), Some(DurationExpressions));
        assert_eq!(reason("m offset (100 + 2)"), Some(DurationExpressions));
        assert_eq!(reason("m offset -min_of(step(), 1s)"), Some(DurationExpressions));
        assert_eq!(reason("info(metric, {data=~\".+\"})"), Some(InfoFunction));
        assert_eq!(reason("histogram_count(m)"), Some(NativeHistograms));
        assert_eq!(reason("start_timestamp(m)"), Some(StartTimestamps));
    }

    #[test]
    fn core_queries_run() {
        assert_eq!(reason("m offset 100 + 2"), None);
        assert_eq!(reason("m offset -2 * 2"), None);
        assert_eq!(reason("changes(m[1h30m]) + m[1800]"), None);
        assert_eq!(reason("sum_over_time(m[5m:1m])"), None);
        assert_eq!(reason("count_values(\"fill(0)\", m{a=~\"[a+b]anchored\"})"), None);
        assert_eq!(reason("histogram_quantile(0.5, rate(m_bucket[5m]))"), None);
        assert_eq!(reason("label_replace(m, \"info\", \"x\", \"y\", \"(.*)\")"), None);
        assert_eq!(reason("sum by (anchor) (m)"), None);
    }

    #[test]
    fn data_and_expectations() {
        let loaded = LoadedFeatures {
            histogram_series: vec![Labels::new([("__name__", "h"), ("a", "1")]).unwrap()],
            start_timestamp_series: vec![Labels::new([("__name__", "c")]).unwrap()],
        };
        let run = |expr: &str| {
            let e = eval_of(&format!("eval instant at 1m {expr}\n"));
            classify(&e, crate::promql::parse(expr).ok().as_ref(), &loaded)
        };
        assert_eq!(run("sum(h)"), Some(SkipReason::NativeHistograms));
        assert_eq!(run("{a=\"1\"}"), Some(SkipReason::NativeHistograms));
        assert_eq!(run("h{a=\"2\"}"), None);
        assert_eq!(run("rate(c[5m])"), Some(SkipReason::StartTimestamps));
        let e = eval_of("eval instant at 1m m\n  {} {{schema:0 sum:1 count:1}}\n");
        assert_eq!(classify(&e, None, &loaded), Some(SkipReason::NativeHistograms));
    }
}
