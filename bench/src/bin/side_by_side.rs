//! `side-by-side`: Loupe, Prometheus and VictoriaMetrics on the same work in one run — scraping,
//! bulk import, queries — plus Loupe's log ingestion against `grep`, with Loupe/peer ratios, as a
//! markdown table on stdout and optionally JSON and markdown files.
//!
//! ```text
//! cargo build --release --bin loupe
//! cargo run --release -p loupe-bench --bin side-by-side -- --json side-by-side.json --markdown side-by-side.md
//! ```
//!
//! Missing peers are installed from Debian's packages (`prometheus`, `victoria-metrics`,
//! `prometheus-node-exporter`) when running as root or with password-less sudo; `--no-install` only
//! looks for them. See `--help` for the scale of each scenario.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use loupe_bench::Result;
use loupe_bench::logsbench::generate::parse_size;
use loupe_bench::scrape::runner::System;
use loupe_bench::sidebyside::{self, Scenario, Settings};

const USAGE: &str = "usage: side-by-side [--quick] [--scenarios scrape,bulk,logs] [flags]

Runs Loupe, Prometheus and VictoriaMetrics on the same work and prints a markdown table of the
figures with the Loupe / peer ratios (build Loupe first: cargo build --release --bin loupe).

  --quick                  a small run of every scenario (minutes; checks the harness, not figures)
  --scenarios LIST         scrape, bulk (bulk import + queries), logs, or all (default all)
  --loupe PATH             default target/release/loupe
  --prometheus PATH        default /usr/bin/prometheus (promtool beside it)
  --victoria-metrics PATH  default /usr/bin/victoria-metrics
  --node-exporter PATH     default /usr/bin/prometheus-node-exporter; `none` leaves it out
  --no-install             do not apt-get install missing peers
  --only LIST              systems (loupe,prometheus,victoria-metrics): the scrape scenario runs
                           these; the bulk one leaves Prometheus out if it is not listed
  --targets N --series-per-target N --interval 5s --timeout 4s --warmup 10s --duration 60s
  --scrape-runs N          scrape scenario (default 100 × 1000 series, 5 s, 60 s windows, 3 runs)
  --series N --hours H --query-runs N
                           bulk scenario (default 10000 series × 24 h at 15 s, 5 timed runs per query)
  --logs-size SIZE --logs-runs N
                           logs scenario (default 1GiB, 1 run)
  --seed S                 every generator's seed (default 1)
  --work-dir DIR           keep every file there (default: temporary directories)
  --json PATH --markdown PATH
                           also write the report there";

/// Parsed command line.
struct Args {
    settings: Settings,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
}

fn parse_systems(text: &str) -> Result<Vec<System>> {
    let mut systems = Vec::new();
    for word in text.split(',') {
        systems.push(match word.trim() {
            "loupe" => System::Loupe,
            "prometheus" => System::Prometheus,
            "victoria-metrics" | "vm" => System::VictoriaMetrics,
            other => return Err(format!("unknown system {other:?} (loupe, prometheus, victoria-metrics)").into()),
        });
    }
    Ok(systems)
}

