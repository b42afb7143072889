//! Runs a container's start-up scripts and shutdown hooks: the executable
//! files of one or more directories (phusion's `/etc/my_init.d`,
//! s6-overlay's `/etc/cont-init.d`, svkit's `/etc/svscan/init.d`), one at a
//! time, in order.
//!
//! Order: the entries of the colon list in the order given; inside a
//! directory, file names in byte order. An entry may also be a single file
//! (phusion's `/etc/rc.local`). Missing entries are skipped silently (images
//! rarely have all of them); dot files silently; anything else that is not
//! an executable regular file with a warning.
//!
//! Each script runs in its own process group with the environment the
//! caller provides for it (re-read after every script, so scripts can
//! publish variables), an empty signal mask and default signal dispositions,
//! and svscan's stdio. Waiting uses `poll(2)` on a pidfd: no sleeps, no
//! SIGCHLD handler needed.
//!
//! Bounds:
//! - a per-script timeout and an overall deadline: when the earlier one
//!   passes, the script's process group gets TERM (and CONT), and KILL after
//!   `kill_grace`; so `run_all` returns by `deadline + kill_grace`;
//! - cancellation: when the caller's fd (its signalfd) becomes readable,
//!   [`Hooks::on_interrupt`] decides; `Stop` aborts the running script the
//!   same way (a second `Stop` while it is being stopped sends KILL at once)
//!   and runs nothing more.
//!
//! A script that exits normally keeps its background children: phusion's
//! syslog-ng init script starts a daemon that way on purpose. Only on a
//! timeout or cancellation is the whole group stopped: TERM to the group;
//! members that outlive the script are watched through their pidfds (found
//! by group id in `/proc`) and the group gets KILL when the grace ends.
//!
//! A file without a `#!` line runs under `/bin/sh` (execvp's ENOEXEC rule);
//! a missing interpreter is [`Outcome::SpawnFailed`].
//
//! Scripts start through [`crate::child::Child`] (and so the one
//! fork/exec, [`crate::spawn`], with its signal-reset rule), are watched
//! through their pidfds and signalled through it or [`signal_group`].

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{pidfd_open, Pid, PidfdFlags};

use crate::child::{signal_group, timespec, Child, Exit, SpawnError};
use crate::spawn::{Envp, Exec, Group, OnFailure, Program, Search};

use super::envdump::EnvMap;
use super::exitcode::ProcStatus;
use super::InvalidValue;

/// Default wait between TERM and KILL of a timed-out script.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// Splits a colon-separated list (`/etc/my_init.d:/etc/svscan/init.d`);
/// empty elements are dropped.
pub fn split_dirs(list: &OsStr) -> Vec<PathBuf> {
    list.as_bytes()
        .split(|&b| b == b':')
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsStr::from_bytes(p)))
        .collect()
}

/// The scripts to run and the warnings found while listing them.
#[derive(Debug, Default)]
pub struct Listing {
    pub scripts: Vec<PathBuf>,
    /// One line each, for `PROG: warning: ` (no newline).
    pub warnings: Vec<String>,
}

/// Lists the scripts of `entries` in run order (module docs).
pub fn list(entries: &[PathBuf]) -> Listing {
    let mut out = Listing::default();
    for entry in entries {
        let meta = match std::fs::metadata(entry) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                out.warnings
                    .push(format!("{}: cannot stat, skipped: {e}", entry.display()));
                continue;
            }
        };
        if !meta.is_dir() {
            consider(entry, &mut out);
            continue;
        }
        let mut names = match std::fs::read_dir(entry) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect::<Vec<_>>(),
            Err(e) => {
                out.warnings
                    .push(format!("{}: cannot list, skipped: {e}", entry.display()));
                continue;
            }
        };
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            if name.as_bytes().first() == Some(&b'.') {
                continue;
            }
            consider(&entry.join(name), &mut out);
        }
    }
    out
}

fn consider(path: &Path, out: &mut Listing) {
    let why_not = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => match rustix::fs::access(path, rustix::fs::Access::EXEC_OK) {
            Ok(()) => None,
            Err(_) => Some("not executable"),
        },
        Ok(m) if m.is_dir() => Some("a directory"),
        Ok(_) => Some("not a regular file"),
        Err(_) => Some("unreadable (dangling symlink?)"),
    };
    match why_not {
        None => out.scripts.push(path.to_path_buf()),
        Some(why) => out
            .warnings
            .push(format!("{}: {why}, skipped", path.display())),
    }
}

