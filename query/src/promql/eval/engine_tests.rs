//! End-to-end tests of the engine over a [`MemoryStorage`]: parse, evaluate, check values.

use tsdb::{Labels, Sample};

use super::{Engine, EngineOptions, MemoryStorage, QueryResult, Series, Value, check_resolution};
use crate::error::Error;
use crate::promql::parse;

const M: i64 = 60_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).expect("valid labels")
}

/// A series with one sample every `step` ms from 0; `None` leaves a gap.
fn series(pairs: &[(&str, &str)], step: i64, values: &[Option<f64>]) -> Series {
    Series {
        labels: labels(pairs),
        samples: values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| Sample::new(i as i64 * step, v)))
            .collect(),
    }
}

fn vals(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().copied().map(Some).collect()
}

fn storage(mut s: Vec<Series>) -> MemoryStorage {
    s.sort_by(|a, b| a.labels.cmp(&b.labels));
    MemoryStorage { series: s }
}

fn instant(st: &MemoryStorage, q: &str, t: i64) -> Result<QueryResult, Error> {
    let expr = parse(q).expect("query parses");
    Engine::new(EngineOptions::default()).instant(st, &expr, t, None)
}

/// The instant vector as sorted `(labels, value)` strings.
fn vector(st: &MemoryStorage, q: &str, t: i64) -> Vec<(String, f64)> {
    match instant(st, q, t).expect("query runs").value {
        Value::Vector(v) => {
            let mut out: Vec<(String, f64)> = v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        }
        other => panic!("not a vector: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn http() -> MemoryStorage {
    let mut s = Vec::new();
    for (job, inst, slope) in [("api", "0", 1.0), ("api", "1", 2.0), ("db", "0", 3.0)] {
        let v: Vec<f64> = (0..=10).map(|i| slope * 10.0 * i as f64).collect();
        s.push(series(
            &[("__name__", "http_requests_total"), ("job", job), ("instance", inst)],
            5 * M,
            &vals(&v),
        ));
    }
    storage(s)
}

#[test]
fn rate_over_counter_with_reset() {
    // 0 10 20 30 | reset | 5 15 25 at 1m spacing: increase over (0, 6m] is 30 + 25 = 55.
    let st = storage(vec![series(
        &[("__name__", "c_total")],
        M,
        &vals(&[0.0, 10.0, 20.0, 30.0, 5.0, 15.0, 25.0]),
    )]);
    let inc = vector(&st, "increase(c_total[6m])", 6 * M);
    // 6 samples in (0, 6m], sampled interval 5m, extrapolated by one more minute to the start.
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].0, "{}");
    assert!(close(inc[0].1, 45.0 * 6.0 / 5.0), "{}", inc[0].1);
    let rate = vector(&st, "rate(c_total[6m])", 6 * M);
    assert!(close(rate[0].1, 54.0 / 360.0));
    let r = instant(&st, "rate(c_total[6m])", 6 * M).expect("runs");
    assert!(r.infos.is_empty());
}

#[test]
fn rate_of_non_counter_name_gives_info() {
    let st = storage(vec![series(&[("__name__", "temp")], M, &vals(&[1.0, 2.0, 3.0]))]);
    let r = instant(&st, "rate(temp[5m])", 2 * M).expect("runs");
    assert_eq!(
        r.infos,
        vec![
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temp\" (1:6)"
        ]
    );
}

#[test]
fn annotations_cite_the_argument_they_concern() {
    let st = storage(vec![series(&[("__name__", "temp")], M, &vals(&[1.0, 2.0, 3.0]))]);
    // The nested rate cites its own argument; the aggregation then cites its parameter.
    let r = instant(&st, "quantile(\n  2, rate(temp[5m])\n)", 2 * M).expect("runs");
    assert_eq!(
        r.infos,
        vec![
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temp\" (2:11)"
        ]
    );
    assert_eq!(
        r.warnings,
        vec!["PromQL warning: quantile value should be between 0 and 1, got 2 (2:3)"]
    );
    // histogram_fraction's le warning cites its third argument.
    let r = instant(&st, "histogram_fraction(0, 1, temp)", 2 * M).expect("runs");
    assert_eq!(
        r.warnings,
        vec![
            "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"\" for metric name \"temp\" (1:26)"
        ]
    );
}

