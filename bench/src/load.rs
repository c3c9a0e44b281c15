//! Phases a and b: append throughput through `Db` appenders, and head memory per active series.
//!
//! The dataset is generated a window of scrape rounds at a time (outside the timed sections), then
//! appended like scrape loops do: one appender and one commit per target and round, `append` with
//! labels on a target's first scrape and `append_ref` with the cached reference afterwards. The WAL
//! runs with its default policy (`Interval(1 s)`), whose owner must call `Db::sync_wal` every second:
//! the loader does so, inside the timed section. `Db::maintain` runs after every window, as a server's
//! periodic maintenance would, timed separately.

use std::time::{Duration, Instant};

use serde::Serialize;
use tsdb::db::Db;

use crate::Result;
use crate::dataset::{Dataset, INTERVAL_MS};
use crate::generator::{Generator, Window};
use crate::procfs;

/// Scrape rounds generated and appended per window (15 minutes of data).
pub const WINDOW_ROUNDS: usize = 60;
/// How often the default WAL policy wants an fsync.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Phase a: append throughput.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppendFigures {
    /// Samples accepted.
    pub samples: u64,
    /// Samples the dataset generated (must equal `samples`).
    pub generated: u64,
    /// Samples rejected by commits.
    pub rejected: u64,
    /// Commits (one per target and round).
    pub commits: u64,
    /// Average samples per commit.
    pub samples_per_commit: f64,
    /// WAL fsyncs issued by the loader.
    pub wal_syncs: u64,
    /// Wall time of appends and commits (including those fsyncs).
    pub wall_seconds: f64,
    /// Process CPU time (user + system, `/proc/self/stat`) over the same sections.
    pub cpu_seconds: f64,
    /// `samples / wall_seconds`.
    pub samples_per_second_wall: f64,
    /// `samples / cpu_seconds`: throughput per core.
    pub samples_per_second_per_core: f64,
    /// Wall time of the `Db::maintain` calls made during the load (not part of the figures above).
    pub maintain_seconds: f64,
    /// Wall time spent generating data (not part of the figures above).
    pub generate_seconds: f64,
}

/// Phase b: head memory after the head's normal maximum span was loaded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryFigures {
    /// Hours of data in the head when measured.
    pub hours_loaded: f64,
    /// Series in the head.
    pub active_series: u64,
    /// Samples in the head.
    pub head_samples: u64,
    /// `Head::memory_bytes()`.
    pub head_memory_bytes: u64,
    /// `head_memory_bytes / active_series` (mean over the last chunk cycle).
    pub head_bytes_per_series: f64,
    /// The largest of the measurements averaged in `head_bytes_per_series`.
    pub head_bytes_per_series_max: f64,
    /// `head_memory_bytes / head_samples`.
    pub head_bytes_per_sample: f64,
    /// Resident set size before the load (dataset layout and generator buffers already allocated).
    pub rss_before_bytes: u64,
    /// Resident set size at the measurement.
    pub rss_after_bytes: u64,
    /// `(rss_after - rss_before) / active_series`.
    pub rss_delta_per_series: f64,
    /// `Head::memory_breakdown()` per active series: (part, bytes).
    pub breakdown_per_series: Vec<(String, f64)>,
}

