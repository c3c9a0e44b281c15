//! The benchmark's driver: dataset into both systems, settle, each query warmed up then timed on each
//! system in turn, answers compared, everything stopped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::client;
use super::compare::{self, Answer, REL_TOLERANCE};
use super::dataset::{Dataset, DatasetConfig};
use super::promtool;
use super::report::{PeerComparison, QueryFigures, Report, SystemFigures, SystemTiming, Timing};
use super::systems::{self, Server, System};
use crate::Result;

/// Most points a range query may return per series (Loupe's and Prometheus's limit).
const MAX_POINTS: i64 = 11_000;

/// One benchmark query.
#[derive(Debug, Clone, Copy)]
pub struct QuerySpec {
    /// Short name for the table.
    pub name: &'static str,
    /// The PromQL expression; `$__range` stands for the dataset's length (`24h`).
    pub expr: &'static str,
    /// An instant query at the end of the range (else a range query over the whole range).
    pub instant: bool,
    /// Built on `rate`/`increase`, whose VictoriaMetrics semantics differ (no extrapolation), so a
    /// value difference against VictoriaMetrics is reported, not failed.
    pub rate_based: bool,
    /// Selects series by value (`topk`): which of tied series is picked is unspecified, so answers
    /// are compared by the values at each instant when the series differ.
    pub picks_series: bool,
}

/// The queries, in order.
pub const QUERIES: [QuerySpec; 7] = [
    QuerySpec {
        name: "rate",
        expr: "rate(http_requests_total[5m])",
        instant: false,
        rate_based: true,
        picks_series: false,
    },
    QuerySpec {
        name: "sum by job of rate",
        expr: "sum by (job) (rate(http_requests_total[5m]))",
        instant: false,
        rate_based: true,
        picks_series: false,
    },
    QuerySpec {
        name: "histogram_quantile",
        expr: "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        instant: false,
        rate_based: true,
        picks_series: false,
    },
    QuerySpec {
        name: "topk",
        expr: "topk(5, rate(http_requests_total[5m]))",
        instant: false,
        rate_based: true,
        picks_series: true,
    },
    QuerySpec {
        name: "count by job",
        expr: "count by (job) (http_requests_total)",
        instant: false,
        rate_based: false,
        picks_series: false,
    },
    QuerySpec {
        name: "regex matcher",
        expr: "sum(rate(http_requests_total{handler=~\"/api/.*\"}[5m]))",
        instant: false,
        rate_based: true,
        picks_series: false,
    },
    QuerySpec {
        name: "increase over the whole range (instant)",
        expr: "sum(increase(http_requests_total[$__range]))",
        instant: true,
        rate_based: true,
        picks_series: false,
    },
];

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Loupe's binary (`cargo build --release --bin loupe`).
    pub loupe: PathBuf,
    /// VictoriaMetrics' binary.
    pub victoria_metrics: PathBuf,
    /// Prometheus's binary; `None` leaves Prometheus out.
    pub prometheus: Option<PathBuf>,
    /// `promtool`, which makes Prometheus's blocks from the dataset.
    pub promtool: PathBuf,
    /// Longest `promtool` may run.
    pub promtool_limit: Duration,
    /// Series in the dataset.
    pub series: usize,
    /// Hours the dataset covers.
    pub hours: u32,
    /// Timed runs per query and system (after one warm-up).
    pub runs: usize,
    /// Seed of the dataset.
    pub seed: u64,
    /// Bytes of Prometheus text per import request.
    pub chunk_bytes: usize,
    /// Longest wait for background work after the import.
    pub settle_limit: Duration,
    /// Where data directories and logs go; a temporary directory when `None`.
    pub work_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            loupe: PathBuf::from("target/release/loupe"),
            victoria_metrics: PathBuf::from("/usr/bin/victoria-metrics"),
            prometheus: Some(PathBuf::from("/usr/bin/prometheus")),
            promtool: PathBuf::from("/usr/bin/promtool"),
            promtool_limit: Duration::from_secs(3600),
            series: 10_000,
            hours: 24,
            runs: 5,
            seed: 1,
            chunk_bytes: 50 << 20,
            settle_limit: Duration::from_secs(300),
            work_dir: None,
        }
    }
}

impl QuerySpec {
    /// The expression for a dataset of `hours` hours.
    pub fn text(&self, hours: u32) -> String {
        self.expr.replace("$__range", &format!("{hours}h"))
    }
}

