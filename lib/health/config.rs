//! A service's health-check settings, from three files in its directory:
//!
//! - `health`: one line `INTERVAL_MS TIMEOUT_MS RETRIES [START_PERIOD_MS]`.
//!   Its presence turns checking on.
//! - `health-probe`: `tcp://HOST:PORT` or `http://HOST[:PORT]/PATH`
//!   ([`super::url`]), used only when the service has no `check`.
//! - `health-action`: `restart` (the default) or `none` (report only).
//!
//! The timing follows Docker's `HEALTHCHECK`:
//! - The first probe starts INTERVAL after the service comes up, and each
//!   next one INTERVAL after the previous one *ended*, so probes never
//!   overlap. TIMEOUT may therefore exceed INTERVAL: it only means a hanging
//!   probe is given longer before it is killed and counted as a failure
//!   (worst case to unhealthy: RETRIES × (INTERVAL + TIMEOUT)).
//! - RETRIES consecutive failures make the service unhealthy; one success
//!   makes it healthy.
//! - START_PERIOD (default 0): failures that end within it after the
//!   service came up do not count; a success within it ends it at once.
//!
//! Every number is decimal milliseconds (RETRIES a count), at least 1
//! (START_PERIOD may be 0) and at most [`MAX_MS`] / [`MAX_RETRIES`]; larger
//! values are refused, not wrapped. Parsing is pure ([`parse_timing`],
//! [`parse_action`]); [`load`] reads the files.

use super::url::{Target, UrlError};
use crate::servicedir::{HEALTH, HEALTH_ACTION, HEALTH_PROBE};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// Largest millisecond value accepted (2^31 − 1 ms, about 24.8 days: the
/// range of a poll(2) timeout, and far beyond any useful interval).
pub const MAX_MS: u64 = i32::MAX as u64;
/// Largest RETRIES accepted.
pub const MAX_RETRIES: u32 = 1_000_000;
/// Bytes read of each health file at most (each is one short line).
pub const MAX_FILE_BYTES: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
}

/// What RETRIES consecutive failures do (`health-action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnUnhealthy {
    /// Restart the service (`restart`, the default).
    #[default]
    Restart,
    /// Only report it (`none`).
    Report,
}

/// Which probe runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// The service's `check` (see lib/check.rs).
    Check,
    Builtin(Target),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthConfig {
    pub timing: Timing,
    pub probe: ProbeKind,
    pub action: OnUnhealthy,
}

/// Which field of `health` is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Interval,
    Timeout,
    Retries,
    StartPeriod,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Interval => "INTERVAL_MS",
            Field::Timeout => "TIMEOUT_MS",
            Field::Retries => "RETRIES",
            Field::StartPeriod => "START_PERIOD_MS",
        }
    }
}

/// Why a `health` line is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimingError {
    Empty,
    /// Fewer than three fields.
    Missing(Field),
    TooManyFields,
    MoreThanOneLine,
    NotANumber(Field, String),
    Zero(Field),
    TooLarge(Field, u64),
}

impl fmt::Display for TimingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimingError::Empty => {
                f.write_str("empty (expected INTERVAL_MS TIMEOUT_MS RETRIES [START_PERIOD_MS])")
            }
            TimingError::Missing(field) => write!(
                f,
                "{} missing (expected INTERVAL_MS TIMEOUT_MS RETRIES [START_PERIOD_MS])",
                field.name()
            ),
            TimingError::TooManyFields => f.write_str(
                "too many fields (expected INTERVAL_MS TIMEOUT_MS RETRIES [START_PERIOD_MS])",
            ),
            TimingError::MoreThanOneLine => f.write_str("more than one line"),
            TimingError::NotANumber(field, v) => {
                write!(f, "{}: not a decimal number: {v}", field.name())
            }
            TimingError::Zero(field) => write!(f, "{}: must be at least 1", field.name()),
            TimingError::TooLarge(field, max) => {
                write!(f, "{}: too large (at most {max})", field.name())
            }
        }
    }
}

impl std::error::Error for TimingError {}

/// Parses the text of `health`. A trailing newline and blank lines are
/// fine; a second non-blank line is refused (it would be silently
/// ignored otherwise).
pub fn parse_timing(text: &str) -> Result<Timing, TimingError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let line = lines.next().ok_or(TimingError::Empty)?;
    if lines.next().is_some() {
        return Err(TimingError::MoreThanOneLine);
    }
    let mut fields = line.split_ascii_whitespace();
    let mut next = |field: Field| fields.next().ok_or(TimingError::Missing(field));
    let interval = ms(Field::Interval, next(Field::Interval)?, 1)?;
    let timeout = ms(Field::Timeout, next(Field::Timeout)?, 1)?;
    let retries = number(
        Field::Retries,
        next(Field::Retries)?,
        1,
        u64::from(MAX_RETRIES),
    )? as u32;
    let start_period = match fields.next() {
        Some(v) => ms(Field::StartPeriod, v, 0)?,
        None => Duration::ZERO,
    };
    if fields.next().is_some() {
        return Err(TimingError::TooManyFields);
    }
    Ok(Timing {
        interval,
        timeout,
        retries,
        start_period,
    })
}

