//! Loki's query endpoints: `query`, `query_range`, `labels`, `label/<name>/values`, `series`,
//! `index/stats`, `index/volume`, `index/volume_range`, `format_query` and `ready`.
//!
//! Evaluation and index reads run on the blocking pool. Errors are plain text: a query that does
//! not parse or a bad parameter is a 400, a limit hit during evaluation a 400 as Loki answers it,
//! a timeout a 504 and a storage failure a 500.

use std::sync::Arc;
use std::time::Instant;

use ::query::logql::ast::{Expr, LogExpr};
use ::query::logql::eval::{Engine, QueryParams, QueryValue};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tsdb::{Labels, Matcher};

use super::encode::{Stats, query_body, write_matrix};
use super::params::{self as lp};
use super::{LokiError, LokiState};
use crate::api::query::format::{write_labels, write_point, write_str};
use crate::api::query::params::Params;

/// The header Grafana sends to ask for categorized labels.
const ENCODING_FLAGS: &str = "x-loki-response-encoding-flags";

/// Reads a request's parameters (URL query and form body), errors as plain text.
pub async fn read_params(request: Request) -> Result<(HeaderMap, Params), LokiError> {
    let headers = request.headers().clone();
    let params = Params::from_request(request)
        .await
        .map_err(|e| LokiError::bad_request(e.message))?;
    Ok((headers, params))
}

/// True when the request asks for `categorize-labels`.
pub fn categorize(headers: &HeaderMap) -> bool {
    headers
        .get_all(ENCODING_FLAGS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|f| f.trim().eq_ignore_ascii_case("categorize-labels"))
}

/// Runs blocking work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LokiError> + Send + 'static,
) -> Result<T, LokiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LokiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("query task failed: {e}")))?
}

