//! End-to-end tests of the HTTP API and the CLI against the real binary.

mod common;

use std::io::Write;
use std::process::Command;

use tsdb::{MatchType, Matcher};

fn samples_of(data: &std::path::Path, metric: &str) -> Vec<(String, i64, f64)> {
    let db = common::open_db(data);
    let matcher = Matcher::new(MatchType::Equal, "__name__", metric).expect("matcher");
    let mut out = Vec::new();
    for series in db.querier(i64::MIN, i64::MAX).select(&[matcher]).expect("select") {
        for sample in series.iter() {
            out.push((series.labels().to_string(), sample.t, sample.v));
        }
    }
    out
}

#[test]
fn health_ready_and_own_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _config) = common::Server::start_quiet(dir.path(), &[]);
    let client = common::client();
    let healthy = client
        .get(format!("{}/-/healthy", server.base))
        .send()
        .expect("healthy");
    assert_eq!(healthy.status().as_u16(), 200);
    assert_eq!(healthy.text().expect("body"), "Loupe is Healthy.\n");
    let ready = client.get(format!("{}/-/ready", server.base)).send().expect("ready");
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.text().expect("body"), "Loupe is Ready.\n");

    let body = "a_metric{x=\"1\"} 1\na_metric{x=\"2\"} 2\n";
    let response = client
        .post(format!("{}/api/v1/import/prometheus", server.base))
        .body(body)
        .send()
        .expect("import");
    assert_eq!(response.status().as_u16(), 204);

    let metrics = client.get(format!("{}/metrics", server.base)).send().expect("metrics");
    assert_eq!(metrics.status().as_u16(), 200);
    let content_type = metrics
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = metrics.text().expect("body");
    assert!(text.contains("\nloupe_tsdb_head_series 2\n"), "{text}");
    assert!(text.contains("\nloupe_tsdb_head_samples_appended_total 2\n"), "{text}");
    assert!(
        text.contains("loupe_http_requests_total{handler=\"/api/v1/import/prometheus\",code=\"204\"} 1"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    // Our own parser accepts our own output.
    let parsed =
        scraper::exposition::parse_all(&text, scraper::exposition::Format::OpenMetrics).expect("valid openmetrics");
    assert!(parsed.len() > 20);
}

#[test]
fn import_then_sigterm_flushes_and_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::Server::start(dir.path(), &[]);
    let client = common::client();
    let url = format!("{}/api/v1/import/prometheus", server.base);

    let text = "# HELP req_total Requests.\n# TYPE req_total counter\nreq_total{code=\"200\"} 10 1700000000000\nreq_total{code=\"200\"} 12 1700000015000\nreq_total{code=\"500\"} 1 1700000000000\n";
    assert_eq!(
        client.post(&url).body(text).send().expect("text").status().as_u16(),
        204
    );

    let openmetrics = "# TYPE temp gauge\ntemp{room=\"a\"} 21.5 1700000030.5\n# EOF\n";
    let response = client
        .post(&url)
        .header("content-type", "application/openmetrics-text; version=1.0.0")
        .body(openmetrics)
        .send()
        .expect("openmetrics");
    assert_eq!(response.status().as_u16(), 204);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"req_total{code=\"200\"} 13 1700000030000\n")
        .expect("gzip");
    let response = client
        .post(&url)
        .header("content-encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .expect("gzip");
    assert_eq!(response.status().as_u16(), 204);

    let response = client
        .post(format!("{url}?timestamp=1700000045000"))
        .body("temp{room=\"b\"} 19\n")
        .send()
        .expect("default ts");
    assert_eq!(response.status().as_u16(), 204);

    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    assert_eq!(
        samples_of(dir.path(), "req_total"),
        vec![
            (r#"{__name__="req_total", code="200"}"#.to_string(), 1700000000000, 10.0),
            (r#"{__name__="req_total", code="200"}"#.to_string(), 1700000015000, 12.0),
            (r#"{__name__="req_total", code="200"}"#.to_string(), 1700000030000, 13.0),
            (r#"{__name__="req_total", code="500"}"#.to_string(), 1700000000000, 1.0),
        ]
    );
    assert_eq!(
        samples_of(dir.path(), "temp"),
        vec![
            (r#"{__name__="temp", room="a"}"#.to_string(), 1700000030500, 21.5),
            (r#"{__name__="temp", room="b"}"#.to_string(), 1700000045000, 19.0),
        ]
    );
}

#[test]
fn import_errors_have_prometheus_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::Server::start(dir.path(), &["--max-body-size", "1KiB"]);
    let client = common::client();
    let url = format!("{}/api/v1/import/prometheus", server.base);
    let check = |response: reqwest::blocking::Response| -> (u16, serde_json::Value) {
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str(&response.text().expect("body")).expect("json error body"),
        )
    };

    let (status, body) = check(client.post(&url).body("ok 1 1000\nbad{x=1} 2\n").send().expect("post"));
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("import_parse_error", body);

    let (status, body) = check(
        client
            .post(&url)
            .body("ok 1 1000\nbad{__name__=\"x\"} 2 1000\n")
            .send()
            .expect("post"),
    );
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("import_metric_name_label", body);

    let (status, body) = check(client.post(&url).body("ok 2 1000\nok 3 500\n").send().expect("post"));
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("import_rejected_samples", body);

    let (status, body) = check(client.post(&url).body("x 1\n".repeat(400)).send().expect("post"));
    assert_eq!(status, 413);
    insta::assert_json_snapshot!("import_too_large", body);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all("x 1\n".repeat(4000).as_bytes()).expect("gzip");
    let bomb = gz.finish().expect("gzip");
    assert!(bomb.len() < 1024, "compressed body fits the limit");
    let (status, _) = check(
        client
            .post(&url)
            .header("content-encoding", "gzip")
            .body(bomb)
            .send()
            .expect("post"),
    );
    assert_eq!(status, 413, "the limit applies after decompression");

    let (status, body) = check(
        client
            .post(&url)
            .header("content-encoding", "br")
            .body("x 1\n")
            .send()
            .expect("post"),
    );
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("import_bad_encoding", body);

    let (status, _) = check(client.post(&url).body(vec![0xff, 0xfe, b'\n']).send().expect("post"));
    assert_eq!(status, 400);
}

#[test]
fn cli_import_writes_blocks_and_rejects_a_running_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("day.om");
    let mut text = String::from("# TYPE up gauge\n");
    // 8 hours at 15 s of 3 series, grouped by series like a dump.
    for instance in 0..3 {
        for step in 0..(8 * 240) {
            let seconds = 1_700_000_000 + step * 15;
            text.push_str(&format!(
                "up{{instance=\"i{instance}\"}} {} {seconds}\n",
                (step % 2) as f64
            ));
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(&input, text).expect("write input");
    let data = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(&input)
        .output()
        .expect("run loupe import");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported 5760 samples (5760 stored, 0 of them backfilled into blocks, 0 rejected)"),
        "{stderr}"
    );
    let db = common::open_db(&data);
    let in_blocks: u64 = db.blocks().iter().map(|m| m.stats.num_samples).sum();
    assert!(in_blocks > 0, "complete ranges were written to blocks");
    drop(db);
    assert_eq!(samples_of(&data, "up").len(), 5760);

    // Backfill: data from the day before goes straight into blocks, beside the existing ones.
    let older = dir.path().join("older.prom");
    let mut text = String::new();
    for step in 0..480 {
        let ms = (1_700_000_000_i64 - 86_400 + step * 15) * 1000;
        text.push_str(&format!("up{{instance=\"i0\"}} 1 {ms}\n"));
    }
    std::fs::write(&older, text).expect("write older");
    let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(&older)
        .output()
        .expect("run loupe import");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported 480 samples (480 stored, 480 of them backfilled into blocks, 0 rejected)"),
        "{stderr}"
    );
    assert_eq!(samples_of(&data, "up").len(), 5760 + 480);

    let bad = dir.path().join("bad.prom");
    std::fs::write(&bad, "up 1\nup{\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");

    let _server = common::Server::start(&data, &[]);
    let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(["import", "--data-dir"])
        .arg(&data)
        .arg(&input)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
}

#[test]
fn bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("loupe.yml");
    std::fs::write(&config, "storage:\n  tsdb:\n    retention: 1d\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("retention") && stderr.contains("loupe.yml"), "{stderr}");
}
