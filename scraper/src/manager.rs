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
    /// The id of the target's scrape loop.
    pub loop_id: u64,
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
                if let Some(pool) = pools.get_mut(&name)
                    && pool.job.settings.fingerprint == job.settings.fingerprint
                {
                    // Same settings: only the target lists may differ. Targets that stay keep
                    // their loops (and series caches).
                    if pool.job.static_groups == job.static_groups && pool.job.file_sd == job.file_sd {
                        continue;
                    }
                    pool.groups.insert(0, job.static_groups.clone());
                    if pool.job.file_sd != job.file_sd {
                        for task in pool.discovery.drain(..) {
                            task.abort();
                        }
                        pool.groups.retain(|provider, _| *provider == 0);
                        pool.job = job.clone();
                        self.start_watchers(pool);
                    }
                    pool.job = job;
                    stopping.extend(sync_pool(&self.db, pool));
                    continue;
                }
                // New settings for every target: restart the job's loops.
                if let Some(old) = pools.remove(&name) {
                    stopping.extend(stop_pool(old));
                }
                let mut groups = BTreeMap::new();
                groups.insert(0, job.static_groups.clone());
                let mut pool = Pool {
                    job,
                    client,
                    groups,
                    loops: HashMap::new(),
                    dropped: Vec::new(),
                    discovery: Vec::new(),
                };
                self.start_watchers(&mut pool);
                stopping.extend(sync_pool(&self.db, &mut pool));
                pools.insert(name, pool);
            }
        }
        for handle in stopping {
            let _ = handle.await;
        }
        Ok(())
    }

    /// Starts one file-discovery task per `file_sd_configs` entry of the pool's job, after a first
    /// synchronous read so targets exist as soon as `apply` returns.
    fn start_watchers(self: &Arc<Self>, pool: &mut Pool) {
        let name = pool.job.settings.job_name.clone();
        for (index, sd) in pool.job.file_sd.iter().enumerate() {
            let mut watcher = FileWatcher::new(sd.clone());
            pool.groups.insert(index + 1, watcher.poll().unwrap_or_default());
            pool.discovery.push(tokio::spawn(watch_files(
                Arc::downgrade(self),
                name.clone(),
                index + 1,
                watcher,
            )));
        }
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
                        loop_id: handle.id,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::target::ScrapeSettings;

    fn job(name: &str, interval_s: u64, addresses: &[&str]) -> JobConfig {
        let mut settings = ScrapeSettings::new(name);
        settings.interval = Duration::from_secs(interval_s);
        settings.timeout = Duration::from_secs(1);
        settings.fingerprint = interval_s;
        JobConfig {
            settings: Arc::new(settings),
            static_groups: vec![TargetGroup::from_addresses(
                "static/0",
                addresses.iter().map(|a| a.to_string()),
                vec![],
            )],
            file_sd: Vec::new(),
        }
    }

    fn loops(manager: &ScrapeManager, name: &str) -> Vec<(String, u64)> {
        manager.snapshot()[name]
            .active
            .iter()
            .map(|t| (t.target.labels.get("instance").unwrap_or("").to_string(), t.loop_id))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reload_keeps_unchanged_targets_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Arc::new(Db::open(dir.path(), Default::default()).expect("open"));
        let manager = ScrapeManager::new(db);
        manager
            .apply(vec![
                job("a", 3600, &["127.0.0.1:1", "127.0.0.1:2"]),
                job("b", 3600, &["127.0.0.1:3"]),
            ])
            .await
            .expect("apply");
        let before_a = loops(&manager, "a");
        let before_b = loops(&manager, "b");
        assert_eq!(before_a.len(), 2);
        // Same settings, one target replaced: the other keeps its loop; job b is untouched.
        manager
            .apply(vec![
                job("a", 3600, &["127.0.0.1:1", "127.0.0.1:4"]),
                job("b", 3600, &["127.0.0.1:3"]),
            ])
            .await
            .expect("apply");
        let after_a = loops(&manager, "a");
        assert!(after_a.contains(&before_a[0]), "{before_a:?} -> {after_a:?}");
        assert!(!after_a.iter().any(|(i, _)| i == "127.0.0.1:2"));
        assert!(after_a.iter().any(|(i, id)| i == "127.0.0.1:4" && *id > before_a[1].1));
        assert_eq!(loops(&manager, "b"), before_b);
        // New settings restart the job's loops; a removed job disappears.
        manager
            .apply(vec![job("a", 1800, &["127.0.0.1:1"])])
            .await
            .expect("apply");
        let restarted = loops(&manager, "a");
        assert_eq!(restarted.len(), 1);
        assert_ne!(restarted[0].1, before_a[0].1);
        assert!(!manager.snapshot().contains_key("b"));
        // An invalid job list changes nothing.
        let mut bad = job("c", 60, &["127.0.0.1:5"]);
        bad.file_sd.push(FileSdConfig {
            files: vec!["/x/*/y.json".into()],
            refresh_interval: Duration::from_secs(60),
        });
        assert!(manager.apply(vec![bad]).await.is_err());
        assert_eq!(loops(&manager, "a"), restarted);
        manager.stop().await;
        assert!(manager.snapshot().is_empty());
    }
}
