//! End-to-end tests of the storage engine through its public API: appends, block cuts,
//! compaction, retention, reopen, out-of-order and duplicate rules, corruption handling.

use std::path::Path;

use tsdb::db::{Db, DbOptions};
use tsdb::{Error, MatchType, Matcher, Sample};

mod common;

use common::*;

#[test]
fn cut_compact_reopen_keeps_query_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = [eq("__name__", "m")];
    let (before, appended) = {
        let db = Db::open(dir.path(), options()).expect("open");
        let appended = fill(&db, "m", 30, 0, 20 * HOUR);
        let before = dump(&db, &all, i64::MIN, i64::MAX);
        assert_eq!(total_samples(&before), appended);
        let report = db.maintain().expect("maintain");
        // 20 h of data: the head keeps the newest 1.5 ranges, so 9 two-hour blocks are cut.
        assert_eq!(report.blocks_cut, 9, "{report:?}");
        assert!(report.compactions >= 1, "{report:?}");
        let metas = db.blocks();
        assert!(
            metas.iter().any(|m| m.max_time - m.min_time > 2 * HOUR),
            "compacted blocks: {metas:?}"
        );
        assert_eq!(
            dump(&db, &all, i64::MIN, i64::MAX),
            before,
            "same answers after cut and compaction"
        );
        let in_blocks: u64 = metas.iter().map(|m| m.stats.num_samples).sum();
        assert_eq!(in_blocks as usize, 30 * 18 * 240, "block samples: {metas:?}");
        (before, appended)
    };
    let db = Db::open(dir.path(), options()).expect("reopen");
    assert_eq!(dump(&db, &all, i64::MIN, i64::MAX), before, "same answers after reopen");
    assert_eq!(total_samples(&before), appended);
    // A range query is bounded on both ends, inclusive.
    let window = dump(&db, &[eq("series", "3")], HOUR, 2 * HOUR);
    assert_eq!(window.len(), 1);
    let samples = window.values().next().expect("one series");
    assert_eq!(samples.first().map(|s| s.0), Some(HOUR));
    assert_eq!(samples.last().map(|s| s.0), Some(2 * HOUR));
    assert_eq!(samples.len(), 241);
    // Label names and values come from the index.
    let querier = db.querier(i64::MIN, i64::MAX);
    assert_eq!(
        querier.label_names(&[]).expect("names"),
        vec!["__name__", "job", "series"]
    );
    assert_eq!(
        querier.label_values("job", &[]).expect("values"),
        vec!["job0", "job1", "job2"]
    );
    assert_eq!(
        querier
            .label_values("series", &[eq("job", "job1")])
            .expect("values")
            .len(),
        10
    );
}

#[test]
fn matchers_select_in_label_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    fill(&db, "a", 12, 0, 5 * HOUR);
    fill(&db, "b", 2, 0, 5 * HOUR);
    db.maintain().expect("maintain");
    let querier = db.querier(i64::MIN, i64::MAX);
    let select = |matchers: &[Matcher]| -> Vec<String> {
        querier
            .select(matchers)
            .expect("select")
            .iter()
            .map(|s| s.labels().to_string())
            .collect()
    };
    let regex = Matcher::new(MatchType::Regex, "series", "1|10|11").expect("matcher");
    let got = select(&[eq("__name__", "a"), regex]);
    assert_eq!(
        got,
        vec![
            r#"{__name__="a", job="job1", series="1"}"#,
            r#"{__name__="a", job="job1", series="10"}"#,
            r#"{__name__="a", job="job2", series="11"}"#,
        ]
    );
    let not_job0 = Matcher::new(MatchType::NotEqual, "job", "job0").expect("matcher");
    assert_eq!(
        select(&[eq("__name__", "b"), not_job0]),
        vec![r#"{__name__="b", job="job1", series="1"}"#]
    );
    let mut sorted = select(&[Matcher::new(MatchType::Regex, "__name__", ".+").expect("matcher")]);
    assert_eq!(sorted.len(), 14);
    let unsorted = sorted.clone();
    sorted.sort();
    assert_eq!(sorted, unsorted, "label order");
}

