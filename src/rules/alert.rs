//! The state of one alerting rule's alerts: inactive → pending → firing → resolved, with `for`,
//! `keep_firing_for`, the `limit`, the `ALERTS` / `ALERTS_FOR_STATE` samples, which alerts to
//! (re)send, and the `for` state restored after a restart — all as Prometheus does it.
//!
//! Pure: times are milliseconds passed in by the caller, so every transition is unit-tested.

use std::collections::BTreeMap;

use tsdb::{Labels, LabelsBuilder};

/// How long a resolved alert is still sent (as resolved) before it is forgotten.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// State of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Resolved (kept for [`RESOLVED_RETENTION_MS`] to be sent as resolved).
    Inactive,
    /// The condition holds, not yet for `for`.
    Pending,
    /// The condition has held for `for`.
    Firing,
}

impl State {
    /// Prometheus's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Pending => "pending",
            State::Firing => "firing",
        }
    }
}

/// One alert of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its labels (the sample's without `__name__`, the rule's, `alertname`).
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Vec<(String, String)>,
    /// Its state.
    pub state: State,
    /// The last value of the expression for it.
    pub value: f64,
    /// When it became pending (ms).
    pub active_at: i64,
    /// When it started firing (ms).
    pub fired_at: Option<i64>,
    /// When it was resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last sent (ms).
    pub last_sent_at: Option<i64>,
    /// Until when the last sending is valid (ms): `endsAt` of a firing alert.
    pub valid_until: i64,
    /// Since when it is kept firing after its condition stopped (ms).
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    fn needs_sending(&self, ts: i64, resend_delay: i64) -> bool {
        if self.state == State::Pending {
            return false;
        }
        match (self.resolved_at, self.last_sent_at) {
            (Some(resolved), Some(sent)) if resolved > sent => true,
            (_, None) => true,
            (_, Some(sent)) => sent + resend_delay < ts,
        }
    }
}

/// One evaluation's result for an alerting rule, after templating.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The alert's labels (with `alertname`).
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Vec<(String, String)>,
    /// The sample value.
    pub value: f64,
}

/// A rule's alerts, by label set.
#[derive(Debug, Clone, Default)]
pub struct AlertSet {
    alerts: BTreeMap<Labels, Alert>,
    /// Whether the `for` state was restored (or nothing needed restoring): until then no
    /// `ALERTS` samples are written, as in Prometheus.
    pub restored: bool,
}

impl AlertSet {
    /// Applies one evaluation at `ts` (ms). `hold` is `for`, `keep_firing_for` likewise in ms;
    /// `limit` 0 means none. Fails (and forgets every alert) when more alerts than `limit` are
    /// pending or firing.
    pub fn update(
        &mut self,
        ts: i64,
        candidates: Vec<Candidate>,
        hold: i64,
        keep_firing_for: i64,
        limit: usize,
    ) -> Result<(), String> {
        let mut current = std::collections::HashSet::new();
        for c in candidates {
            current.insert(c.labels.clone());
            match self.alerts.get_mut(&c.labels) {
                Some(a) if a.state != State::Inactive => {
                    a.value = c.value;
                    a.annotations = c.annotations;
                }
                _ => {
                    self.alerts.insert(
                        c.labels.clone(),
                        Alert {
                            labels: c.labels,
                            annotations: c.annotations,
                            state: State::Pending,
                            value: c.value,
                            active_at: ts,
                            fired_at: None,
                            resolved_at: None,
                            last_sent_at: None,
                            valid_until: 0,
                            keep_firing_since: None,
                        },
                    );
                }
            }
        }
        let mut active = 0usize;
        let mut forget = Vec::new();
        for (key, a) in self.alerts.iter_mut() {
            if !current.contains(key) {
                let mut keep_firing = false;
                if a.state == State::Firing && keep_firing_for > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < keep_firing_for;
                }
                if a.state == State::Pending || a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION_MS) {
                    forget.push(key.clone());
                }
                if a.state != State::Inactive && !keep_firing {
                    a.state = State::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active += 1;
            if a.state == State::Pending && ts - a.active_at >= hold {
                a.state = State::Firing;
                a.fired_at = Some(ts);
            }
        }
        for key in forget {
            self.alerts.remove(&key);
        }
        if limit > 0 && active > limit {
            self.alerts.clear();
            return Err(format!("exceeded limit of {limit} with {active} alerts"));
        }
        Ok(())
    }

    /// Pending and firing alerts, and resolved ones still kept, in label order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// The rule's state: firing if any alert fires, else pending if any is pending, else inactive.
    pub fn state(&self) -> State {
        let mut state = State::Inactive;
        for a in self.alerts.values() {
            match a.state {
                State::Firing => return State::Firing,
                State::Pending => state = State::Pending,
                State::Inactive => {}
            }
        }
        state
    }

