//! `tsdb-bench`: measures Loupe's TSDB on a synthetic dataset and prints markdown tables.
//!
//! ```text
//! cargo run --release -p loupe-bench --bin tsdb-bench -- [--quick] [--series N] [--hours H]
//!     [--seed S] [--jitter-ms J] [--series-per-target N] [--memory-hours H]
//!     [--deflate-levels 1,6,9|none] [--deflate-max-mib 64] [--codec on|none] [--dir PATH]
//!     [--json PATH]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use loupe_bench::{Config, Result};

const USAGE: &str = "usage: tsdb-bench [--quick] [--series N] [--hours H] [--seed S] [--jitter-ms J] \
[--series-per-target N] [--memory-hours H] [--deflate-levels 1,6,9|none] [--deflate-max-mib 64] [--codec on|none] [--dir PATH] [--json PATH]";

/// Parsed command line.
struct Args {
    config: Config,
    json: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let args: Vec<String> = args.into_iter().collect();
    let mut config = if args.iter().any(|a| a == "--quick") {
        Config::quick()
    } else {
        Config::default()
    };
    let mut json = None;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--quick" {
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = it.next().ok_or_else(|| format!("flag {flag} needs a value"))?;
        let number = |what: &str| -> Result<u64> {
            value
                .parse::<u64>()
                .map_err(|e| format!("invalid {what} {value:?} for {flag}: {e}").into())
        };
        match flag.as_str() {
            "--series" => config.dataset.series = number("count")? as usize,
            "--hours" => config.dataset.hours = u32::try_from(number("hours")?)?,
            "--seed" => config.dataset.seed = number("seed")?,
            "--jitter-ms" => config.dataset.jitter_ms = i64::try_from(number("milliseconds")?)?,
            "--series-per-target" => config.dataset.series_per_target = number("count")? as usize,
            "--memory-hours" => {
                config.memory_hours = value
                    .parse()
                    .map_err(|e| format!("invalid hours {value:?} for {flag}: {e}"))?
            }
            "--deflate-levels" => {
                config.deflate_levels = if value == "none" {
                    Vec::new()
                } else {
                    value
                        .split(',')
                        .map(|l| match l.trim().parse::<u32>() {
                            Ok(level) if level <= 9 => Ok(level),
                            _ => Err(format!("invalid deflate level {l:?} (0-9)")),
                        })
                        .collect::<std::result::Result<_, _>>()?
                }
            }
            "--deflate-max-mib" => config.deflate_max_bytes = number("MiB")? << 20,
            "--codec" => {
                config.codec = match value.as_str() {
                    "on" => true,
                    "none" => false,
                    _ => return Err(format!("invalid value {value:?} for {flag} (on or none)").into()),
                }
            }
            "--dir" => config.dir = Some(PathBuf::from(value)),
            "--json" => json = Some(PathBuf::from(value)),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}").into()),
        }
    }
    Ok(Some(Args { config, json }))
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "tsdb-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let Some(args) = parse_args(std::env::args().skip(1))? else {
        writeln!(std::io::stdout(), "{USAGE}")?;
        return Ok(());
    };
    let started = std::time::Instant::now();
    let report = loupe_bench::run(&args.config, |phase| {
        let _ = writeln!(std::io::stderr(), "[{:6.1} s] {phase}", started.elapsed().as_secs_f64());
    })?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report.to_markdown().as_bytes())?;
    stdout.flush()?;
    if let Some(path) = args.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
