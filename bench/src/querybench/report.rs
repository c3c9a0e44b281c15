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

/// One query's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryFigures {
    /// Short name.
    pub name: String,
    /// The expression.
    pub expr: String,
    /// Instant (else range) query.
    pub instant: bool,
    /// Loupe's latencies.
    pub loupe: Timing,
    /// VictoriaMetrics' latencies.
    pub victoria_metrics: Timing,
    /// Loupe's median over VictoriaMetrics' median.
    pub ratio: Option<f64>,
    /// Loupe's answer against VictoriaMetrics'.
    pub comparison: Option<Comparison>,
    /// `match`, `differs (VM semantics): …` or `MISMATCH: …`.
    pub verdict: String,
    /// Loupe's answer against values known from the dataset, where the query allows it.
    pub ground_truth: Option<String>,
}

impl QueryFigures {
    /// Assembles the figures and the ratio.
    pub fn new(
        query: &QuerySpec,
        loupe: Timing,
        victoria_metrics: Timing,
        comparison: Option<Comparison>,
        verdict: String,
        ground_truth: Option<String>,
    ) -> QueryFigures {
        let ratio = match (loupe.median_ms, victoria_metrics.median_ms) {
            (Some(l), Some(v)) if v > 0.0 => Some(l / v),
            _ => None,
        };
        QueryFigures {
            name: query.name.into(),
            expr: query.expr.into(),
            instant: query.instant,
            loupe,
            victoria_metrics,
            ratio,
            comparison,
            verdict,
            ground_truth,
        }
    }

    /// One progress line.
    pub fn summary(&self) -> String {
        format!(
            "loupe {} ms, vm {} ms, ratio {}; {}",
            show(self.loupe.median_ms, 1),
            show(self.victoria_metrics.median_ms, 1),
            show(self.ratio, 2),
            self.verdict
        )
    }
}

/// One system's import figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemFigures {
    /// Which system.
    pub system: System,
    /// Wall seconds spent in import requests.
    pub import_seconds: f64,
    /// The system's CPU seconds during the import (both systems ran then).
    pub import_cpu_seconds: f64,
    /// Bytes of Prometheus text imported.
    pub import_text_bytes: u64,
    /// Seconds until background work was idle after the import.
    pub settle_seconds: f64,
    /// Bytes of the data directory after settling.
    pub disk_bytes: u64,
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
    /// Per-system figures.
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
    /// The report as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let d = &self.dataset;
        let _ = writeln!(out, "# Query latency: Loupe vs VictoriaMetrics\n");
        let _ = writeln!(
            out,
            "Dataset: {} series ({} targets) × {} samples at {} s = {} samples, {} h ending {} ms, seed {}. \
             Range queries over the whole range at step {} s; {} timed runs after one warm-up, client-side \
             wall time until the last byte. Loupe: `{}`; VictoriaMetrics: {}.\n",
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
            self.victoria_metrics_version.as_deref().unwrap_or("unknown version")
        );
        let _ = writeln!(
            out,
            "| system | import wall s | import CPU s | settle s | disk | RSS after import | peak RSS |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for s in &self.systems {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
                s.system.name(),
                s.import_seconds,
                s.import_cpu_seconds,
                s.settle_seconds,
                mib(s.disk_bytes),
                mib(s.rss_bytes),
                mib(s.peak_rss_bytes)
            );
        }
        let _ = writeln!(
            out,
            "\n| query | Loupe median ms | Loupe p90 ms | VM median ms | VM p90 ms | Loupe/VM | series (L/VM) | \
             points (L/VM) | answers |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for q in &self.queries {
            let mut answers = q.verdict.clone();
            if let Some(truth) = &q.ground_truth {
                answers.push_str(&format!("; Loupe vs dataset: {truth}"));
            }
            for (name, t) in [("Loupe", &q.loupe), ("VM", &q.victoria_metrics)] {
                if let Some(e) = &t.error {
                    answers.push_str(&format!("; {name} error: {e}"));
                }
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {}/{} | {}/{} | {} |",
                q.expr,
                show(q.loupe.median_ms, 1),
                show(q.loupe.p90_ms, 1),
                show(q.victoria_metrics.median_ms, 1),
                show(q.victoria_metrics.p90_ms, 1),
                show(q.ratio, 2),
                q.loupe.series,
                q.victoria_metrics.series,
                q.loupe.points,
                q.victoria_metrics.points,
                answers.replace('|', "\\|")
            );
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
