//! The synthetic targets' expositions: deterministic Prometheus text format 0.0.4 whose values change at
//! every scrape.
//!
//! Each target exposes `series` series split into three families (see [`Layout`]):
//!
//! * `bench_requests_total{handler, method, code, region}`: counters that grow by 0-19 per scrape;
//! * `bench_queue_depth{pool, shard, zone}`: float gauges on a random walk (full `f64` precision, as
//!   real exporters print them);
//! * `bench_request_duration_seconds{route, le}`: classic histograms (11 finite `le` buckets, `+Inf`,
//!   `_sum`, `_count`), 0-9 observations per scrape.
//!
//! A [`TargetState`] holds one target's values; [`TargetState::next_exposition`] advances them one step
//! and renders the text. The n-th exposition of target `t` depends only on the seed, `t`, `n` and the
//! series count.

use std::fmt::Write;

/// Upper bounds of the histograms' finite buckets.
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Series of one histogram label set: the finite buckets, `+Inf`, `_sum` and `_count`.
pub const SERIES_PER_HISTOGRAM: usize = BUCKETS.len() + 3;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const CODES: [&str; 5] = ["200", "201", "404", "429", "500"];
const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-south-1"];
const ZONES: [&str; 3] = ["a", "b", "c"];

/// How a target's series are split between the three families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Counter series.
    pub counters: usize,
    /// Gauge series.
    pub gauges: usize,
    /// Histogram label sets (each [`SERIES_PER_HISTOGRAM`] series).
    pub histograms: usize,
}

impl Layout {
    /// About a fifth of the series in histograms, 30 % gauges, the rest counters; always `series` in all.
    pub fn for_series(series: usize) -> Layout {
        let histograms = series / 5 / SERIES_PER_HISTOGRAM;
        let gauges = series * 3 / 10;
        Layout {
            counters: series - histograms * SERIES_PER_HISTOGRAM - gauges,
            gauges,
            histograms,
        }
    }

    /// Series in all.
    pub fn series(&self) -> usize {
        self.counters + self.gauges + self.histograms * SERIES_PER_HISTOGRAM
    }
}

