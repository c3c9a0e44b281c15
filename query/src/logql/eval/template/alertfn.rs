//! Prometheus's template functions for alert and recording-rule templates: the `humanize*` family,
//! `toTime`, string helpers (`title`, `toUpper`, `toLower`, `match`, `reReplaceAll`, `stripPort`,
//! `stripDomain`), `parseDuration`, `safeHtml`, `graphLink`/`tableLink`, `externalURL`/`pathPrefix`
//! and Go's `html`/`urlquery` builtins. Written from Prometheus's template reference; output formats
//! follow Go's `%.4g`, `time.Time.String()` and `net.SplitHostPort`.

use super::funcs::{Env, Func, check_len, regex_call, str_arg, url_encode};
use super::printf::{quote, sprint};
use super::timefmt::Time;
use super::value::{Value, format_float_g, format_float_v, parse_go_float};

/// A Prometheus template function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AlertFn {
    Humanize,
    Humanize1024,
    HumanizeDuration,
    HumanizePercentage,
    HumanizeTimestamp,
    ToTime,
    Title,
    ToUpper,
    ToLower,
    Match,
    ReReplaceAll,
    StripPort,
    StripDomain,
    ParseDuration,
    SafeHtml,
    GraphLink,
    TableLink,
    ExternalUrl,
    PathPrefix,
    UrlQuery,
    Html,
}

const MANY: usize = usize::MAX;

/// Name, function, minimum and maximum argument counts.
const TABLE: &[(&str, AlertFn, usize, usize)] = &[
    ("humanize", AlertFn::Humanize, 1, 1),
    ("humanize1024", AlertFn::Humanize1024, 1, 1),
    ("humanizeDuration", AlertFn::HumanizeDuration, 1, 1),
    ("humanizePercentage", AlertFn::HumanizePercentage, 1, 1),
    ("humanizeTimestamp", AlertFn::HumanizeTimestamp, 1, 1),
    ("toTime", AlertFn::ToTime, 1, 1),
    ("title", AlertFn::Title, 1, 1),
    ("toUpper", AlertFn::ToUpper, 1, 1),
    ("toLower", AlertFn::ToLower, 1, 1),
    ("match", AlertFn::Match, 2, 2),
    ("reReplaceAll", AlertFn::ReReplaceAll, 3, 3),
    ("stripPort", AlertFn::StripPort, 1, 1),
    ("stripDomain", AlertFn::StripDomain, 1, 1),
    ("parseDuration", AlertFn::ParseDuration, 1, 1),
    ("safeHtml", AlertFn::SafeHtml, 1, 1),
    ("graphLink", AlertFn::GraphLink, 1, 1),
    ("tableLink", AlertFn::TableLink, 1, 1),
    ("externalURL", AlertFn::ExternalUrl, 0, 0),
    ("pathPrefix", AlertFn::PathPrefix, 0, 0),
    ("urlquery", AlertFn::UrlQuery, 0, MANY),
    ("html", AlertFn::Html, 0, MANY),
];

/// Looks a Prometheus function up by name.
pub(super) fn lookup(name: &str) -> Option<AlertFn> {
    TABLE.iter().find(|(n, ..)| *n == name).map(|&(_, f, ..)| f)
}

/// Minimum and maximum argument counts.
pub(super) fn arity(f: AlertFn) -> (usize, usize) {
    TABLE
        .iter()
        .find(|(_, g, ..)| *g == f)
        .map_or((0, MANY), |&(_, _, lo, hi)| (lo, hi))
}

/// Whether the first argument is a regular expression (compiled at parse time when literal).
pub(super) fn takes_regex(f: AlertFn) -> bool {
    matches!(f, AlertFn::Match | AlertFn::ReReplaceAll)
}

