//! Recording and alerting rules end to end: the real binary scrapes a fake target and evaluates a
//! rule file every second; alerts go to a real Alertmanager (Debian's `prometheus-alertmanager`,
//! started here on an ephemeral loopback port) and to a webhook receiver in the test.
//!
//! Without `/usr/bin/prometheus-alertmanager` the Alertmanager checks say they skipped, unless
//! `LOUPE_REQUIRE_ALERTMANAGER=1` (CI sets it), when the test fails.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::target::{FakeTarget, free_port};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const WAIT: Duration = Duration::from_secs(40);

/// A real Alertmanager on an ephemeral port, killed when dropped.
struct Alertmanager {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start() -> Option<Alertmanager> {
        if !Path::new(ALERTMANAGER).exists() {
            assert!(
                std::env::var_os("LOUPE_REQUIRE_ALERTMANAGER").is_none(),
                "LOUPE_REQUIRE_ALERTMANAGER is set but {ALERTMANAGER} is missing (apt install prometheus-alertmanager)"
            );
            eprintln!("skipped: the Alertmanager checks need Debian's prometheus-alertmanager");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("am.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: 'null'\n  group_wait: 1s\n  group_interval: 1s\nreceivers:\n  - name: 'null'\n",
        )
        .expect("write am config");
        let port = free_port();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn alertmanager");
        let url = format!("http://127.0.0.1:{port}");
        let am = Alertmanager { child, url, _dir: dir };
        let deadline = Instant::now() + WAIT;
        while !common::client()
            .get(format!("{}/-/ready", am.url))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "alertmanager did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(am)
    }

