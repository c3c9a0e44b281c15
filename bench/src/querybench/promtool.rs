//! Prometheus's bulk import: the dataset written as an OpenMetrics file, turned into TSDB blocks by
//! `promtool tsdb create-blocks-from openmetrics`, which Prometheus then opens (and compacts) at start.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::dataset::Dataset;
use crate::Result;

/// What writing and converting the file cost.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BlocksCreated {
    /// Bytes of the OpenMetrics file.
    pub file_bytes: u64,
    /// Wall seconds `promtool` took.
    pub seconds: f64,
    /// CPU seconds (user + system) `promtool` used.
    pub cpu_seconds: f64,
}

/// One line of the dataset (`name{labels} value timestamp_ms`) as OpenMetrics (timestamp in seconds).
fn to_openmetrics(line: &str, out: &mut String) -> Result<()> {
    let (head, ms) = line
        .rsplit_once(' ')
        .ok_or_else(|| format!("dataset line without a timestamp: {line:?}"))?;
    let ms: i64 = ms
        .parse()
        .map_err(|_| format!("dataset line with a bad timestamp: {line:?}"))?;
    out.push_str(head);
    out.push(' ');
    out.push_str(&ms.div_euclid(1000).to_string());
    let rest = ms.rem_euclid(1000);
    if rest != 0 {
        out.push_str(&format!(".{rest:03}"));
    }
    out.push('\n');
    Ok(())
}

/// Writes the whole dataset to `path` as OpenMetrics text ending in `# EOF`; returns its size.
pub fn write_openmetrics(dataset: &Dataset, path: &Path) -> Result<u64> {
    let file = std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let mut bytes = 0u64;
    let mut converted = String::new();
    for chunk in dataset.chunks(8 << 20) {
        converted.clear();
        for line in chunk.lines() {
            to_openmetrics(line, &mut converted)?;
        }
        writer.write_all(converted.as_bytes())?;
        bytes += converted.len() as u64;
    }
    writer.write_all(b"# EOF\n")?;
    writer.flush()?;
    Ok(bytes + 6)
}

/// CPU seconds (user + system) of this process's waited-for children, from `/proc/self/stat`.
pub fn children_cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("reading /proc/self/stat: {e}"))?;
    children_ticks(&stat)
        .map(|ticks| ticks as f64 / 100.0)
        .ok_or_else(|| "unparsable /proc/self/stat".into())
}

/// `cutime + cstime` (fields 16 and 17) of a `/proc/<pid>/stat` line, in clock ticks.
fn children_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): field n is at index n - 3.
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

/// Writes the dataset as OpenMetrics under `work_dir`, runs `promtool` to make blocks in `data_dir`,
/// then removes the file. `limit` bounds promtool's run.
pub fn create_blocks(
    promtool: &Path,
    dataset: &Dataset,
    work_dir: &Path,
    data_dir: &Path,
    limit: Duration,
) -> Result<BlocksCreated> {
    let file: PathBuf = work_dir.join("bulk.om");
    let file_bytes = write_openmetrics(dataset, &file)?;
    std::fs::create_dir_all(data_dir).map_err(|e| format!("creating {}: {e}", data_dir.display()))?;
    let log_path = work_dir.join("promtool.log");
    let log = std::fs::File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let cpu_before = children_cpu_seconds()?;
    let started = Instant::now();
    let mut child = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&file)
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", promtool.display()))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("promtool took longer than {limit:?}; see {}", log_path.display()).into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = children_cpu_seconds()? - cpu_before;
    let _ = std::fs::remove_file(&file);
    if !status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" / ");
        return Err(format!("promtool failed ({status}): {tail}").into());
    }
    Ok(BlocksCreated {
        file_bytes,
        seconds,
        cpu_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::querybench::dataset::DatasetConfig;

    #[test]
    fn converts_lines_to_openmetrics() {
        let mut out = String::new();
        to_openmetrics("up{job=\"a b\"} 1.5 1700000040000", &mut out).expect("converts");
        to_openmetrics("x 2 1700000040250", &mut out).expect("converts");
        assert_eq!(out, "up{job=\"a b\"} 1.5 1700000040\nx 2 1700000040.250\n");
        assert!(to_openmetrics("x", &mut out).is_err());
        assert!(to_openmetrics("x 1 y", &mut out).is_err());
    }

    #[test]
    fn writes_the_whole_dataset() {
        let dataset = Dataset::new(DatasetConfig {
            series: 90,
            hours: 1,
            interval_ms: 15_000,
            end_ms: 1_700_000_040_000,
            seed: 1,
        })
        .expect("valid");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.om");
        let bytes = write_openmetrics(&dataset, &path).expect("writes");
        let text = std::fs::read_to_string(&path).expect("reads");
        assert_eq!(bytes, text.len() as u64);
        assert_eq!(text.lines().count(), 90 * 240 + 1);
        assert!(text.ends_with("\n# EOF\n"));
        assert!(text.lines().next().expect("line").ends_with(" 1699996455"));
    }

    #[test]
    fn reads_children_ticks() {
        let stat = "77 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
        assert_eq!(children_ticks(stat), Some(13 + 14));
        assert_eq!(children_ticks("77 (a) S 1"), None);
        assert!(children_cpu_seconds().is_ok());
    }
}
