//! What svscan was asked to do, already validated. The command-line parser
//! lives in `bins/svscan.rs`; environment defaults are resolved here so
//! that the binary and the tests agree on them.

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
    /// The `supervise` program exec'd for each service; `None`: the
    /// built-in one (a fork of svscan, no exec).
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
/// `$SVKIT_SUPERVISE`, else none (the built-in supervise).
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

/// The command line as given (`None` = not given), before environment
/// defaults apply.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    pub scandir: Option<PathBuf>,
    pub shutdown_timeout: Option<String>,
    pub rescan_interval: Option<String>,
    pub no_inotify: bool,
    pub supervise: Option<PathBuf>,
    pub lifecycle: LifecycleArgs,
    pub command: Vec<OsString>,
}

/// What the command line asks for (made once: its size does not matter).
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Cli {
    Help,
    Version,
    Run(Args),
}

/// The one-line usage shown after a usage error.
pub const USAGE: &str = "usage: svscan [OPTIONS] [SCANDIR] [-- COMMAND [ARGS...]] (see --help)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flag,
    /// UTF-8 text.
    Text,
    /// A path; empty is refused.
    Path,
    /// Any bytes.
    Os,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    ShutdownTimeout,
    RescanInterval,
    NoInotify,
    Supervise,
    InitDir,
    PreShutdownDir,
    PostShutdownDir,
    EnvDir,
    WaitReady,
    LogPrefix,
    Help,
    Version,
}

struct Spec {
    opt: Opt,
    long: &'static str,
    short: Option<u8>,
    value: Option<&'static str>,
    kind: Kind,
    help: &'static str,
}

const fn spec(
    opt: Opt,
    long: &'static str,
    short: Option<u8>,
    value: Option<&'static str>,
    kind: Kind,
    help: &'static str,
) -> Spec {
    Spec {
        opt,
        long,
        short,
        value,
        kind,
        help,
    }
}

/// The options, in --help order.
const SPECS: &[Spec] = &[
    spec(
        Opt::ShutdownTimeout,
        "shutdown-timeout",
        Some(b't'),
        Some("SECONDS"),
        Kind::Text,
        "Bound on the whole shutdown, in seconds (2.5) or ms (500ms) \
         [env: SVKIT_SHUTDOWN_TIMEOUT] [default: 8]",
    ),
    spec(
        Opt::RescanInterval,
        "rescan-interval",
        None,
        Some("SECONDS"),
        Kind::Text,
        "Also rescan the whole directory this often (default: never; 5 without inotify)",
    ),
    spec(
        Opt::NoInotify,
        "no-inotify",
        None,
        None,
        Kind::Flag,
        "Rescan periodically instead of using inotify (e.g. network file systems)",
    ),
    spec(
        Opt::Supervise,
        "supervise",
        None,
        Some("PATH"),
        Kind::Path,
        "supervise program to exec for each service [env: SVKIT_SUPERVISE] \
         [default: the built-in supervise, without an exec]",
    ),
    spec(
        Opt::InitDir,
        "init-dir",
        None,
        Some("DIRS"),
        Kind::Os,
        "Init scripts run before any service, colon list of dirs or files \
         [env: SVSCAN_INIT_DIRS] [default: /etc/svscan/init.d]",
    ),
    spec(
        Opt::PreShutdownDir,
        "pre-shutdown-dir",
        None,
        Some("DIRS"),
        Kind::Os,
        "Hooks run before services stop [env: SVSCAN_PRE_SHUTDOWN_DIRS] \
         [default: /etc/svscan/pre-shutdown.d]",
    ),
    spec(
        Opt::PostShutdownDir,
        "post-shutdown-dir",
        None,
        Some("DIRS"),
        Kind::Os,
        "Hooks run after services are down [env: SVSCAN_POST_SHUTDOWN_DIRS] \
         [default: /etc/svscan/finish.d]",
    ),
    spec(
        Opt::EnvDir,
        "env-dir",
        None,
        Some("DIR"),
        Kind::Path,
        "Static environment (envdir) under the runtime one \
         [env: SVSCAN_ENV_DIR] [default: /etc/svscan/env]",
    ),
    spec(
        Opt::WaitReady,
        "wait-ready",
        None,
        Some("SVC,...|all"),
        Kind::Text,
        "Start COMMAND only once these services are ready [env: SVSCAN_WAIT_READY]",
    ),
    spec(
        Opt::LogPrefix,
        "log-prefix",
        None,
        None,
        Kind::Flag,
        "Copy the output of services without log/ to svscan's stdout/stderr, \
         prefixed with their names [env: SVSCAN_LOG_PREFIX=1]",
    ),
    spec(
        Opt::Help,
        "help",
        Some(b'h'),
        None,
        Kind::Flag,
        "Print help",
    ),
    spec(
        Opt::Version,
        "version",
        Some(b'V'),
        None,
        Kind::Flag,
        "Print version",
    ),
];

