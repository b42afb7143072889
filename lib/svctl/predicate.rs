//! The wait predicates of `sv` (protocol notes §4.4), made race-free
//! (quirk Q11): a wait never passes on a status the supervisor wrote
//! before it read our command.
//!
//! * With svkit's `svkit-status`, "a new process runs" means its `starts`
//!   counter went past the value read **before** sending.
//! * With runsv (no svkit-status), it means the status stamp (written when
//!   `run` starts or the service goes down) is at or after the moment we
//!   sent, compared with sub-second precision.
//! * `u`/`d` also require the recorded want to be up/down, so a status
//!   written before the supervisor processed `u`/`d` does not pass.
//!
//! Pure functions: the `./check` script is an effect, so a predicate that
//! needs it answers `PassIfCheck` and the caller runs the script.

use super::probe::Snapshot;
use crate::control::Command;
use crate::status::{State, Want};
use crate::tai64n::Tai64n;

/// One thing to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pred {
    /// The state `sv` waits for after sending this command.
    After(Command),
    /// `check` (runit 2.3.0 semantics): the wanted state is reached.
    Wanted,
    /// svkit `ready`: up, and ready.
    Ready,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Fail,
    Pass,
    /// Passes if the service's `./check` script passes (or there is none).
    PassIfCheck,
}

/// What we knew when (and just before) the command was sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Before {
    /// Taken immediately before writing to `supervise/control`.
    pub sent_at: Tai64n,
    /// `svkit-status` `starts` read before sending, when available.
    pub starts: Option<u64>,
}

/// Facts about the service directory the predicates need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    /// The service has a `notification-fd` file.
    pub readiness: bool,
}

/// All of `expect` must pass (the check script at most once).
pub fn evaluate(
    expect: impl IntoIterator<Item = Pred>,
    snap: &Snapshot,
    before: &Before,
    decl: Declared,
) -> Verdict {
    let mut verdict = Verdict::Pass;
    for c in expect {
        match one(c, snap, before, decl) {
            Verdict::Fail => return Verdict::Fail,
            Verdict::PassIfCheck => verdict = Verdict::PassIfCheck,
            Verdict::Pass => {}
        }
    }
    verdict
}

/// A new `run` process started after the command was sent.
fn started_since(snap: &Snapshot, before: &Before) -> bool {
    match (&snap.ext, before.starts) {
        (Some(ext), Some(n)) => ext.starts > n,
        _ => snap.status.stamp >= before.sent_at,
    }
}

/// The service declared readiness and is ready, or does not declare it.
/// Only a svkit supervisor reports readiness; with runsv it is unknown.
fn ready_if_declared(snap: &Snapshot, decl: Declared) -> bool {
    match &snap.ext {
        Some(ext) if decl.readiness => ext.ready,
        _ => true,
    }
}

