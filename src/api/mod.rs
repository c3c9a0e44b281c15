//! The HTTP API: health, self-metrics, import, scrape targets and reload. Only this module knows
//! axum; library errors are mapped to Prometheus's error shape here.

pub mod loki;
pub mod query;
pub mod rules;
pub mod targets;
pub mod ui;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tsdb::db::Db;

use crate::import::{ImportError, import_text};
use crate::metrics::{HandlerLabels, Metrics};

/// Shared state of the HTTP handlers.
pub struct AppState {
    /// The database.
    pub db: Arc<Db>,
    /// Self-metrics.
    pub metrics: Metrics,
    /// Set once start-up (WAL replay) is over and until shutdown begins.
    pub ready: AtomicBool,
    /// Largest accepted request body, after decompression.
    pub max_body_bytes: usize,
    /// The scrape loops.
    pub scrape: Arc<scraper::ScrapeManager>,
    /// Applies configuration changes.
    pub reloader: Arc<crate::reload::Reloader>,
}

/// Prometheus's `errorType`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// 400.
    BadData,
    /// 413 (Prometheus has no type for it; reported as bad_data).
    TooLarge,
    /// 500.
    Internal,
}

/// An API error rendered as `{"status":"error","errorType":…,"error":…}`.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorType,
    message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = match self.kind {
            ErrorType::BadData => (StatusCode::BAD_REQUEST, "bad_data"),
            ErrorType::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
            ErrorType::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let body = serde_json::json!({"status": "error", "errorType": error_type, "error": self.message});
        (status, axum::Json(body)).into_response()
    }
}

/// Builds the router: Loupe's own routes, the Prometheus and Loki APIs and the dashboard.
pub fn router(
    state: Arc<AppState>,
    query: Arc<query::QueryState>,
    loki: Arc<loki::LokiState>,
    ui: Arc<ui::UiState>,
    rules: Arc<crate::rules::RuleManager>,
) -> Router {
    Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/import/prometheus", post(import))
        .route("/-/reload", post(targets::reload).put(targets::reload))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/targets/metadata", get(targets::target_metadata))
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/scrape_pools", get(targets::scrape_pools))
        .with_state(state.clone())
        .merge(query::routes(query))
        .merge(loki::routes(loki))
        .merge(ui::routes(ui))
        .merge(rules::routes(rules))
        .layer(middleware::from_fn_with_state(state, observe))
        .layer(DefaultBodyLimit::disable())
}

async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let handler = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HandlerLabels {
        handler: handler.clone(),
        code: response.status().as_u16().to_string(),
    };
    state.metrics.http.requests.get_or_create(&labels).inc();
    state
        .metrics
        .http
        .duration
        .get_or_create(&vec![("handler".to_string(), handler)])
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn healthy() -> &'static str {
    "Loupe is Healthy.\n"
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        "Loupe is Ready.\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let text = tokio::task::spawn_blocking(move || state.metrics.encode())
        .await
        .map_err(|e| ApiError::new(ErrorType::Internal, e.to_string()))?
        .map_err(|e| ApiError::new(ErrorType::Internal, e.to_string()))?;
    let content_type = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

/// Query parameters of the import endpoint.
#[derive(Debug, Deserialize)]
struct ImportParams {
    /// Timestamp in ms for samples without one (default: now).
    timestamp: Option<i64>,
}

/// Reads the body, decompressing gzip, never past `limit` bytes.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorType::TooLarge,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    let raw: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(raw.to_vec()),
        "gzip" => {
            use std::io::Read;
            let mut out = Vec::new();
            let decoder = flate2::read::GzDecoder::new(&raw[..]);
            decoder
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::new(ErrorType::BadData, format!("invalid gzip body: {e}")))?;
            if out.len() > limit {
                return Err(too_large());
            }
            Ok(out)
        }
        other => Err(ApiError::new(
            ErrorType::BadData,
            format!("unsupported content encoding {other:?}"),
        )),
    }
}

/// `POST /api/v1/import/prometheus`: Prometheus text or OpenMetrics (by `Content-Type`), 204
/// once every accepted sample is in the WAL.
async fn import(
    State(state): State<Arc<AppState>>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, state.max_body_bytes).await?;
    let text =
        String::from_utf8(bytes).map_err(|e| ApiError::new(ErrorType::BadData, format!("body is not utf-8: {e}")))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let format = scraper::exposition::format_from_content_type(&content_type);
    let default_timestamp = params.timestamp.unwrap_or_else(now_ms);
    let db = state.db.clone();
    let stats = tokio::task::spawn_blocking(move || import_text(&db, &text, format, default_timestamp, |_| {}))
        .await
        .map_err(|e| ApiError::new(ErrorType::Internal, e.to_string()))?
        .map_err(|e| match e {
            ImportError::Parse(_) | ImportError::Labels(_) => ApiError::new(ErrorType::BadData, e.to_string()),
            ImportError::Storage(_) => ApiError::new(ErrorType::Internal, e.to_string()),
        })?;
    if stats.rejected > 0 {
        let first = stats.first_rejection.unwrap_or_default();
        return Err(ApiError::new(
            ErrorType::BadData,
            format!(
                "{} of {} samples rejected ({} stored); first: {first}",
                stats.rejected, stats.samples, stats.appended
            ),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
