//! One log directory: its lock, `config`, the `current` file, rotation to
//! `@<tai64n>.s`/`.u`, pruning, and the processor.
//!
//! Modes follow svlogd's code: `current` is 0644 while open and 0744 once
//! closed cleanly; rotated files are 0744. A non-empty `current` that is
//! not user-executable at startup was not closed (svlog was killed) and is
//! kept as `@….u` before a fresh `current` starts.
//!
//! A `current` that is not a regular file (a FIFO, `/dev/stdout`, a tty) is
//! written to as a stream: never seeked, rotated, salvaged or chmod'ed.

use super::config::{self, DirConfig};
use super::processor::Running;
use super::signals::Signals;
use super::{info, why, PROG};
use crate::msg;
use crate::tai64n::Tai64n;
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MODE_OPEN: u32 = 0o644;
const MODE_CLOSED: u32 = 0o744;
/// How long svlog waits before retrying a failed write, rename, etc.
pub const PAUSE: Duration = Duration::from_secs(3);
/// Minimum time between two starts of a failing processor.
pub(super) const PROCESSOR_RETRY: Duration = Duration::from_secs(1);
/// Bytes collected before one write(2) to `current`: room for the records
/// of a whole default read buffer (128 KiB of 100-byte lines are 161 KiB
/// with `-tt` stamps), so a chunk is one write. With 64 KiB, `-tt` took
/// about 10% more CPU (four writes per chunk).
const PENDING_CAP: usize = 256 * 1024;
/// Data this big is written directly rather than copied into `pending`.
const DIRECT_WRITE: usize = 64 * 1024;
/// Written bytes of `current` after which svlog asks the kernel to start
/// writing them to disk (`sync_file_range`, not waiting): the fsync before
/// a rotation then finds most of the file already on disk instead of
/// writing it all while svlog waits.
const WRITEBACK_STEP: u64 = 1024 * 1024;

pub struct LogDir {
    pub path: PathBuf,
    /// The path as text for messages.
    pub name: String,
    pub(super) dir: OwnedFd,
    _lock: OwnedFd,
    pub(super) cur: OwnedFd,
    /// `current` is a FIFO, device or similar: stream only.
    pub(super) special: bool,
    pub cfg: DirConfig,
    /// Bytes in `current`, including `pending`.
    pub(super) size: u64,
    /// Bytes of `current` written with write(2) (`size` minus `pending`,
    /// as long as nothing was spilled).
    written: u64,
    /// Writeback was started for `current` up to this offset.
    kicked: u64,
    pub(super) pending: Vec<u8>,
    pub(super) line_max: u64,
    pub(super) verbose: bool,
    pub(super) processor: Option<Running>,
    /// A failed processor's input and when to run it again.
    pub(super) processor_waiting: Option<(String, Instant)>,
    pub(super) next_rotation: Option<Instant>,
    /// When the oldest rotated file passes the `a` age limit.
    pub(super) next_expiry: Option<Instant>,
    /// Writes failed and TERM arrived while pausing: data goes to stderr.
    pub spilled: u64,
    pub udp: Option<super::udp::Udp>,
}

/// Why a directory could not be opened (a warning; other dirs go on).
pub type OpenError = String;

