//! The text of synthetic container log lines: what services really print, in four styles.
//!
//! * logfmt (Go services): `ts=… level=info msg="request served" method=GET path=/api/v1/items/4711 …`;
//! * JSON (Node services): `{"time":"…","level":"error","msg":"payment failed","order_id":…}`;
//! * access logs (nginx): `10.1.2.3 - - [20/Nov/2026:10:00:00 +0000] "GET /img/x.png HTTP/1.1" 200 5123 …`;
//! * Java (Spring Boot): `2026-11-20 10:00:00.123  INFO 1 --- [nio-8080-exec-7] c.s.o.OrderService : …`,
//!   where some errors are followed by a stack trace printed line by line on stderr.
//!
//! Each container has a primary style (85 % of its events) and borrows the others now and then. Levels
//! are info 80 %, warn 10 %, error 7 %, debug 3 %. Identifiers (UUIDs, 128-bit trace ids, order numbers,
//! user names, IPs) are random so the term dictionary grows as it would in production.

use std::fmt::Write;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use scraper::logs::docker::LogStream;

/// The style of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// `key=value` pairs.
    Logfmt,
    /// One JSON object per line.
    Json,
    /// nginx's combined access log.
    Access,
    /// Spring Boot's console pattern, with stack traces.
    Java,
}

impl Style {
    /// Every style, in the order containers are given them.
    pub const ALL: [Style; 4] = [Style::Logfmt, Style::Json, Style::Access, Style::Java];

    /// The image name of a container printing this style.
    pub fn image(self) -> &'static str {
        match self {
            Style::Logfmt => "api",
            Style::Json => "payments",
            Style::Access => "web",
            Style::Java => "orders",
        }
    }
}

/// A log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn pick(rng: &mut ChaCha8Rng) -> Level {
        match rng.random_range(0..100) {
            0..80 => Level::Info,
            80..90 => Level::Warn,
            90..97 => Level::Error,
            _ => Level::Debug,
        }
    }

    fn lower(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// Spring Boot's right-aligned five-character level.
    fn java(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => " INFO",
            Level::Warn => " WARN",
            Level::Error => "ERROR",
        }
    }
}

/// Share of ordinary lines written to stderr (stack traces always are); about 10 % of all lines end
/// up there.
const STDERR_SHARE: f64 = 0.025;
/// Share of error lines written to stderr.
const ERROR_STDERR_SHARE: f64 = 0.6;
/// Share of a container's events in its primary style.
const PRIMARY_SHARE: f64 = 0.85;
/// Share of Java errors followed by a stack trace.
const TRACE_SHARE: f64 = 0.25;

const USERS: [&str; 16] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil",
];
const METHODS: [&str; 5] = ["GET", "GET", "GET", "POST", "PUT"];
const WORDS: [&str; 20] = [
    "shoes",
    "jacket",
    "lamp",
    "coffee",
    "headphones",
    "backpack",
    "watch",
    "sofa",
    "bike",
    "kettle",
    "desk",
    "camera",
    "tent",
    "guitar",
    "scarf",
    "blender",
    "monitor",
    "keyboard",
    "mug",
    "pillow",
];
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "kube-probe/1.31",
];
const INFO_MSGS: [&str; 6] = [
    "request served",
    "request served",
    "request served",
    "cache refreshed",
    "user logged in",
    "job finished",
];
const WARN_MSGS: [&str; 4] = [
    "slow request",
    "retrying upstream call",
    "rate limit approaching",
    "deprecated api used",
];
const ERROR_MSGS: [&str; 4] = ["payment failed", "upstream timeout", "database error", "order rejected"];
const DEBUG_MSGS: [&str; 3] = ["cache lookup", "sql query", "feature flag evaluated"];
const ERRORS: [&str; 5] = [
    "context deadline exceeded",
    "connection reset by peer",
    "card declined: insufficient funds",
    "pq: duplicate key value violates unique constraint \"orders_pkey\"",
    "dial tcp 10.0.3.7:5432: connect: connection refused",
];
const JAVA_LOGGERS: [&str; 5] = [
    "c.s.orders.OrderService",
    "c.s.orders.web.OrderController",
    "c.s.orders.repo.OrderRepository",
    "o.s.web.servlet.DispatcherServlet",
    "c.zaxxer.hikari.pool.HikariPool",
];
const EXCEPTIONS: [&str; 4] = [
    "java.lang.IllegalStateException",
    "java.lang.NullPointerException",
    "org.springframework.dao.DataIntegrityViolationException",
    "java.util.concurrent.TimeoutException",
];
const FRAMES: [&str; 8] = [
    "com.shop.orders.OrderService.cancel(OrderService.java:",
    "com.shop.orders.OrderService.place(OrderService.java:",
    "com.shop.orders.web.OrderController.post(OrderController.java:",
    "com.shop.orders.repo.OrderRepository.save(OrderRepository.java:",
    "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:",
    "java.base/java.lang.Thread.run(Thread.java:",
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// A random version-4 UUID, hyphenated.
pub fn push_uuid(rng: &mut ChaCha8Rng, out: &mut String) {
    let v: u128 = rng.random();
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (v >> 96) as u32,
        (v >> 80) as u16,
        (v >> 68) as u16 & 0xfff,
        ((v >> 48) as u16 & 0x3fff) | 0x8000,
        v as u64 & 0xffff_ffff_ffff
    );
}

