//! `query-bench`: query latency of Loupe against VictoriaMetrics on one imported dataset, as a
//! markdown table (and JSON).
//!
//! ```text
//! cargo build --release --bin loupe
//! cargo run --release -p loupe-bench --bin query-bench -- [--loupe target/release/loupe]
//!     [--victoria-metrics /usr/bin/victoria-metrics] [--series 10000] [--hours 24] [--runs 5]
//!     [--seed 1] [--chunk-mb 50] [--work-dir DIR] [--json PATH]
//! ```
//!
//! VictoriaMetrics is Debian's `victoria-metrics` package (`apt-get install -y victoria-metrics`); its
//! systemd service is not used, the binary is run directly on a fresh data directory.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use loupe_bench::Result;
use loupe_bench::querybench::{self, Settings};

const USAGE: &str = "usage: query-bench [--loupe PATH] [--victoria-metrics PATH] [--series N] [--hours H] \
[--runs N] [--seed S] [--chunk-mb MB] [--work-dir DIR] [--json PATH]\n\
(build Loupe first: cargo build --release --bin loupe; quick mode: --series 1000 --hours 2)";

/// Parsed command line.
struct Args {
    settings: Settings,
    json: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut settings = Settings::default();
    let mut json = None;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = it.next().ok_or_else(|| format!("flag {flag} needs a value"))?;
        let count = || -> Result<usize> {
            match value.parse::<usize>() {
                Ok(n) if n > 0 && n <= 10_000_000 => Ok(n),
                _ => Err(format!("invalid count {value:?} for {flag}").into()),
            }
        };
        match flag.as_str() {
            "--loupe" => settings.loupe = PathBuf::from(&value),
            "--victoria-metrics" => settings.victoria_metrics = PathBuf::from(&value),
            "--series" => settings.series = count()?,
            "--hours" => settings.hours = u32::try_from(count()?.min(24 * 365))?,
            "--runs" => settings.runs = count()?,
            "--seed" => settings.seed = value.parse().map_err(|e| format!("invalid seed {value:?}: {e}"))?,
            "--chunk-mb" => settings.chunk_bytes = count()?.min(200) << 20,
            "--work-dir" => settings.work_dir = Some(PathBuf::from(&value)),
            "--json" => json = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok(Some(Args { settings, json }))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("query-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let report = querybench::run(&args.settings, |step| eprintln!("query-bench: {step}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report.markdown().as_bytes())?;
    stdout.flush()?;
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Option<Args>> {
        parse_args(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn parses_flags() {
        let parsed = args("--series 1000 --hours 2 --runs 3 --chunk-mb 10 --json r.json")
            .expect("parses")
            .expect("not help");
        assert_eq!(parsed.settings.series, 1000);
        assert_eq!(parsed.settings.hours, 2);
        assert_eq!(parsed.settings.runs, 3);
        assert_eq!(parsed.settings.chunk_bytes, 10 << 20);
        assert_eq!(parsed.json, Some(PathBuf::from("r.json")));
        assert!(args("--help").expect("parses").is_none());
        assert!(args("--series 0").is_err());
        assert!(args("--bogus 1").is_err());
        assert!(args("--runs").is_err());
    }
}
