//! The function table: Go's template builtins plus the sprig and Loki functions LogQL documents, with
//! their argument conversions; alert templates use the builtins plus [`super::alertfn`]. `and`/`or` are
//! evaluated lazily by the executor.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use regex::Regex;

use super::alertfn::{self, AlertFn};
use super::mathfn;
use super::printf::{sprint, sprintf, sprintln};
use super::timefmt::{Time, ZERO_TIME, parse_duration, parse_time};
use super::value::{Value, map_get, to_f64, to_i64};
use super::{MAX_OUTPUT, TemplateContext};

/// A template function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Printf,
    Println,
    Line,
    Timestamp,
    Lower,
    Upper,
    GoReplace,
    GoTrim,
    GoTrimLeft,
    GoTrimRight,
    GoTrimPrefix,
    GoTrimSuffix,
    TrimSpace,
    RegexReplaceAll,
    RegexReplaceAllLiteral,
    Count,
    UrlDecode,
    UrlEncode,
    Bytes,
    Duration,
    UnixEpoch,
    UnixEpochMillis,
    UnixEpochNanos,
    ToDateInZone,
    UnixToTime,
    AlignLeft,
    AlignRight,
    B64Enc,
    B64Dec,
    Title,
    Trunc,
    Substr,
    Contains,
    HasPrefix,
    HasSuffix,
    Indent,
    Nindent,
    Replace,
    Repeat,
    TrimAll,
    TrimPrefix,
    TrimSuffix,
    Int,
    Float64,
    Math(mathfn::MathFn),
    Alert(AlertFn),
    Date,
    ToDate,
    Now,
    Default,
}

const MANY: usize = usize::MAX;

/// Name, function, minimum and maximum argument counts.
const TABLE: &[(&str, Func, usize, usize)] = &[
    ("and", Func::And, 1, MANY),
    ("or", Func::Or, 1, MANY),
    ("not", Func::Not, 1, 1),
    ("len", Func::Len, 1, 1),
    ("index", Func::Index, 1, MANY),
    ("eq", Func::Eq, 1, MANY),
    ("ne", Func::Ne, 2, 2),
    ("lt", Func::Lt, 2, 2),
    ("le", Func::Le, 2, 2),
    ("gt", Func::Gt, 2, 2),
    ("ge", Func::Ge, 2, 2),
    ("print", Func::Print, 0, MANY),
    ("printf", Func::Printf, 1, MANY),
    ("println", Func::Println, 0, MANY),
    ("__line__", Func::Line, 0, 0),
    ("__timestamp__", Func::Timestamp, 0, 0),
    ("ToLower", Func::Lower, 1, 1),
    ("ToUpper", Func::Upper, 1, 1),
    ("Replace", Func::GoReplace, 4, 4),
    ("Trim", Func::GoTrim, 2, 2),
    ("TrimLeft", Func::GoTrimLeft, 2, 2),
    ("TrimRight", Func::GoTrimRight, 2, 2),
    ("TrimPrefix", Func::GoTrimPrefix, 2, 2),
    ("TrimSuffix", Func::GoTrimSuffix, 2, 2),
    ("TrimSpace", Func::TrimSpace, 1, 1),
    ("regexReplaceAll", Func::RegexReplaceAll, 3, 3),
    ("regexReplaceAllLiteral", Func::RegexReplaceAllLiteral, 3, 3),
    ("count", Func::Count, 2, 2),
    ("urldecode", Func::UrlDecode, 1, 1),
    ("urlencode", Func::UrlEncode, 1, 1),
    ("bytes", Func::Bytes, 1, 1),
    ("duration", Func::Duration, 1, 1),
    ("duration_seconds", Func::Duration, 1, 1),
    ("unixEpoch", Func::UnixEpoch, 1, 1),
    ("unixEpochMillis", Func::UnixEpochMillis, 1, 1),
    ("unixEpochNanos", Func::UnixEpochNanos, 1, 1),
    ("toDateInZone", Func::ToDateInZone, 3, 3),
    ("unixToTime", Func::UnixToTime, 1, 1),
    ("alignLeft", Func::AlignLeft, 2, 2),
    ("alignRight", Func::AlignRight, 2, 2),
    ("b64enc", Func::B64Enc, 1, 1),
    ("b64dec", Func::B64Dec, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("upper", Func::Upper, 1, 1),
    ("title", Func::Title, 1, 1),
    ("trunc", Func::Trunc, 2, 2),
    ("substr", Func::Substr, 3, 3),
    ("contains", Func::Contains, 2, 2),
    ("hasPrefix", Func::HasPrefix, 2, 2),
    ("hasSuffix", Func::HasSuffix, 2, 2),
    ("indent", Func::Indent, 2, 2),
    ("nindent", Func::Nindent, 2, 2),
    ("replace", Func::Replace, 3, 3),
    ("repeat", Func::Repeat, 2, 2),
    ("trim", Func::TrimSpace, 1, 1),
    ("trimAll", Func::TrimAll, 2, 2),
    ("trimPrefix", Func::TrimPrefix, 2, 2),
    ("trimSuffix", Func::TrimSuffix, 2, 2),
    ("int", Func::Int, 1, 1),
    ("float64", Func::Float64, 1, 1),
    ("date", Func::Date, 2, 2),
    ("toDate", Func::ToDate, 2, 2),
    ("now", Func::Now, 0, 0),
    ("default", Func::Default, 1, MANY),
];

/// Which function set a template may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// LogQL's `line_format` / `label_format`: Go builtins, sprig and Loki functions.
    LogQl,
    /// Prometheus alert and recording-rule templates: Go builtins and Prometheus's functions.
    Alert,
}

