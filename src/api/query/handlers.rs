//! Query endpoints: `/api/v1/query`, `/query_range`, `/series`, `/labels`,
//! `/label/{name}/values`, `/query_exemplars` and `/format_query`.

use std::collections::BTreeSet;
use std::sync::Arc;

use ::query::promql::eval::{Engine, EngineOptions, QueryResult, TsdbStorage, Value};
use ::query::promql::{Expr, parse};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use tsdb::{Labels, Matcher};

use super::QueryState;
use super::format::{Json, query_data};
use super::params::{self, MAX_TIME_MS, MIN_TIME_MS, Params};
use super::response::{ApiError, success};

/// The most points per series a range query may ask for, as Prometheus.
const MAX_POINTS: i128 = 11_000;
/// Warning added when `limit` cut a result.
const TRUNCATED: &str = "results truncated due to limit";

/// Runs blocking work (evaluation, index reads) off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
}

/// Parses the `query` parameter.
fn parse_query(params: &Params) -> Result<Expr, ApiError> {
    parse(params.get("query")).map_err(|e| ApiError::invalid_param("query", e))
}

/// The engine to run with: the shared one, or a copy with a shorter `timeout` parameter.
fn engine_for(state: &QueryState, params: &Params) -> Result<Option<Engine>, ApiError> {
    match params.get("timeout") {
        "" => Ok(None),
        text => {
            let ns = params::parse_duration_ns(text).map_err(|e| ApiError::invalid_param("timeout", e))?;
            let timeout = std::time::Duration::from_nanos(u64::try_from(ns).unwrap_or(0));
            let options = state.engine.options();
            Ok(Some(Engine::new(EngineOptions {
                timeout: timeout.min(options.timeout),
                ..options.clone()
            })))
        }
    }
}

/// The `lookback_delta` parameter in ms (`None` when absent or zero).
fn lookback_param(params: &Params) -> Result<Option<i64>, ApiError> {
    match params.get("lookback_delta") {
        "" => Ok(None),
        text => {
            let ms = params::parse_duration_ms(text).map_err(|e| {
                ApiError::invalid_param("lookback_delta", format!("error parsing lookback delta duration: {e}"))
            })?;
            Ok((ms > 0).then_some(ms))
        }
    }
}

/// Cuts a vector or matrix to `limit` series, warning when it did.
fn apply_limit(result: &mut QueryResult, limit: Option<usize>) {
    let Some(limit) = limit else { return };
    let cut = match &mut result.value {
        Value::Vector(v) if v.len() > limit => {
            v.truncate(limit);
            true
        }
        Value::Matrix(m) if m.len() > limit => {
            m.truncate(limit);
            true
        }
        _ => false,
    };
    if cut {
        result.warnings.push(TRUNCATED.into());
    }
}

fn answer(mut result: QueryResult, limit: Option<usize>) -> Response {
    apply_limit(&mut result, limit);
    success(&query_data(&result.value), &result.warnings, &result.infos)
}

/// `GET|POST /api/v1/query`: `query`, `time` (default now), `timeout`, `lookback_delta`, `limit`.
pub async fn query(State(state): State<Arc<QueryState>>, request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    let t = params::time_param(&params, "time", super::now_ms())?;
    let engine = engine_for(&state, &params)?;
    let lookback = lookback_param(&params)?;
    let limit = params::limit_param(&params)?;
    let expr = parse_query(&params)?;
    let result = blocking(move || {
        let engine = engine.as_ref().unwrap_or(&state.engine);
        engine
            .instant(&TsdbStorage(&state.db), &expr, t, lookback)
            .map_err(ApiError::from_query)
    })
    .await?;
    Ok(answer(result, limit))
}

/// `GET|POST /api/v1/query_range`: `query`, `start`, `end`, `step`, `timeout`, `lookback_delta`,
/// `limit`.
pub async fn query_range(State(state): State<Arc<QueryState>>, request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    let start = params::parse_time(params.get("start")).map_err(|e| ApiError::invalid_param("start", e))?;
    let end = params::parse_time(params.get("end")).map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step_ns = params::parse_duration_ns(params.get("step")).map_err(|e| ApiError::invalid_param("step", e))?;
    let step = step_ns / 1_000_000;
    if step <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (i128::from(end) - i128::from(start)) * 1_000_000 / i128::from(step_ns) > MAX_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let engine = engine_for(&state, &params)?;
    let lookback = lookback_param(&params)?;
    let limit = params::limit_param(&params)?;
    let expr = parse_query(&params)?;
    let result = blocking(move || {
        let engine = engine.as_ref().unwrap_or(&state.engine);
        engine
            .range(&TsdbStorage(&state.db), &expr, start, end, step, lookback)
            .map_err(ApiError::from_query)
    })
    .await?;
    Ok(answer(result, limit))
}

