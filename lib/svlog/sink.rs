//! Buffered copies to standard output (tee) and standard error (`e` lines).
//! Never seeks and never rotates: these may be pipes, ttys or
//! `docker logs`. A blocked reader blocks svlog (and so the producer)
//! rather than losing lines; a reader that went away (EPIPE) ends the copy.

use super::PROG;
use crate::msg;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use std::os::fd::BorrowedFd;

const CAP: usize = 64 * 1024;

/// Writes all of `data`, waiting out EAGAIN on a non-blocking descriptor.
pub fn write_all_fd(fd: BorrowedFd<'_>, mut data: &[u8]) -> rustix::io::Result<()> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
                let _ = poll(&mut fds, None);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub struct Sink {
    fd: BorrowedFd<'static>,
    what: &'static str,
    buf: Vec<u8>,
    broken: bool,
}

impl Sink {
    pub fn stdout() -> Self {
        Sink::new(rustix::stdio::stdout(), "standard output")
    }

    pub fn stderr() -> Self {
        Sink::new(rustix::stdio::stderr(), "standard error")
    }

    fn new(fd: BorrowedFd<'static>, what: &'static str) -> Self {
        Sink {
            fd,
            what,
            buf: Vec::new(),
            broken: false,
        }
    }

    pub fn push(&mut self, parts: &[&[u8]]) {
        if self.broken {
            return;
        }
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        if self.buf.len() >= CAP {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if let Err(e) = write_all_fd(self.fd, &self.buf) {
            self.broken = true;
            msg::warn(
                PROG,
                format_args!("unable to write to {}: {}", self.what, super::why(e)),
            );
        }
        self.buf.clear();
    }
}
