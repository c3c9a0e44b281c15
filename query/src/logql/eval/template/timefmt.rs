//! Time values in UTC: Go layout formatting ("2006-01-02 15:04:05") and parsing, `time.Time.String()`,
//! and Go duration strings ("1h30m"). Written from Go's documented layout rules; no time zones but UTC.

/// An instant as seconds since the Unix epoch plus nanoseconds, always shown in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Time {
    /// Whole seconds since 1970-01-01T00:00:00Z (may be negative).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

/// Go's zero `time.Time` (0001-01-01 00:00:00 UTC), what a failed `toDate` yields.
pub(super) const ZERO_TIME: Time = Time {
    secs: -62_135_596_800,
    nanos: 0,
};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

impl Time {
    /// The instant `ns` nanoseconds after the epoch.
    pub fn from_unix_nanos(ns: i64) -> Time {
        Time {
            secs: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// The current wall-clock time.
    pub fn now() -> Time {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Time {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nanos: d.subsec_nanos(),
            },
            Err(_) => Time { secs: 0, nanos: 0 },
        }
    }

    /// Nanoseconds since the epoch, wrapping like Go's `UnixNano` outside its range.
    pub fn unix_nanos(&self) -> i64 {
        self.secs
            .wrapping_mul(1_000_000_000)
            .wrapping_add(i64::from(self.nanos))
    }

    /// Milliseconds since the epoch.
    pub fn unix_millis(&self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(i64::from(self.nanos / 1_000_000))
    }

    /// Go's `time.Time.String()` in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`.
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// Formats with a Go reference layout.
    pub fn format(&self, layout: &str) -> String {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let (hour, min, sec) = (sod / 3600, sod / 60 % 60, sod % 60);
        let mut out = String::with_capacity(layout.len() + 10);
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_chunk(rest);
            out.push_str(prefix);
            rest = suffix;
            let Some(std) = std else { break };
            match std {
                Std::LongMonth => out.push_str(MONTHS[(month - 1) as usize]),
                Std::Month => out.push_str(&MONTHS[(month - 1) as usize][..3]),
                Std::NumMonth => out.push_str(&month.to_string()),
                Std::ZeroMonth => out.push_str(&format!("{month:02}")),
                Std::LongWeekDay => out.push_str(DAYS[weekday(days)]),
                Std::WeekDay => out.push_str(&DAYS[weekday(days)][..3]),
                Std::Day => out.push_str(&day.to_string()),
                Std::UnderDay => out.push_str(&format!("{day:>2}")),
                Std::ZeroDay => out.push_str(&format!("{day:02}")),
                Std::UnderYearDay => out.push_str(&format!("{:>3}", days - days_from_civil(year, 1, 1) + 1)),
                Std::ZeroYearDay => out.push_str(&format!("{:03}", days - days_from_civil(year, 1, 1) + 1)),
                Std::Hour => out.push_str(&format!("{hour:02}")),
                Std::Hour12 => out.push_str(&hour12(hour).to_string()),
                Std::ZeroHour12 => out.push_str(&format!("{:02}", hour12(hour))),
                Std::Minute => out.push_str(&min.to_string()),
                Std::ZeroMinute => out.push_str(&format!("{min:02}")),
                Std::Second => out.push_str(&sec.to_string()),
                Std::ZeroSecond => out.push_str(&format!("{sec:02}")),
                Std::LongYear => {
                    if year < 0 {
                        out.push_str(&format!("-{:04}", -year));
                    } else {
                        out.push_str(&format!("{year:04}"));
                    }
                }
                Std::Year => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Std::PmUpper => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
                Std::PmLower => out.push_str(if hour >= 12 { "pm" } else { "am" }),
                Std::Tz => out.push_str("UTC"),
                Std::IsoTz(_) => out.push('Z'),
                Std::NumTz(shape) => out.push_str(shape.zero_offset()),
                Std::Frac { sep, digits, trim } => {
                    let all = format!("{:09}", self.nanos);
                    let mut part = &all[..digits.min(9)];
                    if trim {
                        part = part.trim_end_matches('0');
                    }
                    if !part.is_empty() || !trim {
                        out.push(sep);
                        out.push_str(part);
                        for _ in 9..digits {
                            out.push('0');
                        }
                    }
                }
            }
        }
        out
    }
}