/// How one script ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(u8),
    Signaled(i32),
    /// Its timeout or the overall deadline passed; it was stopped.
    TimedOut,
    /// The caller cancelled it (shutdown signal); it was stopped.
    Cancelled,
    /// It could not be started (`fork`/`exec`/`pidfd_open` failed).
    SpawnFailed(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        *self == Outcome::Exited(0)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(c) => write!(f, "exited {c}"),
            Outcome::Signaled(s) => write!(f, "killed by signal {s}"),
            Outcome::TimedOut => write!(f, "timed out"),
            Outcome::Cancelled => write!(f, "cancelled"),
            Outcome::SpawnFailed(e) => write!(f, "cannot start: {e}"),
        }
    }
}

/// One script's result.
#[derive(Clone, Debug)]
pub struct ScriptResult {
    pub path: PathBuf,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// What to do when a script fails (`SVSCAN_INIT_FAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Stop the container with the script's code (111 if signalled, timed
    /// out or not startable).
    Stop,
    /// Log a warning and go on.
    Warn,
    /// Go on silently.
    Ignore,
}

/// The caller's reaction to a result under a [`Policy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Continue,
    /// Go on, and print this warning line.
    Warn(String),
    /// Stop the container with this code; print this line as fatal.
    Stop(u8, String),
}

impl Policy {
    /// Parses `stop`, `warn` or `ignore`.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s.trim() {
            "stop" => Ok(Policy::Stop),
            "warn" => Ok(Policy::Warn),
            "ignore" => Ok(Policy::Ignore),
            other => Err(InvalidValue {
                what: "failure policy",
                value: other.to_string(),
                want: "want stop, warn or ignore",
            }),
        }
    }

    /// The exit code a failed script stands for: its own code, or 111 when
    /// it was signalled, timed out or could not start. `None` for success
    /// and for cancellation (the signal that cancelled it decides).
    pub fn exit_code(outcome: &Outcome) -> Option<u8> {
        match outcome {
            Outcome::Exited(0) | Outcome::Cancelled => None,
            Outcome::Exited(c) => Some(*c),
            Outcome::Signaled(_) | Outcome::TimedOut | Outcome::SpawnFailed(_) => {
                Some(crate::exit::SYSTEM as u8)
            }
        }
    }

    pub fn verdict(self, r: &ScriptResult) -> Verdict {
        let Some(code) = Self::exit_code(&r.outcome) else {
            return Verdict::Continue;
        };
        let line = format!("{}: {}", r.path.display(), r.outcome);
        match self {
            Policy::Stop => Verdict::Stop(code, line),
            Policy::Warn => Verdict::Warn(line),
            Policy::Ignore => Verdict::Continue,
        }
    }
}

/// Time limits for a run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Per-script limit (`SVSCAN_INIT_TIMEOUT`, `SVSCAN_HOOK_TIMEOUT`).
    pub per_script: Option<Duration>,
    /// Overall deadline for the whole run (e.g. the shutdown deadline).
    pub deadline: Option<Instant>,
    /// Wait between TERM and KILL.
    pub kill_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_script: None,
            deadline: None,
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }
}

/// Continue or stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The caller's side of a run.
pub trait Hooks {
    /// The complete environment for `script` (e.g. [`super::envdump::reload`]).
    fn env(&mut self, script: &Path) -> EnvMap;

    /// Called after each script; `Stop` runs no more scripts (the failure
    /// policy lives here).
    fn finished(&mut self, _result: &ScriptResult) -> Flow {
        Flow::Continue
    }

    /// An fd to watch while a script runs (svscan's signalfd).
    fn interrupt_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// The interrupt fd is readable; the hook must consume what made it so
    /// (else this is called again at once). `running` is the script's pid:
    /// a reaper must not reap it (see [`reap_others`]). `Stop` cancels.
    fn on_interrupt(&mut self, _running: Pid) -> Flow {
        Flow::Continue
    }
}

/// Why a run ended before the last script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// [`Hooks::finished`] said stop.
    ByCaller,
    /// A script was cancelled through the interrupt fd.
    Cancelled,
    /// The overall deadline passed.
    Deadline,
}

