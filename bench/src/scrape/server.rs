//! The synthetic targets' HTTP server: one listener per target on its own `127.0.0.1` ephemeral port,
//! one thread per connection, HTTP/1.1 keep-alive, `GET /metrics` only.
//!
//! Every request renders the target's next exposition ([`TargetState::next_exposition`]), gzipped when
//! the request's `Accept-Encoding` names `gzip`, as real exporters do. Each target counts its requests
//! and the samples it served, so the benchmark knows how much every system scraped.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::exposition::TargetState;
use crate::Result;

/// Largest request head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How often an idle connection looks at the stop flag.
const POLL: Duration = Duration::from_millis(500);
/// The exposition's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counters of one target.
#[derive(Debug, Default)]
pub struct TargetCounters {
    /// `/metrics` requests served.
    pub requests: AtomicU64,
    /// Of those, the gzipped ones.
    pub gzipped: AtomicU64,
    /// Samples served (series × requests).
    pub samples: AtomicU64,
}

/// A snapshot of every target's counters, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Served {
    /// `/metrics` requests served.
    pub requests: u64,
    /// Of those, the gzipped ones.
    pub gzipped: u64,
    /// Samples served.
    pub samples: u64,
}

impl Served {
    /// What was served between `earlier` and `self`.
    pub fn since(&self, earlier: &Served) -> Served {
        Served {
            requests: self.requests.saturating_sub(earlier.requests),
            gzipped: self.gzipped.saturating_sub(earlier.gzipped),
            samples: self.samples.saturating_sub(earlier.samples),
        }
    }
}

struct Target {
    state: Mutex<TargetState>,
    counters: TargetCounters,
}

/// The running targets; stopped on [`TargetServer::stop`] or drop.
pub struct TargetServer {
    addrs: Vec<SocketAddr>,
    targets: Vec<Arc<Target>>,
    stop: Arc<AtomicBool>,
    listeners: Vec<JoinHandle<()>>,
}

impl TargetServer {
    /// Starts `targets` targets of `series` series each, seeded with `seed`.
    pub fn start(targets: usize, series: usize, seed: u64) -> Result<TargetServer> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut server = TargetServer {
            addrs: Vec::with_capacity(targets),
            targets: Vec::with_capacity(targets),
            stop: stop.clone(),
            listeners: Vec::with_capacity(targets),
        };
        for index in 0..targets {
            let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding target {index}: {e}"))?;
            let target = Arc::new(Target {
                state: Mutex::new(TargetState::new(seed, index, series)),
                counters: TargetCounters::default(),
            });
            server.addrs.push(listener.local_addr()?);
            server.targets.push(target.clone());
            let stop = stop.clone();
            let handle = std::thread::Builder::new()
                .name(format!("target-{index}"))
                .spawn(move || accept_loop(listener, target, stop))?;
            server.listeners.push(handle);
        }
        Ok(server)
    }

    /// The targets' addresses, in target order.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Every target's counters, summed.
    pub fn served(&self) -> Served {
        let mut total = Served::default();
        for target in &self.targets {
            total.requests += target.counters.requests.load(Ordering::Relaxed);
            total.gzipped += target.counters.gzipped.load(Ordering::Relaxed);
            total.samples += target.counters.samples.load(Ordering::Relaxed);
        }
        total
    }

    /// Stops accepting and waits for the listeners; open connections close within half a second.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for addr in &self.addrs {
            // Wakes the blocking accept; an error means the listener is gone already.
            let _ = TcpStream::connect_timeout(addr, Duration::from_secs(1));
        }
        for handle in self.listeners.drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, target: Arc<Target>, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let target = target.clone();
        let stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("target-conn".to_string())
            .spawn(move || {
                if let Err(error) = serve_connection(stream, &target, &stop) {
                    tracing::debug!(%error, "target connection ended");
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot spawn a connection thread");
        }
    }
}

/// The parts of a request head the targets look at.
#[derive(Debug, PartialEq, Eq)]
struct RequestHead {
    method: String,
    path: String,
    gzip: bool,
    keep_alive: bool,
}

