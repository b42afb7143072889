//! `-l`/`-L` and setlock: an exclusive flock(2) on a file that prog keeps.
//!
//! The file is opened write+append+create (mode 0600, umask applies) and
//! deliberately without close-on-exec: the open descriptor, and with it the
//! lock, passes to prog and lasts until prog (and its children holding the
//! descriptor) exit.

use super::failure::Failure;
use rustix::fs::{flock, open, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::os::fd::IntoRawFd;

pub fn take(path: &OsStr, wait: bool) -> Result<(), Failure> {
    let shown = path.to_string_lossy();
    // O_NONBLOCK only keeps open() from hanging on a FIFO, as runit's
    // open_append does.
    let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::NONBLOCK;
    let fd = open(path, flags, Mode::from_raw_mode(0o600))
        .map_err(|e| sys(format!("unable to open lock: {shown}"), e))?;
    let op = if wait {
        FlockOperation::LockExclusive
    } else {
        FlockOperation::NonBlockingLockExclusive
    };
    loop {
        match flock(&fd, op) {
            Ok(()) => break,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(sys(format!("unable to lock: {shown}"), e)),
        }
    }
    // Keep the descriptor open across exec: it is the lock.
    let _ = fd.into_raw_fd();
    Ok(())
}

fn sys(what: String, e: Errno) -> Failure {
    Failure::sys(what, e)
}
