//! Concrete cases, mostly from Loki's docs ("Parser expression", "json", "logfmt", "pattern", "unpack").

use super::*;

type Pairs = Vec<(String, String)>;

fn pairs(list: &[(&str, &str)]) -> Pairs {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn all(line: &str) -> (Pairs, Result<(), ParserError>) {
    let mut out = Vec::new();
    let r = json_all(line, &mut |k, v| out.push((k.to_string(), v.to_string())));
    (out, r)
}

fn extract(line: &str, exprs: &[(&str, &str)]) -> (Pairs, Result<(), ParserError>) {
    let paths: Vec<(String, JsonPath)> = exprs
        .iter()
        .map(|(l, p)| (l.to_string(), JsonPath::parse(p).expect("test path is valid")))
        .collect();
    let mut out = Vec::new();
    let r = json_extract(line, &paths, &mut |k, v| out.push((k.to_string(), v.to_string())));
    (out, r)
}

fn lf(line: &str, strict: bool, keep_empty: bool, ex: &[(&str, &str)]) -> (Pairs, Result<(), ParserError>) {
    let ex: Vec<(String, String)> = ex.iter().map(|(l, k)| (l.to_string(), k.to_string())).collect();
    let mut out = Vec::new();
    let r = logfmt(line, strict, keep_empty, &ex, &mut |k, v| {
        out.push((k.to_string(), v.to_string()))
    });
    (out, r)
}

const DOC: &str = r#"{
    "protocol": "HTTP/2.0",
    "servers": ["129.0.1.1","10.2.1.3"],
    "request": {
        "time": "6.032",
        "method": "GET",
        "host": "foo.grafana.net",
        "size": "55",
        "headers": {
          "Accept": "*/*",
          "User-Agent": "curl/7.68.0"
        }
    },
    "response": {
        "status": 401,
        "size": "228",
        "latency_seconds": "6.031"
    }
}"#;

// ---- sanitize_key -------------------------------------------------------------------------------------------

#[test]
fn sanitize_rules() {
    assert_eq!(sanitize_key("a-b"), "a_b");
    assert_eq!(sanitize_key("9x"), "_9x");
    assert_eq!(sanitize_key("a.b"), "a_b");
    assert_eq!(sanitize_key("  padded  "), "padded");
    assert_eq!(sanitize_key("caf\u{e9}"), "caf_");
    assert_eq!(sanitize_key("a:b"), "a_b");
    assert_eq!(sanitize_key("ok_Name1"), "ok_Name1");
    assert_eq!(sanitize_key(""), "");
    assert_eq!(sanitize_key("   "), "");
}

// ---- json_all -----------------------------------------------------------------------------------------------

#[test]
fn json_docs_example() {
    let (got, r) = all(DOC);
    assert_eq!(r, Ok(()));
    assert_eq!(
        got,
        pairs(&[
            ("protocol", "HTTP/2.0"),
            ("request_time", "6.032"),
            ("request_method", "GET"),
            ("request_host", "foo.grafana.net"),
            ("request_size", "55"),
            ("request_headers_Accept", "*/*"),
            ("request_headers_User_Agent", "curl/7.68.0"),
            ("response_status", "401"),
            ("response_size", "228"),
            ("response_latency_seconds", "6.031"),
        ])
    );
}