/// The Go builtins available to alert templates (the rest of the table is LogQL's).
const GO_BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "print", "printf", "println",
];

/// Prometheus template functions that need a query engine or console context.
const UNSUPPORTED_ALERT: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "sortByLabel",
    "strvalue",
    "args",
    "tmpl",
];

/// Looks a function up by name in a dialect; the error is the parse error message.
pub(super) fn lookup_in(name: &str, dialect: Dialect) -> Result<Func, String> {
    let found = match dialect {
        Dialect::LogQl => lookup(name),
        Dialect::Alert if GO_BUILTINS.contains(&name) => lookup(name),
        Dialect::Alert => alertfn::lookup(name).map(Func::Alert),
    };
    match found {
        Some(f) => Ok(f),
        None if dialect == Dialect::Alert && UNSUPPORTED_ALERT.contains(&name) => {
            Err(format!("function {name:?} is not supported in Loupe's templates"))
        }
        None => Err(format!("function {name:?} not defined")),
    }
}

/// Looks a LogQL function up by name.
pub(super) fn lookup(name: &str) -> Option<Func> {
    TABLE
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|&(_, f, ..)| f)
        .or_else(|| mathfn::lookup(name).map(Func::Math))
}

/// Whether the function's first argument is a regular expression.
pub(super) fn takes_regex(f: Func) -> bool {
    matches!(f, Func::RegexReplaceAll | Func::RegexReplaceAllLiteral | Func::Count)
        || matches!(f, Func::Alert(a) if alertfn::takes_regex(a))
}

fn arity(f: Func) -> (usize, usize) {
    match f {
        Func::Math(m) => mathfn::arity(m),
        Func::Alert(a) => alertfn::arity(a),
        _ => TABLE
            .iter()
            .find(|(_, g, ..)| *g == f)
            .map_or((0, MANY), |&(_, _, lo, hi)| (lo, hi)),
    }
}

/// Regexes compiled at render time (non-literal patterns), bounded in number.
#[derive(Debug, Default)]
pub(super) struct RegexCache(Mutex<Vec<(String, Arc<Regex>)>>);

const REGEX_CACHE_SIZE: usize = 16;

impl RegexCache {
    /// The compiled regex for `pattern`, compiling (and caching) it on first use.
    pub(super) fn get(&self, pattern: &str) -> Result<Arc<Regex>, String> {
        let mut entries = self.0.lock().map_err(|_| "regex cache poisoned".to_string())?;
        if let Some((_, r)) = entries.iter().find(|(p, _)| p == pattern) {
            return Ok(r.clone());
        }
        let r = Arc::new(super::parse::compile_regex(pattern)?);
        if entries.len() >= REGEX_CACHE_SIZE {
            entries.remove(0);
        }
        entries.push((pattern.to_string(), r.clone()));
        Ok(r)
    }
}

