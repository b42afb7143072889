//! Text output exactly as runit's `sv` prints it (protocol notes §4.6):
//! status lines, `PREFIX NAME[/log]: MESSAGE[: ERROR]` lines, and the
//! failure count that becomes the exit code.

use crate::errstr::runit_error_str;
use crate::status::{State, Status, Want};
use crate::tai64n::Tai64n;
use nix::errno::Errno;
use std::io::Write;

/// `STATE: NAME: [(pid PID) ]SECSs[, flags]` (no newline). The flags are
/// driven by the pid, not the state, as in `sv`.
pub fn status_line(name: &str, st: &Status, normally_up: bool, now: Tai64n) -> String {
    let mut s = String::with_capacity(64);
    if let Some(state) = st.state() {
        s.push_str(state.word());
        s.push_str(": ");
    }
    s.push_str(name);
    s.push_str(": ");
    if st.state_byte != State::Down.byte() {
        s.push_str(&format!("(pid {}) ", st.pid));
    }
    s.push_str(&format!("{}s", now.label.saturating_sub(st.stamp.label)));
    let pid = st.pid != 0;
    if pid && !normally_up {
        s.push_str(", normally down");
    }
    if !pid && normally_up {
        s.push_str(", normally up");
    }
    if pid && st.paused {
        s.push_str(", paused");
    }
    if !pid && st.want_byte == Want::Up.byte() {
        s.push_str(", want up");
    }
    if pid && st.want_byte == Want::Down.byte() {
        s.push_str(", want down");
    }
    if pid && st.got_term {
        s.push_str(", got TERM");
    }
    s
}

/// Collects stdout text (flushed per line, like `sv`) and the failure
/// count: every `fail:`/`warning:` message and every `timeout:`/`kill:`
/// line adds one.
#[derive(Default)]
pub struct Out {
    pub failures: u32,
    pending: String,
}

impl Out {
    /// Appends text to the current line.
    pub fn put(&mut self, s: &str) {
        self.pending.push_str(s);
    }

    /// Writes what is pending to stdout (errors such as EPIPE are ignored:
    /// the exit code still tells the result).
    pub fn flush(&mut self) {
        if !self.pending.is_empty() {
            let _ = std::io::stdout().lock().write_all(self.pending.as_bytes());
            self.pending.clear();
        }
    }

    /// `PREFIX NAME: MESSAGE[: ERROR]\n`, flushed.
    pub fn message(&mut self, prefix: &str, name: &str, what: &str, errno: Option<Errno>) {
        self.put(prefix);
        self.put(name);
        self.put(": ");
        self.put(what);
        if let Some(e) = errno {
            self.put(": ");
            self.put(runit_error_str(e));
        }
        self.put("\n");
        self.flush();
    }

    pub fn fail(&mut self, name: &str, what: &str, errno: Option<Errno>) {
        self.failures += 1;
        self.message("fail: ", name, what, errno);
    }

    pub fn warn(&mut self, name: &str, what: &str, errno: Option<Errno>) {
        self.failures += 1;
        self.message("warning: ", name, what, errno);
    }

    pub fn ok(&mut self, name: &str, what: &str) {
        self.message("ok: ", name, what, None);
    }

    /// The normal-mode exit code: failures capped at 99.
    pub fn exit_code(&self) -> i32 {
        self.failures.min(99) as i32
    }
}

/// A warning on stderr in `sv`'s form (no program-name prefix), e.g.
/// `warning: unable to stat web/down: file does not exist`.
pub fn stderr_warning(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("warning: {text}\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{State, Want};

    fn at(secs: u64) -> Tai64n {
        Tai64n::from_unix(secs, 500)
    }

    #[test]
    fn lines_match_sv_samples() {
        let now = at(1002);
        let run = Status::new(at(1000), 14077, false, Want::Up, false, State::Run);
        assert_eq!(
            status_line("svc", &run, true, now),
            "run: svc: (pid 14077) 2s"
        );
        let down = Status::new(at(1001), 0, false, Want::Up, false, State::Down);
        assert_eq!(
            status_line("./s4", &down, true, now),
            "down: ./s4: 1s, normally up, want up"
        );
        let term = Status::new(at(1001), 14561, false, Want::Down, true, State::Run);
        assert_eq!(
            status_line("/srv/demo/s3", &term, true, now),
            "run: /srv/demo/s3: (pid 14561) 1s, want down, got TERM"
        );
        let fin = Status::new(at(1000), 0, false, Want::Up, false, State::Finish);
        assert_eq!(
            status_line("./s3", &fin, true, now),
            "finish: ./s3: (pid 0) 2s, normally up, want up"
        );
        let nd = Status::new(at(1002), 12207, true, Want::Down, false, State::Run);
        assert_eq!(
            status_line("./s12", &nd, false, now),
            "run: ./s12: (pid 12207) 0s, normally down, paused, want down"
        );
        // A stamp in the future shows 0s.
        assert_eq!(
            status_line("x", &down, false, at(5)),
            "down: x: 0s, want up"
        );
    }
}
