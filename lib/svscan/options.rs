//! What svscan was asked to do, already validated: the options, and the
//! `SVSCAN_*` environment they default to. The command line itself is
//! parsed in `cli.rs`.

use crate::container::exitcode;
use crate::container::scripts::Policy;
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
    /// The `supervise` program exec'd for each service; `None`: the one
    /// next to svscan's own executable.
    pub supervise: Option<PathBuf>,
    /// Periodic full rescan in addition to inotify (`None` = never).
    pub rescan_interval: Option<Duration>,
    /// Scan periodically instead of using inotify.
    pub no_inotify: bool,
    /// The container's main command (empty = none).
    pub command: Vec<OsString>,
    /// Container lifecycle settings (runtime dir, env, scripts, ...).
    pub life: Lifecycle,
}

/// Which services gate the main command (`--wait-ready`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitReady {
    None,
    All,
    Some(Vec<String>),
}

/// What to do when `--wait-ready` times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFail {
    Stop,
    Warn,
}

/// The container lifecycle (svkit-container(7)): everything configured by
/// `SVSCAN_*` variables, with the command line able to override some.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub rundir: PathBuf,
    /// Capture and dump the environment at boot (`SVSCAN_ENV_DUMP`).
    pub env_dump: bool,
    /// Static environment directory (`SVSCAN_ENV_DIR`).
    pub env_dir: PathBuf,
    /// Group allowed to read the dump (`SVSCAN_ENV_GROUP`).
    pub env_group: Option<u32>,
    pub init_dirs: OsString,
    pub init_timeout: Option<Duration>,
    pub init_fail: Policy,
    pub pre_shutdown_dirs: OsString,
    pub post_shutdown_dirs: OsString,
    pub hook_timeout: Duration,
    /// Services named essential by `SVSCAN_ESSENTIAL` (besides the ones
    /// with an `essential` file).
    pub essential: Vec<String>,
    pub wait_ready: WaitReady,
    pub wait_ready_timeout: Option<Duration>,
    pub wait_ready_fail: WaitFail,
    pub log_prefix: bool,
    pub exit: exitcode::Options,
}

pub const ENV_ENV_DUMP: &str = "SVSCAN_ENV_DUMP";
pub const ENV_ENV_DIR: &str = "SVSCAN_ENV_DIR";
pub const ENV_ENV_GROUP: &str = "SVSCAN_ENV_GROUP";
pub const ENV_INIT_DIRS: &str = "SVSCAN_INIT_DIRS";
pub const ENV_INIT_TIMEOUT: &str = "SVSCAN_INIT_TIMEOUT";
pub const ENV_INIT_FAIL: &str = "SVSCAN_INIT_FAIL";
pub const ENV_PRE_SHUTDOWN_DIRS: &str = "SVSCAN_PRE_SHUTDOWN_DIRS";
pub const ENV_POST_SHUTDOWN_DIRS: &str = "SVSCAN_POST_SHUTDOWN_DIRS";
/// Older name of `SVSCAN_POST_SHUTDOWN_DIRS` (svkit-container(7)).
pub const ENV_FINISH_DIRS: &str = "SVSCAN_FINISH_DIRS";
pub const ENV_HOOK_TIMEOUT: &str = "SVSCAN_HOOK_TIMEOUT";
pub const ENV_ESSENTIAL: &str = "SVSCAN_ESSENTIAL";
pub const ENV_WAIT_READY: &str = "SVSCAN_WAIT_READY";
pub const ENV_WAIT_READY_TIMEOUT: &str = "SVSCAN_WAIT_READY_TIMEOUT";
pub const ENV_WAIT_READY_FAIL: &str = "SVSCAN_WAIT_READY_FAIL";
pub const ENV_LOG_PREFIX: &str = "SVSCAN_LOG_PREFIX";
pub const ENV_EXIT_ON_SIGNAL: &str = "SVSCAN_EXIT_ON_SIGNAL";
pub const ENV_EXIT_REMAP: &str = "SVSCAN_EXIT_REMAP";

pub const DEFAULT_ENV_DIR: &str = "/etc/svscan/env";
pub const DEFAULT_INIT_DIRS: &str = "/etc/svscan/init.d";
pub const DEFAULT_PRE_SHUTDOWN_DIRS: &str = "/etc/svscan/pre-shutdown.d";
pub const DEFAULT_POST_SHUTDOWN_DIRS: &str = "/etc/svscan/finish.d";
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(2);

/// Command-line values that override the environment (`None` = not given).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LifecycleArgs {
    pub env_dir: Option<PathBuf>,
    pub init_dirs: Option<OsString>,
    pub pre_shutdown_dirs: Option<OsString>,
    pub post_shutdown_dirs: Option<OsString>,
    pub wait_ready: Option<String>,
    pub log_prefix: bool,
}

/// An environment variable, if set (empty counts as set: `SVSCAN_INIT_DIRS=`
/// means "no init scripts").
fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

fn var_str(name: &str) -> Result<Option<String>, String> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) => v
            .into_string()
            .map(Some)
            .map_err(|_| format!("invalid {name}: not UTF-8")),
    }
}

fn flag(name: &str) -> Result<Option<bool>, String> {
    match var_str(name)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("1" | "yes" | "true") => Ok(Some(true)),
        Some("0" | "no" | "false") => Ok(Some(false)),
        Some(other) => Err(format!("invalid {name} '{other}' (use 1 or 0)")),
    }
}

