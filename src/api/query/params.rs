//! Request parameters as Prometheus reads them: the URL query and a form-encoded body merged (the
//! body's values first, so they win), times as RFC 3339 or float Unix seconds, durations as
//! Prometheus durations or float seconds, and `match[]` selectors.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use tsdb::Matcher;

use super::response::ApiError;

/// Largest form body read, as Go's `ParseForm` allows.
const MAX_FORM_BYTES: usize = 10 << 20;

/// Prometheus's lower bound for `start` when absent (`-292273086-05-16T16:47:06Z`), in ms.
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Prometheus's upper bound for `end` when absent (`292277025-08-18T07:12:54.999999999Z`), in ms.
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// A request's parameters: body pairs first, then URL pairs, in written order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters from a URL query string and an optional form body.
    pub fn from_parts(query: Option<&str>, body: Option<&str>) -> Params {
        let mut pairs = Vec::new();
        if let Some(body) = body {
            decode_form(body, &mut pairs);
        }
        if let Some(query) = query {
            decode_form(query, &mut pairs);
        }
        Params { pairs }
    }

    /// Reads a request's parameters: its URL query, plus its body when it is a form-encoded
    /// POST, PUT or PATCH (at most 10 MiB).
    pub async fn from_request(request: Request) -> Result<Params, ApiError> {
        let (parts, body): (_, Body) = request.into_parts();
        let query = parts.uri.query().map(str::to_string);
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        let has_body = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
        let body_text = if has_body && is_form {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
                ApiError::bad_data(format!(
                    "error parsing form values: request body exceeds {MAX_FORM_BYTES} bytes"
                ))
            })?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            None
        };
        Ok(Params::from_parts(query.as_deref(), body_text.as_deref()))
    }

    /// The first value of `name` (Go's `FormValue`), empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, body values first.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Decodes `a=1&b=2` pairs (`+` is a space, `%XX` a byte); malformed pairs are skipped like Go does.
fn decode_form(text: &str, out: &mut Vec<(String, String)>) {
    for part in text.split('&') {
        if part.is_empty() || part.contains(';') {
            continue;
        }
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        if let (Some(key), Some(value)) = (unescape(key), unescape(value)) {
            out.push((key, value));
        }
    }
}

fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hi = (hex[0] as char).to_digit(16)?;
                let lo = (hex[1] as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Parses a time: float Unix seconds (rounded to the millisecond) or RFC 3339 with up to
/// nanoseconds; returns ms since the epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {text:?} to a valid timestamp");
    if let Ok(f) = text.parse::<f64>() {
        if !f.is_finite() {
            return Err(invalid());
        }
        let secs = f.trunc();
        let millis = ((f - secs) * 1000.0).round();
        let ms = secs * 1000.0 + millis;
        return Ok(if ms <= MIN_TIME_MS as f64 {
            MIN_TIME_MS
        } else if ms >= MAX_TIME_MS as f64 {
            MAX_TIME_MS
        } else {
            secs as i64 * 1000 + millis as i64
        });
    }
    match text {
        MIN_TIME_TEXT => return Ok(MIN_TIME_MS),
        MAX_TIME_TEXT => return Ok(MAX_TIME_MS),
        _ => {}
    }
    parse_rfc3339(text).ok_or_else(invalid)
}

/// `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)` to ms since the epoch (fraction truncated).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let (secs, nanos) = rfc3339_parts(text)?;
    Some(secs * 1000 + nanos / 1_000_000)
}

