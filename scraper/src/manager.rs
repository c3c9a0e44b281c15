//! The scrape manager: one pool per job, one loop per target, applied and re-applied on reload.
//!
//! [`ScrapeManager::apply`] takes the whole list of jobs. A job whose settings did not change keeps
//! its running loops; within a job, a target whose labels and URL did not change keeps its loop (and
//! its series cache). Targets that disappear are stopped, which writes their staleness markers, and
//! `apply` returns only once those are stored. File discovery runs as one task per job.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;
use tsdb::Labels;
use tsdb::db::Db;

use crate::client;
use crate::discovery::{FileSdConfig, FileWatcher, POLL_INTERVAL};
use crate::error::Error;
use crate::scrape::{LoopHandle, TargetStatus};
use crate::target::{ScrapeSettings, Target, TargetGroup, build_targets};

/// One `scrape_configs` entry, ready to run.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// The job's settings.
    pub settings: Arc<ScrapeSettings>,
    /// `static_configs` groups.
    pub static_groups: Vec<TargetGroup>,
    /// `file_sd_configs` entries.
    pub file_sd: Vec<FileSdConfig>,
}

/// A target as the targets API lists it.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    /// The target.
    pub target: Target,
    /// Its last scrape.
    pub status: TargetStatus,
}

/// Active and dropped targets of one job.
#[derive(Debug, Clone, Default)]
pub struct PoolSnapshot {
    /// Targets being scraped, in label order.
    pub active: Vec<TargetInfo>,
    /// Discovered label sets that relabeling dropped (or that were invalid).
    pub dropped: Vec<Labels>,
}

struct Pool {
    job: JobConfig,
    client: reqwest::Client,
    /// Groups by provider: index 0 is static, 1.. the file discovery entries.
    groups: BTreeMap<usize, Vec<TargetGroup>>,
    loops: HashMap<(Labels, String), LoopHandle>,
    dropped: Vec<Labels>,
    discovery: Vec<JoinHandle<()>>,
}

/// Runs every job's scrape loops.
pub struct ScrapeManager {
    db: Arc<Db>,
    pools: Mutex<BTreeMap<String, Pool>>,
}

