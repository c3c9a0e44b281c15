#![allow(clippy::unwrap_used)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;

use ::logs::{Direction, Selection, StoreOptions};
use tsdb::{MatchType, Matcher};

use super::*;

/// A Docker root, a CRI root and a store directory in one temporary directory.
struct Env {
    _dir: tempfile::TempDir,
    docker: PathBuf,
    cri: PathBuf,
    store_dir: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("containers");
        let cri = dir.path().join("pods");
        let store_dir = dir.path().join("store");
        for d in [&docker, &cri, &store_dir] {
            fs::create_dir_all(d).unwrap();
        }
        Env {
            _dir: dir,
            docker,
            cri,
            store_dir,
        }
    }

    fn store(&self) -> Arc<LogStore> {
        Arc::new(LogStore::open(&self.store_dir, StoreOptions::default()).unwrap())
    }

    fn config(&self) -> CollectorConfig {
        CollectorConfig {
            docker_root: Some(self.docker.clone()),
            cri_root: Some(self.cri.clone()),
            poll_interval: Duration::from_millis(10),
            rescan_interval: Duration::ZERO,
            ..CollectorConfig::default()
        }
    }

    fn collector(&self, store: &Arc<LogStore>) -> Collector {
        Collector::new(self.config(), Arc::clone(store))
    }

    /// A Docker container `<c repeated 64 times>` with a `config.v2.json` when `name` is given;
    /// returns the path of its current log file.
    fn docker_container(&self, c: char, name: Option<&str>) -> PathBuf {
        let id = c.to_string().repeat(64);
        let dir = self.docker.join(&id);
        fs::create_dir_all(&dir).unwrap();
        if let Some(name) = name {
            let config = serde_json::json!({
                "Name": format!("/{name}"),
                "Config": {
                    "Image": "nginx:1.25",
                    "Labels": {"com.docker.compose.service": "web", "com.docker.compose.project": "shop"}
                },
                "State": {"Running": true}
            });
            fs::write(dir.join("config.v2.json"), config.to_string()).unwrap();
        }
        let log = dir.join(format!("{id}-json.log"));
        append(&log, "");
        log
    }

    /// A CRI container directory; returns the path of its `0.log`.
    fn cri_container(&self, pod: &str, container: &str) -> PathBuf {
        let dir = self
            .cri
            .join(format!("default_{pod}_0f1e2d3c-0000-4000-8000-000000000001"))
            .join(container);
        fs::create_dir_all(&dir).unwrap();
        let log = dir.join("0.log");
        append(&log, "");
        log
    }
}

fn ts(i: u64) -> String {
    format!("2024-05-01T10:00:00.{i:09}Z")
}

/// One json-file line; `text` is the `log` field as is (a complete line ends in `\n`).
fn docker_raw(stream: &str, text: &str, i: u64) -> String {
    let mut line = serde_json::json!({"log": text, "stream": stream, "time": ts(i)}).to_string();
    line.push('\n');
    line
}

/// Complete stdout lines `prefix-<n>` for n in `range`.
fn docker_lines(prefix: &str, range: std::ops::Range<u64>) -> String {
    range
        .map(|i| docker_raw("stdout", &format!("{prefix}-{i}\n"), i))
        .collect()
}

