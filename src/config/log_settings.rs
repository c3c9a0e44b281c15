//! The log side of the configuration: `storage.logs`, `limits_config` (Loki's names for the push
//! limits) and `log_sources` (container log files to tail).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::units::{duration, parse_bytes};

/// Where container logs are read from. A source runs when its key is present.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogSourcesConfig {
    /// Docker's json-file logs: `<root>/<id>/<id>-json.log`.
    pub docker: Option<SourceRoot>,
    /// Kubernetes CRI logs: `<root>/<namespace>_<pod>_<uid>/<container>/<n>.log`.
    pub cri: Option<SourceRoot>,
    /// How often followed files are checked for new lines (default `250ms`).
    pub poll_interval: Option<String>,
    /// How often the roots are scanned for new or removed containers (default `5s`).
    pub rescan_interval: Option<String>,
}

/// A log source's root directory.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceRoot {
    /// The directory.
    pub root: PathBuf,
}

/// Docker's default root.
pub const DOCKER_ROOT: &str = "/var/lib/docker/containers";
/// The kubelet's default root.
pub const CRI_ROOT: &str = "/var/log/pods";

/// The `log_sources` section of the embedded default: Docker and CRI where their directories
/// exist and are readable.
pub fn embedded_sources() -> String {
    let readable = |p: &str| std::fs::read_dir(Path::new(p)).is_ok();
    let mut text = String::new();
    for (key, root) in [("docker", DOCKER_ROOT), ("cri", CRI_ROOT)] {
        if readable(root) {
            if text.is_empty() {
                text.push_str("log_sources:\n");
            }
            text.push_str(&format!("  {key}:\n    root: {root}\n"));
        }
    }
    text
}

/// `storage.logs:` settings; every one is optional.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogsStorageConfig {
    /// Delete log windows that ended longer ago than this (default `15d`; `0s` disables).
    pub retention_time: Option<String>,
    /// Delete the oldest windows while the log store exceeds this size.
    pub retention_size: Option<String>,
    /// Width of one index (default `1d`, at least `1h`).
    pub window: Option<String>,
    /// How often new lines become searchable (default `2s`).
    pub commit_interval: Option<String>,
    /// `fsync` the log WAL on every push (default false: a push survives a crash of Loupe, not
    /// of the machine).
    pub wal_fsync: Option<bool>,
}

impl LogsStorageConfig {
    /// The store options these settings describe.
    pub fn options(&self) -> anyhow::Result<logs::StoreOptions> {
        let mut options = logs::StoreOptions {
            retention_age: Some(Duration::from_secs(15 * 86_400)),
            ..logs::StoreOptions::default()
        };
        if let Some(v) = &self.retention_time {
            let d = duration(v, "storage.logs.retention_time")?;
            options.retention_age = (!d.is_zero()).then_some(d);
        }
        if let Some(v) = &self.retention_size {
            let bytes = parse_bytes(v).with_context(|| "storage.logs.retention_size")?;
            options.retention_bytes = (bytes > 0).then_some(bytes);
        }
        if let Some(v) = &self.window {
            let d = duration(v, "storage.logs.window")?;
            if d < Duration::from_secs(3600) {
                bail!("storage.logs.window must be at least 1h, got {v:?}");
            }
            options.window_ns = i64::try_from(d.as_nanos()).context("storage.logs.window is too long")?;
        }
        if let Some(v) = &self.commit_interval {
            let d = duration(v, "storage.logs.commit_interval")?;
            if d.is_zero() || d > Duration::from_secs(60) {
                bail!("storage.logs.commit_interval must be between 1ms and 1m, got {v:?}");
            }
            options.commit_interval = d;
        }
        options.wal_fsync = self.wal_fsync.unwrap_or(false);
        Ok(options)
    }
}

