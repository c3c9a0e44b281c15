//! `rules-compare`: the same rule file evaluated by Loupe and by Prometheus on the same data gives the
//! same recording-rule series and the same `ALERTS` transitions. Prints a markdown table (and JSON);
//! exits 1 on any difference.
//!
//! ```text
//! cargo build --release --bin loupe
//! cargo run --release -p loupe-bench --bin rules-compare -- [--loupe target/release/loupe]
//!     [--prometheus /usr/bin/prometheus] [--duration 150] [--work-dir DIR] [--json PATH]
//! ```
//!
//! Prometheus is Debian's `prometheus` package (2.42), run directly on a fresh data directory.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use loupe_bench::Result;
use loupe_bench::rulescompare::{self, Settings};

const USAGE: &str = "usage: rules-compare [--loupe PATH] [--prometheus PATH] [--duration SECONDS] \
[--work-dir DIR] [--json PATH]\n\
(build Loupe first: cargo build --release --bin loupe; the default binary is $CARGO_TARGET_DIR/release/loupe, \
else the workspace's target/release/loupe; a run takes the duration plus about 50 s)";

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
        match flag.as_str() {
            "--loupe" => settings.loupe = PathBuf::from(&value),
            "--prometheus" => settings.prometheus = PathBuf::from(&value),
            "--duration" => {
                let seconds = value.trim_end_matches('s');
                settings.duration = match seconds.parse::<u64>() {
                    Ok(s) if (30..=3600).contains(&s) => Duration::from_secs(s),
                    _ => return Err(format!("invalid duration {value:?}: whole seconds from 30 to 3600").into()),
                }
            }
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
            eprintln!("rules-compare: {error}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        eprintln!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let report = rulescompare::run(&args.settings, |step| eprintln!("rules-compare: {step}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report.markdown().as_bytes())?;
    stdout.flush()?;
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Option<Args>> {
        parse_args(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn parses_flags() {
        let parsed = args("--duration 90s --loupe /x/loupe --json r.json --work-dir /tmp/w")
            .expect("parses")
            .expect("not help");
        assert_eq!(parsed.settings.duration, Duration::from_secs(90));
        assert_eq!(parsed.settings.loupe, PathBuf::from("/x/loupe"));
        assert_eq!(parsed.settings.work_dir, Some(PathBuf::from("/tmp/w")));
        assert_eq!(parsed.json, Some(PathBuf::from("r.json")));
        assert!(args("--help").expect("parses").is_none());
        assert!(args("--duration 5").is_err());
        assert!(args("--bogus 1").is_err());
        assert!(args("--json").is_err());
    }
}
