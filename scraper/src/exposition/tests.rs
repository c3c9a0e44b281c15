//! Table tests of the exposition parser: valid lines with their exact output, invalid lines with their
//! exact error, and a realistic node_exporter payload.

use std::borrow::Cow;

use super::{Entry, Exemplar, Format, MetricType, ParsedSample, parse_all};

const TEXT: Format = Format::PrometheusText;
const OM: Format = Format::OpenMetrics;

fn labels(pairs: &[(&str, &str)]) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    pairs
        .iter()
        .map(|&(n, v)| (Cow::Owned(n.to_string()), Cow::Owned(v.to_string())))
        .collect()
}

fn sample(name: &str, pairs: &[(&str, &str)], value: f64, ts: Option<i64>) -> Entry<'static> {
    Entry::Sample(ParsedSample {
        name: Cow::Owned(name.to_string()),
        labels: labels(pairs),
        value,
        timestamp_ms: ts,
        exemplar: None,
    })
}

fn with_exemplar(entry: Entry<'static>, pairs: &[(&str, &str)], value: f64, ts: Option<i64>) -> Entry<'static> {
    let Entry::Sample(mut s) = entry else {
        panic!("not a sample");
    };
    s.exemplar = Some(Exemplar {
        labels: labels(pairs),
        value,
        timestamp_ms: ts,
    });
    Entry::Sample(s)
}

fn help(metric: &str, text: &str) -> Entry<'static> {
    Entry::Help {
        metric: Cow::Owned(metric.to_string()),
        text: Cow::Owned(text.to_string()),
    }
}

fn kind(metric: &str, kind: MetricType) -> Entry<'static> {
    Entry::Type {
        metric: Cow::Owned(metric.to_string()),
        kind,
    }
}

fn unit(metric: &str, unit: &str) -> Entry<'static> {
    Entry::Unit {
        metric: Cow::Owned(metric.to_string()),
        unit: Cow::Owned(unit.to_string()),
    }
}

/// Parses one line (adding `# EOF` for OpenMetrics) and returns its only entry.
fn one(format: Format, line: &str) -> Entry<'_> {
    let input = match format {
        Format::PrometheusText => format!("{line}\n"),
        Format::OpenMetrics => format!("{line}\n# EOF\n"),
    };
    let mut entries = match parse_all(&input, format) {
        Ok(entries) => entries,
        Err(e) => panic!("{line:?} ({format:?}) failed: {e}"),
    };
    assert_eq!(entries.len(), 1, "{line:?}");
    entries.pop().map(Entry::into_owned).unwrap_or(Entry::Comment)
}