impl Spec {
    /// `'--name <VALUE>'` as usage errors name it.
    fn display(&self) -> String {
        match self.value {
            Some(v) => format!("'--{} <{v}>'", self.long),
            None => format!("'--{}'", self.long),
        }
    }
}

fn unexpected(arg: &str) -> String {
    format!("unexpected argument '{arg}' found")
}

fn value_required(what: &str) -> String {
    format!("a value is required for {what} but none was supplied")
}

/// The option an argument starting with `-` names (`Err`: none does).
fn lookup(arg: &[u8]) -> Result<&'static Spec, String> {
    if let Some(long) = arg.strip_prefix(b"--") {
        let name = long.split(|&b| b == b'=').next().unwrap_or(b"");
        SPECS
            .iter()
            .find(|s| s.long.as_bytes() == name)
            .ok_or_else(|| unexpected(&format!("--{}", String::from_utf8_lossy(name))))
    } else {
        let c = arg.get(1).copied().unwrap_or(b'-');
        SPECS.iter().find(|s| s.short == Some(c)).ok_or_else(|| {
            let first = String::from_utf8_lossy(&arg[1..])
                .chars()
                .next()
                .unwrap_or('-');
            unexpected(&format!("-{first}"))
        })
    }
}

/// Stores an option's value; `Ok(Some(..))` for --help and --version.
fn store(args: &mut Args, spec: &Spec, value: Option<OsString>) -> Result<Option<Cli>, String> {
    let again = || {
        format!(
            "the argument {} cannot be used multiple times",
            spec.display()
        )
    };
    let text = |v: OsString| {
        v.into_string()
            .map_err(|_| "invalid UTF-8 was detected in one or more arguments".to_string())
    };
    let path = |v: OsString| {
        if v.is_empty() {
            Err(value_required(&spec.display()))
        } else {
            Ok(PathBuf::from(v))
        }
    };
    fn set<T>(slot: &mut Option<T>, v: T, again: impl Fn() -> String) -> Result<(), String> {
        if slot.is_some() {
            return Err(again());
        }
        *slot = Some(v);
        Ok(())
    }
    let flag = |slot: &mut bool| {
        if *slot {
            return Err(again());
        }
        *slot = true;
        Ok(())
    };
    let v = value.unwrap_or_default();
    let life = &mut args.lifecycle;
    match spec.opt {
        Opt::Help => return Ok(Some(Cli::Help)),
        Opt::Version => return Ok(Some(Cli::Version)),
        Opt::NoInotify => flag(&mut args.no_inotify)?,
        Opt::LogPrefix => flag(&mut life.log_prefix)?,
        Opt::ShutdownTimeout => set(&mut args.shutdown_timeout, text(v)?, again)?,
        Opt::RescanInterval => set(&mut args.rescan_interval, text(v)?, again)?,
        Opt::WaitReady => set(&mut life.wait_ready, text(v)?, again)?,
        Opt::Supervise => set(&mut args.supervise, path(v)?, again)?,
        Opt::EnvDir => set(&mut life.env_dir, path(v)?, again)?,
        Opt::InitDir => set(&mut life.init_dirs, v, again)?,
        Opt::PreShutdownDir => set(&mut life.pre_shutdown_dirs, v, again)?,
        Opt::PostShutdownDir => set(&mut life.post_shutdown_dirs, v, again)?,
    }
    Ok(None)
}

