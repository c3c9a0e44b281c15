//! Parsers for one whole line: a sample line or a `#` line.
//!
//! Both take the line without its line feed (and without a trailing carriage return) and return either
//! the parsed value or a [`LineError`] whose `at` is a suffix of the line.

use std::borrow::Cow;
use std::collections::HashSet;

use super::lexer::{
    LineError, PResult, fail, float_value, int_timestamp, is_metric_name_char, label_name, metric_name, quoted,
    seconds_timestamp_ms, skip_space, snippet, unescape_help, word,
};
use super::{Entry, Exemplar, Format, Label, MetricType, ParsedSample};

/// What a `#` line turned out to be.
#[derive(Debug, PartialEq)]
pub(crate) enum CommentLine<'a> {
    /// HELP, TYPE, UNIT or another comment.
    Entry(Entry<'a>),
    /// The OpenMetrics `# EOF` terminator.
    Eof,
}

/// The most characters (names plus values) an OpenMetrics exemplar's labels may have.
const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

/// Label sets at least this large check duplicate names with a hash set instead of a linear scan.
const LINEAR_DUPLICATE_CHECK: usize = 16;

/// Turns a nom result over a whole line into a plain result.
fn finish<'a, O>(line: &'a str, result: PResult<'a, O>) -> Result<O, LineError<'a>> {
    match result {
        Ok((_, out)) => Ok(out),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(LineError {
            at: &line[line.len()..],
            reason: "unexpected end of line".into(),
        }),
    }
}

/// Parses a sample line (leading blanks allowed).
pub(crate) fn sample_line(line: &str, format: Format) -> Result<ParsedSample<'_>, LineError<'_>> {
    finish(line, sample(line, format))
}

/// Parses a line whose first non-blank character is `#`.
pub(crate) fn comment_line(line: &str, format: Format) -> Result<CommentLine<'_>, LineError<'_>> {
    finish(line, comment(line, format))
}

/// Where a label set may carry the quoted metric name.
#[derive(Clone, Copy, PartialEq)]
enum NameSlot {
    /// No name yet: a bare quoted string in the set is the metric name.
    Open,
    /// The name came before the braces.
    Taken,
    /// Exemplar labels: no metric name at all.
    Forbidden,
}

/// A metric name: bare or quoted. A recoverable error when neither starts here.
fn any_metric_name(i: &str, strict: bool) -> PResult<'_, Cow<'_, str>> {
    match metric_name(i) {
        Ok((rest, name)) => Ok((rest, Cow::Borrowed(name))),
        Err(nom::Err::Error(_)) => {
            let (rest, name) = quoted(i, strict, "metric name")?;
            if name.is_empty() {
                return fail(i, "metric name must not be empty");
            }
            Ok((rest, name))
        }
        Err(e) => Err(e),
    }
}

/// After a bare name, only blanks, `{` (when allowed) or the end of the line may follow.
fn check_name_end(i: &str, allow_brace: bool) -> PResult<'_, ()> {
    match i.chars().next() {
        None | Some(' ' | '\t') => Ok((i, ())),
        Some('{') if allow_brace => Ok((i, ())),
        Some(c) => fail(
            i,
            format!(
                "invalid character {} in metric name",
                snippet(c.encode_utf8(&mut [0; 4]))
            ),
        ),
    }
}

