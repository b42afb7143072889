//! Children that svkit waits for: how a process ended ([`Exit`]), the one
//! way to signal a process or its group ([`signal`], [`Child::kill_group`]),
//! and the one "run a helper with a deadline, then kill its process group"
//! ([`run_bounded`]) that `check`, control scripts, hooks, init scripts and
//! svlog's processors all use.
//!
//! A [`Child`] is watched through a pidfd opened right after the fork, so
//! waiting needs no SIGCHLD handler and no polling (a deadline is a poll
//! timeout), and a signal sent through it can only reach that process.
//!
//! Process-group rule: the group of a helper is signalled only while its
//! leader has not been reaped. Until then the leader's pid, and so the
//! group id, cannot name anyone else; after the reap a new process could
//! have taken both.

use crate::spawn::{spawn, Exec, Group, OnFailure};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, waitid, Pid, PidfdFlags, WaitId, WaitIdOptions};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal { sig: i32, core: bool },
}

impl Exit {
    /// From a `waitpid(2)` status word.
    pub fn from_wait_status(st: i32) -> Exit {
        if libc::WIFSIGNALED(st) {
            Exit::Signal {
                sig: libc::WTERMSIG(st),
                core: libc::WCOREDUMP(st),
            }
        } else {
            Exit::Code(libc::WEXITSTATUS(st))
        }
    }

    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }

    /// The shell's number for it: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal { sig, .. } => crate::exit::for_signal(sig),
        }
    }
}

impl fmt::Display for Exit {
    /// "exited 3", "was killed by SIGKILL".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exited {c}"),
            Exit::Signal { sig, .. } => write!(f, "was killed by {}", signal_name(sig)),
        }
    }
}

/// `SIGTERM`, or the number for signals without a name (realtime ones).
pub fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) => {
            format!("SIGRTMIN+{}", sig - libc::SIGRTMIN())
        }
        Err(_) => format!("signal {sig}"),
    }
}

/// Sends `sig` to process `pid` (> 0). A process that is already gone
/// (ESRCH) is not an error: it is what the signal was for. Returns
/// whether the signal was delivered.
pub fn signal(pid: i32, sig: i32) -> bool {
    pid > 0 && crate::sys::kill(pid, sig).is_ok()
}

/// Sends `sig` to the process group `pgid` (> 0); see [`signal`].
pub fn signal_group(pgid: i32, sig: i32) -> bool {
    pgid > 0 && crate::sys::kill(-pgid, sig).is_ok()
}

/// Why a child could not be started (each with its errno value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// fork(2) (or preparing for it) failed.
    Fork(i32),
    /// The program could not be executed (the child has been reaped).
    Exec(i32),
    /// No pidfd for the child (Linux before 5.3); it was killed and reaped.
    Pidfd(i32),
}

impl SpawnError {
    pub fn errno(self) -> i32 {
        match self {
            SpawnError::Fork(e) | SpawnError::Exec(e) | SpawnError::Pidfd(e) => e,
        }
    }
}

impl crate::errstr::ErrorNumber for SpawnError {
    fn number(&self) -> i32 {
        self.errno()
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = crate::errstr::runit_error_str(self.errno());
        match self {
            SpawnError::Fork(_) => write!(f, "unable to fork: {why}"),
            SpawnError::Exec(_) => write!(f, "unable to execute: {why}"),
            SpawnError::Pidfd(_) => write!(f, "unable to open a pidfd: {why}"),
        }
    }
}

impl std::error::Error for SpawnError {}

/// A child this process started and will reap itself.
#[derive(Debug)]
pub struct Child {
    pid: i32,
    pidfd: OwnedFd,
    /// Leads its own process group (so `kill_group` may be used).
    leader: bool,
    reaped: Option<Exit>,
}

/// What waiting ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Exited(Exit),
    /// The deadline passed first.
    TimedOut,
    /// The interrupt descriptor became readable first.
    Interrupted,
}

