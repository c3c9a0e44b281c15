//! The pieces of a test script line: durations, series descriptors and value sequences.
//!
//! A series line is `<descriptor> <values>`, e.g. `http_requests{job="api"} 0+10x5 _ stale`.
//! The descriptor is a metric name and/or a brace block of `name="value"` pairs (`{}` is the empty
//! label set). Values expand Prometheus's sequence notation: `N`, `_` (no sample), `_xN` (N
//! gaps), `axN` (N+1 copies of `a`), `a+bxN` / `a-bxN` (N+1 values stepping by ±b), `stale`,
//! `Inf`, `NaN`. Native histogram literals `{{...}}` (also `{{A}}xN` and `{{A}}+{{B}}xN`) are
//! recognised and counted, not decoded: cases that need them are skipped by the runner.

use tsdb::Labels;

use crate::promql::lexer::{TokenKind, tokenize};

/// The most values one series line may expand to (bounds memory on hostile `1x99999999999`).
pub const MAX_VALUES_PER_LINE: usize = 1_000_000;

/// One position of an expanded value sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample at this step.
    Omitted,
    /// A float (possibly the stale marker or NaN).
    Float(f64),
    /// A native histogram literal (not decoded).
    Histogram,
}

/// Parses a Prometheus duration (`1m30s`, `0`, `20s500ms`) into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    if s == "0" {
        return Ok(0);
    }
    crate::promql::lexer::parse_duration(s)
}

/// Parses a bare number like Go's `strconv.ParseInt(s, 0, 64)` then `ParseFloat`: decimal,
/// `0x` hex integers, exponents, `Inf`, `NaN`. Used for scalar expectations.
pub fn parse_number(s: &str) -> Option<f64> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(i as f64);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X"))
        && let Ok(v) = i64::from_str_radix(hex, 16)
    {
        return Some(if neg { -(v as f64) } else { v as f64 });
    }
    float(s)
}

/// Parses one float as the series notation writes it (`1.5`, `.8`, `-1e3`, `Inf`, `NaN`).
fn float(s: &str) -> Option<f64> {
    let first = s.bytes().next()?;
    // Rust accepts `infinity`/`nan` in any case, like Go; reject anything else that is not numeric.
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'i' | b'I' | b'n' | b'N')) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Splits a series line into its descriptor and the rest (the values), at the first whitespace
/// outside the brace block. Returns `None` when the line has no descriptor shape.
pub fn split_descriptor(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b':' | b'.')) {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'{' {
        let mut quote: Option<u8> = None;
        i += 1;
        loop {
            let b = *bytes.get(i)?;
            match quote {
                Some(q) if b == b'\\' && q != b'`' => i += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
                None if b == b'}' => {
                    i += 1;
                    break;
                }
                None => {}
            }
            i += 1;
        }
    }
    if i == 0 {
        return None;
    }
    Some((&line[..i], &line[i..]))
}

/// Parses a series descriptor (`metric`, `metric{a="b"}`, `{__name__="m"}`, `{}`) into labels.
pub fn parse_descriptor(desc: &str) -> Result<Labels, String> {
    let tokens = tokenize(desc).map_err(|e| format!("bad series descriptor {desc:?}: {}", e.message))?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut idx = 0;
    let text = |t: &crate::promql::lexer::Token| desc.get(t.start..t.end).unwrap_or_default().to_string();
    let bad = || format!("bad series descriptor {desc:?}");
    if let Some(t) = tokens.first()
        && t.kind == TokenKind::Ident
    {
        pairs.push((tsdb::METRIC_NAME.to_string(), text(t)));
        idx = 1;
    }
    if tokens.get(idx).map(|t| &t.kind) == Some(&TokenKind::LBrace) {
        idx += 1;
        loop {
            match tokens.get(idx).map(|t| &t.kind) {
                Some(TokenKind::RBrace) => {
                    idx += 1;
                    break;
                }
                Some(TokenKind::Ident) | Some(TokenKind::Str(_)) => {
                    let name = match &tokens[idx].kind {
                        TokenKind::Str(s) => s.clone(),
                        _ => text(&tokens[idx]),
                    };
                    match (
                        tokens.get(idx + 1).map(|t| &t.kind),
                        tokens.get(idx + 2).map(|t| &t.kind),
                    ) {
                        (Some(TokenKind::Assign), Some(TokenKind::Str(v))) => {
                            pairs.push((name, v.clone()));
                            idx += 3;
                        }
                        // A lone quoted string is the metric name: `{"my.metric", a="b"}`.
                        (Some(TokenKind::Comma | TokenKind::RBrace), _)
                            if matches!(tokens[idx].kind, TokenKind::Str(_)) =>
                        {
                            pairs.push((tsdb::METRIC_NAME.to_string(), name));
                            idx += 1;
                        }
                        _ => return Err(bad()),
                    }
                    match tokens.get(idx).map(|t| &t.kind) {
                        Some(TokenKind::Comma) => idx += 1,
                        Some(TokenKind::RBrace) => {}
                        _ => return Err(bad()),
                    }
                }
                _ => return Err(bad()),
            }
        }
    }
    if idx == 0 || tokens.get(idx).map(|t| &t.kind) != Some(&TokenKind::Eof) {
        return Err(bad());
    }
    Labels::new(pairs).map_err(|e| format!("bad series descriptor {desc:?}: {e}"))
}

