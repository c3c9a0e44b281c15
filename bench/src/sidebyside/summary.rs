//! The headline table: every figure of every scenario for each system, Loupe's ratio to each peer
//! (median and spread over the runs where a run gives one ratio) and the target it is held to.

use std::fmt::Write;

use crate::logsbench;
use crate::querybench::report::{Report as BulkReport, SystemFigures};
use crate::querybench::systems::System as BulkSystem;
use crate::scrape::report::{PeerRatios, Report as ScrapeReport, Spread, SystemSummary, cpu_target, memory_target};
use crate::scrape::runner::System as ScrapeSystem;

/// Target: Loupe's bytes per sample on disk at most this fraction of Prometheus's.
pub const BYTES_TARGET_PROMETHEUS: f64 = 0.7;
/// Target: Loupe's bytes per sample on disk at most this fraction of VictoriaMetrics'.
pub const BYTES_TARGET_VICTORIA_METRICS: f64 = 1.0;
/// Target: every query at most this fraction of the faster peer's median latency.
pub const QUERY_TARGET: f64 = 1.0;

/// One line of the table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Row {
    /// `scrape`, `bulk`, `query` or `logs`.
    pub scenario: String,
    /// What is measured, with its unit.
    pub figure: String,
    /// Loupe's value as shown (median, with the spread over runs).
    pub loupe: String,
    /// Prometheus's value as shown (`grep -F`'s in the logs scenario).
    pub prometheus: String,
    /// VictoriaMetrics' value as shown.
    pub victoria_metrics: String,
    /// Loupe / Prometheus.
    pub ratio_prometheus: Option<Spread>,
    /// Loupe / VictoriaMetrics.
    pub ratio_victoria_metrics: Option<Spread>,
    /// The target, in words.
    pub target: String,
    /// Whether the target is met (on the medians); `None` without a target or a figure.
    pub met: Option<bool>,
}

/// The table and the verdict counts.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// The rows, scenario by scenario.
    pub rows: Vec<Row>,
    /// Targets met.
    pub targets_met: usize,
    /// Targets missed.
    pub targets_missed: usize,
    /// Query answers of Loupe that were wrong (or failed): each is a failure, however fast.
    pub wrong_answers: usize,
}

fn spread_text(spread: Option<Spread>, decimals: usize) -> String {
    spread.map_or_else(|| "–".to_string(), |s| s.show(decimals))
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}

fn single(value: Option<f64>) -> Option<Spread> {
    value.filter(|v| v.is_finite()).and_then(|v| Spread::of([v]))
}

/// Met when every present ratio is at most its target; `None` when none is present.
fn within(pairs: &[(Option<Spread>, Option<f64>)]) -> Option<bool> {
    let judged: Vec<bool> = pairs
        .iter()
        .filter_map(|(ratio, target)| Some(ratio.as_ref()?.median <= (*target)?))
        .collect();
    (!judged.is_empty()).then(|| judged.iter().all(|m| *m))
}

/// A figure of a system's scrape summary.
type ScrapeFigure = fn(&SystemSummary) -> Option<Spread>;
/// A ratio of Loupe's scrape figures to a peer's.
type ScrapeRatio = fn(&PeerRatios) -> Option<Spread>;
/// A figure of a system's bulk import.
type BulkFigure = fn(&SystemFigures) -> f64;

fn scrape_rows(report: &ScrapeReport, rows: &mut Vec<Row>) {
    let (p, v) = (ScrapeSystem::Prometheus, ScrapeSystem::VictoriaMetrics);
    let value = |system, f: ScrapeFigure, decimals| spread_text(report.summary(system).and_then(f), decimals);
    let row = |figure: &str, f: ScrapeFigure, r: ScrapeRatio, decimals, targets: [Option<f64>; 2]| {
        let (rp, rv) = (report.ratios(p).and_then(r), report.ratios(v).and_then(r));
        let target = match targets {
            [Some(tp), Some(tv)] => format!("≤ {tp}× Prometheus, ≤ {tv}× VM"),
            [Some(tp), None] => format!("≤ {tp}× Prometheus"),
            _ => String::new(),
        };
        Row {
            scenario: "scrape".into(),
            figure: figure.into(),
            loupe: value(ScrapeSystem::Loupe, f, decimals),
            prometheus: value(p, f, decimals),
            victoria_metrics: value(v, f, decimals),
            ratio_prometheus: rp,
            ratio_victoria_metrics: rv,
            target,
            met: within(&[(rp, targets[0]), (rv, targets[1])]),
        }
    };
    rows.push(row(
        "CPU s per million samples ingested",
        |s| s.cpu_per_million_appended,
        |r| r.cpu_per_sample,
        3,
        [cpu_target(p), cpu_target(v)],
    ));
    rows.push(row(
        "RSS per active series at the window's end, bytes",
        |s| s.rss_final_per_series,
        |r| r.rss_final_per_series,
        0,
        [memory_target(p), memory_target(v)],
    ));
    rows.push(row(
        "peak RSS per active series, bytes",
        |s| s.rss_peak_per_series,
        |r| r.rss_peak_per_series,
        0,
        [None, None],
    ));
    rows.push(Row {
        scenario: "scrape".into(),
        figure: "samples ingested per scrape (without each system's own series)".into(),
        loupe: value(ScrapeSystem::Loupe, |s| s.ingested_per_scrape, 1),
        prometheus: value(p, |s| s.ingested_per_scrape, 1),
        victoria_metrics: value(v, |s| s.ingested_per_scrape, 1),
        target: "equal within 1 %".into(),
        met: Some(report.samples_equal),
        ..Row::default()
    });
}

