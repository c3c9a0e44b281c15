//! `scrape-bench`: Loupe against Prometheus on the same synthetic targets; CPU seconds per million
//! samples ingested, memory and disk, as a markdown table (and JSON).
//!
//! ```text
//! cargo build --release --bin loupe
//! cargo run --release -p loupe-bench --bin scrape-bench -- [--loupe target/release/loupe]
//!     [--prometheus /usr/bin/prometheus] [--only loupe|prometheus] [--targets 100] [--series 1000]
//!     [--interval 5s] [--timeout 4s] [--warmup 10s] [--duration 60s] [--runs 1] [--seed 1]
//!     [--work-dir DIR] [--json PATH]
//! ```
//!
//! The systems run one after the other, never together. Prometheus is Debian's `prometheus` package
//! (`apt-get install -y prometheus`); its systemd service is not used, the binary is run directly.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use loupe_bench::Result;
use loupe_bench::scrape::runner::System;
use loupe_bench::scrape::{self, Settings};

const USAGE: &str = "usage: scrape-bench [--loupe PATH] [--prometheus PATH] [--only loupe|prometheus] \
[--targets N] [--series N] [--interval 5s] [--timeout 4s] [--warmup 10s] [--duration 60s] [--runs N] [--seed S] \
[--work-dir DIR] [--json PATH]\n(build Loupe first: cargo build --release --bin loupe)";

/// Parsed command line.
struct Args {
    settings: Settings,
    json: Option<PathBuf>,
}

/// `500ms`, `10s`, `2m`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = || format!("invalid duration {text:?} (e.g. 500ms, 10s, 2m)");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => return Err(invalid().into()),
    };
    if !(0.0..1e7).contains(&seconds) {
        return Err(invalid().into());
    }
    Ok(Duration::from_secs_f64(seconds))
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
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("invalid count {value:?} for {flag}").into()),
            }
        };
        match flag.as_str() {
            "--loupe" => settings.loupe = PathBuf::from(&value),
            "--prometheus" => settings.prometheus = PathBuf::from(&value),
            "--only" => {
                settings.systems = match value.as_str() {
                    "loupe" => vec![System::Loupe],
                    "prometheus" => vec![System::Prometheus],
                    _ => return Err(format!("invalid value {value:?} for {flag} (loupe or prometheus)").into()),
                }
            }
            "--targets" => settings.targets = count()?,
            "--series" => settings.series_per_target = count()?,
            "--interval" => settings.interval = parse_duration(&value)?,
            "--timeout" => settings.timeout = parse_duration(&value)?,
            "--warmup" => settings.warmup = parse_duration(&value)?,
            "--duration" => settings.duration = parse_duration(&value)?,
            "--runs" => settings.runs = count()?,
            "--seed" => settings.seed = value.parse().map_err(|e| format!("invalid seed {value:?}: {e}"))?,
            "--work-dir" => settings.work_dir = Some(PathBuf::from(&value)),
            "--json" => json = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    if settings.interval < Duration::from_millis(100) {
        return Err("--interval must be at least 100ms".into());
    }
    Ok(Some(Args { settings, json }))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("scrape-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let report = scrape::run(&args.settings, |step| eprintln!("scrape-bench: {step}"))?;
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
    fn parses_durations() {
        assert_eq!(parse_duration("500ms").ok(), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s").ok(), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m").ok(), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3").ok(), Some(Duration::from_secs(3)));
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn parses_flags() {
        let parsed = args("--targets 10 --series 200 --duration 10s --warmup 2s --only loupe --runs 3 --json r.json")
            .expect("parses")
            .expect("not help");
        assert_eq!(parsed.settings.targets, 10);
        assert_eq!(parsed.settings.series_per_target, 200);
        assert_eq!(parsed.settings.duration, Duration::from_secs(10));
        assert_eq!(parsed.settings.warmup, Duration::from_secs(2));
        assert_eq!(parsed.settings.systems, vec![System::Loupe]);
        assert_eq!(parsed.settings.runs, 3);
        assert_eq!(parsed.json, Some(PathBuf::from("r.json")));
        assert!(args("--help").expect("parses").is_none());
        assert!(args("--targets 0").is_err());
        assert!(args("--bogus 1").is_err());
        assert!(args("--targets").is_err());
    }
}
