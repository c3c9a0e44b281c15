//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers` in Prometheus's shapes (Grafana
//! reads the first to list recording rules), with the `type`, `rule_name[]`, `rule_group[]`,
//! `file[]`, `match[]` and `exclude_alerts` filters.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::api::query::params::Params;
use crate::api::targets::rfc3339;
use crate::api::{ApiError, ErrorType};
use crate::rules::RuleManager;
use crate::rules::alert::{Alert, State as AlertState};
use crate::rules::file::RuleKind;

/// The routes, with the rule manager as state.
pub fn routes(manager: Arc<RuleManager>) -> Router {
    Router::new()
        .route("/api/v1/rules", get(rules).post(rules))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alertmanagers", get(alertmanagers))
        .with_state(manager)
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `2.5e-01`, `NaN`, `+Inf`.
pub fn go_exp(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let text = format!("{v:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// A number as Go's JSON encoder writes a float64: whole values without a fraction (`60`).
fn num(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

fn time_ms(ms: i64) -> String {
    rfc3339(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

fn pairs<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(it.map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect())
}

fn alert_json(a: &Alert) -> Value {
    let mut out = Map::new();
    out.insert("labels".into(), pairs(a.labels.iter().map(|l| (l.name, l.value))));
    out.insert(
        "annotations".into(),
        pairs(a.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    out.insert("state".into(), a.state.as_str().into());
    out.insert("activeAt".into(), time_ms(a.active_at).into());
    if let Some(since) = a.keep_firing_since {
        out.insert("keepFiringSince".into(), time_ms(since).into());
    }
    out.insert("value".into(), go_exp(a.value).into());
    Value::Object(out)
}

fn when(t: Option<SystemTime>) -> String {
    t.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), rfc3339)
}

async fn rules(State(manager): State<Arc<RuleManager>>, request: Request) -> Result<Response, ApiError> {
    let params = Params::from_request(request)
        .await
        .map_err(|e| ApiError::new(ErrorType::BadData, e.message))?;
    let kind = params.get("type");
    let (want_alerts, want_records) = match kind {
        "" => (true, true),
        "alert" => (true, false),
        "record" => (false, true),
        other => {
            return Err(ApiError::new(
                ErrorType::BadData,
                format!("invalid query parameter \"type\": not supported value {other:?}"),
            ));
        }
    };
    let exclude_alerts = match params.get("exclude_alerts") {
        "" | "false" => false,
        "true" => true,
        other => {
            return Err(ApiError::new(
                ErrorType::BadData,
                format!("invalid query parameter \"exclude_alerts\": {other:?} is not a boolean"),
            ));
        }
    };
    let matcher_sets = match crate::api::query::params::matcher_sets(&params) {
        Ok(sets) => sets,
        Err(e) => return Ok(e.into_response()),
    };
    let names = params.all("rule_name[]");
    let group_names = params.all("rule_group[]");
    let files = params.all("file[]");
    let mut groups = Vec::new();
    let mut all = manager.groups();
    all.sort_by(|a, b| (&a.spec.file, &a.spec.name).cmp(&(&b.spec.file, &b.spec.name)));
    for group in all {
        let file = group.spec.file.display().to_string();
        if !group_names.is_empty() && !group_names.contains(&group.spec.name.as_str()) {
            continue;
        }
        if !files.is_empty() && !files.contains(&file.as_str()) {
            continue;
        }
        let mut rules = Vec::new();
        for rule in &group.rules {
            if !names.is_empty() && !names.contains(&rule.spec.name()) {
                continue;
            }
            // `match[]`: the rule's labels must satisfy one of the selectors (as Prometheus).
            if !matcher_sets.is_empty() {
                let labels = tsdb::Labels::new(rule.spec.labels.iter().map(|(k, v, _)| (k.as_str(), v.as_str())))
                    .unwrap_or_default();
                if !matcher_sets
                    .iter()
                    .any(|set| tsdb::labels::matches_labels(set, &labels))
                {
                    continue;
                }
            }
            let status = rule.status.lock().clone();
            let labels = pairs(rule.spec.labels.iter().map(|(k, v, _)| (k.as_str(), v.as_str())));
            let mut out = Map::new();
            match &rule.spec.kind {
                RuleKind::Alerting {
                    name,
                    hold,
                    keep_firing_for,
                    annotations,
                } => {
                    if !want_alerts {
                        continue;
                    }
                    let set = rule.alerts.lock();
                    out.insert("state".into(), set.state().as_str().into());
                    out.insert("name".into(), name.as_str().into());
                    out.insert("query".into(), rule.spec.query().into());
                    out.insert("duration".into(), num(hold.as_secs_f64()));
                    out.insert("keepFiringFor".into(), num(keep_firing_for.as_secs_f64()));
                    out.insert("labels".into(), labels);
                    out.insert(
                        "annotations".into(),
                        pairs(annotations.iter().map(|(k, v, _)| (k.as_str(), v.as_str()))),
                    );
                    if exclude_alerts {
                        out.insert("alerts".into(), Value::Null);
                    } else {
                        let active: Vec<Value> = set
                            .alerts()
                            .filter(|a| a.state != AlertState::Inactive)
                            .map(alert_json)
                            .collect();
                        out.insert("alerts".into(), Value::Array(active));
                    }
                    out.insert("type".into(), "alerting".into());
                }
                RuleKind::Recording { record } => {
                    if !want_records {
                        continue;
                    }
                    out.insert("name".into(), record.as_str().into());
                    out.insert("query".into(), rule.spec.query().into());
                    out.insert("labels".into(), labels);
                    out.insert("type".into(), "recording".into());
                }
            }
            out.insert("health".into(), status.health.into());
            if !status.last_error.is_empty() {
                out.insert("lastError".into(), status.last_error.into());
            }
            out.insert("evaluationTime".into(), status.evaluation_time.as_secs_f64().into());
            out.insert("lastEvaluation".into(), when(status.last_evaluation).into());
            rules.push(Value::Object(out));
        }
        // Like Prometheus, a group is listed only with at least one rule.
        if rules.is_empty() {
            continue;
        }
        let (last, took) = *group.last.lock();
        let lang = match group.spec.lang {
            crate::rules::file::Lang::Promql => "promql",
            crate::rules::file::Lang::Logql => "logql",
        };
        groups.push(json!({
            "name": group.spec.name,
            "lang": lang,
            "file": file,
            "rules": rules,
            "interval": num(group.spec.interval.as_secs_f64()),
            "limit": group.spec.limit,
            "evaluationTime": took.as_secs_f64(),
            "lastEvaluation": when(last),
        }));
    }
    Ok(axum::Json(json!({"status": "success", "data": {"groups": groups}})).into_response())
}

use axum::response::IntoResponse;

async fn alerts(State(manager): State<Arc<RuleManager>>) -> Response {
    let mut out = Vec::new();
    for group in manager.groups() {
        for rule in &group.rules {
            if !matches!(rule.spec.kind, RuleKind::Alerting { .. }) {
                continue;
            }
            let set = rule.alerts.lock();
            out.extend(set.alerts().filter(|a| a.state != AlertState::Inactive).map(alert_json));
        }
    }
    axum::Json(json!({"status": "success", "data": {"alerts": out}})).into_response()
}

/// `GET /api/v1/alertmanagers`: the Alertmanagers alerts are sent to (static, so none dropped).
async fn alertmanagers(State(manager): State<Arc<RuleManager>>) -> Response {
    let active: Vec<Value> = manager
        .notifier()
        .stats()
        .targets
        .iter()
        .filter(|t| t.kind == "alertmanager")
        .map(|t| json!({"url": format!("{}/api/v2/alerts", t.url)}))
        .collect();
    axum::Json(json!({"status": "success", "data": {"activeAlertmanagers": active, "droppedAlertmanagers": []}}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::go_exp;

    #[test]
    fn go_float_e_format() {
        assert_eq!(go_exp(1.0), "1e+00");
        assert_eq!(go_exp(0.25), "2.5e-01");
        assert_eq!(go_exp(1234.5), "1.2345e+03");
        assert_eq!(go_exp(-3e-120), "-3e-120");
        assert_eq!(go_exp(0.0), "0e+00");
        assert_eq!(go_exp(f64::NAN), "NaN");
        assert_eq!(go_exp(f64::NEG_INFINITY), "-Inf");
    }
}
