use std::time::Duration;

use tsdb::{Labels, MatchType, Matcher};

use super::*;
use crate::schema::needle_tokens;

const H: i64 = 3_600_000_000_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap_or_else(|e| panic!("labels: {e}"))
}

fn stream(app: &str, lines: &[(i64, &str)]) -> PushStream {
    PushStream {
        labels: labels(&[("app", app), ("env", "prod")]),
        entries: lines
            .iter()
            .map(|(ts, line)| PushEntry {
                ts_ns: *ts,
                line: line.to_string(),
                metadata: Vec::new(),
            })
            .collect(),
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        window_ns: 24 * H,
        commit_interval: Duration::from_millis(50),
        ..StoreOptions::default()
    }
}

fn open(dir: &Path) -> LogStore {
    LogStore::open(dir, options()).unwrap_or_else(|e| panic!("open: {e}"))
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchType::Equal, name, value).unwrap_or_else(|e| panic!("{e}"))
}

fn select(
    store: &LogStore,
    matchers: Vec<Matcher>,
    start: i64,
    end: i64,
    direction: Direction,
    needle: &str,
) -> Vec<(i64, String)> {
    let selection = Selection {
        matchers,
        start_ns: start,
        end_ns: end,
        direction,
        required_tokens: needle_tokens(needle),
        token_substrings: if needle_tokens(needle).is_empty() {
            crate::schema::needle_substring(needle).into_iter().collect()
        } else {
            Vec::new()
        },
    };
    let mut cursor = store.select(&selection).unwrap_or_else(|e| panic!("select: {e}"));
    let mut out = Vec::new();
    loop {
        let batch = cursor.next_batch(3).unwrap_or_else(|e| panic!("next: {e}"));
        if batch.is_empty() {
            break;
        }
        out.extend(batch.into_iter().map(|l| (l.ts_ns, l.line)));
    }
    out
}

fn all(store: &LogStore) -> Vec<(i64, String)> {
    select(
        store,
        vec![eq("env", "prod")],
        i64::MIN / 2,
        i64::MAX / 2,
        Direction::Forward,
        "",
    )
}

fn must<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn selects_in_both_directions_across_windows_with_matchers_ranges_and_tokens() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open(dir.path());
    must(store.append(&[
        stream(
            "api",
            &[
                (H, "GET /users 200"),
                (2 * H, "level=error msg=\"db down\""),
                (30 * H, "GET /items 500"),
            ],
        ),
        stream(
            "web",
            &[
                (H + 1, "served index.html"),
                (26 * H, "level=error msg=\"db down again\""),
            ],
        ),
    ]));
    assert!(all(&store).is_empty(), "nothing is visible before a commit");
    must(store.commit());
    let forward = all(&store);
    let times: Vec<i64> = forward.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![H, H + 1, 2 * H, 26 * H, 30 * H]);
    let backward = select(&store, vec![eq("env", "prod")], 0, 100 * H, Direction::Backward, "");
    assert_eq!(
        backward.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![30 * H, 26 * H, 2 * H, H + 1, H]
    );
    let api = select(&store, vec![eq("app", "api")], 0, 100 * H, Direction::Forward, "");
    assert_eq!(api.len(), 3);
    let ranged = select(&store, vec![eq("env", "prod")], H + 1, 26 * H, Direction::Forward, "");
    assert_eq!(
        ranged.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![H + 1, 2 * H],
        "start inclusive, end exclusive"
    );
    let needle = select(
        &store,
        vec![eq("env", "prod")],
        0,
        100 * H,
        Direction::Forward,
        " msg=\"db down ",
    );
    assert_eq!(needle.len(), 2);
    assert_eq!(
        select(
            &store,
            vec![eq("env", "prod")],
            0,
            100 * H,
            Direction::Forward,
            " nothere "
        )
        .len(),
        0
    );
    let none = select(&store, vec![eq("app", "nope")], 0, 100 * H, Direction::Forward, "");
    assert!(none.is_empty());
}

