//! The Loki HTTP API over the log store. Errors are plain text, as Loki writes them.
//!
//! - Push: `POST /loki/api/v1/push` (and the legacy `/api/prom/push`), see [`push`].
//! - Queries over the LogQL engine: `query`, `query_range`, `labels`, `label/<name>/values`,
//!   `series`, `index/stats`, `index/volume`, `index/volume_range`, `format_query`,
//!   `detected_fields`, `detected_labels`, `tail` (WebSocket), `/ready` and `status/buildinfo`.

mod detected;
mod encode;
mod params;
mod push;
mod query;
mod tail;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::PushLimitsConfig;

/// What the Loki API needs from the server.
pub struct LokiState {
    /// The log store.
    pub store: Arc<logs::LogStore>,
    /// Push limits.
    pub limits: PushLimitsConfig,
    /// The ingestion rate limiter.
    pub bucket: parking_lot::Mutex<push::TokenBucket>,
    /// Push counters for `/metrics`.
    pub counters: PushCounters,
    /// The container log collector's per-file status, when log sources are configured.
    pub sources: Option<SourcesStatus>,
    /// Query limits.
    pub query: QueryLimits,
}

/// Limits of the query endpoints (`limits_config` keys in parentheses).
#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// Engine limits: `max_entries_limit_per_query`, `max_query_series`, `query_timeout`.
    pub engine: ::query::logql::eval::EngineOptions,
    /// Longest query range (`max_query_length`, default 30d1h; 0 disables).
    pub max_query_length_ns: i64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            engine: Default::default(),
            max_query_length_ns: (30 * 24 + 1) * 3600 * 1_000_000_000,
        }
    }
}

/// The collector's shared status.
pub type SourcesStatus = Arc<std::sync::RwLock<Vec<scraper::logs::collector::FileStatus>>>;

/// Counters of the push API.
#[derive(Debug, Default)]
pub struct PushCounters {
    /// Entries stored.
    pub entries: std::sync::atomic::AtomicU64,
    /// Line bytes stored.
    pub bytes: std::sync::atomic::AtomicU64,
    /// Entries rejected (validation, limits).
    pub rejected: std::sync::atomic::AtomicU64,
}

impl LokiState {
    /// A state over `store` with `limits`.
    pub fn new(
        store: Arc<logs::LogStore>,
        limits: PushLimitsConfig,
        query: QueryLimits,
        sources: Option<SourcesStatus>,
    ) -> LokiState {
        let bucket = push::TokenBucket::new(limits.rate_bytes, limits.burst_bytes);
        LokiState {
            store,
            limits,
            bucket: parking_lot::Mutex::new(bucket),
            counters: PushCounters::default(),
            sources,
            query,
        }
    }
}

/// The Loki API's routes, with their state applied.
pub fn routes(state: Arc<LokiState>) -> Router {
    Router::new()
        .route("/loki/api/v1/push", post(push::push))
        .route("/api/prom/push", post(push::push))
        .route("/loki/api/v1/status/buildinfo", get(buildinfo))
        .route("/loki/api/v1/query", get(query::query).post(query::query))
        .route(
            "/loki/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route("/loki/api/v1/labels", get(query::labels).post(query::labels))
        .route("/loki/api/v1/label", get(query::labels).post(query::labels))
        .route("/loki/api/v1/label/{name}/values", get(query::label_values))
        .route("/loki/api/v1/series", get(query::series).post(query::series))
        .route(
            "/loki/api/v1/index/stats",
            get(query::index_stats).post(query::index_stats),
        )
        .route("/loki/api/v1/index/volume", get(query::volume).post(query::volume))
        .route(
            "/loki/api/v1/index/volume_range",
            get(query::volume_range).post(query::volume_range),
        )
        .route(
            "/loki/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route("/loki/api/v1/detected_fields", get(detected::detected_fields))
        .route(
            "/loki/api/v1/detected_field/{name}/values",
            get(detected::detected_field_values),
        )
        .route("/loki/api/v1/detected_labels", get(detected::detected_labels))
        .route("/loki/api/v1/tail", get(tail::tail))
        .route("/ready", get(query::ready))
        .route("/loupe/api/v1/log_sources", get(log_sources))
        .with_state(state)
}

/// A Loki API error: a status code and a plain-text message.
#[derive(Debug)]
pub struct LokiError {
    status: StatusCode,
    message: String,
}

impl LokiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> LokiError {
        LokiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> LokiError {
        LokiError {
            status,
            message: message.into(),
        }
    }
}

impl From<logs::Error> for LokiError {
    fn from(error: logs::Error) -> Self {
        let status = match &error {
            logs::Error::Push(_) | logs::Error::Query(_) => StatusCode::BAD_REQUEST,
            logs::Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            logs::Error::Limit(_) => StatusCode::TOO_MANY_REQUESTS,
            logs::Error::Corrupt { .. } | logs::Error::Io { .. } | logs::Error::Index { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        LokiError {
            status,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for LokiError {
    fn into_response(self) -> Response {
        let mut message = self.message;
        message.push('\n');
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response()
    }
}

/// `GET /loupe/api/v1/log_sources`: the files the collector follows, with positions and lag.
async fn log_sources(axum::extract::State(state): axum::extract::State<Arc<LokiState>>) -> Response {
    let files: Vec<serde_json::Value> = match &state.sources {
        Some(status) => status
            .read()
            .map(|files| {
                files
                    .iter()
                    .map(|f| {
                        let labels: serde_json::Map<String, serde_json::Value> =
                            f.labels.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
                        serde_json::json!({
                            "path": f.path.display().to_string(),
                            "kind": match f.kind {
                                scraper::logs::discover::SourceKind::Docker => "docker",
                                scraper::logs::discover::SourceKind::Cri => "cri",
                            },
                            "container": f.container_id,
                            "labels": labels,
                            "offset": f.offset,
                            "size": f.size,
                            "lagBytes": f.lag_bytes,
                            "lastError": f.last_error,
                            "malformedLines": f.malformed_lines,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    axum::Json(serde_json::json!({"status": "success", "data": {"enabled": state.sources.is_some(), "files": files}}))
        .into_response()
}

async fn buildinfo() -> Response {
    axum::Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": "",
        "branch": "",
        "buildDate": "",
        "buildUser": "",
        "goVersion": "",
    }))
    .into_response()
}
