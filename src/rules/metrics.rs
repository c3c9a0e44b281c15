//! Rule evaluation and notification figures for `/metrics`: evaluations and failures per group,
//! the last evaluation's duration, and per-target notification counters.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::RuleManager;

/// Reads the rule manager's counters at scrape time.
pub struct RulesCollector {
    /// The manager.
    pub rules: Arc<RuleManager>,
}

impl std::fmt::Debug for RulesCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RulesCollector")
    }
}

type LabelSet = Vec<(String, String)>;

fn counters(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(LabelSet, u64)],
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauges(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(LabelSet, f64)],
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in rows {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for RulesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut evaluations = Vec::new();
        let mut failures = Vec::new();
        let mut durations = Vec::new();
        let mut rule_counts = Vec::new();
        for group in self.rules.groups() {
            let labels = vec![("rule_group".to_string(), group.key())];
            let evals: u64 = group.rules.iter().map(|r| r.evaluations.load(Relaxed)).sum();
            let failed: u64 = group.rules.iter().map(|r| r.failures.load(Relaxed)).sum();
            evaluations.push((labels.clone(), evals));
            failures.push((labels.clone(), failed));
            durations.push((labels.clone(), group.last.lock().1.as_secs_f64()));
            rule_counts.push((labels, group.rules.len() as f64));
        }
        counters(
            &mut encoder,
            "loupe_rule_evaluations",
            "Rule evaluations.",
            &evaluations,
        )?;
        counters(
            &mut encoder,
            "loupe_rule_evaluation_failures",
            "Failed rule evaluations.",
            &failures,
        )?;
        gauges(
            &mut encoder,
            "loupe_rule_group_last_duration_seconds",
            "Duration of the last evaluation of a rule group.",
            &durations,
        )?;
        gauges(
            &mut encoder,
            "loupe_rule_group_rules",
            "Rules in a group.",
            &rule_counts,
        )?;
        let stats = self.rules.notifier().stats();
        let per_target = |f: &dyn Fn(&super::notify::TargetStats) -> u64| -> Vec<(LabelSet, u64)> {
            stats
                .targets
                .iter()
                .map(|t| {
                    (
                        vec![
                            ("target".to_string(), t.url.clone()),
                            ("kind".to_string(), t.kind.to_string()),
                        ],
                        f(t),
                    )
                })
                .collect()
        };
        counters(
            &mut encoder,
            "loupe_notifications_sent",
            "Alerts delivered.",
            &per_target(&|t| t.sent),
        )?;
        counters(
            &mut encoder,
            "loupe_notifications_failed",
            "Alerts given up on.",
            &per_target(&|t| t.failed),
        )?;
        counters(
            &mut encoder,
            "loupe_notification_errors",
            "Failed notification requests, retries included.",
            &per_target(&|t| t.errors),
        )?;
        counters(
            &mut encoder,
            "loupe_notifications_dropped",
            "Alerts dropped because the queue was full.",
            &[(Vec::new(), stats.dropped)],
        )?;
        gauges(
            &mut encoder,
            "loupe_notifications_queue_length",
            "Alerts waiting to be sent.",
            &[(Vec::new(), stats.queue_len as f64)],
        )?;
        Ok(())
    }
}
