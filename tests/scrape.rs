//! End-to-end scraping: the real binary scrapes test targets (and a real node exporter), and the
//! samples, the targets API, reloads and staleness are checked.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::target::{FakeTarget, free_port};
use serde_json::Value;
use tsdb::{MatchType, Matcher, is_stale_nan};

/// Every sample of the series matching `metric` and `job`: (labels, t, value), NaN staleness
/// markers included.
fn samples(data: &Path, metric: &str, job: &str) -> Vec<(String, i64, f64)> {
    let db = common::open_db(data);
    let matchers = [
        Matcher::new(MatchType::Equal, "__name__", metric).expect("matcher"),
        Matcher::new(MatchType::Equal, "job", job).expect("matcher"),
    ];
    let mut out = Vec::new();
    for series in db.querier(i64::MIN, i64::MAX).select(&matchers).expect("select") {
        for sample in series.iter() {
            out.push((series.labels().to_string(), sample.t, sample.v));
        }
    }
    out
}

fn get_json(url: &str) -> Value {
    let response = common::client().get(url).send().expect("request");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    serde_json::from_str(&response.text().expect("body")).expect("json")
}

/// Polls the targets API until `pred` holds for it.
fn wait_targets(base: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let targets = get_json(&format!("{base}/api/v1/targets"));
        if pred(&targets) {
            return targets;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {targets:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn active<'a>(targets: &'a Value, job: &str) -> Vec<&'a Value> {
    targets["data"]["activeTargets"]
        .as_array()
        .map(|a| a.iter().filter(|t| t["labels"]["job"] == job).collect())
        .unwrap_or_default()
}

fn health_of(targets: &Value, job: &str) -> Option<String> {
    active(targets, job)
        .first()
        .and_then(|t| t["health"].as_str().map(str::to_string))
}

fn config(jobs: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for (job, address, extra) in jobs {
        text.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{address}']\n        labels:\n          env: test\n{extra}"
        ));
    }
    text
}

