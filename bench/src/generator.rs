//! Values of the dataset, generated scrape round by scrape round into a reusable [`Window`].
//!
//! Timestamps: round `r` of target `k` is scraped at `start + r * 15 s + offset_k + jitter`, the jitter
//! a uniform integer in `[-jitter_ms, jitter_ms]`; all series of a target share the timestamp, as in a
//! real scrape. Values follow the processes described in [`crate::dataset`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dataset::{BUCKETS, COUNTERS, Dataset, GAUGES_FULL, GAUGES_ROUNDED, INTERVAL_MS, Unit};

/// Chance per scrape that a target restarts (resetting its counters): about once a day.
const RESTART_PROBABILITY: f64 = 1.0 / 5_760.0;
/// Mean-reversion strength of gauges per scrape.
const GAUGE_REVERSION: f64 = 0.01;
/// Above this many expected events per scrape, counts use a normal approximation.
const EXACT_EVENTS_LIMIT: f64 = 30.0;

/// Generated scrape rounds: timestamps per (round, target) and values per (round, series).
#[derive(Debug, Default)]
pub struct Window {
    /// Rounds held.
    pub rounds: usize,
    num_targets: usize,
    num_series: usize,
    times: Vec<i64>,
    values: Vec<f64>,
}

impl Window {
    /// Scrape timestamp of `target` in `round`.
    pub fn time(&self, round: usize, target: usize) -> i64 {
        self.times[round * self.num_targets + target]
    }

    /// Values of every series in `round`, in series order.
    pub fn values(&self, round: usize) -> &[f64] {
        &self.values[round * self.num_series..(round + 1) * self.num_series]
    }
}

/// State of one generated unit.
#[derive(Debug, Clone)]
enum State {
    Counter {
        value: f64,
        /// Expected increment per scrape.
        mean: f64,
    },
    Gauge {
        x: f64,
        mu: f64,
        sigma: f64,
        lo: f64,
        hi: f64,
        rounded: bool,
    },
    Histogram {
        /// Expected observations per scrape.
        mean: f64,
        /// Probability of an observation falling in each bucket (not cumulative).
        probabilities: [f64; BUCKETS.len()],
        /// Mean observed value.
        observed_mean: f64,
        counts: [f64; BUCKETS.len()],
        sum: f64,
        count: f64,
    },
}

/// Produces the dataset's samples in time order.
pub struct Generator {
    rng: ChaCha8Rng,
    start_ms: i64,
    jitter_ms: i64,
    steps: usize,
    step: usize,
    num_series: usize,
    /// Per target: offset, first series, unit states.
    targets: Vec<(i64, usize, Vec<State>)>,
}

impl Generator {
    /// A generator positioned at the first scrape round of `dataset`.
    pub fn new(dataset: &Dataset) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(dataset.config.seed ^ 0x005e_ed0f_da7a);
        let targets = dataset
            .targets
            .iter()
            .map(|t| {
                let states = t.units.iter().map(|u| initial_state(*u, &mut rng)).collect();
                (t.offset_ms, t.first_series, states)
            })
            .collect();
        Generator {
            rng,
            start_ms: dataset.config.start_ms,
            jitter_ms: dataset.config.jitter_ms,
            steps: dataset.steps(),
            step: 0,
            num_series: dataset.series.len(),
            targets,
        }
    }

    /// Scrape rounds not generated yet.
    pub fn remaining(&self) -> usize {
        self.steps - self.step
    }

    /// Replaces the content of `window` with the next `max_rounds` rounds (fewer at the end); returns
    /// the number generated. The window's buffers are reused.
    pub fn fill(&mut self, window: &mut Window, max_rounds: usize) -> usize {
        let rounds = max_rounds.min(self.remaining());
        window.rounds = rounds;
        window.num_targets = self.targets.len();
        window.num_series = self.num_series;
        window.times.clear();
        window.times.resize(rounds * self.targets.len(), 0);
        window.values.clear();
        window.values.resize(rounds * self.num_series, 0.0);
        for round in 0..rounds {
            let base = self.start_ms + self.step as i64 * INTERVAL_MS;
            let values = &mut window.values[round * self.num_series..(round + 1) * self.num_series];
            for (k, (offset, first, states)) in self.targets.iter_mut().enumerate() {
                let jitter = if self.jitter_ms > 0 {
                    self.rng.random_range(-self.jitter_ms..=self.jitter_ms)
                } else {
                    0
                };
                window.times[round * window.num_targets + k] = base + *offset + jitter;
                let restart = self.rng.random_bool(RESTART_PROBABILITY);
                let mut at = *first;
                for state in states.iter_mut() {
                    at += advance(state, restart, &mut self.rng, &mut values[at..]);
                }
            }
            self.step += 1;
        }
        rounds
    }
}

