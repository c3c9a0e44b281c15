//! Tests of how scrapes become samples: labels, staleness, failures, limits, timestamps.

use std::sync::Arc;
use std::time::Duration;

use tsdb::db::{Db, DbOptions};
use tsdb::{MatchType, Matcher, is_stale_nan};

use super::SeriesCache;
use crate::error::Error;
use crate::exposition::Format;
use crate::relabel::{RelabelConfig, RelabelSpec};
use crate::target::{ScrapeSettings, Target, TargetGroup, build_targets};

const T0: i64 = 1_700_000_000_000;

fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = DbOptions {
        max_future: None,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), options).expect("open");
    (dir, db)
}

fn target_with(configure: impl FnOnce(&mut ScrapeSettings)) -> Target {
    let mut settings = ScrapeSettings::new("app");
    settings.interval = Duration::from_secs(15);
    settings.timeout = Duration::from_secs(5);
    configure(&mut settings);
    let group = TargetGroup::from_addresses("static/0", ["127.0.0.1:8080"], vec![]);
    build_targets(&group, &Arc::new(settings)).active.remove(0)
}

/// Every sample of series `name` as (labels, t, value-or-"stale").
fn samples(db: &Db, name: &str) -> Vec<(String, i64, String)> {
    let matcher = Matcher::new(MatchType::Equal, "__name__", name).expect("matcher");
    let mut out = Vec::new();
    for series in db.querier(i64::MIN, i64::MAX).select(&[matcher]).expect("select") {
        for sample in series.samples() {
            let value = if is_stale_nan(sample.v) {
                "stale".to_string()
            } else {
                sample.v.to_string()
            };
            out.push((series.labels().to_string(), sample.t, value));
        }
    }
    out
}

fn scrape(cache: &mut SeriesCache, db: &Db, target: &Target, text: &str, t: i64) -> Option<Error> {
    let (_, error) = cache
        .append_scrape(db, target, Ok((text, Format::PrometheusText)), t, 0.01)
        .expect("stored");
    error
}

#[test]
fn samples_get_target_labels_and_report_series() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    let text = "# TYPE http_requests_total counter\n# HELP http_requests_total Requests.\n\
                http_requests_total{code=\"200\"} 5\nhttp_requests_total{code=\"500\"} 1\n";
    let (outcome, error) = cache
        .append_scrape(&db, &target, Ok((text, Format::PrometheusText)), T0, 0.25)
        .expect("stored");
    assert!(error.is_none());
    assert_eq!((outcome.samples_scraped, outcome.series_added), (2, 2));
    assert_eq!(
        samples(&db, "http_requests_total"),
        vec![
            (
                r#"{__name__="http_requests_total", code="200", instance="127.0.0.1:8080", job="app"}"#.into(),
                T0,
                "5".into()
            ),
            (
                r#"{__name__="http_requests_total", code="500", instance="127.0.0.1:8080", job="app"}"#.into(),
                T0,
                "1".into()
            ),
        ]
    );
    let up = samples(&db, "up");
    assert_eq!(
        up,
        vec![(
            r#"{__name__="up", instance="127.0.0.1:8080", job="app"}"#.into(),
            T0,
            "1".into()
        )]
    );
    assert_eq!(samples(&db, "scrape_duration_seconds")[0].2, "0.25");
    assert_eq!(samples(&db, "scrape_samples_scraped")[0].2, "2");
    assert_eq!(samples(&db, "scrape_samples_post_metric_relabeling")[0].2, "2");
    assert_eq!(samples(&db, "scrape_series_added")[0].2, "2");
    let meta = &cache.metadata["http_requests_total"];
    assert_eq!(meta.kind, crate::MetricType::Counter);
    assert_eq!(meta.help, "Requests.");
}

#[test]
fn vanished_series_get_a_staleness_marker() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &target, "a 1\nb 2\n", T0).is_none());
    assert!(scrape(&mut cache, &db, &target, "a 1\n", T0 + 15_000).is_none());
    let b = samples(&db, "b");
    assert_eq!(b.len(), 2);
    assert_eq!((b[1].1, b[1].2.as_str()), (T0 + 15_000, "stale"));
    // Back again: a normal sample, no second marker, not a new series for the cache.
    assert!(scrape(&mut cache, &db, &target, "a 1\nb 3\n", T0 + 30_000).is_none());
    assert_eq!(samples(&db, "b")[2], (b[0].0.clone(), T0 + 30_000, "3".into()));
    assert_eq!(samples(&db, "scrape_series_added")[2].2, "0");
}

