//! The command table: how a command word becomes the bytes written to
//! `supervise/control` and the predicates waited for (runit 2.1.2 `sv`,
//! protocol notes §4.2).
//!
//! Dispatch is on the **first character** of the word, with a few whole-word
//! checks, exactly like `sv`: `sv s4 foo` is `status`, `sv upfoo x` is `up`.
//! svkit adds two words no `sv` accepts (`ready`, `wait-ready`), so every
//! word `sv` understands means the same thing here.

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
    /// Bytes written in one `write(2)`; empty for status/check/ready.
    pub send: &'static [u8],
    /// Predicate characters that must all pass while waiting (§4.4).
    pub expect: &'static [u8],
    /// Waits even without `-v`/`-w` (start, stop, restart, check, ...).
    pub waits: bool,
    /// `force-*`: print `kill:` on timeout and then send `k`.
    pub kill_on_timeout: bool,
}

impl Action {
    const fn control(bytes: &'static [u8], waits: bool, kill: bool) -> Self {
        Action {
            kind: Kind::Control,
            send: bytes,
            expect: bytes,
            waits,
            kill_on_timeout: kill,
        }
    }

    /// The first byte `sv` keys its "runsv not running" wording on: for
    /// exit-type commands a gone supervisor is success (`ok:`).
    pub fn is_exit(&self) -> bool {
        self.expect.first() == Some(&b'x')
    }
}

const STATUS: Action = Action {
    kind: Kind::Status,
    send: b"",
    expect: b"s",
    waits: false,
    kill_on_timeout: false,
};

const CHECK: Action = Action {
    kind: Kind::CheckOnly,
    send: b"",
    expect: b"C",
    waits: true,
    kill_on_timeout: false,
};

const fn ready(waits: bool) -> Action {
    Action {
        kind: Kind::Ready,
        send: b"",
        expect: b"R",
        waits,
        kill_on_timeout: false,
    }
}

/// Single-byte commands (`up`, `down`, `hup`, ...), keyed by first byte.
fn single(first: u8) -> Option<&'static [u8]> {
    Some(match first {
        b'u' => b"u",
        b'd' => b"d",
        b'o' => b"o",
        b'p' => b"p",
        b'c' => b"c",
        b't' => b"t",
        b'h' => b"h",
        b'a' => b"a",
        b'i' => b"i",
        b'k' => b"k",
        b'q' => b"q",
        b'1' => b"1",
        b'2' => b"2",
        _ => return None,
    })
}

/// Maps a command word to its action; `None` means "print usage".
/// `lsb`: in init-script mode only the exact word `status` gives status.
pub fn parse(word: &str, lsb: bool) -> Option<Action> {
    let first = *word.as_bytes().first()?;
    match (first, word) {
        (b'x' | b'e', _) => Some(Action::control(b"x", false, false)),
        (b'X' | b'E', _) => Some(Action::control(b"x", true, true)),
        (b'D', _) => Some(Action::control(b"d", true, true)),
        (b'T', _) => Some(Action::control(b"tc", true, true)),
        (b't', "try-restart") => Some(Action::control(b"tc", true, false)),
        (b'c', "check") => Some(CHECK),
        (b's', "shutdown") => Some(Action::control(b"x", true, false)),
        (b's', "start") => Some(Action::control(b"u", true, false)),
        (b's', "stop") => Some(Action::control(b"d", true, false)),
        (b's', "status") => Some(STATUS),
        (b's', _) => (!lsb).then_some(STATUS),
        (b'r', "restart") => Some(Action::control(b"tcu", true, false)),
        (b'r', "reload") => Some(Action::control(b"h", true, false)),
        (b'r', "ready") => Some(ready(false)),
        (b'r', _) => None,
        (b'f', "force-reload") => Some(Action::control(b"tc", true, true)),
        (b'f', "force-restart") => Some(Action::control(b"tcu", true, true)),
        (b'f', "force-shutdown") => Some(Action::control(b"x", true, true)),
        (b'f', "force-stop") => Some(Action::control(b"d", true, true)),
        (b'w', "wait-ready") => Some(ready(true)),
        (b, _) => single(b).map(|bytes| Action::control(bytes, false, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(word: &str) -> Option<&'static [u8]> {
        parse(word, false).map(|a| a.send)
    }

    #[test]
    fn first_character_dispatch_like_sv() {
        assert_eq!(sent("up"), Some(&b"u"[..]));
        assert_eq!(sent("upfoo"), Some(&b"u"[..]));
        assert_eq!(sent("down"), Some(&b"d"[..]));
        assert_eq!(sent("term"), Some(&b"t"[..]));
        assert_eq!(sent("cont"), Some(&b"c"[..]));
        assert_eq!(sent("exit"), Some(&b"x"[..]));
        assert_eq!(sent("e"), Some(&b"x"[..]));
        assert_eq!(sent("1"), Some(&b"1"[..]));
        assert_eq!(sent("restart"), Some(&b"tcu"[..]));
        assert_eq!(sent("try-restart"), Some(&b"tc"[..]));
        assert_eq!(sent("Dx"), Some(&b"d"[..]));
        assert_eq!(parse("s4", false).unwrap().kind, Kind::Status);
        assert_eq!(parse("check", false).unwrap().expect, b"C");
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
        assert_eq!(sent("start"), parse("start", true).map(|a| a.send));
    }
}