fn bulk_rows(report: &BulkReport, rows: &mut Vec<Row>) {
    let fig = |system| report.system(system);
    let (l, p, v) = (BulkSystem::Loupe, BulkSystem::Prometheus, BulkSystem::VictoriaMetrics);
    let ratio = |peer, f: BulkFigure| single(Some(f(fig(l)?) / f(fig(peer)?)));
    let show = |system, f: BulkFigure, decimals| number(fig(system).map(f), decimals);
    let figures: [(&str, BulkFigure, usize); 4] = [
        ("import wall seconds", |s| s.import_seconds, 1),
        ("import CPU seconds", |s| s.import_cpu_seconds, 1),
        (
            "bytes per sample on disk, whole data directory after compaction / flush",
            |s| s.bytes_per_sample,
            3,
        ),
        (
            "bytes per sample in compacted blocks (Loupe's head of the last hours excluded)",
            |s| s.blocks_bytes_per_sample,
            3,
        ),
    ];
    for (i, (figure, f, decimals)) in figures.into_iter().enumerate() {
        let (rp, rv) = (ratio(p, f), ratio(v, f));
        let (target, met) = if i >= 2 {
            (
                format!("≤ {BYTES_TARGET_PROMETHEUS}× Prometheus, ≤ {BYTES_TARGET_VICTORIA_METRICS}× VM"),
                within(&[
                    (rp, Some(BYTES_TARGET_PROMETHEUS)),
                    (rv, Some(BYTES_TARGET_VICTORIA_METRICS)),
                ]),
            )
        } else {
            (String::new(), None)
        };
        rows.push(Row {
            scenario: "bulk".into(),
            figure: figure.into(),
            loupe: show(l, f, decimals),
            prometheus: show(p, f, decimals),
            victoria_metrics: show(v, f, decimals),
            ratio_prometheus: rp,
            ratio_victoria_metrics: rv,
            target,
            met,
        });
    }
    for q in &report.queries {
        let median = |system| q.timing(system).and_then(|t| t.median_ms);
        let ratio = |peer| match (median(l), median(peer)) {
            (Some(a), Some(b)) if b > 0.0 => single(Some(a / b)),
            _ => None,
        };
        let met = q.ratio_vs_fastest_peer.map(|r| r <= QUERY_TARGET && q.correct);
        rows.push(Row {
            scenario: "query".into(),
            figure: format!(
                "`{}` median ms{}",
                q.expr,
                if q.correct { "" } else { " (**answer wrong or failed**)" }
            ),
            loupe: number(median(l), 1),
            prometheus: number(median(p), 1),
            victoria_metrics: number(median(v), 1),
            ratio_prometheus: ratio(p),
            ratio_victoria_metrics: ratio(v),
            target: format!("≤ {QUERY_TARGET}× the faster peer, right answer"),
            met: if q.correct { met } else { Some(false) },
        });
    }
}

