//! The bounded shutdown (TERM/INT, or the main command's exit):
//!
//! 1. every supervise gets TERM (it stops its service with the service's
//!    `down-signal` and timeout, then waits for the logger to drain);
//!    svscan closes its own log-pipe ends so loggers can see EOF;
//! 2. at `kill_at`, shortly before the deadline, whatever else is still
//!    running (services ignoring TERM, their children, stragglers) gets
//!    SIGKILL, but supervise processes and loggers are spared so the
//!    final lines still reach the log;
//! 3. once every supervise has exited, leftover processes get TERM, then
//!    KILL a second later (as PID 1 via kill(-1); otherwise only svscan's
//!    own descendants);
//! 4. at the deadline everything left is killed and svscan exits.
//!
//! A second TERM/INT moves `kill_at` to now.

use super::daemon::{human, Svscan};
use super::reaper;
use super::PROG;
use crate::container::rundir::locate_supervise_dir_in;
use crate::msg;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Time reserved after the service kill for loggers to drain.
const DRAIN_RESERVE: Duration = Duration::from_secs(1);
/// Grace between TERM and KILL for stragglers.
const STRAGGLER_GRACE: Duration = Duration::from_secs(1);
/// How long to keep reaping after the final SIGKILL.
const FINAL_REAP: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Supervise processes are stopping their services.
    Stopping,
    /// Services were killed; loggers are draining.
    Draining,
    /// Every supervise is gone; leftovers got TERM.
    Stragglers {
        kill_at: Instant,
        killed: bool,
    },
    Done,
}

pub struct Shutdown {
    pub started: Instant,
    pub kill_at: Instant,
    pub deadline: Instant,
    pub phase: Phase,
}

impl Shutdown {
    pub fn new(now: Instant, timeout: Duration) -> Self {
        let reserve = DRAIN_RESERVE.min(timeout / 4);
        Shutdown {
            started: now,
            kill_at: now + timeout - reserve,
            deadline: now + timeout,
            phase: Phase::Stopping,
        }
    }

    pub fn next_wakeup(&self) -> Option<Instant> {
        Some(match self.phase {
            Phase::Stopping => self.kill_at.min(self.deadline),
            Phase::Draining => self.deadline,
            Phase::Stragglers { kill_at, killed } if !killed => kill_at.min(self.deadline),
            Phase::Stragglers { .. } => self.deadline,
            Phase::Done => self.started,
        })
    }
}

impl Svscan {
    pub(super) fn begin_shutdown(&mut self, reason: String, now: Instant) {
        let timeout = self.opts.shutdown_timeout;
        msg::info(
            PROG,
            format!(
                "{reason}: stopping {} services (deadline {})",
                self.table.running(),
                human(timeout)
            ),
        );
        self.cancel_starts();
        self.gate = None;
        // Hooks run while services are still up; they may use at most half
        // of the deadline so that the services keep time to stop.
        let life = &self.opts.life;
        super::boot::run_hooks(
            "pre-shutdown",
            &life.pre_shutdown_dirs,
            &self.env,
            life.hook_timeout,
            now + timeout / 2,
        );
        for id in self.table.ids() {
            let Some(svc) = self.table.get_mut(id) else {
                continue;
            };
            // svscan's copies of the pipe would keep loggers from EOF.
            svc.log_pipe = None;
            svc.prefix_pipes = None;
            if let Some(pid) = svc.pid {
                reaper::kill(pid, libc::SIGTERM);
                reaper::kill(pid, libc::SIGCONT);
            }
        }
        if let Some(c) = &self.command {
            c.signal(libc::SIGTERM);
        }
        self.shutdown = Some(Shutdown::new(now, timeout));
    }

    pub(super) fn skip_to_kill(&mut self, now: Instant) {
        if let Some(sd) = &mut self.shutdown {
            match &mut sd.phase {
                Phase::Stopping => sd.kill_at = now,
                Phase::Stragglers { kill_at, .. } => *kill_at = now,
                _ => {}
            }
        }
    }