fn sample(line: &str, format: Format) -> PResult<'_, ParsedSample<'_>> {
    let strict = format == Format::OpenMetrics;
    let (i, _) = skip_space(line);
    let (i, mut name) = if i.starts_with('{') {
        (i, None)
    } else if i.starts_with('"') {
        return fail(i, "quoted metric name must be inside braces");
    } else {
        match metric_name(i) {
            Ok((rest, name)) => {
                check_name_end(rest, true)?;
                (rest, Some(Cow::Borrowed(name)))
            }
            Err(_) => return fail(i, "expected metric name"),
        }
    };
    let (mut i, mut blank) = skip_space(i);
    let mut labels = Vec::new();
    if i.starts_with('{') {
        let brace = i;
        let slot = if name.is_some() {
            NameSlot::Taken
        } else {
            NameSlot::Open
        };
        let (rest, (quoted_name, set)) = label_set(i, strict, slot)?;
        if quoted_name.is_some() {
            name = quoted_name;
        }
        if name.is_none() {
            return fail(brace, "missing metric name");
        }
        labels = set;
        (i, blank) = skip_space(rest);
        if !blank && !i.is_empty() {
            return fail(i, "expected space after label set");
        }
    }
    let Some(name) = name else {
        return fail(i, "expected metric name");
    };
    if !blank && !i.is_empty() {
        return fail(i, "expected space before value");
    }
    let (i, tail) = sample_tail(i, format)?;
    Ok((
        i,
        ParsedSample {
            name,
            labels,
            value: tail.value,
            timestamp_ms: tail.timestamp_ms,
            exemplar: tail.exemplar,
        },
    ))
}

/// What follows a sample's series: value, optional timestamp, optional exemplar.
pub(crate) struct SampleTail<'a> {
    pub(crate) value: f64,
    pub(crate) timestamp_ms: Option<i64>,
    pub(crate) exemplar: Option<Exemplar<'a>>,
}

/// Parses the rest of a sample line after the blank that follows its series.
fn sample_tail(i: &str, format: Format) -> PResult<'_, SampleTail<'_>> {
    let strict = format == Format::OpenMetrics;
    let (i, value) = value(i, "value")?;
    let (i, _) = skip_space(i);
    let mut tail = SampleTail {
        value,
        timestamp_ms: None,
        exemplar: None,
    };
    if i.is_empty() {
        return Ok((i, tail));
    }
    let i = if i.starts_with('#') {
        i
    } else {
        let (rest, ts) = timestamp(i, format, "timestamp")?;
        tail.timestamp_ms = Some(ts);
        let (rest, _) = skip_space(rest);
        if rest.is_empty() {
            return Ok((rest, tail));
        }
        if !rest.starts_with('#') {
            return fail(rest, "unexpected content after timestamp");
        }
        rest
    };
    if !strict {
        return fail(i, "exemplars are only allowed in openmetrics");
    }
    let (i, exemplar) = exemplar(i)?;
    tail.exemplar = Some(exemplar);
    Ok((i, tail))
}

/// Splits a sample line into its series text (from the first non-blank character to the end of the
/// metric name or of the label set) and the tail after the following blanks, without validating the
/// series. `None` when the line has no such shape (the full parser then reports the error).
pub(crate) fn split_series(line: &str) -> Option<(&str, &str)> {
    let (start, _) = skip_space(line);
    let bytes = start.as_bytes();
    // The name is not validated here, so it simply runs to the first blank or `{`.
    let mut end = memchr::memchr3(b' ', b'\t', b'{', bytes).unwrap_or(bytes.len());
    let after_name = &start[end..];
    let (after_space, _) = skip_space(after_name);
    if after_space.starts_with('{') {
        end = start.len() - after_space.len();
        // The label set ends at the first `}` outside a quoted value. Usually that is the first
        // `}` of all: when no escape comes before it and the quotes before it pair up.
        let body = &start.as_bytes()[end..];
        let first = memchr::memchr(b'}', body)?;
        let before = &body[..first];
        // Only the parity of the count matters, which a wrapping byte sum keeps (and vectorises).
        let quotes = before.iter().fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'"')));
        let close = if memchr::memchr(b'\\', before).is_none() && quotes % 2 == 0 {
            first
        } else {
            label_set_end(body)?
        };
        end += close + 1;
    } else if end == 0 {
        return None;
    }
    let series = &start[..end];
    let (tail, blank) = skip_space(&start[end..]);
    (blank && !tail.is_empty()).then_some((series, tail))
}

