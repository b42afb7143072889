//! The event loop: read standard input in big chunks, cut it into lines,
//! and hand each line to every log directory, stdout and stderr.
//!
//! Loss bound: svlog only reads when it has written everything read before
//! (every chunk is flushed before the next `read(2)`), so at any moment at
//! most one read buffer (`-b`, default 128 KiB) has been read and not yet
//! written — which is all a SIGKILL can lose. A line longer than the buffer
//! is written in pieces as it arrives, so memory stays bounded.
//!
//! Fast path: with no timestamps, replacement, prefixes, patterns or UDP,
//! the complete lines of a chunk go to `current` in one write(2). With
//! stamps or a prefix (but no patterns), a chunk's records are copied into
//! the directory's 256 KiB buffer in one loop and written together (one
//! write(2) per chunk for short lines and the default buffer size).

use super::logdir::LogDir;
use super::options::Options;
use super::pattern;
use super::signals::{timespec, Signals};
use super::sink::Sink;
use super::stamp::{Stamper, STAMP_LEN};
use super::{info, why, Fatal, PROG};
use crate::msg;
use crate::sys::{memchr, memrchr};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use std::time::{Duration, Instant, SystemTime};

/// How long svlog waits, after TERM, for the rest of a line it has begun.
const TERM_GRACE: Duration = Duration::from_secs(2);

struct Stamp {
    bytes: [u8; STAMP_LEN],
    len: usize,
}

impl Stamp {
    fn get(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

pub struct Engine {
    opts: Options,
    dirs: Vec<LogDir>,
    sig: Signals,
    stamper: Stamper,
    tee: Sink,
    err: Sink,
    /// `replace[b]`: byte b is replaced (never `\n`).
    replace: Option<[bool; 256]>,
    plain: bool,
    /// Every line goes everywhere (no patterns, no UDP): per-directory
    /// loops over the chunk's lines instead of the general dispatch.
    simple: bool,
    buf: Vec<u8>,
    /// Unprocessed bytes are `buf[..end]` (a line not finished yet).
    end: usize,
    /// When the first byte of the unfinished line was read.
    partial_time: Option<SystemTime>,
    /// Streaming the tail of a line longer than the buffer.
    open_line: bool,
    /// Per directory: the current line goes to its `current`.
    selected: Vec<bool>,
}

impl Engine {
    pub fn new(opts: Options, sig: Signals) -> Result<Engine, Fatal> {
        widen_input_pipe();
        let dirs = open_dirs(&opts)?;
        let replace = opts.replace_with.map(|_| {
            let mut t = [false; 256];
            for (b, slot) in t.iter_mut().enumerate() {
                *slot = b != b'\n' as usize && !(32..=126).contains(&b);
            }
            for &b in &opts.replace_set {
                t[b as usize] = b != b'\n';
            }
            t
        });
        let mut e = Engine {
            stamper: Stamper::new(opts.stamp),
            buf: vec![0u8; opts.buf_len],
            opts,
            dirs,
            sig,
            tee: Sink::stdout(),
            err: Sink::stderr(),
            replace,
            plain: false,
            simple: false,
            end: 0,
            partial_time: None,
            open_line: false,
            selected: Vec::new(),
        };
        e.reconfigured();
        Ok(e)
    }

    fn reconfigured(&mut self) {
        self.selected = vec![true; self.dirs.len()];
        let stamp = self.stamper.kind() != super::stamp::StampKind::None;
        self.simple = self
            .dirs
            .iter()
            .all(|d| !d.cfg.has_patterns() && d.udp.is_none() && d.writes_file());
        self.plain = !stamp
            && self.replace.is_none()
            && self.dirs.iter().all(|d| {
                d.cfg.prefix.is_empty()
                    && !d.cfg.has_patterns()
                    && d.udp.is_none()
                    && d.writes_file()
                    && tee_prefix(&self.opts, d).map_or(true, |p| p.is_empty())
            });
    }

    /// Runs until end of input or TERM.
    pub fn run(mut self) -> Result<(), Fatal> {
        loop {
            self.handle_signals()?;
            if self.sig.pending.term {
                self.finish_line_after_term();
                break;
            }
            let deadline = self.dirs.iter().filter_map(|d| d.next_deadline()).min();
            let timeout = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
            let stdin = rustix::stdio::stdin();
            let sigfd = self.sig.fd();
            let mut fds = [
                PollFd::new(&stdin, PollFlags::IN),
                PollFd::new(&sigfd, PollFlags::IN),
            ];
            match poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(Fatal::new("unable to poll", Some(why(e)))),
            }
            let input_ready = !fds[0].revents().is_empty();
            let signalled = !fds[1].revents().is_empty();
            // Timers before new input: a `t` deadline that passed while
            // `current` was empty is re-armed, not applied to the new line.
            let now = Instant::now();
            for i in 0..self.dirs.len() {
                self.dirs[i].service_timers(&mut self.sig, now);
            }
            if signalled {
                self.sig.drain();
                continue; // signals first: TERM must not read ahead
            }
            if !input_ready {
                continue;
            }
            match rustix::io::read(stdin, &mut self.buf[self.end..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.end += n;
                    self.process(SystemTime::now());
                    self.flush_all();
                }
                Err(Errno::INTR) | Err(Errno::AGAIN) => {}
                Err(e) => {
                    msg::warn(
                        PROG,
                        format_args!("unable to read standard input: {}", why(e)),
                    );
                    break;
                }
            }
        }
        self.end_of_input();
        self.shutdown()
    }

    fn handle_signals(&mut self) -> Result<(), Fatal> {
        let p = &mut self.sig.pending;
        if std::mem::take(&mut p.chld) {
            for d in &mut self.dirs {
                d.reap();
            }
        }
        if std::mem::take(&mut self.sig.pending.alrm) {
            for i in 0..self.dirs.len() {
                self.dirs[i].rotate(&mut self.sig);
            }
        }
        if std::mem::take(&mut self.sig.pending.hup) {
            self.flush_all();
            let old = std::mem::take(&mut self.dirs);
            for d in old {
                d.close(&mut self.sig);
            }
            self.dirs = open_dirs(&self.opts)?;
            self.reconfigured();
        }
        Ok(())
    }

    /// After TERM: finish the line already begun (reading one byte at a
    /// time, so nothing beyond it is taken from the pipe), for at most
    /// `TERM_GRACE`.
    fn finish_line_after_term(&mut self) {
        if self.end == 0 && !self.open_line {
            return;
        }
        let deadline = Instant::now() + TERM_GRACE;
        let stdin = rustix::stdio::stdin();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
            match poll(&mut fds, Some(&timespec(left))) {
                Ok(0) => return,
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(_) => return,
            }
            let end = self.end;
            match rustix::io::read(stdin, &mut self.buf[end..end + 1]) {
                Ok(0) => return,
                Ok(_) => {
                    self.end += 1;
                    let newline = self.buf[end] == b'\n';
                    self.process(SystemTime::now());
                    if newline {
                        return;
                    }
                }
                Err(Errno::INTR) | Err(Errno::AGAIN) => {}
                Err(_) => return,
            }
        }
    }