/// The longest range of the query set's range queries, in milliseconds.
const LONGEST_RANGE_MS: i64 = 300_000;

/// When the queries are evaluated: range queries from the first instant whose 5-minute windows hold
/// only data, off the sample grid by half an interval (so no sample sits on a window's boundary),
/// every `step` to the end; instant queries half an interval after the last sample, over the whole
/// dataset. Off the grid and inside the data, Prometheus 2.x (closed windows, zero-point check
/// before the extrapolation threshold) and 3.x (left-open windows, threshold first) must agree, so
/// Debian's Prometheus 2 checks answers given with 3.x semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalTimes {
    /// First range-query evaluation, ms.
    pub start_ms: i64,
    /// Last range-query evaluation, ms.
    pub end_ms: i64,
    /// Range-query step, ms.
    pub step_ms: i64,
    /// Instant-query time, ms.
    pub instant_ms: i64,
}

impl EvalTimes {
    /// The times for `dataset`.
    pub fn of(dataset: &Dataset) -> EvalTimes {
        let half = dataset.config.interval_ms / 2;
        let start_ms = dataset.start_ms() + LONGEST_RANGE_MS + half;
        let last = dataset.config.end_ms;
        let step = step_ms(last - start_ms);
        let end_ms = start_ms + (last - start_ms).max(0) / step * step;
        EvalTimes {
            start_ms,
            end_ms,
            step_ms: step,
            instant_ms: last + half,
        }
    }
}

/// The range-query step: 15 s unless that gives more than [`MAX_POINTS`] points, then the smallest
/// multiple of 15 s that does not.
pub fn step_ms(range_ms: i64) -> i64 {
    let mut step = 15_000;
    while range_ms / step > MAX_POINTS {
        step += 15_000;
    }
    step
}

/// The request path of `query` (for a dataset of `hours` hours) at `times`.
fn query_path(query: &QuerySpec, hours: u32, times: &EvalTimes) -> String {
    let expr = client::url_encode(&query.text(hours));
    if query.instant {
        format!("/api/v1/query?query={expr}&time={}", client::seconds(times.instant_ms))
    } else {
        format!(
            "/api/v1/query_range?query={expr}&start={}&end={}&step={}",
            client::seconds(times.start_ms),
            client::seconds(times.end_ms),
            client::seconds(times.step_ms)
        )
    }
}

/// Checks `count by (job) (http_requests_total)` against the dataset: one series per job, every value
/// the job's number of request counters.
fn check_count_by_job(answer: &Answer, dataset: &Dataset) -> String {
    let expected = dataset.request_series_by_job();
    let jobs: Vec<&str> = answer
        .series
        .iter()
        .map(|s| s.labels.get("job").map_or("", String::as_str))
        .collect();
    if jobs != expected.keys().copied().collect::<Vec<_>>() {
        return format!(
            "WRONG: jobs {jobs:?}, expected {:?}",
            expected.keys().collect::<Vec<_>>()
        );
    }
    for series in &answer.series {
        let job = series.labels.get("job").map_or("", String::as_str);
        let want = expected.get(job).copied().unwrap_or(0) as f64;
        if let Some(p) = series.points.iter().find(|p| p.1 != want) {
            return format!("WRONG: job {job} at {} ms counts {}, expected {want}", p.0, p.1);
        }
    }
    "correct".into()
}

/// The verdict of Loupe's answer (`c`'s first) against `peer`'s: `match`, `match (tied series
/// picked differently)` when only the choice among tied series differs (`values_differ` is the
/// instant-by-instant comparison's finding), or for VictoriaMetrics on a rate-based query
/// `differs (VM semantics): …`, else `MISMATCH: …`.
fn verdict(query: &QuerySpec, peer: System, c: &compare::Comparison, values_differ: Option<&str>) -> String {
    if c.matches() {
        return "match".into();
    }
    if query.picks_series && values_differ.is_none() {
        return format!(
            "match (tied series picked differently: {} of {} series)",
            c.timestamp_mismatches + c.only_first,
            c.common_series + c.only_first
        );
    }
    let detail = format!(
        "{} common series, {}/{} only in Loupe/{}, {} timestamp mismatches, {} of {} values off (median rel {:.1e}, max {:.1e})",
        c.common_series,
        c.only_first,
        c.only_second,
        peer.name(),
        c.timestamp_mismatches,
        c.value_mismatches,
        c.points_compared,
        c.median_relative_difference,
        c.max_relative_difference
    );
    if query.rate_based && peer == System::VictoriaMetrics {
        format!(
            "differs (VM semantics): {detail}; worst: {}",
            c.worst_difference.clone().unwrap_or_default()
        )
    } else {
        format!(
            "MISMATCH: {detail}; first: {}",
            c.first_difference.clone().unwrap_or_default()
        )
    }
}

