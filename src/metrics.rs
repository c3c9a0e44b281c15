//! Loupe's own metrics, exposed at `/metrics` in the Prometheus text format.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tsdb::db::Db;

/// Labels of the HTTP request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct HandlerLabels {
    /// The route, e.g. `/api/v1/import/prometheus`.
    pub handler: String,
    /// The HTTP status code.
    pub code: String,
}

/// Request metrics updated by the HTTP layer.
#[derive(Clone)]
pub struct HttpMetrics {
    /// Requests served, by handler and code.
    pub requests: Family<HandlerLabels, Counter>,
    /// Request duration in seconds, by handler.
    pub duration: Family<Vec<(String, String)>, Histogram>,
}

/// The registry and the metrics the server updates.
pub struct Metrics {
    /// What `/metrics` encodes.
    pub registry: Registry,
    /// HTTP request metrics.
    pub http: HttpMetrics,
}

/// Reads TSDB figures at scrape time.
struct TsdbCollector {
    db: Arc<Db>,
}

impl std::fmt::Debug for TsdbCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TsdbCollector")
    }
}

impl Collector for TsdbCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.db.stats();
        let seconds = |t: Option<i64>| t.map_or(0.0, |t| t as f64 / 1000.0);
        let float_gauges: [(&str, &str, f64); 2] = [
            (
                "loupe_tsdb_head_min_time_seconds",
                "Oldest sample time in the head.",
                seconds(stats.head.min_time),
            ),
            (
                "loupe_tsdb_head_max_time_seconds",
                "Newest sample time in the head.",
                seconds(stats.head.max_time),
            ),
        ];
        for (name, help, value) in float_gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let int_gauges: [(&str, &str, usize); 7] = [
            ("loupe_tsdb_head_series", "Series in the head.", stats.head.num_series),
            (
                "loupe_tsdb_head_memory_bytes",
                "Approximate heap bytes of the head.",
                self.db.head().memory_bytes(),
            ),
            ("loupe_tsdb_blocks_loaded", "Blocks on disk.", stats.blocks),
            (
                "loupe_tsdb_blocks_bytes",
                "Bytes of all blocks.",
                stats.blocks_bytes as usize,
            ),
            (
                "loupe_tsdb_block_samples",
                "Samples in blocks.",
                stats.block_samples as usize,
            ),
            (
                "loupe_tsdb_wal_bytes",
                "Bytes of the write-ahead log.",
                stats.wal_bytes as usize,
            ),
            (
                "loupe_tsdb_head_chunks_bytes",
                "Bytes of full head chunks on disk.",
                stats.head_chunk_bytes as usize,
            ),
        ];
        for (name, help, value) in int_gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let counters: [(&str, &str, u64); 4] = [
            (
                "loupe_tsdb_head_samples_appended",
                "Samples appended to the head.",
                stats.head.samples_appended,
            ),
            (
                "loupe_tsdb_blocks_cut",
                "Blocks written from the head.",
                stats.blocks_cut_total,
            ),
            ("loupe_tsdb_compactions", "Compactions run.", stats.compactions_total),
            (
                "loupe_tsdb_retention_deletions",
                "Blocks deleted by retention.",
                stats.retention_deletions_total,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        Ok(())
    }
}

/// Reads log-store figures and push counters at scrape time.
struct LogsCollector {
    loki: Arc<crate::api::loki::LokiState>,
}

impl std::fmt::Debug for LogsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogsCollector")
    }
}

impl Collector for LogsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let stats = self.loki.store.stats();
        let gauges: [(&str, &str, u64); 6] = [
            (
                "loupe_logs_windows",
                "Log windows (indexes) on disk.",
                stats.windows as u64,
            ),
            ("loupe_logs_streams", "Distinct log streams.", stats.streams as u64),
            (
                "loupe_logs_entries",
                "Log entries stored (including those not yet committed).",
                stats.entries,
            ),
            (
                "loupe_logs_uncommitted_entries",
                "Log entries stored but not yet committed (not yet searchable).",
                stats.uncommitted,
            ),
            (
                "loupe_logs_line_bytes",
                "Bytes of the stored log lines.",
                stats.line_bytes,
            ),
            (
                "loupe_logs_disk_bytes",
                "Bytes of the log store on disk (indexes and WAL).",
                stats.disk_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let counters = &self.loki.counters;
        let totals: [(&str, &str, u64); 3] = [
            (
                "loupe_logs_push_entries",
                "Entries accepted by the push API.",
                counters.entries.load(Relaxed),
            ),
            (
                "loupe_logs_push_bytes",
                "Line bytes accepted by the push API.",
                counters.bytes.load(Relaxed),
            ),
            (
                "loupe_logs_push_rejected",
                "Entries refused by the push API.",
                counters.rejected.load(Relaxed),
            ),
        ];
        for (name, help, value) in totals {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Builds the registry around `db`, the log store behind `loki` and the rule manager.
    pub fn new(db: Arc<Db>, loki: Arc<crate::api::loki::LokiState>, rules: Arc<crate::rules::RuleManager>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<HandlerLabels, Counter>::default();
        registry.register("loupe_http_requests", "HTTP requests served", requests.clone());
        let duration = Family::<Vec<(String, String)>, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 4.0, 9))
        });
        registry.register(
            "loupe_http_request_duration_seconds",
            "HTTP request latency",
            duration.clone(),
        );
        registry.register_collector(Box::new(TsdbCollector { db }));
        registry.register_collector(Box::new(LogsCollector { loki }));
        registry.register_collector(Box::new(crate::rules::metrics::RulesCollector { rules }));
        let build = Family::<Vec<(String, String)>, prometheus_client::metrics::gauge::Gauge>::default();
        build
            .get_or_create(&vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())])
            .set(1);
        registry.register("loupe_build_info", "Build information", build);
        Metrics {
            registry,
            http: HttpMetrics { requests, duration },
        }
    }

    /// Encodes everything in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
