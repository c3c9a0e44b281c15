//! The systems under test as child processes: spawning with their stderr kept in a log file, CPU time
//! and memory of another process from `/proc/<pid>`, a small HTTP/1.0 client for their endpoints, and
//! stopping by PID (SIGTERM, then SIGKILL).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::Result;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on every Linux architecture).
const USER_HZ: f64 = 100.0;
/// Largest HTTP response read.
const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// User plus system CPU seconds of process `pid` so far (all its threads), from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    let ticks = parse_cpu_ticks(&stat).ok_or_else(|| format!("unreadable /proc/{pid}/stat"))?;
    Ok(ticks as f64 / USER_HZ)
}

/// utime + stime in ticks from the text of `/proc/<pid>/stat`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is parenthesised and may hold spaces: skip past its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU seconds the whole machine spent busy (every core's user, nice, system, irq, softirq and steal
/// time), from the first line of `/proc/stat`.
pub fn machine_busy_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
    let ticks = parse_machine_busy(&stat).ok_or("unreadable /proc/stat")?;
    Ok(ticks as f64 / USER_HZ)
}

/// Busy ticks from the text of `/proc/stat`: fields user nice system (idle iowait) irq softirq steal.
fn parse_machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line
        .split_ascii_whitespace()
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 8 {
        return None;
    }
    Some(fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7])
}

/// Resident memory of process `pid`: (current `VmRSS`, peak `VmHWM`) in bytes.
pub fn rss_bytes(pid: u32) -> Result<(u64, u64)> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name| status_kib(&status, name).ok_or_else(|| format!("no {name} in /proc/{pid}/status"));
    Ok((field("VmRSS:")? * 1024, field("VmHWM:")? * 1024))
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].trim().strip_suffix("kB")?.trim().parse().ok()
}

/// Bytes of all files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A system under test, running.
pub struct Running {
    child: Child,
    /// Its stderr, copied line by line.
    pub log: PathBuf,
    address: mpsc::Receiver<SocketAddr>,
}

