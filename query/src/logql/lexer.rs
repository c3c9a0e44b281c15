//! The LogQL tokenizer.
//!
//! Splits a query into [`Token`]s with byte positions. Strings are unescaped by the PromQL lexer's
//! Go-rules unescaper (`"…"` with all Go escapes, `` `raw` ``); LogQL has no single-quoted strings.
//! Numbers are decimal (`1`, `1.5`, `2e3`); a number directly followed by a unit is a duration
//! (Go's and Prometheus's units, fractions allowed: `1.5h`, `1h30m`, `250us`, `5d`) or a byte size
//! (`20MB`, `1.5KiB`, case-insensitive units). `--strict`-like words are parser flags, and `#`
//! starts a comment that runs to the end of the line.

use super::parser::ParseError;
use crate::promql::lexer::lex_string;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A decimal number.
    Number(f64),
    /// A duration literal, in nanoseconds.
    Duration(i64),
    /// A byte-size literal such as `20MB`, in bytes.
    Bytes(u64),
    /// A string literal, already unescaped.
    Str(String),
    /// A label name, function name or keyword (see the token's text).
    Ident,
    /// A parser flag such as `--strict` (see the token's text).
    Flag,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `{`.
    LBrace,
    /// `}`.
    RBrace,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `,`.
    Comma,
    /// `|`.
    Pipe,
    /// `|=`.
    PipeExact,
    /// `|~`.
    PipeMatch,
    /// `|>`.
    PipePattern,
    /// `!=`.
    Neq,
    /// `!~`.
    Nre,
    /// `!>`.
    NotPattern,
    /// `=`.
    Eq,
    /// `==`.
    CmpEq,
    /// `=~`.
    Re,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `^`.
    Pow,
    /// The end of the input.
    Eof,
}

/// A token and the byte range `start..end` it covers in the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The kind (and value) of the token.
    pub kind: TokenKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
}

/// Nanoseconds per duration unit; longer unit names first so that `ms` wins over `m`.
const DURATION_UNITS: [(&str, i64); 11] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
    ("y", 31_536_000_000_000_000),
];

/// Bytes per size unit (lowercase), as `go-humanize`'s `ParseBytes` understands them.
pub(super) const BYTE_UNITS: [(&str, u64); 13] = [
    ("b", 1),
    ("kb", 1_000),
    ("kib", 1 << 10),
    ("mb", 1_000_000),
    ("mib", 1 << 20),
    ("gb", 1_000_000_000),
    ("gib", 1 << 30),
    ("tb", 1_000_000_000_000),
    ("tib", 1 << 40),
    ("pb", 1_000_000_000_000_000),
    ("pib", 1 << 50),
    ("eb", 1_000_000_000_000_000_000),
    ("eib", 1 << 60),
];

