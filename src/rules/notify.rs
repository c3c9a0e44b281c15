//! Delivery of alerts: to Alertmanagers through their API v2 (`POST /api/v2/alerts`, the body Prometheus
//! sends) and to plain webhooks with Alertmanager's webhook payload (version 4), for users without an
//! Alertmanager.
//!
//! [`Notifier::send`] only queues (bounded: the oldest alerts are dropped, and counted, when it is full);
//! [`Notifier::run`] drains the queue. Every batch of at most `max_batch` alerts goes to every Alertmanager
//! concurrently, once: like Prometheus, a failed batch is not retried, the rule manager's next resend covers
//! it. Webhook deliveries group the drained alerts by `alertname` (one POST per group) and run as their own
//! tasks (at most [`WEBHOOK_CONCURRENCY`] requests at once) retrying network errors, 5xx and 429 with
//! exponential backoff, so a slow webhook never delays the Alertmanagers or the other webhooks.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

/// Queue capacity used when [`NotifierConfig::queue_capacity`] is 0 (Prometheus's default).
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
/// Batch size used when [`NotifierConfig::max_batch`] is 0 (Prometheus's `maxBatchSize`).
pub const DEFAULT_MAX_BATCH: usize = 256;
/// Request timeout used when a target's timeout is zero (Prometheus's default for Alertmanagers).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per webhook delivery when [`WebhookTarget::max_attempts`] is 0.
pub const DEFAULT_WEBHOOK_ATTEMPTS: u32 = 5;
/// Receiver name put in webhook payloads when [`WebhookTarget::receiver`] is empty.
pub const DEFAULT_RECEIVER: &str = "loupe";
/// Webhook requests in flight at once, over all webhooks.
pub const WEBHOOK_CONCURRENCY: usize = 8;

/// Webhook deliveries (retrying or waiting for a slot) kept at once; more are dropped and counted as errors.
const MAX_PENDING_WEBHOOK_DELIVERIES: usize = 256;
/// Upper bound on a webhook's `max_attempts`, whatever the configuration says.
const MAX_WEBHOOK_ATTEMPTS: u32 = 20;
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Bytes of a response body read at most (the rest is never read).
const RESPONSE_BODY_CAP: usize = 4096;
/// Characters of a response body or error kept in the last error text.
const ERROR_TEXT_CAP: usize = 256;
/// Go's zero `time.Time`, which Alertmanager's webhook payload carries as `endsAt` of firing alerts.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The stop signal of [`Notifier::run`].
type Stop = watch::Receiver<bool>;

/// One alert as sent to Alertmanager (its API v2 `postableAlert`).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Labels sorted by name, including `alertname` and the external labels.
    pub labels: Vec<(String, String)>,
    /// Annotations (already expanded).
    pub annotations: Vec<(String, String)>,
    /// When the alert started firing.
    pub starts_at: SystemTime,
    /// When the alert resolved, or for a firing alert when Alertmanager should consider it resolved unless
    /// it is sent again.
    pub ends_at: Option<SystemTime>,
    /// Link back to the expression that produced the alert.
    pub generator_url: String,
}

/// Where alerts go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotifierConfig {
    /// Alertmanagers, each receiving every batch.
    pub alertmanagers: Vec<AlertmanagerTarget>,
    /// Webhooks receiving Alertmanager's webhook payload.
    pub webhooks: Vec<WebhookTarget>,
    /// Loupe's external URL (`externalURL` of webhook payloads).
    pub external_url: String,
    /// Alerts queued at most; 0 means [`DEFAULT_QUEUE_CAPACITY`]. The oldest are dropped when full.
    pub queue_capacity: usize,
    /// Alerts per request at most; 0 means [`DEFAULT_MAX_BATCH`].
    pub max_batch: usize,
}

/// One Alertmanager. Its default (empty URL, zero timeout) has the documented defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertmanagerTarget {
    /// Base URL including any path prefix, without `/api/v2/alerts` (e.g. `http://127.0.0.1:9093`).
    pub url: String,
    /// Timeout of one request; zero means [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// HTTP basic authentication (user, password).
    pub basic_auth: Option<(String, String)>,
    /// Bearer token sent as `Authorization: Bearer …`.
    pub bearer_token: Option<String>,
}