#[test]
fn scrapes_relabels_reloads_and_marks_removed_targets_stale() {
    let app = FakeTarget::start_with(
        "text/plain; version=0.0.4",
        true,
        Box::new(|n| {
            format!(
                "# HELP app_requests_total Requests served.\n# TYPE app_requests_total counter\n\
                 app_requests_total{{path=\"/\"}} {n}\napp_temperature{{room=\"a\"}} 21.5\n\
                 go_goroutines 7\n"
            )
        }),
    );
    let broken = FakeTarget::start(
        "text/plain; version=0.0.4",
        Box::new(|_| "ok 1\nthis is { garbage\n".into()),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config_path = dir.path().join("loupe.yml");
    let drop_go = "    basic_auth:\n      username: loupe\n      password: secret\n    metric_relabel_configs:\n      \
                   - source_labels: [__name__]\n        regex: go_.*\n        action: drop\n";
    std::fs::write(
        &config_path,
        config(&[("app", &app.address, drop_go), ("broken", &broken.address, "")]),
    )
    .expect("write config");
    let server = common::Server::start(&data, &["--config", config_path.to_str().expect("utf-8 path")]);
    let base = server.base.clone();

    let targets = wait_targets(&base, "app up and broken down", |t| {
        health_of(t, "app").as_deref() == Some("up") && health_of(t, "broken").as_deref() == Some("down")
    });
    let app_target = active(&targets, "app")[0];
    assert_eq!(
        app_target["labels"],
        serde_json::json!({"env": "test", "instance": app.address, "job": "app"})
    );
    assert_eq!(app_target["scrapeUrl"], format!("http://{}/metrics", app.address));
    assert_eq!(app_target["scrapePool"], "app");
    assert_eq!(app_target["scrapeInterval"], "1s");
    assert_eq!(app_target["discoveredLabels"]["__address__"], app.address.as_str());
    assert_eq!(app_target["lastError"], "");
    let broken_target = active(&targets, "broken")[0];
    let error = broken_target["lastError"].as_str().expect("error text");
    assert!(error.starts_with("line 2"), "the error names the line: {error}");
    // Prometheus's request headers.
    assert_eq!(
        app.last_header("x-prometheus-scrape-timeout-seconds").as_deref(),
        Some("1")
    );
    let accept = app.last_header("accept").expect("accept header");
    assert!(
        accept.starts_with("application/openmetrics-text;version=1.0.0"),
        "{accept}"
    );
    assert!(accept.contains("text/plain;version=0.0.4"), "{accept}");
    assert_eq!(app.last_header("accept-encoding").as_deref(), Some("gzip"));
    // base64("loupe:secret")
    assert_eq!(
        app.last_header("authorization").as_deref(),
        Some("Basic bG91cGU6c2VjcmV0")
    );
    assert!(app.last_header("user-agent").is_some_and(|ua| ua.starts_with("Loupe/")));

    let metadata = get_json(&format!(
        "{base}/api/v1/targets/metadata?match_target=%7Bjob%3D%22app%22%7D"
    ));
    assert_eq!(
        metadata["data"],
        serde_json::json!([{
            "target": {"env": "test", "instance": app.address, "job": "app"},
            "metric": "app_requests_total", "type": "counter", "help": "Requests served.", "unit": ""
        }])
    );
    let all = get_json(&format!("{base}/api/v1/metadata?metric=app_requests_total"));
    assert_eq!(
        all["data"],
        serde_json::json!({"app_requests_total": [{"type": "counter", "help": "Requests served.", "unit": ""}]})
    );

    // An invalid configuration is rejected and the old one keeps running.
    std::fs::write(
        &config_path,
        "scrape_configs:\n  - job_name: x\n    kubernetes_sd_configs: []\n",
    )
    .expect("write");
    let response = common::client()
        .post(format!("{base}/-/reload"))
        .send()
        .expect("reload");
    assert_eq!(response.status().as_u16(), 500);
    let body = response.text().expect("body");
    assert!(
        body.contains("line 3") && body.contains("kubernetes_sd_configs"),
        "{body}"
    );
    let targets = get_json(&format!("{base}/api/v1/targets"));
    assert_eq!(active(&targets, "app").len(), 1);

    // Remove the app job: its series end with staleness markers as soon as the reload returns.
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.requests() < 4 {
        assert!(Instant::now() < deadline, "the app target is scraped every second");
        std::thread::sleep(Duration::from_millis(50));
    }
    let requests_before = app.requests();
    std::fs::write(&config_path, config(&[("broken", &broken.address, "")])).expect("write");
    let response = common::client()
        .post(format!("{base}/-/reload"))
        .send()
        .expect("reload");
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.text());
    let targets = get_json(&format!("{base}/api/v1/targets"));
    assert!(active(&targets, "app").is_empty());
    assert_eq!(active(&targets, "broken").len(), 1, "unchanged job keeps running");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        app.requests() <= requests_before + 1,
        "the removed target is no longer scraped"
    );

    // SIGHUP applies a new file too.
    std::fs::write(
        &config_path,
        config(&[("broken", &broken.address, ""), ("again", &app.address, "")]),
    )
    .expect("write");
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    wait_targets(&base, "the job added by SIGHUP", |t| {
        health_of(t, "again").as_deref() == Some("up")
    });
    assert!(server.terminate().success());

    let requests = samples(&data, "app_requests_total", "app");
    assert!(requests.len() >= 3, "{requests:?}");
    let (labels, _, _) = &requests[0];
    assert_eq!(
        labels,
        &format!(
            r#"{{__name__="app_requests_total", env="test", instance="{}", job="app", path="/"}}"#,
            app.address
        )
    );
    let values: Vec<f64> = requests.iter().map(|s| s.2).filter(|v| !v.is_nan()).collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "the counter grows: {values:?}");
    let last = requests.last().expect("samples");
    assert!(
        is_stale_nan(last.2),
        "the removed target's series ends stale: {requests:?}"
    );
    let times: Vec<i64> = requests.iter().map(|s| s.1).collect();
    let steps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        steps[..steps.len() - 1].iter().filter(|d| **d == 1000).count() * 2 >= steps.len() - 1,
        "scrape timestamps sit on the 1s grid: {steps:?}"
    );
    assert!(
        samples(&data, "go_goroutines", "app").is_empty(),
        "metric relabeling dropped go_*"
    );
    let up_app = samples(&data, "up", "app");
    assert!(up_app.iter().rev().skip(1).all(|s| s.2 == 1.0), "{up_app:?}");
    assert!(is_stale_nan(up_app.last().expect("up").2));
    let up_broken = samples(&data, "up", "broken");
    assert!(
        !up_broken.is_empty() && up_broken.iter().all(|s| s.2 == 0.0),
        "{up_broken:?}"
    );
    assert!(
        samples(&data, "ok", "broken").is_empty(),
        "nothing of a broken response is stored"
    );
    let added = samples(&data, "scrape_series_added", "app");
    assert_eq!(added[0].2, 2.0, "two series after relabeling");
    let post = samples(&data, "scrape_samples_post_metric_relabeling", "app");
    let scraped = samples(&data, "scrape_samples_scraped", "app");
    assert_eq!((scraped[0].2, post[0].2), (3.0, 2.0));
}

