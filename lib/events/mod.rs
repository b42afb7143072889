//! Events (issue 15): every state change of every service, as one typed
//! [`Event`] with a line form (FIFOs, `svctl events`), a JSON form
//! (`svctl events --json`) and hook environment variables.
//!
//! - [`event`]: the type, its line form and parser, RFC 3339 time;
//! - [`json`]: the JSON object form;
//! - [`hookenv`]: the `SVKIT_*` variables a hook runs with;
//! - [`queue`]: a bounded queue that counts drops and warns once;
//! - [`hooks`]: svscan's `event.d/` dispatcher (pure policy);
//! - [`fifodir`]: subscriber FIFOs and non-blocking fan-out.
//!
//! How events travel (supervise → svscan → hooks and `svctl events`) is
//! described in docs/health-events-metrics.md.

pub mod event;
pub mod fifodir;
pub mod hookenv;
pub mod hooks;
pub mod json;
pub mod queue;

pub use event::{Ended, Event, FailReason, Kind};

/// Events a subscriber missed between sequence numbers `prev` and `next`
/// of one supervisor: 0 when `next` follows `prev`, and also when it is
/// not larger (the supervisor restarted and counts from 1 again).
pub fn missed(prev: u64, next: u64) -> u64 {
    next.saturating_sub(prev).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn gaps_in_sequence_numbers() {
        assert_eq!(super::missed(4, 5), 0);
        assert_eq!(super::missed(4, 9), 4);
        assert_eq!(super::missed(40, 1), 0);
        assert_eq!(super::missed(7, 7), 0);
        assert_eq!(super::missed(0, u64::MAX), u64::MAX - 1);
    }
}
