//! Prometheus and Loupe as child processes on fresh data directories, stopped by PID (SIGTERM, then
//! SIGKILL) when dropped, and the parts of the Prometheus HTTP API the comparison reads.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::Result;
use crate::querybench::client::{self, url_encode};
use crate::scrape::process::{self, Running};

/// Longest wait for one API request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a system to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Grace between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// A series of a range query: its labels and `(ms, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Every label, `__name__` included.
    pub labels: BTreeMap<String, String>,
    /// Points in time order.
    pub points: Vec<(i64, f64)>,
}

/// A system under test, running; stopped when dropped.
pub struct System {
    /// Display name.
    pub name: &'static str,
    running: Option<Running>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl System {
    /// Starts Prometheus with `config`, its TSDB in `work_dir/prometheus-data`.
    pub fn start_prometheus(binary: &Path, config: &Path, work_dir: &Path) -> Result<System> {
        let addr: SocketAddr = format!("127.0.0.1:{}", process::free_port()?).parse()?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work_dir.join("prometheus-data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=info");
        let running = Running::spawn(command, work_dir.join("prometheus.log"))?;
        let mut system = System {
            name: "Prometheus",
            running: Some(running),
            addr,
        };
        system.wait_ready()?;
        Ok(system)
    }

    /// Starts `loupe serve` with `config`, its data in `work_dir/loupe-data`.
    pub fn start_loupe(binary: &Path, config: &Path, work_dir: &Path) -> Result<System> {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(work_dir.join("loupe-data"))
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info");
        let running = Running::spawn(command, work_dir.join("loupe.log"))?;
        let addr = running.logged_address(START_TIMEOUT)?;
        let mut system = System {
            name: "Loupe",
            running: Some(running),
            addr,
        };
        system.wait_ready()?;
        Ok(system)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let addr = self.addr;
        let running = self.running.as_mut().ok_or("not running")?;
        running
            .wait_ready(addr, "/-/ready", START_TIMEOUT)
            .map_err(|e| format!("{}: {e}", self.name).into())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.running.as_ref().map_or(0, Running::pid)
    }

    /// Fails when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        let name = self.name;
        match self.running.as_mut() {
            Some(running) => running.check_alive().map_err(|e| format!("{name}: {e}").into()),
            None => Err(format!("{name} was stopped").into()),
        }
    }

    /// Its log file.
    pub fn log(&self) -> Option<&Path> {
        self.running.as_ref().map(|r| r.log.as_path())
    }

    /// `GET path` as JSON; a non-200 answer or a `status` other than `success` is an error.
    pub fn get_json(&self, path: &str) -> Result<Value> {
        let response = client::request(self.addr, "GET", path, None, b"", REQUEST_TIMEOUT)
            .map_err(|e| format!("{} {path}: {e}", self.name))?;
        if response.status != 200 {
            return Err(format!(
                "{} {path} answered {}: {}",
                self.name,
                response.status,
                response.snippet()
            )
            .into());
        }
        let value: Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("{} {path}: invalid json: {e}: {}", self.name, response.snippet()))?;
        if value.get("status").and_then(Value::as_str) != Some("success") {
            return Err(format!("{} {path}: {}", self.name, response.snippet()).into());
        }
        Ok(value)
    }

    /// `query` over `[start_ms, end_ms]` at `step_ms` (whole seconds).
    pub fn query_range(&self, query: &str, start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Vec<Series>> {
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            url_encode(query),
            start_ms / 1000,
            end_ms / 1000,
            step_ms / 1000
        );
        let value = self.get_json(&path)?;
        parse_matrix(&value).map_err(|e| format!("{} {query}: {e}", self.name).into())
    }

    /// Sends SIGTERM, then SIGKILL after a grace period; returns how long it took.
    pub fn stop(mut self) -> Result<Duration> {
        match self.running.take() {
            Some(running) => running.stop(STOP_GRACE),
            None => Ok(Duration::ZERO),
        }
    }
}

impl Drop for System {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop(STOP_GRACE);
        }
    }
}

