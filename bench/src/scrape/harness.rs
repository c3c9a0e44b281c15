//! The benchmark's driver: targets up, one shared config, each system measured in turn, then the report.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use super::process::{self, Running};
use super::report::{Report, ReportSettings};
use super::runner::{self, MeasureSpec, System};
use super::server::TargetServer;

use crate::Result;

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Loupe's binary (`cargo build --release --bin loupe`).
    pub loupe: PathBuf,
    /// Prometheus's binary.
    pub prometheus: PathBuf,
    /// VictoriaMetrics' binary.
    pub victoria_metrics: PathBuf,
    /// `prometheus-node-exporter`, scraped as one more target; `None` leaves it out.
    pub node_exporter: Option<PathBuf>,
    /// Which systems to measure.
    pub systems: Vec<System>,
    /// Synthetic targets.
    pub targets: usize,
    /// Series per target.
    pub series_per_target: usize,
    /// Scrape interval.
    pub interval: Duration,
    /// Scrape timeout (at most the interval).
    pub timeout: Duration,
    /// Time between a system's readiness and its window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Runs per system.
    pub runs: usize,
    /// Seed of the targets' values.
    pub seed: u64,
    /// Where configs, logs and data directories go; a temporary directory when `None`.
    pub work_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            loupe: PathBuf::from("target/release/loupe"),
            prometheus: PathBuf::from("/usr/bin/prometheus"),
            victoria_metrics: PathBuf::from("/usr/bin/victoria-metrics"),
            node_exporter: Some(PathBuf::from("/usr/bin/prometheus-node-exporter")),
            systems: vec![System::Loupe, System::Prometheus, System::VictoriaMetrics],
            targets: 100,
            series_per_target: 1000,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(4),
            warmup: Duration::from_secs(10),
            duration: Duration::from_secs(60),
            runs: 1,
            seed: 1,
            work_dir: None,
        }
    }
}

impl Settings {
    /// The binary of `system`.
    pub fn binary(&self, system: System) -> &std::path::Path {
        match system {
            System::Loupe => &self.loupe,
            System::Prometheus => &self.prometheus,
            System::VictoriaMetrics => &self.victoria_metrics,
        }
    }
}

/// A duration as Prometheus writes one: whole seconds as `5s`, otherwise milliseconds.
fn prometheus_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// The scrape configuration every system reads: a `global` block, one static job `bench` listing
/// `targets` and, when given, a job `node` for a node exporter.
pub fn config_yaml(
    interval: Duration,
    timeout: Duration,
    targets: &[std::net::SocketAddr],
    node_exporter: Option<std::net::SocketAddr>,
) -> String {
    let mut yaml = format!(
        "global:\n  scrape_interval: {}\n  scrape_timeout: {}\nscrape_configs:\n  - job_name: bench\n    \
         static_configs:\n      - targets:\n",
        prometheus_duration(interval),
        prometheus_duration(timeout.min(interval))
    );
    for addr in targets {
        yaml.push_str(&format!("          - {addr}\n"));
    }
    if let Some(addr) = node_exporter {
        yaml.push_str(&format!(
            "  - job_name: node\n    static_configs:\n      - targets:\n          - {addr}\n"
        ));
    }
    yaml
}

/// A running `prometheus-node-exporter` on an ephemeral port, and the series it exposes.
fn start_node_exporter(binary: &std::path::Path, work_dir: &std::path::Path) -> Result<(Running, SocketAddr, usize)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], process::free_port()?));
    let mut command = Command::new(binary);
    command.arg(format!("--web.listen-address={addr}"));
    let mut running = Running::spawn(command, work_dir.join("node-exporter.log"))?;
    running.wait_ready(addr, "/metrics", Duration::from_secs(30))?;
    let (status, body) = process::http_get(addr, "/metrics", Duration::from_secs(10))?;
    if status != 200 {
        return Err(format!("node exporter /metrics answered {status}").into());
    }
    let entries = scraper::parse_all(&body, scraper::Format::PrometheusText)
        .map_err(|e| format!("parsing the node exporter's /metrics: {e}"))?;
    let series = entries
        .iter()
        .filter(|e| matches!(e, scraper::Entry::Sample(_)))
        .count();
    Ok((running, addr, series))
}

/// First line of `prometheus --version`.
pub fn prometheus_version(binary: &std::path::Path) -> Option<String> {
    let output = Command::new(binary).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    text.lines().next().map(str::to_string)
}