    /// A last line without newline is written with one (multilog style).
    fn end_of_input(&mut self) {
        if self.end > 0 {
            let t = self.partial_time.unwrap_or_else(SystemTime::now);
            if self.open_line {
                let n = self.end;
                self.body(0, n);
            } else {
                let stamp = self.stamp_for(t);
                self.replace_bytes(0, self.end);
                self.head(&stamp, 0, self.end, false);
            }
            self.end = 0;
            self.tail_end();
        } else if self.open_line {
            self.tail_end();
        }
        self.flush_all();
    }

    fn shutdown(self) -> Result<(), Fatal> {
        let Engine { dirs, mut sig, .. } = self;
        let mut spilled = Vec::new();
        for d in dirs {
            let name = d.name.clone();
            let n = d.close(&mut sig);
            if n > 0 {
                spilled.push((name, n));
            }
        }
        match spilled.first() {
            Some((name, n)) => Err(Fatal::new(
                format!("unable to write to {name}/current"),
                Some(&format!("{n} bytes were copied to standard error")),
            )),
            None => Ok(()),
        }
    }

    fn stamp_for(&mut self, t: SystemTime) -> Stamp {
        let s = self.stamper.format(t);
        let mut bytes = [0u8; STAMP_LEN];
        bytes[..s.len()].copy_from_slice(s);
        Stamp {
            bytes,
            len: s.len(),
        }
    }

