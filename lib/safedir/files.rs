//! Regular files beneath a verified directory: created new (`O_EXCL`),
//! replaced atomically (`X.new` + `renameat`, runit's protocol), read with
//! a bound and only when the opened fd is a regular file.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::dir::{check_name, open_failure, verify, Owner};
use super::error::{Error, Kind, Refusal};
use super::{errno_of, Dir};

/// The suffix of runit's temporary files (`stat.new`, `status.new`).
const NEW_SUFFIX: &str = ".new";

impl Dir {
    /// Creates the file `name`, which must not exist yet (`O_EXCL`: not
    /// even as a symbolic link, which `O_EXCL` never follows), with the
    /// permission bits exactly `mode`, open for writing.
    pub fn create_new(&self, name: impl AsRef<OsStr>, mode: u32) -> Result<File, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NONBLOCK
            | OFlags::NOCTTY;
        let fd = rustix::fs::openat(self, name, flags, Mode::from_raw_mode(mode))
            .map_err(|e| open_failure(self, name, "create", e))?;
        let path = self.entry_path(name);
        // The umask may have removed bits; O_EXCL made this inode ours.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::sys(path.clone(), "chmod", e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(path.clone(), "fstat", e))?;
        verify(&path, &st, Kind::Regular, Owner::Us, Some(mode))?;
        Ok(File::from(fd))
    }

    /// Removes a stale temporary file left by an earlier run (or planted:
    /// a `stat.new -> /etc/shadow` link loses its name, the target is not
    /// touched). A directory in its place is refused, not removed.
    fn remove_stale(&self, name: &OsStr) -> Result<(), Error> {
        match rustix::fs::statat(self, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(Error::sys(self.entry_path(name), "stat", e)),
            Ok(st) if Kind::of_mode(st.st_mode) == Kind::Directory => {
                return Err(Error::new(
                    self.entry_path(name),
                    Refusal::WrongKind {
                        found: Kind::Directory,
                        want: Kind::Regular,
                    },
                ))
            }
            Ok(_) => {}
        }
        self.remove(name)
    }

    /// Gives `name` the new `contents` atomically: `name.new` is created
    /// fresh with `O_EXCL` (a stale one is unlinked first, never opened),
    /// written, and renamed over `name`, so a reader sees the old file or
    /// the new one and nothing an attacker planted is ever written through.
    pub fn replace(
        &self,
        name: impl AsRef<OsStr>,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let mut tmp = OsString::from(name);
        tmp.push(NEW_SUFFIX);
        let tmp = tmp.as_os_str();
        self.remove_stale(tmp)?;
        let mut f = self.create_new(tmp, mode)?;
        if let Err(e) = f.write_all(contents) {
            drop(f);
            let _ = self.remove(tmp);
            return Err(Error::sys(self.entry_path(tmp), "write", errno_of(&e)));
        }
        drop(f);
        rustix::fs::renameat(self, tmp, self, name).map_err(|e| {
            let _ = self.remove(tmp);
            Error::sys(self.entry_path(name), "rename", e)
        })
    }

    /// Reads the small file `name` whole, at most `limit` bytes. Refused
    /// unless the opened fd is a regular file with one name, owned by us
    /// or by root: never follows a symbolic link (`O_NOFOLLOW`), never
    /// hangs on a FIFO (`O_NONBLOCK` open, then the type check before any
    /// read), never reads more than `limit` + 1 bytes.
    pub fn read_small(&self, name: impl AsRef<OsStr>, limit: usize) -> Result<Vec<u8>, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = rustix::fs::openat(self, name, flags, Mode::empty())
            .map_err(|e| open_failure(self, name, "open", e))?;
        let path = self.entry_path(name);
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(path.clone(), "fstat", e))?;
        // A reader accepts root's files too (svctl as a user).
        verify(&path, &st, Kind::Regular, Owner::UsOrRoot, None)?;
        if u64::try_from(st.st_size).unwrap_or(0) > limit as u64 {
            return Err(Error::new(path, Refusal::TooLarge { limit }));
        }
        let mut out = Vec::with_capacity(usize::try_from(st.st_size).unwrap_or(0).min(limit));
        // One byte more than allowed tells a file that grew since fstat.
        File::from(fd)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::sys(path.clone(), "read", errno_of(&e)))?;
        if out.len() > limit {
            return Err(Error::new(path, Refusal::TooLarge { limit }));
        }
        Ok(out)
    }
}
