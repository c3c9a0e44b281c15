//! Property tests: random samples rendered to text parse back equal, and random input never panics.

use std::borrow::Cow;
use std::fmt::Write as _;

use proptest::prelude::*;

use super::{Entry, Exemplar, Format, Label, ParsedSample, Parser, parse_all};
use crate::error::Error;

/// A name that may need quoting; `bare` names match the unquoted grammar.
#[derive(Debug, Clone)]
struct Name {
    text: String,
    bare: bool,
}

fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

fn name(bare_pattern: &'static str) -> impl Strategy<Value = Name> {
    prop_oneof![
        3 => bare_pattern.prop_map(|text| Name { text, bare: true }),
        1 => prop::collection::vec(any::<char>(), 1..8).prop_map(|c| Name { text: String::from_iter(c), bare: false }),
    ]
}

fn labels(max: usize, value_len: usize) -> impl Strategy<Value = Vec<(Name, String)>> {
    prop::collection::vec((name("[a-zA-Z_][a-zA-Z0-9_]{0,8}"), any_text(value_len)), 0..max).prop_map(|mut v| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|(n, _)| seen.insert(n.text.clone()));
        v
    })
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
    ]
}

/// Timestamps in ms that both formats can carry exactly.
fn timestamp() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(-1_000_000_000_000_000i64..1_000_000_000_000_000)
}

/// Exemplar labels, value and timestamp.
type RandomExemplar = (Vec<(Name, String)>, f64, Option<i64>);

#[derive(Debug, Clone)]
struct RandomSample {
    name: Name,
    labels: Vec<(Name, String)>,
    value: f64,
    timestamp_ms: Option<i64>,
    exemplar: Option<RandomExemplar>,
    /// Separator between tokens.
    blank: &'static str,
}

fn random_sample(format: Format) -> impl Strategy<Value = RandomSample> {
    let exemplar = match format {
        Format::OpenMetrics => prop::option::of((labels(3, 10), value(), timestamp())).boxed(),
        Format::PrometheusText => Just(None).boxed(),
    };
    (
        name("[a-zA-Z_:][a-zA-Z0-9_:]{0,10}"),
        labels(6, 12),
        value(),
        timestamp(),
        exemplar,
        prop::sample::select(vec![" ", "  ", "\t", " \t "]),
    )
        .prop_map(|(name, labels, value, timestamp_ms, exemplar, blank)| RandomSample {
            name,
            labels,
            value,
            timestamp_ms,
            exemplar,
            blank,
        })
}

fn write_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_labels(out: &mut String, quoted_name: Option<&str>, labels: &[(Name, String)]) {
    out.push('{');
    if let Some(name) = quoted_name {
        write_quoted(out, name);
        out.push(',');
    }
    for (n, v) in labels {
        if n.bare {
            out.push_str(&n.text);
        } else {
            write_quoted(out, &n.text);
        }
        out.push('=');
        write_quoted(out, v);
        out.push(',');
    }
    out.push('}');
}

fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v:?}");
    }
}

fn write_timestamp(out: &mut String, ms: i64, format: Format) {
    match format {
        Format::PrometheusText => {
            let _ = write!(out, "{ms}");
        }
        Format::OpenMetrics => {
            let sign = if ms < 0 { "-" } else { "" };
            let abs = ms.unsigned_abs();
            let _ = write!(out, "{sign}{}.{:03}", abs / 1000, abs % 1000);
        }
    }
}

fn render(s: &RandomSample, format: Format) -> String {
    let mut out = String::new();
    if s.name.bare {
        out.push_str(&s.name.text);
        if !s.labels.is_empty() {
            write_labels(&mut out, None, &s.labels);
        }
    } else {
        write_labels(&mut out, Some(&s.name.text), &s.labels);
    }
    out.push_str(s.blank);
    write_value(&mut out, s.value);
    if let Some(ms) = s.timestamp_ms {
        out.push_str(s.blank);
        write_timestamp(&mut out, ms, format);
    }
    if let Some((labels, value, ts)) = &s.exemplar {
        out.push_str(" # ");
        write_labels(&mut out, None, labels);
        out.push(' ');
        write_value(&mut out, *value);
        if let Some(ms) = ts {
            out.push(' ');
            write_timestamp(&mut out, *ms, format);
        }
    }
    out.push('\n');
    out
}