/// One webhook. Its default (empty URL, zero values) has the documented defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookTarget {
    /// Full URL the payload is POSTed to.
    pub url: String,
    /// Timeout of one attempt; zero means [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// Attempts per delivery; 0 means [`DEFAULT_WEBHOOK_ATTEMPTS`] (capped at 20).
    pub max_attempts: u32,
    /// Receiver name put in the payload; empty means [`DEFAULT_RECEIVER`].
    pub receiver: String,
}

/// Counters of the notifier, for `/metrics` and the status page.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierStats {
    /// One entry per configured target, Alertmanagers first, in configuration order.
    pub targets: Vec<TargetStats>,
    /// Alerts dropped because the queue was full.
    pub dropped: u64,
    /// Alerts waiting in the queue.
    pub queue_len: usize,
    /// Capacity of the queue.
    pub queue_capacity: usize,
}

/// Counters of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStats {
    /// The configured URL.
    pub url: String,
    /// `"alertmanager"` or `"webhook"`.
    pub kind: &'static str,
    /// Alerts delivered (acknowledged with a 2xx).
    pub sent: u64,
    /// Alerts given up on (a failed Alertmanager batch, or a webhook delivery out of attempts).
    pub failed: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Failed requests (network errors and non-2xx statuses), retries included.
    pub errors: u64,
    /// Text of the last error.
    pub last_error: Option<String>,
    /// Time of the last successful request.
    pub last_success: Option<SystemTime>,
}

/// Queues alerts and delivers them to Alertmanagers and webhooks.
pub struct Notifier {
    client: reqwest::Client,
    targets: RwLock<Arc<Targets>>,
    queue: Mutex<Queue>,
    dropped: AtomicU64,
    wake: Notify,
    webhook_slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("queue_len", &self.queue.lock().alerts.len())
            .finish_non_exhaustive()
    }
}

/// [`TargetStats::kind`] of Alertmanagers.
const ALERTMANAGER: &str = "alertmanager";
/// [`TargetStats::kind`] of webhooks.
const WEBHOOK: &str = "webhook";

/// Counters of one target, shared with its delivery tasks and kept across reloads.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    last: Mutex<(Option<String>, Option<SystemTime>)>,
}

impl Counters {
    /// Records the outcome of one request carrying `alerts` alerts; `last_try` says whether a failure
    /// gives the alerts up.
    fn record(&self, kind: &'static str, url: &str, result: &Result<(), DeliveryError>, alerts: usize, last_try: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(()) => {
                self.sent.fetch_add(alerts as u64, Ordering::Relaxed);
                self.last.lock().1 = Some(SystemTime::now());
            }
            Err(error) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.give_up(error.to_string(), alerts, last_try);
                match error {
                    DeliveryError::Status { status, body } => {
                        tracing::warn!(url, status, body = %body, kind, "alert delivery rejected")
                    }
                    DeliveryError::Request(error) => {
                        tracing::warn!(url, error = %error, kind, "alert delivery failed")
                    }
                }
            }
        }
    }

    fn give_up(&self, error: String, alerts: usize, counted: bool) {
        if counted {
            self.failed.fetch_add(alerts as u64, Ordering::Relaxed);
        }
        self.last.lock().0 = Some(error);
    }

    fn snapshot(&self, url: &str, kind: &'static str) -> TargetStats {
        let (last_error, last_success) = self.last.lock().clone();
        TargetStats {
            url: url.to_string(),
            kind,
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            last_error,
            last_success,
        }
    }
}

/// The targets of one configuration, with defaults applied.
#[derive(Debug, Default)]
struct Targets {
    alertmanagers: Vec<(Arc<Counters>, AlertmanagerTarget)>,
    webhooks: Vec<(Arc<Counters>, WebhookTarget)>,
    external_url: String,
    max_batch: usize,
}

