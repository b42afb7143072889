//! Sending a command to several services and waiting for all of them
//! (protocol notes §4.3–4.4), event-driven:
//!
//! 1. subscribe (inotify) to every service's `supervise/`;
//! 2. read each status (and svkit-status `starts`), then send;
//! 3. evaluate the predicates now and after every relevant event, until
//!    each service passes, fails, or the deadline passes (`timeout:`, or
//!    `kill:` plus `k` for `force-*`).
//!
//! The only timer besides the deadline is the `./check` script retry:
//! a check is an external program with no event to wait for, so when
//! everything but the check passes it is re-run after 20 ms, doubling up
//! to 250 ms.
//!
//! A supervisor that is not there yet (no `supervise/ok`, or nobody
//! listening) is waited for within the same deadline (quirk Q10); if it
//! never comes, the message `sv` would have printed at once is printed.

use super::checkscript::check_passes;
use super::commands::{Action, Kind};
use super::format::Out;
use super::predicate::{evaluate, Before, Declared, Verdict};
use super::probe::{declares_readiness, probe, snapshot, Probe};
use super::resolve::enter_check;
use super::send::{report_probe, send, Sent};
use super::show::print_status_line;
use super::watch::{Watcher, UNWATCHED_RECHECK};
use crate::tai64n::Tai64n;
use nix::errno::Errno;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CHECK_RETRY_FIRST: Duration = Duration::from_millis(20);
const CHECK_RETRY_MAX: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The supervisor was absent when we wanted to send: send on arrival.
    NeedSend,
    Waiting,
    Done,
}

pub struct Target {
    pub name: String,
    pub dir: PathBuf,
    /// `chdir` into the service directory would fail with this.
    cd_error: Option<Errno>,
    phase: Phase,
    before: Before,
    decl: Declared,
    /// The last probe found no supervisor (kept for the final message).
    absent: Option<Probe>,
    next_check: Option<Instant>,
    backoff: Duration,
}

impl Target {
    pub fn new(name: String, dir: PathBuf) -> Self {
        let cd_error = enter_check(&dir).err();
        let decl = Declared {
            readiness: cd_error.is_none() && declares_readiness(&dir),
        };
        Target {
            name,
            dir,
            cd_error,
            phase: Phase::Waiting,
            before: Before::default(),
            decl,
            absent: None,
            next_check: None,
            backoff: CHECK_RETRY_FIRST,
        }
    }
}

pub struct Engine<'a> {
    pub action: Action,
    /// Will we wait at all (`-v`, or a command that waits)?
    pub waiting: bool,
    pub deadline: Instant,
    pub out: &'a mut Out,
}

