//! svctl: runit `sv`-compatible control and status for runit-compatible
//! supervisors (svkit `supervise`, runit `runsv`, daemontools `supervise`
//! for status), plus `--json`, `ready`/`wait-ready` and event-driven waits.
//! See man/svctl.8. One small module per job:
//!
//! * `args`: getopt-compatible parsing, usage and help text
//! * `commands`: command word → control bytes and wait predicates
//! * `resolve`: service argument → directory, listing `$SVDIR`
//! * `probe`: liveness (`supervise/ok`), `status`, `svkit-status`
//! * `send`: the "already" rule and the control FIFO write
//! * `predicate`: race-free wait predicates (pure)
//! * `checkscript`: running `./check` with a time limit
//! * `watch`: inotify subscription to `supervise/`
//! * `engine`: send to all, then wait for all
//! * `show`, `format`, `json`: output
//! * `exec`, `envcmd`, `halt`: container commands (captured environment,
//!   shutting svscan down), see [`container_command`]

pub mod args;
pub mod checkscript;
pub mod commands;
pub mod engine;
pub mod envcmd;
pub mod exec;
pub mod format;
pub mod halt;
pub mod json;
pub mod predicate;
pub mod probe;
pub mod resolve;
pub mod send;
pub mod show;
pub mod watch;

use args::{Args, Stop};
use commands::{Action, Kind};
use format::Out;
use show::{Shown, StatusResult};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn usage(progname: &str, lsb: bool) -> i32 {
    let _ = std::io::stderr()
        .lock()
        .write_all(args::usage_line(progname, lsb).as_bytes());
    if lsb {
        crate::exit::lsb::USAGE
    } else {
        crate::exit::USAGE
    }
}

/// Runs svctl with `argv` (including argv[0]); returns the exit code.
pub fn main(argv: Vec<OsString>) -> i32 {
    if let Some(code) = container_command(&argv) {
        return code;
    }
    let args = match args::parse(&argv) {
        Ok(a) => a,
        Err(stop) => match *stop {
            (a, Stop::Help) => {
                let _ = std::io::stdout()
                    .lock()
                    .write_all(args::help_text(&a.progname).as_bytes());
                return 0;
            }
            (a, Stop::Usage { diag, version }) => {
                let mut err = std::io::stderr().lock();
                if version {
                    let _ = writeln!(err, "svctl (svkit) {VERSION}");
                }
                if let Some(d) = diag {
                    let _ = writeln!(err, "{d}");
                }
                drop(err);
                return usage(&a.progname, a.lsb);
            }
        },
    };
    let Some(action) = commands::parse(&args.command, args.lsb) else {
        return usage(&args.progname, args.lsb);
    };
    let svdir = resolve::svdir();
    let mut names = args.services.clone();
    if names.is_empty() {
        if !matches!(action.kind, Kind::Status | Kind::Ready) {
            return usage(&args.progname, args.lsb);
        }
        match resolve::list_services(&svdir) {
            Ok(n) => names = n,
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{}: fatal: unable to list {}: {}",
                    args.progname,
                    svdir.display(),
                    crate::errstr::io_error_str(&e)
                );
                return if args.lsb {
                    crate::exit::lsb::FATAL
                } else {
                    crate::exit::USAGE
                };
            }
        }
    }
    let mut out = Out::default();
    let code = match action.kind {
        Kind::Status if args.json => status_json(&mut out, &svdir, &names),
        Kind::Status => status_text(&mut out, &args, &svdir, &names),
        _ => control(&mut out, &args, action, &svdir, &names),
    };
    out.flush();
    code
}

