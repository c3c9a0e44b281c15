//! The `global` and `scrape_configs` sections, in Prometheus's syntax, turned into the scraper's
//! [`JobConfig`]s.
//!
//! Every key Prometheus documents for these sections is either supported or rejected with an error
//! naming the key and its line; none is silently ignored.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use scraper::client::{Auth, HttpSettings, Secret, TlsSettings};
use scraper::discovery::FileSdConfig;
use scraper::relabel::{RelabelConfig, RelabelSpec};
use scraper::{JobConfig, ScrapeSettings, TargetGroup};

use super::units::{duration, parse_bytes};

/// A key Loupe knows but does not implement: kept with its position to name it in the error.
pub(super) type Unsupported = Option<Spanned<IgnoredAny>>;

/// `global:` settings.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default time between scrapes (Prometheus's default: 1m).
    pub scrape_interval: Option<String>,
    /// Default scrape timeout (default 10s, at most the interval).
    pub scrape_timeout: Option<String>,
    /// Default `scrape_protocols`.
    pub scrape_protocols: Option<Vec<String>>,
    /// How often rules are evaluated (kept for the rules engine).
    pub evaluation_interval: Option<String>,
    /// Labels describing this server to external systems (added to alerts; not to stored
    /// series, as in Prometheus).
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// Default `body_size_limit`.
    pub body_size_limit: Option<String>,
    /// Default `sample_limit`.
    pub sample_limit: Option<usize>,
    /// Default `label_limit`.
    pub label_limit: Option<usize>,
    /// Default `label_name_length_limit`.
    pub label_name_length_limit: Option<usize>,
    /// Default `label_value_length_limit`.
    pub label_value_length_limit: Option<usize>,
    /// Default `target_limit`.
    pub target_limit: Option<usize>,
    /// Default `keep_dropped_targets`.
    pub keep_dropped_targets: Option<usize>,
    #[serde(default)]
    query_log_file: Unsupported,
    #[serde(default)]
    scrape_failure_log_file: Unsupported,
    /// Default `query_offset` of rule groups.
    pub rule_query_offset: Option<String>,
    #[serde(default)]
    metric_name_validation_scheme: Unsupported,
}