/// What a function call may read besides its arguments.
pub(super) struct Env<'a> {
    /// The entry being rendered.
    pub ctx: &'a dyn TemplateContext,
    /// Cache for non-literal regexes.
    pub cache: &'a RegexCache,
    /// The regex compiled at parse time for this command, if its pattern is a literal.
    pub regex: Option<&'a Arc<Regex>>,
    /// The external URL of an alert template (`externalURL`, `pathPrefix`); "" for LogQL.
    pub external_url: &'a str,
}

fn type_err(want: &str, got: &Value) -> String {
    format!("wrong type for value; expected {want}; got {}", got.type_name())
}

/// Argument `i` as a string, else Go's type error.
pub(super) fn str_arg(args: &[Value], i: usize) -> Result<&str, String> {
    match &args[i] {
        Value::Str(s) => Ok(s),
        other => Err(type_err("string", other)),
    }
}

fn int_arg(args: &[Value], i: usize) -> Result<i64, String> {
    match &args[i] {
        Value::Int(n) => Ok(*n),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(*f as i64),
        other => Err(type_err("int", other)),
    }
}

fn time_arg(args: &[Value], i: usize) -> Result<Time, String> {
    match &args[i] {
        Value::Time(t) => Ok(*t),
        other => Err(type_err("time.Time", other)),
    }
}

/// Errors unless a string of `len` bytes fits the output bound.
pub(super) fn check_len(len: usize) -> Result<(), String> {
    if len > MAX_OUTPUT {
        Err(format!("result exceeds {MAX_OUTPUT} bytes"))
    } else {
        Ok(())
    }
}

fn text(s: String) -> Result<Value, String> {
    check_len(s.len())?;
    Ok(Value::Str(s))
}

