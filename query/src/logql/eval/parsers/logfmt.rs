//! `| logfmt [--strict] [--keep-empty] [label, label="key", ...]`.

use super::text::{Controls, ParserError, is_sanitized, replace_replacement_char, sanitize_key, unescape_json};
use std::borrow::Cow;
use std::collections::HashSet;

/// One step of the decoder: a pair, or a malformed pair with its error text.
enum Scan<'a> {
    /// A key and its value; a bare key (`key` or `key=`) has an empty value.
    Pair(&'a str, Cow<'a, str>),
    /// A malformed pair (Loki's `logfmt syntax error at pos N : ...`); decoding can continue after it.
    Error(String),
}

/// A logfmt decoder with the grammar of Loki's (go-logfmt derived) decoder:
///
/// - Pairs are separated by bytes `<= ' '` (spaces, tabs and other control bytes).
/// - A key runs up to `=` or a separator; `"` in a key, an empty key (`=value`) or a key holding U+FFFD are
///   errors. A key without `=` is a bare key with an empty value.
/// - A value is unquoted (up to the next separator; `=` or `"` in it is an error) or double-quoted. A quoted
///   value without backslashes is taken as written; with backslashes it is unescaped like a JSON string
///   (plus `\'`), and an unknown escape or a raw control character makes it invalid. A missing closing
///   quote is an error.
/// - After an error in a key or unquoted value, the rest of that pair up to the next separator is skipped.
struct Decoder<'a> {
    line: &'a str,
    pos: usize,
}

fn syntax_error(pos: usize, msg: &str) -> String {
    format!("logfmt syntax error at pos {} : {msg}", pos + 1)
}

fn unexpected(pos: usize, byte: u8) -> String {
    syntax_error(pos, &format!("unexpected '{}'", byte as char))
}

impl<'a> Decoder<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.line.as_bytes()
    }

    /// Skips to the next separator after an error.
    fn skip_value(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() && b[self.pos] > b' ' {
            self.pos += 1;
        }
    }

    fn next(&mut self) -> Option<Scan<'a>> {
        let b = self.bytes();
        while self.pos < b.len() && b[self.pos] <= b' ' {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        // The key.
        let start = self.pos;
        while self.pos < b.len() && b[self.pos] > b' ' && b[self.pos] != b'=' && b[self.pos] != b'"' {
            self.pos += 1;
        }
        // `start..pos` ends before an ASCII byte or at the end, so it is on character boundaries.
        let key = &self.line[start..self.pos];
        let at = self.pos;
        match b.get(at) {
            Some(b'"') => {
                self.skip_value();
                return Some(Scan::Error(unexpected(at, b'"')));
            }
            Some(b'=') if key.is_empty() => {
                self.skip_value();
                return Some(Scan::Error(unexpected(at, b'=')));
            }
            _ => {}
        }
        if key.contains('\u{FFFD}') {
            if b.get(at) == Some(&b'=') {
                self.skip_value();
            }
            return Some(Scan::Error(syntax_error(at, "invalid key")));
        }
        if b.get(at) != Some(&b'=') {
            return Some(Scan::Pair(key, Cow::Borrowed("")));
        }
        // `=` and the value.
        self.pos += 1;
        match b.get(self.pos) {
            None => Some(Scan::Pair(key, Cow::Borrowed(""))),
            Some(&c) if c <= b' ' => Some(Scan::Pair(key, Cow::Borrowed(""))),
            Some(b'"') => Some(self.quoted(key)),
            Some(_) => {
                let start = self.pos;
                while self.pos < b.len() && b[self.pos] > b' ' {
                    if b[self.pos] == b'=' || b[self.pos] == b'"' {
                        let at = self.pos;
                        self.skip_value();
                        return Some(Scan::Error(unexpected(at, b[at])));
                    }
                    self.pos += 1;
                }
                Some(Scan::Pair(key, Cow::Borrowed(&self.line[start..self.pos])))
            }
        }
    }

    /// A quoted value; `pos` is at the opening quote.
    fn quoted(&mut self, key: &'a str) -> Scan<'a> {
        let b = self.bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut has_escape = false;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    has_escape = true;
                    i += 2;
                }
                b'"' => {
                    self.pos = i + 1;
                    let body = &self.line[start..i];
                    if !has_escape {
                        return Scan::Pair(key, Cow::Borrowed(body));
                    }
                    return match unescape_json(body, Controls::Reject, true) {
                        Some(value) => Scan::Pair(key, value),
                        None => Scan::Error(syntax_error(self.pos, "invalid quoted value")),
                    };
                }
                _ => i += 1,
            }
        }
        self.pos = b.len();
        Scan::Error(syntax_error(self.pos, "unterminated quoted value"))
    }
}