/// `limits_config:` — the push limits, with Loki's key names and defaults.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest accepted line (default `256KB`).
    pub max_line_size: Option<String>,
    /// Most labels per stream (default 15).
    pub max_label_names_per_series: Option<usize>,
    /// Longest label name (default 1024).
    pub max_label_name_length: Option<usize>,
    /// Longest label value (default 2048).
    pub max_label_value_length: Option<usize>,
    /// Reject entries older than `reject_old_samples_max_age` (default true).
    pub reject_old_samples: Option<bool>,
    /// Default `1w`.
    pub reject_old_samples_max_age: Option<String>,
    /// Reject entries further in the future than this (default `10m`).
    pub creation_grace_period: Option<String>,
    /// Sustained push rate in MB/s of line bytes, over all clients (default 64; 0 disables).
    pub ingestion_rate_mb: Option<f64>,
    /// Burst allowed above the rate, in MB (default 128).
    pub ingestion_burst_size_mb: Option<f64>,
    /// Largest push body after decompression (default `64MB`).
    pub max_push_body_size: Option<String>,
    /// Most entries a log query may return (default 5000).
    pub max_entries_limit_per_query: Option<usize>,
    /// Most series a metric query may return (default 500).
    pub max_query_series: Option<usize>,
    /// Longest a query may run (default `1m`).
    pub query_timeout: Option<String>,
    /// Longest time range of a query (default `30d1h`; `0` disables).
    pub max_query_length: Option<String>,
    /// Most log samples a metric query holds in its range windows at once (default 50,000,000).
    pub max_query_samples: Option<usize>,
}

/// The push limits in force.
#[derive(Debug, Clone, PartialEq)]
pub struct PushLimitsConfig {
    /// Decoder limits (body, line, labels).
    pub decode: logs::push::PushLimits,
    /// Oldest accepted entry age, if old entries are rejected.
    pub max_age: Option<Duration>,
    /// Furthest accepted entry in the future.
    pub grace: Duration,
    /// Bytes per second; 0 = unlimited.
    pub rate_bytes: f64,
    /// Burst in bytes.
    pub burst_bytes: f64,
}

impl LimitsConfig {
    /// The query limits these settings describe.
    pub fn query_limits(&self) -> anyhow::Result<crate::api::loki::QueryLimits> {
        let mut limits = crate::api::loki::QueryLimits::default();
        if let Some(n) = self.max_entries_limit_per_query {
            limits.engine.max_entries = n;
        }
        if let Some(n) = self.max_query_series {
            limits.engine.max_series = n;
        }
        if let Some(n) = self.max_query_samples {
            limits.engine.max_samples = n;
        }
        if let Some(v) = &self.query_timeout {
            limits.engine.timeout = duration(v, "limits_config.query_timeout")?;
        }
        if let Some(v) = &self.max_query_length {
            let d = duration(v, "limits_config.max_query_length")?;
            limits.max_query_length_ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        }
        Ok(limits)
    }

    /// The limits these settings describe.
    pub fn push_limits(&self) -> anyhow::Result<PushLimitsConfig> {
        let mut decode = logs::push::PushLimits::default();
        if let Some(v) = &self.max_line_size {
            decode.max_line_bytes = usize::try_from(parse_bytes(v).with_context(|| "limits_config.max_line_size")?)?;
        }
        if let Some(v) = &self.max_push_body_size {
            decode.max_body_bytes =
                usize::try_from(parse_bytes(v).with_context(|| "limits_config.max_push_body_size")?)?;
        }
        if let Some(v) = self.max_label_names_per_series {
            decode.max_labels_per_stream = v;
        }
        if let Some(v) = self.max_label_name_length {
            decode.max_label_name_bytes = v;
        }
        if let Some(v) = self.max_label_value_length {
            decode.max_label_value_bytes = v;
        }
        let max_age = match &self.reject_old_samples_max_age {
            Some(v) => duration(v, "limits_config.reject_old_samples_max_age")?,
            None => Duration::from_secs(7 * 86_400),
        };
        let grace = match &self.creation_grace_period {
            Some(v) => duration(v, "limits_config.creation_grace_period")?,
            None => Duration::from_secs(600),
        };
        let rate = self.ingestion_rate_mb.unwrap_or(64.0);
        let burst = self.ingestion_burst_size_mb.unwrap_or(128.0);
        if !(rate >= 0.0 && burst >= 0.0 && rate.is_finite() && burst.is_finite()) {
            bail!("limits_config.ingestion_rate_mb and ingestion_burst_size_mb must be finite and not negative");
        }
        Ok(PushLimitsConfig {
            decode,
            max_age: self.reject_old_samples.unwrap_or(true).then_some(max_age),
            grace,
            rate_bytes: rate * 1_048_576.0,
            burst_bytes: burst.max(rate) * 1_048_576.0,
        })
    }
}

