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
    /// Whether the `for` state has been restored (done after the first evaluation).
    restored: std::sync::atomic::AtomicBool,
}

impl Group {
    /// A new group. Rules whose definition matches one of `previous` (same file, group, name and
    /// definition) take over its alerts, so a reload does not reset pending timers.
    pub fn new(spec: GroupSpec, previous: Option<&Group>) -> Group {
        let mut carried = false;
        let rules = spec
            .rules
            .iter()
            .cloned()
            .map(|r| {
                let rule = Rule::new(r);
                if let Some(old) =
                    previous.and_then(|p| p.rules.iter().find(|o| o.spec.identity() == rule.spec.identity()))
                {
                    *rule.alerts.lock() = old.alerts.lock().clone();
                    *rule.written.lock() = old.written.lock().clone();
                    *rule.status.lock() = old.status.lock().clone();
                    carried = true;
                }
                rule
            })
            .collect();
        let restored = previous.is_some_and(|p| p.restored.load(std::sync::atomic::Ordering::Acquire));
        Group {
            spec,
            rules,
            last: Mutex::new((None, Duration::ZERO)),
            restored: std::sync::atomic::AtomicBool::new(restored || carried),
        }
    }

    /// `file;name`, unique among groups.
    pub fn key(&self) -> String {
        format!("{};{}", self.spec.file.display(), self.spec.name)
    }

    /// The evaluation timestamp (ms) of the interval containing `now_ms`: a stable per-group
    /// offset spreads groups over the interval, as Prometheus does.
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let interval = self.spec.interval.as_millis().max(1) as i64;
        let offset = (xxhash_rust::xxh3::xxh3_64(self.key().as_bytes()) % interval as u64) as i64;
        let adjusted = now_ms - offset;
        adjusted - adjusted.rem_euclid(interval) + offset
    }

    /// Evaluates every rule at `ts` (ms). Runs on a blocking thread.
    pub fn evaluate(&self, ctx: &EvalContext, ts: i64) {
        let started = Instant::now();
        let wall = SystemTime::now();
        let ts = ts - self.spec.query_offset.as_millis() as i64;
        for rule in &self.rules {
            let rule_started = Instant::now();
            let result = self.evaluate_rule(ctx, rule, ts);
            rule.evaluations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut status = rule.status.lock();
            status.last_evaluation = Some(wall);
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
        if !self.restored.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.restore_for_state(ctx, ts);
        }
        *self.last.lock() = (Some(wall), started.elapsed());
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

    fn evaluate_rule(&self, ctx: &EvalContext, rule: &Rule, ts: i64) -> Result<(), String> {
        let samples = match self.query(ctx, &rule.spec.expr, ts) {
            Ok(s) => s,
            Err(e) => {
                // A failed rule's series go stale, as in Prometheus.
                self.write(ctx, rule, ts, Vec::new())?;
                return Err(e);
            }
        };
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
                        self.write(ctx, rule, ts, Vec::new())?;
                        return Err("vector contains metrics with the same labelset after applying rule labels".into());
                    }
                    out.push((labels, v));
                }
                if self.spec.limit > 0 && out.len() > self.spec.limit {
                    let n = out.len();
                    self.write(ctx, rule, ts, Vec::new())?;
                    return Err(format!("exceeded limit of {} with {n} series", self.spec.limit));
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
                let mut template_error = None;
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
                    let mut expand = |template: &Template, raw: &str| {
                        let mut out = String::new();
                        match template.render_alert(&data, &mut out) {
                            Ok(()) => out,
                            Err(e) => {
                                template_error.get_or_insert_with(|| e.to_string());
                                format!("<error expanding template: {e}>{raw}")
                            }
                        }
                    };
                    let mut b = LabelsBuilder::new(&labels);
                    b.del("__name__");
                    for (k, raw, template) in &rule.spec.labels {
                        let value = template.as_ref().map_or_else(|| raw.clone(), |t| expand(t, raw));
                        b.set(k, &value);
                    }
                    b.set("alertname", name);
                    let labels = b.labels();
                    if !seen.insert(labels.clone()) {
                        self.write(ctx, rule, ts, Vec::new())?;
                        return Err(
                            "vector contains metrics with the same labelset after applying alert labels".into(),
                        );
                    }
                    let annotations = annotations
                        .iter()
                        .map(|(k, raw, t)| (k.clone(), expand(t, raw)))
                        .collect();
                    candidates.push(Candidate {
                        labels,
                        annotations,
                        value,
                    });
                }
                let (series, sending) = {
                    let mut alerts = rule.alerts.lock();
                    let update = alerts.update(
                        ts,
                        candidates,
                        hold.as_millis() as i64,
                        keep_firing_for.as_millis() as i64,
                        self.spec.limit,
                    );
                    if let Err(e) = update {
                        drop(alerts);
                        self.write(ctx, rule, ts, Vec::new())?;
                        return Err(e);
                    }
                    let sending = alerts.take_due(
                        ts,
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
                match template_error {
                    Some(e) => Err(format!("expanding templates: {e}")),
                    None => Ok(()),
                }
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
                match query::promql::eval::TsdbStorage(&ctx.db).select(mint, ts - 1, &matchers) {
                    Ok(found) => {
                        for series in found {
                            let Some(last) = series.samples.iter().rev().find(|s| !tsdb::is_stale_nan(s.v)) else {
                                continue;
                            };
                            let key = LabelsBuilder::new(&series.labels).del("__name__").labels();
                            history.insert(key, (last.t, last.v));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(rule = %name, error = %e, "cannot read ALERTS_FOR_STATE to restore alerts")
                    }
                }
            }
            let mut alerts = rule.alerts.lock();
            alerts.restore(
                ts,
                &history,
                hold.as_millis() as i64,
                ctx.for_grace_period.as_millis() as i64,
            );
            let series = alerts.series();
            drop(alerts);
            if let Err(e) = self.write(ctx, rule, ts, series) {
                tracing::warn!(rule = %name, error = %e, "writing restored alert series failed");
            }
        }
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