fn opt_duration(name: &str) -> Result<Option<Duration>, String> {
    match var_str(name)? {
        Some(v) if !v.trim().is_empty() => parse_duration(&v)
            .map(|d| Some(d).filter(|d| !d.is_zero()))
            .map_err(|e| format!("invalid {name}: {e}")),
        _ => Ok(None),
    }
}

/// `a,b c` -> ["a", "b", "c"].
pub fn split_names(text: &str) -> Vec<String> {
    text.split([',', ' ', ':'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub fn parse_wait_ready(text: &str) -> WaitReady {
    match text.trim() {
        "" => WaitReady::None,
        "all" => WaitReady::All,
        t => WaitReady::Some(split_names(t)),
    }
}

fn parse_group(text: &str) -> Result<u32, String> {
    if let Ok(gid) = text.trim().parse::<u32>() {
        return Ok(gid);
    }
    // /etc/group read directly, as chpst does: no NSS, so the same lookup
    // works in a static binary and in an image without glibc's modules.
    match crate::chpst::accounts::AccountFiles::system().group_by_name(text.trim().as_bytes()) {
        Ok(Some(gid)) => Ok(gid),
        _ => Err(format!("invalid {ENV_ENV_GROUP}: no group '{text}'")),
    }
}

impl Lifecycle {
    /// Reads the `SVSCAN_*` variables, then applies `args`.
    ///
    /// # Errors
    /// One line naming the bad variable (a usage error).
    pub fn from_env(args: LifecycleArgs) -> Result<Lifecycle, String> {
        let init_fail = match var_str(ENV_INIT_FAIL)? {
            Some(v) if !v.trim().is_empty() => {
                Policy::parse(&v).map_err(|e| format!("invalid {ENV_INIT_FAIL}: {e}"))?
            }
            _ => Policy::Stop,
        };
        let wait_ready_fail = match var_str(ENV_WAIT_READY_FAIL)?.as_deref().map(str::trim) {
            None | Some("") | Some("stop") => WaitFail::Stop,
            Some("warn") => WaitFail::Warn,
            Some(o) => {
                return Err(format!(
                    "invalid {ENV_WAIT_READY_FAIL} '{o}' (use stop or warn)"
                ))
            }
        };
        let on_signal = match var_str(ENV_EXIT_ON_SIGNAL)? {
            Some(v) if !v.trim().is_empty() => exitcode::OnSignal::parse(&v)
                .map_err(|e| format!("invalid {ENV_EXIT_ON_SIGNAL}: {e}"))?,
            _ => exitcode::Options::default().on_signal,
        };
        let remap = match var_str(ENV_EXIT_REMAP)? {
            Some(v) if !v.trim().is_empty() => {
                exitcode::parse_remap(&v).map_err(|e| format!("invalid {ENV_EXIT_REMAP}: {e}"))?
            }
            _ => Vec::new(),
        };
        let env_group = match var_str(ENV_ENV_GROUP)? {
            Some(v) if !v.trim().is_empty() => Some(parse_group(&v)?),
            _ => None,
        };
        let wait_ready = match args.wait_ready {
            Some(w) => parse_wait_ready(&w),
            None => parse_wait_ready(&var_str(ENV_WAIT_READY)?.unwrap_or_default()),
        };
        Ok(Lifecycle {
            rundir: crate::container::rundir::resolve(),
            env_dump: flag(ENV_ENV_DUMP)?.unwrap_or(true),
            env_dir: args
                .env_dir
                .or_else(|| {
                    var(ENV_ENV_DIR)
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                })
                .unwrap_or_else(|| PathBuf::from(DEFAULT_ENV_DIR)),
            env_group,
            init_dirs: args
                .init_dirs
                .or_else(|| var(ENV_INIT_DIRS))
                .unwrap_or_else(|| DEFAULT_INIT_DIRS.into()),
            init_timeout: opt_duration(ENV_INIT_TIMEOUT)?,
            init_fail,
            pre_shutdown_dirs: args
                .pre_shutdown_dirs
                .or_else(|| var(ENV_PRE_SHUTDOWN_DIRS))
                .unwrap_or_else(|| DEFAULT_PRE_SHUTDOWN_DIRS.into()),
            post_shutdown_dirs: args
                .post_shutdown_dirs
                .or_else(|| var(ENV_POST_SHUTDOWN_DIRS))
                .or_else(|| var(ENV_FINISH_DIRS))
                .unwrap_or_else(|| DEFAULT_POST_SHUTDOWN_DIRS.into()),
            hook_timeout: opt_duration(ENV_HOOK_TIMEOUT)?.unwrap_or(DEFAULT_HOOK_TIMEOUT),
            essential: split_names(&var_str(ENV_ESSENTIAL)?.unwrap_or_default()),
            wait_ready,
            wait_ready_timeout: opt_duration(ENV_WAIT_READY_TIMEOUT)?,
            wait_ready_fail,
            log_prefix: args.log_prefix || flag(ENV_LOG_PREFIX)?.unwrap_or(false),
            exit: exitcode::Options { on_signal, remap },
        })
    }
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

/// The `supervise` program to exec when `--supervise` is not given:
/// `$SVKIT_SUPERVISE`, else none (the one next to svscan).
pub fn supervise_from_env() -> Option<PathBuf> {
    std::env::var_os(ENV_SUPERVISE)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
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
