//! The systems under test as child processes: starting Loupe and VictoriaMetrics on fresh data
//! directories and Prometheus on blocks made by `promtool`, importing Prometheus text, waiting for
//! background work to settle, querying.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::client::{self, Response};
use crate::Result;
use crate::scrape::process::{self, Running};

/// Longest wait for one import request or query.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Which system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum System {
    /// Loupe (`loupe serve`).
    Loupe,
    /// VictoriaMetrics single-node.
    VictoriaMetrics,
    /// Prometheus, on blocks made by `promtool`.
    Prometheus,
}

impl System {
    /// Short display name.
    pub fn name(self) -> &'static str {
        match self {
            System::Loupe => "Loupe",
            System::VictoriaMetrics => "VictoriaMetrics",
            System::Prometheus => "Prometheus",
        }
    }
}

/// A system running on its own data directory.
pub struct Server {
    /// Which system.
    pub system: System,
    running: Running,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts `loupe serve` on `work_dir/loupe-data` with a configuration without scraping.
    pub fn start_loupe(binary: &Path, work_dir: &Path) -> Result<Server> {
        let data_dir = work_dir.join("loupe-data");
        let config = work_dir.join("loupe.yml");
        std::fs::write(&config, "global: {}\n").map_err(|e| format!("writing {}: {e}", config.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--maintenance-interval",
                "5s",
                "--max-body-size",
                "256MiB",
            ])
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info");
        let mut running = Running::spawn(command, work_dir.join("loupe.log"))?;
        let addr = running.logged_address(Duration::from_secs(60))?;
        running.wait_ready(addr, "/-/ready", Duration::from_secs(60))?;
        Ok(Server {
            system: System::Loupe,
            running,
            addr,
            data_dir,
        })
    }

    /// Starts VictoriaMetrics on `work_dir/vm-data` with its response cache off and no latency offset,
    /// so imported data is queried from storage at once.
    pub fn start_victoria_metrics(binary: &Path, work_dir: &Path) -> Result<Server> {
        let data_dir = work_dir.join("vm-data");
        let addr: SocketAddr = format!("127.0.0.1:{}", process::free_port()?).parse()?;
        let mut command = Command::new(binary);
        command
            .arg(format!("-storageDataPath={}", data_dir.display()))
            .arg(format!("-httpListenAddr={addr}"))
            .args([
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",
                "-search.disableCache",
                "-search.maxQueryDuration=10m",
                "-search.maxPointsPerTimeseries=30000",
            ]);
        let mut running = Running::spawn(command, work_dir.join("victoria-metrics.log"))?;
        running.wait_ready(addr, "/health", Duration::from_secs(60))?;
        Ok(Server {
            system: System::VictoriaMetrics,
            running,
            addr,
            data_dir,
        })
    }

