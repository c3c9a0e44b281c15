//! The scrape benchmark's results: every measurement, per-system medians with their spread, and
//! Loupe's ratios to each peer (CPU per sample, memory per active series) against the targets, as
//! markdown or JSON.

use std::fmt::Write;

use super::runner::{Measurement, System};

/// The targets: Loupe's CPU per sample at most this fraction of the peer's.
pub fn cpu_target(peer: System) -> Option<f64> {
    match peer {
        System::Prometheus => Some(0.5),
        System::VictoriaMetrics => Some(1.0),
        System::Loupe => None,
    }
}

/// The targets: Loupe's memory per active series at most this fraction of the peer's.
pub fn memory_target(peer: System) -> Option<f64> {
    match peer {
        System::Prometheus => Some(0.5),
        _ => None,
    }
}
/// Other processes' CPU, as cores busy on average in a window, above which the window is flagged.
const OTHER_CPU_WARNING: f64 = 0.1;

/// Median, lowest and highest of a set of figures.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Spread {
    /// The median (mean of the middle two for an even count).
    pub median: f64,
    /// The lowest.
    pub min: f64,
    /// The highest.
    pub max: f64,
}

impl Spread {
    /// The spread of the finite values of `values`; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: values[0],
            max: values[n - 1],
        })
    }

    /// `median (min–max)`, or the median alone when every value is the same.
    pub fn show(&self, decimals: usize) -> String {
        if self.min == self.max {
            format!("{:.*}", decimals, self.median)
        } else {
            format!(
                "{:.*} ({:.*}–{:.*})",
                decimals, self.median, decimals, self.min, decimals, self.max
            )
        }
    }
}

/// One system's figures over all runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemSummary {
    /// Which system.
    pub system: System,
    /// Runs measured.
    pub runs: usize,
    /// CPU seconds per million appended samples.
    pub cpu_per_million_appended: Option<Spread>,
    /// CPU seconds per million samples served by the targets.
    pub cpu_per_million_scraped: Option<Spread>,
    /// Appended samples per scrape.
    pub appended_per_scrape: Option<Spread>,
    /// Scrapes per target in the window.
    pub scrapes_per_target: Option<Spread>,
    /// Average cores busy.
    pub cores: Option<Spread>,
    /// Average cores busy in everything else on the machine (not the system, not the targets).
    pub other_cores: Option<Spread>,
    /// Peak RSS (`VmHWM`), MiB.
    pub rss_peak_mib: Option<Spread>,
    /// RSS at the window's end, MiB.
    pub rss_final_mib: Option<Spread>,
    /// Peak RSS per active series, bytes.
    pub rss_peak_per_series: Option<Spread>,
    /// RSS at the window's end (steady state) per active series, bytes.
    pub rss_final_per_series: Option<Spread>,
    /// Samples ingested per scrape without the system's own per-scrape series: equal across systems
    /// when they ingested the same samples.
    pub ingested_per_scrape: Option<Spread>,
    /// Data directory at the window's end, MiB.
    pub disk_mib: Option<Spread>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

impl SystemSummary {
    fn of(system: System, targets: usize, active_series: usize, all: &[Measurement]) -> Option<SystemSummary> {
        let mine: Vec<&Measurement> = all.iter().filter(|m| m.system == system).collect();
        if mine.is_empty() {
            return None;
        }
        let spread = |f: &dyn Fn(&Measurement) -> f64| Spread::of(mine.iter().map(|m| f(m)));
        Some(SystemSummary {
            system,
            runs: mine.len(),
            cpu_per_million_appended: spread(&|m| m.cpu_per_million_appended),
            cpu_per_million_scraped: spread(&|m| m.cpu_per_million_scraped),
            appended_per_scrape: spread(&|m| m.appended_per_scrape),
            scrapes_per_target: spread(&|m| m.served.requests as f64 / targets.max(1) as f64),
            cores: spread(&|m| m.cores),
            other_cores: spread(&|m| m.other_cpu_seconds / m.window_seconds.max(1e-9)),
            rss_peak_mib: spread(&|m| mib(m.rss_peak_bytes)),
            rss_final_mib: spread(&|m| mib(m.rss_final_bytes)),
            rss_peak_per_series: spread(&|m| m.rss_peak_bytes as f64 / active_series.max(1) as f64),
            rss_final_per_series: spread(&|m| m.rss_final_bytes as f64 / active_series.max(1) as f64),
            ingested_per_scrape: spread(&|m| m.appended_per_scrape - system.synthetic_per_scrape()),
            disk_mib: spread(&|m| mib(m.disk_bytes)),
        })
    }
}

