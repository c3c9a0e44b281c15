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
    /// Serialises `apply` calls.
    applying: tokio::sync::Mutex<()>,
}

struct Running {
    group: Arc<Group>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

struct ManagerState {
    ctx: Arc<EvalContext>,
    running: Vec<Running>,
    /// Whether groups were loaded before (only the first load restores `for` state).
    loaded: bool,
}

impl RuleManager {
    /// A manager with no groups yet.
    pub fn new(ctx: EvalContext) -> Arc<RuleManager> {
        Arc::new(RuleManager {
            state: Mutex::new(ManagerState {
                ctx: Arc::new(ctx),
                running: Vec::new(),
                loaded: false,
            }),
            applying: tokio::sync::Mutex::new(()),
        })
    }

    /// Replaces the groups (and the external labels / URL). Groups whose definition did not
    /// change keep running untouched; changed ones are stopped (waiting for an evaluation in
    /// progress), then restarted with the state of their rules carried over; removed ones have
    /// their series marked stale.
    pub async fn apply(&self, specs: Vec<GroupSpec>, external_labels: Vec<(String, String)>, external_url: String) {
        let _serial = self.applying.lock().await;
        let (ctx, ctx_changed, initial, old) = {
            let mut state = self.state.lock();
            let old = &state.ctx;
            let changed = old.external_labels != external_labels || old.external_url != external_url;
            if changed {
                state.ctx = Arc::new(EvalContext {
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
            }
            let initial = !state.loaded;
            state.loaded = true;
            (state.ctx.clone(), changed, initial, std::mem::take(&mut state.running))
        };
        let mut keep = Vec::new();
        let mut stopped = Vec::new();
        for r in old {
            let unchanged = !ctx_changed && specs.iter().any(|s| s.same_as(&r.group.spec));
            if unchanged {
                keep.push(r);
            } else {
                let _ = r.stop.send(true);
                // Wait for an evaluation in progress, so its state changes are carried over.
                let _ = r.task.await;
                stopped.push(r.group);
            }
        }
        let mut running = Vec::with_capacity(specs.len());
        for spec in specs {
            if let Some(i) = keep.iter().position(|r| r.group.spec.same_as(&spec)) {
                running.push(keep.swap_remove(i));
                continue;
            }
            let key = format!("{};{}", spec.file.display(), spec.name);
            let before = stopped
                .iter()
                .position(|g| g.key() == key)
                .map(|i| stopped.swap_remove(i));
            let group = Arc::new(Group::new(spec, before.as_deref(), initial));
            let (stop, rx) = watch::channel(false);
            let task = tokio::spawn(run_group(ctx.clone(), group.clone(), rx));
            running.push(Running { group, stop, task });
        }
        // Groups that are gone: their series end now.
        let now = now_ms();
        for group in stopped {
            let ctx = ctx.clone();
            let _ = tokio::task::spawn_blocking(move || group.mark_all_stale(&ctx, now)).await;
        }
        tracing::info!(groups = running.len(), "rule groups loaded");
        self.state.lock().running = running;
    }

    /// The groups in force.
    pub fn groups(&self) -> Vec<Arc<Group>> {
        self.state.lock().running.iter().map(|r| r.group.clone()).collect()
    }

    /// The notifier.
    pub fn notifier(&self) -> Arc<notify::Notifier> {
        self.state.lock().ctx.notifier.clone()
    }

    /// Stops every group loop.
    pub fn stop(&self) {
        for r in self.state.lock().running.drain(..) {
            let _ = r.stop.send(true);
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