/// The offset of the `}` closing the label set `body` starts with, skipping quoted values.
fn label_set_end(body: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (offset, &b) in body.iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
        } else if b == b'"' {
            in_quotes = true;
        } else if b == b'}' {
            return Some(offset);
        }
    }
    None
}

/// Parses the tail of a sample line (see [`split_series`]).
pub(crate) fn tail_of_line<'a>(line: &'a str, tail: &'a str, format: Format) -> Result<SampleTail<'a>, LineError<'a>> {
    finish(line, sample_tail(tail, format))
}

/// A value token; `what` is "value" or "exemplar value".
fn value<'a>(i: &'a str, what: &'static str) -> PResult<'a, f64> {
    let (rest, token) = word(i);
    if token.is_empty() {
        return fail(i, format!("expected {what}"));
    }
    match float_value(token) {
        Some(v) => Ok((rest, v)),
        None => fail(i, format!("invalid {what} {}", snippet(token))),
    }
}

/// A timestamp token in the format's unit, returned in milliseconds.
fn timestamp<'a>(i: &'a str, format: Format, what: &'static str) -> PResult<'a, i64> {
    let (rest, token) = word(i);
    let ms = match format {
        Format::PrometheusText => int_timestamp(token),
        Format::OpenMetrics => seconds_timestamp_ms(token),
    };
    match ms {
        Some(ms) => Ok((rest, ms)),
        None => fail(i, format!("invalid {what} {}", snippet(token))),
    }
}

/// `# {labels} value [timestamp]` up to the end of the line; `i` starts at `#`.
fn exemplar(i: &str) -> PResult<'_, Exemplar<'_>> {
    let (i, _) = skip_space(&i[1..]);
    if !i.starts_with('{') {
        return fail(i, "expected \"{\" to start exemplar labels");
    }
    let brace = i;
    let (i, (_, labels)) = label_set(i, true, NameSlot::Forbidden)?;
    let chars: usize = labels.iter().map(|(n, v)| n.chars().count() + v.chars().count()).sum();
    if chars > MAX_EXEMPLAR_LABEL_CHARS {
        return fail(
            brace,
            format!("exemplar labels have {chars} characters, more than {MAX_EXEMPLAR_LABEL_CHARS}"),
        );
    }
    let (i, blank) = skip_space(i);
    if !blank && !i.is_empty() {
        return fail(i, "expected space after exemplar labels");
    }
    let (i, value) = value(i, "exemplar value")?;
    let (i, _) = skip_space(i);
    let mut exemplar = Exemplar {
        labels,
        value,
        timestamp_ms: None,
    };
    if i.is_empty() {
        return Ok((i, exemplar));
    }
    let (i, ts) = timestamp(i, Format::OpenMetrics, "exemplar timestamp")?;
    exemplar.timestamp_ms = Some(ts);
    let (i, _) = skip_space(i);
    if !i.is_empty() {
        return fail(i, "unexpected content after exemplar");
    }
    Ok((i, exemplar))
}

