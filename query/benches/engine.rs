//! PromQL engine throughput on dashboard queries: range queries (step 60 s) over 6 h of data at a
//! 15 s scrape interval, from [`MemoryStorage`] (2 000 `x` series in 10 jobs and 2 000 `h_bucket`
//! series: 200 instances × 10 buckets) and from a temporary TSDB holding the same data.
//!
//! `LOUPE_BENCH_SERIES` overrides the number of `x` series (default 2 000).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use query::promql::eval::{Engine, EngineOptions, MemoryStorage, Series, Storage, TsdbStorage};
use query::promql::parser::parse;
use tsdb::db::{Db, DbOptions};
use tsdb::{Labels, Sample};

/// Scrape interval (ms).
const INTERVAL: i64 = 15_000;
/// Data span (ms): 6 h.
const SPAN: i64 = 6 * 3_600_000;
/// Range query step (ms).
const STEP: i64 = 60_000;
/// Bucket bounds of the `h_bucket` histogram.
const LES: [&str; 10] = ["0.005", "0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];

/// The dashboard query set.
const QUERIES: [(&str, &str); 8] = [
    ("rate", "rate(x[5m])"),
    ("sum_by_job_rate", "sum by (job) (rate(x[5m]))"),
    (
        "histogram_quantile",
        "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
    ),
    ("topk_rate", "topk(5, rate(x[5m]))"),
    ("count_by_job", "count by (job) (x)"),
    ("regex_sum_rate", "sum by (job) (rate(x{instance=~\"i-1.*\"}[5m]))"),
    ("count_over_time_1h", "count_over_time(x[1h])"),
    ("avg_over_time_1h", "avg_over_time(x[1h])"),
];

fn series_count() -> usize {
    std::env::var("LOUPE_BENCH_SERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

/// Every benchmark series, in label order.
fn dataset() -> Vec<Series> {
    let n = series_count();
    let mut out = Vec::with_capacity(n * 2);
    for i in 0..n {
        let job = format!("job-{}", i % 10);
        let instance = format!("i-{i}");
        let labels = Labels::new([
            ("__name__", "x"),
            ("job", job.as_str()),
            ("instance", instance.as_str()),
        ])
        .expect("valid labels");
        let rate = 1.0 + (i % 7) as f64;
        let samples = (0..=SPAN / INTERVAL)
            .map(|k| Sample::new(k * INTERVAL, k as f64 * rate))
            .collect();
        out.push(Series { labels, samples });
    }
    for i in 0..n / LES.len() {
        let instance = format!("i-{i}");
        for (b, le) in LES.iter().enumerate() {
            let labels = Labels::new([("__name__", "h_bucket"), ("instance", instance.as_str()), ("le", le)])
                .expect("valid labels");
            let samples = (0..=SPAN / INTERVAL)
                .map(|k| Sample::new(k * INTERVAL, (k * (b as i64 + 1)) as f64))
                .collect();
            out.push(Series { labels, samples });
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

fn run_queries(c: &mut Criterion, group_name: &str, storage: &dyn Storage) {
    let engine = Engine::new(EngineOptions::default());
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(3));
    for (name, q) in QUERIES {
        let expr = parse(q).expect("valid query");
        group.bench_function(name, |b| {
            b.iter(|| {
                let r = engine.range(storage, &expr, 0, SPAN, STEP, None).expect("query runs");
                black_box(r)
            })
        });
    }
    group.finish();
}

fn bench_memory(c: &mut Criterion) {
    let storage = MemoryStorage { series: dataset() };
    run_queries(c, "engine/memory", &storage);
}

fn bench_tsdb(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = DbOptions {
        max_future: None,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), options).expect("open db");
    let data = dataset();
    let mut k = 0;
    while k * INTERVAL <= SPAN {
        let mut app = db.appender();
        for s in &data {
            let x = s.samples[k as usize];
            app.append(&s.labels, x.t, x.v).expect("append");
        }
        app.commit().expect("commit");
        k += 1;
    }
    let storage = TsdbStorage(&db);
    run_queries(c, "engine/tsdb", &storage);
}

criterion_group!(benches, bench_memory, bench_tsdb);
criterion_main!(benches);
