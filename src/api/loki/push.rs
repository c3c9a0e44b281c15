//! `POST /loki/api/v1/push`: JSON or snappy-compressed protobuf, optionally gzip or deflate
//! encoded; 204 once every accepted line is in the log WAL.
//!
//! As Loki does, streams get a `service_name` label when they have none (from the first of
//! Loki's service labels, else `unknown_service`), entries get `detected_level` structured
//! metadata when a level can be detected, and entries too old or too far in the future are
//! rejected (the others of the request are stored; the reply is a 400 naming the first rejection).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use logs::push::{PushStream, decode_push};
use tsdb::LabelsBuilder;

use super::{LokiError, LokiState};

/// A token bucket over line bytes: `rate` bytes per second, up to `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket; a `rate` of 0 disables the limit.
    pub fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes `bytes` tokens if there are enough.
    pub fn take(&mut self, bytes: f64) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if bytes <= self.tokens {
            self.tokens -= bytes;
            true
        } else {
            false
        }
    }
}

pub(super) async fn push(State(state): State<Arc<LokiState>>, headers: HeaderMap, body: Body) -> Response {
    match handle(state, headers, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(state: Arc<LokiState>, headers: HeaderMap, body: Body) -> Result<(), LokiError> {
    let limit = state.limits.decode.max_body_bytes;
    let raw: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        LokiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body too large: limit is {limit} bytes"),
        )
    })?;
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(header::CONTENT_TYPE);
    let content_encoding = header(header::CONTENT_ENCODING);
    let task_state = state.clone();
    tokio::task::spawn_blocking(move || {
        let state = task_state;
        let streams = decode_push(
            &raw,
            content_type.as_deref(),
            content_encoding.as_deref(),
            &state.limits.decode,
        )?;
        store(&state, streams)
    })
    .await
    .map_err(|e| LokiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// Validates timestamps, applies the rate limit, enriches and stores.
fn store(state: &LokiState, streams: Vec<PushStream>) -> Result<(), LokiError> {
    let now = logs::store::now_ns();
    let oldest = state.limits.max_age.map(|age| now.saturating_sub(nanos(age)));
    let newest = now.saturating_add(nanos(state.limits.grace));
    let mut rejected = 0u64;
    let mut first_rejection = None;
    let mut accepted = Vec::with_capacity(streams.len());
    for stream in streams {
        let mut entries = Vec::with_capacity(stream.entries.len());
        for entry in stream.entries {
            let reason = if oldest.is_some_and(|o| entry.ts_ns < o) {
                Some(format!(
                    "entry for stream '{}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                    stream.labels,
                    rfc3339(entry.ts_ns),
                    rfc3339(oldest.unwrap_or(0))
                ))
            } else if entry.ts_ns > newest {
                Some(format!(
                    "entry for stream '{}' has timestamp too new: {}",
                    stream.labels,
                    rfc3339(entry.ts_ns)
                ))
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    rejected += 1;
                    first_rejection.get_or_insert(reason);
                }
                None => entries.push(entry),
            }
        }
        if !entries.is_empty() {
            accepted.push(enrich(PushStream {
                labels: stream.labels,
                entries,
            }));
        }
    }
    let (lines, bytes) = accepted
        .iter()
        .flat_map(|s| &s.entries)
        .fold((0u64, 0u64), |(n, b), e| (n + 1, b + e.line.len() as u64));
    if !state.bucket.lock().take(bytes as f64) {
        state.counters.rejected.fetch_add(lines + rejected, Ordering::Relaxed);
        return Err(LokiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "ingestion rate limit exceeded (limit: {} bytes/sec) while attempting to ingest '{lines}' lines totaling '{bytes}' bytes, reduce log volume or raise limits_config.ingestion_rate_mb",
                state.limits.rate_bytes as u64
            ),
        ));
    }
    if !accepted.is_empty() {
        state.store.append(&accepted)?;
    }
    state.counters.entries.fetch_add(lines, Ordering::Relaxed);
    state.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
    state.counters.rejected.fetch_add(rejected, Ordering::Relaxed);
    match first_rejection {
        Some(first) => Err(LokiError::bad_request(format!(
            "{rejected} entries rejected ({lines} stored); first: {first}"
        ))),
        None => Ok(()),
    }
}

/// Adds `service_name` to the stream and `detected_level` to its entries, as Loki does.
fn enrich(mut stream: PushStream) -> PushStream {
    if stream.labels.get("service_name").is_none() {
        let pairs: Vec<(String, String)> = stream
            .labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect();
        let service = scraper::logs::meta::service_name(&pairs);
        stream.labels = LabelsBuilder::new(&stream.labels)
            .set("service_name", &service)
            .labels();
    }
    let has_level_label = stream.labels.get("level").is_some() || stream.labels.get("detected_level").is_some();
    if !has_level_label {
        for entry in &mut stream.entries {
            if entry
                .metadata
                .iter()
                .any(|(k, _)| k == "detected_level" || k == "level")
            {
                continue;
            }
            if let Some(level) = scraper::logs::meta::detected_level(&entry.line) {
                entry.metadata.push(("detected_level".into(), level.into()));
            }
        }
    }
    stream
}

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// RFC 3339 with nanoseconds, UTC (Go's `RFC3339Nano`).
fn rfc3339(ns: i64) -> String {
    let time = u64::try_from(ns).map_or(std::time::UNIX_EPOCH, |ns| {
        std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns)
    });
    crate::api::targets::rfc3339(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_bursts_then_limits() {
        let mut bucket = TokenBucket::new(100.0, 1000.0);
        assert!(bucket.take(1000.0));
        assert!(!bucket.take(500.0));
        let mut unlimited = TokenBucket::new(0.0, 0.0);
        assert!(unlimited.take(1e12));
    }

    #[test]
    fn enrich_adds_service_name_and_levels() {
        let labels = tsdb::Labels::new([("app", "shop"), ("env", "prod")]).unwrap_or_else(|_| tsdb::Labels::empty());
        let entry = |line: &str| logs::PushEntry {
            ts_ns: 1,
            line: line.into(),
            metadata: Vec::new(),
        };
        let stream = enrich(PushStream {
            labels,
            entries: vec![entry("level=error msg=boom"), entry("hello")],
        });
        assert_eq!(stream.labels.get("service_name"), Some("shop"));
        assert_eq!(
            stream.entries[0].metadata,
            vec![("detected_level".to_string(), "error".to_string())]
        );
        assert!(stream.entries[1].metadata.is_empty());
    }

    #[test]
    fn rfc3339_has_nanoseconds() {
        assert_eq!(rfc3339(1_570_818_238_000_000_001), "2019-10-11T18:23:58.000000001Z");
        assert_eq!(rfc3339(1_570_818_238_500_000_000), "2019-10-11T18:23:58.5Z");
    }
}