/// `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)` to ns since the epoch (fraction past 9 digits
/// truncated); `None` when invalid or out of the i64 range.
pub fn parse_rfc3339_ns(text: &str) -> Option<i64> {
    let (secs, nanos) = rfc3339_parts(text)?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Seconds since the epoch and nanoseconds of an RFC 3339 time.
fn rfc3339_parts(text: &str) -> Option<(i64, i64)> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &text[start..i.min(start + 9)];
        nanos = digits.parse::<i64>().ok()? * 10_i64.pow(9 - digits.len() as u32);
    }
    let offset = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some((secs, nanos))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a duration (float seconds or a Prometheus duration such as `1m30s`) into nanoseconds.
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    if let Ok(f) = text.parse::<f64>() {
        let ns = f * 1e9;
        if ns.is_nan() || ns >= i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!("cannot parse {text:?} to a valid duration. It overflows int64"));
        }
        return Ok(ns as i64);
    }
    ::query::promql::lexer::parse_duration(text)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .ok_or_else(|| format!("cannot parse {text:?} to a valid duration"))
}

/// `parse_duration_ns` truncated to milliseconds, as the engine counts.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    parse_duration_ns(text).map(|ns| ns / 1_000_000)
}

/// A time parameter, or `default` when absent; errors read `invalid parameter "start": …`.
pub fn time_param(params: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match params.get(name) {
        "" => Ok(default),
        text => {
            parse_time(text).map_err(|e| ApiError::invalid_param(name, format!("invalid time value for '{name}': {e}")))
        }
    }
}

/// The `limit` parameter: `None` when absent or 0, an error when negative or not a number.
pub fn limit_param(params: &Params) -> Result<Option<usize>, ApiError> {
    match params.get("limit") {
        "" => Ok(None),
        text => {
            let limit: i64 = text.parse().map_err(|_| {
                ApiError::invalid_param("limit", format!("strconv.Atoi: parsing {text:?}: invalid syntax"))
            })?;
            if limit < 0 {
                return Err(ApiError::invalid_param("limit", "limit must be non-negative"));
            }
            Ok((limit > 0).then(|| usize::try_from(limit).unwrap_or(usize::MAX)))
        }
    }
}

/// Parses every `match[]` value into its matchers. Each must be a plain vector selector with at
/// least one matcher that does not match the empty string.
pub fn matcher_sets(params: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::new();
    for text in params.all("match[]") {
        let expr = ::query::promql::parse(text).map_err(|e| ApiError::invalid_param("match[]", e.to_string()))?;
        let matchers = match expr {
            ::query::promql::Expr::VectorSelector(vs) if vs.offset == 0 && vs.at.is_none() => vs.matchers,
            _ => {
                return Err(ApiError::invalid_param(
                    "match[]",
                    format!("1:1: parse error: {text:?} is not a series selector"),
                ));
            }
        };
        if matchers.iter().all(Matcher::matches_empty) {
            return Err(ApiError::invalid_param(
                "match[]",
                "match[] must contain at least one non-empty matcher",
            ));
        }
        sets.push(matchers);
    }
    Ok(sets)
}

