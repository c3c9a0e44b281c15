//! Evaluating one rule group: each rule in order at one timestamp, recording rules' samples and
//! the `ALERTS` / `ALERTS_FOR_STATE` series written (and committed) before the next rule runs,
//! staleness markers for series that disappeared, alerts handed to the notifier.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use query::logql::eval::template::{AlertData, Template};
use tsdb::db::Db;
use tsdb::{Labels, LabelsBuilder, Matcher};

use super::alert::{AlertSet, Candidate, State};
use super::file::{Expr, GroupSpec, RuleKind, RuleSpec};
use super::notify;

/// What evaluation needs from the rest of the server.
pub struct EvalContext {
    /// The TSDB: read by PromQL rules, written by every rule.
    pub db: Arc<Db>,
    /// The log store, read by LogQL rules.
    pub logs: Arc<logs::LogStore>,
    /// The PromQL engine.
    pub promql: query::promql::eval::Engine,
    /// LogQL engine limits.
    pub logql: query::logql::eval::EngineOptions,
    /// Where alerts go.
    pub notifier: Arc<notify::Notifier>,
    /// `global.external_labels`, added to alerts that lack them.
    pub external_labels: Vec<(String, String)>,
    /// The URL alerts link back to (`generatorURL`).
    pub external_url: String,
    /// How often a firing alert is re-sent (Prometheus's `rules.alert.resend-delay`, 1m).
    pub resend_delay: Duration,
    /// Minimum time before a restored alert fires (`rules.alert.for-grace-period`, 10m).
    pub for_grace_period: Duration,
    /// How far back the `for` state is looked up at start-up (`rules.alert.for-outage-tolerance`, 1h).
    pub outage_tolerance: Duration,
}

/// Health of a rule after its last evaluation.
#[derive(Debug, Clone, Default)]
pub struct RuleStatus {
    /// `ok`, `err` or `unknown` (not evaluated yet).
    pub health: &'static str,
    /// The last error, empty when healthy.
    pub last_error: String,
    /// Wall-clock time of the last evaluation.
    pub last_evaluation: Option<SystemTime>,
    /// How long it took.
    pub evaluation_time: Duration,
}

/// A rule with its state.
pub struct Rule {
    /// The definition.
    pub spec: RuleSpec,
    /// Health of the last evaluation.
    pub status: Mutex<RuleStatus>,
    /// Alerts (alerting rules).
    pub alerts: Mutex<AlertSet>,
    /// Series written by the last evaluation (for staleness markers).
    written: Mutex<HashSet<Labels>>,
    /// Evaluations and failures, for `/metrics`.
    pub evaluations: std::sync::atomic::AtomicU64,
    /// Failed evaluations.
    pub failures: std::sync::atomic::AtomicU64,
}

impl Rule {
    fn new(spec: RuleSpec) -> Rule {
        Rule {
            spec,
            status: Mutex::new(RuleStatus {
                health: "unknown",
                ..RuleStatus::default()
            }),
            alerts: Mutex::new(AlertSet::default()),
            written: Mutex::new(HashSet::new()),
            evaluations: Default::default(),
            failures: Default::default(),
        }
    }
}

/// A group with its rules' state.
pub struct Group {
    /// The definition.
    pub spec: GroupSpec,
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// Wall-clock time and duration of the last evaluation.
    pub last: Mutex<(Option<SystemTime>, Duration)>,
    /// Whether the `for` state is to be restored (groups of the first load only, as in Prometheus).
    should_restore: std::sync::atomic::AtomicBool,
    /// Evaluations run (restoration happens after the second).
    evaluations: std::sync::atomic::AtomicU64,
    /// Series of rules removed or changed by a reload, marked stale at the next evaluation.
    stale: Mutex<HashSet<Labels>>,
}

