//! `loupe serve`: open the store, serve HTTP, run maintenance, shut down cleanly on a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tsdb::db::Db;
use tsdb::wal::SyncPolicy;

use crate::api::{self, AppState};
use crate::config::{self, Config};
use crate::metrics::Metrics;
use crate::reload::Reloader;

/// Flags of `loupe serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (YAML). Without it Loupe runs on its embedded defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory.
    #[arg(long, default_value = "loupe-data")]
    data_dir: PathBuf,
    /// Address of the HTTP server.
    #[arg(long, default_value = "127.0.0.1:9700")]
    listen: SocketAddr,
    /// How often the head is cut into blocks, blocks compacted and retention applied.
    #[arg(long, default_value = "1m", value_parser = parse_duration_arg)]
    maintenance_interval: Duration,
    /// Largest accepted request body (after decompression).
    #[arg(long, default_value = "64MiB", value_parser = parse_bytes_arg)]
    max_body_size: u64,
    /// The URL under which Loupe is reached (links in alerts); default `http://<listen address>`.
    #[arg(long)]
    external_url: Option<String>,
    /// How often a firing alert is re-sent to Alertmanager.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m", value_parser = parse_duration_arg)]
    resend_delay: Duration,
    /// Minimum time between a restart and a restored alert firing (alerts whose `for` is shorter are not restored).
    #[arg(long = "rules.alert.for-grace-period", default_value = "10m", value_parser = parse_duration_arg)]
    for_grace_period: Duration,
    /// How long Loupe may have been down for an alert's `for` state to be restored.
    #[arg(long = "rules.alert.for-outage-tolerance", default_value = "1h", value_parser = parse_duration_arg)]
    outage_tolerance: Duration,
    /// Enables `/api/v1/admin/tsdb/delete_series` and `/clean_tombstones`.
    #[arg(long = "web.enable-admin-api")]
    enable_admin_api: bool,
}

/// The HTTP client alerts are sent with (system roots, Loupe's user agent).
fn notifier_client() -> anyhow::Result<reqwest::Client> {
    scraper::client::build_client(&scraper::client::HttpSettings::default())
        .map_err(|e| anyhow::anyhow!("building the alert notifier's HTTP client: {e}"))
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    config::parse_duration(text).map_err(|e| format!("{e:#}"))
}

fn parse_bytes_arg(text: &str) -> Result<u64, String> {
    config::parse_bytes(text).map_err(|e| format!("{e:#}"))
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let options = config.db_options()?;
    config.storage.logs.options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(args, options))
}

async fn serve(args: ServeArgs, options: tsdb::db::DbOptions) -> anyhow::Result<()> {
    let config_path = args.config.clone();
    // Bind first so a port clash fails fast, before a long WAL replay.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "listening");
    let data_dir = args.data_dir.clone();
    let sync_policy = options.wal.sync;
    let db = tokio::task::spawn_blocking(move || Db::open(&data_dir, options))
        .await?
        .with_context(|| format!("opening data directory {}", args.data_dir.display()))?;
    let db = Arc::new(db);
    let logs_dir = args.data_dir.join("logs");
    let scrape = scraper::ScrapeManager::new(db.clone());
    let external_url = args
        .external_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"))
        .trim_end_matches('/')
        .to_string();
    let reloader = Arc::new(Reloader::new(
        config_path,
        local.to_string(),
        scrape.clone(),
        Config::default(),
        external_url.clone(),
    ));
    let (initial, text) = reloader.read()?;
    let log_options = initial.storage.logs.options()?;
    let push_limits = initial.limits_config.push_limits()?;
    let query_limits = initial.limits_config.query_limits()?;
    let collector_config = initial.log_sources.collector()?;
    let log_store = tokio::task::spawn_blocking(move || logs::LogStore::open(&logs_dir, log_options))
        .await?
        .with_context(|| format!("opening the log store in {}", args.data_dir.join("logs").display()))?;
    let log_store = Arc::new(log_store);
    let log_threads = LogThreads::start(log_store.clone(), collector_config)?;
    let notifier = crate::rules::notify::Notifier::new(initial.alerting.notifier(&external_url)?, notifier_client()?);
    let rules = crate::rules::RuleManager::new(crate::rules::group::EvalContext {
        db: db.clone(),
        logs: log_store.clone(),
        promql: query::promql::eval::Engine::new(Default::default()),
        logql: query_limits.engine.clone(),
        notifier: notifier.clone(),
        external_labels: Vec::new(),
        external_url: external_url.clone(),
        resend_delay: args.resend_delay,
        for_grace_period: args.for_grace_period,
        outage_tolerance: args.outage_tolerance,
    });
    reloader.set_rules(rules.clone());
    let (stop_notifier, notifier_stop) = tokio::sync::watch::channel(false);
    let notifier_task = tokio::spawn(notifier.clone().run(notifier_stop));
    reloader
        .apply(initial, text)
        .await
        .context("starting the scrape jobs")?;
    let config_source = reloader.clone();
    let query_state = Arc::new(api::query::QueryState {
        db: db.clone(),
        engine: query::promql::eval::Engine::new(Default::default()),
        config_yaml: Arc::new(move || config_source.text()),
        flags: vec![
            (
                "config.file".into(),
                args.config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("storage.tsdb.path".into(), args.data_dir.display().to_string()),
            ("web.listen-address".into(), local.to_string()),
            ("web.enable-admin-api".into(), args.enable_admin_api.to_string()),
        ],
        start_time: std::time::SystemTime::now(),
        admin_api: args.enable_admin_api,
    });
    let loki_state = Arc::new(api::loki::LokiState::new(
        log_store.clone(),
        push_limits,
        query_limits,
        log_threads.status.clone(),
    ));
    let state = Arc::new(AppState {
        db: db.clone(),
        metrics: Metrics::new(db.clone(), loki_state.clone(), rules.clone()),
        ready: AtomicBool::new(true),
        max_body_bytes: usize::try_from(args.max_body_size).unwrap_or(usize::MAX),
        scrape: scrape.clone(),
        reloader: reloader.clone(),
    });
    let hangups = tokio::spawn(reload_on_sighup(reloader.clone()));
    let stop = stop_channel();
    let maintenance = tokio::spawn(maintenance_loop(db.clone(), args.maintenance_interval, stop.clone()));
    let syncer = match sync_policy {
        SyncPolicy::Interval(every) => Some(tokio::spawn(sync_loop(db.clone(), every, stop.clone()))),
        _ => None,
    };
    let shutdown_state = state.clone();
    let ui_state = Arc::new(api::ui::UiState {
        dashboards: crate::dashboards::Dashboards::new(args.data_dir.join("dashboards")),
        logs: log_store.clone(),
    });
    axum::serve(
        listener,
        api::router(state, query_state, loki_state, ui_state, rules.clone()),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        shutdown_state.ready.store(false, Ordering::Release);
        tracing::info!("shutting down");
    })
    .await
    .context("http server")?;
    hangups.abort();
    rules.stop();
    let _ = stop_notifier.send(true);
    let _ = notifier_task.await;
    scrape.stop().await;
    stop.send_replace(true);
    let _ = maintenance.await;
    if let Some(syncer) = syncer {
        let _ = syncer.await;
    }
    tokio::task::spawn_blocking(move || log_threads.stop()).await?;
    tokio::task::spawn_blocking(move || db.close()).await??;
    tracing::info!("stopped");
    Ok(())
}