/// The container commands `exec`, `env` and `halt`, recognised as whole
/// words right after `svctl` (not `sv`: there `e...` means exit and
/// `h...` hup, and a drop-in must keep that). `None`: not one of them.
fn container_command(argv: &[OsString]) -> Option<i32> {
    let progname = args::basename(argv.first()?);
    if progname != "svctl" {
        return None;
    }
    let word = argv.get(1)?.to_str()?;
    let rest = &argv[2..];
    let fatal = |what: &str, code: i32| {
        crate::msg::fatal_line(PROG, what);
        code
    };
    let usage_error = |what: &str| {
        let _ = write!(
            std::io::stderr(),
            "{PROG}: {what}\n{}",
            args::container_usage(word)
        );
        crate::exit::USAGE
    };
    Some(match word {
        "exec" => match exec::parse(rest) {
            Ok(a) => {
                let failed = exec::run(&a);
                fatal(&failed.to_string(), failed.exit_code())
            }
            Err(e) => usage_error(&e.to_string()),
        },
        "env" => match envcmd::parse(rest) {
            Ok(format) => match exec::load_captured() {
                Ok(env) => {
                    let text = envcmd::render(&env, format);
                    let mut out = std::io::stdout().lock();
                    match out.write_all(&text).and_then(|()| out.flush()) {
                        Ok(()) => 0,
                        Err(e) => fatal(
                            &format!("unable to write: {}", crate::errstr::io_error_str(&e)),
                            crate::exit::SYSTEM,
                        ),
                    }
                }
                Err(e) => fatal(&e.to_string(), crate::exit::SYSTEM),
            },
            Err(e) => usage_error(&e.to_string()),
        },
        "halt" => match halt::parse_code(rest)
            .and_then(|code| halt::halt(&crate::container::rundir::resolve(), code))
        {
            Ok(_) => crate::exit::OK,
            Err(e) if e.is_usage() => usage_error(&e.to_string()),
            Err(e) => fatal(&e.to_string(), crate::exit::SYSTEM),
        },
        _ => return None,
    })
}

const PROG: &str = "svctl";

fn display(name: &OsString) -> String {
    String::from_utf8_lossy(name.as_bytes()).into_owned()
}

fn status_text(out: &mut Out, args: &Args, svdir: &std::path::Path, names: &[OsString]) -> i32 {
    let mut last = None;
    for arg in names {
        let name = display(arg);
        let dir = resolve::service_path(svdir, arg);
        if let Err(e) = resolve::enter_check(&dir) {
            out.fail(&name, "unable to change to service directory", Some(e));
            continue;
        }
        last = Some(show::status(out, &name, &dir));
    }
    if args.lsb {
        // Decided by the main service (runit 2.1.2 used the log's line, Q8).
        match last {
            Some(StatusResult::Shown(Shown::Running)) => return crate::exit::lsb::RUNNING,
            Some(StatusResult::Shown(Shown::NotRunning)) => return crate::exit::lsb::NOT_RUNNING,
            Some(StatusResult::Shown(Shown::Unknown)) | Some(StatusResult::Unreadable) => {
                return crate::exit::lsb::UNKNOWN
            }
            Some(StatusResult::NotSupervised) | None => {}
        }
    }
    out.exit_code()
}

fn status_json(out: &mut Out, svdir: &std::path::Path, names: &[OsString]) -> i32 {
    let mut errors = 0;
    let items = names
        .iter()
        .map(|arg| {
            json::service(
                &display(arg),
                &resolve::service_path(svdir, arg),
                &mut errors,
            )
        })
        .collect();
    let mut text = String::new();
    json::Json::Arr(items).write(&mut text);
    text.push('\n');
    out.put(&text);
    out.failures += errors;
    out.exit_code()
}

/// Longest wait svctl honours (about 100 years): `Instant` panics on an
/// addition past what the clock holds, and `SVWAIT=99999999999999999999`
/// (saturated to `u64::MAX` by [`args::leading_number`]) is such a sum.
const WAIT_FOREVER: u64 = 100 * 365 * 86_400;

/// `secs` as a wait, saturated at [`WAIT_FOREVER`].
fn wait_limit(secs: u64) -> Duration {
    Duration::from_secs(secs.min(WAIT_FOREVER))
}

/// `$SVWAIT` (leading digits), else the default.
fn wait_seconds(args: &Args) -> u64 {
    args.wait.unwrap_or_else(|| {
        std::env::var_os("SVWAIT")
            .map(|v| args::leading_number(v.as_bytes()))
            .unwrap_or(args::DEFAULT_WAIT)
    })
}

fn control(
    out: &mut Out,
    args: &Args,
    action: Action,
    svdir: &std::path::Path,
    names: &[OsString],
) -> i32 {
    let start = Instant::now();
    let wanted = action.waits || args.verbose;
    // `ready` without -v/-w is a probe: one look, no waiting.
    let waiting = wanted || action.kind == Kind::Ready;
    let secs = if wanted { wait_seconds(args) } else { 0 };
    let mut targets = Vec::new();
    for arg in names {
        let name = display(arg);
        let dir = resolve::service_path(svdir, arg);
        targets.push(engine::Target::new(name, dir));
    }
    let mut engine = engine::Engine {
        action,
        waiting,
        deadline: start + wait_limit(secs),
        out,
    };
    engine.run(&mut targets);
    engine.out.exit_code()
}