#[test]
fn labels_metadata_and_statistics_come_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open(dir.path());
    let mut s = stream("api", &[(H, "hello"), (2 * H, "world!")]);
    s.entries[0].metadata = vec![("trace_id".into(), "abc".into())];
    must(store.append(&[s, stream("web", &[(3 * H, "x")])]));
    must(store.commit());
    let selection = Selection {
        matchers: vec![eq("app", "api")],
        start_ns: 0,
        end_ns: 10 * H,
        direction: Direction::Forward,
        required_tokens: Vec::new(),
        token_substrings: Vec::new(),
    };
    let lines = must(must(store.select(&selection)).next_batch(10));
    assert_eq!(lines[0].labels.get("app"), Some("api"));
    assert_eq!(lines[0].metadata, vec![("trace_id".to_string(), "abc".to_string())]);
    assert!(lines[1].metadata.is_empty());
    assert_eq!(store.label_names(&[], 0, 10 * H), vec!["app", "env"]);
    assert_eq!(store.label_values("app", &[], 0, 10 * H), vec!["api", "web"]);
    assert_eq!(store.label_values("app", &[eq("app", "web")], 0, 10 * H), vec!["web"]);
    assert!(
        store.label_values("app", &[], 5 * H, 10 * H).is_empty(),
        "outside every stream's time bounds"
    );
    let stats = store.stream_stats(&[eq("app", "api")], 0, 10 * H);
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (stats[0].entries, stats[0].bytes, stats[0].min_ts, stats[0].max_ts),
        (2, 11, H, 2 * H)
    );
    let totals = store.stats();
    assert_eq!(
        (totals.windows, totals.streams, totals.entries, totals.line_bytes),
        (1, 2, 3, 12)
    );
}

#[test]
fn acknowledged_pushes_survive_a_crash_before_commit_exactly_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let store = open(dir.path());
        must(store.append(&[stream("api", &[(H, "committed")])]));
        must(store.commit());
        must(store.append(&[stream("api", &[(2 * H, "only in the wal")])]));
        // Dropped without commit: the index writer's pending documents are lost, as in a crash.
    }
    let store = open(dir.path());
    assert_eq!(
        all(&store),
        vec![(H, "committed".to_string()), (2 * H, "only in the wal".to_string())]
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(all(&store).len(), 2, "reopening again replays nothing twice");
    assert_eq!(store.stats().entries, 2);
}

#[test]
fn a_commit_torn_between_windows_is_rolled_back_and_replayed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let store = open(dir.path());
        must(store.append(&[stream("api", &[(H, "day one, first")])]));
        must(store.commit());
        must(store.append(&[stream("api", &[(2 * H, "day one, second"), (25 * H, "day two")])]));
        // Commit only the first window, then "crash" before the second window and the checkpoint.
        let mut state = store.write.lock();
        let commit = state.commit;
        let first = state.windows.values_mut().next().unwrap_or_else(|| panic!("no window"));
        must(first.commit(commit));
        assert_eq!(first.count_batch(commit), 1);
    }
    let store = open(dir.path());
    let lines: Vec<String> = all(&store).into_iter().map(|(_, l)| l).collect();
    assert_eq!(lines, ["day one, first", "day one, second", "day two"]);
}

#[test]
fn file_positions_are_saved_with_the_lines_they_cover() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let position = |offset| FilePosition {
        path: "/var/log/x.log".into(),
        dev: 1,
        inode: 42,
        fingerprint: 7,
        fingerprint_len: 10,
        offset,
    };
    {
        let store = open(dir.path());
        must(store.append_from_files(&[stream("api", &[(H, "a")])], &[position(100)]));
        must(store.commit());
        must(store.append_from_files(&[stream("api", &[(H + 1, "b")])], &[position(200)]));
        assert_eq!(store.positions().get("1:42").map(|p| p.offset), Some(200));
    }
    let store = open(dir.path());
    assert_eq!(
        store.positions().get("1:42").map(|p| p.offset),
        Some(100),
        "the uncommitted position is gone"
    );
    assert_eq!(
        all(&store),
        vec![(H, "a".to_string())],
        "and so is its line: the file is read again from 100"
    );
    store.forget_position("1:42");
    must(store.commit());
    drop(store);
    assert!(open(dir.path()).positions().is_empty());
}