impl LogDir {
    pub fn open(path: &Path, line_max: usize, verbose: bool) -> Result<LogDir, OpenError> {
        let name = path.display().to_string();
        let fail = |what: &str, e: Errno| format!("{what}: {name}: {}", why(e));
        let dir = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| fail("unable to open log directory", e))?;
        let lock = rustix::fs::openat(
            &dir,
            "lock",
            OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| fail("unable to lock directory", e))?;
        rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive)
            .map_err(|e| fail("unable to lock directory", e))?;

        let cfg = match read_file(&dir, "config") {
            Ok(Some(text)) => {
                if verbose {
                    info(format_args!("read: {name}/config"));
                }
                let (cfg, bad) = config::parse(&text);
                for b in bad {
                    msg::warn(
                        PROG,
                        format_args!("{name}/config: line {}: {}: {}", b.number, b.why, b.text),
                    );
                }
                cfg
            }
            Ok(None) => DirConfig::default(),
            Err(e) => {
                msg::warn(PROG, fail("unable to read config", e));
                DirConfig::default()
            }
        };

        let mut special = false;
        let mut salvaged = None;
        match rustix::fs::statat(&dir, "current", AtFlags::empty()) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                special = true
            }
            Ok(st) if st.st_size > 0 && st.st_mode & 0o100 == 0 => {
                let target = unique_name(&dir, 'u');
                rustix::fs::renameat(&dir, "current", &dir, target.as_str())
                    .map_err(|e| fail("unable to rename current", e))?;
                salvaged = Some(target);
            }
            Ok(_) => {}
            Err(Errno::NOENT) => {}
            Err(e) => return Err(fail("unable to stat current", e)),
        }
        let cur = if special {
            open_stream(&dir).map_err(|e| fail("unable to open current", e))?
        } else {
            let fd = rustix::fs::openat(
                &dir,
                "current",
                OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC,
                Mode::from_raw_mode(MODE_OPEN),
            )
            .map_err(|e| fail("unable to open current", e))?;
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(MODE_OPEN))
                .map_err(|e| fail("unable to set mode of current", e))?;
            fd
        };
        let size = if special {
            0
        } else {
            rustix::fs::fstat(&cur)
                .map(|s| s.st_size as u64)
                .unwrap_or(0)
        };
        let udp = cfg.udp.map(super::udp::Udp::new);
        let mut ld = LogDir {
            path: path.to_path_buf(),
            name,
            dir,
            _lock: lock,
            cur,
            special,
            next_rotation: super::deadline::rotation_after(&cfg, Instant::now()),
            next_expiry: None,
            cfg,
            size,
            written: size,
            kicked: size,
            pending: Vec::with_capacity(PENDING_CAP),
            line_max: line_max as u64,
            verbose,
            processor: None,
            processor_waiting: None,
            spilled: 0,
            udp,
        };
        if verbose {
            let what = if special {
                "stream"
            } else if size > 0 {
                "append"
            } else {
                "new"
            };
            info(format_args!("{what}: {}/current", ld.name));
        }
        if let Some(s) = salvaged {
            msg::warn(
                PROG,
                format_args!("{}: current was not closed, kept as {s}", ld.name),
            );
            ld.prune(None);
        } else if ld.cfg.max_age.is_some() {
            ld.prune(None);
        }
        Ok(ld)
    }

    /// The `.u` file a processor works on or will rerun on.
    pub(super) fn busy_input(&self) -> Option<String> {
        self.processor
            .as_ref()
            .map(|p| p.input.clone())
            .or_else(|| self.processor_waiting.as_ref().map(|w| w.0.clone()))
    }

    /// Lines for this directory are written to `current` (not UDP-only).
    pub fn writes_file(&self) -> bool {
        !self.cfg.udp_only
    }

    /// Appends `data` to `current`, rotating by size exactly as svlogd:
    /// before a write when `current` has reached `s`, cutting a write so
    /// `current` never exceeds `s`, and after a line once `current` is
    /// within `len` bytes of `s`.
    pub fn put(&mut self, sig: &mut Signals, mut data: &[u8]) {
        while !data.is_empty() {
            let limit = if self.special { 0 } else { self.cfg.size_max };
            if limit > 0 && self.size >= limit {
                self.rotate(sig);
            }
            let mut n = data.len();
            let mut rotate_after = false;
            if limit > 0 && self.size < limit {
                n = n.min((limit - self.size) as usize);
                if limit > self.line_max {
                    let threshold = limit - self.line_max;
                    let from = threshold.saturating_sub(self.size + 1) as usize;
                    if from < n {
                        if let Some(p) = crate::sys::memchr(b'\n', &data[from..n]) {
                            n = from + p + 1;
                            rotate_after = true;
                        }
                    }
                }
            }
            self.buffer(sig, &data[..n]);
            self.size += n as u64;
            data = &data[n..];
            if rotate_after {
                self.rotate(sig);
            }
        }
    }

    /// One line's record: stamp, the `p` prefix, the line bytes and
    /// optionally its newline. The common case (no rotation boundary
    /// near) is a few copies into the pending buffer.
    pub fn put_record(&mut self, sig: &mut Signals, stamp: &[u8], line: &[u8], newline: bool) {
        let prefix = std::mem::take(&mut self.cfg.prefix);
        let len = stamp.len() + prefix.len() + line.len() + usize::from(newline);
        let limit = if self.special { 0 } else { self.cfg.size_max };
        let threshold = if limit > self.line_max {
            limit - self.line_max
        } else {
            limit
        };
        if (limit == 0 || self.size + (len as u64) < threshold)
            && self.pending.len() + len <= PENDING_CAP
        {
            self.pending.extend_from_slice(stamp);
            self.pending.extend_from_slice(&prefix);
            self.pending.extend_from_slice(line);
            if newline {
                self.pending.push(b'\n');
            }
            self.size += len as u64;
        } else {
            self.put(sig, stamp);
            self.put(sig, &prefix);
            self.put(sig, line);
            if newline {
                self.put(sig, b"\n");
            }
        }
        self.cfg.prefix = prefix;
    }

    /// Complete lines (`data` ends with a newline), each written as a
    /// record with `first` as the first line's stamp and `stamp` after.
    ///
    /// Runs of records that fit in `pending` and end before the rotation
    /// threshold are copied in a tight loop (the checks of `put_record`
    /// once per run, not per line); the record that does not fit goes
    /// through `put_record`, which flushes or rotates.
    pub fn put_lines(&mut self, sig: &mut Signals, first: &[u8], stamp: &[u8], data: &[u8]) {
        let mut s = first;
        let mut p = 0;
        while p < data.len() {
            let room = self.room_before_checks();
            let before = self.pending.len();
            let prefix = &self.cfg.prefix;
            let pending = &mut self.pending;
            while let Some(i) = crate::sys::memchr(b'\n', &data[p..]) {
                let len = s.len() + prefix.len() + i + 1;
                if pending.len() - before + len > room {
                    break;
                }
                pending.extend_from_slice(s);
                pending.extend_from_slice(prefix);
                pending.extend_from_slice(&data[p..p + i + 1]);
                p += i + 1;
                s = stamp;
            }
            let added = self.pending.len() - before;
            self.size += added as u64;
            if added == 0 {
                let Some(i) = crate::sys::memchr(b'\n', &data[p..]) else {
                    break;
                };
                self.put_record(sig, s, &data[p..p + i], true);
                p += i + 1;
                s = stamp;
            }
        }
    }

    /// How many bytes can go into `pending` with no flush and no rotation
    /// check: `put_record`'s fast-case condition for their total.
    fn room_before_checks(&self) -> usize {
        let free = PENDING_CAP.saturating_sub(self.pending.len());
        let limit = if self.special { 0 } else { self.cfg.size_max };
        if limit == 0 {
            return free;
        }
        let threshold = if limit > self.line_max {
            limit - self.line_max
        } else {
            limit
        };
        // put_record's case: size + len < threshold
        let left = threshold.saturating_sub(self.size + 1);
        free.min(usize::try_from(left).unwrap_or(usize::MAX))
    }

    /// Queues `data` for `current`. A big piece (a plain chunk of whole
    /// lines) is written from where it is, after what is queued, instead
    /// of being copied.
    fn buffer(&mut self, sig: &mut Signals, data: &[u8]) {
        if data.len() >= DIRECT_WRITE || self.pending.len() + data.len() > PENDING_CAP {
            self.flush(sig);
            if data.len() >= DIRECT_WRITE {
                self.write_out(sig, data);
                return;
            }
        }
        self.pending.extend_from_slice(data);
    }

    /// Writes everything buffered to `current`.
    pub fn flush(&mut self, sig: &mut Signals) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        self.write_out(sig, &pending);
        self.pending = pending;
        self.pending.clear();
    }

    /// write(2) until done. On a full disk with `N` < `n`, old files are
    /// deleted; otherwise svlog warns and retries every 3 seconds (the
    /// producer blocks on the full pipe meanwhile). TERM during the pause
    /// ends the wait: what cannot be written goes to stderr instead.
    fn write_out(&mut self, sig: &mut Signals, mut data: &[u8]) {
        let mut paused = false;
        while !data.is_empty() {
            if self.spilled > 0 {
                self.spill(data);
                return;
            }
            match rustix::io::write(&self.cur, data) {
                Ok(n) => {
                    data = &data[n..];
                    self.written += n as u64;
                    if paused {
                        paused = false;
                        msg::info(
                            PROG,
                            format_args!("resumed writing to {}/current", self.name),
                        );
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => wait_writable(&self.cur),
                Err(e) => {
                    if e == Errno::NOSPC && self.delete_for_space() {
                        continue;
                    }
                    if !paused {
                        msg::warn(
                            PROG,
                            format_args!(
                                "pausing: unable to write to current: {}: {}",
                                self.name,
                                why(e)
                            ),
                        );
                        paused = true;
                    }
                    if !sig.pending.term {
                        sig.sleep_until(Instant::now() + PAUSE);
                    }
                    if sig.pending.term {
                        // One last try, then give the data to stderr.
                        if let Ok(n) = rustix::io::write(&self.cur, data) {
                            data = &data[n..];
                            continue;
                        }
                        msg::warn(
                            PROG,
                            format_args!(
                                "{}: unable to write to current: {}: copying the rest to stderr",
                                self.name,
                                why(e)
                            ),
                        );
                        self.spill(data);
                        return;
                    }
                }
            }
        }
        self.start_writeback();
    }

    /// Starts disk writeback of what was written since the last call once
    /// that is `WRITEBACK_STEP` bytes or more. Best effort: errors show up
    /// at the fsync before rotation, which still waits for everything.
    fn start_writeback(&mut self) {
        if self.special || self.written < self.kicked + WRITEBACK_STEP {
            return;
        }
        let (from, len) = (self.kicked as i64, (self.written - self.kicked) as i64);
        crate::sys::start_writeback(&self.cur, from, len);
        self.kicked = self.written;
    }

    fn spill(&mut self, data: &[u8]) {
        self.spilled += data.len() as u64;
        let _ = super::sink::write_all_fd(rustix::stdio::stderr(), data);
    }

    /// Retries `op` every 3 seconds until it works; `None` if TERM came.
    fn retry<T>(
        &self,
        sig: &mut Signals,
        what: &str,
        mut op: impl FnMut(&Self) -> rustix::io::Result<T>,
    ) -> Option<T> {
        loop {
            match op(self) {
                Ok(v) => return Some(v),
                Err(e) => {
                    msg::warn(
                        PROG,
                        format_args!("pausing: {what}: {}: {}", self.name, why(e)),
                    );
                    if sig.pending.term {
                        return None;
                    }
                    sig.sleep_until(Instant::now() + PAUSE);
                }
            }
        }
    }

    /// Rotates a non-empty `current` to `@now.s` (or `.u` with a processor)
    /// and starts a new one; then prunes and starts the processor.
    pub fn rotate(&mut self, sig: &mut Signals) {
        self.next_rotation = super::deadline::rotation_after(&self.cfg, Instant::now());
        if self.special || self.size == 0 {
            return;
        }
        self.wait_processor(sig);
        self.flush(sig);
        if self.spilled > 0 {
            return;
        }
        if self
            .retry(sig, "unable to fsync current logfile", |s| {
                rustix::fs::fsync(&s.cur)
            })
            .is_none()
        {
            return;
        }
        if self
            .retry(sig, "unable to set mode of current", |s| {
                rustix::fs::fchmod(&s.cur, Mode::from_raw_mode(MODE_CLOSED))
            })
            .is_none()
        {
            return;
        }
        let suffix = if self.cfg.processor.is_some() {
            'u'
        } else {
            's'
        };
        let target = unique_name(&self.dir, suffix);
        if self
            .retry(sig, "unable to rename current", |s| {
                rustix::fs::renameat(&s.dir, "current", &s.dir, target.as_str())
            })
            .is_none()
        {
            return;
        }
        if self.verbose {
            info(format_args!(
                "rename: {}/current {target} {}",
                self.name, self.size
            ));
        }
        let Some(cur) = self.retry(sig, "unable to create new current", |s| {
            let fd = rustix::fs::openat(
                &s.dir,
                "current",
                OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC,
                Mode::from_raw_mode(MODE_OPEN),
            )?;
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(MODE_OPEN))?;
            Ok(fd)
        }) else {
            // Keep appending to the renamed file: nothing is lost.
            return;
        };
        self.cur = cur;
        self.size = 0;
        self.written = 0;
        self.kicked = 0;
        let protected = (suffix == 'u').then(|| target.clone());
        self.prune(protected.as_deref());
        if suffix == 'u' {
            self.start_processor(&target);
        }
    }

    /// The next moment this directory needs the event loop to wake up:
    /// a `t` rotation of a non-empty `current`, or a processor rerun.
    pub fn next_deadline(&self) -> Option<Instant> {
        let rot = self
            .next_rotation
            .filter(|_| self.size > 0 && !self.special);
        let rerun = self.processor_waiting.as_ref().map(|(_, at)| *at);
        [rot, rerun, self.next_expiry].into_iter().flatten().min()
    }

    /// Acts on deadlines that have passed.
    pub fn service_timers(&mut self, sig: &mut Signals, now: Instant) {
        if let Some(at) = self.next_rotation {
            if at <= now {
                // rotate() re-arms the timer, also for an empty current
                self.rotate(sig);
            }
        }
        if self.next_expiry.is_some_and(|at| at <= now) {
            self.prune(None);
        }
        if let Some((input, at)) = self.processor_waiting.clone() {
            if at <= now && self.processor.is_none() {
                self.start_processor(&input);
            }
        }
    }

    /// Flushes, waits for the processor, and leaves `current` 0744 (closed
    /// cleanly). Dropping the value releases the lock.
    pub fn close(mut self, sig: &mut Signals) -> u64 {
        self.flush(sig);
        self.wait_processor(sig);
        if !self.special {
            let _ = rustix::fs::fsync(&self.cur);
            if self.spilled == 0 {
                let _ = rustix::fs::fchmod(&self.cur, Mode::from_raw_mode(MODE_CLOSED));
            }
        }
        if self.verbose {
            info(format_args!("close: {}", self.name));
        }
        self.spilled
    }
}

