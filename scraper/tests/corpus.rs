//! The exposition parser against real exporter output kept in `tests/corpus/`.

use scraper::{Entry, Format, MetricType, parse_all};

fn load(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn node_exporter_1_5_text_format() {
    let text = load("node-exporter-1.5.0.txt");
    let entries = parse_all(&text, Format::PrometheusText).expect("real output parses");
    let samples: Vec<_> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    let helps = entries.iter().filter(|e| matches!(e, Entry::Help { .. })).count();
    let types = entries.iter().filter(|e| matches!(e, Entry::Type { .. })).count();
    assert_eq!((samples.len(), helps, types), (507, 283, 283));
    let idle = samples
        .iter()
        .find(|s| {
            s.name == "node_cpu_seconds_total"
                && s.labels.iter().any(|(n, v)| n == "cpu" && v == "0")
                && s.labels.iter().any(|(n, v)| n == "mode" && v == "idle")
        })
        .expect("cpu 0 idle");
    assert_eq!(idle.value, 3274.36);
    assert_eq!(idle.timestamp_ms, None);
    let build = samples
        .iter()
        .find(|s| s.name == "node_exporter_build_info")
        .expect("build info");
    assert_eq!(build.labels.len(), 6);
    assert!(build.labels.iter().any(|(n, v)| n == "version" && v == "1.5.0"));
    let summary = entries.iter().find_map(|e| match e {
        Entry::Type { metric, kind } if metric == "go_gc_duration_seconds" => Some(*kind),
        _ => None,
    });
    assert_eq!(summary, Some(MetricType::Summary));
    let quantiles = samples
        .iter()
        .filter(|s| s.name == "go_gc_duration_seconds" && s.labels.iter().any(|(n, _)| n == "quantile"))
        .count();
    assert_eq!(quantiles, 5);
}

#[test]
fn truncated_real_output_fails_with_the_line() {
    let text = load("node-exporter-1.5.0.txt");
    // Cut in the middle of a label set, as a dropped connection would.
    let cut = text
        .find("node_cpu_seconds_total{cpu=\"0\",mo")
        .expect("sample present")
        + 30;
    let mut broken = text[..cut].to_string();
    broken.push('\n');
    let line = broken.lines().count();
    let error = parse_all(&broken, Format::PrometheusText).expect_err("truncated");
    assert!(error.to_string().starts_with(&format!("line {line},")), "{error}");
}

#[test]
fn loupe_own_openmetrics_output() {
    let text = load("loupe-0.1.0.openmetrics.txt");
    let entries = parse_all(&text, Format::OpenMetrics).expect("real output parses");
    let samples = entries.iter().filter(|e| matches!(e, Entry::Sample(_))).count();
    let types = entries.iter().filter(|e| matches!(e, Entry::Type { .. })).count();
    assert_eq!((samples, types), (14, 14));
    // Without its `# EOF` line, OpenMetrics text is incomplete.
    let cut = text.trim_end().strip_suffix("# EOF").expect("ends with EOF");
    assert!(parse_all(cut, Format::OpenMetrics).is_err());
}
