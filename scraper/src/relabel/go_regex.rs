//! Go RE2 regular-expression syntax translated to the `regex` crate's, so relabeling regexes mean
//! what they mean in Prometheus (ASCII `\d \w \s \b`, `\Q…\E`, literal `{` that is not a
//! repetition, Go's error cases).

/// Rewrites an RE2 (Go `regexp`) pattern into the Rust `regex` dialect with the same meaning.
pub(super) fn translate_go_regex(source: &str) -> Result<String, String> {
    let cs: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len() + 16);
    let mut i = 0;
    let mut after_repeat = false;
    while let Some(&c) = cs.get(i) {
        let mut is_repeat = false;
        match c {
            '\\' => i = translate_escape(&cs, i, &mut out)?,
            '[' => i = translate_class(&cs, i, &mut out)?,
            '*' | '+' | '?' => {
                if after_repeat {
                    return Err(format!("invalid nested repetition operator at {c:?}"));
                }
                out.push(c);
                i = lazy_suffix(&cs, i + 1, &mut out);
                is_repeat = true;
            }
            '{' => match parse_repeat(&cs, i) {
                Some((min, max, end)) => {
                    if after_repeat {
                        return Err("invalid nested repetition operator at '{'".into());
                    }
                    let bad = |n: i64| !(0..=1000).contains(&n);
                    if bad(min) || max > 1000 || (max >= 0 && min > max) {
                        return Err(format!(
                            "invalid repeat count {}",
                            cs[i..end].iter().collect::<String>()
                        ));
                    }
                    out.extend(&cs[i..end]);
                    i = lazy_suffix(&cs, end, &mut out);
                    is_repeat = true;
                }
                None => {
                    out.push_str("\\{");
                    i += 1;
                }
            },
            '(' => {
                out.push('(');
                i += 1;
                if cs.get(i) == Some(&'?') {
                    i = translate_group_prefix(&cs, i, &mut out)?;
                }
            }
            ']' | '}' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
        after_repeat = is_repeat;
    }
    Ok(out)
}

fn lazy_suffix(cs: &[char], i: usize, out: &mut String) -> usize {
    if cs.get(i) == Some(&'?') {
        out.push('?');
        i + 1
    } else {
        i
    }
}

/// Parses `{n}`, `{n,}` or `{n,m}` at `i` like Go: returns (min, max or -1, end index); a number with a
/// leading zero makes it no repetition at all, one of 10^8 or more becomes a count error.
fn parse_repeat(cs: &[char], i: usize) -> Option<(i64, i64, usize)> {
    fn number(cs: &[char], mut i: usize) -> Option<(i64, usize)> {
        let start = i;
        while cs.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
        if i == start || (i - start > 1 && cs[start] == '0') {
            return None;
        }
        let value = if i - start > 8 {
            1_000_000_000
        } else {
            cs[start..i]
                .iter()
                .fold(0, |n, d| n * 10 + i64::from(u32::from(*d) - u32::from('0')))
        };
        Some((value, i))
    }
    let (min, mut j) = number(cs, i + 1)?;
    let mut max = min;
    if cs.get(j) == Some(&',') {
        j += 1;
        if cs.get(j) == Some(&'}') {
            max = -1;
        } else {
            (max, j) = number(cs, j)?;
        }
    }
    (cs.get(j) == Some(&'}')).then_some((min, max, j + 1))
}

/// Copies the `?...` part of a group opener: flags (`imsU`, `-`) or a capture name.
fn translate_group_prefix(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let name_start = match (cs.get(i + 1), cs.get(i + 2)) {
        (Some('P'), Some('<')) => Some(i + 3),
        (Some('<'), _) => Some(i + 2),
        _ => None,
    };
    if let Some(start) = name_start {
        let end = (start..cs.len())
            .find(|&j| cs[j] == '>')
            .ok_or("invalid named capture")?;
        let name = &cs[start..end];
        if name.is_empty() || !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == '_') {
            return Err(format!("invalid named capture {:?}", name.iter().collect::<String>()));
        }
        out.extend(&cs[i..=end]);
        return Ok(end + 1);
    }
    let mut j = i + 1;
    while let Some(&c) = cs.get(j) {
        match c {
            'i' | 'm' | 's' | 'U' | '-' => j += 1,
            ')' | ':' => {
                out.extend(&cs[i..=j]);
                return Ok(j + 1);
            }
            _ => return Err(format!("invalid or unsupported perl syntax (?{c}")),
        }
    }
    Err("missing closing )".into())
}

