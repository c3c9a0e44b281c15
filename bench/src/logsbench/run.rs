//! The benchmark's driver: generate the Docker tree once, then for each run start `loupe serve` on a
//! fresh data directory, wait until every line is stored, wait for a commit, measure, stop it by PID.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::generate::{self, GenerateConfig, Generated};
use super::report::{Report, ReportSettings};
use crate::Result;
use crate::scrape::process::{self, Running};

/// How long Loupe may take to log its address and become ready.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long Loupe may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// How often `/metrics` is polled while ingesting.
const POLL_EVERY: Duration = Duration::from_millis(200);
/// Wait after the last line is stored when Loupe has no uncommitted-entries gauge (older builds).
const COMMIT_WAIT: Duration = Duration::from_secs(3);
/// Loupe's gauge of log entries stored (committed or not).
const ENTRIES_METRIC: &str = "loupe_logs_entries";
/// Loupe's gauge of log entries stored but not yet committed (searchable).
const UNCOMMITTED_METRIC: &str = "loupe_logs_uncommitted_entries";
/// Loupe's gauge of the log store's bytes on disk (indexes and WAL).
const DISK_METRIC: &str = "loupe_logs_disk_bytes";

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Loupe's binary (`cargo build --release --bin loupe`).
    pub loupe: PathBuf,
    /// Containers generated.
    pub containers: usize,
    /// Total bytes of the json-file logs.
    pub size_bytes: u64,
    /// Seed of the generator.
    pub seed: u64,
    /// Time of the first lines (ns since the epoch); by default they straddle yesterday's midnight.
    pub start_ns: Option<i64>,
    /// Ingestion runs, each on a fresh data directory over the same files.
    pub runs: usize,
    /// Longest a run may take to store every line.
    pub timeout: Duration,
    /// Where the logs, config and data directories go; a temporary directory when `None`.
    pub work_dir: Option<PathBuf>,
    /// Keeps the data directories (and the temporary work directory).
    pub keep: bool,
    /// Times of each query (after a warm-up); 0 skips the query benchmark.
    pub query_repeats: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            loupe: PathBuf::from("target/release/loupe"),
            containers: 8,
            size_bytes: 1 << 30,
            seed: 1,
            start_ns: None,
            runs: 1,
            timeout: Duration::from_secs(30 * 60),
            work_dir: None,
            keep: false,
            query_repeats: 5,
        }
    }
}

impl Settings {
    /// The generator's configuration, the start time resolved against the clock.
    pub fn generate_config(&self) -> GenerateConfig {
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        GenerateConfig {
            containers: self.containers,
            size_bytes: self.size_bytes,
            seed: self.seed,
            start_ns: self
                .start_ns
                .unwrap_or_else(|| generate::default_start_ns(now_ns, self.size_bytes, self.containers)),
        }
    }
}

/// Loupe's configuration: tail the Docker tree at `root`; no scraping, no log retention.
pub fn config_yaml(root: &Path) -> String {
    format!(
        "global: {{}}\nlog_sources:\n  docker:\n    root: {}\nstorage:\n  logs:\n    retention_time: 0s\n",
        root.display()
    )
}

/// One ingestion run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measurement {
    /// Run number (0-based).
    pub run: usize,
    /// Every line was stored before the timeout.
    pub complete: bool,
    /// Entries stored when the wait ended.
    pub entries: u64,
    /// Entries stored after the commit wait (more than the lines written means duplicates).
    pub entries_after_commit: u64,
    /// Seconds from spawn to ready (`/-/ready` answering 200).
    pub startup_seconds: f64,
    /// Seconds from spawn to every line stored (or to the timeout).
    pub wall_seconds: f64,
    /// Loupe's user + system CPU seconds from spawn to every line stored.
    pub cpu_seconds: f64,
    /// Loupe's CPU seconds from spawn to every line committed (searchable).
    pub cpu_seconds_with_commit: f64,
    /// Seconds from spawn to every line committed (searchable).
    pub wall_seconds_with_commit: f64,
    /// CPU seconds everything else on the machine used while Loupe ingested (builds, other tests):
    /// high values mean the wall time was taken on a busy machine.
    pub other_cpu_seconds: f64,
    /// `VmHWM` after the commit wait: peak resident memory over the process's life, bytes.
    pub rss_peak_bytes: u64,
    /// `VmRSS` after the commit wait, bytes.
    pub rss_final_bytes: u64,
    /// `loupe_logs_disk_bytes` after the commit wait.
    pub store_disk_bytes: u64,
    /// Bytes of the files under `<data>/logs/windows` after shutdown (indexes and stored lines).
    pub windows_bytes: u64,
    /// Windows (index directories) after shutdown.
    pub windows: usize,
    /// Bytes of `<data>/logs/wal` after shutdown.
    pub wal_bytes: u64,
    /// Seconds from SIGTERM to exit.
    pub stop_seconds: f64,
    /// The query benchmark, against this run's store.
    pub queries: Vec<super::queries::QueryFigures>,
}

