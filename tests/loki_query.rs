//! The requests Grafana's Loki data source sends, replayed against the real binary (in the order
//! of a session: health check, label lookups, series, index stats, a logs query with
//! categorize-labels, a metric query, the log-volume histogram, detected fields, volume, live
//! tail), each answer parsed the way Grafana parses it; key responses pinned as snapshots.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// 2023-11-14T22:13:20Z, the first entry of the test data.
const T0: i64 = 1_700_000_000;
const NS: i64 = 1_000_000_000;

const CONFIG: &str = "global: {}
storage:
  logs:
    retention_time: 0s
    commit_interval: 100ms
limits_config:
  reject_old_samples: false
";

/// Two streams over one minute: `web` writes logfmt (every fifth line an error), `db` writes
/// JSON with a `trace_id` in structured metadata.
fn push_body() -> Value {
    let mut web = Vec::new();
    let mut db = Vec::new();
    for i in 0..60i64 {
        let ts = ((T0 + i) * NS).to_string();
        let (level, status) = if i % 5 == 0 { ("error", 500) } else { ("info", 200) };
        web.push(json!([
            ts,
            format!(
                "level={level} status={status} took={}ms path=/api/{i} msg=\"request done\"",
                10 + i
            )
        ]));
        db.push(json!([
            ts,
            format!(r#"{{"level":"warn","rows":{},"query":"select {i}"}}"#, i % 3),
            {"trace_id": format!("t{i}")}
        ]));
    }
    json!({"streams": [
        {"stream": {"app": "web", "env": "prod"}, "values": web},
        {"stream": {"app": "db", "env": "prod"}, "values": db},
    ]})
}

struct Session {
    server: common::Server,
    _config: tempfile::TempPath,
    _dir: tempfile::TempDir,
    client: reqwest::blocking::Client,
}

impl Session {
    fn start() -> Session {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = tempfile::Builder::new()
            .suffix(".yml")
            .tempfile()
            .expect("config")
            .into_temp_path();
        std::fs::write(&config, CONFIG).expect("write config");
        let server = common::Server::start(dir.path(), &["--config", config.to_str().expect("utf-8")]);
        let client = common::client();
        let response = client
            .post(format!("{}/loki/api/v1/push", server.base))
            .header("Content-Type", "application/json")
            .body(push_body().to_string())
            .send()
            .expect("push");
        assert_eq!(
            response.status().as_u16(),
            204,
            "{}",
            response.text().unwrap_or_default()
        );
        let session = Session {
            server,
            _config: config,
            _dir: dir,
            client,
        };
        session.wait_searchable();
        session
    }

    /// Waits for the commit that makes the pushed lines searchable.
    fn wait_searchable(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, body) = self.get(
                "/loki/api/v1/query",
                &[
                    ("query", "sum(count_over_time({env=\"prod\"}[5m]))"),
                    ("time", "1700000100"),
                ],
                &[],
            );
            if body["data"]["result"][0]["value"][1] == json!("120") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pushed lines never became searchable: {body}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A GET as Grafana sends it; returns the status and the body (JSON, or a string for text).
    fn get(&self, path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.client.get(url(&self.server.base, path, query));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let text = response.text().expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    fn raw(&self, path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> String {
        let mut request = self.client.get(url(&self.server.base, path, query));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().expect("request").text().expect("body")
    }
}

/// `base` + `path` + the URL-encoded query.
fn url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if pairs.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", pairs.join("&"))
    }
}

fn ns(secs: i64) -> String {
    (secs * NS).to_string()
}

/// What Grafana's `ReadPrometheusStyleResult` needs: status success, `data.resultType`, and for
/// streams with categorize-labels, `encodingFlags` written before `result`.
fn grafana_parse(raw: &str) -> Value {
    let value: Value = serde_json::from_str(raw).expect("grafana reads JSON");
    assert_eq!(value["status"], "success", "{raw}");
    if let (Some(flags), Some(result)) = (raw.find("\"encodingFlags\""), raw.find("\"result\"")) {
        assert!(flags < result, "encodingFlags must precede result: {raw}");
    }
    value
}

/// The `data` without the timing-dependent `stats`.
fn without_stats(mut value: Value) -> Value {
    if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
        data.remove("stats");
    }
    value
}

