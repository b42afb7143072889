//! A fifodir (s6's name): a directory where each subscriber puts a FIFO of
//! its own, and the notifier writes each message to every FIFO it finds,
//! never blocking. supervise notifies `supervise/event/`; svscan and
//! `svctl events` subscribe.
//!
//! Subscriber ([`Subscription::new`]): creates a FIFO (mode 0600) as
//! `new-svkit1-PID-N-NANOS`, opens it for reading *and* keeps a writing
//! end of its own (so the FIFO never reports EOF or hang-up between
//! messages), then renames it to `svkit1-PID-N-NANOS`, so a notifier never
//! finds it without a reader (and takes it for stale), enlarges its pipe to
//! [`SUBSCRIBER_PIPE_BYTES`] where the kernel allows, and removes the FIFO
//! when dropped. Every message written after `new` returns is in the
//! FIFO: subscribe first, then read the state, and nothing is lost in
//! between (s6-svlisten's order).
//!
//! Notifier ([`notify`]): for each FIFO with the prefix, `open(O_WRONLY |
//! O_NONBLOCK | O_NOFOLLOW)`, check that it is a FIFO, one `write`, close.
//! - `ENXIO` (no reader: the subscriber died without cleaning up) or
//!   `EPIPE`: the FIFO is stale and is removed.
//! - `EAGAIN` (the subscriber's pipe is full: it is stuck or slow): the
//!   message is dropped *for that subscriber*, counted, and supervision
//!   goes on. The subscriber sees the gap in the events' sequence
//!   numbers. Memory stays bounded by the kernel's pipe buffer.
//! - A message is at most [`MAX_MESSAGE`] (PIPE_BUF) bytes, so the write
//!   is atomic: a subscriber never reads half of one, and never a mix of
//!   two notifiers' messages.
//!
//! The notifier must not die of SIGPIPE (supervise and svscan block it and
//! read signals through a signalfd; Rust programs ignore it by default).

use rustix::fs::{Mode, OFlags, CWD};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Names of subscriber FIFOs start with this (other files are ignored).
pub const PREFIX: &str = "svkit1-";
/// Largest message (PIPE_BUF: atomic writes).
pub const MAX_MESSAGE: usize = rustix::pipe::PIPE_BUF;
/// A subscriber's FIFO has this name in front of its final one until
/// both its ends are open.
pub const TMP_PREFIX: &str = "new-";
/// Pipe size a subscriber asks for (the unprivileged maximum by default):
/// room for thousands of events while it is busy printing.
pub const SUBSCRIBER_PIPE_BYTES: usize = 1 << 20;
/// Longest line a subscriber accepts; a longer one is skipped.
pub const MAX_LINE: usize = MAX_MESSAGE;

/// Creates the fifodir `dir` (mode 0700) if it does not exist.
pub fn create(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// What one [`notify`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Subscribers that got the message.
    pub delivered: usize,
    /// Subscribers whose pipe was full: dropped for them.
    pub full: usize,
    /// Stale FIFOs removed.
    pub removed: usize,
    /// Entries that could not be written for another reason (not a FIFO,
    /// permission, ...); left alone.
    pub failed: usize,
}

/// Why [`notify`] did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyError {
    /// The message is longer than [`MAX_MESSAGE`].
    TooLong(usize),
    /// The directory cannot be listed (errno).
    List(i32),
}

impl std::fmt::Display for NotifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotifyError::TooLong(n) => write!(f, "message of {n} bytes exceeds {MAX_MESSAGE}"),
            NotifyError::List(e) => write!(
                f,
                "unable to read directory: {}",
                crate::errstr::runit_error_str(*e)
            ),
        }
    }
}

impl std::error::Error for NotifyError {}

/// Writes `message` to every subscriber of `dir` without blocking. A
/// missing directory has no subscribers.
pub fn notify(dir: &Path, message: &[u8]) -> Result<Delivery, NotifyError> {
    if message.len() > MAX_MESSAGE {
        return Err(NotifyError::TooLong(message.len()));
    }
    fan_out(dir, Some(message))
}

/// Removes the stale FIFOs of `dir` (no reader any more); returns how many.
pub fn clean(dir: &Path) -> Result<usize, NotifyError> {
    fan_out(dir, None).map(|d| d.removed)
}

