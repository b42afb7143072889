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
/// PIPE_BUF on Linux: a write this size or smaller to a pipe is atomic.
const ATOMIC: usize = 4096;

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

    /// Writes the complete lines buffered so far; a line still being
    /// assembled stays until its newline arrives (or the buffer is full).
    /// Each write(2) is at most `ATOMIC` bytes and ends at a line end, so
    /// several svlog processes sharing one stdout pipe (a container's
    /// `docker logs`) never cut into each other's lines.
    pub fn flush(&mut self) {
        let end = match self.buf.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if self.buf.len() >= CAP => self.buf.len(),
            None => 0,
        };
        let mut start = 0;
        while start < end {
            let rest = &self.buf[start..end];
            let len = whole_lines_prefix(rest, ATOMIC);
            if let Err(e) = write_all_fd(self.fd, &rest[..len]) {
                self.broken = true;
                msg::warn(
                    PROG,
                    format_args!("unable to write to {}: {}", self.what, super::why(e)),
                );
                self.buf.clear();
                return;
            }
            start += len;
        }
        self.buf.drain(..end);
    }
}

/// Length of the longest run of whole lines at the start of `data` that
/// fits in `limit` bytes; a first line longer than `limit` is taken whole
/// (it cannot be written atomically anyway), and data without a newline
/// is taken entirely.
fn whole_lines_prefix(data: &[u8], limit: usize) -> usize {
    if data.len() <= limit {
        return data.len();
    }
    match data[..limit].iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => data
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::whole_lines_prefix;

    #[test]
    fn chunks_end_at_line_ends_and_fit_the_atomic_size() {
        assert_eq!(whole_lines_prefix(b"ab\ncd\n", 4096), 6);
        assert_eq!(whole_lines_prefix(b"ab\ncd\nef\n", 7), 6);
        assert_eq!(whole_lines_prefix(b"abcdefgh\nx\n", 4), 9);
        assert_eq!(whole_lines_prefix(b"abcdefgh", 4), 8);
    }
}
