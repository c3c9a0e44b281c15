//! JSON output byte-for-byte like Prometheus: timestamps as seconds with up to three decimals,
//! sample values as strings in Go's float format, strings escaped like Go's `encoding/json`, and
//! objects in the field order Prometheus writes them.

use ::query::promql::eval::Value;
use tsdb::{Labels, Sample};

/// Formats a float like Go's `strconv.FormatFloat(v, 'f' or 'e', -1, 64)` as Prometheus does:
/// the shortest round-tripping digits, `e` notation when |v| < 1e-6 or ≥ 1e21, and `NaN`,
/// `+Inf`, `-Inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{v:e}");
        if let Some((mantissa, exp)) = text.split_once('e')
            && let Ok(exp) = exp.parse::<i32>()
        {
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
        }
        return text;
    }
    format!("{v}")
}

/// Appends a ms timestamp as seconds: `4`, `1435781451.781`, `1.500`, `-0.001` (the fraction,
/// when not zero, always has three digits, as Prometheus writes it).
pub fn write_timestamp(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let abs = t.unsigned_abs();
    out.push_str(&(abs / 1000).to_string());
    let fraction = abs % 1000;
    if fraction != 0 {
        out.push_str(&format!(".{fraction:03}"));
    }
}

/// Appends a JSON string escaped like Go's `encoding/json` (which also escapes `<`, `>`, `&`,
/// U+2028 and U+2029).
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a label set as a JSON object in label order.
pub fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, label.name);
        out.push(':');
        write_str(out, label.value);
    }
    out.push('}');
}

/// Appends `[<seconds>,"<value>"]`.
pub fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    out.push_str(&format_float(v));
    out.push_str("\"]");
}

fn write_samples(out: &mut String, samples: &[Sample]) {
    out.push('[');
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_point(out, s.t, s.v);
    }
    out.push(']');
}

/// The `data` of a query answer: `{"resultType":…,"result":…}`.
pub fn query_data(value: &Value) -> String {
    let mut out = String::with_capacity(64);
    out.push_str(r#"{"resultType":""#);
    out.push_str(value.type_name());
    out.push_str(r#"","result":"#);
    match value {
        Value::Scalar { t, v } => write_point(&mut out, *t, *v),
        Value::String { t, v } => {
            out.push('[');
            write_timestamp(&mut out, *t);
            out.push(',');
            write_str(&mut out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                write_labels(&mut out, &s.labels);
                out.push_str(r#","value":"#);
                write_point(&mut out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"metric":"#);
                write_labels(&mut out, &s.labels);
                if !s.samples.is_empty() {
                    out.push_str(r#","values":"#);
                    write_samples(&mut out, &s.samples);
                }
                out.push('}');
            }
            out.push(']');
        }
    }
    out.push('}');
    out
}

/// A JSON value whose objects keep their insertion order (Prometheus writes struct fields in
/// declaration order and maps sorted by key; callers build either).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, fields in order.
    Object(Vec<(String, Json)>),
    /// Pre-rendered JSON, written as is.
    Raw(String),
}

impl Json {
    /// An object from `(name, value)` pairs.
    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// An array of strings.
    pub fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Json {
        Json::Array(items.into_iter().map(|s| Json::Str(s.into())).collect())
    }

    /// A label set as an object.
    pub fn labels(labels: &Labels) -> Json {
        let mut out = String::new();
        write_labels(&mut out, labels);
        Json::Raw(out)
    }

    /// Renders the value.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Str(s) => write_str(out, s),
            Json::Raw(raw) => out.push_str(raw),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, name);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ::query::promql::eval::{InstantSample, Series};

    use super::*;

    #[test]
    fn floats_like_go() {
        let cases = [
            (1.0, "1"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e6, "1000000"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-6, "0.000001"),
            (1e-7, "1e-07"),
            (-1.25e-10, "-1.25e-10"),
            (5e-324, "5e-324"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123456789.123, "123456789.123"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float(v), want, "{v:?}");
        }
    }

    #[test]
    fn timestamps() {
        let ts = |t| {
            let mut s = String::new();
            write_timestamp(&mut s, t);
            s
        };
        assert_eq!(ts(4000), "4");
        assert_eq!(ts(1_435_781_451_781), "1435781451.781");
        assert_eq!(ts(1500), "1.500");
        assert_eq!(ts(1005), "1.005");
        assert_eq!(ts(-1), "-0.001");
        assert_eq!(ts(0), "0");
        assert_eq!(ts(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn strings_escaped_like_go() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c\n<&>\u{1}\u{2028}é");
        assert_eq!(s, r#""a\"b\\c\n\u003c\u0026\u003e\u0001\u2028é""#);
    }

    #[test]
    fn query_results() {
        let labels = Labels::new([("__name__", "up"), ("job", "a")]).expect("labels");
        assert_eq!(
            query_data(&Value::Scalar { t: 4000, v: 2.0 }),
            r#"{"resultType":"scalar","result":[4,"2"]}"#
        );
        assert_eq!(
            query_data(&Value::String { t: 1, v: "x\"".into() }),
            r#"{"resultType":"string","result":[0.001,"x\""]}"#
        );
        let vector = Value::Vector(vec![InstantSample {
            labels: labels.clone(),
            t: 1500,
            v: f64::NAN,
        }]);
        assert_eq!(
            query_data(&vector),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1.500,"NaN"]}]}"#
        );
        let matrix = Value::Matrix(vec![Series {
            labels,
            samples: vec![Sample::new(0, 1.0), Sample::new(15_000, 1e-9)],
        }]);
        assert_eq!(
            query_data(&matrix),
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[0,"1"],[15,"1e-09"]]}]}"#
        );
        assert_eq!(
            query_data(&Value::Vector(vec![])),
            r#"{"resultType":"vector","result":[]}"#
        );
    }

    #[test]
    fn json_values() {
        let j = Json::object([
            ("b", Json::Int(-3)),
            ("a", Json::strings(["x", "<"])),
            (
                "c",
                Json::Array(vec![Json::Bool(false), Json::Bool(true), Json::Raw("1.5".into())]),
            ),
        ]);
        assert_eq!(j.render(), r#"{"b":-3,"a":["x","\u003c"],"c":[false,true,1.5]}"#);
    }
}
