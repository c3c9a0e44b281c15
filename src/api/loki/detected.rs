//! Grafana's field and label discovery: `detected_fields`, `detected_field/<name>/values` and
//! `detected_labels`.
//!
//! Fields are found by sampling the newest `line_limit` (default 100) lines of the query: each
//! line is parsed as JSON when it looks like an object, else as logfmt; structured metadata
//! counts too. A field's type is the narrowest that fits all its sampled values (`int`, `float`,
//! `boolean`, `duration`, `bytes`, else `string`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ::query::logql::ast::Expr;
use ::query::logql::eval::parsers;
use ::query::logql::eval::{Engine, LogEntry, QueryParams};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use logs::Direction;

use super::params::{self as lp};
use super::query::{blocking, query_error, read_params};
use super::{LokiError, LokiState};
use crate::api::query::format::write_str;

#[derive(Default)]
struct Field {
    values: BTreeSet<String>,
    parsers: BTreeSet<&'static str>,
    types: BTreeSet<&'static str>,
}

fn value_type(v: &str) -> &'static str {
    if v.parse::<i64>().is_ok() {
        "int"
    } else if v.parse::<f64>().is_ok() {
        "float"
    } else if v == "true" || v == "false" {
        "boolean"
    } else if parsers::parse_duration_seconds(v).is_some() {
        "duration"
    } else if v.chars().any(|c| c.is_ascii_alphabetic()) && parsers::parse_bytes(v).is_some() {
        "bytes"
    } else {
        "string"
    }
}

fn field_type(types: &BTreeSet<&'static str>) -> &'static str {
    match types.len() {
        1 => types.iter().next().copied().unwrap_or("string"),
        2 if types.contains("int") && types.contains("float") => "float",
        _ => "string",
    }
}

/// Samples the lines and collects their fields.
fn detect(entries: &[LogEntry]) -> BTreeMap<String, Field> {
    let mut fields: BTreeMap<String, Field> = BTreeMap::new();
    for e in entries {
        let mut found: Vec<(String, String, Option<&'static str>)> = Vec::new();
        let line = e.line.trim_start();
        if line.starts_with('{') {
            let _ = parsers::json_all(line, &mut |k, v| {
                found.push((k.to_string(), v.to_string(), Some("json")))
            });
        } else {
            let _ = parsers::logfmt(line, false, false, &[], &mut |k, v| {
                found.push((k.to_string(), v.to_string(), Some("logfmt")))
            });
        }
        for (k, v) in &e.metadata {
            found.push((k.clone(), v.clone(), None));
        }
        for (k, v, parser) in found {
            if v.is_empty() || e.stream.get(&k).is_some() {
                continue;
            }
            let f = fields.entry(k).or_default();
            f.types.insert(value_type(&v));
            if let Some(p) = parser {
                f.parsers.insert(p);
            }
            f.values.insert(v);
        }
    }
    fields
}

async fn sample(state: Arc<LokiState>, request: Request) -> Result<(BTreeMap<String, Field>, usize), LokiError> {
    let (_, params) = read_params(request).await?;
    let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
    let line_limit = match params.get("line_limit") {
        "" => 100,
        t => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| LokiError::bad_request("line_limit must be a positive number"))?,
    };
    let limit = match params.get("limit") {
        "" => 1000,
        t => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| LokiError::bad_request("limit must be a positive value"))?,
    };
    let expr = match ::query::logql::parse(params.get("query")) {
        Ok(Expr::Log(log)) => log,
        Ok(Expr::Metric(m)) => first_log(&m).ok_or_else(|| LokiError::bad_request("query has no log selector"))?,
        Err(e) => return Err(LokiError::bad_request(e.to_string())),
    };
    let entries = blocking(move || {
        let engine = Engine::new(state.store.as_ref(), state.query.engine.clone());
        let params = QueryParams {
            start_ns: start,
            end_ns: end.saturating_add(1),
            step_ns: 0,
            interval_ns: 0,
            limit: line_limit.min(state.query.engine.max_entries),
            direction: Direction::Backward,
        };
        engine.select_logs(&expr, &params).map_err(query_error)
    })
    .await?;
    Ok((detect(&entries), limit))
}