fn fan_out(dir: &Path, message: Option<&[u8]>) -> Result<Delivery, NotifyError> {
    use crate::errstr::ErrorNumber;
    let mut d = Delivery::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(d),
        Err(e) => return Err(NotifyError::List(e.number())),
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(PREFIX.as_bytes())
        {
            continue;
        }
        let path = entry.path();
        let fd = match rustix::fs::open(
            &path,
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NXIO) => {
                d.removed += usize::from(std::fs::remove_file(&path).is_ok());
                continue;
            }
            // Removed meanwhile by its subscriber.
            Err(Errno::NOENT) => continue,
            Err(_) => {
                d.failed += 1;
                continue;
            }
        };
        // A symlink was refused by O_NOFOLLOW; a regular file or device
        // with our prefix is not a subscriber and must not be written.
        let is_fifo = rustix::fs::fstat(&fd).is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Fifo
        });
        if !is_fifo {
            d.failed += 1;
            continue;
        }
        let Some(message) = message else {
            continue;
        };
        match write_once(&fd, message) {
            Ok(()) => d.delivered += 1,
            Err(Errno::AGAIN) => d.full += 1,
            Err(Errno::PIPE) => d.removed += usize::from(std::fs::remove_file(&path).is_ok()),
            Err(_) => d.failed += 1,
        }
    }
    Ok(d)
}