/// Calls `f` with evaluated arguments (`and`/`or` included, evaluated eagerly here).
pub(super) fn call(f: Func, name: &str, args: Vec<Value>, env: &Env<'_>) -> Result<Value, String> {
    let (lo, hi) = arity(f);
    if args.len() < lo || args.len() > hi {
        let want = if lo == hi {
            lo.to_string()
        } else {
            format!("at least {lo}")
        };
        return Err(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        ));
    }
    let a = &args;
    Ok(match f {
        Func::And => args
            .iter()
            .find(|v| !v.truth())
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Nil),
        Func::Or => args
            .iter()
            .find(|v| v.truth())
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Nil),
        Func::Not => Value::Bool(!a[0].truth()),
        Func::Len => match &a[0] {
            Value::Str(s) => Value::Int(s.len() as i64),
            Value::Map(m) => Value::Int(m.len() as i64),
            other => return Err(format!("len of type {}", other.type_name())),
        },
        Func::Index => index(a, env)?,
        Func::Eq => {
            if a.len() < 2 {
                return Err("missing argument for comparison".to_string());
            }
            let mut any = false;
            for b in &a[1..] {
                any |= compare_eq(&a[0], b)?;
            }
            Value::Bool(any)
        }
        Func::Ne => Value::Bool(!compare_eq(&a[0], &a[1])?),
        Func::Lt => Value::Bool(compare_lt(&a[0], &a[1])?),
        Func::Le => Value::Bool(compare_lt(&a[0], &a[1])? || compare_eq(&a[0], &a[1])?),
        Func::Gt => Value::Bool(!compare_lt(&a[0], &a[1])? && !compare_eq(&a[0], &a[1])?),
        Func::Ge => Value::Bool(!compare_lt(&a[0], &a[1])?),
        Func::Print => text(sprint(a)?)?,
        Func::Println => text(sprintln(a)?)?,
        Func::Printf => text(sprintf(str_arg(a, 0)?, &a[1..])?)?,
        Func::Line => text(env.ctx.line().to_string())?,
        Func::Timestamp => Value::Time(Time::from_unix_nanos(env.ctx.timestamp_ns())),
        Func::Lower => Value::Str(str_arg(a, 0)?.to_lowercase()),
        Func::Upper => Value::Str(str_arg(a, 0)?.to_uppercase()),
        Func::GoReplace => {
            let (s, old, new, n) = (str_arg(a, 0)?, str_arg(a, 1)?, str_arg(a, 2)?, int_arg(a, 3)?);
            check_replace(s, old, new)?;
            Value::Str(if n < 0 {
                s.replace(old, new)
            } else {
                s.replacen(old, new, n as usize)
            })
        }
        Func::GoTrim => {
            let cut = str_arg(a, 1)?;
            Value::Str(str_arg(a, 0)?.trim_matches(|c| cut.contains(c)).to_string())
        }
        Func::GoTrimLeft => {
            let cut = str_arg(a, 1)?;
            Value::Str(str_arg(a, 0)?.trim_start_matches(|c| cut.contains(c)).to_string())
        }
        Func::GoTrimRight => {
            let cut = str_arg(a, 1)?;
            Value::Str(str_arg(a, 0)?.trim_end_matches(|c| cut.contains(c)).to_string())
        }
        Func::GoTrimPrefix => trim_prefix(str_arg(a, 0)?, str_arg(a, 1)?),
        Func::GoTrimSuffix => trim_suffix(str_arg(a, 0)?, str_arg(a, 1)?),
        Func::TrimSpace => Value::Str(str_arg(a, 0)?.trim().to_string()),
        Func::RegexReplaceAll | Func::RegexReplaceAllLiteral | Func::Count => regex_call(f, a, env)?,
        Func::UrlDecode => Value::Str(url_decode(str_arg(a, 0)?)?),
        Func::UrlEncode => text(url_encode(str_arg(a, 0)?))?,
        Func::Bytes => Value::Float(parse_bytes(str_arg(a, 0)?)?),
        Func::Duration => Value::Float(parse_duration(str_arg(a, 0)?)?),
        Func::UnixEpoch => Value::Str(time_arg(a, 0)?.secs.to_string()),
        Func::UnixEpochMillis => Value::Str(time_arg(a, 0)?.unix_millis().to_string()),
        Func::UnixEpochNanos => Value::Str(time_arg(a, 0)?.unix_nanos().to_string()),
        Func::ToDateInZone => {
            let zone = str_arg(a, 1)?;
            if !matches!(zone, "" | "UTC" | "Local") {
                return Err(format!("unsupported time zone {zone:?}: only UTC is supported"));
            }
            Value::Time(parse_time(str_arg(a, 0)?, str_arg(a, 2)?).unwrap_or(ZERO_TIME))
        }
        Func::UnixToTime => Value::Time(unix_to_time(str_arg(a, 0)?)?),
        Func::AlignLeft | Func::AlignRight => align(int_arg(a, 0)?, str_arg(a, 1)?, f == Func::AlignLeft)?,
        Func::B64Enc => text(base64::engine::general_purpose::STANDARD.encode(str_arg(a, 0)?))?,
        Func::B64Dec => Value::Str(b64_decode(str_arg(a, 0)?)),
        Func::Title => Value::Str(title(str_arg(a, 0)?)),
        Func::Trunc => Value::Str(trunc(int_arg(a, 0)?, str_arg(a, 1)?)),
        Func::Substr => Value::Str(substr(int_arg(a, 0)?, int_arg(a, 1)?, str_arg(a, 2)?)),
        Func::Contains => Value::Bool(str_arg(a, 1)?.contains(str_arg(a, 0)?)),
        Func::HasPrefix => Value::Bool(str_arg(a, 1)?.starts_with(str_arg(a, 0)?)),
        Func::HasSuffix => Value::Bool(str_arg(a, 1)?.ends_with(str_arg(a, 0)?)),
        Func::Indent | Func::Nindent => indent(int_arg(a, 0)?, str_arg(a, 1)?, f == Func::Nindent)?,
        Func::Replace => {
            let (old, new, s) = (str_arg(a, 0)?, str_arg(a, 1)?, str_arg(a, 2)?);
            check_replace(s, old, new)?;
            Value::Str(s.replace(old, new))
        }
        Func::Repeat => {
            let (n, s) = (int_arg(a, 0)?, str_arg(a, 1)?);
            let n = usize::try_from(n).map_err(|_| "strings: negative Repeat count".to_string())?;
            check_len(s.len().saturating_mul(n))?;
            Value::Str(s.repeat(n))
        }
        Func::TrimAll => {
            let cut = str_arg(a, 0)?;
            Value::Str(str_arg(a, 1)?.trim_matches(|c| cut.contains(c)).to_string())
        }
        Func::TrimPrefix => trim_prefix(str_arg(a, 1)?, str_arg(a, 0)?),
        Func::TrimSuffix => trim_suffix(str_arg(a, 1)?, str_arg(a, 0)?),
        Func::Int => Value::Int(to_i64(&a[0])),
        Func::Float64 => Value::Float(to_f64(&a[0])),
        Func::Math(m) => mathfn::call(m, a)?,
        Func::Alert(f) => alertfn::call(f, a, env)?,
        Func::Date => {
            let t = match &a[1] {
                Value::Time(t) => *t,
                Value::Int(secs) => Time { secs: *secs, nanos: 0 },
                _ => Time::now(),
            };
            text(t.format(str_arg(a, 0)?))?
        }
        Func::ToDate => Value::Time(parse_time(str_arg(a, 0)?, str_arg(a, 1)?).unwrap_or(ZERO_TIME)),
        Func::Now => Value::Time(Time::now()),
        Func::Default => match a.get(1) {
            Some(v) if v.truth() => v.clone(),
            _ => a[0].clone(),
        },
    })
}

