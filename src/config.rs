//! Loupe's configuration: the YAML file, command-line overrides, and Prometheus-style durations.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tsdb::db::DbOptions;
use tsdb::wal::{SyncPolicy, WalOptions};

/// The configuration file. Unknown keys are errors, never silently ignored.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Storage settings.
    #[serde(default)]
    pub storage: StorageConfig,
}

/// `storage:` section.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// `storage.tsdb:` settings.
    #[serde(default)]
    pub tsdb: TsdbConfig,
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
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        config.db_options()?;
        Ok(config)
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

fn duration_ms(text: &str, key: &str) -> anyhow::Result<i64> {
    let duration = parse_duration(text).with_context(|| format!("{key}: invalid duration {text:?}"))?;
    i64::try_from(duration.as_millis()).with_context(|| format!("{key}: duration {text:?} is too long"))
}

/// Parses a Prometheus duration: `1h30m`, `1w`, `90s`, `500ms`, `1y`, or `0`.
/// Units from largest to smallest, each at most once: y (365d), w, d, h, m, s, ms.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    if text.is_empty() {
        bail!("empty duration");
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_unit = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            bail!("expected a number at {rest:?}");
        }
        let number: u64 = rest[..digits].parse().context("number too large")?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let Some(position) = UNITS.iter().position(|(name, _)| *name == unit) else {
            bail!("unknown unit {unit:?} (use y, w, d, h, m, s or ms)");
        };
        if last_unit.is_some_and(|last| position <= last) {
            bail!("units must go from largest to smallest, each once");
        }
        last_unit = Some(position);
        total = number
            .checked_mul(UNITS[position].1)
            .and_then(|ms| total.checked_add(ms))
            .context("duration too long")?;
    }
    Ok(Duration::from_millis(total))
}

/// Parses a byte size: `1024`, `512KB`, `10MB`, `1GiB`, `2TB` (KB = 1024 like Prometheus's units).
pub fn parse_bytes(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        bail!("invalid size {text:?}: expected a number");
    }
    let number: u64 = text[..digits]
        .parse()
        .with_context(|| format!("invalid size {text:?}"))?;
    let multiplier: u64 = match text[digits..].trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "KIB" => 1 << 10,
        "MB" | "MIB" => 1 << 20,
        "GB" | "GIB" => 1 << 30,
        "TB" | "TIB" => 1 << 40,
        "PB" | "PIB" => 1 << 50,
        unit => bail!("invalid size {text:?}: unknown unit {unit:?}"),
    };
    number
        .checked_mul(multiplier)
        .with_context(|| format!("size {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations() {
        assert_eq!(parse_duration("1h30m").ok(), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1w").ok(), Some(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("1y").ok(), Some(Duration::from_secs(365 * 86400)));
        assert_eq!(parse_duration("1s500ms").ok(), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0").ok(), Some(Duration::ZERO));
        for bad in [
            "",
            "1",
            "h",
            "1x",
            "1m1h",
            "1h1h",
            "99999999999999999999y",
            "-1s",
            "1.5h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
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
