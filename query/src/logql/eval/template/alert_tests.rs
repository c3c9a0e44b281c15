//! Tests of Prometheus alert templates: the examples of Prometheus's template reference and examples
//! pages and of its template test-suite, parse and render errors, and robustness.
#![allow(clippy::unwrap_used)]

use super::*;

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const URL: &str = "http://testhost:9090/path/prefix";

fn render_with(text: &str, value: f64, labels: &[(&str, &str)]) -> Result<String, TemplateError> {
    let labels = pairs(labels);
    let external = pairs(&[("cluster", "eu1"), ("replica", "a")]);
    let data = AlertData {
        labels: &labels,
        external_labels: &external,
        value,
        external_url: URL,
    };
    let t = Template::parse_alert(text)?;
    let mut out = String::new();
    t.render_alert(&data, &mut out)?;
    Ok(out)
}

const LABELS: &[(&str, &str)] = &[
    ("__name__", "up"),
    ("instance", "localhost:9100"),
    ("job", "node"),
    ("severity", "page"),
];

fn render(text: &str, value: f64) -> String {
    match render_with(text, value, LABELS) {
        Ok(s) => s,
        Err(e) => panic!("{text:?} failed: {e}"),
    }
}

fn check(cases: &[(&str, f64, &str)]) {
    for (text, value, want) in cases {
        assert_eq!(render(text, *value), *want, "template {text:?} with value {value}");
    }
}

fn render_err(text: &str, value: f64) -> String {
    match render_with(text, value, LABELS) {
        Ok(s) => panic!("{text:?} rendered {s:?}, expected an error"),
        Err(e) => e.message,
    }
}

#[test]
fn variables_and_fields() {
    check(&[
        (
            "Instance {{$labels.instance}} down",
            0.0,
            "Instance localhost:9100 down",
        ),
        (
            "{{$labels.instance}} of job {{$labels.job}} has been down for more than 5 minutes.",
            0.0,
            "localhost:9100 of job node has been down for more than 5 minutes.",
        ),
        ("{{ .Labels.job }}", 0.0, "node"),
        ("{{ index $labels \"severity\" }}", 0.0, "page"),
        ("{{ index .Labels \"__name__\" }}", 0.0, "up"),
        (
            "{{ $externalLabels.cluster }}/{{ .ExternalLabels.replica }}",
            0.0,
            "eu1/a",
        ),
        (
            "{{ $externalURL }} {{ .ExternalURL }}",
            0.0,
            "http://testhost:9090/path/prefix http://testhost:9090/path/prefix",
        ),
        // A missing label is "" (Prometheus executes with missingkey=zero).
        (
            "[{{ $labels.missing }}][{{ index $labels \"missing\" }}][{{ .Labels.nope }}]",
            0.0,
            "[][][]",
        ),
        ("{{ len $labels }} {{ len $externalLabels }}", 0.0, "4 2"),
        ("{{ $externalLabels }}", 0.0, "map[cluster:eu1 replica:a]"),
        ("{{ $labels := .ExternalLabels }}{{ $labels.cluster }}", 0.0, "eu1"),
    ]);
}

#[test]
fn value_printing() {
    check(&[
        ("{{ $value }}", 0.5, "0.5"),
        ("{{ $value }}", 1e6, "1e+06"),
        ("{{ $value }}", 3.0, "3"),
        ("{{ .Value }}", 123456.0, "123456"),
        ("{{ $value }}", 0.0001, "0.0001"),
        ("{{ $value }}", f64::NAN, "NaN"),
        ("{{ $value }}", f64::NEG_INFINITY, "-Inf"),
        ("{{ printf \"%.2f\" $value }}", 97.3456, "97.35"),
        ("{{ $value | printf \"%.1f%%\" }}", 42.25, "42.2%"),
        (
            "{{ $labels.instance }} has a median request latency above 1s (current value: {{ $value }}s)",
            1.25,
            "localhost:9100 has a median request latency above 1s (current value: 1.25s)",
        ),
    ]);
}

