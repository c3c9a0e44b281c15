//! Token-level parsers shared by the sample and comment line parsers.
//!
//! Every parser here has the nom signature `fn(&str) -> IResult<&str, O, LineError>` and works on one
//! line (without its line feed). A recoverable [`nom::Err::Error`] means "not this token"; a
//! [`nom::Err::Failure`] carries the final message and the position (the remaining input) it refers to.

use std::borrow::Cow;

use nom::IResult;
use nom::error::{ErrorKind, ParseError};

/// A parse error inside one line: where (`at` is always a suffix of the line) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError<'a> {
    /// The remaining input where the problem starts.
    pub(crate) at: &'a str,
    /// Lowercase message.
    pub(crate) reason: Cow<'static, str>,
}

impl<'a> ParseError<&'a str> for LineError<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        LineError {
            at: input,
            reason: Cow::Borrowed("unexpected input"),
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of the line parsers.
pub(crate) type PResult<'a, O> = IResult<&'a str, O, LineError<'a>>;

/// A non-recoverable error at `at`.
pub(crate) fn fail<'a, O>(at: &'a str, reason: impl Into<Cow<'static, str>>) -> PResult<'a, O> {
    Err(nom::Err::Failure(LineError {
        at,
        reason: reason.into(),
    }))
}

/// A recoverable "not this token" error at `at`.
fn mismatch<O>(at: &str) -> PResult<'_, O> {
    Err(nom::Err::Error(LineError::from_error_kind(at, ErrorKind::Verify)))
}

/// Quotes user text for an error message, cut to a bounded length so messages stay small.
pub(crate) fn snippet(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut out = String::with_capacity(text.len().min(MAX_CHARS * 4) + 2);
    out.push('"');
    for (n, c) in text.chars().enumerate() {
        if n == MAX_CHARS {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Skips spaces and tabs; returns the rest and whether anything was skipped.
pub(crate) fn skip_space(i: &str) -> (&str, bool) {
    let n = i.bytes().take_while(|&b| is_space(b)).count();
    (&i[n..], n > 0)
}

/// Takes a run of non-blank characters (possibly empty).
pub(crate) fn word(i: &str) -> (&str, &str) {
    let n = i.bytes().take_while(|&b| !is_space(b)).count();
    (&i[n..], &i[..n])
}

fn is_metric_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_metric_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn bare_name(i: &str, start: fn(u8) -> bool, rest: fn(u8) -> bool) -> PResult<'_, &str> {
    let bytes = i.as_bytes();
    match bytes.first() {
        Some(&b) if start(b) => {
            let n = 1 + bytes[1..].iter().take_while(|&&b| rest(b)).count();
            Ok((&i[n..], &i[..n]))
        }
        _ => mismatch(i),
    }
}

/// A bare metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn metric_name(i: &str) -> PResult<'_, &str> {
    bare_name(i, is_metric_start, is_metric_char)
}

/// A bare label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn label_name(i: &str) -> PResult<'_, &str> {
    bare_name(i, is_label_start, is_label_char)
}

/// Whether `c` could continue a bare metric name (used to explain errors).
pub(crate) fn is_metric_name_char(c: char) -> bool {
    c.is_ascii() && is_metric_char(c as u8)
}

/// A double-quoted string with the escapes `\\`, `\"` and `\n`.
///
/// Other backslash sequences are an error when `strict` (OpenMetrics) and kept verbatim otherwise
/// (text 0.0.4). `what` names the token in messages ("label value", "metric name", ...). Returns a
/// recoverable error when `i` does not start with `"`.
pub(crate) fn quoted<'a>(i: &'a str, strict: bool, what: &'static str) -> PResult<'a, Cow<'a, str>> {
    let Some(body) = i.strip_prefix('"') else {
        return mismatch(i);
    };
    let bytes = body.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'"' || b == b'\\') else {
        return fail(i, format!("unterminated {what}"));
    };
    if bytes[first] == b'"' {
        return Ok((&body[first + 1..], Cow::Borrowed(&body[..first])));
    }
    let mut out = String::with_capacity(body.len().min(first + 64));
    out.push_str(&body[..first]);
    let mut rest = &body[first..];
    loop {
        let bytes = rest.as_bytes();
        let Some(pos) = bytes.iter().position(|&b| b == b'"' || b == b'\\') else {
            return fail(i, format!("unterminated {what}"));
        };
        out.push_str(&rest[..pos]);
        if bytes[pos] == b'"' {
            return Ok((&rest[pos + 1..], Cow::Owned(out)));
        }
        let escape = &rest[pos..];
        let mut chars = escape[1..].chars();
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('n') => out.push('\n'),
            Some(c) if strict => {
                return fail(
                    escape,
                    format!("invalid escape sequence \"\\{}\" in {what}", c.escape_debug()),
                );
            }
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => return fail(i, format!("unterminated {what}")),
        }
        rest = chars.as_str();
    }
}

