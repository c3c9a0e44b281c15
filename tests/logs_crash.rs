//! Log durability under SIGKILL: lines pushed through the Loki API and lines tailed from Docker
//! log files (with 16 KiB split lines and rotation) while the real binary is killed repeatedly.
//! Every acknowledged push line and every line written to a file is stored exactly once.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const CYCLES: usize = 6;
const CONTAINERS: usize = 2;

fn container_id(c: usize) -> String {
    format!("{c:064x}")
}

/// Appends lines to the Docker json-file logs of a few containers, splitting some lines at
/// 16 KiB as Docker does and rotating the log (rename to `.1`) when told.
struct Writer {
    root: PathBuf,
    next: Vec<usize>,
    written: Vec<String>,
    rng: rand::rngs::StdRng,
}

impl Writer {
    fn new(root: &Path) -> Writer {
        for c in 0..CONTAINERS {
            let dir = root.join(container_id(c));
            std::fs::create_dir_all(&dir).expect("container dir");
            let config = format!(r#"{{"Name":"/app-{c}","Config":{{"Image":"app:1","Labels":{{}}}}}}"#);
            std::fs::write(dir.join("config.v2.json"), config).expect("config.v2.json");
        }
        Writer {
            root: root.to_path_buf(),
            next: vec![0; CONTAINERS],
            written: Vec::new(),
            rng: rand::rngs::StdRng::seed_from_u64(7),
        }
    }

    fn log_path(&self, c: usize) -> PathBuf {
        let id = container_id(c);
        self.root.join(&id).join(format!("{id}-json.log"))
    }

    fn write_some(&mut self) {
        for c in 0..CONTAINERS {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path(c))
                .expect("log");
            let mut out = String::new();
            for _ in 0..self.rng.random_range(1..20) {
                let n = self.next[c];
                self.next[c] += 1;
                let long = n % 25 == 7;
                let text = if long {
                    format!("file-{c}-{n} {}", "z".repeat(20_000))
                } else {
                    format!("file-{c}-{n} ok")
                };
                let time = format!("2026-11-22T10:{:02}:{:02}.{:09}Z", (n / 60) % 60, n % 60, n);
                let mut rest = text.as_str();
                while rest.len() > 16_384 {
                    let (chunk, tail) = rest.split_at(16_384);
                    out.push_str(&format!(
                        "{{\"log\":\"{chunk}\",\"stream\":\"stdout\",\"time\":\"{time}\"}}\n"
                    ));
                    rest = tail;
                }
                out.push_str(&format!(
                    "{{\"log\":\"{rest}\\n\",\"stream\":\"stdout\",\"time\":\"{time}\"}}\n"
                ));
                self.written.push(text);
            }
            // Write in two pieces so a reader may see half a record.
            let bytes = out.as_bytes();
            let cut = self.rng.random_range(0..bytes.len());
            file.write_all(&bytes[..cut]).expect("write");
            file.flush().expect("flush");
            file.write_all(&bytes[cut..]).expect("write");
        }
    }

    fn rotate(&self) {
        for c in 0..CONTAINERS {
            let path = self.log_path(c);
            let rotated = path.with_file_name(format!("{}-json.log.1", container_id(c)));
            let _ = std::fs::rename(&path, &rotated);
        }
    }
}

fn followed_files(server: &common::Server) -> usize {
    let Ok(response) = common::client()
        .get(format!("{}/loupe/api/v1/log_sources", server.base))
        .send()
    else {
        return 0;
    };
    let value: serde_json::Value = serde_json::from_str(&response.text().unwrap_or_default()).unwrap_or_default();
    value["data"]["files"].as_array().map_or(0, Vec::len)
}

