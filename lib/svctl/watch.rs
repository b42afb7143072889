//! Event-driven waiting: inotify on each service's `supervise/` directory.
//!
//! runsv and svkit's supervise replace `status` (and `svkit-status`) by
//! rename, so a state change shows up as `IN_MOVED_TO`/`IN_CREATE`/
//! `IN_CLOSE_WRITE`. A supervisor's exit shows up as `IN_CLOSE_NOWRITE` on
//! `ok` (it held the FIFO's read end for its whole life), and a supervisor
//! appearing as `IN_CREATE`/`IN_OPEN` on `ok` (or `supervise` being created
//! in the service directory when it did not exist yet).
//!
//! A supervisor of a read-only service directory keeps its state under
//! the runtime directory (`RUNDIR/supervise/KEY`, see
//! `container::rundir`); that directory is watched the same way, and while
//! it does not exist yet its parent `RUNDIR/supervise` is watched for KEY
//! (if that parent does not exist either and the service directory looks
//! unwritable, the service is re-read on a timer).
//!
//! svctl's own activity must not wake it up: its `ok` probe opens the FIFO
//! for writing (`IN_CLOSE_WRITE` on `ok`, ignored) and its status reads
//! close read-only (`IN_CLOSE_NOWRITE` on `status`, ignored). `IN_OPEN` on
//! `ok` only matters while the supervisor is absent, when svctl's own open
//! attempt fails and so makes no event.

use crate::container::rundir;
use crate::inotify::{Happened, Inotify, Mask, Watch as Wd};
use crate::servicedir::{supervise_files as f, SUPERVISE_DIR};
use rustix::event::{poll, PollFd, PollFlags};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often a service that could not be watched at all (no inotify
/// watch possible, e.g. `supervise` is a dangling symlink) is re-read.
pub const UNWATCHED_RECHECK: Duration = Duration::from_millis(100);

#[derive(Clone, PartialEq, Eq)]
enum On {
    /// The `supervise/` directory itself (or its fallback).
    Supervise,
    /// The service directory, until `supervise/` exists.
    ServiceDir,
    /// `RUNDIR/supervise`, until the fallback named by this key exists.
    FallbackParent(OsString),
}

struct Watch {
    wd: Wd,
    target: usize,
    on: On,
}

/// Could a supervisor be unable to create `dir/supervise` (and so use the
/// fallback)? A read-only mount, or a directory svctl cannot write either.
fn may_use_fallback(dir: &Path) -> bool {
    let ro = rustix::fs::statvfs(dir)
        .is_ok_and(|v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
    ro || rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_err()
}

pub struct Watcher {
    inotify: Inotify,
    watches: Vec<Watch>,
    dirs: Vec<PathBuf>,
    unwatched: Vec<usize>,
}

fn supervise_mask() -> Mask {
    Mask::CREATE
        | Mask::MOVED_TO
        | Mask::CLOSE_WRITE
        | Mask::CLOSE_NOWRITE
        | Mask::OPEN
        | Mask::DELETE_SELF
        | Mask::MOVE_SELF
}

impl Watcher {
    pub fn new() -> std::io::Result<Self> {
        Ok(Watcher {
            inotify: Inotify::new()?,
            watches: Vec::new(),
            dirs: Vec::new(),
            unwatched: Vec::new(),
        })
    }

    /// Subscribes to changes of service `target` (an index chosen by the
    /// caller). Call before sending, so that no change is missed.
    pub fn watch(&mut self, target: usize, dir: &Path) {
        if self.dirs.len() <= target {
            self.dirs.resize(target + 1, PathBuf::new());
        }
        self.dirs[target] = dir.to_path_buf();
        self.arm(target);
    }

    fn arm(&mut self, target: usize) {
        let dir = self.dirs[target].clone();
        self.unwatched.retain(|&t| t != target);
        if self.watch_state_dir(target, &dir) {
            return;
        }
        // A dangling `supervise` symlink (Debian: -> /run/runit/supervise/X)
        // gets its target created elsewhere, with no event here.
        if std::fs::symlink_metadata(dir.join(SUPERVISE_DIR)).is_ok() {
            self.unwatched.push(target);
            return;
        }
        let w = &self.inotify;
        let mut watched = false;
        if let Ok(wd) = w.add(&dir, Mask::CREATE | Mask::MOVED_TO) {
            self.watches.push(Watch {
                wd,
                target,
                on: On::ServiceDir,
            });
            watched = true;
        }
        let parent = rundir::resolve().join(rundir::SUPERVISE_DIR);
        let key = rundir::supervise_key(&rundir::canonical_service_path(&dir));
        match w.add(&parent, Mask::CREATE | Mask::MOVED_TO) {
            Ok(wd) => self.watches.push(Watch {
                wd,
                target,
                on: On::FallbackParent(key),
            }),
            Err(_) if !watched || may_use_fallback(&dir) => {
                self.unwatched.push(target);
            }
            Err(_) => {}
        }
        // Created between the calls?
        self.watch_state_dir(target, &dir);
    }

    /// Watches the existing state directory of `dir`; `false` if none.
    fn watch_state_dir(&mut self, target: usize, dir: &Path) -> bool {
        let Some(state) = rundir::locate_supervise_dir(dir) else {
            return false;
        };
        match self.inotify.add(&state, supervise_mask()) {
            Ok(wd) => {
                self.watches.push(Watch {
                    wd,
                    target,
                    on: On::Supervise,
                });
                self.unwatched.retain(|&t| t != target);
                true
            }
            Err(_) => false,
        }
    }

    /// Gives up the inotify instance without making svctl's caller wait.
    ///
    /// Releasing the last reference to an inotify instance waits for an
    /// fsnotify SRCU grace period: microseconds on a quiet system, but
    /// 10-20 ms while other processes generate many file events, which
    /// would triple the time of a fast `restart`. So the last reference
    /// goes to a tiny child that holds nothing else (no stdout: a shell's
    /// `$(svctl ...)` does not wait for it) and exits as soon as svctl has
    /// exited (EOF on its stdin); the release then happens in the child.
    /// The child is started through [`crate::spawn`] like every other and
    /// is `/bin/sh` waiting in `read`; without a shell it exits at once
    /// and svctl simply pays the release itself.
    pub fn close_in_background(self) {
        hand_over(self.inotify.fd());
    }

    /// Is any target re-read on a timer because it has no watch?
    pub fn has_unwatched(&self) -> bool {
        !self.unwatched.is_empty()
    }

    /// Blocks until an event that may change the outcome for some target,
    /// or until `timeout` (None = no limit). `absent(t)`: target `t`'s
    /// supervisor was missing at the last look. Returns `true` on an event.
    pub fn wait(&mut self, timeout: Option<Duration>, absent: &dyn Fn(usize) -> bool) -> bool {
        for t in self.unwatched.clone() {
            self.arm(t);
        }
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            let ts = left.map(|l| rustix::time::Timespec {
                tv_sec: l.as_secs() as i64,
                tv_nsec: i64::from(l.subsec_nanos()),
            });
            let mut fds = [PollFd::from_borrowed_fd(self.inotify.fd(), PollFlags::IN)];
            match poll(&mut fds, ts.as_ref()) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e == rustix::io::Errno::INTR => continue,
                Err(_) => return true,
            }
            if self.drain(absent) {
                return true;
            }
        }
    }

    /// Reads all queued events; `true` if any of them matters.
    fn drain(&mut self, absent: &dyn Fn(usize) -> bool) -> bool {
        let mut relevant = false;
        let mut rearm = Vec::new();
        let watches = &self.watches;
        let read = self.inotify.drain(|ev| {
            if ev.overflowed() {
                relevant = true;
                return;
            }
            let name = ev.name.unwrap_or(OsStr::new(""));
            for w in watches.iter().filter(|w| w.wd == ev.watch) {
                if ev
                    .happened
                    .intersects(Happened::IGNORED | Happened::DELETE_SELF | Happened::MOVE_SELF)
                {
                    relevant = true;
                    continue;
                }
                match &w.on {
                    On::ServiceDir if name == SUPERVISE_DIR => {
                        rearm.push(w.target);
                        relevant = true;
                    }
                    On::FallbackParent(key) if name == key.as_os_str() => {
                        rearm.push(w.target);
                        relevant = true;
                    }
                    On::Supervise if matters(name, ev.happened, absent(w.target)) => {
                        relevant = true;
                    }
                    _ => {}
                }
            }
        });
        // A failed read may have lost events: look again.
        relevant |= read.is_err();
        for t in rearm {
            self.watches
                .retain(|w| !(w.target == t && w.on != On::Supervise));
            self.arm(t);
        }
        relevant
    }
}