impl Targets {
    /// Builds the targets of `config`, reusing the counters `previous` has for the same kind and URL.
    fn new(config: NotifierConfig, previous: &Targets) -> Targets {
        let counters = |kind: &'static str, url: &str| -> Arc<Counters> {
            let mut old = previous.counters().filter(|(k, u, _)| *k == kind && *u == url);
            old.next().map(|(_, _, c)| c.clone()).unwrap_or_default()
        };
        let mut alertmanagers = Vec::with_capacity(config.alertmanagers.len());
        for mut target in config.alertmanagers {
            target.timeout = or_default(target.timeout, DEFAULT_TIMEOUT);
            alertmanagers.push((counters(ALERTMANAGER, &target.url), target));
        }
        let mut webhooks = Vec::with_capacity(config.webhooks.len());
        for mut target in config.webhooks {
            target.timeout = or_default(target.timeout, DEFAULT_TIMEOUT);
            target.max_attempts = or_default(target.max_attempts, DEFAULT_WEBHOOK_ATTEMPTS).min(MAX_WEBHOOK_ATTEMPTS);
            target.receiver = or_default(target.receiver, DEFAULT_RECEIVER.to_string());
            webhooks.push((counters(WEBHOOK, &target.url), target));
        }
        let (external_url, max_batch) = (config.external_url, or_default(config.max_batch, DEFAULT_MAX_BATCH));
        Targets {
            alertmanagers,
            webhooks,
            external_url,
            max_batch,
        }
    }

    /// (kind, URL, counters) of every target, Alertmanagers first.
    fn counters(&self) -> impl Iterator<Item = (&'static str, &str, &Arc<Counters>)> {
        let am = self
            .alertmanagers
            .iter()
            .map(|(c, t)| (ALERTMANAGER, t.url.as_str(), c));
        am.chain(self.webhooks.iter().map(|(c, t)| (WEBHOOK, t.url.as_str(), c)))
    }

    /// The longest request timeout of all targets (bounds the final flush).
    fn max_timeout(&self) -> Duration {
        let am = self.alertmanagers.iter().map(|(_, t)| t.timeout);
        let wh = self.webhooks.iter().map(|(_, t)| t.timeout);
        am.chain(wh).max().unwrap_or(DEFAULT_TIMEOUT)
    }
}

/// `value`, or `default` when `value` is zero or empty.
fn or_default<T: Default + PartialEq>(value: T, default: T) -> T {
    if value == T::default() { default } else { value }
}

/// The bounded queue of alerts waiting for delivery.
#[derive(Debug)]
struct Queue {
    alerts: VecDeque<Alert>,
    capacity: usize,
}

impl Queue {
    /// Appends `alerts` (oldest first), dropping the oldest beyond capacity; returns how many were dropped.
    fn push(&mut self, alerts: Vec<Alert>) -> usize {
        let skipped = alerts.len().saturating_sub(self.capacity);
        self.alerts.extend(alerts.into_iter().skip(skipped));
        skipped + self.trim()
    }

    /// Puts undelivered alerts back in front (they are the oldest); returns how many were dropped.
    fn requeue(&mut self, alerts: Vec<Alert>) -> usize {
        for alert in alerts.into_iter().rev() {
            self.alerts.push_front(alert);
        }
        self.trim()
    }

    fn trim(&mut self) -> usize {
        let excess = self.alerts.len().saturating_sub(self.capacity);
        self.alerts.drain(..excess);
        excess
    }
}

impl Notifier {
    /// Creates a notifier delivering through `client`; nothing is delivered until [`Notifier::run`] runs.
    pub fn new(config: NotifierConfig, client: reqwest::Client) -> Arc<Notifier> {
        let capacity = or_default(config.queue_capacity, DEFAULT_QUEUE_CAPACITY);
        Arc::new(Notifier {
            client,
            targets: RwLock::new(Arc::new(Targets::new(config, &Targets::default()))),
            queue: Mutex::new(Queue {
                alerts: VecDeque::new(),
                capacity,
            }),
            dropped: AtomicU64::new(0),
            wake: Notify::new(),
            webhook_slots: Arc::new(Semaphore::new(WEBHOOK_CONCURRENCY)),
        })
    }

    /// Queues alerts for every target (non-blocking; never waits for the network).
    pub fn send(&self, alerts: Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        let dropped = self.queue.lock().push(alerts);
        self.count_dropped(dropped);
        self.wake.notify_one();
    }

    /// Replaces the targets (config reload) keeping the queue and the counters of targets that remain.
    pub fn apply(&self, config: NotifierConfig) {
        let capacity = or_default(config.queue_capacity, DEFAULT_QUEUE_CAPACITY);
        {
            let mut targets = self.targets.write();
            let next = Targets::new(config, &targets);
            *targets = Arc::new(next);
        }
        let dropped = {
            let mut queue = self.queue.lock();
            queue.capacity = capacity;
            queue.trim()
        };
        self.count_dropped(dropped);
    }

