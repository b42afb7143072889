//! supervise's decisions: one pure state machine for the main service and
//! its logger. It is fed events with the time they happened (it never reads
//! a clock and makes no system call) and answers with actions for the event
//! loop to carry out. Modelled on s6-supervise's state-by-event table.
//!
//! Some actions need an answer before the machine can go on: a spawn (did
//! it fork, which pid?) and a `control/X` script (did it handle the
//! command?). Such an action is always the last of its batch; the loop
//! performs it at once and feeds the answer back as the next event
//! (`Spawned`, `SpawnFailed`, `FinishMissing`, `ScriptDone`), whose actions
//! continue the batch. What the machine was doing meanwhile is `pending`.
//!
//! Timers are not actions: after every event `deadline()` names the
//! earliest time something is due, and the loop sends `Timer` then.
//!
//! The rules live in `machine/commands.rs` (control bytes, runit's stop
//! sequence) and `machine/restart.rs` (exits, `finish`, the 1-second rule,
//! restart-backoff, restart-limit).

mod commands;
mod restart;
#[cfg(test)]
mod tests;

use super::service::{Mono, Service};
use crate::child::Exit;
use crate::extstatus::LastExit;
use crate::status::{State, Want};
use crate::tai64n::Tai64n;
use std::time::Duration;

/// Which of the two services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Main,
    Log,
}

/// When an event happened: monotonic time for the rules, wall time for
/// the timestamps in the status files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono: Mono,
    pub wall: Tai64n,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A byte from `supervise/control` (or `log/supervise/control`).
    Control(Which, u8),
    /// SIGTERM: exactly `x` (protocol §5.5).
    Term,
    /// `run` or `finish` ended; `None` for an adopted `run` (not our
    /// child, so no wait status).
    Exited(Which, Option<Exit>),
    /// Answer to `SpawnRun`/`SpawnFinish`: the child's pid and start time
    /// (clock ticks since boot, 0 if unknown).
    Spawned {
        which: Which,
        pid: i32,
        start_ticks: u64,
    },
    /// Answer to `SpawnRun`/`SpawnFinish`: fork failed.
    SpawnFailed(Which),
    /// Answer to `SpawnFinish`: there is no `finish`.
    FinishMissing,
    /// Answer to `RunScript`: the script exited 0 (false also when there
    /// is no such script).
    ScriptDone { handled: bool },
    /// The readiness line arrived on the notification-fd pipe.
    Ready,
    /// The service directory was removed.
    DirGone,
    /// `deadline()` has passed.
    Timer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start `./run` of `which` (after `control/u` when `control_u`);
    /// with `notification_fd`, a readiness pipe as that descriptor.
    /// Answered by `Spawned` or `SpawnFailed`.
    SpawnRun {
        which: Which,
        notification_fd: Option<i32>,
        control_u: bool,
    },
    /// Start `./finish CODE STATUS` for the main service. Answered by
    /// `Spawned`, `SpawnFailed` or `FinishMissing`.
    SpawnFinish { code: i32, status: i32 },
    /// Run `control/<byte>` of the main service; answered by `ScriptDone`.
    RunScript(u8),
    /// kill(pid, sig).
    Signal { pid: i32, sig: i32 },
    /// SIGKILL the process group `pid` leads, and `pid` itself.
    KillGroup { pid: i32 },
    /// The status files of `which` are out of date.
    WriteStatus(Which),
    /// Close supervise's ends of the log pipe (runsv's exit sequence).
    CloseLogPipe,
    /// Say something on stderr.
    Notify(Notice),
    /// Exit with this code.
    Exit(i32),
}

/// What supervise tells the operator (the loop words it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    RestartLimit {
        which: Which,
        count: u32,
        window: Duration,
    },
    FinishTimedOut,
    DirRemoved,
}

/// The log pipe as the exit sequence sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pipe {
    /// No logger, or no pipe.
    None,
    /// Created by supervise: the logger sees EOF once it is closed.
    Own,
    /// Inherited (`SVKIT_LOG_PIPE`): its creator holds it too.
    Inherited,
}

/// timeout-kill used when the service directory vanished and none is set.
const VANISHED_KILL: Duration = Duration::from_secs(5);
/// How long a logger on an inherited pipe gets to reach EOF on `x`.
const LOG_EOF_GRACE: Duration = Duration::from_secs(2);

/// What an answer event continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// A `SpawnRun` of this service.
    Run(Which),
    /// A `SpawnFinish`.
    Finish,
    /// A `RunScript`; what to do with its result.
    Script(commands::AfterScript),
}

pub struct Machine {
    main: Service,
    log: Option<Service>,
    pipe: Pipe,
    /// The service directory was removed: stop and exit.
    vanished: bool,
    /// Exit sequence: the log pipe has been closed, waiting for the logger.
    log_closing: bool,
    /// Exit sequence with an inherited pipe: if the logger has not seen
    /// EOF by then, send it its stop signal.
    log_grace_at: Option<Mono>,
    pending: Option<Pending>,
    /// `Exit` has been returned; nothing more happens.
    done: bool,
}

