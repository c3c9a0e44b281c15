//! Container log collection through the real binary: generated Docker and CRI trees, a restart in
//! the middle, rotation while Loupe is down, and the log-sources status API.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DOCKER_ID: &str = "4f1e2d3c4b5a69788796a5b4c3d2e1f04f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    file.write_all(text.as_bytes()).expect("write log");
}

fn docker_line(text: &str, stream: &str, second: u32) -> String {
    format!("{{\"log\":\"{text}\\n\",\"stream\":\"{stream}\",\"time\":\"2026-11-22T08:00:{second:02}.000000001Z\"}}\n")
}

fn cri_line(text: &str, tag: &str, second: u32) -> String {
    format!("2026-11-22T08:00:{second:02}.5Z stdout {tag} {text}\n")
}

struct Trees {
    docker_log: PathBuf,
    cri_log: PathBuf,
    config: PathBuf,
}

fn trees(dir: &Path) -> Trees {
    let docker = dir.join("docker").join(DOCKER_ID);
    std::fs::create_dir_all(&docker).expect("docker dir");
    std::fs::write(
        docker.join("config.v2.json"),
        r#"{"Name":"/shop-web-1","Config":{"Image":"shop/web:2.1","Labels":{"com.docker.compose.service":"web","com.docker.compose.project":"shop"}}}"#,
    )
    .expect("config.v2.json");
    let cri = dir
        .join("pods")
        .join("prod_api-7d9f_0b6c1a2e-1111-2222-3333-444455556666")
        .join("api");
    std::fs::create_dir_all(&cri).expect("cri dir");
    let config = dir.join("loupe.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{}}\nlog_sources:\n  docker:\n    root: {}\n  cri:\n    root: {}\n  poll_interval: 20ms\n  rescan_interval: 100ms\n\
             storage:\n  logs:\n    commit_interval: 100ms\n",
            dir.join("docker").display(),
            dir.join("pods").display()
        ),
    )
    .expect("config");
    Trees {
        docker_log: docker.join(format!("{DOCKER_ID}-json.log")),
        cri_log: cri.join("0.log"),
        config,
    }
}

/// Waits until the collector reports no lag on any file and `expected` entries are stored.
fn wait_caught_up(server: &common::Server, expected: u64) -> serde_json::Value {
    let client = common::client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = client
            .get(format!("{}/loupe/api/v1/log_sources", server.base))
            .send()
            .and_then(|r| r.text())
            .expect("log_sources");
        let sources: serde_json::Value = serde_json::from_str(&text).expect("log_sources json");
        let metrics = client
            .get(format!("{}/metrics", server.base))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        let stored: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("loupe_logs_entries "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let files = sources["data"]["files"].as_array().cloned().unwrap_or_default();
        let idle = !files.is_empty() && files.iter().all(|f| f["lagBytes"].as_u64().unwrap_or(0) == 0);
        if idle && stored == expected {
            std::thread::sleep(Duration::from_millis(300));
            return sources;
        }
        assert!(
            Instant::now() < deadline,
            "not caught up: {stored} of {expected} stored; {sources}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stored lines grouped by their stream labels, oldest first.
fn stored(data: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in common::stored_log_lines(data, "stream") {
        out.entry(line.labels.to_string()).or_default().push(line.line);
    }
    out
}

#[test]
fn docker_and_cri_logs_are_collected_exactly_once_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let t = trees(dir.path());
    let config = t.config.to_str().expect("utf-8").to_string();
    append(&t.docker_log, &docker_line("GET /cart 200", "stdout", 1));
    append(
        &t.docker_log,
        &docker_line("level=error msg=\\\"db down\\\"", "stderr", 2),
    );
    // A 20 KiB line split at 16 KiB, as Docker writes it.
    let long = "x".repeat(20 * 1024);
    append(
        &t.docker_log,
        &format!(
            "{{\"log\":\"{}\",\"stream\":\"stdout\",\"time\":\"2026-11-22T08:00:03Z\"}}\n{}",
            &long[..16 * 1024],
            docker_line(&long[16 * 1024..], "stdout", 3)
        ),
    );
    append(&t.cri_log, &cri_line("starting", "F", 1));
    append(&t.cri_log, &cri_line("part one, ", "P", 2));
    append(&t.cri_log, &cri_line("part two", "F", 2));

    let server = common::Server::start(&data, &["--config", &config]);
    let sources = wait_caught_up(&server, 5);
    let files = sources["data"]["files"].as_array().cloned().unwrap_or_default();
    assert_eq!(files.len(), 2, "{sources}");
    let docker = files.iter().find(|f| f["kind"] == "docker").expect("docker file");
    assert_eq!(docker["labels"]["container"], "shop-web-1");
    assert_eq!(docker["malformedLines"], 0);
    // Restart in the middle: stop, write more (and rotate the Docker log while Loupe is down).
    assert!(server.terminate().success());
    append(
        &t.docker_log,
        &docker_line("written while down, before rotation", "stdout", 4),
    );
    let rotated = t.docker_log.with_file_name(format!("{DOCKER_ID}-json.log.1"));
    std::fs::rename(&t.docker_log, &rotated).expect("rotate");
    append(&t.docker_log, &docker_line("after rotation", "stdout", 5));
    append(&t.cri_log, &cri_line("written while down", "F", 3));
    append(&t.cri_log, "not a cri line\n");

    let server = common::Server::start(&data, &["--config", &config]);
    let sources = wait_caught_up(&server, 8);
    let cri = sources["data"]["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["kind"] == "cri").cloned());
    assert_eq!(cri.map(|f| f["malformedLines"].clone()), Some(serde_json::json!(1)));
    assert!(server.terminate().success());

    let streams = stored(&data);
    let web = r#"{container="shop-web-1", image="shop/web:2.1", project="shop", service="web", service_name="web""#;
    assert_eq!(
        streams.get(&format!("{web}, stream=\"stdout\"}}")),
        Some(&vec![
            "GET /cart 200".to_string(),
            long.clone(),
            "written while down, before rotation".to_string(),
            "after rotation".to_string()
        ])
    );
    assert_eq!(
        streams.get(&format!("{web}, stream=\"stderr\"}}")),
        Some(&vec!["level=error msg=\"db down\"".to_string()])
    );
    let api = r#"{container="api", namespace="prod", pod="api-7d9f", service_name="api", stream="stdout"}"#;
    assert_eq!(
        streams.get(api),
        Some(&vec![
            "starting".to_string(),
            "part one, part two".to_string(),
            "written while down".to_string()
        ]),
        "{streams:#?}"
    );
    assert_eq!(streams.len(), 3, "{streams:#?}");
}