    fn replace_bytes(&mut self, from: usize, to: usize) {
        if let (Some(table), Some(with)) = (&self.replace, self.opts.replace_with) {
            for b in &mut self.buf[from..to] {
                if table[*b as usize] {
                    *b = with;
                }
            }
        }
    }

    /// Consumes the complete lines in `buf[..end]`; keeps an unfinished
    /// line at the front of the buffer, or streams it when it fills the
    /// whole buffer.
    fn process(&mut self, now: SystemTime) {
        let mut pos = 0;
        let carried = self.partial_time.take();
        let end = self.end;
        if self.open_line {
            match memchr(b'\n', &self.buf[..end]) {
                Some(i) => {
                    self.replace_bytes(0, i);
                    self.body(0, i);
                    self.tail_end();
                    pos = i + 1;
                }
                None => {
                    self.replace_bytes(0, end);
                    self.body(0, end);
                    self.end = 0;
                    return;
                }
            }
        }
        if self.plain {
            if let Some(last) = memrchr(b'\n', &self.buf[pos..end]) {
                let chunk_end = pos + last + 1;
                self.bulk(pos, chunk_end);
                pos = chunk_end;
            }
        } else if self.simple && pos < end {
            if let Some(last) = memrchr(b'\n', &self.buf[pos..end]) {
                let chunk_end = pos + last + 1;
                self.replace_bytes(pos, chunk_end);
                let first = self.stamp_for(carried.unwrap_or(now));
                let rest = self.stamp_for(now);
                let Engine {
                    dirs,
                    buf,
                    sig,
                    tee,
                    opts,
                    ..
                } = self;
                let lines = &buf[pos..chunk_end];
                for d in dirs.iter_mut() {
                    d.put_lines(sig, first.get(), rest.get(), lines);
                    if let Some(p) = tee_prefix(opts, d) {
                        let mut stamp = first.get();
                        for line in lines[..lines.len() - 1].split(|&b| b == b'\n') {
                            tee.push(&[stamp, p, line, b"\n"]);
                            stamp = rest.get();
                        }
                    }
                }
                pos = chunk_end;
            }
        } else if pos < end {
            self.replace_bytes(pos, end);
            let first = self.stamp_for(carried.unwrap_or(now));
            let rest = self.stamp_for(now);
            let mut stamp = &first;
            while let Some(i) = memchr(b'\n', &self.buf[pos..end]) {
                self.head(stamp, pos, pos + i, true);
                pos += i + 1;
                stamp = &rest;
            }
        }
        if pos == end {
            self.end = 0;
            return;
        }
        // An unfinished line: it began in this chunk unless nothing was
        // consumed and it was carried over.
        let began = if pos == 0 {
            carried.unwrap_or(now)
        } else {
            now
        };
        self.buf.copy_within(pos..end, 0);
        self.end = end - pos;
        self.partial_time = Some(began);
        if self.end == self.buf.len() {
            let stamp = self.stamp_for(began);
            self.replace_bytes(0, self.end);
            self.head(&stamp, 0, self.end, false);
            self.open_line = true;
            self.end = 0;
            self.partial_time = None;
        }
    }

    /// Complete lines, no per-line work: one put per directory.
    fn bulk(&mut self, from: usize, to: usize) {
        let Engine {
            dirs,
            buf,
            sig,
            tee,
            opts,
            ..
        } = self;
        for d in dirs.iter_mut() {
            d.put(sig, &buf[from..to]);
            if tee_prefix(opts, d).is_some() {
                tee.push(&[&buf[from..to]]);
            }
        }
    }