#[test]
fn duplicates_and_out_of_order_follow_prometheus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let series = labels("m", 0);
    let mut appender = db.appender();
    appender.append(&series, 10 * MIN, 1.0).expect("append");
    appender.append(&series, 20 * MIN, 2.0).expect("append");
    assert_eq!(appender.commit().expect("commit").appended, 2);

    let mut appender = db.appender();
    appender.append(&series, 20 * MIN, 2.0).expect("append"); // exact duplicate: accepted, ignored
    appender.append(&series, 20 * MIN, 3.0).expect("append"); // conflicting duplicate
    appender.append(&series, 15 * MIN, 9.0).expect("append"); // out of order, no window
    appender.append(&series, 25 * MIN, 4.0).expect("append");
    let stats = appender.commit().expect("commit");
    assert_eq!(
        (
            stats.appended,
            stats.duplicates,
            stats.duplicate_conflicts,
            stats.out_of_order
        ),
        (1, 1, 1, 1)
    );
    assert!(matches!(stats.first_error, Some(Error::DuplicateSample { timestamp, .. }) if timestamp == 20 * MIN));
    let stored: Vec<Sample> = db.querier(0, HOUR).select(&[eq("series", "0")]).expect("select")[0].samples();
    assert_eq!(
        stored,
        vec![
            Sample::new(10 * MIN, 1.0),
            Sample::new(20 * MIN, 2.0),
            Sample::new(25 * MIN, 4.0)
        ]
    );
    drop(db);

    // With a 10 minute window, late samples within it are accepted and merged in order.
    let window = DbOptions {
        out_of_order_window: 10 * MIN,
        ..options()
    };
    let db = Db::open(dir.path(), window.clone()).expect("reopen");
    let mut appender = db.appender();
    appender.append(&series, 16 * MIN, 1.6).expect("append");
    appender.append(&series, 5 * MIN, 0.5).expect("append"); // older than newest (25m) - 10m
    let stats = appender.commit().expect("commit");
    assert_eq!((stats.appended, stats.out_of_order), (1, 1));
    assert!(matches!(stats.first_error, Some(Error::OutOfOrder { timestamp, .. }) if timestamp == 5 * MIN));
    let times = |db: &Db| -> Vec<i64> {
        db.querier(0, HOUR).select(&[eq("series", "0")]).expect("select")[0]
            .samples()
            .iter()
            .map(|s| s.t)
            .collect()
    };
    assert_eq!(times(&db), vec![10 * MIN, 16 * MIN, 20 * MIN, 25 * MIN]);
    drop(db);
    let db = Db::open(dir.path(), window).expect("reopen");
    assert_eq!(
        times(&db),
        vec![10 * MIN, 16 * MIN, 20 * MIN, 25 * MIN],
        "out-of-order sample replayed from the wal"
    );
}

#[test]
fn samples_older_than_the_head_are_out_of_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    fill(&db, "m", 2, 0, 6 * HOUR);
    db.maintain().expect("maintain");
    assert!(!db.blocks().is_empty());
    let mut appender = db.appender();
    appender.append(&labels("new", 0), HOUR, 1.0).expect("append");
    let stats = appender.commit().expect("commit");
    assert_eq!(stats.out_of_bounds, 1);
    assert!(matches!(stats.first_error, Some(Error::OutOfBounds { .. })));
}

#[test]
fn special_values_survive_bit_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values = [
        f64::NAN,
        tsdb::stale_nan(),
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::MIN_POSITIVE,
        f64::from_bits(0x7ff8_0000_0000_0123),
    ];
    {
        let db = Db::open(dir.path(), options()).expect("open");
        let mut appender = db.appender();
        for (i, v) in values.iter().enumerate() {
            appender
                .append(&labels("special", 0), i as i64 * HOUR, *v)
                .expect("append");
        }
        appender.commit().expect("commit");
        db.maintain().expect("maintain");
        assert!(!db.blocks().is_empty(), "some values are in blocks");
    }
    let db = Db::open(dir.path(), options()).expect("reopen");
    let got: Vec<u64> = db
        .querier(i64::MIN, i64::MAX)
        .select(&[eq("__name__", "special")])
        .expect("select")[0]
        .samples()
        .iter()
        .map(|s| s.v.to_bits())
        .collect();
    assert_eq!(got, values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
}