/// A unit's parameters, drawn once.
fn initial_state(unit: Unit, rng: &mut ChaCha8Rng) -> State {
    match unit {
        Unit::Counter { family } => {
            let (.., lo, hi) = COUNTERS[family];
            let rate = log_uniform(rng, lo, hi);
            State::Counter {
                value: (rate * rng.random_range(0.0..86_400.0)).round(),
                mean: rate * INTERVAL_MS as f64 / 1000.0,
            }
        }
        Unit::Gauge { family, rounded } => {
            let (.., mu, sigma, lo, hi) = if rounded {
                GAUGES_ROUNDED[family]
            } else {
                GAUGES_FULL[family]
            };
            let mu = (mu * rng.random_range(0.7..1.3)).clamp(lo, hi);
            State::Gauge {
                x: mu,
                mu,
                sigma: sigma * rng.random_range(0.5..2.0),
                lo,
                hi,
                rounded,
            }
        }
        Unit::Histogram { .. } => {
            let rate = log_uniform(rng, 0.05, 50.0);
            let median = log_uniform(rng, 0.005, 0.5);
            let spread = rng.random_range(0.4..1.2);
            let mut probabilities = [0.0; BUCKETS.len()];
            let mut below = 0.0;
            for (p, le) in probabilities.iter_mut().zip(BUCKETS) {
                let cdf = if le.is_finite() {
                    normal_cdf((le.ln() - f64::ln(median)) / spread)
                } else {
                    1.0
                };
                *p = (cdf - below).max(0.0);
                below = cdf;
            }
            State::Histogram {
                mean: rate * INTERVAL_MS as f64 / 1000.0,
                probabilities,
                observed_mean: median * (spread * spread / 2.0).exp(),
                counts: [0.0; BUCKETS.len()],
                sum: 0.0,
                count: 0.0,
            }
        }
    }
}

/// Advances `state` by one scrape, writes its series' values to the front of `out` and returns how
/// many it wrote.
fn advance(state: &mut State, restart: bool, rng: &mut ChaCha8Rng, out: &mut [f64]) -> usize {
    match state {
        State::Counter { value, mean } => {
            if restart {
                *value = 0.0;
            }
            *value += events(rng, *mean);
            out[0] = *value;
            1
        }
        State::Gauge {
            x,
            mu,
            sigma,
            lo,
            hi,
            rounded,
        } => {
            *x = (*x + GAUGE_REVERSION * (*mu - *x) + *sigma * normal(rng)).clamp(*lo, *hi);
            out[0] = if *rounded { (*x * 100.0).round() / 100.0 } else { *x };
            1
        }
        State::Histogram {
            mean,
            probabilities,
            observed_mean,
            counts,
            sum,
            count,
        } => {
            if restart {
                *counts = [0.0; BUCKETS.len()];
                *sum = 0.0;
                *count = 0.0;
            }
            let n = events(rng, *mean);
            // Multinomial split of the n observations, bucket by bucket.
            let (mut left, mut mass, mut cumulative) = (n, 1.0, 0.0);
            for (i, p) in probabilities.iter().enumerate() {
                let here = if i + 1 == BUCKETS.len() || mass <= 0.0 {
                    left
                } else {
                    binomial(rng, left, (p / mass).clamp(0.0, 1.0))
                };
                left -= here;
                mass -= p;
                cumulative += here;
                counts[i] += cumulative;
            }
            if n > 0.0 {
                *sum += n * *observed_mean * (1.0 + 0.05 * normal(rng)).max(0.1);
            }
            *count += n;
            out[..BUCKETS.len()].copy_from_slice(counts);
            out[BUCKETS.len()] = *sum;
            out[BUCKETS.len() + 1] = *count;
            BUCKETS.len() + 2
        }
    }
}