/// Go's ASCII-only Perl classes, as Rust class contents.
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some((r"\t\n\x0C\r ", false)),
        'S' => Some((r"\t\n\x0C\r ", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

/// Translates a backslash escape outside a class; returns the index after it.
fn translate_escape(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&c) = cs.get(i + 1) else {
        return Err("trailing backslash at end of expression".into());
    };
    match c {
        'A' => out.push_str(r"\A"),
        'z' => out.push_str(r"\z"),
        'b' => out.push_str(r"(?-u:\b)"),
        'B' => out.push_str(r"(?-u:\B)"),
        'Q' => {
            let mut j = i + 2;
            while let Some(&lit) = cs.get(j) {
                if lit == '\\' && cs.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                push_literal(out, lit);
                j += 1;
            }
            return Ok(j);
        }
        'p' | 'P' => return translate_unicode_class(cs, i, out),
        _ => {
            if let Some((ranges, negated)) = perl_class(c) {
                out.push_str(if negated { "[^" } else { "[" });
                out.push_str(ranges);
                out.push(']');
            } else {
                let (lit, next) = parse_escape(cs, i)?;
                push_literal(out, lit);
                return Ok(next);
            }
        }
    }
    Ok(i + 2)
}

/// `\pL`, `\p{Greek}`, `\P{Greek}`, `\p{^Greek}` -> Rust's `\p{..}` / `\P{..}`.
fn translate_unicode_class(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let mut negated = cs.get(i + 1) == Some(&'P');
    let (mut name, next): (String, usize) = match cs.get(i + 2) {
        Some('{') => {
            let end = (i + 3..cs.len())
                .find(|&j| cs[j] == '}')
                .ok_or("invalid character class range")?;
            (cs[i + 3..end].iter().collect(), end + 1)
        }
        Some(&single) => (single.to_string(), i + 3),
        None => return Err("invalid character class range".into()),
    };
    if let Some(stripped) = name.strip_prefix('^') {
        negated = !negated;
        name = stripped.to_string();
    }
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!("invalid character class range \\p{{{name}}}"));
    }
    out.push_str(if negated { r"\P{" } else { r"\p{" });
    out.push_str(&name);
    out.push('}');
    Ok(next)
}

/// A character escape (`\n`, `\x41`, `\x{263a}`, `\012`, `\.`); returns the character and the index
/// after the escape.
fn parse_escape(cs: &[char], i: usize) -> Result<(char, usize), String> {
    let bad = || format!("invalid escape sequence \\{}", cs.get(i + 1).copied().unwrap_or(' '));
    let c = *cs.get(i + 1).ok_or("trailing backslash at end of expression")?;
    let octal = |j: usize| cs.get(j).and_then(|d| d.to_digit(8));
    match c {
        '0'..='7' => {
            if c != '0' && octal(i + 2).is_none() {
                return Err(bad());
            }
            let mut value = c.to_digit(8).unwrap_or(0);
            let mut j = i + 2;
            while j < i + 4
                && let Some(d) = octal(j)
            {
                value = value * 8 + d;
                j += 1;
            }
            Ok((char::from_u32(value).ok_or_else(bad)?, j))
        }
        'x' => {
            let (digits, next): (&[char], usize) = if cs.get(i + 2) == Some(&'{') {
                let end = (i + 3..cs.len()).find(|&j| cs[j] == '}').ok_or_else(bad)?;
                (&cs[i + 3..end], end + 1)
            } else {
                (cs.get(i + 2..i + 4).ok_or_else(bad)?, i + 4)
            };
            if digits.is_empty() || digits.len() > 8 {
                return Err(bad());
            }
            let value = digits
                .iter()
                .try_fold(0u32, |v, d| d.to_digit(16).map(|d| v * 16 + d))
                .ok_or_else(bad)?;
            Ok((char::from_u32(value).ok_or_else(bad)?, next))
        }
        'a' => Ok(('\x07', i + 2)),
        'f' => Ok(('\x0C', i + 2)),
        'n' => Ok(('\n', i + 2)),
        'r' => Ok(('\r', i + 2)),
        't' => Ok(('\t', i + 2)),
        'v' => Ok(('\x0B', i + 2)),
        _ if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, i + 2)),
        _ => Err(bad()),
    }
}

/// Translates a bracketed class starting at `i` (`[`); returns the index after its `]`.
fn translate_class(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    const POSIX: [&str; 14] = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper",
        "word", "xdigit",
    ];
    out.push('[');
    let mut i = i + 1;
    if cs.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = cs.get(i) else {
            return Err("missing closing ]".into());
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        if c == '[' && cs.get(i + 1) == Some(&':') {
            let close = (i + 2..cs.len().saturating_sub(1)).find(|&j| cs[j] == ':' && cs[j + 1] == ']');
            if let Some(close) = close {
                let name: String = cs[i + 2..close].iter().collect();
                if !POSIX.contains(&name.strip_prefix('^').unwrap_or(&name)) {
                    return Err(format!("invalid character class range [:{name}:]"));
                }
                out.push_str(&format!("[:{name}:]"));
                i = close + 2;
                continue;
            }
        }
        if c == '\\' {
            match cs.get(i + 1) {
                Some('p' | 'P') => {
                    i = translate_unicode_class(cs, i, out)?;
                    continue;
                }
                Some(&p) if perl_class(p).is_some() => {
                    if let Some((ranges, negated)) = perl_class(p) {
                        if negated {
                            out.push_str(&format!("[^{ranges}]"));
                        } else {
                            out.push_str(ranges);
                        }
                    }
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        let (lo, next) = class_char(cs, i)?;
        i = next;
        push_literal(out, lo);
        if cs.get(i) == Some(&'-') && cs.get(i + 1).is_some_and(|&n| n != ']') {
            let (hi, next) = class_char(cs, i + 1)?;
            if hi < lo {
                return Err(format!("invalid character class range {lo}-{hi}"));
            }
            i = next;
            out.push('-');
            push_literal(out, hi);
        }
    }
}

fn class_char(cs: &[char], i: usize) -> Result<(char, usize), String> {
    match cs.get(i) {
        Some('\\') => parse_escape(cs, i),
        Some(&c) => Ok((c, i + 1)),
        None => Err("missing closing ]".into()),
    }
}

/// Writes `c` so that Rust reads it as that literal character, inside or outside a class.
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    }
}
