//! Dynamically typed template values, Go-style printing (`%v`) and the loose numeric conversions of the
//! sprig-style functions (strings parse as numbers, failures become zero).

use std::sync::Arc;

use super::timefmt::Time;

/// A label set as a Go `map[string]string`: entries sorted by name, names unique.
pub(super) type LabelMap = Arc<[(String, String)]>;

/// The data of an alert template (the initial dot): Prometheus's anonymous struct.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AlertRoot {
    /// `.Labels`.
    pub labels: LabelMap,
    /// `.ExternalLabels`.
    pub external_labels: LabelMap,
    /// `.ExternalURL`.
    pub external_url: String,
    /// `.Value`.
    pub value: f64,
}

/// Go's type name of the alert data struct, as error messages show it.
pub(super) const ALERT_TYPE: &str =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

/// Builds a [`LabelMap`] from pairs: sorted by name, a repeated name keeps its last value (map insertion).
pub(super) fn label_map(pairs: &[(String, String)]) -> LabelMap {
    let mut v: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (k, val) in pairs {
        match v.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = val.clone(),
            None => v.push((k.clone(), val.clone())),
        }
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into()
}

/// Looks a name up in a [`LabelMap`].
pub(super) fn map_get<'m>(m: &'m [(String, String)], name: &str) -> Option<&'m str> {
    m.binary_search_by(|(k, _)| k.as_str().cmp(name))
        .ok()
        .map(|i| m[i].1.as_str())
}

/// Go's `%v` of a `map[string]string`: `map[a:1 b:2]` (keys sorted).
fn write_map(m: &[(String, String)], out: &mut String) {
    out.push_str("map[");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push(':');
        out.push_str(v);
    }
    out.push(']');
}

/// A value flowing through a template pipeline.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    /// Go's untyped nil.
    Nil,
    /// A string (label values, the line, literals).
    Str(String),
    /// An integer (Go int / int64).
    Int(i64),
    /// A float64.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// A time.Time (always UTC).
    Time(Time),
    /// The label map itself: the template's initial dot, `$`.
    Labels,
    /// A label map of an alert template (`$labels`, `$externalLabels`).
    Map(LabelMap),
    /// The data of an alert template: its initial dot, `$`.
    Alert(Arc<AlertRoot>),
}

impl Value {
    /// The Go type name, as `%T` and error messages show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::Time(_) => "time.Time",
            Value::Labels | Value::Map(_) => "map[string]string",
            Value::Alert(_) => ALERT_TYPE,
        }
    }

    /// Go's template truth: empty strings, zero numbers, false and nil are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Bool(b) => *b,
            Value::Time(_) | Value::Labels | Value::Alert(_) => true,
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// Appends the value as Go prints it with `%v` / in template output.
    pub fn write_to(&self, out: &mut String) -> Result<(), String> {
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Str(s) => out.push_str(s),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format_float_v(*f)),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Time(t) => out.push_str(&t.go_string()),
            Value::Labels => return Err("cannot print the label map; use a field such as .name".to_string()),
            Value::Map(m) => write_map(m, out),
            Value::Alert(a) => {
                out.push('{');
                write_map(&a.labels, out);
                out.push(' ');
                write_map(&a.external_labels, out);
                out.push(' ');
                out.push_str(&a.external_url);
                out.push(' ');
                out.push_str(&format_float_v(a.value));
                out.push('}');
            }
        }
        Ok(())
    }

    /// The value as `%v` text (the label map prints as `map[...]`).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if self.write_to(&mut s).is_err() {
            s.push_str("map[...]");
        }
        s
    }
}

/// Sign, shortest round-trip decimal digits and decimal exponent of a finite float:
/// `1234.5` is `(false, "12345", 3)` meaning 1.2345e3.
pub(super) fn shortest_digits(f: f64) -> (bool, String, i32) {
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (f.is_sign_negative() && f != 0.0, digits, exp.parse().unwrap_or(0))
}

/// Go's `%v` for float64 (= shortest `%g`): `1e+06`, `123456`, `0.0001`, `1e-05`.
pub(super) fn format_float_v(f: f64) -> String {
    format_float_g(f, None)
}

/// Go's `%g` (`prec` None = shortest digits, switching to exponent form when the exponent is below -4
/// or at least 6; with a precision, at least the precision).
pub(super) fn format_float_g(f: f64, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let (neg, digits, exp) = match prec {
        None => shortest_digits(f),
        Some(p) => {
            let p = p.max(1);
            let e = format!("{:.*e}", p - 1, f.abs());
            let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
            let mut d: String = mant.chars().filter(char::is_ascii_digit).collect();
            while d.len() > 1 && d.ends_with('0') {
                d.pop();
            }
            (f.is_sign_negative() && f != 0.0, d, exp.parse().unwrap_or(0))
        }
    };
    let limit = match prec {
        None => 6,
        Some(p) => i32::try_from(p.max(1)).unwrap_or(i32::MAX),
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= limit {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format_exp(exp));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's exponent suffix: `e+06`, `e-07`, `e+100`.
pub(super) fn format_exp(exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exp.unsigned_abs())
}

/// Parses an integer like Go's `strconv.ParseInt(s, 0, 64)`: sign, `0x`/`0o`/`0b`/leading-`0` octal.
pub(super) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    let digits = if radix == 10 { digits } else { digits.replace('_', "") };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let mag = i128::from_str_radix(&digits, radix).ok()?;
    i64::try_from(if neg { -mag } else { mag }).ok()
}

/// Parses a float like Go's `strconv.ParseFloat` (decimal forms, `Inf`, `NaN`).
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.strip_prefix('+').unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    match lower.trim_start_matches('-') {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if !t
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
    {
        return None;
    }
    t.parse().ok()
}

/// The sprig/cast conversion to int64: numbers truncate, strings parse (else 0), bools are 0/1.
pub(super) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => {
            if f.is_finite() {
                *f as i64
            } else {
                0
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => {
            let s = s.strip_suffix(".0").unwrap_or(s);
            parse_go_int(s).unwrap_or(0)
        }
        Value::Nil | Value::Time(_) | Value::Labels | Value::Map(_) | Value::Alert(_) => 0,
    }
}

/// The sprig/cast conversion to float64: strings parse (else 0), bools are 0/1.
pub(super) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Nil | Value::Time(_) | Value::Labels | Value::Map(_) | Value::Alert(_) => 0.0,
    }
}