    /// The start of a line (`buf[from..to]`, no newline): decide where it
    /// goes and write stamp, prefix and these bytes, and the newline when
    /// the line is `complete`.
    fn head(&mut self, stamp: &Stamp, from: usize, to: usize, complete: bool) {
        let nl: &[u8] = if complete { b"\n" } else { b"" };
        let Engine {
            dirs,
            buf,
            sig,
            tee,
            err,
            opts,
            selected,
            plain,
            ..
        } = self;
        let line = &buf[from..to];
        let max = opts.line_max;
        let cut = line.len() >= max;
        let short = &line[..line.len().min(max)];
        let dots: &[u8] = if cut { b"..." } else { b"" };
        let stamp = stamp.get();
        for (i, d) in dirs.iter_mut().enumerate() {
            if *plain {
                selected[i] = true;
                d.put(sig, line);
                if complete {
                    d.put(sig, b"\n");
                }
                if tee_prefix(opts, d).is_some() {
                    tee.push(&[line, nl]);
                }
                continue;
            }
            let mut log = true;
            let mut to_err = false;
            for (kind, pat) in &d.cfg.patterns {
                if pattern::matches(pat, short) {
                    match kind {
                        b'+' => log = true,
                        b'-' => log = false,
                        b'e' => to_err = true,
                        _ => to_err = false,
                    }
                }
            }
            let prefix = &d.cfg.prefix;
            if to_err {
                err.push(&[stamp, prefix, short, dots, b"\n"]);
            }
            selected[i] = log;
            if !log {
                continue;
            }
            if let Some(udp) = &d.udp {
                let mut dgram = Vec::with_capacity(stamp.len() + prefix.len() + short.len() + 4);
                for p in [stamp, prefix.as_slice(), short, dots, b"\n"] {
                    dgram.extend_from_slice(p);
                }
                if !udp.send(&dgram) {
                    d.put(sig, b"warning: failure sending through udp: ");
                    d.put(sig, &dgram);
                }
            }
            if d.writes_file() {
                d.put_record(sig, stamp, line, complete);
            }
            if let Some(p) = tee_prefix(opts, d) {
                tee.push(&[stamp, p, line, nl]);
            }
        }
    }

    /// More bytes of the current line.
    fn body(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        let Engine {
            dirs,
            buf,
            sig,
            tee,
            opts,
            selected,
            ..
        } = self;
        fan_out(dirs, selected, sig, tee, opts, &buf[from..to]);
    }

    /// The newline that ends the current line.
    fn tail_end(&mut self) {
        self.open_line = false;
        let Engine {
            dirs,
            sig,
            tee,
            opts,
            selected,
            ..
        } = self;
        fan_out(dirs, selected, sig, tee, opts, b"\n");
    }

    fn flush_all(&mut self) {
        for d in &mut self.dirs {
            d.flush(&mut self.sig);
        }
        self.tee.flush();
        self.err.flush();
    }
}

/// `bytes` (part of the current line) to every selected directory's file
/// and, where that directory tees, to stdout.
fn fan_out(
    dirs: &mut [LogDir],
    selected: &[bool],
    sig: &mut Signals,
    tee: &mut Sink,
    opts: &Options,
    bytes: &[u8],
) {
    for (d, _) in dirs.iter_mut().zip(selected).filter(|(_, &on)| on) {
        if d.writes_file() {
            d.put(sig, bytes);
        }
        if tee_prefix(opts, d).is_some() {
            tee.push(&[bytes]);
        }
    }
}

/// The prefix for stdout copies of `d`'s lines, if they are teed: the `o`
/// line's argument, else the `p` prefix.
fn tee_prefix<'a>(opts: &Options, d: &'a LogDir) -> Option<&'a [u8]> {
    match &d.cfg.tee {
        Some(Some(p)) => Some(p),
        Some(None) => Some(&d.cfg.prefix),
        None if opts.tee => Some(&d.cfg.prefix),
        None => None,
    }
}

/// Input pipe capacity svlog asks for: fewer wakeups per megabyte, and
/// more room for the producer while the logger restarts (the pipe outlives
/// svlog). Best effort: a pipe already larger, or a refusal, is fine.
const PIPE_CAPACITY: usize = 256 * 1024;

fn widen_input_pipe() {
    let stdin = rustix::stdio::stdin();
    if let Ok(size) = rustix::pipe::fcntl_getpipe_size(stdin) {
        if size < PIPE_CAPACITY {
            let _ = rustix::pipe::fcntl_setpipe_size(stdin, PIPE_CAPACITY);
        }
    }
}

fn open_dirs(opts: &Options) -> Result<Vec<LogDir>, Fatal> {
    let mut dirs = Vec::new();
    for path in &opts.dirs {
        match LogDir::open(path, opts.line_max, opts.verbose) {
            Ok(d) => dirs.push(d),
            Err(w) => msg::warn(PROG, w),
        }
    }
    if dirs.is_empty() {
        return Err(Fatal::new("no functional log directories", None));
    }
    if opts.verbose {
        info(format_args!("{} log directories open", dirs.len()));
    }
    Ok(dirs)
}
