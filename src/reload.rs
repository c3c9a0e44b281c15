//! Applying the configuration file at start-up and again on SIGHUP or `POST /-/reload`.

use std::path::PathBuf;
use std::sync::Arc;

use scraper::ScrapeManager;

use crate::config::{self, Config};
use crate::rules::RuleManager;

/// Re-reads and applies the configuration; one reload at a time.
pub struct Reloader {
    /// The file given with `--config`; without one the embedded default is used.
    path: Option<PathBuf>,
    /// Loupe's own address, scraped by the embedded default.
    address: String,
    manager: Arc<ScrapeManager>,
    current: tokio::sync::Mutex<Config>,
    /// The YAML text of the configuration in force (for `/api/v1/status/config`).
    text: std::sync::Mutex<String>,
    /// The rule manager, once the stores are open.
    rules: std::sync::OnceLock<Arc<RuleManager>>,
    /// The URL alerts link back to.
    external_url: String,
}

impl Reloader {
    /// A reloader for the given file (or the embedded default) and the configuration in force.
    pub fn new(
        path: Option<PathBuf>,
        address: String,
        manager: Arc<ScrapeManager>,
        current: Config,
        external_url: String,
    ) -> Self {
        Reloader {
            path,
            address,
            manager,
            current: tokio::sync::Mutex::new(current),
            text: std::sync::Mutex::new(String::new()),
            rules: std::sync::OnceLock::new(),
            external_url,
        }
    }

    /// Hands over the rule manager: from now on `apply` also loads rule files and alerting targets.
    pub fn set_rules(&self, rules: Arc<RuleManager>) {
        let _ = self.rules.set(rules);
    }

    /// Reads the configuration (the file, or the embedded default) and its text.
    pub fn read(&self) -> anyhow::Result<(Config, String)> {
        read(self.path.as_deref(), &self.address)
    }

    /// The YAML text of the configuration in force.
    pub fn text(&self) -> String {
        self.text.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Applies the scrape jobs, rule files and alerting targets of `config` and keeps it (and
    /// `text`) as the configuration in force. Everything is validated before anything changes.
    pub async fn apply(&self, config: Config, text: String) -> anyhow::Result<()> {
        let mut current = self.current.lock().await;
        let jobs = config.jobs()?;
        let rules = match self.rules.get() {
            Some(manager) => {
                let files = config::rule_file_paths(&config.rule_files, self.path.as_deref())?;
                let defaults = config::rule_defaults(&config.global)?;
                let groups = tokio::task::spawn_blocking(move || crate::rules::file::load_files(&files, defaults))
                    .await?
                    .map_err(|failures| {
                        let lines: Vec<String> = failures.iter().flat_map(|f| f.errors.iter().cloned()).collect();
                        anyhow::anyhow!("invalid rule files: {}", lines.join("; "))
                    })?;
                let notifier = config.alerting.notifier(&self.external_url)?;
                Some((manager.clone(), groups, notifier))
            }
            None => None,
        };
        self.manager.apply(jobs).await?;
        if let Some((manager, groups, notifier)) = rules {
            let external: Vec<(String, String)> = config
                .global
                .external_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            manager.notifier().apply(notifier);
            manager.apply(groups, external, self.external_url.clone()).await;
        }
        if format!("{:?}", current.storage) != format!("{:?}", config.storage) {
            tracing::warn!("storage settings changed: they take effect at the next restart");
        }
        *current = config;
        if let Ok(mut in_force) = self.text.lock() {
            *in_force = text;
        }
        Ok(())
    }

    /// Re-reads the configuration and applies it. On any error the running configuration stays.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let path = self.path.clone();
        let address = self.address.clone();
        let (config, text) = tokio::task::spawn_blocking(move || read(path.as_deref(), &address)).await??;
        match self.apply(config, text).await {
            Ok(()) => {
                tracing::info!("configuration reloaded");
                Ok(())
            }
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "reloading configuration failed");
                Err(error)
            }
        }
    }
}

fn read(path: Option<&std::path::Path>, address: &str) -> anyhow::Result<(Config, String)> {
    use anyhow::Context;
    match path {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
            let config = Config::parse(&text).with_context(|| format!("invalid config file {}", path.display()))?;
            Ok((config, text))
        }
        None => {
            let text = config::embedded(address);
            Ok((Config::parse(&text)?, text))
        }
    }
}
