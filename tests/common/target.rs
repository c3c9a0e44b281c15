//! A scrape target for tests: a tiny HTTP server on an ephemeral loopback port whose `/metrics`
//! body the test controls, recording the headers of every request.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the target serves: a function of the request number.
pub type Body = Box<dyn Fn(u64) -> String + Send + Sync>;

/// A running fake target; stops when dropped.
pub struct FakeTarget {
    /// `127.0.0.1:PORT`.
    pub address: String,
    requests: Arc<AtomicU64>,
    headers: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
}

impl FakeTarget {
    /// Serves `body(n)` for the n-th request (from 1) with the given content type.
    pub fn start(content_type: &'static str, body: Body) -> FakeTarget {
        Self::start_with(content_type, false, body)
    }

    /// Like [`FakeTarget::start`]; with `gzip`, bodies are gzip-compressed when the request
    /// accepts it, as real exporters do.
    pub fn start_with(content_type: &'static str, gzip: bool, body: Body) -> FakeTarget {
        Self::spawn(content_type, gzip, None, body)
    }

    /// Like [`FakeTarget::start`], over TLS with this server configuration. A failed handshake
    /// is not a request.
    pub fn start_tls(content_type: &'static str, tls: Arc<rustls::ServerConfig>, body: Body) -> FakeTarget {
        Self::spawn(content_type, false, Some(tls), body)
    }

    fn spawn(content_type: &'static str, gzip: bool, tls: Option<Arc<rustls::ServerConfig>>, body: Body) -> FakeTarget {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake target");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address").to_string();
        let requests = Arc::new(AtomicU64::new(0));
        let headers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, h, s) = (requests.clone(), headers.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let exchange = Exchange {
                    content_type,
                    gzip,
                    requests: &r,
                    headers: &h,
                    body: &body,
                };
                match &tls {
                    Some(config) => {
                        let Ok(connection) = rustls::ServerConnection::new(config.clone()) else {
                            continue;
                        };
                        exchange.serve(rustls::StreamOwned::new(connection, stream));
                    }
                    None => exchange.serve(stream),
                }
            }
        });
        FakeTarget {
            address,
            requests,
            headers,
            stop,
        }
    }

    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// A header of the last request (name lowercase).
    pub fn last_header(&self, name: &str) -> Option<String> {
        self.headers
            .lock()
            .ok()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

impl Drop for FakeTarget {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One request and its response.
struct Exchange<'a> {
    content_type: &'static str,
    gzip: bool,
    requests: &'a AtomicU64,
    headers: &'a Mutex<Vec<(String, String)>>,
    body: &'a Body,
}

impl Exchange<'_> {
    fn serve<S: Read + Write>(&self, stream: S) {
        let mut reader = BufReader::new(stream);
        let mut seen = Vec::new();
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.trim_end().split_once(':') {
                seen.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let accepts_gzip = seen
            .iter()
            .any(|(name, value)| name == "accept-encoding" && value.contains("gzip"));
        if let Ok(mut all) = self.headers.lock() {
            *all = seen;
        }
        let text = (self.body)(n);
        let (payload, encoding) = if self.gzip && accepts_gzip {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(text.as_bytes());
            (encoder.finish().unwrap_or_default(), "Content-Encoding: gzip\r\n")
        } else {
            (text.into_bytes(), "")
        };
        let stream = reader.get_mut();
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.content_type,
            payload.len()
        );
        let _ = stream.write_all(&payload);
        let _ = stream.flush();
    }
}

/// A free loopback port (bound then released; a small race, fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
