//! The scrape hot path without the network: one target's exposition text (1,000 series) parsed,
//! relabeled and appended through a `SeriesCache`, as the scrape loop does after each fetch.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use loupe_bench::scrape::exposition::TargetState;
use scraper::SeriesCache;
use scraper::exposition::Format;
use scraper::target::{ScrapeSettings, TargetGroup, build_targets};
use tsdb::db::{Db, DbOptions};

fn scrape_append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        dir.path(),
        DbOptions {
            max_future: None,
            ..DbOptions::default()
        },
    )
    .expect("open");
    let mut settings = ScrapeSettings::new("bench");
    settings.interval = Duration::from_secs(5);
    settings.timeout = Duration::from_secs(4);
    let group = TargetGroup::from_addresses("static/0", ["127.0.0.1:9100"], vec![]);
    let target = build_targets(&group, &Arc::new(settings)).active.remove(0);
    let mut state = TargetState::new(1, 0, 1000);
    let mut cache = SeriesCache::new();
    let mut text = String::new();
    let mut t = 1_700_000_000_000i64;
    let mut group = c.benchmark_group("scrape");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("append_scrape_1000_series", |b| {
        b.iter(|| {
            text.clear();
            state.next_exposition(&mut text);
            t += 5000;
            let (outcome, error) = cache
                .append_scrape(&db, &target, Ok((&text, Format::PrometheusText)), t, 0.01)
                .expect("stored");
            assert!(error.is_none());
            outcome
        })
    });
    group.bench_function("generate_only", |b| {
        b.iter(|| {
            text.clear();
            state.next_exposition(&mut text);
            text.len()
        })
    });
    group.bench_function("gunzip_body", |b| {
        use std::io::{Read, Write};
        text.clear();
        state.next_exposition(&mut text);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).expect("compress");
        let compressed = encoder.finish().expect("compress");
        let mut out = Vec::with_capacity(text.len());
        b.iter(|| {
            out.clear();
            flate2::read::GzDecoder::new(compressed.as_slice())
                .read_to_end(&mut out)
                .expect("decompress");
            out.len()
        })
    });
    group.bench_function("parse_only", |b| {
        text.clear();
        state.next_exposition(&mut text);
        b.iter(|| scraper::Parser::new(&text, Format::PrometheusText).count())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = scrape_append
}
criterion_main!(benches);
