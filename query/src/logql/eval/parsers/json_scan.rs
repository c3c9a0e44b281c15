//! A small, allocation-free JSON tokenizer over a `&str`, shared by `| json`, `| json a="p"` and `| unpack`.
//!
//! It is lenient in the same places as the scanner Loki uses: string contents are not validated while
//! scanning (escapes are checked only when a value is unescaped), numbers are taken as written up to the next
//! delimiter, and skipped containers are matched by bracket counting without checking what is inside them.
//! Keys, `:` and `,` of the objects that are actually walked are checked.

use super::text::{Controls, unescape_json};
use std::borrow::Cow;

/// The deepest object nesting `| json` follows; deeper documents are reported as errors.
pub(crate) const MAX_DEPTH: usize = 128;

/// The type of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Number,
    Bool,
    Null,
    Object,
    Array,
}

/// One scanned value: its type and its raw text (for strings: the body between the quotes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value<'a> {
    pub kind: Kind,
    pub raw: &'a str,
}

impl<'a> Value<'a> {
    /// How Loki renders a scalar as a label value: strings unescaped (an invalid escape gives ""),
    /// numbers as written, `true`/`false`, null as "". Containers give their raw text.
    pub fn render(&self) -> Cow<'a, str> {
        match self.kind {
            Kind::String => unescape_json(self.raw, Controls::Allow, false).unwrap_or(Cow::Borrowed("")),
            Kind::Null => Cow::Borrowed(""),
            Kind::Number | Kind::Bool | Kind::Object | Kind::Array => Cow::Borrowed(self.raw),
        }
    }
}

/// A cursor over the document.
pub(crate) struct Scanner<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(src: &'a str) -> Scanner<'a> {
        Scanner { src, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    pub fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    pub fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn err(&self, what: &str) -> String {
        match self.peek() {
            None => format!("{what}, found the end of the line at offset {}", self.pos),
            Some(_) => {
                let c = self.src[self.pos..].chars().next().unwrap_or('?');
                format!("{what}, found {c:?} at offset {}", self.pos)
            }
        }
    }

    /// Consumes `b` (after optional whitespace) or fails naming it.
    pub fn expect(&mut self, b: u8) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", b as char)))
        }
    }

    /// Scans a string starting at the current `"`; returns its raw body.
    pub fn string(&mut self) -> Result<&'a str, String> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        let start = self.pos + 1;
        let b = self.bytes();
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(&self.src[start..i]);
                }
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        self.pos = b.len();
        Err(format!("unterminated string starting at offset {}", start - 1))
    }

    /// Scans any value at the current position (after whitespace). Containers are skipped by bracket
    /// counting and returned whole.
    pub fn value(&mut self) -> Result<Value<'a>, String> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(b'"') => Ok(Value {
                kind: Kind::String,
                raw: self.string()?,
            }),
            Some(b'{') | Some(b'[') => {
                self.skip_container()?;
                let kind = if self.bytes()[start] == b'{' {
                    Kind::Object
                } else {
                    Kind::Array
                };
                Ok(Value {
                    kind,
                    raw: &self.src[start..self.pos],
                })
            }
            Some(b'-' | b'0'..=b'9') => {
                self.token();
                Ok(Value {
                    kind: Kind::Number,
                    raw: &self.src[start..self.pos],
                })
            }
            Some(b't' | b'f' | b'n') => {
                let word = self.token();
                match word {
                    "true" | "false" => Ok(Value {
                        kind: Kind::Bool,
                        raw: word,
                    }),
                    "null" => Ok(Value {
                        kind: Kind::Null,
                        raw: word,
                    }),
                    _ => Err(format!("unknown value {word:?} at offset {start}")),
                }
            }
            _ => Err(self.err("expected a json value")),
        }
    }

    /// Scans up to the next delimiter (whitespace, `,`, `}`, `]`).
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']') {
                break;
            }
            self.pos += 1;
        }
        // The delimiters are ASCII, so `pos` is on a character boundary.
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// Skips a `{...}` or `[...]` by counting brackets outside strings (no recursion, any depth).
    fn skip_container(&mut self) -> Result<(), String> {
        let start = self.pos;
        let b = self.bytes();
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < b.len() {
            match b[i] {
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok(());
                    }
                }
                b'"' => {
                    self.pos = i;
                    self.string()?;
                    i = self.pos;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = b.len();
        Err(format!("unterminated object or array starting at offset {start}"))
    }

    /// Walks the members of the object whose `{` is at the current position (after whitespace), calling
    /// `member(scanner, raw_key)` with the scanner positioned at the member's value; the callback must
    /// consume the value. Stops early when the callback returns `Ok(false)`.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Scanner<'a>, &'a str) -> Result<bool, String>,
    ) -> Result<(), String> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.expect(b':')?;
            self.skip_ws();
            if !member(self, key)? {
                return Ok(());
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    /// Walks the elements of the array whose `[` is at the current position, like [`Scanner::object`]:
    /// `element(scanner, index)` must consume the element; returning `Ok(false)` stops.
    pub fn array(
        &mut self,
        mut element: impl FnMut(&mut Scanner<'a>, usize) -> Result<bool, String>,
    ) -> Result<(), String> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            self.skip_ws();
            if !element(self, index)? {
                return Ok(());
            }
            index += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }
}

/// Unescapes an object key; a key with an invalid escape is used as written.
pub(crate) fn key_text(raw: &str) -> Cow<'_, str> {
    unescape_json(raw, Controls::Allow, false).unwrap_or(Cow::Borrowed(raw))
}
