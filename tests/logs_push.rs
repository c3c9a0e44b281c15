//! The Loki push API against the real binary: JSON, protobuf + snappy, gzip, and every error.

mod common;

use std::io::Write;
use std::path::Path;

use logs::push::{PushEntry, PushStream, encode_proto};
use tsdb::Labels;

fn now_ns() -> i64 {
    logs::store::now_ns()
}

/// A stored line: labels, timestamp, line, structured metadata.
type StoredLine = (String, i64, String, Vec<(String, String)>);

/// Every stored line, oldest first.
fn stored(data: &Path) -> Vec<StoredLine> {
    common::stored_log_lines(data, "service_name")
        .into_iter()
        .map(|l| (l.labels.to_string(), l.ts_ns, l.line, l.metadata))
        .collect()
}

fn push(server: &common::Server, content_type: Option<&str>, encoding: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let mut request = common::client()
        .post(format!("{}/loki/api/v1/push", server.base))
        .body(body);
    if let Some(t) = content_type {
        request = request.header("Content-Type", t);
    }
    if let Some(e) = encoding {
        request = request.header("Content-Encoding", e);
    }
    let response = request.send().expect("push");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().unwrap_or_default();
    if status != 204 {
        assert_eq!(
            content_type.as_deref(),
            Some("text/plain; charset=utf-8"),
            "errors are plain text: {text}"
        );
    }
    (status, text)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

#[test]
fn json_protobuf_and_gzip_pushes_are_stored_with_loki_enrichment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (server, _config) = common::Server::start_quiet(&data, &[]);
    let t = now_ns() - 60_000_000_000;
    let json = format!(
        r#"{{"streams":[{{"stream":{{"app":"shop","env":"prod"}},"values":[["{t}","level=error msg=\"payment failed\"",{{"trace_id":"abc"}}],["{}","GET /cart 200"]]}}]}}"#,
        t + 1
    );
    assert_eq!(
        push(&server, Some("application/json"), None, json.clone().into_bytes()),
        (204, String::new())
    );
    let gz = json.replace("shop", "gzipped");
    assert_eq!(
        push(
            &server,
            Some("application/json; charset=utf-8"),
            Some("gzip"),
            gzip(gz.as_bytes())
        )
        .0,
        204
    );
    let proto = encode_proto(&[PushStream {
        labels: Labels::new([("container", "web-1"), ("service_name", "web")]).expect("labels"),
        entries: vec![PushEntry {
            ts_ns: t + 2,
            line: "{\"level\":\"warn\",\"msg\":\"slow\"}".into(),
            metadata: vec![],
        }],
    }])
    .expect("encode");
    assert_eq!(push(&server, Some("application/x-protobuf"), None, proto).0, 204);
    let status = server.terminate();
    assert!(status.success(), "clean exit: {status:?}");

    let lines = stored(&data);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let shop: Vec<_> = lines.iter().filter(|l| l.0.contains("\"shop\"")).collect();
    assert_eq!(shop[0].0, r#"{app="shop", env="prod", service_name="shop"}"#);
    assert_eq!(
        (shop[0].1, shop[0].2.as_str()),
        (t, "level=error msg=\"payment failed\"")
    );
    assert_eq!(
        shop[0].3,
        vec![
            ("trace_id".to_string(), "abc".to_string()),
            ("detected_level".to_string(), "error".to_string())
        ]
    );
    assert!(shop[1].3.is_empty(), "no level detected in {:?}", shop[1].2);
    let web = lines.iter().find(|l| l.0.contains("web-1")).expect("protobuf line");
    assert_eq!(web.0, r#"{container="web-1", service_name="web"}"#);
    assert_eq!(web.3, vec![("detected_level".to_string(), "warn".to_string())]);
    assert_eq!(lines.iter().filter(|l| l.0.contains("gzipped")).count(), 2);
}

#[test]
fn bad_pushes_get_loki_status_codes_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("loupe.yml");
    std::fs::write(
        &config,
        "global: {}\nlimits_config:\n  max_line_size: 100B\n  max_push_body_size: 2KB\n  \
         ingestion_rate_mb: 0.001\n  ingestion_burst_size_mb: 0.002\n",
    )
    .expect("config");
    let server = common::Server::start(&data, &["--config", config.to_str().expect("utf-8")]);
    let t = now_ns();
    let body =
        |ts: &str, line: &str| format!(r#"{{"streams":[{{"stream":{{"app":"x"}},"values":[[{ts},"{line}"]]}}]}}"#);

    let (status, text) = push(&server, Some("application/json"), None, b"{\"streams\":[".to_vec());
    assert_eq!(status, 400);
    assert!(text.contains("line 1"), "json errors have a position: {text}");
    let (status, text) = push(
        &server,
        Some("application/json"),
        None,
        body(&t.to_string(), "number ts").into_bytes(),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = push(&server, None, None, body(&format!("\"{t}\""), "no type").into_bytes());
    assert_eq!(status, 400, "{text}");
    let (status, text) = push(&server, Some("application/json"), Some("br"), b"{}".to_vec());
    assert_eq!(status, 400, "{text}");
    let (status, text) = push(
        &server,
        Some("application/x-protobuf"),
        None,
        b"\xff\xff\xff\xff garbage".to_vec(),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = push(&server, Some("application/json"), None, vec![b' '; 4096]);
    assert_eq!(status, 413, "{text}");
    let long = "x".repeat(200);
    let (status, text) = push(
        &server,
        Some("application/json"),
        None,
        body(&format!("\"{t}\""), &long).into_bytes(),
    );
    assert_eq!(status, 400);
    assert!(text.contains("max entry size '100' bytes exceeded"), "{text}");
    let old = t - 30 * 86_400 * 1_000_000_000;
    let (status, text) = push(
        &server,
        Some("application/json"),
        None,
        body(&format!("\"{old}\""), "old").into_bytes(),
    );
    assert_eq!(status, 400);
    assert!(text.contains("timestamp too old"), "{text}");
    let future = t + 3600 * 1_000_000_000;
    let (status, text) = push(
        &server,
        Some("application/json"),
        None,
        body(&format!("\"{future}\""), "new").into_bytes(),
    );
    assert_eq!(status, 400);
    assert!(text.contains("timestamp too new"), "{text}");
    let fifty = "y".repeat(50);
    let mut limited = 0;
    for i in 0..100 {
        let (status, _) = push(
            &server,
            Some("application/json"),
            None,
            body(&format!("\"{}\"", t + i), &fifty).into_bytes(),
        );
        if status == 429 {
            limited += 1;
        } else {
            assert_eq!(status, 204);
        }
    }
    assert!(
        limited > 0,
        "a 1 KB/s rate limit must refuse some of 100 pushes of 50 bytes"
    );
    let accepted = 100 - limited;
    assert!(server.terminate().success());
    let lines = stored(&data);
    assert_eq!(lines.len(), accepted, "only the accepted pushes are stored");
    assert!(lines.iter().all(|l| l.2 == fifty));
}
