//! Status endpoints: `/api/v1/status/{buildinfo,config,flags,runtimeinfo,tsdb}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use crate::api::targets::rfc3339;

use axum::extract::{Request, State};
use axum::response::Response;
use tsdb::db::Db;
use tsdb::{MatchType, Matcher};

use super::QueryState;
use super::format::Json;
use super::params::Params;
use super::response::{ApiError, success};

/// The Prometheus version reported by `buildinfo`: Grafana maps it to the nearest release it knows
/// and enables the features of Prometheus 3.
pub const PROMETHEUS_VERSION: &str = "3.5.0";
/// The largest `limit` of `/status/tsdb`.
const MAX_TSDB_LIMIT: usize = 10_000;

/// `GET /api/v1/status/buildinfo`: a semver `version` and no `features` key, so Grafana sees a
/// plain Prometheus.
pub async fn buildinfo() -> Response {
    let data = Json::object([
        ("version", Json::str(PROMETHEUS_VERSION)),
        ("revision", Json::str(format!("loupe-{}", env!("CARGO_PKG_VERSION")))),
        ("branch", Json::str("")),
        ("buildUser", Json::str("")),
        ("buildDate", Json::str("")),
        ("goVersion", Json::str("")),
    ]);
    success(&data.render(), &[], &[])
}

/// `GET /api/v1/status/config`: `{"yaml": …}`.
pub async fn config(State(state): State<Arc<QueryState>>) -> Response {
    let data = Json::object([("yaml", Json::Str((state.config_yaml)()))]);
    success(&data.render(), &[], &[])
}

/// `GET /api/v1/status/flags`: the flags as an object sorted by name.
pub async fn flags(State(state): State<Arc<QueryState>>) -> Response {
    let sorted: BTreeMap<&str, &str> = state.flags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let data = Json::object(sorted.into_iter().map(|(k, v)| (k, Json::str(v))));
    success(&data.render(), &[], &[])
}

/// `GET /api/v1/status/runtimeinfo`, with Prometheus's fields (the Go runtime ones neutral).
pub async fn runtimeinfo(State(state): State<Arc<QueryState>>) -> Response {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data = Json::object([
        ("startTime", Json::Str(rfc3339(state.start_time))),
        ("CWD", Json::Str(cwd)),
        ("hostname", Json::Str(hostname)),
        ("serverTime", Json::Str(rfc3339(SystemTime::now()))),
        ("reloadConfigSuccess", Json::Bool(true)),
        ("lastConfigTime", Json::Str(rfc3339(state.start_time))),
        ("corruptionCount", Json::Int(0)),
        ("goroutineCount", Json::Int(0)),
        ("GOMAXPROCS", Json::Int(i64::try_from(threads).unwrap_or(1))),
        ("GOMEMLIMIT", Json::Int(i64::MAX)),
        ("GOGC", Json::str("")),
        ("GODEBUG", Json::str("")),
        ("storageRetention", Json::Str(retention(&state.db))),
    ]);
    success(&data.render(), &[], &[])
}

/// `15d`, `10GiB`, `15d or 10GiB`, or `0s` without retention.
fn retention(db: &Db) -> String {
    let options = db.options();
    let time = options.retention_time.map(format_duration);
    let size = options.retention_size.map(format_bytes);
    match (time, size) {
        (Some(t), Some(s)) => format!("{t} or {s}"),
        (Some(t), None) => t,
        (None, Some(s)) => s,
        (None, None) => "0s".into(),
    }
}