fn cri_raw(stream: &str, tag: &str, text: &str, i: u64) -> String {
    format!("{} {stream} {tag} {text}\n", ts(i))
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn names(prefix: &str, range: std::ops::Range<u64>) -> Vec<String> {
    let mut v: Vec<String> = range.map(|i| format!("{prefix}-{i}")).collect();
    v.sort();
    v
}

/// A stored line: its labels (as text), the line, its structured metadata.
type Stored = (String, String, Vec<(String, String)>);

/// Every stored line, sorted (commits first).
fn stored(store: &LogStore) -> Vec<Stored> {
    store.commit().unwrap();
    let selection = Selection {
        matchers: vec![Matcher::new(MatchType::Regex, "service_name", ".+").unwrap()],
        start_ns: 0,
        end_ns: i64::MAX / 2,
        direction: Direction::Forward,
        required_tokens: Vec::new(),
        token_substrings: Vec::new(),
    };
    let mut cursor = store.select(&selection).unwrap();
    let mut out = Vec::new();
    loop {
        let batch = cursor.next_batch(100).unwrap();
        if batch.is_empty() {
            break;
        }
        out.extend(batch.into_iter().map(|l| (l.labels.to_string(), l.line, l.metadata)));
    }
    out.sort();
    out
}

/// Every stored line's text, sorted (commits first).
fn lines(store: &LogStore) -> Vec<String> {
    let mut v: Vec<String> = stored(store).into_iter().map(|(_, l, _)| l).collect();
    v.sort();
    v
}

/// Polls until a poll reads nothing.
fn poll_all(c: &mut Collector) -> PollStats {
    let mut total = PollStats::default();
    for _ in 0..100 {
        let s = c.poll_once().unwrap();
        total.records += s.records;
        total.bytes += s.bytes;
        total.errors += s.errors;
        total.files = s.files;
        if s.bytes == 0 {
            return total;
        }
    }
    panic!("collector never caught up");
}

const WEB: &str = r#"container="web-1", image="nginx:1.25", project="shop", service="web", service_name="web""#;

#[test]
fn docker_lines_get_container_labels_and_detected_level() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_raw("stdout", "level=error msg=\"db down\"\n", 1));
    append(&log, &docker_raw("stderr", "plain text\n", 2));
    let bare = env.docker_container('b', None);
    append(&bare, &docker_raw("stdout", "{\"level\":\"WARN\",\"msg\":\"x\"}\n", 3));
    let store = env.store();
    let mut c = env.collector(&store);
    let stats = c.poll_once().unwrap();
    assert_eq!((stats.records, stats.files, stats.errors), (3, 2, 0));
    let level = |l: &str| vec![("detected_level".to_string(), l.to_string())];
    assert_eq!(
        stored(&store),
        vec![
            (
                r#"{container="bbbbbbbbbbbb", service_name="bbbbbbbbbbbb", stream="stdout"}"#.to_string(),
                "{\"level\":\"WARN\",\"msg\":\"x\"}".to_string(),
                level("warn")
            ),
            (
                format!("{{{WEB}, stream=\"stderr\"}}"),
                "plain text".to_string(),
                Vec::<(String, String)>::new()
            ),
            (
                format!("{{{WEB}, stream=\"stdout\"}}"),
                "level=error msg=\"db down\"".to_string(),
                level("error")
            ),
        ]
    );
    assert_eq!(c.poll_once().unwrap().records, 0, "nothing is read twice");
}

#[test]
fn docker_16k_chunks_are_rejoined() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    let long: String = (0..40_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let (c1, rest) = long.split_at(16_384);
    let (c2, c3) = rest.split_at(16_384);
    append(&log, &docker_raw("stdout", "before\n", 1));
    append(&log, &docker_raw("stdout", c1, 2));
    append(&log, &docker_raw("stdout", c2, 2));
    append(&log, &docker_raw("stdout", &format!("{c3}\n"), 2));
    append(&log, &docker_raw("stdout", "after\n", 3));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 3);
    let mut want = vec!["after".to_string(), "before".to_string(), long];
    want.sort();
    assert_eq!(lines(&store), want);
}

#[test]
fn rotation_while_running_reads_every_line_once() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("first", 0..3));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 3);
    // Written before the rotation and not yet read; the last one without its newline.
    append(&log, &docker_lines("late", 3..5));
    append(&log, docker_raw("stdout", "tail-5\n", 5).trim_end());
    fs::rename(&log, log.with_extension("log.1")).unwrap();
    append(&log, &docker_lines("new", 6..8));
    assert_eq!(c.poll_once().unwrap().records, 5);
    let mut want = [names("first", 0..3), names("late", 3..5), names("new", 6..8)].concat();
    want.push("tail-5".into());
    want.sort();
    assert_eq!(lines(&store), want);
    let positions = store.positions();
    let (dev, inode) = file_identity(&log).unwrap();
    assert_eq!(
        positions.keys().collect::<Vec<_>>(),
        vec![&format!("{dev}:{inode}")],
        "the drained file's position is forgotten"
    );
    append(&log, &docker_lines("more", 8..9));
    assert_eq!(c.poll_once().unwrap().records, 1);
    assert_eq!(lines(&store).len(), 9);
    assert_eq!(
        store.positions()[&format!("{dev}:{inode}")].offset,
        fs::metadata(&log).unwrap().len()
    );
}