/// A random count of events with mean `mean`: Poisson when small, else normal with 20 % extra spread
/// (traffic is burstier than Poisson).
fn events(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean < EXACT_EVENTS_LIMIT {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0.0, rng.random::<f64>());
        while p > limit {
            k += 1.0;
            p *= rng.random::<f64>();
        }
        k
    } else {
        (mean * (1.0 + 0.2 * normal(rng))).round().max(0.0)
    }
}

/// A binomial(n, p) draw: exact for small n, normal approximation above.
fn binomial(rng: &mut ChaCha8Rng, n: f64, p: f64) -> f64 {
    if n < EXACT_EVENTS_LIMIT {
        let mut k = 0.0;
        for _ in 0..n as u32 {
            if rng.random::<f64>() < p {
                k += 1.0;
            }
        }
        k
    } else {
        (n * p + (n * p * (1.0 - p)).sqrt() * normal(rng)).round().clamp(0.0, n)
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Uniform on a log scale between `lo` and `hi`.
fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// Standard normal CDF via the Abramowitz–Stegun 7.1.26 erf approximation (error below 2e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{DatasetConfig, Kind};

    fn small() -> Dataset {
        Dataset::new(DatasetConfig {
            series: 300,
            hours: 1,
            series_per_target: 100,
            ..DatasetConfig::default()
        })
        .expect("valid config")
    }

    #[test]
    fn values_follow_their_kind() {
        let dataset = small();
        let mut generator = Generator::new(&dataset);
        let mut window = Window::default();
        assert_eq!(generator.fill(&mut window, 1000), 240);
        assert_eq!(generator.remaining(), 0);
        for (i, spec) in dataset.series.iter().enumerate() {
            let values: Vec<f64> = (0..window.rounds).map(|r| window.values(r)[i]).collect();
            assert!(values.iter().all(|v| v.is_finite() && *v >= 0.0), "{}", spec.labels);
            match spec.kind {
                Kind::Counter | Kind::Bucket | Kind::HistogramCount => {
                    assert!(values.iter().all(|v| v.fract() == 0.0), "{}", spec.labels)
                }
                Kind::GaugeRounded => assert!(
                    values.iter().all(|v| ((v * 100.0).round() / 100.0) == *v),
                    "{}",
                    spec.labels
                ),
                _ => {}
            }
        }
        // The +Inf bucket equals _count and buckets are cumulative.
        let first_bucket = dataset
            .series
            .iter()
            .position(|s| s.kind == Kind::Bucket)
            .expect("a histogram");
        for r in 0..window.rounds {
            let v = &window.values(r)[first_bucket..first_bucket + 14];
            assert!(v[..12].windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(v[11], v[13]);
        }
    }

    #[test]
    fn timestamps_are_jittered_around_the_grid_and_deterministic() {
        let dataset = small();
        let (mut a, mut b) = (Window::default(), Window::default());
        Generator::new(&dataset).fill(&mut a, 10);
        Generator::new(&dataset).fill(&mut b, 10);
        assert_eq!(a.values, b.values);
        assert_eq!(a.times, b.times);
        for (k, target) in dataset.targets.iter().enumerate() {
            for r in 0..10 {
                let ideal = dataset.config.start_ms + r as i64 * INTERVAL_MS + target.offset_ms;
                assert!((a.time(r, k) - ideal).abs() <= dataset.config.jitter_ms);
            }
        }
    }

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }
}
