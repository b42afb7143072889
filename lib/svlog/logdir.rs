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

use super::archive::{self, Rotated};
use super::config::{self, DirConfig};
use super::processor::{self, Running};
use super::signals::Signals;
use super::{info, why, PROG};
use crate::msg;
use crate::tai64n::Tai64n;
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MODE_OPEN: u32 = 0o644;
const MODE_CLOSED: u32 = 0o744;
/// How long svlog waits before retrying a failed write, rename, etc.
pub const PAUSE: Duration = Duration::from_secs(3);
/// Minimum time between two starts of a failing processor.
const PROCESSOR_RETRY: Duration = Duration::from_secs(1);
/// Bytes collected before one write(2) to `current`.
const PENDING_CAP: usize = 64 * 1024;

pub struct LogDir {
    pub path: PathBuf,
    /// The path as text for messages.
    pub name: String,
    dir: OwnedFd,
    _lock: OwnedFd,
    cur: OwnedFd,
    /// `current` is a FIFO, device or similar: stream only.
    special: bool,
    pub cfg: DirConfig,
    /// Bytes in `current`, including `pending`.
    size: u64,
    pending: Vec<u8>,
    line_max: u64,
    verbose: bool,
    processor: Option<Running>,
    /// A failed processor's input and when to run it again.
    processor_waiting: Option<(String, Instant)>,
    next_rotation: Option<Instant>,
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
            next_rotation: cfg.rotate_every.map(|d| Instant::now() + d),
            cfg,
            size,
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
        }
        Ok(ld)
    }

    /// The `.u` file a processor works on or will rerun on.
    fn busy_input(&self) -> Option<String> {
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
                        if let Some(p) = super::scan::find(b'\n', &data[from..n]) {
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
    pub fn put_lines(&mut self, sig: &mut Signals, first: &[u8], stamp: &[u8], data: &[u8]) {
        let mut s = first;
        let mut p = 0;
        while let Some(i) = super::scan::find(b'\n', &data[p..]) {
            self.put_record(sig, s, &data[p..p + i], true);
            p += i + 1;
            s = stamp;
        }
    }

    fn buffer(&mut self, sig: &mut Signals, data: &[u8]) {
        if self.pending.len() + data.len() > PENDING_CAP {
            self.flush(sig);
            if data.len() >= PENDING_CAP {
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
    }

    fn spill(&mut self, data: &[u8]) {
        self.spilled += data.len() as u64;
        let _ = super::sink::write_all_fd(rustix::stdio::stderr(), data);
    }

    /// On ENOSPC with `N` < `n`: delete the oldest rotated file while more
    /// than `N` exist. Returns whether something was deleted.
    fn delete_for_space(&mut self) -> bool {
        if self.cfg.keep_min >= self.cfg.keep_max {
            return false;
        }
        let Ok((files, _)) = archive::list(self.dir.as_fd()) else {
            return false;
        };
        let protected = self.busy_input();
        if files.len() as u64 <= self.cfg.keep_min {
            return false;
        }
        let Some(oldest) = files.iter().find(|f| Some(&f.name) != protected.as_ref()) else {
            return false;
        };
        msg::warn(
            PROG,
            format_args!("out of disk space, delete: {}/{}", self.name, oldest.name),
        );
        rustix::fs::unlinkat(&self.dir, oldest.name.as_str(), AtFlags::empty()).is_ok()
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
        self.next_rotation = self.cfg.rotate_every.map(|d| Instant::now() + d);
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
        let protected = (suffix == 'u').then(|| target.clone());
        self.prune(protected.as_deref());
        if suffix == 'u' {
            self.start_processor(&target);
        }
    }

    /// Deletes `.t` leftovers, then the oldest rotated files while there
    /// are more than `n` of them or they (plus a full `current`) exceed
    /// `S`. `protected` (the `.u` a processor works on) is never deleted.
    fn prune(&mut self, protected: Option<&str>) {
        let Ok((files, leftovers)) = archive::list(self.dir.as_fd()) else {
            msg::warn(
                PROG,
                format_args!("unable to read directory: {}", self.name),
            );
            return;
        };
        let busy = self.busy_input();
        let busy = busy.as_deref();
        for t in leftovers {
            let input = format!("{}u", &t[..26]);
            if busy != Some(input.as_str()) {
                let _ = rustix::fs::unlinkat(&self.dir, t.as_str(), AtFlags::empty());
            }
        }
        let keep =
            |f: &Rotated| Some(f.name.as_str()) == protected || Some(f.name.as_str()) == busy;
        let mut count = files.len() as u64;
        let mut total: u64 = files.iter().map(|f| f.size).sum();
        let reserve = self.cfg.size_max;
        for f in &files {
            let over_count = self.cfg.keep_max > 0 && count > self.cfg.keep_max;
            let over_total = self.cfg.total_max > 0 && total + reserve > self.cfg.total_max;
            if !over_count && !over_total {
                break;
            }
            if keep(f) {
                continue;
            }
            if self.verbose {
                info(format_args!("delete: {}/{}", self.name, f.name));
            }
            match rustix::fs::unlinkat(&self.dir, f.name.as_str(), AtFlags::empty()) {
                Ok(()) => {
                    count -= 1;
                    total -= f.size;
                }
                Err(e) => msg::warn(
                    PROG,
                    format_args!(
                        "unable to unlink oldest logfile: {}/{}: {}",
                        self.name,
                        f.name,
                        why(e)
                    ),
                ),
            }
        }
    }

    fn start_processor(&mut self, input: &str) {
        let Some(cmd) = self.cfg.processor.clone() else {
            return;
        };
        if self.verbose {
            info(format_args!("processing: {}/{input}", self.name));
        }
        match processor::start(self.dir.as_fd(), &self.path, &cmd, input) {
            Ok(r) => {
                self.processor = Some(r);
                self.processor_waiting = None;
            }
            Err((what, e)) => {
                msg::warn(PROG, format_args!("{what}: {}: {}", self.name, why(e)));
                self.processor_waiting =
                    Some((input.to_string(), Instant::now() + PROCESSOR_RETRY));
            }
        }
    }

    /// Books the end of a processor run: commit, or schedule a rerun on
    /// the same `.u` (at most once per second).
    fn processor_ended(&mut self, run: Running, status: std::process::ExitStatus) {
        if processor::succeeded(status) {
            match processor::commit(self.dir.as_fd(), &run.input) {
                Ok(done) => {
                    if self.verbose {
                        info(format_args!("processed: {}/{done}", self.name));
                    }
                }
                Err((what, e)) => {
                    msg::warn(PROG, format_args!("{what}: {}: {}", self.name, why(e)))
                }
            }
        } else {
            msg::warn(
                PROG,
                format_args!("processor failed, restart: {}", self.name),
            );
            processor::discard(self.dir.as_fd(), &run.input);
            self.processor_waiting = Some((run.input, run.started + PROCESSOR_RETRY));
        }
    }

    /// After SIGCHLD: collects a finished processor without blocking.
    pub fn reap(&mut self) {
        let Some(run) = self.processor.as_mut() else {
            return;
        };
        if let Ok(Some(status)) = run.child.try_wait() {
            let run = self.processor.take().expect("checked above");
            self.processor_ended(run, status);
        }
    }

    /// Blocks until no processor runs or waits to rerun (svlogd's guarantee:
    /// a rotated file is processed before the next one appears). After
    /// TERM, a failed run is not retried; its `.u` file stays for later.
    pub fn wait_processor(&mut self, sig: &mut Signals) {
        loop {
            if let Some(mut run) = self.processor.take() {
                match run.child.wait() {
                    Ok(status) => self.processor_ended(run, status),
                    Err(e) => {
                        msg::warn(
                            PROG,
                            format_args!("error waiting for processor: {}: {e}", self.name),
                        );
                        return;
                    }
                }
            } else if let Some((input, at)) = self.processor_waiting.clone() {
                if sig.pending.term {
                    msg::warn(
                        PROG,
                        format_args!("leaving unprocessed: {}/{input}", self.name),
                    );
                    self.processor_waiting = None;
                    return;
                }
                sig.sleep_until(at);
                if !sig.pending.term {
                    self.start_processor(&input);
                }
            } else {
                return;
            }
        }
    }

    /// The next moment this directory needs the event loop to wake up:
    /// a `t` rotation of a non-empty `current`, or a processor rerun.
    pub fn next_deadline(&self) -> Option<Instant> {
        let rot = self
            .next_rotation
            .filter(|_| self.size > 0 && !self.special);
        let rerun = self.processor_waiting.as_ref().map(|(_, at)| *at);
        match (rot, rerun) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Acts on deadlines that have passed.
    pub fn service_timers(&mut self, sig: &mut Signals, now: Instant) {
        if let Some(at) = self.next_rotation {
            if at <= now {
                // rotate() re-arms the timer, also for an empty current
                self.rotate(sig);
            }
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