fn one(c: Pred, snap: &Snapshot, before: &Before, decl: Declared) -> Verdict {
    use Command::*;
    let st = &snap.status;
    let pid = st.pid != 0;
    let running = pid && st.state_byte == State::Run.byte();
    let down = st.state_byte == State::Down.byte();
    let want_up = st.want_byte == Want::Up.byte();
    let want_down = st.want_byte == Want::Down.byte();
    let pass = |b: bool| if b { Verdict::Pass } else { Verdict::Fail };
    let check_if = |b: bool| {
        if b {
            Verdict::PassIfCheck
        } else {
            Verdict::Fail
        }
    };
    match c {
        // Waits for the supervisor itself to go away; never while it lives.
        Pred::After(Exit) => Verdict::Fail,
        Pred::After(Up) => check_if(running && want_up && ready_if_declared(snap, decl)),
        Pred::After(Down) => pass(!pid && down && want_down),
        Pred::After(Term | Kill) => {
            if !pid && want_down {
                Verdict::Pass
            } else {
                check_if(
                    running
                        && !st.got_term
                        && started_since(snap, before)
                        && ready_if_declared(snap, decl),
                )
            }
        }
        Pred::After(Once) => {
            if pid {
                pass(want_down)
            } else {
                pass(started_since(snap, before))
            }
        }
        Pred::After(Pause) => pass(!pid || st.paused),
        Pred::After(Cont) => pass(!pid || !st.paused),
        Pred::Wanted => {
            if want_down {
                pass(!pid && down)
            } else {
                check_if(running && ready_if_declared(snap, decl))
            }
        }
        // svkit `ready`: up, and ready by notification-fd if declared (and
        // reported), else by the check script, else simply running.
        Pred::Ready => {
            if !running {
                Verdict::Fail
            } else if decl.readiness && snap.ext.is_some() {
                pass(ready_if_declared(snap, decl))
            } else {
                Verdict::PassIfCheck
            }
        }
        // Signals (hup, alarm, ...): sent is done.
        Pred::After(Hup | Alarm | Interrupt | Quit | Usr1 | Usr2) => Verdict::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extstatus::ExtStatus;
    use crate::status::Status;

    fn snap(pid: u32, state: State, want: Want, term: bool, stamp: u64) -> Snapshot {
        Snapshot {
            status: Status::new(Tai64n::from_unix(stamp, 0), pid, false, want, term, state),
            ext: None,
        }
    }

    fn before(at: u64) -> Before {
        Before {
            sent_at: Tai64n::from_unix(at, 0),
            starts: None,
        }
    }

    const NONE: Declared = Declared { readiness: false };

    /// sv's predicate characters: control bytes, `C` and `R`.
    fn p(chars: &[u8]) -> Vec<Pred> {
        chars
            .iter()
            .map(|&c| match c {
                b'C' => Pred::Wanted,
                b'R' => Pred::Ready,
                c => Pred::After(Command::from_byte(c).expect("a control byte")),
            })
            .collect()
    }

    #[test]
    fn restart_never_passes_on_the_old_process() {
        // Same second as the send, but before it: runit 2.1.2 passed this.
        let mut old = snap(10, State::Run, Want::Up, false, 100);
        old.status.stamp = Tai64n::from_unix(100, 100);
        let b = Before {
            sent_at: Tai64n::from_unix(100, 200),
            starts: None,
        };
        assert_eq!(evaluate(p(b"tcu"), &old, &b, NONE), Verdict::Fail);
        let new = snap(11, State::Run, Want::Up, false, 101);
        assert_eq!(evaluate(p(b"tcu"), &new, &b, NONE), Verdict::PassIfCheck);
    }

    #[test]
    fn starts_counter_wins_over_stamps() {
        let mut s = snap(11, State::Run, Want::Up, false, 50);
        s.ext = Some(ExtStatus {
            pid: 11,
            starts: 4,
            ..ExtStatus::default()
        });
        let mut b = before(100);
        b.starts = Some(3);
        assert_eq!(evaluate(p(b"tcu"), &s, &b, NONE), Verdict::PassIfCheck);
        b.starts = Some(4);
        assert_eq!(evaluate(p(b"tcu"), &s, &b, NONE), Verdict::Fail);
    }

    #[test]
    fn readiness_gates_up_when_declared() {
        let mut s = snap(11, State::Run, Want::Up, false, 50);
        s.ext = Some(ExtStatus {
            pid: 11,
            ready: false,
            ..ExtStatus::default()
        });
        let decl = Declared { readiness: true };
        assert_eq!(evaluate(p(b"u"), &s, &before(0), decl), Verdict::Fail);
        assert_eq!(evaluate(p(b"R"), &s, &before(0), decl), Verdict::Fail);
        s.ext.as_mut().unwrap().ready = true;
        assert_eq!(
            evaluate(p(b"u"), &s, &before(0), decl),
            Verdict::PassIfCheck
        );
        assert_eq!(evaluate(p(b"R"), &s, &before(0), decl), Verdict::Pass);
        // runsv cannot report readiness: fall back to the check script.
        s.ext = None;
        assert_eq!(
            evaluate(p(b"R"), &s, &before(0), decl),
            Verdict::PassIfCheck
        );
    }

    #[test]
    fn stale_want_does_not_pass() {
        // `start` read before runsv processed `u`: want still down.
        let s = snap(10, State::Run, Want::Down, true, 50);
        assert_eq!(evaluate(p(b"u"), &s, &before(0), NONE), Verdict::Fail);
        // `stop` on a service down in the restart throttle (want up).
        let s = snap(0, State::Down, Want::Up, false, 50);
        assert_eq!(evaluate(p(b"d"), &s, &before(0), NONE), Verdict::Fail);
        let s = snap(0, State::Down, Want::Down, false, 50);
        assert_eq!(evaluate(p(b"d"), &s, &before(0), NONE), Verdict::Pass);
    }

    #[test]
    fn check_wants_the_wanted_state() {
        // 2.1.2 passed a down service at once even when it should be up.
        let s = snap(0, State::Down, Want::Up, false, 50);
        assert_eq!(evaluate(p(b"C"), &s, &before(0), NONE), Verdict::Fail);
        let s = snap(0, State::Down, Want::Down, false, 50);
        assert_eq!(evaluate(p(b"C"), &s, &before(0), NONE), Verdict::Pass);
        let s = snap(5, State::Run, Want::Up, false, 50);
        assert_eq!(
            evaluate(p(b"C"), &s, &before(0), NONE),
            Verdict::PassIfCheck
        );
    }

    #[test]
    fn simple_predicates() {
        let s = snap(5, State::Run, Want::Up, false, 50);
        assert_eq!(evaluate(p(b"x"), &s, &before(0), NONE), Verdict::Fail);
        assert_eq!(evaluate(p(b"h"), &s, &before(0), NONE), Verdict::Pass);
        assert_eq!(evaluate(p(b"p"), &s, &before(0), NONE), Verdict::Fail);
        assert_eq!(evaluate(p(b"c"), &s, &before(0), NONE), Verdict::Pass);
        // try-restart on a down service: nothing to restart.
        let s = snap(0, State::Down, Want::Down, false, 50);
        assert_eq!(evaluate(p(b"tc"), &s, &before(100), NONE), Verdict::Pass);
        // once: running with want down passes; down only after a new run.
        let s = snap(5, State::Run, Want::Down, false, 50);
        assert_eq!(evaluate(p(b"o"), &s, &before(100), NONE), Verdict::Pass);
        let s = snap(0, State::Down, Want::Down, false, 50);
        assert_eq!(evaluate(p(b"o"), &s, &before(100), NONE), Verdict::Fail);
        assert_eq!(evaluate(p(b"o"), &s, &before(40), NONE), Verdict::Pass);
    }
}