impl LogSourcesConfig {
    /// The collector settings, or `None` when no source is configured.
    pub fn collector(&self) -> anyhow::Result<Option<scraper::logs::collector::CollectorConfig>> {
        if self.docker.is_none() && self.cri.is_none() {
            return Ok(None);
        }
        let mut config = scraper::logs::collector::CollectorConfig {
            docker_root: self.docker.as_ref().map(|s| s.root.clone()),
            cri_root: self.cri.as_ref().map(|s| s.root.clone()),
            ..Default::default()
        };
        if let Some(v) = &self.poll_interval {
            config.poll_interval = duration(v, "log_sources.poll_interval")?.max(Duration::from_millis(10));
        }
        if let Some(v) = &self.rescan_interval {
            config.rescan_interval = duration(v, "log_sources.rescan_interval")?.max(Duration::from_millis(10));
        }
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    #[test]
    fn log_settings_parse_with_defaults() {
        let config = Config::parse("").expect("empty");
        let options = config.storage.logs.options().expect("defaults");
        assert_eq!(options.retention_age, Some(Duration::from_secs(15 * 86_400)));
        assert_eq!(options.window_ns, 86_400 * 1_000_000_000);
        let limits = config.limits_config.push_limits().expect("defaults");
        assert_eq!(limits.decode.max_line_bytes, 256 << 10);
        assert_eq!(limits.max_age, Some(Duration::from_secs(7 * 86_400)));
        assert!(config.log_sources.collector().expect("none").is_none());
    }

    #[test]
    fn log_settings_are_read_and_checked() {
        let text = "storage:\n  logs:\n    retention_time: 0s\n    window: 6h\n    commit_interval: 500ms\n\
                    limits_config:\n  max_line_size: 1KB\n  reject_old_samples: false\n  ingestion_rate_mb: 0\n\
                    log_sources:\n  docker:\n    root: /tmp/docker\n  poll_interval: 1s\n";
        let config = Config::parse(text).expect("valid");
        let options = config.storage.logs.options().expect("options");
        assert_eq!(
            (options.retention_age, options.window_ns),
            (None, 6 * 3600 * 1_000_000_000)
        );
        assert_eq!(options.commit_interval, Duration::from_millis(500));
        let limits = config.limits_config.push_limits().expect("limits");
        assert_eq!(
            (limits.decode.max_line_bytes, limits.max_age, limits.rate_bytes),
            (1024, None, 0.0)
        );
        let collector = config.log_sources.collector().expect("valid").expect("configured");
        assert_eq!(collector.docker_root, Some(PathBuf::from("/tmp/docker")));
        assert_eq!(collector.cri_root, None);
        assert_eq!(collector.poll_interval, Duration::from_secs(1));
        assert!(Config::parse("storage:\n  logs:\n    window: 1m\n").is_err());
        assert!(Config::parse("log_sources:\n  dockr:\n    root: /x\n").is_err());
        assert!(Config::parse("limits_config:\n  max_line_size: big\n").is_err());
    }
}
