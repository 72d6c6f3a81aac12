//! UTC calendar arithmetic and the timestamp spellings CloudTrail uses, without a
//! date-time dependency: event times (`2024-03-04T10:15:30Z`), key stamps
//! (`20240304T1015Z`, `20240304T101530Z`) and key folders (`2024/03/04`).

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Splits epoch seconds into a UTC calendar date and time (proleptic Gregorian).
pub(crate) fn civil(epoch: i64) -> Civil {
    let (year, month, day) = trailhound_core::timefmt::civil_from_days(epoch.div_euclid(DAY));
    let secs = epoch.rem_euclid(DAY);
    // Month, day and the time of day are small and non-negative here.
    Civil {
        year,
        month: month as u32,
        day: day as u32,
        hour: (secs / 3600) as u32,
        minute: (secs % 3600 / 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// Epoch seconds of midnight UTC on the given date.
#[cfg(test)]
pub(crate) fn epoch_of_date(year: i64, month: u32, day: u32) -> i64 {
    trailhound_core::timefmt::days_from_civil(year, i64::from(month), i64::from(day)) * DAY
}

/// Day of the week, Monday = 0 … Sunday = 6.
pub(crate) fn weekday(epoch: i64) -> u32 {
    u32::from(trailhound_core::timefmt::weekday(epoch))
}

/// `2024-03-04T10:15:30Z`, the `eventTime` spelling.
pub(crate) fn iso(epoch: i64) -> String {
    trailhound_core::timefmt::format_rfc3339(epoch)
}

/// `2024/03/04`, the date folder of a key.
pub(crate) fn folder(epoch: i64) -> String {
    let c = civil(epoch);
    format!("{:04}/{:02}/{:02}", c.year, c.month, c.day)
}

/// `20240304T1015Z`, the stamp of a log file name.
pub(crate) fn stamp_minutes(epoch: i64) -> String {
    let c = civil(epoch);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// `20240304T101530Z`, the stamp of a digest file name.
pub(crate) fn stamp_seconds(epoch: i64) -> String {
    let c = civil(epoch);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Mar 4, 2024, 10:15:30 AM`, the date spelling inside some IAM and STS responses.
pub(crate) fn console_date(epoch: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(epoch);
    let month = MONTHS[(c.month as usize + 11) % 12];
    let (h12, ampm) = match c.hour {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{month} {}, {}, {h12}:{:02}:{:02} {ampm}",
        c.day, c.year, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY: i64 = 1_709_510_400; // 2024-03-04T00:00:00Z

    #[test]
    fn formats_a_known_instant_in_every_spelling() {
        let t = MONDAY + 10 * 3600 + 15 * 60 + 30;
        assert_eq!(iso(t), "2024-03-04T10:15:30Z");
        assert_eq!(folder(t), "2024/03/04");
        assert_eq!(stamp_minutes(t), "20240304T1015Z");
        assert_eq!(stamp_seconds(t), "20240304T101530Z");
        assert_eq!(console_date(t), "Mar 4, 2024, 10:15:30 AM");
        assert_eq!(console_date(MONDAY + 13 * 3600), "Mar 4, 2024, 1:00:00 PM");
        assert_eq!(console_date(MONDAY), "Mar 4, 2024, 12:00:00 AM");
    }

    #[test]
    fn date_round_trips_across_leap_days_and_years() {
        for (y, m, d) in [
            (2024, 2, 29),
            (2024, 3, 1),
            (2023, 12, 31),
            (2000, 2, 29),
            (1970, 1, 1),
        ] {
            let e = epoch_of_date(y, m, d);
            let c = civil(e + 3661);
            assert_eq!(
                (c.year, c.month, c.day, c.hour, c.minute, c.second),
                (y, m, d, 1, 1, 1)
            );
        }
        assert_eq!(epoch_of_date(2024, 3, 4), MONDAY);
    }

    #[test]
    fn knows_the_weekday() {
        assert_eq!(weekday(MONDAY), 0);
        assert_eq!(weekday(MONDAY + 5 * DAY + 100), 5);
        assert_eq!(weekday(0), 3);
    }
}
