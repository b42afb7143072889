//! The `schedule` file of a job's service directory: when its `run`
//! starts. One expression, on the first line that is not blank or a `#`
//! comment:
//!
//! - a five-field cron expression or a cron `@` special
//!   ([`super::cron`]), read in the zone `TZ` names ([`super::zone`]);
//! - `@every DURATION`: every DURATION of elapsed time (the monotonic
//!   clock, untouched by wall-clock changes), the first run DURATION after
//!   the job is brought up. DURATION is one or more NUMBER UNIT pairs with
//!   UNIT `ms`, `s`, `m`, `h` or `d` (`90s`, `1h30m`), from 1 s to 366 d;
//! - `@reboot`: once when svscan starts the job, and never by the clock.

use super::cron::{CronError, CronExpr};
use crate::servicedir::SCHEDULE;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// Bytes read of `schedule` at most.
pub const MAX_FILE_BYTES: u64 = 4096;
/// Shortest `@every`: shorter would be a busy loop, not a schedule.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// Longest `@every`.
pub const MAX_EVERY: Duration = Duration::from_secs(366 * 86_400);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    Cron(CronExpr),
    Every(Duration),
    Reboot,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// No expression line.
    Empty,
    /// More than one expression line.
    SecondLine(String),
    Cron(CronError),
    /// `@every` with a malformed or out-of-bounds duration.
    Every {
        text: String,
        why: &'static str,
    },
    /// `@reboot` followed by something.
    RebootArgs(String),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Empty => write!(
                f,
                "no schedule (a cron expression, @every DURATION or @reboot)"
            ),
            SpecError::SecondLine(l) => write!(f, "only one schedule per job; second line {l:?}"),
            SpecError::Cron(e) => e.fmt(f),
            SpecError::Every { text, why } => write!(f, "@every {text:?}: {why}"),
            SpecError::RebootArgs(t) => write!(f, "@reboot takes nothing after it, got {t:?}"),
        }
    }
}

impl std::error::Error for SpecError {}

impl Spec {
    /// Parses the contents of a `schedule` file.
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let line = lines.next().ok_or(SpecError::Empty)?;
        if let Some(extra) = lines.next() {
            return Err(SpecError::SecondLine(extra.to_string()));
        }
        let (word, rest) = match line.split_once([' ', '\t']) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        match word {
            "@every" => parse_duration(rest)
                .map(Spec::Every)
                .map_err(|why| SpecError::Every {
                    text: rest.to_string(),
                    why,
                }),
            "@reboot" if rest.is_empty() => Ok(Spec::Reboot),
            "@reboot" => Err(SpecError::RebootArgs(rest.to_string())),
            _ => CronExpr::parse(line)
                .map(Spec::Cron)
                .map_err(SpecError::Cron),
        }
    }

    /// Reads `DIR/schedule`: `Ok(None)` when there is none (a daemon).
    pub fn load(dir: &Path) -> Result<Option<Spec>, LoadError> {
        use std::io::Read;
        let path = dir.join(SCHEDULE);
        let mut text = String::new();
        match std::fs::File::open(&path) {
            Ok(f) => f
                .take(MAX_FILE_BYTES)
                .read_to_string(&mut text)
                .map_err(|e| LoadError::Io(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LoadError::Io(e.to_string())),
        };
        Spec::parse(&text).map(Some).map_err(LoadError::Invalid)
    }
}

/// Why `schedule` could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    Io(String),
    Invalid(SpecError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(e) => write!(f, "{SCHEDULE}: {e}"),
            LoadError::Invalid(e) => write!(f, "{SCHEDULE}: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// `1h30m`, `90s`, `500ms`: NUMBER UNIT pairs, summed.
pub fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    if text.is_empty() {
        return Err("a duration is missing (like 30s, 5m, 1h30m)");
    }
    let b = text.as_bytes();
    let mut i = 0;
    let mut total_ms: u128 = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err("expected a number");
        }
        // At most 12 digits: larger cannot be in bounds anyway.
        if i - start > 12 {
            return Err("longer than 366d");
        }
        let n: u128 = text[start..i].parse().map_err(|_| "expected a number")?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms: u128 = match &text[ustart..i] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err("a number needs a unit (ms, s, m, h, d)"),
            _ => return Err("unknown unit (ms, s, m, h, d)"),
        };
        total_ms += n * unit_ms;
        if total_ms > MAX_EVERY.as_millis() {
            return Err("longer than 366d");
        }
    }
    let d = Duration::from_millis(total_ms as u64);
    if d < MIN_EVERY {
        return Err("shorter than 1s");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            Spec::parse("@every 1s\n"),
            Ok(Spec::Every(Duration::from_secs(1)))
        );
        assert_eq!(
            Spec::parse("# nightly\n\n@every 1h30m"),
            Ok(Spec::Every(Duration::from_secs(5400)))
        );
        assert_eq!(Spec::parse("@reboot"), Ok(Spec::Reboot));
        assert!(matches!(Spec::parse("*/5 * * * *"), Ok(Spec::Cron(_))));
        assert!(matches!(Spec::parse("@daily"), Ok(Spec::Cron(_))));
        assert_eq!(Spec::parse("  \n# x\n"), Err(SpecError::Empty));
        assert_eq!(
            Spec::parse("@daily\n@hourly"),
            Err(SpecError::SecondLine("@hourly".into()))
        );
        assert_eq!(
            Spec::parse("@reboot now"),
            Err(SpecError::RebootArgs("now".into()))
        );
        assert!(matches!(
            Spec::parse("* * *"),
            Err(SpecError::Cron(CronError::MissingField(_)))
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1d2h3m4s"), Ok(Duration::from_secs(93_784)));
        assert_eq!(parse_duration("366d"), Ok(MAX_EVERY));
        assert_eq!(parse_duration("999ms"), Err("shorter than 1s"));
        assert_eq!(parse_duration("0s"), Err("shorter than 1s"));
        assert_eq!(parse_duration("367d"), Err("longer than 366d"));
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err("longer than 366d")
        );
        assert_eq!(
            parse_duration("5"),
            Err("a number needs a unit (ms, s, m, h, d)")
        );
        assert_eq!(parse_duration("5w"), Err("unknown unit (ms, s, m, h, d)"));
        assert_eq!(parse_duration("s"), Err("expected a number"));
        assert_eq!(parse_duration("1s 2s"), Err("expected a number"));
        assert!(parse_duration("").is_err());
    }
}
