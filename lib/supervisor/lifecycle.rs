//! Starting `run`, reacting to its exit (`finish`, the restart rules),
//! timers, and the exit condition: the state machine of one supervisor,
//! for the main service and its logger.

use super::logpipe::LogPipe;
use super::service::Service;
use super::spawn::{spawn, Exec};
use super::{control_script, status_files, PROG};
use crate::atomic_file::Mode;
use crate::errstr::runit_error_str;
use crate::extstatus::LastExit;
use crate::msg;
use crate::status::{State, Want};
use crate::tai64n::Tai64n;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Which of the two services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Main,
    Log,
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal {
        sig: i32,
        core: bool,
    },
    /// An adopted process: not our child, so no wait status.
    Unknown,
}

impl Ended {
    /// `finish`'s two arguments, as runsv computes them (§5.4).
    pub fn finish_args(self) -> (i32, i32) {
        match self {
            Ended::Code(c) => (c, 0),
            Ended::Signal { sig, core } => (-1, sig + if core { 128 } else { 0 }),
            Ended::Unknown => (-1, 0),
        }
    }
}

/// The 1-second rule (§5.3): no start earlier than 1 s after the last one.
const MIN_RUN_SPACING: Duration = Duration::from_secs(1);
/// Used when fork itself fails.
const FORK_RETRY: Duration = Duration::from_secs(1);
/// timeout-kill used when the service directory vanished and none is set.
const VANISHED_KILL: Duration = Duration::from_secs(5);
/// How long a logger on an inherited pipe gets to reach EOF on `x`.
const LOG_EOF_GRACE: Duration = Duration::from_secs(2);

pub struct Supervisor {
    /// DIR as given on the command line, for messages.
    pub label: String,
    pub log_label: String,
    pub main: Service,
    pub log: Option<Service>,
    pub pipe: Option<LogPipe>,
    pub my_pid: u32,
    /// The service directory was removed: stop and exit.
    pub vanished: bool,
    /// Exit sequence: the log pipe has been closed, waiting for the logger.
    pub log_closing: bool,
    /// Exit sequence with an inherited pipe: if the logger has not seen EOF
    /// by then (its creator still holds the pipe), send it its stop signal.
    pub log_grace_at: Option<Instant>,
}

impl Supervisor {
    pub fn svc(&mut self, w: Which) -> &mut Service {
        match w {
            Which::Main => &mut self.main,
            Which::Log => self.log.as_mut().expect("log service exists"),
        }
    }

    fn label_of(&self, w: Which) -> &str {
        match w {
            Which::Main => &self.label,
            Which::Log => &self.log_label,
        }
    }

    /// Marks the status files of `w` for rewriting. The write happens in
    /// `flush_status`, before supervise blocks, runs a control script or
    /// exits, so the several state changes one event makes (want exit,
    /// got TERM; down then up again) cost one set of files. Each file
    /// write is a new inode (write + rename), which is most of what
    /// starting and stopping a thousand services costs the filesystem.
    pub fn write_status(&mut self, w: Which) {
        self.svc(w).status_pending = true;
    }

    /// Writes the status files marked by `write_status`.
    pub fn flush_status(&mut self) {
        self.flush_status_as(Mode::Replace);
    }

    /// The last write before supervise exits: in place, without the new
    /// inode per file that `X.new` + rename costs. Nothing reads these
    /// files once supervise is gone (sv and svctl check `ok` and report
    /// "runsv not running"), and a thousand services stopping at once
    /// spent most of their time allocating inodes on ext4.
    pub fn flush_status_final(&mut self) {
        self.flush_status_as(Mode::InPlace);
    }

    fn flush_status_as(&mut self, mode: Mode) {
        if self.main.status_pending {
            self.write_status_now(Which::Main, mode);
        }
        if self.log.as_ref().is_some_and(|l| l.status_pending) {
            self.write_status_now(Which::Log, mode);
        }
    }

    fn write_status_now(&mut self, w: Which, mode: Mode) {
        self.svc(w).status_pending = false;
        let pid = self.my_pid;
        let r = status_files::write(self.svc(w), pid, mode);
        if let Err(e) = r {
            if self.dir_gone() {
                self.vanished_now();
            } else if !self.vanished {
                let sup = self.svc(w).held.state_dir.clone();
                msg::warn_why(
                    PROG,
                    format_args!("{}: unable to update {sup}status", self.label),
                    crate::errstr::io_error_str(&e),
                );
            }
        }
    }

    /// Is our working directory (the service directory) deleted?
    pub fn dir_gone(&self) -> bool {
        !matches!(nix::sys::stat::stat("."), Ok(st) if st.st_nlink > 0)
    }