/// The log store's committer thread and the container log collector's thread.
struct LogThreads {
    stop_collector: Arc<AtomicBool>,
    collector: Option<std::thread::JoinHandle<()>>,
    stop_committer: Arc<AtomicBool>,
    committer: std::thread::JoinHandle<()>,
    status: Option<api::loki::SourcesStatus>,
}

impl LogThreads {
    fn start(
        store: Arc<logs::LogStore>,
        collector: Option<scraper::logs::collector::CollectorConfig>,
    ) -> anyhow::Result<LogThreads> {
        let stop_committer = Arc::new(AtomicBool::new(false));
        let committer = {
            let (store, stop) = (store.clone(), stop_committer.clone());
            std::thread::Builder::new()
                .name("log-commit".into())
                .spawn(move || store.run_committer(&stop))
                .context("starting the log committer")?
        };
        let stop_collector = Arc::new(AtomicBool::new(false));
        let mut status = None;
        let collector = match collector {
            Some(config) => {
                tracing::info!(docker = ?config.docker_root, cri = ?config.cri_root, "collecting container logs");
                let stop = stop_collector.clone();
                let mut collector = scraper::logs::collector::Collector::new(config, store);
                status = Some(collector.status());
                Some(
                    std::thread::Builder::new()
                        .name("log-collector".into())
                        .spawn(move || collector.run(&stop))
                        .context("starting the log collector")?,
                )
            }
            None => None,
        };
        Ok(LogThreads {
            stop_collector,
            collector,
            stop_committer,
            committer,
            status,
        })
    }

    /// Stops the collector, then commits and closes the store.
    fn stop(self) {
        self.stop_collector.store(true, Ordering::Relaxed);
        if let Some(collector) = self.collector {
            let _ = collector.join();
        }
        self.stop_committer.store(true, Ordering::Relaxed);
        self.committer.thread().unpark();
        let _ = self.committer.join();
    }
}

type Stop = tokio::sync::watch::Sender<bool>;

fn stop_channel() -> Stop {
    tokio::sync::watch::Sender::new(false)
}

async fn maintenance_loop(db: Arc<Db>, every: Duration, stop: Stop) {
    let mut stopped = stop.subscribe();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.maintain()).await {
            Ok(Ok(report)) if report != Default::default() => {
                tracing::info!(
                    cut = report.blocks_cut,
                    compactions = report.compactions,
                    deleted = report.blocks_deleted,
                    "maintenance done"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(%error, "maintenance failed"),
            Err(error) => tracing::error!(%error, "maintenance task failed"),
        }
    }
}

async fn sync_loop(db: Arc<Db>, every: Duration, stop: Stop) {
    let mut stopped = stop.subscribe();
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let db = db.clone();
        if let Ok(Err(error)) = tokio::task::spawn_blocking(move || db.sync_wal()).await {
            tracing::error!(%error, "wal fsync failed");
        }
    }
}

async fn reload_on_sighup(reloader: Arc<Reloader>) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGHUP");
            return;
        }
    };
    while hangup.recv().await.is_some() {
        tracing::info!("SIGHUP received, reloading configuration");
        // Errors are logged by the reloader; the old configuration keeps running.
        let _ = reloader.reload().await;
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