fn index(a: &[Value], env: &Env<'_>) -> Result<Value, String> {
    let mut item = a[0].clone();
    for key in &a[1..] {
        item = match (&item, key) {
            (Value::Labels, Value::Str(k)) => Value::Str(env.ctx.label(k).unwrap_or("").to_string()),
            (Value::Map(m), Value::Str(k)) => Value::Str(map_get(m, k).unwrap_or("").to_string()),
            (Value::Labels | Value::Map(_), other) => {
                return Err(format!("value has type {}; should be string", other.type_name()));
            }
            (Value::Str(s), Value::Int(i)) => match usize::try_from(*i).ok().and_then(|i| s.as_bytes().get(i)) {
                Some(byte) => Value::Int(i64::from(*byte)),
                None => return Err(format!("error calling index: index out of range: {i}")),
            },
            (Value::Nil, _) => return Err("index of untyped nil".to_string()),
            (other, _) => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn compare_eq(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::Nil | Value::Labels | Value::Map(_) | Value::Alert(_), _)
        | (_, Value::Nil | Value::Labels | Value::Map(_) | Value::Alert(_)) => {
            return Err("invalid type for comparison".to_string());
        }
        _ => return Err("incompatible types for comparison".to_string()),
    })
}

fn compare_lt(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(match (a, b) {
        (Value::Str(x), Value::Str(y)) => x < y,
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (x, y) if x.type_name() == y.type_name() => return Err("invalid type for comparison".to_string()),
        _ => return Err("incompatible types for comparison".to_string()),
    })
}

fn check_replace(s: &str, old: &str, new: &str) -> Result<(), String> {
    let n = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    check_len(s.len().saturating_add(n.saturating_mul(new.len())))
}

fn trim_prefix(s: &str, prefix: &str) -> Value {
    Value::Str(s.strip_prefix(prefix).unwrap_or(s).to_string())
}

fn trim_suffix(s: &str, suffix: &str) -> Value {
    Value::Str(s.strip_suffix(suffix).unwrap_or(s).to_string())
}

/// `regexReplaceAll`, `regexReplaceAllLiteral` and `count` (pattern first), also Prometheus's `reReplaceAll`.
pub(super) fn regex_call(f: Func, a: &[Value], env: &Env<'_>) -> Result<Value, String> {
    let owned;
    let re: &Regex = match env.regex {
        Some(r) => r,
        None => {
            owned = env.cache.get(str_arg(a, 0)?)?;
            &owned
        }
    };
    let src = str_arg(a, 1)?;
    match f {
        Func::Count => Ok(Value::Int(re.find_iter(src).count() as i64)),
        _ => {
            let repl = str_arg(a, 2)?;
            let matches = re.find_iter(src).count();
            check_len(
                src.len()
                    .saturating_add(matches.saturating_mul(repl.len().saturating_mul(2) + 16)),
            )?;
            let out = if f == Func::RegexReplaceAll {
                re.replace_all(src, repl).into_owned()
            } else {
                re.replace_all(src, regex::NoExpand(repl)).into_owned()
            };
            text(out)
        }
    }
}

