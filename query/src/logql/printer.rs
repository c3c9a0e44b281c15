//! Canonical text of LogQL trees, matching Loki's `String()` methods (what `format_query`-style
//! round-trips and Loki's query logs show).
//!
//! Examples: `{app="foo"} |= "bar" | json | level="error"`,
//! `sum by (level)(count_over_time({app="foo"}[5m]))`, `(rate({a="b"}[1m]) > bool 2)`,
//! `quantile_over_time(0.99,{a="b"} | unwrap duration(d)[5m] offset 1h0m0s) by (x)`.
//!
//! Loki's rules, reproduced: stages are joined by one space; label filters print without
//! spaces (`status>=400`, numeric `=` as `==`) and combined ones as `( a , b )` / `( a or b )`;
//! `json` / `logfmt` extractions, `label_format`, `drop` and `keep` items are joined by `,`
//! without a space, and a bare `json b` prints as `b="b"`; ranges print like Prometheus
//! durations (`[5m]`, `[1h30m]`), offsets and duration filters like Go's `time.Duration`
//! (`1h0m0s`, `1.5s`); binary operations are always parenthesised; literals print like Go's
//! `%v`, `vector()` like Go's `%f` (`vector(1.000000)`); groupings print as ` by (a,b)`.
//!
//! Deliberate differences (all round-trip): byte sizes print exactly (`20MB`, `1KiB`, `1536B`)
//! where Loki prints `humanize.Bytes` (`1.0kB` for 1024, which does not re-parse to the same
//! value); `on (x)` without a group modifier prints one space before the right operand where
//! Loki prints two; regex label filters always print double-quoted (Loki sometimes uses
//! backticks); sub-millisecond ranges print as Go durations.

use std::fmt::{self, Display, Formatter, Write};

use tsdb::Matcher;

use super::ast::{
    Cardinality, Expr, Extraction, FilterValue, Grouping, LabelFilterExpr, LabelFormatValue, LabelSelect, LogExpr,
    MetricExpr, ParserStage, RangeAggregation, Stage, VectorAggregation,
};
use super::lexer::BYTE_UNITS;
use crate::promql::printer::{format_duration, format_float, write_quoted};

/// Formats nanoseconds like Go's `time.Duration.String()`: `1h0m0s`, `1.5s`, `250ms`, `3µs`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let frac = |v: u64, prec: u32| -> (String, u64) {
        let p = 10u64.pow(prec);
        let f = v % p;
        if f == 0 {
            return (String::new(), v / p);
        }
        let digits = format!("{f:0width$}", width = prec as usize);
        (format!(".{}", digits.trim_end_matches('0')), v / p)
    };
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (f, int) = frac(u, prec);
        return format!("{sign}{int}{f}{unit}");
    }
    let (f, secs) = frac(u, 9);
    let (mins, s) = (secs / 60, secs % 60);
    let mut out = sign.to_string();
    if mins > 0 {
        let (hours, m) = (mins / 60, mins % 60);
        if hours > 0 {
            let _ = write!(out, "{hours}h");
        }
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{s}{f}s");
    out
}

/// Formats a range: like Prometheus's `model.Duration` (`5m`, `1h30m`, `1d`), or like Go's
/// `time.Duration` when it is not a whole number of milliseconds.
pub fn format_range(ns: i64) -> String {
    if ns % 1_000_000 == 0 {
        format_duration(ns / 1_000_000)
    } else {
        go_duration(ns)
    }
}

/// Formats a byte count exactly with the largest unit that divides it: `20MB`, `1KiB`, `7B`.
pub fn format_bytes(bytes: u64) -> String {
    let mut units: Vec<(&str, u64)> = BYTE_UNITS.to_vec();
    units.sort_by_key(|&(_, m)| std::cmp::Reverse(m));
    for (unit, mult) in units {
        if bytes != 0 && mult > 1 && bytes.is_multiple_of(mult) {
            let unit = match unit {
                "kb" => "kB".to_string(),
                u if u.ends_with("ib") => format!("{}iB", u[..1].to_ascii_uppercase()),
                u => u.to_ascii_uppercase(),
            };
            return format!("{}{unit}", bytes / mult);
        }
    }
    format!("{bytes}B")
}

