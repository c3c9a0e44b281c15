//! The scrape loop of one target: a stable offset within the interval, one bounded request per tick,
//! the samples stored off the async runtime, staleness markers when the loop stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tsdb::db::Db;

use super::append::{MetricMetadata, ScrapeOutcome, SeriesCache};
use crate::client::{self, Fetched};
use crate::error::Error;
use crate::exposition::{Format, format_from_content_type};
use crate::target::Target;

/// Scrape timestamps within this distance of the ideal tick are moved onto it, so series compress
/// best (Prometheus's default `scrape.timestamp-tolerance`).
pub const TIMESTAMP_TOLERANCE_MS: i64 = 2;

/// Health of a target, as the targets API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl Health {
    /// `up`, `down` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// The state of a target's last scrape.
#[derive(Debug, Clone, Default)]
pub struct TargetStatus {
    /// Health after the last scrape.
    pub health: Health,
    /// Why the last scrape failed (empty when it succeeded).
    pub last_error: String,
    /// When the last scrape started.
    pub last_scrape: Option<SystemTime>,
    /// How long it took, in seconds.
    pub last_duration: f64,
    /// What it stored.
    pub last_outcome: ScrapeOutcome,
    /// Metric metadata of the last successful scrape.
    pub metadata: Arc<HashMap<String, MetricMetadata>>,
}

/// Whether a loop should stop, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Running,
    /// The target went away: write staleness markers.
    Removed,
    /// Shutdown: stop without markers, so series continue after a restart.
    Shutdown,
}

/// A running scrape loop.
#[derive(Debug)]
pub struct LoopHandle {
    /// Unique per loop started by this process (a restarted target gets a new id).
    pub id: u64,
    /// The target scraped.
    pub target: Target,
    /// Its current status.
    pub status: Arc<Mutex<TargetStatus>>,
    stop: watch::Sender<Stop>,
    task: JoinHandle<()>,
}

impl LoopHandle {
    /// Starts scraping `target`, storing into `db`.
    pub fn spawn(db: Arc<Db>, client: reqwest::Client, target: Target) -> LoopHandle {
        let status = Arc::new(Mutex::new(TargetStatus::default()));
        let (stop, stopped) = watch::channel(Stop::Running);
        let task = tokio::spawn(run(db, client, target.clone(), status.clone(), stopped));
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        LoopHandle {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            target,
            status,
            stop,
            task,
        }
    }

    /// Stops the loop; it writes staleness markers for the target's series, then ends. Await the
    /// returned handle to know the markers are stored.
    pub fn stop(self) -> JoinHandle<()> {
        self.stop.send_replace(Stop::Removed);
        self.task
    }

    /// Stops the loop without staleness markers (shutdown).
    pub fn shutdown(self) -> JoinHandle<()> {
        self.stop.send_replace(Stop::Shutdown);
        self.task
    }

    /// A copy of the current status.
    pub fn status(&self) -> TargetStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The target's fixed offset within its interval, so targets are spread over the interval and a
/// target keeps its phase across restarts.
pub fn scrape_offset(target: &Target) -> Duration {
    let interval_ms = target.interval.as_millis().max(1) as u64;
    let mut hash = target.labels.stable_hash();
    for byte in target.url.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
    }
    Duration::from_millis(hash % interval_ms)
}

/// Time from `now_ms` to the next tick `offset + k * interval`.
fn until_next_tick(now_ms: i64, interval: Duration, offset: Duration) -> Duration {
    let interval = interval.as_millis().max(1) as i64;
    let offset = offset.as_millis() as i64;
    let wait = (offset - now_ms).rem_euclid(interval);
    Duration::from_millis(wait as u64)
}

/// Moves `t` onto the ideal tick `last + interval` when it is within the tolerance.
pub fn align_timestamp(t: i64, last: Option<i64>, interval: Duration) -> i64 {
    match last {
        Some(last) => {
            let ideal = last + interval.as_millis() as i64;
            if (t - ideal).abs() <= TIMESTAMP_TOLERANCE_MS {
                ideal
            } else {
                t
            }
        }
        None => t,
    }
}