/// A calendar date and time in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1-12.
    pub month: u32,
    /// Day of the month, 1-31.
    pub day: u32,
    /// Hour, 0-23.
    pub hour: u32,
    /// Minute, 0-59.
    pub minute: u32,
    /// Second, 0-59.
    pub second: u32,
    /// Nanoseconds, 0-999 999 999.
    pub nanos: u32,
}

impl Civil {
    /// The UTC date and time `ns` nanoseconds after the Unix epoch (proleptic Gregorian calendar).
    pub fn from_unix_nanos(ns: i64) -> Civil {
        let secs = ns.div_euclid(1_000_000_000);
        let nanos = ns.rem_euclid(1_000_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400) as u32;
        // Days to a date, counting in 400-year eras that start on 1 March so leap days come last.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
            nanos,
        }
    }
}

/// Appends `ns` as Go's `time.RFC3339Nano` in UTC, as Docker writes it: nanoseconds with their trailing
/// zeros removed (and the dot too when they are all zero).
pub fn push_rfc3339_nano(ns: i64, out: &mut String) {
    let c = Civil::from_unix_nanos(ns);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    if c.nanos != 0 {
        let mut digits = format!("{:09}", c.nanos);
        while digits.ends_with('0') {
            digits.pop();
        }
        out.push('.');
        out.push_str(&digits);
    }
    out.push('Z');
}

/// Appends `ns` with milliseconds, as services print it: `2026-11-20T10:00:00.123Z`.
fn push_millis(ns: i64, out: &mut String) {
    let c = Civil::from_unix_nanos(ns);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.nanos / 1_000_000
    );
}

/// The state of a stack trace being printed.
#[derive(Debug, Clone, Copy)]
struct Trace {
    /// Lines still to print.
    lines_left: u32,
    /// Lines of the whole trace: the exception, frames, maybe a `Caused by:`, and `... N more`.
    total: u32,
    /// The line (0-based) that is `Caused by:`; `u32::MAX` for none.
    cause_at: u32,
}

/// Produces one container's log lines.
#[derive(Debug)]
pub struct LineSource {
    rng: ChaCha8Rng,
    primary: Style,
    trace: Option<Trace>,
}

impl LineSource {
    /// A source printing mostly `primary`, drawing from `rng`.
    pub fn new(primary: Style, rng: ChaCha8Rng) -> LineSource {
        LineSource {
            rng,
            primary,
            trace: None,
        }
    }

    /// The random number generator (the caller draws timestamps from it too).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// True while a stack trace is being printed (its lines follow each other within microseconds).
    pub fn in_trace(&self) -> bool {
        self.trace.is_some()
    }

    /// Appends the next line's text (no newline) written at `ts_ns` to `out`; returns its stream.
    pub fn next_line(&mut self, ts_ns: i64, out: &mut String) -> LogStream {
        if let Some(trace) = self.trace {
            self.trace_line(trace, out);
            return LogStream::Stderr;
        }
        let style = if self.rng.random_bool(PRIMARY_SHARE) {
            self.primary
        } else {
            pick(&mut self.rng, &Style::ALL)
        };
        let level = Level::pick(&mut self.rng);
        match style {
            Style::Logfmt => self.logfmt(ts_ns, level, None, out),
            Style::Json => self.json(ts_ns, level, out),
            Style::Access => self.access(ts_ns, level, out),
            Style::Java => {
                self.java(ts_ns, level, out);
                if level == Level::Error && self.rng.random_bool(TRACE_SHARE) {
                    let total = self.rng.random_range(4..14);
                    let cause_at = if self.rng.random_bool(0.5) {
                        self.rng.random_range(2..total - 1)
                    } else {
                        u32::MAX
                    };
                    self.trace = Some(Trace {
                        lines_left: total,
                        total,
                        cause_at,
                    });
                    return LogStream::Stderr;
                }
            }
        }
        let share = if level == Level::Error {
            ERROR_STDERR_SHARE
        } else {
            STDERR_SHARE
        };
        if self.rng.random_bool(share) {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        }
    }