/// Results of every script that ran, and why the run stopped early (if it
/// did).
#[derive(Debug, Default)]
pub struct Report {
    pub results: Vec<ScriptResult>,
    pub stopped: Option<Stopped>,
}

/// Runs `scripts` in order under `limits`, asking `hooks` for each one's
/// environment and whether to go on.
pub fn run_all(scripts: &[PathBuf], limits: &Limits, hooks: &mut dyn Hooks) -> Report {
    let mut report = Report::default();
    for script in scripts {
        if limits.deadline.is_some_and(|d| Instant::now() >= d) {
            report.stopped = Some(Stopped::Deadline);
            break;
        }
        let env = hooks.env(script);
        let result = run_one(script, &env, limits, hooks);
        let outcome = result.outcome.clone();
        let flow = hooks.finished(&result);
        report.results.push(result);
        if outcome == Outcome::Cancelled {
            report.stopped = Some(Stopped::Cancelled);
            break;
        }
        if outcome == Outcome::TimedOut && limits.deadline.is_some_and(|d| Instant::now() >= d) {
            report.stopped = Some(Stopped::Deadline);
            break;
        }
        if flow == Flow::Stop {
            report.stopped = Some(Stopped::ByCaller);
            break;
        }
    }
    report
}

/// Why the script's group is being stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StopCause {
    Timeout,
    Cancel,
}

/// Runs one script to completion (or until stopped). Never panics on
/// spawn errors: they become [`Outcome::SpawnFailed`].
pub fn run_one(
    script: &Path,
    env: &EnvMap,
    limits: &Limits,
    hooks: &mut dyn Hooks,
) -> ScriptResult {
    let started = Instant::now();
    let outcome = match spawn(script, env) {
        Ok(child) => supervise(child, started, limits, hooks),
        Err(e) => Outcome::SpawnFailed(e.to_string()),
    };
    ScriptResult {
        path: script.to_path_buf(),
        outcome,
        elapsed: started.elapsed(),
    }
}

fn spawn(script: &Path, env: &EnvMap) -> Result<Child, SpawnError> {
    let path =
        CString::new(script.as_os_str().as_bytes()).map_err(|_| SpawnError::Exec(libc::EINVAL))?;
    let argv = [path.as_c_str()];
    // A path with a `/` is executed as it is; the search adds execvp's
    // rule that a file without `#!` runs under /bin/sh.
    let mut search = Search::new(script_path(script).as_os_str(), None);
    search.shell_fallback = true;
    let envp = Envp::from_map(env);
    Child::spawn(&Exec {
        program: Program::Search(&search),
        argv: &argv,
        env: Some(&envp),
        cwd: None,
        fds: &[],
        group: Group::Leader,
        foreground: false,
        rlimits: &[],
        close_others: false,
        on_failure: OnFailure::Report,
    })
}

/// `script` as a path the search executes as is: a bare name (a
/// relative entry of the list) gets `./`.
fn script_path(script: &Path) -> PathBuf {
    if script.as_os_str().as_bytes().contains(&b'/') {
        script.to_path_buf()
    } else {
        Path::new(".").join(script)
    }
}

/// Waits for the script, stopping its group on timeout or cancellation.
fn supervise(
    mut child: Child,
    started: Instant,
    limits: &Limits,
    hooks: &mut dyn Hooks,
) -> Outcome {
    let pid = Pid::from_raw(child.pid()).expect("child pid is positive");
    let mut timeout_at = limits.per_script.map(|t| started + t);
    if let Some(d) = limits.deadline {
        timeout_at = Some(timeout_at.map_or(d, |t| t.min(d)));
    }
    // Set once TERM was sent: why, and when KILL follows.
    let mut stopping: Option<(StopCause, Instant)> = None;
    let mut killed = false;
    loop {
        let wake_at = match stopping {
            Some(_) if killed => None,
            Some((_, kill_at)) => Some(kill_at),
            None => timeout_at,
        };
        match wait_readable(&[child.fd()], hooks.interrupt_fd(), wake_at) {
            Wake::Exited => break,
            Wake::Timeout => match stopping {
                None => {
                    stop_group(&child);
                    stopping = Some((StopCause::Timeout, Instant::now() + limits.kill_grace));
                }
                Some(_) => {
                    child.kill_group(libc::SIGKILL);
                    killed = true;
                }
            },
            Wake::Interrupt => {
                if hooks.on_interrupt(pid) == Flow::Stop {
                    match stopping {
                        None => {
                            stop_group(&child);
                            stopping =
                                Some((StopCause::Cancel, Instant::now() + limits.kill_grace));
                        }
                        Some(_) => {
                            child.kill_group(libc::SIGKILL);
                            killed = true;
                        }
                    }
                }
            }
        }
    }
    // The pidfd is readable: the leader has exited.
    let status = child.try_wait();
    let Some((cause, kill_at)) = stopping else {
        return match status {
            Some(Exit::Code(c)) if (0..=255).contains(&c) => Outcome::Exited(c as u8),
            Some(Exit::Signal { sig, .. }) => Outcome::Signaled(sig),
            _ => Outcome::SpawnFailed("exit status lost (reaped elsewhere)".into()),
        };
    };
    if !killed {
        finish_group(pid, kill_at, hooks);
    }
    match cause {
        StopCause::Timeout => Outcome::TimedOut,
        StopCause::Cancel => Outcome::Cancelled,
    }
}