/// Calls `f` with evaluated arguments (the count is already checked).
pub(super) fn call(f: AlertFn, a: &[Value], env: &Env<'_>) -> Result<Value, String> {
    Ok(match f {
        AlertFn::Humanize => Value::Str(humanize(to_float(&a[0])?)),
        AlertFn::Humanize1024 => Value::Str(humanize1024(to_float(&a[0])?)),
        AlertFn::HumanizeDuration => Value::Str(humanize_duration(to_float(&a[0])?)),
        AlertFn::HumanizePercentage => Value::Str(format!("{}%", g4(to_float(&a[0])? * 100.0))),
        AlertFn::HumanizeTimestamp => {
            let v = to_float(&a[0])?;
            if v.is_finite() {
                Value::Str(float_to_time(v)?.go_string())
            } else {
                Value::Str(g4(v))
            }
        }
        AlertFn::ToTime => Value::Time(float_to_time(to_float(&a[0])?)?),
        AlertFn::Title => Value::Str(title(str_arg(a, 0)?)),
        AlertFn::ToUpper => Value::Str(map_runes(str_arg(a, 0)?, |c| one_rune(c, c.to_uppercase()))),
        AlertFn::ToLower => Value::Str(map_runes(str_arg(a, 0)?, |c| one_rune(c, c.to_lowercase()))),
        AlertFn::Match => {
            let owned;
            let re = match env.regex {
                Some(r) => r,
                None => {
                    owned = env.cache.get(str_arg(a, 0)?)?;
                    &owned
                }
            };
            Value::Bool(re.is_match(str_arg(a, 1)?))
        }
        // Prometheus's order is (pattern, replacement, text); sprig's `regexReplaceAll` takes the text second.
        AlertFn::ReReplaceAll => regex_call(Func::RegexReplaceAll, &[a[0].clone(), a[2].clone(), a[1].clone()], env)?,
        AlertFn::StripPort => {
            let hp = str_arg(a, 0)?;
            Value::Str(split_host_port(hp).map_or(hp, |(host, _)| host).to_string())
        }
        AlertFn::StripDomain => Value::Str(strip_domain(str_arg(a, 0)?)),
        AlertFn::ParseDuration => Value::Float(parse_duration(str_arg(a, 0)?)?),
        AlertFn::SafeHtml => Value::Str(str_arg(a, 0)?.to_string()),
        AlertFn::GraphLink | AlertFn::TableLink => {
            let tab = if f == AlertFn::GraphLink { 0 } else { 1 };
            let link = format!("/graph?g0.expr={}&g0.tab={tab}", url_encode(str_arg(a, 0)?));
            check_len(link.len())?;
            Value::Str(link)
        }
        AlertFn::ExternalUrl => Value::Str(env.external_url.to_string()),
        AlertFn::PathPrefix => Value::Str(url_path(env.external_url).to_string()),
        AlertFn::UrlQuery => {
            let s = url_encode(&eval_args(a)?);
            check_len(s.len())?;
            Value::Str(s)
        }
        AlertFn::Html => {
            let s = html_escape(&eval_args(a)?);
            check_len(s.len())?;
            Value::Str(s)
        }
    })
}

/// Prometheus's `ConvertToFloat`: floats, integers and numeric strings.
fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => {
            let f =
                parse_go_float(s).ok_or_else(|| format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s)))?;
            let lower = s.to_ascii_lowercase();
            if f.is_infinite() && !lower.contains("inf") {
                return Err(format!("strconv.ParseFloat: parsing {}: value out of range", quote(s)));
            }
            Ok(f)
        }
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// Go's `%.4g`.
fn g4(v: f64) -> String {
    format_float_g(v, Some(4))
}

/// Metric prefixes: `1.235M`, `1.2m`; zero, NaN and infinities plain.
fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", g4(v))
}

