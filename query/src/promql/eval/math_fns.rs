//! Element-wise PromQL math: quantiles, classic `histogram_quantile`,
//! rounding and clamping, date functions and binary operators, all with the
//! float semantics of Prometheus 3.x (which is written in Go: `math.Max`,
//! `math.Pow`, `math.Mod`, `time.Unix` behave as reproduced here).

use std::cmp::Ordering;

/// Relative difference below which adjacent classic bucket counts are
/// treated as equal (floating point noise), as Prometheus does.
pub const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Orders values ascending with every NaN first, like Prometheus' sort of
/// samples by value (NaN is "the smallest possible value").
fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// The φ-quantile of `values` (sorted in place, NaN first), interpolating
/// linearly between the two nearest ranks. NaN if `values` is empty or φ is
/// NaN; -Inf if φ < 0; +Inf if φ > 1.
pub fn quantile(phi: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(nan_first);
    let n = values.len() as f64;
    let rank = phi * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Prometheus' `almost.Equal`: relative difference below `epsilon` (or, next
/// to zero, absolute difference below `epsilon` × the smallest normal float).
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < epsilon * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Full result of [`bucket_quantile_detailed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketQuantile {
    /// The estimated quantile.
    pub value: f64,
    /// Some bucket count was lower than a previous one and was raised
    /// (the caller emits the "needed to be fixed for monotonicity" info).
    pub forced_monotonic: bool,
    /// Some count differed from the previous one only by floating point noise
    /// and was silently set equal to it.
    pub fixed_precision: bool,
    /// Smallest upper bound whose count was raised (0 if none).
    pub min_bucket: f64,
    /// Largest upper bound whose count was raised (0 if none).
    pub max_bucket: f64,
    /// Largest amount by which a count was raised (0 if none).
    pub max_diff: f64,
}

impl BucketQuantile {
    fn plain(value: f64) -> Self {
        Self {
            value,
            forced_monotonic: false,
            fixed_precision: false,
            min_bucket: 0.0,
            max_bucket: 0.0,
            max_diff: 0.0,
        }
    }
}

/// Classic `histogram_quantile`: see [`bucket_quantile_detailed`]; returns the
/// value and whether monotonicity had to be forced.
pub fn bucket_quantile(phi: f64, buckets: &mut Vec<(f64, f64)>) -> (f64, bool) {
    let r = bucket_quantile_detailed(phi, buckets);
    (r.value, r.forced_monotonic)
}

/// Classic `histogram_quantile` over `(le, cumulative count)` buckets, which
/// are sorted by upper bound and rewritten in place (duplicate `le` merged,
/// counts made monotonic).
///
/// NaN if φ is NaN, the buckets are empty, the highest bound is not +Inf,
/// fewer than 2 buckets remain or there are no observations; -Inf/+Inf for
/// φ < 0 / φ > 1. A rank in the +Inf bucket gives the second highest bound; a
/// rank in a lowest bucket with bound ≤ 0 gives that bound; otherwise linear
/// interpolation inside the bucket, from 0 for the lowest bucket.
pub fn bucket_quantile_detailed(phi: f64, buckets: &mut Vec<(f64, f64)>) -> BucketQuantile {
    if phi.is_nan() {
        return BucketQuantile::plain(f64::NAN);
    }
    if phi < 0.0 {
        return BucketQuantile::plain(f64::NEG_INFINITY);
    }
    if phi > 1.0 {
        return BucketQuantile::plain(f64::INFINITY);
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    match buckets.last() {
        Some(&(le, _)) if le == f64::INFINITY => {}
        _ => return BucketQuantile::plain(f64::NAN),
    }
    coalesce_buckets(buckets);
    let mut r = ensure_monotonic(buckets, SMALL_DELTA_TOLERANCE);
    if buckets.len() < 2 {
        return BucketQuantile::plain(f64::NAN);
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return BucketQuantile::plain(f64::NAN);
    }
    let mut rank = phi * observations;
    // First bucket (excluding +Inf) whose count reaches the rank.
    let b = buckets[..buckets.len() - 1].partition_point(|&(_, c)| c < rank);
    r.value = if b == buckets.len() - 1 {
        buckets[buckets.len() - 2].0
    } else if b == 0 && buckets[0].0 <= 0.0 {
        buckets[0].0
    } else {
        let (end, mut count) = buckets[b];
        let mut start = 0.0;
        if b > 0 {
            start = buckets[b - 1].0;
            count -= buckets[b - 1].1;
            rank -= buckets[b - 1].1;
        }
        start + (end - start) * (rank / count)
    };
    r
}

/// Merges adjacent buckets (sorted by bound) with the same upper bound by adding their counts.
fn coalesce_buckets(buckets: &mut Vec<(f64, f64)>) {
    buckets.dedup_by(|cur, kept| {
        if cur.0 == kept.0 {
            kept.1 += cur.1;
            true
        } else {
            false
        }
    });
}

/// Makes the counts non-decreasing: a count within `tolerance` (relative) of
/// the last accepted count is set equal to it; a lower count is raised to it.
fn ensure_monotonic(buckets: &mut [(f64, f64)], tolerance: f64) -> BucketQuantile {
    let mut r = BucketQuantile::plain(f64::NAN);
    let (mut min_b, mut max_b) = (f64::INFINITY, f64::NEG_INFINITY);
    let Some(&(_, mut prev)) = buckets.first() else {
        return r;
    };
    for bucket in buckets.iter_mut().skip(1) {
        let curr = bucket.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, tolerance) {
            bucket.1 = prev;
            r.fixed_precision = true;
            continue;
        }
        if curr < prev {
            bucket.1 = prev;
            r.forced_monotonic = true;
            min_b = min_b.min(bucket.0);
            max_b = max_b.max(bucket.0);
            r.max_diff = r.max_diff.max(prev - curr);
            continue;
        }
        prev = curr;
    }
    if r.forced_monotonic {
        (r.min_bucket, r.max_bucket) = (min_b, max_b);
    }
    r
}

/// Go's `math.Max`: NaN if either is NaN, +Inf if either is +Inf, +0 over -0.
pub fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b { a } else { b }
}

/// Go's `math.Min`: NaN if either is NaN, -Inf if either is -Inf, -0 over +0.
pub fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b { a } else { b }
}

/// `round(v, to_nearest)`: `floor(v / to_nearest + 0.5) * to_nearest`, computed
/// through the inverse as Prometheus does (ties round up).
pub fn round(v: f64, to_nearest: f64) -> f64 {
    let inv = 1.0 / to_nearest;
    (v * inv + 0.5).floor() / inv
}

/// `sgn`: -1 for negative, 1 for positive, the value itself for ±0 and NaN.
pub fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// `clamp(v, min, max)`; `None` (no output) if `max < min`. NaN bounds give NaN.
/// `clamp_min` is `clamp(v, min, +Inf)`, `clamp_max` is `clamp(v, -Inf, max)`.
pub fn clamp(v: f64, min: f64, max: f64) -> Option<f64> {
    if max < min {
        return None;
    }
    Some(go_max(min, go_min(max, v)))
}

/// `deg`: radians to degrees.
pub fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

/// `rad`: degrees to radians.
pub fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    /// Proleptic Gregorian year.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Day of week, 0 = Sunday.
    pub weekday: u32,
    /// Day of year, 1..=366.
    pub yday: u32,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1..=12) of `year`.
pub fn month_length(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Converts a Unix time in seconds (a PromQL sample value) to a UTC civil time
/// as Go's `time.Unix(int64(v), 0).UTC()` does on amd64: the value is truncated
/// toward zero; NaN, ±Inf and values outside the i64 range become i64::MIN,
/// which Go's calendar wraps around to 2^63 seconds (year 292277026596).
pub fn civil_from_unix_seconds(v: f64) -> CivilTime {
    // 2^63 exactly: the first f64 outside the i64 range.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let secs: i128 = if v.is_nan() || !(-TWO_63..TWO_63).contains(&v) {
        1i128 << 63
    } else {
        v.trunc() as i64 as i128
    };
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Civil-from-days over 400-year eras of 146097 days, years starting in March.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_mar + 2) / 153;
    let day = (doy_mar - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = (yoe + era * 400 + i128::from(month <= 2)) as i64;
    let cumulative: u32 = (1..month).map(|m| month_length(year, m)).sum();
    CivilTime {
        year,
        month,
        day,
        hour: sod / 3600,
        minute: sod % 3600 / 60,
        weekday: (days + 4).rem_euclid(7) as u32,
        yday: cumulative + day,
    }
}

/// `minute(v)`: minute of the hour (0-59) of the Unix time `v` in seconds.
pub fn minute(v: f64) -> f64 {
    f64::from(civil_from_unix_seconds(v).minute)
}

/// `hour(v)`: hour of the day (0-23).
pub fn hour(v: f64) -> f64 {
    f64::from(civil_from_unix_seconds(v).hour)
}

/// `day_of_week(v)`: 0 = Sunday … 6 = Saturday.
pub fn day_of_week(v: f64) -> f64 {
    f64::from(civil_from_unix_seconds(v).weekday)
}

/// `day_of_month(v)`: 1-31.
pub fn day_of_month(v: f64) -> f64 {
    f64::from(civil_from_unix_seconds(v).day)
}

/// `day_of_year(v)`: 1-365, 366 in leap years.
pub fn day_of_year(v: f64) -> f64 {
    f64::from(civil_from_unix_seconds(v).yday)
}

/// `days_in_month(v)`: 28-31.
pub fn days_in_month(v: f64) -> f64 {
    let c = civil_from_unix_seconds(v);
    f64::from(month_length(c.year, c.month))
}

/// `month(v)`: 1-12.
pub fn month(v: f64) -> f64 {
    f64::from(civil_from_unix_seconds(v).month)
}

/// `year(v)`: the year.
pub fn year(v: f64) -> f64 {
    civil_from_unix_seconds(v).year as f64
}

/// A PromQL arithmetic binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%` (Go `math.Mod`: sign of the dividend, NaN for `x % 0`).
    Mod,
    /// `^` (Go `math.Pow`).
    Pow,
    /// `atan2` (Go `math.Atan2`).
    Atan2,
}

/// A PromQL comparison binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
}