impl ScrapeManager {
    /// A manager with no jobs, storing into `db`.
    pub fn new(db: Arc<Db>) -> Arc<ScrapeManager> {
        Arc::new(ScrapeManager {
            db,
            pools: Mutex::new(BTreeMap::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Pool>> {
        self.pools.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the running jobs with `jobs`. Everything is validated (clients built, discovery
    /// patterns checked) before anything changes, so an error leaves the old jobs running. Must be
    /// called within a Tokio runtime.
    pub async fn apply(self: &Arc<Self>, jobs: Vec<JobConfig>) -> Result<(), Error> {
        let mut prepared = Vec::with_capacity(jobs.len());
        for job in jobs {
            for sd in &job.file_sd {
                sd.validate()?;
            }
            let client = client::build_client(&job.settings.http)
                .map_err(|e| Error::Config(format!("job {:?}: {e}", job.settings.job_name)))?;
            prepared.push((job, client));
        }
        let mut stopping = Vec::new();
        {
            let mut pools = self.lock();
            let names: Vec<&str> = prepared.iter().map(|(j, _)| j.settings.job_name.as_str()).collect();
            let removed: Vec<String> = pools.keys().filter(|n| !names.contains(&n.as_str())).cloned().collect();
            for name in removed {
                if let Some(pool) = pools.remove(&name) {
                    stopping.extend(stop_pool(pool));
                }
            }
            for (job, client) in prepared {
                let name = job.settings.job_name.clone();
                let unchanged = pools.get(&name).is_some_and(|p| {
                    p.job.settings.fingerprint == job.settings.fingerprint
                        && p.job.static_groups == job.static_groups
                        && p.job.file_sd == job.file_sd
                });
                if unchanged {
                    continue;
                }
                // A changed job: new settings for every target. Keep loops of targets whose labels,
                // URL and settings are unchanged is not possible as settings differ; restart them.
                if let Some(old) = pools.remove(&name) {
                    stopping.extend(stop_pool(old));
                }
                let mut groups = BTreeMap::new();
                groups.insert(0, job.static_groups.clone());
                let mut pool = Pool {
                    job: job.clone(),
                    client,
                    groups,
                    loops: HashMap::new(),
                    dropped: Vec::new(),
                    discovery: Vec::new(),
                };
                for (index, sd) in job.file_sd.iter().enumerate() {
                    let mut watcher = FileWatcher::new(sd.clone());
                    // The first read happens now, so targets exist as soon as `apply` returns.
                    pool.groups.insert(index + 1, watcher.poll().unwrap_or_default());
                    pool.discovery.push(tokio::spawn(watch_files(
                        Arc::downgrade(self),
                        name.clone(),
                        index + 1,
                        watcher,
                    )));
                }
                stopping.extend(sync_pool(&self.db, &mut pool));
                pools.insert(name, pool);
            }
        }
        for handle in stopping {
            let _ = handle.await;
        }
        Ok(())
    }

    /// Replaces the groups of one discovery provider of a job and syncs its targets.
    async fn update_groups(&self, job: &str, provider: usize, groups: Vec<TargetGroup>) {
        let stopping = {
            let mut pools = self.lock();
            let Some(pool) = pools.get_mut(job) else { return };
            pool.groups.insert(provider, groups);
            sync_pool(&self.db, pool)
        };
        for handle in stopping {
            let _ = handle.await;
        }
    }

    /// Stops every loop for shutdown. No staleness markers are written, as in Prometheus, so series
    /// resume after a restart without a gap.
    pub async fn stop(&self) {
        let pools = std::mem::take(&mut *self.lock());
        let mut handles = Vec::new();
        for (_, pool) in pools {
            for task in &pool.discovery {
                task.abort();
            }
            for (_, handle) in pool.loops {
                handles.push(handle.shutdown());
            }
        }
        for handle in handles {
            let _ = handle.await;
        }
    }

    /// The targets of every job, by job name.
    pub fn snapshot(&self) -> BTreeMap<String, PoolSnapshot> {
        let pools = self.lock();
        pools
            .iter()
            .map(|(name, pool)| {
                let mut active: Vec<TargetInfo> = pool
                    .loops
                    .values()
                    .map(|handle| TargetInfo {
                        target: handle.target.clone(),
                        status: handle.status(),
                    })
                    .collect();
                active.sort_by(|a, b| a.target.labels.cmp(&b.target.labels));
                let snapshot = PoolSnapshot {
                    active,
                    dropped: pool.dropped.clone(),
                };
                (name.clone(), snapshot)
            })
            .collect()
    }
}

/// Starts loops for new targets and stops loops of targets that are gone.
fn sync_pool(db: &Arc<Db>, pool: &mut Pool) -> Vec<JoinHandle<()>> {
    let settings = pool.job.settings.clone();
    let mut wanted: HashMap<(Labels, String), Target> = HashMap::new();
    let mut dropped = Vec::new();
    for group in pool.groups.values().flatten() {
        let built = build_targets(group, &settings);
        for target in built.active {
            wanted.entry(target.key()).or_insert(target);
        }
        dropped.extend(built.dropped);
        for (labels, reason) in built.invalid {
            tracing::warn!(job = %settings.job_name, target = %labels, reason, "invalid target");
            dropped.push(labels);
        }
    }
    if settings.target_limit > 0 && wanted.len() > settings.target_limit {
        tracing::error!(
            job = %settings.job_name,
            targets = wanted.len(),
            limit = settings.target_limit,
            "target_limit exceeded: no target of the job is scraped"
        );
        wanted.clear();
    }
    if settings.keep_dropped_targets > 0 {
        dropped.truncate(settings.keep_dropped_targets);
    }
    pool.dropped = dropped;
    let mut stopping = Vec::new();
    let gone: Vec<(Labels, String)> = pool
        .loops
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    for key in gone {
        if let Some(handle) = pool.loops.remove(&key) {
            stopping.push(handle.stop());
        }
    }
    for (key, target) in wanted {
        if !pool.loops.contains_key(&key) {
            let handle = LoopHandle::spawn(db.clone(), pool.client.clone(), target);
            pool.loops.insert(key, handle);
        }
    }
    stopping
}

fn stop_pool(pool: Pool) -> Vec<JoinHandle<()>> {
    for task in &pool.discovery {
        task.abort();
    }
    pool.loops.into_values().map(LoopHandle::stop).collect()
}

async fn watch_files(manager: std::sync::Weak<ScrapeManager>, job: String, provider: usize, mut watcher: FileWatcher) {
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let (returned, changed) = match tokio::task::spawn_blocking(move || {
            let changed = watcher.poll();
            (watcher, changed)
        })
        .await
        {
            Ok(pair) => pair,
            Err(_) => return,
        };
        watcher = returned;
        let Some(groups) = changed else { continue };
        let Some(manager) = manager.upgrade() else { return };
        tracing::info!(job, groups = groups.len(), "discovery file changed");
        manager.update_groups(&job, provider, groups).await;
    }
}