fn hour12(hour: i64) -> i64 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

fn weekday(days: i64) -> usize {
    (days + 4).rem_euclid(7) as usize
}

/// Days since the epoch to (year, month 1-12, day 1-31) in the proleptic Gregorian calendar.
pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1-12, day) to days since the epoch.
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    days_from_civil(if month == 12 { year + 1 } else { year }, month % 12 + 1, 1) - days_from_civil(year, month, 1)
}

/// The shapes of numeric zone offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TzShape {
    Hhmm,
    Hhmmss,
    Hh,
    ColonHhmm,
    ColonHhmmss,
}

impl TzShape {
    fn zero_offset(self) -> &'static str {
        match self {
            TzShape::Hhmm => "+0000",
            TzShape::Hhmmss => "+000000",
            TzShape::Hh => "+00",
            TzShape::ColonHhmm => "+00:00",
            TzShape::ColonHhmmss => "+00:00:00",
        }
    }
}

/// One element of a Go layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PmUpper,
    PmLower,
    Tz,
    IsoTz(TzShape),
    NumTz(TzShape),
    Frac { sep: char, digits: usize, trim: bool },
}

const TZ_FORMS: [(&str, TzShape); 5] = [
    ("070000", TzShape::Hhmmss),
    ("07:00:00", TzShape::ColonHhmmss),
    ("0700", TzShape::Hhmm),
    ("07:00", TzShape::ColonHhmm),
    ("07", TzShape::Hh),
];