    /// Advances the shutdown; returns the exit code once it is complete.
    pub(super) fn shutdown_step(&mut self, now: Instant) -> Option<i32> {
        let sd = self.shutdown.as_ref()?;
        let (deadline, kill_at, mut phase) = (sd.deadline, sd.kill_at, sd.phase);
        if now >= deadline && phase != Phase::Done {
            msg::warn(PROG, "shutdown deadline reached: killing what remains");
            self.final_kill();
            phase = Phase::Done;
        }
        if phase == Phase::Stopping && now >= kill_at {
            self.kill_services();
            phase = Phase::Draining;
        }
        if matches!(phase, Phase::Stopping | Phase::Draining)
            && self.table.running() == 0
            && self.command.is_none()
        {
            if !self.post_hooks_done {
                self.post_hooks_done = true;
                let life = &self.opts.life;
                super::boot::run_hooks(
                    "post-shutdown",
                    &life.post_shutdown_dirs,
                    &self.env,
                    life.hook_timeout,
                    deadline,
                );
            }
            let any = reaper::signal_scope(self.scope, libc::SIGTERM);
            if any {
                reaper::signal_scope(self.scope, libc::SIGCONT);
            }
            self.reap();
            phase = if !any && self.no_children {
                Phase::Done
            } else {
                Phase::Stragglers {
                    kill_at: (now + STRAGGLER_GRACE).min(deadline),
                    killed: false,
                }
            };
        }
        if let Phase::Stragglers { kill_at, killed } = phase {
            if self.no_children {
                phase = Phase::Done;
            } else if !killed && now >= kill_at {
                reaper::signal_scope(self.scope, libc::SIGKILL);
                phase = Phase::Stragglers {
                    kill_at,
                    killed: true,
                };
            }
        }
        let sd = self.shutdown.as_mut()?;
        sd.phase = phase;
        if phase == Phase::Done {
            let took = sd.started.elapsed();
            msg::info(
                PROG,
                format!("shutdown complete in {} ms", took.as_millis()),
            );
            if let Some(p) = &mut self.prefixer {
                p.drain(FINAL_REAP);
            }
            return Some(self.final_code());
        }
        None
    }

    /// The service pid of each running supervise, and its logger's pid.
    fn service_and_logger_pids(&self) -> (Vec<i32>, Vec<i32>) {
        let mut services = Vec::new();
        let mut loggers = Vec::new();
        for id in self.table.ids() {
            let Some(svc) = self.table.get(id) else {
                continue;
            };
            let (Some(_), Some(name)) = (svc.pid, &svc.name) else {
                continue;
            };
            // The state may live in the runtime directory (read-only scan
            // directory), exactly where supervise and svctl look for it.
            let pid_of = |dir: &std::path::Path| {
                locate_supervise_dir_in(&self.rundir, dir)
                    .and_then(|sup| read_pid(&sup.join(crate::servicedir::supervise_files::PID)))
            };
            let dir = self.opts.scandir.join(name);
            if let Some(p) = pid_of(&dir) {
                services.push(p);
            }
            if let Some(p) = pid_of(&dir.join(crate::servicedir::LOG_DIR)) {
                loggers.push(p);
            }
        }
        (services, loggers)
    }

    /// SIGKILL for everything that keeps the shutdown from finishing,
    /// except supervise processes and loggers (and the loggers' children).
    fn kill_services(&mut self) {
        let (services, loggers) = self.service_and_logger_pids();
        let parents = reaper::parent_map();
        let mut keep: HashSet<i32> = self.table.supervise_pids().collect();
        keep.extend(loggers.iter().copied());
        keep.extend(reaper::descendants(&parents, &loggers));
        let mut targets = reaper::in_scope(self.scope, &parents);
        // Also the services' own pids, in case /proc could not be read.
        targets.extend(services);
        let mut killed = 0;
        for pid in targets {
            if !keep.contains(&pid) && reaper::kill(pid, libc::SIGKILL) {
                killed += 1;
            }
        }
        if let Some(c) = &self.command {
            reaper::kill(-c.pid, libc::SIGKILL);
        }
        if killed > 0 {
            msg::warn(
                PROG,
                format!("killed {killed} processes still running near the deadline"),
            );
        }
    }

    fn final_kill(&mut self) {
        reaper::signal_scope(self.scope, libc::SIGKILL);
        for pid in self.table.supervise_pids().collect::<Vec<_>>() {
            reaper::kill(pid, libc::SIGKILL);
        }
        if let Some(c) = &self.command {
            reaper::kill(-c.pid, libc::SIGKILL);
        }
        let until = Instant::now() + FINAL_REAP;
        loop {
            self.reap();
            let now = Instant::now();
            if self.no_children || now >= until {
                break;
            }
            let mut fds = [PollFd::new(self.signals.fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(10u8));
            while self.signals.next_request().is_some() {}
        }
    }
}

fn read_pid(path: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.trim().parse().ok().filter(|&p: &i32| p > 0)
}
