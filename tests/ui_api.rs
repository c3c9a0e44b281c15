//! The dashboard's HTTP side against the real binary: the embedded files (types, entity tags,
//! the content-security policy), the dashboards API (save, list, read, replace, delete, survive a
//! restart, every error) and the log-store statistics. Responses are pinned with snapshots.

mod common;

use serde_json::Value;

fn get(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = common::client().get(url).send().expect("get");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().expect("body"))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not json ({e}): {text}"))
}

fn put(url: &str, body: &str) -> (u16, Value) {
    let response = common::client()
        .put(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .expect("put");
    let status = response.status().as_u16();
    (status, json(&response.text().expect("body")))
}

fn delete(url: &str) -> (u16, String) {
    let response = common::client().delete(url).send().expect("delete");
    let status = response.status().as_u16();
    (status, response.text().expect("body"))
}

#[test]
fn serves_the_embedded_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _config) = common::Server::start_quiet(dir.path(), &[]);
    let (status, headers, body) = get(&format!("{}/", server.base));
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        body.contains("<script type=\"module\" src=\"/ui/js/app.js\"></script>"),
        "{body}"
    );
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(
        csp.starts_with("default-src 'self';") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let (status, headers, body) = get(&format!("{}/ui/js/chart.js", server.base));
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert!(body.contains("export class Chart"));
    let (_, css, _) = get(&format!("{}/ui/css/loupe.css", server.base));
    assert_eq!(css["content-type"], "text/css; charset=utf-8");

    // Revalidation: the entity tag answers 304 with no body.
    let etag = headers["etag"].to_str().expect("ascii").to_string();
    assert_eq!(headers["cache-control"], "no-cache");
    let response = common::client()
        .get(format!("{}/ui/js/chart.js", server.base))
        .header("If-None-Match", &etag)
        .send()
        .expect("conditional get");
    assert_eq!(response.status().as_u16(), 304);
    assert_eq!(response.headers()["etag"].to_str().expect("ascii"), etag);
    assert_eq!(response.text().expect("body"), "");

    for missing in ["/ui/js/nope.js", "/ui/../Cargo.toml", "/ui/", "/ui/%2e%2e/src/main.rs"] {
        let (status, _, _) = get(&format!("{}{missing}", server.base));
        assert_eq!(status, 404, "{missing}");
    }
}

#[test]
fn dashboards_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (server, config) = common::Server::start_quiet(&data, &[]);
    let api = format!("{}/loupe/api/v1/dashboards", server.base);

    let (status, _, body) = get(&api);
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("dashboards_list_builtin", json(&body));
    let (status, _, body) = get(&format!("{api}/containers"));
    assert_eq!(status, 200);
    let containers = json(&body);
    assert_eq!(containers["data"]["panels"].as_array().map(Vec::len), Some(9));
    assert_eq!(containers["data"]["variables"][0]["label"], "container");

    let doc = r#"{"title":"Shop","variables":[{"name":"svc","label":"service"}],
        "panels":[{"title":"Requests","query":"sum(rate(http_requests_total{service=~\"$svc\"}[5m]))","unit":""},
                  {"title":"Errors","query":"{service=~\"$svc\"} |= \"error\"","lang":"logql","kind":"logs"}]}"#;
    let (status, body) = put(&format!("{api}/shop"), doc);
    assert_eq!(
        (status, &body),
        (201, &serde_json::json!({"status": "success", "data": {"id": "shop"}}))
    );
    let (status, body) = put(&format!("{api}/shop"), doc);
    assert_eq!(status, 200, "{body}");
    let (_, _, body) = get(&format!("{api}/shop"));
    insta::assert_json_snapshot!("dashboards_saved", json(&body));

    // Errors, in Prometheus's shape.
    let errors = [
        ("Bad-Id", doc.to_string()),
        ("loupe-health", doc.to_string()),
        (
            "x",
            r#"{"title":"t","panels":[{"title":"a","query":"up","unit":"furlongs"}]}"#.to_string(),
        ),
        ("x", r#"{"title":"t","panels":[],"colour":"red"}"#.to_string()),
        ("x", "{".to_string()),
    ];
    let mut answers = Vec::new();
    for (id, body) in &errors {
        let (status, answer) = put(&format!("{api}/{id}"), body);
        answers.push(serde_json::json!({"id": id, "status": status, "body": answer}));
    }
    insta::assert_json_snapshot!("dashboards_errors", answers);
    let (status, _, body) = get(&format!("{api}/nope"));
    assert_eq!(status, 404);
    insta::assert_json_snapshot!("dashboards_not_found", json(&body));
    let too_big = format!(r#"{{"title":"{}","panels":[]}}"#, "x".repeat(300 * 1024));
    let (status, body) = put(&format!("{api}/big"), &too_big);
    assert_eq!(status, 413, "{body}");

    // Saved dashboards survive a restart; deleting removes them.
    let config_path = config.to_str().expect("utf-8").to_string();
    server.terminate();
    let server = common::Server::start(&data, &["--config", &config_path]);
    let api = format!("{}/loupe/api/v1/dashboards", server.base);
    let (_, _, body) = get(&api);
    let ids: Vec<String> = json(&body)["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ids, ["loupe-health", "containers", "shop"]);
    assert_eq!(delete(&format!("{api}/shop")), (204, String::new()));
    assert_eq!(delete(&format!("{api}/shop")).0, 404);
    assert_eq!(delete(&format!("{api}/containers")).0, 400);
    assert!(!data.join("dashboards/shop.json").exists());
}

#[test]
fn log_store_statistics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _config) = common::Server::start_quiet(dir.path(), &[]);
    let now = logs::store::now_ns();
    let body = serde_json::json!({"streams": [
        {"stream": {"app": "a"}, "values": [[now.to_string(), "hello"], [(now + 1).to_string(), "world!"]]},
        {"stream": {"app": "b"}, "values": [[now.to_string(), "x"]]},
    ]});
    let response = common::client()
        .post(format!("{}/loki/api/v1/push", server.base))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .expect("push");
    assert_eq!(response.status().as_u16(), 204);
    let (status, _, body) = get(&format!("{}/loupe/api/v1/status/logs", server.base));
    assert_eq!(status, 200);
    let stats = json(&body);
    assert_eq!(stats["status"], "success");
    assert_eq!(stats["data"]["windows"], 1);
    assert_eq!(stats["data"]["streams"], 2);
    assert_eq!(stats["data"]["entries"], 3);
    assert_eq!(stats["data"]["lineBytes"], 12);
    assert!(stats["data"]["diskBytes"].as_u64().unwrap_or(0) > 0, "{stats}");
}