/// One `scrape_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// The job name (the `job` label).
    pub job_name: Spanned<String>,
    /// Time between scrapes.
    pub scrape_interval: Option<String>,
    /// Time a scrape may take.
    pub scrape_timeout: Option<String>,
    /// Exposition formats to ask for, in order of preference.
    pub scrape_protocols: Option<Vec<String>>,
    /// Format assumed when a response has no usable `Content-Type`.
    pub fallback_scrape_protocol: Option<String>,
    /// Path scraped (default `/metrics`).
    pub metrics_path: Option<String>,
    /// `http` (default) or `https`.
    pub scheme: Option<String>,
    /// URL parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep the scraped labels on clashes.
    #[serde(default)]
    pub honor_labels: bool,
    /// Use timestamps from the response (default true).
    pub honor_timestamps: Option<bool>,
    /// Staleness markers for series with explicit timestamps too.
    #[serde(default)]
    pub track_timestamps_staleness: bool,
    /// Ask for gzip (default true).
    pub enable_compression: Option<bool>,
    /// Largest uncompressed body (`10MB`…; 0 no limit).
    pub body_size_limit: Option<String>,
    /// Largest number of samples per scrape after metric relabeling.
    pub sample_limit: Option<usize>,
    /// Largest number of labels per sample.
    pub label_limit: Option<usize>,
    /// Longest label name.
    pub label_name_length_limit: Option<usize>,
    /// Longest label value.
    pub label_value_length_limit: Option<usize>,
    /// Largest number of targets.
    pub target_limit: Option<usize>,
    /// How many dropped targets the targets API keeps (0: all).
    pub keep_dropped_targets: Option<usize>,
    /// Classic histograms are always stored; accepted for compatibility.
    #[allow(dead_code)]
    pub scrape_classic_histograms: Option<bool>,
    /// Classic histograms are always stored; accepted for compatibility.
    #[allow(dead_code)]
    pub always_scrape_classic_histograms: Option<bool>,
    /// Static targets.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// File discovery.
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdYaml>,
    /// Target relabeling.
    #[serde(default)]
    pub relabel_configs: Vec<RelabelYaml>,
    /// Sample relabeling.
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelYaml>,
    /// HTTP basic authentication.
    pub basic_auth: Option<BasicAuthYaml>,
    /// `Authorization` header.
    pub authorization: Option<AuthorizationYaml>,
    /// Bearer token (older form of `authorization`).
    pub bearer_token: Option<String>,
    /// File holding a bearer token.
    pub bearer_token_file: Option<PathBuf>,
    /// TLS options.
    pub tls_config: Option<TlsYaml>,
    /// Follow redirects (default true).
    pub follow_redirects: Option<bool>,
    /// Loupe speaks HTTP/1.1 to targets; accepted for compatibility.
    #[allow(dead_code)]
    pub enable_http2: Option<bool>,
    #[serde(default)]
    oauth2: Unsupported,
    #[serde(default)]
    proxy_url: Unsupported,
    #[serde(default)]
    no_proxy: Unsupported,
    #[serde(default)]
    proxy_from_environment: Unsupported,
    #[serde(default)]
    proxy_connect_header: Unsupported,
    #[serde(default)]
    native_histogram_bucket_limit: Unsupported,
    #[serde(default)]
    native_histogram_min_bucket_factor: Unsupported,
    #[serde(default)]
    convert_classic_histograms_to_nhcb: Unsupported,
    #[serde(default)]
    scrape_failure_log_file: Unsupported,
    #[serde(default)]
    metric_name_validation_scheme: Unsupported,
    #[serde(default)]
    metric_name_escaping_scheme: Unsupported,
    #[serde(default)]
    kubernetes_sd_configs: Unsupported,
    #[serde(default)]
    docker_sd_configs: Unsupported,
    #[serde(default)]
    dockerswarm_sd_configs: Unsupported,
    #[serde(default)]
    dns_sd_configs: Unsupported,
    #[serde(default)]
    consul_sd_configs: Unsupported,
    #[serde(default)]
    http_sd_configs: Unsupported,
    #[serde(default)]
    ec2_sd_configs: Unsupported,
    #[serde(default)]
    azure_sd_configs: Unsupported,
    #[serde(default)]
    gce_sd_configs: Unsupported,
    #[serde(default)]
    openstack_sd_configs: Unsupported,
    #[serde(default)]
    nomad_sd_configs: Unsupported,
    #[serde(default)]
    eureka_sd_configs: Unsupported,
    #[serde(default)]
    serverset_sd_configs: Unsupported,
    #[serde(default)]
    marathon_sd_configs: Unsupported,
    #[serde(default)]
    digitalocean_sd_configs: Unsupported,
    #[serde(default)]
    hetzner_sd_configs: Unsupported,
    #[serde(default)]
    linode_sd_configs: Unsupported,
    #[serde(default)]
    lightsail_sd_configs: Unsupported,
    #[serde(default)]
    scaleway_sd_configs: Unsupported,
    #[serde(default)]
    triton_sd_configs: Unsupported,
    #[serde(default)]
    uyuni_sd_configs: Unsupported,
    #[serde(default)]
    vultr_sd_configs: Unsupported,
    #[serde(default)]
    puppetdb_sd_configs: Unsupported,
    #[serde(default)]
    ionos_sd_configs: Unsupported,
    #[serde(default)]
    kuma_sd_configs: Unsupported,
    #[serde(default)]
    ovhcloud_sd_configs: Unsupported,
}

/// One `static_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels of every target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One `file_sd_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdYaml {
    /// Files or patterns.
    pub files: Vec<String>,
    /// Full re-read interval (default 5m).
    pub refresh_interval: Option<String>,
}

/// One relabeling rule as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelYaml {
    /// Labels whose values are joined.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Separator of the joined values (default `;`).
    pub separator: Option<String>,
    /// Regular expression (default `(.*)`).
    pub regex: Option<String>,
    /// Modulus for `hashmod`.
    pub modulus: Option<u64>,
    /// Label written.
    pub target_label: Option<String>,
    /// Replacement (default `$1`).
    pub replacement: Option<String>,
    /// Action (default `replace`).
    pub action: Option<String>,
}

/// `basic_auth:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthYaml {
    /// User name.
    pub username: Option<String>,
    /// File holding the user name.
    pub username_file: Option<PathBuf>,
    /// Password.
    pub password: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
}

/// `authorization:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationYaml {
    /// Scheme (default `Bearer`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Credentials.
    pub credentials: Option<String>,
    /// File holding the credentials.
    pub credentials_file: Option<PathBuf>,
}

