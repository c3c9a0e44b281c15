//! One measured run of one system: start it on the shared config, let it warm up, measure CPU time,
//! memory and samples over a fixed window, stop it by PID and remove its data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::{self, Running};
use super::server::{Served, TargetServer};
use crate::Result;

/// How long a system may take to log its address and become ready.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a system may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// How often memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// A system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// `loupe serve`.
    Loupe,
    /// Prometheus.
    Prometheus,
    /// VictoriaMetrics single-node, scraping with `-promscrape.config`.
    #[serde(rename = "victoria-metrics")]
    VictoriaMetrics,
}

impl System {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            System::Loupe => "loupe",
            System::Prometheus => "prometheus",
            System::VictoriaMetrics => "victoria-metrics",
        }
    }

    /// The counter of samples appended to storage on the system's `/metrics`.
    pub fn appended_metric(self) -> &'static str {
        match self {
            System::Loupe => "loupe_tsdb_head_samples_appended_total",
            System::Prometheus => "prometheus_tsdb_head_samples_appended_total",
            System::VictoriaMetrics => "vm_rows_added_to_storage_total",
        }
    }

    /// Series the system adds to every scrape (`up`, `scrape_duration_seconds`, …;
    /// VictoriaMetrics adds `scrape_timeout_seconds` too).
    pub fn synthetic_per_scrape(self) -> f64 {
        match self {
            System::Loupe | System::Prometheus => 5.0,
            System::VictoriaMetrics => 6.0,
        }
    }

    /// The path that answers 200 once the system is ready.
    fn ready_path(self) -> &'static str {
        match self {
            System::Loupe | System::Prometheus => "/-/ready",
            System::VictoriaMetrics => "/health",
        }
    }
}

/// Everything one measurement needs.
#[derive(Debug, Clone)]
pub struct MeasureSpec<'a> {
    /// Which system.
    pub system: System,
    /// Its binary.
    pub binary: &'a Path,
    /// The shared scrape configuration file.
    pub config: &'a Path,
    /// Where its data directory and log go.
    pub work_dir: &'a Path,
    /// Run number (0-based).
    pub run: usize,
    /// Time between ready and the window's start.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

/// What one system did during one measured window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measurement {
    /// Which system.
    pub system: System,
    /// Run number (0-based).
    pub run: usize,
    /// Wall-clock length of the window in seconds.
    pub window_seconds: f64,
    /// User + system CPU seconds of the process in the window.
    pub cpu_seconds: f64,
    /// Growth of the system's own appended-samples counter in the window.
    pub samples_appended: f64,
    /// What the targets served to it in the window.
    pub served: Served,
    /// Appended samples per target request (the exposition's series plus the system's own per-scrape
    /// series such as `up`).
    pub appended_per_scrape: f64,
    /// CPU seconds per million appended samples: the headline figure.
    pub cpu_per_million_appended: f64,
    /// CPU seconds per million samples served by the targets (same denominator for both systems).
    pub cpu_per_million_scraped: f64,
    /// Average cores busy in the window.
    pub cores: f64,
    /// CPU seconds the synthetic targets (this process) used in the window.
    pub generator_cpu_seconds: f64,
    /// CPU seconds everything else on the machine used in the window (builds, other tests): high values
    /// mean the figures were taken on a busy machine.
    pub other_cpu_seconds: f64,
    /// Highest `VmRSS` sampled during the window, bytes.
    pub rss_window_peak_bytes: u64,
    /// `VmHWM` at the window's end (peak over the process's life), bytes.
    pub rss_peak_bytes: u64,
    /// `VmRSS` at the window's end, bytes.
    pub rss_final_bytes: u64,
    /// Bytes of its data directory at the window's end.
    pub disk_bytes: u64,
    /// Seconds from spawn to ready.
    pub startup_seconds: f64,
    /// Seconds from spawn to the first appended samples (the warm-up starts then).
    pub first_samples_seconds: f64,
    /// Seconds from SIGTERM to exit.
    pub stop_seconds: f64,
}

/// Counters read at one instant.
struct Snapshot {
    at: Instant,
    cpu: f64,
    appended: f64,
    served: Served,
    /// CPU seconds of this process (the targets).
    generator_cpu: f64,
    /// CPU seconds of the whole machine.
    machine_cpu: f64,
}

fn snapshot(system: System, pid: u32, addr: SocketAddr, server: &TargetServer) -> Result<Snapshot> {
    let (status, body) = process::http_get(addr, "/metrics", Duration::from_secs(10))?;
    if status != 200 {
        return Err(format!("{} /metrics answered {status}", system.name()).into());
    }
    let appended = process::metric_sum(&body, system.appended_metric())?
        .ok_or_else(|| format!("{} /metrics has no {} yet", system.name(), system.appended_metric()))?;
    Ok(Snapshot {
        at: Instant::now(),
        cpu: process::cpu_seconds(pid)?,
        appended,
        served: server.served(),
        generator_cpu: process::cpu_seconds(std::process::id())?,
        machine_cpu: process::machine_busy_seconds()?,
    })
}

