//! Table tests of the LogQL parser and printer: valid queries with their canonical text
//! (which must re-parse to the same tree and text), invalid queries with Loki-style errors and
//! positions, and operator precedence. Property tests are in `parse_props`.

use super::ast::*;
use super::parse;

/// `(query, canonical text)`.
pub(super) const VALID: &[(&str, &str)] = &[
    // Selectors.
    (r#"{app="foo"}"#, r#"{app="foo"}"#),
    (r#"{ app = "foo" , env!="dev" }"#, r#"{app="foo", env!="dev"}"#),
    (
        r#"{a="b", c=~"x|y", d!="", e!~"z"}"#,
        r#"{a="b", c=~"x|y", d!="", e!~"z"}"#,
    ),
    (r#"{a=~".+"}"#, r#"{a=~".+"}"#),
    ("{a=`raw\\d`}", r#"{a="raw\\d"}"#),
    ("{a=\"tab\\there\"}", r#"{a="tab\there"}"#),
    ("{a=\"b\"} # trailing comment", r#"{a="b"}"#),
    // Line filters.
    (r#"{app="foo"} |= "bar""#, r#"{app="foo"} |= "bar""#),
    (r#"{app="foo"} != "bar""#, r#"{app="foo"} != "bar""#),
    (r#"{app="foo"} |~ "b.r""#, r#"{app="foo"} |~ "b.r""#),
    (r#"{app="foo"} !~ "b.r""#, r#"{app="foo"} !~ "b.r""#),
    (r#"{app="foo"} |> "<_> GET <_>""#, r#"{app="foo"} |> "<_> GET <_>""#),
    (r#"{app="foo"} !> "<_> 200 <_>""#, r#"{app="foo"} !> "<_> 200 <_>""#),
    (r#"{app="foo"} |= "a" or "b""#, r#"{app="foo"} |= "a" or "b""#),
    (
        r#"{app="foo"} |~ "a" or "b" or "c""#,
        r#"{app="foo"} |~ "a" or "b" or "c""#,
    ),
    (r#"{app="foo"} != "a" or "b""#, r#"{app="foo"} != "a" != "b""#),
    (
        r#"{app="foo"} |= ip("10.0.0.0/8")"#,
        r#"{app="foo"} |= ip("10.0.0.0/8")"#,
    ),
    (
        r#"{app="foo"} != ip("192.168.0.1-192.168.0.9")"#,
        r#"{app="foo"} != ip("192.168.0.1-192.168.0.9")"#,
    ),
    (
        r#"{app="foo"} |= "a" |= "b" != "c""#,
        r#"{app="foo"} |= "a" |= "b" != "c""#,
    ),
    (
        "{app=\"foo\"} |= `with \"quotes\"`",
        r#"{app="foo"} |= "with \"quotes\"""#,
    ),
    // Parsers.
    (r#"{app="foo"} | json"#, r#"{app="foo"} | json"#),
    (
        r#"{app="foo"} | json a="p.q[0]", b"#,
        r#"{app="foo"} | json a="p.q[0]",b="b""#,
    ),
    (r#"{app="foo"} | logfmt"#, r#"{app="foo"} | logfmt"#),
    (r#"{app="foo"} | logfmt --strict"#, r#"{app="foo"} | logfmt --strict"#),
    (
        r#"{app="foo"} | logfmt --keep-empty --strict a, b="c""#,
        r#"{app="foo"} | logfmt --strict --keep-empty a="a",b="c""#,
    ),
    (
        r#"{app="foo"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
        r#"{app="foo"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
    ),
    (
        r#"{app="foo"} | pattern "<ip> - <_> \"<method> <path>\"""#,
        r#"{app="foo"} | pattern "<ip> - <_> \"<method> <path>\"""#,
    ),
    (r#"{app="foo"} | unpack"#, r#"{app="foo"} | unpack"#),
    // Label filters.
    (r#"{app="foo"} | level="error""#, r#"{app="foo"} | level="error""#),
    (r#"{app="foo"} | level = "error""#, r#"{app="foo"} | level="error""#),
    (r#"{app="foo"} | level=~"err.*""#, r#"{app="foo"} | level=~"err.*""#),
    (r#"{app="foo"} | level!="info""#, r#"{app="foo"} | level!="info""#),
    (
        r#"{app="foo"} | level!~"info|debug""#,
        r#"{app="foo"} | level!~"info|debug""#,
    ),
    (r#"{app="foo"} | status >= 400"#, r#"{app="foo"} | status>=400"#),
    (r#"{app="foo"} | status == 200"#, r#"{app="foo"} | status==200"#),
    (r#"{app="foo"} | status = 200"#, r#"{app="foo"} | status==200"#),
    (r#"{app="foo"} | status != 200"#, r#"{app="foo"} | status!=200"#),
    (r#"{app="foo"} | latency < 0.25"#, r#"{app="foo"} | latency<0.25"#),
    (r#"{app="foo"} | delta > -1"#, r#"{app="foo"} | delta>-1"#),
    (r#"{app="foo"} | duration > 1.5s"#, r#"{app="foo"} | duration>1.5s"#),
    (r#"{app="foo"} | duration <= 1h"#, r#"{app="foo"} | duration<=1h0m0s"#),
    (r#"{app="foo"} | size < 20MB"#, r#"{app="foo"} | size<20MB"#),
    (r#"{app="foo"} | size >= 1KiB"#, r#"{app="foo"} | size>=1KiB"#),
    (
        r#"{app="foo"} | addr = ip("10.0.0.0/8")"#,
        r#"{app="foo"} | addr=ip("10.0.0.0/8")"#,
    ),
    (r#"{app="foo"} | addr != ip("::1")"#, r#"{app="foo"} | addr!=ip("::1")"#),
    (r#"{app="foo"} | a="1" and b="2""#, r#"{app="foo"} | ( a="1" , b="2" )"#),
    (r#"{app="foo"} | a="1", b="2""#, r#"{app="foo"} | ( a="1" , b="2" )"#),
    (r#"{app="foo"} | a="1" b="2""#, r#"{app="foo"} | ( a="1" , b="2" )"#),
    (r#"{app="foo"} | a="1" or b="2""#, r#"{app="foo"} | ( a="1" or b="2" )"#),
    (
        r#"{app="foo"} | a="1" or b="2" and c="3""#,
        r#"{app="foo"} | ( a="1" or ( b="2" , c="3" ) )"#,
    ),
    (
        r#"{app="foo"} | (a="1" or b="2") and c="3""#,
        r#"{app="foo"} | ( ( a="1" or b="2" ) , c="3" )"#,
    ),
    (
        r#"{app="foo"} | ( ( a="1" or b="2" ) , c="3" )"#,
        r#"{app="foo"} | ( ( a="1" or b="2" ) , c="3" )"#,
    ),
    (r#"{app="foo"} | __error__="""#, r#"{app="foo"} | __error__="""#),
    (r#"{app="foo"} | json="x""#, r#"{app="foo"} | json="x""#),
    // Formatters and label selection.
    (
        r#"{app="foo"} | line_format "{{.a}} {{ .b | upper }}""#,
        r#"{app="foo"} | line_format "{{.a}} {{ .b | upper }}""#,
    ),
    (
        r#"{app="foo"} | label_format dst=src, x="{{.y}}""#,
        r#"{app="foo"} | label_format dst=src,x="{{.y}}""#,
    ),
    (r#"{app="foo"} | drop a, b="v""#, r#"{app="foo"} | drop a,b="v""#),
    (
        r#"{app="foo"} | drop __error__, __error_details__"#,
        r#"{app="foo"} | drop __error__,__error_details__"#,
    ),
    (r#"{app="foo"} | keep a, b"#, r#"{app="foo"} | keep a,b"#),
    (r#"{app="foo"} | keep a, b=~"x.*""#, r#"{app="foo"} | keep a,b=~"x.*""#),
    (r#"{app="foo"} | decolorize"#, r#"{app="foo"} | decolorize"#),
    (
        r#"{app="foo"} |= "err" | json | level="error" | line_format "{{.msg}}" |~ "x""#,
        r#"{app="foo"} |= "err" | json | level="error" | line_format "{{.msg}}" |~ "x""#,
    ),
    (r#"({app="foo"} |= "x")"#, r#"{app="foo"} |= "x""#),
    // Range aggregations.
    (
        r#"count_over_time({app="foo"}[5m])"#,
        r#"count_over_time({app="foo"}[5m])"#,
    ),
    (
        r#"rate({app="foo"} |= "err" [1m])"#,
        r#"rate({app="foo"} |= "err"[1m])"#,
    ),
    (r#"rate({app="foo"}[1m] |= "err")"#, r#"rate({app="foo"} |= "err"[1m])"#),
    (
        r#"bytes_over_time({app="foo"}[1h30m])"#,
        r#"bytes_over_time({app="foo"}[1h30m])"#,
    ),
    (r#"bytes_rate({app="foo"}[90s])"#, r#"bytes_rate({app="foo"}[1m30s])"#),
    (
        r#"absent_over_time({app="foo"}[1d])"#,
        r#"absent_over_time({app="foo"}[1d])"#,
    ),
    (
        r#"count_over_time({app="foo"}[1.5h])"#,
        r#"count_over_time({app="foo"}[1h30m])"#,
    ),
    (
        r#"count_over_time({app="foo"}[5m] offset 1h)"#,
        r#"count_over_time({app="foo"}[5m] offset 1h0m0s)"#,
    ),
    (
        r#"count_over_time({app="foo"}[5m] offset 1h | json)"#,
        r#"count_over_time({app="foo"} | json[5m] offset 1h0m0s)"#,
    ),
    (
        r#"count_over_time(({app="foo"} | json)[5m])"#,
        r#"count_over_time({app="foo"} | json[5m])"#,
    ),
    (
        r#"count_over_time(({app="foo"} | json [5m]))"#,
        r#"count_over_time({app="foo"} | json[5m])"#,
    ),
    (
        r#"sum_over_time({app="foo"} | logfmt | unwrap bytes_sent [5m])"#,
        r#"sum_over_time({app="foo"} | logfmt | unwrap bytes_sent[5m])"#,
    ),
    (
        r#"avg_over_time({app="foo"} | json | unwrap duration(d) [5m]) by (host)"#,
        r#"avg_over_time({app="foo"} | json | unwrap duration(d)[5m]) by (host)"#,
    ),
    (
        r#"max_over_time({app="foo"} | unwrap bytes(size) | __error__="" [5m]) without (pod)"#,
        r#"max_over_time({app="foo"} | unwrap bytes(size) | __error__=""[5m]) without (pod)"#,
    ),
    (
        r#"min_over_time({app="foo"}[5m] | unwrap x)"#,
        r#"min_over_time({app="foo"} | unwrap x[5m])"#,
    ),
    (
        r#"first_over_time({app="foo"} | unwrap duration_seconds(d) [5m])"#,
        r#"first_over_time({app="foo"} | unwrap duration_seconds(d)[5m])"#,
    ),
    (
        r#"last_over_time({app="foo"} | unwrap bytes [5m])"#,
        r#"last_over_time({app="foo"} | unwrap bytes[5m])"#,
    ),
    (
        r#"stddev_over_time({app="foo"} | unwrap x [5m])"#,
        r#"stddev_over_time({app="foo"} | unwrap x[5m])"#,
    ),
    (
        r#"stdvar_over_time({app="foo"} | unwrap x [5m])"#,
        r#"stdvar_over_time({app="foo"} | unwrap x[5m])"#,
    ),
    (
        r#"quantile_over_time(0.99, {app="foo"} | json | unwrap latency [5m]) by (path)"#,
        r#"quantile_over_time(0.99,{app="foo"} | json | unwrap latency[5m]) by (path)"#,
    ),
    (
        r#"rate({app="foo"} | unwrap x [5m])"#,
        r#"rate({app="foo"} | unwrap x[5m])"#,
    ),
    (
        r#"rate_counter({app="foo"} | unwrap x [5m])"#,
        r#"rate_counter({app="foo"} | unwrap x[5m])"#,
    ),
    (
        r#"absent_over_time({app="foo"} | unwrap x [5m])"#,
        r#"absent_over_time({app="foo"} | unwrap x[5m])"#,
    ),
    (
        r#"count_over_time({app="foo"}[250ms])"#,
        r#"count_over_time({app="foo"}[250ms])"#,
    ),
    // Vector aggregations.
    (
        r#"sum by (level) (count_over_time({app="foo"}[5m]))"#,
        r#"sum by (level)(count_over_time({app="foo"}[5m]))"#,
    ),
    (
        r#"sum(count_over_time({app="foo"}[5m])) by (level, pod)"#,
        r#"sum by (level,pod)(count_over_time({app="foo"}[5m]))"#,
    ),
    (
        r#"sum without (pod) (rate({app="foo"}[5m]))"#,
        r#"sum without (pod)(rate({app="foo"}[5m]))"#,
    ),
    (r#"sum by () (rate({app="foo"}[5m]))"#, r#"sum(rate({app="foo"}[5m]))"#),
    (r#"avg(rate({app="foo"}[5m]))"#, r#"avg(rate({app="foo"}[5m]))"#),
    (r#"min(rate({app="foo"}[5m]))"#, r#"min(rate({app="foo"}[5m]))"#),
    (r#"max(rate({app="foo"}[5m]))"#, r#"max(rate({app="foo"}[5m]))"#),
    (r#"count(rate({app="foo"}[5m]))"#, r#"count(rate({app="foo"}[5m]))"#),
    (r#"stddev(rate({app="foo"}[5m]))"#, r#"stddev(rate({app="foo"}[5m]))"#),
    (r#"stdvar(rate({app="foo"}[5m]))"#, r#"stdvar(rate({app="foo"}[5m]))"#),
    (
        r#"topk(10, sum by (path) (rate({app="foo"}[5m])))"#,
        r#"topk(10,sum by (path)(rate({app="foo"}[5m])))"#,
    ),
    (
        r#"bottomk by (x) (3, rate({app="foo"}[5m]))"#,
        r#"bottomk by (x)(3,rate({app="foo"}[5m]))"#,
    ),
    (r#"sort(rate({app="foo"}[5m]))"#, r#"sort(rate({app="foo"}[5m]))"#),
    (
        r#"sort_desc(rate({app="foo"}[5m]))"#,
        r#"sort_desc(rate({app="foo"}[5m]))"#,
    ),
    (
        r#"approx_topk(5, rate({app="foo"}[5m]))"#,
        r#"approx_topk(5,rate({app="foo"}[5m]))"#,
    ),
    // Binary operations, literals, vector(), label_replace().
    (
        r#"rate({a="b"}[1m]) / rate({a="c"}[1m])"#,
        r#"(rate({a="b"}[1m]) / rate({a="c"}[1m]))"#,
    ),
    (r#"rate({a="b"}[1m]) > bool 2"#, r#"(rate({a="b"}[1m]) > bool 2)"#),
    (
        r#"rate({a="b"}[1m]) * on (x) group_left (y) rate({a="c"}[1m])"#,
        r#"(rate({a="b"}[1m]) * on (x) group_left (y) rate({a="c"}[1m]))"#,
    ),
    (
        r#"rate({a="b"}[1m]) + ignoring (x) group_right rate({a="c"}[1m])"#,
        r#"(rate({a="b"}[1m]) + ignoring (x) group_right rate({a="c"}[1m]))"#,
    ),
    (
        r#"rate({a="b"}[1m]) and on () rate({a="c"}[1m])"#,
        r#"(rate({a="b"}[1m]) and on () rate({a="c"}[1m]))"#,
    ),
    (
        r#"rate({a="b"}[1m]) unless rate({a="c"}[1m])"#,
        r#"(rate({a="b"}[1m]) unless rate({a="c"}[1m]))"#,
    ),
    (
        r#"rate({a="b"}[1m]) or vector(0)"#,
        r#"(rate({a="b"}[1m]) or vector(0.000000))"#,
    ),
    (r#"rate({a="b"}[1m]) % 2 ^ 3"#, r#"(rate({a="b"}[1m]) % 8)"#),
    ("1 + 2 * 3", "7"),
    ("-1", "-1"),
    ("+1.5", "1.5"),
    ("1e6", "1e+06"),
    ("1 / 0", "NaN"),
    ("2 > 1", "1"),
    ("vector(2)", "vector(2.000000)"),
    ("vector(-0.5)", "vector(-0.500000)"),
    (r#"(((rate({a="b"}[1m]))))"#, r#"rate({a="b"}[1m])"#),
    (
        r#"label_replace(rate({a="b"}[1m]), "dst", "$1", "src", "(.*)")"#,
        r#"label_replace(rate({a="b"}[1m]),"dst","$1","src","(.*)")"#,
    ),
    (
        r#"sum(rate({a="b"}[1m])) by (x) - 1"#,
        r#"(sum by (x)(rate({a="b"}[1m])) - 1)"#,
    ),
];

#[test]
fn valid_queries_print_canonically_and_round_trip() {
    assert!(VALID.len() >= 80, "only {} valid cases", VALID.len());
    for (input, want) in VALID {
        let expr = parse(input).unwrap_or_else(|e| panic!("{input:?} fails: {e}"));
        let printed = expr.to_string();
        assert_eq!(&printed, want, "canonical text of {input:?}");
        let again = parse(&printed).unwrap_or_else(|e| panic!("{printed:?} (from {input:?}) fails: {e}"));
        assert_eq!(again.to_string(), printed, "printing {input:?} is not stable");
        if !printed.contains("NaN") {
            assert_eq!(again, expr, "{input:?} does not round-trip to the same tree");
        }
    }
}

/// `(query, error message, 1-based column)`.
const INVALID: &[(&str, &str, usize)] = &[
    ("", "syntax error: unexpected $end", 1),
    ("{}", "syntax error: unexpected CLOSE_BRACE, expecting IDENTIFIER", 2),
    (
        r#"{app="foo""#,
        "syntax error: unexpected $end, expecting COMMA or CLOSE_BRACE",
        11,
    ),
    (
        r#"{app=foo}"#,
        "syntax error: unexpected IDENTIFIER, expecting STRING",
        6,
    ),
    (
        r#"{app}"#,
        "syntax error: unexpected CLOSE_BRACE, expecting EQ or NEQ or RE or NRE",
        5,
    ),
    (r#"{app=~".*"}"#, super::parser_pipeline::EMPTY_SELECTOR, 1),
    (r#"{app!="x"}"#, super::parser_pipeline::EMPTY_SELECTOR, 1),
    (r#"{app=""}"#, super::parser_pipeline::EMPTY_SELECTOR, 1),
    (r#"{app=~"(a"}"#, "error parsing regexp: unclosed group: `(a`", 7),
    (
        r#"{app="foo"} |~ "(a""#,
        "error parsing regexp: unclosed group: `(a`",
        16,
    ),
    (
        r#"{app="foo"} |= 5"#,
        "syntax error: unexpected NUMBER, expecting STRING or IP",
        16,
    ),
    (
        r#"{app="foo"} | regexp "(a)""#,
        "invalid regexp parser: at least one named capture must be supplied",
        22,
    ),
    (
        r#"{app="foo"} | regexp "(?P<a>""#,
        "invalid regexp parser: error parsing regexp: unclosed group: `(?P<a>`",
        22,
    ),
    (
        r#"{app="foo"} | pattern "<_> x""#,
        "invalid pattern parser: at least one capture is required",
        23,
    ),
    (
        r#"{app="foo"} | pattern "<a><b>""#,
        "invalid pattern parser: invalid expression: consecutive captures",
        23,
    ),
    (
        r#"{app="foo"} | pattern "<a> <a>""#,
        "invalid pattern parser: duplicate capture name (a)",
        23,
    ),
    (
        r#"{app="foo"} |> "<a> x""#,
        "invalid pattern: named captures are not allowed in line filters",
        16,
    ),
    (
        r#"{app="foo"} | line_format "{{.a""#,
        "invalid line_format template: unclosed action",
        27,
    ),
    (
        r#"{app="foo"} | label_format a="{{.x", b=c"#,
        "invalid label_format template: unclosed action",
        30,
    ),
    (
        r#"{app="foo"} | label_format a=b, a=c"#,
        "multiple label name 'a' appears in formatting",
        33,
    ),
    (r#"{app="foo"} | logfmt --loose"#, "invalid logfmt flag: --loose", 22),
    (r#"{app="foo"} | unwrap x"#, "syntax error: unexpected UNWRAP", 15),
    (
        r#"{app="foo"} |= ip("nope")"#,
        r#"invalid ip filter pattern "nope""#,
        19,
    ),
    (
        r#"{app="foo"} |~ ip("10.0.0.1")"#,
        "syntax error: unexpected IP, expecting STRING",
        16,
    ),
    (
        r#"{app="foo"} | status > "x""#,
        "syntax error: unexpected STRING, expecting STRING or NUMBER or DURATION or BYTES",
        24,
    ),
    (
        r#"{app="foo"} | a =~ 5"#,
        "syntax error: unexpected NUMBER, expecting STRING",
        20,
    ),
    (
        r#"{app="foo"} | json a="b","#,
        "syntax error: unexpected $end, expecting IDENTIFIER",
        26,
    ),
    (
        r#"sum_over_time({app="foo"}[5m])"#,
        "invalid aggregation sum_over_time without unwrap",
        1,
    ),
    (
        r#"count_over_time({app="foo"} | unwrap x [5m])"#,
        "invalid aggregation count_over_time with unwrap",
        1,
    ),
    (
        r#"quantile_over_time({app="foo"} | unwrap x [5m])"#,
        "parameter required for operation quantile_over_time",
        1,
    ),
    (
        r#"rate(0.5, {app="foo"}[5m])"#,
        "parameter 0.5 not supported for operation rate",
        6,
    ),
    (
        r#"count_over_time({app="foo"}[5m]) by (x)"#,
        "grouping not allowed for count_over_time aggregation",
        1,
    ),
    (
        r#"count_over_time({app="foo"})"#,
        "syntax error: unexpected CLOSE_PARENTHESIS, expecting RANGE",
        28,
    ),
    (
        r#"count_over_time({app="foo"}[5])"#,
        "syntax error: unexpected NUMBER, expecting DURATION",
        29,
    ),
    (
        r#"sum_over_time({app="foo"} | unwrap x | json [5m])"#,
        "syntax error: only label filters may follow unwrap",
        38,
    ),
    (
        r#"sum({app="foo"})"#,
        "syntax error: unexpected log query, expecting a metric query",
        5,
    ),
    (
        r#"{app="foo"} + 1"#,
        "syntax error: unexpected log query, expecting a metric query",
        1,
    ),
    (r#"topk(rate({a="b"}[1m]))"#, "parameter required for operation topk", 1),
    (r#"topk(1.5, rate({a="b"}[1m]))"#, "invalid parameter topk(1.5,", 6),
    (
        r#"topk(0, rate({a="b"}[1m]))"#,
        "invalid parameter (must be greater than 0) topk(0",
        6,
    ),
    (
        r#"sum(2, rate({a="b"}[1m]))"#,
        "unsupported parameter for operation sum(2,",
        5,
    ),
    (
        r#"approx_topk(2, rate({a="b"}[1m])) by (x)"#,
        "grouping not allowed for approx_topk aggregation",
        1,
    ),
    (
        r#"rate({a="b"}[1m]) + bool 1"#,
        "bool modifier can only be used on comparison operators",
        19,
    ),
    (
        r#"rate({a="b"}[1m]) or 1"#,
        "unexpected literal for right leg of logical/set binary operation (or): 1.000000",
        22,
    ),
    (
        r#"rate({a="b"}[1m]) and on (x) group_left rate({a="c"}[1m])"#,
        "no grouping allowed for \"and\" operation",
        19,
    ),
    (
        r#"label_replace(rate({a="b"}[1m]), "d", "r", "s", "(")"#,
        "invalid regex in label_replace: error parsing regexp: unclosed group: `^(?:()$`",
        49,
    ),
    (r#"rate({a="b"}[1m]) +"#, "syntax error: unexpected $end", 20),
    ("foo", "syntax error: unexpected IDENTIFIER", 1),
    (
        r#"{app="foo"} | json | level="x" |"#,
        "syntax error: unexpected $end, expecting IDENTIFIER",
        33,
    ),
    (r#"{app="foo"}[5m]"#, "syntax error: unexpected OPEN_BRACKET", 12),
    (
        "{a=\"b\"}\n| foo bar",
        "syntax error: unexpected IDENTIFIER, expecting EQ or NEQ or RE or NRE or CMP_EQ or GT or GTE or LT or LTE",
        7,
    ),
];

#[test]
fn invalid_queries_fail_with_position() {
    assert!(INVALID.len() >= 30, "only {} invalid cases", INVALID.len());
    for (input, msg, col) in INVALID {
        let e = parse(input).expect_err(input);
        assert_eq!((e.message.as_str(), e.col), (*msg, *col), "error for {input:?}");
    }
    let e = parse("{a=\"b\"}\n| foo bar").expect_err("fails");
    assert_eq!(e.line, 2);
    assert_eq!(
        e.to_string(),
        "parse error at line 2, col 7: syntax error: unexpected IDENTIFIER, expecting EQ or NEQ or RE or NRE or \
         CMP_EQ or GT or GTE or LT or LTE"
    );
}

#[test]
fn precedence_and_associativity() {
    let r = |s: &str| format!("rate({{a=\"{s}\"}}[1m])");
    let (a, b, c) = (r("a"), r("b"), r("c"));
    for (input, want) in [
        (format!("{a} + {b} * {c}"), format!("({a} + ({b} * {c}))")),
        (format!("{a} * {b} + {c}"), format!("(({a} * {b}) + {c})")),
        (format!("{a} - {b} - {c}"), format!("(({a} - {b}) - {c})")),
        (format!("{a} ^ {b} ^ {c}"), format!("({a} ^ ({b} ^ {c}))")),
        (format!("{a} or {b} and {c}"), format!("({a} or ({b} and {c}))")),
        (format!("{a} and {b} > {c}"), format!("({a} and ({b} > {c}))")),
        (format!("{a} > {b} + {c}"), format!("({a} > ({b} + {c}))")),
        (format!("({a} + {b}) * {c}"), format!("(({a} + {b}) * {c})")),
        (format!("{a} unless {b} or {c}"), format!("(({a} unless {b}) or {c})")),
        ("2 ^ 3 ^ 2".to_string(), "512".to_string()),
        ("10 - 2 - 3".to_string(), "5".to_string()),
    ] {
        let expr = parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(expr.to_string(), want, "{input}");
    }
}

#[test]
fn line_filter_needles() {
    let Expr::Log(log) =
        parse(r#"{a="b"} |= "x" |= "" |= "y" or "z" |~ "lit" |~ "re.x" != "n" | json |= "after""#).expect("parses")
    else {
        panic!("not a log query");
    };
    assert_eq!(log.line_filter_needles(), vec!["x".to_string(), "lit".to_string()]);
}

#[test]
fn trees_have_the_expected_shape() {
    let expr =
        parse(r#"sum by (x) (quantile_over_time(0.5, {a="b"} | unwrap duration(d) [5m] offset 1m))"#).expect("parses");
    let Expr::Metric(MetricExpr::VectorAggregation(v)) = expr else {
        panic!("not a vector aggregation");
    };
    assert_eq!(v.op, VectorOp::Sum);
    assert_eq!(
        v.grouping,
        Some(Grouping {
            labels: vec!["x".into()],
            without: false
        })
    );
    let MetricExpr::RangeAggregation(r) = *v.expr else {
        panic!("not a range aggregation");
    };
    assert_eq!(
        (r.op, r.param, r.range_ns, r.offset_ns),
        (RangeOp::QuantileOverTime, Some(0.5), 300_000_000_000, 60_000_000_000)
    );
    assert_eq!(
        r.log.stages,
        vec![Stage::Unwrap {
            label: "d".into(),
            conversion: Some(UnwrapConversion::Duration)
        }]
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).is_err());
    let chain = format!(r#"{{a="b"}} | {}"#, vec![r#"x="1""#; 5_000].join(" "));
    assert!(parse(&chain).is_err());
    let sum = vec![r#"rate({a="b"}[1m])"#; 2_000].join(" + ");
    assert!(parse(&sum).is_err());
    let filters = vec![r#"(x="1""#; 1_000].join(" or ") + &")".repeat(1_000);
    assert!(parse(&format!(r#"{{a="b"}} | {filters}"#)).is_err());
}
