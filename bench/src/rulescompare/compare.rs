//! The comparisons of range-query answers: recording-rule series point by point, and `ALERTS` as
//! per-alert state timelines and their transitions.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::scenario::PHASE_MS;
use super::systems::Series;

/// Points closer than this to a phase boundary are not held to equality (counted apart).
pub const BOUNDARY_MARGIN_MS: i64 = 3_000;
/// How far apart the same transition may be in the two systems.
pub const TRANSITION_SLACK_MS: i64 = 3_000;
/// Examples of differences kept per rule.
const MAX_EXAMPLES: usize = 8;

/// A label set as `{a="1", b="2"}` (without `__name__`).
pub fn label_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Within `BOUNDARY_MARGIN_MS` of a phase boundary.
pub fn near_boundary(t_ms: i64) -> bool {
    let into = t_ms.rem_euclid(PHASE_MS);
    into < BOUNDARY_MARGIN_MS || PHASE_MS - into < BOUNDARY_MARGIN_MS
}

/// Equal within `tolerance` relative to the larger magnitude (NaN equals NaN, infinities themselves).
pub fn close(a: f64, b: f64, tolerance: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= tolerance * a.abs().max(b.abs())
}

/// The outcome for one recording rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordResult {
    /// The record name.
    pub name: String,
    /// Relative tolerance used.
    pub tolerance: f64,
    /// Series in both answers.
    pub series_common: usize,
    /// Label sets only Prometheus produced.
    pub only_prometheus: Vec<String>,
    /// Label sets only Loupe produced.
    pub only_loupe: Vec<String>,
    /// Points held to equality (away from phase boundaries).
    pub points: usize,
    /// Of those, points that differ or are missing on one side.
    pub mismatches: usize,
    /// Points near a boundary (not held to equality).
    pub boundary_points: usize,
    /// Of those, points that differ (information only).
    pub boundary_differences: usize,
    /// The first differences, as text.
    pub examples: Vec<String>,
}

impl RecordResult {
    /// Whether this rule agrees.
    pub fn passed(&self) -> bool {
        self.mismatches == 0 && self.only_prometheus.is_empty() && self.only_loupe.is_empty() && self.points > 0
    }
}

/// Series keyed by their label text.
fn keyed(series: &[Series]) -> BTreeMap<String, &Series> {
    series.iter().map(|s| (label_text(&s.labels), s)).collect()
}

/// Compares the answers of both systems for recording rule `name`.
pub fn compare_records(name: &str, tolerance: f64, prometheus: &[Series], loupe: &[Series]) -> RecordResult {
    let (p, l) = (keyed(prometheus), keyed(loupe));
    let mut result = RecordResult {
        name: name.to_string(),
        tolerance,
        only_prometheus: p.keys().filter(|k| !l.contains_key(*k)).cloned().collect(),
        only_loupe: l.keys().filter(|k| !p.contains_key(*k)).cloned().collect(),
        ..RecordResult::default()
    };
    for (key, ps) in &p {
        let Some(ls) = l.get(key) else { continue };
        result.series_common += 1;
        let pm: BTreeMap<i64, f64> = ps.points.iter().copied().collect();
        let lm: BTreeMap<i64, f64> = ls.points.iter().copied().collect();
        let times: BTreeSet<i64> = pm.keys().chain(lm.keys()).copied().collect();
        for t in times {
            let (a, b) = (pm.get(&t).copied(), lm.get(&t).copied());
            let same = matches!((a, b), (Some(a), Some(b)) if close(a, b, tolerance));
            if near_boundary(t) {
                result.boundary_points += 1;
                result.boundary_differences += usize::from(!same);
                continue;
            }
            result.points += 1;
            if !same {
                result.mismatches += 1;
                if result.examples.len() < MAX_EXAMPLES {
                    let show = |v: Option<f64>| v.map_or_else(|| "absent".to_string(), |v| format!("{v}"));
                    result
                        .examples
                        .push(format!("{key} at {t}: prometheus {}, loupe {}", show(a), show(b)));
                }
            }
        }
    }
    result
}

/// An alert's state at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// No `ALERTS` series.
    Absent,
    /// `alertstate="pending"`.
    Pending,
    /// `alertstate="firing"`.
    Firing,
}

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// First step with the new state (ms).
    pub at_ms: i64,
    /// State before.
    pub from: State,
    /// State from `at_ms` on.
    pub to: State,
}

