//! The bounded shutdown (TERM/INT, or the main command's exit), as a
//! state machine; the event loop performs what it asks for:
//!
//! 0. at the start: pre-shutdown hooks (at most half the deadline), then
//!    every supervise gets TERM (it stops its service with the service's
//!    `down-signal` and timeout, then waits for the logger to drain), and
//!    svscan closes its own log-pipe ends so loggers can see EOF;
//! 1. at `kill_at`, shortly before the deadline, whatever else is still
//!    running (services ignoring TERM, their children, stragglers) gets
//!    SIGKILL, but supervise processes and loggers are spared so the
//!    final lines still reach the log;
//! 2. once every supervise and the main command have exited: the
//!    post-shutdown hooks, then leftover processes get TERM, and KILL a
//!    second later (as PID 1 via kill(-1); otherwise only svscan's own
//!    descendants); done as soon as svscan has no child left;
//! 3. at the deadline everything left is killed and svscan exits.
//!
//! A second TERM/INT moves `kill_at` to now. Pure: the time and what the
//! loop knows about its children come in, one action at a time comes out.

use std::time::{Duration, Instant};

/// Time reserved after the service kill for loggers to drain.
const DRAIN_RESERVE: Duration = Duration::from_secs(1);
/// Grace between TERM and KILL for stragglers.
const STRAGGLER_GRACE: Duration = Duration::from_secs(1);
/// How long to keep reaping after the final SIGKILL.
pub const FINAL_REAP: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Supervise processes are stopping their services.
    Stopping,
    /// Services were killed; loggers are draining.
    Draining,
    /// Every supervise is gone; leftovers got TERM.
    Stragglers {
        kill_at: Instant,
        killed: bool,
    },
    /// Finished; `Complete` is still to be reported.
    Ending,
    Done,
}

/// What the event loop knows when it asks for the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct World {
    /// supervise processes still running.
    pub supervising: usize,
    /// The main command is still running.
    pub command: bool,
    /// The last reap found no children at all.
    pub no_children: bool,
}

/// One thing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL for every process in scope but the supervise processes
    /// and the loggers; SIGKILL for the main command's group.
    KillServices,
    /// Run the post-shutdown hooks, ending by `deadline`.
    PostHooks { deadline: Instant },
    /// TERM (and CONT) for every process left in scope; then reap.
    TermStragglers,
    /// KILL for every process left in scope.
    KillStragglers,
    /// The deadline: KILL everything, reap for [`FINAL_REAP`].
    FinalKill,
    /// The shutdown is over: exit.
    Complete,
}

#[derive(Debug)]
pub struct Shutdown {
    started: Instant,
    kill_at: Instant,
    deadline: Instant,
    phase: Phase,
    post_hooks_done: bool,
}

