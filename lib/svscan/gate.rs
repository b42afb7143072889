//! The readiness gate in front of the main command (`--wait-ready`): the
//! services it still waits for, its deadline, and when to look again.
//! Pure: the event loop finds out which pending services are ready (it
//! reads their status and runs their `check`) and passes that in with
//! the time; the gate says whether to open, wait, or give up.

use std::ffi::{OsStr, OsString};
use std::time::{Duration, Instant};

/// How often services with a `check` are re-checked while gating.
pub const CHECK_PERIOD: Duration = Duration::from_millis(250);

/// What the event loop found out about one pending service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    pub ready: bool,
    /// It has a `check`, which must be run again to see a change (other
    /// services' readiness arrives as a status file event).
    pub has_check: bool,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Every service is ready: start the main command.
    Open,
    /// The deadline passed; these are still not ready.
    TimedOut(Vec<OsString>),
    /// Keep waiting (until an event or [`Gate::next_wakeup`]).
    Wait,
}

#[derive(Debug)]
pub struct Gate {
    pending: Vec<OsString>,
    deadline: Option<Instant>,
    /// Next periodic check (only while a pending service has `check`).
    tick: Option<Instant>,
}

impl Gate {
    /// A gate for `pending`, bounded by `timeout` from `now`; `None` when
    /// there is nothing to wait for.
    pub fn new(pending: Vec<OsString>, now: Instant, timeout: Option<Duration>) -> Option<Gate> {
        (!pending.is_empty()).then(|| Gate {
            pending,
            deadline: timeout.map(|t| now + t),
            tick: None,
        })
    }

    /// The services still waited for, in the order `update` takes facts.
    pub fn pending(&self) -> &[OsString] {
        &self.pending
    }

    pub fn gates(&self, name: &OsStr) -> bool {
        self.pending.iter().any(|n| n == name)
    }

    pub fn next_wakeup(&self) -> Option<Instant> {
        match (self.deadline, self.tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Is a timed look due at `now`?
    pub fn due(&self, now: Instant) -> bool {
        self.next_wakeup().is_some_and(|t| t <= now)
    }

    /// Takes what is known about each of [`Gate::pending`] (same order;
    /// missing facts count as not ready) at `now`.
    pub fn update(&mut self, now: Instant, facts: &[Readiness]) -> Step {
        let mut i = 0;
        let mut has_check = false;
        self.pending.retain(|_| {
            let f = facts.get(i).copied().unwrap_or_default();
            i += 1;
            has_check |= !f.ready && f.has_check;
            !f.ready
        });
        if self.pending.is_empty() {
            return Step::Open;
        }
        if self.deadline.is_some_and(|d| d <= now) {
            return Step::TimedOut(std::mem::take(&mut self.pending));
        }
        self.tick = has_check.then(|| now + CHECK_PERIOD);
        Step::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<OsString> {
        n.iter().map(OsString::from).collect()
    }
    const READY: Readiness = Readiness {
        ready: true,
        has_check: false,
    };
    const NOT: Readiness = Readiness {
        ready: false,
        has_check: false,
    };
    const CHECKING: Readiness = Readiness {
        ready: false,
        has_check: true,
    };

    #[test]
    fn nothing_to_wait_for_is_no_gate() {
        assert!(Gate::new(Vec::new(), Instant::now(), None).is_none());
    }

    #[test]
    fn opens_once_every_service_was_ready() {
        let t0 = Instant::now();
        let mut g = Gate::new(names(&["a", "b"]), t0, None).unwrap();
        assert_eq!(g.update(t0, &[READY, NOT]), Step::Wait);
        assert_eq!(g.pending(), names(&["b"]));
        assert!(!g.gates(OsStr::new("a")));
        assert_eq!(g.next_wakeup(), None, "no check, no deadline: events only");
        assert_eq!(g.update(t0, &[READY]), Step::Open);
    }

    #[test]
    fn a_pending_check_is_looked_at_every_period() {
        let t0 = Instant::now();
        let mut g = Gate::new(names(&["c"]), t0, None).unwrap();
        assert_eq!(g.update(t0, &[CHECKING]), Step::Wait);
        assert_eq!(g.next_wakeup(), Some(t0 + CHECK_PERIOD));
        assert!(!g.due(t0));
        assert!(g.due(t0 + CHECK_PERIOD));
        assert_eq!(g.update(t0 + CHECK_PERIOD, &[READY]), Step::Open);
    }

    #[test]
    fn the_deadline_gives_up_with_the_names_left() {
        let t0 = Instant::now();
        let limit = Duration::from_secs(2);
        let mut g = Gate::new(names(&["a", "b"]), t0, Some(limit)).unwrap();
        assert_eq!(g.update(t0, &[CHECKING, NOT]), Step::Wait);
        assert_eq!(g.next_wakeup(), Some(t0 + CHECK_PERIOD));
        assert_eq!(
            g.update(t0 + Duration::from_secs(1), &[NOT, NOT]),
            Step::Wait
        );
        assert_eq!(g.next_wakeup(), Some(t0 + limit));
        assert_eq!(
            g.update(t0 + limit, &[READY, NOT]),
            Step::TimedOut(names(&["b"]))
        );
    }

    #[test]
    fn ready_at_the_deadline_still_opens() {
        let t0 = Instant::now();
        let mut g = Gate::new(names(&["a"]), t0, Some(Duration::ZERO)).unwrap();
        assert_eq!(g.update(t0, &[READY]), Step::Open);
    }
}