    /// Active alerts, as `(labels, annotations)`.
    fn alerts(&self) -> Vec<Value> {
        let text = common::client()
            .get(format!("{}/api/v2/alerts", self.url))
            .send()
            .and_then(|r| r.text())
            .expect("alertmanager alerts");
        serde_json::from_str(&text).expect("json")
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver recording the JSON bodies POSTed to it.
struct Hook {
    address: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
}

impl Hook {
    fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind hook");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address").to_string();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (bodies.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    let l = line.trim_end().to_ascii_lowercase();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok()
                    && let Ok(v) = serde_json::from_slice(&body)
                {
                    b.lock().expect("lock").push(v);
                }
                let _ = reader
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Hook { address, bodies, stop }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().expect("lock").clone()
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn get_json(url: &str) -> Value {
    let text = common::client().get(url).send().and_then(|r| r.text()).expect("get");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn alerts(base: &str) -> Vec<Value> {
    get_json(&format!("{base}/api/v1/alerts"))["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn alert_state(base: &str, name: &str) -> Option<(String, Value)> {
    alerts(base)
        .into_iter()
        .find(|a| a["labels"]["alertname"] == name)
        .map(|a| (a["state"].as_str().unwrap_or("").to_string(), a))
}

fn instant(base: &str, query: &str) -> Vec<Value> {
    let url = format!("{base}/api/v1/query?query={}", urlencode(query));
    get_json(&url)["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const RULES: &str = r#"groups:
  - name: queue
    interval: 1s
    rules:
      - record: job:queue_depth:max
        expr: max by (job) (queue_depth)
      - alert: QueueTooDeep
        expr: job:queue_depth:max > 10
        for: 3s
        labels:
          severity: page
        annotations:
          summary: "queue of {{ $labels.job }} at {{ $value }}"
  - name: shop-logs
    interval: 1s
    lang: logql
    rules:
      - alert: ShopErrors
        expr: sum by (container) (count_over_time({container="shop"} |= "error" [1m])) > 2
        annotations:
          summary: "{{ $labels.container }} logged {{ $value }} errors in a minute"
"#;

fn config(dir: &Path, target: &str, alertmanager: Option<&str>, hook: &str) -> String {
    let rules = dir.join("rules.yml");
    std::fs::write(&rules, RULES).expect("write rules");
    let managers = alertmanager.map_or(String::new(), |a| {
        format!(
            "  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
            a.trim_start_matches("http://")
        )
    });
    let text = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n  external_labels:\n    site: test\nrule_files:\n  - rules.yml\nalerting:\n{managers}  webhooks:\n    - url: http://{hook}/hook\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let path = dir.join("loupe.yml");
    std::fs::write(&path, text).expect("write config");
    path.to_string_lossy().into_owned()
}

fn queue_target(depth: Arc<AtomicU64>) -> FakeTarget {
    FakeTarget::start(
        "text/plain; version=0.0.4",
        Box::new(move |_| {
            format!(
                "# TYPE queue_depth gauge\nqueue_depth {}\n",
                depth.load(Ordering::Relaxed)
            )
        }),
    )
}

#[test]
fn alerts_go_pending_fire_notify_and_resolve() {
    let am = Alertmanager::start();
    let hook = Hook::start();
    let depth = Arc::new(AtomicU64::new(3));
    let target = queue_target(depth.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(
        dir.path(),
        &target.address,
        am.as_ref().map(|a| a.url.as_str()),
        &hook.address,
    );
    let server = common::Server::start(&dir.path().join("data"), &["--config", &config]);
    let base = server.base.clone();

    // The recording rule writes its series; nothing fires while the queue is short.
    wait_for("the recording rule", || {
        let r = instant(&base, "job:queue_depth:max");
        (r.len() == 1 && r[0]["value"][1] == "3").then_some(())
    });
    assert!(alerts(&base).is_empty());

    // Deep queue: pending, then firing after `for`.
    depth.store(50, Ordering::Relaxed);
    let (_, pending) = wait_for("pending", || {
        alert_state(&base, "QueueTooDeep").filter(|(s, _)| s == "pending")
    });
    assert_eq!(
        pending["labels"],
        json!({"alertname": "QueueTooDeep", "job": "app", "severity": "page"})
    );
    assert_eq!(pending["annotations"], json!({"summary": "queue of app at 50"}));
    assert_eq!(pending["value"], "5e+01");
    let (_, firing) = wait_for("firing", || {
        alert_state(&base, "QueueTooDeep").filter(|(s, _)| s == "firing")
    });
    assert_eq!(firing["activeAt"], pending["activeAt"]);
    let series = instant(&base, "ALERTS{alertname=\"QueueTooDeep\"}");
    assert_eq!(series.len(), 1);
    assert_eq!(series[0]["metric"]["alertstate"], "firing");
    assert_eq!(series[0]["metric"]["severity"], "page");
    let for_state = instant(&base, "ALERTS_FOR_STATE{alertname=\"QueueTooDeep\"}");
    assert_eq!(for_state.len(), 1);

    // The rules API, as Grafana reads it.
    let rules = get_json(&format!("{base}/api/v1/rules"));
    let groups = rules["data"]["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["name"], "queue");
    assert_eq!(groups[0]["interval"], 1);
    let queue_rules = groups[0]["rules"].as_array().expect("rules");
    assert_eq!(queue_rules[0]["type"], "recording");
    assert_eq!(queue_rules[0]["health"], "ok");
    assert_eq!(queue_rules[1]["type"], "alerting");
    assert_eq!(queue_rules[1]["state"], "firing");
    assert_eq!(queue_rules[1]["duration"], 3);
    assert!(queue_rules[1].get("lastError").is_none(), "{}", queue_rules[1]);
    let recorded = get_json(&format!("{base}/api/v1/rules?type=record"));
    assert_eq!(recorded["data"]["groups"].as_array().map(Vec::len), Some(1));
    let by_group = get_json(&format!("{base}/api/v1/rules?rule_group[]=shop-logs"));
    assert_eq!(by_group["data"]["groups"][0]["name"], "shop-logs");
    assert_eq!(by_group["data"]["groups"][0]["lang"], "logql");
    assert_eq!(by_group["data"]["groups"].as_array().map(Vec::len), Some(1));
    let by_name = get_json(&format!(
        "{base}/api/v1/rules?rule_name[]=QueueTooDeep&exclude_alerts=true"
    ));
    let only = &by_name["data"]["groups"][0]["rules"];
    assert_eq!(only.as_array().map(Vec::len), Some(1));
    assert_eq!(only[0]["alerts"], Value::Null, "{only}");
    let by_label = get_json(&format!(
        "{base}/api/v1/rules?match[]={}",
        urlencode("{severity=\"page\"}")
    ));
    let matched: Vec<&Value> = by_label["data"]["groups"].as_array().expect("groups").iter().collect();
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0]["rules"][0]["name"], "QueueTooDeep");
    let managers = get_json(&format!("{base}/api/v1/alertmanagers"));
    let expected: Vec<Value> = am
        .iter()
        .map(|a| json!({"url": format!("{}/api/v2/alerts", a.url)}))
        .collect();
    assert_eq!(managers["data"]["activeAlertmanagers"], json!(expected));

    // Alertmanager has it, with the external label.
    if let Some(am) = &am {
        let found = wait_for("the alert in alertmanager", || {
            am.alerts()
                .into_iter()
                .find(|a| a["labels"]["alertname"] == "QueueTooDeep")
        });
        assert_eq!(
            found["labels"],
            json!({"alertname": "QueueTooDeep", "job": "app", "severity": "page", "site": "test"})
        );
        assert_eq!(found["annotations"]["summary"], "queue of app at 50");
        assert!(
            found["generatorURL"]
                .as_str()
                .unwrap_or("")
                .starts_with(&format!("{base}/#/metrics?q="))
        );
    }
    // The webhook got Alertmanager's payload, version 4.
    let body = wait_for("the webhook", || {
        hook.bodies()
            .into_iter()
            .find(|b| b["groupLabels"]["alertname"] == "QueueTooDeep")
    });
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "loupe");
    assert_eq!(body["commonLabels"]["site"], "test");
    assert_eq!(body["alerts"][0]["status"], "firing");
    assert_eq!(body["alerts"][0]["annotations"]["summary"], "queue of app at 50");

    // A log alert fires from pushed error lines.
    let now = logs::store::now_ns();
    let values: Vec<Value> = (0..3)
        .map(|i| json!([(now + i).to_string(), format!("payment error {i}")]))
        .collect();
    let push = json!({"streams": [{"stream": {"container": "shop"}, "values": values}]});
    let response = common::client()
        .post(format!("{base}/loki/api/v1/push"))
        .header("Content-Type", "application/json")
        .body(push.to_string())
        .send()
        .expect("push");
    assert_eq!(response.status().as_u16(), 204);
    let (_, shop) = wait_for("the log alert", || {
        alert_state(&base, "ShopErrors").filter(|(s, _)| s == "firing")
    });
    assert_eq!(shop["labels"], json!({"alertname": "ShopErrors", "container": "shop"}));
    assert_eq!(shop["annotations"]["summary"], "shop logged 3 errors in a minute");
    if let Some(am) = &am {
        wait_for("the log alert in alertmanager", || {
            am.alerts()
                .into_iter()
                .find(|a| a["labels"]["alertname"] == "ShopErrors")
        });
    }

    // The queue drains: resolved everywhere.
    depth.store(0, Ordering::Relaxed);
    wait_for("resolution", || {
        alert_state(&base, "QueueTooDeep").is_none().then_some(())
    });
    assert!(
        instant(&base, "ALERTS{alertname=\"QueueTooDeep\"}").is_empty(),
        "ALERTS went stale"
    );
    let resolved = wait_for("the resolved webhook", || {
        hook.bodies()
            .into_iter()
            .find(|b| b["groupLabels"]["alertname"] == "QueueTooDeep" && b["status"] == "resolved")
    });
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    if let Some(am) = &am {
        wait_for("alertmanager to see it resolved", || {
            am.alerts()
                .into_iter()
                .all(|a| a["labels"]["alertname"] != "QueueTooDeep")
                .then_some(())
        });
    }
}

#[test]
fn a_restart_keeps_the_pending_timer() {
    let hook = Hook::start();
    let depth = Arc::new(AtomicU64::new(50));
    let target = queue_target(depth);
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: slow\n    interval: 1s\n    rules:\n      - alert: Slow\n        expr: queue_depth > 10\n        for: 1m\n",
    )
    .expect("write rules");
    let config = dir.path().join("loupe.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nrule_files: [rules.yml]\nalerting:\n  webhooks:\n    - url: http://{}/hook\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{}']\n",
            hook.address, target.address
        ),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let flags = [
        "--config",
        config.to_str().expect("utf-8"),
        "--rules.alert.for-grace-period",
        "10s",
    ];
    let server = common::Server::start(&data, &flags);
    let (_, before) = wait_for("pending", || {
        alert_state(&server.base, "Slow").filter(|(s, _)| s == "pending")
    });
    let active_at = before["activeAt"].as_str().expect("activeAt").to_string();
    // Pending for 8 s (ALERTS_FOR_STATE written every second), then a restart 2 s later.
    std::thread::sleep(Duration::from_secs(8));
    server.terminate();
    std::thread::sleep(Duration::from_secs(2));
    let server = common::Server::start(&data, &flags);
    let secs = |t: Option<&str>| -> f64 {
        let at = t.map(|t| format!("&time={}", urlencode(t))).unwrap_or_default();
        let v = get_json(&format!("{}/api/v1/query?query=time(){at}", server.base));
        v["data"]["result"][1]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let restart = secs(None);
    wait_for("pending again", || {
        alert_state(&server.base, "Slow").filter(|(s, _)| s == "pending")
    });
    // The state is restored after the second evaluation, as in Prometheus.
    std::thread::sleep(Duration::from_secs(3));
    let (state, after) = alert_state(&server.base, "Slow").expect("still there");
    assert_eq!(state, "pending");
    let restored = after["activeAt"].as_str().expect("activeAt").to_string();
    let (original, now_active) = (secs(Some(&active_at)), secs(Some(&restored)));
    // Not lost: the old start moved later by the time Loupe was down (at least the 2 s sleep)…
    assert!(
        now_active >= original + 2.0,
        "active at {original}, restored to {now_active}"
    );
    // …and not reset: the 8 s pending before the restart still count.
    assert!(
        now_active <= restart - 5.0,
        "active at {original}, restored to {now_active}, restarted at {restart}"
    );
    assert!(hook.bodies().is_empty(), "a pending alert is never sent");
}

#[test]
fn invalid_rules_are_rejected_on_reload_and_the_old_ones_keep_running() {
    let hook = Hook::start();
    let depth = Arc::new(AtomicU64::new(3));
    let target = queue_target(depth);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), &target.address, None, &hook.address);
    let server = common::Server::start(&dir.path().join("data"), &["--config", &config]);
    let names = |base: &str| -> Vec<String> {
        get_json(&format!("{base}/api/v1/rules"))["data"]["groups"]
            .as_array()
            .map(|g| g.iter().map(|g| g["name"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(names(&server.base), ["queue", "shop-logs"]);
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: 'up =='\n",
    )
    .expect("write");
    let response = common::client()
        .post(format!("{}/-/reload", server.base))
        .send()
        .expect("reload");
    assert_eq!(response.status().as_u16(), 500);
    let text = response.text().expect("body");
    assert!(
        text.contains("rules.yml:5:15: group \"broken\", rule 1, \"X\": could not parse expression"),
        "{text}"
    );
    assert_eq!(
        names(&server.base),
        ["queue", "shop-logs"],
        "the old rules keep running"
    );
    // A valid change applies.
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: fixed\n    rules:\n      - record: r:up\n        expr: sum(up)\n",
    )
    .expect("write");
    let response = common::client()
        .post(format!("{}/-/reload", server.base))
        .send()
        .expect("reload");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(names(&server.base), ["fixed"]);
}

#[test]
fn check_rules_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.yml");
    std::fs::write(&good, RULES).expect("write");
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          x: '{{ $labels.job'\n").expect("write");
    let run = |files: &[&Path]| {
        let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
            .args(["check", "rules"])
            .args(files)
            .output()
            .expect("run loupe check rules");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, out) = run(&[&good]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("  SUCCESS: 3 rules found\n\n"), "{out}");
    let (code, out) = run(&[&good, &bad]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("bad.yml\n  FAILED:\n"), "{out}");
    assert!(
        out.contains("bad.yml:4:16: group \"g\", rule 1, \"A\": annotation \"x\": template:"),
        "{out}"
    );
}