impl Child {
    /// Starts `e`, waiting until it has exec'd (`e.on_failure` is taken
    /// as `Report`): a program that cannot be executed is an error here,
    /// not a child that exits 111.
    pub fn spawn(e: &Exec) -> Result<Child, SpawnError> {
        let e = Exec {
            on_failure: OnFailure::Report,
            ..*e
        };
        use crate::errstr::ErrorNumber;
        let spawned = spawn(&e).map_err(|e| SpawnError::Fork(e.number()))?;
        let pidfd = match Pid::from_raw(spawned.pid).map(|p| pidfd_open(p, PidfdFlags::empty())) {
            Some(Ok(fd)) => fd,
            other => {
                let errno = match other {
                    Some(Err(err)) => err.number(),
                    _ => libc::ESRCH,
                };
                signal(spawned.pid, libc::SIGKILL);
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(spawned.pid), None);
                return Err(SpawnError::Pidfd(errno));
            }
        };
        let mut child = Child {
            pid: spawned.pid,
            pidfd,
            leader: e.group != Group::Inherit,
            reaped: None,
        };
        if let Some(errno) = spawned.exec_error {
            child.wait_until(None, None);
            return Err(SpawnError::Exec(errno.number()));
        }
        Ok(child)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Readable once the child has exited (for a caller's poll set).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Reaps the child if it has exited.
    pub fn try_wait(&mut self) -> Option<Exit> {
        if self.reaped.is_none() {
            let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
            match waitid(WaitId::PidFd(self.pidfd.as_fd()), opts) {
                Ok(Some(st)) => {
                    self.reaped = Some(match (st.exit_status(), st.terminating_signal()) {
                        (Some(code), _) => Exit::Code(code),
                        (None, Some(sig)) => Exit::Signal {
                            sig,
                            core: st.dumped(),
                        },
                        // Not exited after all (stopped/continued).
                        (None, None) => return None,
                    });
                }
                Ok(None) => {}
                // Reaped elsewhere (a waitpid(-1) of the caller's): gone,
                // status unknown.
                Err(rustix::io::Errno::CHILD) => self.reaped = Some(Exit::Code(-1)),
                Err(_) => {}
            }
        }
        self.reaped
    }

    /// The child was reaped by the caller's own `waitpid` (svscan's reaper
    /// sees every child); records how it ended.
    pub fn reaped_elsewhere(&mut self, how: Exit) {
        self.reaped.get_or_insert(how);
    }

    /// Signals the child itself, through its pidfd.
    pub fn signal(&self, sig: i32) {
        if self.reaped.is_none() {
            // pidfd_send_signal takes any number, but rustix only takes
            // named signals; the pid is ours until reaped, so kill(2)
            // names exactly this process too.
            signal(self.pid, sig);
        }
    }

    /// Signals the child's whole process group (its own children too),
    /// while the group id is still certainly ours (module doc).
    pub fn kill_group(&self, sig: i32) {
        if self.reaped.is_none() {
            if self.leader {
                signal_group(self.pid, sig);
            }
            signal(self.pid, sig);
        }
    }

    /// Blocks until the child exits, `deadline` passes, or `interrupt`
    /// becomes readable. Reaps the child when it exited.
    pub fn wait_until(
        &mut self,
        deadline: Option<Instant>,
        interrupt: Option<BorrowedFd<'_>>,
    ) -> Waited {
        loop {
            if let Some(how) = self.try_wait() {
                return Waited::Exited(how);
            }
            let timeout = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Waited::TimedOut;
                    }
                    Some(timespec(left))
                }
                None => None,
            };
            let mut fds = vec![PollFd::new(&self.pidfd, PollFlags::IN)];
            if let Some(fd) = &interrupt {
                fds.push(PollFd::from_borrowed_fd(*fd, PollFlags::IN));
            }
            match poll(&mut fds, timeout.as_ref()) {
                Ok(_) => {
                    if fds.get(1).is_some_and(|f| !f.revents().is_empty())
                        && fds[0].revents().is_empty()
                    {
                        return Waited::Interrupted;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                // poll itself failing (ENOMEM): wait without a bound
                // rather than spin.
                Err(_) => {
                    let _ = waitid(WaitId::PidFd(self.pidfd.as_fd()), WaitIdOptions::EXITED)
                        .map(|st| st.map(|_| ()));
                }
            }
        }
    }
}

impl Drop for Child {
    /// A child nobody waits for any more is killed with its group and
    /// reaped, so no helper outlives the code that started it.
    fn drop(&mut self) {
        if self.reaped.is_none() {
            self.kill_group(libc::SIGKILL);
            self.wait_until(None, None);
        }
    }
}

/// `Duration` as poll's timeout.
pub fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// How long a helper may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// From the start; `None`: no limit of its own (only `deadline`).
    pub timeout: Option<Duration>,
    /// An absolute limit too (a shutdown deadline), whichever is earlier.
    pub deadline: Option<Instant>,
    /// `Some(grace)`: at the limit the group gets TERM (and CONT), and
    /// KILL `grace` later; `None`: KILL at once.
    pub grace: Option<Duration>,
}

impl Bound {
    /// KILL after `timeout`.
    pub fn kill_after(timeout: Duration) -> Bound {
        Bound {
            timeout: Some(timeout),
            deadline: None,
            grace: None,
        }
    }
}

/// How a bounded helper ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(Exit),
    /// Its bound passed; its process group was stopped.
    TimedOut,
    /// `interrupt` became readable and the caller asked to stop it.
    Cancelled,
    /// It could not be started.
    SpawnFailed(SpawnError),
}

impl Outcome {
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited(e) if e.success())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exited(e) => e.fmt(f),
            Outcome::TimedOut => f.write_str("timed out and was killed"),
            Outcome::Cancelled => f.write_str("was cancelled"),
            Outcome::SpawnFailed(e) => e.fmt(f),
        }
    }
}

/// Runs `e` (which should have `Group::Leader` or `Group::Session`) until
/// it exits or its bound passes; then stops its process group (see
/// [`Bound::grace`]) and reaps it. Returns by the bound plus the grace.
pub fn run_bounded(e: &Exec, bound: Bound) -> Outcome {
    run_bounded_interruptible(e, bound, None, &mut || true)
}