#[test]
fn retention_by_time_and_size_deletes_whole_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep_six_hours = DbOptions {
        retention_time: Some(6 * HOUR),
        max_block_range: Some(2 * HOUR),
        ..options()
    };
    let db = Db::open(dir.path(), keep_six_hours).expect("open");
    fill(&db, "m", 5, 0, 20 * HOUR);
    let report = db.maintain().expect("maintain");
    assert!(report.blocks_deleted > 0, "{report:?}");
    let oldest = db.blocks().iter().map(|m| m.min_time).min().expect("some blocks");
    // Newest sample is at 20h - 15s; blocks ending at or before 14h - 15s are gone.
    assert!(oldest >= 12 * HOUR, "oldest block starts at {oldest}");
    let remaining: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        remaining.len(),
        db.blocks().len() + 3,
        "only blocks, wal, chunks_head and lock remain: {remaining:?}"
    );
    drop(db);

    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            max_block_range: Some(2 * HOUR),
            ..options()
        },
    )
    .expect("open");
    fill(&db, "m", 40, 0, 20 * HOUR);
    db.maintain().expect("maintain");
    drop(db);
    // Measure what a reopened store holds, then allow all of it but the two oldest blocks.
    let unlimited = DbOptions {
        max_block_range: Some(2 * HOUR),
        ..options()
    };
    let stats = Db::open(dir.path(), unlimited).expect("reopen").stats();
    let sizes: Vec<u64> = block_sizes(dir.path());
    let two_oldest: u64 = sizes.iter().take(2).sum();
    assert_eq!(sizes.iter().sum::<u64>(), stats.blocks_bytes);
    let total = stats.blocks_bytes + stats.wal_bytes + stats.head_chunk_bytes;
    let limited = DbOptions {
        retention_size: Some(total - two_oldest + 512),
        max_block_range: Some(2 * HOUR),
        ..options()
    };
    let db = Db::open(dir.path(), limited).expect("reopen");
    let before = db.blocks();
    db.maintain().expect("maintain");
    let after = db.blocks();
    assert_eq!(after.len(), before.len() - 2, "the two oldest blocks go");
    assert_eq!(after.first().map(|m| m.min_time), before.get(2).map(|m| m.min_time));
}

fn block_sizes(dir: &Path) -> Vec<u64> {
    let mut blocks: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("meta.json").exists())
        .map(|e| (e.file_name().to_string_lossy().to_string(), dir_size(&e.path())))
        .collect();
    blocks.sort();
    blocks.into_iter().map(|(_, size)| size).collect()
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        dir_size(&e.path())
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn torn_wal_tail_is_truncated_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Db::open(dir.path(), options()).expect("open");
        fill(&db, "m", 4, 0, 10 * MIN);
    }
    // Tear the newest non-empty segment mid-record and add garbage.
    let wal = dir.path().join("wal");
    let mut segments: Vec<_> = std::fs::read_dir(&wal)
        .expect("wal dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.metadata().map(|m| m.is_file() && m.len() > 0).unwrap_or(false))
        .collect();
    segments.sort();
    let last = segments.last().expect("a segment with data");
    let len = last.metadata().expect("metadata").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .expect("open segment");
    file.set_len(len - 7).expect("truncate");
    drop(file);
    let db = Db::open(dir.path(), options()).expect("a torn tail never prevents start-up");
    let got = total_samples(&dump(&db, &[eq("__name__", "m")], i64::MIN, i64::MAX));
    // The last commit (4 samples) was torn; everything before it is intact.
    assert_eq!(got, 4 * 40 - 4);
    // New appends after the repair survive another reopen.
    fill(&db, "m", 4, 10 * MIN, 11 * MIN);
    drop(db);
    let db = Db::open(dir.path(), options()).expect("reopen");
    assert_eq!(
        total_samples(&dump(&db, &[eq("__name__", "m")], i64::MIN, i64::MAX)),
        4 * 40 - 4 + 4 * 4
    );
}