#[test]
fn grafana_session() {
    let s = Session::start();
    let (start, end) = (ns(T0), ns(T0 + 60));

    // Save & test.
    let raw = s.raw(
        "/loki/api/v1/query",
        &[
            ("direction", "backward"),
            ("query", "vector(1)+vector(1)"),
            ("time", "4000000000"),
        ],
        &[],
    );
    let health = grafana_parse(&raw);
    assert_eq!(health["data"]["resultType"], "vector");
    assert_eq!(health["data"]["result"].as_array().map(Vec::len), Some(1));
    assert_eq!(health["data"]["result"][0]["value"], json!([4000000000u64, "2"]));

    // Label browser.
    let (status, labels) = s.get("/loki/api/v1/labels", &[("start", &start), ("end", &end)], &[]);
    assert_eq!(status, 200);
    assert_eq!(
        labels,
        json!({"status": "success", "data": ["app", "env", "service_name"]})
    );
    let (_, values) = s.get(
        "/loki/api/v1/label/app/values",
        &[("start", &start), ("end", &end)],
        &[],
    );
    assert_eq!(values, json!({"status": "success", "data": ["db", "web"]}));
    let (_, values) = s.get(
        "/loki/api/v1/label/app/values",
        &[("start", &start), ("end", &end), ("query", "{app=~\"w.*\"}")],
        &[],
    );
    assert_eq!(values["data"], json!(["web"]));
    let (_, series) = s.get(
        "/loki/api/v1/series",
        &[("match[]", "{app=\"web\"}"), ("start", &start), ("end", &end)],
        &[],
    );
    assert_eq!(
        series,
        json!({"status": "success", "data": [{"app": "web", "env": "prod", "service_name": "web"}]})
    );

    // Query-size hint.
    let (_, stats) = s.get(
        "/loki/api/v1/index/stats",
        &[("query", "{app=\"web\"}"), ("start", &start), ("end", &end)],
        &[],
    );
    assert_eq!(stats["streams"], 1);
    assert_eq!(stats["entries"], 60);
    assert!(stats["bytes"].as_u64().is_some_and(|b| b > 60 * 40), "{stats}");

    // Logs query with categorize-labels.
    let raw = s.raw(
        "/loki/api/v1/query_range",
        &[
            ("direction", "backward"),
            ("limit", "3"),
            ("query", "{app=\"web\"} |= \"error\" | logfmt | status >= 500"),
            ("start", &start),
            ("end", &end),
            ("step", "60000ms"),
        ],
        &[
            ("X-Loki-Response-Encoding-Flags", "categorize-labels"),
            ("X-Query-Tags", "Source=logsample"),
        ],
    );
    let logs = grafana_parse(&raw);
    insta::assert_json_snapshot!("loki_logs_categorized", without_stats(logs));

    // The same without the flag: parsed labels folded into the streams.
    let raw = s.raw(
        "/loki/api/v1/query_range",
        &[
            ("direction", "forward"),
            ("limit", "2"),
            ("query", "{app=\"db\"} | json | rows > 1"),
            ("start", &start),
            ("end", &end),
        ],
        &[],
    );
    insta::assert_json_snapshot!("loki_logs_plain", without_stats(grafana_parse(&raw)));

    // Metric query.
    let raw = s.raw(
        "/loki/api/v1/query_range",
        &[
            ("direction", "backward"),
            ("query", "sum by (app) (count_over_time({env=\"prod\"} |= \"\" [30s]))"),
            ("start", &ns(T0 + 30)),
            ("end", &ns(T0 + 60)),
            ("step", "15000ms"),
        ],
        &[],
    );
    insta::assert_json_snapshot!("loki_metric_range", without_stats(grafana_parse(&raw)));

    // Log-volume histogram: the window (t-1m, t] leaves out the error line at T0.
    let raw = s.raw(
        "/loki/api/v1/query_range",
        &[
            ("direction", "backward"),
            (
                "query",
                "sum by (level, detected_level) (count_over_time({app=\"web\"} | logfmt | drop __error__[1m]))",
            ),
            ("start", &ns(T0 + 60)),
            ("end", &ns(T0 + 60)),
            ("step", "60000ms"),
        ],
        &[("X-Query-Tags", "Source=logvolhist")],
    );
    let hist = grafana_parse(&raw);
    let mut counts: Vec<(String, String)> = hist["data"]["result"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|s| {
            (
                s["metric"]["level"].as_str().unwrap_or("").to_string(),
                s["values"][0][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        vec![("error".into(), "11".into()), ("info".into(), "48".into())]
    );

    // An instant metric query and errors.
    let (status, instant) = s.get(
        "/loki/api/v1/query",
        &[
            ("query", "topk(1, sum by (app) (bytes_over_time({env=\"prod\"}[5m])))"),
            ("time", &ns(T0 + 60)),
        ],
        &[],
    );
    assert_eq!(status, 200, "{instant}");
    assert_eq!(instant["data"]["result"].as_array().map(Vec::len), Some(1));
    let (status, error) = s.get("/loki/api/v1/query_range", &[("query", "{app=\"web\"")], &[]);
    assert_eq!(status, 400);
    assert!(
        error
            .as_str()
            .is_some_and(|e| e.starts_with("parse error at line 1, col")),
        "{error}"
    );
    let (status, error) = s.get(
        "/loki/api/v1/query_range",
        &[
            ("query", "count_over_time({app=\"db\"} | logfmt --strict [1m])"),
            ("start", &start),
            ("end", &end),
        ],
        &[],
    );
    assert_eq!(status, 400);
    assert!(
        error
            .as_str()
            .is_some_and(|e| e.starts_with("pipeline error: 'LogfmtParserErr'")),
        "{error}"
    );
    let (status, _) = s.get("/loki/api/v1/query", &[("query", "{app=\"web\"}")], &[]);
    assert_eq!(status, 400);

    // Detected fields, volume, format_query, ready.
    let (_, fields) = s.get(
        "/loki/api/v1/detected_fields",
        &[("query", "{app=\"web\"}"), ("start", &start), ("end", &end)],
        &[],
    );
    let names: Vec<&str> = fields["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["label"].as_str())
        .collect();
    assert_eq!(names, vec!["detected_level", "level", "msg", "path", "status", "took"]);
    let (_, volume) = s.get(
        "/loki/api/v1/index/volume",
        &[
            ("query", "{env=\"prod\"}"),
            ("start", &start),
            ("end", &end),
            ("targetLabels", "app"),
        ],
        &[],
    );
    let apps: Vec<&str> = volume["data"]["result"]
        .as_array()
        .expect("vector")
        .iter()
        .filter_map(|r| r["metric"]["app"].as_str())
        .collect();
    assert_eq!(apps.len(), 2, "{volume}");
    let (_, volume) = s.get(
        "/loki/api/v1/index/volume_range",
        &[
            ("query", "{env=\"prod\"}"),
            ("start", &start),
            ("end", &end),
            ("step", "60"),
            ("targetLabels", "app"),
        ],
        &[],
    );
    assert_eq!(volume["data"]["resultType"], "matrix", "{volume}");
    let mut totals: Vec<(String, f64)> = volume["data"]["result"]
        .as_array()
        .expect("matrix")
        .iter()
        .map(|r| {
            let total = r["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p[1].as_str()?.parse::<f64>().ok())
                .sum();
            (r["metric"]["app"].as_str().unwrap_or("").to_string(), total)
        })
        .collect();
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    // Each step counts the bytes of the minute before it: the last step holds all 60 lines but the
    // first (the window (T0, T0+60] excludes T0).
    assert_eq!(totals.len(), 2, "{volume}");
    assert!(totals.iter().all(|(_, bytes)| *bytes > 59.0 * 30.0), "{volume}");
    let (_, values) = s.get(
        "/loki/api/v1/detected_field/status/values",
        &[("query", "{app=\"web\"}"), ("start", &start), ("end", &end)],
        &[],
    );
    assert_eq!(values, json!({"values": ["200", "500"], "limit": 1000}));
    let (_, detected) = s.get("/loki/api/v1/detected_labels", &[("start", &start), ("end", &end)], &[]);
    assert_eq!(
        detected,
        json!({"detectedLabels": [
            {"label": "app", "cardinality": 2},
            {"label": "env", "cardinality": 1},
            {"label": "service_name", "cardinality": 2}
        ]})
    );
    let (_, formatted) = s.get(
        "/loki/api/v1/format_query",
        &[("query", "sum(rate({app=\"web\"}|=\"x\"[1m]))")],
        &[],
    );
    assert_eq!(
        formatted,
        json!({"status": "success", "data": "sum(rate({app=\"web\"} |= \"x\"[1m]))"})
    );
    let (status, _) = s.get("/ready", &[], &[]);
    assert_eq!(status, 200);
}

#[test]
fn tail_sends_newest_history_then_new_lines() {
    let s = Session::start();
    let url = format!(
        "{}/loki/api/v1/tail?query=%7Bapp%3D%22web%22%7D%20%7C%3D%20%22error%22&limit=3&start={}",
        s.server.base.replacen("http://", "ws://", 1),
        ns(T0)
    );
    let (mut socket, _) = tungstenite::connect(url.as_str()).expect("websocket");
    if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_mut() {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
    }
    let first = read_frame(&mut socket);
    let lines = frame_lines(&first);
    let paths: Vec<&str> = lines.iter().filter_map(|l| l.split_whitespace().nth(3)).collect();
    assert_eq!(paths, vec!["path=/api/45", "path=/api/50", "path=/api/55"], "{first}");
    // A new line arrives after the connection opened.
    let now = logs::store::now_ns().to_string();
    let body = json!({"streams": [{"stream": {"app": "web", "env": "prod"}, "values": [[now, "level=error live=1"]]}]});
    let response = s
        .client
        .post(format!("{}/loki/api/v1/push", s.server.base))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .expect("push");
    assert_eq!(response.status().as_u16(), 204);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline && !seen.iter().any(|l: &String| l.contains("live=1")) {
        let frame = read_frame(&mut socket);
        seen.extend(frame_lines(&frame));
    }
    assert!(
        seen.iter().any(|l| l.contains("live=1")),
        "live line never arrived: {seen:?}"
    );
    // The history was the newest 3 error lines; older ones are not sent afterwards.
    assert_eq!(
        seen.iter().filter(|l| l.contains("level=error status")).count(),
        0,
        "{seen:?}"
    );
}

fn read_frame(socket: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>) -> Value {
    loop {
        match socket.read().expect("frame") {
            tungstenite::Message::Text(text) => return serde_json::from_str(text.as_str()).expect("json frame"),
            tungstenite::Message::Close(_) => panic!("server closed the tail"),
            _ => continue,
        }
    }
}

fn frame_lines(frame: &Value) -> Vec<String> {
    frame["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v[1].as_str().map(str::to_string))
        .collect()
}
