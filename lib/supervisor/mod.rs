//! supervise(8): supervises one service directory the way runit's runsv
//! does (same `supervise/` files, same control bytes, so runit's `sv`
//! drives it), plus s6-style stop/readiness settings, restart backoff and
//! limits, and adoption of a service left running by a killed supervise.
//!
//! The decisions are one pure state machine (`machine`, with the state of
//! each service in `service`); `event_loop` turns descriptors, signals and
//! timers into its events, and `actions` carries out what it answers.
//! Around them:
//! `setup` (supervise/ dir, lock, FIFOs), `settings` (per-service setting
//! files), `spawn` (fork/exec), `status_files` (status writer),
//! `control_script` (control/X), `logpipe`, `adopt`.

mod actions;
mod adopt;
mod control_script;
mod event_loop;
mod logpipe;
mod machine;
mod service;
mod setting_file;
pub mod settings;
mod setup;
mod spawn;
mod status_files;

pub use settings::{parse_backoff, parse_limit, parse_signal, Backoff, Limit};

use crate::errstr::runit_error_str;
use crate::extstatus::WantWord;
use crate::msg;
use crate::status::{State, Want};
use crate::tai64n::Tai64n;
use event_loop::{ServiceIo, Supervise};
use machine::{Machine, Pipe};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use service::Service;
use setup::Fatal;
use std::ffi::OsStr;
use std::os::fd::OwnedFd;

pub const PROG: &str = "supervise";

pub const USAGE: &str = "usage: supervise [-h|--help] DIR\n\
\n\
Supervise the service in directory DIR the way runit's runsv does:\n\
run ./run (restarting it), ./finish after each exit, log/run with a pipe\n\
from the service's stdout, and keep supervise/{status,stat,pid,svkit-status},\n\
supervise/{control,ok,lock} for sv(8) and svctl(8).\n\
\n\
Control bytes on DIR/supervise/control: u d o x t k p c h a i q 1 2.\n\
SIGTERM = x. Settings files in DIR: down, down-signal, timeout-kill,\n\
timeout-finish, notification-fd, restart-backoff, restart-limit\n\
(see servicedir(5)).\n\
\n\
A read-only DIR keeps that state in $SVKIT_RUNDIR/supervise/KEY instead\n\
(default /run/svkit; KEY = DIR's path, / as %2F); nothing runs from there.\n\
\n\
Environment: SVKIT_LOG_PIPE=RFD,WFD uses an inherited log pipe;\n\
SVKIT_RUNDIR (default /run/svkit) for read-only service directories.\n\
Exit status: 0 after x/SIGTERM, 100 usage, 111 system error or the\n\
directory is already supervised (or was removed).\n";

/// Supervises `dir` until told to exit; returns the exit code.
pub fn supervise(dir: &OsStr) -> i32 {
    let label = dir.to_string_lossy().into_owned();
    crate::sys::ensure_std_fds();
    if let Err(e) = nix::unistd::chdir(dir) {
        msg::fatal_line(
            PROG,
            format_args!(
                "unable to change to directory {label}: {}",
                runit_error_str(e)
            ),
        );
        return crate::exit::SYSTEM;
    }
    match startup(label) {
        Ok(mut sup) => sup.run(),
        Err(Fatal(what)) => {
            msg::fatal_line(PROG, what);
            crate::exit::SYSTEM
        }
    }
}