#[test]
fn restart_without_commit_rereads_exactly_the_uncommitted_lines() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("a", 0..5));
    {
        let store = env.store();
        let mut c = env.collector(&store);
        assert_eq!(c.poll_once().unwrap().records, 5);
        // Dropped without a commit, as in a crash.
    }
    append(&log, &docker_lines("b", 5..7));
    let store = env.store();
    assert!(store.positions().is_empty());
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 7);
    assert_eq!(lines(&store), [names("a", 0..5), names("b", 5..7)].concat());
}

#[test]
fn restart_after_commit_resumes_without_duplicates() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("a", 0..5));
    {
        let store = env.store();
        let mut c = env.collector(&store);
        assert_eq!(c.poll_once().unwrap().records, 5);
        store.commit().unwrap();
    }
    append(&log, &docker_lines("b", 5..7));
    let store = env.store();
    assert_eq!(store.positions().len(), 1);
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 2);
    assert_eq!(lines(&store), [names("a", 0..5), names("b", 5..7)].concat());
}

#[test]
fn restart_inside_a_partial_chunk_sequence_delivers_it_once() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    let long = "x".repeat(20_000);
    let (c1, c2) = long.split_at(16_384);
    append(&log, &docker_raw("stdout", "before\n", 1));
    append(&log, &docker_raw("stdout", c1, 2));
    {
        let store = env.store();
        let mut c = env.collector(&store);
        assert_eq!(c.poll_once().unwrap().records, 1);
        assert_eq!(lines(&store), vec!["before".to_string()]);
    }
    append(&log, &docker_raw("stdout", &format!("{c2}\n"), 2));
    append(&log, &docker_raw("stdout", "after\n", 3));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 2);
    let mut want = vec!["before".to_string(), "after".to_string(), long];
    want.sort();
    assert_eq!(lines(&store), want);
}

#[test]
fn records_of_the_other_stream_wait_for_a_pending_partial() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_raw("stdout", "part one ", 1));
    append(&log, &docker_raw("stderr", "e1\n", 2));
    append(&log, &docker_raw("stderr", "e2\n", 3));
    {
        let store = env.store();
        let mut c = env.collector(&store);
        assert_eq!(c.poll_once().unwrap().records, 0, "held back behind the stdout partial");
        assert!(lines(&store).is_empty());
        let offsets: Vec<u64> = store.positions().values().map(|p| p.offset).collect();
        assert_eq!(
            offsets,
            vec![0],
            "the file is known, nothing past the partial is claimed"
        );
    }
    append(&log, &docker_raw("stdout", "part two\n", 4));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 3);
    assert_eq!(lines(&store), vec!["e1", "e2", "part one part two"]);
    let labels: Vec<String> = stored(&store).into_iter().map(|(l, _, _)| l).collect();
    assert_eq!(labels[0], format!("{{{WEB}, stream=\"stderr\"}}"));
}

#[test]
fn copytruncate_restarts_at_zero() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("old", 0..3));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 3);
    OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &docker_lines("new", 3..5));
    assert_eq!(poll_all(&mut c).records, 2);
    assert_eq!(lines(&store), [names("new", 3..5), names("old", 0..3)].concat());
    let (dev, inode) = file_identity(&log).unwrap();
    assert_eq!(
        store.positions()[&format!("{dev}:{inode}")].offset,
        fs::metadata(&log).unwrap().len()
    );
}

/// Runs a first collector over three lines `a-0..a-2` of `log`, commits and stops it.
fn run_then_stop(env: &Env, log: &Path) {
    append(log, &docker_lines("a", 0..3));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 3);
    store.commit().unwrap();
}