/// `{ item, item, ... }` where an item is `name="value"` or (if `slot` is open) a quoted metric name.
/// `i` starts at `{`. Returns the quoted metric name if there was one, and the labels in input order.
fn label_set(i: &str, strict: bool, slot: NameSlot) -> PResult<'_, (Option<Cow<'_, str>>, Vec<Label<'_>>)> {
    let mut i = &i[1..];
    let mut name: Option<Cow<'_, str>> = None;
    let mut labels: Vec<Label<'_>> = Vec::new();
    let mut seen: Option<HashSet<Cow<'_, str>>> = None;
    loop {
        (i, _) = skip_space(i);
        if let Some(rest) = i.strip_prefix('}') {
            return Ok((rest, (name, labels)));
        }
        let item = i;
        let label = match quoted(i, strict, "label name") {
            Ok((rest, text)) => {
                (i, _) = skip_space(rest);
                if i.starts_with('=') || slot == NameSlot::Forbidden {
                    if text.is_empty() {
                        return fail(item, "label name must not be empty");
                    }
                    Some(text)
                } else if slot == NameSlot::Taken || name.is_some() {
                    return fail(item, "metric name given twice");
                } else if text.is_empty() {
                    return fail(item, "metric name must not be empty");
                } else {
                    // A quoted string without `=` is the metric name (Prometheus 3 UTF-8 form).
                    name = Some(text);
                    None
                }
            }
            Err(nom::Err::Error(_)) => match label_name(i) {
                Ok((rest, text)) => {
                    (i, _) = skip_space(rest);
                    Some(Cow::Borrowed(text))
                }
                Err(_) => return fail(i, "expected label name"),
            },
            Err(e) => return Err(e),
        };
        if let Some(label) = label {
            let Some(rest) = i.strip_prefix('=') else {
                return fail(i, "expected \"=\" after label name");
            };
            let (rest, _) = skip_space(rest);
            let (rest, value) = match quoted(rest, strict, "label value") {
                Err(nom::Err::Error(_)) => return fail(rest, "expected quoted label value"),
                other => other?,
            };
            check_duplicate(&labels, &mut seen, &label, item)?;
            labels.push((label, value));
            (i, _) = skip_space(rest);
        }
        if let Some(rest) = i.strip_prefix(',') {
            i = rest;
        } else if !i.starts_with('}') {
            return fail(i, "expected \",\" or \"}\" after label");
        }
    }
}

/// Fails at `item` when `label` already occurs in `labels`.
fn check_duplicate<'a>(
    labels: &[Label<'a>],
    seen: &mut Option<HashSet<Cow<'a, str>>>,
    label: &Cow<'a, str>,
    item: &'a str,
) -> PResult<'a, ()> {
    let duplicate = if labels.len() < LINEAR_DUPLICATE_CHECK {
        labels.iter().any(|(n, _)| n == label)
    } else {
        let set = seen.get_or_insert_with(|| labels.iter().map(|(n, _)| n.clone()).collect());
        !set.insert(label.clone())
    };
    if duplicate {
        return fail(item, format!("duplicate label name {}", snippet(label)));
    }
    Ok((item, ()))
}

fn comment(line: &str, format: Format) -> PResult<'_, CommentLine<'_>> {
    let strict = format == Format::OpenMetrics;
    let (i, _) = skip_space(line);
    let Some(i) = i.strip_prefix('#') else {
        return fail(i, "expected \"#\"");
    };
    let (i, blank) = skip_space(i);
    if !blank {
        return Ok((i, CommentLine::Entry(Entry::Comment)));
    }
    let (after_keyword, keyword) = word(i);
    match (keyword, format) {
        ("HELP", _) => {
            let (i, metric) = comment_metric(after_keyword, strict, keyword)?;
            let (text, _) = skip_space(i);
            let text = unescape_help(text, strict).map_err(nom::Err::Failure)?;
            Ok(("", CommentLine::Entry(Entry::Help { metric, text })))
        }
        ("TYPE", _) => {
            let (i, metric) = comment_metric(after_keyword, strict, keyword)?;
            let (i, _) = skip_space(i);
            let (rest, token) = word(i);
            if token.is_empty() {
                return fail(i, "expected metric type");
            }
            let Some(kind) = metric_type(token, format) else {
                return fail(i, format!("invalid metric type {}", snippet(token)));
            };
            let (rest, _) = skip_space(rest);
            if !rest.is_empty() {
                return fail(rest, "unexpected content after metric type");
            }
            Ok((rest, CommentLine::Entry(Entry::Type { metric, kind })))
        }
        ("UNIT", Format::OpenMetrics) => {
            let (i, metric) = comment_metric(after_keyword, strict, keyword)?;
            let (i, _) = skip_space(i);
            let (rest, unit) = word(i);
            if let Some((pos, c)) = unit.char_indices().find(|&(_, c)| !is_metric_name_char(c)) {
                return fail(
                    &i[pos..],
                    format!("invalid character {} in unit", snippet(c.encode_utf8(&mut [0; 4]))),
                );
            }
            let (rest, _) = skip_space(rest);
            if !rest.is_empty() {
                return fail(rest, "unexpected content after unit");
            }
            let unit = Cow::Borrowed(unit);
            Ok((rest, CommentLine::Entry(Entry::Unit { metric, unit })))
        }
        ("EOF", Format::OpenMetrics) => {
            let (rest, _) = skip_space(after_keyword);
            if !rest.is_empty() {
                return fail(rest, "unexpected content after \"# EOF\"");
            }
            Ok((rest, CommentLine::Eof))
        }
        _ => Ok(("", CommentLine::Entry(Entry::Comment))),
    }
}