    /// Counters for `/metrics` and the status page.
    pub fn stats(&self) -> NotifierStats {
        let targets = self.targets.read().clone();
        let (queue_len, queue_capacity) = {
            let queue = self.queue.lock();
            (queue.alerts.len(), queue.capacity)
        };
        NotifierStats {
            targets: targets.counters().map(|(kind, url, c)| c.snapshot(url, kind)).collect(),
            dropped: self.dropped.load(Ordering::Relaxed),
            queue_len,
            queue_capacity,
        }
    }

    /// Delivery loop; returns when `stop` flips to true (or its sender is dropped), after a last best-effort
    /// flush (single attempts, bounded by the longest target timeout, then as long again for webhook
    /// deliveries still in flight).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut webhook_tasks = JoinSet::new();
        loop {
            if *stop.borrow_and_update() {
                break;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
            }
            self.deliver_queued(&mut webhook_tasks, &stop, false).await;
        }
        let bound = self.targets.read().max_timeout();
        let flush = self.deliver_queued(&mut webhook_tasks, &stop, true);
        if tokio::time::timeout(bound, flush).await.is_err() {
            tracing::warn!("alert notifier: final flush timed out");
        }
        let drain = async { while webhook_tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(bound, drain).await.is_err() {
            tracing::warn!(pending = webhook_tasks.len(), "alert notifier: abandoning webhooks");
        }
        webhook_tasks.abort_all();
    }

    fn count_dropped(&self, dropped: usize) {
        if dropped > 0 {
            self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(dropped, "alert notification queue full, dropped the oldest alerts");
        }
    }

    /// Delivers everything queued: spawns the webhook deliveries, then sends the Alertmanager batches one
    /// after the other. Unless `final_flush`, stops between batches when `stop` flips, requeueing the rest.
    async fn deliver_queued(&self, tasks: &mut JoinSet<()>, stop: &Stop, final_flush: bool) {
        let targets = self.targets.read().clone();
        let alerts = Vec::from(std::mem::take(&mut self.queue.lock().alerts));
        if alerts.is_empty() {
            return;
        }
        if !targets.webhooks.is_empty() {
            self.spawn_webhooks(&targets, &alerts, tasks, stop);
        }
        if targets.alertmanagers.is_empty() {
            return;
        }
        for (i, batch) in alerts.chunks(targets.max_batch).enumerate() {
            if !final_flush && *stop.borrow() {
                let rest = alerts[i * targets.max_batch..].to_vec();
                let dropped = self.queue.lock().requeue(rest);
                self.count_dropped(dropped);
                return;
            }
            self.post_to_alertmanagers(&targets, batch).await;
        }
    }

    /// Sends one batch to every Alertmanager at once and waits for all of them.
    async fn post_to_alertmanagers(&self, targets: &Targets, batch: &[Alert]) {
        let Ok(body) = alertmanager_body(batch) else {
            return tracing::error!("alert notifier: cannot encode alerts");
        };
        let mut requests = JoinSet::new();
        for (counters, target) in &targets.alertmanagers {
            let (client, target, counters, body) =
                (self.client.clone(), target.clone(), counters.clone(), body.clone());
            let alerts = batch.len();
            requests.spawn(async move {
                let url = alertmanager_url(&target.url);
                let result = post_json(&client, &url, body, target.timeout, Some(&target)).await;
                counters.record(ALERTMANAGER, &target.url, &result, alerts, true);
            });
        }
        while requests.join_next().await.is_some() {}
    }

    /// Spawns one delivery per alertname group (split in chunks of `max_batch`) and webhook.
    fn spawn_webhooks(&self, targets: &Targets, alerts: &[Alert], tasks: &mut JoinSet<()>, stop: &Stop) {
        while tasks.try_join_next().is_some() {}
        let now = SystemTime::now();
        let mut groups: BTreeMap<&str, Vec<&Alert>> = BTreeMap::new();
        for alert in alerts {
            let name = label(&alert.labels, "alertname").unwrap_or("");
            groups.entry(name).or_default().push(alert);
        }
        for group in groups.values() {
            for chunk in group.chunks(targets.max_batch) {
                for (counters, target) in &targets.webhooks {
                    if tasks.len() >= MAX_PENDING_WEBHOOK_DELIVERIES {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                        counters.give_up("too many pending webhook deliveries".to_string(), chunk.len(), true);
                        tracing::warn!(url = %target.url, "alert notifier: too many pending webhook deliveries");
                        continue;
                    }
                    let Ok(body) = webhook_body(chunk, &target.receiver, &targets.external_url, now) else {
                        tracing::error!("alert notifier: cannot encode alerts");
                        continue;
                    };
                    let delivery = WebhookDelivery {
                        client: self.client.clone(),
                        target: target.clone(),
                        counters: counters.clone(),
                        body,
                        alerts: chunk.len(),
                        slots: self.webhook_slots.clone(),
                    };
                    tasks.spawn(delivery.run(stop.clone()));
                }
            }
        }
    }
}