/// Appends the whole dataset to `db`, measuring memory once `memory_hours` of data are in (or at the
/// end, for shorter datasets).
pub fn load(db: &Db, dataset: &Dataset, memory_hours: f64) -> Result<(AppendFigures, MemoryFigures)> {
    let memory_round = ((memory_hours * 3_600_000.0 / INTERVAL_MS as f64) as usize).clamp(1, dataset.steps());
    let mut generator = Generator::new(dataset);
    let mut window = Window::default();
    let mut refs: Vec<Option<tsdb::head::SeriesRef>> = vec![None; dataset.series.len()];
    let mut figures = AppendFigures {
        generated: dataset.num_samples(),
        ..AppendFigures::default()
    };
    let mut memory = MemoryFigures::default();
    let (mut wall, mut cpu, mut maintain, mut generate) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut last_sync = Instant::now();
    let mut round_base = 0;
    let mut rss_before = None;
    // Series of one target cut their chunks in step, so one measurement could catch every open
    // chunk full or empty. Measure at four points across the last chunk's 30 minutes and average.
    let memory_points: Vec<usize> = [90, 60, 30, 0]
        .iter()
        .filter_map(|back| memory_round.checked_sub(*back))
        .filter(|p| *p > 0)
        .collect();
    let mut samples_of_memory = Vec::new();
    while generator.remaining() > 0 {
        // Stop a window at the memory measurement point so it happens between two commits.
        let until_memory = match memory_points.iter().find(|&&p| p > round_base) {
            Some(point) => point - round_base,
            None => usize::MAX,
        };
        let started = Instant::now();
        let rounds = generator.fill(&mut window, WINDOW_ROUNDS.min(until_memory));
        generate += started.elapsed();
        // The baseline is taken once the window buffer has its full size.
        let rss_before = *rss_before.get_or_insert_with(|| procfs::rss_bytes().unwrap_or(0));

        let cpu_start = procfs::cpu_time().unwrap_or_default();
        let started = Instant::now();
        for round in 0..rounds {
            let values = window.values(round);
            for (k, target) in dataset.targets.iter().enumerate() {
                let t = window.time(round, k);
                let mut appender = db.appender();
                let range = target.first_series..target.first_series + target.num_series;
                for i in range {
                    match &refs[i] {
                        Some(series) => appender.append_ref(series, t, values[i]),
                        None => refs[i] = Some(appender.append(&dataset.series[i].labels, t, values[i])?),
                    }
                }
                let stats = appender.commit()?;
                figures.samples += stats.appended as u64;
                figures.rejected += stats.rejected() as u64;
                figures.commits += 1;
                if last_sync.elapsed() >= SYNC_INTERVAL {
                    db.sync_wal()?;
                    figures.wal_syncs += 1;
                    last_sync = Instant::now();
                }
            }
        }
        wall += started.elapsed();
        cpu += procfs::cpu_time().unwrap_or_default().saturating_sub(cpu_start);
        round_base += rounds;

        if memory_points.contains(&round_base) {
            samples_of_memory.push(measure_memory(db, rss_before, round_base));
            if round_base == memory_round {
                memory = average_memory(&samples_of_memory);
            }
        }
        let started = Instant::now();
        db.maintain()?;
        maintain += started.elapsed();
    }
    figures.wall_seconds = wall.as_secs_f64();
    figures.cpu_seconds = cpu.as_secs_f64();
    figures.maintain_seconds = maintain.as_secs_f64();
    figures.generate_seconds = generate.as_secs_f64();
    figures.samples_per_commit = figures.samples as f64 / figures.commits.max(1) as f64;
    figures.samples_per_second_wall = figures.samples as f64 / figures.wall_seconds.max(1e-9);
    figures.samples_per_second_per_core = figures.samples as f64 / figures.cpu_seconds.max(1e-9);
    Ok((figures, memory))
}

/// The mean of several memory measurements (RSS from the last one).
fn average_memory(all: &[MemoryFigures]) -> MemoryFigures {
    let Some(last) = all.last() else {
        return MemoryFigures::default();
    };
    let n = all.len() as f64;
    let mean = |f: &dyn Fn(&MemoryFigures) -> f64| all.iter().map(f).sum::<f64>() / n;
    let mut out = last.clone();
    out.head_memory_bytes = mean(&|m| m.head_memory_bytes as f64) as u64;
    out.head_bytes_per_series = mean(&|m| m.head_bytes_per_series);
    out.head_bytes_per_sample = mean(&|m| m.head_bytes_per_sample);
    out.head_bytes_per_series_max = all.iter().map(|m| m.head_bytes_per_series).fold(0.0, f64::max);
    out.breakdown_per_series = last
        .breakdown_per_series
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            (
                name.clone(),
                mean(&|m| m.breakdown_per_series.get(i).map_or(0.0, |p| p.1)),
            )
        })
        .collect();
    out
}

/// Head figures after `rounds` scrape rounds.
fn measure_memory(db: &Db, rss_before: u64, rounds: usize) -> MemoryFigures {
    let rss_after = procfs::rss_bytes().unwrap_or(0);
    let stats = db.head().stats();
    let series = stats.num_series as u64;
    let head_samples = stats.samples_appended;
    let parts = db.head().memory_breakdown();
    let bytes = parts.total() as u64;
    let per_series = |b: usize| b as f64 / series.max(1) as f64;
    let breakdown_per_series = [
        ("series structs", parts.series),
        ("labels", parts.labels),
        ("chunk references", parts.chunk_refs),
        ("open chunks", parts.open_chunks),
        ("out-of-order and heap chunks", parts.other),
        ("lookup maps", parts.maps),
        ("postings", parts.postings),
    ]
    .into_iter()
    .map(|(name, b)| (name.to_string(), per_series(b)))
    .collect();
    MemoryFigures {
        breakdown_per_series,
        hours_loaded: rounds as f64 * INTERVAL_MS as f64 / 3_600_000.0,
        active_series: series,
        head_samples,
        head_memory_bytes: bytes,
        head_bytes_per_series: bytes as f64 / series.max(1) as f64,
        head_bytes_per_series_max: bytes as f64 / series.max(1) as f64,
        head_bytes_per_sample: bytes as f64 / head_samples.max(1) as f64,
        rss_before_bytes: rss_before,
        rss_after_bytes: rss_after,
        rss_delta_per_series: rss_after.saturating_sub(rss_before) as f64 / series.max(1) as f64,
    }
}