#[test]
fn rotation_while_down_reads_both_files_once() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    run_then_stop(&env, &log);
    append(&log, &docker_lines("b", 3..5));
    fs::rename(&log, log.with_extension("log.1")).unwrap();
    append(&log, &docker_lines("c", 5..8));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 5);
    assert_eq!(
        lines(&store),
        [names("a", 0..3), names("b", 3..5), names("c", 5..8)].concat()
    );
    assert_eq!(store.positions().len(), 1, "the rotated file's position is forgotten");
}

#[test]
fn a_new_current_file_rotated_away_unread_while_down_is_still_read() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    {
        append(&log, &docker_lines("a", 0..2));
        let store = env.store();
        let mut c = env.collector(&store);
        assert_eq!(poll_all(&mut c).records, 2);
        // Rotated while running; the new current file is followed but still empty at the crash.
        fs::rename(&log, log.with_extension("log.1")).unwrap();
        append(&log, "");
        assert_eq!(poll_all(&mut c).records, 0);
        store.commit().unwrap();
    }
    // While down it fills and is rotated in turn (replacing the old `.1`), then a new one starts.
    append(&log, &docker_lines("b", 2..4));
    fs::rename(&log, log.with_extension("log.1")).unwrap();
    append(&log, &docker_lines("c", 4..5));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 3);
    assert_eq!(
        lines(&store),
        [names("a", 0..2), names("b", 2..4), names("c", 4..5)].concat()
    );
}

#[test]
fn gzipped_rotation_while_down_resumes_inside_the_gz() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    run_then_stop(&env, &log);
    let old_key = env.store().positions().keys().next().cloned().unwrap();
    append(&log, &docker_lines("b", 3..5));
    let gz = log.with_extension("log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(&fs::read(&log).unwrap()).unwrap();
    enc.finish().unwrap();
    fs::remove_file(&log).unwrap();
    append(&log, &docker_lines("c", 5..8));
    let store = env.store();
    let mut c = env.collector(&store);
    let first = c.poll_once().unwrap();
    assert_eq!((first.records, first.errors), (5, 0));
    assert_eq!(
        lines(&store),
        [names("a", 0..3), names("b", 3..5), names("c", 5..8)].concat()
    );
    // Only the current file's position is left (its inode may be the deleted file's, reused).
    let (dev, inode) = file_identity(&log).unwrap();
    let positions = store.positions();
    assert_eq!(positions.keys().collect::<Vec<_>>(), vec![&format!("{dev}:{inode}")]);
    assert_eq!(
        positions[&format!("{dev}:{inode}")].offset,
        fs::metadata(&log).unwrap().len()
    );
    if format!("{dev}:{inode}") != old_key {
        assert!(!positions.contains_key(&old_key));
    }
}

#[test]
fn crash_while_reading_a_gz_next_to_a_new_current_file_is_exactly_once() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    run_then_stop(&env, &log);
    append(&log, &docker_lines("b", 3..40));
    let gz = log.with_extension("log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(&fs::read(&log).unwrap()).unwrap();
    enc.finish().unwrap();
    fs::remove_file(&log).unwrap();
    append(&log, &docker_lines("c", 40..45)); // often gets the deleted file's inode
    let config = CollectorConfig {
        batch_bytes: 500,
        ..env.config()
    };
    {
        let store = env.store();
        let mut c = Collector::new(config.clone(), Arc::clone(&store));
        c.poll_once().unwrap();
        c.poll_once().unwrap();
        store.commit().unwrap();
        c.poll_once().unwrap();
        // Crash: the last poll is not committed.
    }
    let store = env.store();
    let mut c = Collector::new(config, Arc::clone(&store));
    poll_all(&mut c);
    assert_eq!(
        lines(&store),
        [names("a", 0..3), names("b", 3..40), names("c", 40..45)].concat()
    );
}

