//! Recording and alerting rules, in Prometheus's rule-file format, over metrics (PromQL) and logs
//! (LogQL groups): parsing and validation (`file`), the alert state machine (`alert`), group
//! evaluation (`group`), delivery to Alertmanager and webhooks (`notify`), and the manager that
//! runs one task per group and swaps groups on reload.

pub mod alert;
pub mod file;
pub mod group;
pub mod metrics;
pub mod notify;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use file::GroupSpec;
use group::{EvalContext, Group};

/// Runs the rule groups.
pub struct RuleManager {
    state: Mutex<ManagerState>,
}

struct ManagerState {
    ctx: Arc<EvalContext>,
    groups: Vec<Arc<Group>>,
    stops: Vec<watch::Sender<bool>>,
}

impl RuleManager {
    /// A manager with no groups yet.
    pub fn new(ctx: EvalContext) -> Arc<RuleManager> {
        Arc::new(RuleManager {
            state: Mutex::new(ManagerState {
                ctx: Arc::new(ctx),
                groups: Vec::new(),
                stops: Vec::new(),
            }),
        })
    }

    /// Replaces the groups (and the external labels / URL), carrying over the state of rules
    /// whose definition did not change. Must run inside the tokio runtime.
    pub fn apply(&self, specs: Vec<GroupSpec>, external_labels: Vec<(String, String)>, external_url: String) {
        let mut state = self.state.lock();
        for stop in state.stops.drain(..) {
            let _ = stop.send(true);
        }
        let old = &state.ctx;
        let ctx = Arc::new(EvalContext {
            db: old.db.clone(),
            logs: old.logs.clone(),
            promql: query::promql::eval::Engine::new(old.promql.options().clone()),
            logql: old.logql.clone(),
            notifier: old.notifier.clone(),
            external_labels,
            external_url,
            resend_delay: old.resend_delay,
            for_grace_period: old.for_grace_period,
            outage_tolerance: old.outage_tolerance,
        });
        let previous = std::mem::take(&mut state.groups);
        let mut groups = Vec::with_capacity(specs.len());
        for spec in specs {
            let key = format!("{};{}", spec.file.display(), spec.name);
            let before = previous.iter().find(|g| g.key() == key);
            groups.push(Arc::new(Group::new(spec, before.map(|g| g.as_ref()))));
        }
        let mut stops = Vec::with_capacity(groups.len());
        for group in &groups {
            let (tx, rx) = watch::channel(false);
            tokio::spawn(run_group(ctx.clone(), group.clone(), rx));
            stops.push(tx);
        }
        tracing::info!(groups = groups.len(), "rule groups loaded");
        state.ctx = ctx;
        state.groups = groups;
        state.stops = stops;
    }

    /// The groups in force.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.state.lock().groups.clone()
    }

    /// The notifier.
    pub fn notifier(&self) -> Arc<notify::Notifier> {
        self.state.lock().ctx.notifier.clone()
    }

    /// Stops every group loop.
    pub fn stop(&self) {
        for stop in self.state.lock().stops.drain(..) {
            let _ = stop.send(true);
        }
    }
}

fn now_ms() -> i64 {
    crate::api::now_ms()
}

/// Evaluates a group at each of its aligned timestamps until stopped.
async fn run_group(ctx: Arc<EvalContext>, group: Arc<Group>, mut stop: watch::Receiver<bool>) {
    let interval = group.spec.interval.as_millis().max(1) as i64;
    let mut next = group.eval_timestamp(now_ms());
    if next < now_ms() {
        next += interval;
    }
    loop {
        let wait = Duration::from_millis((next - now_ms()).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let (ctx2, group2) = (ctx.clone(), group.clone());
        let ts = next;
        if let Err(e) = tokio::task::spawn_blocking(move || group2.evaluate(&ctx2, ts)).await {
            tracing::error!(group = %group.spec.name, error = %e, "rule group evaluation panicked");
        }
        // Skip missed intervals rather than running them late, as Prometheus does.
        next += interval;
        let now = now_ms();
        if next <= now {
            let missed = (now - next) / interval + 1;
            tracing::warn!(group = %group.spec.name, missed, "rule group evaluation missed iterations");
            next += missed * interval;
        }
    }
}
