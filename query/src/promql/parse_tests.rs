//! Parser tests: grammar, precedence, type errors, canonical printing, upstream test scripts,
//! and property tests (never panics; print/parse round-trips).

use proptest::prelude::*;

use super::*;

fn ok(q: &str) -> Expr {
    match parse(q) {
        Ok(e) => e,
        Err(e) => panic!("{q:?} failed: {e}"),
    }
}

fn err(q: &str) -> String {
    match parse(q) {
        Ok(e) => panic!("{q:?} parsed as {e:?}"),
        Err(e) => e.message,
    }
}

/// Asserts `q` parses and prints as `want`, and that `want` re-parses to the same tree.
fn prints(q: &str, want: &str) {
    let e = ok(q);
    assert_eq!(e.to_string(), want, "printing {q:?}");
    assert_eq!(ok(want), e, "re-parsing {want:?}");
}

fn num(v: f64) -> Expr {
    Expr::NumberLiteral(v)
}

fn bin(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool: false,
        matching: None,
    }
}

#[test]
fn number_literals() {
    for (q, v) in [
        ("1", 1.0),
        ("0x1f", 31.0),
        ("0X_FF", 255.0),
        ("12.34e6", 12.34e6),
        ("12.34e+6", 12.34e6),
        (".2", 0.2),
        ("2.", 2.0),
        ("+0.2", 0.2),
        ("-0.2e-6", -0.2e-6),
        ("1_000", 1000.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("-5ms", -0.005),
    ] {
        assert_eq!(ok(q), num(v), "{q}");
    }
    for q in ["Inf", "+inf", "inF"] {
        assert_eq!(ok(q), num(f64::INFINITY));
    }
    assert_eq!(ok("-Inf"), num(f64::NEG_INFINITY));
    for q in ["NaN", "nan", "-nan"] {
        assert!(matches!(ok(q), Expr::NumberLiteral(v) if v.is_nan()));
    }
}

#[test]
fn string_literals() {
    assert_eq!(ok(r#""a\tb""#), Expr::StringLiteral("a\tb".into()));
    assert_eq!(ok(r"'a\'b'"), Expr::StringLiteral("a'b".into()));
    assert_eq!(ok(r"`a\tb`"), Expr::StringLiteral("a\\tb".into()));
    assert_eq!(
        ok(r#"("Foo")"#),
        Expr::Paren(Box::new(Expr::StringLiteral("Foo".into())))
    );
    prints(r"'it\'s'", r#""it's""#);
    assert_eq!(ok(r#""""#).value_type(), ValueType::String);
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(
        ok("-2^2"),
        Expr::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(bin(BinaryOp::Pow, num(2.0), num(2.0)))
        }
    );
    assert_eq!(
        ok("2^3^2"),
        bin(BinaryOp::Pow, num(2.0), bin(BinaryOp::Pow, num(3.0), num(2.0)))
    );
    assert_eq!(
        ok("1-2-3"),
        bin(BinaryOp::Sub, bin(BinaryOp::Sub, num(1.0), num(2.0)), num(3.0))
    );
    assert_eq!(
        ok("1+2*3"),
        bin(BinaryOp::Add, num(1.0), bin(BinaryOp::Mul, num(2.0), num(3.0)))
    );
    assert_eq!(ok("-1*2"), bin(BinaryOp::Mul, num(-1.0), num(2.0)));
    assert_eq!(ok("1 - -1"), bin(BinaryOp::Sub, num(1.0), num(-1.0)));
    assert_eq!(ok("2 ^ -1"), bin(BinaryOp::Pow, num(2.0), num(-1.0)));
    assert_eq!(
        ok("1 atan2 2 + 3"),
        bin(BinaryOp::Add, bin(BinaryOp::Atan2, num(1.0), num(2.0)), num(3.0))
    );
    prints("a or b and c unless d", "a or b and c unless d");
    let Expr::Binary { op, rhs, .. } = ok("a or b and c") else {
        panic!("binary")
    };
    assert_eq!(op, BinaryOp::Or);
    assert!(matches!(*rhs, Expr::Binary { op: BinaryOp::And, .. }));
    let Expr::Binary { op, lhs, .. } = ok("a + b > bool c * 2") else {
        panic!("binary")
    };
    assert_eq!(op, BinaryOp::Gtr);
    assert!(matches!(*lhs, Expr::Binary { op: BinaryOp::Add, .. }));
    let Expr::Binary { lhs, .. } = ok("-a * b") else {
        panic!("binary")
    };
    assert!(matches!(*lhs, Expr::Unary { .. }));
}

#[test]
fn selectors() {
    let Expr::VectorSelector(vs) = ok(r#"foo{a="b", c=~"x.*", d!="", e!~"y",}"#) else {
        panic!("selector")
    };
    assert_eq!(vs.name.as_deref(), Some("foo"));
    assert_eq!(vs.matchers.len(), 5);
    assert_eq!(vs.matchers[4].to_string(), "__name__=\"foo\"");
    prints(r#"foo{a="b",c=~"x.*"}"#, r#"foo{a="b", c=~"x.*"}"#);
    prints(r#"{__name__="foo"}"#, r#"{__name__="foo"}"#);
    prints(r#"{"foo"}"#, "foo");
    prints(
        r#"{"metric.with.dots", "a.b"="c"}"#,
        r#"{"metric.with.dots", "a.b"="c"}"#,
    );
    prints(r#"{"foo", job="x"}"#, r#"foo{job="x"}"#);
    prints("by", "by");
    prints("sum", "sum");
    prints("rate", "rate");
    prints("foo:bar:baz", "foo:bar:baz");
    prints(r#"{job=~".+"}"#, r#"{job=~".+"}"#);
    prints(r#"foo{on="x", by="y"}"#, r#"foo{on="x", by="y"}"#);
    assert_eq!(
        err(r#"{job=~".*"}"#),
        "vector selector must contain at least one non-empty matcher"
    );
    assert_eq!(err("{}"), "vector selector must contain at least one non-empty matcher");
    assert_eq!(
        err(r#"foo{__name__="bar"}"#),
        r#"metric name must not be set twice: "foo" or "bar""#
    );
    assert_eq!(
        err(r#"foo{"bar"}"#),
        r#"metric name must not be set twice: "foo" or "bar""#
    );
    assert_eq!(
        err(r#"foo{"bar", "baz"}"#),
        r#"metric name must not be set twice: "foo" or "bar""#
    );
    // Names inside the braces may repeat (Prometheus 3): they stay plain `__name__` matchers.
    prints(r#"{"foo", "bar"}"#, r#"{__name__="foo", __name__="bar"}"#);
    prints(r#"{"foo", __name__=~"b.*"}"#, r#"{__name__="foo", __name__=~"b.*"}"#);
    prints(r#"{a="b", "foo.bar"}"#, r#"{"foo.bar", a="b"}"#);
    match ok(r#"{"foo", "bar"}"#) {
        Expr::VectorSelector(vs) => assert_eq!((vs.name, vs.matchers.len()), (None, 2)),
        e => panic!("not a selector: {e:?}"),
    }
    assert!(
        err(r#"foo{a=~"(x"}"#).contains("regex"),
        "invalid regex is a parse error"
    );
    assert_eq!(
        err(r#"foo{a="b" c="d"}"#),
        r#"unexpected identifier "c" in label matching, expected "," or "}""#
    );
    assert_eq!(
        err("foo{a}"),
        r#"unexpected "}" in label matching, expected label matching operator"#
    );
    assert_eq!(
        err("foo{a=b}"),
        r#"unexpected identifier "b" in label matching, expected string"#
    );
    assert_eq!(err("on"), "unexpected <on>");
}

#[test]
fn ranges_offsets_and_at() {
    let Expr::MatrixSelector(ms) = ok("foo[5m] offset -1h @ 100") else {
        panic!("matrix")
    };
    assert_eq!(
        (ms.range, ms.vs.offset, ms.vs.at),
        (300_000, -3_600_000, Some(AtModifier::Timestamp(100_000)))
    );
    prints("foo[5m] offset -1h @ 100", "foo[5m] @ 100.000 offset -1h");
    prints("foo @ 100 offset 5m", "foo @ 100.000 offset 5m");
    prints("foo offset 5m @ 100", "foo @ 100.000 offset 5m");
    prints("foo @ start()", "foo @ start()");
    prints("foo @ END()", "foo @ end()");
    prints("foo @ -1.5", "foo @ -1.500");
    prints("foo[1800]", "foo[30m]");
    prints("foo[1.5]", "foo[1s500ms]");
    prints("foo offset 100", "foo offset 1m40s");
    prints("foo[1h30m]", "foo[1h30m]");
    prints("foo[1y]", "foo[1y]");
    prints("rate(foo[5m])[1h:]", "rate(foo[5m])[1h:]");
    prints(
        "rate(foo[5m])[1h:1m] offset 10m @ end()",
        "rate(foo[5m])[1h:1m] @ end() offset 10m",
    );
    prints("foo offset 5m [10m:]", "foo offset 5m[10m:]");
    assert_eq!(err("foo offset 5m [5m]"), "no offset modifiers allowed before range");
    assert_eq!(err("foo @ 1 [5m]"), "no @ modifiers allowed before range");
    assert_eq!(err("(foo)[5m]"), "ranges only allowed for vector selectors");
    assert_eq!(err("foo offset 1m offset 2m"), "offset may not be set multiple times");
    assert_eq!(err("foo @ 1 @ 2"), "@ <timestamp> may not be set multiple times");
    assert_eq!(
        err("sum(foo) offset 5m"),
        "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"
    );
    assert_eq!(
        err("1 @ 5"),
        "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"
    );
    assert_eq!(
        err("foo[5m][10m:]"),
        "subquery is only allowed on instant vector, got matrix instead"
    );
    assert_eq!(err("foo @ Inf"), "timestamp out of bounds for @ modifier: inf");
    assert_eq!(err("foo[5m"), "unclosed left bracket");
    assert_eq!(
        err("foo[5m x]"),
        r#"unexpected identifier "x" in subquery or range, expected ":" or "]""#
    );
    assert_eq!(
        err("foo[]"),
        r#"unexpected "]" in subquery selector, expected duration"#
    );
    assert_eq!(
        err("foo offset"),
        "unexpected end of input in offset, expected duration"
    );
    assert_eq!(err("foo[0s]"), "duration must be greater than 0");
}

#[test]
fn binary_modifiers() {
    prints("a + on(x, y) group_left(z) b", "a + on (x, y) group_left (z) b");
    prints("a * ignoring(x) group_right b", "a * ignoring (x) group_right () b");
    prints("a == bool b", "a == bool b");
    prints("a and on() b", "a and on () b");
    prints("a / ignoring() b", "a / b");
    prints("a - on(\"a.b\") b", "a - on (\"a.b\") b");
    prints("1 > bool 2", "1 > bool 2");
    prints("a > bool 2", "a > bool 2");
    let Expr::Binary { matching: Some(m), .. } = ok("a or b") else {
        panic!("matching")
    };
    assert_eq!(m.card, Cardinality::ManyToMany);
    let Expr::Binary { matching: Some(m), .. } = ok("a + on(x) group_left(y) b") else {
        panic!("matching")
    };
    assert_eq!(
        (m.card, m.on, m.matching_labels, m.include),
        (
            Cardinality::ManyToOne,
            true,
            vec!["x".to_string()],
            vec!["y".to_string()]
        )
    );
    assert!(matches!(ok("a + 1"), Expr::Binary { matching: None, .. }));
    assert_eq!(err("1 > 2"), "comparisons between scalars must use BOOL modifier");
    assert_eq!(
        err("a + bool b"),
        "bool modifier can only be used on comparison operators"
    );
    assert_eq!(
        err("a and on(x) group_left b"),
        r#"no grouping allowed for "and" operation"#
    );
    assert_eq!(
        err("a and 1"),
        r#"set operator "and" not allowed in binary scalar expression"#
    );
    assert_eq!(
        err("1 + on(x) a"),
        "vector matching only allowed between instant vectors"
    );
    assert_eq!(
        err("a + on(x) group_left(x) b"),
        r#"label "x" must not occur in ON and GROUP clause at once"#
    );
    assert_eq!(
        err("a + b[5m]"),
        "binary expression must contain only scalar and instant vector types"
    );
    assert_eq!(
        err(r#""a" + 1"#),
        "binary expression must contain only scalar and instant vector types"
    );
    assert_eq!(err("a + group_left b"), "unexpected <group_left>");
}

#[test]
fn aggregations() {
    prints("sum(foo)", "sum(foo)");
    prints("SUM BY (job) (foo)", "sum by (job) (foo)");
    prints("sum(foo) by (job, instance,)", "sum by (job, instance) (foo)");
    prints("avg without (a) (foo)", "avg without (a) (foo)");
    prints("sum without () (foo)", "sum without () (foo)");
    prints("sum by () (foo)", "sum(foo)");
    prints("topk(5, foo)", "topk(5, foo)");
    prints(r#"count_values("v", foo)"#, r#"count_values("v", foo)"#);
    prints("quantile by (a) (0.9, foo)", "quantile by (a) (0.9, foo)");
    prints("limitk(2, foo)", "limitk(2, foo)");
    prints("limit_ratio(0.5, foo)", "limit_ratio(0.5, foo)");
    prints("group(foo)", "group(foo)");
    prints("sum by (\"a.b\") (foo)", "sum by (\"a.b\") (foo)");
    assert_eq!(
        err("sum(a, b)"),
        "wrong number of arguments for aggregate expression provided, expected 1, got 2"
    );
    assert_eq!(
        err("topk(foo)"),
        "wrong number of arguments for aggregate expression provided, expected 2, got 1"
    );
    assert_eq!(
        err("sum()"),
        "wrong number of arguments for aggregate expression provided, expected 1, got 0"
    );
    assert_eq!(
        err("topk(foo, bar)"),
        "expected type scalar in aggregation parameter, got instant vector"
    );
    assert_eq!(
        err("count_values(1, bar)"),
        "expected type string in aggregation parameter, got scalar"
    );
    assert_eq!(
        err("sum(foo[5m])"),
        "expected type instant vector in aggregation expression, got range vector"
    );
    assert_eq!(
        err("sum by (a:b) (foo)"),
        r#"unexpected identifier "a:b" in grouping opts, expected label"#
    );
    assert_eq!(
        err("sum by foo"),
        r#"unexpected identifier "foo" in grouping opts, expected "(""#
    );
    assert_eq!(err("sum by (a) (foo) by (b)"), r#"unexpected <by>"#);
}

#[test]
fn function_calls() {
    prints("rate(foo[5m])", "rate(foo[5m])");
    prints("time()", "time()");
    prints("round(foo)", "round(foo)");
    prints("round(foo, 0.5)", "round(foo, 0.5)");
    prints("hour()", "hour()");
    prints(
        r#"label_join(foo, "a", ",", "b", "c", "d")"#,
        r#"label_join(foo, "a", ",", "b", "c", "d")"#,
    );
    prints(
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
    );
    prints("rate((foo[5m]))", "rate((foo[5m]))");
    prints("info(foo, {k=~\".*\"})", "info(foo, {k=~\".*\"})");
    prints(
        "double_exponential_smoothing(foo[5m], 0.5, 0.5)",
        "double_exponential_smoothing(foo[5m], 0.5, 0.5)",
    );
    assert_eq!(ok("scalar(foo)").value_type(), ValueType::Scalar);
    assert_eq!(
        err("holt_winters(foo[5m], 0.5, 0.5)"),
        r#"unknown function with name "holt_winters""#
    );
    assert_eq!(
        err("rate(foo)"),
        r#"expected type range vector in call to function "rate", got instant vector"#
    );
    assert_eq!(
        err("abs(foo, bar)"),
        r#"expected 1 argument(s) in call to "abs", got 2"#
    );
    assert_eq!(
        err("round(foo, 1, 2)"),
        r#"expected at most 2 argument(s) in call to "round", got 3"#
    );
    assert_eq!(
        err("label_join(foo)"),
        r#"expected at least 3 argument(s) in call to "label_join", got 1"#
    );
    assert_eq!(
        err("rate(foo[5m],)"),
        "trailing commas not allowed in function call args"
    );
    assert_eq!(
        err("info(foo, bar)"),
        "expected label selectors only, got vector selector instead"
    );
    assert_eq!(
        err("abs(foo[5m])"),
        r#"expected type instant vector in call to function "abs", got range vector"#
    );
    assert_eq!(
        err("-foo[5m]"),
        r#"unary expression only allowed on expressions of type scalar or instant vector, got "range vector""#
    );
}

/// `(start, end, line, col)` of every argument position of the call or aggregation `e`.
fn arg_positions(e: &Expr) -> Vec<(usize, usize, usize, usize)> {
    let ps = match e {
        Expr::Call { arg_pos, .. } => arg_pos.clone(),
        Expr::Aggregate { param_pos, .. } => vec![*param_pos],
        _ => Vec::new(),
    };
    ps.iter().map(|p| (p.start, p.end, p.line, p.col)).collect()
}

#[test]
fn argument_positions() {
    assert_eq!(arg_positions(&ok("rate(metric[5m])")), [(5, 15, 1, 6)]);
    // A sign folded into a literal, parentheses and modifiers belong to the argument.
    assert_eq!(
        arg_positions(&ok("histogram_fraction(-Inf, (1), series offset 1m)")),
        [(19, 23, 1, 20), (25, 28, 1, 26), (30, 46, 1, 31)]
    );
    // Lines and columns count bytes after the last newline; comments are skipped.
    assert_eq!(
        arg_positions(&ok("histogram_quantile(\n  # phi\n  0.9,\n\tx_bucket\n)")),
        [(30, 33, 3, 3), (36, 44, 4, 2)]
    );
    assert_eq!(
        arg_positions(&ok("quantile without (p) (NaN, data)")),
        [(22, 25, 1, 23)]
    );
    assert_eq!(arg_positions(&ok("sum(data)")), [(0, 0, 0, 0)]);
    // Multi-byte characters count as their UTF-8 length.
    assert_eq!(arg_positions(&ok("abs({\"é\"=\"ü\"})")), [(4, 15, 1, 5)]);
    // Positions never make trees differ.
    assert_eq!(ok("rate(metric[5m])"), ok("rate(  metric[5m])"));
}

#[test]
fn syntax_errors_and_positions() {
    let e = parse("foo + * bar").expect_err("fails");
    assert_eq!(e.to_string(), "1:7: parse error: unexpected <op:*>");
    let e = parse("foo +\n  )").expect_err("fails");
    assert_eq!((e.line, e.col, e.pos), (2, 3, 8));
    assert_eq!(err(""), "no expression found in input");
    assert_eq!(err("  # only a comment"), "no expression found in input");
    assert_eq!(err("foo +"), "unexpected end of input");
    assert_eq!(err("foo bar"), r#"unexpected identifier "bar""#);
    assert_eq!(err("(foo"), "unclosed left parenthesis");
    assert_eq!(err("foo)"), "unexpected right parenthesis ')'");
    assert_eq!(err("1 2"), r#"unexpected number "2""#);
    assert_eq!(
        err(r#"foo "averyveryverylongstring""#),
        r#"unexpected string "\"averyvery"..."#
    );
    assert_eq!(err("1x"), r#"bad number or duration syntax: "1x""#);
    assert_eq!(err("sum by (a)"), "unexpected end of input in aggregation");
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}1{}", "(".repeat(256), ")".repeat(256));
    assert!(err(&deep).contains("nested too deeply"));
    let ok_depth = format!("{}1{}", "(".repeat(127), ")".repeat(127));
    assert_eq!(ok(&ok_depth).to_string(), ok_depth);
    let calls = format!("{}foo{}", "abs(".repeat(120), ")".repeat(120));
    assert_eq!(ok(&calls).to_string(), calls);
    let chain = vec!["a"; 400].join(" + ");
    assert!(err(&chain).contains("nested too deeply"));
    let pow = vec!["2"; 400].join(" ^ ");
    assert!(err(&pow).contains("nested too deeply"));
    let neg = format!("{}a", "-".repeat(1000));
    assert!(err(&neg).contains("nested too deeply"));
    let long_sum = vec!["a"; 200].join(" + ");
    ok(&long_sum);
}

#[test]
fn canonical_printing() {
    prints(
        r#"sum by(job)(rate(http_requests_total{job="api"}[5m]))"#,
        r#"sum by (job) (rate(http_requests_total{job="api"}[5m]))"#,
    );
    prints("1e6", "1e+06");
    prints("  foo  #comment\n  +  bar", "foo + bar");
    prints("-(1 + 2)", "-(1 + 2)");
    prints("+foo", "+foo");
    prints("- - foo", "--foo");
    prints("a - -b", "a - -b");
    prints("a ^ -b", "a ^ -b");
    prints("Inf ^ 2", "Inf ^ 2");
    prints("-Inf ^ 2", "-Inf ^ 2");
    prints("+Inf", "+Inf");
    prints(r#"foo{a="\n\"x\""}"#, r#"foo{a="\n\"x\""}"#);
}

/// Extracts the expression of an `eval` line: `eval instant at <t> <expr>` or
/// `eval range from <a> to <b> step <c> <expr>`.
fn eval_query(line: &str) -> Option<&str> {
    let mut rest = line.trim();
    let mut words = 0;
    let skip = if rest.split_whitespace().nth(1) == Some("range") {
        8
    } else {
        4
    };
    while words < skip {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
        words += 1;
    }
    Some(rest.trim())
}

/// Syntax this parser does not support yet (all experimental in Prometheus 3.x).
fn unsupported_feature(file: &str, q: &str) -> Option<&'static str> {
    if q.contains(" anchored") || q.contains(" smoothed") {
        Some("extended range selectors")
    } else if q.contains("fill(") || q.contains("fill_left(") || q.contains("fill_right(") {
        Some("fill modifiers")
    } else if q.contains(">/") || q.contains("</") {
        Some("histogram trim operators")
    } else if file == "duration_expression.test" {
        Some("duration expressions")
    } else {
        None
    }
}

/// Parses every `eval` query of the upstream test scripts (except native-histogram literals),
/// reports how many parse, and requires every query without an unsupported feature to parse
/// and to print stably.
#[test]
fn upstream_test_scripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/promql");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} not found", dir.display());
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let (mut total, mut parsed) = (0, 0);
    let mut skipped: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut failures = Vec::new();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "test")) {
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines().filter(|l| l.trim_start().starts_with("eval")) {
            let Some(q) = eval_query(line) else { continue };
            if q.contains("{{") {
                continue;
            }
            total += 1;
            match parse(q) {
                Ok(e) => {
                    parsed += 1;
                    let printed = e.to_string();
                    let again = parse(&printed).unwrap_or_else(|err| panic!("{q:?} printed as {printed:?}: {err}"));
                    assert_eq!(again.to_string(), printed, "printing is stable for {q:?}");
                }
                Err(e) => match unsupported_feature(file, q) {
                    Some(feature) => *skipped.entry(feature).or_default() += 1,
                    None => failures.push(format!("{file}: {q}  -> {e}")),
                },
            }
        }
    }
    eprintln!("upstream eval queries: {parsed}/{total} parse; unsupported: {skipped:?}");
    assert!(total > 2000, "found {total} queries");
    assert!(failures.is_empty(), "unexpected failures:\n{}", failures.join("\n"));
}

// ---- property tests ----

fn metric() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("foo".to_string()),
        Just("http_requests_total".to_string()),
        Just("a:b".to_string()),
        Just(r#"{"dotted.name"}"#.to_string()),
        Just(r#"up{job="api", "a.b"=~"x|y"}"#.to_string()),
        Just(r#"{__name__=~"x.+"}"#.to_string()),
    ]
}

fn modifiers() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" offset 5m".to_string()),
        Just(" offset -1h30m".to_string()),
        Just(" @ 1234.5".to_string()),
        Just(" @ start() offset 1d".to_string()),
    ]
}

fn vector_expr() -> impl Strategy<Value = String> {
    let leaf = (metric(), modifiers()).prop_map(|(m, o)| format!("{m}{o}"));
    leaf.prop_recursive(5, 40, 3, |inner| {
        let scalar = prop_oneof![
            (-1000.0f64..1000.0).prop_map(|v| format!("{v}")),
            Just("0x1f".to_string()),
            Just("Inf".to_string()),
            Just("1h".to_string()),
            Just("time()".to_string()),
        ];
        let op = prop_oneof![
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("%"),
            Just("^"),
            Just("atan2"),
            Just("== bool"),
            Just(">"),
            Just("<= on(a)"),
            Just("and"),
            Just("or ignoring(b)"),
            Just("unless on()"),
            Just("* on(a) group_left(c)"),
            Just("/ ignoring(a) group_right()"),
        ];
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a}) {o} {b}")),
            (
                inner.clone(),
                prop_oneof![Just("+"), Just("*"), Just("^"), Just(">")],
                scalar.clone()
            )
                .prop_map(|(a, o, s)| format!("{a} {o} {s}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (metric(), modifiers()).prop_map(|(m, o)| format!("rate({m}[5m]{o})")),
            (
                inner.clone(),
                prop_oneof![Just("sum"), Just("max by (a)"), Just("count without (b, c)")]
            )
                .prop_map(|(a, g)| format!("{g} ({a})")),
            (scalar.clone(), inner.clone()).prop_map(|(s, a)| format!("topk({s}, {a})")),
            inner.clone().prop_map(|a| format!("max_over_time(({a})[10m:1m])")),
            inner
                .clone()
                .prop_map(|a| format!("sum_over_time(({a})[1h:] offset 5m)")),
            inner
                .clone()
                .prop_map(|a| format!(r#"label_replace({a}, "x", "$1", "y", "(.*)")"#)),
            (inner.clone(), scalar).prop_map(|(a, s)| format!("clamp_min({a}, {s})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(s in "\\PC{0,60}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_promql_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("foo"), Just("("), Just(")"), Just("{"), Just("}"), Just("["), Just("]"), Just(":"),
                Just("5m"), Just("1"), Just("-"), Just("+"), Just("^"), Just("@"), Just("offset"),
                Just("sum"), Just("by"), Just("rate"), Just(","), Just("\"a\""), Just("="), Just("=~"),
                Just("on"), Just("group_left"), Just("bool"), Just("=="), Just("and"), Just("start()"),
                Just("0x"), Just("1e"), Just("'"), Just("\\"), Just("#"), Just("\n"), Just("inf"),
            ],
            0..30,
        )
    ) {
        let _ = parse(&parts.join(" "));
        let _ = parse(&parts.concat());
    }

    #[test]
    fn print_parse_round_trip(q in vector_expr()) {
        let e = parse(&q).map_err(|e| TestCaseError::fail(format!("{q:?}: {e}")))?;
        let printed = e.to_string();
        let mut again = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        let mut e = e;
        again.clear_positions();
        e.clear_positions();
        prop_assert_eq!(format!("{again:?}"), format!("{e:?}"), "{} printed as {}", q, printed);
        prop_assert_eq!(again.to_string(), printed);
    }
}