/// Splits `layout` into literal prefix, the first layout element (if any), and the rest.
fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let lower_at = |j: usize| b.get(j).is_some_and(u8::is_ascii_lowercase);
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii() {
            continue;
        }
        let rest = &layout[i..];
        let hit: Option<(Std, usize)> = match c {
            b'J' if rest.starts_with("January") => Some((Std::LongMonth, 7)),
            b'J' if rest.starts_with("Jan") && !lower_at(i + 3) => Some((Std::Month, 3)),
            b'M' if rest.starts_with("Monday") => Some((Std::LongWeekDay, 6)),
            b'M' if rest.starts_with("Mon") && !lower_at(i + 3) => Some((Std::WeekDay, 3)),
            b'M' if rest.starts_with("MST") => Some((Std::Tz, 3)),
            b'0' if rest.starts_with("002") => Some((Std::ZeroYearDay, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                _ => None,
            },
            b'1' if rest.starts_with("15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if rest.starts_with("2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if rest.starts_with("_2") && !rest.starts_with("_2006") => Some((Std::UnderDay, 2)),
            b'_' if rest.starts_with("__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if rest.starts_with("PM") => Some((Std::PmUpper, 2)),
            b'p' if rest.starts_with("pm") => Some((Std::PmLower, 2)),
            b'-' | b'Z' => TZ_FORMS
                .iter()
                .find(|(f, _)| rest[1..].starts_with(f))
                .map(|&(f, shape)| {
                    (
                        if c == b'Z' {
                            Std::IsoTz(shape)
                        } else {
                            Std::NumTz(shape)
                        },
                        f.len() + 1,
                    )
                }),
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let d = b[i + 1];
                let n = b[i + 1..].iter().take_while(|&&x| x == d).count();
                if b.get(i + 1 + n).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((
                        Std::Frac {
                            sep: c as char,
                            digits: n,
                            trim: d == b'9',
                        },
                        n + 1,
                    ))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = hit {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

/// Parses `value` with a Go reference layout, in UTC (numeric offsets in the value are applied).
pub(super) fn parse_time(layout: &str, value: &str) -> Result<Time, String> {
    let bad = || format!("parsing time {value:?} as {layout:?}: cannot parse");
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nanos) = (0i64, 0i64, 0i64, 0u32);
    let (mut pm, mut am, mut offset) = (false, false, 0i64);
    let mut lay = layout;
    let mut v = value;
    loop {
        let (prefix, std, suffix) = next_chunk(lay);
        v = skip_literal(v, prefix).ok_or_else(bad)?;
        let Some(std) = std else { break };
        lay = suffix;
        match std {
            Std::LongYear => {
                let digits = v
                    .get(..4)
                    .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
                    .ok_or_else(bad)?;
                year = digits.parse().map_err(|_| bad())?;
                v = &v[4..];
            }
            Std::Year => {
                let (n, r) = getnum(v, true).ok_or_else(bad)?;
                year = if n >= 69 { 1900 + n } else { 2000 + n };
                v = r;
            }
            Std::LongMonth | Std::Month => {
                let (m, r) = lookup_name(v, &MONTHS, std == Std::Month).ok_or_else(bad)?;
                month = m as i64 + 1;
                v = r;
            }
            Std::LongWeekDay | Std::WeekDay => {
                v = lookup_name(v, &DAYS, std == Std::WeekDay).ok_or_else(bad)?.1;
            }
            Std::NumMonth | Std::ZeroMonth => (month, v) = getnum(v, std == Std::ZeroMonth).ok_or_else(bad)?,
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay {
                    v = v.strip_prefix(' ').unwrap_or(v);
                }
                (day, v) = getnum(v, std == Std::ZeroDay).ok_or_else(bad)?;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let trimmed = if std == Std::UnderYearDay {
                    v.trim_start_matches(' ')
                } else {
                    v
                };
                let n = trimmed.bytes().take(3).take_while(u8::is_ascii_digit).count();
                if n == 0 || (std == Std::ZeroYearDay && n != 3) {
                    return Err(bad());
                }
                yday = trimmed[..n].parse().map_err(|_| bad())?;
                v = &trimmed[n..];
            }
            Std::Hour => (hour, v) = getnum(v, false).ok_or_else(bad)?,
            Std::Hour12 | Std::ZeroHour12 => (hour, v) = getnum(v, std == Std::ZeroHour12).ok_or_else(bad)?,
            Std::Minute | Std::ZeroMinute => (min, v) = getnum(v, std == Std::ZeroMinute).ok_or_else(bad)?,
            Std::Second | Std::ZeroSecond => {
                (sec, v) = getnum(v, std == Std::ZeroSecond).ok_or_else(bad)?;
                // Go accepts a fractional second after the seconds even if the layout has none.
                let next_is_frac = matches!(next_chunk(lay), ("", Some(Std::Frac { .. }), _));
                if !next_is_frac && v.len() >= 2 && matches!(v.as_bytes()[0], b'.' | b',') {
                    (nanos, v) = parse_frac(v).ok_or_else(bad)?;
                }
            }
            Std::PmUpper | Std::PmLower => {
                let p = v.get(..2).ok_or_else(bad)?;
                let (pm_s, am_s) = if std == Std::PmUpper {
                    ("PM", "AM")
                } else {
                    ("pm", "am")
                };
                if p == pm_s {
                    pm = true;
                } else if p == am_s {
                    am = true;
                } else {
                    return Err(bad());
                }
                v = &v[2..];
            }
            Std::Tz => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if !(3..=5).contains(&n) {
                    return Err(bad());
                }
                v = &v[n..];
            }
            Std::IsoTz(shape) | Std::NumTz(shape) => {
                if matches!(std, Std::IsoTz(_)) && v.starts_with('Z') {
                    v = &v[1..];
                } else {
                    (offset, v) = parse_offset(v, shape).ok_or_else(bad)?;
                }
            }
            Std::Frac { digits, trim, .. } => {
                if trim {
                    if v.len() >= 2 && matches!(v.as_bytes()[0], b'.' | b',') && v.as_bytes()[1].is_ascii_digit() {
                        (nanos, v) = parse_frac(v).ok_or_else(bad)?;
                    }
                } else {
                    let part = v.get(..digits + 1).ok_or_else(bad)?;
                    if !matches!(part.as_bytes()[0], b'.' | b',') || !part[1..].bytes().all(|c| c.is_ascii_digit()) {
                        return Err(bad());
                    }
                    (nanos, _) = parse_frac(part).ok_or_else(bad)?;
                    v = &v[digits + 1..];
                }
            }
        }
    }
    if !v.is_empty() {
        return Err(format!("parsing time {value:?}: extra text: {v:?}"));
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 && month < 0 {
        let start = days_from_civil(year, 1, 1);
        let (_, m, d) = civil_from_days(start + yday - 1);
        (month, day) = (m, d);
    }
    let month = if month < 0 { 1 } else { month };
    let day = if day < 0 { 1 } else { day };
    if !(1..=12).contains(&month) {
        return Err(format!("parsing time {value:?}: month out of range"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("parsing time {value:?}: day out of range"));
    }
    if hour > 23 || min > 59 || sec > 59 {
        return Err(format!("parsing time {value:?}: hour, minute or second out of range"));
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Ok(Time { secs, nanos })
}

/// Matches a literal layout prefix; a run of spaces matches one or more spaces.
fn skip_literal<'a>(mut v: &'a str, mut prefix: &str) -> Option<&'a str> {
    while let Some(c) = prefix.chars().next() {
        if c == ' ' {
            if !v.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            v = v.trim_start_matches(' ');
            continue;
        }
        v = v.strip_prefix(c)?;
        prefix = &prefix[c.len_utf8()..];
    }
    Some(v)
}

/// One or two digits (exactly two when `fixed`).
fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    let d0 = b.first().filter(|c| c.is_ascii_digit())?;
    match b.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'), &v[2..])),
        None if fixed => None,
        None => Some((i64::from(d0 - b'0'), &v[1..])),
    }
}

fn lookup_name<'a>(v: &'a str, names: &[&str], short: bool) -> Option<(usize, &'a str)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = if short { &name[..3] } else { name };
        let head = v.get(..name.len())?;
        head.eq_ignore_ascii_case(name).then(|| (i, &v[name.len()..]))
    })
}