    /// The service directory was removed while supervised: warn, stop the
    /// service (escalating to SIGKILL), then exit once everything is down.
    pub fn vanished_now(&mut self) {
        if self.vanished {
            return;
        }
        self.vanished = true;
        msg::warn(
            PROG,
            format_args!(
                "{}: service directory removed; stopping the service and exiting",
                self.label
            ),
        );
        for w in [Which::Main, Which::Log] {
            if w == Which::Log && self.log.is_none() {
                continue;
            }
            let svc = self.svc(w);
            svc.settings.timeout_kill.get_or_insert(VANISHED_KILL);
        }
        self.command(Which::Main, b'x', Instant::now());
    }

    fn stdout_fd(&self) -> Option<i32> {
        self.pipe.as_ref().map(|p| p.w.as_raw_fd())
    }

    /// Starts `./run` (cwd DIR or DIR/log). A failed exec still leaves a
    /// child that exits 111, exactly as runsv's.
    pub fn start(&mut self, w: Which, now: Instant) {
        let stdout = self.stdout_fd();
        if w == Which::Main && !self.vanished {
            if let Some(path) = control_script::find(b'u') {
                self.flush_status();
                control_script::run(&path, b'u', stdout, &self.label);
            }
        }
        let label = self.label_of(w).to_string();
        let stdin = match w {
            Which::Log => self.pipe.as_ref().map(|p| p.r.as_raw_fd()),
            Which::Main => None,
        };
        let svc = self.svc(w);
        svc.start_once = false;
        svc.not_before = None;
        let notify = match svc.settings.notification_fd {
            Some(n) if w == Which::Main => match readiness_pipe() {
                Ok((r, wr)) => Some((r, wr, n)),
                Err(e) => {
                    msg::warn_why(
                        PROG,
                        format_args!("{label}: unable to create readiness pipe"),
                        runit_error_str(e),
                    );
                    None
                }
            },
            _ => None,
        };
        let run = c"./run";
        let exec = Exec {
            argv: &[run],
            cwd: (w == Which::Log).then_some(c"log"),
            stdin,
            stdout: if w == Which::Main { stdout } else { None },
            extra: notify.as_ref().map(|(_, wr, n)| (wr.as_raw_fd(), *n)),
            setsid: true,
        };
        let spawned = match spawn(&exec) {
            Ok(s) => s,
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format_args!("{label}: unable to fork for ./run"),
                    runit_error_str(e),
                );
                svc.not_before = Some(now + FORK_RETRY);
                // The down state may not have been written yet (see
                // become_down): make sure the files do not show the old pid.
                self.write_status(w);
                return;
            }
        };
        if let Some(e) = spawned.exec_error {
            msg::warn_why(
                PROG,
                format_args!("{label}: unable to start ./run"),
                runit_error_str(e),
            );
        }
        let stamp = Tai64n::now();
        svc.pid = spawned.pid;
        svc.pid_start_ticks = crate::procfs::start_ticks(spawned.pid as u32).unwrap_or(0);
        svc.state = State::Run;
        svc.stamp = stamp;
        svc.since = stamp;
        svc.paused = false;
        svc.got_term = false;
        svc.ready = false;
        svc.ready_since = None;
        svc.starts += 1;
        svc.last_start = Some(now);
        svc.kill_at = None;
        svc.notify_r = notify.map(|(r, _, _)| r);
        self.write_status(w);
    }

    /// `run` or `finish` of service `w` ended.
    pub fn on_exit(&mut self, w: Which, how: Ended, now: Instant) {
        let vanished = self.vanished;
        let stdout = self.stdout_fd();
        let label = self.label_of(w).to_string();
        let svc = self.svc(w);
        match svc.state {
            State::Run => {
                svc.pid = 0;
                svc.adopted = None;
                svc.notify_r = None;
                svc.ready = false;
                svc.got_term = false;
                svc.kill_at = None;
                svc.run_exited = Some(now);
                svc.last_exit = match how {
                    Ended::Code(c) => LastExit::Code(c),
                    Ended::Signal { sig, .. } => LastExit::Signal(sig),
                    Ended::Unknown => LastExit::None,
                };
                if w == Which::Main && !vanished && finish_exists() {
                    svc.state = State::Finish;
                    svc.since = Tai64n::now();
                    self.write_status(w);
                    self.start_finish(how, stdout, &label, now);
                } else {
                    self.become_down(w, now);
                }
            }
            State::Finish => {
                svc.finish_kill_at = None;
                self.become_down(w, now);
            }
            State::Down => {}
        }
    }

    fn start_finish(&mut self, how: Ended, stdout: Option<i32>, label: &str, now: Instant) {
        let (code, status) = how.finish_args();
        let code = CString::new(code.to_string()).expect("digits");
        let status = CString::new(status.to_string()).expect("digits");
        let exec = Exec {
            argv: &[c"./finish", &code, &status],
            cwd: None,
            stdin: None,
            stdout,
            extra: None,
            setsid: true,
        };
        match spawn(&exec) {
            Ok(s) => {
                if let Some(e) = s.exec_error {
                    msg::warn_why(
                        PROG,
                        format_args!("{label}: unable to start ./finish"),
                        runit_error_str(e),
                    );
                }
                let svc = &mut self.main;
                svc.pid = s.pid;
                svc.pid_start_ticks = crate::procfs::start_ticks(s.pid as u32).unwrap_or(0);
                svc.paused = false;
                svc.finish_kill_at = svc.settings.timeout_finish.map(|d| now + d);
                self.write_status(Which::Main);
            }
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format_args!("{label}: unable to fork for ./finish"),
                    runit_error_str(e),
                );
                self.become_down(Which::Main, now);
            }
        }
    }

    fn become_down(&mut self, w: Which, now: Instant) {
        let svc = self.svc(w);
        let stamp = Tai64n::now();
        svc.state = State::Down;
        svc.pid = 0;
        svc.pid_start_ticks = 0;
        svc.stamp = stamp;
        svc.since = stamp;
        svc.got_term = false;
        // runit's rule holds whatever comes next, explicit `u` included.
        svc.not_before = svc
            .last_start
            .map(|t| t + MIN_RUN_SPACING)
            .filter(|t| *t > now);
        if self.svc(w).want == Want::Up {
            self.plan_restart(w, now);
        }
        // A restart that is due right now writes the status when it forks:
        // the down state would be overwritten a moment later anyway, and
        // skipping it gets the service back ~4 file replacements sooner.
        let svc = self.svc(w);
        let restart_now = svc.wants_start()
            && svc.not_before.is_none()
            && (w == Which::Log || !self.vanished)
            && (w == Which::Main || self.main.want != Want::Exit);
        if !restart_now {
            self.write_status(w);
        }
    }

    /// Applies restart-backoff and restart-limit to an automatic restart.
    fn plan_restart(&mut self, w: Which, now: Instant) {
        let label = self.label_of(w).to_string();
        let svc = self.svc(w);
        let lived = match (svc.last_start, svc.run_exited) {
            (Some(s), Some(e)) => e.saturating_duration_since(s),
            _ => Duration::MAX,
        };
        let long_enough = svc
            .settings
            .backoff
            .map_or(MIN_RUN_SPACING, |b| b.max.max(MIN_RUN_SPACING));
        if lived >= long_enough {
            svc.restarts = 0;
        }
        if let Some(limit) = svc.settings.limit {
            while svc
                .restart_times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= limit.window)
            {
                svc.restart_times.pop_front();
            }
            if svc.restart_times.len() >= limit.count as usize {
                svc.failed = true;
                svc.want = Want::Down;
                svc.not_before = None;
                msg::warn(
                    PROG,
                    format_args!(
                        "{label}: restart limit reached ({} restarts in {}s); service marked failed",
                        limit.count,
                        limit.window.as_secs()
                    ),
                );
                return;
            }
            svc.restart_times.push_back(now);
        }
        svc.restarts += 1;
        if let Some(b) = svc.settings.backoff {
            svc.not_before = Some(now + b.delay(svc.restarts));
        }
    }

    /// Starts what is due; returns the exit code once supervise should exit.
    pub fn housekeeping(&mut self, now: Instant) -> Option<i32> {
        for w in [Which::Log, Which::Main] {
            if w == Which::Log && self.log.is_none() {
                continue;
            }
            if self.vanished && w == Which::Main {
                continue;
            }
            let svc = self.svc(w);
            if svc.wants_start() && !svc.not_before.is_some_and(|t| t > now) {
                self.start(w, now);
            }
        }
        self.exit_check()
    }

    fn exit_check(&mut self) -> Option<i32> {
        let code = if self.vanished { 111 } else { 0 };
        if self.main.want != Want::Exit || self.main.state != State::Down || self.main.pid != 0 {
            return None;
        }
        let Some(log) = self.log.as_mut() else {
            return Some(code);
        };
        if log.pid == 0 {
            return Some(code);
        }
        if !self.log_closing {
            // runsv's exit sequence (§5.7): the logger drains the pipe and
            // exits on EOF once our ends are closed.
            self.log_closing = true;
            log.want = Want::Exit;
            let external = self.pipe.take().is_some_and(|p| p.external);
            if external {
                // The pipe's creator (svscan) closes its ends before telling
                // us to exit; if it did not, EOF never comes, so the logger
                // gets its stop signal after a grace period.
                self.log_grace_at = Some(Instant::now() + LOG_EOF_GRACE);
            }
            self.write_status(Which::Log);
        }
        None
    }

    /// Fires due timers (timeout-kill, timeout-finish, the log EOF grace).
    pub fn timers(&mut self, now: Instant) {
        if self.log_grace_at.is_some_and(|t| t <= now) {
            self.log_grace_at = None;
            if let Some(log) = self.log.as_mut().filter(|l| l.running()) {
                kill(log.pid, log.settings.down_signal);
                kill(log.pid, libc::SIGCONT);
                log.got_term = true;
                log.kill_at = log.settings.timeout_kill.map(|d| now + d);
                self.write_status(Which::Log);
            }
        }
        for w in [Which::Main, Which::Log] {
            if w == Which::Log && self.log.is_none() {
                continue;
            }
            let label = self.label_of(w).to_string();
            let svc = self.svc(w);
            if svc.kill_at.is_some_and(|t| t <= now) {
                svc.kill_at = None;
                if svc.running() {
                    kill(-svc.pid, libc::SIGKILL);
                    kill(svc.pid, libc::SIGKILL);
                }
            }
            if svc.finish_kill_at.is_some_and(|t| t <= now) {
                svc.finish_kill_at = None;
                if svc.state == State::Finish && svc.pid != 0 {
                    msg::warn(PROG, format_args!("{label}: ./finish timed out, killed"));
                    kill(-svc.pid, libc::SIGKILL);
                    kill(svc.pid, libc::SIGKILL);
                }
            }
        }
    }

    /// The earliest pending timer, if any (None = sleep until an event).
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if self.log.as_ref().is_some_and(|l| l.running()) {
            consider(self.log_grace_at);
        }
        for svc in std::iter::once(&self.main).chain(self.log.as_ref()) {
            if (svc.is_log || !self.vanished) && svc.wants_start() {
                consider(svc.not_before);
            }
            consider(svc.kill_at);
            consider(svc.finish_kill_at);
        }
        next
    }

    /// Input on the readiness pipe of the main service.
    pub fn on_readiness_input(&mut self) {
        let Some(fd) = self.main.notify_r.as_ref() else {
            return;
        };
        let mut buf = [0u8; 64];
        let done = match nix::unistd::read(fd, &mut buf) {
            Ok(0) => Some(false),
            Ok(n) => buf[..n].contains(&b'\n').then_some(true),
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => None,
            Err(_) => Some(false),
        };
        match done {
            Some(true) => {
                let now = Tai64n::now();
                self.main.ready = true;
                self.main.ready_since = Some(now);
                self.main.since = now;
                self.main.notify_r = None;
                self.write_status(Which::Main);
            }
            Some(false) => self.main.notify_r = None,
            None => {}
        }
    }
}