/// Splits `input` into tokens, ending with one [`TokenKind::Eof`].
pub fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    let err = |pos: usize, msg: String| ParseError::new(input, pos, msg);
    while pos < input.len() {
        let rest = &input[pos..];
        let Some(c) = rest.chars().next() else { break };
        if c.is_whitespace() {
            pos += c.len_utf8();
            continue;
        }
        if c == '#' {
            pos += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        let two = rest.get(..2).unwrap_or("");
        let (kind, len) = match c {
            '(' => (TokenKind::LParen, 1),
            ')' => (TokenKind::RParen, 1),
            '{' => (TokenKind::LBrace, 1),
            '}' => (TokenKind::RBrace, 1),
            '[' => (TokenKind::LBracket, 1),
            ']' => (TokenKind::RBracket, 1),
            ',' => (TokenKind::Comma, 1),
            '+' => (TokenKind::Add, 1),
            '*' => (TokenKind::Mul, 1),
            '/' => (TokenKind::Div, 1),
            '%' => (TokenKind::Mod, 1),
            '^' => (TokenKind::Pow, 1),
            '|' if two == "|=" => (TokenKind::PipeExact, 2),
            '|' if two == "|~" => (TokenKind::PipeMatch, 2),
            '|' if two == "|>" => (TokenKind::PipePattern, 2),
            '|' => (TokenKind::Pipe, 1),
            '!' if two == "!=" => (TokenKind::Neq, 2),
            '!' if two == "!~" => (TokenKind::Nre, 2),
            '!' if two == "!>" => (TokenKind::NotPattern, 2),
            '=' if two == "==" => (TokenKind::CmpEq, 2),
            '=' if two == "=~" => (TokenKind::Re, 2),
            '=' => (TokenKind::Eq, 1),
            '>' if two == ">=" => (TokenKind::Gte, 2),
            '>' => (TokenKind::Gt, 1),
            '<' if two == "<=" => (TokenKind::Lte, 2),
            '<' => (TokenKind::Lt, 1),
            '-' if two == "--" && rest[2..].starts_with(|n: char| n.is_ascii_alphabetic()) => {
                let len = 2 + rest[2..]
                    .find(|n: char| !(n.is_ascii_alphanumeric() || n == '-' || n == '_'))
                    .unwrap_or(rest.len() - 2);
                (TokenKind::Flag, len)
            }
            '-' => (TokenKind::Sub, 1),
            '"' | '`' => {
                let (s, len) = lex_string(rest, c).map_err(|(off, msg)| err(pos + off, msg))?;
                (TokenKind::Str(s), len)
            }
            c if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|n: char| n.is_ascii_digit())) => {
                lex_number(rest).map_err(|msg| err(pos, msg))?
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = rest
                    .find(|n: char| !(n.is_ascii_alphanumeric() || n == '_'))
                    .unwrap_or(rest.len());
                (TokenKind::Ident, len)
            }
            other => return Err(err(pos, format!("syntax error: unexpected character {other:?}"))),
        };
        tokens.push(Token {
            kind,
            start: pos,
            end: pos + len,
        });
        pos += len;
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: input.len(),
        end: input.len(),
    });
    Ok(tokens)
}

/// Length of a decimal number `ddd[.ddd][e[+-]ddd]` (or `.ddd…`) at the start of `s`.
fn decimal_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(0);
    if i < b.len() && b[i] == b'.' {
        i = digits(i + 1);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let k = digits(j);
        if k > j {
            i = k;
        }
    }
    i
}

/// Lexes a number, duration or byte size at the start of `s`; returns the token and its length.
fn lex_number(s: &str) -> Result<(TokenKind, usize), String> {
    let num_len = decimal_len(s);
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    if !s[num_len..].starts_with(is_word) {
        let v: f64 = s[..num_len]
            .parse()
            .map_err(|e| format!("unable to parse number {:?}: {e}", &s[..num_len]))?;
        return Ok((TokenKind::Number(v), num_len));
    }
    let word_len = s.find(|c: char| !is_word(c)).unwrap_or(s.len());
    let word = &s[..word_len];
    if let Some(ns) = parse_duration(word)? {
        return Ok((TokenKind::Duration(ns), word_len));
    }
    if let Some(bytes) = parse_bytes(word)? {
        return Ok((TokenKind::Bytes(bytes), word_len));
    }
    Err(format!("bad number or duration syntax: {word:?}"))
}

/// Splits `s` into a leading `ddd[.ddd]` and the rest.
fn split_decimal(s: &str) -> (&str, &str) {
    let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut end = int_end;
    if s[end..].starts_with('.') {
        end += 1;
        end += s[end..].find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len() - end);
    }
    s.split_at(end)
}

/// `ddd[.fff]` times `unit` as an integer, rounding the fraction; `None` on overflow.
fn scaled(num: &str, unit: u128) -> Option<u128> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut total = int.checked_mul(unit)?;
    // At most 30 fraction digits matter for any unit up to 1e18.
    let frac = &frac[..frac.len().min(30)];
    if !frac.is_empty() {
        let f: u128 = frac.parse().ok()?;
        let scale = 10u128.pow(frac.len() as u32);
        total = total.checked_add((f * unit + scale / 2) / scale)?;
    }
    Some(total)
}