#[test]
fn gz_read_is_reported_under_the_original_key_until_finished() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    run_then_stop(&env, &log);
    let old = env.store().positions().values().next().cloned().unwrap();
    append(&log, &docker_lines("b", 3..40));
    let gz = log.with_extension("log.1.gz");
    let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(&fs::read(&log).unwrap()).unwrap();
    enc.finish().unwrap();
    fs::remove_file(&log).unwrap();
    let store = env.store();
    let mut c = Collector::new(
        CollectorConfig {
            batch_bytes: 200,
            ..env.config()
        },
        Arc::clone(&store),
    );
    c.poll_once().unwrap();
    let pos = store.positions()[&old.key()].clone();
    assert!(pos.offset > old.offset, "{pos:?}");
    assert_eq!(
        (pos.fingerprint, pos.fingerprint_len),
        (old.fingerprint, old.fingerprint_len)
    );
    poll_all(&mut c);
    assert_eq!(lines(&store), [names("a", 0..3), names("b", 3..40)].concat());
    assert!(store.positions().is_empty());
}

#[test]
fn first_start_reads_only_the_current_file() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log.with_extension("log.1"), &docker_lines("history", 0..4));
    append(&log, &docker_lines("now", 4..6));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(poll_all(&mut c).records, 2);
    assert_eq!(lines(&store), names("now", 4..6));
}

#[test]
fn cri_partials_are_joined_and_labelled() {
    let env = Env::new();
    let log = env.cri_container("web-0", "app");
    append(&log, &cri_raw("stdout", "P", "hel", 1));
    append(&log, &cri_raw("stdout", "P", "lo ", 2));
    append(&log, &cri_raw("stdout", "F", "world", 3));
    append(&log, &cri_raw("stderr", "F", "WARN disk", 4));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 2);
    let base = r#"container="app", namespace="default", pod="web-0", service_name="app""#;
    let level = |l: &str| vec![("detected_level".to_string(), l.to_string())];
    assert_eq!(
        stored(&store),
        vec![
            (
                format!("{{{base}, stream=\"stderr\"}}"),
                "WARN disk".to_string(),
                level("warn")
            ),
            (
                format!("{{{base}, stream=\"stdout\"}}"),
                "hello world".to_string(),
                Vec::<(String, String)>::new()
            ),
        ]
    );
}

#[test]
fn cri_restart_switches_to_the_new_file() {
    let env = Env::new();
    let log = env.cri_container("web-0", "app");
    append(&log, &cri_raw("stdout", "F", "run0-a", 1));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 1);
    append(&log, &cri_raw("stdout", "F", "run0-b", 2));
    append(&log.with_file_name("1.log"), &cri_raw("stdout", "F", "run1-a", 3));
    assert_eq!(poll_all(&mut c).records, 2);
    assert_eq!(lines(&store), vec!["run0-a", "run0-b", "run1-a"]);
    assert_eq!(store.positions().len(), 1);
}

#[test]
fn new_container_appears_on_rescan() {
    let env = Env::new();
    let a = env.docker_container('a', Some("web-1"));
    append(&a, &docker_lines("a", 0..2));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 2);
    let b = env.docker_container('b', Some("web-2"));
    append(&b, &docker_lines("b", 2..5));
    let cri = env.cri_container("web-0", "app");
    append(&cri, &cri_raw("stdout", "F", "c-5", 5));
    let stats = c.poll_once().unwrap();
    assert_eq!((stats.records, stats.files), (4, 3));
    assert_eq!(
        lines(&store),
        [names("a", 0..2), names("b", 2..5), names("c", 5..6)].concat()
    );
}

#[test]
fn a_container_that_rotated_before_it_was_first_seen_is_read_whole() {
    let env = Env::new();
    let a = env.docker_container('a', Some("web-1"));
    append(&a, &docker_lines("a", 0..1));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 1);
    // Appears after the first scan and rotates before the next one: its `.1` is new, not history.
    let b = env.docker_container('b', Some("web-2"));
    append(&b, &docker_lines("b", 1..3));
    std::fs::rename(
        &b,
        b.with_file_name(format!("{}.1", b.file_name().and_then(|n| n.to_str()).unwrap_or(""))),
    )
    .unwrap();
    append(&b, &docker_lines("b", 3..4));
    assert_eq!(poll_all(&mut c).records, 3);
    assert_eq!(lines(&store), [names("a", 0..1), names("b", 1..4)].concat());
}

