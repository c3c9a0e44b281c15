//! `/api/v1/admin/tsdb/delete_series` and `/clean_tombstones` against the real binary: deleted data
//! is gone from queries at once, stays gone after SIGKILL and a restart, and cleaning rewrites the
//! blocks without changing answers. Without `--web.enable-admin-api` both answer "admin APIs
//! disabled", as Prometheus does.

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// Per-series sample counts of `count_over_time(del_test[15m])` at `t` (seconds), by `series`.
fn counts(base: &str, t: i64) -> Vec<(String, String)> {
    let url = format!("{base}/api/v1/query?query=count_over_time(del_test%5B15m%5D)&time={t}");
    let text = common::client().get(url).send().expect("query").text().expect("body");
    let body: Value = serde_json::from_str(&text).expect("json");
    let mut out: Vec<(String, String)> = body["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|r| {
            (
                r["metric"]["series"].as_str().unwrap_or("").to_string(),
                r["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn start(data: &Path, config: &Path, admin: bool) -> common::Server {
    let mut args = vec![
        "--config",
        config.to_str().expect("utf-8 path"),
        "--maintenance-interval",
        "200ms",
    ];
    if admin {
        args.push("--web.enable-admin-api");
    }
    common::Server::start(data, &args)
}

/// Block directories (those with a `meta.json`).
fn blocks(data: &Path) -> usize {
    std::fs::read_dir(data)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("meta.json").is_file())
                .count()
        })
        .unwrap_or(0)
}

fn tombstone_files(data: &Path) -> usize {
    std::fs::read_dir(data)
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("tombstones").is_file())
        .count()
}

#[test]
fn deleted_series_data_stays_deleted_after_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("loupe.yml");
    // One-minute blocks: most of the ten minutes below is in blocks, the rest in the head.
    std::fs::write(&config, "storage:\n  tsdb:\n    block_duration: 1m\n").expect("config");
    let data = dir.path().join("data");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let first = (now - 700) / 10 * 10;
    let mut body = String::new();
    for k in 0..60 {
        for series in 0..3 {
            body.push_str(&format!(
                "del_test{{series=\"{series}\"}} {k} {}\n",
                (first + k * 10) * 1000
            ));
        }
    }
    let server = start(&data, &config, true);
    let response = common::client()
        .post(format!("{}/api/v1/import/prometheus", server.base))
        .body(body)
        .send()
        .expect("import");
    assert_eq!(response.status().as_u16(), 204);
    let at = first + 600;
    let all = |n: &str| {
        vec![
            ("0".to_string(), "60".to_string()),
            ("1".to_string(), n.to_string()),
            ("2".to_string(), "60".to_string()),
        ]
    };
    assert_eq!(counts(&server.base, at), all("60"));
    // Wait for maintenance to cut blocks, so the deletion spans blocks and the head.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while blocks(&data) == 0 {
        assert!(std::time::Instant::now() < deadline, "no blocks were cut");
        std::thread::sleep(Duration::from_millis(100));
    }
    let delete = format!(
        "{}/api/v1/admin/tsdb/delete_series?match[]=del_test%7Bseries%3D%221%22%7D&start={}&end={}",
        server.base,
        first + 120,
        first + 480
    );
    let response = common::client().post(&delete).send().expect("delete");
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(response.text().expect("body"), "");
    // Samples 12..=48 of series 1 are gone: 60 - 37.
    assert_eq!(counts(&server.base, at), all("23"));
    assert!(tombstone_files(&data) >= 1, "the blocks got tombstones");
    server.kill();

    let server = start(&data, &config, true);
    assert_eq!(counts(&server.base, at), all("23"), "after SIGKILL and restart");
    let response = common::client()
        .put(format!("{}/api/v1/admin/tsdb/clean_tombstones", server.base))
        .send()
        .expect("clean");
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(tombstone_files(&data), 0, "blocks rewritten without the deleted data");
    assert_eq!(counts(&server.base, at), all("23"), "after cleaning");
    server.kill();

    // Without the flag the endpoints refuse, and nothing changes.
    let server = start(&data, &config, false);
    for path in ["delete_series?match[]=del_test", "clean_tombstones"] {
        let response = common::client()
            .post(format!("{}/api/v1/admin/tsdb/{path}", server.base))
            .send()
            .expect("admin");
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(
            response.text().expect("body"),
            r#"{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}"#
        );
    }
    assert_eq!(counts(&server.base, at), all("23"));
}
