//! Processors (`!CMD` config line), run exactly as svlogd runs them: after a
//! rotation, `/bin/sh -c CMD` in the log directory with
//! fd 0 = the rotated `@….u` file, fd 1 = `@….t` (truncated), fd 2 = svlog's
//! stderr, fd 4 = `state` (read; created empty if missing), fd 5 = `newstate`
//! (truncated). Exit 0 commits: `.t` → `.s` (mode 0744), `.u` deleted,
//! `newstate` → `state`. Any other end deletes `.t` and runs the processor
//! again on the same `.u`, so the input survives until a run succeeds.
// Transitional: this module's unsafe blocks move onto crate::spawn,
// crate::child and crate::sys (issue 12, item 6).
#![allow(unsafe_code)]

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

/// A processor at work on one `.u` file.
#[derive(Debug)]
pub struct Running {
    pub child: Child,
    /// `@….u`, the input; never pruned while set.
    pub input: String,
    pub started: Instant,
}

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
) -> Result<Running, (&'static str, Errno)> {
    let open = |name: &str, flags: OFlags| {
        rustix::fs::openat(
            dir,
            name,
            flags | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
    };
    let stdin =
        open(input, OFlags::RDONLY).map_err(|e| ("unable to open input for processor", e))?;
    let stdout = open(
        &with_suffix(input, 't'),
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC,
    )
    .map_err(|e| ("unable to open output for processor", e))?;
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
    .map_err(|e| ("unable to open state for processor", e))?;
    let newstate = open("newstate", OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC)
        .map_err(|e| ("unable to open newstate for processor", e))?;
    // Above 9 so that the dup2 calls in the child cannot clobber each other.
    let high = |fd: OwnedFd| rustix::io::fcntl_dupfd_cloexec(&fd, 10);
    let state = high(state).map_err(|e| ("unable to open state for processor", e))?;
    let newstate = high(newstate).map_err(|e| ("unable to open newstate for processor", e))?;
    let (s4, s5) = (state.as_raw_fd(), newstate.as_raw_fd());

    let mut command = Command::new("/bin/sh");
    command
        .arg0("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir_path)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout));
    // SAFETY: the closure only calls dup2(2), which is async-signal-safe, on
    // descriptors that stay open in the parent until after spawn returns.
    unsafe {
        command.pre_exec(move || {
            if libc::dup2(s4, 4) == -1 || libc::dup2(s5, 5) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| {
        (
            "unable to run processor",
            Errno::from_io_error(&e).unwrap_or(Errno::IO),
        )
    })?;
    drop((state, newstate));
    Ok(Running {
        child,
        input: input.to_string(),
        started: Instant::now(),
    })
}

/// Commits a successful run: `.t` → `.s` (0744), `.u` removed,
/// `newstate` → `state`. Returns the name of the `.s` file.
pub fn commit(dir: BorrowedFd<'_>, input: &str) -> Result<String, (&'static str, Errno)> {
    let output = with_suffix(input, 't');
    let done = with_suffix(input, 's');
    rustix::fs::renameat(dir, output.as_str(), dir, done.as_str())
        .map_err(|e| ("unable to rename processed", e))?;
    rustix::fs::chmodat(
        dir,
        done.as_str(),
        Mode::from_raw_mode(0o744),
        AtFlags::empty(),
    )
    .map_err(|e| ("unable to set mode of processed", e))?;
    let _ = rustix::fs::unlinkat(dir, input, AtFlags::empty());
    rustix::fs::renameat(dir, "newstate", dir, "state")
        .map_err(|e| ("unable to rename state", e))?;
    Ok(done)
}

/// Drops the output of a failed run.
pub fn discard(dir: BorrowedFd<'_>, input: &str) {
    let _ = rustix::fs::unlinkat(dir, with_suffix(input, 't').as_str(), AtFlags::empty());
}

/// Did the processor succeed?
pub fn succeeded(status: ExitStatus) -> bool {
    status.code() == Some(0)
}