#[test]
fn many_lines_are_scanned_in_slices_with_identical_timestamps_kept() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open(dir.path());
    let n = SLICE_CAP_FOR_TESTS + 1000;
    let lines: Vec<(i64, String)> = (0..n).map(|i| (H + (i as i64 / 3), format!("line {i}"))).collect();
    let refs: Vec<(i64, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
    must(store.append(&[stream("bulk", &refs)]));
    must(store.commit());
    let forward = all(&store);
    assert_eq!(forward.len(), n);
    assert!(forward.windows(2).all(|w| w[0].0 <= w[1].0));
    let backward = select(&store, vec![eq("app", "bulk")], 0, 10 * H, Direction::Backward, "");
    assert_eq!(backward.len(), n);
    assert!(backward.windows(2).all(|w| w[0].0 >= w[1].0));
    let mut seen: Vec<&str> = backward.iter().map(|(_, l)| l.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), n, "every line exactly once");
}

const SLICE_CAP_FOR_TESTS: usize = 1 << 16;

#[test]
fn retention_drops_old_and_oversized_windows() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let aged = StoreOptions {
        retention_age: Some(Duration::from_secs(48 * 3600)),
        ..options()
    };
    let store = must(LogStore::open(dir.path(), aged));
    must(store.append(&[stream(
        "api",
        &[(H, "day 0"), (25 * H, "day 1"), (49 * H, "day 2"), (73 * H, "day 3")],
    )]));
    must(store.commit());
    assert_eq!(
        must(store.apply_retention(74 * H)),
        1,
        "day 0 ended more than 48h before"
    );
    assert_eq!(all(&store).len(), 3);
    drop(store);
    let sized = StoreOptions {
        retention_bytes: Some(1),
        ..options()
    };
    let store = must(LogStore::open(dir.path(), sized));
    assert_eq!(must(store.apply_retention(74 * H)), 2, "all but the newest window");
    assert_eq!(all(&store), vec![(73 * H, "day 3".to_string())]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("windows"))
            .map(|d| d.count())
            .unwrap_or(0),
        1
    );
}

#[test]
fn substring_prefilter_keeps_partial_and_long_tokens() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(dir.path());
    let long = format!("{}error{}", "a".repeat(40), "b".repeat(40));
    let lines = [
        (H + 1, "two errors here"),
        (H + 2, "nothing to see"),
        (H + 3, long.as_str()),
        (H + 4, "MyErrorCode=7"),
        (H + 5, "err or"),
        (H + 6, "TWO ERRORS"),
    ];
    store.append(&[stream("web", &lines)]).expect("append");
    store.commit().expect("commit");
    // Candidates: terms containing the word (case kept), and lines with an over-long token.
    let got: Vec<i64> = select(&store, vec![eq("app", "web")], 0, 3 * H, Direction::Forward, "rror")
        .into_iter()
        .map(|(ts, _)| ts)
        .collect();
    assert_eq!(got, vec![H + 1, H + 3, H + 4]);
    // Two characters are not worth a dictionary scan: no pre-filter.
    assert_eq!(
        select(&store, vec![eq("app", "web")], 0, 3 * H, Direction::Forward, "er").len(),
        6
    );
    // Counting mode: exactly the lines with the word, the over-long one left to the caller.
    let selection = Selection {
        matchers: vec![eq("app", "web")],
        start_ns: 0,
        end_ns: 3 * H,
        direction: Direction::Forward,
        required_tokens: Vec::new(),
        token_substrings: vec!["rror".into()],
    };
    let mut cursor = store.select_meta(&selection).expect("select").expect("not legacy");
    let metas = cursor.next_meta(100).expect("meta");
    let got: Vec<(i64, u64)> = metas.iter().map(|m| (m.ts_ns, m.len)).collect();
    assert_eq!(got, vec![(H + 1, 15), (H + 4, 13)]);
    assert_eq!(metas[0].labels.get("app"), Some("web"));
    let marked = Selection {
        required_tokens: vec![crate::schema::LONG_TOKEN.into()],
        ..selection
    };
    let mut cursor = store.select(&marked).expect("select");
    let lines = cursor.next_batch(100).expect("lines");
    assert_eq!(lines.iter().map(|l| l.ts_ns).collect::<Vec<_>>(), vec![H + 3]);
}
