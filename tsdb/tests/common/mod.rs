//! Helpers shared by the storage engine's integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use tsdb::db::{Db, DbOptions};
use tsdb::{Labels, MatchType, Matcher};

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;

pub fn options() -> DbOptions {
    DbOptions {
        block_range: 2 * HOUR,
        ..DbOptions::default()
    }
}

pub fn labels(name: &str, series: usize) -> Labels {
    Labels::new([
        ("__name__", name.to_string()),
        ("job", format!("job{}", series % 3)),
        ("series", series.to_string()),
    ])
    .expect("valid labels")
}

/// Appends `series` series at 15 s steps over `[start, end)`, one commit per step.
pub fn fill(db: &Db, name: &str, series: usize, start: i64, end: i64) -> usize {
    let mut count = 0;
    let mut t = start;
    while t < end {
        let mut appender = db.appender();
        for s in 0..series {
            let value = (t / 15_000) as f64 * (s as f64 + 1.0) + 0.5;
            appender.append(&labels(name, s), t, value).expect("append");
        }
        let stats = appender.commit().expect("commit");
        assert_eq!(stats.rejected(), 0, "{:?}", stats.first_error);
        count += stats.appended;
        t += 15_000;
    }
    count
}

pub fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchType::Equal, name, value).expect("matcher")
}

/// Everything matching `matchers`, as labels → samples. Checks on the way that
/// `Series::decode_into` gives what `Series::iter` gives, over the whole range and a narrower one.
pub fn dump(db: &Db, matchers: &[Matcher], mint: i64, maxt: i64) -> BTreeMap<String, Vec<(i64, u64)>> {
    let bits = |x: &[(i64, f64)]| -> Vec<(i64, u64)> { x.iter().map(|x| (x.0, x.1.to_bits())).collect() };
    db.querier(mint, maxt)
        .select(matchers)
        .expect("select")
        .iter()
        .map(|s| {
            let samples: Vec<(i64, u64)> = s.iter().map(|x| (x.t, x.v.to_bits())).collect();
            let mut decoded = Vec::new();
            s.decode_into(&mut decoded, mint, maxt);
            assert_eq!(bits(&decoded), samples, "decode_into of {}", s.labels());
            if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
                let (lo, hi) = (
                    first.0.saturating_add(7 * 60_000 + 1),
                    last.0.saturating_sub(11 * 60_000 + 1),
                );
                decoded.clear();
                s.decode_into(&mut decoded, lo, hi);
                let narrow: Vec<(i64, u64)> = samples.iter().copied().filter(|x| x.0 >= lo && x.0 <= hi).collect();
                assert_eq!(bits(&decoded), narrow, "decode_into of {} in [{lo}, {hi}]", s.labels());
            }
            (s.labels().to_string(), samples)
        })
        .collect()
}

pub fn total_samples(dump: &BTreeMap<String, Vec<(i64, u64)>>) -> usize {
    dump.values().map(Vec::len).sum()
}
