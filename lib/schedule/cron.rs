//! The five-field cron expression, parsed to Vixie/ISC cron's grammar
//! (cron 4.1 `entry.c`, which cronie and Debian's cron share):
//!
//! ```text
//! expr   = field SP field SP field SP field SP field | "@" special
//! field  = range *("," range)
//! range  = "*" ["/" step] | value ["-" value ["/" step]]
//! value  = digits | name          (names only for month and day of week)
//! ```
//!
//! - Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
//!   `jan`-`dec`, day of week 0-7 or `sun`-`sat` (0 and 7 are Sunday).
//!   Names are three letters, any case. SP is one or more blanks.
//! - `*` is the field's whole range; `/step` takes every step-th value
//!   from the range's start (`*/15` minutes = 0,15,30,45; `*/2` days of
//!   month = 1,3,5..). A single value takes no step (`5/10` is refused,
//!   as cron refuses it; write `5-59/10`).
//! - The day rule: when both day fields are restricted (neither starts
//!   with `*`), a day matches if *either* matches; otherwise both must.
//!   As in cron this looks at the first character, so `*/2` counts as
//!   unrestricted: `0 0 */2 * 1` is "odd days that are Mondays".
//! - Specials (case-sensitive, as cron): `@yearly`/`@annually` =
//!   `0 0 1 1 *`, `@monthly` = `0 0 1 * *`, `@weekly` = `0 0 * * 0`,
//!   `@daily`/`@midnight` = `0 0 * * *`, `@hourly` = `0 * * * *`; `@reboot`
//!   is not an expression (see [`super::spec`]).
//!
//! Where cron is lax svkit refuses instead: cron skips any text after a
//! field that ended early (`*x` is read as `*`), and checks only the range
//! values a step lands on (`0-60/61` passes); both are errors here, with
//! the field named.

use super::civil::{days_in_month, Minute};
use std::fmt;

/// Which of the five fields an error is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
    ];

    /// The field's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day of month",
            Field::Month => "month",
            Field::DayOfWeek => "day of week",
        }
    }

    /// Smallest and largest value (7 is the second Sunday).
    pub fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
            Field::DayOfWeek => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            _ => &[],
        }
    }
}

/// What is wrong inside one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    /// Nothing where a value was expected (`1,,2`, `1-`, a trailing `,`).
    MissingValue,
    /// Letters that are not one of the field's names (or any letters in a
    /// field without names).
    UnknownName(String),
    /// A value outside the field's bounds.
    OutOfRange { value: u64, low: u32, high: u32 },
    /// `a-b` with a > b.
    Reversed { from: u32, to: u32 },
    /// `/0`.
    ZeroStep,
    /// `5/10`: a step after a single value.
    StepWithoutRange,
    /// A character that cannot follow (`*x`, `1-5x`, `1/2/3`).
    Unexpected(char),
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::MissingValue => write!(f, "a value is missing"),
            FieldError::UnknownName(n) => write!(f, "unknown name {n:?}"),
            FieldError::OutOfRange { value, low, high } => {
                write!(f, "{value} is outside {low}-{high}")
            }
            FieldError::Reversed { from, to } => {
                write!(f, "range {from}-{to} ends before it starts")
            }
            FieldError::ZeroStep => write!(f, "a step of 0"),
            FieldError::StepWithoutRange => {
                write!(f, "a step needs a range (write N-MAX/STEP or */STEP)")
            }
            FieldError::Unexpected(c) => write!(f, "unexpected {c:?}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CronError {
    /// No expression at all.
    Empty,
    /// The line ends before this field.
    MissingField(Field),
    /// Text after the fifth field.
    TrailingText(String),
    /// `@word` that cron does not know (`@every` is handled by the caller).
    UnknownSpecial(String),
    /// A field is malformed.
    Field {
        field: Field,
        text: String,
        why: FieldError,
    },
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CronError::Empty => write!(f, "empty cron expression"),
            CronError::MissingField(field) => {
                write!(f, "the {} field is missing (cron needs five)", field.name())
            }
            CronError::TrailingText(t) => {
                write!(f, "text after the five fields: {t:?}")
            }
            CronError::UnknownSpecial(w) => write!(
                f,
                "unknown @{w} (known: @reboot @yearly @annually @monthly @weekly @daily @midnight @hourly @every)"
            ),
            CronError::Field { field, text, why } => {
                write!(f, "{} field {text:?}: {why}", field.name())
            }
        }
    }
}

impl std::error::Error for CronError {}