/// `tls_config:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsYaml {
    /// CA certificates (PEM text).
    pub ca: Option<String>,
    /// CA certificates (PEM file).
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM text).
    pub cert: Option<String>,
    /// Client certificate (PEM file).
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM text).
    pub key: Option<String>,
    /// Client key (PEM file).
    pub key_file: Option<PathBuf>,
    /// The name the server's certificate must be valid for.
    pub server_name: Option<String>,
    /// Skip server certificate checks.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// `TLS10` … `TLS13`.
    pub min_version: Option<String>,
    /// `TLS12` or `TLS13`.
    pub max_version: Option<String>,
}

impl TlsYaml {
    /// The settings, with Prometheus's checks of which keys go together.
    fn settings(&self) -> anyhow::Result<TlsSettings> {
        fn one(inline: &Option<String>, file: &Option<PathBuf>, name: &str) -> anyhow::Result<Option<Secret>> {
            match (inline, file) {
                (Some(_), Some(_)) => bail!("at most one of {name} and {name}_file must be configured"),
                (Some(text), None) => Ok(Some(Secret::Inline(text.clone()))),
                (None, Some(path)) => Ok(Some(Secret::File(path.clone()))),
                (None, None) => Ok(None),
            }
        }
        let ca = one(&self.ca, &self.ca_file, "ca")?;
        let cert = one(&self.cert, &self.cert_file, "cert")?;
        let key = one(&self.key, &self.key_file, "key")?;
        match (&cert, &key) {
            (Some(_), None) => {
                bail!("exactly one of key or key_file must be configured when a client certificate is configured")
            }
            (None, Some(_)) => {
                bail!("exactly one of cert or cert_file must be configured when a client key is configured")
            }
            _ => {}
        }
        Ok(TlsSettings {
            ca,
            cert,
            key,
            server_name: self.server_name.clone().filter(|name| !name.is_empty()),
            insecure_skip_verify: self.insecure_skip_verify,
            min_version: self.min_version.clone().filter(|v| !v.is_empty()),
            max_version: self.max_version.clone().filter(|v| !v.is_empty()),
        })
    }
}

/// A key Loupe does not support. The YAML parser locates the key's value; [`UnsupportedKey::line_in`]
/// finds the line of the key itself.
#[derive(Debug)]
pub struct UnsupportedKey {
    /// The key's path, e.g. `scrape_configs[0].consul_sd_configs`.
    pub path: String,
    /// Line of the key's value (1-based).
    pub value_line: u64,
    /// What to use instead, if anything.
    pub hint: String,
}

impl UnsupportedKey {
    /// The line of the key: the last line at or before the value's that names it.
    pub fn line_in(&self, text: &str) -> u64 {
        let key = self.path.rsplit('.').next().unwrap_or(&self.path);
        let lines: Vec<&str> = text.lines().collect();
        let last = usize::try_from(self.value_line).unwrap_or(0).min(lines.len());
        (0..last)
            .rev()
            .find(|&i| {
                let line = lines[i].trim_start().trim_start_matches("- ");
                line.starts_with(key) && line[key.len()..].trim_start().starts_with(':')
            })
            .map_or(self.value_line, |i| i as u64 + 1)
    }

    /// The message, with the key's line.
    pub fn message(&self, line: u64) -> String {
        let hint = if self.hint.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.hint)
        };
        format!("line {line}: {} is not supported by Loupe{hint}", self.path)
    }
}

impl std::fmt::Display for UnsupportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(self.value_line))
    }
}

impl std::error::Error for UnsupportedKey {}

pub(super) fn reject(key: &Unsupported, name: &str, hint: &str) -> anyhow::Result<()> {
    if let Some(spanned) = key {
        return Err(UnsupportedKey {
            path: name.to_string(),
            value_line: spanned.referenced.line(),
            hint: hint.to_string(),
        }
        .into());
    }
    Ok(())
}

const SD_HINT: &str = "Loupe discovers targets with static_configs and file_sd_configs";

impl GlobalConfig {
    fn check_unsupported(&self) -> anyhow::Result<()> {
        reject(&self.query_log_file, "global.query_log_file", "")?;
        reject(&self.scrape_failure_log_file, "global.scrape_failure_log_file", "")?;
        reject(
            &self.metric_name_validation_scheme,
            "global.metric_name_validation_scheme",
            "",
        )
    }
}

