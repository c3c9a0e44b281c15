//! The logs benchmark's results: per-run figures, medians with their spread, and the targets
//! (≥ 30 MB/s of raw logs per CPU core, index ≤ 60 % of the raw size), as markdown or JSON.

use std::fmt::Write;

use super::generate::{GenerateConfig, Generated};
use super::run::Measurement;
use crate::scrape::report::Spread;

/// Target: raw MB (10⁶ bytes) ingested per CPU second at least this.
pub const TARGET_MB_PER_CORE: f64 = 30.0;
/// Target: bytes of the windows on disk at most this percentage of the raw bytes.
pub const TARGET_INDEX_PERCENT: f64 = 60.0;
/// Other processes' CPU, as cores busy on average, above which wall times are flagged.
const OTHER_CPU_WARNING: f64 = 0.2;

const MB: f64 = 1e6;
const MIB: f64 = (1u64 << 20) as f64;

/// The figures of one run, derived from its [`Measurement`] and the raw size.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RunFigures {
    /// Run number (0-based).
    pub run: usize,
    /// Raw MB per CPU second of Loupe.
    pub mb_per_core_second: f64,
    /// Raw MiB per CPU second of Loupe.
    pub mib_per_core_second: f64,
    /// Raw MB per wall second.
    pub mb_per_wall_second: f64,
    /// Windows on disk after shutdown as a percentage of the raw bytes.
    pub index_percent: f64,
    /// `loupe_logs_disk_bytes` after the commit as a percentage of the raw bytes.
    pub store_percent: f64,
    /// Average cores Loupe kept busy while ingesting.
    pub cores: f64,
    /// Average cores everything else kept busy meanwhile.
    pub other_cores: f64,
}

impl RunFigures {
    fn of(m: &Measurement, raw_bytes: u64) -> RunFigures {
        let raw = raw_bytes as f64;
        let per = |den: f64| if den > 0.0 { raw / den } else { f64::NAN };
        RunFigures {
            run: m.run,
            // CPU and wall time up to the commit that made the last line searchable: indexing and
            // the segment flushes are part of the cost.
            mb_per_core_second: per(m.cpu_seconds_with_commit) / MB,
            mib_per_core_second: per(m.cpu_seconds_with_commit) / MIB,
            mb_per_wall_second: per(m.wall_seconds_with_commit) / MB,
            index_percent: m.windows_bytes as f64 * 100.0 / raw,
            store_percent: m.store_disk_bytes as f64 * 100.0 / raw,
            cores: m.cpu_seconds_with_commit / m.wall_seconds_with_commit.max(1e-9),
            other_cores: m.other_cpu_seconds / m.wall_seconds.max(1e-9),
        }
    }
}

/// The complete runs' figures: median, lowest and highest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Runs that stored every line.
    pub complete_runs: usize,
    /// Raw MB per CPU second: the throughput target's figure.
    pub mb_per_core_second: Option<Spread>,
    /// Raw MiB per CPU second.
    pub mib_per_core_second: Option<Spread>,
    /// Raw MB per wall second.
    pub mb_per_wall_second: Option<Spread>,
    /// Windows on disk / raw bytes, percent: the size target's figure.
    pub index_percent: Option<Spread>,
    /// Log store on disk after the commit (the gauge) / raw bytes, percent.
    pub store_percent: Option<Spread>,
    /// Seconds from spawn to every line stored.
    pub wall_seconds: Option<Spread>,
    /// Loupe's CPU seconds over the same interval.
    pub cpu_seconds: Option<Spread>,
    /// Seconds from spawn to every line committed (searchable).
    pub wall_seconds_with_commit: Option<Spread>,
    /// Loupe's CPU seconds over that interval: the throughput figure's denominator.
    pub cpu_seconds_with_commit: Option<Spread>,
    /// Average cores Loupe kept busy.
    pub cores: Option<Spread>,
    /// Average cores everything else kept busy.
    pub other_cores: Option<Spread>,
    /// Peak RSS (`VmHWM`), MiB.
    pub rss_peak_mib: Option<Spread>,
    /// Windows on disk after shutdown, MiB.
    pub windows_mib: Option<Spread>,
}

/// A target's verdict on the median.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Target met.
    Pass,
    /// Target missed.
    Miss,
    /// No complete run to judge.
    None,
}

impl Verdict {
    fn of(value: Option<Spread>, met: impl Fn(f64) -> bool) -> Verdict {
        match value {
            Some(s) if met(s.median) => Verdict::Pass,
            Some(_) => Verdict::Miss,
            None => Verdict::None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::None => "n/a",
        }
    }
}