/// A parsed expression: one bit per allowed value, and cron's `*` flags
/// (the first character of the field was `*`), which decide the day rule
/// and which jobs count as "wildcard" at daylight-saving changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CronExpr {
    minutes: u64,
    hours: u32,
    /// Bits 1-31.
    days: u32,
    /// Bits 1-12.
    months: u16,
    /// Bits 0-6 (7 folded into 0).
    weekdays: u8,
    minute_star: bool,
    hour_star: bool,
    day_star: bool,
    weekday_star: bool,
}

/// The five-field form of each `@` special that is an expression.
pub fn special_expansion(word: &str) -> Option<&'static str> {
    Some(match word {
        "yearly" | "annually" => "0 0 1 1 *",
        "monthly" => "0 0 1 * *",
        "weekly" => "0 0 * * 0",
        "daily" | "midnight" => "0 0 * * *",
        "hourly" => "0 * * * *",
        _ => return None,
    })
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl CronExpr {
    /// Parses five fields, or an `@` special other than `@reboot` /
    /// `@every`. Leading and trailing blanks and a final newline are
    /// allowed; anything else after the fifth field is not.
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let text = text.trim_matches(|c: char| is_blank(c) || c == '\n' || c == '\r');
        if text.is_empty() {
            return Err(CronError::Empty);
        }
        if let Some(word) = text.strip_prefix('@') {
            return match special_expansion(word) {
                Some(expanded) => CronExpr::parse(expanded),
                None => Err(CronError::UnknownSpecial(word.to_string())),
            };
        }
        let mut words = text.split(is_blank).filter(|w| !w.is_empty());
        let mut sets = [0u64; 5];
        let mut stars = [false; 5];
        for (i, field) in Field::ALL.into_iter().enumerate() {
            let word = words.next().ok_or(CronError::MissingField(field))?;
            stars[i] = word.starts_with('*');
            sets[i] = parse_field(field, word).map_err(|why| CronError::Field {
                field,
                text: word.to_string(),
                why,
            })?;
        }
        let rest: Vec<&str> = words.collect();
        if !rest.is_empty() {
            return Err(CronError::TrailingText(rest.join(" ")));
        }
        // 7 is Sunday too.
        let mut weekdays = sets[4];
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(CronExpr {
            minutes: sets[0],
            hours: sets[1] as u32,
            days: sets[2] as u32,
            months: sets[3] as u16,
            weekdays: (weekdays & 0x7f) as u8,
            minute_star: stars[0],
            hour_star: stars[1],
            day_star: stars[2],
            weekday_star: stars[4],
        })
    }

    /// Whether cron calls this a wildcard job (minute or hour field starts
    /// with `*`): such a job follows the clock through daylight-saving
    /// changes, while a fixed-time job runs once per local time (see
    /// [`super::next`]).
    pub fn is_wildcard(&self) -> bool {
        self.minute_star || self.hour_star
    }

    pub fn minute_matches(&self, m: u8) -> bool {
        m < 60 && self.minutes & (1 << m) != 0
    }

    pub fn hour_matches(&self, h: u8) -> bool {
        h < 24 && self.hours & (1 << h) != 0
    }

    pub fn month_matches(&self, month: u8) -> bool {
        month < 16 && self.months & (1 << month) != 0
    }

    /// The day rule: both day fields must match, unless both are
    /// restricted, when either may.
    pub fn day_matches(&self, day: u8, weekday: u8) -> bool {
        let d = day < 32 && self.days & (1 << day) != 0;
        let w = weekday < 7 && self.weekdays & (1 << weekday) != 0;
        if self.day_star || self.weekday_star {
            d && w
        } else {
            d || w
        }
    }

    /// Whether the expression fires at this calendar minute.
    pub fn matches(&self, m: &Minute) -> bool {
        self.minute_matches(m.minute)
            && self.hour_matches(m.hour)
            && self.month_matches(m.month)
            && self.day_matches(m.day, m.weekday())
    }

    /// The first calendar minute at or after `from` that matches, within
    /// [`SEARCH_YEARS`] years (the calendar repeats every 400 years, so
    /// `None` means never: `0 0 30 2 *`).
    pub fn next_match(&self, from: Minute) -> Option<Minute> {
        let mut m = from;
        let last_year = from.year.saturating_add(SEARCH_YEARS);
        while m.year <= last_year {
            if !self.month_matches(m.month) {
                m = next_month(m)?;
                continue;
            }
            if !self.day_matches(m.day, m.weekday()) {
                m = next_day(m)?;
                continue;
            }
            if !self.hour_matches(m.hour) {
                match (m.hour + 1..24).find(|&h| self.hour_matches(h)) {
                    Some(h) => {
                        m.hour = h;
                        m.minute = 0;
                    }
                    None => m = next_day(m)?,
                }
                continue;
            }
            if !self.minute_matches(m.minute) {
                match (m.minute + 1..60).find(|&x| self.minute_matches(x)) {
                    Some(x) => m.minute = x,
                    None if m.hour == 23 => m = next_day(m)?,
                    None => {
                        m.hour += 1;
                        m.minute = 0;
                    }
                }
                continue;
            }
            return Some(m);
        }
        None
    }
}