    /// Appends the needle: a logfmt warning whose `request_id` is `needle`.
    pub fn needle_line(&mut self, ts_ns: i64, needle: &str, out: &mut String) {
        self.logfmt(ts_ns, Level::Warn, Some(needle), out);
    }

    fn user(&mut self, out: &mut String) {
        let name = pick(&mut self.rng, &USERS);
        let _ = write!(out, "{name}{}", self.rng.random_range(0..500));
    }

    fn path(&mut self, out: &mut String) {
        let rng = &mut self.rng;
        let _ = match rng.random_range(0..6) {
            0 => write!(out, "/api/v1/items/{}", rng.random_range(1..100_000)),
            1 => write!(out, "/img/{}-{}.png", pick(rng, &WORDS), rng.random_range(1..40)),
            2 => write!(out, "/static/js/app.{:08x}.js", rng.random::<u32>()),
            3 => write!(out, "/search?q={}&page={}", pick(rng, &WORDS), rng.random_range(1..20)),
            4 => {
                out.push_str("/cart/");
                push_uuid(rng, out);
                Ok(())
            }
            _ => write!(out, "/api/v1/users/{}/orders", rng.random_range(1..50_000)),
        };
    }

    fn status(&mut self, level: Level) -> u16 {
        let rng = &mut self.rng;
        match level {
            Level::Info | Level::Debug => pick(rng, &[200, 200, 200, 201, 204, 304]),
            Level::Warn => pick(rng, &[400, 401, 404, 404, 429]),
            Level::Error => pick(rng, &[500, 502, 503, 504]),
        }
    }