/// Formats a float like Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

fn quoted(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    write_quoted(f, s)
}

fn write_matcher(f: &mut Formatter<'_>, m: &Matcher) -> fmt::Result {
    write!(f, "{}{}", m.name(), m.match_type())?;
    quoted(f, m.value())
}

fn write_extractions(f: &mut Formatter<'_>, exs: &[Extraction]) -> fmt::Result {
    for (i, e) in exs.iter().enumerate() {
        f.write_str(if i == 0 { " " } else { "," })?;
        write!(f, "{}=", e.label)?;
        quoted(f, &e.expr)?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

impl Display for LogExpr {
    /// `{a="b", c=~"d"} |= "x" | json`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_matcher(f, m)?;
        }
        f.write_char('}')?;
        for s in &self.stages {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter { op, values } => {
                f.write_str(op.as_str())?;
                for (i, v) in values.iter().enumerate() {
                    f.write_str(if i == 0 { " " } else { " or " })?;
                    match v {
                        FilterValue::Str(s) => quoted(f, s)?,
                        FilterValue::Ip(s) => {
                            f.write_str("ip(")?;
                            quoted(f, s)?;
                            f.write_char(')')?;
                        }
                    }
                }
                Ok(())
            }
            Stage::Parser(p) => match p {
                ParserStage::Json(exs) => {
                    f.write_str("| json")?;
                    write_extractions(f, exs)
                }
                ParserStage::Logfmt {
                    strict,
                    keep_empty,
                    extractions,
                } => {
                    f.write_str("| logfmt")?;
                    if *strict {
                        f.write_str(" --strict")?;
                    }
                    if *keep_empty {
                        f.write_str(" --keep-empty")?;
                    }
                    write_extractions(f, extractions)
                }
                ParserStage::Regexp(re) => {
                    f.write_str("| regexp ")?;
                    quoted(f, re)
                }
                ParserStage::Pattern(p) => {
                    f.write_str("| pattern ")?;
                    quoted(f, p)
                }
                ParserStage::Unpack => f.write_str("| unpack"),
            },
            Stage::LabelFilter(lf) => write!(f, "| {lf}"),
            Stage::LineFormat(t) => {
                f.write_str("| line_format ")?;
                quoted(f, t)
            }
            Stage::LabelFormat(items) => {
                f.write_str("| label_format ")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{}=", item.dst)?;
                    match &item.value {
                        LabelFormatValue::Rename(src) => f.write_str(src)?,
                        LabelFormatValue::Template(t) => quoted(f, t)?,
                    }
                }
                Ok(())
            }
            Stage::Drop(items) | Stage::Keep(items) => {
                f.write_str(if matches!(self, Stage::Drop(_)) {
                    "| drop "
                } else {
                    "| keep "
                })?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    match item {
                        LabelSelect::Name(n) => f.write_str(n)?,
                        LabelSelect::Matcher(m) => write_matcher(f, m)?,
                    }
                }
                Ok(())
            }
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::Unwrap { label, conversion } => match conversion {
                Some(c) => write!(f, "| unwrap {}({label})", c.as_str()),
                None => write!(f, "| unwrap {label}"),
            },
        }
    }
}

