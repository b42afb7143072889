//! FIFOs and the lock file beneath a verified directory: made or reused
//! only after `fstat` of the opened fd shows the right type, owner and
//! mode (a planted 0666 FIFO or a link to one is refused).

use std::ffi::OsStr;
use std::os::fd::OwnedFd;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use super::dir::{check_name, open_failure, verify, Owner};
use super::error::{Error, Kind, Refusal};
use super::{Dir, FIFO_MODE};

/// Group- or other-writable bits.
const SHARED_WRITE: u32 = 0o022;

impl Dir {
    /// Makes (or reuses) the FIFO `name` that svkit reads (supervise's
    /// `control`, `ok`) and opens it read-write and non-blocking: the
    /// open never waits for a writer, and holding a write end means no
    /// EOF when writers come and go. Verified by `fstat` of that fd: a
    /// FIFO, ours, mode exactly 0600.
    pub fn fifo(&self, name: impl AsRef<OsStr>) -> Result<OwnedFd, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let path = self.entry_path(name);
        let mode = Mode::from_raw_mode(FIFO_MODE);
        let created = match rustix::fs::mknodat(self, name, FileType::Fifo, mode, 0) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(Error::sys(path, "mkfifo", e)),
        };
        let flags =
            OFlags::RDWR | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = rustix::fs::openat(self, name, flags, Mode::empty())
            .map_err(|e| open_failure(self, name, "open FIFO", e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(path.clone(), "fstat", e))?;
        // The type and owner first: a chmod must never reach a file that
        // is not ours.
        verify(&path, &st, Kind::Fifo, Owner::Us, None)?;
        if created {
            rustix::fs::fchmod(&fd, mode).map_err(|e| Error::sys(path.clone(), "chmod", e))?;
        }
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(path.clone(), "fstat", e))?;
        verify(&path, &st, Kind::Fifo, Owner::Us, Some(FIFO_MODE))?;
        Ok(fd)
    }

    /// Opens the FIFO `name` for writing a control byte (svctl), without
    /// blocking: ENXIO (see [`Error::errno`]) means nobody is reading,
    /// runit's "supervise not running". Refused unless the opened fd is a
    /// FIFO owned by us or by root that only its owner can write.
    pub fn open_fifo_writer(&self, name: impl AsRef<OsStr>) -> Result<OwnedFd, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let flags =
            OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = rustix::fs::openat(self, name, flags, Mode::empty())
            .map_err(|e| open_failure(self, name, "open FIFO", e))?;
        let path = self.entry_path(name);
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(path.clone(), "fstat", e))?;
        verify(&path, &st, Kind::Fifo, Owner::UsOrRoot, None)?;
        let mode = st.st_mode & 0o7777;
        if mode & SHARED_WRITE != 0 {
            return Err(Error::new(
                path,
                Refusal::WrongMode {
                    mode,
                    want: FIFO_MODE,
                },
            ));
        }
        Ok(fd)
    }

    /// Opens (creating when missing) the lock file `name` read-write, for
    /// the caller to `flock`. It persists between runs, so no `O_EXCL`;
    /// `O_NOFOLLOW` refuses a link even with `O_CREAT`, and the opened fd
    /// must be a regular file, ours, with one name, that only we can write
    /// (an existing lock's mode is left as the umask made it).
    pub fn open_lock(&self, name: impl AsRef<OsStr>, mode: u32) -> Result<OwnedFd, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let flags = OFlags::RDWR
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        let fd = rustix::fs::openat(self, name, flags, Mode::from_raw_mode(mode))
            .map_err(|e| open_failure(self, name, "open lock", e))?;
        let path = self.entry_path(name);
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(path.clone(), "fstat", e))?;
        verify(&path, &st, Kind::Regular, Owner::Us, None)?;
        let found = st.st_mode & 0o7777;
        if found & SHARED_WRITE != 0 {
            return Err(Error::new(
                path,
                Refusal::WrongMode {
                    mode: found,
                    want: mode,
                },
            ));
        }
        Ok(fd)
    }
}
