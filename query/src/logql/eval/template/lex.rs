//! Lexer for Go template text: text runs, `{{ }}` actions with `{{-`/`-}}` trim markers, comments, and
//! the tokens inside actions (fields, variables, identifiers, literals, `|`, `(`, `)`, `:=`, `=`).

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// Literal text outside actions (trim markers already applied).
    Text(String),
    /// `{{`.
    Open,
    /// `}}`.
    Close,
    /// An identifier: a function name or keyword.
    Ident(String),
    /// `.name` (without the dot).
    Field(String),
    /// A lone `.`.
    Dot,
    /// `$` or `$name` (with the dollar).
    Var(String),
    /// A quoted or raw string literal, unescaped.
    Str(String),
    /// A number literal as written.
    Number(String),
    /// A character constant: its code point.
    Char(i64),
    /// `true` / `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `|`.
    Pipe,
    /// `:=`.
    Declare,
    /// `=`.
    Assign,
    /// `,`.
    Comma,
}

/// A token with its 1-based line and whether white space preceded it inside an action.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    /// The kind.
    pub tok: Tok,
    /// 1-based line of the token start.
    pub line: usize,
    /// White space directly before the token (fields chain only without it).
    pub spaced: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits template text into tokens; errors are `(line, message)`.
pub(super) fn lex(src: &str) -> Result<Vec<Token>, (usize, String)> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    let mut trim_next_text = false;
    while pos < b.len() {
        let open = src[pos..].find("{{").map(|i| pos + i);
        let text_end = open.unwrap_or(b.len());
        let mut text = &src[pos..text_end];
        if trim_next_text {
            text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
        }
        let mut action = pos;
        let mut trim_left = false;
        if let Some(o) = open {
            action = o + 2;
            if b.get(action) == Some(&b'-') && b.get(action + 1).is_some_and(|&c| is_space(c)) {
                trim_left = true;
                action += 1;
            }
        }
        if trim_left {
            text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
        }
        if !text.is_empty() {
            toks.push(Token {
                tok: Tok::Text(text.to_string()),
                line,
                spaced: false,
            });
        }
        line += src[pos..text_end].matches('\n').count();
        let Some(open) = open else { break };
        let mut i = action;
        // A comment must open right after the delimiter (and optional trim marker).
        let after_space = if trim_left {
            i + b[i..].iter().take_while(|&&c| is_space(c)).count()
        } else {
            i
        };
        if src[after_space..].starts_with("/*") {
            let end = src[after_space + 2..]
                .find("*/")
                .ok_or((line, "unclosed comment".to_string()))?;
            let close = after_space + 2 + end + 2;
            line += src[open..close].matches('\n').count();
            let (next, trim) = if src[close..].starts_with("}}") {
                (close + 2, false)
            } else if close < b.len() && is_space(b[close]) && src[close + 1..].starts_with("-}}") {
                (close + 4, true)
            } else {
                return Err((line, "comment ends before closing delimiter".to_string()));
            };
            pos = next;
            trim_next_text = trim;
            continue;
        }
        toks.push(Token {
            tok: Tok::Open,
            line,
            spaced: false,
        });
        let (next, trim_right) = lex_action(src, &mut i, &mut line, &mut toks)?;
        pos = next;
        trim_next_text = trim_right;
    }
    Ok(toks)
}

