//! `/api/v1/alerts` of both systems at the same moment: labels, expanded annotations, state and value
//! of every active alert must be identical.
//!
//! A snapshot is taken as P1, L1, P2, L2 in quick succession and used when P1 = P2 and L1 = L2 (no
//! evaluation changed anything in between); otherwise it is retried a few times.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::compare::{close, label_text};
use super::systems::{System, parse_labels};
use crate::Result;

/// Tries at a stable snapshot.
const ATTEMPTS: usize = 6;
/// Relative tolerance of alert values.
const VALUE_TOLERANCE: f64 = 1e-9;

/// One active alert of `/api/v1/alerts`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEntry {
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations, templates expanded.
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    /// `value` as sent (Go's `%e` formatting).
    pub value: String,
}

/// The alerts of an `/api/v1/alerts` answer, ordered by labels.
pub fn parse_alerts(answer: &Value) -> Result<Vec<AlertEntry>> {
    let alerts = answer
        .get("data")
        .and_then(|d| d.get("alerts"))
        .and_then(Value::as_array)
        .ok_or("no data.alerts array")?;
    let mut out = alerts
        .iter()
        .map(|alert| {
            let empty = Value::Object(serde_json::Map::new());
            Ok(AlertEntry {
                labels: parse_labels(alert.get("labels").ok_or("alert without labels")?)?,
                annotations: parse_labels(alert.get("annotations").unwrap_or(&empty))?,
                state: alert
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                value: alert
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_cached_key(|a| label_text(&a.labels));
    Ok(out)
}

/// The outcome of one snapshot.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnapshotResult {
    /// Seconds after the pattern started.
    pub at_s: f64,
    /// Whether both answers were stable across the snapshot.
    pub stable: bool,
    /// Active alerts in Prometheus.
    pub prometheus: usize,
    /// Active alerts in Loupe.
    pub loupe: usize,
    /// Alerts firing in both.
    pub firing: usize,
    /// Alerts identical in both.
    pub matched: usize,
    /// What differs, as text.
    pub differences: Vec<String>,
    /// The matched alerts: labels, state, value and annotations, as text.
    pub alerts: Vec<String>,
}

impl SnapshotResult {
    /// Whether the snapshot agrees and holds a firing alert.
    pub fn passed(&self) -> bool {
        self.differences.is_empty() && self.firing > 0
    }
}

/// Compares the alerts of both systems.
pub fn compare_snapshot(prometheus: &[AlertEntry], loupe: &[AlertEntry]) -> SnapshotResult {
    let keyed = |list: &[AlertEntry]| -> BTreeMap<String, AlertEntry> {
        list.iter().map(|a| (label_text(&a.labels), a.clone())).collect()
    };
    let (p, l) = (keyed(prometheus), keyed(loupe));
    let mut result = SnapshotResult {
        prometheus: p.len(),
        loupe: l.len(),
        ..SnapshotResult::default()
    };
    for key in p.keys().filter(|k| !l.contains_key(*k)) {
        result.differences.push(format!("only in Prometheus: {key}"));
    }
    for key in l.keys().filter(|k| !p.contains_key(*k)) {
        result.differences.push(format!("only in Loupe: {key}"));
    }
    for (key, pa) in &p {
        let Some(la) = l.get(key) else { continue };
        let before = result.differences.len();
        if pa.state != la.state {
            result
                .differences
                .push(format!("{key}: state prometheus {}, loupe {}", pa.state, la.state));
        }
        let (pv, lv) = (pa.value.parse::<f64>(), la.value.parse::<f64>());
        if !matches!((&pv, &lv), (Ok(a), Ok(b)) if close(*a, *b, VALUE_TOLERANCE)) {
            result
                .differences
                .push(format!("{key}: value prometheus {:?}, loupe {:?}", pa.value, la.value));
        }
        let names: std::collections::BTreeSet<&String> = pa.annotations.keys().chain(la.annotations.keys()).collect();
        for name in names {
            let (a, b) = (pa.annotations.get(name), la.annotations.get(name));
            if a != b {
                result
                    .differences
                    .push(format!("{key}: annotation {name}: prometheus {a:?}, loupe {b:?}"));
            }
        }
        if result.differences.len() == before {
            result.matched += 1;
            result.firing += usize::from(pa.state == "firing");
            let annotations: Vec<String> = pa.annotations.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            result.alerts.push(format!(
                "{key} {} value {}: {}",
                pa.state,
                pa.value,
                annotations.join(", ")
            ));
        }
    }
    result
}

/// Takes a snapshot of both systems (retrying until both are stable across it) and compares it.
pub fn take(prometheus: &System, loupe: &System, at_s: f64) -> Result<SnapshotResult> {
    let get = |system: &System| -> Result<Vec<AlertEntry>> { parse_alerts(&system.get_json("/api/v1/alerts")?) };
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let (p1, l1) = (get(prometheus)?, get(loupe)?);
        let (p2, l2) = (get(prometheus)?, get(loupe)?);
        let stable = p1 == p2 && l1 == l2;
        last = Some((p1, l1, stable));
        if stable {
            break;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let (p, l, stable) = last.ok_or("no snapshot taken")?;
    let mut result = compare_snapshot(&p, &l);
    result.at_s = at_s;
    result.stable = stable;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS: &str = r#"{"status":"success","data":{"alerts":[
        {"labels":{"alertname":"QueueBacklog","queue":"b"},"annotations":{"summary":"Queue b backlog is 12345",
         "description":"12.35k items"},"state":"firing","activeAt":"2024-01-01T00:00:00.1Z","value":"1.2345e+04"},
        {"labels":{"alertname":"QueueBacklog","queue":"a"},"annotations":{"summary":"Queue a backlog is 50"},
         "state":"pending","activeAt":"2024-01-01T00:00:00.1Z","value":"5e+01"}]}}"#;

    fn parsed(text: &str) -> Vec<AlertEntry> {
        parse_alerts(&serde_json::from_str(text).expect("json")).expect("parses")
    }

    #[test]
    fn parses_and_orders_alerts() {
        let alerts = parsed(PROMETHEUS);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].labels.get("queue").map(String::as_str), Some("a"));
        assert_eq!(
            alerts[1].annotations.get("description").map(String::as_str),
            Some("12.35k items")
        );
        assert_eq!(alerts[1].value, "1.2345e+04");
        assert!(parse_alerts(&serde_json::json!({"data": {}})).is_err());
    }

    #[test]
    fn compares_snapshots() {
        let p = parsed(PROMETHEUS);
        let same = compare_snapshot(&p, &p);
        assert!(same.passed(), "{:?}", same.differences);
        assert_eq!((same.matched, same.firing), (2, 1));
        assert!(
            same.alerts[1].contains("description=\"12.35k items\""),
            "{:?}",
            same.alerts
        );
        let loupe = PROMETHEUS
            .replace("12.35k items", "12.345k items")
            .replace("\"5e+01\"", "\"5.1e+01\"");
        let diff = compare_snapshot(&p, &parsed(&loupe));
        assert_eq!(diff.matched, 0);
        assert_eq!(diff.differences.len(), 2, "{:?}", diff.differences);
        assert!(
            diff.differences[1].contains("annotation description"),
            "{:?}",
            diff.differences
        );
        let missing = compare_snapshot(&p, &p[..1]);
        assert_eq!(missing.differences.len(), 1);
        assert!(missing.differences[0].starts_with("only in Prometheus"));
        assert!(!compare_snapshot(&[], &[]).passed(), "nothing firing");
    }
}
