//! `| json label="path", ...`: compiled JSON paths and their extraction.

use super::json_scan::{Kind, Scanner, Value, key_text};
use super::text::{ParserError, replace_replacement_char};
use std::borrow::Cow;

/// The longest path (in segments) [`JsonPath::parse`] accepts.
const MAX_SEGMENTS: usize = 256;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonSegment {
    /// An object member: `.name`, a leading `name`, or `["any key"]`.
    Key(String),
    /// An array element: `[3]`.
    Index(usize),
}

/// A compiled `| json a="p.q[0]", b, c="[\"x.y\"]"` expression path.
///
/// The syntax is Loki's `jsonexpr` grammar: a path starts with a field name (`[A-Za-z_][A-Za-z0-9_]*`) or a
/// bracket, and continues with `.field`, `["key"]` or `[index]` steps, in any combination
/// (`my.list[0]["field"]`). Spaces, tabs and newlines between tokens are ignored. A bracketed key runs to the
/// next `"` and has no escapes; an index is a non-negative decimal integer (`[1.5]` and `[-1]` are errors).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    segments: Vec<JsonSegment>,
}

impl JsonPath {
    /// Compiles a path expression; the error names the expression and what is wrong.
    pub fn parse(expr: &str) -> Result<JsonPath, String> {
        let fail = |what: String| format!("invalid json path {expr:?}: {what}");
        let b = expr.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        let skip_ws = |i: &mut usize| {
            while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n') {
                *i += 1;
            }
        };
        loop {
            skip_ws(&mut i);
            let Some(&c) = b.get(i) else { break };
            if segments.len() >= MAX_SEGMENTS {
                return Err(fail(format!("more than {MAX_SEGMENTS} steps")));
            }
            if c == b'[' {
                i += 1;
                skip_ws(&mut i);
                let segment = match b.get(i) {
                    Some(b'"') => {
                        let start = i + 1;
                        let len = expr[start..]
                            .find('"')
                            .ok_or_else(|| fail("unterminated quoted key".into()))?;
                        i = start + len + 1;
                        JsonSegment::Key(expr[start..start + len].to_string())
                    }
                    Some(b'0'..=b'9') => {
                        let start = i;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        if b.get(i) == Some(&b'.') {
                            return Err(fail("cannot use float as array index".into()));
                        }
                        let index = expr[start..i]
                            .parse::<usize>()
                            .map_err(|_| fail("array index too large".into()))?;
                        JsonSegment::Index(index)
                    }
                    _ => {
                        return Err(fail(format!(
                            "expected a quoted key or an index after '[' at offset {i}"
                        )));
                    }
                };
                skip_ws(&mut i);
                if b.get(i) != Some(&b']') {
                    return Err(fail(format!("expected ']' at offset {i}")));
                }
                i += 1;
                segments.push(segment);
                continue;
            }
            if c == b'.' {
                if segments.is_empty() {
                    return Err(fail("a path cannot start with '.'".into()));
                }
                i += 1;
                skip_ws(&mut i);
            } else if !segments.is_empty() {
                return Err(fail(format!("expected '.' or '[' at offset {i}")));
            }
            let start = i;
            if !b.get(i).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
                return Err(fail(format!("expected a field name at offset {i}")));
            }
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            segments.push(JsonSegment::Key(expr[start..i].to_string()));
        }
        if segments.is_empty() {
            return Err(fail("the path is empty".into()));
        }
        Ok(JsonPath { segments })
    }

    /// The steps of the path, in order.
    pub fn segments(&self) -> &[JsonSegment] {
        &self.segments
    }

    /// Finds the value at this path: `Ok(None)` when a step is missing or meets the wrong type, `Err` when
    /// the JSON on the way is malformed.
    fn lookup<'a>(&self, line: &'a str) -> Result<Option<Value<'a>>, String> {
        let mut sc = Scanner::new(line);
        for segment in &self.segments {
            sc.skip_ws();
            let mut found = false;
            match segment {
                JsonSegment::Key(want) => {
                    if sc.peek() != Some(b'{') {
                        return Ok(None);
                    }
                    sc.object(|sc, raw_key| {
                        if key_text(raw_key) == want.as_str() {
                            found = true;
                            return Ok(false);
                        }
                        sc.value().map(|_| true)
                    })?;
                }
                JsonSegment::Index(want) => {
                    if sc.peek() != Some(b'[') {
                        return Ok(None);
                    }
                    sc.array(|sc, index| {
                        if index == *want {
                            found = true;
                            return Ok(false);
                        }
                        sc.value().map(|_| true)
                    })?;
                }
            }
            if !found {
                return Ok(None);
            }
        }
        sc.value().map(Some)
    }
}

/// `| json label=path, ...`: extracts one label per path.
///
/// Rules (Loki's `JSONExpressionParser` and the docs' "json" section):
/// - An empty line produces nothing (`Ok(())`, no labels).
/// - A line whose first byte is not `{`, `[` or `"` is `Err` (kind `JSONParserErr`, empty details, as Loki
///   sets no details there) and produces no labels.
/// - Otherwise every label is emitted once, in the order of `paths`: a string value unescaped, a number as
///   written, `true`/`false`, `null` as "", an object or array as its JSON text exactly as written in the line
///   (`{"Accept": "*/*"}`), and "" for a path that is missing or meets a value of the wrong type. U+FFFD in a
///   value becomes a space. For a duplicate key the first member is used.
/// - JSON is checked lazily, along each path: when malformed JSON is met on the way, the label gets "" and
///   the call returns `Err` (kind `JSONParserErr`, details describing the problem) after emitting all labels.
pub fn json_extract(
    line: &str,
    paths: &[(String, JsonPath)],
    emit: &mut dyn FnMut(&str, &str),
) -> Result<(), ParserError> {
    let Some(&first) = line.as_bytes().first() else {
        return Ok(());
    };
    if !matches!(first, b'{' | b'[' | b'"') {
        return Err(ParserError::json(""));
    }
    let mut error = None;
    for (label, path) in paths {
        match path.lookup(line) {
            Ok(Some(value)) => {
                let text = match value.kind {
                    Kind::Object | Kind::Array => Cow::Borrowed(value.raw),
                    _ => value.render(),
                };
                emit(label, &replace_replacement_char(text));
            }
            Ok(None) => emit(label, ""),
            Err(details) => {
                emit(label, "");
                error.get_or_insert(details);
            }
        }
    }
    match error {
        Some(details) => Err(ParserError::json(details)),
        None => Ok(()),
    }
}