/// The settings a report was made with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportSettings {
    /// Loupe's binary.
    pub loupe: String,
    /// The generator's configuration.
    pub generate: GenerateConfig,
    /// Runs requested.
    pub runs: usize,
    /// Timeout per run, seconds.
    pub timeout_seconds: f64,
}

/// Everything the benchmark found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// How it was run.
    pub settings: ReportSettings,
    /// The generated logs.
    pub dataset: Generated,
    /// Every run as measured.
    pub runs: Vec<Measurement>,
    /// Every run's derived figures.
    pub figures: Vec<RunFigures>,
    /// Medians over the complete runs.
    pub summary: Summary,
    /// Throughput target (median MB/s per core ≥ 30).
    pub throughput_target: Verdict,
    /// Size target (median index size ≤ 60 % of raw).
    pub size_target: Verdict,
    /// Seconds the whole benchmark took, generation included.
    pub total_seconds: f64,
}

fn show(spread: Option<Spread>, decimals: usize) -> String {
    match spread {
        None => "–".to_string(),
        Some(s) if s.min == s.max => format!("{:.*}", decimals, s.median),
        Some(s) => format!(
            "{:.*} ({:.*}–{:.*})",
            decimals, s.median, decimals, s.min, decimals, s.max
        ),
    }
}

/// `2026-11-20T10:00:00Z` for a time in nanoseconds.
fn rfc3339_seconds(ns: i64) -> String {
    let mut text = String::new();
    super::content::push_rfc3339_nano(ns.div_euclid(1_000_000_000) * 1_000_000_000, &mut text);
    text
}

impl Report {
    /// Derives the figures, the summary and the verdicts.
    pub fn new(settings: ReportSettings, dataset: Generated, runs: Vec<Measurement>, total_seconds: f64) -> Report {
        let figures: Vec<RunFigures> = runs.iter().map(|m| RunFigures::of(m, dataset.raw_bytes)).collect();
        let complete: Vec<(&Measurement, &RunFigures)> =
            runs.iter().zip(&figures).filter(|(m, _)| m.complete).collect();
        let spread = |f: &dyn Fn(&Measurement, &RunFigures) -> f64| Spread::of(complete.iter().map(|(m, r)| f(m, r)));
        let summary = Summary {
            complete_runs: complete.len(),
            mb_per_core_second: spread(&|_, r| r.mb_per_core_second),
            mib_per_core_second: spread(&|_, r| r.mib_per_core_second),
            mb_per_wall_second: spread(&|_, r| r.mb_per_wall_second),
            index_percent: spread(&|_, r| r.index_percent),
            store_percent: spread(&|_, r| r.store_percent),
            wall_seconds: spread(&|m, _| m.wall_seconds),
            cpu_seconds: spread(&|m, _| m.cpu_seconds),
            wall_seconds_with_commit: spread(&|m, _| m.wall_seconds_with_commit),
            cpu_seconds_with_commit: spread(&|m, _| m.cpu_seconds_with_commit),
            cores: spread(&|_, r| r.cores),
            other_cores: spread(&|_, r| r.other_cores),
            rss_peak_mib: spread(&|m, _| m.rss_peak_bytes as f64 / MIB),
            windows_mib: spread(&|m, _| m.windows_bytes as f64 / MIB),
        };
        let throughput_target = Verdict::of(summary.mb_per_core_second, |v| v >= TARGET_MB_PER_CORE);
        let size_target = Verdict::of(summary.index_percent, |v| v <= TARGET_INDEX_PERCENT);
        Report {
            settings,
            dataset,
            runs,
            figures,
            summary,
            throughput_target,
            size_target,
            total_seconds,
        }
    }

    /// True when every run stored exactly the lines generated.
    pub fn all_complete(&self) -> bool {
        self.runs
            .iter()
            .all(|m| m.complete && m.entries_after_commit == self.dataset.lines)
    }