fn parse_args(args: Vec<String>) -> Result<Option<Args>> {
    let mut settings = if args.iter().any(|a| a == "--quick") {
        Settings::quick()
    } else {
        Settings::default()
    };
    let (mut json, mut markdown) = (None, None);
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quick" => continue,
            "--no-install" => {
                settings.install = false;
                continue;
            }
            _ => {}
        }
        let value = it.next().ok_or_else(|| format!("flag {flag} needs a value"))?;
        let count = || -> Result<usize> {
            match value.parse::<usize>() {
                Ok(n) if n > 0 && n <= 10_000_000 => Ok(n),
                _ => Err(format!("invalid count {value:?} for {flag}").into()),
            }
        };
        let duration = || scraper::duration::parse_duration(&value).map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--scenarios" => settings.scenarios = Scenario::parse_list(&value)?,
            "--loupe" => settings.set_loupe(PathBuf::from(&value)),
            "--prometheus" => settings.set_prometheus(PathBuf::from(&value)),
            "--victoria-metrics" => settings.set_victoria_metrics(PathBuf::from(&value)),
            "--node-exporter" => {
                settings.scrape.node_exporter = (value != "none").then(|| PathBuf::from(&value));
            }
            "--only" => settings.scrape.systems = parse_systems(&value)?,
            "--targets" => settings.scrape.targets = count()?,
            "--series-per-target" => settings.scrape.series_per_target = count()?,
            "--interval" => settings.scrape.interval = duration()?,
            "--timeout" => settings.scrape.timeout = duration()?,
            "--warmup" => settings.scrape.warmup = duration()?,
            "--duration" => settings.scrape.duration = duration()?,
            "--scrape-runs" => settings.scrape.runs = count()?,
            "--series" => settings.bulk.series = count()?,
            "--hours" => settings.bulk.hours = u32::try_from(count()?.min(24 * 365))?,
            "--query-runs" => settings.bulk.runs = count()?,
            "--logs-size" => settings.logs.size_bytes = parse_size(&value)?,
            "--logs-runs" => settings.logs.runs = count()?,
            "--seed" => {
                let seed: u64 = value.parse().map_err(|e| format!("invalid seed {value:?}: {e}"))?;
                settings.scrape.seed = seed;
                settings.bulk.seed = seed;
                settings.logs.seed = seed;
            }
            "--work-dir" => settings.work_dir = Some(PathBuf::from(&value)),
            "--json" => json = Some(PathBuf::from(&value)),
            "--markdown" => markdown = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if !settings.scrape.systems.contains(&System::Prometheus) {
        // Loupe's query answers are then checked against VictoriaMetrics only.
        settings.bulk.prometheus = None;
    }
    if settings.scrape.interval < std::time::Duration::from_millis(100) {
        return Err("--interval must be at least 100ms".into());
    }
    Ok(Some(Args {
        settings,
        json,
        markdown,
    }))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("side-by-side: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &PathBuf, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()).into())
}

fn run() -> Result<ExitCode> {
    let Some(args) = parse_args(std::env::args().skip(1).collect())? else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let report = sidebyside::run(&args.settings, |step| eprintln!("side-by-side: {step}"))?;
    let markdown = report.markdown();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(markdown.as_bytes())?;
    stdout.flush()?;
    if let Some(path) = &args.json {
        write(path, &serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(path) = &args.markdown {
        write(path, &markdown)?;
    }
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        eprintln!("side-by-side: a scenario failed or a query answer was wrong (see the report)");
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(line: &str) -> Result<Option<Args>> {
        parse_args(line.split_whitespace().map(str::to_string).collect())
    }

    #[test]
    fn parses_flags() {
        let parsed = args(
            "--scenarios scrape,bulk --targets 10 --series-per-target 200 --duration 10s --warmup 2s \
             --only loupe,vm --scrape-runs 2 --series 500 --hours 3 --query-runs 4 --logs-size 8MiB \
             --node-exporter none --no-install --seed 7 --json r.json --markdown r.md",
        )
        .expect("parses")
        .expect("not help");
        let s = &parsed.settings;
        assert_eq!(s.scenarios, [Scenario::Scrape, Scenario::Bulk]);
        assert_eq!((s.scrape.targets, s.scrape.series_per_target), (10, 200));
        assert_eq!(s.scrape.duration, Duration::from_secs(10));
        assert_eq!(s.scrape.warmup, Duration::from_secs(2));
        assert_eq!(s.scrape.systems, [System::Loupe, System::VictoriaMetrics]);
        assert_eq!(s.scrape.runs, 2);
        assert_eq!((s.bulk.series, s.bulk.hours, s.bulk.runs), (500, 3, 4));
        assert_eq!(s.logs.size_bytes, 8 << 20);
        assert_eq!(s.scrape.node_exporter, None);
        assert!(!s.install);
        assert_eq!((s.scrape.seed, s.bulk.seed, s.logs.seed), (7, 7, 7));
        assert_eq!(parsed.json, Some(PathBuf::from("r.json")));
        assert_eq!(parsed.markdown, Some(PathBuf::from("r.md")));
        let quick = args("--quick").expect("parses").expect("not help");
        assert_eq!(quick.settings.scrape.targets, 4);
        assert!(args("--help").expect("parses").is_none());
        assert!(args("--targets 0").is_err());
        assert!(args("--bogus 1").is_err());
        assert!(args("--targets").is_err());
        assert!(args("--only loupe,influx").is_err());
        assert!(args("--interval 10ms").is_err());
    }
}