/// A separator then digits: nanoseconds (first nine digits) and the rest.
fn parse_frac(v: &str) -> Option<(u32, &str)> {
    let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    let digits = &v[1..1 + n.min(9)];
    let mut nanos: u32 = digits.parse().ok()?;
    for _ in digits.len()..9 {
        nanos *= 10;
    }
    Some((nanos, &v[1 + n..]))
}

fn parse_offset(v: &str, shape: TzShape) -> Option<(i64, &str)> {
    let sign = match v.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let two = |s: &str, at: usize| -> Option<i64> {
        let d = s.get(at..at + 2)?;
        if d.bytes().all(|c| c.is_ascii_digit()) {
            d.parse().ok()
        } else {
            None
        }
    };
    let colon = |s: &str, at: usize| s.as_bytes().get(at) == Some(&b':');
    let (h, m, s, len) = match shape {
        TzShape::Hh => (two(v, 1)?, 0, 0, 3),
        TzShape::Hhmm => (two(v, 1)?, two(v, 3)?, 0, 5),
        TzShape::Hhmmss => (two(v, 1)?, two(v, 3)?, two(v, 5)?, 7),
        TzShape::ColonHhmm if colon(v, 3) => (two(v, 1)?, two(v, 4)?, 0, 6),
        TzShape::ColonHhmmss if colon(v, 3) && colon(v, 6) => (two(v, 1)?, two(v, 4)?, two(v, 7)?, 9),
        _ => return None,
    };
    Some((sign * (h * 3600 + m * 60 + s), &v[len..]))
}

/// Parses a Go duration ("1h30m", "-1.5s", "300ms") into seconds.
pub(super) fn parse_duration(orig: &str) -> Result<f64, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
    let mut s = orig;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        (neg, s) = (true, r);
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0.0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = 0.0f64;
    while !s.is_empty() {
        let num_len = s.bytes().take_while(|c| c.is_ascii_digit() || *c == b'.').count();
        let num = &s[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        s = &s[num_len..];
        let unit_len = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let scale = match unit {
            "" => return Err(format!("time: missing unit in duration {orig:?}")),
            "ns" => 1e-9,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        total += value * scale;
    }
    if total > 9.223_372_036_854_775e9 {
        return Err(invalid());
    }
    Ok(if neg { -total } else { total })
}