/// Runs the benchmark; `progress` is told what happens.
pub fn run(settings: &Settings, mut progress: impl FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    let mut binaries = vec![&settings.loupe, &settings.victoria_metrics];
    if let Some(prometheus) = &settings.prometheus {
        binaries.extend([prometheus, &settings.promtool]);
    }
    for binary in binaries {
        if !binary.is_file() {
            return Err(format!("binary {} not found", binary.display()).into());
        }
    }
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let dataset = Dataset::new(DatasetConfig {
        seed: settings.seed,
        ..DatasetConfig::ending_before_now(settings.series, settings.hours, now_ms)
    })?;
    let temp;
    let work_dir = match &settings.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::Builder::new().prefix("side-by-side-bulk").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    // Prometheus's import runs first, alone: promtool writes blocks that Prometheus opens at start.
    let mut blocks = None;
    if settings.prometheus.is_some() {
        progress(&format!(
            "writing {} samples as OpenMetrics and running promtool tsdb create-blocks-from openmetrics",
            dataset.num_samples()
        ));
        let created = promtool::create_blocks(
            &settings.promtool,
            &dataset,
            &work_dir,
            &work_dir.join("prometheus-data"),
            settings.promtool_limit,
        )?;
        progress(&format!(
            "  promtool: {:.1} s, {:.1} CPU s for {} MB of OpenMetrics",
            created.seconds,
            created.cpu_seconds,
            created.file_bytes / 1_000_000
        ));
        blocks = Some(created);
    }
    let mut servers = Vec::new();
    let started_all = (|| -> Result<()> {
        servers.push(Server::start_loupe(&settings.loupe, &work_dir)?);
        servers.push(Server::start_victoria_metrics(&settings.victoria_metrics, &work_dir)?);
        if let Some(prometheus) = &settings.prometheus {
            servers.push(Server::start_prometheus(
                prometheus,
                &work_dir,
                &work_dir.join("prometheus-data"),
            )?);
        }
        Ok(())
    })();
    let result = started_all.and_then(|()| {
        for server in &servers {
            progress(&format!(
                "{} pid {} at {}",
                server.system.name(),
                server.pid(),
                server.addr
            ));
        }
        progress(&format!("work dir {}", work_dir.display()));
        measure(settings, &dataset, blocks, &mut servers, &mut progress)
    });
    for server in servers {
        let name = server.system.name();
        if let Err(error) = server.stop() {
            progress(&format!("stopping {name}: {error}"));
        }
    }
    let (systems, queries, step) = result?;
    Ok(Report {
        dataset: dataset.config.clone(),
        targets: dataset.targets(),
        samples_per_series: dataset.steps(),
        samples: dataset.num_samples(),
        start_ms: dataset.start_ms(),
        step_seconds: step as f64 / 1000.0,
        runs: settings.runs,
        loupe: settings.loupe.display().to_string(),
        victoria_metrics_version: systems::victoria_metrics_version(&settings.victoria_metrics),
        prometheus_version: settings
            .prometheus
            .as_deref()
            .and_then(crate::scrape::prometheus_version),
        systems,
        queries,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Import, settle, queries. Returns per-system figures, per-query figures and the step.
fn measure(
    settings: &Settings,
    dataset: &Dataset,
    blocks: Option<promtool::BlocksCreated>,
    servers: &mut [Server],
    progress: &mut impl FnMut(&str),
) -> Result<(Vec<SystemFigures>, Vec<QueryFigures>, i64)> {
    let mut figures: Vec<SystemFigures> = servers.iter().map(|s| SystemFigures::new(s.system)).collect();
    let importing: Vec<bool> = servers.iter().map(|s| s.system != System::Prometheus).collect();
    let cpu_before: Vec<f64> = servers.iter().map(Server::cpu_seconds).collect();
    progress(&format!(
        "importing {} series × {} samples ({} samples) in chunks of {} MB",
        dataset.config.series,
        dataset.steps(),
        dataset.num_samples(),
        settings.chunk_bytes >> 20
    ));
    let mut text_bytes = 0u64;
    for (i, chunk) in dataset.chunks(settings.chunk_bytes).enumerate() {
        text_bytes += chunk.len() as u64;
        for ((server, fig), _) in servers
            .iter_mut()
            .zip(figures.iter_mut())
            .zip(&importing)
            .filter(|(_, importing)| **importing)
        {
            fig.import_seconds += server.import(chunk.as_bytes())?.as_secs_f64();
        }
        if i % 20 == 19 {
            progress(&format!("  {} MB imported", text_bytes >> 20));
        }
    }
    for ((server, fig), before) in servers.iter_mut().zip(figures.iter_mut()).zip(&cpu_before) {
        if server.system == System::Prometheus {
            if let Some(created) = blocks {
                fig.import_seconds = created.seconds;
                fig.import_cpu_seconds = created.cpu_seconds;
                fig.import_text_bytes = created.file_bytes;
            }
        } else {
            fig.import_cpu_seconds = server.cpu_seconds() - before;
            fig.import_text_bytes = text_bytes;
        }
        progress(&format!("settling {}", server.system.name()));
        fig.settle_seconds = server.settle(settings.settle_limit)?.as_secs_f64();
        fig.disk_bytes = server.disk_bytes();
        fig.bytes_per_sample = fig.disk_bytes as f64 / dataset.num_samples().max(1) as f64;
        (fig.blocks_bytes, fig.blocks_samples) = server.blocks().unwrap_or((fig.disk_bytes, dataset.num_samples()));
        fig.blocks_bytes_per_sample = fig.blocks_bytes as f64 / fig.blocks_samples.max(1) as f64;
        (fig.rss_bytes, fig.peak_rss_bytes) = server.rss();
        progress(&format!(
            "  {}: import {:.1} s ({:.1} CPU s), settled in {:.1} s, {:.3} bytes per sample on disk, {:.3} in blocks",
            server.system.name(),
            fig.import_seconds,
            fig.import_cpu_seconds,
            fig.settle_seconds,
            fig.bytes_per_sample,
            fig.blocks_bytes_per_sample
        ));
    }

    let times = EvalTimes::of(dataset);
    let step = times.step_ms;
    let mut queries = Vec::new();
    for query in &QUERIES {
        let path = query_path(query, dataset.config.hours, &times);
        progress(&format!("query {}: {}", query.name, query.text(dataset.config.hours)));
        let mut answers: Vec<Option<Answer>> = Vec::new();
        let mut timings: Vec<Timing> = Vec::new();
        for server in servers.iter() {
            let mut timing = Timing::default();
            match server.get(&path).and_then(|r| {
                timing.response_bytes = r.body.len() as u64;
                compare::parse_answer(&r.body)
            }) {
                Ok(answer) => {
                    timing.series = answer.series.len();
                    timing.points = answer.points();
                    answers.push(Some(answer));
                }
                Err(error) => {
                    progress(&format!("  {} failed: {error}", server.system.name()));
                    timing.error = Some(error.to_string());
                    answers.push(None);
                }
            }
            timings.push(timing);
        }
        for run in 0..settings.runs {
            // Rotate which system goes first.
            let n = servers.len();
            for k in 0..n {
                let i = (run + k) % n;
                if timings[i].error.is_some() {
                    continue;
                }
                match servers[i].get(&path) {
                    Ok(response) => timings[i].runs_ms.push(response.elapsed.as_secs_f64() * 1000.0),
                    Err(error) => timings[i].error = Some(error.to_string()),
                }
            }
        }
        for t in &mut timings {
            t.summarise();
        }
        let mut comparisons = Vec::new();
        for (server, answer) in servers.iter().zip(&answers).skip(1) {
            let peer = server.system;
            comparisons.push(match (&answers[0], answer) {
                (Some(loupe), Some(other)) => {
                    let c = compare::compare(loupe, other, REL_TOLERANCE);
                    let per_time = query
                        .picks_series
                        .then(|| compare::compare_values_per_time(loupe, other, REL_TOLERANCE))
                        .flatten();
                    let v = verdict(query, peer, &c, per_time.as_deref());
                    PeerComparison {
                        peer,
                        comparison: Some(c),
                        verdict: v,
                    }
                }
                _ => PeerComparison {
                    peer,
                    comparison: None,
                    verdict: "not compared (a query failed)".into(),
                },
            });
        }
        let ground_truth = match (&answers[0], query.name) {
            (Some(loupe), "count by job") => Some(check_count_by_job(loupe, dataset)),
            _ => None,
        };
        let timings = servers
            .iter()
            .zip(timings)
            .map(|(s, timing)| SystemTiming {
                system: s.system,
                timing,
            })
            .collect();
        let figures = QueryFigures::new(
            query,
            query.text(dataset.config.hours),
            timings,
            comparisons,
            ground_truth,
        );
        progress(&format!("  {}", figures.summary()));
        queries.push(figures);
    }
    for (server, fig) in servers.iter().zip(figures.iter_mut()) {
        fig.peak_rss_bytes = server.rss().1;
    }
    Ok((figures, queries, step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::querybench::compare::Series;

    #[test]
    fn steps_and_paths() {
        assert_eq!(step_ms(86_400_000), 15_000);
        assert_eq!(86_400_000 / step_ms(86_400_000) + 1, 5761);
        assert_eq!(step_ms(7 * 86_400_000), 60_000);
        let dataset = Dataset::new(DatasetConfig {
            series: 100,
            hours: 2,
            interval_ms: 15_000,
            end_ms: 1_000_020_000,
            seed: 1,
        })
        .expect("valid");
        let times = EvalTimes::of(&dataset);
        assert_eq!(dataset.start_ms(), 992_820_000);
        assert_eq!(
            times,
            EvalTimes {
                start_ms: 993_127_500,
                end_ms: 1_000_012_500,
                step_ms: 15_000,
                instant_ms: 1_000_027_500,
            }
        );
        let path = query_path(&QUERIES[4], 2, &times);
        assert_eq!(
            path,
            "/api/v1/query_range?query=count%20by%20%28job%29%20%28http_requests_total%29\
             &start=993127.500&end=1000012.500&step=15.000"
        );
        assert_eq!(
            query_path(&QUERIES[6], 2, &times),
            "/api/v1/query?query=sum%28increase%28http_requests_total%5B2h%5D%29%29&time=1000027.500"
        );
    }

    #[test]
    fn checks_count_by_job_against_the_dataset() {
        let dataset = Dataset::new(DatasetConfig {
            series: 100,
            hours: 1,
            interval_ms: 15_000,
            end_ms: 3_600_000,
            seed: 1,
        })
        .expect("valid");
        let series = |job: &str, value: f64| Series {
            labels: [("job".to_string(), job.to_string())].into_iter().collect(),
            points: vec![(15_000, value), (30_000, value)],
        };
        let right = Answer {
            result_type: "matrix".into(),
            series: vec![series("api", 24.0), series("frontend", 20.0)],
        };
        assert_eq!(check_count_by_job(&right, &dataset), "correct");
        let wrong = Answer {
            result_type: "matrix".into(),
            series: vec![series("api", 24.0), series("frontend", 19.0)],
        };
        assert!(check_count_by_job(&wrong, &dataset).starts_with("WRONG: job frontend"));
        let missing = Answer {
            result_type: "matrix".into(),
            series: vec![series("api", 24.0)],
        };
        assert!(check_count_by_job(&missing, &dataset).starts_with("WRONG: jobs"));
    }

    #[test]
    fn verdicts() {
        let same = compare::Comparison::default();
        assert_eq!(verdict(&QUERIES[0], System::VictoriaMetrics, &same, None), "match");
        let off = compare::Comparison {
            common_series: 1,
            points_compared: 2,
            value_mismatches: 1,
            max_relative_difference: 0.01,
            first_difference: Some("x".into()),
            ..Default::default()
        };
        assert!(verdict(&QUERIES[0], System::VictoriaMetrics, &off, None).starts_with("differs (VM semantics)"));
        assert!(verdict(&QUERIES[0], System::Prometheus, &off, None).starts_with("MISMATCH"));
        assert!(verdict(&QUERIES[4], System::VictoriaMetrics, &off, None).starts_with("MISMATCH"));
        let tied = compare::Comparison {
            common_series: 5,
            timestamp_mismatches: 2,
            ..Default::default()
        };
        assert_eq!(
            verdict(&QUERIES[3], System::Prometheus, &tied, None),
            "match (tied series picked differently: 2 of 5 series)"
        );
        assert!(verdict(&QUERIES[3], System::Prometheus, &tied, Some("at 0 ms")).starts_with("MISMATCH"));
    }
}
