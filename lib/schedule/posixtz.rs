//! POSIX `TZ` rule strings (`CET-1CEST,M3.5.0,M10.5.0/3`), as found in
//! the footer of TZif files (RFC 8536 §3.3) and in `TZ` itself. They give
//! the offset for times after a zone file's last transition (all times,
//! for "slim" zone files).
//!
//! Grammar: `std offset [dst [offset] [,start[/time],end[/time]]]`. Names
//! are three or more letters, or anything in `<...>`. POSIX offsets count
//! west of Greenwich (`EST5` is UTC−5). A rule date is `Jn` (1-365, never
//! counting 29 February), `n` (0-365, counting it) or `Mm.w.d` (day d of
//! week w of month m, w = 5 meaning the last); the time defaults to
//! 02:00:00 and may be negative or past 24h (RFC 8536 extension).
//! A dst part without rules gets the US rules, as glibc does.

use super::civil::{
    civil_from_days, days_from_civil, days_in_month, is_leap, weekday_from_days, DAY_SECS,
};

/// When daylight time starts or ends in a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleDate {
    /// `Jn`: day n (1-365) of a 365-day year.
    Julian1(u16),
    /// `n`: day n (0-365), 29 February counted.
    Julian0(u16),
    /// `Mm.w.d`.
    MonthWeekDay { month: u8, week: u8, weekday: u8 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub date: RuleDate,
    /// Seconds after local midnight (in the time in effect before it).
    pub time: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dst {
    /// Seconds east of UTC.
    pub offset: i32,
    pub start: Transition,
    pub end: Transition,
}

/// A parsed rule: standard offset, and daylight time if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosixTz {
    /// Seconds east of UTC.
    pub std_offset: i32,
    pub dst: Option<Dst>,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn number(&mut self, max: u32) -> Option<u32> {
        let start = self.i;
        let mut n: u32 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
            if n > max {
                return None;
            }
            self.i += 1;
        }
        (self.i > start).then_some(n)
    }
    fn name(&mut self) -> Option<()> {
        if self.eat(b'<') {
            let start = self.i;
            while self.peek()? != b'>' {
                self.i += 1;
            }
            let ok = self.i > start;
            self.i += 1;
            return ok.then_some(());
        }
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        (self.i - start >= 3).then_some(())
    }
    /// `[+-]hh[:mm[:ss]]` in seconds, hours up to `max_hours`.
    fn hms(&mut self, max_hours: u32) -> Option<i32> {
        let neg = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let h = self.number(max_hours)?;
        let mut secs = h * 3600;
        if self.eat(b':') {
            secs += self.number(59)? * 60;
            if self.eat(b':') {
                secs += self.number(59)?;
            }
        }
        let secs = secs as i32;
        Some(if neg { -secs } else { secs })
    }
    fn transition(&mut self) -> Option<Transition> {
        let date = if self.eat(b'J') {
            let n = self.number(365)?;
            (n >= 1).then_some(RuleDate::Julian1(n as u16))?
        } else if self.eat(b'M') {
            let month = self.number(12)? as u8;
            if month == 0 || !self.eat(b'.') {
                return None;
            }
            let week = self.number(5)? as u8;
            if week == 0 || !self.eat(b'.') {
                return None;
            }
            let weekday = self.number(6)? as u8;
            RuleDate::MonthWeekDay {
                month,
                week,
                weekday,
            }
        } else {
            RuleDate::Julian0(self.number(365)? as u16)
        };
        let time = if self.eat(b'/') { self.hms(167)? } else { 7200 };
        Some(Transition { date, time })
    }
}

impl PosixTz {
    /// `None` if `text` is not a valid rule.
    pub fn parse(text: &str) -> Option<PosixTz> {
        let mut c = Cursor {
            s: text.as_bytes(),
            i: 0,
        };
        c.name()?;
        let std_offset = -c.hms(24)?;
        if c.peek().is_none() {
            return Some(PosixTz {
                std_offset,
                dst: None,
            });
        }
        c.name()?;
        let offset = match c.peek() {
            Some(b',') | None => std_offset + 3600,
            _ => -c.hms(24)?,
        };
        let (start, end) = if c.eat(b',') {
            let start = c.transition()?;
            if !c.eat(b',') {
                return None;
            }
            (start, c.transition()?)
        } else {
            let us = |month, week| Transition {
                date: RuleDate::MonthWeekDay {
                    month,
                    week,
                    weekday: 0,
                },
                time: 7200,
            };
            (us(3, 2), us(11, 1))
        };
        if c.peek().is_some() {
            return None;
        }
        Some(PosixTz {
            std_offset,
            dst: Some(Dst { offset, start, end }),
        })
    }

