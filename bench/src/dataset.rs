//! The synthetic dataset: scrape targets, their series and label sets.
//!
//! Series are grouped by target (`job`, `instance`) like the output of one scrape, about
//! `series_per_target` each. Every target exposes the same mix:
//!
//! * ~40 % **counters** (`*_total`): integer increments at per-series rates spanning five orders of
//!   magnitude, reset to zero when the target "restarts" (about once a day per target);
//! * ~30 % **gauges**: mean-reverting random walks; half keep full `f64` precision (load, ratios), half
//!   are rounded to 2 decimals as many exporters print them (temperatures, percentages);
//! * ~30 % **histograms**: families of 12 cumulative `*_bucket` series (`le` 0.005 … +Inf) plus
//!   `*_sum` (a float counter) and `*_count`, 14 series per histogram.
//!
//! Everything is derived from a seed, so two runs with the same configuration see the same data.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tsdb::{Labels, Matcher, labels::matches_labels};

use crate::Result;

/// Scrape interval in milliseconds.
pub const INTERVAL_MS: i64 = 15_000;
/// Default first scrape round: 2023-11-14 00:00:00 UTC, a day (and so block-range) boundary.
pub const DEFAULT_START_MS: i64 = 1_699_920_000_000;
/// Upper bounds of the histogram buckets (Prometheus's default buckets).
pub const BUCKETS: [f64; 12] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];
/// `le` label values of [`BUCKETS`].
const LE: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
/// Series of one histogram: the buckets, `_sum` and `_count`.
pub const SERIES_PER_HISTOGRAM: usize = BUCKETS.len() + 2;

/// Counter families: metric name, extra label name, label value prefix, increments per second (range).
pub(crate) const COUNTERS: [(&str, &str, &str, f64, f64); 6] = [
    ("http_requests_total", "handler", "/api/v1/resource", 0.01, 100.0),
    ("node_network_receive_bytes_total", "device", "eth", 1e3, 1e7),
    ("node_network_transmit_packets_total", "device", "eth", 1.0, 1e4),
    ("process_context_switches_total", "cpu", "", 1.0, 1e3),
    ("app_errors_total", "reason", "reason", 1e-4, 0.1),
    ("app_jobs_processed_total", "queue", "queue", 0.1, 50.0),
];
/// Full-precision gauge families: name, extra label, prefix, mean, step standard deviation, bounds.
pub(crate) const GAUGES_FULL: [(&str, &str, &str, f64, f64, f64, f64); 3] = [
    ("node_load1", "core_group", "group", 2.0, 0.05, 0.0, 64.0),
    ("process_cpu_usage_ratio", "process", "worker", 0.35, 0.01, 0.0, 1.0),
    ("jvm_memory_used_ratio", "pool", "pool", 0.6, 0.005, 0.0, 1.0),
];
/// Gauge families printed with 2 decimals: same fields as [`GAUGES_FULL`].
pub(crate) const GAUGES_ROUNDED: [(&str, &str, &str, f64, f64, f64, f64); 3] = [
    ("node_hwmon_temp_celsius", "sensor", "temp", 55.0, 0.1, -20.0, 120.0),
    (
        "node_filesystem_used_percent",
        "mountpoint",
        "/data",
        70.0,
        0.02,
        0.0,
        100.0,
    ),
    ("queue_latency_milliseconds", "queue", "queue", 20.0, 0.5, 0.0, 10_000.0),
];
/// Histogram families: base name, extra label, prefix.
pub(crate) const HISTOGRAMS: [(&str, &str, &str); 3] = [
    ("http_request_duration_seconds", "handler", "/api/v1/resource"),
    ("rpc_duration_seconds", "method", "Service/Method"),
    ("db_query_duration_seconds", "query", "query"),
];
/// Jobs targets are spread over, round robin.
const JOBS: [&str; 5] = ["api", "node", "db", "cache", "gateway"];

