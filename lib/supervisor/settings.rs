//! Per-service settings: one small file each in the service directory
//! (s6's `down-signal`, `timeout-kill`, `timeout-finish`, `notification-fd`
//! and svkit's `restart-backoff`, `restart-limit`). Read once when supervise
//! starts. A bad value costs one warning line and the default; supervision
//! never stops over a settings file.

use crate::servicedir as sd;
use std::time::Duration;

/// Exponential restart delay: the n-th consecutive automatic restart waits
/// `min(initial * 2^(n-1), max)` after the exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

/// At most `count` automatic restarts within `window`; one more exit marks
/// the service failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub window: Duration,
}

pub const DEFAULT_LIMIT_WINDOW: Duration = Duration::from_secs(60);
pub const DEFAULT_TIMEOUT_FINISH: Duration = Duration::from_millis(5000);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub down_signal: i32,
    /// SIGKILL the process group this long after the stop signal.
    pub timeout_kill: Option<Duration>,
    /// SIGKILL `finish` (its process group) after this long.
    pub timeout_finish: Option<Duration>,
    pub notification_fd: Option<i32>,
    pub backoff: Option<Backoff>,
    pub limit: Option<Limit>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            down_signal: libc::SIGTERM,
            timeout_kill: None,
            timeout_finish: Some(DEFAULT_TIMEOUT_FINISH),
            notification_fd: None,
            backoff: None,
            limit: None,
        }
    }
}

/// Reads the settings of the service whose directory is `base` relative to
/// the current directory (`""` for the main service, `"log/"` for the
/// logger). `label` is how messages name that directory.
pub fn load(base: &str, label: &str) -> Settings {
    let mut s = Settings::default();
    let read = |name: &str| -> Option<(String, String)> {
        let shown = format!("{label}/{name}");
        match super::setting_file::read(&format!("{base}{name}")) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                let value = text.lines().next().unwrap_or("").trim().to_string();
                Some((shown, value))
            }
            Ok(None) => None,
            Err(why) => {
                crate::msg::warn_why(super::PROG, format_args!("{shown}: ignored"), why);
                None
            }
        }
    };
    if let Some((shown, v)) = read(sd::DOWN_SIGNAL) {
        s.down_signal = checked(&shown, &v, parse_signal(&v), s.down_signal);
    }
    if let Some((shown, v)) = read(sd::TIMEOUT_KILL) {
        s.timeout_kill = checked(&shown, &v, parse_ms(&v).map(nonzero), s.timeout_kill);
    }
    if let Some((shown, v)) = read(sd::TIMEOUT_FINISH) {
        s.timeout_finish = checked(&shown, &v, parse_ms(&v).map(nonzero), s.timeout_finish);
    }
    if let Some((shown, v)) = read(sd::NOTIFICATION_FD) {
        s.notification_fd = checked(&shown, &v, parse_fd(&v).map(Some), s.notification_fd);
    }
    if let Some((shown, v)) = read(sd::RESTART_BACKOFF) {
        s.backoff = checked(&shown, &v, parse_backoff(&v).map(Some), s.backoff);
    }
    if let Some((shown, v)) = read(sd::RESTART_LIMIT) {
        s.limit = checked(&shown, &v, parse_limit(&v).map(Some), s.limit);
    }
    s
}

fn checked<T>(shown: &str, value: &str, parsed: Option<T>, default: T) -> T {
    match parsed {
        Some(v) => v,
        None => {
            crate::msg::warn(super::PROG, format_args!("{shown}: invalid value: {value}"));
            default
        }
    }
}

fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Milliseconds, decimal digits only; 0 means "never".
pub fn parse_ms(s: &str) -> Option<Duration> {
    parse_u64(s).map(Duration::from_millis)
}