/// How far [`CronExpr::next_match`] looks: one Gregorian cycle, plus one
/// year so that a start late in a year still sees 400 full years.
pub const SEARCH_YEARS: i32 = 401;

fn next_day(m: Minute) -> Option<Minute> {
    if m.day < days_in_month(m.year, m.month) {
        Some(Minute {
            day: m.day + 1,
            hour: 0,
            minute: 0,
            ..m
        })
    } else {
        next_month(m)
    }
}

fn next_month(m: Minute) -> Option<Minute> {
    let (year, month) = if m.month == 12 {
        (m.year.checked_add(1)?, 1)
    } else {
        (m.year, m.month + 1)
    };
    Some(Minute {
        year,
        month,
        day: 1,
        hour: 0,
        minute: 0,
    })
}

/// A field's value set, one bit per value.
fn parse_field(field: Field, text: &str) -> Result<u64, FieldError> {
    let mut bits = 0u64;
    for range in text.split(',') {
        bits |= parse_range(field, range)?;
    }
    Ok(bits)
}

fn parse_range(field: Field, text: &str) -> Result<u64, FieldError> {
    let (low, high) = field.bounds();
    let (span, step) = match text.split_once('/') {
        Some((span, step)) => (span, Some(step)),
        None => (text, None),
    };
    let (from, to) = if span == "*" {
        (low, high)
    } else if let Some(rest) = span.strip_prefix('*') {
        return Err(match rest.chars().next() {
            Some(c) => FieldError::Unexpected(c),
            None => FieldError::MissingValue,
        });
    } else {
        match span.split_once('-') {
            Some((a, b)) => {
                let from = parse_value(field, a)?;
                let to = parse_value(field, b)?;
                if from > to {
                    return Err(FieldError::Reversed { from, to });
                }
                (from, to)
            }
            None => {
                let v = parse_value(field, span)?;
                if step.is_some() {
                    return Err(FieldError::StepWithoutRange);
                }
                (v, v)
            }
        }
    };
    let step = match step {
        None => 1,
        Some(s) => {
            if s.is_empty() {
                return Err(FieldError::MissingValue);
            }
            if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
                return Err(FieldError::Unexpected(c));
            }
            // Any step past the range's width takes only its start.
            let n = s.trim_start_matches('0').parse::<u64>().unwrap_or(
                if s.chars().all(|c| c == '0') {
                    0
                } else {
                    u64::MAX
                },
            );
            if n == 0 {
                return Err(FieldError::ZeroStep);
            }
            n.min(64) as u32
        }
    };
    let mut bits = 0u64;
    let mut v = from;
    while v <= to {
        bits |= 1 << v;
        v += step;
    }
    Ok(bits)
}