/// runsv tests for `finish` with open(2), not an exec-bit test.
fn finish_exists() -> bool {
    std::fs::File::open("finish").is_ok()
}

fn readiness_pipe() -> Result<(OwnedFd, OwnedFd), nix::errno::Errno> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    // Only our end is non-blocking (the flag is per open file description).
    rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::NONBLOCK)
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error()))?;
    Ok((r, w))
}

/// kill(2) that ignores ESRCH (the process may just have exited).
pub fn kill(pid: i32, sig: i32) {
    // pid is a child (or, negative, its group) this supervisor started or
    // adopted; 0 and -1 would name far more and are never passed on.
    if pid > 0 {
        crate::child::signal(pid, sig);
    } else if pid < -1 {
        crate::child::signal_group(-pid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::Ended;

    #[test]
    fn finish_arguments_follow_runsv() {
        assert_eq!(Ended::Code(3).finish_args(), (3, 0));
        assert_eq!(Ended::Code(111).finish_args(), (111, 0));
        assert_eq!(
            Ended::Signal {
                sig: 9,
                core: false
            }
            .finish_args(),
            (-1, 9)
        );
        assert_eq!(
            Ended::Signal {
                sig: 11,
                core: true
            }
            .finish_args(),
            (-1, 139)
        );
        assert_eq!(Ended::Unknown.finish_args(), (-1, 0));
    }
}