fn entries_stored(server: &common::Server) -> u64 {
    let Ok(response) = common::client().get(format!("{}/metrics", server.base)).send() else {
        return 0;
    };
    let text = response.text().unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("loupe_logs_entries "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn stored_lines(data: &Path) -> Vec<String> {
    common::stored_log_lines(data, "service_name")
        .into_iter()
        .map(|l| l.line)
        .collect()
}

#[test]
fn pushed_and_tailed_lines_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let root = dir.path().join("containers");
    std::fs::create_dir_all(&root).expect("root");
    let config = dir.path().join("loupe.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{}}\nlog_sources:\n  docker:\n    root: {}\n  poll_interval: 20ms\n  rescan_interval: 100ms\n\
             storage:\n  logs:\n    commit_interval: 50ms\n",
            root.display()
        ),
    )
    .expect("config");
    let config_arg = config.to_str().expect("utf-8").to_string();
    let writer = Arc::new(Mutex::new(Writer::new(&root)));
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut push_seq = 0usize;
    // The files exist before Loupe first looks; rotated files it never saw would be history,
    // which a first start leaves alone (as Promtail does).
    writer.lock().expect("lock").write_some();
    for _cycle in 0..CYCLES {
        let server = common::Server::start(&data, &["--config", &config_arg]);
        let stop = Arc::new(AtomicBool::new(false));
        let url = format!("{}/loki/api/v1/push", server.base);
        let pusher = {
            let (acked, stop) = (acked.clone(), stop.clone());
            let first = push_seq;
            std::thread::spawn(move || {
                let client = common::client();
                let mut n = first;
                while !stop.load(Ordering::Relaxed) {
                    let now = logs::store::now_ns();
                    let ids: Vec<String> = (n..n + 10).map(|i| format!("push-{i}")).collect();
                    let values: Vec<String> = ids
                        .iter()
                        .enumerate()
                        .map(|(k, id)| format!("[\"{}\",\"{id}\"]", now + k as i64))
                        .collect();
                    let body = format!(
                        r#"{{"streams":[{{"stream":{{"job":"crash"}},"values":[{}]}}]}}"#,
                        values.join(",")
                    );
                    n += 10;
                    match client
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .body(body)
                        .send()
                    {
                        Ok(r) if r.status().as_u16() == 204 => acked.lock().expect("lock").extend(ids),
                        Ok(r) => panic!("push failed: {} {:?}", r.status(), r.text()),
                        Err(_) => return n,
                    }
                }
                n
            })
        };
        let followed = Arc::new(AtomicBool::new(false));
        let files = {
            let (writer, stop, followed) = (writer.clone(), stop.clone(), followed.clone());
            std::thread::spawn(move || {
                let mut started = None;
                let mut rotated = false;
                while !stop.load(Ordering::Relaxed) {
                    let mut w = writer.lock().expect("lock");
                    w.write_some();
                    if followed.load(Ordering::Relaxed) && started.is_none() {
                        started = Some(Instant::now());
                    }
                    if !rotated && started.is_some_and(|s| s.elapsed() > Duration::from_millis(100)) {
                        w.rotate();
                        rotated = true;
                    }
                    drop(w);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        // Rotate only once the collector follows the files (a first start skips rotated history).
        let deadline = Instant::now() + Duration::from_secs(30);
        while followed_files(&server) < CONTAINERS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        followed.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(rng.random_range(400..900)));
        server.kill();
        push_seq = pusher.join().expect("pusher");
        // Keep writing while Loupe is down: those lines must be picked up after the restart.
        writer.lock().expect("lock").write_some();
        stop.store(true, Ordering::Relaxed);
        files.join().expect("file writer");
    }
    // A last run to catch up with everything, then a clean stop.
    let acked: Vec<String> = acked.lock().expect("lock").clone();
    let written: Vec<String> = writer.lock().expect("lock").written.clone();
    let server = common::Server::start(&data, &["--config", &config_arg]);
    let expected = (acked.len() + written.len()) as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while entries_stored(&server) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.terminate().success());

    let mut counts: HashMap<String, usize> = HashMap::new();
    for line in stored_lines(&data) {
        *counts.entry(line).or_default() += 1;
    }
    let dupes: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dupes.is_empty(), "lines stored twice: {dupes:?}");
    let lost_pushes: Vec<_> = acked.iter().filter(|id| !counts.contains_key(*id)).take(5).collect();
    assert!(
        lost_pushes.is_empty(),
        "acknowledged pushes lost: {lost_pushes:?} of {}",
        acked.len()
    );
    let lost_lines: Vec<_> = written
        .iter()
        .filter(|l| !counts.contains_key(*l))
        .map(|l| &l[..l.len().min(16)])
        .collect();
    assert!(
        lost_lines.is_empty(),
        "{} file lines lost of {}: {:?} … {:?}",
        lost_lines.len(),
        written.len(),
        &lost_lines[..lost_lines.len().min(3)],
        &lost_lines[lost_lines.len().saturating_sub(3)..]
    );
    assert!(
        acked.len() > 200 && written.len() > 200,
        "too little traffic: {} pushes, {} lines",
        acked.len(),
        written.len()
    );
}
