use tsdb::Sample;

use super::*;
use crate::promql::promqltest::script::{Command, parse_script};

fn eval_of(text: &str) -> Eval {
    match parse_script(text).unwrap().commands.pop() {
        Some(Command::Eval(e)) => e,
        other => panic!("not an eval: {other:?}"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn sample(pairs: &[(&str, &str)], v: f64) -> InstantSample {
    InstantSample {
        labels: labels(pairs),
        t: 0,
        v,
    }
}

#[test]
fn float_tolerance() {
    assert!(almost_equal(1.0, 1.0 + 1e-9));
    assert!(!almost_equal(1.0, 1.0001));
    assert!(almost_equal(f64::NAN, -f64::NAN));
    assert!(!almost_equal(f64::NAN, 1.0));
    assert!(almost_equal(tsdb::stale_nan(), tsdb::stale_nan()));
    assert!(!almost_equal(tsdb::stale_nan(), f64::NAN));
    assert!(almost_equal(f64::INFINITY, f64::INFINITY));
    assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY));
    assert!(almost_equal(0.0, -0.0));
    assert!(!almost_equal(0.0, 1e-300));
    assert!(almost_equal(1e308, 1.0000000001e308));
}

#[test]
fn regexes_are_unanchored() {
    assert_eq!(regex_find("conflicting label", "found conflicting label: x"), Ok(true));
    assert_eq!(regex_find("^found", "found x"), Ok(true));
    assert_eq!(regex_find("x$", "found x\n"), Ok(false));
    assert_eq!(regex_find("abc", "ab c"), Ok(false));
    assert!(regex_find("(", "x").is_err());
}

#[test]
fn failures_and_annotations() {
    assert!(check_failure(&MessageMatch::Any, "whatever").is_ok());
    assert!(check_failure(&MessageMatch::Exact("a b".into()), "a b").is_ok());
    assert!(check_failure(&MessageMatch::Exact("a b".into()), "a b c").is_err());
    assert!(check_failure(&MessageMatch::Regex("b+".into()), "abbc").is_ok());

    let e = eval_of("eval instant at 0 x\n  expect warn msg: w1\n  expect info\n");
    let w = vec!["w1".to_string()];
    let i = vec!["anything".to_string()];
    assert_eq!(check_annotations(&e.expect, &w, &i, true), Ok(()));
    assert!(check_annotations(&e.expect, &w, &[], true).is_err());
    let extra = vec!["w1".to_string(), "w2".to_string()];
    assert!(check_annotations(&e.expect, &extra, &i, true).is_err());
    assert!(check_annotations(&e.expect, &["other".into()], &i, true).is_err());
    // Relaxed: presence only.
    assert_eq!(check_annotations(&e.expect, &["other".into()], &i, false), Ok(()));

    let e = eval_of("eval instant at 0 x\n  expect no_warn\n");
    assert!(check_annotations(&e.expect, &w, &[], true).is_err());
    assert_eq!(check_annotations(&e.expect, &[], &i, true), Ok(()));
    // Without expectations, annotations are ignored.
    let e = eval_of("eval instant at 0 x\n");
    assert_eq!(check_annotations(&e.expect, &w, &i, true), Ok(()));
    let e = eval_of("eval_warn instant at 0 x\n");
    assert!(check_annotations(&e.expect, &[], &[], true).is_err());
}

#[test]
fn vectors_ignore_order_unless_ordered() {
    let e = eval_of("eval instant at 0 x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2\n");
    let v = vec![
        sample(&[("__name__", "x"), ("a", "2")], 2.0),
        sample(&[("__name__", "x"), ("a", "1")], 1.0),
    ];
    assert_eq!(compare_result(&e, &Value::Vector(v.clone())), Ok(()));
    let e = eval_of("eval instant at 0 x\n  expect ordered\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2\n");
    assert!(compare_result(&e, &Value::Vector(v.clone())).is_err());
    let mut sorted = v.clone();
    sorted.reverse();
    assert_eq!(compare_result(&e, &Value::Vector(sorted)), Ok(()));
}

#[test]
fn vectors_need_exact_labels_and_values() {
    let e = eval_of("eval instant at 0 x\n  {a=\"1\"} 1\n");
    let ok = vec![sample(&[("a", "1")], 1.0)];
    assert_eq!(compare_result(&e, &Value::Vector(ok)), Ok(()));
    let named = vec![sample(&[("__name__", "x"), ("a", "1")], 1.0)];
    assert!(
        compare_result(&e, &Value::Vector(named))
            .unwrap_err()
            .contains("unexpected metric")
    );
    let wrong = vec![sample(&[("a", "1")], 1.1)];
    assert!(
        compare_result(&e, &Value::Vector(wrong))
            .unwrap_err()
            .contains("expected 1")
    );
    assert!(
        compare_result(&e, &Value::Vector(vec![]))
            .unwrap_err()
            .contains("not found")
    );
    // No result lines: an empty result.
    let empty = eval_of("eval instant at 0 x\n");
    assert_eq!(compare_result(&empty, &Value::Vector(vec![])), Ok(()));
    assert_eq!(compare_result(&empty, &Value::Matrix(vec![])), Ok(()));
    assert!(compare_result(&empty, &Value::Scalar { t: 0, v: 1.0 }).is_err());
}

#[test]
fn scalars_and_strings() {
    let e = eval_of("eval instant at 0 1\n  1\n");
    assert_eq!(compare_result(&e, &Value::Scalar { t: 0, v: 1.0 }), Ok(()));
    assert!(compare_result(&e, &Value::Scalar { t: 0, v: 2.0 }).is_err());
    assert!(compare_result(&e, &Value::Vector(vec![])).is_err());
    let e = eval_of("eval instant at 0 \"a\"\n  expect string \"a\"\n");
    assert_eq!(compare_result(&e, &Value::String { t: 0, v: "a".into() }), Ok(()));
    assert!(compare_result(&e, &Value::String { t: 0, v: "b".into() }).is_err());
}

fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels(pairs),
        samples: points.iter().map(|&(t, v)| Sample::new(t, v)).collect(),
    }
}