impl Group {
    /// A new group. Rules matching one of `previous`'s by name and labels (duplicates paired in
    /// order, as Prometheus's `CopyState`) take over its alerts, series and health, so a reload
    /// does not reset pending timers; the series of unmatched old rules go stale at the first
    /// evaluation. `initial` is true for the groups of the first load: only they restore the
    /// `for` state from `ALERTS_FOR_STATE`.
    pub fn new(spec: GroupSpec, previous: Option<&Group>, initial: bool) -> Group {
        let mut taken = vec![false; previous.map_or(0, |p| p.rules.len())];
        let rules: Vec<Rule> = spec
            .rules
            .iter()
            .cloned()
            .map(|r| {
                let rule = Rule::new(r);
                let found = previous.and_then(|p| {
                    p.rules.iter().enumerate().find(|(i, o)| {
                        !taken[*i] && o.spec.name() == rule.spec.name() && o.spec.labels_key() == rule.spec.labels_key()
                    })
                });
                if let Some((i, old)) = found {
                    taken[i] = true;
                    if matches!(old.spec.kind, RuleKind::Alerting { .. })
                        == matches!(rule.spec.kind, RuleKind::Alerting { .. })
                    {
                        *rule.alerts.lock() = old.alerts.lock().clone();
                    }
                    *rule.written.lock() = old.written.lock().clone();
                    *rule.status.lock() = old.status.lock().clone();
                    let relaxed = std::sync::atomic::Ordering::Relaxed;
                    rule.evaluations.store(old.evaluations.load(relaxed), relaxed);
                    rule.failures.store(old.failures.load(relaxed), relaxed);
                }
                // Rules loaded after start-up write ALERTS from their first evaluation.
                if !initial {
                    rule.alerts.lock().restored = true;
                }
                rule
            })
            .collect();
        let mut stale = HashSet::new();
        if let Some(p) = previous {
            for (i, old) in p.rules.iter().enumerate() {
                if !taken[i] {
                    stale.extend(old.written.lock().iter().cloned());
                }
            }
            stale.extend(p.stale.lock().iter().cloned());
        }
        let last = previous.map_or((None, Duration::ZERO), |p| *p.last.lock());
        Group {
            spec,
            rules,
            last: Mutex::new(last),
            should_restore: std::sync::atomic::AtomicBool::new(initial),
            evaluations: Default::default(),
            stale: Mutex::new(stale),
        }
    }

    /// `file;name`, unique among groups.
    pub fn key(&self) -> String {
        format!("{};{}", self.spec.file.display(), self.spec.name)
    }