fn expected_labels(labels: &[(Name, String)]) -> Vec<Label<'static>> {
    labels
        .iter()
        .map(|(n, v)| (Cow::Owned(n.text.clone()), Cow::Owned(v.clone())))
        .collect()
}

fn expected(s: &RandomSample) -> ParsedSample<'static> {
    ParsedSample {
        name: Cow::Owned(s.name.text.clone()),
        labels: expected_labels(&s.labels),
        value: s.value,
        timestamp_ms: s.timestamp_ms,
        exemplar: s.exemplar.as_ref().map(|(labels, value, ts)| Exemplar {
            labels: expected_labels(labels),
            value: *value,
            timestamp_ms: *ts,
        }),
    }
}

fn same_value(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
}

fn same_sample(a: &ParsedSample<'_>, b: &ParsedSample<'_>) -> bool {
    let exemplars = match (&a.exemplar, &b.exemplar) {
        (None, None) => true,
        (Some(x), Some(y)) => x.labels == y.labels && same_value(x.value, y.value) && x.timestamp_ms == y.timestamp_ms,
        _ => false,
    };
    a.name == b.name
        && a.labels == b.labels
        && same_value(a.value, b.value)
        && a.timestamp_ms == b.timestamp_ms
        && exemplars
}

fn round_trip(samples: &[RandomSample], format: Format) -> Result<(), TestCaseError> {
    let mut text = String::new();
    for s in samples {
        text.push_str(&render(s, format));
    }
    if format == Format::OpenMetrics {
        text.push_str("# EOF\n");
    }
    let parsed = parse_all(&text, format).map_err(|e| TestCaseError::fail(format!("{e} in {text:?}")))?;
    prop_assert_eq!(parsed.len(), samples.len());
    for (entry, s) in parsed.iter().zip(samples) {
        let want = expected(s);
        match entry {
            Entry::Sample(got) => prop_assert!(same_sample(got, &want), "got {got:?}\nwant {want:?}\nin {text:?}"),
            other => prop_assert!(false, "not a sample: {other:?}"),
        }
    }
    Ok(())
}

/// Fragments that reach deep into the grammar when glued together at random.
const FRAGMENTS: &[&str] = &[
    "m",
    "_x:y",
    "{",
    "}",
    "\"",
    "\\",
    "\\n",
    "\\\"",
    "=",
    ",",
    " ",
    "\t",
    "#",
    "\n",
    "\r",
    "# HELP ",
    "# TYPE ",
    "# UNIT ",
    "# EOF",
    "counter",
    "1",
    "-1.5e3",
    "NaN",
    "+Inf",
    ".",
    "1700000000.123",
    "a=\"v\"",
    "é",
    "日",
];

fn fuzzy_input() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(200),
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.concat()),
    ]
}

/// Everything `Parser::next_raw` (plus `parse_sample` for each sample line) yields, as the plain
/// iterator would: the raw path must agree with the full parser on valid lines.
fn via_raw(input: &str, format: Format) -> Vec<Result<Entry<'_>, Error>> {
    let mut parser = Parser::new(input, format);
    let mut out = Vec::new();
    while let Some(item) = parser.next_raw() {
        out.push(match item {
            Ok(super::RawEntry::Sample {
                line,
                value,
                timestamp_ms,
                ..
            }) => parser.parse_sample(line).map(|mut s| {
                assert_eq!(s.value.to_bits(), value.to_bits());
                assert_eq!(s.timestamp_ms, timestamp_ms);
                s.exemplar = None;
                Entry::Sample(s)
            }),
            Ok(super::RawEntry::Entry(entry)) => Ok(entry),
            Err(e) => Err(e),
        });
    }
    out
}