/// Maps a query error to Loki's status codes.
pub fn query_error(error: ::query::Error) -> LokiError {
    let status = match &error {
        ::query::Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        ::query::Error::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    LokiError::new(status, error.to_string())
}

fn parse(text: &str) -> Result<Expr, LokiError> {
    ::query::logql::parse(text).map_err(|e| LokiError::bad_request(e.to_string()))
}

fn json_response(body: String) -> Response {
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

fn check_length(state: &LokiState, start: i64, end: i64) -> Result<(), LokiError> {
    let max = state.query.max_query_length_ns;
    if max > 0 && end.saturating_sub(start) > max {
        return Err(LokiError::bad_request(format!(
            "the query time range exceeds the limit (query length: {}, limit: {})",
            go_duration(end.saturating_sub(start)),
            go_duration(max)
        )));
    }
    Ok(())
}

/// A duration as Go prints it (`721h0m0s`), to the second.
fn go_duration(ns: i64) -> String {
    let secs = ns / 1_000_000_000;
    format!("{}h{}m{}s", secs / 3600, (secs % 3600) / 60, secs % 60)
}

/// `GET|POST /loki/api/v1/query_range`.
pub async fn query_range(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    match query_range_inner(state, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn query_range_inner(state: Arc<LokiState>, request: Request) -> Result<Response, LokiError> {
    let (headers, params) = read_params(request).await?;
    let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
    let limit = lp::limit(&params)?;
    let direction = lp::direction(&params)?;
    let step = lp::step(&params, start, end)?;
    let interval = lp::duration_param(&params, "interval")?.unwrap_or(0);
    let expr = parse(&lp::query_text(&params))?;
    check_length(&state, start, end)?;
    if matches!(expr, Expr::Metric(_)) && end.saturating_sub(start) / step > state.query.engine.max_points as i64 {
        return Err(LokiError::bad_request(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let categorize = categorize(&headers);
    let started = Instant::now();
    let value = blocking(move || {
        let engine = Engine::new(state.store.as_ref(), state.query.engine.clone());
        let params = QueryParams {
            start_ns: start,
            end_ns: end,
            step_ns: step,
            interval_ns: interval,
            limit,
            direction,
        };
        engine.query_range(&expr, &params).map_err(query_error)
    })
    .await?;
    Ok(json_response(query_body(&value, categorize, stats(&value, started))))
}

fn stats(value: &QueryValue, started: Instant) -> Stats {
    let returned = match value {
        QueryValue::Streams(e) => e.len(),
        QueryValue::Matrix(m) => m.iter().map(|s| s.points.len()).sum(),
        QueryValue::Vector { samples, .. } => samples.len(),
        QueryValue::Scalar { .. } => 1,
    };
    Stats {
        exec_seconds: started.elapsed().as_secs_f64(),
        returned,
    }
}

/// `GET|POST /loki/api/v1/query`: an instant metric query.
pub async fn query(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    match query_inner(state, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn query_inner(state: Arc<LokiState>, request: Request) -> Result<Response, LokiError> {
    let (headers, params) = read_params(request).await?;
    let time = lp::time(&params, logs::store::now_ns())?;
    lp::limit(&params)?;
    lp::direction(&params)?;
    let expr = parse(&lp::query_text(&params))?;
    let categorize = categorize(&headers);
    let started = Instant::now();
    let value = blocking(move || {
        let engine = Engine::new(state.store.as_ref(), state.query.engine.clone());
        engine.query_instant(&expr, time).map_err(query_error)
    })
    .await?;
    Ok(json_response(query_body(&value, categorize, stats(&value, started))))
}

/// The matchers of the required `query` selector parameter.
fn required_selector(params: &Params) -> Result<Vec<Matcher>, LokiError> {
    match parse(params.get("query"))? {
        Expr::Log(l) => Ok(l.matchers),
        Expr::Metric(_) => Err(LokiError::bad_request("query must be a log selector")),
    }
}

/// The matchers of an optional `query` selector parameter (empty when absent).
pub fn selector(params: &Params, name: &str) -> Result<Vec<Matcher>, LokiError> {
    match params.get(name) {
        "" => Ok(Vec::new()),
        text => match parse(text)? {
            Expr::Log(LogExpr { matchers, .. }) => Ok(matchers),
            Expr::Metric(_) => Err(LokiError::bad_request(format!(
                "{name} must be a log selector, not a metric query"
            ))),
        },
    }
}

fn string_list(items: &[String]) -> String {
    let mut out = String::from(r#"{"status":"success","data":["#);
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, s);
    }
    out.push_str("]}");
    out
}

/// `GET|POST /loki/api/v1/labels`.
pub async fn labels(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let matchers = selector(&params, "query")?;
        let names = blocking(move || Ok(state.store.label_names(&matchers, start, end.saturating_add(1)))).await?;
        Ok::<_, LokiError>(json_response(string_list(&names)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /loki/api/v1/label/<name>/values`.
pub async fn label_values(State(state): State<Arc<LokiState>>, Path(name): Path<String>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let matchers = selector(&params, "query")?;
        let values =
            blocking(move || Ok(state.store.label_values(&name, &matchers, start, end.saturating_add(1)))).await?;
        Ok::<_, LokiError>(json_response(string_list(&values)))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET|POST /loki/api/v1/series` (`match[]` repeated; `match` accepted too).
pub async fn series(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let mut sets = Vec::new();
        for text in params.all("match[]").into_iter().chain(params.all("match")) {
            match parse(text)? {
                Expr::Log(LogExpr { matchers, .. }) => sets.push(matchers),
                Expr::Metric(_) => return Err(LokiError::bad_request("match[] must be a log selector")),
            }
        }
        if sets.is_empty() {
            sets.push(Vec::new());
        }
        let found = blocking(move || {
            let mut seen = std::collections::BTreeSet::new();
            for matchers in &sets {
                for s in state.store.stream_stats(matchers, start, end.saturating_add(1)) {
                    seen.insert((*s.labels).clone());
                }
            }
            Ok(seen.into_iter().collect::<Vec<Labels>>())
        })
        .await?;
        let mut out = String::from(r#"{"status":"success","data":["#);
        for (i, l) in found.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_labels(&mut out, l);
        }
        out.push_str("]}");
        Ok::<_, LokiError>(json_response(out))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET|POST /loki/api/v1/index/stats`: a bare `{"streams","chunks","entries","bytes"}`.
pub async fn index_stats(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let matchers = required_selector(&params)?;
        let stats = blocking(move || Ok(state.store.stream_stats(&matchers, start, end.saturating_add(1)))).await?;
        let entries: u64 = stats.iter().map(|s| s.entries).sum();
        let bytes: u64 = stats.iter().map(|s| s.bytes).sum();
        let body = format!(
            r#"{{"streams":{},"chunks":{},"entries":{entries},"bytes":{bytes}}}"#,
            stats.len(),
            stats.len()
        );
        Ok::<_, LokiError>(json_response(body))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The label names a volume groups by: `targetLabels`, else the selector's matcher names.
fn volume_targets(params: &Params, matchers: &[Matcher]) -> Vec<String> {
    let targets: Vec<String> = params
        .get("targetLabels")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if !targets.is_empty() {
        return targets;
    }
    let mut names: Vec<String> = Vec::new();
    for m in matchers {
        if !names.iter().any(|n| n == m.name()) {
            names.push(m.name().to_string());
        }
    }
    names
}

fn volume_key(labels: &Labels, targets: &[String], by_series: bool) -> Labels {
    if by_series && targets.is_empty() {
        return labels.clone();
    }
    labels.without(|n| !targets.iter().any(|t| t == n))
}

/// `GET|POST /loki/api/v1/index/volume`: bytes per label group as a Prometheus vector, largest
/// first, at most `limit` (from the per-window stream statistics, without reading lines).
pub async fn volume(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let limit = lp::limit(&params)?;
        let matchers = required_selector(&params)?;
        let by_series = params.get("aggregateBy") != "labels";
        let targets = volume_targets(&params, &matchers);
        let stats = blocking(move || Ok(state.store.stream_stats(&matchers, start, end.saturating_add(1)))).await?;
        let mut groups: std::collections::HashMap<Labels, u64> = std::collections::HashMap::new();
        for s in &stats {
            *groups.entry(volume_key(&s.labels, &targets, by_series)).or_default() += s.bytes;
        }
        let mut groups: Vec<(Labels, u64)> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        groups.truncate(limit);
        let mut out = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
        for (i, (labels, bytes)) in groups.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"metric":"#);
            write_labels(&mut out, labels);
            out.push_str(r#","value":"#);
            write_point(&mut out, end.div_euclid(1_000_000), *bytes as f64);
            out.push('}');
        }
        out.push_str("]}}");
        Ok::<_, LokiError>(json_response(out))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET|POST /loki/api/v1/index/volume_range`: bytes per label group and step, evaluated as
/// `sum by (targets) (bytes_over_time(selector[step]))` (exact, reads the lines).
pub async fn volume_range(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let step = lp::step(&params, start, end)?;
        let limit = lp::limit(&params)?;
        let query_text = params.get("query").to_string();
        let matchers = match parse(&query_text)? {
            Expr::Log(l) => l.matchers,
            Expr::Metric(_) => return Err(LokiError::bad_request("query must be a log selector")),
        };
        let targets = volume_targets(&params, &matchers);
        let by = targets.join(", ");
        let metric = format!("sum by ({by}) (bytes_over_time({query_text} [{}s]))", step as f64 / 1e9);
        let expr = parse(&metric)?;
        let value = blocking(move || {
            let engine = Engine::new(state.store.as_ref(), state.query.engine.clone());
            let params = QueryParams {
                start_ns: start,
                end_ns: end,
                step_ns: step,
                interval_ns: 0,
                limit: 100,
                direction: logs::Direction::Forward,
            };
            engine.query_range(&expr, &params).map_err(query_error)
        })
        .await?;
        let QueryValue::Matrix(mut series) = value else {
            return Err(LokiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "volume query gave no matrix",
            ));
        };
        series.sort_by(|a, b| {
            let total = |s: &::query::logql::eval::MetricSeries| s.points.iter().map(|p| p.1).sum::<f64>();
            total(b).total_cmp(&total(a))
        });
        series.truncate(limit);
        let mut out = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":"#);
        write_matrix(&mut out, &series);
        out.push_str("}}");
        Ok::<_, LokiError>(json_response(out))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET|POST /loki/api/v1/format_query`.
pub async fn format_query(request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let expr = parse(params.get("query"))?;
        let mut out = String::from(r#"{"status":"success","data":"#);
        write_str(&mut out, &expr.to_string());
        out.push('}');
        Ok::<_, LokiError>(json_response(out))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /ready`.
pub async fn ready() -> Response {
    (StatusCode::OK, "ready\n").into_response()
}
