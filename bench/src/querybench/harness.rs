//! The benchmark's driver: dataset into both systems, settle, each query warmed up then timed on each
//! system in turn, answers compared, everything stopped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::client;
use super::compare::{self, Answer, REL_TOLERANCE};
use super::dataset::{Dataset, DatasetConfig};
use super::report::{QueryFigures, Report, SystemFigures, Timing};
use super::systems::{self, Server};
use crate::Result;

/// Most points a range query may return per series (Loupe's and Prometheus's limit).
const MAX_POINTS: i64 = 11_000;

/// One benchmark query.
#[derive(Debug, Clone, Copy)]
pub struct QuerySpec {
    /// Short name for the table.
    pub name: &'static str,
    /// The PromQL expression.
    pub expr: &'static str,
    /// An instant query at the end of the range (else a range query over the whole range).
    pub instant: bool,
    /// Built on `rate`/`increase`, whose VictoriaMetrics semantics differ (no extrapolation), so a
    /// value difference against VictoriaMetrics is reported, not failed.
    pub rate_based: bool,
}

/// The queries, in order.
pub const QUERIES: [QuerySpec; 7] = [
    QuerySpec {
        name: "rate",
        expr: "rate(http_requests_total[5m])",
        instant: false,
        rate_based: true,
    },
    QuerySpec {
        name: "sum by job of rate",
        expr: "sum by (job) (rate(http_requests_total[5m]))",
        instant: false,
        rate_based: true,
    },
    QuerySpec {
        name: "histogram_quantile",
        expr: "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
        instant: false,
        rate_based: true,
    },
    QuerySpec {
        name: "topk",
        expr: "topk(5, rate(http_requests_total[5m]))",
        instant: false,
        rate_based: true,
    },
    QuerySpec {
        name: "count by job",
        expr: "count by (job) (http_requests_total)",
        instant: false,
        rate_based: false,
    },
    QuerySpec {
        name: "regex matcher",
        expr: "sum(rate(http_requests_total{handler=~\"/api/.*\"}[5m]))",
        instant: false,
        rate_based: true,
    },
    QuerySpec {
        name: "increase over 1d (instant)",
        expr: "sum(increase(http_requests_total[1d]))",
        instant: true,
        rate_based: true,
    },
];

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Loupe's binary (`cargo build --release --bin loupe`).
    pub loupe: PathBuf,
    /// VictoriaMetrics' binary.
    pub victoria_metrics: PathBuf,
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

/// The range-query step: 15 s unless that gives more than [`MAX_POINTS`] points, then the smallest
/// multiple of 15 s that does not.
pub fn step_ms(range_ms: i64) -> i64 {
    let mut step = 15_000;
    while range_ms / step > MAX_POINTS {
        step += 15_000;
    }
    step
}

