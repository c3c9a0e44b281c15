//! The query benchmark's results: per-system import figures, per-query latencies (median, p90) with
//! the Loupe/VictoriaMetrics ratio and the correctness verdict, as markdown or JSON.

use std::fmt::Write;

use super::compare::Comparison;
use super::dataset::DatasetConfig;
use super::harness::QuerySpec;
use super::systems::System;

/// Latencies of one query on one system.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timing {
    /// Each timed run in milliseconds (client side, until the last byte of the answer).
    pub runs_ms: Vec<f64>,
    /// Median of the runs.
    pub median_ms: Option<f64>,
    /// 90th percentile (nearest rank) of the runs.
    pub p90_ms: Option<f64>,
    /// Series in the (warm-up) answer.
    pub series: usize,
    /// Points in the (warm-up) answer.
    pub points: usize,
    /// Bytes of the (warm-up) answer.
    pub response_bytes: u64,
    /// Why the query failed, if it did.
    pub error: Option<String>,
}

impl Timing {
    /// Fills in the median and p90 from the runs.
    pub fn summarise(&mut self) {
        let mut v = self.runs_ms.clone();
        v.sort_by(f64::total_cmp);
        self.median_ms = median(&v);
        self.p90_ms = nearest_rank(&v, 0.9);
    }
}

/// Median of sorted values (mean of the middle two for an even count).
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The `q` quantile of sorted values by nearest rank.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// One system's latencies for one query.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemTiming {
    /// Which system.
    pub system: System,
    /// Its latencies.
    pub timing: Timing,
}

/// Loupe's answer against one peer's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerComparison {
    /// The peer.
    pub peer: System,
    /// How the answers differ (`None` when one failed).
    pub comparison: Option<Comparison>,
    /// `match`, `differs (VM semantics): …`, `MISMATCH: …` or `not compared …`.
    pub verdict: String,
}

impl PeerComparison {
    /// True unless the answers differ in a way that is not a documented semantic difference.
    pub fn acceptable(&self) -> bool {
        self.verdict.starts_with("match") || self.verdict.starts_with("differs (VM semantics)")
    }
}

/// One query's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryFigures {
    /// Short name.
    pub name: String,
    /// The expression.
    pub expr: String,
    /// Instant (else range) query.
    pub instant: bool,
    /// Latencies, Loupe first.
    pub timings: Vec<SystemTiming>,
    /// The fastest peer by median.
    pub fastest_peer: Option<System>,
    /// Loupe's median over the fastest peer's median.
    pub ratio_vs_fastest_peer: Option<f64>,
    /// Loupe's answer against each peer's.
    pub comparisons: Vec<PeerComparison>,
    /// Loupe's answer against values known from the dataset, where the query allows it.
    pub ground_truth: Option<String>,
    /// Loupe answered, and its answer matches Prometheus's (or VictoriaMetrics' up to its documented
    /// semantics) and the dataset where checked: a fast wrong answer is a failure.
    pub correct: bool,
}

