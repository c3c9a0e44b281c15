//! Applying the configuration file at start-up and again on SIGHUP or `POST /-/reload`.

use std::path::PathBuf;
use std::sync::Arc;

use scraper::ScrapeManager;

use crate::config::{self, Config};

/// Re-reads and applies the configuration; one reload at a time.
pub struct Reloader {
    /// The file given with `--config`; without one the embedded default is used.
    path: Option<PathBuf>,
    /// Loupe's own address, scraped by the embedded default.
    address: String,
    manager: Arc<ScrapeManager>,
    current: tokio::sync::Mutex<Config>,
}

impl Reloader {
    /// A reloader for the given file (or the embedded default) and the configuration in force.
    pub fn new(path: Option<PathBuf>, address: String, manager: Arc<ScrapeManager>, current: Config) -> Self {
        Reloader {
            path,
            address,
            manager,
            current: tokio::sync::Mutex::new(current),
        }
    }

    /// Reads the configuration (the file, or the embedded default).
    pub fn read(&self) -> anyhow::Result<Config> {
        match &self.path {
            Some(path) => Config::load(path),
            None => Config::parse(&config::embedded(&self.address)),
        }
    }

    /// Applies the scrape jobs of `config` and keeps it as the configuration in force.
    pub async fn apply(&self, config: Config) -> anyhow::Result<()> {
        let mut current = self.current.lock().await;
        let jobs = config.jobs()?;
        self.manager.apply(jobs).await?;
        if format!("{:?}", current.storage) != format!("{:?}", config.storage) {
            tracing::warn!("storage settings changed: they take effect at the next restart");
        }
        *current = config;
        Ok(())
    }

    /// Re-reads the configuration and applies it. On any error the running configuration stays.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let path = self.path.clone();
        let address = self.address.clone();
        let config = tokio::task::spawn_blocking(move || match &path {
            Some(path) => Config::load(path),
            None => Config::parse(&config::embedded(&address)),
        })
        .await??;
        match self.apply(config).await {
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