fn ms(field: Field, v: &str, min: u64) -> Result<Duration, TimingError> {
    number(field, v, min, MAX_MS).map(Duration::from_millis)
}

/// Decimal digits only (no sign, no unit), `min..=max`; overflow is
/// "too large", never a wrapped value.
fn number(field: Field, v: &str, min: u64, max: u64) -> Result<u64, TimingError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        let shown: String = v.chars().take(32).collect();
        return Err(TimingError::NotANumber(field, shown));
    }
    let n = v.parse::<u64>().unwrap_or(u64::MAX);
    if n < min {
        return Err(TimingError::Zero(field));
    }
    if n > max {
        return Err(TimingError::TooLarge(field, max));
    }
    Ok(n)
}

/// Parses the text of `health-action`: `restart` or `none`.
pub fn parse_action(text: &str) -> Result<OnUnhealthy, ActionError> {
    match text.trim() {
        "restart" => Ok(OnUnhealthy::Restart),
        "none" => Ok(OnUnhealthy::Report),
        other => Err(ActionError(other.chars().take(32).collect())),
    }
}

/// `health-action` holds something other than `restart` or `none`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionError(pub String);

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected restart or none, not: {}", self.0)
    }
}

impl std::error::Error for ActionError {}

/// What is wrong with the health files of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A file exists but cannot be read (errno).
    Unreadable {
        file: &'static str,
        errno: i32,
    },
    NotText {
        file: &'static str,
    },
    Timing(TimingError),
    Probe(UrlError),
    Action(ActionError),
    /// `health` exists, but there is neither `check` nor `health-probe`.
    NoProbe,
}

impl ConfigError {
    /// The service-directory file the error is about.
    pub fn file(&self) -> &'static str {
        match self {
            ConfigError::Unreadable { file, .. } | ConfigError::NotText { file } => file,
            ConfigError::Timing(_) | ConfigError::NoProbe => HEALTH,
            ConfigError::Probe(_) => HEALTH_PROBE,
            ConfigError::Action(_) => HEALTH_ACTION,
        }
    }
}