/// Parses svscan's arguments (without the program name), left to right:
/// the first error, --help or --version wins. The messages are the ones
/// svscan has always given (they came from clap); `Err` is the first part
/// of `svscan: fatal: ...: usage: ...`.
pub fn parse_args(argv: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut args = Args::default();
    let mut argv = argv.into_iter();
    // An option still waiting for its value.
    let mut pending: Option<&'static Spec> = None;
    while let Some(arg) = argv.next() {
        let bytes = arg.as_bytes();
        let is_option = bytes.len() > 1 && bytes[0] == b'-';
        if let Some(spec) = pending {
            if !is_option {
                pending = None;
                if let Some(cli) = store(&mut args, spec, Some(arg))? {
                    return Ok(cli);
                }
                continue;
            }
            // An option where the value should be: an unknown one is
            // reported as such, a known one leaves the value missing.
            if bytes != b"--" {
                lookup(bytes)?;
            }
            return Err(value_required(&spec.display()));
        }
        if bytes == b"--" {
            args.command.extend(argv);
            break;
        }
        if !is_option {
            if args.scandir.is_some() {
                return Err(unexpected(&arg.to_string_lossy()));
            }
            if arg.is_empty() {
                return Err(value_required("'[SCANDIR]'"));
            }
            args.scandir = Some(PathBuf::from(arg));
            continue;
        }
        let spec = lookup(bytes)?;
        // The value attached to the option (`--name=V`, `-tV`, `-t=V`).
        let attached: Option<&[u8]> = if bytes.starts_with(b"--") {
            bytes
                .iter()
                .position(|&b| b == b'=')
                .map(|eq| &bytes[eq + 1..])
        } else {
            let rest = &bytes[2..];
            (!rest.is_empty()).then(|| rest.strip_prefix(b"=").unwrap_or(rest))
        };
        let cli = match (spec.kind, attached) {
            (Kind::Flag, Some(v)) if bytes.starts_with(b"--") => {
                return Err(format!(
                    "unexpected value '{}' for '--{}' found; no more were expected",
                    String::from_utf8_lossy(v),
                    spec.long
                ))
            }
            (Kind::Flag, Some(rest)) => {
                // A cluster of short flags: -h and -V end parsing at once.
                let cli = store(&mut args, spec, None)?;
                if cli.is_none() {
                    let next = [&b"-"[..], rest].concat();
                    lookup(&next)?;
                }
                cli
            }
            (Kind::Flag, None) => store(&mut args, spec, None)?,
            (_, Some(v)) => store(&mut args, spec, Some(OsString::from_vec(v.to_vec())))?,
            (_, None) => {
                pending = Some(spec);
                None
            }
        };
        if let Some(cli) = cli {
            return Ok(cli);
        }
    }
    if let Some(spec) = pending {
        return Err(value_required(&spec.display()));
    }
    Ok(Cli::Run(args))
}

/// svscan --version.
pub fn version_text() -> String {
    format!("svscan {}\n", env!("CARGO_PKG_VERSION"))
}

