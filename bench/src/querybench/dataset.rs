//! The query benchmark's deterministic dataset, written as Prometheus text with millisecond timestamps.
//!
//! Targets are `(job, instance)` pairs; each carries [`SERIES_PER_TARGET`] series:
//!
//! * `http_requests_total{handler,method,code}`: 4 handlers × 2 methods × 3 codes = 24 counters;
//! * `http_request_duration_seconds_{bucket,sum,count}{handler}`: 4 handlers × (11 `le` buckets + sum
//!   + count) = 52 counters;
//! * 4 gauges (`process_resident_memory_bytes`, `go_goroutines`, `process_open_fds`, `node_load1`).
//!
//! Series are numbered target by target and the first [`DatasetConfig::series`] are kept. Samples fall
//! at `start + k × interval` for `k = 1..=steps`, so the last one is exactly at `end` and none at `start`.
//! Counters grow by whole numbers (a diurnal rate with noise); every seventh target restarts once, so
//! its counters reset. Values depend only on the seed, the series and the step: generating in any chunk
//! size gives the same text.

use std::fmt::Write;

use crate::Result;

/// Jobs, assigned to targets round-robin.
pub const JOBS: [&str; 5] = ["api", "frontend", "auth", "billing", "search"];
/// Handlers; two match `/api/.*`.
pub const HANDLERS: [&str; 4] = ["/api/users", "/api/orders", "/static", "/healthz"];
/// Methods of the request counters.
pub const METHODS: [&str; 2] = ["GET", "POST"];
/// Status codes of the request counters.
pub const CODES: [&str; 3] = ["200", "404", "500"];
/// Upper bounds of the duration histogram, `+Inf` last.
pub const BUCKETS: [&str; 11] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
];
/// Gauge names.
pub const GAUGES: [&str; 4] = [
    "process_resident_memory_bytes",
    "go_goroutines",
    "process_open_fds",
    "node_load1",
];
/// Series of one target.
pub const SERIES_PER_TARGET: usize =
    HANDLERS.len() * METHODS.len() * CODES.len() + HANDLERS.len() * (BUCKETS.len() + 2) + GAUGES.len();
/// Seconds in a day, the period of the diurnal pattern.
const DAY_S: f64 = 86_400.0;

/// What to generate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DatasetConfig {
    /// Number of series.
    pub series: usize,
    /// Hours covered.
    pub hours: u32,
    /// Sample interval in milliseconds.
    pub interval_ms: i64,
    /// Timestamp of the last sample in milliseconds (a multiple of 60 s).
    pub end_ms: i64,
    /// Seed of every value.
    pub seed: u64,
}

impl DatasetConfig {
    /// `series` series over `hours` hours at 15 s, ending at `now - 1 h` rounded down to the minute.
    pub fn ending_before_now(series: usize, hours: u32, now_ms: i64) -> DatasetConfig {
        let end = now_ms - 3_600_000;
        DatasetConfig {
            series,
            hours,
            interval_ms: 15_000,
            end_ms: end - end.rem_euclid(60_000),
            seed: 1,
        }
    }
}

/// What one series is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `http_requests_total`: handler, method, code indices.
    Requests(usize, usize, usize),
    /// A histogram bucket: handler, bucket index.
    Bucket(usize, usize),
    /// The histogram's `_sum`: handler.
    Sum(usize),
    /// The histogram's `_count`: handler.
    Count(usize),
    /// A gauge: index into [`GAUGES`].
    Gauge(usize),
}

/// One series: its target, kind and the text before the value (`name{labels} `).
#[derive(Debug, Clone)]
struct Series {
    target: usize,
    kind: Kind,
    prefix: String,
}

/// The dataset: series catalogue and time range.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The configuration.
    pub config: DatasetConfig,
    series: Vec<Series>,
    targets: usize,
}