/// Per alert (the `ALERTS` labels but `alertstate`, as text): the state at every step of
/// `[start_ms, end_ms]`. Firing wins when both series are present at a step.
pub fn timelines(alerts: &[Series], start_ms: i64, end_ms: i64, step_ms: i64) -> BTreeMap<String, Vec<State>> {
    let steps = usize::try_from((end_ms - start_ms) / step_ms.max(1) + 1).unwrap_or(0);
    let mut out: BTreeMap<String, Vec<State>> = BTreeMap::new();
    for series in alerts {
        let state = match series.labels.get("alertstate").map(String::as_str) {
            Some("firing") => State::Firing,
            Some("pending") => State::Pending,
            _ => continue,
        };
        let mut labels = series.labels.clone();
        labels.remove("alertstate");
        let line = out
            .entry(label_text(&labels))
            .or_insert_with(|| vec![State::Absent; steps]);
        for &(t, _) in &series.points {
            if t < start_ms || (t - start_ms) % step_ms != 0 {
                continue;
            }
            let Ok(i) = usize::try_from((t - start_ms) / step_ms) else {
                continue;
            };
            if let Some(slot) = line.get_mut(i)
                && *slot != State::Firing
            {
                *slot = state;
            }
        }
    }
    out
}

/// The changes along a timeline whose first step is at `start_ms`.
pub fn transitions(line: &[State], start_ms: i64, step_ms: i64) -> Vec<Transition> {
    line.windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(|(i, w)| Transition {
            at_ms: start_ms + (i as i64 + 1) * step_ms,
            from: w[0],
            to: w[1],
        })
        .collect()
}

/// The outcome for one alerting rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertResult {
    /// The alert name.
    pub name: String,
    /// Alerts (label sets) seen by both.
    pub series_common: usize,
    /// Label sets only Prometheus had.
    pub only_prometheus: Vec<String>,
    /// Label sets only Loupe had.
    pub only_loupe: Vec<String>,
    /// Steps compared (information: states may differ near transitions).
    pub points: usize,
    /// Steps whose state differs (information only).
    pub differing_steps: usize,
    /// Transitions in Prometheus's timelines.
    pub transitions: usize,
    /// Of those, matched in Loupe (same order, same states, within the slack).
    pub transitions_matched: usize,
    /// Transition sequences that differ, plus label sets on one side only.
    pub mismatches: usize,
    /// Every transition of both, per alert, as text.
    pub details: Vec<String>,
}

impl AlertResult {
    /// Whether this alert agrees.
    pub fn passed(&self) -> bool {
        self.mismatches == 0 && self.transitions_matched == self.transitions
    }
}

/// Text of a transition list relative to `origin_ms`: `+31s absent→pending, +51s pending→firing`.
pub fn transitions_text(list: &[Transition], origin_ms: i64) -> String {
    if list.is_empty() {
        return "none".into();
    }
    let name = |s: State| match s {
        State::Absent => "absent",
        State::Pending => "pending",
        State::Firing => "firing",
    };
    let parts: Vec<String> = list
        .iter()
        .map(|t| format!("+{}s {}→{}", (t.at_ms - origin_ms) / 1000, name(t.from), name(t.to)))
        .collect();
    parts.join(", ")
}

