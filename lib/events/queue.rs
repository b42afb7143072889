//! A bounded FIFO queue that counts what it had to drop, for events
//! waiting on a slow consumer (one hook in `event.d/`).
//!
//! A burst beyond the bound is not an error to repeat per event: the
//! queue says to warn once, on the first drop of an overflow, and reports
//! how many were dropped when the overflow is over (the queue drained
//! empty), so the caller writes two lines per burst, not a thousand.
//! Memory is `capacity` items, whatever arrives.

use std::collections::VecDeque;

/// The result of [`Bounded::push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Dropped; the first drop of this overflow: warn now.
    DroppedWarn,
    /// Dropped; already warned for this overflow.
    Dropped,
}

#[derive(Clone, Debug)]
pub struct Bounded<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped_in_overflow: u64,
    dropped_total: u64,
}

impl<T> Bounded<T> {
    /// A queue of at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Bounded<T> {
        let capacity = capacity.max(1);
        Bounded {
            items: VecDeque::new(),
            capacity,
            dropped_in_overflow: 0,
            dropped_total: 0,
        }
    }

    /// Appends `item`, or drops it (the newest is dropped, so what was
    /// queued stays in order and complete up to the overflow).
    pub fn push(&mut self, item: T) -> Pushed {
        if self.items.len() < self.capacity {
            self.items.push_back(item);
            return Pushed::Queued;
        }
        self.dropped_total = self.dropped_total.saturating_add(1);
        self.dropped_in_overflow = self.dropped_in_overflow.saturating_add(1);
        if self.dropped_in_overflow == 1 {
            Pushed::DroppedWarn
        } else {
            Pushed::Dropped
        }
    }

    /// The oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Once the queue is empty after an overflow: how many items that
    /// overflow dropped (reported once; a new overflow warns again).
    pub fn overflow_over(&mut self) -> Option<u64> {
        if self.items.is_empty() && self.dropped_in_overflow > 0 {
            let n = self.dropped_in_overflow;
            self.dropped_in_overflow = 0;
            Some(n)
        } else {
            None
        }
    }

    /// Drops everything queued (at a shutdown deadline); returns how many.
    pub fn clear(&mut self) -> usize {
        let n = self.items.len();
        self.items.clear();
        self.dropped_total = self.dropped_total.saturating_add(n as u64);
        n
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Everything ever dropped (for metrics).
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_warns_once_and_is_summed_up_once() {
        let mut q = Bounded::new(3);
        let pushed: Vec<Pushed> = (0..1000).map(|i| q.push(i)).collect();
        assert_eq!(&pushed[..3], [Pushed::Queued; 3]);
        assert_eq!(pushed[3], Pushed::DroppedWarn);
        assert!(pushed[4..].iter().all(|p| *p == Pushed::Dropped));
        assert_eq!(q.len(), 3);
        assert_eq!(q.overflow_over(), None, "not drained yet");
        assert_eq!((q.pop(), q.pop()), (Some(0), Some(1)));
        // Room again, but the overflow is not over until it drains.
        assert_eq!(q.push(7), Pushed::Queued);
        assert_eq!(q.push(8), Pushed::Queued);
        assert_eq!(
            q.push(9),
            Pushed::Dropped,
            "still the same overflow: no second warning"
        );
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(7));
        assert_eq!(q.pop(), Some(8));
        assert_eq!(q.pop(), None);
        assert_eq!(q.overflow_over(), Some(998));
        assert_eq!(q.overflow_over(), None);
        assert_eq!(q.dropped_total(), 998);
        // A new burst warns again.
        for i in 0..3 {
            q.push(i);
        }
        assert_eq!(q.push(3), Pushed::DroppedWarn);
    }

    #[test]
    fn clear_counts_and_zero_capacity_is_one() {
        let mut q = Bounded::new(0);
        assert_eq!(q.capacity(), 1);
        assert_eq!(q.push('a'), Pushed::Queued);
        assert_eq!(q.clear(), 1);
        assert!(q.is_empty());
        assert_eq!(q.dropped_total(), 1);
        assert_eq!(q.overflow_over(), None);
    }
}