#[test]
fn a_parse_error_fails_the_whole_scrape() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &target, "a 1\n", T0).is_none());
    let error = scrape(&mut cache, &db, &target, "a 2\nb 1\nthis is { garbage\n", T0 + 15_000).expect("error");
    assert!(error.to_string().starts_with("line 3"), "{error}");
    // Nothing of the broken response is stored; the previous series ends.
    assert_eq!(samples(&db, "a")[1].2, "stale");
    assert!(samples(&db, "b").is_empty());
    assert_eq!(samples(&db, "up")[1].2, "0");
    // A failed request reports up 0 too.
    let (_, error) = cache
        .append_scrape(
            &db,
            &target,
            Err(Error::Http("connection refused".into())),
            T0 + 30_000,
            0.0,
        )
        .expect("stored");
    assert_eq!(error, Some(Error::Http("connection refused".into())));
    assert_eq!(samples(&db, "up")[2].2, "0");
}

#[test]
fn sample_limit_fails_the_scrape() {
    let (_dir, db) = open();
    let target = target_with(|s| s.sample_limit = 2);
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &target, "a 1\nb 1\n", T0).is_none());
    let error = scrape(&mut cache, &db, &target, "a 1\nb 1\nc 1\n", T0 + 15_000).expect("error");
    assert_eq!(error.to_string(), "sample limit exceeded (limit: 2)");
    assert!(samples(&db, "c").is_empty());
    assert_eq!(samples(&db, "a")[1].2, "stale");
    assert_eq!(samples(&db, "scrape_samples_scraped")[1].2, "3");
}

#[test]
fn label_limits_fail_the_scrape() {
    let (_dir, db) = open();
    let target = target_with(|s| s.label_limit = 3);
    let mut cache = SeriesCache::new();
    let error = scrape(&mut cache, &db, &target, "a{x=\"1\"} 1\n", T0).expect("error");
    assert!(error.to_string().starts_with("label_limit exceeded"), "{error}");
    let target = target_with(|s| s.label_value_length_limit = 4);
    let error = scrape(&mut SeriesCache::new(), &db, &target, "a{x=\"12345\"} 1\n", T0).expect("error");
    assert!(error.to_string().contains("label_value_length_limit"), "{error}");
}

#[test]
fn clashing_labels_are_exported_unless_honored() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &target, "m{job=\"other\",exported_job=\"x\"} 1\n", T0).is_none());
    assert_eq!(
        samples(&db, "m")[0].0,
        r#"{__name__="m", exported_exported_job="other", exported_job="x", instance="127.0.0.1:8080", job="app"}"#
    );
    let honoring = target_with(|s| s.honor_labels = true);
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &honoring, "n{job=\"other\"} 1\n", T0).is_none());
    assert_eq!(
        samples(&db, "n")[0].0,
        r#"{__name__="n", instance="127.0.0.1:8080", job="other"}"#
    );
}

#[test]
fn explicit_timestamps_are_honored_and_not_marked_stale() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &target, &format!("a 1 {}\nb 1\n", T0 - 5_000), T0).is_none());
    assert_eq!(samples(&db, "a")[0].1, T0 - 5_000);
    assert!(scrape(&mut cache, &db, &target, "", T0 + 15_000).is_none());
    assert_eq!(samples(&db, "a").len(), 1, "no marker for explicit timestamps");
    assert_eq!(samples(&db, "b")[1].2, "stale");
    let ignoring = target_with(|s| s.honor_timestamps = false);
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &ignoring, &format!("c 1 {}\n", T0 - 5_000), T0).is_none());
    assert_eq!(samples(&db, "c")[0].1, T0);
}