    /// The `ALERTS` and `ALERTS_FOR_STATE` samples of this evaluation (none until restored).
    pub fn series(&self) -> Vec<(Labels, f64)> {
        if !self.restored {
            return Vec::new();
        }
        let mut out = Vec::new();
        for a in self.alerts.values().filter(|a| a.state != State::Inactive) {
            let alerts = LabelsBuilder::new(&a.labels)
                .set("__name__", "ALERTS")
                .set("alertstate", a.state.as_str())
                .labels();
            out.push((alerts, 1.0));
            let for_state = LabelsBuilder::new(&a.labels)
                .set("__name__", "ALERTS_FOR_STATE")
                .labels();
            out.push((for_state, (a.active_at / 1000) as f64));
        }
        out
    }

    /// The alerts to send at `ts`, marking them sent: firing ones every `resend_delay`, resolved
    /// ones once more after resolution (and every `resend_delay` while kept). A firing alert's
    /// `endsAt` is `ts + 4 × max(resend_delay, interval)`, so Alertmanager resolves it if Loupe
    /// stops sending.
    pub fn take_due(&mut self, ts: i64, resend_delay: i64, interval: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for a in self.alerts.values_mut() {
            if a.needs_sending(ts, resend_delay) {
                a.last_sent_at = Some(ts);
                a.valid_until = ts + 4 * resend_delay.max(interval);
                out.push(a.clone());
            }
        }
        out
    }