impl Running {
    /// Spawns `command` with stdout discarded and stderr copied to `log`; lines holding `address=IP:PORT`
    /// are reported to [`Running::logged_address`].
    pub fn spawn(mut command: Command, log: PathBuf) -> Result<Running> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {:?}: {e}", command.get_program()))?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let mut file = std::fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let (sender, address) = mpsc::channel();
        std::thread::Builder::new().name("child-stderr".into()).spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = address_in(&line) {
                    let _ = sender.send(addr);
                }
                let _ = writeln!(file, "{line}");
            }
        })?;
        Ok(Running { child, log, address })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first `address=` the process logged, waiting up to `timeout`.
    pub fn logged_address(&self, timeout: Duration) -> Result<SocketAddr> {
        self.address
            .recv_timeout(timeout)
            .map_err(|_| format!("no address= line within {timeout:?} (see {})", self.log.display()).into())
    }

    /// Fails when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            Some(status) => Err(format!("process exited early with {status} (see {})", self.log.display()).into()),
            None => Ok(()),
        }
    }

    /// Polls `http://addr/path` until it answers 200, up to `timeout`.
    pub fn wait_ready(&mut self, addr: SocketAddr, path: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive()?;
            if matches!(http_get(addr, path, Duration::from_secs(2)), Ok((200, _))) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{addr}{path} not ready within {timeout:?} (see {})", self.log.display()).into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends SIGTERM, waits up to `grace` for the exit, then SIGKILLs. Returns how long the stop took.
    pub fn stop(mut self, grace: Duration) -> Result<Duration> {
        let started = Instant::now();
        if self.child.try_wait()?.is_none() {
            // `kill` is a standard utility: no unsafe signal call needed.
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            while self.child.try_wait()?.is_none() {
                if started.elapsed() > grace {
                    tracing::warn!(pid = self.child.id(), "no exit after sigterm, killing");
                    self.child.kill()?;
                    self.child.wait()?;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(started.elapsed())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `IP:PORT` after `address=` in a log line.
fn address_in(line: &str) -> Option<SocketAddr> {
    let start = line.find("address=")? + "address=".len();
    let value = line[start..].split_whitespace().next()?.trim_matches('"');
    value.parse().ok()
}

/// A free `127.0.0.1` port, found by binding port 0 and letting it go.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `GET path` over HTTP/1.0 (no keep-alive, no chunking); returns the status and the body, with the
/// whole exchange bounded by `timeout` per read and the response by 64 MiB.
pub fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/plain\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE_BYTES).read_to_end(&mut response)?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head from {addr}{path}"))?;
    let head = String::from_utf8_lossy(&response[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line from {addr}{path}"))?;
    let body = String::from_utf8_lossy(&response[end + 4..]).into_owned();
    Ok((status, body))
}

/// The sum of every sample named `name` in an exposition (text 0.0.4, or OpenMetrics when it ends with
/// `# EOF`). `None` when absent.
pub fn metric_sum(text: &str, name: &str) -> Result<Option<f64>> {
    let format = if text.trim_end().ends_with("# EOF") {
        scraper::Format::OpenMetrics
    } else {
        scraper::Format::PrometheusText
    };
    let entries = scraper::parse_all(text, format).map_err(|e| format!("parsing /metrics: {e}"))?;
    let mut found = None;
    for entry in entries {
        if let scraper::Entry::Sample(sample) = entry
            && sample.name == name
        {
            *found.get_or_insert(0.0) += sample.value;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_status() {
        let stat = "1234 (loupe serve) R 1 2 3 4 5 6 7 8 9 10 250 31 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(281));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        let status = "Name:\tx\nVmHWM:\t  4096 kB\nVmRSS:\t    2048 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(2048));
        assert_eq!(status_kib(status, "VmHWM:"), Some(4096));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let stat = "cpu  100 2 30 5000 7 1 4 0 0 0\ncpu0 50 1 15 2500 3 0 2 0 0 0\n";
        assert_eq!(parse_machine_busy(stat), Some(137));
        assert_eq!(parse_machine_busy("cpu0 1 2\n"), None);
        assert_eq!(parse_machine_busy("cpu  1 2 3\n"), None);
    }

    #[test]
    fn reads_this_process() {
        if cfg!(target_os = "linux") {
            let pid = std::process::id();
            assert!(cpu_seconds(pid).is_ok());
            let (rss, peak) = rss_bytes(pid).expect("status");
            assert!(rss > 0 && peak >= rss);
        }
    }

    #[test]
    fn finds_logged_addresses() {
        let line = "2025-01-01T00:00:00Z  INFO loupe::serve: listening address=127.0.0.1:41234";
        assert_eq!(address_in(line), Some("127.0.0.1:41234".parse().expect("addr")));
        assert_eq!(
            address_in("address=\"127.0.0.1:9\" x"),
            Some("127.0.0.1:9".parse().expect("addr"))
        );
        assert_eq!(address_in("no address here"), None);
    }

    #[test]
    fn sums_metrics_in_both_formats() {
        let text = "# TYPE a counter\na_total{x=\"1\"} 2\na_total{x=\"2\"} 3\nb 1\n";
        assert_eq!(metric_sum(text, "a_total").expect("parses"), Some(5.0));
        assert_eq!(metric_sum(text, "c").expect("parses"), None);
        let om = "# TYPE a counter\na_total 7\n# EOF\n";
        assert_eq!(metric_sum(om, "a_total").expect("parses"), Some(7.0));
    }

    #[test]
    fn gets_from_the_target_server() {
        let server = super::super::server::TargetServer::start(1, 10, 1).expect("starts");
        let (status, body) = http_get(server.addrs()[0], "/metrics", Duration::from_secs(5)).expect("gets");
        assert_eq!(status, 200);
        assert!(metric_sum(&body, "bench_queue_depth").expect("parses").is_some());
        let (status, _) = http_get(server.addrs()[0], "/nope", Duration::from_secs(5)).expect("gets");
        assert_eq!(status, 404);
    }
}
