//! Canonical text of an [`Expr`], matching Prometheus's `format_query` output.
//!
//! Examples: `sum by (job) (rate(http_requests_total{job="api"}[5m]))`,
//! `foo{a="b"} @ 10.000 offset 1h30m`, `a + on (x) group_left (y) b`. Numbers print like Go's
//! `%v` (`1e+06`, `0.5`, `+Inf`, `NaN`), durations like Prometheus (`1h30m`, `90d`, `1y`),
//! strings and label values like Go's `%q`. Printing then re-parsing yields the same tree.

use std::fmt::{self, Display, Formatter, Write};

use tsdb::MatchType;

use super::ast::{AtModifier, Cardinality, Expr, VectorSelector};
use super::parser_ops::is_label_name;

/// Formats milliseconds like Prometheus's `model.Duration`: `0s`, `5m`, `1h30m`, `1y`, `-5m`.
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if ms < 0 {
        out.push('-');
    }
    let mut rest = ms.unsigned_abs();
    const UNITS: [(&str, u64, bool); 7] = [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1_000, false),
        ("ms", 1, false),
    ];
    for (unit, mult, exact) in UNITS {
        if exact && !rest.is_multiple_of(mult) {
            continue;
        }
        let n = rest / mult;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
            rest -= n * mult;
        }
    }
    out
}

/// Formats a float like Go's `fmt.Sprint`: shortest digits, exponent form below 1e-4 or from 1e6.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if v < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let frac = &digits[1..];
        let dot = if frac.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}{frac}e{esign}{:02}", &digits[..1], exp.abs());
    }
    let point = exp + 1; // position of the decimal point within `digits`
    let body = if point <= 0 {
        format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
    } else if point as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    format!("{sign}{body}")
}