#[test]
fn sum_by_and_delayed_name_removal() {
    let st = http();
    assert_eq!(
        vector(&st, "sum by (job) (http_requests_total)", 50 * M),
        vec![
            ("{job=\"api\"}".to_string(), 300.0),
            ("{job=\"db\"}".to_string(), 300.0)
        ]
    );
    // label_replace can still read the name of a rate() result; the name goes at the end.
    let out = vector(
        &st,
        "label_replace(rate(http_requests_total{instance=\"0\",job=\"db\"}[10m]), \"n\", \"$1\", \"__name__\", \"(.*)\")",
        50 * M,
    );
    assert_eq!(out[0].0, "{instance=\"0\", job=\"db\", n=\"http_requests_total\"}");
    assert!(close(out[0].1, 0.1));
    // Setting __name__ with label_replace keeps it.
    let out = vector(
        &st,
        "label_replace(-http_requests_total{instance=\"1\"}, \"__name__\", \"neg\", \"\", \"\")",
        0,
    );
    assert_eq!(out[0].0, "{__name__=\"neg\", instance=\"1\", job=\"api\"}");
}

#[test]
fn same_labelset_after_name_removal_is_an_error() {
    let st = storage(vec![
        series(&[("__name__", "a"), ("job", "x")], M, &vals(&[1.0])),
        series(&[("__name__", "b"), ("job", "x")], M, &vals(&[2.0])),
    ]);
    let err = instant(&st, "-{job=\"x\"}", 0).expect_err("duplicate");
    assert_eq!(err.to_string(), "vector cannot contain metrics with the same labelset");
    // Without removal the names keep them apart.
    assert_eq!(vector(&st, "{job=\"x\"} > 0", 0).len(), 2);
}

#[test]
fn group_left_and_matching_errors() {
    let st = storage(vec![
        series(&[("__name__", "req"), ("job", "a"), ("code", "200")], M, &vals(&[10.0])),
        series(&[("__name__", "req"), ("job", "a"), ("code", "500")], M, &vals(&[2.0])),
        series(&[("__name__", "owner"), ("job", "a"), ("team", "t1")], M, &vals(&[1.0])),
    ]);
    assert_eq!(
        vector(&st, "req * on(job) group_left(team) owner", 0),
        vec![
            ("{code=\"200\", job=\"a\", team=\"t1\"}".to_string(), 10.0),
            ("{code=\"500\", job=\"a\", team=\"t1\"}".to_string(), 2.0),
        ]
    );
    let err = instant(&st, "req * on(job) owner", 0).expect_err("many-to-one");
    assert!(err.to_string().starts_with("multiple matches for labels"), "{err}");
    let err = instant(&st, "owner * on(job) req", 0).expect_err("many-to-many");
    assert!(err.to_string().contains("many-to-many matching not allowed"), "{err}");
}

#[test]
fn topk_keeps_names_and_orders() {
    let st = http();
    let r = instant(&st, "topk(2, http_requests_total)", 50 * M).expect("runs");
    let Value::Vector(v) = r.value else { panic!("vector") };
    let got: Vec<(Option<&str>, f64)> = v.iter().map(|s| (s.labels.get("job"), s.v)).collect();
    assert_eq!(got, vec![(Some("db"), 300.0), (Some("api"), 200.0)]);
    assert_eq!(v[0].labels.metric_name(), Some("http_requests_total"));
}

#[test]
fn histogram_quantile_over_classic_buckets() {
    let mut s = Vec::new();
    for (le, v) in [("0.1", 1.0), ("0.2", 3.0), ("+Inf", 4.0)] {
        s.push(series(
            &[("__name__", "d_bucket"), ("le", le), ("job", "j")],
            M,
            &vals(&[v]),
        ));
    }
    let st = storage(s);
    let out = vector(&st, "histogram_quantile(0.5, d_bucket)", 0);
    assert_eq!(out[0].0, "{job=\"j\"}");
    assert!(close(out[0].1, 0.15));
    let r = instant(&st, "histogram_quantile(1.5, d_bucket)", 0).expect("runs");
    assert_eq!(
        r.warnings,
        vec!["PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:20)"]
    );
    // Non-monotonic buckets are fixed and reported.
    let st = storage(vec![
        series(&[("__name__", "n_bucket"), ("le", "1")], M, &vals(&[5.0])),
        series(&[("__name__", "n_bucket"), ("le", "2")], M, &vals(&[3.0])),
        series(&[("__name__", "n_bucket"), ("le", "+Inf")], M, &vals(&[6.0])),
    ]);
    let r = instant(&st, "histogram_quantile(0.5, n_bucket)", 0).expect("runs");
    assert_eq!(r.infos.len(), 1);
    assert!(r.infos[0].starts_with("PromQL info: input to histogram_quantile needed to be fixed for monotonicity"));
    assert!(
        r.infos[0].ends_with("for metric name \"n_bucket\" (1:25)"),
        "{}",
        r.infos[0]
    );
}

