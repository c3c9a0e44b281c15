//! Loupe's configuration: the YAML file (Prometheus's `global` and `scrape_configs` sections plus
//! Loupe's `storage`), and the embedded default used without a file.

mod alerting;
mod log_settings;
mod scrape;
mod units;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tsdb::db::DbOptions;
use tsdb::wal::{SyncPolicy, WalOptions};

pub use alerting::{AlertingConfig, rule_defaults, rule_file_paths};
pub use log_settings::{LimitsConfig, LogSourcesConfig, LogsStorageConfig, PushLimitsConfig};
pub use scrape::{GlobalConfig, ScrapeConfig, UnsupportedKey};
pub use units::{duration_ms, parse_bytes, parse_duration};

/// The configuration file. Unknown keys are errors, never silently ignored.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Prometheus's `global:` section.
    #[serde(default)]
    pub global: GlobalConfig,
    /// Prometheus's `scrape_configs:`.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Storage settings.
    #[serde(default)]
    pub storage: StorageConfig,
    /// Container log files to collect.
    #[serde(default)]
    pub log_sources: LogSourcesConfig,
    /// Limits of the Loki push API, with Loki's key names.
    #[serde(default)]
    pub limits_config: LimitsConfig,
    /// Rule files (globs, relative to the config file's directory).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Where alerts are sent.
    #[serde(default)]
    pub alerting: AlertingConfig,
    #[serde(default)]
    remote_write: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    remote_read: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    scrape_config_files: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    tracing: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    otlp: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    #[serde(default)]
    runtime: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
}

/// The configuration used without `--config`: default storage, a job `loupe` scraping Loupe's
/// own `/metrics` at `address` every 15 s, and the Docker and CRI log directories where readable.
pub fn embedded(address: &str) -> String {
    format!(
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: loupe\n    static_configs:\n      - targets: ['{address}']\n{}",
        log_settings::embedded_sources()
    )
}

/// `storage:` section.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `storage.tsdb:` settings.
    #[serde(default)]
    pub tsdb: TsdbConfig,
    /// `storage.logs:` settings.
    #[serde(default)]
    pub logs: LogsStorageConfig,
}