/// The settings a report was made with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportSettings {
    /// Targets.
    pub targets: usize,
    /// Series per target.
    pub series_per_target: usize,
    /// Whether a `prometheus-node-exporter` was scraped too.
    pub node_exporter: bool,
    /// Series all targets expose (synthetic targets and node exporter): the denominator of memory
    /// per active series.
    pub active_series: usize,
    /// Scrape interval, seconds.
    pub interval_seconds: f64,
    /// Scrape timeout, seconds.
    pub timeout_seconds: f64,
    /// Warm-up before each window, seconds.
    pub warmup_seconds: f64,
    /// Window length, seconds.
    pub duration_seconds: f64,
    /// Runs per system.
    pub runs: usize,
    /// Seed of the targets' values.
    pub seed: u64,
    /// Loupe's binary.
    pub loupe: String,
    /// Prometheus's binary.
    pub prometheus: String,
    /// `prometheus --version`'s first line, when it ran.
    pub prometheus_version: Option<String>,
    /// VictoriaMetrics' binary.
    pub victoria_metrics: String,
    /// VictoriaMetrics' version, when it ran.
    pub victoria_metrics_version: Option<String>,
}

/// Loupe's figures over one peer's, one ratio per run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerRatios {
    /// The peer.
    pub peer: System,
    /// CPU per million appended samples.
    pub cpu_per_sample: Option<Spread>,
    /// CPU per million samples served by the targets.
    pub cpu_per_scraped_sample: Option<Spread>,
    /// Peak RSS per active series.
    pub rss_peak_per_series: Option<Spread>,
    /// RSS at the window's end per active series.
    pub rss_final_per_series: Option<Spread>,
    /// Whether the median CPU ratio meets the target, where there is one.
    pub cpu_target_met: Option<bool>,
    /// Whether the median steady memory ratio meets the target, where there is one.
    pub memory_target_met: Option<bool>,
}

/// Everything the benchmark found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// How it ran.
    pub settings: ReportSettings,
    /// Every window, in the order measured.
    pub measurements: Vec<Measurement>,
    /// Each system over all runs, Loupe first.
    pub summaries: Vec<SystemSummary>,
    /// Loupe against each peer.
    pub ratios: Vec<PeerRatios>,
    /// Whether every system ingested the same samples per scrape (within 1 %).
    pub samples_equal: bool,
    /// Warnings about the comparison (e.g. different samples per scrape, a busy machine).
    pub warnings: Vec<String>,
    /// Seconds the whole benchmark took.
    pub total_seconds: f64,
}