/// One atomic write (a message of at most PIPE_BUF bytes to a pipe is
/// written whole or not at all), retried on EINTR.
fn write_once(fd: &OwnedFd, message: &[u8]) -> Result<(), Errno> {
    loop {
        match rustix::io::write(fd, message) {
            Ok(n) if n == message.len() => return Ok(()),
            Ok(_) => return Err(Errno::IO),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A subscriber's FIFO in a fifodir.
#[derive(Debug)]
pub struct Subscription {
    path: PathBuf,
    reader: OwnedFd,
    /// Our own writing end: keeps the FIFO from ever being reader-only
    /// (EOF, POLLHUP) between notifications.
    _writer: OwnedFd,
    partial: Vec<u8>,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    skipped: u64,
}

impl Subscription {
    /// Subscribes to `dir` (which must exist). From the moment this
    /// returns, every message notified to `dir` reaches this subscription.
    pub fn new(dir: &Path) -> std::io::Result<Subscription> {
        let pid = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Made under a name the notifier ignores and renamed once both
        // ends are open: a notifier must never find the FIFO without a
        // reader (it would take it for a stale one and remove it).
        let (tmp, path) = loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{PREFIX}{pid}-{n}-{nanos}");
            let tmp = dir.join(format!("{TMP_PREFIX}{name}"));
            match rustix::fs::mknodat(
                CWD,
                &tmp,
                rustix::fs::FileType::Fifo,
                Mode::RUSR | Mode::WUSR,
                0,
            ) {
                Ok(()) => break (tmp, dir.join(name)),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let opened = (|| -> Result<(OwnedFd, OwnedFd), Errno> {
            let flags = OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW;
            let reader = rustix::fs::open(&tmp, OFlags::RDONLY | flags, Mode::empty())?;
            let writer = rustix::fs::open(&tmp, OFlags::WRONLY | flags, Mode::empty())?;
            rustix::fs::rename(&tmp, &path)?;
            Ok((reader, writer))
        })();
        let (reader, writer) = match opened {
            Ok(fds) => fds,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        };
        // Best effort: an unprivileged process may be refused above
        // /proc/sys/fs/pipe-max-size; the default 64 KiB then applies.
        let _ = rustix::pipe::fcntl_setpipe_size(&reader, SUBSCRIBER_PIPE_BYTES);
        Ok(Subscription {
            path,
            reader,
            _writer: writer,
            partial: Vec::new(),
            skipping: false,
            skipped: 0,
        })
    }

    /// The descriptor to poll for reading.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.reader.as_fd()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pipe's capacity in bytes (what a stuck reader may hold back).
    pub fn capacity(&self) -> usize {
        rustix::pipe::fcntl_getpipe_size(&self.reader).unwrap_or(0)
    }

    /// Every complete line available now, without blocking (newlines
    /// removed). A line longer than [`MAX_LINE`] is skipped and counted
    /// ([`Subscription::skipped`]).
    pub fn read_lines(&mut self) -> std::io::Result<Vec<Vec<u8>>> {
        let mut lines = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match rustix::io::read(&self.reader, &mut buf) {
                Ok(0) | Err(Errno::AGAIN) => break,
                Ok(n) => n,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut chunk = &buf[..n];
            while let Some(i) = chunk.iter().position(|&b| b == b'\n') {
                if self.skipping {
                    self.skipping = false;
                } else if self.partial.len() + i <= MAX_LINE {
                    let mut line = std::mem::take(&mut self.partial);
                    line.extend_from_slice(&chunk[..i]);
                    lines.push(line);
                } else {
                    self.partial.clear();
                    self.skipped += 1;
                }
                chunk = &chunk[i + 1..];
            }
            if !self.skipping {
                if self.partial.len() + chunk.len() > MAX_LINE {
                    self.partial.clear();
                    self.skipping = true;
                    self.skipped += 1;
                } else {
                    self.partial.extend_from_slice(chunk);
                }
            }
        }
        Ok(lines)
    }

    /// Over-long lines skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("svkit-fifodir-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        create(&d).unwrap();
        create(&d).unwrap(); // idempotent
        d
    }

    #[test]
    fn messages_reach_every_subscriber_in_order() {
        let d = dir("order");
        assert_eq!(notify(&d, b"nobody\n").unwrap(), Delivery::default());
        let mut a = Subscription::new(&d).unwrap();
        let mut b = Subscription::new(&d).unwrap();
        assert!(a.read_lines().unwrap().is_empty(), "nothing yet, no EOF");
        for i in 0..100 {
            let got = notify(&d, format!("m{i}\n").as_bytes()).unwrap();
            assert_eq!(got.delivered, 2);
        }
        let want: Vec<Vec<u8>> = (0..100).map(|i| format!("m{i}").into_bytes()).collect();
        assert_eq!(a.read_lines().unwrap(), want);
        assert_eq!(b.read_lines().unwrap(), want);
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists(), "a dropped subscription removes its FIFO");
        assert_eq!(notify(&d, b"x\n").unwrap().delivered, 1);
        drop(b);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_stale_fifo_is_removed_and_a_full_one_dropped_for() {
        let d = dir("stale");
        // Stale: a FIFO with our prefix and no reader.
        let stale = d.join(format!("{PREFIX}999999-0-0"));
        rustix::fs::mknodat(
            CWD,
            &stale,
            rustix::fs::FileType::Fifo,
            Mode::RUSR | Mode::WUSR,
            0,
        )
        .unwrap();
        // Other names are none of our business.
        std::fs::write(d.join("README"), "x").unwrap();
        let mut s = Subscription::new(&d).unwrap();
        let got = notify(&d, b"hello\n").unwrap();
        assert_eq!((got.delivered, got.removed), (1, 1));
        assert!(!stale.exists());
        assert!(d.join("README").exists());
        // Stuck reader: fill its pipe without reading.
        let cap = s.capacity();
        assert!(cap >= 64 * 1024, "{cap}");
        let msg = vec![b'x'; 1023]
            .into_iter()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        let (mut delivered, mut full) = (0, 0);
        for _ in 0..(cap / msg.len() + 10) {
            let got = notify(&d, &msg).unwrap();
            delivered += got.delivered;
            full += got.full;
        }
        assert!(
            full >= 10,
            "pipe full: dropped, never blocked ({delivered} delivered)"
        );
        let lines = s.read_lines().unwrap();
        assert_eq!(
            lines.len(),
            delivered + 1,
            "every delivered message is whole"
        );
        assert!(lines[1..].iter().all(|l| l.len() == 1023));
        // After draining, delivery resumes.
        assert_eq!(notify(&d, b"again\n").unwrap().delivered, 1);
        assert_eq!(s.read_lines().unwrap(), [b"again".to_vec()]);
        drop(s);
        assert_eq!(clean(&d).unwrap(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_what_is_not_a_subscriber() {
        let d = dir("refuse");
        let target = d.join("target");
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, d.join(format!("{PREFIX}link"))).unwrap();
        std::fs::write(d.join(format!("{PREFIX}file")), "").unwrap();
        let got = notify(&d, b"evil\n").unwrap();
        assert_eq!((got.delivered, got.failed), (0, 2));
        assert_eq!(std::fs::read(&target).unwrap(), b"");
        assert_eq!(std::fs::read(d.join(format!("{PREFIX}file"))).unwrap(), b"");
        assert_eq!(
            notify(&d, &vec![b'x'; MAX_MESSAGE + 1]),
            Err(NotifyError::TooLong(MAX_MESSAGE + 1))
        );
        assert_eq!(notify(&d.join("missing"), b"x\n"), Ok(Delivery::default()));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn partial_and_overlong_lines() {
        let d = dir("partial");
        let mut s = Subscription::new(&d).unwrap();
        notify(&d, b"ab").unwrap();
        assert!(s.read_lines().unwrap().is_empty());
        notify(&d, b"c\nd").unwrap();
        assert_eq!(s.read_lines().unwrap(), [b"abc".to_vec()]);
        notify(&d, b"\n").unwrap();
        assert_eq!(s.read_lines().unwrap(), [b"d".to_vec()]);
        // Over-long: several writes without a newline, then a good line.
        for _ in 0..3 {
            notify(&d, &vec![b'z'; MAX_MESSAGE]).unwrap();
        }
        notify(&d, b"zz\nok\n").unwrap();
        assert_eq!(s.read_lines().unwrap(), [b"ok".to_vec()]);
        assert_eq!(s.skipped(), 1);
        drop(s);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
