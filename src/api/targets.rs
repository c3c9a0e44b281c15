//! Scrape-side endpoints: `/api/v1/targets`, `/api/v1/targets/metadata`, `/api/v1/metadata`,
//! `/api/v1/scrape_pools` and `/-/reload`, in Prometheus's JSON shapes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tsdb::{Labels, MatchType, Matcher};

use super::{ApiError, AppState, ErrorType};
use scraper::MetricType;
use scraper::manager::TargetInfo;
use scraper::target::format_duration;

fn labels_json(labels: &Labels) -> Value {
    let map: serde_json::Map<String, Value> = labels
        .iter()
        .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
        .collect();
    Value::Object(map)
}

fn success(data: Value) -> Response {
    axum::Json(json!({"status": "success", "data": data})).into_response()
}

/// Prometheus's name of a metric type.
pub fn type_name(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::GaugeHistogram => "gaugehistogram",
        MetricType::Summary => "summary",
        MetricType::Info => "info",
        MetricType::StateSet => "stateset",
        MetricType::Unknown => "unknown",
    }
}

/// Formats a time as RFC 3339 with nanoseconds, in UTC, as Go's `time.RFC3339Nano` does.
pub fn rfc3339(time: SystemTime) -> String {
    let Ok(since) = time.duration_since(UNIX_EPOCH) else {
        return "0001-01-01T00:00:00Z".into();
    };
    let secs = since.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = crate::civil::civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = since.subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Query parameters of `/api/v1/targets`.
#[derive(Debug, Deserialize)]
pub struct TargetsParams {
    state: Option<String>,
    #[serde(rename = "scrapePool")]
    scrape_pool: Option<String>,
}

fn active_json(pool: &str, info: &TargetInfo, global_host: &str) -> Value {
    let target = &info.target;
    let status = &info.status;
    let global_url = match target.url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]") {
                let port = host.rsplit_once(':').map(|(_, p)| format!(":{p}")).unwrap_or_default();
                format!("{scheme}://{global_host}{port}{path}")
            } else {
                target.url.clone()
            }
        }
        None => target.url.clone(),
    };
    json!({
        "discoveredLabels": labels_json(&target.discovered),
        "labels": labels_json(&target.labels),
        "scrapePool": pool,
        "scrapeUrl": target.url,
        "globalUrl": global_url,
        "lastError": status.last_error,
        "lastScrape": status.last_scrape.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339),
        "lastScrapeDuration": go_float(status.last_duration),
        "health": status.health.as_str(),
        "scrapeInterval": format_duration(target.interval),
        "scrapeTimeout": format_duration(target.timeout),
    })
}

/// A float as Go's JSON encoder writes it: whole numbers without a fraction (`0`, not `0.0`).
fn go_float(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `GET /api/v1/targets`.
pub async fn targets(
    State(state): State<Arc<AppState>>,
    Query(params): Query<TargetsParams>,
) -> Result<Response, ApiError> {
    let which = params.state.as_deref().unwrap_or("any").to_ascii_lowercase();
    let (show_active, show_dropped) = match which.as_str() {
        "" | "any" => (true, true),
        "active" => (true, false),
        "dropped" => (false, true),
        _ => (false, false),
    };
    let snapshot = state.scrape.snapshot();
    let host = hostname();
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    let mut dropped_counts = serde_json::Map::new();
    for (pool, targets) in &snapshot {
        if params.scrape_pool.as_ref().is_some_and(|p| p != pool) {
            continue;
        }
        dropped_counts.insert(pool.clone(), json!(targets.dropped.len()));
        if show_active {
            active.extend(targets.active.iter().map(|info| active_json(pool, info, &host)));
        }
        if show_dropped {
            dropped.extend(
                targets
                    .dropped
                    .iter()
                    .map(|labels| json!({"discoveredLabels": labels_json(labels), "scrapePool": pool})),
            );
        }
    }
    let mut data = serde_json::Map::new();
    if show_active || !show_dropped {
        data.insert("activeTargets".into(), Value::Array(active));
    }
    if show_dropped || !show_active {
        data.insert("droppedTargets".into(), Value::Array(dropped));
        data.insert("droppedTargetCounts".into(), Value::Object(dropped_counts));
    }
    Ok(success(Value::Object(data)))
}

/// `GET /api/v1/scrape_pools`.
pub async fn scrape_pools(State(state): State<Arc<AppState>>) -> Response {
    let pools: Vec<String> = state.scrape.snapshot().into_keys().collect();
    success(json!({ "scrapePools": pools }))
}

/// Query parameters of `/api/v1/targets/metadata`.
#[derive(Debug, Deserialize)]
pub struct TargetMetadataParams {
    match_target: Option<String>,
    metric: Option<String>,
    limit: Option<String>,
}

fn parse_limit(limit: Option<&str>, name: &str) -> Result<Option<usize>, ApiError> {
    match limit {
        None | Some("") => Ok(None),
        Some(text) => {
            let value: i64 = text
                .parse()
                .map_err(|_| ApiError::new(ErrorType::BadData, format!("{name} must be a number")))?;
            Ok(usize::try_from(value).ok().filter(|v| *v > 0))
        }
    }
}

/// `GET /api/v1/targets/metadata`.
pub async fn target_metadata(
    State(state): State<Arc<AppState>>,
    Query(params): Query<TargetMetadataParams>,
) -> Result<Response, ApiError> {
    let limit = parse_limit(params.limit.as_deref(), "limit")?;
    let matchers = match params.match_target.as_deref() {
        None | Some("") => Vec::new(),
        Some(text) => parse_selector(text).map_err(|e| ApiError::new(ErrorType::BadData, e))?,
    };
    let mut out = Vec::new();
    'pools: for targets in state.scrape.snapshot().values() {
        for info in &targets.active {
            if !tsdb::labels::matches_labels(&matchers, &info.target.labels) {
                continue;
            }
            let mut names: Vec<&String> = info.status.metadata.keys().collect();
            names.sort();
            for name in names {
                if params.metric.as_ref().is_some_and(|m| m != name) {
                    continue;
                }
                if limit.is_some_and(|l| out.len() >= l) {
                    break 'pools;
                }
                let meta = &info.status.metadata[name];
                out.push(json!({
                    "target": labels_json(&info.target.labels),
                    "metric": name,
                    "type": type_name(meta.kind),
                    "help": meta.help,
                    "unit": meta.unit,
                }));
            }
        }
    }
    Ok(success(Value::Array(out)))
}

