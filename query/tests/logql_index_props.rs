//! Property test of the index pre-filter: a LogQL query over the tantivy log store gives exactly
//! what a brute-force scan of the same lines gives, entries in the same order.
//!
//! Each case writes random lines to a real [`LogStore`] in a temporary directory (several streams,
//! one-hour windows over about three hours, timestamps with ties, one or more appends and commits)
//! and the same lines, in the store's insertion order, to a [`MemorySource`], which ignores the
//! pre-filter. The lines come from a vocabulary made to trouble a tokenizer: case variants, parts
//! of words, punctuation, ids, non-ASCII letters whose lowercase is longer, tokens around
//! [`logs::schema::MAX_TOKEN_BYTES`], empty lines and runs of spaces. Queries chain one to three
//! line filters (`|=`, `!=`, `|~`, `!~`) whose needles are mostly substrings of the generated lines
//! (so they match), sometimes with a parser or `line_format` between them, over a random time range,
//! direction and limit; plus `count_over_time` and `sum by` metric queries over the same pipeline.

use std::sync::Arc;

use logs::{Direction, LogStore, PushEntry, PushStream, StoreOptions};
use proptest::prelude::*;
use proptest::sample::Index;
use query::logql::eval::{Engine, EngineOptions, MemorySource, QueryParams, QueryValue};
use tsdb::Labels;

const SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
/// Start of the data: on an hour boundary, so minute offsets cross window edges.
const T0: i64 = 1_700_000_000 / 3600 * 3600 * SEC;
/// Timestamps are `T0 + minute * MIN + jitter` with `minute` below this: over three windows.
const MINUTES: i64 = 200;

/// The label sets of the streams; a case uses the first two to four.
const STREAMS: [&[(&str, &str)]; 4] = [
    &[("app", "api"), ("env", "prod")],
    &[("app", "api"), ("env", "dev")],
    &[("app", "web"), ("env", "prod")],
    &[("app", "db"), ("env", "prod"), ("team", "x")],
];

/// Stream selectors of the queries.
const SELECTORS: [&str; 6] = [
    r#"{app="api"}"#,
    r#"{env="prod"}"#,
    r#"{app=~"api|web"}"#,
    r#"{app!="db", env=~".+"}"#,
    r#"{team="x"}"#,
    r#"{app=~".+"}"#,
];

/// Words of the lines, chosen for the tokenizer and the pre-filter.
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = [
        "Error",
        "ERROR",
        "error",
        "err",
        "rror",
        "errors",
        "ErrorCode",
        "warn",
        "WARN",
        "info",
        "level=error",
        "level=info",
        "level=WARN",
        "msg=\"hello world\"",
        "status=500",
        "status=200",
        "GET",
        "get",
        "/api/v1/users",
        "path=/Api/V1",
        "user-42",
        "user_42",
        "id:7f3a",
        "149406d8-fc0e-48e6-a709-4cea8ca40db1",
        "deadbeefCAFE",
        "0x1F",
        "1.5ms",
        "took",
        "ms",
        "a",
        "b",
        "c",
        "foo",
        "bar",
        "foo.bar",
        "foo-bar",
        "foobar",
        "a=b",
        "k=v",
        "\"quoted\"",
        "12345",
        "42",
        "café",
        "CAFÉ",
        "cafe\u{301}",
        "é",
        "straße",
        "STRASSE",
        "ß",
        "İstanbul",
        "istanbul",
        "İ",
        "ΣΊΣΥΦΟΣ",
        "σίσυφος",
        "Σ",
        "日本",
        "日本語",
        "x{}y",
        "[a]",
        "(b)",
        "*",
        "\\",
        "$",
        "ǅ",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let max = logs::schema::MAX_TOKEN_BYTES;
    words.push("x".repeat(max));
    words.push("X".repeat(max + 1));
    words.push(format!("{}Q", "ab".repeat(max / 2)));
    words.push("İ".repeat(max / 2));
    words.push("é".repeat(max / 2 + 1));
    words.push("0123456789abcdef".repeat(5));
    // At most MAX_TOKEN_BYTES as written, longer once lowercased (for lowercasing indexes) (İ -> i̇, Ⱥ -> ⱥ).
    words.push("İ".repeat(22));
    words.push("Ⱥ".repeat(30));
    words.push(format!("Error{}", "İ".repeat(20)));
    // Longer as written, shorter once lowercased (Kelvin sign -> k).
    words.push("\u{212A}".repeat(22));
    words.push(format!("{}error", "é".repeat(30)));
    words
}