#[test]
fn label_replace_validation() {
    let st = http();
    assert!(
        instant(
            &st,
            "label_replace(http_requests_total, \"x\", \"\", \"job\", \"(.*\")",
            0
        )
        .is_err()
    );
    let err = instant(
        &st,
        "label_replace(http_requests_total, \"instance\", \"\", \"\", \"\")",
        0,
    )
    .expect_err("dup");
    assert_eq!(err.to_string(), "vector cannot contain metrics with the same labelset");
}

#[test]
fn absent_derives_labels_from_equality_matchers() {
    let st = http();
    assert_eq!(
        vector(&st, "absent(nope{job=\"x\", instance=~\"a.*\", env=\"p\"})", 0),
        vec![("{env=\"p\", job=\"x\"}".to_string(), 1.0)]
    );
    assert_eq!(vector(&st, "absent(http_requests_total)", 0), vec![]);
    assert_eq!(
        vector(&st, "absent_over_time(nope{a=\"1\",a=\"2\",b=\"3\"}[5m])", 0),
        vec![("{b=\"3\"}".to_string(), 1.0)]
    );
    assert_eq!(vector(&st, "absent(sum(nope))", 0), vec![("{}".to_string(), 1.0)]);
}

#[test]
fn at_start_end_and_offset() {
    let st = http();
    let expr = parse("http_requests_total{job=\"db\"} @ start()").expect("parses");
    let r = Engine::default()
        .range(&st, &expr, 10 * M, 20 * M, 5 * M, None)
        .expect("runs");
    let Value::Matrix(m) = r.value else { panic!("matrix") };
    let v: Vec<(i64, f64)> = m[0].samples.iter().map(|s| (s.t, s.v)).collect();
    assert_eq!(v, vec![(10 * M, 60.0), (15 * M, 60.0), (20 * M, 60.0)]);
    assert_eq!(
        vector(&st, "http_requests_total{job=\"db\"} offset 10m", 50 * M)[0].1,
        240.0
    );
    assert_eq!(vector(&st, "http_requests_total{job=\"db\"} @ 300", 50 * M)[0].1, 30.0);
}

#[test]
fn subquery_steps_are_aligned() {
    // One sample every 10s: 1, 2, 3, ...; max over [1m:20s] at t=70s sees steps 20s, 40s, 60s.
    let v: Vec<f64> = (1..=20).map(f64::from).collect();
    let st = storage(vec![series(&[("__name__", "g")], 10_000, &vals(&v))]);
    assert_eq!(
        vector(&st, "max_over_time(g[1m:20s])", 70_000),
        vec![("{}".to_string(), 7.0)]
    );
    assert_eq!(
        vector(&st, "count_over_time(g[1m:20s])", 70_000),
        vec![("{}".to_string(), 3.0)]
    );
    assert_eq!(
        vector(&st, "min_over_time(g[1m:20s])", 70_000),
        vec![("{}".to_string(), 3.0)]
    );
}

#[test]
fn staleness_and_lookback() {
    let st = storage(vec![
        series(&[("__name__", "s")], 30_000, &[Some(1.0), Some(tsdb::stale_nan())]),
        series(&[("__name__", "old")], 30_000, &[None, Some(5.0)]),
    ]);
    assert_eq!(vector(&st, "s", 29_000), vec![("{__name__=\"s\"}".to_string(), 1.0)]);
    assert_eq!(vector(&st, "s", 31_000), vec![]);
    assert_eq!(vector(&st, "count_over_time(s[1m])", 40_000)[0].1, 1.0);
    // The lookback window is left-open: (t - 5m, t].
    assert_eq!(vector(&st, "old", 329_000).len(), 1);
    assert_eq!(vector(&st, "old", 330_000).len(), 0);
    let expr = parse("old").expect("parses");
    let r = Engine::default()
        .instant(&st, &expr, 100_000, Some(60_000))
        .expect("runs");
    assert_eq!(r.value, Value::Vector(vec![]));
}

