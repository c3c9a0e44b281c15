//! The side-by-side benchmark: Loupe, Prometheus and VictoriaMetrics on the same work, in one run.
//!
//! [`run`] finds (or installs, from Debian's packages) the peers ([`binaries`]), then runs each
//! chosen scenario in turn, every system on 127.0.0.1 with ephemeral ports and temporary data
//! directories, stopped by PID when done:
//!
//! * **scrape** ([`crate::scrape`]): synthetic targets plus a real node exporter, scraped by each
//!   system in turn for a fixed window; CPU per sample, memory per active series;
//! * **bulk** ([`crate::querybench`]): one dataset imported into each (Prometheus through `promtool`),
//!   bytes per sample on disk, then the dashboard query set timed on all three with the answers
//!   compared;
//! * **logs** ([`crate::logsbench`]): Loupe's container-log ingestion and search against `grep -F`.
//!
//! The [`summary::Summary`] puts every figure with its Loupe/peer ratios and targets in one table.

pub mod binaries;
pub mod summary;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::{Result, logsbench, querybench, scrape};
pub use summary::Summary;

/// A scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Scraping the same targets.
    Scrape,
    /// Bulk import of one dataset, then the query set over it.
    Bulk,
    /// Container-log ingestion and search.
    Logs,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 3] = [Scenario::Scrape, Scenario::Bulk, Scenario::Logs];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Scrape => "scrape",
            Scenario::Bulk => "bulk",
            Scenario::Logs => "logs",
        }
    }

    /// Parses a comma-separated list (`scrape,bulk`); `all` is every scenario.
    pub fn parse_list(text: &str) -> Result<Vec<Scenario>> {
        let mut out = Vec::new();
        for word in text.split(',').map(str::trim) {
            let found: Vec<Scenario> = match word {
                "all" => Scenario::ALL.to_vec(),
                // The query set runs on the bulk-imported data.
                "query" | "bulk" => vec![Scenario::Bulk],
                _ => match Scenario::ALL.iter().find(|s| s.name() == word) {
                    Some(s) => vec![*s],
                    None => return Err(format!("unknown scenario {word:?} (scrape, bulk, logs or all)").into()),
                },
            };
            for s in found {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out.sort_by_key(|s| Scenario::ALL.iter().position(|a| a == s));
        Ok(out)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Install missing peers with apt-get.
    pub install: bool,
    /// The scrape scenario (its binaries are used by the others too).
    pub scrape: scrape::Settings,
    /// The bulk and query scenario.
    pub bulk: querybench::Settings,
    /// The logs scenario.
    pub logs: logsbench::Settings,
    /// Where every scenario's files go (a subdirectory each); temporary directories when `None`.
    pub work_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            scenarios: Scenario::ALL.to_vec(),
            install: true,
            scrape: scrape::Settings {
                runs: 3,
                ..scrape::Settings::default()
            },
            bulk: querybench::Settings::default(),
            logs: logsbench::Settings {
                size_bytes: 1 << 30,
                runs: 1,
                ..logsbench::Settings::default()
            },
            work_dir: None,
        }
    }
}

impl Settings {
    /// A small run of every scenario (a few minutes): the harness end to end, not figures to quote.
    pub fn quick() -> Settings {
        let defaults = Settings::default();
        Settings {
            scrape: scrape::Settings {
                targets: 4,
                series_per_target: 200,
                interval: Duration::from_secs(1),
                timeout: Duration::from_millis(900),
                warmup: Duration::from_secs(2),
                duration: Duration::from_secs(5),
                runs: 1,
                ..defaults.scrape
            },
            bulk: querybench::Settings {
                series: 400,
                hours: 2,
                runs: 2,
                chunk_bytes: 4 << 20,
                settle_limit: Duration::from_secs(120),
                ..defaults.bulk
            },
            logs: logsbench::Settings {
                size_bytes: 4 << 20,
                containers: 2,
                query_repeats: 2,
                ..defaults.logs
            },
            ..defaults
        }
    }

    /// Sets Loupe's binary in every scenario.
    pub fn set_loupe(&mut self, path: PathBuf) {
        self.scrape.loupe = path.clone();
        self.bulk.loupe = path.clone();
        self.logs.loupe = path;
    }

    /// Sets Prometheus's binary (and `promtool` beside it) in every scenario.
    pub fn set_prometheus(&mut self, path: PathBuf) {
        self.bulk.promtool = path.with_file_name("promtool");
        self.scrape.prometheus = path.clone();
        self.bulk.prometheus = Some(path);
    }

    /// Sets VictoriaMetrics' binary in every scenario.
    pub fn set_victoria_metrics(&mut self, path: PathBuf) {
        self.scrape.victoria_metrics = path.clone();
        self.bulk.victoria_metrics = path;
    }

    fn scenario_dir(&self, scenario: Scenario) -> Option<PathBuf> {
        self.work_dir.as_ref().map(|d| d.join(scenario.name()))
    }
}