/// `start` and `end` of the metadata endpoints (defaults: all time).
pub(super) fn time_range(params: &Params) -> Result<(i64, i64), ApiError> {
    Ok((
        params::time_param(params, "start", MIN_TIME_MS)?,
        params::time_param(params, "end", MAX_TIME_MS)?,
    ))
}

/// Renders a list of strings, cut to `limit` with a warning.
fn string_list(mut items: Vec<String>, limit: Option<usize>) -> Response {
    let mut warnings = Vec::new();
    if let Some(limit) = limit
        && items.len() > limit
    {
        items.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    success(&Json::strings(items).render(), &warnings, &[])
}

fn storage_error(e: tsdb::Error) -> ApiError {
    ApiError::new(super::response::ErrorKind::Execution, e.to_string())
}

/// `GET|POST /api/v1/series`: `match[]` (required), `start`, `end`, `limit`.
pub async fn series(State(state): State<Arc<QueryState>>, request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    if params.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = time_range(&params)?;
    let sets = params::matcher_sets(&params)?;
    let limit = params::limit_param(&params)?;
    let found = blocking(move || {
        let querier = state.db.querier(start, end);
        let mut found: BTreeSet<Labels> = BTreeSet::new();
        for set in &sets {
            for s in querier.select(set).map_err(storage_error)? {
                found.insert(s.labels().clone());
            }
        }
        Ok(found)
    })
    .await?;
    let mut warnings = Vec::new();
    let total = found.len();
    let items: Vec<Json> = found
        .iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(Json::labels)
        .collect();
    if items.len() < total {
        warnings.push(TRUNCATED.to_string());
    }
    Ok(success(&Json::Array(items).render(), &warnings, &[]))
}

/// `GET|POST /api/v1/labels`: `start`, `end`, `match[]`, `limit`.
pub async fn labels(State(state): State<Arc<QueryState>>, request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    let (start, end) = time_range(&params)?;
    let sets = params::matcher_sets(&params)?;
    let limit = params::limit_param(&params)?;
    let names = blocking(move || {
        let querier = state.db.querier(start, end);
        collect_union(&sets, |set| querier.label_names(set))
    })
    .await?;
    Ok(string_list(names, limit))
}

/// `GET /api/v1/label/{name}/values`: `start`, `end`, `match[]`, `limit`; `name` may be
/// `U__`-escaped.
pub async fn label_values(
    State(state): State<Arc<QueryState>>,
    Path(name): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let name = params::unescape_label_name(&name);
    if name.is_empty() {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let params = Params::from_request(request).await?;
    let (start, end) = time_range(&params)?;
    let sets = params::matcher_sets(&params)?;
    let limit = params::limit_param(&params)?;
    let values = blocking(move || {
        let querier = state.db.querier(start, end);
        collect_union(&sets, |set| querier.label_values(&name, set))
    })
    .await?;
    Ok(string_list(values, limit))
}

/// Sorted union of `read` over every matcher set, or `read(&[])` when there are none.
fn collect_union(
    sets: &[Vec<Matcher>],
    read: impl Fn(&[Matcher]) -> tsdb::Result<Vec<String>>,
) -> Result<Vec<String>, ApiError> {
    if sets.is_empty() {
        return read(&[]).map_err(storage_error);
    }
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(read(set).map_err(storage_error)?);
    }
    Ok(all.into_iter().collect())
}

/// `GET|POST /api/v1/query_exemplars`: validates `query`, `start` and `end`; Loupe stores no
/// exemplars, so the answer is always `[]`.
pub async fn query_exemplars(request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    let (start, end) = time_range(&params)?;
    if end < start {
        return Err(ApiError::bad_data("end timestamp must not be before start timestamp"));
    }
    parse_query(&params)?;
    Ok(success("[]", &[], &[]))
}

/// `GET|POST /api/v1/format_query`: the query in canonical form.
pub async fn format_query(request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request).await?;
    let expr = parse_query(&params)?;
    Ok(success(&Json::str(expr.to_string()).render(), &[], &[]))
}
