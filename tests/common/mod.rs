//! Starting the real `loupe` binary for end-to-end tests.

#![allow(dead_code)]

pub mod target;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `loupe serve` on an ephemeral port, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Server {
    /// Starts `loupe serve` on `data_dir` with extra flags and waits until it is ready.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_loupe"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn loupe");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(rest) = line.split("address=").nth(1) {
                    let address = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(address);
                    sent = true;
                }
                if std::env::var_os("LOUPE_TEST_LOG").is_some() {
                    eprintln!("[loupe] {line}");
                }
            }
        });
        let Ok(address) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("loupe did not print its listening address");
        };
        let server = Server {
            child,
            base: format!("http://{address}"),
        };
        server.wait_ready();
        server
    }

    /// Starts `loupe serve` with a configuration that scrapes nothing (not even Loupe itself), so
    /// the store holds exactly what the test writes.
    pub fn start_quiet(data_dir: &Path, extra: &[&str]) -> (Server, tempfile::TempPath) {
        let config = tempfile::Builder::new()
            .suffix(".yml")
            .tempfile()
            .expect("config file")
            .into_temp_path();
        std::fs::write(&config, "global: {}\n").expect("write config");
        let path = config.to_str().expect("utf-8 path").to_string();
        let mut args = vec!["--config", path.as_str()];
        args.extend_from_slice(extra);
        (Server::start(data_dir, &args), config)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = client();
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{}/-/ready", self.base)).send()
                && response.status().is_success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("loupe did not become ready");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit; returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "loupe did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client with short timeouts.
pub fn client() -> reqwest::blocking::Client {
    // reqwest is built without a default TLS provider (Loupe installs ring at start-up).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Opens a data directory in-process. Retries briefly while another test's fork still holds a
/// copy of a just-closed lock descriptor (the window between fork and exec).
pub fn open_db(dir: &Path) -> tsdb::db::Db {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tsdb::db::Db::open(dir, tsdb::db::DbOptions::default()) {
            Ok(db) => return db,
            Err(error) if error.to_string().contains("in use") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("open store {}: {error}", dir.display()),
        }
    }
}

/// Every line of the log store in `data/logs` whose stream matches `name=~".+"`, oldest first
/// (the store is opened in-process: the server must have stopped).
pub fn stored_log_lines(data: &Path, name: &str) -> Vec<logs::LogLine> {
    let store = logs::LogStore::open(&data.join("logs"), logs::StoreOptions::default()).expect("open log store");
    let selection = logs::Selection {
        matchers: vec![tsdb::Matcher::new(tsdb::MatchType::Regex, name, ".+").expect("matcher")],
        start_ns: 0,
        end_ns: i64::MAX,
        direction: logs::Direction::Forward,
        required_tokens: Vec::new(),
        token_substrings: Vec::new(),
    };
    let mut cursor = store.select(&selection).expect("select");
    let mut out = Vec::new();
    loop {
        let batch = cursor.next_batch(10_000).expect("batch");
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}
