//! The value conversions of label filters and `unwrap`: Go's `time.ParseDuration`, go-humanize's
//! `ParseBytes` and Go's `strconv.ParseFloat`, rewritten from their documented behaviour.

/// 2^63: the magnitude bound of Go's `time.Duration` (an `int64` of nanoseconds).
const DURATION_LIMIT: u64 = 1 << 63;

/// Go `time.ParseDuration` (e.g. "1h2m3.5s", "300ms", "-1.5h") → seconds as f64.
///
/// A duration is an optional sign and a sequence of decimal numbers, each with an optional fraction and a
/// required unit: `ns`, `us` (or `µs`/`μs`), `ms`, `s`, `m`, `h` (`"1h30m"`, `".5s"`, `"1.s"`). The bare
/// `"0"` (with an optional sign) is the only unit-less value. No spaces are allowed. Values beyond about
/// ±292 years (an `int64` of nanoseconds) are rejected. The result is computed in whole nanoseconds, like
/// Go, and then divided by 1e9.
pub fn parse_duration_seconds(s: &str) -> Option<f64> {
    parse_duration_nanos(s).map(|ns| ns as f64 / 1e9)
}

/// [`parse_duration_seconds`] in integer nanoseconds.
pub fn parse_duration_nanos(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let first = rest.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return None;
        }
        let (mut value, after, has_int) = leading_int(rest)?;
        rest = after;
        let (mut fraction, mut scale, mut has_fraction) = (0u64, 1f64, false);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let (f, sc, after, any) = leading_fraction(after_dot);
            (fraction, scale, has_fraction, rest) = (f, sc, any, after);
        }
        if !has_int && !has_fraction {
            return None;
        }
        let unit_end = rest
            .bytes()
            .position(|b| b == b'.' || b.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit: u64 = match &rest[..unit_end] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_end..];
        if value > DURATION_LIMIT / unit {
            return None;
        }
        value *= unit;
        if fraction > 0 {
            value = value.checked_add((fraction as f64 * (unit as f64 / scale)) as u64)?;
            if value > DURATION_LIMIT {
                return None;
            }
        }
        total = total.checked_add(value)?;
        if total > DURATION_LIMIT {
            return None;
        }
    }
    if neg {
        return Some((total as i128).wrapping_neg() as i64);
    }
    if total > DURATION_LIMIT - 1 {
        return None;
    }
    Some(total as i64)
}

/// Consumes leading decimal digits: (value, rest, whether any digit was read); `None` on overflow.
fn leading_int(s: &str) -> Option<(u64, &str, bool)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut x: u64 = 0;
    for b in s[..digits].bytes() {
        if x > DURATION_LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(b - b'0');
        if x > DURATION_LIMIT {
            return None;
        }
    }
    Some((x, &s[digits..], digits > 0))
}

/// Consumes the digits of a fraction: (digits as an integer, 10^kept digits, rest, whether any digit was
/// read). Digits that no longer fit are ignored, as Go does.
fn leading_fraction(s: &str) -> (u64, f64, &str, bool) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    for b in s[..digits].bytes() {
        if overflow {
            continue;
        }
        if x > (DURATION_LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > DURATION_LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[digits..], digits > 0)
}