/// Go's `url.QueryEscape`.
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.QueryUnescape`.
fn url_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .filter(|_| hex.is_some_and(|h| !h.starts_with('+')))
                {
                    Some(v) => out.push(v),
                    None => {
                        let bad = String::from_utf8_lossy(&b[i..(i + 3).min(b.len())]);
                        return Err(format!("invalid URL escape {bad:?}"));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// go-humanize `ParseBytes`: "42 MB", "1.5KiB", "1,024".
fn parse_bytes(s: &str) -> Result<f64, String> {
    let n = s
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .map(char::len_utf8)
        .sum();
    let num: f64 = s[..n]
        .replace(',', "")
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {:?}: invalid syntax", &s[..n]))?;
    let unit = s[n..].trim().to_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "p" | "pb" => 1e15,
        "e" | "eb" => 1e18,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024f64.powi(2),
        "gi" | "gib" => 1024f64.powi(3),
        "ti" | "tib" => 1024f64.powi(4),
        "pi" | "pib" => 1024f64.powi(5),
        "ei" | "eib" => 1024f64.powi(6),
        _ => return Err(format!("unhandled size name: {unit}")),
    };
    let v = num * mult;
    if v >= 1.8446744073709552e19 {
        return Err(format!("too large: {s}"));
    }
    Ok(v.trunc())
}

/// Loki's `unixToTime`: the digit count picks days, seconds, ms, µs or ns.
fn unix_to_time(epoch: &str) -> Result<Time, String> {
    let bad = || format!("unable to parse time '{epoch}'");
    let i: i64 = epoch.parse().map_err(|_| bad())?;
    Ok(match epoch.len() {
        5 => Time {
            secs: i * 86_400,
            nanos: 0,
        },
        10 => Time { secs: i, nanos: 0 },
        13 => Time::from_unix_nanos(i.checked_mul(1_000_000).ok_or_else(bad)?),
        16 => Time::from_unix_nanos(i.checked_mul(1_000).ok_or_else(bad)?),
        19 => Time::from_unix_nanos(i),
        _ => return Err(bad()),
    })
}

fn align(count: i64, src: &str, left: bool) -> Result<Value, String> {
    let len = src.chars().count();
    let Ok(count) = usize::try_from(count) else {
        return Ok(Value::Str(src.to_string()));
    };
    if count == len {
        return Ok(Value::Str(src.to_string()));
    }
    if count > len {
        check_len(src.len() + count - len)?;
        let pad = " ".repeat(count - len);
        return Ok(Value::Str(if left {
            format!("{src}{pad}")
        } else {
            format!("{pad}{src}")
        }));
    }
    Ok(Value::Str(if left {
        src.chars().take(count).collect()
    } else {
        src.chars().skip(len - count).collect()
    }))
}

/// sprig `b64dec`: a decoding failure yields the error text instead of an error.
fn b64_decode(s: &str) -> String {
    match base64::engine::general_purpose::STANDARD.decode(s) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol { offset: at, .. }) => {
            format!("illegal base64 data at input byte {at}")
        }
        Err(_) => format!(
            "illegal base64 data at input byte {}",
            s.len().saturating_sub(1) / 4 * 4
        ),
    }
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
pub(super) fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn trunc(c: i64, s: &str) -> String {
    let len = s.chars().count() as i64;
    if c < 0 && len + c > 0 {
        return s.chars().skip((len + c) as usize).collect();
    }
    if c >= 0 && len > c {
        return s.chars().take(c as usize).collect();
    }
    s.to_string()
}

fn substr(start: i64, end: i64, s: &str) -> String {
    let len = s.chars().count() as i64;
    let end = end.min(len);
    let start = start.min(len);
    let (from, to) = if start < 0 {
        if end < 0 {
            return String::new();
        }
        (0, end)
    } else if end < 0 {
        (start, len)
    } else if start > end {
        return String::new();
    } else {
        (start, end)
    };
    s.chars().skip(from as usize).take((to - from) as usize).collect()
}

fn indent(spaces: i64, s: &str, newline: bool) -> Result<Value, String> {
    let spaces = usize::try_from(spaces).unwrap_or(0);
    let lines = s.matches('\n').count() + 1;
    check_len(s.len().saturating_add(lines.saturating_mul(spaces)))?;
    let pad = " ".repeat(spaces);
    let body = format!("{pad}{}", s.replace('\n', &format!("\n{pad}")));
    Ok(Value::Str(if newline { format!("\n{body}") } else { body }))
}