/// The first log expression inside a metric query.
fn first_log(m: &::query::logql::ast::MetricExpr) -> Option<::query::logql::ast::LogExpr> {
    use ::query::logql::ast::MetricExpr as M;
    match m {
        M::RangeAggregation(ra) => Some(ra.log.clone()),
        M::VectorAggregation(va) => first_log(&va.expr),
        M::Binary { lhs, rhs, .. } => first_log(lhs).or_else(|| first_log(rhs)),
        M::LabelReplace { expr, .. } => first_log(expr),
        M::Literal(_) | M::Vector(_) => None,
    }
}

fn json(body: String) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /loki/api/v1/detected_fields`.
pub async fn detected_fields(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    match sample(state, request).await {
        Ok((sampled, limit)) => {
            let mut out = String::from(r#"{"fields":["#);
            for (i, (name, f)) in sampled.iter().take(limit).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"label":"#);
                write_str(&mut out, name);
                out.push_str(r#","type":"#);
                write_str(&mut out, field_type(&f.types));
                out.push_str(&format!(r#","cardinality":{},"parsers":"#, f.values.len()));
                if f.parsers.is_empty() {
                    out.push_str("null");
                } else {
                    out.push('[');
                    for (j, p) in f.parsers.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        write_str(&mut out, p);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push_str(&format!(r#"],"limit":{limit}}}"#));
            json(out)
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /loki/api/v1/detected_field/<name>/values`.
pub async fn detected_field_values(
    State(state): State<Arc<LokiState>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    match sample(state, request).await {
        Ok((sampled, limit)) => {
            let mut out = String::from(r#"{"values":["#);
            if let Some(f) = sampled.get(&name) {
                for (i, v) in f.values.iter().take(limit).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(&mut out, v);
                }
            }
            out.push_str(&format!(r#"],"limit":{limit}}}"#));
            json(out)
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /loki/api/v1/detected_labels`: stream label names with their cardinality.
pub async fn detected_labels(State(state): State<Arc<LokiState>>, request: Request) -> Response {
    let result = async {
        let (_, params) = read_params(request).await?;
        let (start, end) = lp::bounds(&params, logs::store::now_ns())?;
        let matchers = super::query::selector(&params, "query")?;
        let stats = blocking(move || Ok(state.store.stream_stats(&matchers, start, end.saturating_add(1)))).await?;
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in &stats {
            for l in s.labels.iter() {
                values
                    .entry(l.name.to_string())
                    .or_default()
                    .insert(l.value.to_string());
            }
        }
        let mut out = String::from(r#"{"detectedLabels":["#);
        for (i, (name, vals)) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"label":"#);
            write_str(&mut out, name);
            out.push_str(&format!(r#","cardinality":{}}}"#, vals.len()));
        }
        out.push_str("]}");
        Ok::<_, LokiError>(json(out))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsdb::Labels;

    #[test]
    fn types_and_fields() {
        assert_eq!(value_type("42"), "int");
        assert_eq!(value_type("4.2"), "float");
        assert_eq!(value_type("true"), "boolean");
        assert_eq!(value_type("150ms"), "duration");
        assert_eq!(value_type("10MB"), "bytes");
        assert_eq!(value_type("hello"), "string");
        let stream = Labels::new([("app", "web")]).expect("labels");
        let entry = |line: &str| LogEntry {
            ts_ns: 1,
            line: line.into(),
            labels: stream.clone(),
            stream: stream.clone(),
            metadata: vec![("trace_id".into(), "abc".into())],
            parsed: Vec::new(),
        };
        let fields = detect(&[
            entry(r#"{"status":200,"took":"1.5s","app":"x"}"#),
            entry("status=500 took=2.5 msg=hi"),
        ]);
        let names: Vec<&String> = fields.keys().collect();
        assert_eq!(names, vec!["msg", "status", "took", "trace_id"]);
        assert_eq!(field_type(&fields["status"].types), "int");
        assert_eq!(fields["status"].values.len(), 2);
        assert_eq!(field_type(&fields["took"].types), "string");
        assert!(fields["trace_id"].parsers.is_empty());
        assert_eq!(
            fields["status"].parsers.iter().copied().collect::<Vec<_>>(),
            vec!["json", "logfmt"]
        );
    }
}