/// Parses a request head (everything before the blank line).
fn parse_head(head: &str) -> Option<RequestHead> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let version = request_line.next()?;
    let mut keep_alive = version == "HTTP/1.1";
    let mut gzip = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        if name.eq_ignore_ascii_case("accept-encoding") {
            gzip = value
                .split(',')
                .any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip"));
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = match value.as_str() {
                "close" => false,
                "keep-alive" => true,
                _ => keep_alive,
            };
        }
    }
    Some(RequestHead {
        method,
        path,
        gzip,
        keep_alive,
    })
}

fn serve_connection(mut stream: TcpStream, target: &Target, stop: &AtomicBool) -> Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut text = String::new();
    loop {
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            if buffer.len() > MAX_HEAD_BYTES {
                return Err("request head too long".into());
            }
            match stream.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end + 4);
        let Some(request) = parse_head(&head) else {
            stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        };
        let keep_alive = request.keep_alive && !stop.load(Ordering::SeqCst);
        let connection = if keep_alive { "keep-alive" } else { "close" };
        if request.method != "GET" || request.path.split('?').next() != Some("/metrics") {
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: {connection}\r\n\r\n"
            )?;
        } else {
            let series = {
                let mut state = target.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                state.next_exposition(&mut text);
                state.series() as u64
            };
            let gzipped;
            let body: Vec<u8> = if request.gzip {
                let mut encoder = GzEncoder::new(Vec::with_capacity(text.len() / 4), Compression::default());
                encoder.write_all(text.as_bytes())?;
                gzipped = true;
                encoder.finish()?
            } else {
                gzipped = false;
                text.as_bytes().to_vec()
            };
            let encoding = if gzipped { "Content-Encoding: gzip\r\n" } else { "" };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\n{encoding}Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
            target.counters.requests.fetch_add(1, Ordering::Relaxed);
            target.counters.samples.fetch_add(series, Ordering::Relaxed);
            if gzipped {
                target.counters.gzipped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn parses_request_heads() {
        let head = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate, gzip;q=1.0\r\n";
        assert_eq!(
            parse_head(head),
            Some(RequestHead {
                method: "GET".into(),
                path: "/metrics".into(),
                gzip: true,
                keep_alive: true
            })
        );
        let head = "GET /metrics HTTP/1.0\r\nAccept-Encoding: identity";
        let parsed = parse_head(head).expect("parses");
        assert!(!parsed.gzip && !parsed.keep_alive);
        let parsed = parse_head("GET / HTTP/1.1\r\nConnection: close").expect("parses");
        assert!(!parsed.keep_alive);
        assert_eq!(parse_head("GET"), None);
    }

    fn get(addr: SocketAddr, gzip: bool) -> (String, Vec<u8>) {
        let mut stream = TcpStream::connect(addr).expect("connects");
        let encoding = if gzip { "Accept-Encoding: gzip\r\n" } else { "" };
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: t\r\n{encoding}Connection: close\r\n\r\n"
        )
        .expect("writes");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("reads");
        let end = response.windows(4).position(|w| w == b"\r\n\r\n").expect("has a head");
        let head = String::from_utf8_lossy(&response[..end]).into_owned();
        (head, response[end + 4..].to_vec())
    }

    #[test]
    fn serves_plain_and_gzipped_expositions_and_counts_them() {
        let mut server = TargetServer::start(2, 50, 5).expect("starts");
        let (head, body) = get(server.addrs()[0], false);
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
        let text = String::from_utf8(body).expect("utf-8");
        let samples = scraper::parse_all(&text, scraper::Format::PrometheusText)
            .expect("parses")
            .into_iter()
            .filter(|e| matches!(e, scraper::Entry::Sample(_)))
            .count();
        assert_eq!(samples, 50);

        let (head, body) = get(server.addrs()[1], true);
        assert!(head.contains("Content-Encoding: gzip"), "{head}");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .expect("gunzips");
        assert!(text.starts_with("# HELP bench_requests_total"));

        assert_eq!(
            server.served(),
            Served {
                requests: 2,
                gzipped: 1,
                samples: 100
            }
        );
        server.stop();
    }

    #[test]
    fn keeps_connections_alive() {
        let server = TargetServer::start(1, 10, 5).expect("starts");
        let mut stream = TcpStream::connect(server.addrs()[0]).expect("connects");
        for _ in 0..3 {
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
                .expect("writes");
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).expect("reads");
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .expect("has a length");
            let mut body = vec![0u8; length];
            stream.read_exact(&mut body).expect("reads the body");
        }
        assert_eq!(server.served().requests, 3);
    }
}
