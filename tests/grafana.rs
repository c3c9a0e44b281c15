//! The requests Grafana's Prometheus data source sends, replayed against the real binary, with the
//! answers parsed the way Grafana parses them; key query-API responses pinned as snapshots.

mod common;

use serde_json::Value;

/// 2023-11-14T22:13:20Z, the first sample of the test data.
const T0: i64 = 1_700_000_000;

/// Two counters and a histogram over 10 minutes at 15 s, imported with explicit timestamps.
fn test_data() -> String {
    let mut text = String::from("# TYPE http_requests_total counter\n");
    for i in 0..=40 {
        let t = (T0 + i * 15) * 1000;
        text.push_str(&format!(
            "http_requests_total{{job=\"api\",instance=\"a:1\",code=\"200\"}} {} {t}\n",
            i * 10
        ));
        text.push_str(&format!(
            "http_requests_total{{job=\"api\",instance=\"b:1\",code=\"500\"}} {} {t}\n",
            i
        ));
        for (le, share) in [("0.1", 5), ("0.5", 8), ("+Inf", 10)] {
            text.push_str(&format!(
                "latency_seconds_bucket{{job=\"api\",le=\"{le}\"}} {} {t}\n",
                i * share
            ));
        }
    }
    text
}

struct Grafana {
    client: reqwest::blocking::Client,
    base: String,
}

impl Grafana {
    /// A form-encoded POST, keys sorted as Go's `url.Values.Encode` does; returns status and JSON.
    fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        pairs.sort();
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .expect("request");
        let status = response.status().as_u16();
        (status, parse_envelope(&response.text().expect("body")))
    }

    fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .expect("request");
        let status = response.status().as_u16();
        (status, parse_envelope(&response.text().expect("body")))
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Checks what Grafana's converter requires of every answer and returns the JSON.
fn parse_envelope(body: &str) -> Value {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    let status = value["status"].as_str().expect("status is a string");
    assert!(status == "success" || status == "error", "{body}");
    if status == "error" {
        assert!(value["errorType"].is_string() && value["error"].is_string(), "{body}");
    }
    if let Some(result) = value["data"].get("result") {
        check_result(value["data"]["resultType"].as_str().expect("resultType"), result);
    }
    value
}

/// Timestamps must be JSON numbers, values JSON strings that Go's ParseFloat accepts.
fn check_point(point: &Value) {
    let pair = point.as_array().expect("a [time, value] pair");
    assert_eq!(pair.len(), 2);
    assert!(pair[0].is_number(), "timestamp must be a number: {point}");
    let text = pair[1].as_str().expect("value must be a string");
    let ok = matches!(text, "NaN" | "+Inf" | "-Inf") || text.parse::<f64>().is_ok();
    assert!(ok, "value {text:?} must parse as a float");
}

fn check_result(kind: &str, result: &Value) {
    match kind {
        "scalar" | "string" => check_point(result),
        "vector" => {
            for sample in result.as_array().expect("vector is an array") {
                assert!(sample["metric"].is_object());
                check_point(&sample["value"]);
            }
        }
        "matrix" => {
            for series in result.as_array().expect("matrix is an array") {
                assert!(series["metric"].is_object());
                for point in series["values"].as_array().expect("values") {
                    check_point(point);
                }
            }
        }
        other => panic!("unknown resultType {other}"),
    }
}

#[test]
fn grafana_prometheus_data_source_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _config) = common::Server::start_quiet(dir.path(), &[]);
    let grafana = Grafana {
        client: common::client(),
        base: server.base.clone(),
    };
    let import = grafana
        .client
        .post(format!("{}/api/v1/import/prometheus", server.base))
        .body(test_data())
        .send()
        .expect("import");
    assert_eq!(import.status().as_u16(), 204, "{:?}", import.text());
    let (start, end) = (T0.to_string(), (T0 + 600).to_string());

    // Health check: instant 1+1 at time=4.
    let (status, body) = grafana.post("/api/v1/query", &[("query", "1+1"), ("time", "4")]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}})
    );

    // Version detection: semver, no `features` (so Grafana treats Loupe as Prometheus).
    let (status, body) = grafana.get("/api/v1/status/buildinfo");
    assert_eq!(status, 200);
    let version = body["data"]["version"].as_str().expect("version");
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "{version}"
    );
    assert!(body["data"].get("features").is_none());

    // A panel's range query.
    let (status, body) = grafana.post(
        "/api/v1/query_range",
        &[
            ("query", "sum by (code) (rate(http_requests_total[1m]))"),
            ("start", &start),
            ("end", &end),
            ("step", "60"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("grafana_range_query", body);

    // An instant query at the panel's "to".
    let (status, body) = grafana.post(
        "/api/v1/query",
        &[
            ("query", "histogram_quantile(0.9, rate(latency_seconds_bucket[5m]))"),
            ("time", &end),
        ],
    );
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("grafana_instant_query", body);

    // Metric, label and series lookups of the query editor.
    let (status, body) = grafana.get(&format!(
        "/api/v1/label/__name__/values?start={start}&end={end}&limit=40000"
    ));
    assert_eq!(status, 200);
    assert_eq!(
        body["data"],
        serde_json::json!(["http_requests_total", "latency_seconds_bucket"])
    );
    let (status, body) = grafana.post(
        "/api/v1/labels",
        &[
            ("limit", "40000"),
            ("match[]", "http_requests_total"),
            ("start", &start),
            ("end", &end),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(body["data"], serde_json::json!(["__name__", "code", "instance", "job"]));
    let (status, body) = grafana.get(&format!(
        "/api/v1/label/code/values?match[]={}&start={start}&end={end}&limit=40000",
        encode("http_requests_total{job=\"api\"}")
    ));
    assert_eq!(status, 200);
    assert_eq!(body["data"], serde_json::json!(["200", "500"]));
    let (status, body) = grafana.post(
        "/api/v1/series",
        &[
            ("match[]", "{__name__!=\"\"}"),
            ("limit", "40000"),
            ("start", &start),
            ("end", &end),
        ],
    );
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("grafana_series", body);

    // Metadata, rules and the exemplar probe (times in ms).
    let (status, body) = grafana.get("/api/v1/metadata");
    assert_eq!((status, body["status"].as_str()), (200, Some("success")));
    assert!(body["data"].is_object());
    let (status, body) = grafana.get("/api/v1/rules");
    assert_eq!(status, 200);
    assert_eq!(body["data"]["groups"], serde_json::json!([]));
    let (status, body) = grafana.get(&format!(
        "/api/v1/query_exemplars?query=test&start={}&end={}",
        T0 * 1000,
        (T0 + 600) * 1000
    ));
    assert_eq!((status, body["status"].as_str()), (200, Some("success")));

    // A bad query: 400 bad_data with the position; Grafana's GET retry gets the same.
    let (status, body) = grafana.post("/api/v1/query", &[("query", "sum(rate(x[5m])"), ("time", &end)]);
    assert_eq!(status, 400);
    assert_eq!(body["errorType"], "bad_data");
    insta::assert_json_snapshot!("grafana_parse_error", body);
    let (status, _) = grafana.get(&format!("/api/v1/query?query={}&time={end}", encode("sum(rate(x[5m])")));
    assert_eq!(status, 400);

    // format_query, used by the query editor's "format" button.
    let (status, body) = grafana.get(&format!(
        "/api/v1/format_query?query={}",
        encode("sum(rate(http_requests_total{job=\"api\"}[5m]))by(code)")
    ));
    assert_eq!(status, 200);
    assert_eq!(
        body["data"],
        r#"sum by (code) (rate(http_requests_total{job="api"}[5m]))"#
    );
}