impl ScrapeConfig {
    fn check_unsupported(&self, at: &str) -> anyhow::Result<()> {
        let plain: [(&Unsupported, &str); 11] = [
            (&self.oauth2, "oauth2"),
            (&self.proxy_url, "proxy_url"),
            (&self.no_proxy, "no_proxy"),
            (&self.proxy_from_environment, "proxy_from_environment"),
            (&self.proxy_connect_header, "proxy_connect_header"),
            (&self.native_histogram_bucket_limit, "native_histogram_bucket_limit"),
            (
                &self.native_histogram_min_bucket_factor,
                "native_histogram_min_bucket_factor",
            ),
            (
                &self.convert_classic_histograms_to_nhcb,
                "convert_classic_histograms_to_nhcb",
            ),
            (&self.scrape_failure_log_file, "scrape_failure_log_file"),
            (&self.metric_name_validation_scheme, "metric_name_validation_scheme"),
            (&self.metric_name_escaping_scheme, "metric_name_escaping_scheme"),
        ];
        for (key, name) in plain {
            reject(key, &format!("{at}.{name}"), "")?;
        }
        let discovery: [(&Unsupported, &str); 26] = [
            (&self.kubernetes_sd_configs, "kubernetes_sd_configs"),
            (&self.docker_sd_configs, "docker_sd_configs"),
            (&self.dockerswarm_sd_configs, "dockerswarm_sd_configs"),
            (&self.dns_sd_configs, "dns_sd_configs"),
            (&self.consul_sd_configs, "consul_sd_configs"),
            (&self.http_sd_configs, "http_sd_configs"),
            (&self.ec2_sd_configs, "ec2_sd_configs"),
            (&self.azure_sd_configs, "azure_sd_configs"),
            (&self.gce_sd_configs, "gce_sd_configs"),
            (&self.openstack_sd_configs, "openstack_sd_configs"),
            (&self.nomad_sd_configs, "nomad_sd_configs"),
            (&self.eureka_sd_configs, "eureka_sd_configs"),
            (&self.serverset_sd_configs, "serverset_sd_configs"),
            (&self.marathon_sd_configs, "marathon_sd_configs"),
            (&self.digitalocean_sd_configs, "digitalocean_sd_configs"),
            (&self.hetzner_sd_configs, "hetzner_sd_configs"),
            (&self.linode_sd_configs, "linode_sd_configs"),
            (&self.lightsail_sd_configs, "lightsail_sd_configs"),
            (&self.scaleway_sd_configs, "scaleway_sd_configs"),
            (&self.triton_sd_configs, "triton_sd_configs"),
            (&self.uyuni_sd_configs, "uyuni_sd_configs"),
            (&self.vultr_sd_configs, "vultr_sd_configs"),
            (&self.puppetdb_sd_configs, "puppetdb_sd_configs"),
            (&self.ionos_sd_configs, "ionos_sd_configs"),
            (&self.kuma_sd_configs, "kuma_sd_configs"),
            (&self.ovhcloud_sd_configs, "ovhcloud_sd_configs"),
        ];
        for (key, name) in discovery {
            reject(key, &format!("{at}.{name}"), SD_HINT)?;
        }
        Ok(())
    }
}

/// Builds the `Accept` header for a list of Prometheus protocol names.
fn accept_header(protocols: &[String]) -> anyhow::Result<String> {
    let mut parts = Vec::new();
    let count = protocols.len();
    let mut seen = HashSet::new();
    for (i, protocol) in protocols.iter().enumerate() {
        if !seen.insert(protocol) {
            bail!("duplicated protocol in scrape_protocols: {protocol}");
        }
        let media = match protocol.as_str() {
            "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0",
            "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
            "PrometheusText1.0.0" => "text/plain;version=1.0.0",
            "PrometheusText0.0.4" => "text/plain;version=0.0.4",
            "PrometheusProto" => bail!("scrape_protocols: PrometheusProto is not supported by Loupe"),
            other => bail!(
                "unknown scrape protocol {other}, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 \
                 PrometheusText0.0.4 PrometheusText1.0.0]"
            ),
        };
        let weight = (count - i) as f64 / (count as f64 + 1.0) * 0.9;
        parts.push(format!("{media};q={weight:.1}"));
    }
    parts.push("*/*;q=0.1".into());
    Ok(parts.join(","))
}

