//! One comparison run: the target and both systems started, the pattern armed once both scrape,
//! `/api/v1/alerts` snapshots mid-run, then every recording rule and `ALERTS` read back through
//! `query_range` over the armed window and compared; both systems stopped by PID.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::compare::{compare_alert, compare_records, timelines};
use super::report::{ClientReport, Report};
use super::scenario::{self, ALERTS, GROUP, PHASE_MS, RECORDS, RULE_FILE, Timeline};
use super::snapshot;
use super::systems::{System, subsecond_ms, version};
use super::target::{TargetServer, now_ms};
use crate::Result;

/// Data both systems must have scraped before the pattern starts (the rules' `rate` windows).
const WARM_UP_MS: i64 = 32_000;
/// Step of the range queries.
const STEP_MS: i64 = 1_000;
/// Moments of the `/api/v1/alerts` snapshots after the pattern started (ms), mid-phase: at 40.5 s
/// queue `b`'s backlog fires and `a`'s is pending; at 82.5 s three alerts fire with stable values.
const SNAPSHOTS_MS: [i64; 2] = [40_500, 82_500];
/// Longest wait for both systems' first scrape.
const FIRST_SCRAPE_TIMEOUT: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Loupe's binary (`cargo build --release --bin loupe`).
    pub loupe: PathBuf,
    /// Prometheus's binary (Debian's `prometheus` package).
    pub prometheus: PathBuf,
    /// Length of the compared window (from the pattern's start).
    pub duration: Duration,
    /// Where configuration, logs and data go; a new directory under the system's temporary
    /// directory when `None` (removed after a run that passed).
    pub work_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            loupe: default_loupe(),
            prometheus: PathBuf::from("/usr/bin/prometheus"),
            duration: Duration::from_secs(150),
            work_dir: None,
        }
    }
}

/// `$CARGO_TARGET_DIR/release/loupe` when that variable is set, else the workspace's
/// `target/release/loupe`.
pub fn default_loupe() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("release/loupe");
    }
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).join("target/release/loupe")
}

/// Runs the comparison; `progress` is told what happens.
pub fn run(settings: &Settings, mut progress: impl FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    if !settings.loupe.is_file() {
        return Err(format!(
            "loupe binary {} not found: build it with `cargo build --release --bin loupe` or pass --loupe PATH",
            settings.loupe.display()
        )
        .into());
    }
    if !settings.prometheus.is_file() {
        return Err(format!(
            "prometheus binary {} not found: `apt-get install prometheus` or pass --prometheus PATH",
            settings.prometheus.display()
        )
        .into());
    }
    let (work_dir, temporary) = match &settings.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            (dir.clone(), false)
        }
        None => (
            tempfile::Builder::new().prefix("rules-compare-").tempdir()?.keep(),
            true,
        ),
    };
    let outcome = run_in(settings, &work_dir, started, &mut progress);
    match outcome {
        Ok(report) => {
            if temporary && report.passed {
                let _ = std::fs::remove_dir_all(&work_dir);
            }
            Ok(report)
        }
        Err(e) => Err(format!("{e} (logs and data in {})", work_dir.display()).into()),
    }
}