async fn run(
    db: Arc<Db>,
    client: reqwest::Client,
    target: Target,
    status: Arc<Mutex<TargetStatus>>,
    mut stopped: watch::Receiver<Stop>,
) {
    let offset = scrape_offset(&target);
    let first = until_next_tick(now_ms(), target.interval, offset);
    let mut next = tokio::time::Instant::now() + first;
    let mut cache = Some(SeriesCache::new());
    let mut last_timestamp = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stopped.wait_for(|s| *s != Stop::Running) => break,
        }
        next += target.interval;
        let now = tokio::time::Instant::now();
        while next <= now {
            next += target.interval;
        }
        let started = Instant::now();
        let wall = SystemTime::now();
        let timestamp = align_timestamp(now_ms(), last_timestamp, target.interval);
        last_timestamp = Some(timestamp);
        let fetched = tokio::select! {
            fetched = client::fetch(&client, &target.url, &target.settings, target.timeout) => fetched,
            _ = stopped.wait_for(|s| *s != Stop::Running) => break,
        };
        let duration = started.elapsed().as_secs_f64();
        let Some(mut owned_cache) = cache.take() else { break };
        let db_for_task = db.clone();
        let target_for_task = target.clone();
        let joined = tokio::task::spawn_blocking(move || {
            // Decompressing is CPU work too: here, off the async threads.
            let format = fetched
                .as_ref()
                .map(|f| format_from_content_type(&f.content_type))
                .unwrap_or(Format::PrometheusText);
            let result = match fetched.and_then(Fetched::decoded) {
                Ok(body) => match std::str::from_utf8(&body) {
                    Ok(text) => owned_cache.append_scrape(
                        &db_for_task,
                        &target_for_task,
                        Ok((text, format)),
                        timestamp,
                        duration,
                    ),
                    Err(e) => owned_cache.append_scrape(
                        &db_for_task,
                        &target_for_task,
                        Err(Error::Scrape(format!("response is not valid utf-8: {e}"))),
                        timestamp,
                        duration,
                    ),
                },
                Err(error) => {
                    owned_cache.append_scrape(&db_for_task, &target_for_task, Err(error), timestamp, duration)
                }
            };
            (owned_cache, result)
        })
        .await;
        let (returned_cache, result) = match joined {
            Ok(pair) => pair,
            Err(error) => {
                tracing::error!(target = %target.labels, %error, "scrape task failed");
                break;
            }
        };
        let metadata = returned_cache.metadata.clone();
        cache = Some(returned_cache);
        let Ok(mut status) = status.lock() else { break };
        status.last_scrape = Some(wall);
        status.last_duration = duration;
        match result {
            Ok((outcome, None)) => {
                status.health = super::run::Health::Up;
                status.last_error.clear();
                status.last_outcome = outcome;
                status.metadata = metadata;
            }
            Ok((outcome, Some(error))) => {
                tracing::debug!(target = %target.labels, url = %target.url, %error, "scrape failed");
                status.health = Health::Down;
                status.last_error = error.to_string();
                status.last_outcome = outcome;
            }
            Err(error) => {
                tracing::error!(target = %target.labels, %error, "storing scrape failed");
                status.health = Health::Down;
                status.last_error = format!("storing samples: {error}");
            }
        }
    }
    let shutdown = *stopped.borrow() == Stop::Shutdown;
    if let Some(mut cache) = cache.filter(|_| !shutdown) {
        let target_labels = target.labels.clone();
        let result = tokio::task::spawn_blocking(move || cache.stale_all(&db, &target, now_ms())).await;
        match result {
            Ok(Ok(written)) => tracing::debug!(target = %target_labels, written, "staleness markers written"),
            Ok(Err(error)) => tracing::warn!(target = %target_labels, %error, "writing staleness markers failed"),
            Err(error) => tracing::error!(target = %target_labels, %error, "staleness task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_land_on_the_offset() {
        let interval = Duration::from_secs(15);
        let offset = Duration::from_millis(3_000);
        assert_eq!(until_next_tick(30_000, interval, offset), Duration::from_millis(3_000));
        assert_eq!(until_next_tick(33_000, interval, offset), Duration::ZERO);
        assert_eq!(until_next_tick(33_001, interval, offset), Duration::from_millis(14_999));
    }

    #[test]
    fn timestamps_snap_within_tolerance() {
        let interval = Duration::from_secs(15);
        assert_eq!(align_timestamp(1_000, None, interval), 1_000);
        assert_eq!(align_timestamp(16_002, Some(1_000), interval), 16_000);
        assert_eq!(align_timestamp(15_998, Some(1_000), interval), 16_000);
        assert_eq!(align_timestamp(16_003, Some(1_000), interval), 16_003);
    }
}