#[test]
fn matrices_compare_points_on_the_grid() {
    let e = eval_of("eval range from 0 to 2m step 1m x\n  {a=\"1\"} 1 _ 3\n  {a=\"2\"} 5+1x2\n");
    let good = vec![
        series(&[("a", "1")], &[(0, 1.0), (120_000, 3.0)]),
        series(&[("a", "2")], &[(0, 5.0), (60_000, 6.0), (120_000, 7.0)]),
    ];
    assert_eq!(compare_result(&e, &Value::Matrix(good.clone())), Ok(()));
    let mut unsorted = good.clone();
    unsorted.reverse();
    assert!(
        compare_result(&e, &Value::Matrix(unsorted))
            .unwrap_err()
            .contains("sorted")
    );
    let mut gap_filled = good.clone();
    gap_filled[0].samples.insert(1, Sample::new(60_000, 2.0));
    assert!(compare_result(&e, &Value::Matrix(gap_filled)).is_err());
    let mut shifted = good.clone();
    shifted[0].samples[1].t = 119_000;
    assert!(compare_result(&e, &Value::Matrix(shifted)).is_err());
    assert!(
        compare_result(&e, &Value::Matrix(good[..1].to_vec()))
            .unwrap_err()
            .contains("not found")
    );
    // More expected points than steps is an error in the expectation.
    let long = eval_of("eval range from 0 to 1m step 1m x\n  {a=\"1\"} 1 2 3\n");
    assert!(
        compare_result(
            &long,
            &Value::Matrix(vec![series(&[("a", "1")], &[(0, 1.0), (60_000, 2.0)])])
        )
        .is_err()
    );
}

#[test]
fn instant_matrices_need_expect_range_vector() {
    let e = eval_of("eval instant at 1m m[1m]\n  expect range vector from 0 to 1m step 30s\n  m 1 _ 3\n");
    let m = vec![series(&[("__name__", "m")], &[(0, 1.0), (60_000, 3.0)])];
    assert_eq!(compare_result(&e, &Value::Matrix(m.clone())), Ok(()));
    let e = eval_of("eval instant at 1m m[1m]\n  m 1\n");
    assert!(compare_result(&e, &Value::Matrix(m)).is_err());
    let e = eval_of("eval instant at 1m m[1m]\n  expect ordered\n");
    assert!(compare_result(&e, &Value::Matrix(vec![])).is_err());
}