/// Runs the benchmark; `progress` is told what happens.
pub fn run(settings: &Settings, mut progress: impl FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    if !settings.loupe.is_file() {
        return Err(format!(
            "loupe binary {} not found (cargo build --release --bin loupe)",
            settings.loupe.display()
        )
        .into());
    }
    let temp;
    let work_dir = match &settings.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            let dir = tempfile::Builder::new().prefix("logs-bench").tempdir()?;
            if settings.keep {
                dir.keep()
            } else {
                temp = dir;
                temp.path().to_path_buf()
            }
        }
    };
    let root = work_dir.join("containers");
    if root.exists() {
        return Err(format!(
            "{} already exists: remove it or choose another work directory",
            root.display()
        )
        .into());
    }
    let config = settings.generate_config();
    progress(&format!(
        "generating {} bytes of docker json-file logs in {} containers under {}",
        config.size_bytes,
        config.containers,
        root.display()
    ));
    let generated = generate::generate(&config, &root)?;
    progress(&format!(
        "generated {} lines, {} bytes in {:.1} s; needle {}",
        generated.lines, generated.raw_bytes, generated.seconds, generated.needle
    ));
    let config_path = work_dir.join("loupe.yml");
    std::fs::write(&config_path, config_yaml(&root)).map_err(|e| format!("writing {}: {e}", config_path.display()))?;

    let mut measurements = Vec::with_capacity(settings.runs);
    for run in 0..settings.runs {
        progress(&format!("run {}/{}: starting loupe", run + 1, settings.runs));
        let measurement = measure(settings, &config_path, &work_dir, run, &generated)?;
        progress(&format!(
            "  {}: {} of {} entries in {:.1} s wall, {:.1} CPU s; windows {} bytes",
            if measurement.complete { "done" } else { "timed out" },
            measurement.entries,
            generated.lines,
            measurement.wall_seconds,
            measurement.cpu_seconds,
            measurement.windows_bytes
        ));
        measurements.push(measurement);
    }
    if settings.keep || settings.work_dir.is_some() {
        progress(&format!("kept {}", work_dir.display()));
    } else if let Err(error) = std::fs::remove_dir_all(&root) {
        tracing::warn!(dir = %root.display(), %error, "cannot remove the generated logs");
    }
    let report_settings = ReportSettings {
        loupe: settings.loupe.display().to_string(),
        generate: config,
        runs: settings.runs,
        timeout_seconds: settings.timeout.as_secs_f64(),
    };
    Ok(Report::new(
        report_settings,
        generated,
        measurements,
        started.elapsed().as_secs_f64(),
    ))
}

/// The entries-stored gauge, or `None` while `/metrics` does not answer with it.
fn stored_entries(addr: SocketAddr) -> Option<u64> {
    gauge(addr, ENTRIES_METRIC).ok().flatten()
}

/// A gauge from Loupe's `/metrics`.
fn gauge(addr: SocketAddr, name: &str) -> Result<Option<u64>> {
    let (status, body) = process::http_get(addr, "/metrics", Duration::from_secs(10))?;
    if status != 200 {
        return Err(format!("loupe /metrics answered {status}").into());
    }
    Ok(process::metric_sum(&body, name)?.map(|v| v.max(0.0) as u64))
}

/// CPU seconds of this process and of the whole machine.
fn background_cpu() -> Result<(f64, f64)> {
    Ok((
        process::cpu_seconds(std::process::id())?,
        process::machine_busy_seconds()?,
    ))
}

/// Number of subdirectories of `dir`.
fn count_dirs(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .count()
    })
}

