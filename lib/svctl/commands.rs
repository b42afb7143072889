//! The command table: how a command word becomes the bytes written to
//! `supervise/control` and the predicates waited for (runit 2.1.2 `sv`,
//! protocol notes §4.2).
//!
//! Dispatch is on the **first character** of the word, with a few whole-word
//! checks, exactly like `sv`: `sv s4 foo` is `status`, `sv upfoo x` is `up`.
//! svkit adds two words no `sv` accepts (`ready`, `wait-ready`), so every
//! word `sv` understands means the same thing here.

use super::predicate::Pred;
use crate::control::Command::{self, *};

/// What a command does besides (maybe) writing control bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Print the status line(s); never waits.
    Status,
    /// Write `send` to the control FIFO (subject to the "already" rule).
    Control,
    /// Write nothing; wait for the `C` predicate (`sv check`).
    CheckOnly,
    /// svkit: write nothing; succeed when the service is up and ready.
    Ready,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action {
    pub kind: Kind,
    /// Commands written in one `write(2)`; empty for status/check/ready.
    pub send: &'static [Command],
    /// What must pass while waiting (§4.4) besides each sent command's
    /// own predicate.
    pub expect: Option<Pred>,
    /// Waits even without `-v`/`-w` (start, stop, restart, check, ...).
    pub waits: bool,
    /// `force-*`: print `kill:` on timeout and then send `k`.
    pub kill_on_timeout: bool,
}

impl Action {
    const fn control(send: &'static [Command], waits: bool, kill: bool) -> Self {
        Action {
            kind: Kind::Control,
            send,
            expect: None,
            waits,
            kill_on_timeout: kill,
        }
    }

    /// Every predicate that must pass: one per sent command, in order,
    /// then the action's own.
    pub fn predicates(&self) -> impl Iterator<Item = Pred> + '_ {
        self.send.iter().map(|&c| Pred::After(c)).chain(self.expect)
    }

    /// The first command `sv` keys its "runsv not running" wording on: for
    /// exit-type commands a gone supervisor is success (`ok:`).
    pub fn is_exit(&self) -> bool {
        self.send.first() == Some(&Exit)
    }
}

const STATUS: Action = Action {
    kind: Kind::Status,
    send: &[],
    expect: None,
    waits: false,
    kill_on_timeout: false,
};

const CHECK: Action = Action {
    kind: Kind::CheckOnly,
    send: &[],
    expect: Some(Pred::Wanted),
    waits: true,
    kill_on_timeout: false,
};

const fn ready(waits: bool) -> Action {
    Action {
        kind: Kind::Ready,
        send: &[],
        expect: Some(Pred::Ready),
        waits,
        kill_on_timeout: false,
    }
}

/// Single-command words (`up`, `down`, `hup`, ...), keyed by first
/// character; the characters are sv's, which are runsv's control bytes.
fn single(first: u8) -> Option<&'static [Command]> {
    static ALL: [Command; 13] = [
        Up, Down, Once, Pause, Cont, Term, Hup, Alarm, Interrupt, Kill, Quit, Usr1, Usr2,
    ];
    let i = ALL.iter().position(|c| c.byte() == first)?;
    Some(std::slice::from_ref(&ALL[i]))
}

/// Maps a command word to its action; `None` means "print usage".
/// `lsb`: in init-script mode only the exact word `status` gives status.
pub fn parse(word: &str, lsb: bool) -> Option<Action> {
    let first = *word.as_bytes().first()?;
    match (first, word) {
        (b'x' | b'e', _) => Some(Action::control(&[Exit], false, false)),
        (b'X' | b'E', _) => Some(Action::control(&[Exit], true, true)),
        (b'D', _) => Some(Action::control(&[Down], true, true)),
        (b'T', _) => Some(Action::control(&[Term, Cont], true, true)),
        (b't', "try-restart") => Some(Action::control(&[Term, Cont], true, false)),
        (b'c', "check") => Some(CHECK),
        (b's', "shutdown") => Some(Action::control(&[Exit], true, false)),
        (b's', "start") => Some(Action::control(&[Up], true, false)),
        (b's', "stop") => Some(Action::control(&[Down], true, false)),
        (b's', "status") => Some(STATUS),
        (b's', _) => (!lsb).then_some(STATUS),
        (b'r', "restart") => Some(Action::control(&[Term, Cont, Up], true, false)),
        (b'r', "reload") => Some(Action::control(&[Hup], true, false)),
        (b'r', "ready") => Some(ready(false)),
        (b'r', _) => None,
        (b'f', "force-reload") => Some(Action::control(&[Term, Cont], true, true)),
        (b'f', "force-restart") => Some(Action::control(&[Term, Cont, Up], true, true)),
        (b'f', "force-shutdown") => Some(Action::control(&[Exit], true, true)),
        (b'f', "force-stop") => Some(Action::control(&[Down], true, true)),
        (b'w', "wait-ready") => Some(ready(true)),
        (b, _) => single(b).map(|bytes| Action::control(bytes, false, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(word: &str) -> Option<Vec<u8>> {
        parse(word, false).map(|a| a.send.iter().map(|c| c.byte()).collect())
    }

    #[test]
    fn first_character_dispatch_like_sv() {
        assert_eq!(sent("up"), Some(b"u".to_vec()));
        assert_eq!(sent("upfoo"), Some(b"u".to_vec()));
        assert_eq!(sent("down"), Some(b"d".to_vec()));
        assert_eq!(sent("term"), Some(b"t".to_vec()));
        assert_eq!(sent("cont"), Some(b"c".to_vec()));
        assert_eq!(sent("exit"), Some(b"x".to_vec()));
        assert_eq!(sent("e"), Some(b"x".to_vec()));
        assert_eq!(sent("1"), Some(b"1".to_vec()));
        assert_eq!(sent("restart"), Some(b"tcu".to_vec()));
        assert_eq!(sent("try-restart"), Some(b"tc".to_vec()));
        assert_eq!(sent("Dx"), Some(b"d".to_vec()));
        assert_eq!(parse("s4", false).unwrap().kind, Kind::Status);
        assert_eq!(parse("check", false).unwrap().expect, Some(Pred::Wanted));
        assert!(parse("force-stop", false).unwrap().kill_on_timeout);
        assert!(parse("start", false).unwrap().waits);
        assert!(!parse("up", false).unwrap().waits);
    }

    #[test]
    fn unknown_words_are_usage_errors() {
        for w in ["", "bogus", "rest", "f", "force", "wait", "Z", "-"] {
            assert!(parse(w, false).is_none(), "{w}");
        }
    }

    #[test]
    fn lsb_mode_only_accepts_exact_status() {
        assert!(parse("s4", true).is_none());
        assert_eq!(parse("status", true).unwrap().kind, Kind::Status);
        assert_eq!(parse("start", false), parse("start", true));
    }
}