    fn message(&mut self, level: Level) -> &'static str {
        match level {
            Level::Debug => pick(&mut self.rng, &DEBUG_MSGS),
            Level::Info => pick(&mut self.rng, &INFO_MSGS),
            Level::Warn => pick(&mut self.rng, &WARN_MSGS),
            Level::Error => pick(&mut self.rng, &ERROR_MSGS),
        }
    }

    fn logfmt(&mut self, ts_ns: i64, level: Level, needle: Option<&str>, out: &mut String) {
        out.push_str("ts=");
        push_millis(ts_ns, out);
        let msg = match needle {
            Some(_) => "refund requested twice",
            None => self.message(level),
        };
        let _ = write!(out, " level={} msg=\"{msg}\"", level.lower());
        if let Some(needle) = needle {
            let _ = write!(
                out,
                " request_id={needle} order_id={}",
                self.rng.random_range(100_000..9_999_999)
            );
        } else if msg == "request served" || msg == "slow request" || level == Level::Error {
            let method = pick(&mut self.rng, &METHODS);
            let _ = write!(out, " method={method} path=");
            self.path(out);
            let status = self.status(level);
            let _ = write!(
                out,
                " status={status} duration_ms={:.1}",
                self.rng.random_range(0.2..900.0)
            );
            if level == Level::Error {
                let _ = write!(out, " err=\"{}\"", pick(&mut self.rng, &ERRORS).replace('"', "\\\""));
            }
        } else {
            let _ = write!(
                out,
                " component={}",
                pick(&mut self.rng, &["cache", "auth", "jobs", "db", "flags"])
            );
            let _ = write!(out, " items={}", self.rng.random_range(0..5000));
        }
        if needle.is_none() {
            let _ = write!(out, " trace_id={:032x} user=", self.rng.random::<u128>());
            self.user(out);
        }
    }

    fn json(&mut self, ts_ns: i64, level: Level, out: &mut String) {
        out.push_str("{\"time\":\"");
        push_millis(ts_ns, out);
        let msg = self.message(level);
        let _ = write!(out, "\",\"level\":\"{}\",\"msg\":\"{msg}\"", level.lower());
        let _ = write!(out, ",\"order_id\":{}", self.rng.random_range(100_000..9_999_999));
        out.push_str(",\"user\":\"");
        self.user(out);
        out.push('"');
        match level {
            Level::Error => {
                let error = pick(&mut self.rng, &ERRORS).replace('"', "\\\"");
                let _ = write!(
                    out,
                    ",\"error\":\"{error}\",\"attempt\":{}",
                    self.rng.random_range(1..4)
                );
            }
            _ => {
                let amount = self.rng.random_range(100..50_000) as f64 / 100.0;
                let currency = pick(&mut self.rng, &["EUR", "USD", "GBP"]);
                let _ = write!(out, ",\"amount\":{amount},\"currency\":\"{currency}\"");
            }
        }
        out.push_str(",\"request_id\":\"");
        push_uuid(&mut self.rng, out);
        out.push_str("\"}");
    }

    fn access(&mut self, ts_ns: i64, level: Level, out: &mut String) {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let c = Civil::from_unix_nanos(ts_ns);
        let rng = &mut self.rng;
        let _ = write!(
            out,
            "10.{}.{}.{} - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0000] \"{} ",
            rng.random_range(0..4),
            rng.random_range(0..256),
            rng.random_range(1..255),
            c.day,
            MONTHS[(c.month as usize).saturating_sub(1) % 12],
            c.year,
            c.hour,
            c.minute,
            c.second,
            pick(rng, &METHODS)
        );
        self.path(out);
        let status = self.status(level);
        let rng = &mut self.rng;
        let _ = write!(out, " HTTP/1.1\" {status} {} ", rng.random_range(0..200_000));
        if rng.random_bool(0.4) {
            out.push_str("\"-\"");
        } else {
            let _ = write!(out, "\"https://shop.example.com/{}\"", pick(rng, &WORDS));
        }
        let _ = write!(out, " \"{}\"", pick(rng, &AGENTS));
    }

    fn java(&mut self, ts_ns: i64, level: Level, out: &mut String) {
        let c = Civil::from_unix_nanos(ts_ns);
        let rng = &mut self.rng;
        let _ = write!(
            out,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {} 1 --- [nio-8080-exec-{}] {:<40} : ",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            c.nanos / 1_000_000,
            level.java(),
            rng.random_range(1..11),
            pick(rng, &JAVA_LOGGERS)
        );
        let order = rng.random_range(100_000..9_999_999);
        let _ = match level {
            Level::Info => write!(out, "Order {order} created for user "),
            Level::Debug => write!(out, "Loaded order {order} in {} ms for user ", rng.random_range(1..40)),
            Level::Warn => write!(out, "Order {order} retried after lock timeout for user "),
            Level::Error => write!(out, "Failed to process order {order} for user "),
        };
        self.user(out);
    }

    fn trace_line(&mut self, trace: Trace, out: &mut String) {
        let rng = &mut self.rng;
        let position = trace.total - trace.lines_left;
        let _ = if position == 0 {
            let order = rng.random_range(100_000..9_999_999);
            write!(
                out,
                "{}: Order {order} is in an unexpected state",
                pick(rng, &EXCEPTIONS)
            )
        } else if trace.lines_left == 1 {
            write!(out, "\t... {} more", rng.random_range(20..90))
        } else if position == trace.cause_at {
            write!(
                out,
                "Caused by: {}: HikariPool-1 - Connection is not available, request timed out after {}ms.",
                pick(rng, &EXCEPTIONS),
                rng.random_range(1000..30_001)
            )
        } else {
            write!(out, "\tat {}{})", pick(rng, &FRAMES), rng.random_range(20..900))
        };
        self.trace = (trace.lines_left > 1).then_some(Trace {
            lines_left: trace.lines_left - 1,
            ..trace
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn converts_civil_dates() {
        let c = Civil::from_unix_nanos(1_795_168_800_123_000_000);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second, c.nanos),
            (2026, 11, 20, 10, 0, 0, 123_000_000)
        );
        let leap = Civil::from_unix_nanos(951_782_400_000_000_000 - 1);
        assert_eq!((leap.year, leap.month, leap.day, leap.hour), (2000, 2, 28, 23));
        let before = Civil::from_unix_nanos(-1);
        assert_eq!(
            (before.year, before.month, before.day, before.second),
            (1969, 12, 31, 59)
        );
    }

    #[test]
    fn writes_version_4_uuids() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = String::new();
        push_uuid(&mut rng, &mut out);
        let groups: Vec<&str> = out.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(groups[2].starts_with('4'));
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn prints_stack_traces_after_java_errors() {
        let mut source = LineSource::new(Style::Java, ChaCha8Rng::seed_from_u64(3));
        let mut line = String::new();
        let mut traces = 0;
        for _ in 0..20_000 {
            line.clear();
            let before = source.in_trace();
            let stream = source.next_line(0, &mut line);
            if !before && source.in_trace() {
                assert!(line.contains(" ERROR 1 --- ["), "{line}");
                assert_eq!(stream, LogStream::Stderr);
                traces += 1;
                line.clear();
                source.next_line(0, &mut line);
                assert!(line.starts_with("java.") || line.starts_with("org."), "{line}");
                while source.in_trace() {
                    line.clear();
                    assert_eq!(source.next_line(0, &mut line), LogStream::Stderr);
                    assert!(line.starts_with("\tat ") || line.starts_with("Caused by: ") || line.starts_with("\t... "));
                }
                assert!(line.starts_with("\t... ") && line.ends_with(" more"), "{line}");
            }
        }
        assert!(traces > 30, "{traces} traces");
    }
}