    /// Seconds east of UTC at Unix time `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        let Some(dst) = self.dst else {
            return self.std_offset;
        };
        let (year, _, _) = civil_from_days(
            t.saturating_add(i64::from(self.std_offset))
                .div_euclid(DAY_SECS),
        );
        // Start is given in standard time, end in daylight time.
        let start = transition_utc(year, dst.start, self.std_offset);
        let end = transition_utc(year, dst.end, dst.offset);
        let in_dst = if start < end {
            t >= start && t < end
        } else {
            // Southern hemisphere: daylight time spans the new year.
            t < end || t >= start
        };
        if in_dst {
            dst.offset
        } else {
            self.std_offset
        }
    }
}

/// The Unix time of a rule's transition in `year`, the local clock then
/// being `offset` seconds east of UTC.
fn transition_utc(year: i32, tr: Transition, offset: i32) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    let day = match tr.date {
        RuleDate::Julian1(n) => {
            let n = i64::from(n) - 1;
            // Day 59 (0-based) and on skip 29 February in leap years.
            jan1 + n + i64::from(is_leap(year) && n >= 59)
        }
        RuleDate::Julian0(n) => jan1 + i64::from(n),
        RuleDate::MonthWeekDay {
            month,
            week,
            weekday,
        } => {
            let first = days_from_civil(year, month, 1);
            let first_wd = i64::from(weekday_from_days(first));
            let mut d =
                first + (i64::from(weekday) - first_wd).rem_euclid(7) + 7 * (i64::from(week) - 1);
            let last = first + i64::from(days_in_month(year, month)) - 1;
            while d > last {
                d -= 7;
            }
            d
        }
    };
    day * DAY_SECS + i64::from(tr.time) - i64::from(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::civil::HOUR_SECS;

    fn utc(y: i32, m: u8, d: u8, h: i64) -> i64 {
        days_from_civil(y, m, d) * DAY_SECS + h * HOUR_SECS
    }

    #[test]
    fn central_europe() {
        let tz = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(tz.std_offset, 3600);
        // 2027: last Sunday of March is the 28th; change at 01:00 UTC.
        assert_eq!(tz.offset_at(utc(2027, 3, 28, 1) - 1), 3600);
        assert_eq!(tz.offset_at(utc(2027, 3, 28, 1)), 7200);
        // Last Sunday of October, the 31st; back at 01:00 UTC.
        assert_eq!(tz.offset_at(utc(2027, 10, 31, 1) - 1), 7200);
        assert_eq!(tz.offset_at(utc(2027, 10, 31, 1)), 3600);
    }

    #[test]
    fn us_and_south_and_fixed() {
        let ny = PosixTz::parse("EST5EDT,M3.2.0,M11.1.0").unwrap();
        // 2027-03-14 07:00 UTC = 02:00 EST.
        assert_eq!(ny.offset_at(utc(2027, 3, 14, 7) - 1), -5 * 3600);
        assert_eq!(ny.offset_at(utc(2027, 3, 14, 7)), -4 * 3600);
        assert_eq!(PosixTz::parse("EST5EDT").unwrap(), ny);
        let syd = PosixTz::parse("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(syd.offset_at(utc(2027, 1, 15, 0)), 11 * 3600);
        assert_eq!(syd.offset_at(utc(2027, 7, 15, 0)), 10 * 3600);
        let ist = PosixTz::parse("IST-5:30").unwrap();
        assert_eq!(ist.offset_at(0), 5 * 3600 + 1800);
        let q = PosixTz::parse("<+0330>-3:30").unwrap();
        assert_eq!(q.std_offset, 12_600);
        assert_eq!(PosixTz::parse("<-03>3").unwrap().std_offset, -3 * 3600);
    }

    #[test]
    fn julian_dates() {
        // J60 is 1 March every year; 59 (0-based) is 29 Feb in leap years.
        let t = Transition {
            date: RuleDate::Julian1(60),
            time: 0,
        };
        assert_eq!(transition_utc(2028, t, 0), utc(2028, 3, 1, 0));
        assert_eq!(transition_utc(2027, t, 0), utc(2027, 3, 1, 0));
        let t = Transition {
            date: RuleDate::Julian0(59),
            time: 0,
        };
        assert_eq!(transition_utc(2028, t, 0), utc(2028, 2, 29, 0));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "C",
            "CET",
            "CET-",
            "CET-1CEST,M3",
            "CET-1CEST,M13.1.0,M1.1.0",
            "CET-1x",
            "<>1",
            "EST5EDT,M3.2.0",
        ] {
            assert_eq!(PosixTz::parse(bad), None, "{bad:?}");
        }
    }
}