    /// Restores the `for` state after a restart from `ALERTS_FOR_STATE` history: for each alert of
    /// the first evaluation that has a series there, `(timestamp of its last sample, value = active
    /// time in seconds)`. Like Prometheus: an alert that was firing keeps its start; one that
    /// was pending continues where it left off, the downtime not counted; one that would fire
    /// within `grace` of now fires no earlier than `now + grace`.
    /// Alerts whose `for` is shorter than `grace` are not restored (they simply wait `for`
    /// again), as in Prometheus.
    pub fn restore(&mut self, now: i64, history: &BTreeMap<Labels, (i64, f64)>, hold: i64, grace: i64) {
        if hold > 0 && hold >= grace {
            for a in self.alerts.values_mut() {
                if a.state == State::Inactive {
                    continue;
                }
                let Some(&(down_at, active_secs)) = history.get(&a.labels) else {
                    continue;
                };
                if !active_secs.is_finite() {
                    continue;
                }
                let mut restored = (active_secs * 1000.0) as i64;
                let spent = down_at - restored;
                let remaining = hold - spent;
                if remaining <= 0 {
                    // Was firing: the next evaluation fires it again.
                } else if remaining < grace {
                    restored = now + grace - hold;
                } else {
                    restored += now - down_at;
                }
                a.active_at = restored;
            }
        }
        self.restored = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).expect("labels")
    }

    fn candidate(instance: &str, value: f64) -> Candidate {
        Candidate {
            labels: labels(&[("alertname", "Down"), ("instance", instance)]),
            annotations: vec![("summary".into(), format!("{instance} down"))],
            value,
        }
    }

    fn restored() -> AlertSet {
        AlertSet {
            restored: true,
            ..AlertSet::default()
        }
    }

    #[test]
    fn pending_then_firing_then_resolved_then_forgotten() {
        let mut set = restored();
        set.update(0, vec![candidate("a", 1.0)], 5 * MIN, 0, 0).expect("update");
        assert_eq!(set.state(), State::Pending);
        assert!(set.take_due(0, MIN, MIN).is_empty(), "pending alerts are not sent");
        let series = set.series();
        assert_eq!(
            series[0].0.to_string(),
            r#"{__name__="ALERTS", alertname="Down", alertstate="pending", instance="a"}"#
        );
        assert_eq!(
            series[1],
            (
                labels(&[
                    ("__name__", "ALERTS_FOR_STATE"),
                    ("alertname", "Down"),
                    ("instance", "a")
                ]),
                0.0
            )
        );
        set.update(4 * MIN, vec![candidate("a", 2.0)], 5 * MIN, 0, 0)
            .expect("update");
        assert_eq!(set.state(), State::Pending);
        set.update(5 * MIN, vec![candidate("a", 3.0)], 5 * MIN, 0, 0)
            .expect("update");
        assert_eq!(set.state(), State::Firing);
        let a = set.alerts().next().expect("alert");
        assert_eq!((a.fired_at, a.value, a.active_at), (Some(5 * MIN), 3.0, 0));
        let sent = set.take_due(5 * MIN, MIN, MIN);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].valid_until, 9 * MIN);
        assert!(
            set.take_due(5 * MIN + MIN / 2, MIN, MIN).is_empty(),
            "not before the resend delay"
        );
        assert_eq!(set.take_due(6 * MIN + 1, MIN, MIN).len(), 1, "resent after the delay");
        // The condition stops: resolved, sent once as resolved, forgotten after 15 minutes.
        set.update(7 * MIN, vec![], 5 * MIN, 0, 0).expect("update");
        let a = set.alerts().next().expect("kept");
        assert_eq!((a.state, a.resolved_at), (State::Inactive, Some(7 * MIN)));
        assert!(set.series().is_empty(), "no ALERTS sample for resolved alerts");
        let sent = set.take_due(7 * MIN, MIN, MIN);
        assert_eq!((sent.len(), sent[0].resolved_at), (1, Some(7 * MIN)));
        set.update(23 * MIN, vec![], 5 * MIN, 0, 0).expect("update");
        assert_eq!(set.alerts().count(), 0);
    }

    #[test]
    fn pending_alerts_vanish_and_zero_for_fires_at_once() {
        let mut set = restored();
        set.update(0, vec![candidate("a", 1.0)], 5 * MIN, 0, 0).expect("update");
        set.update(MIN, vec![], 5 * MIN, 0, 0).expect("update");
        assert_eq!(set.alerts().count(), 0, "a pending alert that stops is forgotten");
        set.update(2 * MIN, vec![candidate("b", 1.0)], 0, 0, 0).expect("update");
        assert_eq!(set.state(), State::Firing);
    }

    #[test]
    fn keep_firing_for() {
        let mut set = restored();
        set.update(0, vec![candidate("a", 1.0)], 0, 2 * MIN, 0).expect("update");
        assert_eq!(set.state(), State::Firing);
        set.update(MIN, vec![], 0, 2 * MIN, 0).expect("update");
        assert_eq!(set.state(), State::Firing, "kept firing");
        assert_eq!(set.alerts().next().and_then(|a| a.keep_firing_since), Some(MIN));
        set.update(2 * MIN, vec![], 0, 2 * MIN, 0).expect("update");
        assert_eq!(set.state(), State::Firing);
        set.update(3 * MIN, vec![], 0, 2 * MIN, 0).expect("update");
        assert_eq!(set.state(), State::Inactive, "resolved after keep_firing_for");
        // The condition returning resets the keep-firing clock.
        set.update(4 * MIN, vec![candidate("a", 1.0)], 0, 2 * MIN, 0)
            .expect("update");
        assert_eq!(
            set.alerts().next().map(|a| (a.state, a.active_at)),
            Some((State::Firing, 4 * MIN))
        );
    }

    #[test]
    fn limit_clears_everything() {
        let mut set = restored();
        let err = set
            .update(0, vec![candidate("a", 1.0), candidate("b", 1.0)], 0, 0, 1)
            .expect_err("over the limit");
        assert_eq!(err, "exceeded limit of 1 with 2 alerts");
        assert_eq!(set.alerts().count(), 0);
    }

    #[test]
    fn restore_for_state() {
        let hold = 30 * MIN;
        let grace = 10 * MIN;
        let key = labels(&[("alertname", "Down"), ("instance", "a")]);
        // Pending for 5 minutes (active at 100 min), down at 105 min, restarted at 120 min: the
        // 5 minutes count, the 15 minutes of downtime do not.
        let mut set = AlertSet::default();
        set.update(120 * MIN, vec![candidate("a", 1.0)], hold, 0, 0)
            .expect("update");
        assert!(set.series().is_empty(), "no ALERTS before restoring");
        let history = BTreeMap::from([(key.clone(), (105 * MIN, (100 * MIN / 1000) as f64))]);
        set.restore(120 * MIN, &history, hold, grace);
        assert_eq!(set.alerts().next().map(|a| a.active_at), Some(115 * MIN));
        assert_eq!(set.series().len(), 2);
        // Nearly due: fires no earlier than the grace period.
        let mut set = AlertSet::default();
        set.update(120 * MIN, vec![candidate("a", 1.0)], hold, 0, 0)
            .expect("update");
        let history = BTreeMap::from([(key.clone(), (105 * MIN, (80 * MIN / 1000) as f64))]);
        set.restore(120 * MIN, &history, hold, grace);
        assert_eq!(set.alerts().next().map(|a| a.active_at), Some(100 * MIN));
        // Was firing: keeps its original start and fires at the next evaluation.
        let mut set = AlertSet::default();
        set.update(120 * MIN, vec![candidate("a", 1.0)], hold, 0, 0)
            .expect("update");
        let history = BTreeMap::from([(key, (105 * MIN, (60 * MIN / 1000) as f64))]);
        set.restore(120 * MIN, &history, hold, grace);
        assert_eq!(set.alerts().next().map(|a| a.active_at), Some(60 * MIN));
        set.update(121 * MIN, vec![candidate("a", 1.0)], hold, 0, 0)
            .expect("update");
        assert_eq!(set.state(), State::Firing);
        // A `for` shorter than the grace period starts over.
        let mut set = AlertSet::default();
        set.update(120 * MIN, vec![candidate("a", 1.0)], 5 * MIN, 0, 0)
            .expect("update");
        let key = labels(&[("alertname", "Down"), ("instance", "a")]);
        set.restore(120 * MIN, &BTreeMap::from([(key, (105 * MIN, 6000.0))]), 5 * MIN, grace);
        assert_eq!(set.alerts().next().map(|a| a.active_at), Some(120 * MIN));
        assert!(set.restored);
    }
}
