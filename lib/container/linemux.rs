//! Copies the output of many services to one destination (svscan's stdout
//! or stderr, i.e. `docker logs`), each line tagged with its service's name
//! and written with exactly one `write(2)`, so lines from different
//! services never interleave mid-line (`SVSCAN_LOG_PREFIX=1`).
//!
//! Output format, per source line:
//! - `PREFIX line\n` where PREFIX is `name | ` for stdout and `name! ` for
//!   stderr by default ([`Prefix::stdout`], [`Prefix::stderr`]);
//! - a line is cut into pieces so that no write exceeds `max_write` bytes
//!   (default 4096 = `PIPE_BUF`, so each write is atomic on a pipe even
//!   against other writers). Pieces after the first carry the
//!   **continuation prefix** instead (`name + ` / `name+ `): a line tagged
//!   that way continues the previous line of the same stream;
//! - bytes with no newline yet are written (as a piece, newline added) once
//!   the oldest of them has waited `idle_flush` (default 200 ms), and at
//!   end of file; what follows them carries the continuation prefix (a
//!   newline arriving right after such a piece just ends it: no empty line);
//! - all other bytes, NUL and invalid UTF-8 included, pass through as is.
//!
//! Flow control: sources are read non-blocking, one read per readiness, so
//! a quiet or slow stream never holds the others up; only the destination
//! can block the mux (which is the back-pressure we want: a stuck
//! `docker logs` reader slows every service the same way). Memory is
//! bounded: one 64 KiB read buffer plus at most `max_write` pending bytes
//! per stream. If the destination breaks (EPIPE), lines are dropped and
//! counted, and sources are still drained so services never block.
//!
//! Driving it: from an event loop, poll [`LineMux::fds`], call
//! [`LineMux::on_readable`] for ready ones and [`LineMux::on_timeout`] at
//! [`LineMux::next_timeout`]; or call [`LineMux::run`] to do that until
//! every source reached end of file.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

/// Default largest single write, prefix and newline included (`PIPE_BUF`).
pub const DEFAULT_MAX_WRITE: usize = 4096;
/// Default wait before unterminated bytes are written anyway.
pub const DEFAULT_IDLE_FLUSH: Duration = Duration::from_millis(200);
const READ_BUF: usize = 64 * 1024;

/// The tags put in front of a stream's lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// Before the first piece of a line.
    pub first: Vec<u8>,
    /// Before every later piece of the same line.
    pub cont: Vec<u8>,
}

impl Prefix {
    /// `name | ` and `name + ` (a service's stdout).
    pub fn stdout(name: &str) -> Self {
        Prefix {
            first: format!("{name} | ").into_bytes(),
            cont: format!("{name} + ").into_bytes(),
        }
    }

    /// `name! ` and `name+ ` (a service's stderr).
    pub fn stderr(name: &str) -> Self {
        Prefix {
            first: format!("{name}! ").into_bytes(),
            cont: format!("{name}+ ").into_bytes(),
        }
    }
}

/// A destination shared by several streams.
#[derive(Debug)]
pub struct Dest {
    fd: OwnedFd,
    broken: AtomicBool,
    dropped: AtomicU64,
}

impl Dest {
    pub fn new(fd: OwnedFd) -> Arc<Self> {
        Arc::new(Dest {
            fd,
            broken: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        })
    }

    /// A duplicate of this process's stdout.
    pub fn stdout() -> io::Result<Arc<Self>> {
        Ok(Self::new(rustix::io::fcntl_dupfd_cloexec(
            rustix::stdio::stdout(),
            3,
        )?))
    }

    /// A duplicate of this process's stderr.
    pub fn stderr() -> io::Result<Arc<Self>> {
        Ok(Self::new(rustix::io::fcntl_dupfd_cloexec(
            rustix::stdio::stderr(),
            3,
        )?))
    }