/// One payload for one webhook, with its retries.
struct WebhookDelivery {
    client: reqwest::Client,
    target: WebhookTarget,
    counters: Arc<Counters>,
    body: Vec<u8>,
    alerts: usize,
    slots: Arc<Semaphore>,
}

impl WebhookDelivery {
    async fn run(self, mut stop: Stop) {
        let (url, timeout, attempts) = (&self.target.url, self.target.timeout, self.target.max_attempts.max(1));
        let mut backoff = INITIAL_BACKOFF;
        for attempt in 1..=attempts {
            let result = {
                let _slot = self.slots.acquire().await.ok();
                post_json(&self.client, url, self.body.clone(), timeout, None).await
            };
            let retry = match &result {
                Ok(()) => false,
                Err(error) => error.retryable() && attempt < attempts && !*stop.borrow(),
            };
            self.counters.record(WEBHOOK, url, &result, self.alerts, !retry);
            if !retry {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => {
                    self.counters.give_up("stopped before retrying".to_string(), self.alerts, true);
                    return;
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    /// The server answered with a status other than 2xx.
    #[error("http status {status}: {body}")]
    Status { status: u16, body: String },
    /// No answer: connection, timeout or URL errors.
    #[error("request failed: {0}")]
    Request(String),
}

impl DeliveryError {
    /// Whether a webhook delivery is retried after this error.
    fn retryable(&self) -> bool {
        match self {
            DeliveryError::Request(_) => true,
            DeliveryError::Status { status, .. } => *status == 429 || (500..600).contains(status),
        }
    }
}

/// POSTs a JSON body (with the authentication of `am`, if any), reading at most [`RESPONSE_BODY_CAP`] bytes
/// of the answer.
async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    timeout: Duration,
    am: Option<&AlertmanagerTarget>,
) -> Result<(), DeliveryError> {
    let mut request = (client.post(url).timeout(timeout))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some((user, password)) = am.and_then(|am| am.basic_auth.as_ref()) {
        request = request.basic_auth(user, Some(password));
    }
    if let Some(token) = am.and_then(|am| am.bearer_token.as_ref()) {
        request = request.bearer_auth(token);
    }
    let response = request.send().await;
    let mut response = response.map_err(|e| DeliveryError::Request(error_text(&e)))?;
    let status = response.status();
    let mut answer = Vec::new();
    while answer.len() < RESPONSE_BODY_CAP {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_BODY_CAP - answer.len())]),
            // The status decides; an answer cut short does not matter.
            Ok(None) | Err(_) => break,
        }
    }
    if status.is_success() {
        return Ok(());
    }
    let body = String::from_utf8_lossy(&answer)
        .trim()
        .chars()
        .take(ERROR_TEXT_CAP)
        .collect();
    Err(DeliveryError::Status {
        status: status.as_u16(),
        body,
    })
}

/// An error with its sources, shortened to [`ERROR_TEXT_CAP`] characters.
fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(ERROR_TEXT_CAP).collect()
}

/// `{base}/api/v2/alerts`.
fn alertmanager_url(base: &str) -> String {
    format!("{}/api/v2/alerts", base.trim_end_matches('/'))
}

fn label<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Whether `alert` is firing at `now`: no end, or an end in the future (Alertmanager's rule).
fn is_firing(alert: &Alert, now: SystemTime) -> bool {
    alert.ends_at.is_none_or(|end| end > now)
}

fn status(firing: bool) -> &'static str {
    if firing { "firing" } else { "resolved" }
}