impl Report {
    /// Summarises `measurements`.
    pub fn new(settings: ReportSettings, measurements: Vec<Measurement>, total_seconds: f64) -> Report {
        let targets = settings.targets;
        let systems = [System::Loupe, System::Prometheus, System::VictoriaMetrics];
        let summaries: Vec<SystemSummary> = systems
            .iter()
            .filter_map(|&s| SystemSummary::of(s, targets, settings.active_series, &measurements))
            .collect();
        let ratio = |peer: System, f: &dyn Fn(&Measurement) -> f64| {
            Spread::of((0..settings.runs).filter_map(|run| {
                let of = |system| measurements.iter().find(|m| m.run == run && m.system == system);
                Some(f(of(System::Loupe)?) / f(of(peer)?))
            }))
        };
        let ratios: Vec<PeerRatios> = systems[1..]
            .iter()
            .filter(|&&peer| summaries.iter().any(|s| s.system == peer))
            .filter(|_| summaries.iter().any(|s| s.system == System::Loupe))
            .map(|&peer| {
                let cpu_per_sample = ratio(peer, &|m| m.cpu_per_million_appended);
                let rss_final_per_series = ratio(peer, &|m| m.rss_final_bytes as f64);
                PeerRatios {
                    peer,
                    cpu_per_sample,
                    cpu_per_scraped_sample: ratio(peer, &|m| m.cpu_per_million_scraped),
                    rss_peak_per_series: ratio(peer, &|m| m.rss_peak_bytes as f64),
                    rss_final_per_series,
                    cpu_target_met: cpu_target(peer).and_then(|t| cpu_per_sample.map(|r| r.median <= t)),
                    memory_target_met: memory_target(peer).and_then(|t| rss_final_per_series.map(|r| r.median <= t)),
                }
            })
            .collect();
        let mut warnings = Vec::new();
        let ingested: Vec<(System, f64)> = summaries
            .iter()
            .filter_map(|s| s.ingested_per_scrape.map(|i| (s.system, i.median)))
            .collect();
        let mut samples_equal = true;
        if let Some(&(_, first)) = ingested.first()
            && ingested.iter().any(|(_, i)| (i - first).abs() > 0.01 * first.abs())
        {
            samples_equal = false;
            let figures: Vec<String> = ingested.iter().map(|(s, i)| format!("{} {i:.1}", s.name())).collect();
            warnings.push(format!(
                "samples ingested per scrape differ by more than 1 %: {}",
                figures.join(", ")
            ));
        }
        for m in &measurements {
            if m.other_cpu_seconds > OTHER_CPU_WARNING * m.window_seconds {
                warnings.push(format!(
                    "{} run {}: other processes used {:.1} CPU s in the {:.0} s window (busy machine)",
                    m.system.name(),
                    m.run,
                    m.other_cpu_seconds,
                    m.window_seconds
                ));
            }
            let expected = m.window_seconds / settings.interval_seconds * targets as f64;
            if (m.served.requests as f64) < 0.9 * expected {
                warnings.push(format!(
                    "{} run {}: {} scrapes in the window, {:.0} expected (missed scrapes?)",
                    m.system.name(),
                    m.run,
                    m.served.requests,
                    expected
                ));
            }
        }
        Report {
            settings,
            measurements,
            summaries,
            ratios,
            samples_equal,
            warnings,
            total_seconds,
        }
    }

    /// The summary of `system`, if it ran.
    pub fn summary(&self, system: System) -> Option<&SystemSummary> {
        self.summaries.iter().find(|s| s.system == system)
    }

    /// Loupe's ratios against `peer`, if both ran.
    pub fn ratios(&self, peer: System) -> Option<&PeerRatios> {
        self.ratios.iter().find(|r| r.peer == peer)
    }

    /// The report as markdown.
    pub fn markdown(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## Scraping: {} targets × {} series{}, interval {} s, timeout {} s, {} s window after {} s warm-up, {} run(s)\n",
            s.targets,
            s.series_per_target,
            if s.node_exporter {
                " + prometheus-node-exporter"
            } else {
                ""
            },
            s.interval_seconds,
            s.timeout_seconds,
            s.duration_seconds,
            s.warmup_seconds,
            s.runs
        );
        let _ = writeln!(
            out,
            "Loupe: `{}`; Prometheus: {}; VictoriaMetrics: {}. The systems run one after the other on the \
             same targets. Median (min–max) over runs; CPU is utime+stime of the process in the window; \
             memory per series is over the {} series the targets expose.\n",
            s.loupe,
            s.prometheus_version.as_deref().unwrap_or("not run"),
            s.victoria_metrics_version.as_deref().unwrap_or("not run"),
            s.active_series
        );
        out.push_str(
            "| system | CPU s per M samples appended | cores busy | other cores busy | samples ingested per scrape | scrapes per target | peak RSS MiB | final RSS MiB | peak RSS B/series | final RSS B/series | disk MiB |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        let show = |spread: Option<Spread>, decimals| spread.map_or("–".to_string(), |s| s.show(decimals));
        for summary in &self.summaries {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                summary.system.name(),
                show(summary.cpu_per_million_appended, 3),
                show(summary.cores, 3),
                show(summary.other_cores, 3),
                show(summary.ingested_per_scrape, 1),
                show(summary.scrapes_per_target, 1),
                show(summary.rss_peak_mib, 1),
                show(summary.rss_final_mib, 1),
                show(summary.rss_peak_per_series, 0),
                show(summary.rss_final_per_series, 0),
                show(summary.disk_mib, 1),
            );
        }
        let verdict = |met: Option<bool>, target: Option<f64>| match (met, target) {
            (Some(true), Some(t)) => format!(" (target ≤ {t}: met)"),
            (Some(false), Some(t)) => format!(" (target ≤ {t}: NOT met)"),
            _ => String::new(),
        };
        for r in &self.ratios {
            let _ = writeln!(
                out,
                "\nLoupe / {}: CPU per sample appended **{}**{}; final RSS per series **{}**{}; peak RSS per series {}.",
                r.peer.name(),
                show(r.cpu_per_sample, 3),
                verdict(r.cpu_target_met, cpu_target(r.peer)),
                show(r.rss_final_per_series, 3),
                verdict(r.memory_target_met, memory_target(r.peer)),
                show(r.rss_peak_per_series, 3)
            );
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "\nWarning: {warning}.");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::server::Served;

