//! The stream label string of a protobuf push, `{app="x", env="prod"}`, and label validation shared
//! by both push formats.
//!
//! The string is `{}`-enclosed, comma-separated `name="value"` pairs with optional whitespace (a
//! trailing comma is allowed); values are Go double-quoted strings with Go's escapes.

use std::fmt::Write as _;

use tsdb::Labels;

use super::PushLimits;
use crate::error::{Error, Result};

/// Parses a stream label string such as `{app="x", env="prod"}`. Names must be valid Prometheus label
/// names and unique; pairs with an empty value are dropped. Errors name the byte position.
pub fn parse_stream_labels(text: &str) -> Result<Labels> {
    let pairs = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    }
    .pairs()?;
    labels_from_pairs(&pairs).map_err(|e| Error::Push(format!("invalid stream labels {}: {e}", shorten(text))))
}

/// Builds a label set from `(name, value)` pairs: names must be valid and unique; empty values are
/// dropped.
pub(super) fn labels_from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Result<Labels> {
    if let Some((name, _)) = pairs.iter().find(|(name, _)| !is_valid_name(name.as_ref())) {
        return Err(Error::Push(format!("invalid label name {:?}", name.as_ref())));
    }
    // Sorting keeps the duplicate check O(n log n) for objects with many keys.
    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_ref()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(Error::Push(format!("duplicate label name {:?}", pair[0])));
    }
    Labels::new(pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))).map_err(|e| Error::Push(e.to_string()))
}

/// Checks a stream's labels against `limits`: at least one label, not too many, names and values not
/// too long.
pub(super) fn check_label_limits(labels: &Labels, limits: &PushLimits) -> Result<()> {
    if labels.is_empty() {
        return Err(Error::Push("at least one label pair is required per stream".into()));
    }
    if labels.len() > limits.max_labels_per_stream {
        return Err(Error::Push(format!(
            "stream '{labels}' has {} label names; limit {}",
            labels.len(),
            limits.max_labels_per_stream
        )));
    }
    for label in labels {
        if label.name.len() > limits.max_label_name_bytes {
            return Err(Error::Push(format!(
                "stream '{labels}' has label name too long: {} bytes; limit {}",
                label.name.len(),
                limits.max_label_name_bytes
            )));
        }
        if label.value.len() > limits.max_label_value_bytes {
            return Err(Error::Push(format!(
                "stream '{labels}' has label value of {:?} too long: {} bytes; limit {}",
                label.name,
                label.value.len(),
                limits.max_label_value_bytes
            )));
        }
    }
    Ok(())
}

/// Formats `labels` as a stream label string that [`parse_stream_labels`] reads back (Go quoting).
pub(super) fn format_stream_labels(labels: &Labels) -> String {
    let mut out = String::from("{");
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(label.name);
        out.push_str("=\"");
        for c in label.value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `text` quoted, cut to 128 bytes for error messages.
fn shorten(text: &str) -> String {
    if text.len() <= 128 {
        return format!("{text:?}");
    }
    let mut end = 128;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}...", &text[..end])
}