fn is_odd_int(y: f64) -> bool {
    // Every float with |y| >= 2^53 is an even integer.
    y.abs() < 9_007_199_254_740_992.0 && y.fract() == 0.0 && (y % 2.0).abs() == 1.0
}

/// Go's `math.Pow`, with its special cases spelled out (they coincide with
/// C99 `pow`, e.g. `pow(NaN, 0) = 1`, `pow(1, NaN) = 1`, `pow(-1, ±Inf) = 1`);
/// the general case uses the platform `powf`, which may differ from Go's pure-Go
/// algorithm in the last bit.
pub fn go_pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 {
        return match (y < 0.0, is_odd_int(y)) {
            (true, true) => 1.0f64.copysign(x) / 0.0,
            (true, false) => f64::INFINITY,
            (false, true) => x,
            (false, false) => 0.0,
        };
    }
    if y.is_infinite() {
        return if x == -1.0 {
            1.0
        } else if (x.abs() < 1.0) == (y > 0.0) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if x.is_infinite() {
        if x < 0.0 {
            return go_pow(-0.0, -y);
        }
        return if y > 0.0 { f64::INFINITY } else { 0.0 };
    }
    if y == 0.5 {
        return x.sqrt();
    }
    if y == -0.5 {
        return 1.0 / x.sqrt();
    }
    if x < 0.0 && y.fract() != 0.0 {
        return f64::NAN;
    }
    x.powf(y)
}