/// Unescapes `# HELP` text: `\\` and `\n`, plus `\"` in OpenMetrics. Other sequences are an error
/// when `strict` and kept verbatim otherwise. On error returns the suffix of `text` at the backslash.
pub(crate) fn unescape_help(text: &str, strict: bool) -> Result<Cow<'_, str>, LineError<'_>> {
    let Some(first) = text.find('\\') else {
        return Ok(Cow::Borrowed(text));
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let escape = &rest[pos..];
        let mut chars = escape[1..].chars();
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if strict => out.push('"'),
            Some(c) if strict => {
                return Err(LineError {
                    at: escape,
                    reason: format!("invalid escape sequence \"\\{}\" in help text", c.escape_debug()).into(),
                });
            }
            None if strict => {
                return Err(LineError {
                    at: escape,
                    reason: "unterminated escape sequence in help text".into(),
                });
            }
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => out.push('\\'),
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Parses a sample or exemplar value: decimals, exponents, `NaN`, `+Inf`, `-Inf`, `Inf` (any case).
pub(crate) fn float_value(token: &str) -> Option<f64> {
    // Rust accepts the same spellings as Go's ParseFloat except hex floats and `_` separators, which
    // neither format needs.
    short_decimal(token).or_else(|| token.parse::<f64>().ok())
}

/// Most values in real expositions are counters or short decimals: `[-]digits[.digits]` with at most
/// 15 significant digits. Both the digits (below 2^53) and the power of ten (at most 10^15) are
/// exact doubles, so one IEEE division rounds correctly and the result equals `str::parse`'s, at a
/// fraction of its cost. Anything else returns `None` and takes the general path.
fn short_decimal(token: &str) -> Option<f64> {
    const POWERS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let bytes = token.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut point = None;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                count += 1;
            }
            b'.' if point.is_none() && i > 0 && i + 1 < digits.len() => point = Some(i),
            _ => return None,
        }
    }
    if count > 15 {
        return None;
    }
    let scale = point.map_or(0, |p| digits.len() - p - 1);
    let value = mantissa as f64 / POWERS[scale];
    Some(if negative { -value } else { value })
}

/// Parses a text-0.0.4 timestamp: an integer number of milliseconds.
pub(crate) fn int_timestamp(token: &str) -> Option<i64> {
    token.parse::<i64>().ok()
}

/// Parses an OpenMetrics timestamp (seconds, possibly fractional or with an exponent) into
/// milliseconds, rounded half away from zero. `None` when it is not a finite number in range.
pub(crate) fn seconds_timestamp_ms(token: &str) -> Option<i64> {
    exact_seconds_ms(token).or_else(|| {
        let secs = token.parse::<f64>().ok()?;
        let ms = (secs * 1000.0).round();
        // i64::MAX as f64 rounds up to 2^63, so the upper bound must be exclusive.
        (ms.is_finite() && ms >= i64::MIN as f64 && ms < i64::MAX as f64).then_some(ms as i64)
    })
}

