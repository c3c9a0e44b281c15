//! The PromQL tokenizer.
//!
//! Splits a query into [`Token`]s with byte positions. Number, duration and identifier shapes are
//! recognised with nom combinators; strings are unescaped with Go's rules (`\a \b \f \n \r \t
//! \v \\`, the quote character, octal `\nnn`, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`; backtick strings
//! are raw). `#` starts a comment that runs to the end of the line. Bracket nesting is tracked so
//! that unbalanced `( ) { } [ ]` are reported where Prometheus reports them, and so that `:`
//! inside `[...]` is the subquery colon rather than the start of a metric name.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, digit1, hex_digit1, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::multi::{many0, many1};
use nom::{IResult, Parser};

use super::parser::ParseError;

/// Milliseconds per duration unit, longest first (the order units must be written in).
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A float literal, including `Inf`, `NaN` and hex.
    Number(f64),
    /// A duration literal such as `1h30m`, in milliseconds.
    Duration(i64),
    /// A string literal, already unescaped.
    Str(String),
    /// A metric name, label name, function name or keyword (see the token's text).
    Ident,
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
    /// `:` inside brackets.
    Colon,
    /// `@`.
    At,
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
    /// `==`.
    EqlC,
    /// `!=`.
    Neq,
    /// `<=`.
    Lte,
    /// `<`.
    Lss,
    /// `>=`.
    Gte,
    /// `>`.
    Gtr,
    /// `=` (label matching).
    Assign,
    /// `=~`.
    EqlRegex,
    /// `!~`.
    NeqRegex,
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

/// Splits `input` into tokens, ending with one [`TokenKind::Eof`].
pub fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut open: Vec<(char, usize)> = Vec::new();
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
        let in_braces = open.last().is_some_and(|&(o, _)| o == '{');
        let in_brackets = open.last().is_some_and(|&(o, _)| o == '[');
        let start = pos;
        let two = rest.get(..2).unwrap_or("");
        let (kind, len) = match c {
            '(' | '{' | '[' => {
                if in_braces {
                    return Err(err(
                        pos,
                        format!("unexpected left {} '{c}' inside braces", bracket_name(c)),
                    ));
                }
                open.push((c, pos));
                let kind = match c {
                    '(' => TokenKind::LParen,
                    '{' => TokenKind::LBrace,
                    _ => TokenKind::LBracket,
                };
                (kind, 1)
            }
            ')' | '}' | ']' => {
                let want = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    _ => return Err(err(pos, format!("unexpected right {} '{c}'", bracket_name(c)))),
                }
                let kind = match c {
                    ')' => TokenKind::RParen,
                    '}' => TokenKind::RBrace,
                    _ => TokenKind::RBracket,
                };
                (kind, 1)
            }
            ',' => (TokenKind::Comma, 1),
            ':' if in_brackets => (TokenKind::Colon, 1),
            '@' => (TokenKind::At, 1),
            '+' => (TokenKind::Add, 1),
            '-' => (TokenKind::Sub, 1),
            '*' => (TokenKind::Mul, 1),
            '/' => (TokenKind::Div, 1),
            '%' => (TokenKind::Mod, 1),
            '^' => (TokenKind::Pow, 1),
            '=' if two == "==" => (TokenKind::EqlC, 2),
            '=' if two == "=~" => (TokenKind::EqlRegex, 2),
            '=' => (TokenKind::Assign, 1),
            '!' if two == "!=" => (TokenKind::Neq, 2),
            '!' if two == "!~" => (TokenKind::NeqRegex, 2),
            '!' => {
                let next = rest[1..]
                    .chars()
                    .next()
                    .map_or("end of input".to_string(), |n| format!("{n:?}"));
                return Err(err(pos, format!("unexpected character after '!': {next}")));
            }
            '<' if two == "<=" => (TokenKind::Lte, 2),
            '<' => (TokenKind::Lss, 1),
            '>' if two == ">=" => (TokenKind::Gte, 2),
            '>' => (TokenKind::Gtr, 1),
            '"' | '\'' | '`' => {
                let (s, len) = lex_string(rest, c).map_err(|(off, msg)| err(pos + off, msg))?;
                (TokenKind::Str(s), len)
            }
            c if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|n: char| n.is_ascii_digit())) => {
                let (kind, len) = lex_number(rest).map_err(|msg| err(pos, msg))?;
                if rest[len..].starts_with(|n: char| n.is_alphanumeric() || n == '_' || n == '.') {
                    let end = rest[len..]
                        .find(|n: char| !(n.is_alphanumeric() || n == '_' || n == '.'))
                        .map_or(rest.len(), |e| e + len);
                    return Err(err(pos, format!("bad number or duration syntax: {:?}", &rest[..end])));
                }
                (kind, len)
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let word = identifier(rest).map_or(&rest[..1], |(_, w)| w);
                let kind = if !in_braces && (word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan")) {
                    TokenKind::Number(if word.eq_ignore_ascii_case("inf") {
                        f64::INFINITY
                    } else {
                        f64::NAN
                    })
                } else {
                    TokenKind::Ident
                };
                (kind, word.len())
            }
            other => return Err(err(pos, format!("unexpected character: {other:?}"))),
        };
        pos += len;
        tokens.push(Token { kind, start, end: pos });
    }
    if let Some(&(o, at)) = open.last() {
        let msg = match o {
            '(' => "unclosed left parenthesis",
            '{' => "unexpected end of input inside braces",
            _ => "unclosed left bracket",
        };
        return Err(err(if o == '{' { input.len() } else { at }, msg.to_string()));
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: input.len(),
        end: input.len(),
    });
    Ok(tokens)
}

