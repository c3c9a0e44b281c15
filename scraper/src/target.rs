//! Scrape settings of a job and the targets built from discovered target groups.
//!
//! A [`TargetGroup`] is what discovery yields: addresses plus common labels. [`build_targets`] turns a
//! group into [`Target`]s the way Prometheus does: it adds the job's defaults as hidden `__…__` labels,
//! applies the job's `relabel_configs`, drops targets without an `__address__`, fills `instance` from
//! the address, and strips every label starting with `__` from the labels stored with samples.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tsdb::{Labels, LabelsBuilder};

use crate::relabel::{self, RelabelConfig};

/// `__address__`: the `host:port` a target is scraped at.
pub const ADDRESS_LABEL: &str = "__address__";
/// `__scheme__`: `http` or `https`.
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`: the path scraped.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`: the interval, in Prometheus duration syntax.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`: the timeout, in Prometheus duration syntax.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of the labels that set URL parameters: `__param_<name>`.
pub const PARAM_PREFIX: &str = "__param_";

/// How one job's targets are scraped: a `scrape_configs` entry after defaults were applied.
#[derive(Debug, Clone)]
pub struct ScrapeSettings {
    /// `job_name`, also the `job` label's default.
    pub job_name: String,
    /// Time between scrapes.
    pub interval: Duration,
    /// Time a scrape may take.
    pub timeout: Duration,
    /// `metrics_path` (default `/metrics`).
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: String,
    /// URL parameters.
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep labels of scraped samples that clash with target labels (instead of renaming them to
    /// `exported_<name>`).
    pub honor_labels: bool,
    /// Use timestamps given in the scraped text (instead of the scrape's time).
    pub honor_timestamps: bool,
    /// Write staleness markers for series with explicit timestamps too.
    pub track_timestamps_staleness: bool,
    /// Largest number of samples a scrape may keep after metric relabeling (0: no limit).
    pub sample_limit: usize,
    /// Largest number of labels per sample (0: no limit).
    pub label_limit: usize,
    /// Longest label name (0: no limit).
    pub label_name_length_limit: usize,
    /// Longest label value (0: no limit).
    pub label_value_length_limit: usize,
    /// Largest number of targets of the job after relabeling (0: no limit).
    pub target_limit: usize,
    /// How many dropped targets the targets API keeps (0: all).
    pub keep_dropped_targets: usize,
    /// Largest uncompressed response body (0: no limit).
    pub body_size_limit: u64,
    /// Ask for gzip-compressed responses.
    pub enable_compression: bool,
    /// The `Accept` header sent with each scrape.
    pub accept: String,
    /// `relabel_configs`, applied to targets.
    pub relabel_configs: Vec<RelabelConfig>,
    /// `metric_relabel_configs`, applied to scraped samples.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Authentication and TLS.
    pub http: crate::client::HttpSettings,
    /// Changes whenever any setting changes: targets of a job whose fingerprint changed are restarted
    /// on reload, others keep running.
    pub fingerprint: u64,
}

impl ScrapeSettings {
    /// Settings with Prometheus's defaults for a job name (interval 1m, timeout 10s).
    pub fn new(job_name: impl Into<String>) -> Self {
        ScrapeSettings {
            job_name: job_name.into(),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            target_limit: 0,
            keep_dropped_targets: 0,
            body_size_limit: 0,
            enable_compression: true,
            accept: crate::client::DEFAULT_ACCEPT.into(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            http: Default::default(),
            fingerprint: 0,
        }
    }
}

/// A group of targets sharing labels, as a discovery mechanism yields it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetGroup {
    /// Where the group came from (`static/0`, `file:/etc/targets.json/2`…).
    pub source: String,
    /// One label set per target; each has at least `__address__`.
    pub targets: Vec<Vec<(String, String)>>,
    /// Labels common to every target of the group.
    pub labels: Vec<(String, String)>,
}

impl TargetGroup {
    /// A group of plain `host:port` addresses with common labels.
    pub fn from_addresses(
        source: impl Into<String>,
        addresses: impl IntoIterator<Item = impl Into<String>>,
        labels: Vec<(String, String)>,
    ) -> Self {
        TargetGroup {
            source: source.into(),
            targets: addresses
                .into_iter()
                .map(|a| vec![(ADDRESS_LABEL.to_string(), a.into())])
                .collect(),
            labels,
        }
    }
}

/// A target to scrape: its final labels and URL.
#[derive(Debug, Clone)]
pub struct Target {
    /// Labels attached to every sample scraped from the target (`job`, `instance`, …).
    pub labels: Labels,
    /// Labels before relabeling, including the hidden `__…__` ones (shown by the targets API).
    pub discovered: Labels,
    /// The URL scraped.
    pub url: String,
    /// Time between scrapes (from `__scrape_interval__`).
    pub interval: Duration,
    /// Time a scrape may take (from `__scrape_timeout__`).
    pub timeout: Duration,
    /// The job's settings.
    pub settings: Arc<ScrapeSettings>,
}

impl Target {
    /// Identity of the target within its job: labels and URL.
    pub fn key(&self) -> (Labels, String) {
        (self.labels.clone(), self.url.clone())
    }
}

/// What [`build_targets`] found in a group.
#[derive(Debug, Default)]
pub struct BuiltTargets {
    /// Targets to scrape.
    pub active: Vec<Target>,
    /// Discovered label sets that relabeling dropped.
    pub dropped: Vec<Labels>,
    /// Targets that were invalid, with the reason (for example a bad `__scrape_interval__`).
    pub invalid: Vec<(Labels, String)>,
}

/// Builds the targets of one group for a job (Prometheus's `populateLabels`).
pub fn build_targets(group: &TargetGroup, settings: &Arc<ScrapeSettings>) -> BuiltTargets {
    let mut out = BuiltTargets::default();
    for target_labels in &group.targets {
        let mut pairs: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in &group.labels {
            pairs.insert(name, value);
        }
        for (name, value) in target_labels {
            pairs.insert(name, value);
        }
        let interval = format_duration(settings.interval);
        let timeout = format_duration(settings.timeout);
        let mut defaults: Vec<(String, String)> = vec![
            ("job".into(), settings.job_name.clone()),
            (SCRAPE_INTERVAL_LABEL.into(), interval),
            (SCRAPE_TIMEOUT_LABEL.into(), timeout),
            (METRICS_PATH_LABEL.into(), settings.metrics_path.clone()),
            (SCHEME_LABEL.into(), settings.scheme.clone()),
        ];
        for (name, values) in &settings.params {
            if let Some(first) = values.first() {
                defaults.push((format!("{PARAM_PREFIX}{name}"), first.clone()));
            }
        }
        let mut all: BTreeMap<String, String> = defaults.into_iter().collect();
        for (name, value) in pairs {
            all.insert(name.to_string(), value.to_string());
        }
        let discovered = Labels::from_sorted(all.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let mut builder = LabelsBuilder::new(&discovered);
        if !relabel::relabel(&mut builder, &settings.relabel_configs) {
            out.dropped.push(discovered);
            continue;
        }
        match finish_target(builder.labels(), discovered.clone(), settings) {
            Ok(Some(target)) => out.active.push(target),
            Ok(None) => out.dropped.push(discovered),
            Err(reason) => out.invalid.push((discovered, reason)),
        }
    }
    out
}

fn finish_target(
    relabeled: Labels,
    discovered: Labels,
    settings: &Arc<ScrapeSettings>,
) -> Result<Option<Target>, String> {
    let Some(address) = relabeled.get(ADDRESS_LABEL).filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if address.contains('/') {
        return Err(format!("{address:?} is not a valid hostname"));
    }
    let scheme = relabeled.get(SCHEME_LABEL).unwrap_or("http");
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid scheme {scheme:?}"));
    }
    let interval = parse_label_duration(relabeled.get(SCRAPE_INTERVAL_LABEL), settings.interval)
        .map_err(|e| format!("error parsing scrape interval: {e}"))?;
    let timeout = parse_label_duration(relabeled.get(SCRAPE_TIMEOUT_LABEL), settings.timeout)
        .map_err(|e| format!("error parsing scrape timeout: {e}"))?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({} > {})",
            format_duration(timeout),
            format_duration(interval)
        ));
    }
    let path = relabeled.get(METRICS_PATH_LABEL).unwrap_or("/metrics");
    let mut url = format!("{scheme}://{address}{path}");
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, values) in &settings.params {
        let label = format!("{PARAM_PREFIX}{name}");
        match relabeled.get(&label) {
            Some(v) => {
                query.push((name.clone(), v.to_string()));
                query.extend(values.iter().skip(1).map(|extra| (name.clone(), extra.clone())));
            }
            None => query.extend(values.iter().map(|v| (name.clone(), v.clone()))),
        }
    }
    for label in relabeled.iter() {
        if let Some(name) = label.name.strip_prefix(PARAM_PREFIX)
            && !settings.params.contains_key(name)
        {
            query.push((name.to_string(), label.value.to_string()));
        }
    }
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        let encoded: Vec<String> = query
            .iter()
            .map(|(n, v)| format!("{}={}", url_encode(n), url_encode(v)))
            .collect();
        url.push_str(&encoded.join("&"));
    }
    let mut builder = LabelsBuilder::new(&relabeled);
    for label in relabeled.iter() {
        if label.name.starts_with("__") {
            builder.del(label.name);
        }
    }
    if relabeled.get("instance").is_none() {
        builder.set("instance", address);
    }
    Ok(Some(Target {
        labels: builder.labels(),
        discovered,
        url,
        interval,
        timeout,
        settings: settings.clone(),
    }))
}

fn parse_label_duration(value: Option<&str>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(text) => crate::duration::parse_duration(text),
    }
}

/// Formats a duration the way Prometheus prints one: `1m30s`, `15s`, `500ms`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    crate::duration::format_duration_ms(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relabel::{RelabelConfig, RelabelSpec};

    fn settings() -> Arc<ScrapeSettings> {
        let mut s = ScrapeSettings::new("node");
        s.interval = Duration::from_secs(15);
        s.timeout = Duration::from_secs(5);
        Arc::new(s)
    }

    #[test]
    fn static_target_gets_job_and_instance() {
        let group = TargetGroup::from_addresses("static/0", ["localhost:9100"], vec![("env".into(), "prod".into())]);
        let built = build_targets(&group, &settings());
        assert_eq!(built.active.len(), 1);
        let target = &built.active[0];
        assert_eq!(
            target.labels.to_string(),
            r#"{env="prod", instance="localhost:9100", job="node"}"#
        );
        assert_eq!(target.url, "http://localhost:9100/metrics");
        assert_eq!(target.interval, Duration::from_secs(15));
        assert_eq!(target.discovered.get(SCRAPE_INTERVAL_LABEL), Some("15s"));
        assert_eq!(target.discovered.get(ADDRESS_LABEL), Some("localhost:9100"));
    }

    #[test]
    fn relabeling_sets_url_parts_and_params() {
        let mut s = ScrapeSettings::new("probe");
        s.params.insert("module".into(), vec!["http_2xx".into()]);
        s.relabel_configs = vec![
            RelabelConfig::new(RelabelSpec {
                source_labels: vec![ADDRESS_LABEL.into()],
                target_label: Some("__param_target".into()),
                ..Default::default()
            })
            .expect("valid"),
            RelabelConfig::new(RelabelSpec {
                target_label: Some(ADDRESS_LABEL.into()),
                replacement: Some("127.0.0.1:9115".into()),
                ..Default::default()
            })
            .expect("valid"),
            RelabelConfig::new(RelabelSpec {
                target_label: Some(METRICS_PATH_LABEL.into()),
                replacement: Some("/probe".into()),
                ..Default::default()
            })
            .expect("valid"),
        ];
        let group = TargetGroup::from_addresses("static/0", ["https://example.org"], vec![]);
        // An address with a slash is only valid because relabeling replaces it.
        let built = build_targets(&group, &Arc::new(s));
        assert!(built.invalid.is_empty(), "{:?}", built.invalid);
        let target = &built.active[0];
        assert_eq!(
            target.url,
            "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.org"
        );
        assert_eq!(target.labels.get("instance"), Some("127.0.0.1:9115"));
    }

    #[test]
    fn dropped_and_invalid_targets() {
        let mut s = ScrapeSettings::new("node");
        s.relabel_configs = vec![
            RelabelConfig::new(RelabelSpec {
                source_labels: vec!["env".into()],
                regex: Some("dev".into()),
                action: Some("drop".into()),
                ..Default::default()
            })
            .expect("valid"),
        ];
        let s = Arc::new(s);
        let dev = TargetGroup::from_addresses("a", ["a:1"], vec![("env".into(), "dev".into())]);
        let built = build_targets(&dev, &s);
        assert_eq!((built.active.len(), built.dropped.len()), (0, 1));
        let bad = TargetGroup::from_addresses("b", ["a:1/x"], vec![]);
        let built = build_targets(&bad, &s);
        assert_eq!(built.invalid.len(), 1);
        assert!(built.invalid[0].1.contains("not a valid hostname"));
        let mut timeout = TargetGroup::from_addresses("c", ["a:1"], vec![]);
        timeout.labels.push((SCRAPE_TIMEOUT_LABEL.into(), "2m".into()));
        let built = build_targets(&timeout, &s);
        assert!(
            built.invalid[0].1.contains("greater than scrape interval"),
            "{:?}",
            built.invalid
        );
    }

    #[test]
    fn instance_label_kept_when_set() {
        let group = TargetGroup::from_addresses("s", ["h:1"], vec![("instance".into(), "mine".into())]);
        let built = build_targets(&group, &settings());
        assert_eq!(built.active[0].labels.get("instance"), Some("mine"));
    }
}