#[test]
fn conditionals_and_range() {
    check(&[
        ("{{ if gt $value 100.0 }}high{{ else }}ok{{ end }}", 150.0, "high"),
        ("{{ if gt $value 100.0 }}high{{ else }}ok{{ end }}", 50.0, "ok"),
        ("{{ if eq $labels.severity \"page\" }}PAGE{{ end }}", 0.0, "PAGE"),
        (
            "{{ if and (ge $value 1.0) (ne $labels.job \"x\") }}y{{ end }}",
            1.0,
            "y",
        ),
        (
            "{{ if not (lt $value 0.5) }}big{{ else if eq $value 0.0 }}zero{{ else }}small{{ end }}",
            0.0,
            "zero",
        ),
        (
            "{{ with $labels.job }}job={{ . }}{{ end }}{{ with $labels.none }}never{{ end }}",
            0.0,
            "job=node",
        ),
        (
            "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
            0.0,
            "__name__=up;instance=localhost:9100;job=node;severity=page;",
        ),
        ("{{ range $externalLabels }}<{{ . }}>{{ end }}", 0.0, "<eu1><a>"),
        ("{{ range $v := .ExternalLabels }}{{ $v }}{{ end }}", 0.0, "eu1a"),
    ]);
    assert_eq!(
        render_with("{{ range $labels }}x{{ else }}none{{ end }}", 0.0, &[]).unwrap(),
        "none"
    );
}

