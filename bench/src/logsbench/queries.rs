//! The query half of the logs benchmark: LogQL through Loupe's Loki API against `grep -F` over the
//! same raw json-file logs, in the same run.
//!
//! Three queries (issue 6):
//! - **needle**: `{container="<c>"} |= "<UUID>"` over the whole range, the UUID in exactly one line;
//!   grep scans every raw file (what a store without an index scans), and, for reference, only the
//!   files of that container.
//! - **common term**: `{container="<c>"} |= "error"` with `limit 100` (newest first); grep counts
//!   every match in the raw files (it has no "newest 100" short cut).
//! - **metric**: `sum by (container) (count_over_time({container=~".+"} |= "error" [5m]))` over the
//!   whole range at Loki's default step; grep counts every match in every file.
//!
//! Each is run `repeats` times after a warm-up; the median and spread are reported, and the
//! answers are checked (the needle found once, 100 lines, a non-empty matrix) — a fast wrong
//! answer is a failure.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::generate::Generated;
use crate::Result;
use crate::scrape::process;
use crate::scrape::report::Spread;

/// Target: the needle query at least this many times faster than grep.
pub const TARGET_NEEDLE_SPEEDUP: f64 = 50.0;
/// Target: the needle query under this many milliseconds.
pub const TARGET_NEEDLE_MS: f64 = 100.0;
/// Target: the metric query under this many milliseconds.
pub const TARGET_METRIC_MS: f64 = 1000.0;

/// One query's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryFigures {
    /// Short name.
    pub name: String,
    /// The LogQL text.
    pub query: String,
    /// Loupe's latency, ms (HTTP round trip).
    pub loupe_ms: Option<Spread>,
    /// `grep -F` over all the raw files, ms.
    pub grep_ms: Option<Spread>,
    /// `grep -F` over the selected container's files only, ms (needle and common term).
    pub grep_own_ms: Option<Spread>,
    /// grep / Loupe medians.
    pub speedup: f64,
    /// What the answer was checked for, and whether it passed.
    pub check: String,
    /// The answer was right.
    pub correct: bool,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The log files of the containers named `names` (all when empty).
fn files(generated: &Generated, names: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for c in &generated.containers {
        if !names.is_empty() && !names.contains(&c.name.as_str()) {
            continue;
        }
        let dir = generated.root.join(&c.id);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().contains("-json.log") {
                    out.push(e.path());
                }
            }
        }
    }
    out.sort();
    out
}

/// Milliseconds of `grep -F -c needle files…`, and the total count it printed.
fn grep_once(needle: &str, files: &[PathBuf]) -> Result<(f64, u64)> {
    let started = Instant::now();
    let output = Command::new("grep")
        .args(["-F", "-c", "-h", "--", needle])
        .args(files)
        .output()?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let count = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .sum();
    Ok((ms, count))
}

fn timed(repeats: usize, mut f: impl FnMut() -> Result<f64>) -> Result<Option<Spread>> {
    f()?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        times.push(f()?);
    }
    Ok(Spread::of(times))
}

fn loupe_get(addr: SocketAddr, path: &str) -> Result<(f64, serde_json::Value)> {
    let started = Instant::now();
    let (status, body) = process::http_get(addr, path, Duration::from_secs(120))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status != 200 {
        return Err(format!("loupe answered {status} to {path}: {body}").into());
    }
    Ok((ms, serde_json::from_str(&body)?))
}

