//! Writing a command to `supervise/control`, with `sv`'s "already" rule
//! (protocol notes §4.3): if the recorded want byte equals the first byte
//! to send, nothing is written, except that `d` is re-sent when the
//! supervisor has not sent TERM yet (a service taken up with `once`).

use super::format::Out;
use super::probe::Probe;
use super::resolve::supervise_path;
use crate::control::Command;
use crate::servicedir::supervise_files as f;
use crate::status::Status;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::path::Path;

/// Would `sv` skip sending `cmds` given this status? (sv compares the
/// first control byte with the recorded want byte.)
pub fn already(status: &Status, cmds: &[Command]) -> bool {
    match cmds.first() {
        Some(&c) if status.want_byte == c.byte() => c != Command::Down || status.got_term,
        _ => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Written in one `write(2)`.
    Written,
    /// Nothing to do (the "already" rule).
    Already,
    /// A message was printed (and counted); do not wait for this service.
    Failed,
}

/// Prints what `sv` prints for a probe that did not find a live supervisor.
/// `exit_ok`: for exit-type commands a gone supervisor is `ok:`.
pub fn report_probe(out: &mut Out, name: &str, probe: &Probe, exit_ok: bool) {
    match probe {
        Probe::Alive(_) => {}
        Probe::NotRunning if exit_ok => out.ok(name, "runsv not running"),
        Probe::NotRunning => out.fail(name, "runsv not running", None),
        Probe::Failed { what, errno } => out.warn(name, what, *errno),
    }
}

/// Sends `cmds` to the supervisor of `dir` whose status is `status`.
pub fn send(out: &mut Out, name: &str, dir: &Path, status: &Status, cmds: &[Command]) -> Sent {
    if already(status, cmds) {
        return Sent::Already;
    }
    let exit_ok = cmds.first() == Some(&Command::Exit);
    let bytes: Vec<u8> = cmds.iter().map(|c| c.byte()).collect();
    let fd = match open(
        &supervise_path(dir, f::CONTROL),
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENXIO) => {
            report_probe(out, name, &Probe::NotRunning, exit_ok);
            return Sent::Failed;
        }
        Err(e) => {
            out.warn(name, "unable to open supervise/control", Some(e));
            return Sent::Failed;
        }
    };
    match nix::unistd::write(&fd, &bytes) {
        Ok(n) if n == bytes.len() => Sent::Written,
        Ok(_) => {
            out.warn(name, "unable to write to supervise/control", None);
            Sent::Failed
        }
        Err(e) => {
            out.warn(name, "unable to write to supervise/control", Some(e));
            Sent::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{State, Want};
    use crate::tai64n::Tai64n;

    #[test]
    fn already_rule() {
        use Command::*;
        let up = Status::new(Tai64n::default(), 5, false, Want::Up, false, State::Run);
        assert!(already(&up, &[Up]));
        assert!(!already(&up, &[Down]));
        assert!(!already(&up, &[Term, Cont, Up]));
        let once = Status::new(Tai64n::default(), 5, false, Want::Down, false, State::Run);
        assert!(!already(&once, &[Down]), "once without TERM: d is re-sent");
        let termed = Status::new(Tai64n::default(), 5, false, Want::Down, true, State::Run);
        assert!(already(&termed, &[Down]));
        assert!(!already(&termed, &[Exit]));
        assert!(!already(&termed, &[Kill]));
    }
}
