//! The side-by-side benchmark's harness end to end, at its `--quick` scale: Loupe (this build),
//! Debian's Prometheus (with promtool) and VictoriaMetrics, and a real node exporter, on every
//! scenario. Figures at this scale mean nothing and are not asserted; what is asserted is that every
//! scenario ran, every system ingested the targets' samples, each system's import landed on disk,
//! and Loupe's query answers equal Prometheus's (so a harness or engine change that makes answers
//! differ fails here, not in a benchmark run).
//!
//! Skipped when a peer is not installed, unless `LOUPE_REQUIRE_PEERS` is set (CI sets it).

use std::path::{Path, PathBuf};

use loupe_bench::sidebyside::{self, Scenario, Settings};

const PEERS: [&str; 4] = [
    "/usr/bin/prometheus",
    "/usr/bin/promtool",
    "/usr/bin/victoria-metrics",
    "/usr/bin/prometheus-node-exporter",
];

#[test]
fn runs_every_scenario_against_the_peers() {
    if let Some(missing) = PEERS.iter().find(|p| !Path::new(p).is_file()) {
        assert!(
            std::env::var_os("LOUPE_REQUIRE_PEERS").is_none(),
            "{missing} is required (apt-get install prometheus victoria-metrics prometheus-node-exporter)"
        );
        eprintln!("SKIPPED: {missing} is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::quick();
    settings.install = false;
    settings.set_loupe(PathBuf::from(env!("CARGO_BIN_EXE_loupe")));
    settings.work_dir = Some(dir.path().to_path_buf());
    let mut log = Vec::new();
    let report = sidebyside::run(&settings, |step| log.push(step.to_string())).expect("runs");
    let log = log.join("\n");
    assert!(report.failures.is_empty(), "{:?}\n{log}", report.failures);
    assert_eq!(settings.scenarios, Scenario::ALL);

    let scrape = report.scrape.as_ref().expect("scrape report");
    assert_eq!(scrape.summaries.len(), 3, "{log}");
    assert!(scrape.settings.node_exporter);
    // 4 targets × 200 series, plus the node exporter's.
    assert!(scrape.settings.active_series > 800, "{}", scrape.settings.active_series);
    let ingested: Vec<f64> = scrape
        .summaries
        .iter()
        .map(|s| s.ingested_per_scrape.expect("ingested").median)
        .collect();
    for (summary, value) in scrape.summaries.iter().zip(&ingested) {
        let cpu = summary.cpu_per_million_appended.expect("cpu").median;
        assert!(cpu > 0.0 && cpu.is_finite(), "{:?}: {cpu}", summary.system);
        // Each scrape of a synthetic target brings its 200 series, the node exporter's share on top;
        // a busy machine can shift a window's count by a scrape, hence the loose bound.
        assert!(
            *value > 200.0 && (value / ingested[0] - 1.0).abs() < 0.2,
            "{ingested:?}\n{log}"
        );
    }
    assert_eq!(scrape.ratios.len(), 2);

    let bulk = report.bulk.as_ref().expect("bulk report");
    assert_eq!(bulk.samples, 400 * 480);
    assert_eq!(bulk.systems.len(), 3);
    for system in &bulk.systems {
        assert!(system.disk_bytes > 0, "{:?}", system.system);
        assert!(system.bytes_per_sample.is_finite(), "{:?}", system.system);
    }
    assert_eq!(bulk.queries.len(), 7);
    for query in &bulk.queries {
        assert!(query.correct, "{}: {}\n{log}", query.expr, query.summary());
        assert_eq!(query.timings.len(), 3);
        for t in &query.timings {
            assert_eq!(t.timing.runs_ms.len(), 2, "{:?} {}", t.system, query.expr);
        }
        let prometheus = query
            .comparisons
            .iter()
            .find(|c| c.peer == loupe_bench::querybench::systems::System::Prometheus)
            .expect("compared with Prometheus");
        assert!(
            prometheus.verdict.starts_with("match"),
            "{}: {}",
            query.expr,
            prometheus.verdict
        );
    }

    let logs = report.logs.as_ref().expect("logs report");
    assert!(logs.all_complete(), "{log}");
    assert_eq!(report.summary.wrong_answers, 0, "{log}");
    assert!(report.succeeded());
    // 4 scrape rows, 4 bulk, 7 queries, 2 logs figures and 3 log queries.
    assert_eq!(report.summary.rows.len(), 20, "{:#?}", report.summary.rows);
    let markdown = report.markdown();
    assert!(markdown.starts_with("# Loupe side by side with Prometheus and VictoriaMetrics\n"));
    for section in ["## Scraping:", "## Bulk import and queries:"] {
        assert!(markdown.contains(section), "{markdown}");
    }
    let json = serde_json::to_value(&report).expect("serialises");
    assert_eq!(json["bulk"]["queries"].as_array().map(Vec::len), Some(7));
}