#[test]
fn metric_relabeling_drops_and_rewrites() {
    let (_dir, db) = open();
    let target = target_with(|s| {
        s.metric_relabel_configs = vec![
            RelabelConfig::new(RelabelSpec {
                source_labels: vec!["__name__".into()],
                regex: Some("go_.*".into()),
                action: Some("drop".into()),
                ..Default::default()
            })
            .expect("valid"),
            RelabelConfig::new(RelabelSpec {
                source_labels: vec!["path".into()],
                regex: Some("/api/(.*)".into()),
                target_label: Some("endpoint".into()),
                ..Default::default()
            })
            .expect("valid"),
        ]
    });
    let mut cache = SeriesCache::new();
    let text = "go_goroutines 10\nreq{path=\"/api/users\"} 3\n";
    let (outcome, error) = cache
        .append_scrape(&db, &target, Ok((text, Format::PrometheusText)), T0, 0.0)
        .expect("stored");
    assert!(error.is_none());
    assert_eq!((outcome.samples_scraped, outcome.samples_post_relabeling), (2, 1));
    assert!(samples(&db, "go_goroutines").is_empty());
    assert_eq!(
        samples(&db, "req")[0].0,
        r#"{__name__="req", endpoint="users", instance="127.0.0.1:8080", job="app", path="/api/users"}"#
    );
    // The dropped series stays dropped from the cache on the next scrape.
    let (outcome, _) = cache
        .append_scrape(&db, &target, Ok((text, Format::PrometheusText)), T0 + 15_000, 0.0)
        .expect("stored");
    assert_eq!(outcome.samples_post_relabeling, 1);
    assert!(samples(&db, "go_goroutines").is_empty());
}

#[test]
fn stopping_a_target_marks_everything_stale() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    assert!(scrape(&mut cache, &db, &target, "a 1\n", T0).is_none());
    let written = cache.stale_all(&db, &target, T0 + 1_000).expect("stored");
    assert_eq!(written, 6, "one series and five report series");
    assert_eq!(
        samples(&db, "a")[1],
        (samples(&db, "a")[0].0.clone(), T0 + 1_000, "stale".into())
    );
    assert_eq!(samples(&db, "up")[1].2, "stale");
}

#[test]
fn openmetrics_bodies_and_duplicates() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    let text = "# TYPE x gauge\n# UNIT x seconds\nx 1\nx 2\n# EOF\n";
    let (outcome, error) = cache
        .append_scrape(&db, &target, Ok((text, Format::OpenMetrics)), T0, 0.0)
        .expect("stored");
    assert!(error.is_none());
    assert_eq!(outcome.samples_post_relabeling, 1, "the repeated series is ignored");
    assert_eq!(samples(&db, "x")[0].2, "1");
    assert_eq!(cache.metadata["x"].unit, "seconds");
}

#[test]
fn reordered_inserted_and_removed_lines_find_their_series() {
    let (_dir, db) = open();
    let target = target_with(|_| {});
    let mut cache = SeriesCache::new();
    let values = |text: &str| -> Vec<(String, String)> {
        let mut out: Vec<_> = samples(&db, text)
            .into_iter()
            .map(|(labels, t, v)| (format!("{labels}@{}", (t - T0) / 1000), v))
            .collect();
        out.sort();
        out
    };
    let scrapes = [
        "m{a=\"1\"} 1\nm{a=\"2\"} 2\nm{a=\"3\"} 3\n",
        // Reversed, one new line in the middle, one gone: every sample still reaches its own series.
        "m{a=\"3\"} 13\nm{a=\"4\"} 14\nm{a=\"1\"} 11\n",
        // Back to the first order, with a series repeated (the first value wins).
        "m{a=\"1\"} 21\nm{a=\"1\"} 99\nm{a=\"3\"} 23\nm{a=\"4\"} 24\n",
    ];
    for (n, text) in scrapes.iter().enumerate() {
        assert!(scrape(&mut cache, &db, &target, text, T0 + n as i64 * 15_000).is_none());
    }
    assert_eq!(cache.len(), 4);
    let got = values("m");
    let label =
        |a: &str, t: i64| format!("{{__name__=\"m\", a=\"{a}\", instance=\"127.0.0.1:8080\", job=\"app\"}}@{t}");
    let expected: Vec<(String, String)> = vec![
        (label("1", 0), "1".into()),
        (label("1", 15), "11".into()),
        (label("1", 30), "21".into()),
        (label("2", 0), "2".into()),
        (label("2", 15), "stale".into()),
        (label("3", 0), "3".into()),
        (label("3", 15), "13".into()),
        (label("3", 30), "23".into()),
        (label("4", 15), "14".into()),
        (label("4", 30), "24".into()),
    ];
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected);
}