impl Machine {
    /// `main` and `log` as found at start-up (down, or an adopted `run`).
    pub fn new(main: Service, log: Option<Service>, pipe: Pipe) -> Self {
        let pipe = if log.is_some() { pipe } else { Pipe::None };
        Machine {
            main,
            log,
            pipe,
            vanished: false,
            log_closing: false,
            log_grace_at: None,
            pending: None,
            done: false,
        }
    }

    pub fn service(&self, w: Which) -> Option<&Service> {
        match w {
            Which::Main => Some(&self.main),
            Which::Log => self.log.as_ref(),
        }
    }

    fn svc(&mut self, w: Which) -> &mut Service {
        match w {
            Which::Main => &mut self.main,
            // Events for the logger only come from its FIFO, its children
            // and its timers, which exist only with a logger; the main
            // service stands in rather than panicking.
            Which::Log => self.log.as_mut().unwrap_or(&mut self.main),
        }
    }

    fn has(&self, w: Which) -> bool {
        w == Which::Main || self.log.is_some()
    }

    /// The first status write and the first starts.
    pub fn begin(&mut self, now: Now, out: &mut Vec<Action>) {
        out.push(Action::WriteStatus(Which::Main));
        if self.log.is_some() {
            out.push(Action::WriteStatus(Which::Log));
        }
        self.settle(now, out);
    }

    /// Feeds one event; appends what to do to `out`.
    pub fn step(&mut self, ev: Event, now: Now, out: &mut Vec<Action>) {
        if self.done {
            return;
        }
        match ev {
            Event::Control(w, byte) => {
                if self.has(w) {
                    self.command(w, byte, now, out);
                }
            }
            Event::Term => self.command(Which::Main, b'x', now, out),
            Event::Exited(w, how) => {
                if self.has(w) {
                    self.on_exit(w, how, now, out);
                }
            }
            Event::Spawned {
                which,
                pid,
                start_ticks,
            } => match self.pending.take() {
                Some(Pending::Run(w)) if w == which => {
                    self.run_started(w, pid, start_ticks, now, out)
                }
                Some(Pending::Finish) => self.finish_started(pid, start_ticks, now, out),
                other => self.pending = other,
            },
            Event::SpawnFailed(which) => match self.pending.take() {
                Some(Pending::Run(w)) if w == which => {
                    self.svc(w).not_before = Some(now.mono + restart::FORK_RETRY);
                    out.push(Action::WriteStatus(w));
                }
                Some(Pending::Finish) => self.become_down(Which::Main, now, out),
                other => self.pending = other,
            },
            Event::FinishMissing => match self.pending.take() {
                Some(Pending::Finish) => self.become_down(Which::Main, now, out),
                other => self.pending = other,
            },
            Event::ScriptDone { handled } => match self.pending.take() {
                Some(Pending::Script(then)) => self.after_script(then, handled, now, out),
                other => self.pending = other,
            },
            Event::Ready => {
                let m = &mut self.main;
                if m.running() && !m.ready {
                    m.ready = true;
                    m.ready_since = Some(now.wall);
                    m.since = now.wall;
                    out.push(Action::WriteStatus(Which::Main));
                }
            }
            Event::DirGone => self.dir_gone(now, out),
            Event::Timer => {}
        }
        if self.pending.is_none() {
            self.settle(now, out);
        }
    }

    /// The earliest time something is due (None: nothing; sleep until an
    /// event).
    pub fn deadline(&self) -> Option<Mono> {
        let mut next: Option<Mono> = None;
        let mut consider = |t: Option<Mono>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if self.log.as_ref().is_some_and(|l| l.running()) {
            consider(self.log_grace_at);
        }
        for (w, svc) in [
            (Which::Main, Some(&self.main)),
            (Which::Log, self.log.as_ref()),
        ] {
            let Some(svc) = svc else { continue };
            if self.may_start(w) && svc.wants_start() {
                consider(svc.not_before);
            }
            consider(svc.kill_at);
            consider(svc.finish_kill_at);
        }
        next
    }

    /// Nothing starts the main service once its directory is gone.
    fn may_start(&self, w: Which) -> bool {
        w == Which::Log || !self.vanished
    }

    /// After each event: fire due timers, start what is due, check the
    /// exit condition.
    fn settle(&mut self, now: Now, out: &mut Vec<Action>) {
        self.timers(now, out);
        for w in [Which::Log, Which::Main] {
            if !self.has(w) || !self.may_start(w) {
                continue;
            }
            let svc = self.svc(w);
            if svc.wants_start() && !svc.not_before.is_some_and(|t| t > now.mono) {
                self.start(w, out);
                // The rest waits for the answer.
                return;
            }
        }
        self.exit_check(now, out);
    }

    fn start(&mut self, w: Which, out: &mut Vec<Action>) {
        let control_u = w == Which::Main && !self.vanished;
        let notification_fd = match w {
            Which::Main => self.main.settings.notification_fd,
            Which::Log => None,
        };
        self.pending = Some(Pending::Run(w));
        out.push(Action::SpawnRun {
            which: w,
            notification_fd,
            control_u,
        });
    }