/// The kinds of one target's series, in order.
fn target_kinds() -> Vec<Kind> {
    let mut kinds = Vec::with_capacity(SERIES_PER_TARGET);
    for h in 0..HANDLERS.len() {
        for m in 0..METHODS.len() {
            for c in 0..CODES.len() {
                kinds.push(Kind::Requests(h, m, c));
            }
        }
    }
    for h in 0..HANDLERS.len() {
        for b in 0..BUCKETS.len() {
            kinds.push(Kind::Bucket(h, b));
        }
        kinds.push(Kind::Sum(h));
        kinds.push(Kind::Count(h));
    }
    kinds.extend((0..GAUGES.len()).map(Kind::Gauge));
    kinds
}

/// The job of target `t`.
pub fn job_of(target: usize) -> &'static str {
    JOBS[target % JOBS.len()]
}

fn prefix(target: usize, kind: Kind) -> String {
    let base = format!("job=\"{}\",instance=\"node-{target:04}:9100\"", job_of(target));
    match kind {
        Kind::Requests(h, m, c) => format!(
            "http_requests_total{{{base},handler=\"{}\",method=\"{}\",code=\"{}\"}} ",
            HANDLERS[h], METHODS[m], CODES[c]
        ),
        Kind::Bucket(h, b) => format!(
            "http_request_duration_seconds_bucket{{{base},handler=\"{}\",le=\"{}\"}} ",
            HANDLERS[h], BUCKETS[b]
        ),
        Kind::Sum(h) => format!(
            "http_request_duration_seconds_sum{{{base},handler=\"{}\"}} ",
            HANDLERS[h]
        ),
        Kind::Count(h) => format!(
            "http_request_duration_seconds_count{{{base},handler=\"{}\"}} ",
            HANDLERS[h]
        ),
        Kind::Gauge(g) => format!("{}{{{base}}} ", GAUGES[g]),
    }
}