    /// The query benchmark of every run, with the targets.
    fn write_queries(&self, out: &mut String) {
        use super::queries::{TARGET_METRIC_MS, TARGET_NEEDLE_MS, TARGET_NEEDLE_SPEEDUP};
        for m in self.runs.iter().filter(|m| !m.queries.is_empty()) {
            let _ = writeln!(
                out,
                "\n### Queries, run {} (Loupe through the Loki API vs `grep -F` over the same raw files)\n",
                m.run + 1
            );
            let _ = writeln!(
                out,
                "| query | Loupe ms, median (min–max) | grep ms, all raw files | grep / Loupe | grep ms, that container's files | answer | target |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for q in &m.queries {
                let target = match q.name.as_str() {
                    "needle" => {
                        let met = q.speedup >= TARGET_NEEDLE_SPEEDUP
                            && q.loupe_ms.is_some_and(|l| l.median < TARGET_NEEDLE_MS);
                        format!(
                            "≥ {TARGET_NEEDLE_SPEEDUP:.0}× and < {TARGET_NEEDLE_MS:.0} ms: {}",
                            if met && q.correct { "PASS" } else { "MISS" }
                        )
                    }
                    n if n.starts_with("metric") => {
                        let met = q.loupe_ms.is_some_and(|l| l.median < TARGET_METRIC_MS);
                        format!(
                            "< {TARGET_METRIC_MS:.0} ms: {}",
                            if met && q.correct { "PASS" } else { "MISS" }
                        )
                    }
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "| {} `{}` | {} | {} | {:.1}× | {} | {} ({}) | {} |",
                    q.name,
                    q.query.replace('|', "\\|"),
                    show(q.loupe_ms, 1),
                    show(q.grep_ms, 1),
                    q.speedup,
                    show(q.grep_own_ms, 1),
                    if q.correct { "right" } else { "WRONG" },
                    q.check,
                    target
                );
            }
        }
    }