fn bracket_name(c: char) -> &'static str {
    match c {
        '(' | ')' => "parenthesis",
        '{' | '}' => "brace",
        _ => "bracket",
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn identifier(i: &str) -> IResult<&str, &str> {
    recognize(pair_ident()).parse(i)
}

fn pair_ident<'a>() -> impl Parser<&'a str, Output = (char, &'a str), Error = nom::error::Error<&'a str>> {
    (
        satisfy(|c| c.is_ascii_alphabetic() || c == '_' || c == ':'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
    )
}

/// Decimal digits with single underscores between them (`1_000`).
fn digits(i: &str) -> IResult<&str, &str> {
    recognize((digit1, many0((char('_'), digit1)))).parse(i)
}

fn hex_number(i: &str) -> IResult<&str, &str> {
    recognize((
        char('0'),
        one_of("xX"),
        opt(char('_')),
        hex_digit1,
        many0((char('_'), hex_digit1)),
    ))
    .parse(i)
}

fn decimal_number(i: &str) -> IResult<&str, &str> {
    let mantissa = alt((
        recognize((digits, opt((char('.'), opt(digits))))),
        recognize((char('.'), digits)),
    ));
    recognize((mantissa, opt((one_of("eE"), opt(one_of("+-")), digit1)))).parse(i)
}

fn duration_parts(i: &str) -> IResult<&str, Vec<(&str, &str)>> {
    let unit = alt((tag("ms"), tag("s"), tag("m"), tag("h"), tag("d"), tag("w"), tag("y")));
    many1((digit1, unit)).parse(i)
}

/// Parses a duration like `1h30m` into milliseconds, checking unit order and overflow.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let parts = match duration_parts(s) {
        Ok(("", parts)) => parts,
        _ => return Err(format!("not a valid duration string: {s:?}")),
    };
    let mut total: i64 = 0;
    let mut last_unit = None;
    for (num, unit) in parts {
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| format!("unknown unit in {s:?}"))?;
        if last_unit.is_some_and(|l| idx <= l) {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        last_unit = Some(idx);
        let n: i64 = num.parse().map_err(|_| "duration out of range".to_string())?;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|ms| total.checked_add(ms))
            .filter(|ms| ms.checked_mul(1_000_000).is_some())
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(total)
}

/// Lexes a number or duration at the start of `s`; returns the token and its byte length.
fn lex_number(s: &str) -> Result<(TokenKind, usize), String> {
    if let Ok((rest, _)) = duration_parts(s) {
        let text = &s[..s.len() - rest.len()];
        return Ok((TokenKind::Duration(parse_duration(text)?), text.len()));
    }
    if let Ok((_, text)) = hex_number(s) {
        let digits: String = text[2..].chars().filter(|&c| c != '_').collect();
        let v = u64::from_str_radix(&digits, 16)
            .map(|v| v as f64)
            .unwrap_or(f64::INFINITY);
        return Ok((TokenKind::Number(v), text.len()));
    }
    let (_, text) = decimal_number(s).map_err(|_| format!("bad number syntax: {s:?}"))?;
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    // Like Go's strconv.ParseInt(s, 0, 64): a leading zero makes an all-octal integer octal.
    let octal = clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|b| (b'0'..=b'7').contains(&b));
    let v = if octal {
        i64::from_str_radix(&clean[1..], 8)
            .map(|v| v as f64)
            .unwrap_or(f64::INFINITY)
    } else {
        clean.parse::<f64>().map_err(|e| format!("error parsing number: {e}"))?
    };
    Ok((TokenKind::Number(v), text.len()))
}