    #[test]
    fn spreads() {
        assert_eq!(Spread::of([]), None);
        assert_eq!(
            Spread::of([3.0, 1.0, f64::NAN, 2.0]),
            Some(Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            })
        );
        assert_eq!(Spread::of([4.0, 1.0]).map(|s| s.median), Some(2.5));
        assert_eq!(Spread::of([1.5]).map(|s| s.show(2)), Some("1.50".to_string()));
        assert_eq!(
            Spread::of([1.0, 2.0, 4.0]).map(|s| s.show(1)),
            Some("2.0 (1.0–4.0)".to_string())
        );
    }

    fn measurement(system: System, run: usize, cpu: f64) -> Measurement {
        Measurement {
            system,
            run,
            window_seconds: 10.0,
            cpu_seconds: cpu,
            samples_appended: 2e6,
            served: Served {
                requests: 2000,
                gzipped: 2000,
                samples: 2_000_000,
            },
            appended_per_scrape: 1000.0,
            cpu_per_million_appended: cpu / 2.0,
            cpu_per_million_scraped: cpu / 2.0,
            cores: cpu / 10.0,
            generator_cpu_seconds: 0.5,
            other_cpu_seconds: 0.1,
            rss_window_peak_bytes: 1 << 20,
            rss_peak_bytes: 1 << 20,
            rss_final_bytes: 1 << 20,
            disk_bytes: 0,
            startup_seconds: 1.0,
            first_samples_seconds: 2.0,
            stop_seconds: 1.0,
        }
    }

    #[test]
    fn ratio_and_verdict() {
        let settings = ReportSettings {
            targets: 100,
            series_per_target: 1000,
            node_exporter: false,
            active_series: 100_000,
            interval_seconds: 1.0,
            timeout_seconds: 1.0,
            warmup_seconds: 0.0,
            duration_seconds: 10.0,
            runs: 2,
            seed: 1,
            loupe: "loupe".into(),
            prometheus: "prometheus".into(),
            prometheus_version: None,
            victoria_metrics: "vm".into(),
            victoria_metrics_version: None,
        };
        let report = Report::new(
            settings,
            vec![
                measurement(System::Loupe, 0, 1.0),
                measurement(System::Prometheus, 0, 4.0),
                measurement(System::Loupe, 1, 2.0),
                measurement(System::Prometheus, 1, 4.0),
            ],
            30.0,
        );
        let ratios = report.ratios(System::Prometheus).expect("ratios");
        assert_eq!(
            ratios.cpu_per_sample,
            Some(Spread {
                median: 0.375,
                min: 0.25,
                max: 0.5
            })
        );
        assert_eq!(ratios.cpu_target_met, Some(true));
        assert_eq!(ratios.memory_target_met, Some(false));
        assert!(report.ratios(System::VictoriaMetrics).is_none());
        assert!(report.samples_equal);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let markdown = report.markdown();
        assert!(markdown.contains("| loupe | 0.750 (0.500–1.000) |"), "{markdown}");
        assert!(
            markdown.contains("CPU per sample appended **0.375 (0.250–0.500)** (target ≤ 0.5: met)"),
            "{markdown}"
        );
        assert!(
            markdown.contains("final RSS per series **1.000** (target ≤ 0.5: NOT met)"),
            "{markdown}"
        );
    }
}
