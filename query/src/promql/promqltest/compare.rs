//! Comparing an evaluation's outcome with a case's expectations, by Prometheus's rules.
//!
//! Floats are equal when both are NaN, when both are the stale marker (which equals nothing
//! else), or when `|a-b| / (|a|+|b|) < 1e-6` (near-exact when either is 0). Label sets must match
//! exactly. Vector order matters only with `expect ordered`; matrices must be label-sorted.

use tsdb::{Labels, MatchType, Matcher};

use super::script::{Eval, EvalTime, Expectations, ExpectedSeries, MessageMatch};
use super::series::SeqValue;
use crate::promql::eval::{InstantSample, Series, Value};

/// The relative error allowed between an expected and an actual float.
pub const EPSILON: f64 = 1e-6;

/// Prometheus's `almost.Equal(a, b, 1e-6)`.
pub fn almost_equal(a: f64, b: f64) -> bool {
    if tsdb::is_stale_nan(a) || tsdb::is_stale_nan(b) {
        return tsdb::is_stale_nan(a) && tsdb::is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// True when `text` contains a match of the regular expression `pattern` (Go's
/// `regexp.MatchString`: unanchored).
pub fn regex_find(pattern: &str, text: &str) -> Result<bool, String> {
    let m = Matcher::new(MatchType::Regex, "re", format!(".*(?:{pattern}).*"))
        .map_err(|e| format!("bad regex {pattern:?}: {e}"))?;
    Ok(m.matches(text))
}

/// True when `text` satisfies `m`.
pub fn message_matches(m: &MessageMatch, text: &str) -> Result<bool, String> {
    match m {
        MessageMatch::Any => Ok(true),
        MessageMatch::Exact(s) => Ok(s == text),
        MessageMatch::Regex(r) => regex_find(r, text),
    }
}

/// Checks an evaluation error against an `expect fail` expectation.
pub fn check_failure(expected: &MessageMatch, error: &str) -> Result<(), String> {
    if message_matches(expected, error)? {
        Ok(())
    } else {
        Err(format!("expected error matching {expected:?}, got: {error}"))
    }
}

/// Checks one kind of annotation: each expectation matches at least one annotation, and every
/// annotation matches an expectation. `check_text` false relaxes this to presence.
fn check_kind(kind: &str, expected: &[MessageMatch], actual: &[String], check_text: bool) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("expected {kind} annotations but none were found"));
    }
    if !check_text {
        return Ok(());
    }
    for e in expected {
        let mut found = false;
        for a in actual {
            found |= message_matches(e, a)?;
        }
        if !found {
            return Err(format!("expected {kind} annotation matching {e:?}, found: {actual:?}"));
        }
    }
    for a in actual {
        let mut found = false;
        for e in expected {
            found |= message_matches(e, a)?;
        }
        if !found {
            return Err(format!("unexpected {kind} annotation {a:?}"));
        }
    }
    Ok(())
}

/// Checks warnings and infos against the expectations.
pub fn check_annotations(
    e: &Expectations,
    warnings: &[String],
    infos: &[String],
    check_text: bool,
) -> Result<(), String> {
    if e.any_warn && warnings.is_empty() {
        return Err("expected warnings but got none".into());
    }
    if e.any_info && infos.is_empty() {
        return Err("expected info annotations but got none".into());
    }
    check_kind("warn", &e.warn, warnings, check_text)?;
    check_kind("info", &e.info, infos, check_text)?;
    if e.no_warn && !warnings.is_empty() {
        return Err(format!("unexpected warnings: {warnings:?}"));
    }
    if e.no_info && !infos.is_empty() {
        return Err(format!("unexpected infos: {infos:?}"));
    }
    Ok(())
}

fn expected_for<'a>(eval: &'a Eval, labels: &Labels) -> Option<&'a ExpectedSeries> {
    eval.series.iter().find(|s| &s.labels == labels)
}

fn seq_float(v: &SeqValue) -> f64 {
    match v {
        SeqValue::Float(f) => *f,
        _ => 0.0,
    }
}