impl fmt::Display for ConfigError {
    /// `FILE: why`, e.g. `health: RETRIES: must be at least 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file();
        match self {
            ConfigError::Unreadable { errno, .. } => write!(
                f,
                "{file}: unable to read: {}",
                crate::errstr::runit_error_str(*errno)
            ),
            ConfigError::NotText { .. } => write!(f, "{file}: not UTF-8 text"),
            ConfigError::Timing(e) => write!(f, "{file}: {e}"),
            ConfigError::Probe(e) => write!(f, "{file}: {e}"),
            ConfigError::Action(e) => write!(f, "{file}: {e}"),
            ConfigError::NoProbe => {
                write!(
                    f,
                    "{file}: no probe: the service has neither check nor {HEALTH_PROBE}"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Combines the three files' texts (`None`: the file does not exist).
/// `Ok(None)`: no `health`, checking is off. `has_check`: the service has
/// an executable `check`, which wins over `health-probe` (the probe file
/// is then not even parsed: the rule is "where there is no check").
pub fn from_texts(
    health: Option<&str>,
    probe: Option<&str>,
    action: Option<&str>,
    has_check: bool,
) -> Result<Option<HealthConfig>, ConfigError> {
    let Some(health) = health else {
        return Ok(None);
    };
    let timing = parse_timing(health).map_err(ConfigError::Timing)?;
    let probe = if has_check {
        ProbeKind::Check
    } else {
        match probe {
            Some(p) => ProbeKind::Builtin(Target::parse(p).map_err(ConfigError::Probe)?),
            None => return Err(ConfigError::NoProbe),
        }
    };
    let action = match action {
        Some(a) => parse_action(a).map_err(ConfigError::Action)?,
        None => OnUnhealthy::default(),
    };
    Ok(Some(HealthConfig {
        timing,
        probe,
        action,
    }))
}

/// Reads the health files of the service directory `dir` (`has_check`:
/// see [`from_texts`]; callers use `crate::check::exists`).
pub fn load(dir: &Path, has_check: bool) -> Result<Option<HealthConfig>, ConfigError> {
    let health = read(dir, HEALTH)?;
    if health.is_none() {
        // Not checked: the other two files are not even opened.
        return Ok(None);
    }
    let probe = if has_check {
        None
    } else {
        read(dir, HEALTH_PROBE)?
    };
    let action = read(dir, HEALTH_ACTION)?;
    from_texts(
        health.as_deref(),
        probe.as_deref(),
        action.as_deref(),
        has_check,
    )
}

fn read(dir: &Path, file: &'static str) -> Result<Option<String>, ConfigError> {
    use crate::errstr::ErrorNumber;
    use std::io::Read;
    let f = match std::fs::File::open(dir.join(file)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Unreadable {
                file,
                errno: e.number(),
            })
        }
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| ConfigError::Unreadable {
            file,
            errno: e.number(),
        })?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| ConfigError::NotText { file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as D;

    fn t(i: u64, to: u64, r: u32, sp: u64) -> Timing {
        Timing {
            interval: D::from_millis(i),
            timeout: D::from_millis(to),
            retries: r,
            start_period: D::from_millis(sp),
        }
    }

    #[test]
    fn timing_lines() {
        assert_eq!(parse_timing("1000 500 3\n"), Ok(t(1000, 500, 3, 0)));
        assert_eq!(
            parse_timing("  1000\t500 3   2000 \n\n"),
            Ok(t(1000, 500, 3, 2000))
        );
        assert_eq!(parse_timing("\n100 50 1 0"), Ok(t(100, 50, 1, 0)));
        // TIMEOUT > INTERVAL is allowed (probes never overlap).
        assert_eq!(parse_timing("100 5000 2"), Ok(t(100, 5000, 2, 0)));
        assert_eq!(
            parse_timing("2147483647 2147483647 1000000 2147483647"),
            Ok(t(MAX_MS, MAX_MS, MAX_RETRIES, MAX_MS))
        );
    }

    #[test]
    fn timing_refusals() {
        use Field::*;
        use TimingError::*;
        let cases: &[(&str, TimingError)] = &[
            ("", Empty),
            (" \n\t\n", Empty),
            ("1000", Missing(Timeout)),
            ("1000 500", Missing(Retries)),
            ("1000 500 3 0 9", TooManyFields),
            ("1000 500 3\n1 1 1", MoreThanOneLine),
            ("0 500 3", Zero(Interval)),
            ("1000 0 3", Zero(Timeout)),
            ("1000 500 0", Zero(Retries)),
            ("1s 500 3", NotANumber(Interval, "1s".into())),
            ("1000 -5 3", NotANumber(Timeout, "-5".into())),
            ("1000 500 +3", NotANumber(Retries, "+3".into())),
            ("1000 500 3 1e3", NotANumber(StartPeriod, "1e3".into())),
            ("1000 500 3 ٣", NotANumber(StartPeriod, "٣".into())),
            ("2147483648 500 3", TooLarge(Interval, MAX_MS)),
            ("1000 99999999999999999999999 3", TooLarge(Timeout, MAX_MS)),
            (
                "1000 500 1000001",
                TooLarge(Retries, u64::from(MAX_RETRIES)),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_timing(text).as_ref(), Err(want), "{text:?}");
        }
    }

    #[test]
    fn messages_name_the_file_and_field() {
        let e = from_texts(Some("1000 500 0"), None, None, true).unwrap_err();
        assert_eq!(e.to_string(), "health: RETRIES: must be at least 1");
        let e = from_texts(Some("1 1 1"), Some("https://x/"), None, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "health-probe: https is not built in (no TLS in supervise): use a check script"
        );
        let e = from_texts(Some("1 1 1"), None, Some("reboot\n"), true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "health-action: expected restart or none, not: reboot"
        );
        let e = from_texts(Some("1 1 1"), None, None, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "health: no probe: the service has neither check nor health-probe"
        );
        let e = ConfigError::Unreadable {
            file: HEALTH,
            errno: libc::EACCES,
        };
        assert_eq!(e.to_string(), "health: unable to read: access denied");
    }

    #[test]
    fn combining_the_files() {
        assert_eq!(
            from_texts(None, Some("garbage"), Some("garbage"), false),
            Ok(None)
        );
        let c = from_texts(Some("1000 500 3"), Some("tcp://127.0.0.1:1"), None, false)
            .unwrap()
            .unwrap();
        assert_eq!(c.action, OnUnhealthy::Restart);
        assert!(matches!(
            c.probe,
            ProbeKind::Builtin(Target::Tcp { port: 1, .. })
        ));
        // check wins; a bad health-probe is then irrelevant.
        let c = from_texts(Some("1000 500 3"), Some("bad"), Some("none\n"), true)
            .unwrap()
            .unwrap();
        assert_eq!(c.probe, ProbeKind::Check);
        assert_eq!(c.action, OnUnhealthy::Report);
        assert_eq!(parse_action(" restart \n"), Ok(OnUnhealthy::Restart));
    }

    #[test]
    fn loading_from_a_directory() {
        let d = std::env::temp_dir().join(format!("svkit-health-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        assert_eq!(load(&d, false), Ok(None));
        std::fs::write(d.join(HEALTH), "200 100 2 50\n").unwrap();
        assert_eq!(load(&d, false), Err(ConfigError::NoProbe));
        std::fs::write(d.join(HEALTH_PROBE), "http://localhost:8080/up\n").unwrap();
        std::fs::write(d.join(HEALTH_ACTION), "none\n").unwrap();
        let c = load(&d, false).unwrap().unwrap();
        assert_eq!(c.timing, t(200, 100, 2, 50));
        assert_eq!(c.action, OnUnhealthy::Report);
        assert_eq!(
            c.probe.clone(),
            ProbeKind::Builtin(Target::parse("http://localhost:8080/up").unwrap())
        );
        std::fs::write(d.join(HEALTH), b"\xff\xfe").unwrap();
        assert_eq!(load(&d, false), Err(ConfigError::NotText { file: HEALTH }));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
