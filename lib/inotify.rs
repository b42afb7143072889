//! The one inotify wrapper (svscan's scan directory and status watches,
//! svctl's waits): a non-blocking, close-on-exec instance whose queued
//! events are drained into a callback. Reading uses a small buffer on the
//! stack, so an idle watcher holds no heap.

use rustix::fs::inotify::{self, CreateFlags, ReadFlags};
use std::ffi::OsStr;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

pub use rustix::fs::inotify::{ReadFlags as Happened, WatchFlags as Mask};

/// A watch descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Watch(pub i32);

/// One event, borrowed from the read buffer.
#[derive(Debug)]
pub struct Event<'a> {
    pub watch: Watch,
    pub happened: Happened,
    /// The entry's name, for events about an entry of a watched directory.
    pub name: Option<&'a OsStr>,
}

impl Event<'_> {
    /// The kernel dropped events: whoever relies on them must look again.
    pub fn overflowed(&self) -> bool {
        self.happened.contains(ReadFlags::QUEUE_OVERFLOW)
    }
}

pub struct Inotify {
    fd: OwnedFd,
}

/// Room for several events with the longest names (16 + 256 bytes each).
const READ_BUFFER: usize = 4096;

impl Inotify {
    pub fn new() -> std::io::Result<Inotify> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        Ok(Inotify { fd })
    }

    /// Readable when events are queued (for a caller's poll set).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Watches `path` for `mask`. The kernel returns the same watch for
    /// the same inode: `Mask::MASK_ADD` adds to an existing watch's mask
    /// instead of replacing it.
    pub fn add(&self, path: &std::path::Path, mask: Mask) -> std::io::Result<Watch> {
        Ok(Watch(inotify::add_watch(&self.fd, path, mask)?))
    }

    /// Stops a watch; one the kernel already dropped (its directory is
    /// gone) is no error.
    pub fn remove(&self, watch: Watch) {
        let _ = inotify::remove_watch(&self.fd, watch.0);
    }

    /// Calls `f` for every queued event, until none is left. `Err`: the
    /// read failed (the caller should assume events were lost).
    pub fn drain(&self, mut f: impl FnMut(Event<'_>)) -> std::io::Result<()> {
        let mut buf = [MaybeUninit::<u8>::uninit(); READ_BUFFER];
        let mut reader = inotify::Reader::new(&self.fd, &mut buf);
        loop {
            match reader.next() {
                Ok(ev) => f(Event {
                    watch: Watch(ev.wd()),
                    happened: ev.events(),
                    name: ev.file_name().map(|n| OsStr::from_bytes(n.to_bytes())),
                }),
                Err(rustix::io::Errno::AGAIN) => return Ok(()),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_created_entry_and_its_name() {
        let dir = std::env::temp_dir().join(format!("svkit-inotify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let ino = Inotify::new().unwrap();
        let w = ino.add(&dir, Mask::CREATE | Mask::ONLYDIR).unwrap();
        std::fs::write(dir.join("x"), "").unwrap();
        let mut seen = Vec::new();
        ino.drain(|ev| seen.push((ev.watch, ev.name.map(|n| n.to_owned()))))
            .unwrap();
        assert_eq!(seen, [(w, Some("x".into()))]);
        // Nothing queued: returns at once.
        ino.drain(|_| panic!("no event expected")).unwrap();
        ino.remove(w);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