fn run_in(settings: &Settings, work_dir: &Path, started: Instant, progress: &mut impl FnMut(&str)) -> Result<Report> {
    let target = TargetServer::start(Timeline::new(now_ms()))?;
    let rule_file = work_dir.join("rules.yml");
    let config = work_dir.join("config.yml");
    std::fs::write(&rule_file, RULE_FILE).map_err(|e| format!("writing {}: {e}", rule_file.display()))?;
    std::fs::write(&config, scenario::config(&rule_file, target.addr()))
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
    progress(&format!("target at {}; work dir {}", target.addr(), work_dir.display()));

    let mut prometheus = System::start_prometheus(&settings.prometheus, &config, work_dir)?;
    progress(&format!("prometheus pid {} at {}", prometheus.pid(), prometheus.addr));
    let mut loupe = System::start_loupe(&settings.loupe, &config, work_dir)?;
    progress(&format!("loupe pid {} at {}", loupe.pid(), loupe.addr));

    let deadline = Instant::now() + FIRST_SCRAPE_TIMEOUT;
    while target.clients().len() < 2 {
        if Instant::now() > deadline {
            let seen: Vec<String> = target.clients().into_keys().collect();
            return Err(format!(
                "both systems did not scrape the target within {FIRST_SCRAPE_TIMEOUT:?} (seen: {seen:?})"
            )
            .into());
        }
        prometheus.check_alive()?;
        loupe.check_alive()?;
        std::thread::sleep(Duration::from_millis(200));
    }
    let duration_ms = i64::try_from(settings.duration.as_millis())?;
    let start_ms = target.timeline().arm(now_ms() + WARM_UP_MS + PHASE_MS - 1);
    let end_ms = start_ms + duration_ms - duration_ms.rem_euclid(STEP_MS);
    progress(&format!(
        "both scrape; pattern starts in {:.0} s and is compared for {} s",
        (start_ms - now_ms()) as f64 / 1000.0,
        duration_ms / 1000
    ));

    let mut snapshots = Vec::new();
    for at in SNAPSHOTS_MS.iter().map(|s| start_ms + s).filter(|&t| t < end_ms) {
        wait_until(at, &mut [&mut prometheus, &mut loupe])?;
        let at_s = (at - start_ms) as f64 / 1000.0;
        progress(&format!("snapshot of /api/v1/alerts at +{at_s:.1} s"));
        snapshots.push(snapshot::take(&prometheus, &loupe, at_s)?);
    }
    // Both have evaluated the last step (at most a second late) and stored it.
    wait_until(end_ms + 2_500, &mut [&mut prometheus, &mut loupe])?;
    progress("reading back recording rules and ALERTS");
    let eval_offset_ms = (eval_offset(&prometheus), eval_offset(&loupe));

    let mut records = Vec::new();
    for record in RECORDS {
        let p = prometheus.query_range(record.name, start_ms, end_ms, STEP_MS)?;
        let l = loupe.query_range(record.name, start_ms, end_ms, STEP_MS)?;
        records.push(compare_records(record.name, record.tolerance, &p, &l));
    }
    let p_alerts = timelines(
        &prometheus.query_range("ALERTS", start_ms, end_ms, STEP_MS)?,
        start_ms,
        end_ms,
        STEP_MS,
    );
    let l_alerts = timelines(
        &loupe.query_range("ALERTS", start_ms, end_ms, STEP_MS)?,
        start_ms,
        end_ms,
        STEP_MS,
    );
    let alerts = ALERTS
        .iter()
        .map(|name| compare_alert(name, &p_alerts, &l_alerts, start_ms, STEP_MS))
        .collect();

    let clients = target
        .clients()
        .into_iter()
        .map(|(user_agent, stats)| ClientReport {
            missing_stamps: stats.missing_stamps(start_ms - WARM_UP_MS + 1_000, end_ms).len(),
            offset_ms: stats.offset_ms(),
            requests: stats.requests,
            user_agent,
        })
        .collect();
    progress("stopping both");
    let stopped_p = prometheus.stop();
    let stopped_l = loupe.stop();
    stopped_p.map_err(|e| format!("stopping prometheus: {e}"))?;
    stopped_l.map_err(|e| format!("stopping loupe: {e}"))?;

    let mut report = Report {
        prometheus_version: version(&settings.prometheus, "--version").unwrap_or_else(|| "unknown".into()),
        loupe_version: version(&settings.loupe, "--version").unwrap_or_else(|| "unknown".into()),
        start_ms,
        end_ms,
        eval_offset_ms,
        clients,
        records,
        alerts,
        snapshots,
        runtime_s: started.elapsed().as_secs_f64(),
        work_dir: work_dir.display().to_string(),
        passed: false,
    };
    report.passed = report.compute_passed();
    Ok(report)
}

/// Sleeps until `at_ms` (wall clock), failing early when a system exits.
fn wait_until(at_ms: i64, systems: &mut [&mut System]) -> Result<()> {
    loop {
        for system in systems.iter_mut() {
            system.check_alive()?;
        }
        let left = at_ms - now_ms();
        if left <= 0 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(left.clamp(1, 500) as u64));
    }
}

/// Offset within its second of the rule group's last evaluation, from `/api/v1/rules`.
fn eval_offset(system: &System) -> Option<i64> {
    let answer = system.get_json("/api/v1/rules").ok()?;
    let groups = answer.get("data")?.get("groups")?.as_array()?;
    let group = groups
        .iter()
        .find(|g| g.get("name").and_then(Value::as_str) == Some(GROUP))?;
    subsecond_ms(group.get("lastEvaluation")?.as_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let settings = Settings::default();
        assert!(settings.loupe.ends_with("release/loupe"));
        assert_eq!(settings.duration, Duration::from_secs(150));
        assert!(
            SNAPSHOTS_MS
                .iter()
                .all(|s| s % PHASE_MS > 3_000 && PHASE_MS - s % PHASE_MS > 3_000)
        );
    }

    #[test]
    fn missing_binaries_are_reported() {
        let settings = Settings {
            loupe: PathBuf::from("/nonexistent/loupe"),
            ..Settings::default()
        };
        let Err(error) = run(&settings, |_| {}) else {
            panic!("runs without a loupe binary")
        };
        let error = error.to_string();
        assert!(error.contains("cargo build --release --bin loupe"), "{error}");
    }
}
