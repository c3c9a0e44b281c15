//! Units in configuration values: Prometheus durations and byte sizes.

use std::time::Duration;

use anyhow::{Context, bail};

/// Parses a duration and names the key in the error.
pub fn duration(text: &str, key: &str) -> anyhow::Result<Duration> {
    parse_duration(text).with_context(|| format!("{key}: invalid duration {text:?}"))
}

/// Parses a duration into milliseconds and names the key in the error.
pub fn duration_ms(text: &str, key: &str) -> anyhow::Result<i64> {
    let duration = parse_duration(text).with_context(|| format!("{key}: invalid duration {text:?}"))?;
    i64::try_from(duration.as_millis()).with_context(|| format!("{key}: duration {text:?} is too long"))
}

/// Parses a Prometheus duration: `1h30m`, `1w`, `90s`, `500ms`, `1y`, or `0`.
/// Units from largest to smallest, each at most once: y (365d), w, d, h, m, s, ms.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    scraper::duration::parse_duration(text).map_err(anyhow::Error::msg)
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
