//! Numeric kernels over the float samples of one series' range window.
//!
//! Every function takes `samples: &[(i64, f64)]`: `(timestamp in ms, value)`
//! pairs sorted by time, already restricted to the left-open window
//! `(start, end]`. The functions know nothing about the AST: the evaluator picks
//! the window, calls the kernel and turns `None` into "no output sample".
//! Semantics follow Prometheus 3.x (`promql/functions.go`), including its
//! Kahan-Babuska-Neumaier compensated sums.

use std::fmt;

use super::math_fns::quantile;

/// One float sample: `(timestamp in milliseconds, value)`.
pub type Sample = (i64, f64);

/// One step of Neumaier's improved Kahan summation: adds `inc` to the running
/// `sum` with compensation `c` and returns the new `(sum, c)`.
///
/// When the new sum is infinite the compensation is reset to 0, as Prometheus does.
/// (Go had to forbid fusing across this call; Rust never contracts float
/// operations into fused multiply-adds nor reassociates them, so inlining is safe.)
#[inline]
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A compensated (Kahan-Babuska-Neumaier) running sum.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    /// An empty sum starting at 0 (how `sum_over_time` starts).
    pub fn new() -> Self {
        Self::default()
    }

    /// A sum seeded with its first value and no compensation (how the `sum`
    /// aggregation starts a group).
    pub fn starting_with(first: f64) -> Self {
        Self { sum: first, c: 0.0 }
    }

    /// Adds one value.
    pub fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }

    /// The compensated total; an infinite running sum is returned as is.
    pub fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            self.sum
        } else {
            self.sum + self.c
        }
    }
}