/// Binary prefixes: `2ki`, `1Mi`; magnitudes up to 1 plain.
fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Seconds as `1d 2h 3m 4s`, `1m 0s`, `12.35s`, `250ms`, `100us`.
fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let total = v as i64;
        let (secs, mins, hours, days) = (total % 60, total / 60 % 60, total / 3600 % 24, total / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {mins}m {secs}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {mins}m {secs}s")
        } else if mins != 0 {
            format!("{sign}{mins}m {secs}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// Seconds since the epoch to a time with millisecond precision (Prometheus's `model.Time`).
fn float_to_time(v: f64) -> Result<Time, String> {
    if !v.is_finite() {
        return Err("value is NaN or Inf".to_string());
    }
    let ns = v * 1e9;
    // 2^63 (i64::MAX as f64) is itself out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&ns) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_float_v(v)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(Time::from_unix_nanos(ms * 1_000_000))
}

/// Maps each rune through `f` (Go's per-rune `strings.ToUpper` / `ToLower`).
fn map_runes(s: &str, f: impl Fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

/// The single-rune case mapping, or `c` itself when the full mapping has several runes (Go's
/// `unicode.ToUpper('ß')` is `ß`).
fn one_rune(c: char, mut mapped: impl Iterator<Item = char>) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

/// Prometheus's `title` (`cases.Title` without lower-casing): the first letter of each word
/// upper-cased. A word is letters, digits and `_`, joined across `'`, `.` and `:` between them.
fn title(s: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_word(c) {
            if in_word {
                out.push(c);
            } else {
                out.push(one_rune(c, c.to_uppercase()));
            }
            in_word = true;
        } else {
            let joins =
                matches!(c, '\'' | '\u{2019}' | '.' | ':') && chars.peek().is_some_and(|&n| n.is_alphanumeric());
            in_word = in_word && joins;
            out.push(c);
        }
    }
    out
}

/// Go's `net.SplitHostPort`; `None` where Go returns an error.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let colon = hp.rfind(':')?;
    let (host, open_end, close_from) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != colon {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..colon];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hp[open_end..].contains('[') || hp[close_from..].contains(']') {
        return None;
    }
    Some((host, &hp[colon + 1..]))
}

/// Prometheus's `stripDomain`: the first label of a host name, keeping a port; IPs unchanged.
fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let first = host.split('.').next().unwrap_or(host);
    match (port.is_empty(), first.contains(':')) {
        (true, _) => first.to_string(),
        (false, true) => format!("[{first}]:{port}"),
        (false, false) => format!("{first}:{port}"),
    }
}

/// Prometheus's duration syntax (`1d12h`, `90s`, `500ms`, units y w d h m s ms in that order) in
/// seconds.
fn parse_duration(s: &str) -> Result<f64, String> {
    const UNITS: [(&str, i128); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("ms", 1),
        ("m", 60_000),
        ("s", 1000),
    ];
    // Required order of the units above (ms comes last).
    const ORDER: [usize; 7] = [0, 1, 2, 3, 6, 4, 5];
    if s.is_empty() {
        return Err("empty duration string".to_string());
    }
    if s == "0" {
        return Ok(0.0);
    }
    let invalid = || format!("not a valid duration string: {}", quote(s));
    let out_of_range = || "duration out of range".to_string();
    let mut rest = s;
    let mut last: Option<usize> = None;
    let mut total_ms: i128 = 0;
    while !rest.is_empty() {
        let n_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n_digits == 0 {
            return Err(invalid());
        }
        let n: i128 = rest[..n_digits].parse().map_err(|_| out_of_range())?;
        rest = &rest[n_digits..];
        let (idx, (unit, mult)) = UNITS
            .iter()
            .enumerate()
            .find(|(_, (u, _))| rest.starts_with(u))
            .ok_or_else(invalid)?;
        if last.is_some_and(|l| ORDER[l] >= ORDER[idx]) {
            return Err(invalid());
        }
        last = Some(idx);
        rest = &rest[unit.len()..];
        total_ms = total_ms
            .checked_add(n.checked_mul(*mult).ok_or_else(out_of_range)?)
            .ok_or_else(out_of_range)?;
    }
    let ns = total_ms.checked_mul(1_000_000).filter(|&ns| ns <= i128::from(i64::MAX));
    let ns = ns.ok_or_else(out_of_range)?;
    Ok(ns as f64 / 1e9)
}

/// The path of a URL (`pathPrefix`): `http://host:9090/prom?x` gives `/prom`.
fn url_path(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let scheme_end = url.find("://").filter(|&i| {
        url[..i]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
    });
    let after_authority = match scheme_end {
        Some(i) => &url[i + 3..],
        None if url.starts_with("//") => &url[2..],
        None => return url,
    };
    after_authority.find('/').map_or("", |i| &after_authority[i..])
}

/// Go's `evalArgs` for `html`/`urlquery`: a lone string as is, else `fmt.Sprint` of the arguments.
fn eval_args(a: &[Value]) -> Result<String, String> {
    match a {
        [Value::Str(s)] => Ok(s.clone()),
        _ => sprint(a),
    }
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}