fn without_exemplars(results: Vec<Result<Entry<'_>, Error>>) -> Vec<Result<Entry<'_>, Error>> {
    results
        .into_iter()
        .map(|r| {
            r.map(|e| match e {
                Entry::Sample(mut s) => {
                    s.exemplar = None;
                    Entry::Sample(s)
                }
                other => other,
            })
        })
        .collect()
}

#[test]
fn raw_entries_agree_with_full_parsing() {
    let inputs = [
        (
            Format::PrometheusText,
            "a 1\nb{x=\"}\"} 2 1700000000000\n  c {y=\"a\\\"b}\",z=\"\"} -Inf\n{\"d.e\",f=\"g\"} 3\n",
        ),
        (Format::PrometheusText, "a 1\nb{x=\"1\"} oops\n"),
        (Format::PrometheusText, "a{x=\"1\"}2\n"),
        (Format::PrometheusText, "a{x=\"1\"\n"),
        (Format::PrometheusText, "# HELP a h\n# TYPE a counter\na_total 1\n\n"),
        (
            Format::OpenMetrics,
            "# TYPE a counter\na_total 1 1.5 # {t=\"x\"} 1 2\nb 2\n# EOF\n",
        ),
        (Format::OpenMetrics, "a 1 # {t=\"x\"}\n# EOF\n"),
        (Format::OpenMetrics, "a 1\n"),
    ];
    for (format, input) in inputs {
        let full = without_exemplars(Parser::new(input, format).collect());
        assert_eq!(via_raw(input, format), full, "{input:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_samples_round_trip(samples in prop::collection::vec(random_sample(Format::PrometheusText), 1..6)) {
        round_trip(&samples, Format::PrometheusText)?;
    }

    #[test]
    fn openmetrics_samples_round_trip(samples in prop::collection::vec(random_sample(Format::OpenMetrics), 1..6)) {
        round_trip(&samples, Format::OpenMetrics)?;
    }

    #[test]
    fn help_round_trips(text in "[a-z][^\r]{0,30}", om in any::<bool>()) {
        let format = if om { Format::OpenMetrics } else { Format::PrometheusText };
        let mut line = String::from("# HELP m ");
        for c in text.chars() {
            match c {
                '\\' => line.push_str("\\\\"),
                '\n' => line.push_str("\\n"),
                c => line.push(c),
            }
        }
        line.push_str(if om { "\n# EOF\n" } else { "\n" });
        let parsed = parse_all(&line, format).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed, vec![Entry::Help { metric: Cow::Borrowed("m"), text: Cow::Owned(text) }]);
    }

    #[test]
    fn raw_path_agrees_on_random_input(input in fuzzy_input()) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let full = without_exemplars(Parser::new(&input, format).collect());
            let raw = via_raw(&input, format);
            // Same entries up to the first error; both fail (possibly with different positions when a
            // line has both a bad series and a bad value) or both succeed.
            let ok_full: Vec<_> = full.iter().take_while(|r| r.is_ok()).collect();
            let ok_raw: Vec<_> = raw.iter().take_while(|r| r.is_ok()).collect();
            prop_assert_eq!(ok_full.len(), ok_raw.len());
            prop_assert_eq!(ok_full, ok_raw);
            prop_assert_eq!(full.last().is_some_and(|r| r.is_err()), raw.last().is_some_and(|r| r.is_err()));
        }
    }

    #[test]
    fn random_input_never_panics(input in fuzzy_input()) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let results: Vec<_> = Parser::new(&input, format).collect();
            let errors = results.iter().filter(|r| r.is_err()).count();
            prop_assert!(errors <= 1);
            if let Some(Err(Error::Parse { line, column, reason })) = results.last() {
                prop_assert!(*line >= 1 && *column >= 1 && !reason.is_empty());
                prop_assert!(*line <= input.split('\n').count() + 1);
            }
        }
    }
}
