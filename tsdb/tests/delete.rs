//! Deleting series data (`Db::delete_series`): hidden at once from the head and the blocks, kept
//! through block cuts, WAL checkpoints and reopening, removed from the files by compaction and
//! `Db::clean_tombstones`.

mod common;

use std::collections::BTreeMap;

use common::*;
use tsdb::db::Db;
use tsdb::{MatchType, Matcher};

type Dump = BTreeMap<String, Vec<(i64, u64)>>;

/// `dump` without the samples of series whose labels contain `needle` in `[mint, maxt]`.
fn without(dump: &Dump, needle: &str, mint: i64, maxt: i64) -> Dump {
    dump.iter()
        .map(|(labels, samples)| {
            let kept = if labels.contains(needle) {
                samples
                    .iter()
                    .copied()
                    .filter(|(t, _)| *t < mint || *t > maxt)
                    .collect()
            } else {
                samples.clone()
            };
            (labels.clone(), kept)
        })
        .filter(|(_, samples)| !samples.is_empty())
        .collect()
}

/// Asserts two dumps are equal, describing the first difference briefly.
#[track_caller]
fn same(actual: &Dump, expected: &Dump, what: &str) {
    if actual == expected {
        return;
    }
    let keys: std::collections::BTreeSet<_> = actual.keys().chain(expected.keys()).collect();
    for key in keys {
        let (a, e) = (actual.get(key), expected.get(key));
        if a != e {
            let first = |d: Option<&Vec<(i64, u64)>>| d.map(|v| (v.len(), v.first().copied(), v.last().copied()));
            let diff: Vec<_> = match (a, e) {
                (Some(a), Some(e)) => a
                    .iter()
                    .filter(|x| !e.contains(x))
                    .take(3)
                    .chain(e.iter().filter(|x| !a.contains(x)).take(3))
                    .collect(),
                _ => Vec::new(),
            };
            panic!(
                "{what}: {key}: got {:?}, expected {:?}; differing {diff:?}",
                first(a),
                first(e)
            );
        }
    }
}

fn tombstone_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("tombstones").is_file())
        .count()
}

#[test]
fn deleted_data_stays_deleted_through_cuts_checkpoints_reopen_and_cleaning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = [eq("__name__", "m")];
    let expected = {
        let db = Db::open(dir.path(), options()).expect("open");
        fill(&db, "m", 12, 0, 20 * HOUR);
        db.maintain().expect("maintain");
        assert_eq!(db.blocks().iter().map(|b| b.max_time).max(), Some(18 * HOUR));
        // The head now holds 18 h – 21.5 h; series 3 loses 5 h – 21 h across blocks and head.
        fill(&db, "m", 12, 20 * HOUR, 21 * HOUR + 30 * MIN);
        let before = dump(&db, &all, i64::MIN, i64::MAX);
        let deleted = db
            .delete_series(&[eq("series", "3")], 5 * HOUR, 21 * HOUR)
            .expect("delete");
        assert!(deleted >= 2, "a tombstone in a block and in the head: {deleted}");
        let expected = without(&before, "series=\"3\"", 5 * HOUR, 21 * HOUR);
        same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "hidden at once");
        assert!(tombstone_files(dir.path()) >= 1);
        // A second deletion with a regex matcher, over a range touching the first one's.
        let job = Matcher::new(MatchType::Regex, "job", "job[1]").expect("matcher");
        db.delete_series(&[job], 0, 30 * MIN).expect("delete");
        let expected = without(&expected, "job=\"job1\"", 0, 30 * MIN);
        same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "dump");
        // Cutting 18 h – 20 h leaves the deleted samples out, and the WAL checkpoint keeps the
        // head's tombstone for what is still in the head (20 h – 21 h).
        let report = db.maintain().expect("maintain");
        assert_eq!(report.blocks_cut, 1, "{report:?}");
        same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "after the cut");
        // Samples appended later past a series' newest one are not deleted.
        let mut appender = db.appender();
        appender
            .append(&labels("m", 3), 21 * HOUR + 45 * MIN, 1.0)
            .expect("append");
        appender.commit().expect("commit");
        let mut expected = expected;
        expected
            .entry(labels("m", 3).to_string())
            .or_default()
            .push((21 * HOUR + 45 * MIN, 1.0f64.to_bits()));
        same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "dump");
        expected
    };
    // The head's tombstones come back from the WAL, the blocks' from their files.
    let db = Db::open(dir.path(), options()).expect("reopen");
    same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "after reopening");
    let samples_before: u64 = db.blocks().iter().map(|b| b.stats.num_samples).sum();
    let cleaned = db.clean_tombstones().expect("clean");
    assert!(cleaned >= 1);
    assert_eq!(tombstone_files(dir.path()), 0, "rewritten blocks have no tombstones");
    let samples_after: u64 = db.blocks().iter().map(|b| b.stats.num_samples).sum();
    assert!(samples_after < samples_before, "{samples_after} < {samples_before}");
    same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "after cleaning");
    drop(db);
    let db = Db::open(dir.path(), options()).expect("reopen");
    same(
        &dump(&db, &all, i64::MIN, i64::MAX),
        &expected,
        "after cleaning and reopening",
    );
}