/// What a series is, for per-kind figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Integer counter.
    Counter,
    /// Random-walk gauge at full precision.
    GaugeFull,
    /// Random-walk gauge rounded to 2 decimals.
    GaugeRounded,
    /// Cumulative histogram bucket.
    Bucket,
    /// Histogram `_sum` (float counter).
    HistogramSum,
    /// Histogram `_count`.
    HistogramCount,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 6] = [
        Kind::Counter,
        Kind::GaugeFull,
        Kind::GaugeRounded,
        Kind::Bucket,
        Kind::HistogramSum,
        Kind::HistogramCount,
    ];

    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::GaugeFull => "gauge (full precision)",
            Kind::GaugeRounded => "gauge (2 decimals)",
            Kind::Bucket => "histogram _bucket",
            Kind::HistogramSum => "histogram _sum",
            Kind::HistogramCount => "histogram _count",
        }
    }

    /// The kind of a series of this dataset, from its metric name.
    pub fn of_metric(name: &str) -> Option<Kind> {
        if name.ends_with("_bucket") {
            Some(Kind::Bucket)
        } else if name.ends_with("_sum") {
            Some(Kind::HistogramSum)
        } else if name.ends_with("_count") {
            Some(Kind::HistogramCount)
        } else if name.ends_with("_total") {
            Some(Kind::Counter)
        } else if GAUGES_ROUNDED.iter().any(|g| g.0 == name) {
            Some(Kind::GaugeRounded)
        } else if GAUGES_FULL.iter().any(|g| g.0 == name) {
            Some(Kind::GaugeFull)
        } else {
            None
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetConfig {
    /// Number of series.
    pub series: usize,
    /// Hours of data.
    pub hours: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Scrape timestamps deviate from the ideal grid by a uniform integer in `[-jitter_ms, jitter_ms]`.
    /// Default 0: Prometheus-style scrapers store the scheduled time when the real one is within
    /// 2 ms of it (`--scrape.timestamp-tolerance`), so stored timestamps sit on the grid; pass
    /// `--jitter-ms 2` to see raw, unaligned timestamps.
    pub jitter_ms: i64,
    /// Series per target (the last target takes the remainder).
    pub series_per_target: usize,
    /// Timestamp of the first scrape round (before each target's offset), in ms.
    pub start_ms: i64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            series: 10_000,
            hours: 24,
            seed: 42,
            jitter_ms: 0,
            series_per_target: 250,
            start_ms: DEFAULT_START_MS,
        }
    }
}

/// One group of series generated together.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unit {
    /// A counter of family `COUNTERS[family]`.
    Counter { family: usize },
    /// A gauge of `GAUGES_ROUNDED[family]` when `rounded`, else of `GAUGES_FULL[family]`.
    Gauge { family: usize, rounded: bool },
    /// A histogram of `HISTOGRAMS[family]`: [`SERIES_PER_HISTOGRAM`] series.
    Histogram { family: usize },
}

/// A scrape target: a contiguous range of series scraped (and committed) together.
#[derive(Debug, Clone)]
pub struct Target {
    /// `job` label.
    pub job: String,
    /// `instance` label.
    pub instance: String,
    /// Where in the 15 s interval this target is scraped, in ms.
    pub offset_ms: i64,
    /// Index of its first series in [`Dataset::series`].
    pub first_series: usize,
    /// Number of its series.
    pub num_series: usize,
    pub(crate) units: Vec<Unit>,
}

/// One series of the dataset.
#[derive(Debug, Clone)]
pub struct SeriesSpec {
    /// Its labels.
    pub labels: Labels,
    /// Its kind.
    pub kind: Kind,
    /// Index of its target.
    pub target: usize,
}

/// The series layout of a dataset (values come from [`crate::generator::Generator`]).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The configuration it was built from.
    pub config: DatasetConfig,
    /// Targets, in series order.
    pub targets: Vec<Target>,
    /// Every series, grouped by target.
    pub series: Vec<SeriesSpec>,
}