    /// Lines dropped because the destination failed.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes `buf` with one `write(2)` when the kernel allows (always for
    /// `len <= PIPE_BUF` on a pipe); waits for POLLOUT on a non-blocking fd.
    fn write_line(&self, buf: &[u8]) {
        if self.broken.load(Ordering::Relaxed) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut rest = buf;
        while !rest.is_empty() {
            match rustix::io::write(&self.fd, rest) {
                Ok(n) => rest = &rest[n..],
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => {
                    let mut fds = [PollFd::new(&self.fd, PollFlags::OUT)];
                    let _ = poll(&mut fds, None);
                }
                Err(_) => {
                    self.broken.store(true, Ordering::Relaxed);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}

/// Tunables.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Largest write, prefix and newline included; at least 64.
    pub max_write: usize,
    pub idle_flush: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_write: DEFAULT_MAX_WRITE,
            idle_flush: DEFAULT_IDLE_FLUSH,
        }
    }
}

struct Stream {
    src: OwnedFd,
    dest: Arc<Dest>,
    prefix: Prefix,
    /// Bytes of the current line not written yet (< `payload_max`).
    pending: Vec<u8>,
    /// When the oldest pending byte arrived.
    pending_since: Option<Instant>,
    /// The next piece continues an already written piece of its line.
    continuing: bool,
    payload_max: usize,
}

impl Stream {
    fn prefix(&self) -> &[u8] {
        if self.continuing {
            &self.prefix.cont
        } else {
            &self.prefix.first
        }
    }

    /// Writes `body` as one piece; `ends_line` says whether the source line
    /// ends here.
    fn put(&mut self, out: &mut Vec<u8>, body: &[u8], ends_line: bool) {
        out.clear();
        out.extend_from_slice(self.prefix());
        out.extend_from_slice(body);
        out.push(b'\n');
        self.dest.write_line(out);
        self.continuing = !ends_line;
    }

    /// Consumes `data`: completes the pending line, writes every whole line,
    /// keeps the unterminated rest pending (pieces of `payload_max` bytes
    /// are written as soon as they are full).
    fn feed(&mut self, out: &mut Vec<u8>, mut data: &[u8], now: Instant) {
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            let (line, rest) = (&data[..nl], &data[nl + 1..]);
            if self.pending.is_empty() && line.is_empty() && self.continuing {
                // The newline ends a piece already written (idle flush or a
                // full piece): the output line is complete, write nothing.
                self.continuing = false;
            } else if self.pending.is_empty() {
                self.put_long(out, line);
            } else {
                let mut joined = std::mem::take(&mut self.pending);
                joined.extend_from_slice(line);
                self.put_long(out, &joined);
                joined.clear();
                self.pending = joined;
                self.pending_since = None;
            }
            data = rest;
        }
        // Unterminated tail: write full pieces now, keep the remainder.
        let mut tail = data;
        // Up to `payload_max` bytes may wait: if a newline comes next, the
        // line still fits one write.
        while self.pending.len() + tail.len() > self.payload_max {
            let take = self.payload_max - self.pending.len();
            let mut piece = std::mem::take(&mut self.pending);
            piece.extend_from_slice(&tail[..take]);
            self.put(out, &piece, false);
            piece.clear();
            self.pending = piece;
            self.pending_since = None;
            tail = &tail[take..];
        }
        if !tail.is_empty() {
            if self.pending.is_empty() {
                self.pending_since = Some(now);
            }
            self.pending.extend_from_slice(tail);
        }
    }

    /// Writes a complete source line, in pieces if it is too long.
    fn put_long(&mut self, out: &mut Vec<u8>, line: &[u8]) {
        let mut rest = line;
        while rest.len() > self.payload_max {
            let (piece, more) = rest.split_at(self.payload_max);
            self.put(out, piece, false);
            rest = more;
        }
        self.put(out, rest, true);
    }

    /// Writes pending bytes as a piece (idle timeout or end of file).
    fn flush_pending(&mut self, out: &mut Vec<u8>, at_eof: bool) {
        if self.pending.is_empty() {
            return;
        }
        let piece = std::mem::take(&mut self.pending);
        self.put(out, &piece, at_eof);
        self.pending = piece;
        self.pending.clear();
        self.pending_since = None;
    }
}

/// What [`LineMux::on_readable`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readable {
    /// Still open (data copied, or nothing there yet).
    Open,
    /// End of file or read error: pending bytes were written and the
    /// source fd is closed and unregistered.
    Closed,
    /// Not a registered fd.
    Unknown,
}

/// The multiplexer. See the module docs.
pub struct LineMux {
    config: Config,
    streams: BTreeMap<RawFd, Stream>,
    read_buf: Vec<u8>,
    out: Vec<u8>,
}

impl LineMux {
    pub fn new(config: Config) -> Self {
        let max_write = config.max_write.max(64);
        LineMux {
            config: Config {
                max_write,
                ..config
            },
            streams: BTreeMap::new(),
            read_buf: vec![0; READ_BUF],
            out: Vec::with_capacity(max_write),
        }
    }