/// Parses a duration such as `1h30m`, `1.5h`, `250ms` or `5d` into nanoseconds. `Ok(None)` when
/// `s` is not shaped like a duration, an error when it is but overflows.
pub fn parse_duration(s: &str) -> Result<Option<i64>, String> {
    let mut rest = s;
    let mut total: u128 = 0;
    if rest.is_empty() {
        return Ok(None);
    }
    while !rest.is_empty() {
        let (num, after) = split_decimal(rest);
        if num.is_empty() || num == "." {
            return Ok(None);
        }
        // The longest unit name that matches wins (`ms` over `m`).
        let Some(&(unit, mult)) = DURATION_UNITS
            .iter()
            .filter(|(u, _)| after.starts_with(u))
            .max_by_key(|(u, _)| u.len())
        else {
            return Ok(None);
        };
        let part = scaled(num, mult as u128).ok_or_else(|| format!("duration out of range: {s:?}"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
        rest = &after[unit.len()..];
    }
    i64::try_from(total)
        .map(Some)
        .map_err(|_| format!("duration out of range: {s:?}"))
}

/// Parses a byte size such as `20MB` or `1.5KiB`. `Ok(None)` when `s` is not shaped like one.
pub fn parse_bytes(s: &str) -> Result<Option<u64>, String> {
    let (num, unit) = split_decimal(s);
    if num.is_empty() || num == "." {
        return Ok(None);
    }
    let lower = unit.to_ascii_lowercase();
    let Some(&(_, mult)) = BYTE_UNITS.iter().find(|(u, _)| *u == lower) else {
        return Ok(None);
    };
    let v = scaled(num, mult as u128).ok_or_else(|| format!("byte size out of range: {s:?}"))?;
    u64::try_from(v)
        .map(Some)
        .map_err(|_| format!("byte size out of range: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s).expect("lexes").into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn operators() {
        assert_eq!(
            kinds("|= |~ |> | != !~ !> = == =~ > >= < <="),
            vec![
                TokenKind::PipeExact,
                TokenKind::PipeMatch,
                TokenKind::PipePattern,
                TokenKind::Pipe,
                TokenKind::Neq,
                TokenKind::Nre,
                TokenKind::NotPattern,
                TokenKind::Eq,
                TokenKind::CmpEq,
                TokenKind::Re,
                TokenKind::Gt,
                TokenKind::Gte,
                TokenKind::Lt,
                TokenKind::Lte,
                TokenKind::Eof
            ]
        );
        let toks = tokenize("logfmt --strict --keep-empty - -1").expect("lexes");
        assert_eq!(toks[1].kind, TokenKind::Flag);
        assert_eq!((toks[2].start, toks[2].end), (16, 28));
        assert_eq!(toks[3].kind, TokenKind::Sub);
        assert_eq!(toks[4].kind, TokenKind::Sub);
    }

    #[test]
    fn numbers_durations_bytes() {
        assert_eq!(
            kinds("1.5 2e3 .5")[..3],
            [
                TokenKind::Number(1.5),
                TokenKind::Number(2000.0),
                TokenKind::Number(0.5)
            ]
        );
        assert_eq!(kinds("1.5h")[0], TokenKind::Duration(5_400_000_000_000));
        assert_eq!(kinds("1h30m")[0], TokenKind::Duration(5_400_000_000_000));
        assert_eq!(kinds("250ms")[0], TokenKind::Duration(250_000_000));
        assert_eq!(
            kinds("3us 3µs")[..2],
            [TokenKind::Duration(3_000), TokenKind::Duration(3_000)]
        );
        assert_eq!(kinds("5d")[0], TokenKind::Duration(432_000_000_000_000));
        assert_eq!(kinds("20MB")[0], TokenKind::Bytes(20_000_000));
        assert_eq!(kinds("1.5KiB")[0], TokenKind::Bytes(1536));
        assert_eq!(kinds("42b")[0], TokenKind::Bytes(42));
        assert_eq!(
            tokenize("12x").expect_err("fails").message,
            "bad number or duration syntax: \"12x\""
        );
        assert!(tokenize("99999999999y").is_err());
        assert!(tokenize("99999999999EiB").is_err());
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(kinds(r#""a\"b\n""#)[0], TokenKind::Str("a\"b\n".into()));
        assert_eq!(kinds(r"`raw\n`")[0], TokenKind::Str("raw\\n".into()));
        let toks = tokenize("{a=\"b\"} # comment\n|= \"x\"").expect("lexes");
        assert_eq!(toks[5].kind, TokenKind::PipeExact);
        assert_eq!(
            tokenize("\"abc").expect_err("fails").message,
            "unterminated quoted string"
        );
        let e = tokenize("{a='b'}").expect_err("fails");
        assert_eq!(
            (e.col, e.message.as_str()),
            (4, "syntax error: unexpected character '\\''")
        );
    }
}