#[test]
fn removed_container_is_drained_and_forgotten() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("a", 0..2));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 2);
    assert_eq!(store.positions().len(), 1);
    append(&log, &docker_lines("b", 2..4));
    fs::remove_dir_all(log.parent().unwrap()).unwrap();
    let stats = c.poll_once().unwrap();
    assert_eq!((stats.records, stats.files), (2, 0));
    assert_eq!(lines(&store), [names("a", 0..2), names("b", 2..4)].concat());
    assert!(store.positions().is_empty());
    assert!(c.status().read().unwrap().is_empty());
}

#[test]
fn malformed_lines_are_skipped_and_counted() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_raw("stdout", "good-0\n", 0));
    append(&log, "this is not json\n");
    append(&log, &docker_raw("stdout", "good-1\n", 1));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 2);
    assert_eq!(lines(&store), names("good", 0..2));
    let status = c.status().read().unwrap().clone();
    let size = fs::metadata(&log).unwrap().len();
    assert_eq!(
        status,
        vec![FileStatus {
            path: log.clone(),
            kind: SourceKind::Docker,
            container_id: "a".repeat(64),
            labels: vec![
                ("container".into(), "web-1".into()),
                ("image".into(), "nginx:1.25".into()),
                ("project".into(), "shop".into()),
                ("service".into(), "web".into()),
            ],
            offset: size,
            size: Some(size),
            lag_bytes: Some(0),
            last_error: None,
            malformed_lines: 1,
        }]
    );
}

#[test]
fn small_batches_take_several_polls_and_lose_nothing() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("n", 0..50));
    let store = env.store();
    let mut c = Collector::new(
        CollectorConfig {
            batch_bytes: 300,
            ..env.config()
        },
        Arc::clone(&store),
    );
    let first = c.poll_once().unwrap();
    assert!(first.records > 0 && first.records < 50, "{first:?}");
    assert!(c.behind);
    poll_all(&mut c);
    assert_eq!(lines(&store), names("n", 0..50));
}

#[test]
fn run_stops_when_asked() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("n", 0..3));
    let store = env.store();
    let mut c = env.collector(&store);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| c.run(&stop));
        for _ in 0..200 {
            if store.positions().len() == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(lines(&store), names("n", 0..3));
}

#[test]
fn cri_kubelet_rotation_while_running() {
    let env = Env::new();
    let log = env.cri_container("web-0", "app");
    append(&log, &cri_raw("stdout", "F", "x-0", 0));
    let store = env.store();
    let mut c = env.collector(&store);
    assert_eq!(c.poll_once().unwrap().records, 1);
    append(&log, &cri_raw("stdout", "P", "x-", 1));
    append(&log, &cri_raw("stdout", "F", "1", 1));
    fs::rename(&log, log.with_file_name("0.log.20240501-100000")).unwrap();
    append(&log, &cri_raw("stdout", "F", "x-2", 2));
    assert_eq!(poll_all(&mut c).records, 2);
    assert_eq!(lines(&store), names("x", 0..3));
    assert_eq!(store.positions().len(), 1);
}

#[test]
fn crash_while_draining_a_rotated_file_is_exactly_once() {
    let env = Env::new();
    let log = env.docker_container('a', Some("web-1"));
    append(&log, &docker_lines("a", 0..40));
    let config = CollectorConfig {
        batch_bytes: 400,
        ..env.config()
    };
    {
        let store = env.store();
        let mut c = Collector::new(config.clone(), Arc::clone(&store));
        c.poll_once().unwrap();
        fs::rename(&log, log.with_extension("log.1")).unwrap();
        append(&log, &docker_lines("b", 40..60));
        c.poll_once().unwrap();
        store.commit().unwrap();
        c.poll_once().unwrap();
        assert!(lines(&store).len() < 60, "still draining");
        c.poll_once().unwrap();
        // Crash: the last poll is not committed.
    }
    let store = env.store();
    let mut c = Collector::new(config, Arc::clone(&store));
    poll_all(&mut c);
    assert_eq!(lines(&store), [names("a", 0..40), names("b", 40..60)].concat());
    assert_eq!(store.positions().len(), 1);
}