/// Turns the `global` and `scrape_configs` sections into jobs, applying Prometheus's defaults and
/// checks (unique job names, timeout within interval…).
pub fn jobs(global: &GlobalConfig, configs: &[ScrapeConfig]) -> anyhow::Result<Vec<JobConfig>> {
    global.check_unsupported()?;
    let global_interval = match &global.scrape_interval {
        Some(v) => duration(v, "global.scrape_interval")?,
        None => std::time::Duration::from_secs(60),
    };
    let global_timeout = match &global.scrape_timeout {
        Some(v) => duration(v, "global.scrape_timeout")?,
        None => std::time::Duration::from_secs(10),
    };
    if global_timeout > global_interval {
        bail!("global scrape timeout greater than scrape interval");
    }
    if let Some(v) = &global.evaluation_interval {
        duration(v, "global.evaluation_interval")?;
    }
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(configs.len());
    for (index, config) in configs.iter().enumerate() {
        let name = &config.job_name.value;
        let line = config.job_name.referenced.line();
        let at = format!("scrape_configs[{index}]");
        config.check_unsupported(&at)?;
        let job = job(global, global_interval, global_timeout, config)
            .with_context(|| format!("line {line}: scrape config for job {name:?}"))?;
        if !names.insert(name.clone()) {
            bail!("line {line}: found multiple scrape configs with job name {name:?}");
        }
        out.push(job);
    }
    Ok(out)
}

fn job(
    global: &GlobalConfig,
    global_interval: std::time::Duration,
    global_timeout: std::time::Duration,
    config: &ScrapeConfig,
) -> anyhow::Result<JobConfig> {
    let name = &config.job_name.value;
    if name.is_empty() {
        bail!("job_name is empty");
    }
    let mut s = ScrapeSettings::new(name.clone());
    s.interval = match &config.scrape_interval {
        Some(v) => duration(v, "scrape_interval")?,
        None => global_interval,
    };
    s.timeout = match &config.scrape_timeout {
        Some(v) => duration(v, "scrape_timeout")?,
        None => global_timeout.min(s.interval),
    };
    if s.interval.is_zero() {
        bail!("scrape_interval must be greater than 0");
    }
    if s.timeout.is_zero() {
        bail!("scrape_timeout must be greater than 0");
    }
    if s.timeout > s.interval {
        bail!("scrape timeout greater than scrape interval for scrape config with job name {name:?}");
    }
    if let Some(protocols) = config.scrape_protocols.as_ref().or(global.scrape_protocols.as_ref()) {
        s.accept = accept_header(protocols)?;
    }
    if let Some(fallback) = &config.fallback_scrape_protocol
        && !matches!(fallback.as_str(), "PrometheusText0.0.4" | "PrometheusText1.0.0")
    {
        bail!("fallback_scrape_protocol {fallback:?} is not supported (Loupe falls back to the text format)");
    }
    s.metrics_path = config.metrics_path.clone().unwrap_or_else(|| "/metrics".into());
    if !s.metrics_path.starts_with('/') {
        bail!("metrics_path {:?} must start with /", s.metrics_path);
    }
    s.scheme = config.scheme.clone().unwrap_or_else(|| "http".into());
    if s.scheme != "http" && s.scheme != "https" {
        bail!("invalid scheme {:?} (want http or https)", s.scheme);
    }
    s.params = config.params.clone();
    s.honor_labels = config.honor_labels;
    s.honor_timestamps = config.honor_timestamps.unwrap_or(true);
    s.track_timestamps_staleness = config.track_timestamps_staleness;
    s.enable_compression = config.enable_compression.unwrap_or(true);
    s.body_size_limit = match config.body_size_limit.as_ref().or(global.body_size_limit.as_ref()) {
        Some(v) => parse_bytes(v).context("body_size_limit")?,
        None => 0,
    };
    s.sample_limit = config.sample_limit.or(global.sample_limit).unwrap_or(0);
    s.label_limit = config.label_limit.or(global.label_limit).unwrap_or(0);
    s.label_name_length_limit = config
        .label_name_length_limit
        .or(global.label_name_length_limit)
        .unwrap_or(0);
    s.label_value_length_limit = config
        .label_value_length_limit
        .or(global.label_value_length_limit)
        .unwrap_or(0);
    s.target_limit = config.target_limit.or(global.target_limit).unwrap_or(0);
    s.keep_dropped_targets = config.keep_dropped_targets.or(global.keep_dropped_targets).unwrap_or(0);
    s.relabel_configs = relabel_rules(&config.relabel_configs, "relabel_configs")?;
    s.metric_relabel_configs = relabel_rules(&config.metric_relabel_configs, "metric_relabel_configs")?;
    s.http = http_settings(config)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!("{s:?}").hash(&mut hasher);
    s.fingerprint = hasher.finish();
    let mut static_groups = Vec::new();
    for (index, group) in config.static_configs.iter().enumerate() {
        for target in &group.targets {
            if target.is_empty() || target.contains('/') {
                bail!("static_configs[{index}]: {target:?} is not a valid hostname (want host:port)");
            }
        }
        static_groups.push(TargetGroup::from_addresses(
            format!("static/{index}"),
            group.targets.iter().cloned(),
            group.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ));
    }
    let mut file_sd = Vec::new();
    for (index, sd) in config.file_sd_configs.iter().enumerate() {
        let refresh_interval = match &sd.refresh_interval {
            Some(v) => duration(v, "file_sd_configs.refresh_interval")?,
            None => std::time::Duration::from_secs(300),
        };
        let sd = FileSdConfig {
            files: sd.files.clone(),
            refresh_interval,
        };
        sd.validate().with_context(|| format!("file_sd_configs[{index}]"))?;
        file_sd.push(sd);
    }
    Ok(JobConfig {
        settings: Arc::new(s),
        static_groups,
        file_sd,
    })
}

