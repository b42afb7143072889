//! The health-check decisions for one service, as a pure state machine
//! that supervise drives: [`Event`]s in, with the time passed in
//! ([`Now`]), [`Action`]s out. No clock, no system call.
//!
//! The rules (Docker's `HEALTHCHECK`, see [`super::config`]):
//! - While the service is down there is no probe and no timer.
//! - When it comes up, the first probe is due INTERVAL later; each next
//!   probe INTERVAL after the previous one ended. Probes never overlap.
//! - A probe still running at TIMEOUT is killed (with its process group:
//!   [`Action::KillProbe`]) and counts as a failure.
//! - RETRIES consecutive failures make the service unhealthy; with
//!   `health-action` `restart` that requests one restart
//!   ([`Action::Restart`]) and probing pauses until the service goes down
//!   and comes up again. With `none` probing goes on and one success makes
//!   it healthy again.
//! - Failures that end within START_PERIOD of the service coming up do
//!   not count; a success ends the start period at once.
//!
//! So a service whose probe starts failing at time T (probes taking d) is
//! unhealthy, and restarted, by T + RETRIES × (INTERVAL + d) + d: the
//! first failing probe starts at most one probe and one INTERVAL after T.
//!
//! Each probe has an id ([`Action::StartProbe`]); a [`Event::ProbeDone`]
//! whose id is not the running probe's (one killed at its timeout, or one
//! that outlived the service) is ignored, so the loop need not order a
//! late result against a timeout.

use super::config::{OnUnhealthy, Timing};
use crate::tai64n::Tai64n;
use std::time::Instant;

/// When an event happened: the monotonic clock for decisions, the wall
/// clock for what status shows (the same pair supervise's machine uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono: Instant,
    pub wall: Tai64n,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The service came up (`run` started).
    Up,
    /// The service went down (exited, or was stopped).
    Down,
    /// A probe ended by itself: exit 0 / a healthy verdict is `passed`;
    /// `line` is the first line of its output (or the built-in probe's
    /// verdict line).
    ProbeDone { id: u64, passed: bool, line: String },
    /// Time passed: whatever is due now happens.
    Tick,
}

/// How the service's health changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    Healthy,
    Unhealthy {
        /// Consecutive failures (RETRIES, or more with `none`).
        failures: u32,
        /// The last failure's line.
        line: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start probe `id` (the `check`, or the built-in probe); it must be
    /// finished by `deadline`, and the machine will say so with a
    /// [`Action::KillProbe`] at that time.
    StartProbe { id: u64, deadline: Instant },
    /// Probe `id` has overrun its timeout, or the service went down under
    /// it: kill it (a `check` with its process group; a built-in probe is
    /// dropped). Its result, if one still arrives, is ignored.
    KillProbe { id: u64 },
    /// Report a health change (an event for subscribers and hooks).
    Became(Transition),
    /// What [`Machine::view`] shows changed: rewrite the status.
    Publish,
    /// Restart the service (its `down-signal`, `timeout-kill` and
    /// `finish` apply; it counts toward `restart-limit`). Always the last
    /// action.
    Restart,
}

/// The health of a service that is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// No probe has decided yet (Docker's `starting`).
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    /// `starting`, `healthy`, `unhealthy`: the words status shows.
    pub fn word(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// The last failed probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub line: String,
    pub at: Tai64n,
}

/// What status shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View<'a> {
    /// `None` while the service is down.
    pub health: Option<Health>,
    pub failures: u32,
    pub last_failure: Option<&'a Failure>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Down,
    /// The next probe is due at this time.
    Waiting(Instant),
    Probing {
        id: u64,
        deadline: Instant,
    },
    /// A restart was requested; nothing happens until `Down`.
    AwaitingRestart,
}

#[derive(Clone, Debug)]
pub struct Machine {
    timing: Timing,
    on_unhealthy: OnUnhealthy,
    phase: Phase,
    up_at: Option<Instant>,
    start_period_over: bool,
    health: Health,
    failures: u32,
    last_failure: Option<Failure>,
    last_id: u64,
}

impl Machine {
    /// A machine for a service that is down.
    pub fn new(timing: Timing, on_unhealthy: OnUnhealthy) -> Machine {
        Machine {
            timing,
            on_unhealthy,
            phase: Phase::Down,
            up_at: None,
            start_period_over: false,
            health: Health::Starting,
            failures: 0,
            last_failure: None,
            last_id: 0,
        }
    }