fn startup(label: String) -> Result<Supervise, Fatal> {
    let origin = std::time::Instant::now();
    let wall = Tai64n::now();
    let sys = |what: &str, e: nix::errno::Errno| Fatal(format!("{what}: {}", runit_error_str(e)));
    let normally_up = std::fs::symlink_metadata("down").is_err();
    let has_log = match std::fs::metadata("log") {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            msg::warn(PROG, format_args!("{label}/log: not a directory"));
            false
        }
        Err(_) => false,
    };

    // All signals we care about arrive through the signalfd; blocking them
    // also means none of them can kill us (Q6). Children get an empty mask.
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGALRM,
        Signal::SIGPIPE,
    ] {
        mask.add(s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .map_err(|e| sys("unable to block signals", e))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| sys("unable to create signalfd", e))?;

    let inherited = match logpipe::take_inherited() {
        Ok(p) => p,
        Err(logpipe::InvalidValue(v)) => {
            msg::warn(PROG, format_args!("{}: invalid value: {v}", logpipe::ENV));
            None
        }
    };
    let pipe = if has_log {
        match inherited {
            Some(p) => Some(p),
            None => Some(logpipe::create().map_err(|e| {
                Fatal(format!(
                    "unable to create log pipe: {}",
                    crate::errstr::io_error_str(&e)
                ))
            })?),
        }
    } else {
        None
    };

    // Lock both directories before touching anything a running supervisor
    // owns, so a second supervise disturbs nothing.
    let sup = setup::make_dir("", &label)?;
    let lock = setup::take_lock(&sup, &label)?;
    let log_lock = if has_log {
        let log_sup = setup::make_dir("log/", &label)?;
        let lock = setup::take_lock(&log_sup, &label)?;
        Some((log_sup, lock))
    } else {
        None
    };
    let mut held = setup::open_control(&sup, &label, lock)?;
    let mut log_held = match log_lock {
        Some((log_sup, l)) => Some(setup::open_control(&log_sup, &label, l)?),
        None => None,
    };
    // `ok` before the first status write (Q20).
    setup::open_ok(&label, &mut held)?;
    if let Some(h) = log_held.as_mut() {
        setup::open_ok(&label, h)?;
    }

    let log_label = format!("{label}/log");
    let mut main = Service::new(settings::load("", &label), normally_up, wall);
    let main_adopted = restore(&mut main, &held.state_dir);
    let mut log_parts = None;
    if let Some(h) = log_held {
        let up = std::fs::symlink_metadata("log/down").is_err();
        let mut s = Service::new(settings::load("log/", &log_label), up, wall);
        let adopted = restore(&mut s, &h.state_dir);
        log_parts = Some((s, ServiceIo::new(log_label, h, adopted)));
    }
    let pipe_kind = match &pipe {
        None => Pipe::None,
        Some(p) if p.external => Pipe::Inherited,
        Some(_) => Pipe::Own,
    };
    let (log, log_io) = match log_parts {
        Some((s, io)) => (Some(s), Some(io)),
        None => (None, None),
    };
    Ok(Supervise {
        machine: Machine::new(main, log, pipe_kind),
        main: ServiceIo::new(label, held, main_adopted),
        log: log_io,
        pipe,
        signals,
        origin,
        my_pid: std::process::id(),
        gone: false,
    })
}

/// Carries the `starts` counter over from the previous supervisor and
/// adopts a `run` it left running (see `adopt`); returns the adopted
/// process's pidfd.
fn restore(svc: &mut Service, state_dir: &str) -> Option<OwnedFd> {
    let prev = adopt::read_previous(state_dir);
    let ext = prev.ext.as_ref()?;
    svc.starts = ext.starts;
    let (pid, pidfd) = adopt::find_running(&prev)?;
    svc.state = State::Run;
    svc.pid = pid;
    svc.pid_start_ticks = ext.pid_start_ticks;
    svc.adopted = true;
    svc.ready = ext.ready;
    svc.ready_since = ext.ready_since;
    svc.restarts = ext.restarts;
    svc.since = ext.since;
    if let Some(st) = prev.status {
        svc.stamp = st.stamp;
        svc.paused = st.paused;
        svc.got_term = st.got_term;
    }
    (svc.want, svc.once) = match ext.want {
        WantWord::Up => (Want::Up, false),
        WantWord::Down => (Want::Down, false),
        WantWord::Once => (Want::Down, true),
        // A supervisor killed while exiting: the service stays; the new
        // supervisor does not inherit the exit.
        WantWord::Exit => (Want::Down, false),
    };
    Some(pidfd)
}