fn relabel_rules(rules: &[RelabelYaml], key: &str) -> anyhow::Result<Vec<RelabelConfig>> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            RelabelConfig::new(RelabelSpec {
                source_labels: r.source_labels.clone(),
                separator: r.separator.clone(),
                regex: r.regex.clone(),
                modulus: r.modulus,
                target_label: r.target_label.clone(),
                replacement: r.replacement.clone(),
                action: r.action.clone(),
            })
            .with_context(|| format!("{key}[{i}]"))
        })
        .collect()
}

fn http_settings(config: &ScrapeConfig) -> anyhow::Result<HttpSettings> {
    let mut auth = Auth::None;
    let mut count = 0;
    if let Some(basic) = &config.basic_auth {
        count += 1;
        let username = match (&basic.username, &basic.username_file) {
            (Some(_), Some(_)) => bail!("at most one of basic_auth username & username_file must be configured"),
            (Some(u), None) => Secret::Inline(u.clone()),
            (None, Some(f)) => Secret::File(f.clone()),
            (None, None) => Secret::Inline(String::new()),
        };
        let password = match (&basic.password, &basic.password_file) {
            (Some(_), Some(_)) => bail!("at most one of basic_auth password & password_file must be configured"),
            (Some(p), None) => Some(Secret::Inline(p.clone())),
            (None, Some(f)) => Some(Secret::File(f.clone())),
            (None, None) => None,
        };
        auth = Auth::Basic { username, password };
    }
    if let Some(authorization) = &config.authorization {
        count += 1;
        let kind = authorization.kind.clone().unwrap_or_else(|| "Bearer".into());
        if kind.eq_ignore_ascii_case("basic") {
            bail!("authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
        }
        let credentials = match (&authorization.credentials, &authorization.credentials_file) {
            (Some(_), Some(_)) => {
                bail!("at most one of authorization credentials & credentials_file must be configured")
            }
            (Some(c), None) => Secret::Inline(c.clone()),
            (None, Some(f)) => Secret::File(f.clone()),
            (None, None) => Secret::Inline(String::new()),
        };
        auth = Auth::Authorization { kind, credentials };
    }
    match (&config.bearer_token, &config.bearer_token_file) {
        (Some(_), Some(_)) => bail!("at most one of bearer_token & bearer_token_file must be configured"),
        (Some(token), None) => {
            count += 1;
            auth = Auth::Authorization {
                kind: "Bearer".into(),
                credentials: Secret::Inline(token.clone()),
            };
        }
        (None, Some(file)) => {
            count += 1;
            auth = Auth::Authorization {
                kind: "Bearer".into(),
                credentials: Secret::File(file.clone()),
            };
        }
        (None, None) => {}
    }
    if count > 1 {
        bail!("at most one of basic_auth, authorization and bearer_token(_file) must be configured");
    }
    let tls = match &config.tls_config {
        Some(tls) => tls.settings()?,
        None => TlsSettings::default(),
    };
    Ok(HttpSettings {
        auth,
        tls,
        follow_redirects: config.follow_redirects.unwrap_or(true),
    })
}