fn entries(value: &serde_json::Value) -> Vec<String> {
    value["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v[1].as_str().map(str::to_string))
        .collect()
}

/// Runs the three queries against Loupe at `addr` and grep over the raw files.
pub fn measure(addr: SocketAddr, generated: &Generated, repeats: usize) -> Result<Vec<QueryFigures>> {
    let needle_name = generated
        .containers
        .iter()
        .find(|c| c.id == generated.needle_container)
        .map(|c| c.name.clone())
        .ok_or("the needle's container is not in the dataset")?;
    let range = format!(
        "start={}&end={}",
        generated.first_ns,
        generated.last_ns.saturating_add(1)
    );
    let mut out = Vec::new();

    let needle_query = format!("{{container=\"{needle_name}\"}} |= \"{}\"", generated.needle);
    let path = format!(
        "/loki/api/v1/query_range?query={}&{range}&limit=100",
        encode(&needle_query)
    );
    let (_, answer) = loupe_get(addr, &path)?;
    let found = entries(&answer);
    let correct = found.len() == 1 && found[0].contains(&generated.needle);
    let loupe_ms = timed(repeats, || loupe_get(addr, &path).map(|r| r.0))?;
    let own = files(generated, &[needle_name.as_str()]);
    let all = files(generated, &[]);
    let grep_ms = timed(repeats, || grep_once(&generated.needle, &all).map(|r| r.0))?;
    let mut f = figures(
        "needle",
        needle_query,
        loupe_ms,
        grep_ms,
        format!("1 line with the needle: got {}", found.len()),
        correct,
    );
    f.grep_own_ms = timed(repeats, || grep_once(&generated.needle, &own).map(|r| r.0))?;
    out.push(f);

    let common_query = format!("{{container=\"{needle_name}\"}} |= \"error\"");
    let path = format!(
        "/loki/api/v1/query_range?query={}&{range}&limit=100",
        encode(&common_query)
    );
    let (_, answer) = loupe_get(addr, &path)?;
    let found = entries(&answer);
    let correct = found.len() == 100 && found.iter().all(|l| l.contains("error"));
    let loupe_ms = timed(repeats, || loupe_get(addr, &path).map(|r| r.0))?;
    let grep_ms = timed(repeats, || grep_once("error", &all).map(|r| r.0))?;
    let mut f = figures(
        "common term, limit 100",
        common_query,
        loupe_ms,
        grep_ms,
        format!("100 lines containing \"error\": got {}", found.len()),
        correct,
    );
    f.grep_own_ms = timed(repeats, || grep_once("error", &own).map(|r| r.0))?;
    out.push(f);

    let metric_query = "sum by (container) (count_over_time({container=~\".+\"} |= \"error\" [5m]))".to_string();
    let path = format!("/loki/api/v1/query_range?query={}&{range}", encode(&metric_query));
    let (_, answer) = loupe_get(addr, &path)?;
    let series = answer["data"]["result"].as_array().map_or(0, Vec::len);
    // The total over the whole range must be grep's count of matching lines.
    let (_, grep_count) = grep_once("error", &all)?;
    let span_s = (generated.last_ns - generated.first_ns) / 1_000_000_000 + 2;
    let total_query = format!("sum(count_over_time({{container=~\".+\"}} |= \"error\" [{span_s}s]))");
    let total_path = format!(
        "/loki/api/v1/query?query={}&time={}",
        encode(&total_query),
        generated.last_ns.saturating_add(1)
    );
    let (_, total) = loupe_get(addr, &total_path)?;
    let total = total["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let correct = series > 0 && total == grep_count;
    let loupe_ms = timed(repeats, || loupe_get(addr, &path).map(|r| r.0))?;
    let grep_ms = timed(repeats, || grep_once("error", &all).map(|r| r.0))?;
    out.push(figures(
        "metric, sum by container",
        metric_query,
        loupe_ms,
        grep_ms,
        format!("{series} series; total {total} lines, grep counts {grep_count}"),
        correct,
    ));
    Ok(out)
}

fn figures(
    name: &str,
    query: String,
    loupe_ms: Option<Spread>,
    grep_ms: Option<Spread>,
    check: String,
    correct: bool,
) -> QueryFigures {
    let speedup = match (&loupe_ms, &grep_ms) {
        (Some(l), Some(g)) if l.median > 0.0 => g.median / l.median,
        _ => f64::NAN,
    };
    QueryFigures {
        name: name.into(),
        query,
        loupe_ms,
        grep_ms,
        grep_own_ms: None,
        speedup,
        check,
        correct,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_queries() {
        assert_eq!(
            encode("{a=\"b c\"} |= \"x\""),
            "%7Ba%3D%22b%20c%22%7D%20%7C%3D%20%22x%22"
        );
    }

    #[test]
    fn greps_and_counts() {
        let dir = tempfile::tempdir().expect("dir");
        let a = dir.path().join("a-json.log");
        let b = dir.path().join("b-json.log");
        std::fs::write(&a, "error one\nfine\nerror two\n").expect("write");
        std::fs::write(&b, "error three\n").expect("write");
        let (_, count) = grep_once("error", &[a, b]).expect("grep");
        assert_eq!(count, 3);
    }
}
