//! UTC calendar arithmetic and the timestamp forms AWS logs use, as microseconds since the
//! Unix epoch. Hand-written rather than via chrono: parsing a timestamp runs once or twice per
//! line, and this fixed-layout parser is several times faster than a general one.

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The `(year, month, day)` of a day number from [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `n` ASCII digits at the start of `bytes`.
fn digits(bytes: &[u8], n: usize) -> Option<u32> {
    let mut value = 0u32;
    for &b in bytes.get(..n)? {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u32::from(digit);
    }
    Some(value)
}

/// Microseconds for a validated UTC date and time of day.
fn micros_from_parts(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(seconds * 1_000_000)
}

/// `YYYY-MM-DD` followed by `sep` and `HH:MM:SS`, as (date part, time part) validated together.
fn date_and_time(b: &[u8], sep: u8) -> Option<i64> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != sep
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    micros_from_parts(
        i64::from(digits(b, 4)?),
        digits(&b[5..], 2)?,
        digits(&b[8..], 2)?,
        digits(&b[11..], 2)?,
        digits(&b[14..], 2)?,
        digits(&b[17..], 2)?,
    )
}

/// Parses a separate UTC date `YYYY-MM-DD` and time `HH:MM:SS`, as CloudFront writes them.
pub fn parse_date_and_time(date: &str, time: &str) -> Option<i64> {
    let (d, t) = (date.as_bytes(), time.as_bytes());
    if d.len() != 10 || t.len() != 8 || d[4] != b'-' || d[7] != b'-' || t[2] != b':' || t[5] != b':'
    {
        return None;
    }
    micros_from_parts(
        i64::from(digits(d, 4)?),
        digits(&d[5..], 2)?,
        digits(&d[8..], 2)?,
        digits(t, 2)?,
        digits(&t[3..], 2)?,
        digits(&t[6..], 2)?,
    )
}

/// Parses the common-log-format time S3 writes inside brackets, `06/Feb/2019:00:00:38 +0000`,
/// converting the offset to UTC.
pub fn parse_common_log_time(s: &str) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = s.as_bytes();
    if b.len() != 26
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
        || b[20] != b' '
    {
        return None;
    }
    let month = MONTHS.iter().position(|m| m[..] == b[3..6])? as u32 + 1;
    let local = micros_from_parts(
        i64::from(digits(&b[7..], 4)?),
        month,
        digits(b, 2)?,
        digits(&b[12..], 2)?,
        digits(&b[15..], 2)?,
        digits(&b[18..], 2)?,
    )?;
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset_minutes = i64::from(digits(&b[22..], 2)? * 60 + digits(&b[24..], 2)?);
    Some(local - sign * offset_minutes * 60_000_000)
}

/// Parses ISO-8601 UTC as AWS writes it: `2018-07-02T22:23:00.186641Z`, the fraction optional
/// and 1 to 9 digits (digits past microseconds are truncated).
pub fn parse_iso8601_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let base = date_and_time(b, b'T')?;
    let rest = &b[19..];
    match rest {
        [b'Z'] => Some(base),
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            let mut micros = 0i64;
            for (i, &c) in fraction.iter().enumerate() {
                let digit = c.wrapping_sub(b'0');
                if digit > 9 {
                    return None;
                }
                if i < 6 {
                    micros = micros * 10 + i64::from(digit);
                }
            }
            for _ in fraction.len()..6 {
                micros *= 10;
            }
            Some(base + micros)
        }
        _ => None,
    }
}

/// Parses ISO-8601 written without a zone (`2018-12-20T02:59:40`, NLB) as UTC; the forms
/// [`parse_iso8601_utc`] reads (with `Z`, with a fraction) are accepted too.
pub fn parse_iso8601_assume_utc(s: &str) -> Option<i64> {
    if s.len() == 19 {
        date_and_time(s.as_bytes(), b'T')
    } else {
        parse_iso8601_utc(s)
    }
}

/// Writes `micros` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the form ALB and ELB logs use.
pub fn format_iso8601_micros(micros: i64, out: &mut String) {
    use std::fmt::Write;
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1_000_000;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        in_day % 1_000_000
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_over_four_centuries() {
        for days in -200_000..200_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
    }

    #[test]
    fn iso8601_forms() {
        assert_eq!(parse_iso8601_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso8601_utc("2018-07-02T22:23:00.186641Z"),
            Some(1_530_570_180_186_641)
        );
        assert_eq!(
            parse_iso8601_utc("2018-07-02T22:23:00.1Z"),
            Some(1_530_570_180_100_000)
        );
        assert_eq!(
            parse_iso8601_utc("2018-07-02T22:23:00.123456789Z"),
            Some(1_530_570_180_123_456)
        );
        assert_eq!(
            parse_iso8601_utc("2024-02-29T00:00:00Z"),
            Some(days_from_civil(2024, 2, 29) * MICROS_PER_DAY)
        );
    }

    #[test]
    fn iso8601_rejects() {
        for bad in [
            "",
            "2.0",
            "2018-07-02T22:23:00",
            "2018-07-02 22:23:00Z",
            "2018-13-02T22:23:00Z",
            "2023-02-29T00:00:00Z",
            "2018-07-02T24:00:00Z",
            "2018-07-02T22:23:60Z",
            "2018-07-02T22:23:00.Z",
            "2018-07-02T22:23:00.1234567890Z",
            "2018-07-02T22:23:00.12a4Z",
            "2018-07-02T22:23:00+00:00",
            "２018-07-02T22:23:00Z",
        ] {
            assert_eq!(parse_iso8601_utc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn separate_date_and_time() {
        assert_eq!(
            parse_date_and_time("2019-12-04", "21:02:31"),
            parse_iso8601_utc("2019-12-04T21:02:31Z")
        );
        assert_eq!(parse_date_and_time("2019-12-04", "21:02"), None);
        assert_eq!(parse_date_and_time("2019-02-30", "21:02:31"), None);
        assert_eq!(parse_date_and_time("19-12-04", "21:02:31"), None);
    }

    #[test]
    fn common_log_time() {
        assert_eq!(
            parse_common_log_time("06/Feb/2019:00:00:38 +0000"),
            parse_iso8601_utc("2019-02-06T00:00:38Z")
        );
        assert_eq!(
            parse_common_log_time("09/Feb/2021:14:48:42 +0200"),
            parse_iso8601_utc("2021-02-09T12:48:42Z")
        );
        assert_eq!(
            parse_common_log_time("10/Feb/2012:16:42:07 -0500"),
            parse_iso8601_utc("2012-02-10T21:42:07Z")
        );
        for bad in [
            "06/Fev/2019:00:00:38 +0000",
            "06/Feb/2019 00:00:38 +0000",
            "06/Feb/2019:00:00:38 0000",
            "",
        ] {
            assert_eq!(parse_common_log_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        let mut s = String::new();
        format_iso8601_micros(1_530_570_180_186_641, &mut s);
        assert_eq!(s, "2018-07-02T22:23:00.186641Z");
        assert_eq!(parse_iso8601_utc(&s), Some(1_530_570_180_186_641));
    }
}