    fn run_started(
        &mut self,
        w: Which,
        pid: i32,
        start_ticks: u64,
        now: Now,
        out: &mut Vec<Action>,
    ) {
        let svc = self.svc(w);
        svc.start_once = false;
        svc.not_before = None;
        svc.pid = pid;
        svc.pid_start_ticks = start_ticks;
        svc.state = State::Run;
        svc.stamp = now.wall;
        svc.since = now.wall;
        svc.paused = false;
        svc.got_term = false;
        svc.ready = false;
        svc.ready_since = None;
        svc.starts += 1;
        svc.last_start = Some(now.mono);
        svc.kill_at = None;
        svc.stop_requested = false;
        out.push(Action::WriteStatus(w));
    }

    fn finish_started(&mut self, pid: i32, start_ticks: u64, now: Now, out: &mut Vec<Action>) {
        let svc = &mut self.main;
        svc.state = State::Finish;
        svc.since = now.wall;
        svc.pid = pid;
        svc.pid_start_ticks = start_ticks;
        svc.paused = false;
        svc.finish_kill_at = svc.settings.timeout_finish.map(|d| now.mono + d);
        out.push(Action::WriteStatus(Which::Main));
    }

    /// Fires due timers: timeout-kill, timeout-finish, the log EOF grace.
    fn timers(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.log_grace_at.is_some_and(|t| t <= now.mono) {
            self.log_grace_at = None;
            if let Some(log) = self.log.as_mut().filter(|l| l.running()) {
                out.push(Action::Signal {
                    pid: log.pid,
                    sig: log.settings.down_signal,
                });
                out.push(Action::Signal {
                    pid: log.pid,
                    sig: libc::SIGCONT,
                });
                log.got_term = true;
                log.stop_requested = true;
                log.kill_at = log.settings.timeout_kill.map(|d| now.mono + d);
                out.push(Action::WriteStatus(Which::Log));
            }
        }
        for w in [Which::Main, Which::Log] {
            if !self.has(w) {
                continue;
            }
            let svc = self.svc(w);
            if svc.kill_at.is_some_and(|t| t <= now.mono) {
                svc.kill_at = None;
                if svc.running() {
                    out.push(Action::KillGroup { pid: svc.pid });
                }
            }
            if svc.finish_kill_at.is_some_and(|t| t <= now.mono) {
                svc.finish_kill_at = None;
                if svc.state == State::Finish && svc.pid != 0 {
                    out.push(Action::Notify(Notice::FinishTimedOut));
                    out.push(Action::KillGroup { pid: svc.pid });
                }
            }
        }
    }

    /// runsv's exit condition (§5.7): after `x`, once the main service is
    /// down, exit; with a logger running, close the log pipe first and
    /// exit when the logger has drained it and exited.
    fn exit_check(&mut self, now: Now, out: &mut Vec<Action>) {
        let m = &self.main;
        if m.want != Want::Exit || m.state != State::Down || m.pid != 0 {
            return;
        }
        let code = if self.vanished {
            crate::exit::SYSTEM
        } else {
            crate::exit::OK
        };
        let Some(log) = self.log.as_mut().filter(|l| l.pid != 0) else {
            self.done = true;
            out.push(Action::Exit(code));
            return;
        };
        if !self.log_closing {
            self.log_closing = true;
            log.want = Want::Exit;
            out.push(Action::CloseLogPipe);
            if self.pipe == Pipe::Inherited {
                // The pipe's creator (svscan) closes its ends before
                // telling us to exit; if it did not, EOF never comes.
                self.log_grace_at = Some(now.mono + LOG_EOF_GRACE);
            }
            out.push(Action::WriteStatus(Which::Log));
        }
    }

    /// The service directory was removed while supervised: stop the
    /// service (escalating to SIGKILL), then exit once everything is down.
    fn dir_gone(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.vanished {
            return;
        }
        self.vanished = true;
        out.push(Action::Notify(Notice::DirRemoved));
        self.main.settings.timeout_kill.get_or_insert(VANISHED_KILL);
        if let Some(log) = self.log.as_mut() {
            log.settings.timeout_kill.get_or_insert(VANISHED_KILL);
        }
        self.command(Which::Main, b'x', now, out);
    }
}

/// `finish`'s two arguments, as runsv computes them (§5.4).
pub fn finish_args(how: Option<Exit>) -> (i32, i32) {
    match how {
        Some(Exit::Code(c)) => (c, 0),
        Some(Exit::Signal { sig, core }) => (-1, sig + if core { 128 } else { 0 }),
        None => (-1, 0),
    }
}

fn last_exit(how: Option<Exit>) -> LastExit {
    match how {
        Some(Exit::Code(c)) => LastExit::Code(c),
        Some(Exit::Signal { sig, .. }) => LastExit::Signal(sig),
        None => LastExit::None,
    }
}