/// One value: decimal digits, or (month, day of week) a three-letter name.
fn parse_value(field: Field, text: &str) -> Result<u32, FieldError> {
    let (low, high) = field.bounds();
    let first = text.chars().next().ok_or(FieldError::MissingValue)?;
    if first.is_ascii_digit() {
        if let Some(c) = text.chars().find(|c| !c.is_ascii_digit()) {
            return Err(FieldError::Unexpected(c));
        }
        let digits = text.trim_start_matches('0');
        let value = if digits.is_empty() {
            0
        } else if digits.len() > 19 {
            u64::MAX
        } else {
            digits.parse::<u64>().unwrap_or(u64::MAX)
        };
        if value < u64::from(low) || value > u64::from(high) {
            return Err(FieldError::OutOfRange { value, low, high });
        }
        return Ok(value as u32);
    }
    if first.is_ascii_alphabetic() {
        if let Some(c) = text.chars().find(|c| !c.is_ascii_alphabetic()) {
            return Err(FieldError::Unexpected(c));
        }
        let lower = text.to_ascii_lowercase();
        return match field.names().iter().position(|n| *n == lower) {
            // Months count from 1, days of the week from 0.
            Some(i) => Ok(i as u32 + low),
            None => Err(FieldError::UnknownName(text.to_string())),
        };
    }
    Err(FieldError::Unexpected(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(e: &CronExpr, f: Field) -> Vec<u32> {
        let (low, high) = f.bounds();
        (low..=high.min(63))
            .filter(|&v| match f {
                Field::Minute => e.minutes & (1 << v) != 0,
                Field::Hour => e.hours & (1 << v) != 0,
                Field::DayOfMonth => e.days & (1 << v) != 0,
                Field::Month => e.months & (1 << v) != 0,
                Field::DayOfWeek => v < 7 && e.weekdays & (1 << v) != 0,
            })
            .collect()
    }

    #[test]
    fn lists_ranges_steps() {
        let e = CronExpr::parse("*/15 9-17/4 1,15,31 */5 1-5").unwrap();
        assert_eq!(values(&e, Field::Minute), [0, 15, 30, 45]);
        assert_eq!(values(&e, Field::Hour), [9, 13, 17]);
        assert_eq!(values(&e, Field::DayOfMonth), [1, 15, 31]);
        assert_eq!(values(&e, Field::Month), [1, 6, 11]);
        assert_eq!(values(&e, Field::DayOfWeek), [1, 2, 3, 4, 5]);
        let e = CronExpr::parse("0 0 */2 * *").unwrap();
        assert_eq!(values(&e, Field::DayOfMonth)[..3], [1, 3, 5]);
        let e = CronExpr::parse("5-59/20,2 * * * *").unwrap();
        assert_eq!(values(&e, Field::Minute), [2, 5, 25, 45]);
        // A step wider than the range keeps its start.
        let e = CronExpr::parse("10-20/100 * * * *").unwrap();
        assert_eq!(values(&e, Field::Minute), [10]);
    }

    #[test]
    fn names_any_case_and_sunday_twice() {
        let e = CronExpr::parse("0 0 * JAN-mar,Dec Mon-FRI").unwrap();
        assert_eq!(values(&e, Field::Month), [1, 2, 3, 12]);
        assert_eq!(values(&e, Field::DayOfWeek), [1, 2, 3, 4, 5]);
        let seven = CronExpr::parse("0 0 * * 7").unwrap();
        let zero = CronExpr::parse("0 0 * * sun").unwrap();
        assert_eq!(seven, zero);
        let e = CronExpr::parse("0 0 * * 5-7").unwrap();
        assert_eq!(values(&e, Field::DayOfWeek), [0, 5, 6]);
        // `*/2` over 0-7 lands on 0,2,4,6.
        let e = CronExpr::parse("0 0 * * */2").unwrap();
        assert_eq!(values(&e, Field::DayOfWeek), [0, 2, 4, 6]);
    }

    #[test]
    fn specials_equal_their_expansions() {
        for (s, e) in [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ] {
            assert_eq!(
                CronExpr::parse(s).unwrap(),
                CronExpr::parse(e).unwrap(),
                "{s}"
            );
        }
        assert!(CronExpr::parse("@hourly").unwrap().is_wildcard());
        assert!(!CronExpr::parse("@daily").unwrap().is_wildcard());
        assert_eq!(
            CronExpr::parse("@Daily"),
            Err(CronError::UnknownSpecial("Daily".into()))
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = |s: &str| CronExpr::parse(s).unwrap_err();
        assert_eq!(err(""), CronError::Empty);
        assert_eq!(err("* * * *"), CronError::MissingField(Field::DayOfWeek));
        assert_eq!(err("* * * * * ls"), CronError::TrailingText("ls".into()));
        let field = |s: &str| match err(s) {
            CronError::Field { field, why, .. } => (field, why),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            field("60 * * * *"),
            (
                Field::Minute,
                FieldError::OutOfRange {
                    value: 60,
                    low: 0,
                    high: 59
                }
            )
        );
        assert_eq!(
            field("* 24 * * *"),
            (
                Field::Hour,
                FieldError::OutOfRange {
                    value: 24,
                    low: 0,
                    high: 23
                }
            )
        );
        assert_eq!(
            field("* * 0 * *"),
            (
                Field::DayOfMonth,
                FieldError::OutOfRange {
                    value: 0,
                    low: 1,
                    high: 31
                }
            )
        );
        assert_eq!(
            field("* * * 13 *"),
            (
                Field::Month,
                FieldError::OutOfRange {
                    value: 13,
                    low: 1,
                    high: 12
                }
            )
        );
        assert_eq!(
            field("* * * * 8"),
            (
                Field::DayOfWeek,
                FieldError::OutOfRange {
                    value: 8,
                    low: 0,
                    high: 7
                }
            )
        );
        assert_eq!(
            field("* * * * fri-sun"),
            (Field::DayOfWeek, FieldError::Reversed { from: 5, to: 0 })
        );
        assert_eq!(field("*/0 * * * *").1, FieldError::ZeroStep);
        assert_eq!(field("5/10 * * * *").1, FieldError::StepWithoutRange);
        assert_eq!(field("*x * * * *").1, FieldError::Unexpected('x'));
        assert_eq!(field("1,,2 * * * *").1, FieldError::MissingValue);
        assert_eq!(field("1, * * * *").1, FieldError::MissingValue);
        assert_eq!(field("1- * * * *").1, FieldError::MissingValue);
        assert_eq!(field("*/ * * * *").1, FieldError::MissingValue);
        assert_eq!(field("1-5/2/3 * * * *").1, FieldError::Unexpected('/'));
        assert_eq!(field("1-5-7 * * * *").1, FieldError::Unexpected('-'));
        assert_eq!(
            field("* * * * monday").1,
            FieldError::UnknownName("monday".into())
        );
        assert_eq!(
            field("jan * * * *").1,
            FieldError::UnknownName("jan".into())
        );
        assert_eq!(field("-1 * * * *").1, FieldError::MissingValue);
        assert_eq!(field("+1 * * * *").1, FieldError::Unexpected('+'));
        assert_eq!(
            field("99999999999999999999999 * * * *").1,
            FieldError::OutOfRange {
                value: u64::MAX,
                low: 0,
                high: 59
            }
        );
        // A message names the field and the text.
        assert_eq!(
            err("* * 32 * *").to_string(),
            "day of month field \"32\": 32 is outside 1-31"
        );
    }

    #[test]
    fn blanks_between_fields() {
        let a = CronExpr::parse(" 1\t2  3 4 5\n").unwrap();
        assert_eq!(a, CronExpr::parse("1 2 3 4 5").unwrap());
    }

    fn at(y: i32, mo: u8, d: u8, h: u8, mi: u8) -> Minute {
        Minute {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
        }
    }

    #[test]
    fn day_rule_or_when_both_restricted() {
        // The 13th or any Friday.
        let e = CronExpr::parse("0 0 13 * 5").unwrap();
        assert!(e.matches(&at(2026, 12, 4, 0, 0))); // Friday the 4th
        assert!(e.matches(&at(2026, 12, 13, 0, 0))); // Sunday the 13th
        assert!(!e.matches(&at(2026, 12, 5, 0, 0)));
        // `*/1` counts as `*`: the 13th AND a Friday only.
        let e = CronExpr::parse("0 0 13 * */1").unwrap();
        assert!(!e.matches(&at(2026, 12, 4, 0, 0)));
        assert!(e.matches(&at(2026, 11, 13, 0, 0))); // Friday 13 November 2026
                                                     // A restricted weekday with `*` days: only that weekday.
        let e = CronExpr::parse("0 0 * * 1").unwrap();
        assert!(e.matches(&at(2026, 12, 7, 0, 0)));
        assert!(!e.matches(&at(2026, 12, 8, 0, 0)));
    }

    #[test]
    fn next_match_month_ends_and_leap_years() {
        let e = CronExpr::parse("30 23 31 * *").unwrap();
        assert_eq!(
            e.next_match(at(2026, 4, 1, 0, 0)),
            Some(at(2026, 5, 31, 23, 30))
        );
        let e = CronExpr::parse("0 12 29 2 *").unwrap();
        assert_eq!(
            e.next_match(at(2026, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 12, 0))
        );
        // 2100 is not a leap year: 2096 then 2104.
        assert_eq!(
            e.next_match(at(2096, 3, 1, 0, 0)),
            Some(at(2104, 2, 29, 12, 0))
        );
        assert_eq!(
            CronExpr::parse("0 0 30 2 *")
                .unwrap()
                .next_match(at(2026, 1, 1, 0, 0)),
            None
        );
        assert_eq!(
            CronExpr::parse("0 0 31 4,6,9,11 *")
                .unwrap()
                .next_match(at(2026, 1, 1, 0, 0)),
            None
        );
        // But Feb 30 OR a Monday does fire.
        let e = CronExpr::parse("0 0 30 2 mon").unwrap();
        assert_eq!(
            e.next_match(at(2026, 1, 1, 0, 0)),
            Some(at(2026, 2, 2, 0, 0))
        );
        // The last minute of a year rolls into the next.
        let e = CronExpr::parse("* * * * *").unwrap();
        assert_eq!(
            e.next_match(at(2026, 12, 31, 23, 59)),
            Some(at(2026, 12, 31, 23, 59))
        );
        let e = CronExpr::parse("0 0 1 1 *").unwrap();
        assert_eq!(
            e.next_match(at(2026, 12, 31, 23, 59)),
            Some(at(2027, 1, 1, 0, 0))
        );
    }
}
