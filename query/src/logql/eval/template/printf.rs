//! Go's `fmt.Sprint`, `Sprintln` and `Sprintf` over template values: verbs `%v %s %d %f %F %e %E %g %G
//! %q %x %X %o %b %c %t %T %%`, flags `- + # 0 space`, width and precision (also `*`), and Go's
//! `%!verb(type=value)` / `%!v(MISSING)` / `%!(EXTRA ...)` markers for mismatches.

use super::MAX_OUTPUT;
use super::value::{Value, format_exp, format_float_g};

/// `fmt.Sprint`: operands joined, with a space between two operands when neither is a string.
pub(super) fn sprint(args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&a.to_text());
        bound(&out)?;
    }
    Ok(out)
}

/// `fmt.Sprintln`: operands joined by spaces, then a newline.
pub(super) fn sprintln(args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&a.to_text());
        bound(&out)?;
    }
    out.push('\n');
    Ok(out)
}

fn bound(s: &str) -> Result<(), String> {
    if s.len() > MAX_OUTPUT {
        Err(format!("printf output exceeds {MAX_OUTPUT} bytes"))
    } else {
        Ok(())
    }
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

const MAX_WIDTH: usize = 1_000_000;

/// `fmt.Sprintf`.
pub(super) fn sprintf(format: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        let mut bad_width = false;
        let mut num = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, next: &mut usize| -> Option<usize> {
            if chars.peek().is_some_and(|&(_, c)| c == '*') {
                chars.next();
                let v = match args.get(*next) {
                    Some(Value::Int(n)) => usize::try_from(*n).ok().filter(|n| *n <= MAX_WIDTH),
                    _ => None,
                };
                *next += 1;
                if v.is_none() {
                    bad_width = true;
                }
                return v;
            }
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(dv) = d.to_digit(10) else { break };
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(dv as usize));
                chars.next();
            }
            if n.is_some_and(|n| n > MAX_WIDTH) {
                bad_width = true;
                return None;
            }
            n
        };
        spec.width = num(&mut chars, &mut next);
        if chars.peek().is_some_and(|&(_, c)| c == '.') {
            chars.next();
            spec.prec = Some(num(&mut chars, &mut next).unwrap_or(0));
        }
        if bad_width {
            out.push_str("%!(BADWIDTH)");
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(v) => format_one(&mut out, verb, spec, v),
        }
        next += 1;
        bound(&out)?;
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|v| format!("{}={}", v.type_name(), v.to_text()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    bound(&out)?;
    Ok(out)
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    match v {
        Value::Nil => out.push_str(&format!("%!{verb}(<nil>)")),
        _ => out.push_str(&format!("%!{verb}({}={})", v.type_name(), v.to_text())),
    }
}

/// Pads `body` (already signed) to the width; zero padding goes after the sign.
fn pad(out: &mut String, body: &str, spec: Spec, numeric: bool) {
    let len = body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let (sign, digits) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &body[1..]),
            _ => (None, body),
        };
        out.extend(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

fn sign(neg: bool, spec: Spec) -> &'static str {
    if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn format_one(out: &mut String, verb: char, spec: Spec, v: &Value) {
    match (verb, v) {
        ('T', _) => pad(out, v.type_name(), spec, false),
        ('v' | 's', Value::Str(s)) => pad(out, &truncate(s, spec.prec), spec, false),
        ('q', Value::Str(s)) => pad(out, &quote(s), spec, false),
        ('x' | 'X', Value::Str(s)) => {
            let hex: String = s
                .bytes()
                .map(|b| {
                    if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            pad(out, &hex, spec, false)
        }
        ('v' | 'd', Value::Int(i)) => int(out, *i, 10, spec, ""),
        ('b', Value::Int(i)) => int(out, *i, 2, spec, if spec.sharp { "0b" } else { "" }),
        ('o', Value::Int(i)) => int(out, *i, 8, spec, if spec.sharp { "0" } else { "" }),
        ('x', Value::Int(i)) => int(out, *i, 16, spec, if spec.sharp { "0x" } else { "" }),
        ('X', Value::Int(i)) => {
            let mut s = String::new();
            int(&mut s, *i, 16, spec, if spec.sharp { "0X" } else { "" });
            out.push_str(&s.to_uppercase());
        }
        ('c', Value::Int(i)) => {
            let c = u32::try_from(*i).ok().and_then(char::from_u32).unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), spec, false)
        }
        ('q', Value::Int(i)) => {
            let c = u32::try_from(*i).ok().and_then(char::from_u32).unwrap_or('\u{fffd}');
            pad(out, &format!("'{}'", c.escape_default()), spec, false)
        }
        ('v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F', Value::Float(f)) => float(out, *f, verb, spec),
        ('v' | 't', Value::Bool(b)) => pad(out, if *b { "true" } else { "false" }, spec, false),
        ('v' | 's', Value::Time(t)) => pad(out, &truncate(&t.go_string(), spec.prec), spec, false),
        ('q', Value::Time(t)) => pad(out, &quote(&t.go_string()), spec, false),
        ('v', Value::Nil) => pad(out, "<nil>", spec, false),
        _ => bad_verb(out, verb, v),
    }
}

fn truncate(s: &str, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    }
}

fn int(out: &mut String, i: i64, radix: u32, spec: Spec, prefix: &str) {
    let mag = i.unsigned_abs();
    let mut digits = match radix {
        2 => format!("{mag:b}"),
        8 => format!("{mag:o}"),
        16 => format!("{mag:x}"),
        _ => mag.to_string(),
    };
    let mut spec = spec;
    if let Some(p) = spec.prec {
        if p == 0 && i == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
        spec.zero = false;
    }
    pad(out, &format!("{}{prefix}{digits}", sign(i < 0, spec)), spec, true);
}

fn float(out: &mut String, f: f64, verb: char, spec: Spec) {
    if !f.is_finite() {
        let body = if f.is_nan() {
            format!(
                "{}NaN",
                if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                }
            )
        } else if f > 0.0 {
            format!(
                "{}Inf",
                if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                }
            )
        } else {
            "-Inf".to_string()
        };
        let mut s = spec;
        s.zero = false;
        return pad(out, &body, s, true);
    }
    let neg = f.is_sign_negative() && f != 0.0;
    let a = f.abs();
    let body = match verb {
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), a),
        'e' | 'E' => exp_form(a, spec.prec.unwrap_or(6)),
        _ => format_float_g(a, if verb == 'v' { None } else { spec.prec }),
    };
    let body = if verb.is_ascii_uppercase() {
        body.to_uppercase()
    } else {
        body
    };
    pad(out, &format!("{}{body}", sign(neg, spec)), spec, true);
}

/// `%e` with `prec` digits after the point: `1.234560e+06`.
fn exp_form(a: f64, prec: usize) -> String {
    let e = format!("{:.*e}", prec, a);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    format!("{mant}{}", format_exp(exp.parse().unwrap_or(0)))
}

/// Go's `strconv.Quote`.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
