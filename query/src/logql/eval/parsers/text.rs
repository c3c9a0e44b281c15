//! Pieces shared by the parsers: the error type, label-key sanitisation and JSON string unescaping.

use std::borrow::Cow;

/// The `__error__` value of a failed `| json` or `| unpack` stage.
pub const JSON_PARSER_ERR: &str = "JSONParserErr";
/// The `__error__` value of a failed `| logfmt --strict` stage.
pub const LOGFMT_PARSER_ERR: &str = "LogfmtParserErr";

/// A parser failure, recorded by the pipeline as `__error__` = kind and `__error_details__` = details.
///
/// `details` may be empty: Loki sets no details label when `| json a="b"` meets a line that does not start
/// like a JSON value, and the pipeline should then leave `__error_details__` unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserError {
    /// Loki's error name: [`JSON_PARSER_ERR`] or [`LOGFMT_PARSER_ERR`].
    pub kind: &'static str,
    /// A human-readable description of what went wrong and where.
    pub details: String,
}

impl ParserError {
    pub(crate) fn json(details: impl Into<String>) -> ParserError {
        ParserError {
            kind: JSON_PARSER_ERR,
            details: details.into(),
        }
    }

    pub(crate) fn logfmt(details: impl Into<String>) -> ParserError {
        ParserError {
            kind: LOGFMT_PARSER_ERR,
            details: details.into(),
        }
    }
}

impl std::fmt::Display for ParserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.details.is_empty() {
            f.write_str(self.kind)
        } else {
            write!(f, "{}: {}", self.kind, self.details)
        }
    }
}

impl std::error::Error for ParserError {}

/// Loki's key sanitisation for extracted labels (`sanitizeLabelKey`), as every parser applies it.
///
/// - Surrounding whitespace is trimmed; an empty (or all-space) key stays empty, and the parsers then
///   skip it.
/// - A key starting with an ASCII digit gets a `_` prefix (`9x` → `_9x`).
/// - Every character outside `[A-Za-z0-9_]` becomes one `_` (`a-b` → `a_b`, `a.b` → `a_b`, `é` → `_`).
///   Colons are replaced too, although Prometheus would allow them in metric names.
pub fn sanitize_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 1);
    push_sanitized(&mut out, key);
    out
}

/// Appends the sanitised form of `key` to `out` (see [`sanitize_key`]); appends nothing for a blank key.
pub(crate) fn push_sanitized(out: &mut String, key: &str) {
    let key = key.trim();
    if key.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.push('_');
    }
    for c in key.chars() {
        out.push(if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' });
    }
}

/// Whether `key` is already in sanitised form (then the parsers can use it without copying).
pub(crate) fn is_sanitized(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Replaces U+FFFD (how Go marks invalid UTF-8) with a space, as Loki does for extracted values because
/// Prometheus rejects label values holding it.
pub(crate) fn replace_replacement_char(value: Cow<'_, str>) -> Cow<'_, str> {
    if value.contains('\u{FFFD}') {
        Cow::Owned(value.replace('\u{FFFD}', " "))
    } else {
        value
    }
}

/// How [`unescape_json`] treats control characters inside the string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controls {
    /// Raw control characters are kept (JSON values, as Loki's lenient JSON scanner does).
    Allow,
    /// Raw control characters make the string invalid (logfmt quoted values, like go-logfmt).
    Reject,
}

/// Unescapes the body of a JSON string (without its quotes): `\" \\ \/ \b \f \n \r \t \uXXXX`, with
/// UTF-16 surrogate pairs joined; a lone surrogate becomes U+FFFD. `allow_quote_escape` also accepts `\'`
/// (logfmt values). Returns `None` for any other escape or a truncated one.
pub(crate) fn unescape_json(raw: &str, controls: Controls, allow_quote_escape: bool) -> Option<Cow<'_, str>> {
    let has_control = controls == Controls::Reject && raw.bytes().any(|b| b < b' ');
    if has_control {
        return None;
    }
    if !raw.contains('\\') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let esc = *after.as_bytes().first()?;
        let mut consumed = 1;
        match esc {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'\'' if allow_quote_escape => out.push('\''),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hi = hex4(after.get(1..5)?)?;
                consumed = 5;
                let c = if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate: join it with a following `\uDC00..\uDFFF`, else it stands alone.
                    match after
                        .get(5..7)
                        .filter(|s| *s == "\\u")
                        .and_then(|_| after.get(7..11))
                        .and_then(hex4)
                    {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            consumed = 11;
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        }
                        _ => None,
                    }
                } else {
                    char::from_u32(hi)
                };
                out.push(c.unwrap_or('\u{FFFD}'));
            }
            _ => return None,
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

fn hex4(s: &str) -> Option<u32> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}