struct NodeExporter(Child);

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn scrapes_a_real_node_exporter() {
    let binary = "/usr/bin/prometheus-node-exporter";
    if !Path::new(binary).exists() {
        assert!(
            std::env::var_os("LOUPE_REQUIRE_NODE_EXPORTER").is_none(),
            "{binary} is required (apt-get install prometheus-node-exporter)"
        );
        eprintln!("SKIPPED: {binary} is not installed (apt-get install prometheus-node-exporter)");
        return;
    }
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let _exporter = NodeExporter(
        Command::new(binary)
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config_path = dir.path().join("loupe.yml");
    std::fs::write(&config_path, config(&[("node", &address, "")])).expect("write config");
    let server = common::Server::start(&data, &["--config", config_path.to_str().expect("utf-8 path")]);
    let base = server.base.clone();
    wait_targets(&base, "node exporter up", |t| {
        health_of(t, "node").as_deref() == Some("up")
    });
    let metadata = get_json(&format!("{base}/api/v1/metadata?metric=node_cpu_seconds_total"));
    assert_eq!(
        metadata["data"]["node_cpu_seconds_total"][0]["type"], "counter",
        "{metadata:#}"
    );
    assert!(server.terminate().success());
    let cpu = samples(&data, "node_cpu_seconds_total", "node");
    assert!(!cpu.is_empty());
    let idle = cpu
        .iter()
        .find(|s| s.0.contains(r#"cpu="0""#) && s.0.contains(r#"mode="idle""#))
        .expect("cpu 0 idle");
    assert_eq!(
        idle.0,
        format!(
            r#"{{__name__="node_cpu_seconds_total", cpu="0", env="test", instance="{address}", job="node", mode="idle"}}"#
        )
    );
    assert!(idle.2 > 0.0);
    let up = samples(&data, "up", "node");
    assert!(!up.is_empty() && up.iter().all(|s| s.2 == 1.0), "{up:?}");
    let scraped = samples(&data, "scrape_samples_scraped", "node");
    assert!(
        scraped[0].2 > 300.0,
        "a node exporter exposes hundreds of samples: {scraped:?}"
    );
}

#[test]
fn default_config_scrapes_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::Server::start(dir.path(), &[]);
    let targets = get_json(&format!("{}/api/v1/targets", server.base));
    let own = active(&targets, "loupe");
    assert_eq!(own.len(), 1, "{targets:#}");
    assert_eq!(own[0]["scrapeInterval"], "15s");
    assert_eq!(
        own[0]["scrapeUrl"],
        format!("{}/metrics", server.base),
        "the embedded config scrapes the address Loupe listens on"
    );
    let pools = get_json(&format!("{}/api/v1/scrape_pools", server.base));
    assert_eq!(pools["data"], serde_json::json!({"scrapePools": ["loupe"]}));
}

#[test]
fn config_errors_name_the_key_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "scrape_configs:\n  - job_name: a\n    scrape_intervall: 1s\n",
            "scrape_intervall",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    consul_sd_configs: []\n",
            "line 3: scrape_configs[0].consul_sd_configs is not supported",
        ),
        (
            "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
            "found multiple scrape configs with job name \"a\"",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
            "scrape timeout greater than scrape interval",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n",
            "modulus",
        ),
        (
            "alerting:\n  alert_relabel_configs: []\n",
            "line 2: alerting.alert_relabel_configs is not supported",
        ),
        (
            "remote_write:\n  - url: http://x\n",
            "line 1: remote_write is not supported",
        ),
        ("rule_files: ['missing/[']\n", "rule_files: invalid pattern"),
        (
            "scrape_configs:\n  - job_name: a\n    tls_config: { ca: x, ca_file: y }\n",
            "at most one of ca and ca_file must be configured",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    tls_config: { cert_file: c.pem }\n",
            "exactly one of key or key_file must be configured when a client certificate is configured",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    tls_config: { ca_file: /nonexistent/ca.pem }\n",
            "tls_config ca: reading /nonexistent/ca.pem",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    tls_config: { max_version: TLS11 }\n",
            "Loupe speaks TLS 1.2 and 1.3 only",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.yml");
        std::fs::write(&path, text).expect("write");
        let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .output()
            .expect("run loupe");
        assert!(!output.status.success(), "{text} should be rejected");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{text:?}: expected {expected:?} in {stderr}");
    }
}

