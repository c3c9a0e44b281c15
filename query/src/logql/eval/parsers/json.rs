//! `| json` without expressions (flatten every leaf) and `| unpack`.

use super::json_scan::{Kind, MAX_DEPTH, Scanner, key_text};
use super::text::{Controls, ParserError, push_sanitized, replace_replacement_char, sanitize_key, unescape_json};
use std::borrow::Cow;
use std::collections::HashSet;

/// `| json` without expressions: every leaf of a JSON object becomes a label.
///
/// Rules (Loki's `JSONParser` and the docs' "Parser expression" and "json" sections):
/// - The line, after leading whitespace, must be a JSON object; anything after its closing `}` is ignored.
///   Otherwise, or when the object is malformed, the result is `Err` with kind `JSONParserErr`; labels
///   already emitted before the malformation stay (Loki parses lazily too).
/// - Nested objects are flattened: the key is the path of sanitised keys joined with `_`
///   (`{"a.b": {"c": "d"}}` → `a_b_c`). Every part is sanitised by [`sanitize_key`] (so a nested part that
///   starts with a digit also gets a `_` prefix); blank parts are left out of the path.
/// - Strings are unescaped (an invalid escape gives an empty value); numbers appear exactly as written
///   (`1.50`, `1e3`); booleans as `true`/`false`. U+FFFD in a value becomes a space.
/// - `null`s, arrays and empty values produce no label.
/// - When a key appears twice (also after sanitising or flattening), only the first value is kept.
/// - Objects nested deeper than 128 levels are an error (bounded recursion).
///
/// `emit(key, value)` is called in document order.
pub fn json_all(line: &str, emit: &mut dyn FnMut(&str, &str)) -> Result<(), ParserError> {
    let mut sc = Scanner::new(line);
    sc.skip_ws();
    if sc.peek() != Some(b'{') {
        return Err(ParserError::json(format!(
            "expecting a json object, but the line starts with {}",
            start_of(line)
        )));
    }
    let mut flatten = Flatten {
        prefix: String::new(),
        seen: HashSet::new(),
        emit,
    };
    flatten.object(&mut sc, 0).map_err(ParserError::json)
}

/// Describes how the line starts, for error details.
fn start_of(line: &str) -> String {
    match line.trim_start().chars().next() {
        None => "nothing".to_string(),
        Some(c) => format!("{c:?}"),
    }
}

struct Flatten<'e> {
    /// The sanitised path of the enclosing objects, parts joined with `_`.
    prefix: String,
    /// Keys already emitted (the first value of a key wins).
    seen: HashSet<String>,
    emit: &'e mut dyn FnMut(&str, &str),
}

impl Flatten<'_> {
    fn object(&mut self, sc: &mut Scanner<'_>, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!(
                "json objects nested deeper than {MAX_DEPTH} levels at offset {}",
                sc.pos()
            ));
        }
        sc.object(|sc, raw_key| {
            let base = self.prefix.len();
            let key = key_text(raw_key);
            if !key.trim().is_empty() {
                if !self.prefix.is_empty() {
                    self.prefix.push('_');
                }
                push_sanitized(&mut self.prefix, &key);
            }
            let result = if sc.peek() == Some(b'{') {
                self.object(sc, depth + 1)
            } else {
                self.leaf(sc)
            };
            self.prefix.truncate(base);
            result.map(|()| true)
        })
    }

    /// Scans a non-object value and emits it under the current prefix.
    fn leaf(&mut self, sc: &mut Scanner<'_>) -> Result<(), String> {
        let value = sc.value()?;
        if matches!(value.kind, Kind::Null | Kind::Array) || self.prefix.is_empty() {
            return Ok(());
        }
        let text = replace_replacement_char(value.render());
        if text.is_empty() || self.seen.contains(self.prefix.as_str()) {
            return Ok(());
        }
        self.seen.insert(self.prefix.clone());
        (self.emit)(&self.prefix, &text);
        Ok(())
    }
}

/// `| unpack`: unpacks a line written by Promtail's `pack` stage.
///
/// Rules (Loki's `UnpackParser`):
/// - An empty line is left alone (`Ok(None)`, no labels).
/// - The line must start with `{` (no leading whitespace), else `Err` with kind `JSONParserErr` and
///   Loki's details `expecting json object(6), but it is not`; a malformed object is also `Err`.
/// - Only top-level string members are read; other values (numbers, objects, ...) are ignored.
/// - A string `_entry` member is the packed log line: it is returned as `Some(new line)`.
/// - The other string members become labels, but only when `_entry` is present: without it nothing is
///   emitted and `Ok(None)` leaves the line unchanged (Loki buffers them and flushes only for packed lines).
/// - Keys are sanitised with [`sanitize_key`] (a no-op for the valid label names `pack` writes); empty
///   values are skipped, U+FFFD becomes a space, and the first value of a duplicate key (or of `_entry`)
///   wins.
pub fn unpack(line: &str, emit: &mut dyn FnMut(&str, &str)) -> Result<Option<String>, ParserError> {
    if line.is_empty() {
        return Ok(None);
    }
    if !line.starts_with('{') {
        return Err(ParserError::json("expecting json object(6), but it is not"));
    }
    let mut entry: Option<String> = None;
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut sc = Scanner::new(line);
    sc.object(|sc, raw_key| {
        let value = sc.value()?;
        if value.kind != Kind::String {
            return Ok(true);
        }
        let key = key_text(raw_key);
        if key == "_entry" {
            if entry.is_none() {
                let text = unescape_json(value.raw, Controls::Allow, false)
                    .ok_or_else(|| "invalid escape sequence in the _entry value".to_string())?;
                entry = Some(text.into_owned());
            }
            return Ok(true);
        }
        let name = sanitize_key(&key);
        let text = replace_replacement_char(value.render());
        if !name.is_empty() && !text.is_empty() && !seen.contains(&name) {
            seen.insert(name.clone());
            labels.push((name, Cow::into_owned(text)));
        }
        Ok(true)
    })
    .map_err(ParserError::json)?;
    let Some(entry) = entry else { return Ok(None) };
    for (name, value) in &labels {
        emit(name, value);
    }
    Ok(Some(entry))
}