#[test]
fn corrupt_chunk_is_reported_with_the_file_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    fill(&db, "m", 3, 0, 5 * HOUR);
    db.maintain().expect("maintain");
    let meta = db.blocks().into_iter().next().expect("a block");
    drop(db);
    let chunks = dir.path().join(&meta.ulid).join("chunks");
    let mut bytes = std::fs::read(&chunks).expect("read chunks");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&chunks, bytes).expect("write chunks");
    let db = Db::open(dir.path(), options()).expect("open does not read chunks");
    let error = db
        .querier(i64::MIN, i64::MAX)
        .select(&[eq("__name__", "m")])
        .expect_err("corruption detected");
    let message = error.to_string();
    assert!(matches!(error, Error::DataCorruption { .. }), "{message}");
    assert!(message.contains(&meta.ulid) && message.contains("chunks"), "{message}");
}

#[test]
fn concurrent_appends_and_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = std::sync::Arc::new(Db::open(dir.path(), options()).expect("open"));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || fill(&db, &format!("w{w}"), 25, 0, 3 * HOUR))
        })
        .collect();
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            for _ in 0..50 {
                let all = Matcher::new(MatchType::Regex, "__name__", "w.").expect("matcher");
                let now = total_samples(&dump(&db, &[all], i64::MIN, i64::MAX));
                assert!(now >= seen, "samples never disappear");
                seen = now;
            }
        })
    };
    let appended: usize = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    reader.join().expect("reader");
    let all = Matcher::new(MatchType::Regex, "__name__", "w.").expect("matcher");
    assert_eq!(total_samples(&dump(&db, &[all], i64::MIN, i64::MAX)), appended);
    assert_eq!(appended, 4 * 25 * 720);
    assert_eq!(db.head().stats().num_series, 100);
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _db = Db::open(dir.path(), options()).expect("open");
    let error = Db::open(dir.path(), options())
        .err()
        .expect("second open fails")
        .to_string();
    assert!(error.contains("in use"), "{error}");
}

#[test]
fn backfill_writes_old_samples_into_blocks_that_compaction_merges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    fill(&db, "m", 3, 24 * HOUR, 30 * HOUR);
    db.maintain().expect("maintain");
    let min_valid = db.head().min_valid_time();
    assert!(min_valid >= 26 * HOUR, "blocks were cut: {min_valid}");
    let before = dump(&db, &[eq("__name__", "m")], i64::MIN, i64::MAX);

    // Old samples: a day earlier, plus ones overlapping the first cut block.
    let mut backfill = db.backfiller();
    for step in 0..600 {
        let t = step * 15_000;
        backfill.add(&labels("m", 0), t, 7.0).expect("add");
    }
    backfill
        .add(&labels("m", 1), 24 * HOUR + 7_000, 3.5)
        .expect("add, between existing samples");
    backfill
        .add(&labels("m", 1), 24 * HOUR + 7_000, 3.5)
        .expect("add, exact duplicate");
    backfill
        .add(&labels("old", 0), 12 * HOUR, 1.0)
        .expect("add, new series");
    assert!(
        backfill.add(&labels("m", 0), min_valid, 1.0).is_err(),
        "head range is not backfill"
    );
    let stats = backfill.commit().expect("commit");
    assert_eq!(stats.written, 602);
    assert_eq!(stats.duplicates, 1);
    assert_eq!(stats.blocks, 4, "windows [0,2h), [2h,4h), [12h,14h), [24h,26h)");

    let check = |db: &Db| {
        let after = dump(db, &[eq("__name__", "m")], i64::MIN, i64::MAX);
        assert_eq!(total_samples(&after), total_samples(&before) + 601);
        let series1 = &after[&labels("m", 1).to_string()];
        let position = series1
            .iter()
            .position(|s| s.0 == 24 * HOUR + 7_000)
            .expect("backfilled sample present");
        assert_eq!(series1[position - 1].0, 24 * HOUR, "merged in time order");
        assert_eq!(series1[position + 1].0, 24 * HOUR + 15_000);
        assert_eq!(dump(db, &[eq("__name__", "old")], i64::MIN, i64::MAX).len(), 1);
    };
    check(&db);
    let report = db.maintain().expect("maintain");
    assert!(report.compactions >= 1, "the overlapping block is merged: {report:?}");
    let metas = db.blocks();
    for pair in metas.windows(2) {
        assert!(pair[0].max_time <= pair[1].min_time, "no overlaps left: {metas:?}");
    }
    check(&db);
    drop(db);
    let db = Db::open(dir.path(), options()).expect("reopen");
    check(&db);
}

