//! The scrape target both systems share: an in-process HTTP/1.1 server (keep-alive, one thread per
//! connection) answering `GET /metrics` with the [`Timeline`]'s exposition for the stamp of the
//! request, and recording per client (`User-Agent`) when it scraped and which stamps it was served.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::scenario::{Timeline, stamp_for_request};
use crate::Result;

/// Most connections served at once.
const MAX_CONNECTIONS: usize = 32;
/// Longest request line or header line.
const MAX_LINE: usize = 8192;
/// Most header lines in one request.
const MAX_HEADERS: usize = 100;
/// Most scrape times and stamps kept per client.
const MAX_KEPT: usize = 100_000;
/// Most distinct clients tracked.
const MAX_CLIENTS: usize = 16;

/// What one client (by `User-Agent`) was served.
#[derive(Debug, Clone, Default)]
pub struct ClientStats {
    /// Scrapes answered.
    pub requests: u64,
    /// Request times, ms since the epoch (the first [`MAX_KEPT`]).
    pub times_ms: Vec<i64>,
    /// Distinct stamps served.
    pub stamps: BTreeSet<i64>,
}

impl ClientStats {
    /// Stamps in `[from, to]` (whole seconds) never served to this client.
    pub fn missing_stamps(&self, from_ms: i64, to_ms: i64) -> Vec<i64> {
        let first = from_ms - from_ms.rem_euclid(1000);
        (0..)
            .map(|i| first + i * 1000)
            .take_while(|&t| t <= to_ms)
            .filter(|t| *t >= from_ms && !self.stamps.contains(t))
            .collect()
    }

    /// Minimum, median and maximum of the request times' offsets within their second (ms).
    pub fn offset_ms(&self) -> Option<(i64, i64, i64)> {
        let mut offsets: Vec<i64> = self.times_ms.iter().map(|t| t.rem_euclid(1000)).collect();
        offsets.sort_unstable();
        let median = *offsets.get(offsets.len() / 2)?;
        Some((offsets[0], median, offsets[offsets.len() - 1]))
    }
}

/// State shared by the connection threads.
struct Shared {
    timeline: Timeline,
    clients: Mutex<BTreeMap<String, ClientStats>>,
    stopping: AtomicBool,
    connections: AtomicUsize,
}

/// The running target; stops its listener when dropped.
pub struct TargetServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl TargetServer {
    /// Binds `127.0.0.1:0` and serves `timeline`.
    pub fn start(timeline: Timeline) -> Result<TargetServer> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding the target: {e}"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            timeline,
            clients: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
        });
        let for_thread = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("target-accept".into())
            .spawn(move || accept_loop(listener, for_thread))?;
        Ok(TargetServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The timeline served.
    pub fn timeline(&self) -> &Timeline {
        &self.shared.timeline
    }

    /// What each client (`User-Agent`) was served so far.
    pub fn clients(&self) -> BTreeMap<String, ClientStats> {
        self.shared.clients.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let for_thread = Arc::clone(&shared);
        let spawned = std::thread::Builder::new().name("target-conn".into()).spawn(move || {
            let _ = serve_connection(stream, &for_thread);
            for_thread.connections.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One request's head.
struct RequestHead {
    method: String,
    path: String,
    user_agent: String,
    close: bool,
}

/// Reads one line (bounded); `None` at end of stream.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = reader.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() > MAX_LINE {
        return Err(std::io::Error::other("request line too long"));
    }
    Ok(Some(String::from_utf8_lossy(&line).trim_end().to_string()))
}

/// Reads a request head; `None` when the client closed the connection.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<Option<RequestHead>> {
    let Some(first) = read_line(reader)? else {
        return Ok(None);
    };
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or_default().to_string();
    let mut head = RequestHead {
        method,
        path,
        user_agent: "unknown".into(),
        close: version != "HTTP/1.1",
    };
    for _ in 0..MAX_HEADERS {
        let Some(line) = read_line(reader)? else {
            return Ok(None);
        };
        if line.is_empty() {
            return Ok(Some(head));
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("user-agent") {
            head.user_agent = value.chars().take(100).collect();
        } else if name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        }
    }
    Err(std::io::Error::other("too many header lines"))
}

fn serve_connection(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader)? {
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (status, body) = if head.method == "GET" && head.path.split('?').next() == Some("/metrics") {
            let now_ms = now_ms();
            let stamp = stamp_for_request(now_ms);
            record(shared, &head.user_agent, now_ms, stamp);
            ("200 OK", shared.timeline.exposition(stamp))
        } else {
            ("404 Not Found", "not found\n".to_string())
        };
        let connection = if head.close { "close" } else { "keep-alive" };
        write!(
            writer,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
            body.len()
        )?;
        writer.flush()?;
        if head.close {
            return Ok(());
        }
    }
    Ok(())
}

fn record(shared: &Shared, user_agent: &str, now_ms: i64, stamp: i64) {
    let Ok(mut clients) = shared.clients.lock() else { return };
    if !clients.contains_key(user_agent) && clients.len() >= MAX_CLIENTS {
        return;
    }
    let stats = clients.entry(user_agent.to_string()).or_default();
    stats.requests += 1;
    if stats.times_ms.len() < MAX_KEPT {
        stats.times_ms.push(now_ms);
    }
    if stats.stamps.len() < MAX_KEPT {
        stats.stamps.insert(stamp);
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn exchange(addr: SocketAddr, requests: &str) -> String {
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        stream.write_all(requests.as_bytes()).expect("writes");
        let mut out = String::new();
        stream.read_to_string(&mut out).expect("reads");
        out
    }

    #[test]
    fn serves_stamped_metrics_and_records_clients() {
        let server = TargetServer::start(Timeline::new(now_ms() - 10_000)).expect("starts");
        let before = now_ms();
        let answer = exchange(
            server.addr(),
            "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: Prometheus/2.42.0\r\n\r\n\
             GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("HTTP/1.1 404 Not Found\r\n"), "{answer}");
        let stamp = answer
            .lines()
            .find(|l| l.starts_with("queue_depth{queue=\"a\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|t| t.parse::<i64>().ok())
            .expect("stamped sample");
        assert_eq!(stamp % 1000, 0);
        assert!(stamp > before && stamp <= now_ms() + 1000);
        let clients = server.clients();
        let prometheus = clients.get("Prometheus/2.42.0").expect("client recorded");
        assert_eq!(prometheus.requests, 1);
        assert!(prometheus.stamps.contains(&stamp));
        assert!(prometheus.offset_ms().is_some());
        assert!(!clients.contains_key("unknown"), "404s are not scrapes");
    }

    #[test]
    fn finds_missing_stamps() {
        let stats = ClientStats {
            requests: 3,
            times_ms: vec![1_500, 2_400, 4_600],
            stamps: [2_000, 3_000, 5_000].into_iter().collect(),
        };
        assert_eq!(stats.missing_stamps(2_000, 5_000), vec![4_000]);
        assert_eq!(stats.missing_stamps(2_500, 3_000), Vec::<i64>::new());
        assert_eq!(stats.offset_ms(), Some((400, 500, 600)));
        assert_eq!(ClientStats::default().offset_ms(), None);
    }
}
