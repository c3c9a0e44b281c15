//! The dashboard: its embedded files at `/` and `/ui/…`, the dashboards API under
//! `/loupe/api/v1/dashboards`, and the log-store statistics its status page shows.
//!
//! Every UI response carries a `Content-Security-Policy` that allows only this server as a source,
//! so the dashboard cannot make a request to any other host, and an `ETag` for revalidation.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::{ApiError, ErrorType};
use crate::dashboards::{DashboardError, Dashboards, MAX_DASHBOARD_BYTES};

/// State of the UI routes.
pub struct UiState {
    /// Built-in and saved dashboards.
    pub dashboards: Dashboards,
    /// The log store, for its statistics.
    pub logs: Arc<logs::LogStore>,
}

/// Only this server, for every kind of resource (WebSockets to it included).
const CSP: &str = "default-src 'self'; img-src 'self' data:; connect-src 'self'; style-src 'self'; \
                   script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The UI routes, with their state applied.
pub fn routes(state: Arc<UiState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/ui/{*path}", get(file))
        .route("/loupe/api/v1/dashboards", get(list))
        .route("/loupe/api/v1/dashboards/{id}", get(show).put(save).delete(remove))
        .route("/loupe/api/v1/status/logs", get(log_stats))
        .with_state(state)
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// Serves one embedded file, answering `If-None-Match` with 304.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = ui::asset(path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let common = [
        (header::ETAG, HeaderValue::from_static(asset.etag)),
        // Files are not content-addressed: revalidate every time (cheap with the ETag).
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))],
        asset.bytes,
    )
        .into_response()
}

fn dashboard_error(e: DashboardError) -> Response {
    let kind = match e {
        DashboardError::InvalidId(_) | DashboardError::Invalid(_) | DashboardError::BuiltIn(_) => ErrorType::BadData,
        DashboardError::TooMany => ErrorType::BadData,
        DashboardError::NotFound(_) => {
            let body = serde_json::json!({"status": "error", "errorType": "not_found", "error": e.to_string()});
            return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
        }
        DashboardError::Io { .. } => ErrorType::Internal,
    };
    ApiError::new(kind, e.to_string()).into_response()
}

fn success(data: serde_json::Value) -> Response {
    axum::Json(serde_json::json!({"status": "success", "data": data})).into_response()
}

/// Runs dashboard storage work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DashboardError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(dashboard_error),
        Err(e) => Err(ApiError::new(ErrorType::Internal, e.to_string()).into_response()),
    }
}

/// `GET /loupe/api/v1/dashboards`: `[{id, title, builtin}]`.
async fn list(State(state): State<Arc<UiState>>) -> Response {
    match blocking(move || state.dashboards.list()).await {
        Ok(list) => success(serde_json::to_value(list).unwrap_or_default()),
        Err(response) => response,
    }
}

/// `GET /loupe/api/v1/dashboards/{id}`.
async fn show(State(state): State<Arc<UiState>>, Path(id): Path<String>) -> Response {
    match blocking(move || state.dashboards.get(&id)).await {
        Ok(d) => success(serde_json::to_value(d).unwrap_or_default()),
        Err(response) => response,
    }
}

/// `PUT /loupe/api/v1/dashboards/{id}`: 201 when created, 200 when replaced.
async fn save(State(state): State<Arc<UiState>>, Path(id): Path<String>, body: Body) -> Response {
    // Read no more than the limit: the router has no global body limit.
    let Ok(body) = axum::body::to_bytes(body, MAX_DASHBOARD_BYTES).await else {
        return ApiError::new(
            ErrorType::TooLarge,
            format!("dashboard exceeds the limit of {MAX_DASHBOARD_BYTES} bytes"),
        )
        .into_response();
    };
    let saved_id = id.clone();
    match blocking(move || state.dashboards.put(&id, &body)).await {
        Ok(created) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, success(serde_json::json!({"id": saved_id}))).into_response()
        }
        Err(response) => response,
    }
}

/// `DELETE /loupe/api/v1/dashboards/{id}`: 204.
async fn remove(State(state): State<Arc<UiState>>, Path(id): Path<String>) -> Response {
    match blocking(move || state.dashboards.delete(&id)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

/// `GET /loupe/api/v1/status/logs`: the log store's totals.
async fn log_stats(State(state): State<Arc<UiState>>) -> Response {
    let store = state.logs.clone();
    match tokio::task::spawn_blocking(move || store.stats()).await {
        Ok(s) => success(serde_json::json!({
            "windows": s.windows,
            "streams": s.streams,
            "entries": s.entries,
            "lineBytes": s.line_bytes,
            "diskBytes": s.disk_bytes,
        })),
        Err(e) => ApiError::new(ErrorType::Internal, e.to_string()).into_response(),
    }
}