/// Everything one run found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The headline table.
    pub summary: Summary,
    /// The scrape scenario's full report.
    pub scrape: Option<scrape::report::Report>,
    /// The bulk and query scenario's full report.
    pub bulk: Option<querybench::report::Report>,
    /// The logs scenario's full report.
    pub logs: Option<logsbench::report::Report>,
    /// Scenarios that failed, with the error.
    pub failures: Vec<String>,
    /// Wall seconds of the whole run.
    pub total_seconds: f64,
}

impl Report {
    /// True when every scenario ran and every query answer was right (targets may still be missed).
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && self.summary.wrong_answers == 0
    }

    /// The summary table followed by each scenario's details.
    pub fn markdown(&self) -> String {
        let mut out = self.summary.markdown();
        for failure in &self.failures {
            out.push_str(&format!("\n**Failed**: {failure}\n"));
        }
        let details = [
            self.scrape.as_ref().map(scrape::report::Report::markdown),
            self.bulk.as_ref().map(querybench::report::Report::markdown),
            self.logs.as_ref().map(logsbench::report::Report::markdown),
        ];
        for text in details.into_iter().flatten() {
            out.push('\n');
            out.push_str(&text);
        }
        out.push_str(&format!("\nWhole run: {:.0} s.\n", self.total_seconds));
        out
    }
}

/// Runs the chosen scenarios; `progress` is told what happens. A failing scenario is recorded and the
/// others still run.
pub fn run(settings: &Settings, mut progress: impl FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    let s = &settings.scrape;
    let needs_peers = settings.scenarios.iter().any(|s| *s != Scenario::Logs);
    if needs_peers {
        let tools = binaries::tools(
            &s.prometheus,
            &settings.bulk.promtool,
            &s.victoria_metrics,
            s.node_exporter.as_deref(),
        );
        binaries::ensure(&tools, settings.install, &mut progress)?;
    }
    if !s.loupe.is_file() {
        return Err(format!(
            "loupe binary {} not found (cargo build --release --bin loupe)",
            s.loupe.display()
        )
        .into());
    }
    let mut report = Report {
        summary: Summary::default(),
        scrape: None,
        bulk: None,
        logs: None,
        failures: Vec::new(),
        total_seconds: 0.0,
    };
    for &scenario in &settings.scenarios {
        progress(&format!("scenario {}", scenario.name()));
        let mut tell = |step: &str| progress(&format!("{}: {step}", scenario.name()));
        let outcome = match scenario {
            Scenario::Scrape => scrape::run(
                &scrape::Settings {
                    work_dir: settings.scenario_dir(scenario),
                    ..settings.scrape.clone()
                },
                &mut tell,
            )
            .map(|r| report.scrape = Some(r)),
            Scenario::Bulk => querybench::run(
                &querybench::Settings {
                    work_dir: settings.scenario_dir(scenario),
                    ..settings.bulk.clone()
                },
                &mut tell,
            )
            .map(|r| report.bulk = Some(r)),
            Scenario::Logs => logsbench::run(
                &logsbench::Settings {
                    work_dir: settings.scenario_dir(scenario),
                    ..settings.logs.clone()
                },
                &mut tell,
            )
            .map(|r| report.logs = Some(r)),
        };
        if let Err(error) = outcome {
            progress(&format!("scenario {} failed: {error}", scenario.name()));
            report.failures.push(format!("{}: {error}", scenario.name()));
        }
    }
    report.summary = Summary::of(report.scrape.as_ref(), report.bulk.as_ref(), report.logs.as_ref());
    report.total_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scenario_lists() {
        assert_eq!(Scenario::parse_list("all").expect("parses"), Scenario::ALL);
        assert_eq!(
            Scenario::parse_list("logs,scrape,logs").expect("parses"),
            [Scenario::Scrape, Scenario::Logs]
        );
        assert_eq!(Scenario::parse_list("query").expect("parses"), [Scenario::Bulk]);
        assert!(Scenario::parse_list("scrape,nope").is_err());
    }

    #[test]
    fn sets_binaries_everywhere() {
        let mut settings = Settings::quick();
        settings.set_loupe("/x/loupe".into());
        settings.set_prometheus("/opt/p/prometheus".into());
        settings.set_victoria_metrics("/opt/vm".into());
        assert_eq!(settings.logs.loupe, PathBuf::from("/x/loupe"));
        assert_eq!(settings.bulk.loupe, PathBuf::from("/x/loupe"));
        assert_eq!(settings.bulk.promtool, PathBuf::from("/opt/p/promtool"));
        assert_eq!(settings.scrape.prometheus, PathBuf::from("/opt/p/prometheus"));
        assert_eq!(settings.bulk.victoria_metrics, PathBuf::from("/opt/vm"));
        assert_eq!(settings.scenario_dir(Scenario::Logs), None);
        settings.work_dir = Some("/w".into());
        assert_eq!(settings.scenario_dir(Scenario::Logs), Some(PathBuf::from("/w/logs")));
    }
}