    /// Starts Prometheus on `data_dir` (blocks made by `promtool`), with nothing to scrape, a retention
    /// long enough to keep the dataset and limits high enough for the query set.
    pub fn start_prometheus(binary: &Path, work_dir: &Path, data_dir: &Path) -> Result<Server> {
        let config = work_dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n")
            .map_err(|e| format!("writing {}: {e}", config.display()))?;
        let addr: SocketAddr = format!("127.0.0.1:{}", process::free_port()?).parse()?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .arg(format!("--web.listen-address={addr}"))
            .args([
                "--storage.tsdb.retention.time=100y",
                "--query.timeout=10m",
                "--query.max-samples=200000000",
            ]);
        let mut running = Running::spawn(command, work_dir.join("prometheus.log"))?;
        running.wait_ready(addr, "/-/ready", Duration::from_secs(300))?;
        Ok(Server {
            system: System::Prometheus,
            running,
            addr,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.running.pid()
    }

    /// Posts one chunk of Prometheus text to `/api/v1/import/prometheus`; returns the wall time.
    pub fn import(&mut self, text: &[u8]) -> Result<Duration> {
        let response = client::request(
            self.addr,
            "POST",
            "/api/v1/import/prometheus",
            Some("text/plain; version=0.0.4"),
            text,
            REQUEST_TIMEOUT,
        )
        .map_err(|e| format!("{} import: {e}", self.system.name()))?;
        if !(200..300).contains(&response.status) {
            self.running.check_alive()?;
            return Err(format!(
                "{} import answered {}: {}",
                self.system.name(),
                response.status,
                response.snippet()
            )
            .into());
        }
        Ok(response.elapsed)
    }

    /// Makes imported data searchable and waits (up to `limit`) until the system's background work
    /// (Loupe: head cuts and compactions; VictoriaMetrics: merges) has been idle for three polls: its
    /// counters unchanged and under 5 % of a core used.
    pub fn settle(&mut self, limit: Duration) -> Result<Duration> {
        let started = Instant::now();
        if self.system == System::VictoriaMetrics {
            let r = client::request(self.addr, "GET", "/internal/force_flush", None, b"", REQUEST_TIMEOUT)?;
            if r.status != 200 {
                return Err(format!("force_flush answered {}: {}", r.status, r.snippet()).into());
            }
        }
        let mut last = None;
        let mut quiet = 0;
        let mut cpu = self.cpu_seconds();
        let mut polled = Instant::now();
        while started.elapsed() < limit {
            self.running.check_alive()?;
            // Busy when it used more than 5 % of a core since the last poll.
            let (cpu_now, now) = (self.cpu_seconds(), Instant::now());
            let busy = cpu_now - cpu > 0.05 * (now - polled).as_secs_f64();
            (cpu, polled) = (cpu_now, now);
            let (status, text) = process::http_get(self.addr, "/metrics", Duration::from_secs(30))?;
            if status != 200 {
                return Err(format!("{} /metrics answered {status}", self.system.name()).into());
            }
            let signature = self.activity(&text);
            // Prometheus compacts on a one-minute tick: nothing is settled before the first one.
            let ticked = self.system != System::Prometheus
                || metric_total(&text, "prometheus_tsdb_compactions_triggered") >= 1.0;
            if last.as_ref() == Some(&signature) && signature.1 == 0 && !busy && ticked {
                quiet += 1;
                if quiet >= 3 {
                    return Ok(started.elapsed());
                }
            } else {
                quiet = 0;
            }
            last = Some(signature);
            std::thread::sleep(Duration::from_secs(match self.system {
                System::Loupe => 6,
                System::VictoriaMetrics => 2,
                System::Prometheus => 5,
            }));
        }
        tracing::warn!(
            system = self.system.name(),
            "background work still running after the settle limit"
        );
        Ok(started.elapsed())
    }

    /// What changes while background work runs (counters as text) and how much runs now.
    fn activity(&self, metrics: &str) -> (String, u64) {
        let sum = |name: &str| metric_total(metrics, name);
        match self.system {
            System::Loupe => (
                format!(
                    "{} {} {}",
                    sum("loupe_tsdb_blocks_loaded"),
                    sum("loupe_tsdb_compactions"),
                    sum("loupe_tsdb_blocks_cut")
                ),
                0,
            ),
            System::VictoriaMetrics => (
                format!("{}", sum("vm_merges_total") + sum("vm_parts")),
                sum("vm_active_merges") as u64,
            ),
            System::Prometheus => (
                format!(
                    "{} {}",
                    sum("prometheus_tsdb_compactions"),
                    sum("prometheus_tsdb_blocks_loaded")
                ),
                0,
            ),
        }
    }

    /// `GET path`, timed; a non-200 answer is an error.
    pub fn get(&self, path: &str) -> Result<Response> {
        let response = client::request(self.addr, "GET", path, None, b"", REQUEST_TIMEOUT)
            .map_err(|e| format!("{} {path}: {e}", self.system.name()))?;
        if response.status != 200 {
            return Err(format!(
                "{} {path} answered {}: {}",
                self.system.name(),
                response.status,
                response.snippet()
            )
            .into());
        }
        Ok(response)
    }

    /// Resident memory (current, peak) in bytes.
    pub fn rss(&self) -> (u64, u64) {
        process::rss_bytes(self.pid()).unwrap_or((0, 0))
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> f64 {
        process::cpu_seconds(self.pid()).unwrap_or(f64::NAN)
    }

    /// Bytes under the data directory.
    pub fn disk_bytes(&self) -> u64 {
        process::dir_bytes(&self.data_dir)
    }

    /// Bytes and samples of the compacted blocks in the data directory (subdirectories with a
    /// `meta.json`, Prometheus's layout and Loupe's); `None` when there are none (VictoriaMetrics).
    pub fn blocks(&self) -> Option<(u64, u64)> {
        blocks_in(&self.data_dir)
    }

    /// Stops the process (SIGTERM, SIGKILL after 60 s).
    pub fn stop(self) -> Result<Duration> {
        self.running.stop(Duration::from_secs(60))
    }
}

/// See [`Server::blocks`].
fn blocks_in(dir: &Path) -> Option<(u64, u64)> {
    let mut found = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = std::fs::read_to_string(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&meta) else {
            continue;
        };
        let stats = &meta["stats"];
        let samples = stats["num_samples"].as_u64().or_else(|| stats["numSamples"].as_u64())?;
        let (bytes, total) = found.get_or_insert((0u64, 0u64));
        *bytes += process::dir_bytes(&entry.path());
        *total += samples;
    }
    found
}

/// The sum of every sample of `name` (or `name_total`) in a `/metrics` text.
fn metric_total(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            let rest = l.strip_prefix(name).unwrap_or("-");
            let rest = rest.strip_prefix("_total").unwrap_or(rest);
            rest.starts_with(' ') || rest.starts_with('{')
        })
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// First line of `victoria-metrics -version`, or the Debian package's version when that is empty.
pub fn victoria_metrics_version(binary: &Path) -> Option<String> {
    let first_line = |output: std::process::Output| {
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
    };
    Command::new(binary)
        .arg("-version")
        .output()
        .ok()
        .and_then(first_line)
        .or_else(|| {
            let output = Command::new("dpkg-query")
                .args([
                    "-W",
                    "-f",
                    "victoria-metrics ${Version} (Debian package)",
                    "victoria-metrics",
                ])
                .output()
                .ok()?;
            first_line(output)
        })
}
