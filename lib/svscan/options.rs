//! What svscan was asked to do, already validated. The command-line parser
//! lives in `bins/svscan.rs`; environment defaults are resolved here so
//! that the binary and the tests agree on them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Environment variable holding the default shutdown deadline.
pub const ENV_SHUTDOWN_TIMEOUT: &str = "SVKIT_SHUTDOWN_TIMEOUT";
/// Environment variable naming the `supervise` binary to run.
pub const ENV_SUPERVISE: &str = "SVKIT_SUPERVISE";
/// Default deadline: finishes before Docker's 10 s SIGKILL.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(8);
/// Rescan period used when inotify is unavailable or turned off and no
/// interval was given (runsvdir's period).
pub const FALLBACK_RESCAN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Options {
    /// Directory of service directories (absolute).
    pub scandir: PathBuf,
    /// The one bound on the whole shutdown sequence.
    pub shutdown_timeout: Duration,
    /// The `supervise` program started for each service.
    pub supervise: PathBuf,
    /// Periodic full rescan in addition to inotify (`None` = never).
    pub rescan_interval: Option<Duration>,
    /// Scan periodically instead of using inotify.
    pub no_inotify: bool,
    /// The container's main command (empty = none).
    pub command: Vec<OsString>,
}

/// Parses a duration given in seconds (`8`, `2.5`) or milliseconds (`500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("invalid duration '{text}' (use seconds like 8 or 2.5, or 500ms)");
    if let Some(ms) = t.strip_suffix("ms") {
        let ms: u64 = ms.trim().parse().map_err(|_| bad())?;
        return Ok(Duration::from_millis(ms));
    }
    let s = t.strip_suffix('s').unwrap_or(t);
    let secs: f64 = s.trim().parse().map_err(|_| bad())?;
    if !secs.is_finite() || !(0.0..=86400.0 * 365.0).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The `supervise` binary: `$SVKIT_SUPERVISE`, else the `supervise` next to
/// this executable, else `supervise` looked up in `PATH`. The sibling comes
/// first because Debian's daemontools also installs a `/usr/bin/supervise`.
pub fn default_supervise() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV_SUPERVISE).filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let sibling = dir.join("supervise");
            if sibling.is_file() {
                return sibling;
            }
        }
    }
    PathBuf::from("supervise")
}

/// Makes `path` absolute against the current directory without resolving
/// symlinks (the scan directory may itself be a symlink).
pub fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("8"), Ok(Duration::from_secs(8)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("nan").is_err());
        assert!(parse_duration("1.5ms").is_err());
    }
}
