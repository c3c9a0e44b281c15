//! Tests of the range-window kernels, with expected values from Prometheus's functions.test.
#![allow(clippy::excessive_precision)] // literals copied from functions.test

use super::*;
use proptest::prelude::*;

/// promqltest's float comparison: relative error below 1e-6, NaN equals NaN.
fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / (a.abs() + b.abs()) < 1e-6
}

#[track_caller]
fn assert_close(got: Option<f64>, want: f64) {
    let g = got.expect("a result");
    assert!(close(g, want), "got {g}, want {want}");
}

/// Builds the samples of a `load <interval>` line from `(start, step, count)`
/// segments (`a+bxN` = N+1 samples), one sample per interval from t=0.
fn load(interval_ms: i64, segments: &[(f64, f64, usize)]) -> Vec<Sample> {
    let mut out = Vec::new();
    for &(start, step, n) in segments {
        for k in 0..=n {
            out.push((out.len() as i64 * interval_ms, start + step * k as f64));
        }
    }
    out
}

/// Samples from explicit values, one per interval from t=0.
fn vals(interval_ms: i64, values: &[f64]) -> Vec<Sample> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64 * interval_ms, v))
        .collect()
}

/// The left-open window `(eval - range, eval]`.
fn window(s: &[Sample], eval_ms: i64, range_ms: i64) -> Vec<Sample> {
    s.iter()
        .copied()
        .filter(|&(t, _)| t > eval_ms - range_ms && t <= eval_ms)
        .collect()
}

const M: i64 = 60_000;

fn rate_at(s: &[Sample], eval: i64, range: i64, counter: bool, per_sec: bool) -> Option<f64> {
    extrapolated_rate(&window(s, eval, range), eval - range, eval, range, counter, per_sec)
}