/// A ms duration in Prometheus's notation (`1d2h`, `90s`, `0s`).
fn format_duration(ms: i64) -> String {
    if ms <= 0 {
        return "0s".into();
    }
    // Years and weeks only when exact, as Prometheus prints `90d` rather than `12w6d`.
    let units = [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    let mut rest = ms;
    let mut out = String::new();
    for (unit, size, exact) in units {
        if rest >= size && (!exact || rest % size == 0) {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// Bytes in the largest exact binary unit (`10GiB`, `1536KiB`, `100B`).
fn format_bytes(bytes: u64) -> String {
    for (unit, shift) in [
        ("EiB", 60),
        ("PiB", 50),
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
    ] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes}B")
}

/// `GET /api/v1/status/tsdb`: head figures and the top `limit` (default 10) cardinalities.
pub async fn tsdb(State(state): State<Arc<QueryState>>, request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    let limit = match params.get("limit") {
        "" => 10,
        text => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_TSDB_LIMIT).contains(&n) => n,
            Ok(n) if n > MAX_TSDB_LIMIT => {
                return Err(ApiError::bad_data(format!("limit must not exceed {MAX_TSDB_LIMIT}")));
            }
            _ => return Err(ApiError::bad_data("limit must be a positive number")),
        },
    };
    let data = tokio::task::spawn_blocking(move || head_status(&state.db, limit))
        .await
        .map_err(|e| ApiError::internal(format!("tsdb status task failed: {e}")))??;
    Ok(success(&data.render(), &[], &[]))
}

/// Computes `/status/tsdb` by reading every head series once.
pub fn head_status(db: &Db, limit: usize) -> Result<Json, ApiError> {
    let stats = db.head().stats();
    let mut pairs: HashMap<(String, String), u64> = HashMap::new();
    let mut chunks: i64 = 0;
    if let (Some(min), Some(max)) = (stats.min_time, stats.max_time) {
        let all =
            Matcher::new(MatchType::Regex, tsdb::METRIC_NAME, ".*").map_err(|e| ApiError::internal(e.to_string()))?;
        let series = db
            .querier(min, max)
            .select(&[all])
            .map_err(|e| ApiError::internal(e.to_string()))?;
        for s in &series {
            chunks += i64::try_from(s.num_chunks()).unwrap_or(i64::MAX);
            for label in s.labels().iter() {
                *pairs
                    .entry((label.name.to_string(), label.value.to_string()))
                    .or_default() += 1;
            }
        }
    }
    let mut by_metric: Vec<(String, u64)> = Vec::new();
    let mut values_by_name: HashMap<&str, u64> = HashMap::new();
    let mut bytes_by_name: HashMap<&str, u64> = HashMap::new();
    let mut by_pair: Vec<(String, u64)> = Vec::with_capacity(pairs.len());
    for ((name, value), &count) in &pairs {
        if name == tsdb::METRIC_NAME {
            by_metric.push((value.clone(), count));
        }
        *values_by_name.entry(name).or_default() += 1;
        *bytes_by_name.entry(name).or_default() += (name.len() + value.len()) as u64 * count;
        by_pair.push((format!("{name}={value}"), count));
    }
    let top = |mut list: Vec<(String, u64)>| -> Json {
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list.truncate(limit);
        Json::Array(
            list.into_iter()
                .map(|(name, value)| {
                    Json::object([
                        ("name", Json::Str(name)),
                        ("value", Json::Int(i64::try_from(value).unwrap_or(i64::MAX))),
                    ])
                })
                .collect(),
        )
    };
    let owned = |map: HashMap<&str, u64>| map.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Vec<_>>();
    let head = Json::object([
        (
            "numSeries",
            Json::Int(i64::try_from(stats.num_series).unwrap_or(i64::MAX)),
        ),
        (
            "numLabelPairs",
            Json::Int(i64::try_from(pairs.len()).unwrap_or(i64::MAX)),
        ),
        ("chunkCount", Json::Int(chunks)),
        ("minTime", Json::Int(stats.min_time.unwrap_or(i64::MAX))),
        ("maxTime", Json::Int(stats.max_time.unwrap_or(i64::MIN))),
    ]);
    Ok(Json::object([
        ("headStats", head),
        ("seriesCountByMetricName", top(by_metric)),
        ("labelValueCountByLabelName", top(owned(values_by_name))),
        ("memoryInBytesByLabelName", top(owned(bytes_by_name))),
        ("seriesCountByLabelValuePair", top(by_pair)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn notations() {
        assert_eq!(format_duration(15 * 86_400_000), "15d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
        assert_eq!(format_duration(365 * 86_400_000), "1y");
        assert_eq!(format_duration(90_000), "1m30s");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(1500), "1s500ms");
        assert_eq!(format_bytes(10 << 30), "10GiB");
        assert_eq!(format_bytes(1536 << 10), "1536KiB");
        assert_eq!(format_bytes(100), "100B");
        assert_eq!(
            rfc3339(UNIX_EPOCH + std::time::Duration::from_millis(1_435_781_451_781)),
            "2015-07-01T20:10:51.781Z"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