/// A cursor over the label string.
struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, at: usize, reason: &str) -> Error {
        Error::Push(format!(
            "invalid stream labels {} at byte {at}: {reason}",
            shorten(self.text)
        ))
    }

    fn skip_space(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<()> {
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(self.pos, &format!("expected {what}")))
        }
    }

    fn pairs(mut self) -> Result<Vec<(String, String)>> {
        let mut pairs = Vec::new();
        self.skip_space();
        self.expect(b'{', "'{'")?;
        loop {
            self.skip_space();
            if self.bytes.get(self.pos) == Some(&b'}') {
                self.pos += 1;
                break;
            }
            let name = self.name()?;
            self.skip_space();
            self.expect(b'=', "'=' after label name")?;
            self.skip_space();
            let value = self.quoted()?;
            pairs.push((name, value));
            self.skip_space();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error(self.pos, "expected ',' or '}'")),
            }
        }
        self.skip_space();
        if self.pos != self.bytes.len() {
            return Err(self.error(self.pos, "unexpected text after '}'"));
        }
        Ok(pairs)
    }

    fn name(&mut self) -> Result<String> {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        let name = &self.text[start..self.pos];
        if !is_valid_name(name) {
            return Err(self.error(start, "expected a label name"));
        }
        Ok(name.to_string())
    }

    /// A Go double-quoted string; the cursor is on the opening quote.
    fn quoted(&mut self) -> Result<String> {
        let start = self.pos;
        self.expect(b'"', "'\"' opening a label value")?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error(start, "unterminated label value"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\n' => return Err(self.error(self.pos, "newline in label value")),
                b'\\' => self.escape(&mut out)?,
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error(start, "label value is not valid utf-8"))
    }

    /// One escape sequence; the cursor is on the backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let at = self.pos;
        let Some(&kind) = self.bytes.get(self.pos + 1) else {
            return Err(self.error(at, "unterminated escape sequence"));
        };
        self.pos += 2;
        let simple = match kind {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            return Ok(());
        }
        match kind {
            b'x' => {
                let v = self.digits(at, 2, 16)?;
                out.push(v as u8);
            }
            b'0'..=b'7' => {
                self.pos -= 1;
                let v = self.digits(at, 3, 8)?;
                let byte = u8::try_from(v).map_err(|_| self.error(at, "octal escape value above 255"))?;
                out.push(byte);
            }
            b'u' | b'U' => {
                let v = self.digits(at, if kind == b'u' { 4 } else { 8 }, 16)?;
                let c = char::from_u32(v).ok_or_else(|| self.error(at, "escape is an invalid unicode code point"))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(self.error(at, "unknown escape sequence")),
        }
        Ok(())
    }

    /// Exactly `count` digits in `radix`.
    fn digits(&mut self, at: usize, count: usize, radix: u32) -> Result<u32> {
        let mut value = 0u32;
        for _ in 0..count {
            let digit = self
                .bytes
                .get(self.pos)
                .and_then(|&b| char::from(b).to_digit(radix))
                .ok_or_else(|| self.error(at, "malformed escape sequence"))?;
            value = value * radix + digit;
            self.pos += 1;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pairs(labels: &Labels) -> Vec<(&str, &str)> {
        labels.iter().map(|l| (l.name, l.value)).collect()
    }

    fn err(text: &str) -> String {
        match parse_stream_labels(text) {
            Err(Error::Push(msg)) => msg,
            other => panic!("expected an error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn parses_simple_and_spaced() {
        let labels = parse_stream_labels(r#"{app="x", env="prod"}"#).expect("valid");
        assert_eq!(pairs(&labels), vec![("app", "x"), ("env", "prod")]);
        let labels = parse_stream_labels(" \t{ env = \"prod\" ,app=\"x\",\n } ").expect("valid");
        assert_eq!(pairs(&labels), vec![("app", "x"), ("env", "prod")]);
        assert!(parse_stream_labels("{}").expect("empty").is_empty());
    }

    #[test]
    fn drops_empty_values() {
        let labels = parse_stream_labels(r#"{a="", b="1"}"#).expect("valid");
        assert_eq!(pairs(&labels), vec![("b", "1")]);
    }

    #[test]
    fn decodes_go_escapes() {
        let labels = parse_stream_labels(r#"{a="q\"b\\n\n\t\r\u00e9\U0001F600\x41\101\a\'", b="{},=\""}"#).expect("ok");
        assert_eq!(
            pairs(&labels),
            vec![("a", "q\"b\\n\n\t\r\u{e9}\u{1F600}AA\u{7}'"), ("b", "{},=\"")]
        );
        // Raw multibyte text is kept.
        let labels = parse_stream_labels("{a=\"héllo 世界\"}").expect("ok");
        assert_eq!(pairs(&labels), vec![("a", "héllo 世界")]);
    }

    #[test]
    fn reports_byte_positions() {
        assert_eq!(
            err("app=\"x\""),
            r#"invalid stream labels "app=\"x\"" at byte 0: expected '{'"#
        );
        assert_eq!(
            err(r#"{app "x"}"#),
            r#"invalid stream labels "{app \"x\"}" at byte 5: expected '=' after label name"#
        );
        assert_eq!(
            err(r#"{1a="x"}"#),
            r#"invalid stream labels "{1a=\"x\"}" at byte 1: expected a label name"#
        );
        assert_eq!(
            err(r#"{a=x}"#),
            r#"invalid stream labels "{a=x}" at byte 3: expected '"' opening a label value"#
        );
        assert_eq!(
            err(r#"{a="x" b="y"}"#),
            r#"invalid stream labels "{a=\"x\" b=\"y\"}" at byte 7: expected ',' or '}'"#
        );
        assert_eq!(
            err(r#"{a="x"#),
            r#"invalid stream labels "{a=\"x" at byte 3: unterminated label value"#
        );
        assert_eq!(
            err(r#"{a="x"} z"#),
            r#"invalid stream labels "{a=\"x\"} z" at byte 8: unexpected text after '}'"#
        );
        assert_eq!(
            err(r#"{a="\q"}"#),
            r#"invalid stream labels "{a=\"\\q\"}" at byte 4: unknown escape sequence"#
        );
        assert_eq!(
            err(r#"{a="\u12"}"#),
            r#"invalid stream labels "{a=\"\\u12\"}" at byte 4: malformed escape sequence"#
        );
        assert_eq!(
            err(r#"{a="\ud800"}"#),
            r#"invalid stream labels "{a=\"\\ud800\"}" at byte 4: escape is an invalid unicode code point"#
        );
        assert_eq!(
            err(r#"{a="\400"}"#),
            r#"invalid stream labels "{a=\"\\400\"}" at byte 4: octal escape value above 255"#
        );
        assert_eq!(
            err(r#"{a="\xff"}"#),
            r#"invalid stream labels "{a=\"\\xff\"}" at byte 3: label value is not valid utf-8"#
        );
        assert_eq!(
            err("{a=\"x\ny\"}"),
            r#"invalid stream labels "{a=\"x\ny\"}" at byte 5: newline in label value"#
        );
        assert_eq!(err(""), r#"invalid stream labels "" at byte 0: expected '{'"#);
    }

    #[test]
    fn rejects_duplicates() {
        assert_eq!(
            err(r#"{a="1", a="2"}"#),
            r#"invalid stream labels "{a=\"1\", a=\"2\"}": duplicate label name "a""#
        );
        assert_eq!(
            err(r#"{a="", a="2"}"#),
            r#"invalid stream labels "{a=\"\", a=\"2\"}": duplicate label name "a""#
        );
    }

    #[test]
    fn shortens_long_input_in_errors() {
        let text = format!("{{a=\"{}", "é".repeat(200));
        let msg = err(&text);
        assert!(msg.ends_with("\"... at byte 3: unterminated label value"), "{msg}");
        assert!(msg.len() < 250, "{msg}");
    }

    #[test]
    fn limits() {
        let limits = PushLimits {
            max_labels_per_stream: 2,
            max_label_name_bytes: 3,
            max_label_value_bytes: 4,
            ..PushLimits::default()
        };
        let ok = parse_stream_labels(r#"{a="1", bbb="2222"}"#).expect("ok");
        check_label_limits(&ok, &limits).expect("within limits");
        let cases = [
            (
                r#"{a="1", b="2", c="3"}"#,
                "stream '{a=\"1\", b=\"2\", c=\"3\"}' has 3 label names; limit 2",
            ),
            (
                r#"{abcd="1"}"#,
                "stream '{abcd=\"1\"}' has label name too long: 4 bytes; limit 3",
            ),
            (
                r#"{a="12345"}"#,
                "stream '{a=\"12345\"}' has label value of \"a\" too long: 5 bytes; limit 4",
            ),
            (r#"{a=""}"#, "at least one label pair is required per stream"),
        ];
        for (text, want) in cases {
            let labels = parse_stream_labels(text).expect("parses");
            match check_label_limits(&labels, &limits) {
                Err(Error::Push(msg)) => assert_eq!(msg, want),
                other => panic!("expected an error for {text}, got {other:?}"),
            }
        }
    }

    #[test]
    fn from_pairs_validates_names() {
        let labels = labels_from_pairs(&[("b", "2"), ("a", "1")]).expect("ok");
        assert_eq!(pairs(&labels), vec![("a", "1"), ("b", "2")]);
        for (name, want) in [
            ("a-b", "invalid label name \"a-b\""),
            ("", "invalid label name \"\""),
            ("9", "invalid label name \"9\""),
        ] {
            match labels_from_pairs(&[(name, "v")]) {
                Err(Error::Push(msg)) => assert_eq!(msg, want),
                other => panic!("expected an error for {name:?}, got {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(
            map in proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", any::<String>(), 0..6)
        ) {
            let labels = Labels::new(map.iter().map(|(n, v)| (n.as_str(), v.as_str()))).expect("labels");
            let text = format_stream_labels(&labels);
            prop_assert_eq!(parse_stream_labels(&text).expect("parses"), labels);
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}|\\{[a-z=\",\\\\ ux0-9}]{0,30}") {
            let _ = parse_stream_labels(&text);
        }
    }
}
