//! Tests of the notifier against small recording HTTP servers on 127.0.0.1.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::*;

/// One request a test server received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Value,
}

/// Records requests and answers them with scripted statuses (200 once the script is used up).
#[derive(Default)]
struct Recorder {
    received: Mutex<Vec<Received>>,
    statuses: Mutex<VecDeque<(u16, String)>>,
}

impl Recorder {
    fn received(&self) -> Vec<Received> {
        self.received.lock().clone()
    }
}

async fn record(
    State(recorder): State<Arc<Recorder>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    recorder.received.lock().push(Received {
        path: uri.path().to_string(),
        headers,
        body,
    });
    let (status, text) = recorder.statuses.lock().pop_front().unwrap_or((200, String::new()));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        text,
    )
}

/// Starts a recording server; returns its base URL (`http://127.0.0.1:PORT`).
async fn server(statuses: &[(u16, &str)]) -> (String, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    recorder
        .statuses
        .lock()
        .extend(statuses.iter().map(|(s, t)| (*s, t.to_string())));
    let router = axum::Router::new().fallback(record).with_state(recorder.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}"), recorder)
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

fn alert(name: &str, instance: &str, ends_at: Option<SystemTime>) -> Alert {
    Alert {
        labels: pairs(&[("alertname", name), ("instance", instance), ("job", "api")]),
        annotations: pairs(&[("summary", "api down")]),
        starts_at: at(1_700_000_000_123),
        ends_at,
        generator_url: "http://loupe:9090/graph?g0.expr=up".to_string(),
    }
}

/// Waits until `recorder` received `count` requests (at most 10 s).
async fn wait_for(recorder: &Recorder, count: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while recorder.received.lock().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    recorder.received()
}

/// Runs `notifier` until the returned sender flips to true.
fn start(notifier: &Arc<Notifier>) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    (stop, tokio::spawn(notifier.clone().run(stopped)))
}

async fn finish(stop: watch::Sender<bool>, run: tokio::task::JoinHandle<()>) {
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("run stops")
        .expect("run does not panic");
}

fn am(url: &str) -> AlertmanagerTarget {
    AlertmanagerTarget {
        url: url.to_string(),
        ..AlertmanagerTarget::default()
    }
}

fn webhook(url: &str) -> WebhookTarget {
    WebhookTarget {
        url: url.to_string(),
        ..WebhookTarget::default()
    }
}

#[test]
fn timestamps_are_rfc3339_millis_in_utc() {
    assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339_millis(at(1_700_000_000_123)), "2023-11-14T22:13:20.123Z");
    assert_eq!(rfc3339_millis(at(1_709_164_800_000)), "2024-02-29T00:00:00.000Z");
    assert_eq!(rfc3339_millis(at(951_782_399_999)), "2000-02-28T23:59:59.999Z");
    assert_eq!(
        rfc3339_millis(UNIX_EPOCH - Duration::from_millis(1)),
        "1969-12-31T23:59:59.999Z"
    );
    assert_eq!(
        rfc3339_millis(UNIX_EPOCH - Duration::from_micros(1)),
        "1969-12-31T23:59:59.999Z"
    );
    assert_eq!(
        rfc3339_millis(UNIX_EPOCH - Duration::from_secs(86_400)),
        "1969-12-31T00:00:00.000Z"
    );
}

#[test]
fn fingerprints_are_fnv1a_of_sorted_labels() {
    assert_eq!(fingerprint(&[]), 0xcbf2_9ce4_8422_2325);
    let labels = pairs(&[("alertname", "High"), ("job", "api")]);
    assert_eq!(format!("{:016x}", fingerprint(&labels)), "9a1cb27cffe6ab7d");
    let reversed = pairs(&[("job", "api"), ("alertname", "High")]);
    assert_eq!(fingerprint(&labels), fingerprint(&reversed));
    assert_ne!(
        fingerprint(&labels),
        fingerprint(&pairs(&[("alertname", "High"), ("job", "ap")]))
    );
    // The separator keeps names and values apart.
    assert_ne!(fingerprint(&pairs(&[("a", "bc")])), fingerprint(&pairs(&[("ab", "c")])));
}