/// Runs the benchmark; `progress` is told what happens.
pub fn run(settings: &Settings, mut progress: impl FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    for system in &settings.systems {
        let binary = settings.binary(*system);
        if !binary.is_file() {
            return Err(format!("{} binary {} not found", system.name(), binary.display()).into());
        }
    }
    if let Some(binary) = &settings.node_exporter
        && !binary.is_file()
    {
        return Err(format!("node exporter binary {} not found", binary.display()).into());
    }
    let temp;
    let work_dir = match &settings.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("side-by-side-scrape").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    progress(&format!(
        "starting {} targets × {} series",
        settings.targets, settings.series_per_target
    ));
    let mut server = TargetServer::start(settings.targets, settings.series_per_target, settings.seed)?;
    let node = match &settings.node_exporter {
        Some(binary) => Some(start_node_exporter(binary, &work_dir)?),
        None => None,
    };
    if let Some((running, addr, series)) = &node {
        progress(&format!(
            "node exporter pid {} at {addr}: {series} series",
            running.pid()
        ));
    }
    let config = work_dir.join("scrape.yml");
    std::fs::write(
        &config,
        config_yaml(
            settings.interval,
            settings.timeout,
            server.addrs(),
            node.as_ref().map(|n| n.1),
        ),
    )
    .map_err(|e| format!("writing {}: {e}", config.display()))?;
    let result = measure_all(settings, &config, &work_dir, &server, &mut progress);
    server.stop();
    let node_series = node.as_ref().map_or(0, |n| n.2);
    if let Some((running, ..)) = node
        && let Err(error) = running.stop(Duration::from_secs(10))
    {
        progress(&format!("stopping the node exporter: {error}"));
    }
    let measurements = result?;
    let report_settings = ReportSettings {
        targets: settings.targets,
        series_per_target: settings.series_per_target,
        node_exporter: settings.node_exporter.is_some(),
        active_series: settings.targets * settings.series_per_target + node_series,
        interval_seconds: settings.interval.as_secs_f64(),
        timeout_seconds: settings.timeout.min(settings.interval).as_secs_f64(),
        warmup_seconds: settings.warmup.as_secs_f64(),
        duration_seconds: settings.duration.as_secs_f64(),
        runs: settings.runs,
        seed: settings.seed,
        loupe: settings.loupe.display().to_string(),
        prometheus: settings.prometheus.display().to_string(),
        prometheus_version: settings
            .systems
            .contains(&System::Prometheus)
            .then(|| prometheus_version(&settings.prometheus))
            .flatten(),
        victoria_metrics: settings.victoria_metrics.display().to_string(),
        victoria_metrics_version: settings
            .systems
            .contains(&System::VictoriaMetrics)
            .then(|| crate::querybench::systems::victoria_metrics_version(&settings.victoria_metrics))
            .flatten(),
    };
    Ok(Report::new(
        report_settings,
        measurements,
        started.elapsed().as_secs_f64(),
    ))
}

/// Every run of every system, in turn.
fn measure_all(
    settings: &Settings,
    config: &std::path::Path,
    work_dir: &std::path::Path,
    server: &TargetServer,
    progress: &mut impl FnMut(&str),
) -> Result<Vec<runner::Measurement>> {
    let mut measurements = Vec::new();
    for run in 0..settings.runs {
        // Rotate the order so no system always runs on a warmer machine.
        let mut order = settings.systems.clone();
        let n = order.len().max(1);
        order.rotate_left(run % n);
        for system in order {
            let binary = settings.binary(system);
            progress(&format!(
                "run {}/{}: {} ({} s warm-up, {} s window)",
                run + 1,
                settings.runs,
                system.name(),
                settings.warmup.as_secs_f64(),
                settings.duration.as_secs_f64()
            ));
            let spec = MeasureSpec {
                system,
                binary,
                config,
                work_dir,
                run,
                warmup: settings.warmup,
                duration: settings.duration,
            };
            let measurement = runner::measure(&spec, server)?;
            progress(&format!(
                "  {}: {:.2} CPU s for {:.0} samples appended ({:.3} CPU s per M), {} scrapes; targets {:.2} CPU s, \
                 other processes {:.2} CPU s",
                system.name(),
                measurement.cpu_seconds,
                measurement.samples_appended,
                measurement.cpu_per_million_appended,
                measurement.served.requests,
                measurement.generator_cpu_seconds,
                measurement.other_cpu_seconds
            ));
            measurements.push(measurement);
        }
    }
    Ok(measurements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_config() {
        let addrs: Vec<std::net::SocketAddr> = vec![
            "127.0.0.1:4000".parse().expect("addr"),
            "127.0.0.1:4001".parse().expect("addr"),
        ];
        assert_eq!(
            config_yaml(Duration::from_secs(5), Duration::from_secs(4), &addrs, None),
            "global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\nscrape_configs:\n  - job_name: bench\n    \
             static_configs:\n      - targets:\n          - 127.0.0.1:4000\n          - 127.0.0.1:4001\n"
        );
        // The timeout never exceeds the interval.
        assert!(
            config_yaml(Duration::from_millis(1500), Duration::from_secs(4), &[], None)
                .contains("scrape_timeout: 1500ms")
        );
        let with_node = config_yaml(Duration::from_secs(5), Duration::from_secs(4), &addrs, Some(addrs[0]));
        assert!(
            with_node
                .ends_with("  - job_name: node\n    static_configs:\n      - targets:\n          - 127.0.0.1:4000\n"),
            "{with_node}"
        );
    }
}