/// A certificate authority for the TLS test: its PEM and what signs with it.
struct Authority {
    pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        let pem = params.self_signed(&key).expect("self-signed").pem();
        Authority {
            pem,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// (certificate PEM, key PEM) for `name`.
    fn issue(&self, name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    }
}

/// A TLS server configuration with `cert`, requiring client certificates of `clients` if given.
fn tls_server(cert: &(String, String), clients: Option<&Authority>) -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = match clients {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).expect("pem"))
                .expect("root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let chain = vec![CertificateDer::from_pem_slice(cert.0.as_bytes()).expect("cert pem")];
    let key = PrivateKeyDer::from_pem_slice(cert.1.as_bytes()).expect("key pem");
    std::sync::Arc::new(builder.with_single_cert(chain, key).expect("server config"))
}

#[test]
fn scrapes_over_tls_with_its_own_ca_server_name_and_client_certificates() {
    let ca = Authority::new("loupe test ca");
    let clients = Authority::new("loupe test clients");
    let server_cert = ca.issue("scrape.test");
    let body =
        |job: &'static str| -> common::target::Body { Box::new(move |n| format!("tls_served{{via=\"{job}\"}} {n}\n")) };
    let plain = FakeTarget::start_tls(
        "text/plain; version=0.0.4",
        tls_server(&server_cert, None),
        body("plain"),
    );
    let mutual = FakeTarget::start_tls(
        "text/plain; version=0.0.4",
        tls_server(&server_cert, Some(&clients)),
        body("mutual"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write pem");
        path.to_str().expect("utf-8 path").to_string()
    };
    let ca_file = write("ca.pem", &ca.pem);
    let (client_cert, client_key) = clients.issue("loupe");
    let key_file = write("client-key.pem", &client_key);
    let tls = |extra: &str| format!("    scheme: https\n    tls_config:\n      ca_file: {ca_file}\n{extra}");
    let named = tls("      server_name: scrape.test\n");
    let unnamed = tls("");
    let insecure = "    scheme: https\n    tls_config:\n      insecure_skip_verify: true\n".to_string();
    // The client certificate inline and the key from a file: both spellings work.
    let indented = client_cert.trim_end().replace('\n', "\n        ");
    let with_cert = tls(&format!(
        "      server_name: scrape.test\n      cert: |\n        {indented}\n      key_file: {key_file}\n"
    ));
    let config_path = dir.path().join("loupe.yml");
    std::fs::write(
        &config_path,
        config(&[
            ("named", &plain.address, &named),
            ("unnamed", &plain.address, &unnamed),
            ("insecure", &plain.address, &insecure),
            ("mutual", &mutual.address, &with_cert),
            ("anonymous", &mutual.address, &named),
        ]),
    )
    .expect("write config");
    let server = common::Server::start(
        &dir.path().join("data"),
        &["--config", config_path.to_str().expect("utf-8 path")],
    );
    let base = server.base.clone();
    let jobs = ["named", "unnamed", "insecure", "mutual", "anonymous"];
    let targets = wait_targets(&base, "every TLS job scraped once", |t| {
        jobs.iter().all(|job| health_of(t, job).is_some_and(|h| h != "unknown"))
    });
    let health: Vec<_> = jobs
        .iter()
        .map(|job| health_of(&targets, job).unwrap_or_default())
        .collect();
    assert_eq!(health, ["up", "down", "up", "up", "down"], "{targets:#}");
    let error = |job: &str| {
        active(&targets, job)[0]["lastError"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        active(&targets, "named")[0]["scrapeUrl"],
        format!("https://{}/metrics", plain.address)
    );
    assert!(
        error("unnamed").contains("certificate") && error("unnamed").contains("not valid for name"),
        "{}",
        error("unnamed")
    );
    assert!(!error("anonymous").is_empty());
    // The samples of the successful jobs are stored with their labels.
    let response = get_json(&format!(
        "{base}/api/v1/query?query=count%20by%20(job,via)%20(tls_served)"
    ));
    let mut series: Vec<String> = response["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["metric"]["job"].as_str().unwrap_or(""),
                s["metric"]["via"].as_str().unwrap_or("")
            )
        })
        .collect();
    series.sort();
    assert_eq!(series, ["insecure/plain", "mutual/mutual", "named/plain"]);
}