impl Dataset {
    /// Lays the dataset out; rejects empty or absurd configurations.
    pub fn new(config: DatasetConfig) -> Result<Dataset> {
        if config.series == 0 || config.hours == 0 || config.series_per_target == 0 {
            return Err(format!("dataset needs series, hours and series per target > 0: {config:?}").into());
        }
        if !(0..1000).contains(&config.jitter_ms) {
            return Err(format!("jitter {} ms is outside 0..1000", config.jitter_ms).into());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut targets = Vec::new();
        let mut series = Vec::with_capacity(config.series);
        let mut first = 0;
        while first < config.series {
            let left = config.series - first;
            // Avoid a tiny last target: it takes the remainder when less than half a target is left.
            let n = if left < config.series_per_target * 3 / 2 {
                left
            } else {
                config.series_per_target
            };
            let index = targets.len();
            let job = JOBS[index % JOBS.len()].to_string();
            let instance = format!("10.{}.{}.{}:9100", 1 + index / 65_536, (index / 256) % 256, index % 256);
            let margin = config.jitter_ms + 1;
            let offset_ms = rng.random_range(margin..INTERVAL_MS - margin);
            let units = units_for(n);
            for labels_kind in unit_labels(&units, &job, &instance)? {
                series.push(SeriesSpec {
                    labels: labels_kind.0,
                    kind: labels_kind.1,
                    target: index,
                });
            }
            targets.push(Target {
                job,
                instance,
                offset_ms,
                first_series: first,
                num_series: n,
                units,
            });
            first += n;
        }
        debug_assert_eq!(series.len(), config.series);
        Ok(Dataset {
            config,
            targets,
            series,
        })
    }

    /// Scrape rounds (samples per series).
    pub fn steps(&self) -> usize {
        self.config.hours as usize * 3_600_000 / INTERVAL_MS as usize
    }

    /// Samples over all series.
    pub fn num_samples(&self) -> u64 {
        self.series.len() as u64 * self.steps() as u64
    }

    /// Inclusive bounds of every timestamp the dataset can hold.
    pub fn time_bounds(&self) -> (i64, i64) {
        let start = self.config.start_ms;
        (start, start + self.steps() as i64 * INTERVAL_MS)
    }

    /// Number of series of each kind, in [`Kind::ALL`] order.
    pub fn count_by_kind(&self) -> Vec<(Kind, usize)> {
        Kind::ALL
            .iter()
            .map(|&k| (k, self.series.iter().filter(|s| s.kind == k).count()))
            .collect()
    }

    /// Number of series matching all `matchers`.
    pub fn count_matching(&self, matchers: &[Matcher]) -> usize {
        self.series
            .iter()
            .filter(|s| matches_labels(matchers, &s.labels))
            .count()
    }
}

/// The unit mix of a target with `n` series: 40 % counters, 30 % gauges, the rest histograms
/// (whole ones; what does not fill a histogram becomes counters).
fn units_for(n: usize) -> Vec<Unit> {
    let counters = n * 4 / 10;
    let gauges = n * 3 / 10;
    let histograms = (n - counters - gauges) / SERIES_PER_HISTOGRAM;
    let counters = n - gauges - histograms * SERIES_PER_HISTOGRAM;
    let mut units = Vec::with_capacity(counters + gauges + histograms);
    units.extend((0..counters).map(|i| Unit::Counter {
        family: i % COUNTERS.len(),
    }));
    units.extend((0..gauges).map(|i| Unit::Gauge {
        family: (i / 2) % GAUGES_FULL.len(),
        rounded: i % 2 == 1,
    }));
    units.extend((0..histograms).map(|i| Unit::Histogram {
        family: i % HISTOGRAMS.len(),
    }));
    units
}

/// Labels and kinds of every series of `units`, in order. Each unit's extra label value carries its
/// index within its family, which keeps label sets unique inside the target.
fn unit_labels(units: &[Unit], job: &str, instance: &str) -> Result<Vec<(Labels, Kind)>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashMap::<(&str, bool), usize>::new();
    let make = |name: &str, extra: (&str, String), le: Option<&str>| {
        let mut pairs = vec![
            ("__name__", name.to_string()),
            ("job", job.to_string()),
            ("instance", instance.to_string()),
            extra,
        ];
        if let Some(le) = le {
            pairs.push(("le", le.to_string()));
        }
        Labels::new(pairs)
    };
    for unit in units {
        match *unit {
            Unit::Counter { family } => {
                let (name, label, prefix, ..) = COUNTERS[family];
                let n = next(&mut seen, name, false);
                out.push((make(name, (label, format!("{prefix}{n}")), None)?, Kind::Counter));
            }
            Unit::Gauge { family, rounded } => {
                let (name, label, prefix, ..) = if rounded {
                    GAUGES_ROUNDED[family]
                } else {
                    GAUGES_FULL[family]
                };
                let n = next(&mut seen, name, false);
                let kind = if rounded { Kind::GaugeRounded } else { Kind::GaugeFull };
                out.push((make(name, (label, format!("{prefix}{n}")), None)?, kind));
            }
            Unit::Histogram { family } => {
                let (base, label, prefix) = HISTOGRAMS[family];
                let n = next(&mut seen, base, true);
                let extra = (label, format!("{prefix}{n}"));
                let bucket = format!("{base}_bucket");
                for le in LE {
                    out.push((make(&bucket, extra.clone(), Some(le))?, Kind::Bucket));
                }
                out.push((make(&format!("{base}_sum"), extra.clone(), None)?, Kind::HistogramSum));
                out.push((make(&format!("{base}_count"), extra, None)?, Kind::HistogramCount));
            }
        }
    }
    Ok(out)
}

/// The next index of family `name` within one target.
fn next<'a>(seen: &mut std::collections::HashMap<(&'a str, bool), usize>, name: &'a str, histogram: bool) -> usize {
    let n = seen.entry((name, histogram)).or_default();
    *n += 1;
    *n - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_has_the_requested_mix_and_unique_labels() {
        let dataset = Dataset::new(DatasetConfig::default()).expect("valid config");
        assert_eq!(dataset.series.len(), 10_000);
        assert_eq!(dataset.targets.len(), 40);
        assert_eq!(dataset.steps(), 5_760);
        let counts: std::collections::HashMap<Kind, usize> = dataset.count_by_kind().into_iter().collect();
        // Per target of 250: 75 gauges, 5 histograms (70 series), 105 counters.
        assert_eq!(counts[&Kind::Counter], 40 * 105);
        assert_eq!(counts[&Kind::GaugeFull] + counts[&Kind::GaugeRounded], 40 * 75);
        assert_eq!(counts[&Kind::Bucket], 40 * 5 * 12);
        let unique: std::collections::HashSet<&Labels> = dataset.series.iter().map(|s| &s.labels).collect();
        assert_eq!(unique.len(), 10_000);
        for s in &dataset.series {
            assert_eq!(Kind::of_metric(s.labels.metric_name().unwrap_or("")), Some(s.kind));
        }
    }

    #[test]
    fn small_datasets_fit_in_one_target() {
        let config = DatasetConfig {
            series: 50,
            ..DatasetConfig::default()
        };
        let dataset = Dataset::new(config).expect("valid config");
        assert_eq!(dataset.targets.len(), 1);
        assert_eq!(dataset.series.len(), 50);
        assert_eq!(dataset.count_by_kind()[3], (Kind::Bucket, 12));
    }
}