#[test]
fn humanize_family() {
    check(&[
        ("{{ humanize $value }}", 1234567.0, "1.235M"),
        ("{{ humanize $value }}", 0.0012, "1.2m"),
        ("{{ humanize $value }}", 0.12, "120m"),
        ("{{ humanize $value }}", 0.0, "0"),
        ("{{ humanize $value }}", 1.0, "1"),
        ("{{ humanize 9223372036854775807 }}", 0.0, "9.223E"),
        (
            "{{ humanize \"1234567.0\" }}:{{ humanize \".12\" }}",
            0.0,
            "1.235M:120m",
        ),
        ("{{ humanize $value }}", f64::INFINITY, "+Inf"),
        ("{{ humanize1024 $value }}", 2048.0, "2ki"),
        ("{{ humanize1024 $value }}", 1048576.0, "1Mi"),
        ("{{ humanize1024 $value }}", 1234567.0, "1.177Mi"),
        ("{{ humanize1024 $value }}", 0.12, "0.12"),
        ("{{ humanizeDuration $value }}", 3661.0, "1h 1m 1s"),
        ("{{ humanizeDuration $value }}", 0.25, "250ms"),
        ("{{ humanizeDuration $value }}", 899.99, "14m 59s"),
        (
            "{{ humanizeDuration $value }}",
            -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
            "-2d 3h 4m 5s",
        ),
        ("{{ humanizeDuration $value }}", 0.0, "0s"),
        ("{{ humanizeDuration $value }}", 0.0001, "100us"),
        ("{{ humanizeDuration $value }}", 0.12345, "123.5ms"),
        ("{{ humanizeDuration $value }}", 12.345, "12.35s"),
        ("{{ humanizeDuration $value }}", 60.5, "1m 0s"),
        ("{{ humanizeDuration 1234567 }}", 0.0, "14d 6h 56m 7s"),
        ("{{ humanizePercentage $value }}", 0.1234, "12.34%"),
        ("{{ humanizePercentage $value }}", 0.1234567, "12.35%"),
        (
            "{{ -0.22222 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
            0.0,
            "-22.22%:123.5%",
        ),
        ("{{ humanizePercentage 1234567 }}", 0.0, "1.235e+08%"),
        (
            "{{ humanizeTimestamp $value }}",
            1435065584.0,
            "2015-06-23 13:19:44 +0000 UTC",
        ),
        (
            "{{ $value | humanizeTimestamp }}",
            1435065584.128,
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        (
            "{{ \"1435065584.128\" | humanizeTimestamp }}",
            0.0,
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        ("{{ humanizeTimestamp -1 }}", 0.0, "1969-12-31 23:59:59 +0000 UTC"),
        (
            "{{ humanizeTimestamp 9223372036 }}",
            0.0,
            "2262-04-11 23:47:16 +0000 UTC",
        ),
        ("{{ humanizeTimestamp $value }}", f64::NAN, "NaN"),
        ("{{ toTime 1657155181 }}", 0.0, "2022-07-07 00:53:01 +0000 UTC"),
    ]);
}

#[test]
fn string_functions() {
    check(&[
        ("{{ \"aa bb CC\" | title }}", 0.0, "Aa Bb CC"),
        ("{{ \"aa bb CC\" | toUpper }}", 0.0, "AA BB CC"),
        ("{{ \"aA bB CC\" | toLower }}", 0.0, "aa bb cc"),
        ("{{ $labels.job | title }}", 0.0, "Node"),
        ("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}", 0.0, "true false"),
        ("{{ if match \"^local\" $labels.instance }}local{{ end }}", 0.0, "local"),
        ("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", 0.0, "xa"),
        (
            "{{ reReplaceAll \"localhost:(.*)\" \"my.domain:$1\" $labels.instance }}",
            0.0,
            "my.domain:9100",
        ),
        ("{{ \"foo.example.com\" | stripPort }}", 0.0, "foo.example.com"),
        ("{{ \"foo.example.com:12345\" | stripPort }}", 0.0, "foo.example.com"),
        ("{{ \"192.0.2.1:12345\" | stripPort }}", 0.0, "192.0.2.1"),
        ("{{ \"2001:0DB8::1\" | stripPort }}", 0.0, "2001:0DB8::1"),
        ("{{ \"[2001:0DB8::1]:12345\" | stripPort }}", 0.0, "2001:0DB8::1"),
        (
            "{{ \"[2001:0DB8::1]::12345\" | stripPort }}",
            0.0,
            "[2001:0DB8::1]::12345",
        ),
        ("{{ $labels.instance | stripPort }}", 0.0, "localhost"),
        ("{{ \"foo.example.com\" | stripDomain }}", 0.0, "foo"),
        ("{{ \"foo.example.com:12345\" | stripDomain }}", 0.0, "foo:12345"),
        ("{{ \"192.0.2.1\" | stripDomain }}", 0.0, "192.0.2.1"),
        ("{{ \"192.0.2.1:12345\" | stripDomain }}", 0.0, "192.0.2.1:12345"),
        ("{{ \"2001:0DB8::1\" | stripDomain }}", 0.0, "2001:0DB8::1"),
        (
            "{{ \"[2001:0DB8::1]:12345\" | stripDomain }}",
            0.0,
            "[2001:0DB8::1]:12345",
        ),
        (
            "{{ \"[2001:0DB8::1]::12345\" | stripDomain }}",
            0.0,
            "[2001:0DB8::1]::12345",
        ),
        ("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", 0.0, "3720.01"),
        (
            "{{ parseDuration \"1d\" }} {{ parseDuration \"0\" }} {{ parseDuration \"1y2w\" }}",
            0.0,
            "86400 0 3.27456e+07",
        ),
        ("{{ \"<b>\" | safeHtml }}", 0.0, "<b>"),
        (
            "{{ graphLink \"up\" }} {{ tableLink \"rate(x[5m])\" }}",
            0.0,
            "/graph?g0.expr=up&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1",
        ),
        (
            "{{ externalURL }} {{ pathPrefix }}",
            0.0,
            "http://testhost:9090/path/prefix /path/prefix",
        ),
        (
            "{{ \"a b&c\" | urlquery }} {{ html \"<a href='x'>\" }}",
            0.0,
            "a+b%26c &lt;a href=&#39;x&#39;&gt;",
        ),
    ]);
}

#[test]
fn parse_errors() {
    let err = |text: &str| Template::parse_alert(text).unwrap_err().message;
    assert_eq!(
        err("{{ query \"up\" | first | value }}"),
        "template: line:1: function \"query\" is not supported in Loupe's templates"
    );
    for name in ["first", "label", "value", "sortByLabel", "strvalue"] {
        let msg = err(&format!("{{{{ {name} . }}}}"));
        assert_eq!(
            msg,
            format!("template: line:1: function {name:?} is not supported in Loupe's templates")
        );
    }
    assert_eq!(
        err("a\nb\n{{ nope }}"),
        "template: line:3: function \"nope\" not defined"
    );
    // LogQL-only functions are not Prometheus's.
    assert_eq!(
        err("{{ upper $labels.job }}"),
        "template: line:1: function \"upper\" not defined"
    );
    assert_eq!(err("{{"), "template: line:1: unclosed action");
    assert_eq!(err("x\n{{ if true }}"), "template: line:2: unexpected EOF");
    assert_eq!(err("{{ $nope }}"), "template: line:1: undefined variable \"$nope\"");
    assert_eq!(
        err("{{ define \"x\" }}{{ end }}"),
        "template: line:1: {{define}} is not supported in Loupe's templates"
    );
    assert!(check_alert_template("{{ $labels.instance }} {{ $value | humanize }}").is_ok());
    assert!(check_alert_template("{{ query \"up\" }}").is_err());
    // LogQL templates keep their function set and keywords.
    assert!(Template::parse("{{ humanize 1 }}").is_err());
    assert!(Template::parse("{{ range . }}{{ end }}").is_err());
}

#[test]
fn render_errors() {
    // Go compares a float64 with an int as incompatible types, like Prometheus.
    assert_eq!(
        render_err("{{ if gt $value 100 }}x{{ end }}", 1.0),
        "template: line:1: executing \"alert\": error calling gt: incompatible types for comparison"
    );
    assert_eq!(
        render_err("{{ humanize \"one\" }}", 0.0),
        "template: line:1: executing \"alert\": error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax"
    );
    assert!(
        render_err("{{ humanizeTimestamp 1e300 }}", 0.0)
            .ends_with("1e+300 cannot be represented as a nanoseconds timestamp since it overflows int64")
    );
    assert!(
        render_err("\n{{ .Foo }}", 0.0)
            .starts_with("template: line:2: executing \"alert\": can't evaluate field Foo in type struct")
    );
    assert!(render_err("{{ toUpper $value }}", 0.0).ends_with("wrong type for value; expected string; got float64"));
    assert!(render_err("{{ match \"(\" \"x\" }}", 0.0).contains("error calling match: error parsing regexp"));
    assert!(render_err("{{ parseDuration \"1x\" }}", 0.0).ends_with("not a valid duration string: \"1x\""));
    assert!(render_err("{{ parseDuration \"1s1m\" }}", 0.0).ends_with("not a valid duration string: \"1s1m\""));
    assert!(render_err("{{ range $value }}{{ end }}", 0.0).ends_with("range can't iterate over 0"));
    // The output is left as it was on error.
    let t = Template::parse_alert("ok {{ humanize \"x\" }}").unwrap();
    let mut out = "keep".to_string();
    let data = AlertData {
        labels: &[],
        external_labels: &[],
        value: 1.0,
        external_url: "",
    };
    assert!(t.render_alert(&data, &mut out).is_err());
    assert_eq!(out, "keep");
}

#[test]
fn nested_ranges_are_bounded() {
    let labels: Vec<(String, String)> = (0..30).map(|i| (format!("l{i:02}"), "v".to_string())).collect();
    let text = "{{ range $labels }}".repeat(8) + &"{{ end }}".repeat(8);
    let t = Template::parse_alert(&text).unwrap();
    let data = AlertData {
        labels: &labels,
        external_labels: &[],
        value: 0.0,
        external_url: "",
    };
    let mut out = String::new();
    let err = t.render_alert(&data, &mut out).unwrap_err();
    assert!(err.message.contains("steps"), "{}", err.message);
}

mod props {
    use proptest::prelude::*;

    use super::*;

    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "$labels",
        "$value",
        "$externalLabels",
        "$externalURL",
        ".Labels",
        ".Value",
        ".instance",
        ".job",
        "humanize",
        "humanize1024",
        "humanizeDuration",
        "humanizePercentage",
        "humanizeTimestamp",
        "toTime",
        "title",
        "toUpper",
        "toLower",
        "match",
        "reReplaceAll",
        "stripPort",
        "stripDomain",
        "parseDuration",
        "safeHtml",
        "graphLink",
        "urlquery",
        "html",
        "printf",
        "index",
        "len",
        "range",
        "if",
        "else",
        "end",
        "with",
        "gt",
        "eq",
        "and",
        "not",
        "|",
        "(",
        ")",
        ":=",
        ",",
        "$k",
        "$v",
        "\"%.2f\"",
        "\"a+\"",
        "\"(x\"",
        "\"1h2m\"",
        "\"[::1]:80\"",
        "100.0",
        "3",
        "1e300",
        "-1",
        "\"x\"",
    ];

    fn template() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![prop::sample::select(PIECES).prop_map(str::to_string), "[ -~]{0,6}",],
            0..24,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn arbitrary_templates_never_panic(
            text in template(),
            raw in "\\PC{0,40}",
            value in prop::num::f64::ANY,
            labels in prop::collection::vec(("[a-z_]{0,4}", "\\PC{0,8}"), 0..5),
            url in "\\PC{0,20}",
        ) {
            let ext = vec![("cluster".to_string(), "c".to_string())];
            let data = AlertData { labels: &labels, external_labels: &ext, value, external_url: &url };
            for src in [&text, &raw] {
                let _ = check_alert_template(src);
                if let Ok(t) = Template::parse_alert(src) {
                    let mut out = String::new();
                    let _ = t.render_alert(&data, &mut out);
                    prop_assert!(out.len() <= MAX_OUTPUT);
                }
            }
        }
    }
}