#[test]
fn increase_extrapolation_cases() {
    let foo = load(5 * M, &[(0.0, 10.0, 10)]);
    let bar = load(5 * M, &[(0.0, 18.0, 5), (0.0, 18.0, 5)]);
    let dings = load(5 * M, &[(10.0, 10.0, 10)]);
    let bumms = load(5 * M, &[(1.0, 10.0, 10)]);
    for (s, want50, want100) in [
        (&foo, 100.0, 100.0),
        (&bar, 160.0, 162.0),
        (&dings, 100.0, 105.0),
        (&bumms, 100.0, 101.0),
    ] {
        assert_close(rate_at(s, 50 * M, 50 * M, true, false), want50);
        assert_close(rate_at(s, 50 * M, 100 * M, true, false), want100);
    }
    let reset = vals(5 * M, &[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
    assert_close(rate_at(&reset, 30 * M, 30 * M, true, false), 7.0);
}

#[test]
fn rate_cases() {
    let middle = load(5 * M, &[(0.0, 27.0, 4), (0.0, 27.0, 5)]);
    assert_close(rate_at(&middle, 50 * M, 50 * M, true, true), 0.08);
    let end = load(5 * M, &[(0.0, 10.0, 9), (0.0, 0.0, 0), (10.0, 0.0, 0)]);
    assert_eq!(rate_at(&end, 50 * M, 5 * M, true, true), None);
    assert_close(rate_at(&end, 50 * M, 6 * M, true, true), 0.0);
    let window_total = load(5 * M, &[(0.0, 80.0, 10)]);
    assert_close(rate_at(&window_total, 50 * M, 50 * M, true, true), 0.26666666666666666);
    // rate(calculate_rate_offset_total[10m] offset 5m) at 50m.
    let a = load(5 * M, &[(0.0, 10.0, 10)]);
    let w = window(&a, 45 * M, 10 * M);
    assert_close(
        extrapolated_rate(&w, 35 * M, 45 * M, 10 * M, true, true),
        0.03333333333333333,
    );
}

#[test]
fn rate_zero_cutoff() {
    let want10 = [0.5, 0.55, 0.6, 0.6, 0.6, 0.6];
    for (i, want) in want10.iter().enumerate() {
        let s = load(4 * M, &[(60.0 * i as f64, 240.0, 10)]);
        assert_close(rate_at(&s, 10 * M, 20 * M, true, true), *want);
        assert_close(rate_at(&s, 50 * M, 20 * M, true, true), 0.6);
    }
}

#[test]
fn delta_and_too_few_samples() {
    let up = vals(5 * M, &[0.0, 50.0, 100.0, 150.0, 200.0]);
    let down = vals(5 * M, &[200.0, 150.0, 100.0, 50.0, 0.0]);
    assert_close(rate_at(&up, 20 * M, 20 * M, false, false), 200.0);
    assert_close(rate_at(&down, 20 * M, 20 * M, false, false), -200.0);
    assert_eq!(extrapolated_rate(&[(0, 1.0)], -1000, 0, 1000, true, true), None);
    assert_eq!(extrapolated_rate(&[], -1000, 0, 1000, true, true), None);
}

#[test]
fn irate_and_idelta() {
    let foo = load(5 * M, &[(0.0, 10.0, 10)]);
    let bar = load(5 * M, &[(0.0, 10.0, 5), (0.0, 10.0, 5)]);
    assert_close(instant_value(&window(&foo, 50 * M, 50 * M), true), 0.03333333333333333);
    assert_close(instant_value(&window(&bar, 50 * M, 50 * M), true), 0.03333333333333333);
    assert_close(instant_value(&window(&bar, 30 * M, 50 * M), true), 0.0);
    let nan = vals(5 * M, &[1.0, f64::NAN, f64::NAN, 5.0, 11.0]);
    let r = 15 * M + 1000;
    let irates: Vec<Option<f64>> = (0..=4)
        .map(|k| instant_value(&window(&nan, k * 5 * M, r), true))
        .collect();
    assert_eq!(irates[0], None);
    assert!(irates[1].is_some_and(f64::is_nan) && irates[2].is_some_and(f64::is_nan));
    assert!(irates[3].is_some_and(f64::is_nan));
    assert_close(irates[4], 0.02);
    assert_close(instant_value(&window(&nan, 20 * M, r), false), 6.0);
    let d = vals(5 * M, &[0.0, 50.0, 100.0, 50.0]);
    assert_close(instant_value(&d, false), -50.0);
    assert_eq!(instant_value(&[(5, 1.0), (5, 2.0)], true), None);
}

#[test]
fn deriv_and_predict_linear() {
    let total = load(5 * M, &[(0.0, 80.0, 10)]);
    assert_close(deriv(&window(&total, 50 * M, 50 * M)), 0.26666666666666666);
    let middle = load(5 * M, &[(0.0, 10.0, 4), (0.0, 10.0, 5)]);
    assert_close(deriv(&window(&middle, 50 * M, 100 * M)), 0.010606060606060607);
    assert_close(predict_linear(&window(&middle, 50 * M, 50 * M), 50 * M, 3600.0), 70.0);
    // `[55m] @ 3000`: the window ends at 3000s, the intercept is at eval time.
    let at = window(&middle, 50 * M, 55 * M);
    assert_close(predict_linear(&at, 50 * M, 3600.0), 76.81818181818181);
    assert_close(predict_linear(&at, 10 * M, 3600.0), 51.36363636363637);
    assert_close(predict_linear(&at, 70 * M, 3600.0), 89.54545454545455);
    let mut inf = vec![(0, f64::NEG_INFINITY)];
    inf.extend(load(5 * M, &[(0.0, 80.0, 10)]).iter().map(|&(t, v)| (t + 5 * M, v)));
    inf.push((60 * M, f64::INFINITY));
    assert!(deriv(&window(&inf, 100 * M, 100 * M)).is_some_and(f64::is_nan));
    assert!(predict_linear(&window(&inf, 100 * M, 100 * M), 100 * M, 6000.0).is_some_and(f64::is_nan));
    assert_eq!(deriv(&[(0, 1.0)]), None);
    assert_eq!(linear_regression(&[(0, 3.0), (1000, 3.0)], 0), (0.0, 3.0));
}

#[test]
fn double_exponential_smoothing_cases() {
    let s10 = 10_000;
    type Segments<'a> = &'a [(f64, f64, usize)];
    let cases: [(Segments, i64, f64); 6] = [
        (&[(0.0, 10.0, 1000), (100.0, 30.0, 1000)], 8000, 8000.0),
        (&[(0.0, 40.0, 2000)], 8000, 32000.0),
        (&[(0.0, 10.0, 1000), (100.0, 30.0, 1000)], 20010, 30100.0),
        (&[(0.0, 30.0, 1000), (300.0, 80.0, 1000)], 20010, 80300.0),
        (&[(8000.0, -10.0, 1000)], 8000, 0.0),
        (&[(0.0, -40.0, 1000), (0.0, 40.0, 1000)], 8000, -32000.0),
    ];
    for (segments, at_s, want) in cases {
        let s = load(s10, segments);
        let w = window(&s, at_s * 1000, M);
        assert_close(double_exponential_smoothing(&w, 0.01, 0.1).expect("valid"), want);
    }
    assert_eq!(double_exponential_smoothing(&[(0, 1.0)], 0.5, 0.5), Ok(None));
    let e = double_exponential_smoothing(&[], 1.0, 0.5).expect_err("sf 1");
    assert_eq!(
        e.to_string(),
        "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"
    );
    let e = double_exponential_smoothing(&[], 0.5, 0.0).expect_err("tf 0");
    assert_eq!(
        e.to_string(),
        "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000"
    );
    assert!(double_exponential_smoothing(&[(0, 1.0), (1, 2.0)], f64::NAN, 0.5).is_ok());
}

#[test]
fn avg_and_sum_over_time_special_values() {
    let inf = f64::INFINITY;
    let big = 9.988465674311579e+307;
    let cases: &[(&[f64], f64)] = &[
        (&[1.0, 2.0, 3.0, 4.0, 5.0], 3.0),
        (&[1.0, 2.0, 3.0, 4.0, inf], inf),
        (&[1.0, 2.0, 3.0, 4.0, -inf], -inf),
        (&[1.0, 2.0, 3.0, inf, -inf], f64::NAN),
        (&[inf, 0.0, inf], inf),
        (&[inf, inf, inf, -inf], f64::NAN),
        (&[-inf, 0.0, -inf], -inf),
        (&[1.0, 2.0, -inf, -inf, inf], f64::NAN),
        (&[big, big], big),
        (&[-big, -big, -big], -big),
        (&[-big, big], 0.0),
        (&[1.0, 2.0, 3.0, f64::NAN, f64::NAN], f64::NAN),
        (&[1.0, 1e100, 1.0, -1e100], 0.5),
    ];
    for (values, want) in cases {
        assert_close(avg_over_time(&vals(10_000, values)), *want);
    }
    assert_close(sum_over_time(&vals(10_000, &[1.0, 1e100, 1.0, -1e100])), 2.0);
    assert_close(sum_over_time(&vals(10_000, &[big, big])), inf);
    assert_eq!(avg_over_time(&[]), None);
    assert_eq!(sum_over_time(&[]), None);
    let dense = vec![1.0; 3003];
    assert_eq!(sum_over_time(&vals(1, &dense)), Some(3003.0));
    assert_eq!(avg_over_time(&vals(10_000, &[52.0; 13])), Some(52.0));
}

#[test]
fn avg_over_time_extreme_magnitudes() {
    let cases: &[(&[f64], f64)] = &[
        (&[1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6], 1.6666666666666675e+09),
        (
            &[
                5.30921651659898,
                0.961118537914768,
                1.62091361305318,
                0.865089463758091,
                0.323055185914577,
                0.951811357687154,
            ],
            1.67186744582113,
        ),
        (&[1.78264e50, 0.76342771, 1.9592258, 7.69805412, 458.90154], 3.56528E+49),
        (
            &[1.78264E+50, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, 458.90154],
            3.76333333333333E+219,
        ),
        (
            &[-1.78264E+215, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, -458.90154],
            3.76330362266667E+219,
        ),
        (
            &[
                -1.78264E+219,
                0.76342771,
                1.9592258,
                2.3757689E+217,
                -2.3757689E+217,
                2.258E+220,
                7.69805412,
                1.78264E+219,
                -458.90154,
            ],
            2.5088888888888888e+219,
        ),
        (
            &[
                -2.258E+220,
                -1.78264E+219,
                0.76342771,
                1.9592258,
                2.3757689E+217,
                -2.3757689E+217,
                2.258E+220,
                7.69805412,
                1.78264E+219,
                -458.90154,
            ],
            0.0,
        ),
    ];
    for (values, want) in cases {
        assert_close(avg_over_time(&vals(5000, values)), *want);
    }
}

#[test]
fn kahan_mean_matches_avg_aggregation_cases() {
    let inf = f64::INFINITY;
    let big = 9.988465674311579e+307;
    for (values, want) in [
        (vec![0.0, inf, inf, 0.0], inf),
        (vec![big; 4], big),
        (vec![-big, -big, big, big], 0.0),
        (vec![2.0, 8.0, 1e100, -1e100], 2.5),
    ] {
        let mut m = KahanMean::new();
        values.iter().for_each(|&v| m.add(v));
        assert_close(m.value(), want);
    }
    let mut s = KahanSum::starting_with(2.0);
    [8.0, 1e100, -1e100].iter().for_each(|&v| s.add(v));
    assert_eq!(s.value(), 10.0);
}

#[test]
fn variance_quantile_mad() {
    let s = vals(10_000, &[0.0, 8.0, 8.0, 2.0, 3.0]);
    assert_close(stdvar_over_time(&s), 10.56);
    assert_close(stddev_over_time(&s), 3.249615);
    let same = vals(10_000, &[1.5990505637277868; 3]);
    assert_eq!(stdvar_over_time(&same), Some(0.0));
    assert_eq!(stddev_over_time(&same), Some(0.0));
    for (values, wants) in [
        (vec![0.0, 1.0], [0.0, 0.5, 0.75, 0.8, 1.0]),
        (vec![0.0, 1.0, 2.0], [0.0, 1.0, 1.5, 1.6, 2.0]),
        (vec![0.0, 1.0, 4.0], [0.0, 1.0, 2.5, 2.8, 4.0]),
    ] {
        let s = vals(10_000, &values);
        for (phi, want) in [0.0, 0.5, 0.75, 0.8, 1.0].iter().zip(wants) {
            assert_close(quantile_over_time(*phi, &s), want);
        }
        assert_eq!(quantile_over_time(-1.0, &s), Some(f64::NEG_INFINITY));
        assert_eq!(quantile_over_time(2.0, &s), Some(f64::INFINITY));
    }
    let m = vals(10_000, &[4.0, 6.0, 2.0, 1.0, 999.0, 1.0, 2.0]);
    assert_close(mad_over_time(&window(&m, 70_000, 70_000)), 1.0);
    assert_close(mad_over_time(&vals(10_000, &[1.0, 2.0, 3.0, 4.0, 5.0])), 1.0);
    assert_close(mad_over_time(&vals(10_000, &[7.0; 5])), 0.0);
    assert_close(mad_over_time(&vals(10_000, &[5.0])), 0.0);
    assert!(mad_over_time(&vals(10_000, &[1.0, 2.0, f64::NAN, 4.0])).is_some_and(f64::is_nan));
}

#[test]
fn min_max_first_last_and_timestamps() {
    let nan = f64::NAN;
    for (values, min, max) in [
        (vec![2.0, 0.0, 3.0], 0.0, 3.0),
        (vec![2.0, 0.0, nan], 0.0, 2.0),
        (vec![2.0, nan, 1.0], 1.0, 2.0),
        (vec![nan, 0.0, 1.0], 0.0, 1.0),
        (vec![nan, nan, nan], nan, nan),
    ] {
        let s = vals(10_000, &values);
        assert_close(min_over_time(&s), min);
        assert_close(max_over_time(&s), max);
        assert_close(last_over_time(&s), values[2]);
        assert_close(first_over_time(&s), values[0]);
        assert_eq!(count_over_time(&s), Some(3.0));
        assert_eq!(present_over_time(&s), Some(1.0));
    }
    let odd = vals(10_053, &[1.0, 2.0, 3.0, 0.0, 5.0, 6.0, 2.0, 1.0, 4.0]);
    let w = window(&odd, 90_000, 90_000);
    assert_close(ts_of_min_over_time(&w), 30.159);
    assert_close(ts_of_max_over_time(&w), 50.265);
    assert_close(ts_of_first_over_time(&w), 10.053);
    assert_close(ts_of_last_over_time(&w), 80.424);
    assert_eq!(min_over_time(&[]), None);
    assert_eq!(count_over_time(&[]), None);
}

#[test]
fn changes_and_resets() {
    let nan = f64::NAN;
    let foo = vals(5 * M, &[1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
    let bar = vals(5 * M, &[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let biz = vals(5 * M, &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let at = 45 * M; // the last sample of the 10-value series
    let r = |s: &[Sample], range| resets(&window(s, at + 5 * M, range));
    assert_eq!(r(&foo, 5 * M), None);
    assert_eq!(
        (r(&foo, 20 * M), r(&foo, 32 * M), r(&foo, 50 * M)),
        (Some(1.0), Some(2.0), Some(3.0))
    );
    assert_eq!(
        (r(&bar, 30 * M), r(&bar, 32 * M), r(&biz, 50 * M)),
        (Some(0.0), Some(1.0), Some(0.0))
    );
    let c = |s: &[Sample], range| changes(&window(s, at + 5 * M, range));
    assert_eq!(
        (c(&foo, 20 * M), c(&foo, 30 * M), c(&foo, 50 * M)),
        (Some(2.0), Some(3.0), Some(7.0))
    );
    assert_eq!(
        (c(&bar, 20 * M), c(&bar, 30 * M), c(&bar, 50 * M)),
        (Some(2.0), Some(4.0), Some(8.0))
    );
    assert_eq!(c(&biz, 50 * M), Some(1.0));
    assert_eq!(changes(&vals(5 * M, &[nan, nan, nan])), Some(0.0));
    assert_eq!(changes(&vals(5 * M, &[0.0, nan, 0.0])), Some(2.0));
}

fn arb_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => any::<f64>(),
    ]
}

fn arb_samples() -> impl Strategy<Value = Vec<Sample>> {
    prop::collection::vec((0i64..5_000, arb_value()), 0..40).prop_map(|mut v| {
        let mut t = -1;
        for s in &mut v {
            t += s.0 % 7; // sorted, duplicates allowed
            s.0 = t;
        }
        v
    })
}

proptest! {
    #[test]
    fn kernels_never_panic(s in arb_samples(), phi in arb_value(), start in any::<i64>(), range in any::<i64>()) {
        let _ = extrapolated_rate(&s, start, start.wrapping_add(range), range, true, true);
        let _ = extrapolated_rate(&s, start, start.wrapping_add(range), range, false, false);
        let _ = (instant_value(&s, true), instant_value(&s, false));
        let _ = (sum_over_time(&s), avg_over_time(&s), stddev_over_time(&s), mad_over_time(&s));
        let _ = (min_over_time(&s), max_over_time(&s), ts_of_max_over_time(&s), quantile_over_time(phi, &s));
        let _ = (changes(&s), resets(&s), deriv(&s), predict_linear(&s, start, phi));
        let _ = double_exponential_smoothing(&s, phi, 0.5);
    }

    #[test]
    fn count_and_sum_of_finite_values(v in prop::collection::vec(-1e6f64..1e6, 1..50)) {
        let s = vals(1000, &v);
        prop_assert_eq!(count_over_time(&s), Some(v.len() as f64));
        let naive: f64 = v.iter().sum();
        let kahan = sum_over_time(&s).unwrap_or(f64::NAN);
        prop_assert!((kahan - naive).abs() <= 1e-6 * (1.0 + naive.abs()));
    }
}
