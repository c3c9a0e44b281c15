//! The small notations inside script lines: durations, label sets, value sequences and line text.

use tsdb::Labels;

/// Label or metadata pairs, in written order.
pub type Pairs = Vec<(String, String)>;

/// Most values one `axN` expansion may produce.
const MAX_REPEAT: usize = 100_000;

/// Splits off the first whitespace-delimited word; the rest is trimmed at the start.
pub fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Parses a duration from time 0: `0`, a bare integer (seconds), or unit terms
/// (`ns us ms s m h d w`) in any combination, e.g. `1m30s`, `2s500ms`. A leading `-` negates.
pub fn parse_duration_ns(s: &str) -> Result<i64, String> {
    let bad = || format!("bad duration {s:?}");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if body.is_empty() {
        return Err(bad());
    }
    if body.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = body.parse().map_err(|_| bad())?;
        let ns = secs.checked_mul(1_000_000_000).ok_or_else(bad)?;
        return Ok(if neg { -ns } else { ns });
    }
    let mut total: i64 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit: i64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 604_800_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
    }
    Ok(if neg { -total } else { total })
}

/// Parses `name="value", ...}` (the text after an opening `{`) into pairs; returns them and the
/// text after the closing `}`. Values are double-quoted with escapes (see [`parse_quoted`]) or
/// back-quoted raw.
pub fn parse_pairs(s: &str) -> Result<(Pairs, &str), String> {
    let mut pairs = Vec::new();
    let mut rest = s.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((pairs, r));
        }
        let name_len = rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(rest.len(), |(i, _)| i);
        if name_len == 0 {
            return Err(format!("expected a label name at {rest:?}"));
        }
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected `=` after label {name:?}"))?
            .trim_start();
        let (value, r) = parse_quoted(rest)?;
        pairs.push((name.to_string(), value));
        rest = r.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.starts_with('}') {
            return Err(format!("expected `,` or `}}` at {rest:?}"));
        }
    }
}

/// Parses a label set `{a="b", c="d"}` at the start of `s`; returns it and the rest.
pub fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let s = s.trim_start();
    let body = s
        .strip_prefix('{')
        .ok_or_else(|| format!("expected a label set `{{...}}` at {s:?}"))?;
    let (pairs, rest) = parse_pairs(body)?;
    let labels = Labels::new(pairs).map_err(|e| format!("bad label set: {e}"))?;
    Ok((labels, rest))
}

/// Parses a quoted string at the start of `s`: `"..."` with escapes `\\ \" \n \t \r \e \xHH
/// \u{H..}`, or `` `...` `` raw. Returns the string and the rest.
pub fn parse_quoted(s: &str) -> Result<(String, &str), String> {
    if let Some(body) = s.strip_prefix('`') {
        let end = body.find('`').ok_or_else(|| format!("unterminated raw string {s:?}"))?;
        return Ok((body[..end].to_string(), &body[end + 1..]));
    }
    let body = s
        .strip_prefix('"')
        .ok_or_else(|| format!("expected a quoted string at {s:?}"))?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next().ok_or_else(|| format!("unterminated string {s:?}"))?;
                match e {
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'e' => out.push('\u{1b}'),
                    'x' => {
                        let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                        let v = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad \\x escape in {s:?}"))?;
                        out.push(char::from(v));
                    }
                    'u' => {
                        let mut hex = String::new();
                        if chars.next().map(|(_, c)| c) != Some('{') {
                            return Err(format!("bad \\u escape in {s:?}: want \\u{{HEX}}"));
                        }
                        for (_, c) in chars.by_ref() {
                            if c == '}' {
                                break;
                            }
                            hex.push(c);
                        }
                        let ch = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad \\u escape in {s:?}"))?;
                        out.push(ch);
                    }
                    other => return Err(format!("unknown escape \\{other} in {s:?}")),
                }
            }
            c => out.push(c),
        }
    }
    Err(format!("unterminated string {s:?}"))
}

/// A line's text: taken as written, unless it starts with `"`: then it is one quoted string
/// (for leading/trailing spaces, tabs, escapes like `\e` for ANSI colours).
pub fn parse_line_text(s: &str) -> Result<String, String> {
    if !s.starts_with('"') {
        return Ok(s.to_string());
    }
    let (text, rest) = parse_quoted(s)?;
    if !rest.trim().is_empty() {
        return Err(format!("unexpected text after the quoted line: {rest:?}"));
    }
    Ok(text)
}

/// Parses one number: decimal, exponent, `NaN`, `Inf`, `+Inf`, `-Inf`.
pub fn parse_number(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Inf" | "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) => s.parse().ok(),
        _ => None,
    }
}

/// Parses space-separated values: `N`, `_` (no point), `_xK` (K+1 gaps), `NxK` (K+1 copies),
/// `A+BxK` / `A-BxK` (K+1 values stepping by B).
pub fn parse_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out: Vec<Option<f64>> = Vec::new();
    for word in s.split_whitespace() {
        if out.len() > MAX_REPEAT {
            return Err(format!("too many values (more than {MAX_REPEAT})"));
        }
        if word == "_" {
            out.push(None);
            continue;
        }
        if let Some(v) = parse_number(word) {
            out.push(Some(v));
            continue;
        }
        let bad = || format!("bad value {word:?}");
        let (head, count) = word.rsplit_once('x').ok_or_else(bad)?;
        let count: usize = count.parse().map_err(|_| bad())?;
        if count > MAX_REPEAT {
            return Err(format!("repeat count in {word:?} is above {MAX_REPEAT}"));
        }
        if head == "_" {
            out.extend(std::iter::repeat_n(None, count + 1));
            continue;
        }
        // Split `A+B` / `A-B` at the sign that is not the leading one nor an exponent's.
        let split = head
            .char_indices()
            .skip(1)
            .find(|&(i, c)| (c == '+' || c == '-') && !matches!(head.as_bytes()[i - 1], b'e' | b'E'));
        let (start, delta) = match split {
            Some((i, _)) => (
                parse_number(&head[..i]).ok_or_else(bad)?,
                parse_number(&head[i..]).ok_or_else(bad)?,
            ),
            None => (parse_number(head).ok_or_else(bad)?, 0.0),
        };
        out.extend((0..=count).map(|k| Some(start + delta * k as f64)));
    }
    if out.len() > MAX_REPEAT {
        return Err(format!("too many values (more than {MAX_REPEAT})"));
    }
    Ok(out)
}
