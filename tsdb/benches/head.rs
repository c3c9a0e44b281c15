//! Head throughput: appending batches of 1000 series × 1 sample through `append_ref` (a `Db` with its
//! WAL, and a bare `Head` without one), and selecting + iterating 1000 series × 120 samples.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tsdb::db::{Db, DbOptions};
use tsdb::head::{Appender, Head, HeadOptions, SeriesRef};
use tsdb::wal::{SyncPolicy, WalOptions};
use tsdb::{Labels, MatchType, Matcher};

/// Series per batch.
const SERIES: usize = 1000;
/// Samples per series in the select benchmark (one full chunk).
const SAMPLES: usize = 120;
/// Scrape interval in milliseconds.
const INTERVAL: i64 = 15_000;
/// Metric name of every benchmark series.
const METRIC: &str = "bench_requests_total";

/// Label sets of the benchmark series: ten instances of a hundred series each.
fn series_labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| {
            let instance = format!("host-{}:9100", i % 10);
            let handler = format!("/api/v1/resource{}", i / 10);
            Labels::new([
                ("__name__", METRIC),
                ("job", "bench"),
                ("instance", &instance),
                ("handler", &handler),
            ])
            .expect("valid labels")
        })
        .collect()
}

/// Appends the first scrape with labels and returns the series references.
fn first_batch(mut appender: Appender<'_>, labels: &[Labels]) -> Vec<SeriesRef> {
    let refs = labels
        .iter()
        .map(|l| appender.append(l, 0, 0.0).expect("append"))
        .collect();
    appender.commit().expect("commit");
    refs
}

/// One scrape of every series at `t`, through the cached references.
fn batch(mut appender: Appender<'_>, refs: &[SeriesRef], t: i64) -> usize {
    for (i, r) in refs.iter().enumerate() {
        appender.append_ref(r, t, (t / INTERVAL + i as i64) as f64);
    }
    appender.commit().expect("commit").appended
}

fn bench_append(c: &mut Criterion) {
    let labels = series_labels();
    let mut group = c.benchmark_group("head/append_1000_series");
    group.throughput(Throughput::Elements(SERIES as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));

    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), DbOptions::default()).expect("open db");
    let refs = first_batch(db.appender(), &labels);
    // Consecutive batches are 1 ms apart so that however many iterations criterion runs, the head
    // stays within one block range and chunks are still cut every 120 samples.
    let mut t = 0;
    group.bench_function("db_with_wal", |b| {
        b.iter(|| {
            t += 1;
            black_box(batch(db.appender(), &refs, t))
        })
    });
    drop(db);

    let head = Head::new(HeadOptions::default(), None);
    let refs = first_batch(head.appender(), &labels);
    let mut t = 0;
    group.bench_function("head_without_wal", |b| {
        b.iter(|| {
            t += 1;
            black_box(batch(head.appender(), &refs, t))
        })
    });
    group.finish();
}

fn bench_select(c: &mut Criterion) {
    let labels = series_labels();
    let dir = tempfile::tempdir().expect("tempdir");
    let options = DbOptions {
        wal: WalOptions {
            sync: SyncPolicy::Never,
            ..WalOptions::default()
        },
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), options).expect("open db");
    let refs = first_batch(db.appender(), &labels);
    for step in 1..SAMPLES as i64 {
        batch(db.appender(), &refs, step * INTERVAL);
    }
    let matchers = [Matcher::new(MatchType::Equal, "__name__", METRIC).expect("matcher")];
    let maxt = SAMPLES as i64 * INTERVAL;

    let mut group = c.benchmark_group("head/select_1000x120");
    group.throughput(Throughput::Elements((SERIES * SAMPLES) as u64));
    group.sample_size(20);
    group.bench_function("select_and_iterate", |b| {
        b.iter(|| {
            let querier = db.querier(0, maxt);
            let series = querier.select(black_box(&matchers)).expect("select");
            let (mut n, mut sum) = (0usize, 0.0);
            for s in &series {
                for sample in s.iter() {
                    n += 1;
                    sum += sample.v;
                }
            }
            assert_eq!(n, SERIES * SAMPLES);
            black_box(sum)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_append, bench_select);
criterion_main!(benches);
