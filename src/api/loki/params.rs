//! Request parameters as Loki reads them (`pkg/loghttp/params.go`).
//!
//! - Timestamps: a value with `.` that parses as a float is seconds; an integer of 10 digits or
//!   fewer is seconds, a longer one nanoseconds; anything else RFC 3339 (with nanoseconds).
//! - `end` defaults to now, `start` to `end - since`, `since` to 1 h. `end < start` is an error.
//! - `limit` defaults to 100 and must be positive; `direction` is `forward` or `backward`
//!   (any case, default backward).
//! - `step` is float seconds or a Prometheus duration; by default `max(floor((end-start)/250s), 1)`
//!   seconds. A step of zero or less is an error.

use logs::Direction;

use super::LokiError;
use crate::api::query::params::{Params, parse_duration_ns, parse_rfc3339_ns};

/// The default `since`: one hour.
pub const DEFAULT_SINCE_NS: i64 = 3600 * 1_000_000_000;
/// The default `limit`.
pub const DEFAULT_LIMIT: usize = 100;

/// Parses a Loki timestamp into ns.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let invalid = || format!("could not parse timestamp {text:?}");
    if text.contains('.')
        && let Ok(f) = text.parse::<f64>()
    {
        if !f.is_finite() || f.abs() > 9.2e9 {
            return Err(invalid());
        }
        let secs = f.trunc();
        let nanos = ((f - secs) * 1e9).round();
        return Ok(secs as i64 * 1_000_000_000 + nanos as i64);
    }
    if let Ok(n) = text.parse::<i64>() {
        let digits = text.trim_start_matches(['-', '+']).len();
        return if digits <= 10 {
            n.checked_mul(1_000_000_000).ok_or_else(invalid)
        } else {
            Ok(n)
        };
    }
    parse_rfc3339_ns(text).ok_or_else(invalid)
}

fn timestamp_param(params: &Params, name: &str) -> Result<Option<i64>, LokiError> {
    match params.get(name) {
        "" => Ok(None),
        text => parse_timestamp(text).map(Some).map_err(LokiError::bad_request),
    }
}

/// A duration parameter (float seconds or a Prometheus duration), in ns.
pub fn duration_param(params: &Params, name: &str) -> Result<Option<i64>, LokiError> {
    match params.get(name) {
        "" => Ok(None),
        text => parse_duration_ns(text)
            .map(Some)
            .map_err(|e| LokiError::bad_request(format!("invalid {name}: {e}"))),
    }
}

/// `start` and `end` in ns, with Loki's defaults (`end` = now, `start` = `end - since`).
pub fn bounds(params: &Params, now_ns: i64) -> Result<(i64, i64), LokiError> {
    let end = timestamp_param(params, "end")?.unwrap_or(now_ns);
    let since = duration_param(params, "since")?.unwrap_or(DEFAULT_SINCE_NS);
    let start = timestamp_param(params, "start")?.unwrap_or(end.saturating_sub(since));
    if end < start {
        return Err(LokiError::bad_request(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((start, end))
}

/// The instant query's `time` (default now).
pub fn time(params: &Params, now_ns: i64) -> Result<i64, LokiError> {
    Ok(timestamp_param(params, "time")?.unwrap_or(now_ns))
}

/// `limit`, default 100, must be positive.
pub fn limit(params: &Params) -> Result<usize, LokiError> {
    match params.get("limit") {
        "" => Ok(DEFAULT_LIMIT),
        text => match text.parse::<i64>() {
            Ok(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Ok(_) => Err(LokiError::bad_request("limit must be a positive value")),
            Err(_) => Err(LokiError::bad_request(format!(
                "invalid limit: {text:?} is not a number"
            ))),
        },
    }
}

/// `direction`, default backward.
pub fn direction(params: &Params) -> Result<Direction, LokiError> {
    match params.get("direction").to_ascii_lowercase().as_str() {
        "" | "backward" => Ok(Direction::Backward),
        "forward" => Ok(Direction::Forward),
        other => Err(LokiError::bad_request(format!("invalid direction {other:?}"))),
    }
}

/// `step` in ns, defaulting from the range; zero or negative is an error.
pub fn step(params: &Params, start: i64, end: i64) -> Result<i64, LokiError> {
    match duration_param(params, "step")? {
        Some(ns) if ns <= 0 => Err(LokiError::bad_request(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        )),
        Some(ns) => Ok(ns),
        None => Ok(default_step(start, end)),
    }
}

/// Loki's default step: `max(floor((end - start) / 250 s), 1)` seconds.
pub fn default_step(start: i64, end: i64) -> i64 {
    let secs = (end.saturating_sub(start) / 1_000_000_000) / 250;
    secs.max(1) * 1_000_000_000
}

/// The query text, with the legacy `regexp` parameter appended as `|~`.
pub fn query_text(params: &Params) -> String {
    let query = params.get("query").to_string();
    match params.get("regexp") {
        "" => query,
        re => format!("{query} |~ {}", serde_json::Value::String(re.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_as_loki_reads_them() {
        assert_eq!(parse_timestamp("4000000000"), Ok(4_000_000_000_000_000_000));
        assert_eq!(parse_timestamp("1700000000"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_timestamp("1700000000000000000"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_timestamp("1700000000.5"), Ok(1_700_000_000_500_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000_000_000));
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.000000123Z"),
            Ok(1_700_000_000_000_000_123)
        );
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("1e400.0").is_err());
    }

    #[test]
    fn defaults_and_errors() {
        let p = Params::from_parts(Some("end=1000"), None);
        assert_eq!(
            bounds(&p, 0).expect("ok"),
            (1000 * 1_000_000_000 - DEFAULT_SINCE_NS, 1000 * 1_000_000_000)
        );
        let p = Params::from_parts(Some("start=10&end=5"), None);
        assert!(bounds(&p, 0).is_err());
        let p = Params::from_parts(Some("limit=0"), None);
        assert!(limit(&p).is_err());
        assert_eq!(limit(&Params::default()).expect("default"), 100);
        let p = Params::from_parts(Some("direction=FORWARD"), None);
        assert_eq!(direction(&p).expect("ok"), Direction::Forward);
        assert!(direction(&Params::from_parts(Some("direction=up"), None)).is_err());
        assert_eq!(default_step(0, 3600 * 1_000_000_000), 14_000_000_000);
        assert_eq!(default_step(0, 60 * 1_000_000_000), 1_000_000_000);
        let p = Params::from_parts(Some("step=15000ms"), None);
        assert_eq!(step(&p, 0, 1).expect("ok"), 15_000_000_000);
        let p = Params::from_parts(Some("step=0"), None);
        assert!(step(&p, 0, 1).is_err());
        let p = Params::from_parts(Some("query=%7Ba%3D%22b%22%7D&regexp=x.y"), None);
        assert_eq!(query_text(&p), r#"{a="b"} |~ "x.y""#);
    }
}
