//! Render, parse-error and robustness tests, including the examples of Loki's template documentation.
#![allow(clippy::unwrap_used)]

use super::*;

struct Ctx {
    labels: Vec<(&'static str, String)>,
    line: String,
    ts: i64,
}

impl TemplateContext for Ctx {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
    fn line(&self) -> &str {
        &self.line
    }
    fn timestamp_ns(&self) -> i64 {
        self.ts
    }
}

/// 2020-09-13 12:26:40.123 UTC.
const TS: i64 = 1_600_000_000_123_000_000;

fn ctx(labels: &[(&'static str, &str)]) -> Ctx {
    Ctx {
        labels: labels.iter().map(|(n, v)| (*n, v.to_string())).collect(),
        line: "HeLLo World".to_string(),
        ts: TS,
    }
}

fn render_with(text: &str, c: &Ctx) -> Result<String, TemplateError> {
    let t = Template::parse(text)?;
    let mut out = String::new();
    t.render(c, &mut out)?;
    Ok(out)
}

fn render(text: &str, labels: &[(&'static str, &str)]) -> String {
    match render_with(text, &ctx(labels)) {
        Ok(s) => s,
        Err(e) => panic!("{text:?} failed: {e}"),
    }
}

fn check(cases: &[(&str, &str)], labels: &[(&'static str, &str)]) {
    for (text, want) in cases {
        assert_eq!(render(text, labels), *want, "template {text:?}");
    }
}

fn render_err(text: &str) -> String {
    match render_with(text, &ctx(&[("a", "v")])) {
        Ok(s) => panic!("{text:?} rendered {s:?}, expected an error"),
        Err(e) => e.message,
    }
}

#[test]
fn loki_doc_pipeline_and_logic_examples() {
    let labels = [("path", "a b c d e f"), ("err", "ErrTimeout happened")];
    check(
        &[
            (r#"{{ .path | replace " " "_" | trunc 5 | upper }}"#, "A_B_C"),
            (
                r#"{{ if and (contains "he" "hello") (contains "llo" "hello") }} yes {{end}}"#,
                " yes ",
            ),
            (
                r#"{{ if or (contains "he" "hello") (contains "x" "hello") }} yes {{end}}"#,
                " yes ",
            ),
            (
                r#"{{ if contains .err "ErrTimeout" }} timeout {{else if contains "he" "hello"}} yes {{else}} no {{end}}"#,
                " yes ",
            ),
            (r#"{{ if contains "ErrTimeout" .err }} timeout {{end}}"#, " timeout "),
            (r#"{{ if eq "hello" "hello" }} yes {{end}}"#, " yes "),
            (r#"{{ if hasPrefix "he" "hello" }} yes {{end}}"#, " yes "),
            (r#"{{ if hasSuffix "lo" "hello" }} yes {{end}}"#, " yes "),
            ("{{ .path }}", "a b c d e f"),
            ("{{ __line__ | lower }}", "hello world"),
            ("{{ __line__ }}", "HeLLo World"),
        ],
        &labels,
    );
}

#[test]
fn loki_doc_date_examples() {
    let labels = [
        ("foo", "2021-11-02T10:00:00.5Z"),
        ("from", "1679577215"),
        ("createDate", "2021-11-02"),
    ];
    check(
        &[
            ("{{ __timestamp__ }}", "2020-09-13 12:26:40.123 +0000 UTC"),
            (
                r#"{{ __timestamp__ | date "2006-01-02T15:04:05.00Z-07:00" }}"#,
                "2020-09-13T12:26:40.12Z+00:00",
            ),
            ("{{ __timestamp__ | unixEpoch }}", "1600000000"),
            ("{{ __timestamp__ | unixEpochMillis }}", "1600000000123"),
            ("{{ __timestamp__ | unixEpochNanos }}", "1600000000123000000"),
            (
                r#"{{ toDate "2006-01-02" "2021-11-02" }}"#,
                "2021-11-02 00:00:00 +0000 UTC",
            ),
            (
                r#"{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" | unixEpoch }}"#,
                "1635811200",
            ),
            (
                r#"{{ .foo | toDateInZone "2006-01-02T15:04:05.999999999Z" "UTC" | unixEpochMillis }}"#,
                "1635847200500",
            ),
            (
                r#"{{ .foo | toDate "2006-01-02T15:04:05.999999999Z" | unixEpochNanos }}"#,
                "1635847200500000000",
            ),
            (
                r#"from="{{date "2006-01-02" (unixToTime .from)}}""#,
                r#"from="2023-03-23""#,
            ),
            (r#"{{unixEpoch (toDate "2006-01-02" .createDate)}}"#, "1635811200"),
            (
                r#"{{ date "Mon Jan _2 15:04:05 MST 2006" __timestamp__ }}"#,
                "Sun Sep 13 12:26:40 UTC 2020",
            ),
            (
                r#"{{ date "Monday, January 2 3:04PM pm 06 002 .000" __timestamp__ }}"#,
                "Sunday, September 13 12:26PM pm 20 257 .123",
            ),
            (
                r#"{{ toDate "2006-01-02T15:04:05-07:00" "2021-11-02T10:00:00+02:00" | unixEpoch }}"#,
                "1635840000",
            ),
            (r#"{{ toDate "2006-01-02" "not a date" | unixEpoch }}"#, "-62135596800"),
            (
                r#"{{ toDate "Jan 2, 2006 at 3:04pm" "Nov 2, 2021 at 1:30pm" | date "15:04" }}"#,
                "13:30",
            ),
            (r#"{{ date "2006-01-02" 86400 }}"#, "1970-01-02"),
            (r#"{{ unixToTime "19373" | date "2006-01-02" }}"#, "2023-01-16"),
            (r#"{{ unixToTime "1673798889902" | unixEpochMillis }}"#, "1673798889902"),
        ],
        &labels,
    );
    let now: i64 = render("{{ now | unixEpoch }}", &[]).parse().unwrap();
    assert!(now > 1_700_000_000);
    assert!(render_err(r#"{{ toDateInZone "2006" "Europe/Paris" "2021" }}"#).contains("only UTC"));
    assert!(render_err(r#"{{ unixToTime "123" }}"#).contains("unable to parse time '123'"));
    assert!(render_err(r#"{{ unixEpoch "123" }}"#).contains("expected time.Time; got string"));
}

#[test]
fn loki_doc_string_examples() {
    let labels = [
        ("cluster", "prod-cluster"),
        ("remote_addr", "129.168.1.1"),
        ("ip", "  1.2.3.4 "),
        ("query", "a\nb"),
    ];
    check(
        &[
            (r#"{{ alignLeft 5 "hello world"}}"#, "hello"),
            (r#"{{ alignLeft 5 "hi"}}"#, "hi   "),
            (r#"{{ alignRight 5 "hello world"}}"#, "world"),
            (r#"{{ alignRight 5 "hi"}}"#, "   hi"),
            (r#"{{ b64enc "hello" }}"#, "aGVsbG8="),
            (r#"{{ "aGVsbG8=" | b64dec }}"#, "hello"),
            (r#"{{ b64dec "!!!!" }}"#, "illegal base64 data at input byte 0"),
            (r#"{{ default "-" "" }}"#, "-"),
            (r#"{{ default "-" "foo" }}"#, "foo"),
            (r#"{{.http_request_headers_x_forwarded_for | default "-"}}"#, "-"),
            (r#"{{ lower "HELLO"}}"#, "hello"),
            ("{{ indent 4 .query }}", "    a\n    b"),
            ("{{ nindent 4 .query }}", "\n    a\n    b"),
            (r#"{{ repeat 3 "hello" }}"#, "hellohellohello"),
            (
                r#"{{ printf "The IP address was %s" .remote_addr }}"#,
                "The IP address was 129.168.1.1",
            ),
            (r#"{{ .cluster | replace "-cluster" "" }}"#, "prod"),
            (r#"{{ replace "hello" "world" "hello world" }}"#, "world world"),
            (r#"{{ substr 0 5 "hello world"}}"#, "hello"),
            (r#"{{ substr 6 11 "hello world"}}"#, "world"),
            (r#"{{ "hello" | substr 2 -1 }}"#, "llo"),
            (r#"{{ title "hello world"}}"#, "Hello World"),
            ("{{ .ip | trim }}", "1.2.3.4"),
            (r#"{{ trim "   hello    " }}"#, "hello"),
            (r#"{{ trimAll "$" "$5.00" }}"#, "5.00"),
            (r#"{{ trimPrefix "-" "-hello" }}"#, "hello"),
            (r#"{{ trimSuffix "-" "hello-" }}"#, "hello"),
            (r#"{{ trunc 5 "hello world"}}"#, "hello"),
            (r#"{{ trunc -5 "hello world"}}"#, "world"),
            (r#"{{ upper "hello"}}"#, "HELLO"),
            (r#"{{ urlencode "a b&c=d/é" }}"#, "a+b%26c%3Dd%2F%C3%A9"),
            (r#"{{ urldecode "a+b%26c%3Dd%2F%C3%A9" }}"#, "a b&c=d/é"),
            (
                r#"{{ ToUpper "a" }}{{ ToLower "B" }}{{ TrimSpace " c " }}{{ TrimPrefix "xd" "x" }}{{ TrimSuffix "ey" "y" }}"#,
                "Abcde",
            ),
            (
                r#"{{ Replace "aaaa" "a" "b" 2 }}|{{ Trim "xxhixx" "x" }}|{{ TrimLeft "xxhi" "x" }}|{{ TrimRight "hixx" "x" }}"#,
                "bbaa|hi|hi|hi",
            ),
        ],
        &labels,
    );
    assert!(render_err(r#"{{ urldecode "%zz" }}"#).contains(r#"invalid URL escape "%zz""#));
}

#[test]
fn loki_doc_printf_padding_examples() {
    let labels = [
        ("request_uri", "/id/609259548/hpr.html"),
        ("request_method", "GET"),
        ("ClientHost", "example.com"),
    ];
    check(
        &[
            (
                r#"{{ printf "%-40.40s" .request_uri}} {{printf "%-5.5s" .request_method}}"#,
                "/id/609259548/hpr.html                   GET  ",
            ),
            (
                r#""|" {{printf "%15.15s" .ClientHost}} "|""#,
                r#""|"     example.com "|""#,
            ),
            (r#"{{ printf "%.3s" "abcdef" }}"#, "abc"),
        ],
        &labels,
    );
}

#[test]
fn loki_doc_math_examples() {
    let labels = [("nowEpoch", "100"), ("createDateEpoch", "40")];
    check(
        &[
            ("{{ add 3 2 5 }}", "10"),
            ("{{ addf 3.5 2 5 }}", "10.5"),
            ("{{ ceil 123.001 }}", "124"),
            ("{{ div 10 2}}", "5"),
            ("{{ divf 10 2 4}}", "1.25"),
            (r#"{{ "3.5" | float64 }}"#, "3.5"),
            ("{{ floor 123.9999 }}", "123"),
            (r#"{{ "3" | int }}"#, "3"),
            ("{{ max 1 2 3 }}", "3"),
            ("{{ maxf 1 2.5 3 }}", "3"),
            ("{{ min 1 2 3 }}", "1"),
            ("{{ minf 1 2.5 3 }}", "1"),
            ("{{ mul 5 2 3}}", "30"),
            ("{{ mulf 5.5 2 2.5 }}", "27.5"),
            ("{{ mod 10 3}}", "1"),
            ("{{ round 123.555555 3 }}", "123.556"),
            ("{{ round 123.88571428571 5 .2 }}", "123.88572"),
            ("{{ round 123.88571428571 5 }}", "123.88571"),
            ("{{ sub 5 2 }}", "3"),
            ("{{ subf  5.5 2 1.5 }}", "2"),
            ("{{ addf 0.1 0.2 }}", "0.3"),
            ("{{sub .nowEpoch .createDateEpoch}}", "60"),
            (r#"{{ add "0x10" "abc" 1.9 true }}"#, "18"),
            ("{{ mulf 1000 1000 }}", "1e+06"),
            ("{{ divf 1 3 }}", "0.3333333333333333"),
            ("{{ float64 0.00001 }}", "1e-05"),
        ],
        &labels,
    );
    assert!(render_err("{{ div 1 0 }}").contains("error calling div: runtime error: integer divide by zero"));
    assert!(render_err("{{ mod 1 0 }}").contains("integer divide by zero"));
}

#[test]
fn loki_doc_regex_and_conversion_examples() {
    let labels = [("some_label", "aabcxbc"), ("timestamp", "ts=123 x"), ("foo", "1h30m")];
    check(
        &[
            (r#"{{ count "a|b" "abab" }}"#, "4"),
            (r#"{{ count "o" "foo" }}"#, "2"),
            (r#"{{ __line__ | count "l|L" }}"#, "3"),
            (r#"{{ regexReplaceAll "(a*)bc" .some_label "${1}a" }}"#, "aaaxa"),
            (
                r#"{{ regexReplaceAllLiteral "(ts=)" .timestamp "timestamp=" }}"#,
                "timestamp=123 x",
            ),
            (r#"{{ regexReplaceAllLiteral "(ts=)" .timestamp "$1" }}"#, "$1123 x"),
            (r#"{{ $p := "b+" }}{{ regexReplaceAll $p "abbbc" "-" }}"#, "a-c"),
            ("{{ .foo | duration }}", "5400"),
            (r#"{{ duration_seconds "1.5s" }}"#, "1.5"),
            (r#"{{ duration "-300ms" }}"#, "-0.3"),
            (r#"{{ bytes "2 KB" }}"#, "2000"),
            (r#"{{ bytes "1.5KiB" }}"#, "1536"),
            (r#"{{ bytes "42MB" }}"#, "4.2e+07"),
        ],
        &labels,
    );
    assert!(render_err(r#"{{ duration "5" }}"#).contains("missing unit"));
    assert!(render_err(r#"{{ bytes "5 zonks" }}"#).contains("unhandled size name"));
    assert!(render_err(r#"{{ $p := "(" }}{{ count $p "x" }}"#).contains("error parsing regexp"));
}

#[test]
fn syntax_trim_comments_literals() {
    let labels = [("x", "X"), ("foo.bar", "dotted"), ("a", "v")];
    check(
        &[
            ("a  {{- .x -}}  b", "aXb"),
            ("a  {{ .x -}} \n b", "a  Xb"),
            ("a{{/* c */}}b", "ab"),
            ("a {{- /* c */ -}} b", "ab"),
            ("{{-3}}", "-3"),
            ("{{ .missing }}|", "|"),
            (r#"{{ index . "foo.bar" }}"#, "dotted"),
            ("{{ $.x }}", "X"),
            (
                "{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 1_000 }} {{ 'a' }} {{ '\\n' }}",
                "31 15 15 1000 97 10",
            ),
            ("{{ 3.0 }} {{ 1.5e3 }} {{ 1000000.0 }} {{ -0.5 }}", "3 1500 1e+06 -0.5"),
            ("{{ `raw\\n` }}", "raw\\n"),
            (r#"{{ "tab\there\u00e9\x41\101" }}"#, "tab\thereéAA"),
            ("{{ true }} {{ false }}", "true false"),
            ("{{ (.x) }}{{ (index . \"a\") }}", "Xv"),
            (r#"{{ .a | printf "%s-x" }}"#, "v-x"),
            (r#"{{ .a | printf "%s-%s" "p" }}"#, "p-v"),
            ("{{\n.x\n}}", "X"),
        ],
        &labels,
    );
}

#[test]
fn control_flow_and_variables() {
    let labels = [("a", "v"), ("status", "200"), ("zero", "")];
    check(
        &[
            ("{{ $x := .a }}{{ $x }}-{{ $x }}", "v-v"),
            ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
            ("{{ with .a }}[{{ . }}]{{ else }}none{{ end }}", "[v]"),
            ("{{ with .missing }}[{{ . }}]{{ else }}none{{ end }}", "none"),
            ("{{ with $v := .a }}{{ $v }}{{ end }}", "v"),
            ("{{ if .zero }}a{{ else with .a }}w{{ . }}{{ end }}", "wv"),
            (r#"{{ if eq .status "200" }}ok{{ else }}bad{{ end }}"#, "ok"),
            (
                r#"{{ if ne .status "200" }}bad{{ else if eq .status "200" }}ok{{ end }}"#,
                "ok",
            ),
            (
                "{{ eq 1 2 1 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 2.5 }} {{ ge \"b\" \"a\" }}",
                "true true true false true",
            ),
            (
                "{{ not .zero }} {{ not .a }} {{ len .a }} {{ len \"héllo\" }}",
                "true false 1 6",
            ),
            (
                r#"{{ and "a" "b" }}|{{ and "" "b" }}|{{ or "" "x" }}|{{ or .missing "def" }}"#,
                "b||x|def",
            ),
            (
                "{{ if 0 }}a{{ else if 0.0 }}b{{ else if \"\" }}c{{ else }}d{{ end }}",
                "d",
            ),
            (r#"{{ index "abc" 1 }}"#, "98"),
        ],
        &labels,
    );
    assert!(render_err(r#"{{ eq "a" 1 }}"#).contains("incompatible types for comparison"));
    assert!(render_err("{{ lt true false }}").contains("invalid type for comparison"));
}

#[test]
fn printf_and_print_verbs() {
    check(
        &[
            (
                r#"{{ printf "%d|%5d|%-5d|%05d|%x|%X|%o|%b|%+d" 42 42 42 42 255 255 8 5 3 }}"#,
                "42|   42|42   |00042|ff|FF|10|101|+3",
            ),
            (
                r#"{{ printf "%.2f|%f|%e|%g|%v|%8.3f|%-8.1f|" 3.14159 2.5 1234.5678 0.000012345 1.5 -3.14159 2.25 }}"#,
                "3.14|2.500000|1.234568e+03|1.2345e-05|1.5|  -3.142|2.2     |",
            ),
            (
                r#"{{ printf "%q|%v|%t|%%|%s|%x" "a\"b" true false "x" "hi" }}"#,
                r#""a\"b"|true|false|%|x|6869"#,
            ),
            (r#"{{ printf "%s" 5 }}"#, "%!s(int=5)"),
            (r#"{{ printf "%d" "x" }}"#, "%!d(string=x)"),
            (r#"{{ printf "%d" }}"#, "%!d(MISSING)"),
            (r#"{{ printf "x" 1 }}"#, "x%!(EXTRA int=1)"),
            (
                r#"{{ printf "%T %T %T %T" 1 "a" 1.5 true }}"#,
                "int string float64 bool",
            ),
            (
                r#"{{ printf "%*d|%c|%5s|%-5s|" 4 7 65 "ab" "cd" }}"#,
                "   7|A|   ab|cd   |",
            ),
            (
                r#"{{ printf "%v" __timestamp__ }}"#,
                "2020-09-13 12:26:40.123 +0000 UTC",
            ),
            (r#"{{ print 1 2 "a" 3 }}"#, "1 2a3"),
            (r#"{{ println 1 "a" }}"#, "1 a\n"),
            (r#"{{ printf "%g %G %.3g" 1e21 1e-7 1234.0 }}"#, "1e+21 1E-07 1.23e+03"),
        ],
        &[],
    );
}

#[test]
fn parse_errors() {
    let cases = [
        ("{{ foo }}", r#"template: line:1: function "foo" not defined"#),
        ("a\n\n{{ foo }}", r#"template: line:3: function "foo" not defined"#),
        ("{{ .a", "unclosed action"),
        ("{{ if .a }}x", "unexpected EOF"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ else }}", "unexpected {{else}}"),
        ("{{ range . }}{{ end }}", "not supported"),
        ("{{ define \"x\" }}{{ end }}", "not supported"),
        ("{{ $x }}", "undefined variable \"$x\""),
        ("{{ $x = 1 }}", "undefined variable \"$x\""),
        ("{{ }}", "missing value for command"),
        ("{{ 1x }}", "bad number syntax"),
        ("{{ \"abc }}", "unterminated quoted string"),
        ("{{ \"\\q\" }}", "unknown escape sequence"),
        ("{{ /* x */ }}", "unexpected"),
        ("{{/* x }}", "unclosed comment"),
        ("{{ count \"(\" \"x\" }}", "error parsing regexp"),
        ("{{ .a .b }}", "can't give argument to non-function .a"),
        ("{{ nil }}", "nil is not a command"),
        ("{{ .a | .b }}", "can't give argument to non-function .b"),
        ("{{ (.a }}", "unclosed left paren"),
        ("{{ contains(\"a\" \"b\") }}", "missing space"),
        ("{{ ^ }}", "unexpected"),
    ];
    for (text, want) in cases {
        match Template::parse(text) {
            Ok(_) => panic!("{text:?} parsed, expected error containing {want:?}"),
            Err(e) => assert!(e.message.contains(want), "{text:?}: got {:?}, want {want:?}", e.message),
        }
    }
    let deep = format!("{}{}{}", "{{ ".to_string() + &"(".repeat(100), "1", &")".repeat(100)) + " }}";
    assert!(Template::parse(&deep).unwrap_err().message.contains("nested deeper"));
    let deep_if = "{{ if 1 }}".repeat(100) + &"{{ end }}".repeat(100);
    assert!(Template::parse(&deep_if).unwrap_err().message.contains("nested deeper"));
    let ok_nested = "{{ if 1 }}".repeat(30) + "x" + &"{{ end }}".repeat(30);
    assert_eq!(render(&ok_nested, &[]), "x");
}

#[test]
fn exec_errors_and_bounds() {
    assert!(render_err("{{ upper 5 }}").contains("wrong type for value; expected string; got int"));
    assert!(render_err("{{ upper }}").contains("wrong number of args for upper: want 1 got 0"));
    assert!(render_err("{{ .a.b }}").contains("can't evaluate field b in type string"));
    assert!(render_err("{{ . }}").contains("label map"));
    assert!(render_err(r#"{{ repeat 2000000 "x" }}"#).contains("exceeds"));
    assert!(render_err(r#"{{ repeat -1 "x" }}"#).contains("negative Repeat count"));
    assert!(render_err(r#"{{ repeat 1000000 "x" }}{{ repeat 1000000 "x" }}"#).contains("output exceeds"));
    assert!(render_err(r#"{{ alignLeft 5000000 "x" }}"#).contains("exceeds"));
    assert!(render_err(r#"{{ printf "%s" (repeat 600000 "ab") }}"#).contains("exceeds"));
    let msg = render_err("x\n{{ div 1 0 }}");
    assert!(
        msg.starts_with("template: line:2: executing \"line\": error calling div"),
        "{msg}"
    );
    // Errors leave the caller's buffer as it was; success appends.
    let t = Template::parse("a{{ div 1 0 }}").unwrap();
    let mut out = "keep".to_string();
    assert!(t.render(&ctx(&[]), &mut out).is_err());
    assert_eq!(out, "keep");
    let t = Template::parse("-{{ .a }}").unwrap();
    t.render(&ctx(&[("a", "1")]), &mut out).unwrap();
    assert_eq!(out, "keep-1");
}

#[test]
fn referenced_labels_lists_fields() {
    let t = Template::parse(
        r#"{{ .a }}{{ if .b }}{{ .c | printf "%s" }}{{ else }}{{ (.g).h }}{{ end }}{{ index . "d.e" }}{{ $.f }}{{ .a }}"#,
    )
    .unwrap();
    assert_eq!(t.referenced_labels(), vec!["a", "b", "c", "g", "d.e", "f"]);
    assert!(
        Template::parse("{{ __line__ }}")
            .unwrap()
            .referenced_labels()
            .is_empty()
    );
}

#[test]
fn template_is_send_sync_and_reusable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    let t = Template::parse("{{ .a | upper }}").unwrap();
    for v in ["x", "y"] {
        let mut out = String::new();
        t.clone().render(&ctx(&[("a", v)]), &mut out).unwrap();
        assert_eq!(out, v.to_uppercase());
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn exercise(text: &str) {
        if let Ok(t) = Template::parse(text) {
            let c = ctx(&[("a", "1"), ("b", "x y"), ("t", "2021-01-02")]);
            let mut out = String::new();
            let _ = t.render(&c, &mut out);
            assert!(out.len() <= MAX_OUTPUT);
            let _ = t.referenced_labels();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            exercise(&text);
        }

        #[test]
        fn template_like_text_never_panics(
            text in "([{}()|.$ \"`'\\-:=/*\\\\a-z0-9_]|\\{\\{|\\}\\}| if | else | end | with |printf|\"%[-+ #0-9.*a-zA-Z%]{0,4}\"){0,40}"
        ) {
            exercise(&text);
        }

        #[test]
        fn time_layouts_and_formats_never_panic(layout in "\\PC{0,24}", value in "\\PC{0,24}", secs in any::<i64>()) {
            let _ = timefmt::parse_time(&layout, &value);
            let t = timefmt::Time { secs, nanos: 5 };
            prop_assert!(t.format(&layout).len() < 4096);
            let _ = timefmt::parse_duration(&value);
            let _ = printf::sprintf(&layout, &[value::Value::Int(secs), value::Value::Str(value.clone())]);
        }

        #[test]
        fn function_calls_never_panic(
            f in prop::sample::select(vec![
                "upper", "trunc", "substr", "alignLeft", "alignRight", "indent", "repeat", "add", "div", "mod",
                "divf", "round", "date", "toDate", "unixToTime", "bytes", "duration", "printf", "index", "count",
                "regexReplaceAll", "b64dec", "urldecode", "title", "eq", "lt", "default", "unixEpoch", "int",
            ]),
            args in prop::collection::vec(
                prop_oneof![
                    Just("-1".to_string()), Just("0".to_string()), Just("3".to_string()),
                    Just("9223372036854775807".to_string()), Just("-9223372036854775808".to_string()),
                    Just("1.5".to_string()), Just(".a".to_string()), Just(".b".to_string()), Just("__timestamp__".to_string()),
                    "\"[^\"\\\\]{0,6}\"".prop_map(|s| s),
                ],
                0..4,
            )
        ) {
            exercise(&format!("{{{{ {f} {} }}}}", args.join(" ")));
        }
    }
}
