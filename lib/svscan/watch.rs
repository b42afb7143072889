//! inotify on the scan directory (services appearing, disappearing,
//! renamed) and on new service directories that have no usable `run` yet
//! (`mkdir svc; cp run svc/`), so svscan never has to poll.

use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify, WatchDescriptor};
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// One thing the scan loop must look at again.
#[derive(Debug)]
pub enum Change {
    /// This name in the scan directory may have changed.
    Entry(OsString),
    /// Something happened inside a watched service directory.
    InService(WatchDescriptor),
    /// A watched `supervise/` directory got a new `svkit-status`.
    Status(WatchDescriptor),
    /// A watched service directory went away (its watch is gone).
    ServiceWatchGone(WatchDescriptor),
    /// Events were lost: rescan everything.
    Overflow,
    /// The scan directory itself was removed or moved.
    ScandirGone,
}

pub struct Watcher {
    inotify: Inotify,
    scandir: WatchDescriptor,
}

fn scandir_mask() -> F {
    F::IN_CREATE
        | F::IN_MOVED_TO
        | F::IN_DELETE
        | F::IN_MOVED_FROM
        | F::IN_DELETE_SELF
        | F::IN_MOVE_SELF
        | F::IN_ONLYDIR
}

fn service_mask() -> F {
    F::IN_CREATE | F::IN_MOVED_TO | F::IN_CLOSE_WRITE | F::IN_ATTRIB | F::IN_ONLYDIR
}

impl Watcher {
    pub fn new(scandir: &Path) -> nix::Result<Self> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)?;
        let scandir = inotify.add_watch(scandir, scandir_mask())?;
        Ok(Watcher { inotify, scandir })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    /// Watches a service directory until its `run` shows up.
    pub fn watch_service(&self, dir: &Path) -> nix::Result<WatchDescriptor> {
        self.inotify.add_watch(dir, service_mask())
    }

    /// Watches a `supervise/` directory for new `svkit-status` files
    /// (written as `svkit-status.new`, then renamed).
    pub fn watch_status(&self, dir: &Path) -> nix::Result<WatchDescriptor> {
        self.inotify
            .add_watch(dir, F::IN_MOVED_TO | F::IN_CLOSE_WRITE | F::IN_ONLYDIR)
    }

    pub fn unwatch(&self, wd: WatchDescriptor) {
        // EINVAL just means the kernel already dropped it (directory gone).
        let _ = self.inotify.rm_watch(wd);
    }

    /// Drains every queued event into `out`.
    pub fn read(&self, out: &mut Vec<Change>) {
        loop {
            let events = match self.inotify.read_events() {
                Ok(ev) if !ev.is_empty() => ev,
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => return,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => {
                    out.push(Change::Overflow);
                    return;
                }
            };
            for ev in events {
                if ev.mask.contains(F::IN_Q_OVERFLOW) {
                    out.push(Change::Overflow);
                } else if ev.wd == self.scandir {
                    if ev
                        .mask
                        .intersects(F::IN_DELETE_SELF | F::IN_MOVE_SELF | F::IN_IGNORED)
                    {
                        out.push(Change::ScandirGone);
                    } else if let Some(name) = ev.name {
                        out.push(Change::Entry(name));
                    }
                } else if ev.mask.contains(F::IN_IGNORED) {
                    out.push(Change::ServiceWatchGone(ev.wd));
                } else if ev
                    .name
                    .as_deref()
                    .is_some_and(|n| n == crate::servicedir::RUN)
                {
                    out.push(Change::InService(ev.wd));
                } else if ev
                    .name
                    .as_deref()
                    .is_some_and(|n| n == crate::extstatus::FILE_NAME)
                {
                    out.push(Change::Status(ev.wd));
                }
            }
        }
    }
}