/// One run: Loupe on a fresh data directory until every generated line is stored.
fn measure(
    settings: &Settings,
    config: &Path,
    work_dir: &Path,
    run: usize,
    generated: &Generated,
) -> Result<Measurement> {
    let data_dir = work_dir.join(format!("loupe-data-{run}"));
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).map_err(|e| format!("removing {}: {e}", data_dir.display()))?;
    }
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    let mut command = Command::new(&settings.loupe);
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info");
    let (own_before, machine_before) = background_cpu()?;
    let spawned = Instant::now();
    let mut running = Running::spawn(command, work_dir.join(format!("loupe-{run}.log")))?;
    let pid = running.pid();
    tracing::info!(pid, run, "loupe started");
    let addr = running.logged_address(START_TIMEOUT)?;
    running.wait_ready(addr, "/-/ready", START_TIMEOUT)?;
    let startup_seconds = spawned.elapsed().as_secs_f64();

    let deadline = spawned + settings.timeout;
    let mut entries = 0;
    let complete = loop {
        running.check_alive()?;
        entries = stored_entries(addr).unwrap_or(entries);
        if entries >= generated.lines {
            break true;
        }
        if Instant::now() > deadline {
            tracing::warn!(
                pid,
                entries,
                lines = generated.lines,
                "timed out waiting for every line"
            );
            break false;
        }
        std::thread::sleep(POLL_EVERY);
    };
    let wall_seconds = spawned.elapsed().as_secs_f64();
    let cpu_seconds = process::cpu_seconds(pid)?;
    let (own_after, machine_after) = background_cpu()?;
    let other_cpu_seconds = (machine_after - machine_before - cpu_seconds - (own_after - own_before)).max(0.0);

    // Every line is searchable once the uncommitted gauge is back to zero.
    loop {
        running.check_alive()?;
        match gauge(addr, UNCOMMITTED_METRIC)? {
            Some(0) => break,
            Some(_) if Instant::now() <= deadline => std::thread::sleep(POLL_EVERY / 4),
            Some(pending) => {
                tracing::warn!(pid, pending, "timed out waiting for the last commit");
                break;
            }
            None => {
                std::thread::sleep(COMMIT_WAIT);
                break;
            }
        }
    }
    let wall_seconds_with_commit = spawned.elapsed().as_secs_f64();
    let entries_after_commit = gauge(addr, ENTRIES_METRIC)?.unwrap_or(0);
    let store_disk_bytes = gauge(addr, DISK_METRIC)?.unwrap_or(0);
    let cpu_seconds_with_commit = process::cpu_seconds(pid)?;
    let (rss_final_bytes, rss_peak_bytes) = process::rss_bytes(pid)?;
    let queries = if settings.query_repeats > 0 && complete {
        super::queries::measure(addr, generated, settings.query_repeats)?
    } else {
        Vec::new()
    };
    let stop_seconds = running.stop(STOP_GRACE)?.as_secs_f64();

    let logs_dir = data_dir.join("logs");
    let windows_dir = logs_dir.join("windows");
    let measurement = Measurement {
        run,
        complete,
        entries,
        entries_after_commit,
        startup_seconds,
        wall_seconds,
        cpu_seconds,
        cpu_seconds_with_commit,
        wall_seconds_with_commit,
        other_cpu_seconds,
        rss_peak_bytes,
        rss_final_bytes,
        store_disk_bytes,
        windows_bytes: process::dir_bytes(&windows_dir),
        windows: count_dirs(&windows_dir),
        wal_bytes: process::dir_bytes(&logs_dir.join("wal")),
        stop_seconds,
        queries,
    };
    if !settings.keep
        && let Err(error) = std::fs::remove_dir_all(&data_dir)
    {
        tracing::warn!(dir = %data_dir.display(), %error, "cannot remove the data directory");
    }
    Ok(measurement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_config() {
        assert_eq!(
            config_yaml(Path::new("/tmp/x/containers")),
            "global: {}\nlog_sources:\n  docker:\n    root: /tmp/x/containers\nstorage:\n  logs:\n    \
             retention_time: 0s\n"
        );
    }

    #[test]
    fn resolves_the_start_time() {
        let settings = Settings {
            start_ns: Some(42),
            ..Settings::default()
        };
        assert_eq!(settings.generate_config().start_ns, 42);
        let config = Settings::default().generate_config();
        assert_eq!((config.containers, config.size_bytes, config.seed), (8, 1 << 30, 1));
        assert!(
            config.start_ns
                < 1_000_000_000 * (std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_secs()) as i64)
        );
    }

    #[test]
    fn needs_the_binary() {
        let settings = Settings {
            loupe: PathBuf::from("/nonexistent/loupe"),
            ..Settings::default()
        };
        let error = run(&settings, |_| {}).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            error.starts_with("loupe binary /nonexistent/loupe not found"),
            "{error}"
        );
    }

    #[test]
    fn counts_directories() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("a")).expect("mkdir");
        std::fs::create_dir(dir.path().join("b")).expect("mkdir");
        std::fs::write(dir.path().join("f"), b"x").expect("write");
        assert_eq!(count_dirs(dir.path()), 2);
        assert_eq!(count_dirs(&dir.path().join("missing")), 0);
    }
}