/// A sample value as the API writes it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
pub fn parse_value(value: &Value) -> Option<f64> {
    match value.as_str()? {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        text => text.parse().ok(),
    }
}

/// A label object as a map (non-string values are an error).
pub fn parse_labels(value: &Value) -> Result<BTreeMap<String, String>> {
    let object = value.as_object().ok_or("labels are not an object")?;
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(v) => Ok((k.clone(), v.to_string())),
            None => Err(format!("label {k} is not a string").into()),
        })
        .collect()
}

/// The series of a `matrix` answer.
pub fn parse_matrix(value: &Value) -> Result<Vec<Series>> {
    let data = value.get("data").ok_or("no data in the answer")?;
    let kind = data.get("resultType").and_then(Value::as_str).unwrap_or_default();
    if kind != "matrix" {
        return Err(format!("result type {kind:?}, not matrix").into());
    }
    let result = data.get("result").and_then(Value::as_array).ok_or("no result array")?;
    result
        .iter()
        .map(|series| {
            let labels = parse_labels(series.get("metric").ok_or("series without metric")?)?;
            let values = series
                .get("values")
                .and_then(Value::as_array)
                .ok_or("series without values")?;
            let points = values
                .iter()
                .map(|point| {
                    let pair = point.as_array().filter(|p| p.len() == 2).ok_or("point is not a pair")?;
                    let t = pair[0].as_f64().ok_or("point time is not a number")?;
                    let v = parse_value(&pair[1]).ok_or("point value is not a number")?;
                    Ok(((t * 1000.0).round() as i64, v))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Series { labels, points })
        })
        .collect()
}

/// Milliseconds into its second of an RFC 3339 time (`2024-05-01T10:00:03.250123Z` gives 250).
pub fn subsecond_ms(time: &str) -> Option<i64> {
    let after_t = time.split_once('T')?.1;
    let seconds_end = 8; // HH:MM:SS
    if after_t.len() < seconds_end || !after_t.is_char_boundary(seconds_end) {
        return None;
    }
    let rest = &after_t[seconds_end..];
    let Some(fraction) = rest.strip_prefix('.') else {
        return Some(0);
    };
    let digits: String = fraction.chars().take_while(char::is_ascii_digit).take(3).collect();
    let padded = format!("{digits:0<3}");
    padded.parse().ok()
}

/// The first line of `binary ARG` (stdout or stderr), when it runs.
pub fn version(binary: &Path, arg: &str) -> Option<String> {
    let output = Command::new(binary).arg(arg).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_matrices() {
        let body: Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{"__name__":"x","a":"1"},"values":[[1700000000,"1.5"],[1700000001.5,"NaN"],[1700000003,"+Inf"]]}
            ]}}"#,
        )
        .expect("json");
        let series = parse_matrix(&body).expect("parses");
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].labels.get("a").map(String::as_str), Some("1"));
        assert_eq!(series[0].points[0], (1_700_000_000_000, 1.5));
        assert_eq!(series[0].points[1].0, 1_700_000_001_500);
        assert!(series[0].points[1].1.is_nan());
        assert_eq!(series[0].points[2].1, f64::INFINITY);
        let vector: Value = serde_json::from_str(r#"{"data":{"resultType":"vector","result":[]}}"#).expect("json");
        assert!(parse_matrix(&vector).is_err());
        let bad: Value =
            serde_json::from_str(r#"{"data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}}"#)
                .expect("json");
        assert!(parse_matrix(&bad).is_err());
    }

    #[test]
    fn reads_subsecond_offsets() {
        assert_eq!(subsecond_ms("2024-05-01T10:00:03.250123Z"), Some(250));
        assert_eq!(subsecond_ms("2024-05-01T10:00:03.25+02:00"), Some(250));
        assert_eq!(subsecond_ms("2024-05-01T10:00:03Z"), Some(0));
        assert_eq!(subsecond_ms("2024-05-01T10:00:03.007Z"), Some(7));
        assert_eq!(subsecond_ms("garbage"), None);
        assert_eq!(subsecond_ms("xT1"), None);
    }
}