/// `SIGHUP`, `HUP` or a number 1..=64, but never STOP, by name or by
/// number: it would never stop anything. KILL is allowed.
pub fn parse_signal(s: &str) -> Option<i32> {
    let sig = match parse_u64(s) {
        Some(n) => i32::try_from(n).ok().filter(|n| (1..=64).contains(n))?,
        None => {
            let upper = s.to_ascii_uppercase();
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            let full = format!("SIG{name}");
            let sig: nix::sys::signal::Signal = full.parse().ok()?;
            sig as i32
        }
    };
    (sig != libc::SIGSTOP).then_some(sig)
}

/// A descriptor number for the readiness pipe: 3..=1023 (0–2 are the
/// service's standard streams).
pub fn parse_fd(s: &str) -> Option<i32> {
    let n = parse_u64(s)?;
    (3..=1023).contains(&n).then_some(n as i32)
}

/// `INITIAL_MS MAX_MS`, 1 <= INITIAL <= MAX.
pub fn parse_backoff(s: &str) -> Option<Backoff> {
    let mut it = s.split_ascii_whitespace();
    let initial = parse_u64(it.next()?)?;
    let max = parse_u64(it.next()?)?;
    if it.next().is_some() || initial == 0 || max < initial {
        return None;
    }
    Some(Backoff {
        initial: Duration::from_millis(initial),
        max: Duration::from_millis(max),
    })
}

/// `COUNT [WINDOW_SECONDS]` (window defaults to 60 s, must be >= 1).
pub fn parse_limit(s: &str) -> Option<Limit> {
    let mut it = s.split_ascii_whitespace();
    let count = u32::try_from(parse_u64(it.next()?)?).ok()?;
    let window = match it.next() {
        Some(w) => {
            let w = parse_u64(w)?;
            if w == 0 {
                return None;
            }
            Duration::from_secs(w)
        }
        None => DEFAULT_LIMIT_WINDOW,
    };
    if it.next().is_some() {
        return None;
    }
    Some(Limit { count, window })
}

impl Backoff {
    /// Delay before the `n`-th consecutive automatic restart (n >= 1).
    pub fn delay(&self, n: u64) -> Duration {
        let shift = n.saturating_sub(1).min(32) as u32;
        let ms = (self.initial.as_millis() as u64).saturating_mul(1u64 << shift);
        Duration::from_millis(ms).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("SIGHUP"), Some(libc::SIGHUP));
        assert_eq!(parse_signal("HUP"), Some(libc::SIGHUP));
        assert_eq!(parse_signal("int"), Some(libc::SIGINT));
        assert_eq!(parse_signal("10"), Some(10));
        assert_eq!(parse_signal("0"), None);
        assert_eq!(parse_signal("65"), None);
        assert_eq!(parse_signal("SIGFOO"), None);
        assert_eq!(parse_signal("STOP"), None);
        // STOP by number too (issue 13, finding 8: was accepted).
        assert_eq!(parse_signal("19"), None);
        assert_eq!(parse_signal("SIGKILL"), Some(libc::SIGKILL));
        assert_eq!(parse_signal("9"), Some(libc::SIGKILL));
        assert_eq!(parse_signal("99999999999999999999999"), None);
        assert_eq!(parse_signal(""), None);
    }

    #[test]
    fn numbers_and_pairs() {
        assert_eq!(parse_ms("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_ms("-1"), None);
        assert_eq!(parse_ms("1.5"), None);
        assert_eq!(parse_fd("3"), Some(3));
        assert_eq!(parse_fd("1"), None);
        let b = parse_backoff("100 1000").unwrap();
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(3), Duration::from_millis(400));
        assert_eq!(b.delay(10), Duration::from_millis(1000));
        assert_eq!(b.delay(200), Duration::from_millis(1000));
        assert_eq!(parse_backoff("100"), None);
        assert_eq!(parse_backoff("0 10"), None);
        assert_eq!(parse_backoff("20 10"), None);
        assert_eq!(
            parse_limit("3"),
            Some(Limit {
                count: 3,
                window: DEFAULT_LIMIT_WINDOW
            })
        );
        assert_eq!(parse_limit("3 10").unwrap().window, Duration::from_secs(10));
        assert_eq!(parse_limit("3 0"), None);
        assert_eq!(parse_limit("x"), None);
    }
}
