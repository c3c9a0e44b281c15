//! `logs-bench`: Loupe's container-log ingestion end to end — raw MB per CPU second and index size
//! against the raw size, as a markdown table (and JSON).
//!
//! ```text
//! cargo build --release --bin loupe --bin logs-bench
//! target/release/logs-bench [--loupe target/release/loupe] [--size 1GiB] [--containers 8] [--seed 1]
//!     [--runs 1] [--timeout 30m] [--start-ns NS] [--work-dir DIR] [--keep] [--generate-only] [--json PATH] [--query-repeats N]
//! ```
//!
//! It writes a deterministic Docker json-file tree (`<dir>/containers/<id>/<id>-json.log` plus
//! `config.v2.json`), starts `loupe serve` tailing it (no scraping, no retention), waits until
//! `loupe_logs_entries` equals the lines written, then for the next commit, and measures wall time,
//! Loupe's CPU seconds, peak RSS and the size of `<data>/logs/windows` after shutdown.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use loupe_bench::Result;
use loupe_bench::logsbench::generate::{self, parse_size};
use loupe_bench::logsbench::{self, Settings};

const USAGE: &str = "usage: logs-bench [--loupe PATH] [--size 1GiB] [--containers N] [--seed S] [--runs N] \
[--timeout 30m] [--start-ns NS] [--work-dir DIR] [--keep] [--generate-only] [--json PATH]

Generates N Docker json-file logs totalling --size (suffixes KiB MiB GiB, KB MB GB), starts
`loupe serve` tailing them on a fresh data directory --runs times, and reports raw MB per Loupe CPU
second (target >= 30) and index size / raw size (target <= 60 %).

  --loupe PATH       Loupe's release binary (default target/release/loupe;
                     build it with cargo build --release --bin loupe)
  --size SIZE        raw bytes of all logs (default 1GiB)
  --containers N     containers (default 8)
  --seed S           generator seed (default 1)
  --runs N           ingestion runs over the same files, each on a fresh data directory (default 1)
  --timeout D        longest a run may take to store every line (default 30m)
  --start-ns NS      time of the first lines, ns since the epoch (default: around yesterday's midnight UTC)
  --work-dir DIR     where logs, config and data go (kept); default a temporary directory
  --keep             keep the data directories and the temporary directory
  --generate-only    only write the logs into --work-dir and print the dataset as JSON
  --json PATH        also write the report as JSON
  --query-repeats N  times each LogQL query is timed after a warm-up (default 5; 0 skips the queries)";

/// Parsed command line.
#[derive(Debug)]
struct Args {
    settings: Settings,
    generate_only: bool,
    json: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut settings = Settings::default();
    let mut generate_only = false;
    let mut json = None;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--keep" => {
                settings.keep = true;
                continue;
            }
            "--generate-only" => {
                generate_only = true;
                continue;
            }
            _ => {}
        }
        let value = it.next().ok_or_else(|| format!("flag {flag} needs a value"))?;
        let count = || -> Result<usize> {
            match value.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("invalid count {value:?} for {flag}").into()),
            }
        };
        match flag.as_str() {
            "--loupe" => settings.loupe = PathBuf::from(&value),
            "--size" => settings.size_bytes = parse_size(&value)?,
            "--containers" => settings.containers = count()?,
            "--query-repeats" => {
                settings.query_repeats = value
                    .parse()
                    .map_err(|e| format!("invalid count {value:?} for {flag}: {e}"))?
            }
            "--seed" => settings.seed = value.parse().map_err(|e| format!("invalid seed {value:?}: {e}"))?,
            "--runs" => settings.runs = count()?,
            "--timeout" => {
                settings.timeout = scraper::duration::parse_duration(&value).map_err(|e| format!("--timeout: {e}"))?
            }
            "--start-ns" => {
                settings.start_ns = Some(
                    value
                        .parse()
                        .map_err(|e| format!("invalid --start-ns {value:?}: {e}"))?,
                )
            }
            "--work-dir" => settings.work_dir = Some(PathBuf::from(&value)),
            "--json" => json = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if settings.timeout.is_zero() {
        return Err("--timeout must be positive".into());
    }
    if generate_only && settings.work_dir.is_none() {
        return Err("--generate-only needs --work-dir".into());
    }
    Ok(Some(Args {
        settings,
        generate_only,
        json,
    }))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("logs-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write_json(path: &PathBuf, value: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_string_pretty(value)?;
    std::fs::write(path, json).map_err(|e| format!("writing {}: {e}", path.display()).into())
}

fn run() -> Result<ExitCode> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let mut stdout = std::io::stdout().lock();
    if args.generate_only {
        let dir = args
            .settings
            .work_dir
            .clone()
            .ok_or("--generate-only needs --work-dir")?;
        let generated = generate::generate(&args.settings.generate_config(), &dir.join("containers"))?;
        let json = serde_json::to_string_pretty(&generated)?;
        writeln!(stdout, "{json}")?;
        if let Some(path) = &args.json {
            write_json(path, &generated)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = logsbench::run(&args.settings, |step| eprintln!("logs-bench: {step}"))?;
    stdout.write_all(report.markdown().as_bytes())?;
    stdout.flush()?;
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if !report.all_complete() {
        eprintln!("logs-bench: a run did not store exactly the lines written");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(line: &str) -> Result<Option<Args>> {
        parse_args(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn parses_flags() {
        let parsed = args("--size 256MiB --containers 4 --runs 3 --timeout 10m --keep --seed 9 --json r.json")
            .expect("parses")
            .expect("not help");
        assert_eq!(parsed.settings.size_bytes, 256 << 20);
        assert_eq!(parsed.settings.containers, 4);
        assert_eq!(parsed.settings.runs, 3);
        assert_eq!(parsed.settings.timeout, Duration::from_secs(600));
        assert_eq!(parsed.settings.seed, 9);
        assert!(parsed.settings.keep && !parsed.generate_only);
        assert_eq!(parsed.json, Some(PathBuf::from("r.json")));
        let defaults = args("").expect("parses").expect("not help");
        assert_eq!(defaults.settings.size_bytes, 1 << 30);
        assert_eq!(defaults.settings.containers, 8);
        assert_eq!(defaults.settings.timeout, Duration::from_secs(1800));
        assert!(args("--help").expect("parses").is_none());
        assert!(args("--containers 0").is_err());
        assert!(args("--size 1TiB").is_err());
        assert!(args("--timeout 0").is_err());
        assert!(args("--generate-only").is_err());
        assert!(args("--generate-only --work-dir /tmp/x").expect("parses").is_some());
        assert!(args("--bogus 1").is_err());
        assert!(args("--runs").is_err());
    }
}
