//! `rule_files` and `alerting:`, in Prometheus's syntax, plus Loupe's `alerting.webhooks` for
//! users without an Alertmanager.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use super::scrape::{Unsupported, reject};
use super::units::parse_duration;
use crate::rules::file::Defaults;
use crate::rules::notify::{AlertmanagerTarget, NotifierConfig, WebhookTarget};

/// `alerting:`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// Alertmanagers to send alerts to.
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Plain webhooks receiving Alertmanager's webhook payload (Loupe's own key).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    #[serde(default)]
    alert_relabel_configs: Unsupported,
}

/// One `alerting.alertmanagers` entry (static targets only).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// `http` (default) or `https`.
    pub scheme: Option<String>,
    /// Prefix of the API path.
    pub path_prefix: Option<String>,
    /// Per-request timeout (default 10s).
    pub timeout: Option<String>,
    /// Only `v2` (the default) exists in current Alertmanagers.
    pub api_version: Option<String>,
    /// `targets:` lists of `host:port`.
    #[serde(default)]
    pub static_configs: Vec<StaticTargets>,
    /// Basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header.
    pub authorization: Option<Authorization>,
    #[serde(default)]
    file_sd_configs: Unsupported,
    #[serde(default)]
    dns_sd_configs: Unsupported,
    #[serde(default)]
    kubernetes_sd_configs: Unsupported,
    #[serde(default)]
    consul_sd_configs: Unsupported,
    #[serde(default)]
    relabel_configs: Unsupported,
    #[serde(default)]
    alert_relabel_configs: Unsupported,
    #[serde(default)]
    tls_config: Unsupported,
    #[serde(default)]
    oauth2: Unsupported,
    #[serde(default)]
    proxy_url: Unsupported,
}

/// `static_configs` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticTargets {
    /// `host:port` of each Alertmanager.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// `basic_auth`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
}

/// `authorization`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme; only `Bearer` is supported.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The token.
    pub credentials: String,
}

/// `alerting.webhooks` entry (Loupe's).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Full URL receiving the POSTs.
    pub url: String,
    /// Per-request timeout (default 10s).
    pub timeout: Option<String>,
    /// Attempts per delivery, with exponential backoff (default 5).
    pub max_attempts: Option<u32>,
    /// `receiver` in the payload (default `loupe`).
    pub receiver: Option<String>,
}

impl AlertingConfig {
    /// The notifier's targets.
    pub fn notifier(&self, external_url: &str) -> anyhow::Result<NotifierConfig> {
        reject(&self.alert_relabel_configs, "alerting.alert_relabel_configs", "")?;
        let mut config = NotifierConfig {
            external_url: external_url.to_string(),
            queue_capacity: 10_000,
            max_batch: 256,
            ..NotifierConfig::default()
        };
        for (i, am) in self.alertmanagers.iter().enumerate() {
            let at = format!("alerting.alertmanagers[{i}]");
            for (key, name) in [
                (&am.file_sd_configs, "file_sd_configs"),
                (&am.dns_sd_configs, "dns_sd_configs"),
                (&am.kubernetes_sd_configs, "kubernetes_sd_configs"),
                (&am.consul_sd_configs, "consul_sd_configs"),
                (&am.relabel_configs, "relabel_configs"),
                (&am.alert_relabel_configs, "alert_relabel_configs"),
                (&am.tls_config, "tls_config"),
                (&am.oauth2, "oauth2"),
                (&am.proxy_url, "proxy_url"),
            ] {
                reject(
                    key,
                    &format!("{at}.{name}"),
                    "Loupe sends to static Alertmanager targets over http(s)",
                )?;
            }
            if let Some(v) = &am.api_version
                && v != "v2"
            {
                bail!("{at}.api_version: only v2 is supported, got {v:?}");
            }
            let scheme = am.scheme.as_deref().unwrap_or("http");
            if scheme != "http" && scheme != "https" {
                bail!("{at}.scheme must be http or https, got {scheme:?}");
            }
            let timeout = match &am.timeout {
                Some(t) => parse_duration(t).with_context(|| format!("{at}.timeout"))?,
                None => Duration::from_secs(10),
            };
            let prefix = am.path_prefix.as_deref().unwrap_or("").trim_end_matches('/');
            let bearer = match &am.authorization {
                Some(a) if a.kind.as_deref().is_none_or(|k| k.eq_ignore_ascii_case("bearer")) => {
                    Some(a.credentials.clone())
                }
                Some(a) => bail!("{at}.authorization.type: only Bearer is supported, got {:?}", a.kind),
                None => None,
            };
            for group in &am.static_configs {
                for target in &group.targets {
                    if target.is_empty() || target.contains('/') {
                        bail!("{at}.static_configs: invalid target {target:?} (want host:port)");
                    }
                    config.alertmanagers.push(AlertmanagerTarget {
                        url: format!("{scheme}://{target}{prefix}"),
                        timeout,
                        basic_auth: am.basic_auth.as_ref().map(|b| (b.username.clone(), b.password.clone())),
                        bearer_token: bearer.clone(),
                    });
                }
            }
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            let at = format!("alerting.webhooks[{i}]");
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                bail!("{at}.url must be an http(s) URL, got {:?}", w.url);
            }
            let timeout = match &w.timeout {
                Some(t) => parse_duration(t).with_context(|| format!("{at}.timeout"))?,
                None => Duration::from_secs(10),
            };
            config.webhooks.push(WebhookTarget {
                url: w.url.clone(),
                timeout,
                max_attempts: w.max_attempts.unwrap_or(5).clamp(1, 20),
                receiver: w.receiver.clone().unwrap_or_else(|| "loupe".to_string()),
            });
        }
        Ok(config)
    }
}

/// Rule defaults from `global:`.
pub fn rule_defaults(global: &super::GlobalConfig) -> anyhow::Result<Defaults> {
    let mut defaults = Defaults::default();
    if let Some(v) = &global.evaluation_interval {
        defaults.interval = parse_duration(v).context("global.evaluation_interval")?;
        if defaults.interval.is_zero() {
            bail!("global.evaluation_interval must be positive");
        }
    }
    if let Some(v) = &global.rule_query_offset {
        defaults.query_offset = parse_duration(v).context("global.rule_query_offset")?;
    }
    Ok(defaults)
}

/// The rule files named by `rule_files` globs, relative to the config file's directory.
pub fn rule_file_paths(patterns: &[String], config_path: Option<&Path>) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let base = config_path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    crate::rules::file::expand_globs(patterns, &base).map_err(anyhow::Error::msg)
}