/// Lexes a quoted string starting with `quote` at `s[0]`. Returns the unescaped text and the
/// byte length consumed, or the offset and message of the first error.
pub(crate) fn lex_string(s: &str, quote: char) -> Result<(String, usize), (usize, String)> {
    let mut out: Vec<u8> = Vec::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((String::from_utf8_lossy(&out).into_owned(), i + 1));
        }
        if quote == '`' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match c {
            '\n' => return Err((i, "unterminated quoted string".to_string())),
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                let simple = match e {
                    'a' => Some(7u8),
                    'b' => Some(8),
                    'f' => Some(12),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(11),
                    '\\' => Some(b'\\'),
                    c if c == quote => Some(c as u8),
                    _ => None,
                };
                if let Some(b) = simple {
                    out.push(b);
                    continue;
                }
                let (count, radix) = match e {
                    '0'..='7' => (2, 8),
                    'x' => (2, 16),
                    'u' => (4, 16),
                    'U' => (8, 16),
                    _ => return Err((j, format!("unknown escape sequence: '\\{e}'"))),
                };
                let mut value: u32 = if radix == 8 { e as u32 - '0' as u32 } else { 0 };
                for _ in 0..count {
                    let digit = chars.next().and_then(|(_, d)| d.to_digit(radix));
                    let Some(d) = digit else {
                        return Err((j, "invalid escape sequence in quoted string".to_string()));
                    };
                    value = value * radix + d;
                }
                if e == 'x' || (e != 'u' && e != 'U') {
                    if value > 255 {
                        return Err((j, "octal escape value > 255".to_string()));
                    }
                    out.push(value as u8);
                } else {
                    let Some(ch) = char::from_u32(value) else {
                        return Err((j, "invalid unicode code point in escape sequence".to_string()));
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let msg = if quote == '`' {
        "unterminated raw string"
    } else {
        "unterminated quoted string"
    };
    Err((0, msg.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s).expect("lexes").into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(kinds("0x1F"), vec![TokenKind::Number(31.0), TokenKind::Eof]);
        assert_eq!(kinds("1_000.5e1"), vec![TokenKind::Number(10005.0), TokenKind::Eof]);
        assert_eq!(
            kinds(".5 2."),
            vec![TokenKind::Number(0.5), TokenKind::Number(2.0), TokenKind::Eof]
        );
        assert_eq!(kinds("010"), vec![TokenKind::Number(8.0), TokenKind::Eof]);
        assert_eq!(kinds("1h30m"), vec![TokenKind::Duration(5_400_000), TokenKind::Eof]);
        assert_eq!(
            kinds("1y 1w 1ms"),
            vec![
                TokenKind::Duration(31_536_000_000),
                TokenKind::Duration(604_800_000),
                TokenKind::Duration(1),
                TokenKind::Eof
            ]
        );
        assert!(matches!(kinds("InF")[0], TokenKind::Number(v) if v.is_infinite()));
        assert!(matches!(kinds("nan")[0], TokenKind::Number(v) if v.is_nan()));
        assert_eq!(kinds("Infinity")[0], TokenKind::Ident);
    }

    #[test]
    fn bad_numbers() {
        let e = tokenize("1x").expect_err("fails");
        assert_eq!(e.message, "bad number or duration syntax: \"1x\"");
        assert!(tokenize("1m1h").is_err());
        assert!(tokenize("1.5m").is_err());
        assert!(tokenize("1e").is_err());
        assert_eq!(
            parse_duration("1m1m"),
            Err("not a valid duration string: \"1m1m\"".to_string())
        );
        assert_eq!(
            parse_duration("99999999999999y"),
            Err("duration out of range".to_string())
        );
    }

    #[test]
    fn strings() {
        assert_eq!(kinds(r#""a\"b\n""#)[0], TokenKind::Str("a\"b\n".into()));
        assert_eq!(kinds(r"'it\'s \x41\101\u00e9'")[0], TokenKind::Str("it's AAé".into()));
        assert_eq!(kinds(r"`raw\n`")[0], TokenKind::Str("raw\\n".into()));
        assert_eq!(kinds("`multi\nline`")[0], TokenKind::Str("multi\nline".into()));
        assert_eq!(
            tokenize("\"abc").expect_err("fails").message,
            "unterminated quoted string"
        );
        assert_eq!(
            tokenize("\"a\nb\"").expect_err("fails").message,
            "unterminated quoted string"
        );
        assert_eq!(
            tokenize(r#""\q""#).expect_err("fails").message,
            "unknown escape sequence: '\\q'"
        );
        assert_eq!(kinds(r#""\xff""#)[0], TokenKind::Str("\u{fffd}".into()));
    }

    #[test]
    fn brackets_and_colons() {
        assert_eq!(
            kinds("a:b[5m:1m]"),
            vec![
                TokenKind::Ident,
                TokenKind::LBracket,
                TokenKind::Duration(300_000),
                TokenKind::Colon,
                TokenKind::Duration(60_000),
                TokenKind::RBracket,
                TokenKind::Eof
            ]
        );
        assert_eq!(tokenize("(a").expect_err("fails").message, "unclosed left parenthesis");
        assert_eq!(
            tokenize("a)").expect_err("fails").message,
            "unexpected right parenthesis ')'"
        );
        assert_eq!(
            tokenize("a{b=\"c\"").expect_err("fails").message,
            "unexpected end of input inside braces"
        );
        assert_eq!(tokenize("a[5m").expect_err("fails").message, "unclosed left bracket");
        assert_eq!(tokenize("a $").expect_err("fails").message, "unexpected character: '$'");
    }

    #[test]
    fn comments_and_positions() {
        let toks = tokenize("foo # comment\n+ 1").expect("lexes");
        assert_eq!(toks[1].kind, TokenKind::Add);
        assert_eq!((toks[1].start, toks[1].end), (14, 15));
        assert_eq!(
            kinds("a!=b!~c=~d==e<=f>=g"),
            vec![
                TokenKind::Ident,
                TokenKind::Neq,
                TokenKind::Ident,
                TokenKind::NeqRegex,
                TokenKind::Ident,
                TokenKind::EqlRegex,
                TokenKind::Ident,
                TokenKind::EqlC,
                TokenKind::Ident,
                TokenKind::Lte,
                TokenKind::Ident,
                TokenKind::Gte,
                TokenKind::Ident,
                TokenKind::Eof
            ]
        );
    }
}