fn read_file(dir: &OwnedFd, name: &str) -> rustix::io::Result<Option<Vec<u8>>> {
    let fd = match rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match rustix::io::read(&fd, &mut buf) {
            Ok(0) => return Ok(Some(out)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// `@<now>.<suffix>`, re-generated until no file has that name.
fn unique_name(dir: &OwnedFd, suffix: char) -> String {
    let mut t = Tai64n::now();
    loop {
        let name = format!("{}.{suffix}", t.to_hex_label());
        match rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => {
                let next = Tai64n::now();
                t = if next > t {
                    next
                } else {
                    Tai64n {
                        label: t.label + u64::from(t.nanos >= 999_999_999),
                        nanos: (t.nanos + 1) % 1_000_000_000,
                    }
                };
            }
            // ENOENT, or an error the rename will report itself
            Err(_) => return name,
        }
    }
}

/// Opens a non-regular `current` for writing without blocking on a FIFO
/// that has no reader yet, then makes the descriptor blocking again.
fn open_stream(dir: &OwnedFd) -> rustix::io::Result<OwnedFd> {
    let fd = rustix::fs::openat(
        dir,
        "current",
        OFlags::WRONLY | OFlags::APPEND | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::fs::fcntl_setfl(&fd, OFlags::APPEND)?;
    Ok(fd)
}

fn wait_writable(fd: &OwnedFd) {
    let mut fds = [rustix::event::PollFd::new(
        fd,
        rustix::event::PollFlags::OUT,
    )];
    let _ = rustix::event::poll(&mut fds, None);
}