#[test]
fn range_query_scalars_and_sorting() {
    let st = http();
    let expr = parse("time()").expect("parses");
    let r = Engine::default().range(&st, &expr, 0, 2 * M, M, None).expect("runs");
    let Value::Matrix(m) = r.value else { panic!("matrix") };
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].samples.iter().map(|s| s.v).collect::<Vec<_>>(),
        vec![0.0, 60.0, 120.0]
    );
    let expr = parse("http_requests_total").expect("parses");
    let r = Engine::default()
        .range(&st, &expr, 0, 10 * M, 5 * M, None)
        .expect("runs");
    let Value::Matrix(m) = r.value else { panic!("matrix") };
    assert!(m.windows(2).all(|w| w[0].labels < w[1].labels));
    let expr = parse("http_requests_total[5m]").expect("parses");
    assert!(Engine::default().range(&st, &expr, 0, M, M, None).is_err());
}

#[test]
fn limits() {
    let st = http();
    let expr = parse("http_requests_total").expect("parses");
    let eng = Engine::new(EngineOptions {
        max_samples: 2,
        ..EngineOptions::default()
    });
    assert_eq!(
        eng.instant(&st, &expr, 0, None),
        Err(Error::TooManySamples("query execution".into()))
    );
    assert!(check_resolution(0, 11_000_000, 1000).is_ok());
    assert_eq!(
        check_resolution(0, 11_001_000, 1000),
        Err(Error::Execution(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                .into()
        ))
    );
    assert!(check_resolution(0, 1000, 0).is_err());
    assert_eq!(Engine::default().options().lookback_delta, 300_000);
}

#[test]
fn sort_and_scalar_functions() {
    let st = http();
    let r = instant(&st, "sort_desc(http_requests_total)", 50 * M).expect("runs");
    let Value::Vector(v) = r.value else { panic!("vector") };
    assert_eq!(v.iter().map(|s| s.v).collect::<Vec<_>>(), vec![300.0, 200.0, 100.0]);
    let r = instant(&st, "scalar(http_requests_total{job=\"db\"}) * 2", 50 * M).expect("runs");
    assert_eq!(r.value, Value::Scalar { t: 50 * M, v: 600.0 });
    assert_eq!(vector(&st, "year()", 0), vec![("{}".to_string(), 1970.0)]);
    assert_eq!(
        vector(&st, "clamp_max(http_requests_total{job=\"db\"}, 7)", 50 * M),
        vec![("{instance=\"0\", job=\"db\"}".to_string(), 7.0)]
    );
}

mod consistency {
    use super::*;
    use proptest::prelude::*;

    const QUERIES: [&str; 8] = [
        "rate(c_total[3m])",
        "sum by (k) (c_total)",
        "max_over_time(c_total[2m:30s])",
        "c_total > on(k) group_left g",
        "topk(1, c_total)",
        "c_total offset 1m unless g",
        "histogram_quantile(0.9, sum by (le) (c_total))",
        "label_replace(deriv(c_total[5m]), \"x\", \"$1\", \"k\", \"(.)\")",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Every point of a range query equals the instant query at that step.
        #[test]
        fn range_points_equal_instant_queries(
            values in prop::collection::vec(prop::collection::vec(prop::option::weighted(0.8, 0.0f64..100.0), 12), 3),
            q in 0usize..QUERIES.len(),
        ) {
            let mut s = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let k = i.to_string();
                let le = ["1", "5", "+Inf"][i];
                s.push(series(&[("__name__", "c_total"), ("k", &k), ("le", le)], 30_000, v));
            }
            s.push(series(&[("__name__", "g"), ("k", "1")], 30_000, &vals(&[1.0; 12])));
            let st = storage(s);
            let expr = parse(QUERIES[q]).expect("parses");
            let eng = Engine::default();
            let range = eng.range(&st, &expr, 60_000, 300_000, 40_000, None);
            let Ok(QueryResult { value: Value::Matrix(m), .. }) = range else {
                // Matching errors must then also happen for some instant query.
                let any_err = (0..=6).any(|k| eng.instant(&st, &expr, 60_000 + k * 40_000, None).is_err());
                prop_assert!(any_err);
                return Ok(());
            };
            for k in 0..=6 {
                let t = 60_000 + k * 40_000;
                let inst = eng.instant(&st, &expr, t, None).expect("instant runs");
                let Value::Vector(v) = inst.value else { panic!("vector") };
                let at_t: Vec<(&Labels, f64)> = m
                    .iter()
                    .filter_map(|s| s.samples.iter().find(|x| x.t == t).map(|x| (&s.labels, x.v)))
                    .collect();
                prop_assert_eq!(at_t.len(), v.len());
                for s in &v {
                    prop_assert!(at_t.iter().any(|(l, x)| **l == s.labels && (x.to_bits() == s.v.to_bits() || close(*x, s.v))));
                }
            }
        }
    }
}