/// Compares an evaluation result with the eval's expected result.
pub fn compare_result(eval: &Eval, value: &Value) -> Result<(), String> {
    let expect_scalar = eval.scalar.is_some();
    match value {
        Value::Matrix(m) => {
            if eval.expect.ordered {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if expect_scalar {
                return Err("expected scalar result, but got a matrix".into());
            }
            compare_matrix(eval, m)
        }
        Value::Vector(v) => {
            if expect_scalar {
                return Err("expected scalar result, but got a vector".into());
            }
            compare_vector(eval, v)
        }
        Value::Scalar { v, .. } => match eval.scalar {
            None => Err(format!("expected vector or matrix result, but got scalar {v}")),
            Some(e) if almost_equal(e, *v) => Ok(()),
            Some(e) => Err(format!("expected scalar {e} but got {v}")),
        },
        Value::String { v, .. } => {
            let e = eval.string.as_deref().unwrap_or_default();
            if e == v {
                Ok(())
            } else {
                Err(format!("expected string {e:?} but got {v:?}"))
            }
        }
    }
}

/// Compares an instant vector (order-sensitive with `expect ordered`).
pub fn compare_vector(eval: &Eval, v: &[InstantSample]) -> Result<(), String> {
    let mut seen = vec![false; eval.series.len()];
    for (pos, s) in v.iter().enumerate() {
        let Some(idx) = eval.series.iter().position(|e| e.labels == s.labels) else {
            return Err(format!("unexpected metric {} in result, has value {}", s.labels, s.v));
        };
        let exp = &eval.series[idx];
        if eval.expect.ordered && exp.pos != pos + 1 {
            return Err(format!(
                "expected metric {} at position {} but was at {}",
                s.labels,
                exp.pos,
                pos + 1
            ));
        }
        let want = exp.values.first().map(seq_float).unwrap_or_default();
        if !almost_equal(want, s.v) {
            return Err(format!("expected {want} for {} but got {}", s.labels, s.v));
        }
        seen[idx] = true;
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(format!("expected metric {} not found", eval.series[i].labels));
    }
    Ok(())
}

/// The time grid expected points sit on: (start, end, step); `None` for an instant query
/// without `expect range vector` (which cannot expect points in a matrix).
fn grid(eval: &Eval) -> Option<(i64, i64, i64)> {
    match (eval.time, eval.range_vector) {
        (EvalTime::Range { start, end, step }, _) => Some((start, end, step)),
        (EvalTime::Instant(_), rv) => rv,
    }
}

/// Compares a matrix: label-sorted, every series expected, points at `start + i*step`.
pub fn compare_matrix(eval: &Eval, m: &[Series]) -> Result<(), String> {
    if let Some(w) = m.windows(2).find(|w| w[0].labels > w[1].labels) {
        return Err(format!(
            "matrix is not sorted by labels: {} before {}",
            w[0].labels, w[1].labels
        ));
    }
    let mut seen = vec![false; eval.series.len()];
    for s in m {
        let Some(exp) = expected_for(eval, &s.labels) else {
            return Err(format!("unexpected metric {} in result, has {}", s.labels, points(s)));
        };
        let mut want: Vec<(i64, f64)> = Vec::new();
        for (i, v) in exp.values.iter().enumerate() {
            let Some((start, end, step)) = grid(eval) else {
                return Err(format!(
                    "expected points for {} but the query is an instant query",
                    s.labels
                ));
            };
            let t = start.saturating_add(step.saturating_mul(i as i64));
            if t > end {
                return Err(format!(
                    "expected {} points for {}, but the time range cannot hold that many",
                    exp.values.len(),
                    s.labels
                ));
            }
            match v {
                SeqValue::Float(f) => want.push((t, *f)),
                SeqValue::Omitted => {}
                SeqValue::Histogram => return Err("expected a histogram point".into()),
            }
        }
        if want.len() != s.samples.len() {
            return Err(format!(
                "expected {} points for {}, but got {}",
                want.len(),
                s.labels,
                points(s)
            ));
        }
        for ((t, f), got) in want.iter().zip(&s.samples) {
            if *t != got.t || !almost_equal(*f, got.v) {
                return Err(format!("expected {f} @{t} for {}, but got {}", s.labels, points(s)));
            }
        }
        if let Some(i) = eval.series.iter().position(|e| e.labels == s.labels) {
            seen[i] = true;
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(format!("expected metric {} not found", eval.series[i].labels));
    }
    Ok(())
}

/// A short rendering of a series' points for failure messages (at most 20).
fn points(s: &Series) -> String {
    let shown: Vec<String> = s.samples.iter().take(20).map(|p| format!("{} @{}", p.v, p.t)).collect();
    let more = if s.samples.len() > 20 { " ..." } else { "" };
    format!("{} points [{}{more}]", s.samples.len(), shown.join(", "))
}

#[cfg(test)]
#[path = "compare_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