/// `storage.tsdb:` settings; every one is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    /// Delete blocks older than this (default `15d`; `0s` disables).
    pub retention_time: Option<String>,
    /// Delete the oldest blocks while blocks and WAL exceed this size (`512MB`, `10GiB`…).
    pub retention_size: Option<String>,
    /// Accept out-of-order samples this far behind the newest one (default `0s`: reject).
    pub out_of_order_time_window: Option<String>,
    /// Duration of blocks cut from the head (default `2h`).
    pub block_duration: Option<String>,
    /// WAL fsync policy: `always`, `interval` (default) or `never`.
    pub wal_fsync: Option<String>,
    /// Interval between WAL fsyncs with the `interval` policy (default `1s`).
    pub wal_fsync_interval: Option<String>,
    /// WAL segment size (default `128MiB`).
    pub wal_segment_size: Option<String>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        Self::parse_inner(text).map_err(|error| match error.downcast_ref::<UnsupportedKey>() {
            Some(key) => anyhow::anyhow!(key.message(key.line_in(text))),
            None => error,
        })
    }

    fn parse_inner(text: &str) -> anyhow::Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let top: [(&Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>, &str); 6] = [
            (&config.remote_write, "remote_write"),
            (&config.remote_read, "remote_read"),
            (&config.scrape_config_files, "scrape_config_files"),
            (&config.tracing, "tracing"),
            (&config.otlp, "otlp"),
            (&config.runtime, "runtime"),
        ];
        for (key, name) in top {
            if let Some(spanned) = key {
                return Err(UnsupportedKey {
                    path: name.to_string(),
                    value_line: spanned.referenced.line(),
                    hint: "not yet".into(),
                }
                .into());
            }
        }
        config.db_options()?;
        config.jobs()?;
        config.storage.logs.options()?;
        config.limits_config.push_limits()?;
        config.limits_config.query_limits()?;
        config.log_sources.collector()?;
        config.alerting.notifier("")?;
        alerting::rule_defaults(&config.global)?;
        Ok(config)
    }

    /// The scrape jobs this configuration describes.
    pub fn jobs(&self) -> anyhow::Result<Vec<scraper::JobConfig>> {
        scrape::jobs(&self.global, &self.scrape_configs)
    }

    /// The storage options these settings describe.
    pub fn db_options(&self) -> anyhow::Result<DbOptions> {
        let t = &self.storage.tsdb;
        let mut options = DbOptions::default();
        if let Some(v) = &t.retention_time {
            let ms = duration_ms(v, "storage.tsdb.retention_time")?;
            options.retention_time = (ms > 0).then_some(ms);
        }
        if let Some(v) = &t.retention_size {
            let bytes = parse_bytes(v).with_context(|| "storage.tsdb.retention_size")?;
            options.retention_size = (bytes > 0).then_some(bytes);
        }
        if let Some(v) = &t.out_of_order_time_window {
            options.out_of_order_window = duration_ms(v, "storage.tsdb.out_of_order_time_window")?;
        }
        if let Some(v) = &t.block_duration {
            let ms = duration_ms(v, "storage.tsdb.block_duration")?;
            if !(60_000..=31 * 86_400_000).contains(&ms) {
                bail!("storage.tsdb.block_duration must be between 1m and 31d, got {v:?}");
            }
            options.block_range = ms;
        }
        let interval = match &t.wal_fsync_interval {
            Some(v) => Duration::from_millis(duration_ms(v, "storage.tsdb.wal_fsync_interval")?.max(1) as u64),
            None => Duration::from_secs(1),
        };
        let sync = match t.wal_fsync.as_deref() {
            None | Some("interval") => SyncPolicy::Interval(interval),
            Some("always") => SyncPolicy::Always,
            Some("never") => SyncPolicy::Never,
            Some(other) => bail!("storage.tsdb.wal_fsync must be always, interval or never, got {other:?}"),
        };
        let segment_size = match &t.wal_segment_size {
            Some(v) => parse_bytes(v)
                .with_context(|| "storage.tsdb.wal_segment_size")?
                .max(64 * 1024),
            None => WalOptions::default().segment_size,
        };
        options.wal = WalOptions { segment_size, sync };
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_name_the_key() {
        // The syntax itself is tested in `scraper::duration`.
        let error = duration_ms("1x", "storage.tsdb.retention_time").expect_err("bad unit");
        assert!(format!("{error:#}").starts_with("storage.tsdb.retention_time: invalid duration \"1x\""));
        assert_eq!(duration_ms("1h30m", "k").ok(), Some(5_400_000));
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512MB").ok(), Some(512 << 20));
        assert_eq!(parse_bytes("1GiB").ok(), Some(1 << 30));
        assert_eq!(parse_bytes("100").ok(), Some(100));
        assert!(parse_bytes("1XB").is_err());
        assert!(parse_bytes("MB").is_err());
    }

    #[test]
    fn config_file_keys() {
        let config =
            Config::parse("storage:\n  tsdb:\n    retention_time: 30d\n    wal_fsync: always\n").expect("valid");
        let options = config.db_options().expect("valid options");
        assert_eq!(options.retention_time, Some(30 * 86_400_000));
        assert!(matches!(options.wal.sync, SyncPolicy::Always));
        let error = Config::parse("storage:\n  tsdb:\n    retention_tim: 30d\n").expect_err("misspelled key");
        assert!(format!("{error:#}").contains("retention_tim"), "{error:#}");
        assert!(Config::parse("storage:\n  tsdb:\n    wal_fsync: sometimes\n").is_err());
        assert!(Config::parse("storage:\n  tsdb:\n    block_duration: 30s\n").is_err());
        assert!(Config::parse("storage:\n  tsdb:\n    block_duration: 200000000y\n").is_err());
    }
}