impl Display for LabelFilterExpr {
    /// `a="x"`, `status>=400`, `( a="x" , b="y" )`, `( a="x" or b="y" )`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilterExpr::And(l, r) => write!(f, "( {l} , {r} )"),
            LabelFilterExpr::Or(l, r) => write!(f, "( {l} or {r} )"),
            LabelFilterExpr::Matcher(m) => write_matcher(f, m),
            LabelFilterExpr::Ip {
                label,
                negated,
                pattern,
            } => {
                write!(f, "{label}{}ip(", if *negated { "!=" } else { "=" })?;
                quoted(f, pattern)?;
                f.write_char(')')
            }
            LabelFilterExpr::Number { label, op, value } => write!(f, "{label}{}{}", op.as_str(), go_float(*value)),
            LabelFilterExpr::Duration { label, op, ns } => write!(f, "{label}{}{}", op.as_str(), go_duration(*ns)),
            LabelFilterExpr::Bytes { label, op, bytes } => write!(f, "{label}{}{}", op.as_str(), format_bytes(*bytes)),
        }
    }
}

impl Display for Grouping {
    /// ` by (a,b)` or ` without (a)`, with the leading space.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = if self.without { "without" } else { "by" };
        write!(f, " {kw} ({})", self.labels.join(","))
    }
}

impl Display for RangeAggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.op.as_str())?;
        if let Some(p) = self.param {
            write!(f, "{},", go_float(p))?;
        }
        write!(f, "{}[{}]", self.log, format_range(self.range_ns))?;
        if self.offset_ns != 0 {
            write!(f, " offset {}", go_duration(self.offset_ns))?;
        }
        f.write_char(')')?;
        if let Some(g) = &self.grouping {
            g.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for VectorAggregation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if let Some(g) = &self.grouping
            && (g.without || !g.labels.is_empty())
        {
            g.fmt(f)?;
        }
        f.write_char('(')?;
        if let Some(k) = self.param {
            write!(f, "{k},")?;
        }
        write!(f, "{})", self.expr)
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricExpr::RangeAggregation(r) => r.fmt(f),
            MetricExpr::VectorAggregation(v) => v.fmt(f),
            MetricExpr::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => {
                write!(f, "({lhs} {}", op.as_str())?;
                if *return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(vm) = matching {
                    let kw = if vm.on { "on" } else { "ignoring" };
                    write!(f, " {kw} ({})", vm.labels.join(","))?;
                    let group = match vm.card {
                        Cardinality::OneToOne => None,
                        Cardinality::ManyToOne => Some("group_left"),
                        Cardinality::OneToMany => Some("group_right"),
                    };
                    if let Some(g) = group {
                        write!(f, " {g}")?;
                        if !vm.include.is_empty() {
                            write!(f, " ({})", vm.include.join(","))?;
                        }
                    }
                }
                write!(f, " {rhs})")
            }
            MetricExpr::Literal(v) => f.write_str(&format_float(*v)),
            MetricExpr::Vector(v) => {
                if v.is_finite() {
                    write!(f, "vector({v:.6})")
                } else {
                    write!(f, "vector({})", format_float(*v))
                }
            }
            MetricExpr::LabelReplace {
                expr,
                dst,
                replacement,
                src,
                regex,
            } => {
                write!(f, "label_replace({expr},")?;
                for (i, s) in [dst, replacement, src, regex].into_iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    quoted(f, s)?;
                }
                f.write_char(')')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(250_000_000), "250ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(7), "7ns");
        assert_eq!(go_duration(-61_000_000_000), "-1m1s");
        assert_eq!(format_range(300_000_000_000), "5m");
        assert_eq!(format_range(86_400_000_000_000), "1d");
        assert_eq!(format_range(1_500), "1.5µs");
    }

    #[test]
    fn bytes_exactly() {
        assert_eq!(format_bytes(20_000_000), "20MB");
        assert_eq!(format_bytes(1024), "1KiB");
        assert_eq!(format_bytes(1000), "1kB");
        assert_eq!(format_bytes(1536), "1536B");
        assert_eq!(format_bytes(3 << 30), "3GiB");
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(7), "7B");
    }

    #[test]
    fn floats() {
        assert_eq!(go_float(0.99), "0.99");
        assert_eq!(go_float(1e21), "1000000000000000000000");
        assert_eq!(go_float(-2.0), "-2");
    }
}