/// `| logfmt [--strict] [--keep-empty] [a, b="c"]`.
///
/// Rules (Loki's `LogfmtParser`/`LogfmtExpressionParser` and the docs' "logfmt" section):
/// - Keys are sanitised with [`sanitize_key`]; a key that sanitises to nothing is skipped. U+FFFD in a value
///   becomes a space.
/// - Without `strict`, malformed pairs (`=value`, `foo=bar=buzz`, `fo"o=bar`, an unterminated quote) are
///   skipped and parsing continues; no error is ever reported. With `strict`, parsing stops at the first
///   malformed pair and the result is `Err` (kind `LogfmtParserErr`, details like
///   `logfmt syntax error at pos 9 : unexpected '='`); pairs before it are still emitted.
/// - Without extractions (`extractions` empty), every pair is emitted in line order; pairs with an empty
///   value (bare keys `key`, `key=`, `key=""`) only with `keep_empty`. When a key appears twice, only the
///   first value is kept.
/// - With extractions (`(label, key)` pairs, from `| logfmt label="key"` or `| logfmt key`), a pair whose
///   sanitised key equals `key` gives `label` its value (empty values included, `keep_empty` is not needed);
///   the first occurrence wins. Every label is then emitted once, in the order of `extractions`, with ""
///   when its key was not found.
pub fn logfmt(
    line: &str,
    strict: bool,
    keep_empty: bool,
    extractions: &[(String, String)],
    emit: &mut dyn FnMut(&str, &str),
) -> Result<(), ParserError> {
    let mut decoder = Decoder { line, pos: 0 };
    let mut error = None;
    if extractions.is_empty() {
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(scan) = decoder.next() {
            let (key, value) = match scan {
                Scan::Pair(key, value) => (key, value),
                Scan::Error(details) if strict => {
                    error = Some(details);
                    break;
                }
                Scan::Error(_) => continue,
            };
            if value.is_empty() && !keep_empty {
                continue;
            }
            let name: Cow<'_, str> = if is_sanitized(key) {
                Cow::Borrowed(key)
            } else {
                Cow::Owned(sanitize_key(key))
            };
            if name.is_empty() || seen.contains(name.as_ref()) {
                continue;
            }
            seen.insert(name.to_string());
            emit(&name, &replace_replacement_char(value));
        }
    } else {
        let mut values: Vec<Option<String>> = vec![None; extractions.len()];
        while let Some(scan) = decoder.next() {
            let (key, value) = match scan {
                Scan::Pair(key, value) => (key, value),
                Scan::Error(details) if strict => {
                    error = Some(details);
                    break;
                }
                Scan::Error(_) => continue,
            };
            let name: Cow<'_, str> = if is_sanitized(key) {
                Cow::Borrowed(key)
            } else {
                Cow::Owned(sanitize_key(key))
            };
            for (slot, (_, want)) in values.iter_mut().zip(extractions) {
                if slot.is_none() && *want == name {
                    *slot = Some(replace_replacement_char(value.clone()).into_owned());
                }
            }
        }
        for (value, (label, _)) in values.iter().zip(extractions) {
            emit(label, value.as_deref().unwrap_or(""));
        }
    }
    match error {
        Some(details) => Err(ParserError::logfmt(details)),
        None => Ok(()),
    }
}