/// A running mean as Prometheus computes `avg` and `avg_over_time`: a direct
/// compensated sum divided by the count, switching to an incremental
/// (compensated) mean once the running sum would overflow to ±Inf.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KahanMean {
    sum: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl KahanMean {
    /// An empty mean.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value.
    pub fn add(&mut self, v: f64) {
        if self.count == 0.0 {
            self.sum = v;
            self.count = 1.0;
            return;
        }
        self.count += 1.0;
        let count = self.count;
        if !self.incremental {
            let (new_sum, new_c) = kahan_inc(v, self.sum, self.c);
            if !new_sum.is_infinite() {
                (self.sum, self.c) = (new_sum, new_c);
                return;
            }
            self.incremental = true;
            self.mean = self.sum / (count - 1.0);
            self.c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (self.mean, self.c) = kahan_inc(v / count, q * self.mean, q * self.c);
    }

    /// Number of values added.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// The mean, or `None` if nothing was added.
    pub fn value(&self) -> Option<f64> {
        if self.count == 0.0 {
            None
        } else if self.incremental {
            Some(self.mean + self.c)
        } else {
            Some(self.sum / self.count + self.c / self.count)
        }
    }
}

/// `rate` (`is_counter && is_rate`), `increase` (`is_counter`) and `delta`
/// (neither): the change over the window, corrected for counter resets and
/// extrapolated towards the window edges.
///
/// `range_start_ms`/`range_end_ms` are the window bounds after offset
/// (`eval - range - offset`, `eval - offset`); `range_ms` is the selector's range
/// (the per-second divisor for `rate`). Needs at least 2 samples. Each edge is
/// extrapolated all the way if the gap to it is below 1.1× the average sample
/// interval, otherwise by half an interval; counters are never extrapolated below zero.
pub fn extrapolated_rate(
    samples: &[Sample],
    range_start_ms: i64,
    range_end_ms: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let bounds = (range_start_ms, range_end_ms, range_ms);
    extrapolated_rate_scan(samples, bounds, is_counter, is_rate, is_counter)
}

/// [`extrapolated_rate`] with `bounds` = `(range_start_ms, range_end_ms, range_ms)`, looking for
/// counter resets only when `scan_resets` (a caller that knows no sample is below its
/// predecessor passes `false`; the result is then the same).
pub fn extrapolated_rate_scan(
    samples: &[Sample],
    bounds: (i64, i64, i64),
    is_counter: bool,
    is_rate: bool,
    scan_resets: bool,
) -> Option<f64> {
    let (range_start_ms, range_end_ms, range_ms) = bounds;
    if samples.len() < 2 {
        return None;
    }
    let (first_t, first_v) = samples[0];
    let (last_t, last_v) = samples[samples.len() - 1];
    let mut result = last_v - first_v;
    if is_counter && scan_resets {
        for w in samples.windows(2) {
            if w[1].1 < w[0].1 {
                result += w[0].1;
            }
        }
    }
    let mut duration_to_start = (first_t.wrapping_sub(range_start_ms)) as f64 / 1000.0;
    let mut duration_to_end = (range_end_ms.wrapping_sub(last_t)) as f64 / 1000.0;
    let sampled_interval = (last_t.wrapping_sub(first_t)) as f64 / 1000.0;
    let avg_between = sampled_interval / (samples.len() - 1) as f64;
    let threshold = avg_between * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = avg_between / 2.0;
    }
    if is_counter && result > 0.0 && first_v >= 0.0 {
        let duration_to_zero = sampled_interval * (first_v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = avg_between / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` (`is_rate`) and `idelta`: the difference of the last two samples,
/// per second for `irate`. For `irate` a decrease is a counter reset and the
/// last value itself is the increase. `None` with fewer than 2 samples or when
/// the last two share a timestamp.
pub fn instant_value(samples: &[Sample], is_rate: bool) -> Option<f64> {
    let n = samples.len();
    if n < 2 {
        return None;
    }
    let (t0, v0) = samples[n - 2];
    let (t1, v1) = samples[n - 1];
    let interval = t1.wrapping_sub(t0);
    if interval == 0 {
        return None;
    }
    let mut result = v1;
    if !is_rate || v1 >= v0 || v0.is_nan() || v1.is_nan() {
        result = v1 - v0;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// `sum_over_time`: compensated sum of the values.
pub fn sum_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut s = KahanSum::new();
    samples.iter().for_each(|&(_, v)| s.add(v));
    Some(s.value())
}

/// `avg_over_time`: mean of the values (see [`KahanMean`]).
pub fn avg_over_time(samples: &[Sample]) -> Option<f64> {
    let mut m = KahanMean::new();
    samples.iter().for_each(|&(_, v)| m.add(v));
    m.value()
}

/// `count_over_time`: number of samples.
pub fn count_over_time(samples: &[Sample]) -> Option<f64> {
    (!samples.is_empty()).then_some(samples.len() as f64)
}

/// `present_over_time`: 1 if the window holds any sample.
pub fn present_over_time(samples: &[Sample]) -> Option<f64> {
    (!samples.is_empty()).then_some(1.0)
}

/// `last_over_time`: value of the newest sample.
pub fn last_over_time(samples: &[Sample]) -> Option<f64> {
    samples.last().map(|&(_, v)| v)
}

/// `first_over_time`: value of the oldest sample.
pub fn first_over_time(samples: &[Sample]) -> Option<f64> {
    samples.first().map(|&(_, v)| v)
}

/// Shared scan of `min`/`max_over_time` and their `ts_of_` variants: keeps the
/// sample for which `better(cur, best)` holds, and replaces a NaN best by anything.
fn pick_over_time(samples: &[Sample], better: impl Fn(f64, f64) -> bool) -> Option<Sample> {
    let mut best = *samples.first()?;
    for &(t, v) in samples {
        if better(v, best.1) || best.1.is_nan() {
            best = (t, v);
        }
    }
    Some(best)
}

/// `max_over_time`: largest value; NaN only if every value is NaN.
pub fn max_over_time(samples: &[Sample]) -> Option<f64> {
    pick_over_time(samples, |c, b| c > b).map(|s| s.1)
}

/// `min_over_time`: smallest value; NaN only if every value is NaN.
pub fn min_over_time(samples: &[Sample]) -> Option<f64> {
    pick_over_time(samples, |c, b| c < b).map(|s| s.1)
}

/// `ts_of_max_over_time`: timestamp in seconds of the last occurrence of the maximum.
pub fn ts_of_max_over_time(samples: &[Sample]) -> Option<f64> {
    pick_over_time(samples, |c, b| c >= b).map(|s| s.0 as f64 / 1000.0)
}

/// `ts_of_min_over_time`: timestamp in seconds of the last occurrence of the minimum.
pub fn ts_of_min_over_time(samples: &[Sample]) -> Option<f64> {
    pick_over_time(samples, |c, b| c <= b).map(|s| s.0 as f64 / 1000.0)
}

/// `ts_of_first_over_time`: timestamp in seconds of the oldest sample.
pub fn ts_of_first_over_time(samples: &[Sample]) -> Option<f64> {
    samples.first().map(|&(t, _)| t as f64 / 1000.0)
}

/// `ts_of_last_over_time`: timestamp in seconds of the newest sample.
pub fn ts_of_last_over_time(samples: &[Sample]) -> Option<f64> {
    samples.last().map(|&(t, _)| t as f64 / 1000.0)
}

/// `stdvar_over_time`: population variance (Welford with compensated sums).
pub fn stdvar_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, v) in samples {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    Some((aux + c_aux) / count)
}

/// `stddev_over_time`: population standard deviation.
pub fn stddev_over_time(samples: &[Sample]) -> Option<f64> {
    stdvar_over_time(samples).map(f64::sqrt)
}

/// `quantile_over_time`: the φ-quantile of the values (see [`quantile`]).
/// The caller warns if φ is NaN or outside [0, 1].
pub fn quantile_over_time(phi: f64, samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = samples.iter().map(|&(_, v)| v).collect();
    Some(quantile(phi, &mut values))
}

/// `mad_over_time`: median absolute deviation from the median; NaN if any value is NaN.
pub fn mad_over_time(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    if samples.iter().any(|&(_, v)| v.is_nan()) {
        return Some(f64::NAN);
    }
    let mut values: Vec<f64> = samples.iter().map(|&(_, v)| v).collect();
    let median = quantile(0.5, &mut values);
    values.iter_mut().for_each(|v| *v = (*v - median).abs());
    Some(quantile(0.5, &mut values))
}

/// `changes`: how often the value changed between consecutive samples
/// (NaN followed by NaN is no change).
pub fn changes(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let n = samples
        .windows(2)
        .filter(|w| w[1].1 != w[0].1 && !(w[1].1.is_nan() && w[0].1.is_nan()))
        .count();
    Some(n as f64)
}

/// `resets`: how often the value decreased between consecutive samples.
pub fn resets(samples: &[Sample]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    Some(samples.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64)
}

/// Least-squares fit of value against time in seconds relative to
/// `intercept_time_ms`, with compensated sums. Returns `(slope per second,
/// value at intercept_time)`. Constant values give slope 0 (or NaN, NaN if the
/// constant is infinite). Needs at least one sample; callers require two.
pub fn linear_regression(samples: &[Sample], intercept_time_ms: i64) -> (f64, f64) {
    let Some(&(_, init_y)) = samples.first() else {
        return (f64::NAN, f64::NAN);
    };
    let mut n = 0.0;
    let (mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let mut const_y = true;
    for &(t, v) in samples {
        if const_y && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = t.wrapping_sub(intercept_time_ms) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv`: per-second slope of the least-squares line (needs 2 samples).
pub fn deriv(samples: &[Sample]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    Some(linear_regression(samples, samples[0].0).0)
}

/// `predict_linear(v, duration_s)`: the least-squares line evaluated
/// `duration_s` seconds after `eval_ts_ms` (the evaluation time, not the `@`
/// time). Needs 2 samples.
pub fn predict_linear(samples: &[Sample], eval_ts_ms: i64, duration_s: f64) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(samples, eval_ts_ms);
    Some(slope * duration_s + intercept)
}

/// An invalid `double_exponential_smoothing` parameter; the query fails with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SmoothingParamError {
    /// The smoothing factor is not in (0, 1).
    SmoothingFactor(f64),
    /// The trend factor is not in (0, 1).
    TrendFactor(f64),
}

/// Formats like Go's `%f` (six decimals, `NaN`, `+Inf`, `-Inf`).
fn go_percent_f(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() }
    } else {
        format!("{v:.6}")
    }
}

impl fmt::Display for SmoothingParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SmoothingFactor(v) => {
                write!(
                    f,
                    "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                    go_percent_f(v)
                )
            }
            Self::TrendFactor(v) => write!(
                f,
                "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                go_percent_f(v)
            ),
        }
    }
}

impl std::error::Error for SmoothingParamError {}

/// `double_exponential_smoothing(v, sf, tf)` (formerly `holt_winters`).
///
/// Errors if `sf` or `tf` is `<= 0` or `>= 1` (checked before looking at the
/// samples; NaN passes, as in Prometheus). `Ok(None)` with fewer than 2 samples.
pub fn double_exponential_smoothing(samples: &[Sample], sf: f64, tf: f64) -> Result<Option<f64>, SmoothingParamError> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(SmoothingParamError::SmoothingFactor(sf));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(SmoothingParamError::TrendFactor(tf));
    }
    if samples.len() < 2 {
        return Ok(None);
    }
    // s0: previous smoothed value, s1: current smoothed value, b: trend.
    let (mut s0, mut s1) = (0.0, samples[0].1);
    let mut b = samples[1].1 - samples[0].1;
    for (i, &(_, v)) in samples.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}

#[cfg(test)]
#[path = "range_fns_tests.rs"]
mod tests;