/// Lexes inside an action starting at `*i`; returns the position after `}}` and whether it trims.
fn lex_action(
    src: &str,
    i: &mut usize,
    line: &mut usize,
    toks: &mut Vec<Token>,
) -> Result<(usize, bool), (usize, String)> {
    let b = src.as_bytes();
    loop {
        let mut spaced = false;
        while *i < b.len() && is_space(b[*i]) {
            if b[*i] == b'\n' {
                *line += 1;
            }
            *i += 1;
            spaced = true;
        }
        let rest = &src[*i..];
        if spaced && rest.starts_with("-}}") {
            toks.push(Token {
                tok: Tok::Close,
                line: *line,
                spaced,
            });
            return Ok((*i + 3, true));
        }
        if rest.starts_with("}}") {
            toks.push(Token {
                tok: Tok::Close,
                line: *line,
                spaced,
            });
            return Ok((*i + 2, false));
        }
        let Some(c) = rest.chars().next() else {
            return Err((*line, "unclosed action".to_string()));
        };
        let start_line = *line;
        let tok = match c {
            '|' => one(i, Tok::Pipe),
            '(' => one(i, Tok::LParen),
            ')' => one(i, Tok::RParen),
            ',' => one(i, Tok::Comma),
            '=' => one(i, Tok::Assign),
            ':' if rest.starts_with(":=") => {
                *i += 2;
                Tok::Declare
            }
            '"' => lex_quoted(src, i, *line)?,
            '`' => {
                let end = rest[1..]
                    .find('`')
                    .ok_or((*line, "unterminated raw quoted string".to_string()))?;
                let s = &rest[1..1 + end];
                *line += s.matches('\n').count();
                *i += end + 2;
                Tok::Str(s.to_string())
            }
            '\'' => lex_char(src, i, *line)?,
            '$' => {
                let n = rest[1..]
                    .chars()
                    .take_while(|&c| is_ident_char(c))
                    .map(char::len_utf8)
                    .sum::<usize>();
                *i += 1 + n;
                Tok::Var(rest[..1 + n].to_string())
            }
            '.' if rest[1..].starts_with(|c: char| c.is_ascii_digit()) => lex_number(src, i),
            '.' => {
                let n = rest[1..]
                    .chars()
                    .take_while(|&c| is_ident_char(c))
                    .map(char::len_utf8)
                    .sum::<usize>();
                *i += 1 + n;
                if n == 0 {
                    Tok::Dot
                } else {
                    Tok::Field(rest[1..1 + n].to_string())
                }
            }
            '+' | '-' if rest[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') => lex_number(src, i),
            '0'..='9' => lex_number(src, i),
            c if c == '_' || c.is_alphabetic() => {
                let n = rest
                    .chars()
                    .take_while(|&c| is_ident_char(c))
                    .map(char::len_utf8)
                    .sum::<usize>();
                *i += n;
                match &rest[..n] {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    word => Tok::Ident(word.to_string()),
                }
            }
            other => return Err((*line, format!("unexpected {other:?} in command"))),
        };
        toks.push(Token {
            tok,
            line: start_line,
            spaced,
        });
    }
}

fn one(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

fn lex_number(src: &str, i: &mut usize) -> Tok {
    let b = src.as_bytes();
    let start = *i;
    let mut j = start;
    if matches!(b[j], b'+' | b'-') {
        j += 1;
    }
    let hex = src[j..].starts_with("0x") || src[j..].starts_with("0X");
    while j < b.len() {
        let c = b[j];
        let exp_sign = matches!(c, b'+' | b'-')
            && j > start
            && (if hex {
                matches!(b[j - 1], b'p' | b'P')
            } else {
                matches!(b[j - 1], b'e' | b'E')
            });
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exp_sign {
            j += 1;
        } else {
            break;
        }
    }
    *i = j;
    Tok::Number(src[start..j].to_string())
}

/// Decodes one Go escape after a backslash at `b[*j]`, appending bytes.
fn unescape(b: &[u8], j: &mut usize, quote: u8, out: &mut Vec<u8>) -> Result<(), String> {
    let c = *b.get(*j).ok_or("unterminated escape")?;
    *j += 1;
    let simple = match c {
        b'a' => Some(7u8),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        q if q == quote => Some(q),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return Ok(());
    }
    let take = |j: &mut usize, n: usize, radix: u32| -> Result<u32, String> {
        let digits = b.get(*j..*j + n).ok_or("invalid syntax in escape")?;
        let text = std::str::from_utf8(digits).map_err(|_| "invalid syntax in escape")?;
        let v = u32::from_str_radix(text, radix).map_err(|_| format!("invalid escape \\{}{text}", c as char))?;
        *j += n;
        Ok(v)
    };
    match c {
        b'x' => out.push(take(j, 2, 16)? as u8),
        b'0'..=b'7' => {
            *j -= 1;
            let v = take(j, 3, 8)?;
            out.push(u8::try_from(v).map_err(|_| "octal escape value > 255")?);
        }
        b'u' | b'U' => {
            let v = take(j, if c == b'u' { 4 } else { 8 }, 16)?;
            let ch = char::from_u32(v).ok_or("escape sequence is invalid unicode code point")?;
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
        other => return Err(format!("unknown escape sequence \\{}", other as char)),
    }
    Ok(())
}

fn lex_quoted(src: &str, i: &mut usize, line: usize) -> Result<Tok, (usize, String)> {
    let b = src.as_bytes();
    let mut j = *i + 1;
    let mut out = Vec::new();
    loop {
        match b.get(j) {
            None | Some(b'\n') => return Err((line, "unterminated quoted string".to_string())),
            Some(b'"') => break,
            Some(b'\\') => {
                j += 1;
                unescape(b, &mut j, b'"', &mut out).map_err(|e| (line, e))?;
            }
            Some(&c) => {
                out.push(c);
                j += 1;
            }
        }
    }
    *i = j + 1;
    Ok(Tok::Str(String::from_utf8_lossy(&out).into_owned()))
}

fn lex_char(src: &str, i: &mut usize, line: usize) -> Result<Tok, (usize, String)> {
    let b = src.as_bytes();
    let bad = || (line, "malformed character constant".to_string());
    let mut j = *i + 1;
    let value = match b.get(j) {
        None | Some(b'\n') | Some(b'\'') => return Err(bad()),
        Some(b'\\') => {
            j += 1;
            let mut out = Vec::new();
            unescape(b, &mut j, b'\'', &mut out).map_err(|e| (line, e))?;
            match std::str::from_utf8(&out).ok().and_then(|s| s.chars().next()) {
                Some(c) if out.len() == c.len_utf8() => i64::from(u32::from(c)),
                _ if out.len() == 1 => i64::from(out[0]),
                _ => return Err(bad()),
            }
        }
        Some(_) => {
            let c = src[j..].chars().next().ok_or_else(bad)?;
            j += c.len_utf8();
            i64::from(u32::from(c))
        }
    };
    if b.get(j) != Some(&b'\'') {
        return Err(bad());
    }
    *i = j + 1;
    Ok(Tok::Char(value))
}