fn stop_group(child: &Child) {
    child.kill_group(libc::SIGTERM);
    child.kill_group(libc::SIGCONT);
}

/// The leader is gone but members of its group (background children) may
/// have survived TERM. They are not our children, but pidfds work for any
/// process: find the members by their group id in `/proc`, wait on their
/// pidfds, and re-scan after each exit (members may have forked), until the
/// group is empty or the grace ends; then KILL what is left. A `Stop` from
/// the interrupt hook KILLs at once. The group id cannot be reused while any
/// member lives, so signalling `-pgid` stays safe throughout.
fn finish_group(pgid: Pid, kill_at: Instant, hooks: &mut dyn Hooks) {
    loop {
        let pidfds: Vec<OwnedFd> = match group_members(pgid) {
            // Zombies do not count: as PID 1 we would reap them ourselves.
            Some(members) if members.is_empty() => return,
            Some(members) => {
                let fds: Vec<OwnedFd> = members
                    .into_iter()
                    .filter_map(|p| pidfd_open(p, PidfdFlags::empty()).ok())
                    .collect();
                if fds.is_empty() {
                    continue; // they all exited since the scan
                }
                fds
            }
            // No /proc: nothing to watch, so wait out the grace.
            None if !signal_group(pgid.as_raw_nonzero().get(), 0) => return,
            None => Vec::new(),
        };
        let borrowed: Vec<BorrowedFd<'_>> = pidfds.iter().map(|f| f.as_fd()).collect();
        let stop_now = match wait_readable(&borrowed, hooks.interrupt_fd(), Some(kill_at)) {
            Wake::Exited => false,
            Wake::Timeout => true,
            Wake::Interrupt => hooks.on_interrupt(pgid) == Flow::Stop,
        };
        if stop_now || Instant::now() >= kill_at {
            // The group id cannot have been reused: members still hold it.
            signal_group(pgid.as_raw_nonzero().get(), libc::SIGKILL);
            return;
        }
    }
}

/// Live (non-zombie) processes in process group `pgid`, from `/proc`;
/// `None` if `/proc` cannot be read.
fn group_members(pgid: Pid) -> Option<Vec<Pid>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Some(stat) = crate::procfs::Stat::read(pid) else {
            continue;
        };
        let pgrp = stat.field(5).and_then(|g| i32::try_from(g).ok());
        if pgrp == Some(pgid.as_raw_nonzero().get()) && stat.text(3) != Some("Z") {
            out.extend(Pid::from_raw(pid));
        }
    }
    Some(out)
}

enum Wake {
    Exited,
    Timeout,
    Interrupt,
}