/// Applies an arithmetic operator to two floats with Go semantics.
/// Rust's `%` on f64 is C `fmod`, which equals Go's `math.Mod` in every case.
pub fn arith(op: ArithOp, a: f64, b: f64) -> f64 {
    match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        ArithOp::Mod => a % b,
        ArithOp::Pow => go_pow(a, b),
        ArithOp::Atan2 => a.atan2(b),
    }
}

/// Applies a comparison operator with IEEE semantics (any NaN compares false,
/// except `!=`, which is true).
pub fn compare(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Gt => a > b,
        CmpOp::Lt => a < b,
        CmpOp::Ge => a >= b,
        CmpOp::Le => a <= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative())
    }

    #[test]
    fn quantile_cases() {
        // aggregators.test: quantile without(point)(0.8 / 0.2, data).
        for (values, q08, q02) in [
            (vec![0.0, 1.0], 0.8, 0.2),
            (vec![0.0, 1.0, 2.0], 1.6, 0.4),
            (vec![0.0, 1.0, 4.0], 2.8, 0.4),
            (vec![0.0, 1.0, NAN], 0.6, NAN),
        ] {
            let (mut a, mut b) = (values.clone(), values);
            assert!((quantile(0.8, &mut a) - q08).abs() < 1e-12 || same(quantile(0.8, &mut a), q08));
            assert!(same(quantile(0.2, &mut b), q02) || (quantile(0.2, &mut b) - q02).abs() < 1e-12);
        }
        assert!(quantile(0.5, &mut []).is_nan());
        assert!(quantile(NAN, &mut [1.0]).is_nan());
        assert_eq!(quantile(-0.1, &mut [1.0]), -INF);
        assert_eq!(quantile(1.1, &mut [1.0]), INF);
        assert_eq!(quantile(1.0, &mut [3.0, 1.0, 2.0]), 3.0);
    }

    #[test]
    fn bucket_quantile_nonmonotonic() {
        // histograms.test: nonmonotonic_bucket at 50m.
        let b = || {
            vec![
                (0.1, 20.0),
                (1.0, 10.0),
                (10.0, 50.0),
                (100.0, 40.0),
                (1000.0, 90.0),
                (INF, 80.0),
            ]
        };
        for (phi, want) in [(0.01, 0.0045), (0.5, 8.5), (0.99, 979.75)] {
            let (v, forced) = bucket_quantile(phi, &mut b());
            assert!((v - want).abs() < 1e-9, "{phi}: {v}");
            assert!(forced);
        }
        let d = bucket_quantile_detailed(0.5, &mut b());
        assert_eq!((d.min_bucket, d.max_bucket, d.max_diff), (1.0, INF, 10.0));
    }

    #[test]
    fn bucket_quantile_special_cases() {
        let ok = || vec![(INF, 10.0), (1.0, 5.0), (0.5, 2.0)];
        assert!(bucket_quantile(NAN, &mut ok()).0.is_nan());
        assert_eq!(bucket_quantile(-1.0, &mut ok()), (-INF, false));
        assert_eq!(bucket_quantile(2.0, &mut ok()), (INF, false));
        // Unsorted input is sorted; rank in the +Inf bucket gives the 2nd highest bound.
        assert_eq!(bucket_quantile(0.9, &mut ok()), (1.0, false));
        assert_eq!(bucket_quantile(0.35, &mut ok()), (0.75, false));
        assert_eq!(bucket_quantile(0.1, &mut ok()), (0.25, false));
        assert!(bucket_quantile(0.5, &mut vec![(1.0, 1.0), (2.0, 2.0)]).0.is_nan()); // no +Inf
        assert!(bucket_quantile(0.5, &mut vec![(INF, 3.0)]).0.is_nan()); // one bucket
        assert!(bucket_quantile(0.5, &mut vec![(1.0, 0.0), (INF, 0.0)]).0.is_nan()); // empty
        assert!(bucket_quantile(0.5, &mut vec![]).0.is_nan());
        // Lowest bucket with bound <= 0 returns that bound.
        let neg = || vec![(-0.2, 1.0), (-0.1, 2.0), (0.0, 2.0), (INF, 2.0)];
        assert_eq!(bucket_quantile(0.25, &mut neg()).0, -0.2);
        assert!((bucket_quantile(0.75, &mut neg()).0 + 0.15).abs() < 1e-15);
        // Duplicate bounds are merged ("1" and "1.0" both parse to 1).
        let mut dup = vec![(1.0, 1.0), (1.0, 1.0), (2.0, 4.0), (INF, 4.0)];
        assert_eq!(bucket_quantile(0.5, &mut dup), (1.0, false));
        assert_eq!(dup, vec![(1.0, 2.0), (2.0, 4.0), (INF, 4.0)]);
        // Floating point noise is silently flattened, not reported.
        let d = bucket_quantile_detailed(0.5, &mut vec![(1.0, 10.0), (2.0, 10.0 - 1e-13), (INF, 10.0)]);
        assert!(d.fixed_precision && !d.forced_monotonic);
    }

    #[test]
    fn rounding_and_clamping() {
        assert_eq!(round(2.5, 1.0), 3.0);
        assert_eq!(round(-2.5, 1.0), -2.0);
        assert_eq!(round(0.04, 0.1), 0.0);
        assert_eq!(round(5.55, 0.1), 5.6);
        assert_eq!(round(123.0, 10.0), 120.0);
        assert!(round(NAN, 1.0).is_nan());
        assert_eq!(round(INF, 1.0), INF);
        assert_eq!((sgn(-3.0), sgn(2.0)), (-1.0, 1.0));
        assert!(same(sgn(-0.0), -0.0) && sgn(NAN).is_nan());
        assert_eq!(clamp(100.0, -25.0, 75.0), Some(75.0));
        assert_eq!(clamp(-50.0, -25.0, 75.0), Some(-25.0));
        assert_eq!(clamp(5.0, 5.0, -5.0), None);
        assert!(clamp(1.0, 0.0, NAN).is_some_and(f64::is_nan));
        assert!(clamp(1.0, NAN, 0.0).is_some_and(f64::is_nan));
        assert_eq!(clamp(INF, -INF, 2.0), Some(2.0));
        assert!(same(go_max(-0.0, 0.0), 0.0) && same(go_min(0.0, -0.0), -0.0));
        assert_eq!((deg(std::f64::consts::PI), rad(180.0)), (180.0, std::f64::consts::PI));
    }

    #[test]
    fn date_functions() {
        // functions.test expectations.
        let t = 1136239445.0; // 2006-01-02 22:04:05 UTC, a Monday
        assert_eq!(
            (year(t), month(t), day_of_month(t), day_of_year(t)),
            (2006.0, 1.0, 2.0, 2.0)
        );
        assert_eq!((day_of_week(t), hour(t), minute(t)), (1.0, 22.0, 4.0));
        assert_eq!(
            (year(0.0), month(0.0), day_of_month(0.0), day_of_week(0.0)),
            (1970.0, 1.0, 1.0, 4.0)
        );
        assert_eq!((year(1230767999.0), year(1230768000.0)), (2008.0, 2009.0));
        assert_eq!(month(1456790399.0) + day_of_month(1456790399.0) / 100.0, 2.29);
        assert_eq!(month(1456790400.0) + day_of_month(1456790400.0) / 100.0, 3.01);
        assert_eq!((day_of_year(1483191420.0), day_of_year(1672493820.0)), (366.0, 365.0));
        assert_eq!((days_in_month(1454284800.0), days_in_month(1485907200.0)), (29.0, 28.0));
        // Before the epoch and fractional seconds (truncated toward zero, like Go's int64()).
        assert_eq!(
            (year(-1.0), month(-1.0), day_of_month(-1.0), hour(-1.0)),
            (1969.0, 12.0, 31.0, 23.0)
        );
        assert_eq!(minute(59.9), 0.0);
        assert_eq!(minute(-0.5), 0.0);
        // 2000-02-29 and 2100-03-01 (2100 is not a leap year).
        assert_eq!((month(951782400.0), day_of_month(951782400.0)), (2.0, 29.0));
        assert_eq!(
            (
                month(4107542400.0),
                day_of_month(4107542400.0),
                days_in_month(4107542400.0)
            ),
            (3.0, 1.0, 31.0)
        );
        // NaN and Inf go through Go's int64 conversion (amd64) and its calendar wrap.
        assert_eq!(year(NAN), 292277026596.0);
        assert_eq!(year(INF), 292277026596.0);
    }

    #[test]
    fn arithmetic_go_semantics() {
        assert_eq!(arith(ArithOp::Mod, 1000.0, 3.0), 1.0);
        assert!((arith(ArithOp::Mod, 1000.0, 0.3) - 0.1).abs() < 1e-9);
        assert!(arith(ArithOp::Mod, 0.0, 0.0).is_nan() && arith(ArithOp::Mod, INF, 2.0).is_nan());
        assert_eq!(arith(ArithOp::Mod, -7.0, 3.0), -1.0);
        assert_eq!(arith(ArithOp::Mod, 5.0, INF), 5.0);
        assert!(same(arith(ArithOp::Mod, -0.0, 3.0), -0.0));
        assert_eq!(arith(ArithOp::Pow, 2.0, -1.0), 0.5);
        assert_eq!(arith(ArithOp::Pow, 4.0, 4.0), 256.0);
        assert!((-10.0 * arith(ArithOp::Pow, 3.0, -1.0) + 10.0 / 3.0).abs() < 1e-15);
        let pow_cases = [
            (NAN, 0.0, 1.0),
            (1.0, NAN, 1.0),
            (NAN, 1.0, NAN),
            (2.0, NAN, NAN),
            (-0.0, -3.0, -INF),
            (0.0, -3.0, INF),
            (-0.0, -2.0, INF),
            (0.0, -INF, INF),
            (0.0, INF, 0.0),
            (-0.0, 3.0, -0.0),
            (-0.0, 2.0, 0.0),
            (-1.0, INF, 1.0),
            (-1.0, -INF, 1.0),
            (2.0, INF, INF),
            (2.0, -INF, 0.0),
            (0.5, INF, 0.0),
            (0.5, -INF, INF),
            (INF, 2.0, INF),
            (INF, -2.0, 0.0),
            (-INF, 3.0, -INF),
            (-INF, 2.0, INF),
            (-INF, -3.0, -0.0),
            (-8.0, 1.0 / 3.0, NAN),
            (-2.0, 3.0, -8.0),
            (4.0, 0.5, 2.0),
            (4.0, -0.5, 0.5),
        ];
        for (x, y, want) in pow_cases {
            assert!(same(go_pow(x, y), want), "pow({x}, {y}) = {} want {want}", go_pow(x, y));
        }
        assert!((arith(ArithOp::Atan2, 10.0, 20.0) - 0.4636476090008061).abs() < 1e-15);
        assert!(arith(ArithOp::Atan2, 10.0, NAN).is_nan());
        assert_eq!(arith(ArithOp::Div, 1.0, 0.0), INF);
        assert!(arith(ArithOp::Div, 0.0, 0.0).is_nan());
        assert_eq!(arith(ArithOp::Sub, 1.0, 3.0), -2.0);
    }

    #[test]
    fn comparisons() {
        assert!(compare(CmpOp::Eq, 1.0, 1.0) && !compare(CmpOp::Eq, NAN, NAN));
        assert!(compare(CmpOp::Ne, NAN, NAN) && compare(CmpOp::Ne, 1.0, 2.0));
        assert!(compare(CmpOp::Gt, 2.0, 1.0) && !compare(CmpOp::Gt, NAN, 1.0));
        assert!(compare(CmpOp::Ge, 1.0, 1.0) && compare(CmpOp::Le, -INF, INF));
        assert!(compare(CmpOp::Lt, -1.0, 0.0) && compare(CmpOp::Eq, -0.0, 0.0));
    }

    fn arb_f64() -> impl Strategy<Value = f64> {
        prop_oneof![4 => -1e9f64..1e9, 1 => Just(NAN), 1 => Just(INF), 1 => Just(-INF), 2 => any::<f64>()]
    }

    proptest! {
        #[test]
        fn quantile_monotone_in_phi(mut v in prop::collection::vec(-1e9f64..1e9, 1..30), a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let ql = quantile(lo, &mut v);
            let qh = quantile(hi, &mut v);
            prop_assert!(ql <= qh + 1e-9 * (1.0 + qh.abs()), "q({lo})={ql} > q({hi})={qh}");
        }

        #[test]
        fn bucket_quantile_monotone_in_phi(counts in prop::collection::vec(0.0f64..1e6, 2..10), a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let mut acc = 0.0;
            let mut buckets: Vec<(f64, f64)> = counts.iter().enumerate().map(|(i, c)| { acc += c; (i as f64, acc) }).collect();
            buckets.push((INF, acc));
            let (ql, _) = bucket_quantile(lo, &mut buckets.clone());
            let (qh, _) = bucket_quantile(hi, &mut buckets);
            prop_assert!(ql.is_nan() || ql <= qh + 1e-9 * (1.0 + qh.abs()));
        }

        #[test]
        fn never_panic(x in arb_f64(), y in arb_f64(), z in arb_f64(), mut v in prop::collection::vec(arb_f64(), 0..20)) {
            let _ = quantile(x, &mut v);
            let mut b: Vec<(f64, f64)> = v.iter().zip(v.iter().rev()).map(|(a, b)| (*a, *b)).collect();
            let _ = bucket_quantile(x, &mut b);
            b.push((INF, y));
            let _ = bucket_quantile(z, &mut b);
            let _ = (round(x, y), sgn(x), clamp(x, y, z), deg(x), rad(x));
            let _ = (year(x), month(x), day_of_week(x), day_of_year(x), days_in_month(x), hour(x), minute(x));
            for op in [ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div, ArithOp::Mod, ArithOp::Pow, ArithOp::Atan2] {
                let _ = arith(op, x, y);
            }
            let _ = compare(CmpOp::Le, x, y);
        }

        #[test]
        fn civil_time_in_range(secs in -62_000_000_000i64..250_000_000_000) {
            let c = civil_from_unix_seconds(secs as f64);
            prop_assert!((1..=12).contains(&c.month) && c.day >= 1 && c.day <= month_length(c.year, c.month));
            prop_assert!(c.weekday < 7 && c.hour < 24 && c.minute < 60 && c.yday >= 1 && c.yday <= 366);
        }
    }
}
