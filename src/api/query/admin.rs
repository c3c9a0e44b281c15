//! The TSDB admin endpoints `/api/v1/admin/tsdb/{delete_series,clean_tombstones}`, off unless
//! `--web.enable-admin-api` is given (as in Prometheus).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::QueryState;
use super::handlers::{blocking, time_range};
use super::params::{self, Params};
use super::response::{ApiError, ErrorKind};

fn enabled(state: &QueryState) -> Result<(), ApiError> {
    if state.admin_api {
        Ok(())
    } else {
        Err(ApiError::new(ErrorKind::Unavailable, "admin APIs disabled"))
    }
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series`: `match[]` (required), `start`, `end` (default: all
/// time). The data is hidden from queries and its tombstones are on disk when it answers 204.
pub async fn delete_series(State(state): State<Arc<QueryState>>, request: Request) -> Result<Response, ApiError> {
    enabled(&state)?;
    let params = Params::from_request(request).await?;
    if params.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = time_range(&params)?;
    let sets = params::matcher_sets(&params)?;
    blocking(move || {
        for set in &sets {
            state
                .db
                .delete_series(set, start, end)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`: rewrites the blocks that have deleted data
/// without it; 204 when done.
pub async fn clean_tombstones(State(state): State<Arc<QueryState>>) -> Result<Response, ApiError> {
    enabled(&state)?;
    blocking(move || {
        state
            .db
            .clean_tombstones()
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
