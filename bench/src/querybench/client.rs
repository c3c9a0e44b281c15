//! A small HTTP/1.0 client for imports and queries: one connection per request, bodies of any size
//! up to a bound, the round trip timed until the last byte of the response.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::Result;

/// Largest response read (a day of `rate` over thousands of series is hundreds of MB of JSON).
pub const MAX_RESPONSE_BYTES: u64 = 4 << 30;

/// A response with the time from connecting to its last byte.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// Wall time of the exchange.
    pub elapsed: Duration,
}

impl Response {
    /// The body as text (lossy), for error messages, cut to 300 bytes.
    pub fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned()
    }
}

/// Sends `method path` with `body` (and `content_type` when given) and reads the whole response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<Response> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n");
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    if method != "GET" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut response)
        .map_err(|e| format!("reading the answer to {method} {path} from {addr}: {e}"))?;
    let elapsed = started.elapsed();
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head from {addr}{path}"))?;
    let status = String::from_utf8_lossy(&response[..end])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line from {addr}{path}"))?;
    response.drain(..end + 4);
    Ok(Response {
        status,
        body: response,
        elapsed,
    })
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Seconds with millisecond precision, as the query API takes them.
pub fn seconds(ms: i64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        assert_eq!(url_encode("rate(x[5m])"), "rate%28x%5B5m%5D%29");
        assert_eq!(url_encode("a{b=~\"/api/.*\"}"), "a%7Bb%3D~%22%2Fapi%2F.%2A%22%7D");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(seconds(1_700_000_015_500), "1700000015.500");
        assert_eq!(seconds(-1), "-0.001");
    }

    #[test]
    fn talks_to_a_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accepts");
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(5).any(|w| w == b"hello") {
                let n = conn.read(&mut buf).expect("reads");
                got.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.0 204 No Content\r\n\r\n").expect("writes");
            String::from_utf8_lossy(&got).into_owned()
        });
        let response = request(
            addr,
            "POST",
            "/import",
            Some("text/plain"),
            b"hello",
            Duration::from_secs(5),
        )
        .expect("answers");
        assert_eq!(response.status, 204);
        assert!(response.body.is_empty());
        let sent = server.join().expect("joins");
        assert!(sent.starts_with("POST /import HTTP/1.0\r\n"));
        assert!(sent.contains("Content-Length: 5\r\n"));
    }
}