/// Waits until the system has appended its first samples (Prometheus, for one, starts scraping a few
/// seconds after it is ready, and only then exposes its appended-samples counter).
fn wait_first_samples(running: &mut Running, system: System, addr: SocketAddr, server: &TargetServer) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        running.check_alive()?;
        let error = match snapshot(system, running.pid(), addr, server) {
            Ok(first) if first.appended > 0.0 => return Ok(()),
            Ok(_) => "no samples appended".to_string(),
            Err(error) => error.to_string(),
        };
        if Instant::now() > deadline {
            return Err(format!("{}: {error} after {START_TIMEOUT:?}", system.name()).into());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Sleeps `length`, sampling the process's RSS; returns the highest seen.
fn watch(running: &mut Running, length: Duration) -> Result<u64> {
    let end = Instant::now() + length;
    let mut peak = 0;
    loop {
        running.check_alive()?;
        peak = peak.max(process::rss_bytes(running.pid())?.0);
        let now = Instant::now();
        if now >= end {
            return Ok(peak);
        }
        std::thread::sleep(SAMPLE_EVERY.min(end - now));
    }
}

fn command(spec: &MeasureSpec<'_>, data_dir: &Path) -> Result<(Command, Option<SocketAddr>)> {
    let mut command = Command::new(spec.binary);
    match spec.system {
        System::Loupe => {
            command
                .arg("serve")
                .arg("--config")
                .arg(spec.config)
                .arg("--data-dir")
                .arg(data_dir)
                .args(["--listen", "127.0.0.1:0"])
                .env("RUST_LOG", "info");
            Ok((command, None))
        }
        System::Prometheus => {
            let addr = SocketAddr::from(([127, 0, 0, 1], process::free_port()?));
            command
                .arg(format!("--config.file={}", spec.config.display()))
                .arg(format!("--storage.tsdb.path={}", data_dir.display()))
                .arg(format!("--web.listen-address={addr}"));
            Ok((command, Some(addr)))
        }
        System::VictoriaMetrics => {
            let addr = SocketAddr::from(([127, 0, 0, 1], process::free_port()?));
            command
                .arg(format!("-promscrape.config={}", spec.config.display()))
                .arg(format!("-storageDataPath={}", data_dir.display()))
                .arg(format!("-httpListenAddr={addr}"));
            Ok((command, Some(addr)))
        }
    }
}

/// Starts the system, measures one window, stops it and removes its data directory.
pub fn measure(spec: &MeasureSpec<'_>, server: &TargetServer) -> Result<Measurement> {
    let name = spec.system.name();
    let data_dir: PathBuf = spec.work_dir.join(format!("{name}-data-{}", spec.run));
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    let log = spec.work_dir.join(format!("{name}-{}.log", spec.run));
    let (command, known_addr) = command(spec, &data_dir)?;
    let spawned = Instant::now();
    let mut running = Running::spawn(command, log)?;
    tracing::info!(system = name, pid = running.pid(), "started");
    let addr = match known_addr {
        Some(addr) => addr,
        None => running.logged_address(START_TIMEOUT)?,
    };
    running.wait_ready(addr, spec.system.ready_path(), START_TIMEOUT)?;
    let startup_seconds = spawned.elapsed().as_secs_f64();
    wait_first_samples(&mut running, spec.system, addr, server)?;
    let first_samples_seconds = spawned.elapsed().as_secs_f64();
    watch(&mut running, spec.warmup)?;

    let start = snapshot(spec.system, running.pid(), addr, server)?;
    let rss_window_peak_bytes = watch(&mut running, spec.duration)?;
    let end = snapshot(spec.system, running.pid(), addr, server)?;
    let (rss_final_bytes, rss_peak_bytes) = process::rss_bytes(running.pid())?;
    let disk_bytes = process::dir_bytes(&data_dir);

    let stop_seconds = running.stop(STOP_GRACE)?.as_secs_f64();
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        tracing::warn!(dir = %data_dir.display(), %error, "cannot remove the data directory");
    }

    let window_seconds = end.at.duration_since(start.at).as_secs_f64();
    let cpu_seconds = end.cpu - start.cpu;
    let samples_appended = end.appended - start.appended;
    let served = end.served.since(&start.served);
    let generator_cpu_seconds = end.generator_cpu - start.generator_cpu;
    let other_cpu_seconds = (end.machine_cpu - start.machine_cpu - cpu_seconds - generator_cpu_seconds).max(0.0);
    let per_million = |samples: f64| {
        if samples > 0.0 {
            cpu_seconds / samples * 1e6
        } else {
            f64::NAN
        }
    };
    Ok(Measurement {
        system: spec.system,
        run: spec.run,
        window_seconds,
        cpu_seconds,
        samples_appended,
        served,
        appended_per_scrape: if served.requests > 0 {
            samples_appended / served.requests as f64
        } else {
            f64::NAN
        },
        cpu_per_million_appended: per_million(samples_appended),
        cpu_per_million_scraped: per_million(served.samples as f64),
        cores: cpu_seconds / window_seconds.max(1e-9),
        generator_cpu_seconds,
        other_cpu_seconds,
        rss_window_peak_bytes,
        rss_peak_bytes,
        rss_final_bytes,
        disk_bytes,
        startup_seconds,
        first_samples_seconds,
        stop_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_command_lines() {
        let spec = MeasureSpec {
            system: System::Loupe,
            binary: Path::new("/x/loupe"),
            config: Path::new("/w/scrape.yml"),
            work_dir: Path::new("/w"),
            run: 0,
            warmup: Duration::ZERO,
            duration: Duration::ZERO,
        };
        let (loupe, addr) = command(&spec, Path::new("/w/d")).expect("builds");
        assert_eq!(addr, None);
        let args: Vec<_> = loupe.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "serve",
                "--config",
                "/w/scrape.yml",
                "--data-dir",
                "/w/d",
                "--listen",
                "127.0.0.1:0"
            ]
        );
        let spec = MeasureSpec {
            system: System::Prometheus,
            ..spec
        };
        let (prometheus, addr) = command(&spec, Path::new("/w/d")).expect("builds");
        let addr = addr.expect("prometheus gets a chosen port");
        let args: Vec<_> = prometheus
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--config.file=/w/scrape.yml".to_string(),
                "--storage.tsdb.path=/w/d".to_string(),
                format!("--web.listen-address={addr}"),
            ]
        );
    }
}