/// Like [`run_bounded`], and whenever `interrupt` becomes readable,
/// `stop()` decides: `true` stops the helper as if its bound had passed
/// (and the outcome is `Cancelled`), `false` lets it go on.
pub fn run_bounded_interruptible(
    e: &Exec,
    bound: Bound,
    interrupt: Option<BorrowedFd<'_>>,
    stop: &mut dyn FnMut() -> bool,
) -> Outcome {
    let started = Instant::now();
    let mut child = match Child::spawn(e) {
        Ok(c) => c,
        Err(err) => return Outcome::SpawnFailed(err),
    };
    let limit = [bound.timeout.map(|t| started + t), bound.deadline]
        .into_iter()
        .flatten()
        .min();
    let mut cancelled = false;
    loop {
        match child.wait_until(limit, interrupt) {
            Waited::Exited(how) => return Outcome::Exited(how),
            Waited::TimedOut => break,
            Waited::Interrupted => {
                if stop() {
                    cancelled = true;
                    break;
                }
            }
        }
    }
    stop_group(&mut child, bound.grace);
    if cancelled {
        Outcome::Cancelled
    } else {
        Outcome::TimedOut
    }
}

/// TERM (+CONT) and KILL after `grace`, or KILL at once; then reaps.
fn stop_group(child: &mut Child, grace: Option<Duration>) {
    if let Some(grace) = grace {
        child.kill_group(libc::SIGTERM);
        child.kill_group(libc::SIGCONT);
        if let Waited::Exited(_) = child.wait_until(Some(Instant::now() + grace), None) {
            return;
        }
    }
    child.kill_group(libc::SIGKILL);
    child.wait_until(None, None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spawn::Program;

    fn exec<'a>(argv: &'a [&'a std::ffi::CStr]) -> Exec<'a> {
        Exec {
            program: Program::Path(argv[0]),
            argv,
            env: None,
            cwd: None,
            fds: &[],
            group: Group::Leader,
            foreground: false,
            close_others: false,
            rlimits: &[],
            on_failure: OnFailure::Report,
        }
    }

    #[test]
    fn exit_codes_and_names() {
        assert_eq!(Exit::from_wait_status(3 << 8), Exit::Code(3));
        assert_eq!(
            Exit::from_wait_status(11 | 0x80),
            Exit::Signal {
                sig: 11,
                core: true
            }
        );
        assert_eq!(
            Exit::Signal {
                sig: 9,
                core: false
            }
            .shell_code(),
            137
        );
        assert_eq!(Exit::Code(3).to_string(), "exited 3");
        assert_eq!(
            Exit::Signal {
                sig: 9,
                core: false
            }
            .to_string(),
            "was killed by SIGKILL"
        );
        assert_eq!(signal_name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
    }

    #[test]
    fn a_helper_that_exits_is_reaped_with_its_status() {
        let argv = [c"/bin/sh", c"-c", c"exit 7"];
        let out = run_bounded(&exec(&argv), Bound::kill_after(Duration::from_secs(10)));
        assert_eq!(out, Outcome::Exited(Exit::Code(7)));
    }

    #[test]
    fn a_helper_past_its_bound_is_killed_with_its_group() {
        // The helper's own child would outlive it without the group kill.
        let argv = [c"/bin/sh", c"-c", c"sleep 30 & echo $! >&3; wait"];
        let (r, w) = nix::unistd::pipe().unwrap();
        use std::os::fd::AsRawFd;
        let fds = [(w.as_raw_fd(), 3)];
        let e = Exec {
            fds: &fds,
            ..exec(&argv)
        };
        let started = Instant::now();
        let out = run_bounded(&e, Bound::kill_after(Duration::from_millis(300)));
        drop(w);
        assert_eq!(out, Outcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut text = String::new();
        use std::io::Read;
        std::fs::File::from(r).read_to_string(&mut text).unwrap();
        let grandchild: i32 = text.trim().parse().unwrap();
        // Killed with the group: gone, or at most a zombie of init's.
        let deadline = Instant::now() + Duration::from_secs(5);
        while crate::procfs::Stat::read(grandchild)
            .and_then(|s| s.text(3).map(|t| t != "Z"))
            .unwrap_or(false)
        {
            assert!(
                Instant::now() < deadline,
                "grandchild {grandchild} survived"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_missing_program_is_a_spawn_failure() {
        let argv = [c"/nonexistent/helper"];
        match run_bounded(&exec(&argv), Bound::kill_after(Duration::from_secs(1))) {
            Outcome::SpawnFailed(SpawnError::Exec(e)) => assert_eq!(e, libc::ENOENT),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn term_then_kill_after_grace() {
        let argv = [c"/bin/sh", c"-c", c"trap '' TERM; sleep 30"];
        let e = exec(&argv);
        let bound = Bound {
            timeout: Some(Duration::from_millis(100)),
            deadline: None,
            grace: Some(Duration::from_millis(200)),
        };
        let started = Instant::now();
        assert_eq!(run_bounded(&e, bound), Outcome::TimedOut);
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
    }
}
