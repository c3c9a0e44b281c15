//! Prometheus's HTTP query API (`/api/v1/query`, `/query_range`, `/series`, `/labels`,
//! `/label/{name}/values`, status pages, the TSDB admin endpoints) over the TSDB and the PromQL engine, answering
//! in Prometheus's exact JSON shapes so Grafana and other clients work unchanged.

mod admin;
pub(crate) mod format;
mod handlers;
pub(crate) mod params;
mod response;
mod status;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

/// What the query API needs from the server.
pub struct QueryState {
    /// The database queried.
    pub db: Arc<tsdb::db::Db>,
    /// The PromQL engine (its options bound every query).
    pub engine: ::query::promql::eval::Engine,
    /// The current configuration as YAML, for `/api/v1/status/config`.
    pub config_yaml: Arc<dyn Fn() -> String + Send + Sync>,
    /// Command-line flags and their values, for `/api/v1/status/flags`.
    pub flags: Vec<(String, String)>,
    /// When the server started, for `/api/v1/status/runtimeinfo`.
    pub start_time: std::time::SystemTime,
    /// `--web.enable-admin-api`: the TSDB admin endpoints answer (else "admin APIs disabled").
    pub admin_api: bool,
}

/// The query API's routes, with their state applied (ready to `merge` into the main router).
pub fn routes(state: Arc<QueryState>) -> Router {
    Router::new()
        .route("/api/v1/query", get(handlers::query).post(handlers::query))
        .route(
            "/api/v1/query_range",
            get(handlers::query_range).post(handlers::query_range),
        )
        .route("/api/v1/series", get(handlers::series).post(handlers::series))
        .route("/api/v1/labels", get(handlers::labels).post(handlers::labels))
        .route("/api/v1/label/{name}/values", get(handlers::label_values))
        .route(
            "/api/v1/query_exemplars",
            get(handlers::query_exemplars).post(handlers::query_exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(handlers::format_query).post(handlers::format_query),
        )
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .with_state(state)
}

/// Milliseconds since the Unix epoch (the default `time` of instant queries).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
