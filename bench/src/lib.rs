//! End-to-end benchmark of Loupe's TSDB on a realistic, deterministic synthetic dataset.
//!
//! [`run`] performs every phase in order on one data directory:
//!
//! * a. append throughput through `Db` appenders ([`load`]);
//! * b. head memory per active series after ~3 h, the head's normal maximum span ([`load`]);
//! * c. bytes per sample in blocks after compaction ([`disk`]);
//! * d. select + decode throughput over the whole range ([`query`]);
//! * e. DEFLATE on the blocks' chunks files ([`deflate`]);
//! * f. the blocks' chunk encodings (XOR or decimal) against XOR only ([`codec`]).
//!
//! The `tsdb-bench` binary parses flags, calls [`run`] and prints the [`report::Report`].

#![warn(missing_docs)]

pub mod codec;
pub mod dataset;
pub mod deflate;
pub mod disk;
pub mod generator;
pub mod load;
pub mod logsbench;
pub mod procfs;
pub mod query;
pub mod querybench;
pub mod report;
pub mod rulescompare;
pub mod scrape;
pub mod sidebyside;

use std::path::{Path, PathBuf};
use std::time::Instant;

use tsdb::db::{Db, DbOptions};

use dataset::{Dataset, DatasetConfig};
use report::{DatasetFigures, Report};

/// Errors of the benchmark: anything displayable.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The dataset.
    pub dataset: DatasetConfig,
    /// Data directory (must not hold a database); a temporary directory when `None`.
    pub dir: Option<PathBuf>,
    /// Hours loaded before head memory is measured.
    pub memory_hours: f64,
    /// DEFLATE levels tried in phase e (none skips it).
    pub deflate_levels: Vec<u32>,
    /// Most chunk-file bytes phase e compresses (a prefix of each file beyond that).
    pub deflate_max_bytes: u64,
    /// Runs phase f, block encodings against XOR only.
    pub codec: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dataset: DatasetConfig::default(),
            dir: None,
            memory_hours: 3.0,
            deflate_levels: vec![1, 6, 9],
            deflate_max_bytes: 64 << 20,
            codec: true,
        }
    }
}

impl Config {
    /// The `--quick` configuration: 1000 series, 6 hours.
    pub fn quick() -> Self {
        Config {
            dataset: DatasetConfig {
                series: 1000,
                hours: 6,
                ..DatasetConfig::default()
            },
            ..Config::default()
        }
    }
}

/// Runs every phase; `progress` is told when each starts.
pub fn run(config: &Config, mut progress: impl FnMut(&str)) -> Result<Report> {
    let started = Instant::now();
    let dataset = Dataset::new(config.dataset.clone())?;
    let temp;
    let dir: &Path = match &config.dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir()?;
            temp.path()
        }
    };
    let db = Db::open(dir, DbOptions::default())?;

    progress("a+b: appending the dataset (head memory measured on the way)");
    let (append, memory) = load::load(&db, &dataset, config.memory_hours)?;
    progress("c: compacting and measuring blocks");
    let disk = disk::compact_and_measure(&db)?;
    progress("d: select + decode");
    let queries = query::run_queries(&db, &dataset)?;
    progress("e: deflate experiment");
    let block_dirs: Vec<PathBuf> = disk.blocks.iter().map(|b| dir.join(&b.ulid)).collect();
    let block_dirs: Vec<&Path> = block_dirs.iter().map(PathBuf::as_path).collect();
    let deflate = deflate::deflate_chunk_files(
        &block_dirs,
        disk.block_samples,
        &config.deflate_levels,
        config.deflate_max_bytes,
    )?;
    let codec = if config.codec {
        progress("f: block encodings against xor");
        Some(codec::measure_codec(&block_dirs)?)
    } else {
        None
    };
    db.close()?;

    Ok(Report {
        dataset: DatasetFigures {
            config: dataset.config.clone(),
            interval_ms: dataset::INTERVAL_MS,
            targets: dataset.targets.len(),
            steps: dataset.steps(),
            samples: dataset.num_samples(),
            series_by_kind: dataset.count_by_kind(),
        },
        append,
        memory,
        disk,
        queries,
        deflate,
        codec,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}