impl QueryFigures {
    /// Assembles the figures, the ratio and the verdict.
    pub fn new(
        query: &QuerySpec,
        expr: String,
        timings: Vec<SystemTiming>,
        comparisons: Vec<PeerComparison>,
        ground_truth: Option<String>,
    ) -> QueryFigures {
        let loupe = timings
            .iter()
            .find(|t| t.system == System::Loupe)
            .and_then(|t| t.timing.median_ms);
        let fastest = timings
            .iter()
            .filter(|t| t.system != System::Loupe)
            .filter_map(|t| t.timing.median_ms.map(|m| (t.system, m)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let ratio = match (loupe, fastest) {
            (Some(l), Some((_, p))) if p > 0.0 => Some(l / p),
            _ => None,
        };
        let correct = loupe.is_some()
            && !comparisons.is_empty()
            && comparisons.iter().all(PeerComparison::acceptable)
            && ground_truth.as_deref().is_none_or(|t| t == "correct");
        QueryFigures {
            name: query.name.into(),
            expr,
            instant: query.instant,
            timings,
            fastest_peer: fastest.map(|f| f.0),
            ratio_vs_fastest_peer: ratio,
            comparisons,
            ground_truth,
            correct,
        }
    }

    /// The timing of `system`, if it ran.
    pub fn timing(&self, system: System) -> Option<&Timing> {
        self.timings.iter().find(|t| t.system == system).map(|t| &t.timing)
    }

    /// One progress line.
    pub fn summary(&self) -> String {
        let times: Vec<String> = self
            .timings
            .iter()
            .map(|t| format!("{} {} ms", t.system.name(), show(t.timing.median_ms, 1)))
            .collect();
        let verdicts: Vec<String> = self
            .comparisons
            .iter()
            .map(|c| format!("vs {}: {}", c.peer.name(), c.verdict))
            .collect();
        format!(
            "{}; Loupe / fastest peer {}; {}; {}",
            times.join(", "),
            show(self.ratio_vs_fastest_peer, 2),
            if self.correct { "correct" } else { "WRONG OR FAILED" },
            verdicts.join("; ")
        )
    }
}

/// One system's import figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemFigures {
    /// Which system.
    pub system: System,
    /// Wall seconds of the import: HTTP import requests, or `promtool` for Prometheus.
    pub import_seconds: f64,
    /// CPU seconds of the import: the server process during the import, or `promtool`.
    pub import_cpu_seconds: f64,
    /// Bytes of text imported (Prometheus text, or OpenMetrics for `promtool`).
    pub import_text_bytes: u64,
    /// Seconds until background work (compaction, merges) was idle after the import.
    pub settle_seconds: f64,
    /// Bytes of the data directory after settling.
    pub disk_bytes: u64,
    /// `disk_bytes` over the samples imported.
    pub bytes_per_sample: f64,
    /// Bytes of the compacted blocks (Loupe and Prometheus; the whole directory for
    /// VictoriaMetrics, which has no head).
    pub blocks_bytes: u64,
    /// Samples in those blocks.
    pub blocks_samples: u64,
    /// `blocks_bytes` over `blocks_samples`: the compacted form alone, without Loupe's head (its
    /// most recent hours, kept as WAL and head chunks as a scraping Prometheus keeps them).
    pub blocks_bytes_per_sample: f64,
    /// Resident memory after settling.
    pub rss_bytes: u64,
    /// Peak resident memory by the end of the queries.
    pub peak_rss_bytes: u64,
}

impl SystemFigures {
    /// Zeroed figures for `system`.
    pub fn new(system: System) -> SystemFigures {
        SystemFigures {
            system,
            import_seconds: 0.0,
            import_cpu_seconds: 0.0,
            import_text_bytes: 0,
            settle_seconds: 0.0,
            disk_bytes: 0,
            bytes_per_sample: f64::NAN,
            blocks_bytes: 0,
            blocks_samples: 0,
            blocks_bytes_per_sample: f64::NAN,
            rss_bytes: 0,
            peak_rss_bytes: 0,
        }
    }
}

/// Everything measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The dataset.
    pub dataset: DatasetConfig,
    /// Targets (job, instance pairs).
    pub targets: usize,
    /// Samples per series.
    pub samples_per_series: usize,
    /// Samples in all.
    pub samples: u64,
    /// Start of the range (ms); the first sample is one interval later.
    pub start_ms: i64,
    /// Step of the range queries.
    pub step_seconds: f64,
    /// Timed runs per query and system.
    pub runs: usize,
    /// Loupe's binary.
    pub loupe: String,
    /// VictoriaMetrics' version.
    pub victoria_metrics_version: Option<String>,
    /// Prometheus's version, when it ran.
    pub prometheus_version: Option<String>,
    /// Per-system figures, Loupe first.
    pub systems: Vec<SystemFigures>,
    /// Per-query figures.
    pub queries: Vec<QueryFigures>,
    /// Wall seconds of the whole benchmark.
    pub total_seconds: f64,
}

fn show(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "—".into(), |v| format!("{v:.decimals$}"))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

impl Report {
    /// The figures of `system`, if it ran.
    pub fn system(&self, system: System) -> Option<&SystemFigures> {
        self.systems.iter().find(|s| s.system == system)
    }