#[test]
fn valid_lines() {
    let inf = f64::INFINITY;
    let cases: Vec<(Format, &str, Entry<'static>)> = vec![
        // Plain samples, both formats.
        (TEXT, "up 1", sample("up", &[], 1.0, None)),
        (OM, "up 1", sample("up", &[], 1.0, None)),
        (TEXT, "a:b_c 1.5", sample("a:b_c", &[], 1.5, None)),
        (TEXT, "_x 0", sample("_x", &[], 0.0, None)),
        (TEXT, "m{} 2", sample("m", &[], 2.0, None)),
        (TEXT, r#"m{a="1"} 2"#, sample("m", &[("a", "1")], 2.0, None)),
        (
            TEXT,
            r#"m{a="1",b="2",} 2"#,
            sample("m", &[("a", "1"), ("b", "2")], 2.0, None),
        ),
        (
            TEXT,
            r#"m{b="2",a="1"} 2"#,
            sample("m", &[("b", "2"), ("a", "1")], 2.0, None),
        ),
        (TEXT, r#"m{a=""} 2"#, sample("m", &[("a", "")], 2.0, None)),
        (
            OM,
            r#"m{a="1",b="2"} 2"#,
            sample("m", &[("a", "1"), ("b", "2")], 2.0, None),
        ),
        // Blanks: runs of spaces and tabs, leading blanks, blanks inside braces, trailing blanks.
        (TEXT, "  m \t 3 \t 4  ", sample("m", &[], 3.0, Some(4))),
        (
            TEXT,
            r#"m { a = "1" , b="2" } 3"#,
            sample("m", &[("a", "1"), ("b", "2")], 3.0, None),
        ),
        (TEXT, "m 3\r", sample("m", &[], 3.0, None)),
        // Escapes.
        (
            TEXT,
            r#"m{a="x\\y\"z\nw"} 1"#,
            sample("m", &[("a", "x\\y\"z\nw")], 1.0, None),
        ),
        (
            OM,
            r#"m{a="x\\y\"z\nw"} 1"#,
            sample("m", &[("a", "x\\y\"z\nw")], 1.0, None),
        ),
        (
            TEXT,
            r#"m{a="c:\temp"} 1"#,
            sample("m", &[("a", "c:\\temp")], 1.0, None),
        ),
        (TEXT, r#"m{a="{},= #"} 1"#, sample("m", &[("a", "{},= #")], 1.0, None)),
        (
            TEXT,
            "m{a=\"日本\t語\"} 1",
            sample("m", &[("a", "日本\t語")], 1.0, None),
        ),
        // Special values and float spellings.
        (TEXT, "m NaN", sample("m", &[], f64::NAN, None)),
        (TEXT, "m +Inf", sample("m", &[], inf, None)),
        (TEXT, "m -Inf", sample("m", &[], -inf, None)),
        (TEXT, "m Inf", sample("m", &[], inf, None)),
        (OM, "m +Inf", sample("m", &[], inf, None)),
        (TEXT, "m 1e+06", sample("m", &[], 1e6, None)),
        (TEXT, "m -1.5E-3", sample("m", &[], -1.5e-3, None)),
        (TEXT, "m .5", sample("m", &[], 0.5, None)),
        (TEXT, "m +7", sample("m", &[], 7.0, None)),
        (TEXT, "m 1.7976931348623157e308", sample("m", &[], f64::MAX, None)),
        // Timestamps: integer ms in text, seconds in OpenMetrics.
        (
            TEXT,
            "m 1 1700000000123",
            sample("m", &[], 1.0, Some(1_700_000_000_123)),
        ),
        (TEXT, "m 1 -5", sample("m", &[], 1.0, Some(-5))),
        (OM, "m 1 1700000000.123", sample("m", &[], 1.0, Some(1_700_000_000_123))),
        (OM, "m 1 1700000000", sample("m", &[], 1.0, Some(1_700_000_000_000))),
        (OM, "m 1 1.0005", sample("m", &[], 1.0, Some(1001))),
        (OM, "m 1 1.7e9", sample("m", &[], 1.0, Some(1_700_000_000_000))),
        // Quoted UTF-8 names (Prometheus 3).
        (TEXT, r#"{"metric.name"} 1"#, sample("metric.name", &[], 1.0, None)),
        (
            TEXT,
            r#"{"metric.name", "label.x"="v"} 1"#,
            sample("metric.name", &[("label.x", "v")], 1.0, None),
        ),
        (TEXT, r#"{a="1", "m.n"} 1"#, sample("m.n", &[("a", "1")], 1.0, None)),
        (
            TEXT,
            r#"m{"la bel"="v",b="w"} 1"#,
            sample("m", &[("la bel", "v"), ("b", "w")], 1.0, None),
        ),
        (
            OM,
            r#"{"métrique\"x"} 1 2"#,
            sample("métrique\"x", &[], 1.0, Some(2000)),
        ),
        // OpenMetrics-only sample shapes are plain samples.
        (
            OM,
            "foo_created 1520430000.123",
            sample("foo_created", &[], 1_520_430_000.123, None),
        ),
        (
            OM,
            r#"build_info{version="1.2"} 1"#,
            sample("build_info", &[("version", "1.2")], 1.0, None),
        ),
        (
            OM,
            r#"state{state="a"} 1"#,
            sample("state", &[("state", "a")], 1.0, None),
        ),
        // Exemplars.
        (
            OM,
            r#"h_bucket{le="0.5"} 4 # {trace_id="abc"} 0.3 1520879607.789"#,
            with_exemplar(
                sample("h_bucket", &[("le", "0.5")], 4.0, None),
                &[("trace_id", "abc")],
                0.3,
                Some(1_520_879_607_789),
            ),
        ),
        (
            OM,
            r#"c_total 7 1520879607 # {} 1"#,
            with_exemplar(sample("c_total", &[], 7.0, Some(1_520_879_607_000)), &[], 1.0, None),
        ),
        (
            OM,
            r#"c_total 7 # {a="1",b="2"} NaN"#,
            with_exemplar(
                sample("c_total", &[], 7.0, None),
                &[("a", "1"), ("b", "2")],
                f64::NAN,
                None,
            ),
        ),
        // Metadata.
        (TEXT, "# HELP m Some help.", help("m", "Some help.")),
        (TEXT, r"# HELP m a\\b\nc\x", help("m", "a\\b\nc\\x")),
        (TEXT, "# HELP m", help("m", "")),
        (TEXT, "#\tHELP\tm  spaced  text ", help("m", "spaced  text ")),
        (OM, r#"# HELP m say \"hi\""#, help("m", "say \"hi\"")),
        (OM, r#"# HELP "m.x" dotted"#, help("m.x", "dotted")),
        (TEXT, "# TYPE m counter", kind("m", MetricType::Counter)),
        (TEXT, "# TYPE m gauge", kind("m", MetricType::Gauge)),
        (TEXT, "# TYPE m histogram", kind("m", MetricType::Histogram)),
        (TEXT, "# TYPE m summary", kind("m", MetricType::Summary)),
        (TEXT, "# TYPE m untyped", kind("m", MetricType::Unknown)),
        (TEXT, "# TYPE m COUNTER", kind("m", MetricType::Counter)),
        (OM, "# TYPE m gaugehistogram", kind("m", MetricType::GaugeHistogram)),
        (OM, "# TYPE m info", kind("m", MetricType::Info)),
        (OM, "# TYPE m stateset", kind("m", MetricType::StateSet)),
        (OM, "# TYPE m unknown", kind("m", MetricType::Unknown)),
        (OM, r#"# TYPE "m.x" counter"#, kind("m.x", MetricType::Counter)),
        (OM, "# UNIT m seconds", unit("m", "seconds")),
        (OM, "# UNIT m", unit("m", "")),
        // Other comments.
        (TEXT, "# just a comment", Entry::Comment),
        (TEXT, "#HELP m not metadata", Entry::Comment),
        (TEXT, "#", Entry::Comment),
        (TEXT, "# UNIT m seconds", Entry::Comment),
        (TEXT, "# EOF", Entry::Comment),
        (OM, "# HELPER x", Entry::Comment),
    ];
    for (format, line, expected) in cases {
        let got = one(format, line);
        let same = match (&got, &expected) {
            // NaN != NaN: compare through the debug rendering, which prints NaN alike.
            (Entry::Sample(a), Entry::Sample(b)) => format!("{a:?}") == format!("{b:?}"),
            _ => got == expected,
        };
        assert!(same, "{line:?} ({format:?}):\n got {got:?}\nwant {expected:?}");
    }
}

#[test]
fn borrows_when_unescaped() {
    let entries = parse_all("m{a=\"b\"} 1\n", TEXT).unwrap_or_default();
    let Some(Entry::Sample(s)) = entries.first() else {
        panic!("no sample");
    };
    assert!(matches!(s.name, Cow::Borrowed(_)));
    assert!(matches!(s.labels[0], (Cow::Borrowed(_), Cow::Borrowed(_))));
}

#[test]
fn invalid_lines() {
    let cases: &[(Format, &str, &str)] = &[
        (TEXT, "1m 1", "line 1, column 1: expected metric name"),
        (
            TEXT,
            "m-x 1",
            r#"line 1, column 2: invalid character "-" in metric name"#,
        ),
        (
            TEXT,
            r#""m" 1"#,
            "line 1, column 1: quoted metric name must be inside braces",
        ),
        (TEXT, "m", "line 1, column 2: expected value"),
        (TEXT, "m{} ", "line 1, column 5: expected value"),
        (TEXT, "m x", r#"line 1, column 3: invalid value "x""#),
        (TEXT, "m 0x10", r#"line 1, column 3: invalid value "0x10""#),
        (TEXT, "m{a} 1", r#"line 1, column 4: expected "=" after label name"#),
        (
            TEXT,
            "m{a:b=\"1\"} 1",
            r#"line 1, column 4: expected "=" after label name"#,
        ),
        (TEXT, "m{1=\"1\"} 1", "line 1, column 3: expected label name"),
        (TEXT, "m{,} 1", "line 1, column 3: expected label name"),
        (TEXT, r#"m{a="1",,} 1"#, "line 1, column 9: expected label name"),
        (TEXT, "m{a=1} 1", "line 1, column 5: expected quoted label value"),
        (
            TEXT,
            r##"m{a="1" b="2"} 1"##,
            r##"line 1, column 9: expected "," or "}" after label"##,
        ),
        (TEXT, r#"m{a="1} 1"#, "line 1, column 5: unterminated label value"),
        (TEXT, r#"m{a="1\"} 1"#, "line 1, column 5: unterminated label value"),
        (TEXT, r#"m{a="1"}2"#, "line 1, column 9: expected space after label set"),
        (
            TEXT,
            r##"m{a="1",a="2"} 1"##,
            r##"line 1, column 9: duplicate label name "a""##,
        ),
        (
            TEXT,
            r##"m{a="1","a"="2"} 1"##,
            r##"line 1, column 9: duplicate label name "a""##,
        ),
        (TEXT, r#"m{"n"} 1"#, "line 1, column 3: metric name given twice"),
        (TEXT, r#"{"n","o"} 1"#, "line 1, column 6: metric name given twice"),
        (TEXT, r#"{a="1"} 1"#, "line 1, column 1: missing metric name"),
        (TEXT, r#"{""} 1"#, "line 1, column 2: metric name must not be empty"),
        (TEXT, r#"m{""="v"} 1"#, "line 1, column 3: label name must not be empty"),
        (TEXT, "m 1 1.5", r#"line 1, column 5: invalid timestamp "1.5""#),
        (
            TEXT,
            "m 1 99999999999999999999",
            r#"line 1, column 5: invalid timestamp "99999999999999999999""#,
        ),
        (TEXT, "m 1 2 3", "line 1, column 7: unexpected content after timestamp"),
        (
            TEXT,
            r#"m 1 # {a="b"} 1"#,
            "line 1, column 5: exemplars are only allowed in openmetrics",
        ),
        (
            TEXT,
            "# HELP",
            r##"line 1, column 7: expected metric name after "# HELP""##,
        ),
        (
            TEXT,
            "# HELP 1m x",
            r##"line 1, column 8: expected metric name after "# HELP""##,
        ),
        (TEXT, "# TYPE m", "line 1, column 9: expected metric type"),
        (
            TEXT,
            "# TYPE m info",
            r#"line 1, column 10: invalid metric type "info""#,
        ),
        (
            TEXT,
            "# TYPE m counter x",
            "line 1, column 18: unexpected content after metric type",
        ),
        (
            TEXT,
            "# TYPE m-x counter",
            r#"line 1, column 9: invalid character "-" in metric name"#,
        ),
        (
            TEXT,
            "a 1\n\n# TYPE m  nope",
            r#"line 3, column 11: invalid metric type "nope""#,
        ),
        (TEXT, "m{a=\"é\"} é", r#"line 1, column 10: invalid value "é""#),
        // OpenMetrics specifics.
        (
            OM,
            "m 1",
            r##"line 2, column 1: missing "# EOF" at the end of openmetrics input"##,
        ),
        (
            OM,
            "m 1\n\n# EOF",
            "line 2, column 1: blank lines are not allowed in openmetrics",
        ),
        (
            OM,
            "# EOF\nm 1",
            r##"line 2, column 1: unexpected content after "# EOF""##,
        ),
        (OM, "# EOF x", r##"line 1, column 7: unexpected content after "# EOF""##),
        (
            OM,
            r##"m{a="\t"} 1"##,
            r##"line 1, column 6: invalid escape sequence "\t" in label value"##,
        ),
        (
            OM,
            r"# HELP m a\tb",
            r#"line 1, column 11: invalid escape sequence "\t" in help text"#,
        ),
        (
            OM,
            "# TYPE m untyped",
            r#"line 1, column 10: invalid metric type "untyped""#,
        ),
        (
            OM,
            "# UNIT m sec.s",
            r#"line 1, column 13: invalid character "." in unit"#,
        ),
        (OM, "m 1 NaN", r#"line 1, column 5: invalid timestamp "NaN""#),
        (OM, "m 1 1e400", r#"line 1, column 5: invalid timestamp "1e400""#),
        (
            OM,
            "m 1 # a",
            r#"line 1, column 7: expected "{" to start exemplar labels"#,
        ),
        (OM, r#"m 1 # {a="b"}"#, "line 1, column 14: expected exemplar value"),
        (
            OM,
            r##"m 1 # {a="b"} x"##,
            r##"line 1, column 15: invalid exemplar value "x""##,
        ),
        (
            OM,
            r##"m 1 # {a="b"} 1 x"##,
            r##"line 1, column 17: invalid exemplar timestamp "x""##,
        ),
        (
            OM,
            r#"m 1 # {a="b"} 1 2 3"#,
            "line 1, column 19: unexpected content after exemplar",
        ),
        (
            OM,
            r##"m 1 # {"x"} 1"##,
            r##"line 1, column 11: expected "=" after label name"##,
        ),
        (
            OM,
            r##"m 1 # {a="b",a="c"} 1"##,
            r##"line 1, column 14: duplicate label name "a""##,
        ),
        (OM, "m 1 2 x", "line 1, column 7: unexpected content after timestamp"),
    ];
    let mut failures = Vec::new();
    for &(format, input, expected) in cases {
        let input = format!("{input}\n");
        let got = match parse_all(&input, format) {
            Ok(entries) => format!("ok: {entries:?}"),
            Err(e) => e.to_string(),
        };
        if got != expected {
            failures.push(format!("{input:?} ({format:?}):\n  got  {got}\n  want {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exemplar_label_limit() {
    let ok = format!("m 1 # {{a=\"{}\"}} 1\n# EOF\n", "x".repeat(127));
    assert!(parse_all(&ok, OM).is_ok());
    let long = format!("m 1 # {{a=\"{}\"}} 1\n# EOF\n", "x".repeat(128));
    let err = parse_all(&long, OM).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err("line 1, column 7: exemplar labels have 129 characters, more than 128".to_string())
    );
}

#[test]
fn many_labels_duplicate_check() {
    let mut line = String::from("m{");
    for n in 0..40 {
        line.push_str(&format!("l{n}=\"v\","));
    }
    let ok = format!("{line}}} 1\n");
    let Ok(entries) = parse_all(&ok, TEXT) else {
        panic!("40 distinct labels should parse");
    };
    assert!(matches!(&entries[0], Entry::Sample(s) if s.labels.len() == 40));
    let column = line.len() + 1;
    let dup = format!("{line}l3=\"w\"}} 1\n");
    let err = parse_all(&dup, TEXT).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err(format!("line 1, column {column}: duplicate label name \"l3\""))
    );
}

/// A node_exporter-like payload (74 lines): 16 HELP, 16 TYPE, 2 other comments, 38 samples, 2 blank lines.
const NODE_EXPORTER: &str = r##"# Node exporter sample scrape.
# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.3711e-05
go_gc_duration_seconds{quantile="0.25"} 3.5093e-05
go_gc_duration_seconds{quantile="0.5"} 4.4227e-05
go_gc_duration_seconds{quantile="1"} 0.000871612
go_gc_duration_seconds_sum 0.123456
go_gc_duration_seconds_count 2048
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 8
# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version="go1.22.3"} 1

# HELP node_boot_time_seconds Node boot time, in unixtime.
# TYPE node_boot_time_seconds gauge
node_boot_time_seconds 1.716187522e+09
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 123456.78
node_cpu_seconds_total{cpu="0",mode="iowait"} 12.34
node_cpu_seconds_total{cpu="0",mode="system"} 2345.6
node_cpu_seconds_total{cpu="0",mode="user"} 5678.9
node_cpu_seconds_total{cpu="1",mode="idle"} 123400.01
node_cpu_seconds_total{cpu="1",mode="iowait"} 11.1
node_cpu_seconds_total{cpu="1",mode="system"} 2300.2
node_cpu_seconds_total{cpu="1",mode="user"} 5600.3
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 4.2e+10
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 8.24e+08
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.52
# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 1.2345678e+10

# HELP node_network_receive_bytes_total Network device statistic receive_bytes.
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="eth0"} 9.87654321e+08
node_network_receive_bytes_total{device="lo"} 123456
# HELP node_scrape_collector_duration_seconds node_exporter: Duration of a collector scrape.
# TYPE node_scrape_collector_duration_seconds gauge
node_scrape_collector_duration_seconds{collector="cpu"} 0.000123
node_scrape_collector_duration_seconds{collector="filesystem"} 0.002
# HELP node_scrape_collector_success node_exporter: Whether a collector succeeded.
# TYPE node_scrape_collector_success gauge
node_scrape_collector_success{collector="cpu"} 1
node_scrape_collector_success{collector="filesystem"} 1
# HELP node_uname_info Labeled system information as provided by the uname system call.
# TYPE node_uname_info gauge
node_uname_info{domainname="(none)",machine="x86_64",nodename="host-1",release="6.1.0",sysname="Linux",version="#1 SMP"} 1
# HELP http_request_duration_seconds A histogram of request latencies.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{handler="/metrics",le="0.1"} 1020
http_request_duration_seconds_bucket{handler="/metrics",le="0.5"} 1030
http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} 1031
http_request_duration_seconds_sum{handler="/metrics"} 53.2
http_request_duration_seconds_count{handler="/metrics"} 1031
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 9
# HELP promhttp_metric_handler_errors_total Total number of internal errors encountered by the handler.
# TYPE promhttp_metric_handler_errors_total counter
promhttp_metric_handler_errors_total{cause="encoding"} 0
promhttp_metric_handler_errors_total{cause="gathering"} 0
# HELP scrape_timestamped A gauge with explicit timestamps, as an import would send.
# TYPE scrape_timestamped gauge
scrape_timestamped{instance="a"} 1 1716187522000
scrape_timestamped{instance="b"} NaN 1716187522000
# A trailing comment.
"##;

#[test]
fn node_exporter_payload() {
    let entries = match parse_all(NODE_EXPORTER, TEXT) {
        Ok(entries) => entries,
        Err(e) => panic!("{e}"),
    };
    let count = |f: fn(&Entry<'_>) -> bool| entries.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, Entry::Sample(_))), 38);
    assert_eq!(count(|e| matches!(e, Entry::Help { .. })), 16);
    assert_eq!(count(|e| matches!(e, Entry::Type { .. })), 16);
    assert_eq!(count(|e| matches!(e, Entry::Comment)), 2);
    assert_eq!(entries.len(), 72);
    let Some(Entry::Sample(uname)) = entries
        .iter()
        .find(|e| matches!(e, Entry::Sample(s) if s.name == "node_uname_info"))
    else {
        panic!("no node_uname_info");
    };
    assert_eq!(uname.labels.len(), 6);
    assert_eq!(uname.labels[5], (Cow::Borrowed("version"), Cow::Borrowed("#1 SMP")));
    let timestamped = entries
        .iter()
        .filter(|e| matches!(e, Entry::Sample(s) if s.timestamp_ms == Some(1_716_187_522_000)))
        .count();
    assert_eq!(timestamped, 2);

    // The same payload as OpenMetrics: blank lines are not allowed there.
    let err = parse_all(NODE_EXPORTER, OM).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err("line 16, column 1: blank lines are not allowed in openmetrics".to_string())
    );
}

#[test]
fn openmetrics_payload() {
    let input = "# TYPE acme_http_router_request_seconds summary\n\
                 # UNIT acme_http_router_request_seconds seconds\n\
                 # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.\n\
                 acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n\
                 acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n\
                 acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n\
                 # TYPE foo histogram\n\
                 foo_bucket{le=\"0.01\"} 0\n\
                 foo_bucket{le=\"+Inf\"} 17 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
                 foo_count 17\n\
                 foo_sum 324789.3\n\
                 foo_created 1520430000.123\n\
                 # TYPE stateset stateset\n\
                 stateset{stateset=\"a\"} 1\n\
                 stateset{stateset=\"b\"} 0\n\
                 # TYPE build info\n\
                 build_info{version=\"1\"} 1\n\
                 # EOF\n";
    let entries = match parse_all(input, OM) {
        Ok(entries) => entries,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(entries.len(), 17);
    let exemplars = entries
        .iter()
        .filter(|e| matches!(e, Entry::Sample(s) if s.exemplar.is_some()))
        .count();
    assert_eq!(exemplars, 1);
}