/// Separators between words.
const SEPARATORS: [&str; 12] = [" ", " ", " ", "  ", "   ", "-", ":", "=", "/", ".", "\"", ", "];

/// How one line is built.
#[derive(Debug, Clone)]
enum LineSpec {
    /// Vocabulary words joined by separators.
    Words(Vec<(Index, Index)>),
    /// A logfmt line.
    Logfmt(Index, Index, u16),
    /// A JSON object line.
    Json(Index, Index, u16),
    /// The empty line.
    Empty,
}

/// One generated entry: stream, minute, jitter, line, whether it has structured metadata.
#[derive(Debug, Clone)]
struct EntrySpec {
    stream: Index,
    minute: i64,
    jitter: i64,
    line: LineSpec,
    metadata: bool,
}

/// Where a needle comes from.
#[derive(Debug, Clone)]
enum NeedleSpec {
    /// A vocabulary word.
    Word(Index),
    /// A substring of a generated line, by characters.
    Sub { line: Index, start: Index, len: usize },
    /// A vocabulary word between spaces: a whole token.
    Spaced(Index),
}

/// Case change applied to a needle.
#[derive(Debug, Clone, Copy)]
enum Case {
    Keep,
    Upper,
    Lower,
}

/// A stage of the generated pipeline.
#[derive(Debug, Clone)]
enum StageSpec {
    /// `|=`, `!=` (op 0, 1) on a needle, or `|~`, `!~` (op 2, 3) on a regex form of it.
    Filter {
        op: u8,
        form: u8,
        needles: [(NeedleSpec, Case); 3],
    },
    /// `|= a or b`.
    Or(NeedleSpec, NeedleSpec),
    /// `| logfmt` or `| json`.
    Parser(bool),
    /// `| line_format` that keeps the line's shape (later filters are not pre-filters).
    LineFormat,
}

/// A query over the generated lines.
#[derive(Debug, Clone)]
struct QuerySpec {
    selector: Index,
    stages: Vec<StageSpec>,
    /// Range as minutes from `T0` (start, length); (None) the whole data.
    range: Option<(i64, i64)>,
    backward: bool,
    limit: usize,
    range_minutes: i64,
}

/// A whole case.
#[derive(Debug, Clone)]
struct CaseSpec {
    streams: usize,
    entries: Vec<EntrySpec>,
    /// Split points of the appends (fractions of the entry count, in per mille).
    splits: Vec<u16>,
    /// Commit after each append (several segments per window), or once at the end.
    commit_each: bool,
    queries: Vec<QuerySpec>,
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    prop_oneof![
        6 => prop::collection::vec((any::<Index>(), any::<Index>()), 1..10).prop_map(LineSpec::Words),
        2 => (any::<Index>(), any::<Index>(), any::<u16>()).prop_map(|(a, b, n)| LineSpec::Logfmt(a, b, n)),
        2 => (any::<Index>(), any::<Index>(), any::<u16>()).prop_map(|(a, b, n)| LineSpec::Json(a, b, n)),
        1 => Just(LineSpec::Empty),
    ]
}