/// Undoes Prometheus's value-encoding escape of label names (`U__` prefix, `__` for `_`,
/// `_<hex>_` for a code point), as Grafana sends UTF-8 names; invalid escapes leave the name as is.
pub fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => return name.to_string(),
            Some('_') => out.push('_'),
            Some(first) => {
                let mut code: u32 = 0;
                let mut digit = Some(first);
                let mut count = 0;
                loop {
                    match digit {
                        Some('_') if count > 0 => break,
                        Some(d) if count < 6 => match d.to_digit(16) {
                            Some(v) => code = code * 16 + v,
                            None => return name.to_string(),
                        },
                        _ => return name.to_string(),
                    }
                    count += 1;
                    digit = chars.next();
                }
                match char::from_u32(code) {
                    Some(decoded) => out.push(decoded),
                    None => return name.to_string(),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_merges_body_first() {
        let p = Params::from_parts(
            Some("query=url&match[]=a&time=1"),
            Some("query=body+x%2B1&match%5B%5D=b"),
        );
        assert_eq!(p.get("query"), "body x+1");
        assert_eq!(p.get("time"), "1");
        assert_eq!(p.get("missing"), "");
        assert_eq!(p.all("match[]"), vec!["b", "a"]);
        let bad = Params::from_parts(Some("a=%zz&b=2&c;d=3&e"), None);
        assert_eq!(bad.get("a"), "");
        assert_eq!(bad.get("b"), "2");
        assert_eq!(bad.all("e"), vec![""]);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("4"), Ok(4000));
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("1435781451.7815"), Ok(1_435_781_451_782));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
        assert_eq!(parse_time("2015-07-01T20:10:51.781Z"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("2015-07-01T20:10:51.7819999Z"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("2015-07-01T22:10:51+02:00"), Ok(1_435_781_451_000));
        assert_eq!(parse_time("1969-12-31T23:59:59.5Z"), Ok(-500));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
        assert_eq!(parse_time(MIN_TIME_TEXT), Ok(MIN_TIME_MS));
        assert_eq!(parse_time(MAX_TIME_TEXT), Ok(MAX_TIME_MS));
        assert_eq!(parse_time("1e300"), Ok(MAX_TIME_MS));
        for bad in [
            "",
            "abc",
            "NaN",
            "inf",
            "2015-07-01",
            "2015-13-01T00:00:00Z",
            "2001-02-29T00:00:00Z",
            "2015-07-01T20:10:51",
        ] {
            assert_eq!(
                parse_time(bad),
                Err(format!("cannot parse {bad:?} to a valid timestamp")),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("15"), Ok(15_000));
        assert_eq!(parse_duration_ms("0.5"), Ok(500));
        assert_eq!(parse_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_duration_ms("1d"), Ok(86_400_000));
        assert_eq!(parse_duration_ns("0.0000001"), Ok(100));
        assert_eq!(parse_duration_ms("-15"), Ok(-15_000));
        assert_eq!(
            parse_duration_ms("30s1m"),
            Err("cannot parse \"30s1m\" to a valid duration".into())
        );
        assert_eq!(
            parse_duration_ms(""),
            Err("cannot parse \"\" to a valid duration".into())
        );
        assert_eq!(
            parse_duration_ms("1e10"),
            Err("cannot parse \"1e10\" to a valid duration. It overflows int64".into())
        );
    }

    #[test]
    fn matchers_and_limits() {
        let p = Params::from_parts(Some("match[]=up&match[]=%7B__name__!%3D%22%22%7D"), None);
        let sets = matcher_sets(&p).expect("valid");
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0][0].value(), "up");
        let err = |q: &str| {
            matcher_sets(&Params::from_parts(Some(q), None))
                .expect_err("invalid")
                .message
        };
        assert_eq!(
            err("match[]=%7Bjob%3D~%22.*%22%7D"),
            "invalid parameter \"match[]\": 1:1: parse error: vector selector must contain at least one non-empty matcher"
        );
        assert_eq!(
            err("match[]=rate(x%5B5m%5D)"),
            "invalid parameter \"match[]\": 1:1: parse error: \"rate(x[5m])\" is not a series selector"
        );
        assert!(err("match[]=up%7B").starts_with("invalid parameter \"match[]\": 1:"));
        let limit = |q: &str| limit_param(&Params::from_parts(Some(q), None));
        assert_eq!(limit("").ok(), Some(None));
        assert_eq!(limit("limit=0").ok(), Some(None));
        assert_eq!(limit("limit=40000").ok(), Some(Some(40000)));
        assert_eq!(
            limit("limit=-1").expect_err("negative").message,
            "invalid parameter \"limit\": limit must be non-negative"
        );
        assert!(limit("limit=x").is_err());
    }

    #[test]
    fn label_name_unescaping() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(unescape_label_name("U__http_2e_status__code"), "http.status_code");
        assert_eq!(unescape_label_name("U___1f600_"), "\u{1f600}");
        // Invalid escapes are returned unchanged.
        assert_eq!(unescape_label_name("U__http_2e_status_code"), "U__http_2e_status_code");
        assert_eq!(unescape_label_name("U__a_"), "U__a_");
        assert_eq!(unescape_label_name("U__a_1234567_"), "U__a_1234567_");
        assert_eq!(unescape_label_name("U___d800_"), "U___d800_");
    }
}