#[test]
fn extreme_timestamps_do_not_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No retention: relative to a sample at i64::MAX, everything else is ancient.
    let no_retention = DbOptions {
        retention_time: None,
        max_future: None,
        ..options()
    };
    let db = Db::open(dir.path(), no_retention.clone()).expect("open");
    let mut appender = db.appender();
    appender.append(&labels("edge", 0), i64::MIN, 1.0).expect("append");
    appender.append(&labels("edge", 1), i64::MAX, 2.0).expect("append");
    appender.append(&labels("edge", 2), 0, 3.0).expect("append");
    assert_eq!(appender.commit().expect("commit").appended, 3);
    db.maintain().expect("maintain");
    let all = dump(&db, &[eq("__name__", "edge")], i64::MIN, i64::MAX);
    assert_eq!(total_samples(&all), 3, "{all:?} {:?}", db.blocks());
    drop(db);
    let db = Db::open(dir.path(), no_retention).expect("reopen");
    assert_eq!(
        total_samples(&dump(&db, &[eq("__name__", "edge")], i64::MIN, i64::MAX)),
        3
    );
}

#[test]
fn far_future_samples_are_rejected_and_do_not_age_out_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_time: Some(24 * HOUR),
            ..options()
        },
    )
    .expect("open");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    fill(&db, "m", 2, now - 10 * HOUR, now - HOUR);
    db.maintain().expect("maintain");
    let oldest = db.blocks().first().map(|m| m.min_time);
    assert!(oldest.is_some());
    let mut appender = db.appender();
    appender.append(&labels("m", 0), now + 30 * MIN, 1.0).expect("append");
    appender
        .append(&labels("m", 0), now + 400 * 24 * HOUR, 2.0)
        .expect("append");
    let stats = appender.commit().expect("commit");
    assert_eq!((stats.appended, stats.too_far_in_future), (1, 1));
    assert!(matches!(stats.first_error, Some(Error::TooFarInFuture { .. })));
    db.maintain().expect("maintain");
    assert_eq!(db.blocks().first().map(|m| m.min_time), oldest, "nothing aged out");
    assert_eq!(db.stats().retention_deletions_total, 0);
    let mut appender = db.appender();
    appender.append(&labels("m", 1), now, 3.0).expect("append");
    assert_eq!(
        appender.commit().expect("commit").appended,
        1,
        "the present is still appendable"
    );
}

#[test]
fn appends_racing_a_block_cut_are_either_in_the_block_or_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = std::sync::Arc::new(Db::open(dir.path(), options()).expect("open"));
    fill(&db, "m", 5, 0, 3 * HOUR);
    // A lagging writer keeps appending new series at old timestamps while maintenance cuts.
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut accepted = Vec::new();
            for i in 0..2000 {
                let t = (i % 100) * 60_000;
                let mut appender = db.appender();
                appender
                    .append(&labels("late", i as usize), t, i as f64)
                    .expect("append");
                if appender.commit().expect("commit").appended == 1 {
                    accepted.push(i as usize);
                }
            }
            accepted
        })
    };
    fill(&db, "m", 5, 3 * HOUR, 6 * HOUR);
    db.maintain().expect("maintain");
    let accepted = writer.join().expect("writer");
    db.maintain().expect("maintain");
    let stored = dump(&db, &[eq("__name__", "late")], i64::MIN, i64::MAX);
    assert_eq!(stored.len(), accepted.len(), "every acknowledged late sample is stored");
    drop(db);
    let db = Db::open(dir.path(), options()).expect("reopen");
    assert_eq!(
        dump(&db, &[eq("__name__", "late")], i64::MIN, i64::MAX).len(),
        accepted.len(),
        "and survives a reopen"
    );
}
