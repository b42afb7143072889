//! The pipe between a service and its logger. svscan creates it once per
//! service with a `log/` directory and holds both ends for as long as the
//! service is in the scan directory, so a restarted supervise (or logger)
//! finds the same pipe and no line written meanwhile is lost.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Environment variable telling supervise which inherited fds to use:
/// `SVKIT_LOG_PIPE=READFD,WRITEFD`.
pub const ENV_LOG_PIPE: &str = "SVKIT_LOG_PIPE";

pub struct LogPipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl LogPipe {
    /// Both ends close-on-exec in svscan; only the supervise of this one
    /// service gets them (the spawn clears the flag in that child), so no
    /// other service keeps this logger from seeing EOF.
    pub fn new() -> std::io::Result<Self> {
        use rustix::pipe::{pipe_with, PipeFlags};
        let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
        Ok(LogPipe { read, write })
    }

    pub fn fds(&self) -> (RawFd, RawFd) {
        (self.read.as_raw_fd(), self.write.as_raw_fd())
    }
}
