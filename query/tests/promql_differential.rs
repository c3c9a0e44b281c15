//! Differential test of the PromQL parser against the `promql-parser` crate (GreptimeTeam).
//!
//! The corpus is every `eval` query of Prometheus's own test scripts (`../shared/promql/*.test`,
//! skipped with a notice when absent) plus [`HAND`], a list of tricky valid and invalid queries
//! whose verdict under Prometheus 3.x (experimental functions enabled, as in promqltest) is
//! written beside each. For every query the two parsers must agree on accept/reject, unless the
//! disagreement is in [`ALLOWED`] with the reason why we follow Prometheus and the other crate
//! does not. Our own verdict on the hand-written queries must match Prometheus's in any case.
//! `LOUPE_DIFF_VERBOSE=1` lists the queries both parsers reject.
#![allow(clippy::print_stdout)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use query::promql::parse;

/// Hand-written queries and whether Prometheus 3.x accepts them.
const HAND: &[(&str, bool)] = &[
    // Precedence and associativity.
    ("1 + 2 * 3", true),
    ("2 ^ 3 ^ 2", true),
    ("-2 ^ 2", true),
    ("a + b * c - d / e % f", true),
    ("a or b and c unless d", true),
    ("a atan2 b", true),
    ("1 atan2 2", true),
    ("- - a", true),
    ("-(a + b)", true),
    ("a - -b", true),
    ("a ^ -b", true),
    ("((a))", true),
    ("a +", false),
    ("* a", false),
    ("a + + ", false),
    ("(a", false),
    ("a)", false),
    ("()", false),
    // bool.
    ("a > bool 1", true),
    ("1 > bool 2", true),
    ("a == bool b", true),
    ("1 > 2", false),
    ("a + bool b", false),
    ("a and bool b", false),
    ("a bool > b", false),
    // Vector matching.
    ("a * on(job) group_left(instance) b", true),
    ("a * ignoring(job) group_right b", true),
    ("a * on(job) group_left b", true),
    ("a * on() b", true),
    ("a and on(job) b", true),
    ("a / on(job,) b", true),
    ("a > bool on(job) group_left b", true),
    ("a and on(job) group_left b", false),
    ("a * on(job) group_left(job) b", false),
    ("a * ignoring(job) group_left(job) b", true),
    ("1 * on(job) a", false),
    ("a * group_left b", false),
    ("a * on(job) group_left(x) group_right(y) b", false),
    ("a * on job b", false),
    // offset and @, in both orders.
    ("a offset 5m @ 100", true),
    ("a @ 100 offset 5m", true),
    ("a[5m] offset 1m @ 100", true),
    ("a[5m] @ 100 offset 1m", true),
    ("a @ start()", true),
    ("a @ end() offset -1m", true),
    ("a offset -5m", true),
    ("a @ -1", true),
    ("a @ 1.5e3", true),
    ("a offset 1m [5m]", false),
    ("a @ 100 [5m]", false),
    ("a offset 1m offset 2m", false),
    ("a @ 1 @ 2", false),
    ("a @ start", false),
    ("a @ foo()", false),
    ("1 offset 5m", false),
    ("(a) offset 5m", false),
    ("rate(a[5m]) @ 100", false),
    ("a offset", false),
    // Subqueries.
    ("rate(a[5m])[30m:1m]", true),
    ("a[5m:]", true),
    ("(a + b)[5m:1m] offset 1m @ 100", true),
    ("max_over_time(rate(a[1m])[5m:] @ end())", true),
    ("a[5m][10m:]", false),
    ("1[5m:]", false),
    ("\"x\"[5m:]", false),
    ("a[5m:1m:1m]", false),
    ("a[:1m]", false),
    ("a[5m:-1m]", false),
    // Ranges and durations.
    ("a[1h30m]", true),
    ("a[1d]", true),
    ("a[1w1d]", true),
    ("a[90]", true),
    ("a[5m", false),
    ("a[-5m]", false),
    ("a[5x]", false),
    ("a[]", false),
    ("a[5m]]", false),
    ("time() - 5m", true),
    ("a offset 90", true),
    // Strings and escapes.
    ("\"str\"", true),
    (r#""a\nb\t\"c\"""#, true),
    (r"'single \' quote'", true),
    ("`raw \\n string`", true),
    (r#""\x41\u00e9\U0001F600\101""#, true),
    (r#""\q""#, false),
    (r#""\u12""#, false),
    ("\"unterminated", false),
    ("'multi\nline'", false),
    ("`raw\nline`", true),
    (r#"a{b="\"quoted\""}"#, true),
    // Quoted (UTF-8) names, Prometheus 3.
    (r#"{"foo.bar"}"#, true),
    (r#"{"foo.bar", job="x"}"#, true),
    (r#"{job="x", "foo.bar"}"#, true),
    (r#"{"foo", "bar"}"#, true),
    (r#"{"foo", __name__="bar"}"#, true),
    (r#"{__name__="foo", __name__=~"b.*"}"#, true),
    (r#"foo{"bar"}"#, false),
    (r#"foo{"a.b"="c"}"#, true),
    (r#"foo{"a.b"=~"c"}"#, true),
    (r#"sum by ("a.b") (foo)"#, true),
    (r#"a * on("a.b") group_left("c.d") b"#, true),
    (r#"foo{"a.b"}"#, false),
    // Selectors.
    ("foo{a=\"b\",}", true),
    ("foo{a=\"b\" , c!=\"d\", e=~\"f\", g!~\"h\"}", true),
    ("foo:bar:baz", true),
    ("{__name__=\"foo\"}", true),
    ("{a=~\".+\"}", true),
    ("{}", false),
    ("{a=\"\"}", false),
    ("{a=~\".*\"}", false),
    ("foo{a}", false),
    ("foo{,}", false),
    ("foo{a=b}", false),
    ("foo{a==\"b\"}", false),
    ("foo{__name__=\"bar\"}", false),
    ("foo{a=~\"(\"}", false),
    ("foo}", false),
    ("foo{", false),
    ("1foo", false),
    // Numbers.
    ("0x1F", true),
    ("1e3", true),
    ("1E-3", true),
    (".5", true),
    ("5.", true),
    ("Inf", true),
    ("-inf", true),
    ("NaN", true),
    ("nan", true),
    ("+Inf", true),
    ("0755", true),
    ("1e", false),
    ("0x", false),
    ("1.2.3", false),
    // Aggregations, modifiers before or after.
    ("sum by (a) (foo)", true),
    ("sum (foo) by (a)", true),
    ("sum without () (foo)", true),
    ("sum by (a,) (foo)", true),
    ("SUM BY (a) (foo)", true),
    ("sum by (__name__) (foo)", true),
    ("topk(5, foo)", true),
    ("bottomk by (a) (5, foo)", true),
    ("count_values(\"x\", foo)", true),
    ("quantile(0.9, foo)", true),
    ("limitk(1, foo)", true),
    ("limit_ratio(0.5, foo)", true),
    ("sum by (a) (foo) by (b)", false),
    ("sum by (a) without (b) (foo)", false),
    ("topk(foo)", false),
    ("count_values(1, foo)", false),
    ("quantile(\"x\", foo)", false),
    ("sum(foo, bar)", false),
    ("sum()", false),
    ("sum by (1a) (foo)", false),
    ("sum by a (foo)", false),
    ("sum(foo[5m])", false),
    ("sum(1)", false),
    ("sum(foo,)", false),
    // Function calls.
    ("time()", true),
    ("rate(foo[5m])", true),
    ("label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")", true),
    ("label_join(foo, \"a\", \",\", \"b\", \"c\", \"d\")", true),
    ("round(foo)", true),
    ("round(foo, 5)", true),
    ("vector(1)", true),
    ("scalar(foo)", true),
    ("absent_over_time(foo[5m])", true),
    ("predict_linear(foo[5m], 60)", true),
    ("rate((foo[5m]))", true),
    ("ABS(foo)", false),
    ("rate(foo)", false),
    ("abs(foo[5m])", false),
    ("round(foo, 1, 2)", false),
    ("nonexistent(foo)", false),
    ("rate(foo[5m],)", false),
    ("holt_winters(foo[5m], 0.5, 0.5)", false),
    ("label_join(foo)", false),
    ("time(1)", false),
    ("abs(\"x\")", false),
    // Type errors.
    ("foo + \"a\"", false),
    ("-\"a\"", false),
    ("foo[5m] + 1", false),
    ("-foo[5m]", false),
    ("\"a\" + 1", false),
    ("foo and 1", false),
    ("1 or 2", false),
    ("rate(foo[5m]) > bool 2", true),
    // Keywords as names, comments, whitespace.
    ("foo # comment", true),
    ("foo\n+\nbar", true),
    ("# only a comment", false),
    ("", false),
    ("   ", false),
    ("on", false),
    ("bool", false),
    ("offset", true),
    ("by", true),
    ("start", true),
    ("sum", true),
    ("sum{a=\"b\"}", true),
    ("group_left", false),
    ("foo{on=\"x\", by=\"y\", offset=\"z\"}", true),
    ("sum by (on, by, offset) (foo)", true),
];

/// Which parser accepts a query the other rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepts {
    /// We accept, `promql-parser` rejects.
    Ours,
    /// `promql-parser` accepts, we reject.
    Theirs,
}

/// A known, justified disagreement: queries containing `needle` on which `side` alone accepts.
struct Allowed {
    needle: &'static str,
    side: Accepts,
    reason: &'static str,
}

/// Known disagreements, each with the side Prometheus 3.x takes and why.
const ALLOWED: &[Allowed] = &[
    // promql-parser is right: Prometheus 3.x (experimental, enabled in promqltest) accepts the
    // fill modifiers of binary operators, which we do not implement yet (the conformance runner
    // skips fill-modifier.test's cases for the same reason).
    Allowed {
        needle: "fill(",
        side: Accepts::Theirs,
        reason: "binary-operator fill modifiers (Prometheus 3.x, experimental) not implemented yet",
    },
    Allowed {
        needle: "fill_left(",
        side: Accepts::Theirs,
        reason: "binary-operator fill modifiers (Prometheus 3.x, experimental) not implemented yet",
    },
    Allowed {
        needle: "fill_right(",
        side: Accepts::Theirs,
        reason: "binary-operator fill modifiers (Prometheus 3.x, experimental) not implemented yet",
    },
    // We are right: Prometheus skips the non-empty-matcher check for the label selector of
    // info()'s second argument (BypassEmptyMatcherCheck), so `info(m, {data=~".*"})` parses;
    // promql-parser applies the check there too.
    Allowed {
        needle: "info(",
        side: Accepts::Ours,
        reason: "Prometheus allows an all-empty-matching label selector as info()'s second argument",
    },
];

/// Our verdict and `promql-parser`'s (a panic counts as a rejection).
fn verdicts(q: &str) -> (bool, bool) {
    let ours = parse(q).is_ok();
    let theirs = catch_unwind(AssertUnwindSafe(|| promql_parser::parser::parse(q).is_ok())).unwrap_or(false);
    (ours, theirs)
}

/// The expression of an `eval` line: after `eval[_x] instant at <t>` or after
/// `eval[_x] range from <a> to <b> step <c>`.
fn eval_query(line: &str) -> Option<&str> {
    let line = line.trim();
    let mut words = line.split_whitespace();
    if !words.next()?.starts_with("eval") {
        return None;
    }
    let skip = match words.next()? {
        "instant" => 4,
        "range" => 8,
        _ => return None,
    };
    let mut rest = line;
    for _ in 0..skip {
        rest = rest.trim_start();
        rest = &rest[rest.find(char::is_whitespace)?..];
    }
    let q = rest.trim();
    (!q.is_empty()).then_some(q)
}

/// Every `eval` query of Prometheus's test scripts, in file order, without duplicates.
fn upstream_queries() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/promql");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("upstream promqltest scripts skipped: {} not found", dir.display());
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for q in text.lines().filter_map(eval_query) {
            if seen.insert(q.to_string()) {
                out.push(q.to_string());
            }
        }
    }
    out
}

#[test]
fn hand_written_verdicts_match_prometheus() {
    let wrong: Vec<String> = HAND
        .iter()
        .filter(|(q, valid)| parse(q).is_ok() != *valid)
        .map(|(q, valid)| format!("{q:?}: Prometheus {}", if *valid { "accepts" } else { "rejects" }))
        .collect();
    assert!(
        wrong.is_empty(),
        "our parser disagrees with Prometheus on:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn parsers_agree_on_accept_and_reject() {
    let upstream = upstream_queries();
    let corpus: Vec<&str> = upstream
        .iter()
        .map(String::as_str)
        .chain(HAND.iter().map(|(q, _)| *q))
        .collect();
    let verbose = std::env::var("LOUPE_DIFF_VERBOSE").is_ok_and(|v| v == "1");
    let mut used = vec![0usize; ALLOWED.len()];
    let (mut agree, mut allowed, mut both_reject) = (0usize, 0usize, 0usize);
    let mut unexplained = Vec::new();
    for q in &corpus {
        let (ours, theirs) = verdicts(q);
        if ours == theirs {
            agree += 1;
            both_reject += usize::from(!ours);
            if !ours && verbose {
                println!("  both reject {q:?}");
            }
            continue;
        }
        let side = if ours { Accepts::Ours } else { Accepts::Theirs };
        match ALLOWED.iter().position(|a| a.side == side && q.contains(a.needle)) {
            Some(i) => {
                used[i] += 1;
                allowed += 1;
            }
            None => unexplained.push(format!("{side:?} accepts {q:?}")),
        }
    }
    println!(
        "differential: {} queries ({} upstream, {} hand-written): {agree} agree ({both_reject} rejected by both), \
         {allowed} allowed disagreements, {} unexplained",
        corpus.len(),
        upstream.len(),
        HAND.len(),
        unexplained.len()
    );
    for (a, n) in ALLOWED.iter().zip(&used) {
        println!("  {n:4}  {:?} accepts {:?}: {}", a.side, a.needle, a.reason);
    }
    assert!(
        unexplained.is_empty(),
        "unexplained disagreements with promql-parser:\n{}",
        unexplained.join("\n")
    );
    if !upstream.is_empty() {
        let stale: Vec<_> = ALLOWED
            .iter()
            .zip(&used)
            .filter(|(_, n)| **n == 0)
            .map(|(a, _)| a.needle)
            .collect();
        assert!(stale.is_empty(), "allow-list entries no longer needed: {stale:?}");
    }
}