/// Splits a value list into items at whitespace, keeping `{{ ... }}` literals (which contain
/// spaces) inside their item.
fn value_items(values: &str) -> Result<Vec<&str>, String> {
    let bytes = values.as_bytes();
    let mut items = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            if bytes[i..].starts_with(b"{{") {
                let close = values[i..]
                    .find("}}")
                    .ok_or_else(|| format!("unterminated histogram literal in {values:?}"))?;
                i += close + 2;
            } else {
                i += 1;
            }
        }
        items.push(&values[start..i]);
    }
    Ok(items)
}

/// Parses a repeat count (the `N` of `xN`).
fn repeat(n: &str, item: &str) -> Result<usize, String> {
    let n: usize = n.parse().map_err(|_| format!("bad repeat count in {item:?}"))?;
    if n >= MAX_VALUES_PER_LINE {
        return Err(format!("repeat count too large in {item:?}"));
    }
    Ok(n)
}

/// Splits `a+b` / `a-b` at the sign that starts `b` (not a leading sign, not an exponent's).
fn split_step(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    (1..bytes.len())
        .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'))
        .map(|i| (&s[..i], &s[i..]))
}

/// Expands one value item into `out`.
fn expand_item(item: &str, out: &mut Vec<SeqValue>) -> Result<(), String> {
    let bad = || format!("bad value {item:?}");
    if item.starts_with("{{") {
        // `{{A}}`, `{{A}}xN` or `{{A}}±{{B}}xN`: only the count matters.
        let after = item.rfind("}}").map_or("", |p| &item[p + 2..]);
        let count = match after.strip_prefix('x') {
            Some(n) => repeat(n, item)? + 1,
            None if after.is_empty() => 1,
            None => return Err(bad()),
        };
        out.extend(std::iter::repeat_n(SeqValue::Histogram, count));
        return Ok(());
    }
    if item == "_" {
        out.push(SeqValue::Omitted);
        return Ok(());
    }
    if let Some(n) = item.strip_prefix("_x") {
        out.extend(std::iter::repeat_n(SeqValue::Omitted, repeat(n, item)?));
        return Ok(());
    }
    if item == "stale" {
        out.push(SeqValue::Float(tsdb::stale_nan()));
        return Ok(());
    }
    // `x` never occurs inside a float literal of this notation, so the last one separates the count.
    let (head, count) = match item.rfind('x') {
        Some(p) => (&item[..p], Some(repeat(&item[p + 1..], item)?)),
        None => (item, None),
    };
    let Some(count) = count else {
        out.push(SeqValue::Float(float(head).ok_or_else(bad)?));
        return Ok(());
    };
    let (mut value, step) = match float(head) {
        Some(v) => (v, 0.0),
        None => {
            let (a, b) = split_step(head).ok_or_else(bad)?;
            (float(a).ok_or_else(bad)?, float(b).ok_or_else(bad)?)
        }
    };
    for _ in 0..=count {
        out.push(SeqValue::Float(value));
        value += step;
    }
    Ok(())
}

/// Expands a whole value list (the part of a series line after its descriptor).
pub fn parse_values(values: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    for item in value_items(values)? {
        expand_item(item, &mut out)?;
        if out.len() > MAX_VALUES_PER_LINE {
            return Err(format!("too many values in {values:?}"));
        }
    }
    Ok(out)
}

