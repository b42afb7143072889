//! One svscan per scan directory. The lock is an flock on the scan
//! directory itself, so nothing is written into it and a read-only scan
//! directory works; it goes away with the process, never goes stale, and
//! is not inherited across exec (the descriptor is close-on-exec).

use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use std::path::Path;

pub enum LockError {
    /// The directory cannot be opened.
    Open(nix::errno::Errno),
    /// Another process holds the lock.
    Busy,
    Other(nix::errno::Errno),
}

pub struct ScanLock {
    _lock: Flock<std::os::fd::OwnedFd>,
}

pub fn acquire(scandir: &Path) -> Result<ScanLock, LockError> {
    let fd = nix::fcntl::open(
        scandir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(LockError::Open)?;
    match Flock::lock(fd, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(ScanLock { _lock: lock }),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(LockError::Busy),
        Err((_, e)) => Err(LockError::Other(e)),
    }
}
