//! RFC 3339 timestamps of container log lines, as Unix nanoseconds.
//!
//! Docker json-file and the Kubernetes CRI format both write Go's `RFC3339Nano` layout
//! (`2006-01-02T15:04:05.999999999Z07:00`): a fraction of one to nine digits with trailing zeros
//! removed (so its width varies, and it is absent for whole seconds), then `Z` or a `±hh:mm` offset.
//! [`parse_rfc3339_nanos`] accepts exactly that, strictly: upper-case `T` and `Z`, two-digit fields,
//! real calendar dates (leap years included), seconds `00`-`59` (Go rejects a leap second `60` too).
//!
//! Times before 1970 are supported and come out negative. The result must fit an `i64` of
//! nanoseconds, i.e. lie between 1677-09-21 and 2262-04-11; anything outside is an error.

use crate::{Error, Result};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 timestamp (Go's `RFC3339Nano` output) into nanoseconds since the Unix epoch.
///
/// Accepts `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm)`. Errors name the input and what was wrong.
///
/// ```
/// use scraper::logs::time::parse_rfc3339_nanos;
///
/// assert_eq!(parse_rfc3339_nanos("1970-01-01T00:00:01.5Z")?, 1_500_000_000);
/// assert_eq!(parse_rfc3339_nanos("1970-01-01T01:00:00+01:00")?, 0);
/// # Ok::<(), scraper::Error>(())
/// ```
pub fn parse_rfc3339_nanos(s: &str) -> Result<i64> {
    parse(s.as_bytes()).map_err(|reason| Error::LogFormat(format!("invalid timestamp {s:?}: {reason}")))
}

/// The parser proper, on bytes; the error is a static reason the caller wraps with the input.
fn parse(b: &[u8]) -> std::result::Result<i64, &'static str> {
    // The fixed part: "YYYY-MM-DDThh:mm:ss" is 19 bytes.
    if b.len() < 20 {
        return Err("too short for yyyy-mm-ddThh:mm:ssZ");
    }
    if b[4] != b'-' || b[7] != b'-' {
        return Err("expected yyyy-mm-dd");
    }
    if b[10] != b'T' {
        return Err("expected 'T' between date and time");
    }
    if b[13] != b':' || b[16] != b':' {
        return Err("expected hh:mm:ss");
    }
    let year = digits(&b[0..4]).ok_or("year is not 4 digits")?;
    let month = digits(&b[5..7]).ok_or("month is not 2 digits")?;
    let day = digits(&b[8..10]).ok_or("day is not 2 digits")?;
    let hour = digits(&b[11..13]).ok_or("hour is not 2 digits")?;
    let minute = digits(&b[14..16]).ok_or("minute is not 2 digits")?;
    let second = digits(&b[17..19]).ok_or("second is not 2 digits")?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    if hour > 23 {
        return Err("hour out of range");
    }
    if minute > 59 {
        return Err("minute out of range");
    }
    if second > 59 {
        return Err("second out of range");
    }

    // Optional fraction.
    let mut pos = 19;
    let mut nanos: i64 = 0;
    if b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        let width = pos - start;
        if width == 0 {
            return Err("empty fraction after '.'");
        }
        if width > 9 {
            return Err("fraction longer than 9 digits");
        }
        let value = digits(&b[start..pos]).ok_or("fraction is not digits")?;
        nanos = value * 10i64.pow((9 - width) as u32);
    }

    // Zone: the common case is a final 'Z'.
    let offset_secs = match &b[pos..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2]).ok_or("offset hour is not 2 digits")?;
            let om = digits(&[*m1, *m2]).ok_or("offset minute is not 2 digits")?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            let secs = oh * 3600 + om * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        [] => return Err("missing zone, expected 'Z' or ±hh:mm"),
        _ => return Err("expected 'Z' or ±hh:mm after the seconds"),
    };

    let days = days_from_civil(year, month, day);
    let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset_secs;
    // i128 so that the lowest representable instant (whole seconds below i64::MIN) still adds up.
    let total = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos);
    i64::try_from(total).map_err(|_| "out of the range of i64 nanoseconds (1677..2262)")
}