    /// The report as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let d = &self.dataset;
        let names: Vec<&str> = self.systems.iter().map(|s| s.system.name()).collect();
        let _ = writeln!(out, "## Bulk import and queries: {}\n", names.join(", "));
        let _ = writeln!(
            out,
            "Dataset: {} series ({} targets) × {} samples at {} s = {} samples, {} h ending {} ms, seed {}. \
             Loupe and VictoriaMetrics import Prometheus text through `POST /api/v1/import/prometheus`; \
             Prometheus gets blocks from `promtool tsdb create-blocks-from openmetrics` and compacts them \
             at start. Range queries from 5 min 7.5 s after the start to the end, off the sample grid, at \
             step {} s; instant queries 7.5 s after the last sample; {} timed runs after one warm-up, \
             client-side wall time until the last byte. Loupe: `{}`; VictoriaMetrics: {}; Prometheus: {}.\n",
            d.series,
            self.targets,
            self.samples_per_series,
            d.interval_ms / 1000,
            self.samples,
            d.hours,
            d.end_ms,
            d.seed,
            self.step_seconds,
            self.runs,
            self.loupe,
            self.victoria_metrics_version.as_deref().unwrap_or("unknown version"),
            self.prometheus_version.as_deref().unwrap_or("not run")
        );
        let _ = writeln!(
            out,
            "| system | import wall s | import CPU s | settle s | disk | bytes per sample | blocks | samples in blocks | bytes per sample in blocks | RSS after import | peak RSS |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for s in &self.systems {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {:.1} | {:.1} | {} | {:.3} | {} | {} | {:.3} | {} | {} |",
                s.system.name(),
                s.import_seconds,
                s.import_cpu_seconds,
                s.settle_seconds,
                mib(s.disk_bytes),
                s.bytes_per_sample,
                mib(s.blocks_bytes),
                s.blocks_samples,
                s.blocks_bytes_per_sample,
                mib(s.rss_bytes),
                mib(s.peak_rss_bytes)
            );
        }
        let mut header = String::from("\n| query |");
        let mut rule = String::from("|---|");
        for name in &names {
            header.push_str(&format!(" {name} median ms | {name} p90 ms |"));
            rule.push_str("---:|---:|");
        }
        header.push_str(" Loupe / fastest peer | series | correct | answers |");
        rule.push_str("---:|---:|---|---|");
        let _ = writeln!(out, "{header}\n{rule}");
        for q in &self.queries {
            let mut answers: Vec<String> = q
                .comparisons
                .iter()
                .map(|c| format!("vs {}: {}", c.peer.name(), c.verdict))
                .collect();
            if let Some(truth) = &q.ground_truth {
                answers.push(format!("vs dataset: {truth}"));
            }
            let mut row = format!("| `{}` |", q.expr);
            for t in &q.timings {
                row.push_str(&format!(
                    " {} | {} |",
                    show(t.timing.median_ms, 1),
                    show(t.timing.p90_ms, 1)
                ));
                if let Some(e) = &t.timing.error {
                    answers.push(format!("{} error: {e}", t.system.name()));
                }
            }
            let series: Vec<String> = q.timings.iter().map(|t| t.timing.series.to_string()).collect();
            row.push_str(&format!(
                " {} | {} | {} | {} |",
                show(q.ratio_vs_fastest_peer, 2),
                series.join("/"),
                if q.correct { "yes" } else { "**NO**" },
                answers.join("; ").replace('|', "\\|")
            ));
            let _ = writeln!(out, "{row}");
        }
        let _ = writeln!(out, "\nTotal {:.0} s.", self.total_seconds);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
        let five = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(nearest_rank(&five, 0.9), Some(5.0));
        assert_eq!(nearest_rank(&five, 0.5), Some(3.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&ten, 0.9), Some(9.0));
        let mut t = Timing {
            runs_ms: vec![30.0, 10.0, 20.0],
            ..Timing::default()
        };
        t.summarise();
        assert_eq!((t.median_ms, t.p90_ms), (Some(20.0), Some(30.0)));
    }
}