/// The exact path for plain `[+-]digits[.digits]` timestamps, which avoids float rounding errors.
fn exact_seconds_ms(token: &str) -> Option<i64> {
    let (negative, unsigned) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms: i64 = 0;
    for b in int_part.bytes() {
        ms = ms.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    let frac = frac_part.as_bytes();
    for k in 0..3 {
        let digit = frac.get(k).map_or(0, |b| b - b'0');
        ms = ms.checked_mul(10)?.checked_add(i64::from(digit))?;
    }
    if frac.get(3).is_some_and(|&b| b >= b'5') {
        ms = ms.checked_add(1)?;
    }
    Some(if negative { -ms } else { ms })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(metric_name("a:b_1{x"), Ok(("{x", "a:b_1")));
        assert!(metric_name("1a").is_err());
        assert_eq!(label_name("a_1:b"), Ok((":b", "a_1")));
        assert!(label_name(":a").is_err());
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted(r#""abc" x"#, true, "v"), Ok((" x", Cow::Borrowed("abc"))));
        let (rest, v) = quoted(r#""a\\b\"c\nd"}"#, true, "v").unwrap();
        assert_eq!((rest, v.as_ref()), ("}", "a\\b\"c\nd"));
        let (_, v) = quoted(r#""a\tb""#, false, "v").unwrap();
        assert_eq!(v, "a\\tb");
        let err = quoted(r#""a\tb""#, true, "label value").unwrap_err();
        assert_eq!(
            err,
            nom::Err::Failure(LineError {
                at: r#"\tb""#,
                reason: r#"invalid escape sequence "\t" in label value"#.into()
            })
        );
        assert!(matches!(quoted(r#""abc"#, true, "v"), Err(nom::Err::Failure(_))));
        assert!(matches!(quoted(r#""abc\"#, false, "v"), Err(nom::Err::Failure(_))));
        assert!(matches!(quoted("abc", true, "v"), Err(nom::Err::Error(_))));
        let (_, v) = quoted("\"é\\\"ü\"", true, "v").unwrap();
        assert_eq!(v, "é\"ü");
    }

    #[test]
    fn help_text() {
        assert_eq!(unescape_help(r"a\\b\nc", false).unwrap(), "a\\b\nc");
        assert_eq!(unescape_help(r#"a\"b\x\"#, false).unwrap(), r#"a\"b\x\"#);
        assert_eq!(unescape_help(r#"a\"b"#, true).unwrap(), "a\"b");
        assert!(unescape_help(r"a\x", true).is_err());
        assert!(unescape_help(r"a\", true).is_err());
    }

    #[test]
    fn values() {
        assert_eq!(float_value("1e+06"), Some(1e6));
        assert_eq!(float_value("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(float_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(float_value("Inf"), Some(f64::INFINITY));
        assert!(float_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(float_value(".5"), Some(0.5));
        assert_eq!(float_value("0x10"), None);
        assert_eq!(float_value("1_000"), None);
        assert_eq!(float_value(""), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(int_timestamp("-12"), Some(-12));
        assert_eq!(int_timestamp("1.5"), None);
        assert_eq!(seconds_timestamp_ms("1520879607.789"), Some(1_520_879_607_789));
        assert_eq!(seconds_timestamp_ms("1520879607"), Some(1_520_879_607_000));
        assert_eq!(seconds_timestamp_ms("1.0005"), Some(1001));
        assert_eq!(seconds_timestamp_ms("1.0004999"), Some(1000));
        assert_eq!(seconds_timestamp_ms("-1.5"), Some(-1500));
        assert_eq!(seconds_timestamp_ms(".25"), Some(250));
        assert_eq!(seconds_timestamp_ms("1.5e3"), Some(1_500_000));
        assert_eq!(seconds_timestamp_ms("1e300"), None);
        assert_eq!(seconds_timestamp_ms("NaN"), None);
        assert_eq!(seconds_timestamp_ms("."), None);
        assert_eq!(seconds_timestamp_ms("99999999999999999999"), None);
    }

    #[test]
    fn snippets_are_bounded() {
        assert_eq!(snippet("a\"b"), r#""a\"b""#);
        assert_eq!(snippet(&"x".repeat(100)).chars().count(), 43);
    }

    #[test]
    fn short_decimals_match_the_general_parser() {
        for token in [
            "0",
            "-0",
            "1",
            "007",
            "123456789012345",
            "-999999999999999",
            "0.1",
            "2.5",
            "-3.75",
            "0.000000000000001",
            "12345678.9012345",
            "1.",
            ".5",
            "1.2.3",
            "1e3",
            "+1",
            "-",
            "1234567890123456",
            "9007199254740993",
            "0.30000000000000004",
            "NaN",
            "+Inf",
            "",
        ] {
            let expected = token.parse::<f64>().ok().map(f64::to_bits);
            assert_eq!(float_value(token).map(f64::to_bits), expected, "{token:?}");
        }
        assert_eq!(short_decimal("1234567890123456"), None);
        assert_eq!(short_decimal("1e3"), None);
        assert_eq!(short_decimal("-0").map(f64::to_bits), Some((-0.0f64).to_bits()));
    }

    proptest::proptest! {
        #[test]
        fn short_decimals_equal_str_parse(int in 0u64..10_000_000_000, frac in 0u64..100_000, scale in 0usize..6, negative: bool) {
            let token = match scale {
                0 => format!("{}{int}", if negative { "-" } else { "" }),
                _ => format!("{}{int}.{frac:0scale$}", if negative { "-" } else { "" }, frac = frac % 10u64.pow(scale as u32)),
            };
            proptest::prop_assert_eq!(
                float_value(&token).map(f64::to_bits),
                token.parse::<f64>().ok().map(f64::to_bits),
                "{}", token
            );
        }
    }
}