/// Waits until one of `pidfds` is readable (its process exited), the
/// interrupt fd is readable, or `until` passes.
fn wait_readable(
    pidfds: &[BorrowedFd<'_>],
    interrupt: Option<BorrowedFd<'_>>,
    until: Option<Instant>,
) -> Wake {
    loop {
        let timeout = until.map(|t| timespec(t.saturating_duration_since(Instant::now())));
        let mut fds: Vec<PollFd<'_>> = pidfds
            .iter()
            .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
            .collect();
        if let Some(fd) = interrupt {
            fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Wake::Timeout,
            Ok(_) => {
                if fds[..pidfds.len()].iter().any(|p| !p.revents().is_empty()) {
                    return Wake::Exited;
                }
                if fds.len() > pidfds.len() && !fds[pidfds.len()].revents().is_empty() {
                    return Wake::Interrupt;
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            // poll cannot fail otherwise with valid fds; report an exit so
            // the caller reaps (blocking) or re-scans rather than spinning.
            Err(_) => return Wake::Exited,
        }
    }
}

/// Reaps exited children other than `keep` (the running script), for a
/// PID-1 caller whose signalfd reported SIGCHLD while a script runs.
/// Peeks with `WNOWAIT` first so `keep`'s status is never consumed; stops
/// when `keep` is the next waitable child (it is reaped by [`run_one`]) or
/// nothing else is waitable. Returns each reaped pid with its status.
pub fn reap_others(keep: Pid) -> Vec<(i32, ProcStatus)> {
    use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
    let mut reaped = Vec::new();
    let peek = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    while let Ok(status) = waitid(Id::All, peek) {
        let Some(pid) = status.pid() else {
            break; // nothing waitable
        };
        if pid.as_raw() == keep.as_raw_nonzero().get() {
            break;
        }
        let s = match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, c)) => ProcStatus::Exited(c as u8),
            Ok(WaitStatus::Signaled(_, sig, _)) => ProcStatus::Signaled(sig as i32),
            _ => break,
        };
        reaped.push((pid.as_raw(), s));
    }
    reaped
}

/// Convenience [`Hooks`] for shutdown hooks and simple callers: the same
/// environment for every script, an optional interrupt fd that cancels on
/// any readiness, and a policy applied to each result (warnings go to
/// `warn`).
pub struct FixedEnv<'a> {
    pub env: EnvMap,
    pub policy: Policy,
    pub interrupt: Option<BorrowedFd<'a>>,
    /// Called with warning lines and with the fatal line of a `Stop`.
    pub warn: Box<dyn FnMut(&str) + 'a>,
    /// Set when a script failed under policy `Stop`.
    pub stop_code: Option<u8>,
}

impl Hooks for FixedEnv<'_> {
    fn env(&mut self, _script: &Path) -> EnvMap {
        self.env.clone()
    }
    fn finished(&mut self, r: &ScriptResult) -> Flow {
        match self.policy.verdict(r) {
            Verdict::Continue => Flow::Continue,
            Verdict::Warn(line) => {
                (self.warn)(&line);
                Flow::Continue
            }
            Verdict::Stop(code, line) => {
                (self.warn)(&line);
                self.stop_code = Some(code);
                Flow::Stop
            }
        }
    }
    fn interrupt_fd(&self) -> Option<BorrowedFd<'_>> {
        self.interrupt.as_ref().map(|fd| fd.as_fd())
    }
    fn on_interrupt(&mut self, _running: Pid) -> Flow {
        Flow::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_lists() {
        assert_eq!(
            split_dirs(OsStr::new("/a::/b/c:")),
            vec![PathBuf::from("/a"), PathBuf::from("/b/c")]
        );
        assert!(split_dirs(OsStr::new("")).is_empty());
    }

    #[test]
    fn policy_codes() {
        assert_eq!(Policy::exit_code(&Outcome::Exited(0)), None);
        assert_eq!(Policy::exit_code(&Outcome::Exited(9)), Some(9));
        assert_eq!(Policy::exit_code(&Outcome::Signaled(9)), Some(111));
        assert_eq!(Policy::exit_code(&Outcome::TimedOut), Some(111));
        assert_eq!(Policy::exit_code(&Outcome::Cancelled), None);
        assert_eq!(Policy::parse("warn"), Ok(Policy::Warn));
        assert_eq!(
            Policy::parse("explode").unwrap_err().to_string(),
            "invalid failure policy \"explode\": want stop, warn or ignore"
        );
        let r = ScriptResult {
            path: PathBuf::from("/i/10"),
            outcome: Outcome::Exited(9),
            elapsed: Duration::ZERO,
        };
        assert!(matches!(Policy::Stop.verdict(&r), Verdict::Stop(9, _)));
        assert!(matches!(Policy::Warn.verdict(&r), Verdict::Warn(_)));
        assert_eq!(Policy::Ignore.verdict(&r), Verdict::Continue);
    }
}