/// SplitMix64 finaliser.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform value in `[0, 1)` from the seed and three coordinates.
fn unit(seed: u64, a: u64, b: u64, c: u64) -> f64 {
    let h = mix(seed ^ mix(a ^ mix(b ^ mix(c))));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl Dataset {
    /// Builds the catalogue; fails on zero series, zero hours or a non-positive interval.
    pub fn new(config: DatasetConfig) -> Result<Dataset> {
        if config.series == 0 || config.hours == 0 || config.interval_ms <= 0 {
            return Err(format!("invalid dataset {config:?}: series, hours and interval must be positive").into());
        }
        let targets = config.series.div_ceil(SERIES_PER_TARGET);
        let kinds = target_kinds();
        let series = (0..targets)
            .flat_map(|t| kinds.iter().map(move |&kind| (t, kind)))
            .take(config.series)
            .map(|(target, kind)| Series {
                target,
                kind,
                prefix: prefix(target, kind),
            })
            .collect();
        Ok(Dataset {
            config,
            series,
            targets,
        })
    }

    /// Number of targets.
    pub fn targets(&self) -> usize {
        self.targets
    }

    /// Samples per series.
    pub fn steps(&self) -> usize {
        (i64::from(self.config.hours) * 3_600_000 / self.config.interval_ms) as usize
    }

    /// Start of the range in milliseconds (no sample there; the first is one interval later).
    pub fn start_ms(&self) -> i64 {
        self.config.end_ms - self.steps() as i64 * self.config.interval_ms
    }

    /// Total samples.
    pub fn num_samples(&self) -> u64 {
        self.series.len() as u64 * self.steps() as u64
    }

    /// Series per job: what `count by (job) (http_requests_total)` must give where every series has a
    /// sample within the lookback.
    pub fn request_series_by_job(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for s in &self.series {
            if matches!(s.kind, Kind::Requests(..)) {
                *counts.entry(job_of(s.target)).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The step (1-based) at which target `t` restarts, if it does.
    fn restart_step(&self, target: usize) -> Option<usize> {
        (target % 7 == 3).then(|| self.steps() * (1 + target % 3) / 4 + 1)
    }

    /// The text in chunks of whole steps, each about `max_bytes` long (at least one step).
    pub fn chunks(&self, max_bytes: usize) -> Chunks<'_> {
        Chunks {
            dataset: self,
            state: vec![0.0; self.series.len()],
            next_step: 1,
            max_bytes,
            requests: vec![0.0; HANDLERS.len()],
        }
    }
}

/// Iterator over the dataset's text, step by step; see [`Dataset::chunks`].
pub struct Chunks<'a> {
    dataset: &'a Dataset,
    /// Current value of every counter.
    state: Vec<f64>,
    next_step: usize,
    max_bytes: usize,
    /// Requests of the current step and target, per handler (shared by the histogram's series).
    requests: Vec<f64>,
}

impl Chunks<'_> {
    /// Appends step `step` of every series to `out`.
    fn write_step(&mut self, step: usize, out: &mut String) {
        let ds = self.dataset;
        let seed = ds.config.seed;
        let t_ms = ds.start_ms() + step as i64 * ds.config.interval_ms;
        let interval_s = ds.config.interval_ms as f64 / 1000.0;
        let phase = (t_ms as f64 / 1000.0 / DAY_S) * std::f64::consts::TAU;
        let diurnal = 1.0 + 0.5 * phase.sin();
        let mut current_target = usize::MAX;
        for (i, series) in ds.series.iter().enumerate() {
            let target = series.target;
            let (s, st, tg) = (i as u64, step as u64, target as u64);
            if target != current_target {
                current_target = target;
                for (h, r) in self.requests.iter_mut().enumerate() {
                    let base = [12.0, 6.0, 20.0, 1.0][h] * (1.0 + (tg % 5) as f64 * 0.2);
                    *r = (base * interval_s * diurnal + unit(seed, tg, st, 1000 + h as u64)).floor();
                }
            }
            let restart = ds.restart_step(target) == Some(step);
            let value = match series.kind {
                Kind::Gauge(g) => {
                    let u = unit(seed, s, st, 7);
                    match g {
                        0 => (2.0e8 + 4.0e7 * diurnal + 1.0e6 * (tg % 13) as f64 + 1.0e5 * u).round(),
                        1 => (60.0 + 40.0 * diurnal + 20.0 * u).round(),
                        2 => (30.0 + (tg % 17) as f64 + 5.0 * u).round(),
                        _ => ((0.5 + diurnal + u) * 100.0).round() / 100.0,
                    }
                }
                kind => {
                    let increment = match kind {
                        Kind::Requests(h, m, c) => {
                            let share = [0.9, 0.07, 0.03][c] * [0.8, 0.2][m];
                            (self.requests[h] * share + unit(seed, s, st, 3)).floor()
                        }
                        Kind::Bucket(h, b) => {
                            // Cumulative share below the bound: the slower the handler, the later.
                            let shift = [2.0, 3.0, 0.0, -1.0][h];
                            let cdf = if b + 1 == BUCKETS.len() {
                                1.0
                            } else {
                                1.0 / (1.0 + (-(b as f64 - 3.0 - shift) * 1.3).exp())
                            };
                            (self.requests[h] * cdf).floor()
                        }
                        Kind::Sum(h) => {
                            let mean = [0.08, 0.2, 0.01, 0.002][h];
                            (self.requests[h] * mean * (0.9 + 0.2 * unit(seed, tg, st, 2000 + h as u64)) * 1000.0)
                                .round()
                                / 1000.0
                        }
                        Kind::Count(h) => self.requests[h],
                        Kind::Gauge(_) => 0.0,
                    };
                    let state = &mut self.state[i];
                    if restart {
                        *state = 0.0;
                    }
                    *state = ((*state + increment) * 1000.0).round() / 1000.0;
                    *state
                }
            };
            out.push_str(&series.prefix);
            let _ = writeln!(out, "{value} {t_ms}");
        }
    }
}

impl Iterator for Chunks<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let steps = self.dataset.steps();
        if self.next_step > steps {
            return None;
        }
        let mut out = String::with_capacity(self.max_bytes.min(1 << 28) + (1 << 20));
        while self.next_step <= steps && (out.is_empty() || out.len() < self.max_bytes) {
            let step = self.next_step;
            self.write_step(step, &mut out);
            self.next_step += 1;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(series: usize) -> Dataset {
        Dataset::new(DatasetConfig {
            series,
            hours: 1,
            interval_ms: 15_000,
            end_ms: 1_700_000_040_000,
            seed: 1,
        })
        .expect("valid")
    }

    #[test]
    fn counts_series_and_samples() {
        assert_eq!(SERIES_PER_TARGET, 80);
        let ds = small(170);
        assert_eq!(ds.targets(), 3);
        assert_eq!(ds.steps(), 240);
        assert_eq!(ds.num_samples(), 170 * 240);
        assert_eq!(ds.start_ms(), 1_700_000_040_000 - 3_600_000);
        let text: String = ds.chunks(1 << 20).collect();
        assert_eq!(text.lines().count(), 170 * 240);
        let first = text.lines().next().expect("a line");
        assert_eq!(
            first.rsplit(' ').next(),
            Some((ds.start_ms() + 15_000).to_string().as_str()),
            "first sample one interval after start"
        );
        assert!(text.lines().last().expect("a line").ends_with(" 1700000040000"));
        // Three targets: api, frontend, auth; 24 request counters each, the third target truncated.
        let by_job = ds.request_series_by_job();
        assert_eq!(by_job.get("api"), Some(&24));
        assert_eq!(by_job.get("auth"), Some(&10));
        assert_eq!(ds.request_series_by_job().values().sum::<usize>(), 58);
        assert!(
            Dataset::new(DatasetConfig {
                series: 0,
                ..ds.config.clone()
            })
            .is_err()
        );
    }

    #[test]
    fn is_deterministic_in_any_chunk_size() {
        let a: String = small(200).chunks(1).collect();
        let b: String = small(200).chunks(1 << 30).collect();
        assert_eq!(a, b);
        assert!(small(200).chunks(1).count() == 240);
        let other = Dataset::new(DatasetConfig {
            seed: 2,
            ..small(200).config
        })
        .expect("valid");
        assert_ne!(a, other.chunks(1 << 30).collect::<String>());
    }

    /// Values of one series (by its exact prefix) in time order.
    fn values(text: &str, prefix: &str) -> Vec<f64> {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.split(' ').next().and_then(|v| v.parse().ok()).expect("value"))
            .collect()
    }

    #[test]
    fn counters_grow_buckets_are_cumulative_and_resets_happen() {
        let ds = small(320); // targets 0..3; target 3 restarts
        let text: String = ds.chunks(1 << 20).collect();
        let base = "job=\"api\",instance=\"node-0000:9100\"";
        let requests = values(
            &text,
            &format!("http_requests_total{{{base},handler=\"/api/users\",method=\"GET\",code=\"200\"}} "),
        );
        assert_eq!(requests.len(), 240);
        assert!(requests.windows(2).all(|w| w[1] >= w[0]), "no reset on target 0");
        assert!(requests[239] > 1000.0);
        let bucket = |le: &str| {
            values(
                &text,
                &format!("http_request_duration_seconds_bucket{{{base},handler=\"/static\",le=\"{le}\"}} "),
            )
        };
        let count = values(
            &text,
            &format!("http_request_duration_seconds_count{{{base},handler=\"/static\"}} "),
        );
        assert_eq!(bucket("+Inf"), count);
        let (low, high) = (bucket("0.01"), bucket("0.5"));
        assert!(low.iter().zip(&high).all(|(l, h)| l <= h));
        let restarted = values(
            &text,
            "http_requests_total{job=\"billing\",instance=\"node-0003:9100\",handler=\"/static\",method=\"GET\",code=\"200\"} ",
        );
        let drops = restarted.windows(2).filter(|w| w[1] < w[0]).count();
        assert_eq!(drops, 1);
        let gauge = values(&text, &format!("go_goroutines{{{base}}} "));
        assert_eq!(gauge.len(), 240);
        assert!(gauge.iter().all(|v| (40.0..=150.0).contains(v)));
    }
}
