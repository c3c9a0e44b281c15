//! `loupe`: metrics and logs of your containers in one small server.
//!
//! `loupe serve` runs the server; `loupe import FILE` backfills exposition text into a data
//! directory. See README.md for the configuration reference.

mod api;
mod check;
mod civil;
mod config;
mod dashboards;
mod import;
mod metrics;
mod reload;
mod rules;
mod serve;

use std::path::PathBuf;

/// mimalloc: log ingestion allocates on the collector thread and frees on tantivy's indexing
/// thread, where glibc's allocator spends a fifth of the CPU in locks and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Command line of the `loupe` binary.
#[derive(Debug, Parser)]
#[command(
    name = "loupe",
    version,
    about = "Metrics and logs of your containers in one small server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server.
    Serve(serve::ServeArgs),
    /// Backfills Prometheus text or OpenMetrics (with timestamps) into a data directory.
    Import {
        /// Data directory (must not be in use by a running server).
        #[arg(long, default_value = "loupe-data")]
        data_dir: PathBuf,
        /// Configuration file (its storage settings apply).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Treat the input as OpenMetrics (default: detected from a `# EOF` line).
        #[arg(long)]
        openmetrics: bool,
        /// The file to import.
        file: PathBuf,
    },
    /// Validates files without running a server.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CheckCommand {
    /// Checks rule files (Prometheus's format; `lang: logql` groups too), like `promtool check rules`.
    Rules {
        /// Treat lint warnings (duplicate rules) as errors.
        #[arg(long)]
        lint_fatal: bool,
        /// The rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Import {
            data_dir,
            config,
            openmetrics,
            file,
        } => import_file(&data_dir, config.as_deref(), openmetrics, &file),
        Command::Check {
            what: CheckCommand::Rules { lint_fatal, files },
        } => {
            let ok = check::check_rules(&files, lint_fatal, &mut std::io::stdout());
            return if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            };
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn import_file(
    data_dir: &std::path::Path,
    config: Option<&std::path::Path>,
    openmetrics: bool,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let config = match config {
        Some(path) => config::Config::load(path)?,
        None => config::Config::default(),
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let format = if openmetrics || text.trim_end().ends_with("# EOF") {
        scraper::exposition::Format::OpenMetrics
    } else {
        scraper::exposition::Format::PrometheusText
    };
    let db = tsdb::db::Db::open(data_dir, config.db_options()?)?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} samples ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let stats = import::import_text(&db, &text, format, api::now_ms(), |n| bar.set_position(n))
        .with_context(|| format!("importing {}", file.display()))?;
    bar.finish();
    let report = db.maintain()?;
    db.close()?;
    eprintln!(
        "imported {} samples ({} stored, {} of them backfilled into blocks, {} rejected); {} blocks cut, {} compactions",
        stats.samples, stats.appended, stats.backfilled, stats.rejected, report.blocks_cut, report.compactions
    );
    if let Some(first) = stats.first_rejection {
        anyhow::bail!("{} samples were rejected; first: {first}", stats.rejected);
    }
    Ok(())
}