/// Humanised bytes as Loki's `bytes()` unwrap and bytes label filters read them (go-humanize `ParseBytes`):
/// "20MB", "1KiB", "2 GB", "42", "1,000 kB" → bytes as f64.
///
/// The number is the leading run of ASCII digits, `.` and `,` (commas are dropped, then it must be a valid
/// decimal such as `1.5` or `.5`); what follows, trimmed and lower-cased, must be a unit: none or `b`;
/// decimal `k`/`kb`=1000, `m`/`mb`=1000², `g`/`gb`, `t`/`tb`, `p`/`pb`, `e`/`eb`; binary `ki`/`kib`=1024,
/// `mi`/`mib`=1024², `gi`/`gib`, `ti`/`tib`, `pi`/`pib`, `ei`/`eib`. No sign is accepted. The product is
/// truncated to whole bytes; 2^64 or more is rejected.
pub fn parse_bytes(s: &str) -> Option<f64> {
    let end = s
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.' || b == b','))
        .unwrap_or(s.len());
    let number = s[..end].replace(',', "");
    if number.is_empty() || !number.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let unit = s[end..].trim().to_lowercase();
    const K: f64 = 1000.0;
    const KI: f64 = 1024.0;
    let multiplier = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => K,
        "m" | "mb" => K * K,
        "g" | "gb" => K * K * K,
        "t" | "tb" => K * K * K * K,
        "p" | "pb" => K * K * K * K * K,
        "e" | "eb" => K * K * K * K * K * K,
        "ki" | "kib" => KI,
        "mi" | "mib" => KI * KI,
        "gi" | "gib" => KI * KI * KI,
        "ti" | "tib" => KI * KI * KI * KI,
        "pi" | "pib" => KI * KI * KI * KI * KI,
        "ei" | "eib" => KI * KI * KI * KI * KI * KI,
        _ => return None,
    };
    let bytes = value * multiplier;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return None;
    }
    Some(bytes.trunc())
}

/// The number a numeric label filter or a plain `unwrap` reads: Go `strconv.ParseFloat(s, 64)`.
///
/// Accepted: decimal floats with an optional sign, fraction and exponent (`"42"`, `"-1.5e3"`, `".5"`,
/// `"5."`); `inf`/`infinity` with an optional sign and `nan` (any case, no sign on `nan`); hexadecimal
/// floats with a mandatory binary exponent (`"0x1.8p1"` = 3), where `_` may separate digits. No surrounding
/// spaces. A decimal out of the f64 range (`"1e400"`) is rejected, as Go reports it as an error.
pub fn parse_number(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return (body.len() == s.len()).then_some(f64::NAN);
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        return parse_hex_float(hex).map(|v| sign * v);
    }
    let well_formed = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if !well_formed {
        return None;
    }
    let value: f64 = body.parse().ok()?;
    value.is_finite().then_some(sign * value)
}

/// The part of a hexadecimal float after `0x` (lower-cased): hex digits with an optional `.`, then `p` and a
/// signed decimal exponent. `_` may appear between digits (or right after the prefix).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exponent) = s.split_once('p')?;
    // Underscores: each must follow a digit or the prefix and precede a digit.
    let m = mantissa.as_bytes();
    for (i, &b) in m.iter().enumerate() {
        if b == b'_' {
            let before_ok = i == 0 || m[i - 1].is_ascii_hexdigit();
            let after_ok = m.get(i + 1).is_some_and(u8::is_ascii_hexdigit);
            if !before_ok || !after_ok {
                return None;
            }
        }
    }
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let digits = |t: &str| t.bytes().filter(|&b| b != b'_').collect::<Vec<u8>>();
    let (int_digits, frac_digits) = (digits(int_part), digits(frac_part));
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    if !int_digits.iter().chain(&frac_digits).all(u8::is_ascii_hexdigit) {
        return None;
    }
    // Keep the first 15 significant hex digits (60 bits); later ones only shift the binary exponent.
    let mut mant: u64 = 0;
    let mut shift: i64 = 0;
    let mut kept = 0;
    for (i, &d) in int_digits.iter().chain(&frac_digits).enumerate() {
        let v = u64::from(char::from(d).to_digit(16)?);
        let in_fraction = i >= int_digits.len();
        if kept < 15 {
            if mant != 0 || v != 0 {
                kept += 1;
            }
            mant = mant * 16 + v;
            if in_fraction {
                shift -= 4;
            }
        } else if !in_fraction {
            shift += 4;
        }
    }
    let (exp_neg, exp_digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp = exp_digits
        .bytes()
        .fold(0i64, |acc, b| (acc * 10 + i64::from(b - b'0')).min(1 << 20));
    let total = (if exp_neg { -exp } else { exp }) + shift;
    // Two factors, so that a large mantissa with a very negative exponent does not underflow early.
    let total = total.clamp(-2200, 2200) as i32;
    let value = mant as f64 * 2f64.powi(total / 2) * 2f64.powi(total - total / 2);
    value.is_finite().then_some(value)
}
