//! `--log-prefix`: a service without `log/` gets two pipes as the stdout
//! and stderr of its supervise (which hands them to `run` unchanged);
//! svscan reads them in its poll loop through one `LineMux` and writes
//! each line, prefixed with the service name, to its own stdout or stderr.
//!
//! svscan keeps the write ends for as long as the service is in the scan
//! directory, so a restarted supervise finds the same pipes; it drops them
//! when the service is removed or the shutdown begins, so the readers see
//! end of file once the service's processes are gone.

use crate::container::linemux::{Dest, LineMux, Prefix};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

pub struct PrefixPipes {
    out: OwnedFd,
    err: OwnedFd,
}

impl PrefixPipes {
    /// Write ends, for the supervise's fds 1 and 2.
    pub fn fds(&self) -> (RawFd, RawFd) {
        (self.out.as_raw_fd(), self.err.as_raw_fd())
    }
}

/// svscan's destinations (duplicates of its own stdout and stderr).
pub struct Prefixer {
    pub mux: LineMux,
    stdout: Arc<Dest>,
    stderr: Arc<Dest>,
}

impl Prefixer {
    pub fn new() -> std::io::Result<Prefixer> {
        Ok(Prefixer {
            mux: LineMux::new(Default::default()),
            stdout: Dest::stdout()?,
            stderr: Dest::stderr()?,
        })
    }

    /// Two new pipes for service `name`, their read ends registered.
    pub fn pipes(&mut self, name: &str) -> std::io::Result<PrefixPipes> {
        use rustix::pipe::{pipe_with, PipeFlags};
        let (out_r, out) = pipe_with(PipeFlags::CLOEXEC)?;
        let (err_r, err) = pipe_with(PipeFlags::CLOEXEC)?;
        self.mux
            .register(out_r, Prefix::stdout(name), self.stdout.clone())?;
        self.mux
            .register(err_r, Prefix::stderr(name), self.stderr.clone())?;
        Ok(PrefixPipes { out, err })
    }

    /// Copies what is left once the writers are gone, without waiting
    /// longer than `budget` for a source that is still open.
    pub fn drain(&mut self, budget: std::time::Duration) {
        let until = std::time::Instant::now() + budget;
        while !self.mux.is_empty() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            use rustix::event::{poll, PollFd, PollFlags};
            let mut fds: Vec<PollFd<'_>> = self
                .mux
                .fds()
                .map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN))
                .collect();
            let timeout = crate::child::timespec(left.min(std::time::Duration::from_secs(1)));
            match poll(&mut fds, Some(&timeout)) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
            let ready: Vec<RawFd> = fds
                .iter()
                .filter(|p| !p.revents().is_empty())
                .map(|p| {
                    use std::os::fd::AsFd;
                    p.as_fd().as_raw_fd()
                })
                .collect();
            drop(fds);
            for fd in ready {
                self.mux.on_readable(fd);
            }
        }
        self.mux
            .on_timeout(until + std::time::Duration::from_secs(3600));
    }
}