#[test]
fn compaction_drops_deleted_samples_and_whole_series() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let all = [eq("__name__", "m")];
    fill(&db, "m", 6, 0, 6 * HOUR);
    db.maintain().expect("maintain");
    assert_eq!(db.blocks().len(), 2, "two 2 h blocks, not compacted yet");
    let before = dump(&db, &all, i64::MIN, i64::MAX);
    // All of series 2 and one hour of series 4.
    db.delete_series(&[eq("series", "2")], i64::MIN, i64::MAX)
        .expect("delete");
    db.delete_series(&[eq("series", "4")], HOUR, 2 * HOUR).expect("delete");
    let expected = without(
        &without(&before, "series=\"2\"", i64::MIN, i64::MAX),
        "series=\"4\"",
        HOUR,
        2 * HOUR,
    );
    same(&dump(&db, &all, i64::MIN, i64::MAX), &expected, "dump");
    assert!(
        !dump(&db, &all, i64::MIN, i64::MAX)
            .keys()
            .any(|k| k.contains("series=\"2\""))
    );
    // More data makes the three 2 h blocks compact into one 6 h block, without the deleted data.
    fill(&db, "m", 6, 6 * HOUR, 10 * HOUR);
    // Samples appended after the deletion, past each series' newest, stay (as in Prometheus).
    let before_compaction = dump(&db, &all, i64::MIN, i64::MAX);
    let series_2 = &before_compaction[&labels("m", 2).to_string()];
    assert_eq!(series_2.first().map(|s| s.0), Some(6 * HOUR));
    let report = db.maintain().expect("maintain");
    assert!(report.compactions >= 1, "{report:?}");
    same(&dump(&db, &all, i64::MIN, i64::MAX), &before_compaction, "dump");
    let six_hours = db
        .blocks()
        .into_iter()
        .find(|b| b.min_time == 0 && b.max_time == 6 * HOUR)
        .expect("a 6 h block");
    let visible_before_6h: usize = before_compaction
        .values()
        .map(|v| v.iter().filter(|(t, _)| *t < 6 * HOUR).count())
        .sum();
    assert_eq!(six_hours.stats.num_samples, visible_before_6h as u64);
    assert_eq!(visible_before_6h, 5 * 1440 - 241);
    // Nothing matches, or the range is empty: nothing to delete.
    assert_eq!(db.delete_series(&[eq("series", "99")], 0, HOUR).expect("delete"), 0);
    assert_eq!(db.delete_series(&[eq("series", "1")], HOUR, 0).expect("delete"), 0);
    assert!(db.delete_series(&[], 0, HOUR).is_err(), "matchers are required");
}