    /// Takes one event; returns what to do, in order.
    pub fn handle(&mut self, event: Event, now: Now) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Up => {
                self.cancel_probe(&mut out);
                self.phase = Phase::Waiting(now.mono + self.timing.interval);
                self.up_at = Some(now.mono);
                self.start_period_over = self.timing.start_period.is_zero();
                self.health = Health::Starting;
                self.failures = 0;
                out.push(Action::Publish);
            }
            Event::Down => {
                self.cancel_probe(&mut out);
                if self.phase != Phase::Down {
                    self.phase = Phase::Down;
                    self.up_at = None;
                    out.push(Action::Publish);
                }
            }
            Event::ProbeDone { id, passed, line } => {
                if matches!(self.phase, Phase::Probing { id: running, .. } if running == id) {
                    self.phase = Phase::Waiting(now.mono + self.timing.interval);
                    self.outcome(passed, line, now, &mut out);
                }
            }
            Event::Tick => match self.phase {
                Phase::Waiting(due) if now.mono >= due => {
                    self.last_id += 1;
                    let deadline = now.mono + self.timing.timeout;
                    self.phase = Phase::Probing {
                        id: self.last_id,
                        deadline,
                    };
                    out.push(Action::StartProbe {
                        id: self.last_id,
                        deadline,
                    });
                }
                Phase::Probing { id, deadline } if now.mono >= deadline => {
                    out.push(Action::KillProbe { id });
                    self.phase = Phase::Waiting(now.mono + self.timing.interval);
                    let line = format!("timed out after {} ms", self.timing.timeout.as_millis());
                    self.outcome(false, line, now, &mut out);
                }
                _ => {}
            },
        }
        out
    }

    fn cancel_probe(&mut self, out: &mut Vec<Action>) {
        if let Phase::Probing { id, .. } = self.phase {
            out.push(Action::KillProbe { id });
        }
    }

    fn outcome(&mut self, passed: bool, line: String, now: Now, out: &mut Vec<Action>) {
        if passed {
            self.start_period_over = true;
            let changed = self.failures != 0 || self.health != Health::Healthy;
            self.failures = 0;
            if self.health != Health::Healthy {
                self.health = Health::Healthy;
                out.push(Action::Became(Transition::Healthy));
            }
            if changed {
                out.push(Action::Publish);
            }
            return;
        }
        self.last_failure = Some(Failure {
            line: line.clone(),
            at: now.wall,
        });
        if !self.start_period_over {
            let in_start_period = self
                .up_at
                .is_some_and(|up| now.mono < up + self.timing.start_period);
            if in_start_period {
                out.push(Action::Publish);
                return;
            }
            self.start_period_over = true;
        }
        self.failures = self.failures.saturating_add(1);
        let newly_unhealthy =
            self.failures >= self.timing.retries && self.health != Health::Unhealthy;
        if newly_unhealthy {
            self.health = Health::Unhealthy;
            out.push(Action::Became(Transition::Unhealthy {
                failures: self.failures,
                line,
            }));
        }
        out.push(Action::Publish);
        if newly_unhealthy && self.on_unhealthy == OnUnhealthy::Restart {
            self.phase = Phase::AwaitingRestart;
            out.push(Action::Restart);
        }
    }

    /// When the loop must wake up next with [`Event::Tick`]: the next
    /// probe or the running probe's timeout. `None` (sleep without a
    /// timer) while the service is down or a restart is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting(due) => Some(due),
            Phase::Probing { deadline, .. } => Some(deadline),
            Phase::Down | Phase::AwaitingRestart => None,
        }
    }

    /// The id of the probe that is running, if one is.
    pub fn running_probe(&self) -> Option<u64> {
        match self.phase {
            Phase::Probing { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn view(&self) -> View<'_> {
        View {
            health: (self.phase != Phase::Down).then_some(self.health),
            failures: self.failures,
            last_failure: self.last_failure.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Synthetic time: `at(ms)` is `ms` after a fixed origin.
    struct Clock(Instant);
    impl Clock {
        fn at(&self, ms: u64) -> Now {
            Now {
                mono: self.0 + Duration::from_millis(ms),
                wall: Tai64n::from_unix(1_800_000_000 + ms / 1000, (ms % 1000) as u32 * 1_000_000),
            }
        }
        fn ms(&self, t: Instant) -> u64 {
            t.duration_since(self.0).as_millis() as u64
        }
    }

    fn timing(interval: u64, timeout: u64, retries: u32, start_period: u64) -> Timing {
        Timing {
            interval: Duration::from_millis(interval),
            timeout: Duration::from_millis(timeout),
            retries,
            start_period: Duration::from_millis(start_period),
        }
    }

    fn unhealthy(failures: u32, line: &str) -> Action {
        Action::Became(Transition::Unhealthy {
            failures,
            line: line.into(),
        })
    }

    /// What a simulated probe does when started at `ms`: pass or fail
    /// after `took` ms, or hang (`None`).
    type Script = dyn Fn(u64) -> Option<(bool, u64)>;

    /// Drives `m` from `Up` at 0, jumping from deadline to deadline and
    /// answering probes as `script` says, until `until` ms. Returns every
    /// action with the ms it happened at.
    fn simulate(m: &mut Machine, until: u64, script: &Script) -> Vec<(u64, Action)> {
        let c = Clock(Instant::now());
        let mut log: Vec<(u64, Action)> = Vec::new();
        let mut pending: Option<(u64, u64, bool)> = None; // (done at, id, passed)
        let mut record = |t: u64, acts: Vec<Action>, pending: &mut Option<(u64, u64, bool)>| {
            for a in acts {
                if let Action::StartProbe { id, .. } = a {
                    if let Some((pass, took)) = script(t) {
                        *pending = Some((t + took, id, pass));
                    }
                }
                if let Action::KillProbe { id } = a {
                    if pending.is_some_and(|p| p.1 == id) {
                        *pending = None;
                    }
                }
                log.push((t, a));
            }
        };
        let acts = m.handle(Event::Up, c.at(0));
        record(0, acts, &mut pending);
        loop {
            let timer = m.next_deadline().map(|d| c.ms(d));
            let next = match (timer, pending) {
                (Some(a), Some(p)) => a.min(p.0),
                (Some(a), None) => a,
                (None, Some(p)) => p.0,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            match pending {
                Some((done, id, passed)) if done <= next => {
                    pending = None;
                    let line = if passed { "ok" } else { "failing" };
                    let acts = m.handle(
                        Event::ProbeDone {
                            id,
                            passed,
                            line: line.into(),
                        },
                        c.at(done),
                    );
                    record(done, acts, &mut pending);
                }
                _ => {
                    let acts = m.handle(Event::Tick, c.at(next));
                    record(next, acts, &mut pending);
                }
            }
        }
        log
    }

    fn when(log: &[(u64, Action)], pred: impl Fn(&Action) -> bool) -> Vec<u64> {
        log.iter()
            .filter(|(_, a)| pred(a))
            .map(|(t, _)| *t)
            .collect()
    }

    #[test]
    fn down_or_unconfigured_means_no_timer() {
        let c = Clock(Instant::now());
        let mut m = Machine::new(timing(1000, 500, 3, 0), OnUnhealthy::Restart);
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.handle(Event::Tick, c.at(5000)), vec![]);
        assert_eq!(m.view().health, None);
        // A result for a probe that never ran changes nothing.
        let done = Event::ProbeDone {
            id: 1,
            passed: false,
            line: "x".into(),
        };
        assert_eq!(m.handle(done, c.at(5000)), vec![]);
        assert_eq!(m.handle(Event::Down, c.at(5000)), vec![]);
    }

    #[test]
    fn first_probe_one_interval_after_up_then_interval_after_each_end() {
        let c = Clock(Instant::now());
        let mut m = Machine::new(timing(1000, 500, 3, 0), OnUnhealthy::Restart);
        assert_eq!(m.handle(Event::Up, c.at(0)), vec![Action::Publish]);
        assert_eq!(m.view().health, Some(Health::Starting));
        assert_eq!(m.next_deadline(), Some(c.at(1000).mono));
        assert_eq!(m.handle(Event::Tick, c.at(999)), vec![]);
        let start = m.handle(Event::Tick, c.at(1000));
        assert_eq!(
            start,
            vec![Action::StartProbe {
                id: 1,
                deadline: c.at(1500).mono
            }]
        );
        assert_eq!(m.next_deadline(), Some(c.at(1500).mono));
        assert_eq!(m.running_probe(), Some(1));
        let ok = Event::ProbeDone {
            id: 1,
            passed: true,
            line: String::new(),
        };
        assert_eq!(
            m.handle(ok, c.at(1200)),
            vec![Action::Became(Transition::Healthy), Action::Publish]
        );
        assert_eq!(m.view().health, Some(Health::Healthy));
        // Next one INTERVAL after the end, not after the start.
        assert_eq!(m.next_deadline(), Some(c.at(2200).mono));
        // A Tick that comes late starts the probe with a deadline from now.
        assert_eq!(
            m.handle(Event::Tick, c.at(3000)),
            vec![Action::StartProbe {
                id: 2,
                deadline: c.at(3500).mono
            }]
        );
        // Staying healthy publishes nothing new.
        let ok2 = Event::ProbeDone {
            id: 2,
            passed: true,
            line: String::new(),
        };
        assert_eq!(m.handle(ok2, c.at(3001)), vec![]);
    }

    #[test]
    fn restarted_after_retries_times_interval() {
        // The arithmetic: a check that fails at once, RETRIES 3,
        // INTERVAL 1 s: restart requested at 3 s, unhealthy shown first.
        let mut m = Machine::new(timing(1000, 500, 3, 0), OnUnhealthy::Restart);
        let log = simulate(&mut m, 60_000, &|_| Some((false, 0)));
        assert_eq!(
            when(&log, |a| matches!(a, Action::StartProbe { .. })),
            [1000, 2000, 3000]
        );
        assert_eq!(when(&log, |a| *a == Action::Restart), [3000]);
        let tail: Vec<&Action> = log.iter().rev().take(3).map(|(_, a)| a).rev().collect();
        assert_eq!(
            tail,
            [&unhealthy(3, "failing"), &Action::Publish, &Action::Restart]
        );
        // Then nothing until the service goes down and comes back.
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.view().health, Some(Health::Unhealthy));
        assert_eq!(m.view().failures, 3);
        assert_eq!(m.view().last_failure.unwrap().line, "failing");
    }

    #[test]
    fn a_check_that_starts_failing_is_restarted_within_retries_intervals() {
        // Healthy until T = 2.5 s, probes take 50 ms.
        let t_fail = 2500;
        let mut m = Machine::new(timing(1000, 500, 3, 0), OnUnhealthy::Restart);
        let log = simulate(&mut m, 60_000, &move |t| Some((t < t_fail, 50)));
        let restart = when(&log, |a| *a == Action::Restart);
        assert_eq!(restart.len(), 1);
        let unhealthy_at = when(&log, |a| {
            matches!(a, Action::Became(Transition::Unhealthy { .. }))
        });
        assert_eq!(
            unhealthy_at, restart,
            "unhealthy is reported with the restart"
        );
        // Probes at 1000, 2050, 3100 (fails), 4150, 5200 → restart at 5250.
        assert_eq!(restart[0], 5250);
        let slack = restart[0] - t_fail;
        assert!(slack <= 3 * (1000 + 50), "{slack}");
        assert_eq!(
            when(&log, |a| *a == Action::Became(Transition::Healthy)),
            [1050]
        );
    }

    #[test]
    fn a_hanging_probe_is_killed_at_its_timeout_and_counts() {
        let mut m = Machine::new(timing(1000, 300, 2, 0), OnUnhealthy::Restart);
        let log = simulate(&mut m, 60_000, &|_| None);
        assert_eq!(
            when(&log, |a| matches!(a, Action::KillProbe { .. })),
            [1300, 2600]
        );
        assert_eq!(when(&log, |a| *a == Action::Restart), [2600]);
        assert!(log.contains(&(1300, Action::KillProbe { id: 1 })));
        assert!(log.contains(&(2600, unhealthy(2, "timed out after 300 ms"))));
        // TIMEOUT > INTERVAL: still never two probes at once.
        let mut m = Machine::new(timing(100, 1000, 2, 0), OnUnhealthy::Restart);
        let log = simulate(&mut m, 60_000, &|_| None);
        assert_eq!(
            when(&log, |a| matches!(a, Action::StartProbe { .. })),
            [100, 1200]
        );
        assert_eq!(when(&log, |a| *a == Action::Restart), [2200]);
    }

    #[test]
    fn a_result_after_the_timeout_is_ignored() {
        let c = Clock(Instant::now());
        let mut m = Machine::new(timing(1000, 300, 5, 0), OnUnhealthy::Restart);
        m.handle(Event::Up, c.at(0));
        m.handle(Event::Tick, c.at(1000));
        assert_eq!(
            m.handle(Event::Tick, c.at(1300)),
            vec![Action::KillProbe { id: 1 }, Action::Publish]
        );
        let late = Event::ProbeDone {
            id: 1,
            passed: true,
            line: String::new(),
        };
        assert_eq!(m.handle(late, c.at(1301)), vec![]);
        assert_eq!(m.view().failures, 1);
        assert_eq!(m.view().health, Some(Health::Starting));
        assert_eq!(m.next_deadline(), Some(c.at(2300).mono));
    }

    #[test]
    fn failures_in_the_start_period_do_not_count() {
        // Failing until 3.5 s, start period 2.5 s, RETRIES 2.
        let mut m = Machine::new(timing(1000, 500, 2, 2500), OnUnhealthy::Restart);
        let log = simulate(&mut m, 60_000, &|_| Some((false, 0)));
        // 1000, 2000 are in the start period; 3000 and 4000 count.
        assert_eq!(when(&log, |a| *a == Action::Restart), [4000]);
        // The ignored failures are still shown as the last failure.
        let c = Clock(Instant::now());
        let mut m = Machine::new(timing(1000, 500, 2, 2500), OnUnhealthy::Restart);
        m.handle(Event::Up, c.at(0));
        m.handle(Event::Tick, c.at(1000));
        let fail = Event::ProbeDone {
            id: 1,
            passed: false,
            line: "not yet".into(),
        };
        assert_eq!(m.handle(fail, c.at(1010)), vec![Action::Publish]);
        assert_eq!(m.view().failures, 0);
        assert_eq!(
            m.view().last_failure,
            Some(&Failure {
                line: "not yet".into(),
                at: c.at(1010).wall
            })
        );
    }

    #[test]
    fn a_success_ends_the_start_period() {
        // Passes once at 1 s, then fails: the start period (10 s) is over
        // after the first success, so RETRIES 2 → restart at 3 s.
        let mut m = Machine::new(timing(1000, 500, 2, 10_000), OnUnhealthy::Restart);
        let log = simulate(&mut m, 60_000, &|t| Some((t < 1500, 0)));
        assert_eq!(when(&log, |a| *a == Action::Restart), [3000]);
    }

    #[test]
    fn health_action_none_only_reports() {
        // Fails from 0 to 5 s, then passes again.
        let mut m = Machine::new(timing(1000, 500, 2, 0), OnUnhealthy::Report);
        let log = simulate(&mut m, 8000, &|t| Some((t >= 5000, 0)));
        assert!(when(&log, |a| *a == Action::Restart).is_empty());
        assert_eq!(
            when(&log, |a| matches!(
                a,
                Action::Became(Transition::Unhealthy { .. })
            )),
            [2000],
            "reported once"
        );
        assert_eq!(
            when(&log, |a| *a == Action::Became(Transition::Healthy)),
            [5000]
        );
        // Probing went on all along.
        assert_eq!(
            when(&log, |a| matches!(a, Action::StartProbe { .. })),
            [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]
        );
        assert_eq!(m.view().failures, 0);
        assert_eq!(m.view().health, Some(Health::Healthy));
    }

    #[test]
    fn down_cancels_the_probe_and_up_starts_over() {
        let c = Clock(Instant::now());
        let mut m = Machine::new(timing(1000, 500, 3, 0), OnUnhealthy::Restart);
        m.handle(Event::Up, c.at(0));
        m.handle(Event::Tick, c.at(1000));
        let fail = Event::ProbeDone {
            id: 1,
            passed: false,
            line: "x".into(),
        };
        m.handle(fail, c.at(1000));
        m.handle(Event::Tick, c.at(2000));
        assert_eq!(
            m.handle(Event::Down, c.at(2100)),
            vec![Action::KillProbe { id: 2 }, Action::Publish]
        );
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.view().health, None);
        assert_eq!(m.handle(Event::Up, c.at(9000)), vec![Action::Publish]);
        assert_eq!(m.view().failures, 0);
        assert_eq!(m.view().health, Some(Health::Starting));
        assert_eq!(m.next_deadline(), Some(c.at(10_000).mono));
        // The next probe gets a fresh id.
        assert_eq!(
            m.handle(Event::Tick, c.at(10_000)),
            vec![Action::StartProbe {
                id: 3,
                deadline: c.at(10_500).mono
            }]
        );
    }

    #[test]
    fn after_a_restart_request_the_cycle_begins_again() {
        let c = Clock(Instant::now());
        let mut m = Machine::new(timing(1000, 500, 1, 0), OnUnhealthy::Restart);
        m.handle(Event::Up, c.at(0));
        m.handle(Event::Tick, c.at(1000));
        let fail = Event::ProbeDone {
            id: 1,
            passed: false,
            line: "dead".into(),
        };
        assert_eq!(
            m.handle(fail, c.at(1000)),
            vec![unhealthy(1, "dead"), Action::Publish, Action::Restart]
        );
        assert_eq!(m.handle(Event::Tick, c.at(50_000)), vec![]);
        assert_eq!(m.handle(Event::Down, c.at(1100)), vec![Action::Publish]);
        m.handle(Event::Up, c.at(2000));
        assert_eq!(m.next_deadline(), Some(c.at(3000).mono));
    }

    #[test]
    fn health_words() {
        assert_eq!(Health::Starting.word(), "starting");
        assert_eq!(Health::Healthy.word(), "healthy");
        assert_eq!(Health::Unhealthy.word(), "unhealthy");
    }
}