/// The request path of `query` over the dataset's range.
fn query_path(query: &QuerySpec, start_ms: i64, end_ms: i64, step: i64) -> String {
    let expr = client::url_encode(query.expr);
    if query.instant {
        format!("/api/v1/query?query={expr}&time={}", client::seconds(end_ms))
    } else {
        format!(
            "/api/v1/query_range?query={expr}&start={}&end={}&step={}",
            client::seconds(start_ms),
            client::seconds(end_ms),
            client::seconds(step)
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

/// The verdict of Loupe's answer against VictoriaMetrics'.
fn verdict(query: &QuerySpec, c: &compare::Comparison) -> String {
    if c.matches() {
        return "match".into();
    }
    let detail = format!(
        "{} common series, {}/{} only in Loupe/VM, {} timestamp mismatches, {} of {} values off (median rel {:.1e}, max {:.1e})",
        c.common_series,
        c.only_first,
        c.only_second,
        c.timestamp_mismatches,
        c.value_mismatches,
        c.points_compared,
        c.median_relative_difference,
        c.max_relative_difference
    );
    if query.rate_based {
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
    for binary in [&settings.loupe, &settings.victoria_metrics] {
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
            temp = tempfile::Builder::new().prefix("query-bench").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut servers = vec![
        Server::start_loupe(&settings.loupe, &work_dir)?,
        Server::start_victoria_metrics(&settings.victoria_metrics, &work_dir)?,
    ];
    progress(&format!(
        "loupe pid {} at {}, victoria-metrics pid {} at {}; work dir {}",
        servers[0].pid(),
        servers[0].addr,
        servers[1].pid(),
        servers[1].addr,
        work_dir.display()
    ));
    let result = measure(settings, &dataset, &mut servers, &mut progress);
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
        systems,
        queries,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Import, settle, queries. Returns per-system figures, per-query figures and the step.
fn measure(
    settings: &Settings,
    dataset: &Dataset,
    servers: &mut [Server],
    progress: &mut impl FnMut(&str),
) -> Result<(Vec<SystemFigures>, Vec<QueryFigures>, i64)> {
    let mut figures: Vec<SystemFigures> = servers.iter().map(|s| SystemFigures::new(s.system)).collect();
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
        for (server, fig) in servers.iter_mut().zip(figures.iter_mut()) {
            fig.import_seconds += server.import(chunk.as_bytes())?.as_secs_f64();
        }
        if i % 20 == 19 {
            progress(&format!("  {} MB imported", text_bytes >> 20));
        }
    }
    for ((server, fig), before) in servers.iter_mut().zip(figures.iter_mut()).zip(&cpu_before) {
        fig.import_cpu_seconds = server.cpu_seconds() - before;
        fig.import_text_bytes = text_bytes;
        progress(&format!("settling {}", server.system.name()));
        fig.settle_seconds = server.settle(settings.settle_limit)?.as_secs_f64();
        fig.disk_bytes = server.disk_bytes();
        (fig.rss_bytes, fig.peak_rss_bytes) = server.rss();
    }

    let step = step_ms(dataset.config.end_ms - dataset.start_ms());
    let mut queries = Vec::new();
    for query in &QUERIES {
        let path = query_path(query, dataset.start_ms(), dataset.config.end_ms, step);
        progress(&format!("query {}: {}", query.name, query.expr));
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
            // Alternate which system goes first.
            let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
            for i in order {
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
        let (comparison, verdict_text) = match (&answers[0], &answers[1]) {
            (Some(loupe), Some(vm)) => {
                let c = compare::compare(loupe, vm, REL_TOLERANCE);
                let v = verdict(query, &c);
                (Some(c), v)
            }
            _ => (None, "not compared (a query failed)".into()),
        };
        let ground_truth = match (&answers[0], query.name) {
            (Some(loupe), "count by job") => Some(check_count_by_job(loupe, dataset)),
            _ => None,
        };
        let mut timings = timings.into_iter();
        let figures = QueryFigures::new(
            query,
            timings.next().unwrap_or_default(),
            timings.next().unwrap_or_default(),
            comparison,
            verdict_text,
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
        let path = query_path(&QUERIES[4], 1_000_000, 2_000_000, 15_000);
        assert_eq!(
            path,
            "/api/v1/query_range?query=count%20by%20%28job%29%20%28http_requests_total%29\
             &start=1000.000&end=2000.000&step=15.000"
        );
        assert_eq!(
            query_path(&QUERIES[6], 0, 2_000_000, 15_000),
            "/api/v1/query?query=sum%28increase%28http_requests_total%5B1d%5D%29%29&time=2000.000"
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
        assert_eq!(verdict(&QUERIES[0], &same), "match");
        let off = compare::Comparison {
            common_series: 1,
            points_compared: 2,
            value_mismatches: 1,
            max_relative_difference: 0.01,
            first_difference: Some("x".into()),
            ..Default::default()
        };
        assert!(verdict(&QUERIES[0], &off).starts_with("differs (VM semantics)"));
        assert!(verdict(&QUERIES[4], &off).starts_with("MISMATCH"));
    }
}