/// Parses a full series line into labels and expanded values.
pub fn parse_series_line(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let (desc, values) = split_descriptor(line).ok_or_else(|| format!("bad series line {line:?}"))?;
    Ok((parse_descriptor(desc)?, parse_values(values)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use SeqValue::{Float as F, Histogram as H, Omitted as O};

    fn floats(v: &[SeqValue]) -> Vec<f64> {
        v.iter()
            .map(|x| match x {
                F(f) => *f,
                _ => -999.0,
            })
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_duration_ms("20s500ms"), Ok(20_500));
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert!(parse_duration_ms("5x").is_err());
        assert!(parse_duration_ms("").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("3"), Some(3.0));
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_number("0x10"), Some(16.0));
        assert_eq!(parse_number("Inf"), Some(f64::INFINITY));
        assert_eq!(parse_number("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_number("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_number("metric"), None);
        assert_eq!(parse_number("{} 3"), None);
    }

    #[test]
    fn descriptors() {
        let l = parse_descriptor(r#"http_requests{job="api", instance="0"}"#).unwrap();
        assert_eq!(l.to_string(), r#"{__name__="http_requests", instance="0", job="api"}"#);
        assert_eq!(parse_descriptor("{}").unwrap(), Labels::empty());
        assert_eq!(parse_descriptor("m").unwrap().metric_name(), Some("m"));
        let q = parse_descriptor(r#"{"my.metric", a="b",}"#).unwrap();
        assert_eq!(q.metric_name(), Some("my.metric"));
        assert_eq!(q.get("a"), Some("b"));
        assert_eq!(parse_descriptor(r#"{a=""}"#).unwrap(), Labels::empty());
        assert!(parse_descriptor(r#"{a="b" c="d"}"#).is_err());
        assert!(parse_descriptor(r#"m{a=~"b"}"#).is_err());
        assert!(parse_descriptor("1").is_err());
    }

    #[test]
    fn split_keeps_braces_with_spaces_and_quotes() {
        assert_eq!(split_descriptor(r#"m{a="x y}"} 1 2"#), Some((r#"m{a="x y}"}"#, " 1 2")));
        assert_eq!(split_descriptor("{} 3"), Some(("{}", " 3")));
        assert_eq!(split_descriptor("metric\t0+1x2"), Some(("metric", "\t0+1x2")));
        assert_eq!(split_descriptor(r#"m{a="b"#), None);
        assert_eq!(split_descriptor("  x"), None);
    }

    #[test]
    fn expansions() {
        assert_eq!(floats(&parse_values("1+2x3").unwrap()), vec![1.0, 3.0, 5.0, 7.0]);
        assert_eq!(floats(&parse_values("10-3x2").unwrap()), vec![10.0, 7.0, 4.0]);
        assert_eq!(floats(&parse_values("-1-1x2").unwrap()), vec![-1.0, -2.0, -3.0]);
        assert_eq!(floats(&parse_values("5x2").unwrap()), vec![5.0, 5.0, 5.0]);
        assert_eq!(floats(&parse_values("0x3 60").unwrap()), vec![0.0, 0.0, 0.0, 0.0, 60.0]);
        assert_eq!(floats(&parse_values("1e-3+1e-3x1").unwrap()), vec![0.001, 0.002]);
        assert_eq!(floats(&parse_values(".8 -Inf").unwrap()), vec![0.8, f64::NEG_INFINITY]);
        assert_eq!(parse_values("_ _x2 1").unwrap(), vec![O, O, O, F(1.0)]);
        let v = parse_values("stale NaN").unwrap();
        assert!(matches!(v[0], F(x) if tsdb::is_stale_nan(x)));
        assert!(matches!(v[1], F(x) if x.is_nan() && !tsdb::is_stale_nan(x)));
        assert!(parse_values("1+x3").is_err());
        assert!(parse_values("abc").is_err());
        assert!(parse_values("1x99999999999").is_err());
    }

    #[test]
    fn histogram_literals_are_counted() {
        let v = parse_values("1 {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2 _ {{count:1}}").unwrap();
        assert_eq!(v, vec![F(1.0), H, H, H, O, H]);
        let v = parse_values("{{schema:0 sum:1 count:1}}+{{sum:1 count:1}}x3").unwrap();
        assert_eq!(v, vec![H; 4]);
        assert!(parse_values("{{schema:0 sum:1").is_err());
    }

    #[test]
    fn full_lines() {
        let (l, v) = parse_series_line(r#"testmetric{src="a"} 0 1 2"#).unwrap();
        assert_eq!(l.get("src"), Some("a"));
        assert_eq!(floats(&v), vec![0.0, 1.0, 2.0]);
        assert!(parse_series_line("metric").unwrap().1.is_empty());
    }
}