#[test]
fn json_sanitised_nesting_from_docs() {
    let (got, r) = all(r#"{ "a.b": {"c": "d"}, "e": "f" }"#);
    assert_eq!(r, Ok(()));
    assert_eq!(got, pairs(&[("a_b_c", "d"), ("e", "f")]));
}

#[test]
fn json_scalar_rendering() {
    let (got, _) = all(r#"{"n":1.50,"e":1e3,"neg":-2,"t":true,"f":false,"z":null,"s":"x\"y\n\u00e9"}"#);
    assert_eq!(
        got,
        pairs(&[
            ("n", "1.50"),
            ("e", "1e3"),
            ("neg", "-2"),
            ("t", "true"),
            ("f", "false"),
            ("s", "x\"y\n\u{e9}")
        ])
    );
}

#[test]
fn json_arrays_nulls_and_empty_values_are_skipped() {
    let (got, r) = all(r#"{"a":[1,{"b":2}],"c":null,"d":"","e":{"f":[]},"g":"ok"}"#);
    assert_eq!(r, Ok(()));
    assert_eq!(got, pairs(&[("g", "ok")]));
}

#[test]
fn json_duplicate_key_keeps_first() {
    let (got, _) = all(r#"{"a":"1","a":"2","b-c":"x","b_c":"y"}"#);
    assert_eq!(got, pairs(&[("a", "1"), ("b_c", "x")]));
}

#[test]
fn json_digit_keys_are_prefixed_at_every_level() {
    let (got, _) = all(r#"{"1a":"x","o":{"2b":"y"}}"#);
    assert_eq!(got, pairs(&[("_1a", "x"), ("o__2b", "y")]));
}

#[test]
fn json_escaped_key_and_invalid_escape() {
    let (got, _) = all(r#"{"k\u0065y":"v","bad":"\q"}"#);
    assert_eq!(got, pairs(&[("key", "v")]));
}

#[test]
fn json_surrogates() {
    let (got, _) = all(r#"{"a":"\ud83d\ude00","b":"x\ud800y"}"#);
    assert_eq!(got, pairs(&[("a", "\u{1F600}"), ("b", "x y")]));
}

#[test]
fn json_not_an_object_is_an_error() {
    for line in ["INFO GET / loki.net 200", "[1,2]", "\"str\"", "", "42"] {
        let (got, r) = all(line);
        assert!(got.is_empty(), "{line}");
        assert_eq!(r.map_err(|e| e.kind), Err("JSONParserErr"), "{line}");
    }
}

#[test]
fn json_malformed_keeps_earlier_labels() {
    let (got, r) = all(r#"{"a":"1","b":"#);
    assert_eq!(got, pairs(&[("a", "1")]));
    let err = r.expect_err("truncated object");
    assert_eq!(err.kind, JSON_PARSER_ERR);
    assert!(!err.details.is_empty());
}

#[test]
fn json_trailing_content_and_whitespace() {
    let (got, r) = all("  {\"a\" : \"b\" }  trailing");
    assert_eq!(r, Ok(()));
    assert_eq!(got, pairs(&[("a", "b")]));
}

#[test]
fn json_missing_comma_is_an_error() {
    let (_, r) = all(r#"{"a":"1" "b":"2"}"#);
    assert!(r.is_err());
}

#[test]
fn json_deep_nesting_is_bounded() {
    let line = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
    let (_, r) = all(&line);
    assert!(r.is_err());
    let ok = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
    let (got, r) = all(&ok);
    assert_eq!(r, Ok(()));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, vec!["a"; 100].join("_"));
}

#[test]
fn json_deep_arrays_are_skipped_without_recursion() {
    let line = format!("{{\"a\":{}{},\"b\":\"c\"}}", "[".repeat(10_000), "]".repeat(10_000));
    let (got, r) = all(&line);
    assert_eq!(r, Ok(()));
    assert_eq!(got, pairs(&[("b", "c")]));
}

// ---- JsonPath / json_extract --------------------------------------------------------------------------------

#[test]
fn json_path_parse() {
    use JsonSegment::{Index, Key};
    let p = JsonPath::parse(r#"my.list[0]["field"]"#).expect("valid");
    assert_eq!(
        p.segments(),
        &[Key("my".into()), Key("list".into()), Index(0), Key("field".into())]
    );
    let p = JsonPath::parse(r#"["x.y"]"#).expect("valid");
    assert_eq!(p.segments(), &[Key("x.y".into())]);
    let p = JsonPath::parse(" a . b [ 2 ] ").expect("valid");
    assert_eq!(p.segments(), &[Key("a".into()), Key("b".into()), Index(2)]);
    let p = JsonPath::parse("[3].x").expect("valid");
    assert_eq!(p.segments(), &[Index(3), Key("x".into())]);
}

#[test]
fn json_path_errors() {
    for bad in [
        "", "a..b", ".a", "a.", "a[1.5]", "a[-1]", "a[", "a[\"x\"", "a b", "1a", "a.0", "a[x]", "a$",
    ] {
        let err = JsonPath::parse(bad).expect_err(bad);
        assert!(err.starts_with("invalid json path"), "{bad}: {err}");
    }
    assert!(JsonPath::parse("a[1.5]").expect_err("float").contains("float"));
}

#[test]
fn json_extract_docs_example() {
    let (got, r) = extract(
        DOC,
        &[
            ("first_server", "servers[0]"),
            ("ua", "request.headers[\"User-Agent\"]"),
        ],
    );
    assert_eq!(r, Ok(()));
    assert_eq!(got, pairs(&[("first_server", "129.0.1.1"), ("ua", "curl/7.68.0")]));
}

#[test]
fn json_extract_containers_as_written() {
    let line = r#"{"servers": ["129.0.1.1","10.2.1.3"], "request": {"headers": {"Accept": "*/*", "User-Agent": "curl/7.68.0"}}}"#;
    let (got, _) = extract(line, &[("server_list", "servers"), ("headers", "request.headers")]);
    assert_eq!(
        got,
        pairs(&[
            ("server_list", r#"["129.0.1.1","10.2.1.3"]"#),
            ("headers", r#"{"Accept": "*/*", "User-Agent": "curl/7.68.0"}"#),
        ])
    );
}

#[test]
fn json_extract_scalars_and_missing() {
    let line = r#"{"n":401,"b":true,"z":null,"s":"a\tb","o":{"x":1}}"#;
    let (got, r) = extract(
        line,
        &[
            ("n", "n"),
            ("b", "b"),
            ("z", "z"),
            ("s", "s"),
            ("m", "missing"),
            ("w", "n.deeper"),
            ("i", "o[0]"),
        ],
    );
    assert_eq!(r, Ok(()));
    assert_eq!(
        got,
        pairs(&[
            ("n", "401"),
            ("b", "true"),
            ("z", ""),
            ("s", "a\tb"),
            ("m", ""),
            ("w", ""),
            ("i", "")
        ])
    );
}

#[test]
fn json_extract_array_root_and_index_out_of_range() {
    let (got, r) = extract(r#"[{"a":"x"},{"a":"y"}]"#, &[("second", "[1].a"), ("none", "[5]")]);
    assert_eq!(r, Ok(()));
    assert_eq!(got, pairs(&[("second", "y"), ("none", "")]));
}

#[test]
fn json_extract_bad_start_and_empty_line() {
    let (got, r) = extract("level=info", &[("a", "a")]);
    assert!(got.is_empty());
    assert_eq!(
        r,
        Err(ParserError {
            kind: "JSONParserErr",
            details: String::new()
        })
    );
    let (got, r) = extract("", &[("a", "a")]);
    assert!(got.is_empty());
    assert_eq!(r, Ok(()));
}

#[test]
fn json_extract_malformed_on_the_way() {
    let (got, r) = extract(r#"{"a":"1","b":"#, &[("a", "a"), ("b", "b")]);
    assert_eq!(got, pairs(&[("a", "1"), ("b", "")]));
    assert_eq!(r.map_err(|e| e.kind), Err("JSONParserErr"));
}

// ---- unpack -------------------------------------------------------------------------------------------------

#[test]
fn unpack_docs_example() {
    let mut got = Vec::new();
    let line = r#"{"container": "myapp", "pod": "pod-3223f", "_entry": "original log message"}"#;
    let r = unpack(line, &mut |k, v| got.push((k.to_string(), v.to_string())));
    assert_eq!(r, Ok(Some("original log message".to_string())));
    assert_eq!(got, pairs(&[("container", "myapp"), ("pod", "pod-3223f")]));
}

#[test]
fn unpack_rules() {
    let run = |line: &str| {
        let mut got = Vec::new();
        let r = unpack(line, &mut |k, v| got.push((k.to_string(), v.to_string())));
        (got, r)
    };
    // No _entry: nothing happens.
    assert_eq!(run(r#"{"a":"b"}"#), (vec![], Ok(None)));
    // Non-string values are ignored; the entry is unescaped.
    let (got, r) = run(r#"{"n":1,"o":{"x":"y"},"a":"b","_entry":"line \"q\"\n"}"#);
    assert_eq!(r, Ok(Some("line \"q\"\n".to_string())));
    assert_eq!(got, pairs(&[("a", "b")]));
    // Not an object.
    let (_, r) = run(" {\"a\":\"b\"}");
    assert_eq!(
        r,
        Err(ParserError {
            kind: "JSONParserErr",
            details: "expecting json object(6), but it is not".into()
        })
    );
    assert_eq!(run(""), (vec![], Ok(None)));
    // Malformed.
    assert!(run(r#"{"_entry":"x","a":}"#).1.is_err());
}

// ---- logfmt -------------------------------------------------------------------------------------------------

const LOGFMT_DOC: &str = r#"at=info method=GET path=/ host=grafana.net fwd="124.133.124.161" service=8ms status=200"#;

#[test]
fn logfmt_docs_example() {
    let (got, r) = lf(LOGFMT_DOC, false, false, &[]);
    assert_eq!(r, Ok(()));
    assert_eq!(
        got,
        pairs(&[
            ("at", "info"),
            ("method", "GET"),
            ("path", "/"),
            ("host", "grafana.net"),
            ("fwd", "124.133.124.161"),
            ("service", "8ms"),
            ("status", "200"),
        ])
    );
}

#[test]
fn logfmt_extractions_from_docs() {
    let (got, r) = lf(
        LOGFMT_DOC,
        false,
        false,
        &[("host", "host"), ("fwd_ip", "fwd"), ("nope", "missing")],
    );
    assert_eq!(r, Ok(()));
    assert_eq!(
        got,
        pairs(&[("host", "grafana.net"), ("fwd_ip", "124.133.124.161"), ("nope", "")])
    );
}

#[test]
fn logfmt_quoting_and_escapes() {
    let (got, _) = lf(
        r#"msg="hello world" esc="a\"b\\c\n" sq="it\'s" empty="" u="\u00e9""#,
        false,
        true,
        &[],
    );
    assert_eq!(
        got,
        pairs(&[
            ("msg", "hello world"),
            ("esc", "a\"b\\c\n"),
            ("sq", "it's"),
            ("empty", ""),
            ("u", "\u{e9}")
        ])
    );
}

#[test]
fn logfmt_bare_keys_and_keep_empty() {
    let line = "bare k=v e= x";
    assert_eq!(lf(line, false, false, &[]).0, pairs(&[("k", "v")]));
    assert_eq!(
        lf(line, false, true, &[]).0,
        pairs(&[("bare", ""), ("k", "v"), ("e", ""), ("x", "")])
    );
    // An explicitly requested bare key needs no --keep-empty.
    assert_eq!(lf(line, false, false, &[("bare", "bare")]).0, pairs(&[("bare", "")]));
}

#[test]
fn logfmt_lenient_skips_invalid_pairs() {
    for (line, want) in [
        ("=value a=1", vec![("a", "1")]),
        ("foo=bar=buzz a=1", vec![("a", "1")]),
        ("fo\"o=bar a=1", vec![("a", "1")]),
        ("a=1 b=\"unterminated", vec![("a", "1")]),
        ("a=1 b=\"bad\\q\" c=2", vec![("a", "1"), ("c", "2")]),
    ] {
        let (got, r) = lf(line, false, false, &[]);
        assert_eq!(r, Ok(()), "{line}");
        assert_eq!(got, pairs(&want), "{line}");
    }
}

#[test]
fn logfmt_strict_errors() {
    let cases = [
        ("=value", "logfmt syntax error at pos 1 : unexpected '='"),
        ("a=1 foo=bar=buzz", "logfmt syntax error at pos 12 : unexpected '='"),
        ("fo\"o=bar", "logfmt syntax error at pos 3 : unexpected '\"'"),
        (
            "k=\"unterminated",
            "logfmt syntax error at pos 16 : unterminated quoted value",
        ),
        ("k=\"a\\qb\"", "logfmt syntax error at pos 9 : invalid quoted value"),
        ("k\u{FFFD}=1", "logfmt syntax error at pos 5 : invalid key"),
    ];
    for (line, details) in cases {
        let (_, r) = lf(line, true, false, &[]);
        assert_eq!(
            r,
            Err(ParserError {
                kind: "LogfmtParserErr",
                details: details.to_string()
            }),
            "{line}"
        );
    }
}

#[test]
fn logfmt_strict_stops_but_keeps_earlier_pairs() {
    let (got, r) = lf("a=1 b=2=3 c=4", true, false, &[]);
    assert_eq!(got, pairs(&[("a", "1")]));
    assert!(r.is_err());
    let (got, r) = lf("a=1 b=2=3 c=4", true, false, &[("c", "c"), ("a", "a")]);
    assert_eq!(got, pairs(&[("c", ""), ("a", "1")]));
    assert!(r.is_err());
}

#[test]
fn logfmt_sanitises_and_keeps_first_duplicate() {
    let (got, _) = lf("a-b=1 9k=2 a=x a=y a_b=3", false, false, &[]);
    assert_eq!(got, pairs(&[("a_b", "1"), ("_9k", "2"), ("a", "x")]));
    let (got, _) = lf("fwd-ip=1.2.3.4", false, false, &[("ip", "fwd_ip")]);
    assert_eq!(got, pairs(&[("ip", "1.2.3.4")]));
}

#[test]
fn logfmt_separators_and_adjacent_quotes() {
    let (got, _) = lf("a=1\tb=2\n c=\"x\"d=4", false, false, &[]);
    assert_eq!(got, pairs(&[("a", "1"), ("b", "2"), ("c", "x"), ("d", "4")]));
    let (got, _) = lf("msg=caf\u{e9} k=v\u{FFFD}w", false, false, &[]);
    assert_eq!(got, pairs(&[("msg", "caf\u{e9}"), ("k", "v w")]));
}

#[test]
fn logfmt_loki_debug_line() {
    let line = r#"level=debug ts=2021-06-10T09:24:13.472094048Z caller=logging.go:66 traceID=0568b66ad2d9294c msg="POST /loki/api/v1/push (204) 16.652862ms""#;
    let (got, r) = lf(line, true, false, &[]);
    assert_eq!(r, Ok(()));
    assert_eq!(got[2], ("caller".to_string(), "logging.go:66".to_string()));
    assert_eq!(
        got[4],
        (
            "msg".to_string(),
            "POST /loki/api/v1/push (204) 16.652862ms".to_string()
        )
    );
}

// ---- pattern ------------------------------------------------------------------------------------------------

fn caps<'a>(p: &str, line: &'a str) -> Option<Vec<(String, &'a str)>> {
    let pattern = Pattern::parse(p).expect("test pattern is valid");
    pattern
        .captures(line)
        .map(|v| v.into_iter().map(|(n, v)| (n.to_string(), v)).collect())
}

#[test]
fn pattern_nginx_docs_example() {
    let line = r#"0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" "Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" """#;
    let got = caps(
        r#"<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>"#,
        line,
    )
    .expect("matches");
    let want = [
        ("ip", "0.191.12.2"),
        ("method", "GET"),
        ("uri", "/api/plugins/versioncheck"),
        ("status", "200"),
        ("size", "2"),
        ("agent", "Go-http-client/2.0"),
    ];
    assert_eq!(got, want.iter().map(|(n, v)| (n.to_string(), *v)).collect::<Vec<_>>());
}

#[test]
fn pattern_unanchored_with_leading_underscore() {
    let line = r#"level=debug ts=2021-06-10T09:24:13.472094048Z caller=logging.go:66 traceID=0568b66ad2d9294c msg="POST /loki/api/v1/push (204) 16.652862ms""#;
    let got = caps(r#"<_> msg="<method> <path> (<status>) <latency>""#, line).expect("matches");
    let values: Vec<&str> = got.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, ["POST", "/loki/api/v1/push", "204", "16.652862ms"]);
}

#[test]
fn pattern_anchoring_and_partial_matches() {
    // A leading literal must be a prefix.
    assert_eq!(caps("GET <path>", "POST /x"), None);
    assert_eq!(
        caps("GET <path>", "GET /x").expect("match"),
        vec![("path".to_string(), "/x")]
    );
    // A missing literal: the capture takes the rest and matching stops.
    assert_eq!(
        caps("<a> <b> <c>", "one").expect("partial"),
        vec![("a".to_string(), "one")]
    );
    assert_eq!(
        caps("<a> <b> [<c>]", "x y z").expect("partial"),
        vec![("a".to_string(), "x"), ("b".to_string(), "y z")]
    );
    // Empty line.
    assert_eq!(caps("<a>", ""), None);
    // Captures may be empty for the parser.
    assert_eq!(
        caps("<a>:<b>", ":v").expect("match"),
        vec![("a".to_string(), ""), ("b".to_string(), "v")]
    );
}

#[test]
fn pattern_parse_errors() {
    let err = |p: &str| Pattern::parse(p).expect_err(p);
    assert!(err("no captures here").contains("at least one capture is required"));
    assert!(err("<_> only unnamed").contains("at least one capture is required"));
    assert!(err("<a><b>").contains("found consecutive capture"));
    assert!(err("x <a><_> y").contains("found consecutive capture"));
    assert!(err("<a> <a>").contains("duplicate capture name (a)"));
    // `<>`, `<1x>` and `< a>` are literal text.
    let p = Pattern::parse("<> <1x> < a> <ok>").expect("valid");
    assert_eq!(p.names(), ["ok"]);
    assert_eq!(p.literals().collect::<Vec<_>>(), ["<> <1x> < a> "]);
}

#[test]
fn pattern_line_filter() {
    let p = Pattern::parse_line_filter("<_> error <_>").expect("valid");
    assert!(p.matches("level=1 error happened"));
    assert!(!p.matches("error happened"), "the leading capture must not be empty");
    assert!(!p.matches("level=1 error "), "the trailing capture must not be empty");
    assert!(!p.matches("no match here"));
    let p = Pattern::parse_line_filter("GET <_>").expect("valid");
    assert!(p.matches("GET /x"));
    assert!(!p.matches("xx GET /x"), "a leading literal is anchored");
    let p = Pattern::parse_line_filter("<_> bar").expect("valid");
    assert!(!p.matches("foo bar baz"));
    assert!(p.matches("foo bar"));
    assert!(
        Pattern::parse_line_filter("<a> x")
            .expect_err("named")
            .contains("named captures are not allowed")
    );
    assert!(Pattern::parse_line_filter("<_><_>").is_err());
    let empty = Pattern::parse_line_filter("").expect("valid");
    assert!(empty.matches(""));
    assert!(!empty.matches("x"));
    // The parser pattern also works as a filter.
    assert!(Pattern::parse("<ip> - <_>").expect("valid").matches("1.2.3.4 - x"));
}

// ---- conversions --------------------------------------------------------------------------------------------

#[test]
fn durations() {
    let cases = [
        ("1h2m3.5s", Some(3723.5)),
        ("300ms", Some(0.3)),
        ("-1.5h", Some(-5400.0)),
        ("0", Some(0.0)),
        ("+0", Some(0.0)),
        ("1.5µs", Some(1.5e-6)),
        ("2us", Some(2e-6)),
        ("10ns", Some(1e-8)),
        (".5s", Some(0.5)),
        ("1.s", Some(1.0)),
        ("20ms", Some(0.02)),
        ("2562047h", Some(2562047.0 * 3600.0)),
        ("", None),
        ("1", None),
        ("s", None),
        (".s", None),
        ("1d", None),
        ("1 s", None),
        ("--1s", None),
        ("3000000h", None),
    ];
    for (s, want) in cases {
        let got = parse_duration_seconds(s);
        match (got, want) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9 * w.abs().max(1.0), "{s}: {g} != {w}"),
            _ => assert_eq!(got, want, "{s}"),
        }
    }
    assert_eq!(parse_duration_nanos("-2562047h47m16.854775808s"), Some(i64::MIN));
    assert_eq!(parse_duration_nanos("2562047h47m16.854775808s"), None);
}

#[test]
fn bytes() {
    let cases = [
        ("20MB", Some(20e6)),
        ("1KiB", Some(1024.0)),
        ("2 GB", Some(2e9)),
        ("42", Some(42.0)),
        ("42b", Some(42.0)),
        ("1.5kb", Some(1500.0)),
        ("1,000 kB", Some(1e6)),
        ("5 mib", Some(5.0 * 1024.0 * 1024.0)),
        ("1k", Some(1000.0)),
        ("1Ki", Some(1024.0)),
        ("0.5b", Some(0.0)),
        ("1EB", Some(1e18)),
        ("MB", None),
        ("-1MB", None),
        ("1XB", None),
        ("1.2.3MB", None),
        ("", None),
        ("20EiB", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_bytes(s), want, "{s}");
    }
}

#[test]
fn numbers() {
    let cases = [
        ("42", Some(42.0)),
        ("-1.5e3", Some(-1500.0)),
        (".5", Some(0.5)),
        ("5.", Some(5.0)),
        ("+7", Some(7.0)),
        ("1E2", Some(100.0)),
        ("0x1p-2", Some(0.25)),
        ("0x1.8p1", Some(3.0)),
        ("-0X_1Fp0", Some(-31.0)),
        ("1e400", None),
        ("0x1", None),
        ("1_000", None),
        (" 1", None),
        ("1 ", None),
        ("", None),
        ("abc", None),
        ("1e", None),
        ("--1", None),
        ("infin", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_number(s), want, "{s}");
    }
    assert_eq!(parse_number("Inf"), Some(f64::INFINITY));
    assert_eq!(parse_number("-infinity"), Some(f64::NEG_INFINITY));
    assert!(parse_number("NaN").is_some_and(f64::is_nan));
    assert_eq!(parse_number("-nan"), None);
}