/// Writes `s` double-quoted with Go `%q` escapes.
pub fn write_quoted(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\u{7}' => f.write_str("\\a")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{b}' => f.write_str("\\v")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\x{:02x}", c as u32)?,
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    write!(f, "\\u{:04x}", c as u32)?
                } else {
                    write!(f, "\\U{:08x}", c as u32)?
                }
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Writes a label name, quoting it when it is not a legacy `[a-zA-Z_][a-zA-Z0-9_]*` name.
fn write_label(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    if is_label_name(name) {
        f.write_str(name)
    } else {
        write_quoted(f, name)
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn write_label_list(f: &mut Formatter<'_>, labels: &[String]) -> fmt::Result {
    f.write_char('(')?;
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_label(f, l)?;
    }
    f.write_char(')')
}

fn write_at_offset(f: &mut Formatter<'_>, at: Option<AtModifier>, offset: i64) -> fmt::Result {
    match at {
        Some(AtModifier::Timestamp(ms)) => {
            let sign = if ms < 0 { "-" } else { "" };
            let abs = ms.unsigned_abs();
            write!(f, " @ {sign}{}.{:03}", abs / 1000, abs % 1000)?;
        }
        Some(AtModifier::Start) => f.write_str(" @ start()")?,
        Some(AtModifier::End) => f.write_str(" @ end()")?,
        None => {}
    }
    if offset != 0 {
        write!(f, " offset {}", format_duration(offset))?;
    }
    Ok(())
}

/// The selector without its modifiers: `name{matchers}` or `{"dotted.name", matchers}`.
fn write_selector_body(f: &mut Formatter<'_>, vs: &VectorSelector) -> fmt::Result {
    let name = vs.name.as_deref();
    let is_name_matcher = |m: &&tsdb::Matcher| {
        m.name() == tsdb::METRIC_NAME && m.match_type() == MatchType::Equal && Some(m.value()) == name
    };
    let mut parts: Vec<String> = Vec::new();
    let bare_name = name.filter(|n| is_metric_name(n));
    if let (Some(n), None) = (name, bare_name) {
        let mut s = String::new();
        write_quoted(&mut s, n)?;
        parts.push(s);
    }
    let mut skipped = false;
    for m in &vs.matchers {
        if !skipped && is_name_matcher(&m) {
            skipped = true;
            continue;
        }
        let mut s = String::new();
        if is_label_name(m.name()) {
            s.push_str(m.name());
        } else {
            write_quoted(&mut s, m.name())?;
        }
        s.push_str(m.match_type().as_str());
        write_quoted(&mut s, m.value())?;
        parts.push(s);
    }
    if let Some(n) = bare_name {
        f.write_str(n)?;
    }
    if !parts.is_empty() || name.is_none() {
        write!(f, "{{{}}}", parts.join(", "))?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::NumberLiteral(v) => f.write_str(&format_float(*v)),
            Expr::StringLiteral(s) => write_quoted(f, s),
            Expr::VectorSelector(vs) => {
                write_selector_body(f, vs)?;
                write_at_offset(f, vs.at, vs.offset)
            }
            Expr::MatrixSelector(ms) => {
                write_selector_body(f, &ms.vs)?;
                write!(f, "[{}]", format_duration(ms.range))?;
                write_at_offset(f, ms.vs.at, ms.vs.offset)
            }
            Expr::Subquery(sq) => {
                write!(f, "{}[{}:", sq.expr, format_duration(sq.range))?;
                if let Some(step) = sq.step {
                    f.write_str(&format_duration(step))?;
                }
                f.write_char(']')?;
                write_at_offset(f, sq.at, sq.offset)
            }
            Expr::Unary { op, expr } => {
                let sign = match op {
                    super::ast::UnaryOp::Neg => "-",
                    super::ast::UnaryOp::Pos => "+",
                };
                write!(f, "{sign}{expr}")
            }
            Expr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => {
                match **lhs {
                    // `+Inf ^ x` would re-parse as `+(Inf ^ x)`.
                    Expr::NumberLiteral(v) if *op == super::ast::BinaryOp::Pow && v == f64::INFINITY => {
                        f.write_str("Inf")?
                    }
                    _ => write!(f, "{lhs}")?,
                }
                write!(f, " {}", op.as_str())?;
                if *return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = matching {
                    let grouped = matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany);
                    if m.on || !m.matching_labels.is_empty() || grouped {
                        f.write_str(if m.on { " on " } else { " ignoring " })?;
                        write_label_list(f, &m.matching_labels)?;
                    }
                    if grouped {
                        let side = if m.card == Cardinality::ManyToOne {
                            "left"
                        } else {
                            "right"
                        };
                        write!(f, " group_{side} ")?;
                        write_label_list(f, &m.include)?;
                    }
                }
                write!(f, " {rhs}")
            }
            Expr::Aggregate {
                op,
                expr,
                param,
                grouping,
                without,
                ..
            } => {
                f.write_str(op.as_str())?;
                if *without || !grouping.is_empty() {
                    f.write_str(if *without { " without " } else { " by " })?;
                    write_label_list(f, grouping)?;
                    f.write_char(' ')?;
                }
                f.write_char('(')?;
                if let Some(p) = param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{expr})")
            }
            Expr::Call { func, args, .. } => {
                write!(f, "{}(", func.name)?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_char(')')
            }
            Expr::Paren(inner) => write!(f, "({inner})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(300_000), "5m");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(90 * 86_400_000), "90d");
        assert_eq!(format_duration(365 * 86_400_000), "1y");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
        assert_eq!(format_duration(1_500), "1s500ms");
        assert_eq!(format_duration(-300_000), "-5m");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(-0.2e-6), "-2e-07");
        assert_eq!(format_float(12.34e6), "1.234e+07");
        assert_eq!(format_float(123456.0), "123456");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(1234567.0), "1.234567e+06");
        assert_eq!(format_float(100000.0), "100000");
    }

    #[test]
    fn quoting() {
        let mut s = String::new();
        write_quoted(&mut s, "a\"b\\c\nd\u{1}é").expect("writes");
        assert_eq!(s, r#""a\"b\\c\nd\x01é""#);
    }
}
