//! The dashboard in a real browser: Debian's headless Chromium driven through chromium-driver
//! (WebDriver) against the real binary, which scrapes a fake target labelled `container="web"` and
//! holds pushed log lines of the same container.
//!
//! It types a PromQL query and checks the graph drew both series, switches to the table, follows
//! the metrics → logs link and checks the lines shown (newest first), the way back, a filtered
//! query's highlights and volume histogram, live tail, the built-in dashboards and the status
//! page, and finally that the page made no request outside the server. Screenshots of each page
//! are written to `target/tmp/ui-screenshots/`.
//!
//! Without `/usr/bin/chromedriver` the test says it skipped, unless `LOUPE_REQUIRE_CHROMIUM=1`
//! (CI sets it), when it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use common::target::{FakeTarget, free_port};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(30);

/// chromedriver on an ephemeral loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let client = common::client();
        let deadline = Instant::now() + WAIT;
        while client.get(format!("{url}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_ns() -> i64 {
    logs::store::now_ns()
}

/// The pushed lines of `container="web"`, oldest first: (offset before now in seconds, level, text).
const LINES: &[(i64, &str, &str)] = &[
    (50, "info", "GET /products 200 in 8ms"),
    (45, "info", "GET /checkout 200 in 31ms"),
    (40, "error", "POST /checkout failed: payment gateway timeout"),
    (35, "info", "GET /products/42 200 in 5ms"),
    (30, "warn", "slow query on orders table took 1.2s"),
    (25, "info", "GET /cart 200 in 4ms"),
    (20, "error", "POST /checkout failed: card declined"),
    (15, "info", "GET /products 200 in 7ms"),
    (10, "info", "GET /health 200 in 1ms"),
    (5, "info", "GET /cart 200 in 3ms"),
];

fn push_lines(base: &str, lines: &[(i64, String)]) {
    push_stream(base, "web", lines);
}

fn push_stream(base: &str, container: &str, lines: &[(i64, String)]) {
    let values: Vec<Value> = lines.iter().map(|(ts, line)| json!([ts.to_string(), line])).collect();
    let body = json!({"streams": [{"stream": {"container": container, "namespace": "shop"}, "values": values}]});
    let response = common::client()
        .post(format!("{base}/loki/api/v1/push"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .expect("push");
    assert_eq!(response.status().as_u16(), 204);
}

fn instant(base: &str, query: &str) -> Value {
    let response = common::client()
        .get(format!("{base}/api/v1/query?query={}", urlencode(query)))
        .send()
        .expect("query");
    serde_json::from_str(&response.text().expect("body")).expect("json")
}

/// Runs `script` (a function body returning a value) until it returns something truthy.
async fn wait_js(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let value = client.execute(script, vec![]).await.expect("execute script");
        let truthy = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(_) => true,
        };
        if truthy {
            return value;
        }
        if Instant::now() > deadline {
            let body = client
                .execute("return document.body.innerText.slice(0, 2000)", vec![])
                .await
                .unwrap_or_default();
            panic!("timed out waiting for {what}; page text: {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element matching a CSS selector.
async fn click(client: &Client, selector: &str) {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
}

async fn screenshot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn texts(client: &Client, selector: &str) -> Vec<String> {
    let script = format!("return [...document.querySelectorAll({selector:?})].map(e => e.textContent)");
    let value = client.execute(&script, vec![]).await.expect("execute");
    serde_json::from_value(value).expect("strings")
}

async fn no_error_messages(client: &Client, page: &str) {
    let errors = texts(client, ".message.error, .query-error").await;
    let errors: Vec<&String> = errors.iter().filter(|t| !t.is_empty()).collect();
    assert!(errors.is_empty(), "{page} shows errors: {errors:?}");
}

#[test]
fn dashboard_in_chromium() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("LOUPE_REQUIRE_CHROMIUM").is_none(),
            "LOUPE_REQUIRE_CHROMIUM is set but {CHROMEDRIVER} or {CHROMIUM} is missing (apt install chromium chromium-driver)"
        );
        eprintln!("skipped: the browser test needs Debian's chromium and chromium-driver");
        return;
    }
    let target = FakeTarget::start(
        "text/plain; version=0.0.4",
        Box::new(|n| {
            format!(
                "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {}\nhttp_requests_total{{code=\"500\"}} {}\n",
                10 * n,
                n
            )
        }),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("loupe.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: web\n    static_configs:\n      - targets: ['{}']\n        labels:\n          container: web\n",
            target.address
        ),
    )
    .expect("write config");
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: web\n    rules:\n      - alert: WebServerErrors\n        expr: http_requests_total{code=\"500\"} > 0\n        labels: {severity: warn}\n        annotations:\n          summary: '{{ $labels.container }} answers 500s'\n",
    )
    .expect("write rules");
    let data = dir.path().join("data");
    let server = common::Server::start(&data, &["--config", config.to_str().expect("utf-8")]);
    let base = server.base.clone();
    let now = now_ns();
    let lines: Vec<(i64, String)> = LINES
        .iter()
        .map(|(ago, level, text)| (now - ago * 1_000_000_000, format!("level={level} msg=\"{text}\"")))
        .collect();
    push_lines(&base, &lines);
    // A second container with more lines than one page, for loading older lines on scroll.
    let batch: Vec<(i64, String)> = (0..250)
        .map(|i| (now - 120_000_000_000 + i * 100_000_000, format!("batch line {i:03}")))
        .collect();
    push_stream(&base, "batch", &batch);

    // Wait for three scrapes so the graph has lines to draw.
    let deadline = Instant::now() + WAIT;
    loop {
        let v = instant(&base, "min(count_over_time(http_requests_total[1m]))");
        let n: f64 = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        if n >= 3.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the fake target was not scraped: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let profile = tempfile::tempdir().expect("browser profile");
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1300,950",
                    // Any host but loopback fails to resolve: nothing can leave the machine.
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("webdriver session");
        let result = run_pages(&client, &base, &shots).await;
        let _ = client.close().await;
        result
    });
    drop(driver);
    drop(server);
    drop(target);
}

async fn run_pages(client: &Client, base: &str, shots: &Path) {
    // 1. Metrics explorer: type a query, press Enter, the graph draws both series.
    client
        .goto(&format!("{base}/#/metrics?from=now-5m&to=now"))
        .await
        .expect("open metrics");
    let input = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("textarea.query-input"))
        .await
        .expect("query box");
    input.send_keys("http_requests_total").await.expect("type");
    input.send_keys("\u{e00c}\u{e007}").await.expect("escape, enter");
    wait_js(
        client,
        "two series drawn",
        "const c = document.querySelector('.result-graph canvas.chart-canvas'); return c && c.dataset.series === '2' && Number(c.dataset.points) >= 6",
    )
    .await;
    let legend = texts(client, ".result-graph .chart-legend-row .chart-legend-name").await;
    assert_eq!(legend.len(), 2, "{legend:?}");
    assert!(legend.iter().any(|t| t.contains("code=\"200\"")), "{legend:?}");
    assert!(
        legend
            .iter()
            .any(|t| t.contains("code=\"500\"") && t.contains("container=\"web\"")),
        "{legend:?}"
    );
    assert_eq!(
        texts(client, ".result-graph .logs-link").await.len(),
        2,
        "a logs link per series"
    );
    let hash = client.execute("return location.hash", vec![]).await.expect("hash");
    assert!(
        hash.as_str().unwrap_or("").contains("q=http_requests_total"),
        "state in the URL: {hash}"
    );
    no_error_messages(client, "metrics").await;

    // Hover read-out: the tooltip lists both series at the cursor.
    let canvas = client
        .find(Locator::Css(".result-graph canvas.chart-canvas"))
        .await
        .expect("canvas");
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: canvas.clone(),
        duration: None,
        x: 150.0,
        y: 0.0,
    });
    client.perform_actions(hover).await.expect("hover");
    wait_js(
        client,
        "tooltip",
        "const t = document.querySelector('.result-graph .chart-tooltip'); return t && !t.hidden && t.querySelectorAll('.chart-tooltip-row').length === 2",
    )
    .await;
    screenshot(client, shots, "metrics-graph").await;
    // Drag to zoom: the range becomes absolute times in the URL.
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: canvas,
            duration: None,
            x: -200.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(200)),
            x: 300.0,
            y: 0.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(drag).await.expect("drag");
    let zoomed = wait_js(
        client,
        "zoomed range",
        "const p = new URLSearchParams(location.hash.split('?')[1]); return /^\\d{4}-/.test(p.get('from') || '') && /^\\d{4}-/.test(p.get('to') || '') ? p.get('from') + ' ' + p.get('to') : ''",
    )
    .await;
    assert!(zoomed.as_str().unwrap_or("").ends_with('Z'), "{zoomed}");
    client.back().await.expect("back to the unzoomed view");

    // An unfinished query shows the parse error inline, with its position.
    input.clear().await.expect("clear");
    input.send_keys("sum(rate(").await.expect("type");
    let error = wait_js(
        client,
        "inline parse error",
        "return document.querySelector('.query-error').textContent",
    )
    .await;
    assert!(error.as_str().unwrap_or("").contains("1:"), "{error}");
    input.clear().await.expect("clear");
    input.send_keys("http_requests_total").await.expect("type");
    input.send_keys("\u{e00c}\u{e007}").await.expect("escape, enter");

    // The table view of the instant query.
    click(client, "button[data-tab=table]").await;
    wait_js(
        client,
        "table rows",
        "return document.querySelectorAll('.result-table tbody tr').length === 2",
    )
    .await;
    screenshot(client, shots, "metrics-table").await;
    click(client, "button[data-tab=graph]").await;
    wait_js(
        client,
        "graph again",
        "const c = document.querySelector('.result-graph canvas.chart-canvas'); return c && c.dataset.series === '2'",
    )
    .await;

    // 2. Metrics → logs: the series' link opens the logs of its container for the same range.
    click(client, ".result-graph .logs-link").await;
    wait_js(
        client,
        "log lines",
        &format!(
            "return document.querySelectorAll('.log-line').length === {}",
            LINES.len()
        ),
    )
    .await;
    let hash = client
        .execute("return decodeURIComponent(location.hash)", vec![])
        .await
        .expect("hash");
    assert!(
        hash.as_str().unwrap_or("").starts_with("#/logs?q={container=\"web\"}"),
        "{hash}"
    );
    let shown = texts(client, ".log-line .log-text").await;
    let newest_first: Vec<String> = LINES
        .iter()
        .rev()
        .map(|(_, level, text)| format!("level={level} msg=\"{text}\""))
        .collect();
    assert_eq!(shown, newest_first);
    wait_js(
        client,
        "volume bars",
        "const c = document.querySelector('.volume canvas.chart-canvas'); return c && c.dataset.series === '3'",
    )
    .await;
    let levels = texts(client, ".volume .chart-legend-name").await;
    assert_eq!(levels, ["error", "warn", "info"]);
    no_error_messages(client, "logs").await;
    screenshot(client, shots, "logs").await;

    // And back: a line's metrics link opens the container's series.
    click(client, ".log-line .metrics-link").await;
    wait_js(client, "container series", "const c = document.querySelector('.result-graph canvas.chart-canvas'); return c && Number(c.dataset.series) >= 3").await;
    let legend = texts(client, ".result-graph .chart-legend-name").await;
    assert!(legend.iter().all(|t| t.contains("container=\"web\"")), "{legend:?}");
    assert!(
        legend.iter().any(|t| t.starts_with("http_requests_total{")),
        "{legend:?}"
    );

    // 3. A filtered query: only matching lines, the matches highlighted.
    let q = "{container=\"web\"} |= \"checkout\"";
    let url = format!("{base}/#/logs?q={}&from=now-10m&to=now", urlencode(q));
    client.goto(&url).await.expect("open logs");
    wait_js(
        client,
        "filtered lines",
        "return document.querySelectorAll('.log-line').length === 3",
    )
    .await;
    let marks = texts(client, ".log-line mark").await;
    assert_eq!(marks, ["checkout", "checkout", "checkout"]);

    // 4. Live tail: a line pushed now appears without reloading.
    click(client, "button.live-toggle").await;
    wait_js(
        client,
        "tail started",
        "return document.querySelector('.log-info').textContent.includes('live')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The blocking HTTP client must not run on the async test's thread.
    let push_base = base.to_string();
    std::thread::spawn(move || {
        push_lines(
            &push_base,
            &[(now_ns(), "level=info msg=\"GET /checkout 200 tail-marker-7f3a\"".into())],
        );
    })
    .join()
    .expect("push thread");
    wait_js(client, "tailed line", "return [...document.querySelectorAll('.log-line .log-text')].some(e => e.textContent.includes('tail-marker-7f3a'))").await;
    screenshot(client, shots, "logs-live").await;
    click(client, "button.live-toggle").await;

    // Older lines load when the end of the list scrolls into view.
    let url = format!(
        "{base}/#/logs?q={}&from=now-10m&to=now",
        urlencode("{container=\"batch\"}")
    );
    client.goto(&url).await.expect("open batch logs");
    wait_js(
        client,
        "first page",
        "return document.querySelectorAll('.log-line').length === 100",
    )
    .await;
    // Pages overlap by the oldest line shown (de-duplicated), so the counts go 100, 199, 250.
    for want in [199, 250] {
        client
            .execute("document.querySelector('.log-sentinel').scrollIntoView()", vec![])
            .await
            .expect("scroll");
        wait_js(
            client,
            "next page",
            &format!("return document.querySelectorAll('.log-line').length === {want}"),
        )
        .await;
    }
    wait_js(
        client,
        "end of range",
        "return document.querySelector('.log-sentinel').textContent.includes('no older lines')",
    )
    .await;
    let shown = texts(client, ".log-line .log-text").await;
    let expected: Vec<String> = (0..250).rev().map(|i| format!("batch line {i:03}")).collect();
    assert_eq!(shown, expected, "every line once, newest first");

    // 5. Built-in dashboards.
    client
        .goto(&format!(
            "{base}/#/dashboards?id=containers&var-container=web&from=now-5m&to=now"
        ))
        .await
        .expect("open dashboard");
    wait_js(
        client,
        "dashboard panels",
        "return document.querySelectorAll('.dashboard [data-panel-index]').length === 9",
    )
    .await;
    wait_js(client, "request rate drawn", "const c = document.querySelector('[data-panel-index=\"0\"] canvas.chart-canvas'); return c && c.dataset.series === '1'").await;
    wait_js(
        client,
        "error lines panel",
        "return document.querySelectorAll('[data-panel-index=\"8\"] .log-line').length === 2",
    )
    .await;
    screenshot(client, shots, "dashboard-containers").await;
    client
        .goto(&format!("{base}/#/dashboards?id=loupe-health&from=now-5m&to=now"))
        .await
        .expect("open dashboard");
    wait_js(
        client,
        "health panels",
        "return document.querySelectorAll('.dashboard [data-panel-index]').length === 12",
    )
    .await;
    screenshot(client, shots, "dashboard-health").await;

    // 6. Status: the scrape target is up.
    client
        .goto(&format!("{base}/#/status?tab=targets"))
        .await
        .expect("open status");
    wait_js(client, "target row", "return document.querySelector('main').textContent.includes('/metrics') && [...document.querySelectorAll('td .health-up')].length === 1").await;
    no_error_messages(client, "status").await;
    screenshot(client, shots, "status-targets").await;
    for tab in ["logs", "tsdb", "build"] {
        client
            .goto(&format!("{base}/#/status?tab={tab}"))
            .await
            .expect("open status tab");
        wait_js(client, tab, "return document.querySelectorAll('main table').length > 0").await;
        no_error_messages(client, tab).await;
        screenshot(client, shots, &format!("status-{tab}")).await;
    }

    // The dark theme: the toggle switches it and the chart redraws in its colours.
    client
        .goto(&format!("{base}/#/metrics?q=http_requests_total&from=now-5m&to=now"))
        .await
        .expect("open metrics");
    wait_js(
        client,
        "graph",
        "const c = document.querySelector('.result-graph canvas.chart-canvas'); return c && c.dataset.series === '2'",
    )
    .await;
    let before = client
        .execute("return getComputedStyle(document.body).backgroundColor", vec![])
        .await
        .expect("colour");
    click(client, "button.theme-toggle").await;
    let after = client
        .execute("return getComputedStyle(document.body).backgroundColor", vec![])
        .await
        .expect("colour");
    assert_ne!(before, after, "the theme toggle changes the page colours");
    screenshot(client, shots, "metrics-theme-toggled").await;

    // 7. Alerts: the firing rule, its alert, and the query behind it in the explorer.
    client.goto(&format!("{base}/#/alerts")).await.expect("open alerts");
    wait_js(
        client,
        "firing alert",
        "return document.querySelector('article.rule[data-rule=WebServerErrors][data-state=firing] .alerts-table tbody tr') !== null",
    )
    .await;
    let row = texts(client, "article.rule[data-rule=WebServerErrors] .alerts-table tbody tr").await;
    assert_eq!(row.len(), 1, "{row:?}");
    assert!(
        row[0].contains("container=\"web\"") && row[0].contains("web answers 500s"),
        "{row:?}"
    );
    no_error_messages(client, "alerts").await;
    screenshot(client, shots, "alerts").await;
    click(client, "article.rule[data-rule=WebServerErrors] .explorer-link").await;
    wait_js(
        client,
        "the rule's query graphed",
        "const c = document.querySelector('.result-graph canvas.chart-canvas'); return c && c.dataset.series === '1'",
    )
    .await;
    let query = client
        .execute("return document.querySelector('textarea.query-input').value", vec![])
        .await
        .expect("query");
    assert_eq!(query, "http_requests_total{code=\"500\"} > 0");

    // 8. Every request the page made went to this server.
    let urls: Vec<String> = serde_json::from_value(
        client
            .execute(
                "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map(e => e.name)",
                vec![],
            )
            .await
            .expect("resource timing"),
    )
    .expect("strings");
    assert!(urls.len() > 20, "too few requests recorded to mean anything: {urls:?}");
    let outside: Vec<&String> = urls.iter().filter(|u| !u.starts_with(base)).collect();
    assert!(outside.is_empty(), "requests outside the server: {outside:?}");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