/// The metric name after `# HELP`, `# TYPE` or `# UNIT`, with the blank before it.
fn comment_metric<'a>(i: &'a str, strict: bool, keyword: &str) -> PResult<'a, Cow<'a, str>> {
    let (i, _) = skip_space(i);
    let (rest, metric) = match any_metric_name(i, strict) {
        Err(nom::Err::Error(_)) => return fail(i, format!("expected metric name after \"# {keyword}\"")),
        other => other?,
    };
    check_name_end(rest, false)?;
    Ok((rest, metric))
}

/// The `# TYPE` keyword for `format` (matched case-insensitively).
fn metric_type(token: &str, format: Format) -> Option<MetricType> {
    const COMMON: [(&str, MetricType); 4] = [
        ("counter", MetricType::Counter),
        ("gauge", MetricType::Gauge),
        ("histogram", MetricType::Histogram),
        ("summary", MetricType::Summary),
    ];
    const TEXT: [(&str, MetricType); 1] = [("untyped", MetricType::Unknown)];
    const OPEN_METRICS: [(&str, MetricType); 4] = [
        ("gaugehistogram", MetricType::GaugeHistogram),
        ("info", MetricType::Info),
        ("stateset", MetricType::StateSet),
        ("unknown", MetricType::Unknown),
    ];
    let extra: &[(&str, MetricType)] = match format {
        Format::PrometheusText => &TEXT,
        Format::OpenMetrics => &OPEN_METRICS,
    };
    COMMON
        .iter()
        .chain(extra)
        .find(|(keyword, _)| keyword.eq_ignore_ascii_case(token))
        .map(|&(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_text_ends_at_the_label_sets_brace() {
        assert_eq!(split_series("a{b=\"c\"} 1"), Some(("a{b=\"c\"}", "1")));
        assert_eq!(split_series("  a 1 2"), Some(("a", "1 2")));
        assert_eq!(split_series("a{b=\"}\",c=\"d\"} 1"), Some(("a{b=\"}\",c=\"d\"}", "1")));
        assert_eq!(split_series("a{b=\"\\\"}\"} 1"), Some(("a{b=\"\\\"}\"}", "1")));
        assert_eq!(split_series("a{b=\"\\\\\"} 1"), Some(("a{b=\"\\\\\"}", "1")));
        assert_eq!(split_series("a{b=\"} 1"), None);
        assert_eq!(split_series("a{b=\"c\"}1"), None);
        assert_eq!(split_series("{\"a\"} 1"), Some(("{\"a\"}", "1")));
    }

    proptest::proptest! {
        #[test]
        fn the_quick_path_finds_the_same_brace(rest in "[a-z\"\\\\},= ]{0,24}") {
            let body = format!("{{{rest}");
            let line = format!("m{body} 1");
            let expected = label_set_end(body.as_bytes()).map(|close| &line[..close + 2]);
            let found = split_series(&line).map(|(series, _)| series);
            if let Some(found) = found {
                proptest::prop_assert_eq!(Some(found), expected);
            } else if let Some(expected) = expected {
                // Only a missing blank or value after the label set makes the split fail.
                proptest::prop_assert!(!line[expected.len()..].starts_with(' ') || line[expected.len()..].trim().is_empty());
            }
        }
    }
}
