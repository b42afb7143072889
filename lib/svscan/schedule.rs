//! The one restart schedule: which services' supervise starts again at
//! which time. A supervise that ran for less than [`THROTTLE`] is started
//! again only [`THROTTLE`] after its previous start, so a supervise that
//! cannot start (a broken binary, no memory) costs one fork a second, not
//! a busy loop. Pure: time comes in, ids come out.

use super::table::Id;
use std::time::{Duration, Instant};

/// A supervise that ran less than this is restarted only after it.
pub const THROTTLE: Duration = Duration::from_secs(1);

/// When a supervise that exited at `now`, started at `started`, may start
/// again: `None` at once.
pub fn after_exit(started: Option<Instant>, now: Instant) -> Option<Instant> {
    let due = started? + THROTTLE;
    (due > now).then_some(due)
}

/// Pending restarts, few at any time (a crash loop of supervise itself):
/// a short list, emptied buffer given back, so an idle svscan holds none.
#[derive(Default, Debug)]
pub struct Restarts {
    due: Vec<(Id, Instant)>,
}

impl Restarts {
    /// Schedules (or moves) `id`'s restart to `at`.
    pub fn set(&mut self, id: Id, at: Instant) {
        self.cancel(id);
        self.due.push((id, at));
    }

    /// Drops `id`'s pending restart, if any.
    pub fn cancel(&mut self, id: Id) {
        if let Some(i) = self.due.iter().position(|&(d, _)| d == id) {
            self.due.swap_remove(i);
        }
        if self.due.is_empty() {
            self.due = Vec::new();
        }
    }

    pub fn pending(&self, id: Id) -> bool {
        self.due.iter().any(|&(d, _)| d == id)
    }

    /// The earliest pending restart.
    pub fn next(&self) -> Option<Instant> {
        self.due.iter().map(|&(_, at)| at).min()
    }

    /// Removes and returns the restarts due at `now`, earliest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<Id> {
        let mut due: Vec<(Id, Instant)> = Vec::new();
        self.due.retain(|&(id, at)| {
            let ready = at <= now;
            if ready {
                due.push((id, at));
            }
            !ready
        });
        if self.due.is_empty() {
            self.due = Vec::new();
        }
        due.sort_by_key(|&(id, at)| (at, id));
        due.into_iter().map(|(id, _)| id).collect()
    }

    /// Drops everything (the shutdown began).
    pub fn clear(&mut self) {
        self.due = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_supervise_that_ran_a_second_restarts_at_once() {
        let t0 = Instant::now();
        assert_eq!(after_exit(Some(t0), t0 + ms(1000)), None);
        assert_eq!(after_exit(Some(t0), t0 + ms(5000)), None);
        assert_eq!(after_exit(None, t0), None);
    }

    #[test]
    fn a_quick_exit_waits_a_second_after_the_start() {
        let t0 = Instant::now();
        assert_eq!(after_exit(Some(t0), t0 + ms(10)), Some(t0 + THROTTLE));
        assert_eq!(after_exit(Some(t0), t0 + ms(999)), Some(t0 + THROTTLE));
    }

    #[test]
    fn restarts_come_due_in_order_once_each() {
        let t0 = Instant::now();
        let mut r = Restarts::default();
        assert_eq!(r.next(), None);
        r.set(1, t0 + ms(300));
        r.set(2, t0 + ms(100));
        r.set(3, t0 + ms(200));
        assert_eq!(r.next(), Some(t0 + ms(100)));
        assert!(r.pending(3));
        assert!(r.take_due(t0 + ms(50)).is_empty());
        assert_eq!(r.take_due(t0 + ms(250)), [2, 3]);
        assert!(!r.pending(2));
        assert_eq!(r.next(), Some(t0 + ms(300)));
        assert_eq!(r.take_due(t0 + ms(300)), [1]);
        assert_eq!(r.next(), None);
        assert_eq!(r.due.capacity(), 0, "an empty schedule holds no buffer");
    }

    #[test]
    fn moving_and_cancelling() {
        let t0 = Instant::now();
        let mut r = Restarts::default();
        r.set(1, t0 + ms(100));
        r.set(1, t0 + ms(500));
        assert!(r.take_due(t0 + ms(200)).is_empty(), "moved, not doubled");
        r.set(2, t0 + ms(100));
        r.cancel(2);
        assert!(!r.pending(2));
        assert_eq!(r.take_due(t0 + ms(1000)), [1]);
        r.set(4, t0);
        r.clear();
        assert_eq!(r.next(), None);
    }
}