/// svscan --help, bold and underlined like clap's when `styled`.
pub fn help_text(styled: bool) -> String {
    use std::fmt::Write;
    let (head, bold, end) = if styled {
        ("\x1b[1m\x1b[4m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut h = String::with_capacity(3072);
    let _ = write!(
        h,
        "Watch a scan directory and keep one supervise per service; a correct PID 1\n\n\
         {head}Usage:{end} svscan [OPTIONS] [SCANDIR] [-- COMMAND [ARGS...]]\n\n\
         {head}Arguments:{end}\n\
         \x20 [SCANDIR]     Directory of service directories [default: $SVDIR, else /etc/service]\n\
         \x20 [COMMAND]...  Main command: runs in the foreground; its exit ends svscan with its status\n\n\
         {head}Options:{end}\n"
    );
    for s in SPECS {
        let short = match s.short {
            Some(c) => format!("{bold}-{}{end}, ", c as char),
            None => "    ".to_string(),
        };
        let value = s.value.map(|v| format!(" <{v}>")).unwrap_or_default();
        let pad = 26usize.saturating_sub(s.long.len() + value.len());
        let _ = writeln!(
            h,
            "  {short}{bold}--{}{end}{value}{:pad$}  {}",
            s.long, "", s.help
        );
    }
    h.push_str(
        "\nSCANDIR defaults to $SVDIR, else /etc/service.\n\
         Signals: TERM, INT, QUIT, PWR = orderly shutdown (a second one skips to the kill);\n\
         HUP, ALRM = rescan; TTIN, TTOU = ignored.\n\
         Boot: runtime dir ($SVKIT_RUNDIR, else /run/svkit), environment dump, init scripts,\n\
         services, main command. Shutdown: pre-shutdown hooks, services stop, post-shutdown hooks.\n\
         Exit status, first that applies: svctl halt CODE or RUNDIR/exitcode; COMMAND's status\n\
         (128+signal if killed, 127/126 if it cannot be run); the essential service's status;\n\
         the failed init script's code; after a signal $SVSCAN_EXIT_ON_SIGNAL (0); 111 system\n\
         error, runtime dir unusable or SCANDIR already scanned; 100 usage error.\n\
         More settings (SVSCAN_* variables): see svscan(8) and svkit-container(7).\n",
    );
    h
}

/// Style --help for a terminal, as clap did: stdout is one, and neither
/// NO_COLOR nor CLICOLOR=0 nor TERM=dumb says otherwise (CLICOLOR_FORCE
/// forces it).
pub fn help_styled() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty() && v != "0");
    if set("CLICOLOR_FORCE") {
        return true;
    }
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || std::env::var_os("CLICOLOR").is_some_and(|v| v == "0")
        || std::env::var_os("TERM").is_some_and(|v| v == "dumb")
    {
        return false;
    }
    crate::sys::isatty(1)
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

#[cfg(test)]
mod parse_tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn options_and_positionals() {
        let Ok(Cli::Run(a)) = parse(&[
            "-t5",
            "/s",
            "--no-inotify",
            "--wait-ready=a,b",
            "--init-dir",
            "",
            "--",
            "cmd",
            "-x",
        ]) else {
            panic!()
        };
        assert_eq!(a.shutdown_timeout.as_deref(), Some("5"));
        assert_eq!(a.scandir, Some(PathBuf::from("/s")));
        assert!(a.no_inotify);
        assert_eq!(a.lifecycle.wait_ready.as_deref(), Some("a,b"));
        assert_eq!(a.lifecycle.init_dirs, Some(OsString::new()));
        assert_eq!(a.command, ["cmd", "-x"]);
        assert_eq!(
            parse(&["-t=2", "-"]).map(|c| matches!(c, Cli::Run(_))),
            Ok(true)
        );
        assert_eq!(parse(&["x", "--help", "--foo"]), Ok(Cli::Help));
        assert_eq!(parse(&["-Vh"]), Ok(Cli::Version));
    }

    #[test]
    fn usage_errors() {
        let err = |args: &[&str]| parse(args).unwrap_err();
        assert_eq!(err(&["--foo=1"]), "unexpected argument '--foo' found");
        assert_eq!(err(&["-vx"]), "unexpected argument '-v' found");
        assert_eq!(err(&["a", "b"]), "unexpected argument 'b' found");
        assert_eq!(
            err(&["-t", "--no-inotify"]),
            "a value is required for '--shutdown-timeout <SECONDS>' but none was supplied"
        );
        assert_eq!(err(&["-t", "-3"]), "unexpected argument '-3' found");
        assert_eq!(
            err(&["--log-prefix=1"]),
            "unexpected value '1' for '--log-prefix' found; no more were expected"
        );
        assert_eq!(
            err(&["--no-inotify", "--no-inotify"]),
            "the argument '--no-inotify' cannot be used multiple times"
        );
        assert_eq!(
            err(&["--supervise="]),
            "a value is required for '--supervise <PATH>' but none was supplied"
        );
        assert_eq!(
            err(&[""]),
            "a value is required for '[SCANDIR]' but none was supplied"
        );
    }

    #[test]
    fn help_lines_up() {
        let h = help_text(false);
        assert!(h.contains("\n  -t, --shutdown-timeout <SECONDS>  Bound on the whole shutdown"));
        assert!(h.contains("\n      --rescan-interval <SECONDS>   Also rescan"));
        assert!(h.contains("\n  -V, --version                     Print version\n"));
    }
}