fn entry_spec() -> impl Strategy<Value = EntrySpec> {
    (
        any::<Index>(),
        0..MINUTES,
        prop_oneof![4 => Just(0i64), 1 => Just(1i64), 1 => Just(30 * SEC), 1 => Just(MIN - 1)],
        line_spec(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(stream, minute, jitter, line, metadata)| EntrySpec {
            stream,
            minute,
            jitter,
            line,
            metadata,
        })
}

fn needle_spec() -> impl Strategy<Value = NeedleSpec> {
    prop_oneof![
        1 => any::<Index>().prop_map(NeedleSpec::Word),
        1 => any::<Index>().prop_map(NeedleSpec::Spaced),
        4 => (any::<Index>(), any::<Index>(), 1usize..40).prop_map(|(line, start, len)| NeedleSpec::Sub { line, start, len }),
    ]
}

fn case_change() -> impl Strategy<Value = Case> {
    prop_oneof![4 => Just(Case::Keep), 1 => Just(Case::Upper), 1 => Just(Case::Lower)]
}

fn stage_spec() -> impl Strategy<Value = StageSpec> {
    let needle = || (needle_spec(), case_change());
    prop_oneof![
        8 => (0u8..4, 0u8..6, [needle(), needle(), needle()])
            .prop_map(|(op, form, needles)| StageSpec::Filter { op, form, needles }),
        1 => (needle_spec(), needle_spec()).prop_map(|(a, b)| StageSpec::Or(a, b)),
        2 => any::<bool>().prop_map(StageSpec::Parser),
        1 => Just(StageSpec::LineFormat),
    ]
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    (
        any::<Index>(),
        prop::collection::vec(stage_spec(), 1..4),
        prop::option::weighted(0.7, (-10..MINUTES, 1..MINUTES)),
        any::<bool>(),
        prop_oneof![Just(1usize), Just(3), Just(10), Just(1000)],
        prop_oneof![Just(1i64), Just(5), Just(30)],
    )
        .prop_map(|(selector, stages, range, backward, limit, range_minutes)| QuerySpec {
            selector,
            stages,
            range,
            backward,
            limit,
            range_minutes,
        })
}

fn case_spec() -> impl Strategy<Value = CaseSpec> {
    (
        2usize..=4,
        prop::collection::vec(entry_spec(), 1..300),
        prop::collection::vec(0u16..1000, 0..3),
        any::<bool>(),
        prop::collection::vec(query_spec(), 4),
    )
        .prop_map(|(streams, entries, splits, commit_each, queries)| CaseSpec {
            streams,
            entries,
            splits,
            commit_each,
            queries,
        })
}

/// Builds a line from its spec.
fn render_line(spec: &LineSpec, words: &[String]) -> String {
    match spec {
        LineSpec::Words(parts) => {
            let mut line = String::new();
            for (i, (word, sep)) in parts.iter().enumerate() {
                if i > 0 {
                    line.push_str(SEPARATORS[sep.index(SEPARATORS.len())]);
                }
                line.push_str(word.get::<String>(words));
            }
            line
        }
        LineSpec::Logfmt(a, b, n) => format!(
            "level={} msg=\"{} {}\" status={} user={}",
            ["error", "info", "WARN"][usize::from(*n % 3)],
            a.get(words).replace(['"', '\\'], "'"),
            b.get(words).replace(['"', '\\'], "'"),
            200 + n % 400,
            b.get(words).replace(['"', '\\', ' ', '='], "_"),
        ),
        LineSpec::Json(a, b, n) => format!(
            r#"{{"level":"{}","msg":"{} {}","status":{},"nested":{{"id":"{}"}}}}"#,
            ["error", "info", "WARN"][usize::from(*n % 3)],
            a.get(words).replace(['"', '\\'], "'"),
            b.get(words).replace(['"', '\\'], "'"),
            200 + n % 400,
            b.get(words).replace(['"', '\\'], "'"),
        ),
        LineSpec::Empty => String::new(),
    }
}

/// The needle a spec names: a word, or a substring (by characters) of one of the lines.
fn render_needle(spec: &NeedleSpec, case: Case, words: &[String], lines: &[String]) -> String {
    let text = match spec {
        NeedleSpec::Word(i) => i.get(words).clone(),
        NeedleSpec::Spaced(i) => format!(" {} ", i.get(words)),
        NeedleSpec::Sub { line, start, len } => {
            let chars: Vec<char> = line.get(lines).chars().collect();
            if chars.is_empty() {
                String::new()
            } else {
                let from = start.index(chars.len());
                chars[from..(from + len).min(chars.len())].iter().collect()
            }
        }
    };
    match case {
        Case::Keep => text,
        Case::Upper => text.to_uppercase(),
        Case::Lower => text.to_lowercase(),
    }
}

/// A LogQL string literal of `s`: raw backticks when possible, else a Go-quoted string.
fn quote(s: &str) -> String {
    if !s.contains('`') {
        return format!("`{s}`");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The regex of a filter: forms with literal parts around the needles.
fn regex_form(form: u8, needles: &[String; 3]) -> String {
    let [a, b, c] = needles.each_ref().map(|n| regex::escape(n));
    match form {
        0 => a,
        1 => format!("{a}.*{b}"),
        2 => format!("({a}|{b}) {c}"),
        3 => format!("(?i){a}"),
        4 => format!("{a}[0-9]+"),
        _ => format!(r"\b{a}(\s+{b})+"),
    }
}

/// The LogQL text of a query's log part.
fn render_query(spec: &QuerySpec, words: &[String], lines: &[String]) -> String {
    let mut q = SELECTORS[spec.selector.index(SELECTORS.len())].to_string();
    for stage in &spec.stages {
        match stage {
            StageSpec::Filter { op, form, needles } => {
                let texts = needles.each_ref().map(|(n, c)| render_needle(n, *c, words, lines));
                let (symbol, value) = match op {
                    0 => ("|=", texts[0].clone()),
                    1 => ("!=", texts[0].clone()),
                    2 => ("|~", regex_form(*form, &texts)),
                    _ => ("!~", regex_form(*form, &texts)),
                };
                q.push_str(&format!(" {symbol} {}", quote(&value)));
            }
            StageSpec::Or(a, b) => {
                let a = render_needle(a, Case::Keep, words, lines);
                let b = render_needle(b, Case::Keep, words, lines);
                q.push_str(&format!(" |= {} or {}", quote(&a), quote(&b)));
            }
            StageSpec::Parser(true) => q.push_str(" | logfmt"),
            StageSpec::Parser(false) => q.push_str(" | json"),
            StageSpec::LineFormat => q.push_str(r#" | line_format "{{ __line__ }} !""#),
        }
    }
    q
}

/// The streams' label sets.
fn stream_labels(n: usize) -> Vec<Arc<Labels>> {
    STREAMS[..n]
        .iter()
        .map(|pairs| Arc::new(Labels::new(pairs.iter().copied()).expect("valid labels")))
        .collect()
}

/// Writes the case's lines to a store in `dir` and, in the store's insertion order, to a memory
/// source. Returns both and the lines (by entry index).
fn load(case: &CaseSpec, dir: &std::path::Path) -> (LogStore, MemorySource, Vec<String>) {
    let words = vocabulary();
    let labels = stream_labels(case.streams);
    let lines: Vec<String> = case.entries.iter().map(|e| render_line(&e.line, &words)).collect();
    let store = LogStore::open(
        dir,
        StoreOptions {
            window_ns: HOUR,
            ..Default::default()
        },
    )
    .expect("store opens");
    let mut memory = MemorySource::new();
    let n = case.entries.len();
    let mut cuts: Vec<usize> = case.splits.iter().map(|s| usize::from(*s) * n / 1000).collect();
    cuts.push(0);
    cuts.push(n);
    cuts.sort_unstable();
    cuts.dedup();
    for chunk in cuts.windows(2) {
        // One append of every stream's entries of the chunk: the store indexes stream by stream.
        let mut streams = Vec::new();
        for (s, stream) in labels.iter().enumerate() {
            let mut entries = Vec::new();
            for (i, e) in case.entries.iter().enumerate().take(chunk[1]).skip(chunk[0]) {
                if e.stream.index(labels.len()) != s {
                    continue;
                }
                let ts = T0 + e.minute * MIN + e.jitter;
                let metadata = if e.metadata {
                    vec![("trace_id".to_string(), format!("t{}", i % 7))]
                } else {
                    Vec::new()
                };
                memory.push(stream, ts, &lines[i], metadata.clone());
                entries.push(PushEntry {
                    ts_ns: ts,
                    line: lines[i].clone(),
                    metadata,
                });
            }
            if !entries.is_empty() {
                streams.push(PushStream {
                    labels: (**stream).clone(),
                    entries,
                });
            }
        }
        store.append(&streams).expect("append");
        if case.commit_each {
            store.commit().expect("commit");
        }
    }
    store.commit().expect("commit");
    (store, memory, lines)
}

/// Runs `query` on both sources; the results (or errors) as text when they differ.
fn compare(store: &LogStore, memory: &MemorySource, query: &str, params: &QueryParams) -> Result<(), TestCaseError> {
    let expr = query::logql::parse(query).map_err(|e| TestCaseError::fail(format!("{query}: {e}")))?;
    let indexed = Engine::new(store, EngineOptions::default()).query_range(&expr, params);
    let scanned = Engine::new(memory, EngineOptions::default()).query_range(&expr, params);
    match (&indexed, &scanned) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Err(a), Err(b)) if a.to_string() == b.to_string() => Ok(()),
        _ => Err(TestCaseError::fail(format!(
            "query {query} with {params:?}\nindexed: {}\nscanned: {}",
            describe(&indexed),
            describe(&scanned)
        ))),
    }
}

fn describe(value: &Result<QueryValue, query::Error>) -> String {
    match value {
        Ok(QueryValue::Streams(entries)) => {
            let mut out = format!("{} entries", entries.len());
            for e in entries {
                out.push_str(&format!("\n  {} {:?} {:?}", e.ts_ns - T0, e.labels.to_string(), e.line));
            }
            out
        }
        other => format!("{other:?}"),
    }
}

fn check_case(case: &CaseSpec) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (store, memory, lines) = load(case, dir.path());
    let words = vocabulary();
    for spec in &case.queries {
        let log_query = render_query(spec, &words, &lines);
        let (start_ns, end_ns) = match spec.range {
            Some((from, len)) => (T0 + from * MIN + 7 * SEC, T0 + (from + len) * MIN),
            None => (T0 - HOUR, T0 + 5 * HOUR),
        };
        let params = QueryParams {
            start_ns,
            end_ns,
            step_ns: 0,
            interval_ns: 0,
            limit: spec.limit,
            direction: if spec.backward {
                Direction::Backward
            } else {
                Direction::Forward
            },
        };
        compare(&store, &memory, &log_query, &params)?;
        let range = spec.range_minutes;
        let metric_params = QueryParams {
            step_ns: 7 * MIN,
            ..params
        };
        compare(
            &store,
            &memory,
            &format!("count_over_time({log_query} [{range}m])"),
            &metric_params,
        )?;
        compare(
            &store,
            &memory,
            &format!("sum by (env) (count_over_time({log_query} [{range}m]))"),
            &metric_params,
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

    /// The indexed store and a brute-force scan give the same results.
    #[test]
    fn indexed_results_equal_a_scan(case in case_spec()) {
        check_case(&case)?;
    }
}

/// A count over a single-word filter keeps structured metadata in its series' labels.
#[test]
fn count_keeps_structured_metadata_labels() {
    let dir = tempfile::tempdir().expect("dir");
    let store = LogStore::open(dir.path(), StoreOptions::default()).expect("open");
    let labels = Arc::new(Labels::new([("app", "api")]).expect("labels"));
    let mut memory = MemorySource::new();
    let md = vec![("trace_id".to_string(), "t1".to_string())];
    memory.push(&labels, T0, "ErrorCode", md.clone());
    store
        .append(&[PushStream {
            labels: (*labels).clone(),
            entries: vec![PushEntry {
                ts_ns: T0,
                line: "ErrorCode".into(),
                metadata: md,
            }],
        }])
        .expect("append");
    store.commit().expect("commit");
    let params = QueryParams {
        start_ns: T0,
        end_ns: T0 + MIN,
        step_ns: MIN,
        interval_ns: 0,
        limit: 100,
        direction: Direction::Forward,
    };
    if let Err(e) = compare(
        &store,
        &memory,
        "count_over_time({app=\"api\"} |= `orCo` [5m])",
        &params,
    ) {
        panic!("{e}");
    }
}
