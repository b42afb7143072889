//! Proleptic Gregorian calendar arithmetic on whole minutes, the unit
//! cron works in. A [`Minute`] is a calendar date and time of day with no
//! zone attached; [`Minute::index`] numbers them like Unix time does
//! (minutes since 1970-01-01 00:00), so "local minute" and "UTC minute"
//! are the same type and a zone is only an offset between them.
//!
//! The day algorithms are Howard Hinnant's `days_from_civil` /
//! `civil_from_days`, exact for every year an `i32` holds.

/// Seconds in one minute, hour and day.
pub const MINUTE_SECS: i64 = 60;
pub const HOUR_SECS: i64 = 3600;
pub const DAY_SECS: i64 = 86_400;

/// A calendar minute: `month` 1-12, `day` 1-31, `hour` 0-23, `minute` 0-59.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minute {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

/// Whether `year` has a 29 February.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1-12) of `year`.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a valid date.
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Callers stay within i32 years (see `Minute::from_index`).
    (
        year.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        month,
        day,
    )
}

/// Day of the week of `days` since 1970-01-01 (a Thursday), 0 = Sunday.
pub fn weekday_from_days(days: i64) -> u8 {
    (days + 4).rem_euclid(7) as u8
}

impl Minute {
    /// Minutes since 1970-01-01 00:00 (negative before).
    pub fn index(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 1440
            + i64::from(self.hour) * 60
            + i64::from(self.minute)
    }

    /// The minute `index` minutes after 1970-01-01 00:00.
    pub fn from_index(index: i64) -> Minute {
        let days = index.div_euclid(1440);
        let rem = index.rem_euclid(1440);
        let (year, month, day) = civil_from_days(days);
        Minute {
            year,
            month,
            day,
            hour: (rem / 60) as u8,
            minute: (rem % 60) as u8,
        }
    }

    /// The minute containing Unix time `secs` shifted by `offset` seconds.
    pub fn from_unix(secs: i64, offset: i32) -> Minute {
        Minute::from_index(
            secs.saturating_add(i64::from(offset))
                .div_euclid(MINUTE_SECS),
        )
    }

    /// 0 = Sunday .. 6 = Saturday.
    pub fn weekday(&self) -> u8 {
        weekday_from_days(days_from_civil(self.year, self.month, self.day))
    }

    /// Whether the fields name a real calendar minute.
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
    }
}

impl std::fmt::Display for Minute {
    /// ISO 8601 without a zone: `2026-12-04 21:30`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(weekday_from_days(0), 4); // Thursday
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 2026-12-04 is a Friday.
        let m = Minute {
            year: 2026,
            month: 12,
            day: 4,
            hour: 21,
            minute: 11,
        };
        assert_eq!(m.weekday(), 5);
        assert_eq!(Minute::from_index(m.index()), m);
    }

    #[test]
    fn round_trip_over_four_centuries() {
        let start = days_from_civil(1890, 1, 1);
        let end = days_from_civil(2310, 1, 1);
        let mut prev = civil_from_days(start - 1);
        for d in start..end {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
            assert!(day >= 1 && day <= days_in_month(y, m));
            // Consecutive days are consecutive dates.
            if day == 1 {
                assert_eq!(prev.2, days_in_month(prev.0, prev.1));
            } else {
                assert_eq!((prev.0, prev.1, prev.2 + 1), (y, m, day));
            }
            prev = (y, m, day);
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap(2000) && is_leap(2024) && is_leap(2400));
        assert!(!is_leap(1900) && !is_leap(2100) && !is_leap(2023));
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2028, 2), 29);
    }

    #[test]
    fn unix_with_offset() {
        // 2026-03-29 01:00 UTC is 03:00 in CEST (+2h).
        let t = days_from_civil(2026, 3, 29) * DAY_SECS + HOUR_SECS;
        let m = Minute::from_unix(t, 7200);
        assert_eq!((m.day, m.hour, m.minute), (29, 3, 0));
        // Negative times round down to the minute, not toward zero.
        assert_eq!(Minute::from_unix(-1, 0).minute, 59);
    }
}