fn logs_rows(report: &logsbench::report::Report, rows: &mut Vec<Row>) {
    let s = &report.summary;
    let met = |v: logsbench::report::Verdict| match v {
        logsbench::report::Verdict::Pass => Some(true),
        logsbench::report::Verdict::Miss => Some(false),
        logsbench::report::Verdict::None => None,
    };
    rows.push(Row {
        scenario: "logs".into(),
        figure: "ingest, raw MB per Loupe CPU second".into(),
        loupe: spread_text(s.mb_per_core_second, 1),
        target: "≥ 30".into(),
        met: met(report.throughput_target),
        ..Row::default()
    });
    rows.push(Row {
        scenario: "logs".into(),
        figure: "index + stored lines, % of raw size".into(),
        loupe: spread_text(s.index_percent, 1),
        target: "≤ 60 %".into(),
        met: met(report.size_target),
        ..Row::default()
    });
    let Some(run) = report.runs.iter().find(|r| !r.queries.is_empty()) else {
        return;
    };
    for q in &run.queries {
        let loupe = q.loupe_ms.map(|s| s.median);
        let grep = q.grep_ms.map(|s| s.median);
        let (target, met) = if q.name.contains("needle") {
            (
                format!(
                    "≥ {}× faster than grep, < {} ms",
                    logsbench::queries::TARGET_NEEDLE_SPEEDUP,
                    logsbench::queries::TARGET_NEEDLE_MS
                ),
                loupe.map(|l| {
                    q.correct
                        && q.speedup >= logsbench::queries::TARGET_NEEDLE_SPEEDUP
                        && l < logsbench::queries::TARGET_NEEDLE_MS
                }),
            )
        } else {
            ("right answer".into(), Some(q.correct))
        };
        rows.push(Row {
            scenario: "logs".into(),
            figure: format!("{} ms (Prometheus column: `grep -F` over the raw files)", q.name),
            loupe: spread_text(q.loupe_ms, 1),
            prometheus: spread_text(q.grep_ms, 1),
            ratio_prometheus: match (loupe, grep) {
                (Some(l), Some(g)) if g > 0.0 => single(Some(l / g)),
                _ => None,
            },
            target,
            met,
            ..Row::default()
        });
    }
}

impl Summary {
    /// The rows of whichever scenarios ran.
    pub fn of(
        scrape: Option<&ScrapeReport>,
        bulk: Option<&BulkReport>,
        logs: Option<&logsbench::report::Report>,
    ) -> Summary {
        let mut rows = Vec::new();
        if let Some(r) = scrape {
            scrape_rows(r, &mut rows);
        }
        let mut wrong_answers = 0;
        if let Some(r) = bulk {
            bulk_rows(r, &mut rows);
            wrong_answers += r.queries.iter().filter(|q| !q.correct).count();
        }
        if let Some(r) = logs {
            logs_rows(r, &mut rows);
            wrong_answers += r
                .runs
                .iter()
                .flat_map(|run| &run.queries)
                .filter(|q| !q.correct)
                .count();
        }
        Summary {
            targets_met: rows.iter().filter(|r| r.met == Some(true)).count(),
            targets_missed: rows.iter().filter(|r| r.met == Some(false)).count(),
            wrong_answers,
            rows,
        }
    }

    /// The table as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# Loupe side by side with Prometheus and VictoriaMetrics\n\n");
        let _ = writeln!(
            out,
            "{} targets met, {} missed; {} wrong query answers. Ratios are Loupe / peer (below 1 is \
             better for Loupe, except ingest MB/s); median (min–max) where the scenario ran several times.\n",
            self.targets_met, self.targets_missed, self.wrong_answers
        );
        out.push_str(
            "| scenario | figure | Loupe | Prometheus | VictoriaMetrics | Loupe / Prometheus | Loupe / VM | target | met |\n\
             |---|---|---:|---:|---:|---:|---:|---|---|\n",
        );
        for r in &self.rows {
            let empty = |s: &str| if s.is_empty() { "–".to_string() } else { s.to_string() };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.figure.replace('|', "\\|"),
                empty(&r.loupe),
                empty(&r.prometheus),
                empty(&r.victoria_metrics),
                spread_text(r.ratio_prometheus, 2),
                spread_text(r.ratio_victoria_metrics, 2),
                empty(&r.target),
                match r.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "–",
                }
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_ratios_against_targets() {
        let s = |v| Spread::of([v]);
        assert_eq!(within(&[(s(0.4), Some(0.5)), (s(0.9), Some(1.0))]), Some(true));
        assert_eq!(within(&[(s(0.4), Some(0.5)), (s(1.1), Some(1.0))]), Some(false));
        assert_eq!(within(&[(None, Some(0.5)), (s(0.2), None)]), None);
        assert_eq!(within(&[(None, Some(0.5)), (s(0.2), Some(0.5))]), Some(true));
    }

    #[test]
    fn renders_rows() {
        let summary = Summary {
            rows: vec![Row {
                scenario: "bulk".into(),
                figure: "bytes | per sample".into(),
                loupe: "1.000".into(),
                prometheus: "2.000".into(),
                victoria_metrics: String::new(),
                ratio_prometheus: Spread::of([0.5]),
                ratio_victoria_metrics: None,
                target: "≤ 0.7× Prometheus".into(),
                met: Some(true),
            }],
            targets_met: 1,
            targets_missed: 0,
            wrong_answers: 0,
        };
        let text = summary.markdown();
        assert!(
            text.contains("| bulk | bytes \\| per sample | 1.000 | 2.000 | – | 0.50 | – | ≤ 0.7× Prometheus | yes |"),
            "{text}"
        );
        assert!(text.contains("1 targets met, 0 missed; 0 wrong query answers"));
        assert_eq!(Summary::of(None, None, None).rows.len(), 0);
    }
}