/// Name/value pairs serialized as a JSON object in their order.
struct Pairs<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Pairs<'a> {
    fn of(pairs: &'a [(String, String)]) -> Pairs<'a> {
        Pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs present in every one of `sets` (in the first set's order).
    fn common(sets: &[&'a [(String, String)]]) -> Pairs<'a> {
        let Some((first, rest)) = sets.split_first() else {
            return Pairs(Vec::new());
        };
        let shared = first.iter().filter(|pair| rest.iter().all(|set| set.contains(pair)));
        Pairs(shared.map(|(n, v)| (n.as_str(), v.as_str())).collect())
    }
}

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Alertmanager API v2 `postableAlert`, as Prometheus sends it (empty optional fields omitted).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert<'a> {
    labels: Pairs<'a>,
    #[serde(skip_serializing_if = "Pairs::is_empty")]
    annotations: Pairs<'a>,
    starts_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
}

/// The body POSTed to `/api/v2/alerts` for `alerts`.
fn alertmanager_body(alerts: &[Alert]) -> serde_json::Result<Vec<u8>> {
    let postable: Vec<PostableAlert<'_>> = (alerts.iter())
        .map(|a| PostableAlert {
            labels: Pairs::of(&a.labels),
            annotations: Pairs::of(&a.annotations),
            starts_at: rfc3339_millis(a.starts_at),
            ends_at: a.ends_at.map(rfc3339_millis),
            generator_url: &a.generator_url,
        })
        .collect();
    serde_json::to_vec(&postable)
}

/// Alertmanager's webhook payload, version 4.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookPayload<'a> {
    version: &'static str,
    group_key: String,
    truncated_alerts: u64,
    status: &'static str,
    receiver: &'a str,
    group_labels: Pairs<'a>,
    common_labels: Pairs<'a>,
    common_annotations: Pairs<'a>,
    #[serde(rename = "externalURL")]
    external_url: &'a str,
    alerts: Vec<WebhookAlert<'a>>,
}

/// One alert of a webhook payload.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert<'a> {
    status: &'static str,
    labels: Pairs<'a>,
    annotations: Pairs<'a>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    fingerprint: String,
}

/// The webhook payload of one group (alerts sharing an alertname) at `now`.
fn webhook_body(group: &[&Alert], receiver: &str, external_url: &str, now: SystemTime) -> serde_json::Result<Vec<u8>> {
    let alertname = group.first().and_then(|a| label(&a.labels, "alertname"));
    let group_labels = Pairs(alertname.map(|name| ("alertname", name)).into_iter().collect());
    let group_key = match alertname {
        // Rust's `{:?}` quotes like Go's `%q` (Alertmanager's) for printable text.
        Some(name) => format!("{{}}:{{alertname={name:?}}}"),
        None => "{}:{}".to_string(),
    };
    let alerts: Vec<WebhookAlert<'_>> = (group.iter())
        .map(|a| {
            let firing = is_firing(a, now);
            WebhookAlert {
                status: status(firing),
                labels: Pairs::of(&a.labels),
                annotations: Pairs::of(&a.annotations),
                starts_at: rfc3339_millis(a.starts_at),
                // Alertmanager hides the end of alerts that have not resolved yet.
                ends_at: match a.ends_at {
                    Some(end) if !firing => rfc3339_millis(end),
                    _ => GO_ZERO_TIME.to_string(),
                },
                generator_url: &a.generator_url,
                fingerprint: format!("{:016x}", fingerprint(&a.labels)),
            }
        })
        .collect();
    let labels: Vec<&[(String, String)]> = group.iter().map(|a| a.labels.as_slice()).collect();
    let annotations: Vec<&[(String, String)]> = group.iter().map(|a| a.annotations.as_slice()).collect();
    let payload = WebhookPayload {
        version: "4",
        group_key,
        truncated_alerts: 0,
        status: status(group.iter().any(|a| is_firing(a, now))),
        receiver,
        group_labels,
        common_labels: Pairs::common(&labels),
        common_annotations: Pairs::common(&annotations),
        external_url,
        alerts,
    };
    serde_json::to_vec(&payload)
}

/// Fingerprint of a label set: 64-bit FNV-1a over `name 0xff value 0xff` of the labels sorted by name
/// (the scheme Prometheus and Alertmanager use, so fingerprints match theirs).
pub fn fingerprint(labels: &[(String, String)]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut sorted: Vec<&(String, String)> = labels.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hash = OFFSET;
    for (name, value) in sorted {
        let bytes = name.bytes().chain([0xff]).chain(value.bytes()).chain([0xff]);
        for byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// `t` as RFC 3339 in UTC with milliseconds (`2006-01-02T15:04:05.000Z`), the format of Alertmanager's API.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let millis: i128 = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i128,
        Err(before) => -(before.duration().as_nanos().div_ceil(1_000_000) as i128),
    };
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = crate::civil::civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000));
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