#[test]
fn group_keys_quote_like_go() {
    let mut odd = alert("a\"b\\c\nd", "1", None);
    odd.labels.sort();
    let body = webhook_body(&[&odd], "loupe", "", SystemTime::now()).expect("encodes");
    let payload: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(payload["groupKey"], r#"{}:{alertname="a\"b\\c\nd"}"#);
}

#[test]
fn alertmanager_body_is_what_prometheus_sends() {
    let firing = alert("High", "a:1", Some(at(1_700_000_060_000)));
    let bare = Alert {
        annotations: Vec::new(),
        ends_at: None,
        generator_url: String::new(),
        ..alert("Low", "b:2", None)
    };
    let body = alertmanager_body(&[firing, bare]).expect("encodes");
    assert_eq!(
        String::from_utf8_lossy(&body),
        concat!(
            r#"[{"labels":{"alertname":"High","instance":"a:1","job":"api"},"annotations":{"summary":"api down"},"#,
            r#""startsAt":"2023-11-14T22:13:20.123Z","endsAt":"2023-11-14T22:14:20.000Z","#,
            r#""generatorURL":"http://loupe:9090/graph?g0.expr=up"},"#,
            r#"{"labels":{"alertname":"Low","instance":"b:2","job":"api"},"startsAt":"2023-11-14T22:13:20.123Z"}]"#
        )
    );
}

#[tokio::test]
async fn batches_go_to_every_alertmanager() {
    let (first, first_recorder) = server(&[]).await;
    let (second, second_recorder) = server(&[]).await;
    let config = NotifierConfig {
        alertmanagers: vec![
            AlertmanagerTarget {
                basic_auth: Some(("user".into(), "pass".into())),
                ..am(&first)
            },
            AlertmanagerTarget {
                bearer_token: Some("token".into()),
                ..am(&format!("{second}/prefix/"))
            },
        ],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let alerts: Vec<Alert> = (0..600).map(|i| alert("High", &format!("host:{i}"), None)).collect();
    notifier.send(alerts.clone());
    let (stop, run) = start(&notifier);
    let first_got = wait_for(&first_recorder, 3).await;
    let second_got = wait_for(&second_recorder, 3).await;
    finish(stop, run).await;

    for (got, path) in [(&first_got, "/api/v2/alerts"), (&second_got, "/prefix/api/v2/alerts")] {
        let sizes: Vec<usize> = got.iter().map(|r| r.body.as_array().map_or(0, Vec::len)).collect();
        assert_eq!(sizes, [256, 256, 88]);
        let instances: Vec<&Value> = got
            .iter()
            .flat_map(|r| r.body.as_array().into_iter().flatten())
            .collect();
        for (i, posted) in instances.iter().enumerate() {
            assert_eq!(posted["labels"]["instance"], json!(format!("host:{i}")));
        }
        for request in got.iter() {
            assert_eq!(request.path, path);
            assert_eq!(request.headers["content-type"], "application/json");
        }
    }
    assert_eq!(first_got[0].headers["authorization"], "Basic dXNlcjpwYXNz");
    assert_eq!(second_got[0].headers["authorization"], "Bearer token");
    assert_eq!(
        first_got[0].body[0],
        json!({"labels": {"alertname": "High", "instance": "host:0", "job": "api"}, "annotations": {"summary": "api down"},
               "startsAt": "2023-11-14T22:13:20.123Z", "generatorURL": "http://loupe:9090/graph?g0.expr=up"})
    );

    let stats = notifier.stats();
    assert_eq!(
        (stats.dropped, stats.queue_len, stats.queue_capacity),
        (0, 0, DEFAULT_QUEUE_CAPACITY)
    );
    assert_eq!(stats.targets.len(), 2);
    for (target, url) in stats.targets.iter().zip([first.clone(), format!("{second}/prefix/")]) {
        assert_eq!((target.url.as_str(), target.kind), (url.as_str(), "alertmanager"));
        assert_eq!(
            (target.sent, target.failed, target.requests, target.errors),
            (600, 0, 3, 0)
        );
        assert_eq!(target.last_error, None);
        assert!(target.last_success.is_some());
    }
}

#[tokio::test]
async fn failed_alertmanager_batches_are_counted_not_retried() {
    let (url, recorder) = server(&[(500, "  boom  ")]).await;
    let config = NotifierConfig {
        alertmanagers: vec![am(&url)],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let (stop, run) = start(&notifier);
    notifier.send(vec![alert("High", "a:1", None), alert("High", "a:2", None)]);
    assert_eq!(wait_for(&recorder, 1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(recorder.received().len(), 1, "no retry");
    let target = &notifier.stats().targets[0];
    assert_eq!(
        (target.sent, target.failed, target.requests, target.errors),
        (0, 2, 1, 1)
    );
    assert_eq!(target.last_error.as_deref(), Some("http status 500: boom"));
    assert_eq!(target.last_success, None);

    // The next send goes through.
    notifier.send(vec![alert("High", "a:1", None)]);
    assert_eq!(wait_for(&recorder, 2).await.len(), 2);
    finish(stop, run).await;
    let target = &notifier.stats().targets[0];
    assert_eq!(
        (target.sent, target.failed, target.requests, target.errors),
        (1, 2, 2, 1)
    );
    assert!(target.last_success.is_some());
}

#[tokio::test]
async fn long_error_answers_are_cut() {
    let long = "x".repeat(100_000);
    let (url, recorder) = server(&[(503, long.as_str())]).await;
    let config = NotifierConfig {
        alertmanagers: vec![am(&url)],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let (stop, run) = start(&notifier);
    notifier.send(vec![alert("High", "a:1", None)]);
    wait_for(&recorder, 1).await;
    finish(stop, run).await;
    let error = notifier.stats().targets[0].last_error.clone().unwrap_or_default();
    assert_eq!(error, format!("http status 503: {}", "x".repeat(ERROR_TEXT_CAP)));
}

#[tokio::test]
async fn unreachable_targets_count_network_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let config = NotifierConfig {
        alertmanagers: vec![am(&url), am("not a url")],
        webhooks: vec![WebhookTarget {
            max_attempts: 1,
            ..webhook(&url)
        }],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let (stop, run) = start(&notifier);
    notifier.send(vec![alert("High", "a:1", None)]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while notifier.stats().targets.iter().any(|t| t.errors == 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    finish(stop, run).await;
    for target in notifier.stats().targets {
        assert_eq!(
            (target.sent, target.failed, target.requests, target.errors),
            (0, 1, 1, 1),
            "{target:?}"
        );
        let error = target.last_error.unwrap_or_default();
        assert!(error.starts_with("request failed: "), "{error}");
        assert!(error.chars().count() <= ERROR_TEXT_CAP, "{error}");
    }
}

#[tokio::test]
async fn webhook_payloads_group_by_alertname() {
    let (url, recorder) = server(&[]).await;
    let config = NotifierConfig {
        webhooks: vec![webhook(&format!("{url}/hook"))],
        external_url: "http://loupe:9090".to_string(),
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let now = SystemTime::now();
    let past = Some(now - Duration::from_secs(60));
    let future = Some(now + Duration::from_secs(600));
    let mut other = alert("High", "a:2", future);
    other.labels.push(("team".to_string(), "x".to_string()));
    other.annotations = pairs(&[("runbook", "r")]);
    notifier.send(vec![
        alert("High", "a:1", None),
        alert("Gone", "b:1", past),
        other,
        alert("Gone", "b:2", past),
        alert("Mixed", "c:1", past),
        alert("Mixed", "c:2", future),
    ]);
    let (stop, run) = start(&notifier);
    let got = wait_for(&recorder, 3).await;
    finish(stop, run).await;
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.path == "/hook" && r.headers["content-type"] == "application/json")
    );
    let by_name = |name: &str| {
        got.iter()
            .find(|r| r.body["groupLabels"]["alertname"] == name)
            .map(|r| r.body.clone())
    };

    let ended = rfc3339_millis(now - Duration::from_secs(60));
    let fingerprint_of = |labels: &[(&str, &str)]| format!("{:016x}", fingerprint(&pairs(labels)));
    assert_eq!(
        by_name("High").unwrap_or_default(),
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"High\"}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "loupe",
            "groupLabels": {"alertname": "High"},
            "commonLabels": {"alertname": "High", "job": "api"},
            "commonAnnotations": {},
            "externalURL": "http://loupe:9090",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "High", "instance": "a:1", "job": "api"},
                 "annotations": {"summary": "api down"}, "startsAt": "2023-11-14T22:13:20.123Z",
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://loupe:9090/graph?g0.expr=up",
                 "fingerprint": fingerprint_of(&[("alertname", "High"), ("instance", "a:1"), ("job", "api")])},
                {"status": "firing", "labels": {"alertname": "High", "instance": "a:2", "job": "api", "team": "x"},
                 "annotations": {"runbook": "r"}, "startsAt": "2023-11-14T22:13:20.123Z",
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://loupe:9090/graph?g0.expr=up",
                 "fingerprint": fingerprint_of(&[("alertname", "High"), ("instance", "a:2"), ("job", "api"), ("team", "x")])},
            ],
        })
    );
    let gone = by_name("Gone").unwrap_or_default();
    assert_eq!(gone["status"], "resolved");
    assert_eq!(gone["commonLabels"], json!({"alertname": "Gone", "job": "api"}));
    assert_eq!(gone["commonAnnotations"], json!({"summary": "api down"}));
    let statuses: Vec<&Value> = gone["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [&json!("resolved"), &json!("resolved")]);
    assert_eq!(gone["alerts"][0]["endsAt"], json!(ended));
    let mixed = by_name("Mixed").unwrap_or_default();
    assert_eq!(mixed["status"], "firing");
    assert_eq!(
        (&mixed["alerts"][0]["status"], &mixed["alerts"][1]["status"]),
        (&json!("resolved"), &json!("firing"))
    );
    assert_eq!(mixed["alerts"][1]["endsAt"], "0001-01-01T00:00:00Z");

    let target = &notifier.stats().targets[0];
    assert_eq!(
        (target.kind, target.sent, target.failed, target.requests, target.errors),
        ("webhook", 6, 0, 3, 0)
    );
}

#[tokio::test]
async fn webhooks_retry_server_errors() {
    let (url, recorder) = server(&[(503, "busy"), (503, "busy")]).await;
    let (rejecting, rejecting_recorder) = server(&[(400, "bad")]).await;
    let config = NotifierConfig {
        webhooks: vec![
            webhook(&url),
            WebhookTarget {
                receiver: "team".into(),
                ..webhook(&rejecting)
            },
        ],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let (stop, run) = start(&notifier);
    let started = Instant::now();
    notifier.send(vec![alert("High", "a:1", None)]);
    let got = wait_for(&recorder, 3).await;
    // Backoff: 500 ms, then 1 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(recorder.received().len(), 3);
    assert!(got.iter().all(|r| r.body == got[0].body));
    let rejected = rejecting_recorder.received();
    assert_eq!(rejected.len(), 1, "no retry on 400");
    assert_eq!(rejected[0].body["receiver"], "team");
    finish(stop, run).await;

    let stats = notifier.stats();
    let retried = &stats.targets[0];
    assert_eq!(
        (retried.sent, retried.failed, retried.requests, retried.errors),
        (1, 0, 3, 2)
    );
    assert_eq!(retried.last_error.as_deref(), Some("http status 503: busy"));
    assert!(retried.last_success.is_some());
    let rejected = &stats.targets[1];
    assert_eq!(
        (rejected.sent, rejected.failed, rejected.requests, rejected.errors),
        (0, 1, 1, 1)
    );
    assert_eq!(rejected.last_error.as_deref(), Some("http status 400: bad"));
}

#[tokio::test]
async fn webhooks_give_up_after_max_attempts() {
    let (url, recorder) = server(&[(429, ""), (502, ""), (500, "")]).await;
    let config = NotifierConfig {
        webhooks: vec![WebhookTarget {
            max_attempts: 2,
            ..webhook(&url)
        }],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let (stop, run) = start(&notifier);
    notifier.send(vec![alert("High", "a:1", None)]);
    wait_for(&recorder, 2).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    finish(stop, run).await;
    assert_eq!(recorder.received().len(), 2);
    let target = &notifier.stats().targets[0];
    assert_eq!(
        (target.sent, target.failed, target.requests, target.errors),
        (0, 1, 2, 2)
    );
}

#[test]
fn queue_overflow_drops_the_oldest() {
    let config = NotifierConfig {
        queue_capacity: 3,
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    notifier.send(vec![alert("A", "1", None), alert("A", "2", None)]);
    notifier.send(vec![alert("A", "3", None), alert("A", "4", None)]);
    let instances = |n: &Notifier| -> Vec<String> {
        let queue = n.queue.lock();
        queue
            .alerts
            .iter()
            .filter_map(|a| label(&a.labels, "instance").map(str::to_string))
            .collect()
    };
    assert_eq!(instances(&notifier), ["2", "3", "4"]);
    notifier.send((5..10).map(|i| alert("A", &i.to_string(), None)).collect());
    assert_eq!(instances(&notifier), ["7", "8", "9"]);
    let stats = notifier.stats();
    assert_eq!((stats.dropped, stats.queue_len, stats.queue_capacity), (6, 3, 3));
    assert!(stats.targets.is_empty());
    notifier.send(Vec::new());
    assert_eq!(notifier.stats().queue_len, 3);
}

#[test]
fn requeued_alerts_go_first_and_keep_the_bound() {
    let mut queue = Queue {
        alerts: VecDeque::new(),
        capacity: 3,
    };
    assert_eq!(queue.push(vec![alert("A", "3", None), alert("A", "4", None)]), 0);
    assert_eq!(queue.requeue(vec![alert("A", "1", None), alert("A", "2", None)]), 1);
    let instances: Vec<&str> = queue
        .alerts
        .iter()
        .filter_map(|a| label(&a.labels, "instance"))
        .collect();
    assert_eq!(instances, ["2", "3", "4"]);
}

#[test]
fn apply_keeps_the_queue_and_the_counters_of_remaining_targets() {
    let config = NotifierConfig {
        alertmanagers: vec![am("http://127.0.0.1:1"), am("http://127.0.0.1:2")],
        webhooks: vec![WebhookTarget {
            max_attempts: 0,
            receiver: String::new(),
            timeout: Duration::ZERO,
            ..webhook("http://127.0.0.1:1")
        }],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    {
        let targets = notifier.targets.read();
        targets.alertmanagers[0].0.sent.fetch_add(7, Ordering::Relaxed);
        targets.webhooks[0].0.sent.fetch_add(3, Ordering::Relaxed);
        let (_, hook) = &targets.webhooks[0];
        assert_eq!(
            (hook.max_attempts, hook.receiver.as_str(), hook.timeout),
            (5, "loupe", DEFAULT_TIMEOUT)
        );
        assert_eq!(targets.max_batch, DEFAULT_MAX_BATCH);
    }
    notifier.send((0..5).map(|i| alert("A", &i.to_string(), None)).collect());
    notifier.apply(NotifierConfig {
        alertmanagers: vec![am("http://127.0.0.1:3"), am("http://127.0.0.1:1")],
        webhooks: vec![webhook("http://127.0.0.1:1")],
        queue_capacity: 4,
        max_batch: 2,
        ..NotifierConfig::default()
    });
    let stats = notifier.stats();
    let summary: Vec<(&str, &str, u64)> = stats.targets.iter().map(|t| (t.url.as_str(), t.kind, t.sent)).collect();
    assert_eq!(
        summary,
        [
            ("http://127.0.0.1:3", "alertmanager", 0),
            ("http://127.0.0.1:1", "alertmanager", 7),
            ("http://127.0.0.1:1", "webhook", 3)
        ]
    );
    assert_eq!((stats.queue_len, stats.queue_capacity, stats.dropped), (4, 4, 1));
    assert_eq!(notifier.targets.read().max_batch, 2);
}

#[tokio::test]
async fn run_exits_when_stop_flips() {
    let notifier = Notifier::new(NotifierConfig::default(), client());
    let (stop, run) = start(&notifier);
    notifier.send(vec![alert("A", "1", None)]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(notifier.stats().queue_len, 0, "alerts without targets are discarded");
    finish(stop, run).await;

    // A dropped sender stops the loop too.
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(notifier.clone().run(stopped));
    drop(stop);
    tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .expect("run stops")
        .expect("no panic");
}

#[tokio::test]
async fn stop_interrupts_webhook_retries_and_flushes_the_queue() {
    let (url, recorder) = server(&[(503, ""), (503, "")]).await;
    let (am_url, am_recorder) = server(&[]).await;
    let config = NotifierConfig {
        alertmanagers: vec![am(&am_url)],
        webhooks: vec![WebhookTarget {
            timeout: Duration::from_secs(1),
            ..webhook(&url)
        }],
        ..NotifierConfig::default()
    };
    let notifier = Notifier::new(config, client());
    let (stop, stopped) = watch::channel(false);
    notifier.send(vec![alert("A", "1", None)]);
    let run = tokio::spawn(notifier.clone().run(stopped));
    wait_for(&recorder, 1).await;
    let started = Instant::now();
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(2), run)
        .await
        .expect("run stops")
        .expect("no panic");
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "the backoff is cut short"
    );
    assert_eq!(recorder.received().len(), 1);
    let target = &notifier.stats().targets[1];
    assert_eq!((target.failed, target.errors), (1, 1));
    assert_eq!(target.last_error.as_deref(), Some("stopped before retrying"));
    assert_eq!(am_recorder.received().len(), 1);

    // Alerts queued after the loop stopped are flushed by the next run's final pass.
    notifier.send(vec![alert("B", "1", None)]);
    let (_stop, stopped) = watch::channel(true);
    tokio::time::timeout(Duration::from_secs(3), notifier.clone().run(stopped))
        .await
        .expect("run stops");
    assert_eq!(am_recorder.received().len(), 2);
}
