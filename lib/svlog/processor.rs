//! Processors (`!CMD` config line), run exactly as svlogd runs them: after a
//! rotation, `/bin/sh -c CMD` in the log directory with
//! fd 0 = the rotated `@….u` file, fd 1 = `@….t` (truncated), fd 2 = svlog's
//! stderr, fd 4 = `state` (read; created empty if missing), fd 5 = `newstate`
//! (truncated). Exit 0 commits: `.t` → `.s` (mode 0744), `.u` deleted,
//! `newstate` → `state`. Any other end deletes `.t` and runs the processor
//! again on the same `.u`, so the input survives until a run succeeds.

use crate::child::{Child, Exit};
use crate::errstr::ErrorNumber;
use crate::spawn::{Exec, Group, OnFailure, Program};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

/// A processor at work on one `.u` file.
#[derive(Debug)]
pub struct Running {
    pub child: Child,
    /// `@….u`, the input; never pruned while set.
    pub input: String,
    pub started: Instant,
}

/// A step of starting or committing a processor failed: what, and the
/// errno value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    pub what: &'static str,
    pub errno: i32,
}

impl Failed {
    fn at(what: &'static str) -> impl FnOnce(Errno) -> Failed {
        move |e| Failed {
            what,
            errno: e.number(),
        }
    }
}

impl ErrorNumber for Failed {
    fn number(&self) -> i32 {
        self.errno
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.what,
            crate::errstr::runit_error_str(self.errno)
        )
    }
}

impl std::error::Error for Failed {}

fn with_suffix(input: &str, suffix: char) -> String {
    let mut s = input[..input.len() - 1].to_string();
    s.push(suffix);
    s
}

/// Starts `cmd` on `input` (a `.u` file in `dir`, whose path is `dir_path`).
pub fn start(
    dir: BorrowedFd<'_>,
    dir_path: &Path,
    cmd: &str,
    input: &str,
) -> Result<Running, Failed> {
    let open = |name: &str, flags: OFlags| {
        rustix::fs::openat(
            dir,
            name,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
    };
    let stdin =
        open(input, OFlags::RDONLY).map_err(Failed::at("unable to open input for processor"))?;
    let stdout = open(
        &with_suffix(input, 't'),
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC,
    )
    .map_err(Failed::at("unable to open output for processor"))?;
    let state = match open("state", OFlags::RDONLY) {
        Err(Errno::NOENT) => {
            drop(open(
                "state",
                OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC,
            ));
            open("state", OFlags::RDONLY)
        }
        other => other,
    }
    .map_err(Failed::at("unable to open state for processor"))?;
    let newstate = open("newstate", OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC)
        .map_err(Failed::at("unable to open newstate for processor"))?;
    // Above 9 so that placing them on 0, 1, 4 and 5 in the child cannot
    // clobber one that is still to be placed.
    let high = |fd: OwnedFd| rustix::io::fcntl_dupfd_cloexec(&fd, 10);
    let stdin = high(stdin).map_err(Failed::at("unable to open input for processor"))?;
    let stdout = high(stdout).map_err(Failed::at("unable to open output for processor"))?;
    let state = high(state).map_err(Failed::at("unable to open state for processor"))?;
    let newstate = high(newstate).map_err(Failed::at("unable to open newstate for processor"))?;
    let fds = [
        (stdin.as_raw_fd(), 0),
        (stdout.as_raw_fd(), 1),
        (state.as_raw_fd(), 4),
        (newstate.as_raw_fd(), 5),
    ];
    let run_failed = |errno: i32| Failed {
        what: "unable to run processor",
        errno,
    };
    let cwd =
        CString::new(dir_path.as_os_str().as_bytes()).map_err(|_| run_failed(libc::EINVAL))?;
    let cmd = CString::new(cmd).map_err(|_| run_failed(libc::EINVAL))?;
    let argv = [c"sh", c"-c", cmd.as_c_str()];
    let child = Child::spawn(&Exec {
        program: Program::Path(c"/bin/sh"),
        argv: &argv,
        env: None,
        cwd: Some(&cwd),
        fds: &fds,
        // In svlog's group, as svlogd's processors: a terminal's signals
        // reach both.
        group: Group::Inherit,
        foreground: false,
        rlimits: &[],
        close_others: false,
        on_failure: OnFailure::Report,
    })
    .map_err(|e| run_failed(e.errno()))?;
    Ok(Running {
        child,
        input: input.to_string(),
        started: Instant::now(),
    })
}

/// Commits a successful run: `.t` → `.s` (0744), `.u` removed,
/// `newstate` → `state`. Returns the name of the `.s` file.
pub fn commit(dir: BorrowedFd<'_>, input: &str) -> Result<String, Failed> {
    let output = with_suffix(input, 't');
    let done = with_suffix(input, 's');
    rustix::fs::renameat(dir, output.as_str(), dir, done.as_str())
        .map_err(Failed::at("unable to rename processed"))?;
    rustix::fs::chmodat(
        dir,
        done.as_str(),
        Mode::from_raw_mode(0o744),
        AtFlags::empty(),
    )
    .map_err(Failed::at("unable to set mode of processed"))?;
    let _ = rustix::fs::unlinkat(dir, input, AtFlags::empty());
    rustix::fs::renameat(dir, "newstate", dir, "state")
        .map_err(Failed::at("unable to rename state"))?;
    Ok(done)
}

/// Drops the output of a failed run.
pub fn discard(dir: BorrowedFd<'_>, input: &str) {
    let _ = rustix::fs::unlinkat(dir, with_suffix(input, 't').as_str(), AtFlags::empty());
}

/// Did the processor succeed?
pub fn succeeded(status: Exit) -> bool {
    status.success()
}