/// The value of a run of ASCII digits (at most 18, so it cannot overflow), or `None`.
fn digits(b: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31, year 0-9999).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Count from March so the leap day is the last day of the (shifted) year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // 0..=399
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days lie between 0000-03-01 and 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> i64 {
        match parse_rfc3339_nanos(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn epoch_and_fractions() {
        assert_eq!(p("1970-01-01T00:00:00Z"), 0);
        assert_eq!(p("1970-01-01T00:00:00.000000001Z"), 1);
        assert_eq!(p("1970-01-01T00:00:00.1Z"), 100_000_000);
        assert_eq!(p("1970-01-01T00:00:00.12Z"), 120_000_000);
        assert_eq!(p("2019-01-01T11:11:11.111111111Z"), 1_546_341_071_111_111_111);
        assert_eq!(p("2016-10-06T00:17:09.669794202Z"), 1_475_713_029_669_794_202);
        assert_eq!(p("2016-10-06T00:17:09.6697942Z"), 1_475_713_029_669_794_200);
        assert_eq!(p("2016-10-06T00:17:09Z"), 1_475_713_029_000_000_000);
    }

    #[test]
    fn offsets() {
        assert_eq!(p("2019-01-01T12:11:11.5+01:00"), p("2019-01-01T11:11:11.5Z"));
        assert_eq!(p("2019-01-01T05:41:11-05:30"), p("2019-01-01T11:11:11Z"));
        assert_eq!(p("2019-01-01T00:00:00+00:00"), p("2019-01-01T00:00:00Z"));
        assert_eq!(p("2019-01-01T00:00:00-00:00"), p("2019-01-01T00:00:00Z"));
        // Crossing a day and a year boundary.
        assert_eq!(p("2018-12-31T23:30:00-01:00"), p("2019-01-01T00:30:00Z"));
    }

    #[test]
    fn leap_years() {
        assert_eq!(p("2020-02-29T00:00:00Z"), 1_582_934_400 * NANOS_PER_SEC);
        assert_eq!(p("2000-02-29T12:00:00Z"), 951_825_600 * NANOS_PER_SEC);
        assert_eq!(
            p("2020-03-01T00:00:00Z") - p("2020-02-28T00:00:00Z"),
            2 * SECS_PER_DAY * NANOS_PER_SEC
        );
        assert!(parse_rfc3339_nanos("2019-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339_nanos("1900-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339_nanos("2021-04-31T00:00:00Z").is_err());
    }

    #[test]
    fn before_1970_is_negative() {
        assert_eq!(p("1969-12-31T23:59:59Z"), -NANOS_PER_SEC);
        assert_eq!(p("1969-12-31T23:59:59.9Z"), -100_000_000);
        assert_eq!(p("1900-01-01T00:00:00Z"), -2_208_988_800 * NANOS_PER_SEC);
    }

    #[test]
    fn i64_range_limits() {
        assert_eq!(p("2262-04-11T23:47:16.854775807Z"), i64::MAX);
        assert!(parse_rfc3339_nanos("2262-04-11T23:47:16.854775808Z").is_err());
        assert!(parse_rfc3339_nanos("9999-12-31T23:59:59Z").is_err());
        assert_eq!(p("1677-09-21T00:12:43.145224192Z"), i64::MIN);
        assert!(parse_rfc3339_nanos("1677-09-21T00:12:43.145224191Z").is_err());
        assert!(parse_rfc3339_nanos("0001-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2019-01-01",
            "2019-01-01 11:11:11Z",
            "2019-01-01t11:11:11Z",
            "2019-01-01T11:11:11z",
            "2019-01-01T11:11:11",
            "2019-01-01T11:11:11.Z",
            "2019-01-01T11:11:11.1234567890Z",
            "2019-01-01T11:11:11+0100",
            "2019-01-01T11:11:11+01",
            "2019-01-01T11:11:11+24:00",
            "2019-13-01T11:11:11Z",
            "2019-00-01T11:11:11Z",
            "2019-01-00T11:11:11Z",
            "2019-01-01T24:00:00Z",
            "2019-01-01T11:60:00Z",
            "2019-01-01T11:11:60Z",
            "2019-01-01T11:11:11ZZ",
            "2019-1-01T11:11:11Z",
            "+019-01-01T11:11:11Z",
            "2019-01-01T11:11:11.5 ",
        ] {
            assert!(parse_rfc3339_nanos(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn error_names_input() {
        let Err(Error::LogFormat(msg)) = parse_rfc3339_nanos("2019-13-01T00:00:00Z") else {
            panic!("expected a log format error");
        };
        assert_eq!(msg, "invalid timestamp \"2019-13-01T00:00:00Z\": month out of range");
    }

    #[test]
    fn days_from_civil_matches_day_counting() {
        // Walk day by day from 1960 to 2030 and compare with a naive count.
        let mut expected = days_from_civil(1960, 1, 1);
        assert_eq!(expected, -3653);
        for year in 1960..2030 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), expected, "{year}-{month}-{day}");
                    expected += 1;
                }
            }
        }
    }
}