/// Query parameters of `/api/v1/metadata`.
#[derive(Debug, Deserialize)]
pub struct MetadataParams {
    metric: Option<String>,
    limit: Option<String>,
    limit_per_metric: Option<String>,
}

/// `GET /api/v1/metadata`: metadata of every metric, merged over targets.
pub async fn metadata(
    State(state): State<Arc<AppState>>,
    Query(params): Query<MetadataParams>,
) -> Result<Response, ApiError> {
    let limit = parse_limit(params.limit.as_deref(), "limit")?;
    let per_metric = parse_limit(params.limit_per_metric.as_deref(), "limit_per_metric")?;
    let mut merged: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for targets in state.scrape.snapshot().values() {
        for info in &targets.active {
            for (name, meta) in info.status.metadata.iter() {
                if params.metric.as_ref().is_some_and(|m| m != name) {
                    continue;
                }
                let entry = json!({"type": type_name(meta.kind), "help": meta.help, "unit": meta.unit});
                let list = merged.entry(name.clone()).or_default();
                if !list.contains(&entry) {
                    list.push(entry);
                }
            }
        }
    }
    let mut data = serde_json::Map::new();
    for (name, mut list) in merged {
        if limit.is_some_and(|l| data.len() >= l) {
            break;
        }
        if let Some(per) = per_metric {
            list.truncate(per);
        }
        data.insert(name, Value::Array(list));
    }
    Ok(success(Value::Object(data)))
}

/// `POST /-/reload` (and `PUT`): re-reads the configuration file.
pub async fn reload(State(state): State<Arc<AppState>>) -> Response {
    match state.reloader.reload().await {
        Ok(()) => (StatusCode::OK, "").into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {error:#}\n"),
        )
            .into_response(),
    }
}

/// Parses a label selector `{name="value", other=~"re"}` (the form `match_target` takes).
pub fn parse_selector(text: &str) -> Result<Vec<Matcher>, String> {
    let text = text.trim();
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("invalid label selector {text:?}: expected {{name=\"value\", …}}"))?;
    let mut matchers = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() {
            return Err(format!(
                "invalid label selector {text:?}: expected a label name at {rest:?}"
            ));
        }
        rest = rest[name_len..].trim_start();
        let (op, len) = if rest.starts_with("=~") {
            (MatchType::Regex, 2)
        } else if rest.starts_with("!~") {
            (MatchType::NotRegex, 2)
        } else if rest.starts_with("!=") {
            (MatchType::NotEqual, 2)
        } else if rest.starts_with('=') {
            (MatchType::Equal, 1)
        } else {
            return Err(format!(
                "invalid label selector {text:?}: expected an operator after {name}"
            ));
        };
        rest = rest[len..].trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| format!("invalid label selector {text:?}: expected a quoted value for {name}"))?;
        let mut value = String::new();
        let mut chars = rest[1..].char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, other)) => value.push(other),
                    None => break,
                },
                c if c == quote => {
                    end = Some(i + 2);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.ok_or_else(|| format!("invalid label selector {text:?}: unterminated value for {name}"))?;
        matchers.push(Matcher::new(op, name, value).map_err(|e| e.to_string())?);
        rest = rest[end..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("invalid label selector {text:?}: expected , or }} at {rest:?}"));
        }
    }
    Ok(matchers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_selectors() {
        let m = parse_selector(r#"{job="node", instance=~"a.*" }"#).expect("valid");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].to_string(), r#"instance=~"a.*""#);
        assert!(parse_selector("job=\"x\"").is_err());
        assert!(parse_selector("{job=\"x}").is_err());
        assert!(parse_selector("{=\"x\"}").is_err());
        assert!(parse_selector("{}").expect("empty").is_empty());
    }

    #[test]
    fn health_names() {
        assert_eq!(scraper::scrape::Health::Up.as_str(), "up");
        assert_eq!(type_name(MetricType::GaugeHistogram), "gaugehistogram");
    }
}