    /// Starts copying `src` (made non-blocking) to `dest` with `prefix`.
    /// Prefixes longer than half of `max_write` are cut to that length.
    /// Returns the raw fd, the key for [`Self::on_readable`].
    ///
    /// # Errors
    /// `fcntl` failed on `src`.
    pub fn register(
        &mut self,
        src: OwnedFd,
        mut prefix: Prefix,
        dest: Arc<Dest>,
    ) -> io::Result<RawFd> {
        let flags = rustix::fs::fcntl_getfl(&src)?;
        rustix::fs::fcntl_setfl(&src, flags | rustix::fs::OFlags::NONBLOCK)?;
        let half = self.config.max_write / 2;
        prefix.first.truncate(half);
        prefix.cont.truncate(half);
        let longest = prefix.first.len().max(prefix.cont.len());
        let payload_max = self.config.max_write - longest - 1;
        let fd = src.as_raw_fd();
        self.streams.insert(
            fd,
            Stream {
                src,
                dest,
                prefix,
                pending: Vec::with_capacity(payload_max),
                pending_since: None,
                continuing: false,
                payload_max,
            },
        );
        Ok(fd)
    }

    /// Registered source fds, for the caller's poll set (POLLIN).
    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.streams.values().map(|s| s.src.as_fd())
    }

    /// Number of open sources.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Does one non-blocking read on `fd` and writes what it completes.
    pub fn on_readable(&mut self, fd: RawFd) -> Readable {
        let Some(stream) = self.streams.get_mut(&fd) else {
            return Readable::Unknown;
        };
        loop {
            match rustix::io::read(&stream.src, &mut self.read_buf[..]) {
                Ok(0) => break,
                Ok(n) => {
                    stream.feed(&mut self.out, &self.read_buf[..n], Instant::now());
                    return Readable::Open;
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return Readable::Open,
                Err(_) => break,
            }
        }
        if let Some(mut s) = self.streams.remove(&fd) {
            s.flush_pending(&mut self.out, true);
        }
        Readable::Closed
    }

    /// When [`Self::on_timeout`] must next be called, if anything is pending.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.streams
            .values()
            .filter_map(|s| s.pending_since)
            .min()
            .map(|t| t + self.config.idle_flush)
    }

    /// Writes pending bytes that have waited `idle_flush` by `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        let idle = self.config.idle_flush;
        for s in self.streams.values_mut() {
            if s.pending_since.is_some_and(|t| t + idle <= now) {
                s.flush_pending(&mut self.out, false);
            }
        }
    }

    /// Copies until every source reached end of file, blocking in `poll`.
    ///
    /// # Errors
    /// `poll` failed for a reason other than EINTR.
    pub fn run(&mut self) -> io::Result<()> {
        while !self.streams.is_empty() {
            let timeout = self.next_timeout().map(|t| {
                let left = t.saturating_duration_since(Instant::now());
                Timespec {
                    tv_sec: left.as_secs() as _,
                    tv_nsec: left.subsec_nanos() as _,
                }
            });
            let raw: Vec<RawFd> = self.streams.keys().copied().collect();
            let ready: Vec<RawFd> = {
                let mut fds: Vec<PollFd<'_>> = self
                    .streams
                    .values()
                    .map(|s| PollFd::new(&s.src, PollFlags::IN))
                    .collect();
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
                fds.iter()
                    .zip(&raw)
                    .filter(|(p, _)| !p.revents().is_empty())
                    .map(|(_, fd)| *fd)
                    .collect()
            };
            for fd in ready {
                self.on_readable(fd);
            }
            self.on_timeout(Instant::now());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn pipe() -> (OwnedFd, OwnedFd) {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
    }

    /// Runs the mux over `inputs` (each written then closed) into a pipe
    /// and returns everything it wrote.
    fn mux_output(config: Config, inputs: &[(&str, &[u8])]) -> Vec<u8> {
        let (out_r, out_w) = pipe();
        let dest = Dest::new(out_w);
        let mut mux = LineMux::new(config);
        let mut writers = Vec::new();
        for (name, data) in inputs {
            let (r, w) = pipe();
            mux.register(r, Prefix::stdout(name), dest.clone()).unwrap();
            writers.push((std::fs::File::from(w), data.to_vec()));
        }
        drop(dest);
        let feeder = std::thread::spawn(move || {
            for (mut w, data) in writers {
                w.write_all(&data).unwrap();
            }
        });
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            std::fs::File::from(out_r).read_to_end(&mut all).unwrap();
            all
        });
        mux.run().unwrap();
        drop(mux);
        feeder.join().unwrap();
        reader.join().unwrap()
    }

    #[test]
    fn whole_lines_get_prefixed() {
        let out = mux_output(Config::default(), &[("a", b"one\ntwo\n")]);
        assert_eq!(out, b"a | one\na | two\n");
    }

    #[test]
    fn partial_last_line_is_flushed_at_eof() {
        let out = mux_output(Config::default(), &[("a", b"x\nno newline")]);
        assert_eq!(out, b"a | x\na | no newline\n");
    }

    #[test]
    fn empty_lines_and_binary_bytes_pass_through() {
        let out = mux_output(Config::default(), &[("b", b"\n\0\xff\x01\n")]);
        assert_eq!(out, b"b | \nb | \0\xff\x01\n");
    }

    #[test]
    fn long_lines_are_split_with_continuation_prefix() {
        let cfg = Config {
            max_write: 64,
            ..Config::default()
        };
        let line = vec![b'x'; 150];
        let mut input = line.clone();
        input.push(b'\n');
        let out = mux_output(cfg, &[("s", &input)]);
        let lines: Vec<&[u8]> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        // payload per piece = 64 - len("s | ") - 1 = 59
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(b"s | "));
        assert!(lines[1].starts_with(b"s + "));
        assert!(lines[2].starts_with(b"s + "));
        assert!(lines.iter().all(|l| l.len() < 64));
        let joined: Vec<u8> = lines.iter().flat_map(|l| l[4..].to_vec()).collect();
        assert_eq!(joined, line);
    }

    #[test]
    fn line_of_exactly_the_piece_size_is_one_write() {
        let cfg = Config {
            max_write: 64,
            ..Config::default()
        };
        // payload per piece = 64 - len("s | ") - 1 = 59
        let mut input = vec![b'q'; 59];
        input.push(b'\n');
        let mut want = b"s | ".to_vec();
        want.extend_from_slice(&input);
        assert_eq!(mux_output(cfg, &[("s", &input)]), want);
        // 118 bytes: exactly two pieces, no empty continuation line after.
        let mut input = vec![b'q'; 118];
        input.push(b'\n');
        let out = mux_output(cfg, &[("s", &input)]);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 2);
    }

    #[test]
    fn idle_partial_is_flushed_by_timeout() {
        let (r, w) = pipe();
        let (out_r, out_w) = pipe();
        let mut mux = LineMux::new(Config::default());
        let fd = mux
            .register(r, Prefix::stderr("svc"), Dest::new(out_w))
            .unwrap();
        assert_eq!(mux.next_timeout(), None, "nothing pending, no timer");
        rustix::io::write(&w, b"prompt> ").unwrap();
        assert_eq!(mux.on_readable(fd), Readable::Open);
        let due = mux.next_timeout().expect("a timer for the partial line");
        mux.on_timeout(due - Duration::from_millis(1));
        mux.on_timeout(due);
        assert_eq!(mux.next_timeout(), None);
        rustix::io::write(&w, b"rest\n").unwrap();
        assert_eq!(mux.on_readable(fd), Readable::Open);
        drop(w);
        assert_eq!(mux.on_readable(fd), Readable::Closed);
        assert_eq!(mux.on_readable(fd), Readable::Unknown);
        drop(mux);
        let mut got = Vec::new();
        std::fs::File::from(out_r).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"svc! prompt> \nsvc+ rest\n");
    }

    #[test]
    fn newline_right_after_an_idle_flush_adds_no_empty_line() {
        let (r, w) = pipe();
        let (out_r, out_w) = pipe();
        let mut mux = LineMux::new(Config::default());
        let fd = mux
            .register(r, Prefix::stdout("p"), Dest::new(out_w))
            .unwrap();
        rustix::io::write(&w, b"....").unwrap();
        mux.on_readable(fd);
        mux.on_timeout(mux.next_timeout().unwrap());
        rustix::io::write(&w, b"\nnext\n").unwrap();
        mux.on_readable(fd);
        drop(w);
        assert_eq!(mux.on_readable(fd), Readable::Closed);
        drop(mux);
        let mut got = Vec::new();
        std::fs::File::from(out_r).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"p | ....\np | next\n");
    }

    #[test]
    fn broken_destination_drops_but_drains() {
        let (r, w) = pipe();
        let (out_r, out_w) = pipe();
        drop(out_r);
        let dest = Dest::new(out_w);
        let mut mux = LineMux::new(Config::default());
        mux.register(r, Prefix::stdout("a"), dest.clone()).unwrap();
        rustix::io::write(&w, b"1\n2\n").unwrap();
        drop(w);
        mux.run().unwrap();
        assert_eq!(dest.dropped(), 2);
    }
}