impl Shutdown {
    /// Begins at `now`, bounded by `timeout`.
    pub fn new(now: Instant, timeout: Duration) -> Self {
        let reserve = DRAIN_RESERVE.min(timeout / 4);
        Shutdown {
            started: now,
            kill_at: now + timeout - reserve,
            deadline: now + timeout,
            phase: Phase::Stopping,
            post_hooks_done: false,
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Pre-shutdown hooks must end by this, so the services keep half
    /// the deadline to stop.
    pub fn hooks_deadline(&self) -> Instant {
        self.started + (self.deadline - self.started) / 2
    }

    /// When the next timed step is due.
    pub fn next_wakeup(&self) -> Option<Instant> {
        match self.phase {
            Phase::Stopping => Some(self.kill_at.min(self.deadline)),
            Phase::Draining => Some(self.deadline),
            Phase::Stragglers { kill_at, killed } if !killed => Some(kill_at.min(self.deadline)),
            Phase::Stragglers { .. } => Some(self.deadline),
            Phase::Ending => Some(self.started),
            Phase::Done => None,
        }
    }

    /// A second stop request: the kill comes now.
    pub fn skip_to_kill(&mut self, now: Instant) {
        match &mut self.phase {
            Phase::Stopping => self.kill_at = now,
            Phase::Stragglers { kill_at, .. } => *kill_at = now,
            _ => {}
        }
    }

    /// The next action at `now`, or `None` until something changes. Call
    /// again after performing one, with the world as it is then.
    pub fn step(&mut self, now: Instant, w: World) -> Option<Action> {
        if now >= self.deadline && !matches!(self.phase, Phase::Ending | Phase::Done) {
            self.phase = Phase::Ending;
            return Some(Action::FinalKill);
        }
        match self.phase {
            Phase::Stopping | Phase::Draining => {
                if self.phase == Phase::Stopping && now >= self.kill_at {
                    self.phase = Phase::Draining;
                    return Some(Action::KillServices);
                }
                if w.supervising > 0 || w.command {
                    return None;
                }
                if !self.post_hooks_done {
                    self.post_hooks_done = true;
                    return Some(Action::PostHooks {
                        deadline: self.deadline,
                    });
                }
                self.phase = Phase::Stragglers {
                    kill_at: (now + STRAGGLER_GRACE).min(self.deadline),
                    killed: false,
                };
                Some(Action::TermStragglers)
            }
            Phase::Stragglers { kill_at, killed } => {
                if w.no_children {
                    self.phase = Phase::Done;
                    return Some(Action::Complete);
                }
                if !killed && now >= kill_at {
                    self.phase = Phase::Stragglers {
                        kill_at,
                        killed: true,
                    };
                    return Some(Action::KillStragglers);
                }
                None
            }
            Phase::Ending => {
                self.phase = Phase::Done;
                Some(Action::Complete)
            }
            Phase::Done => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    const RUNNING: World = World {
        supervising: 2,
        command: false,
        no_children: false,
    };
    const SUPERVISE_GONE: World = World {
        supervising: 0,
        command: false,
        no_children: false,
    };
    const NOBODY: World = World {
        supervising: 0,
        command: false,
        no_children: true,
    };

    /// Every action up to the first `None`.
    fn run(sd: &mut Shutdown, now: Instant, w: World) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = sd.step(now, w) {
            out.push(a);
            assert!(out.len() < 10, "no end: {out:?}");
        }
        out
    }

    #[test]
    fn a_quiet_shutdown_hooks_then_terms_stragglers_then_completes() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, s(8));
        assert_eq!(sd.hooks_deadline(), t0 + s(4));
        assert_eq!(sd.next_wakeup(), Some(t0 + s(7)), "kill a second early");
        assert_eq!(run(&mut sd, t0, RUNNING), []);
        let t1 = t0 + ms(300);
        assert_eq!(
            run(&mut sd, t1, SUPERVISE_GONE),
            [
                Action::PostHooks {
                    deadline: t0 + s(8)
                },
                Action::TermStragglers
            ]
        );
        assert_eq!(sd.next_wakeup(), Some(t1 + s(1)));
        assert_eq!(run(&mut sd, t1, NOBODY), [Action::Complete]);
        assert_eq!(sd.next_wakeup(), None);
        assert_eq!(run(&mut sd, t1, NOBODY), []);
    }

    #[test]
    fn the_main_command_is_waited_for_too() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, s(8));
        let w = World {
            command: true,
            ..SUPERVISE_GONE
        };
        assert_eq!(run(&mut sd, t0, w), []);
    }

    #[test]
    fn services_that_ignore_term_are_killed_before_the_deadline() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, s(8));
        assert_eq!(run(&mut sd, t0 + s(7), RUNNING), [Action::KillServices]);
        assert_eq!(sd.next_wakeup(), Some(t0 + s(8)));
        // Killed once only.
        assert_eq!(run(&mut sd, t0 + ms(7500), RUNNING), []);
        assert_eq!(
            run(&mut sd, t0 + s(8), RUNNING),
            [Action::FinalKill, Action::Complete]
        );
    }

    #[test]
    fn a_short_timeout_keeps_a_quarter_for_the_loggers() {
        let t0 = Instant::now();
        let sd = Shutdown::new(t0, s(2));
        assert_eq!(sd.next_wakeup(), Some(t0 + ms(1500)));
    }

    #[test]
    fn stragglers_get_kill_a_second_after_term() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, s(8));
        run(&mut sd, t0, SUPERVISE_GONE);
        assert_eq!(run(&mut sd, t0 + ms(500), SUPERVISE_GONE), []);
        assert_eq!(
            run(&mut sd, t0 + s(1), SUPERVISE_GONE),
            [Action::KillStragglers]
        );
        assert_eq!(sd.next_wakeup(), Some(t0 + s(8)));
        assert_eq!(run(&mut sd, t0 + ms(1100), NOBODY), [Action::Complete]);
    }

    #[test]
    fn a_second_signal_skips_to_the_kill() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, s(8));
        sd.skip_to_kill(t0 + ms(100));
        assert_eq!(sd.next_wakeup(), Some(t0 + ms(100)));
        assert_eq!(run(&mut sd, t0 + ms(100), RUNNING), [Action::KillServices]);
        // Among the stragglers too.
        let mut sd = Shutdown::new(t0, s(8));
        run(&mut sd, t0, SUPERVISE_GONE);
        sd.skip_to_kill(t0 + ms(10));
        assert_eq!(
            run(&mut sd, t0 + ms(10), SUPERVISE_GONE),
            [Action::KillStragglers]
        );
    }

    #[test]
    fn post_hooks_run_once_even_if_a_supervise_comes_back() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, s(8));
        assert_eq!(
            sd.step(t0, SUPERVISE_GONE),
            Some(Action::PostHooks {
                deadline: t0 + s(8)
            })
        );
        // The hooks took long; the world is looked at again.
        assert_eq!(
            sd.step(t0 + s(2), SUPERVISE_GONE),
            Some(Action::TermStragglers)
        );
        assert_eq!(sd.next_wakeup(), Some(t0 + s(3)));
    }

    #[test]
    fn the_straggler_grace_ends_at_the_deadline() {
        let t0 = Instant::now();
        let mut sd = Shutdown::new(t0, ms(500));
        run(&mut sd, t0 + ms(400), SUPERVISE_GONE);
        assert_eq!(sd.next_wakeup(), Some(t0 + ms(500)));
        assert_eq!(
            run(&mut sd, t0 + ms(500), SUPERVISE_GONE),
            [Action::FinalKill, Action::Complete]
        );
    }
}