/// Passes `fd` (the inotify instance) to a child that keeps it until
/// svctl exits; see [`Watcher::close_in_background`].
fn hand_over(fd: std::os::fd::BorrowedFd<'_>) {
    use crate::spawn::{spawn, Exec, Group, OnFailure, Program};
    use std::os::fd::AsRawFd;
    let Ok((r, w)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
        return;
    };
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    let null = null.as_raw_fd();
    // stdin: the pipe's read end, at EOF once svctl (the only writer) has
    // exited; 3: the instance; nothing else is kept.
    let fds = [
        (r.as_raw_fd(), 0),
        (null, 1),
        (null, 2),
        (fd.as_raw_fd(), 3),
    ];
    let argv = [c"sh", c"-c", c"read _"];
    let held = spawn(&Exec {
        program: Program::Path(c"/bin/sh"),
        argv: &argv,
        env: None,
        cwd: None,
        fds: &fds,
        group: Group::Inherit,
        foreground: false,
        rlimits: &[],
        close_others: true,
        on_failure: OnFailure::Message(b""),
    });
    if held.is_ok() {
        // The write end stays open until svctl exits (close-on-exec).
        std::mem::forget(w);
    }
}

/// Does an event on `supervise/NAME` say something changed?
fn matters(name: &OsStr, mask: Happened, absent: bool) -> bool {
    if name == f::OK {
        return mask.contains(Happened::CLOSE_NOWRITE)
            || mask.contains(Happened::CREATE)
            || (absent && mask.contains(Happened::OPEN));
    }
    if name == f::CONTROL || name == f::LOCK {
        return false;
    }
    mask.intersects(Happened::CREATE | Happened::MOVED_TO | Happened::CLOSE_WRITE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_activity_is_ignored() {
        let ok = OsStr::new("ok");
        assert!(!matters(ok, Happened::CLOSE_WRITE, false));
        assert!(!matters(ok, Happened::OPEN, false));
        assert!(matters(ok, Happened::OPEN, true));
        assert!(matters(ok, Happened::CLOSE_NOWRITE, false));
        assert!(!matters(
            OsStr::new("status"),
            Happened::CLOSE_NOWRITE,
            false
        ));
        assert!(!matters(OsStr::new("status"), Happened::OPEN, false));
        assert!(matters(OsStr::new("status"), Happened::MOVED_TO, false));
        assert!(!matters(
            OsStr::new("control"),
            Happened::CLOSE_WRITE,
            false
        ));
    }
}