#[test]
fn body_size_limit_fails_the_scrape_after_decompression() {
    let big = || -> common::target::Body { Box::new(|n| format!("padding{{x=\"{}\"}} {n}\n", "y".repeat(3000))) };
    let plain = FakeTarget::start("text/plain; version=0.0.4", big());
    let compressed = FakeTarget::start_with("text/plain; version=0.0.4", true, big());
    let small = FakeTarget::start("text/plain; version=0.0.4", Box::new(|n| format!("small {n}\n")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("loupe.yml");
    let limit = "    body_size_limit: 1KB\n";
    std::fs::write(
        &config_path,
        config(&[
            ("plain", &plain.address, limit),
            ("compressed", &compressed.address, limit),
            ("small", &small.address, limit),
        ]),
    )
    .expect("write config");
    let server = common::Server::start(
        &dir.path().join("data"),
        &["--config", config_path.to_str().expect("utf-8 path")],
    );
    let jobs = ["plain", "compressed", "small"];
    let targets = wait_targets(&server.base, "every job scraped once", |t| {
        jobs.iter().all(|job| health_of(t, job).is_some_and(|h| h != "unknown"))
    });
    let health: Vec<_> = jobs
        .iter()
        .map(|job| health_of(&targets, job).unwrap_or_default())
        .collect();
    assert_eq!(health, ["down", "down", "up"], "{targets:#}");
    for job in ["plain", "compressed"] {
        assert_eq!(
            active(&targets, job)[0]["lastError"],
            "body size limit exceeded (limit: 1024 bytes)",
            "{job}"
        );
    }
    // The compressed response really was compressed (and only its inflated size was too big).
    assert_eq!(compressed.last_header("accept-encoding").as_deref(), Some("gzip"));
}
