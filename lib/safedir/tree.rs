//! Whole directories beneath a verified one (the `RUNDIR/env/` dump):
//! listing the names, swapping two trees atomically, and removing a tree
//! through fds, never following a link out of it.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::dir::{check_name, open_failure};
use super::error::Error;
use super::Dir;

/// How deep `remove_tree` goes before giving up: the dump is one level;
/// a bound keeps a planted deep tree from exhausting fds or the stack.
const MAX_DEPTH: usize = 16;

impl Dir {
    /// The names in this directory (without `.` and `..`), as found.
    /// Each is then opened with the checks of the operation used on it.
    pub fn names(&self) -> Result<Vec<OsString>, Error> {
        let sys = |e| Error::sys(self.path.clone(), "read directory", e);
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(self).map_err(sys)? {
            let entry = entry.map_err(sys)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                out.push(name.to_os_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Swaps the entries `a` and `b` atomically (`RENAME_EXCHANGE`), so a
    /// reader of `b` sees the old tree or the new one and never no tree.
    /// When `b` does not exist yet, `a` is renamed to `b`.
    pub fn exchange(&self, a: impl AsRef<OsStr>, b: impl AsRef<OsStr>) -> Result<(), Error> {
        let (a, b) = (a.as_ref(), b.as_ref());
        check_name(self, a)?;
        check_name(self, b)?;
        match rustix::fs::renameat_with(self, a, self, b, RenameFlags::EXCHANGE) {
            Ok(()) => Ok(()),
            Err(Errno::NOENT) => rustix::fs::renameat(self, a, self, b)
                .map_err(|e| Error::sys(self.entry_path(b), "rename", e)),
            Err(e) => Err(Error::sys(self.entry_path(b), "exchange", e)),
        }
    }

    /// Removes `name` and, when it is a directory, everything beneath it,
    /// through fds opened with `O_NOFOLLOW`: a link inside loses its name,
    /// what it points to is never touched. ENOENT is not an error.
    pub fn remove_tree(&self, name: impl AsRef<OsStr>) -> Result<(), Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        remove_below(self, name, 0)
    }
}

fn remove_below(dir: &Dir, name: &OsStr, depth: usize) -> Result<(), Error> {
    let is_dir = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(Error::sys(dir.entry_path(name), "stat", e)),
        Ok(st) => FileType::from_raw_mode(st.st_mode) == FileType::Directory,
    };
    if !is_dir {
        return dir.remove(name);
    }
    if depth >= MAX_DEPTH {
        return Err(Error::sys(
            dir.entry_path(name),
            "remove directory",
            Errno::LOOP,
        ));
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty())
        .map_err(|e| open_failure(dir, name, "open directory", e))?;
    let sub = Dir {
        fd,
        path: dir.entry_path(name),
    };
    for entry in sub.names()? {
        remove_below(&sub, &entry, depth + 1)?;
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(Error::sys(dir.entry_path(name), "remove directory", e)),
    }
}