/// SplitMix64: a small, fast, deterministic generator.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One histogram label set's cumulative state.
#[derive(Debug, Clone, Default)]
struct HistogramState {
    /// Observations at or below each finite bucket's bound.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// One synthetic target's values.
#[derive(Debug, Clone)]
pub struct TargetState {
    layout: Layout,
    rng: SplitMix,
    scrapes: u64,
    counters: Vec<u64>,
    gauges: Vec<f64>,
    histograms: Vec<HistogramState>,
}

impl TargetState {
    /// Target number `target` of a run seeded with `seed`, exposing `series` series.
    pub fn new(seed: u64, target: usize, series: usize) -> TargetState {
        let layout = Layout::for_series(series);
        let mut rng = SplitMix(seed ^ (target as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        let counters = (0..layout.counters).map(|_| rng.next() % 1_000_000).collect();
        let gauges = (0..layout.gauges)
            .map(|_| (rng.unit() * 1000.0).round() / 10.0)
            .collect();
        TargetState {
            layout,
            rng,
            scrapes: 0,
            counters,
            gauges,
            histograms: vec![HistogramState::default(); layout.histograms],
        }
    }

    /// The split of this target's series.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Series per exposition.
    pub fn series(&self) -> usize {
        self.layout.series()
    }

    /// Expositions rendered so far.
    pub fn scrapes(&self) -> u64 {
        self.scrapes
    }

    /// Advances every value one step and renders the exposition into `out` (cleared first).
    pub fn next_exposition(&mut self, out: &mut String) {
        self.advance();
        out.clear();
        self.render(out);
    }

    fn advance(&mut self) {
        self.scrapes += 1;
        for counter in &mut self.counters {
            *counter += self.rng.next() % 20;
        }
        for gauge in &mut self.gauges {
            *gauge += (self.rng.unit() - 0.5) * 2.0;
        }
        for histogram in &mut self.histograms {
            let observations = self.rng.next() % 10;
            for _ in 0..observations {
                // Exponential with a 0.2 s mean: spreads over the buckets.
                let value = -(1.0 - self.rng.unit()).ln() * 0.2;
                for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
                    if value <= bound {
                        *bucket += 1;
                    }
                }
                histogram.count += 1;
                histogram.sum += value;
            }
        }
    }

    fn render(&self, out: &mut String) {
        // `write!` into a String cannot fail.
        if !self.counters.is_empty() {
            out.push_str("# HELP bench_requests_total Requests handled.\n# TYPE bench_requests_total counter\n");
        }
        for (i, value) in self.counters.iter().enumerate() {
            let _ = writeln!(
                out,
                "bench_requests_total{{handler=\"/api/v1/resource/{}\",method=\"{}\",code=\"{}\",region=\"{}\"}} {value}",
                i / 20,
                METHODS[i % 4],
                CODES[(i / 4) % 5],
                REGIONS[(i / 20) % 3],
            );
        }
        if !self.gauges.is_empty() {
            out.push_str("# HELP bench_queue_depth Items waiting in a queue.\n# TYPE bench_queue_depth gauge\n");
        }
        for (i, value) in self.gauges.iter().enumerate() {
            let _ = writeln!(
                out,
                "bench_queue_depth{{pool=\"pool-{}\",shard=\"{}\",zone=\"{}\"}} {value}",
                i / 8,
                i % 8,
                ZONES[(i / 8) % 3],
            );
        }
        if !self.histograms.is_empty() {
            out.push_str(
                "# HELP bench_request_duration_seconds Request latency.\n\
                 # TYPE bench_request_duration_seconds histogram\n",
            );
        }
        for (i, histogram) in self.histograms.iter().enumerate() {
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                let _ = writeln!(
                    out,
                    "bench_request_duration_seconds_bucket{{route=\"/r/{i}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "bench_request_duration_seconds_bucket{{route=\"/r/{i}\",le=\"+Inf\"}} {}\n\
                 bench_request_duration_seconds_sum{{route=\"/r/{i}\"}} {}\n\
                 bench_request_duration_seconds_count{{route=\"/r/{i}\"}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Entry, Format, parse_all};
    use std::collections::HashSet;

    fn samples(text: &str) -> Vec<scraper::ParsedSample<'_>> {
        parse_all(text, Format::PrometheusText)
            .expect("the exposition parses")
            .into_iter()
            .filter_map(|e| match e {
                Entry::Sample(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn layout_adds_up() {
        assert_eq!(
            Layout::for_series(1000),
            Layout {
                counters: 504,
                gauges: 300,
                histograms: 14
            }
        );
        for n in [0, 1, 7, 10, 69, 70, 100, 999, 1000, 5000] {
            assert_eq!(Layout::for_series(n).series(), n, "series {n}");
        }
    }

    #[test]
    fn exposition_has_the_series_count_and_unique_series() {
        for n in [10, 100, 1000] {
            let mut state = TargetState::new(1, 3, n);
            let mut text = String::new();
            state.next_exposition(&mut text);
            let parsed = samples(&text);
            assert_eq!(parsed.len(), n, "series {n}");
            let keys: HashSet<String> = parsed.iter().map(|s| format!("{}{:?}", s.name, s.labels)).collect();
            assert_eq!(keys.len(), n, "unique series {n}");
        }
    }

    #[test]
    fn deterministic_and_distinct_per_target() {
        let render = |target, steps| {
            let mut state = TargetState::new(42, target, 100);
            let mut text = String::new();
            for _ in 0..steps {
                state.next_exposition(&mut text);
            }
            text
        };
        assert_eq!(render(0, 3), render(0, 3));
        assert_ne!(render(0, 3), render(1, 3));
        assert_ne!(render(0, 3), render(0, 4));
        let mut state = TargetState::new(42, 0, 100);
        let mut text = String::new();
        state.next_exposition(&mut text);
        assert_eq!(state.scrapes(), 1);
        // The first lines are fixed by the seed.
        let first: Vec<&str> = text.lines().take(3).collect();
        assert_eq!(first[0], "# HELP bench_requests_total Requests handled.");
        assert_eq!(first[1], "# TYPE bench_requests_total counter");
        assert!(
            first[2].starts_with(
                "bench_requests_total{handler=\"/api/v1/resource/0\",method=\"GET\",code=\"200\",region=\"eu-west-1\"} "
            ),
            "{}",
            first[2]
        );
    }

    #[test]
    fn values_change_at_every_scrape_and_counters_never_fall() {
        let mut state = TargetState::new(7, 0, 1000);
        let mut a = String::new();
        let mut b = String::new();
        state.next_exposition(&mut a);
        state.next_exposition(&mut b);
        let (a, b) = (samples(&a), samples(&b));
        let gauges_changed = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| x.name == "bench_queue_depth" && x.value != y.value)
            .count();
        assert_eq!(gauges_changed, 300);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.name, y.name);
            if x.name != "bench_queue_depth" {
                assert!(y.value >= x.value, "{} {:?}", x.name, x.labels);
            }
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut state = TargetState::new(9, 2, 1000);
        let mut text = String::new();
        for _ in 0..20 {
            state.next_exposition(&mut text);
        }
        let parsed = samples(&text);
        let buckets: Vec<f64> = parsed
            .iter()
            .filter(|s| s.name == "bench_request_duration_seconds_bucket" && s.labels[0].1 == "/r/0")
            .map(|s| s.value)
            .collect();
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        let count = parsed
            .iter()
            .find(|s| s.name == "bench_request_duration_seconds_count" && s.labels[0].1 == "/r/0")
            .map(|s| s.value);
        assert_eq!(count, buckets.last().copied());
        assert!(buckets.last().is_some_and(|&c| c > 0.0));
    }
}