    /// The evaluation timestamp (ms) of the interval containing `now_ms`: the same per-group
    /// offset as Prometheus (xxHash64 of the group's `file` and `name` labels, in nanoseconds),
    /// so both evaluate a rule file at the same instants.
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let interval = self.spec.interval.as_nanos().clamp(1, i64::MAX as u128) as i64;
        let mut key = Vec::new();
        for (name, value) in [
            ("file", self.spec.file.to_string_lossy()),
            ("name", self.spec.name.as_str().into()),
        ] {
            key.extend_from_slice(name.as_bytes());
            key.push(0xff);
            key.extend_from_slice(value.as_bytes());
            key.push(0xff);
        }
        let offset = (xxhash_rust::xxh64::xxh64(&key, 0) % interval as u64) as i64;
        let now = now_ms.saturating_mul(1_000_000);
        let adjusted = now - offset;
        (adjusted - adjusted.rem_euclid(interval) + offset) / 1_000_000
    }

    /// Writes staleness markers for every series the group's rules wrote (the group was removed).
    pub fn mark_all_stale(&self, ctx: &EvalContext, ts: i64) {
        let mut series: HashSet<Labels> = std::mem::take(&mut *self.stale.lock());
        for rule in &self.rules {
            series.extend(std::mem::take(&mut *rule.written.lock()));
        }
        write_stale(ctx, &series, ts);
    }

    /// Evaluates every rule at `ts` (ms). Runs on a blocking thread.
    pub fn evaluate(&self, ctx: &EvalContext, ts: i64) {
        let started = Instant::now();
        let wall = SystemTime::now();
        // Queries and their samples are at `ts - query_offset`; alert state is at `ts`.
        let query_ts = ts - self.spec.query_offset.as_millis() as i64;
        let stale: HashSet<Labels> = std::mem::take(&mut *self.stale.lock());
        if !stale.is_empty() {
            write_stale(ctx, &stale, query_ts);
        }
        for rule in &self.rules {
            let rule_started = Instant::now();
            let rule_wall = SystemTime::now();
            let result = self.evaluate_rule(ctx, rule, query_ts, ts);
            rule.evaluations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut status = rule.status.lock();
            status.last_evaluation = Some(rule_wall);
            status.evaluation_time = rule_started.elapsed();
            match result {
                Ok(()) => {
                    status.health = "ok";
                    status.last_error.clear();
                }
                Err(error) => {
                    rule.failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(group = %self.spec.name, rule = %rule.spec.name(), %error, "rule evaluation failed");
                    status.health = "err";
                    status.last_error = error;
                }
            }
        }
        *self.last.lock() = (Some(wall), started.elapsed());
        // Like Prometheus, restore after the second evaluation: by then recording rules the alerts
        // depend on have values.
        let n = self.evaluations.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1;
        if n >= 2 && self.should_restore.swap(false, std::sync::atomic::Ordering::AcqRel) {
            self.restore_for_state(ctx, crate::api::now_ms());
        } else if n >= 2 {
            for rule in &self.rules {
                rule.alerts.lock().restored = true;
            }
        }
    }

    /// Runs a rule's query at `ts` and returns its samples.
    fn query(&self, ctx: &EvalContext, expr: &Expr, ts: i64) -> Result<Vec<(Labels, f64)>, String> {
        match expr {
            Expr::Promql(e) => {
                let result = ctx
                    .promql
                    .instant(&query::promql::eval::TsdbStorage(&ctx.db), e, ts, None)
                    .map_err(|e| e.to_string())?;
                match result.value {
                    query::promql::eval::Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
                    query::promql::eval::Value::Scalar { v, .. } => Ok(vec![(Labels::default(), v)]),
                    _ => Err("rule result is not a vector or scalar".into()),
                }
            }
            Expr::Logql(e) => {
                let engine = query::logql::eval::Engine::new(ctx.logs.as_ref(), ctx.logql.clone());
                match engine
                    .query_instant(e, ts.saturating_mul(1_000_000))
                    .map_err(|e| e.to_string())?
                {
                    query::logql::eval::QueryValue::Vector { samples, .. } => Ok(samples),
                    query::logql::eval::QueryValue::Scalar { value, .. } => Ok(vec![(Labels::default(), value)]),
                    _ => Err("rule result is not a vector or scalar".into()),
                }
            }
        }
    }

    /// Evaluates one rule: its query and samples at `ts`, alert state at `state_ts`. A failing
    /// rule writes nothing and keeps its series (they are not marked stale), as in Prometheus.
    fn evaluate_rule(&self, ctx: &EvalContext, rule: &Rule, ts: i64, state_ts: i64) -> Result<(), String> {
        let samples = self.query(ctx, &rule.spec.expr, ts)?;
        match &rule.spec.kind {
            RuleKind::Recording { record } => {
                let mut out = Vec::with_capacity(samples.len());
                let mut seen = HashSet::with_capacity(samples.len());
                for (labels, v) in samples {
                    let mut b = LabelsBuilder::new(&labels);
                    b.set("__name__", record);
                    for (k, v, _) in &rule.spec.labels {
                        b.set(k, v);
                    }
                    let labels = b.labels();
                    if !seen.insert(labels.clone()) {
                        return Err("vector contains metrics with the same labelset after applying rule labels".into());
                    }
                    out.push((labels, v));
                }
                if self.spec.limit > 0 && out.len() > self.spec.limit {
                    return Err(format!(
                        "exceeded limit of {} with {} series",
                        self.spec.limit,
                        out.len()
                    ));
                }
                self.write(ctx, rule, ts, out)
            }
            RuleKind::Alerting {
                name,
                hold,
                keep_firing_for,
                annotations,
            } => {
                let mut candidates = Vec::with_capacity(samples.len());
                let mut seen = HashSet::new();
                for (labels, value) in samples {
                    let pairs: Vec<(String, String)> = labels
                        .iter()
                        .map(|l| (l.name.to_string(), l.value.to_string()))
                        .collect();
                    let data = AlertData {
                        labels: &pairs,
                        external_labels: &ctx.external_labels,
                        value,
                        external_url: &ctx.external_url,
                    };
                    // A template that fails expands to the error, as in Prometheus (the rule stays healthy).
                    let expand = |template: &Template| {
                        let mut out = String::new();
                        match template.render_alert(&data, &mut out) {
                            Ok(()) => out,
                            Err(e) => {
                                tracing::warn!(rule = %name, error = %e, "expanding alert template failed");
                                format!("<error expanding template: {e}>")
                            }
                        }
                    };
                    let mut b = LabelsBuilder::new(&labels);
                    b.del("__name__");
                    for (k, raw, template) in &rule.spec.labels {
                        let value = template.as_ref().map_or_else(|| raw.clone(), &expand);
                        b.set(k, &value);
                    }
                    b.set("alertname", name);
                    let labels = b.labels();
                    if !seen.insert(labels.clone()) {
                        return Err(
                            "vector contains metrics with the same labelset after applying alert labels".into(),
                        );
                    }
                    let annotations = annotations.iter().map(|(k, _, t)| (k.clone(), expand(t))).collect();
                    candidates.push(Candidate {
                        labels,
                        annotations,
                        value,
                    });
                }
                let (series, sending) = {
                    let mut alerts = rule.alerts.lock();
                    let update = alerts.update(
                        state_ts,
                        candidates,
                        hold.as_millis() as i64,
                        keep_firing_for.as_millis() as i64,
                        self.spec.limit,
                    );
                    update?;
                    let sending = alerts.take_due(
                        state_ts,
                        ctx.resend_delay.as_millis() as i64,
                        self.spec.interval.as_millis() as i64,
                    );
                    (alerts.series(), sending)
                };
                self.write(ctx, rule, ts, series)?;
                if !sending.is_empty() {
                    ctx.notifier.send(
                        sending
                            .into_iter()
                            .map(|a| self.to_notification(ctx, rule, a))
                            .collect(),
                    );
                }
                Ok(())
            }
        }
    }

    /// An alert as sent: external labels added where missing, `endsAt` set.
    fn to_notification(&self, ctx: &EvalContext, rule: &Rule, a: super::alert::Alert) -> notify::Alert {
        let mut labels: BTreeMap<String, String> = a
            .labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect();
        for (k, v) in &ctx.external_labels {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let at = |ms: i64| SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
        let ends_at = match a.resolved_at {
            Some(r) if a.state == State::Inactive => at(r),
            _ => at(a.valid_until),
        };
        let page = if self.spec.lang == super::file::Lang::Logql {
            "logs"
        } else {
            "metrics"
        };
        notify::Alert {
            labels: labels.into_iter().collect(),
            annotations: a.annotations,
            starts_at: at(a.fired_at.unwrap_or(a.active_at)),
            ends_at: Some(ends_at),
            generator_url: format!(
                "{}/#/{page}?q={}",
                ctx.external_url.trim_end_matches('/'),
                percent_encode(&rule.spec.expr_text)
            ),
        }
    }

    /// Appends `series` at `ts` and staleness markers for the rule's series of the last
    /// evaluation that are gone, then commits (so the next rule sees them).
    fn write(&self, ctx: &EvalContext, rule: &Rule, ts: i64, series: Vec<(Labels, f64)>) -> Result<(), String> {
        let mut written = rule.written.lock();
        let now: HashSet<Labels> = series.iter().map(|(l, _)| l.clone()).collect();
        let mut appender = ctx.db.appender();
        for (labels, v) in &series {
            appender.append(labels, ts, *v).map_err(|e| e.to_string())?;
        }
        for gone in written.difference(&now) {
            appender
                .append(gone, ts, tsdb::stale_nan())
                .map_err(|e| e.to_string())?;
        }
        if !appender.is_empty() {
            let stats = appender.commit().map_err(|e| format!("writing rule results: {e}"))?;
            if stats.out_of_order + stats.out_of_bounds + stats.duplicate_conflicts > 0 {
                tracing::debug!(rule = %rule.spec.name(), ?stats, "some rule samples were not stored");
            }
        }
        *written = now;
        Ok(())
    }

    /// Restores alerts' `for` state from `ALERTS_FOR_STATE` over the outage tolerance.
    fn restore_for_state(&self, ctx: &EvalContext, ts: i64) {
        for rule in &self.rules {
            let RuleKind::Alerting { name, hold, .. } = &rule.spec.kind else {
                continue;
            };
            let mut history = BTreeMap::new();
            if !hold.is_zero() {
                let mint = ts - ctx.outage_tolerance.as_millis() as i64;
                let matchers = [
                    Matcher::new(tsdb::MatchType::Equal, "__name__", "ALERTS_FOR_STATE"),
                    Matcher::new(tsdb::MatchType::Equal, "alertname", name.as_str()),
                ];
                let matchers: Vec<Matcher> = matchers.into_iter().filter_map(Result::ok).collect();
                use query::promql::eval::Storage;
                match query::promql::eval::TsdbStorage(&ctx.db).select(mint, ts, &matchers) {
                    Ok(found) => {
                        for series in found {
                            // The last sample decides: a staleness marker means the alert had
                            // resolved, and nothing is restored (as in Prometheus).
                            let Some(last) = series.samples.last() else { continue };
                            if tsdb::is_stale_nan(last.v) {
                                continue;
                            }
                            let key = LabelsBuilder::new(&series.labels).del("__name__").labels();
                            // Prometheus keeps whole seconds of the time it went down.
                            history.insert(key, (last.t - last.t.rem_euclid(1000), last.v));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(rule = %name, error = %e, "cannot read ALERTS_FOR_STATE to restore alerts")
                    }
                }
            }
            rule.alerts.lock().restore(
                ts,
                &history,
                hold.as_millis() as i64,
                ctx.for_grace_period.as_millis() as i64,
            );
        }
    }
}

/// Appends staleness markers for `series` at `ts`.
fn write_stale(ctx: &EvalContext, series: &HashSet<Labels>, ts: i64) {
    let mut appender = ctx.db.appender();
    for labels in series {
        if let Err(e) = appender.append(labels, ts, tsdb::stale_nan()) {
            tracing::warn!(series = %labels, error = %e, "cannot mark a rule series stale");
        }
    }
    if !appender.is_empty()
        && let Err(e) = appender.commit()
    {
        tracing::warn!(error = %e, "writing staleness markers of rule series failed");
    }
}

/// Percent-encodes a query for a URL's query string.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