    /// The report as markdown: the dataset, the summary table with the targets, one row per run.
    pub fn markdown(&self) -> String {
        let d = &self.dataset;
        let s = &self.summary;
        let mut out = String::new();
        let _ = writeln!(out, "## logs-bench: Loupe container-log ingestion\n");
        let _ = writeln!(
            out,
            "Dataset: {} Docker json-file containers, {:.1} MB ({:.1} MiB) raw, {} lines ({:.1} % stderr), seed {}, \
             lines from {} to {}; generated in {:.1} s ({:.0} MB/s).",
            d.containers.len(),
            d.raw_bytes as f64 / MB,
            d.raw_bytes as f64 / MIB,
            d.lines,
            d.stderr_lines as f64 * 100.0 / (d.lines.max(1) as f64),
            self.settings.generate.seed,
            rfc3339_seconds(d.first_ns),
            rfc3339_seconds(d.last_ns),
            d.seconds,
            d.raw_bytes as f64 / MB / d.seconds.max(1e-9)
        );
        let _ = writeln!(
            out,
            "Needle: `{}` (one line, container `{}`).",
            d.needle,
            &d.needle_container[..d.needle_container.len().min(12)]
        );
        let _ = writeln!(
            out,
            "Loupe: `{}`; {} of {} runs complete; {:.0} s in all.\n",
            self.settings.loupe,
            s.complete_runs,
            self.runs.len(),
            self.total_seconds
        );
        let _ = writeln!(out, "| figure | median (min–max) | target | |");
        let _ = writeln!(out, "|---|---|---|---|");
        let _ = writeln!(
            out,
            "| **MB/s per core** (raw MB / Loupe CPU s) | {} | ≥ {TARGET_MB_PER_CORE:.0} | {} |",
            show(s.mb_per_core_second, 1),
            self.throughput_target.word()
        );
        let _ = writeln!(
            out,
            "| **index size / raw size** (`logs/windows` after shutdown) | {} % | ≤ {TARGET_INDEX_PERCENT:.0} % | {} |",
            show(s.index_percent, 1),
            self.size_target.word()
        );
        let rows: [(&str, Option<Spread>, usize); 11] = [
            ("MiB/s per core", s.mib_per_core_second, 1),
            ("MB/s wall", s.mb_per_wall_second, 1),
            ("log store after commit (gauge) / raw, %", s.store_percent, 1),
            ("wall s, start → all stored", s.wall_seconds, 1),
            ("Loupe CPU s (to all stored)", s.cpu_seconds, 1),
            (
                "wall s, start → all searchable (committed)",
                s.wall_seconds_with_commit,
                1,
            ),
            ("Loupe CPU s (to all searchable)", s.cpu_seconds_with_commit, 1),
            ("Loupe cores busy", s.cores, 2),
            ("other processes' cores busy", s.other_cores, 2),
            ("peak RSS, MiB", s.rss_peak_mib, 0),
            ("windows on disk, MiB", s.windows_mib, 1),
        ];
        for (name, value, decimals) in rows {
            let _ = writeln!(out, "| {name} | {} | | |", show(value, decimals));
        }
        let _ = writeln!(
            out,
            "\n| run | stored / lines | wall s | CPU s | MB/s per core | MB/s wall | index % | windows | peak RSS MiB |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
        for (m, f) in self.runs.iter().zip(&self.figures) {
            let _ = writeln!(
                out,
                "| {} | {} / {}{} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.0} |",
                m.run + 1,
                m.entries_after_commit,
                d.lines,
                if m.complete { "" } else { " (timed out)" },
                m.wall_seconds_with_commit,
                m.cpu_seconds_with_commit,
                f.mb_per_core_second,
                f.mb_per_wall_second,
                f.index_percent,
                m.windows,
                m.rss_peak_bytes as f64 / MIB
            );
        }
        self.write_queries(&mut out);
        if s.other_cores.is_some_and(|o| o.max > OTHER_CPU_WARNING) {
            let _ = writeln!(
                out,
                "\nOther processes kept up to {:.2} cores busy during a run: wall times are pessimistic; CPU \
                 figures are Loupe's own.",
                s.other_cores.map_or(0.0, |o| o.max)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(run: usize, cpu: f64, complete: bool) -> Measurement {
        Measurement {
            run,
            complete,
            entries: 1000,
            entries_after_commit: 1000,
            startup_seconds: 0.1,
            wall_seconds: 10.0,
            cpu_seconds: cpu,
            cpu_seconds_with_commit: cpu,
            wall_seconds_with_commit: 20.0,
            other_cpu_seconds: 0.5,
            rss_peak_bytes: 100 << 20,
            rss_final_bytes: 90 << 20,
            store_disk_bytes: 40_000_000,
            windows_bytes: 35_000_000,
            windows: 2,
            wal_bytes: 0,
            stop_seconds: 0.2,
            queries: Vec::new(),
        }
    }

    fn report(runs: Vec<Measurement>) -> Report {
        let dataset = Generated {
            root: "/tmp/c".into(),
            containers: Vec::new(),
            lines: 1000,
            stderr_lines: 100,
            raw_bytes: 100_000_000,
            needle: "5f0c6e1a-0000-4000-8000-000000000000".into(),
            needle_container: "ab".repeat(32),
            first_ns: 1_795_168_800_000_000_000,
            last_ns: 1_795_168_900_000_000_000,
            seconds: 1.0,
        };
        let settings = ReportSettings {
            loupe: "target/release/loupe".into(),
            generate: GenerateConfig {
                containers: 8,
                size_bytes: 100_000_000,
                seed: 1,
                start_ns: 0,
            },
            runs: runs.len(),
            timeout_seconds: 1800.0,
        };
        Report::new(settings, dataset, runs, 60.0)
    }

    #[test]
    fn derives_figures_and_verdicts() {
        let r = report(vec![
            measurement(0, 2.0, true),
            measurement(1, 4.0, true),
            measurement(2, 5.0, true),
        ]);
        // 100 MB over 2, 4 and 5 CPU s: 50, 25, 20 MB/s per core; median 25 misses the target.
        let mb = r.summary.mb_per_core_second.expect("runs");
        assert_eq!((mb.median, mb.min, mb.max), (25.0, 20.0, 50.0));
        assert_eq!(r.throughput_target, Verdict::Miss);
        let index = r.summary.index_percent.expect("runs");
        assert!((index.median - 35.0).abs() < 1e-9);
        assert_eq!(r.size_target, Verdict::Pass);
        assert!((r.figures[0].mib_per_core_second - 100e6 / 2.0 / MIB).abs() < 1e-9);
        // Wall time and cores up to every line committed (20 s), not to every line stored (10 s).
        assert!((r.figures[0].mb_per_wall_second - 5.0).abs() < 1e-9);
        assert!((r.figures[0].cores - 0.1).abs() < 1e-9);
        assert!(r.all_complete());
        let md = r.markdown();
        assert!(
            md.contains("| **MB/s per core** (raw MB / Loupe CPU s) | 25.0 (20.0–50.0) | ≥ 30 | MISS |"),
            "{md}"
        );
        assert!(md.contains("| 35.0 % | ≤ 60 % | PASS |"), "{md}");
        assert!(
            md.contains("lines from 2026-11-20T10:00:00Z to 2026-11-20T10:01:40Z"),
            "{md}"
        );
        assert!(
            md.contains("| 1 | 1000 / 1000 | 20.0 | 2.0 | 50.0 | 5.0 | 35.0 | 2 | 100 |"),
            "{md}"
        );
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(json["throughput_target"], "MISS");
        assert_eq!(json["summary"]["complete_runs"], 3);
    }

    #[test]
    fn incomplete_runs_are_left_out() {
        let r = report(vec![measurement(0, 1.0, true), measurement(1, 100.0, false)]);
        assert_eq!(r.summary.complete_runs, 1);
        assert_eq!(r.summary.mb_per_core_second.map(|s| s.median), Some(100.0));
        assert_eq!(r.throughput_target, Verdict::Pass);
        assert!(!r.all_complete());
        assert!(r.markdown().contains("(timed out)"));
        let none = report(vec![measurement(0, 1.0, false)]);
        assert_eq!(
            (none.throughput_target, none.size_target),
            (Verdict::None, Verdict::None)
        );
    }
}