impl Engine<'_> {
    /// Sends to every target (all before any waiting), then waits.
    pub fn run(&mut self, targets: &mut [Target]) {
        let mut watcher = None;
        if self.waiting {
            match Watcher::new() {
                Ok(w) => watcher = Some(w),
                // E.g. the per-user inotify instance limit is reached.
                Err(e) => crate::msg::warn_why(
                    "svctl",
                    "unable to use inotify, re-reading every 100 ms",
                    crate::errstr::io_error_str(&e),
                ),
            }
        }
        if let Some(w) = watcher.as_mut() {
            for (i, t) in targets.iter().enumerate() {
                if t.cd_error.is_none() {
                    w.watch(i, &t.dir);
                }
            }
        }
        // In argument order, as `sv` prints them.
        for t in targets.iter_mut() {
            if let Some(e) = t.cd_error {
                self.out
                    .fail(&t.name, "unable to change to service directory", Some(e));
                t.phase = Phase::Done;
            } else if self.action.kind == Kind::Control {
                self.try_send(t);
            }
        }
        if !self.waiting {
            return;
        }
        self.wait_all(targets, watcher.as_mut());
        if let Some(w) = watcher {
            w.close_in_background();
        }
    }

    fn try_send(&mut self, t: &mut Target) {
        let bytes = self.action.send;
        let pre = snapshot(&t.dir);
        let status = match pre {
            Ok(Some(ref s)) => {
                t.before.starts = s.ext.as_ref().map(|e| e.starts);
                s.status
            }
            // svkit-status momentarily out of step: fall back to stamps.
            Ok(None) => match probe(&t.dir) {
                Probe::Alive(s) => s,
                other => return self.no_supervisor(t, other),
            },
            Err(p) => return self.no_supervisor(t, p),
        };
        t.absent = None;
        t.before.sent_at = Tai64n::now();
        t.phase = match send(self.out, &t.name, &t.dir, &status, bytes) {
            Sent::Written | Sent::Already => Phase::Waiting,
            Sent::Failed => Phase::Done,
        };
    }

    /// No live supervisor: defer (if we wait and the command is not an
    /// exit), else print what `sv` prints.
    fn no_supervisor(&mut self, t: &mut Target, p: Probe) {
        if self.waiting && !self.action.is_exit() && p.supervisor_absent() {
            t.phase = Phase::NeedSend;
            t.absent = Some(p);
        } else {
            report_probe(self.out, &t.name, &p, self.action.is_exit());
            t.phase = Phase::Done;
        }
    }

    fn wait_all(&mut self, targets: &mut [Target], mut watcher: Option<&mut Watcher>) {
        loop {
            let now = Instant::now();
            for t in targets.iter_mut() {
                if t.phase == Phase::NeedSend {
                    self.try_send(t);
                }
                if t.phase == Phase::Waiting {
                    self.evaluate(t, now);
                }
            }
            if targets.iter().all(|t| t.phase == Phase::Done) {
                return;
            }
            let now = Instant::now();
            if now >= self.deadline {
                for t in targets.iter_mut().filter(|t| t.phase != Phase::Done) {
                    self.give_up(t);
                }
                return;
            }
            // Sleep until an event, the deadline, or the next check retry.
            let mut wake = self.deadline;
            for t in targets.iter().filter(|t| t.phase != Phase::Done) {
                if let Some(c) = t.next_check {
                    wake = wake.min(c);
                }
            }
            let mut timeout = wake.saturating_duration_since(now);
            match watcher.as_deref_mut() {
                Some(w) => {
                    if w.has_unwatched() {
                        timeout = timeout.min(UNWATCHED_RECHECK);
                    }
                    let absent: Vec<bool> = targets.iter().map(|t| t.absent.is_some()).collect();
                    w.wait(Some(timeout), &|i| absent.get(i).copied().unwrap_or(false));
                }
                None => std::thread::sleep(timeout.min(UNWATCHED_RECHECK)),
            }
        }
    }

    fn evaluate(&mut self, t: &mut Target, now: Instant) {
        let snap = match snapshot(&t.dir) {
            Ok(Some(s)) => s,
            Ok(None) => return, // svkit-status being replaced: next event
            Err(Probe::NotRunning) if self.action.is_exit() => {
                self.out.ok(&t.name, "runsv not running");
                t.phase = Phase::Done;
                return;
            }
            Err(p) if p.supervisor_absent() && !self.action.is_exit() => {
                t.absent = Some(p);
                return;
            }
            Err(p) => {
                report_probe(self.out, &t.name, &p, self.action.is_exit());
                t.phase = Phase::Done;
                return;
            }
        };
        t.absent = None;
        let passed = match evaluate(self.action.predicates(), &snap, &t.before, t.decl) {
            Verdict::Fail => {
                t.next_check = None;
                t.backoff = CHECK_RETRY_FIRST;
                false
            }
            Verdict::Pass => true,
            Verdict::PassIfCheck => {
                if t.next_check.is_some_and(|c| now < c) {
                    false
                } else if check_passes(&t.name, &t.dir, self.deadline) {
                    true
                } else {
                    t.next_check = Some(Instant::now() + t.backoff);
                    t.backoff = (t.backoff * 2).min(CHECK_RETRY_MAX);
                    false
                }
            }
        };
        if passed {
            self.out.put("ok: ");
            print_status_line(self.out, &t.name, &t.name, &t.dir, &snap.status);
            self.out.put("\n");
            self.out.flush();
            t.phase = Phase::Done;
        }
    }

    /// The deadline passed with `t` still pending.
    fn give_up(&mut self, t: &mut Target) {
        if let Some(p) = t.absent.take() {
            // No supervisor ever came: exactly what `sv` would have said.
            report_probe(self.out, &t.name, &p, false);
            t.phase = Phase::Done;
            return;
        }
        let kill = self.action.kill_on_timeout;
        self.out.put(if kill { "kill: " } else { "timeout: " });
        match probe(&t.dir) {
            Probe::Alive(s) => {
                print_status_line(self.out, &t.name, &t.name, &t.dir, &s);
                self.out.failures += 1;
                self.out.put("\n");
                self.out.flush();
                if kill {
                    send(
                        self.out,
                        &t.name,
                        &t.dir,
                        &s,
                        &[crate::control::Command::Kill],
                    );
                }
            }
            other => {
                report_probe(self.out, &t.name, &other, self.action.is_exit());
                self.out.put("\n");
                self.out.flush();
            }
        }
        t.phase = Phase::Done;
    }
}