/// Compares the `ALERTS` timelines of alert `name` over `[start_ms, end_ms]`.
pub fn compare_alert(
    name: &str,
    prometheus: &BTreeMap<String, Vec<State>>,
    loupe: &BTreeMap<String, Vec<State>>,
    start_ms: i64,
    step_ms: i64,
) -> AlertResult {
    let wanted = format!("alertname={name:?}");
    let mine = |m: &BTreeMap<String, Vec<State>>| -> BTreeMap<String, Vec<State>> {
        m.iter()
            .filter(|(k, _)| {
                k.trim_start_matches('{')
                    .trim_end_matches('}')
                    .split(", ")
                    .any(|part| part == wanted)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (p, l) = (mine(prometheus), mine(loupe));
    let mut result = AlertResult {
        name: name.to_string(),
        only_prometheus: p.keys().filter(|k| !l.contains_key(*k)).cloned().collect(),
        only_loupe: l.keys().filter(|k| !p.contains_key(*k)).cloned().collect(),
        ..AlertResult::default()
    };
    result.mismatches = result.only_prometheus.len() + result.only_loupe.len();
    for (key, pl) in &p {
        let Some(ll) = l.get(key) else { continue };
        result.series_common += 1;
        result.points += pl.len().min(ll.len());
        result.differing_steps += pl.iter().zip(ll).filter(|(a, b)| a != b).count();
        let (pt, lt) = (transitions(pl, start_ms, step_ms), transitions(ll, start_ms, step_ms));
        result.transitions += pt.len();
        let matched = pt
            .iter()
            .zip(&lt)
            .take_while(|(a, b)| a.from == b.from && a.to == b.to && (a.at_ms - b.at_ms).abs() <= TRANSITION_SLACK_MS)
            .count();
        result.transitions_matched += matched;
        let same = matched == pt.len() && pt.len() == lt.len() && pl.first() == ll.first();
        result.mismatches += usize::from(!same);
        result.details.push(format!(
            "{key}: prometheus {}; loupe {}{}",
            transitions_text(&pt, start_ms),
            transitions_text(&lt, start_ms),
            if same { "" } else { " (DIFFERENT)" }
        ));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
        Series {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn boundaries_and_closeness() {
        assert!(near_boundary(15_000));
        assert!(near_boundary(17_999));
        assert!(!near_boundary(18_000));
        assert!(!near_boundary(27_000));
        assert!(near_boundary(27_001));
        assert!(close(1.0, 1.0 + 1e-12, 1e-9));
        assert!(!close(1.0, 1.001, 1e-6));
        assert!(close(f64::NAN, f64::NAN, 0.0));
        assert!(!close(f64::NAN, 1.0, 0.0));
        assert!(close(0.0, 0.0, 0.0));
        assert_eq!(
            label_text(&series(&[("__name__", "x"), ("b", "2"), ("a", "1")], &[]).labels),
            "{a=\"1\", b=\"2\"}"
        );
    }

    #[test]
    fn compares_recording_series() {
        let p = [
            series(
                &[("queue", "a")],
                &[(5_000, 1.0), (10_000, 2.0), (15_000, 3.0), (20_000, 4.0)],
            ),
            series(&[("queue", "b")], &[(5_000, 1.0)]),
        ];
        let l = [
            series(&[("queue", "a")], &[(5_000, 1.0), (10_000, 2.5), (15_000, 9.0)]),
            series(&[("queue", "c")], &[(5_000, 1.0)]),
        ];
        let r = compare_records("q", 1e-9, &p, &l);
        assert_eq!(r.series_common, 1);
        assert_eq!(r.only_prometheus, vec!["{queue=\"b\"}"]);
        assert_eq!(r.only_loupe, vec!["{queue=\"c\"}"]);
        assert_eq!((r.points, r.mismatches), (3, 2), "{:?}", r.examples);
        assert_eq!((r.boundary_points, r.boundary_differences), (1, 1));
        assert_eq!(r.examples[0], "{queue=\"a\"} at 10000: prometheus 2, loupe 2.5");
        assert_eq!(r.examples[1], "{queue=\"a\"} at 20000: prometheus 4, loupe absent");
        assert!(!r.passed());
        let same = compare_records("q", 1e-9, &p[..1], &p[..1]);
        assert!(same.passed());
    }

    #[test]
    fn builds_timelines_and_transitions() {
        let alerts = [
            series(
                &[("alertname", "A"), ("alertstate", "pending"), ("q", "a")],
                &[(2_000, 1.0), (3_000, 1.0)],
            ),
            series(
                &[("alertname", "A"), ("alertstate", "firing"), ("q", "a")],
                &[(4_000, 1.0), (5_000, 1.0), (9_500, 1.0)],
            ),
        ];
        let lines = timelines(&alerts, 0, 7_000, 1_000);
        let line = &lines["{alertname=\"A\", q=\"a\"}"];
        use State::*;
        assert_eq!(
            line,
            &vec![Absent, Absent, Pending, Pending, Firing, Firing, Absent, Absent]
        );
        let t = transitions(line, 0, 1_000);
        assert_eq!(t.len(), 3);
        assert_eq!(
            t[1],
            Transition {
                at_ms: 4_000,
                from: Pending,
                to: Firing
            }
        );
        assert_eq!(
            transitions_text(&t, 0),
            "+2s absent→pending, +4s pending→firing, +6s firing→absent"
        );
    }

    #[test]
    fn compares_alert_transitions() {
        use State::*;
        let key = "{alertname=\"A\", q=\"a\"}".to_string();
        let other = "{alertname=\"AB\", q=\"a\"}".to_string();
        let p: BTreeMap<_, _> = [
            (key.clone(), vec![Absent, Pending, Pending, Firing, Absent]),
            (other.clone(), vec![Firing; 5]),
        ]
        .into();
        let shifted: BTreeMap<_, _> = [(key.clone(), vec![Absent, Absent, Pending, Firing, Firing])].into();
        let r = compare_alert("A", &p, &shifted, 0, 1_000);
        assert_eq!((r.series_common, r.transitions, r.transitions_matched), (1, 3, 2));
        assert_eq!(r.mismatches, 1);
        assert_eq!(r.differing_steps, 2);
        assert!(r.details[0].ends_with("(DIFFERENT)"), "{:?}", r.details);
        let r = compare_alert("A", &p, &p, 0, 1_000);
        assert!(r.passed());
        assert_eq!((r.transitions, r.transitions_matched, r.points), (3, 3, 5));
        let missing = compare_alert("AB", &p, &shifted, 0, 1_000);
        assert_eq!(missing.only_prometheus, vec![other]);
        assert!(!missing.passed());
    }
}
