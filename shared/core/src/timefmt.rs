//! UTC timestamps as CloudTrail writes them (`2024-03-04T10:15:30Z`, optionally
//! with fractional seconds), parsed and formatted by hand: the format is fixed and
//! this runs once per record on the hot path.

/// Seconds since the Unix epoch of an RFC 3339 UTC time, or `None` if malformed.
/// Accepts `YYYY-MM-DDTHH:MM:SS[.fff…](Z|+00:00)`; other offsets are applied.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let min = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days in a month of the proleptic Gregorian calendar (`month` in 1..=12).
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `2024-03-04T10:15:30Z` for an epoch second.
pub fn format_rfc3339(t: i64) -> String {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// UTC hour of day, 0–23.
pub fn hour_of_day(t: i64) -> u8 {
    // rem_euclid keeps the value in 0..86400, so the quotient fits in a u8.
    (t.rem_euclid(86_400) / 3600) as u8
}

/// UTC weekday, Monday = 0 … Sunday = 6.
pub fn weekday(t: i64) -> u8 {
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    ((t.div_euclid(86_400) + 3).rem_euclid(7)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cloudtrail_times() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2024-03-04T00:00:00Z", Some(1_709_510_400)),
            ("2024-03-04T10:15:30Z", Some(1_709_547_330)),
            ("2024-03-04T10:15:30.123Z", Some(1_709_547_330)),
            ("2024-03-04T12:15:30+02:00", Some(1_709_547_330)),
            ("2024-02-29T23:59:59Z", Some(1_709_251_199)),
            ("2024-13-04T10:15:30Z", None),
            ("2024-03-04 10:15", None),
            ("yesterday", None),
            ("2024-03-04T10:15:30Zjunk", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_rfc3339(s), want, "case {s}");
        }
    }

    /// Regression: impossible dates (Feb 31, Feb 29 of a common year, April 31)
    /// were accepted and silently rolled over into the next month.
    #[test]
    fn rejects_impossible_dates_and_times() {
        let cases = [
            "2024-02-31T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-06-31T00:00:00Z",
            "2024-09-31T00:00:00Z",
            "2024-11-31T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-01-00T00:00:00Z",
            "2024-01-32T00:00:00Z",
            "2024-03-04T25:00:00Z",
            "2024-03-04T24:00:00Z",
            "2024-03-04T10:60:00Z",
            "2024-03-04T10:15:61Z",
            "2024-03-04T10:15:30+24:00",
            "2024-03-04T10:15:30+02:60",
            "2024-03-04T10:15:30-99:99",
        ];
        for s in cases {
            assert_eq!(parse_rfc3339(s), None, "case {s}");
        }
        let valid = [
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("2024-04-30T23:59:59Z", 1_714_521_599),
            ("2024-12-31T00:00:00Z", 1_735_603_200),
            (
                "2024-03-04T10:15:30-23:59",
                1_709_547_330 + 23 * 3600 + 59 * 60,
            ),
        ];
        for (s, want) in valid {
            assert_eq!(parse_rfc3339(s), Some(want), "case {s}");
        }
    }

    #[test]
    fn formats_and_parses_round_trip() {
        for t in [0, 1_709_547_330, 951_782_400, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t), "t={t}");
        }
    }

    #[test]
    fn knows_weekday_and_hour() {
        let monday = 1_709_510_400; // 2024-03-04
        assert_eq!(weekday(monday), 0);
        assert_eq!(weekday(monday + 6 * 86_400), 6);
        assert_eq!(hour_of_day(monday + 10 * 3600 + 59), 10);
    }
}
