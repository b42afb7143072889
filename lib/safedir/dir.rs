//! Opening directories: the base (judged), and subdirectories beneath a
//! verified one (created or reused, never through a symbolic link).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, Stat, CWD};
use rustix::io::Errno;

use super::error::{Error, Kind, Refusal};
use super::trust::{self, Verdict};
use super::{euid, nlink, Create, Dir};

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY);

pub(super) fn open_base(base: &Path) -> Result<(Dir, Verdict), Error> {
    let fd = rustix::fs::openat(CWD, base, DIR_FLAGS, Mode::empty())
        .map_err(|e| Error::sys(base.to_path_buf(), "open directory", e))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::sys(base.to_path_buf(), "fstat", e))?;
    let verdict = trust::judge(st.st_mode, st.st_uid, euid());
    Ok((
        Dir {
            fd,
            path: base.to_path_buf(),
        },
        verdict,
    ))
}

/// Checks that `name` is one plain component: `openat` would otherwise
/// walk out of the directory (`..`, `a/b`, an absolute path).
pub(super) fn check_name(dir: &Dir, name: &OsStr) -> Result<(), Error> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') || b.contains(&0) {
        return Err(Error::new(dir.entry_path(name), Refusal::BadName));
    }
    Ok(())
}

/// Turns a failed `openat(O_NOFOLLOW ...)` into the refusal that says what
/// the entry really is: ELOOP is a symbolic link; ENOTDIR (with
/// `O_DIRECTORY`) is something else, which `fstatat` names.
pub(super) fn open_failure(dir: &Dir, name: &OsStr, op: &'static str, e: Errno) -> Error {
    let path = dir.entry_path(name);
    match e {
        Errno::LOOP => Error::new(path, Refusal::Symlink),
        // Linux reports a link opened with O_DIRECTORY|O_NOFOLLOW as
        // ENOTDIR, not ELOOP.
        Errno::NOTDIR => match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if Kind::of_mode(st.st_mode) == Kind::Symlink => {
                Error::new(path, Refusal::Symlink)
            }
            Ok(st) => Error::new(
                path,
                Refusal::WrongKind {
                    found: Kind::of_mode(st.st_mode),
                    want: Kind::Directory,
                },
            ),
            Err(e) => Error::sys(path, op, e),
        },
        e => Error::sys(path, op, e),
    }
}

/// Whose entries are accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// Only svkit's effective uid: what it creates, writes or reads from.
    Us,
    /// Also root: what a reader (svctl as a user) only looks at.
    UsOrRoot,
}

/// The checks for something svkit uses: its type, owner, a single name
/// (for non-directories), and the permission bits exactly `want_mode`
/// (when given).
pub(super) fn verify(
    path: &Path,
    st: &Stat,
    want: Kind,
    owner: Owner,
    want_mode: Option<u32>,
) -> Result<(), Error> {
    let found = Kind::of_mode(st.st_mode);
    if found != want {
        return Err(Error::new(path.into(), Refusal::WrongKind { found, want }));
    }
    let me = euid();
    if st.st_uid != me && !(owner == Owner::UsOrRoot && st.st_uid == 0) {
        return Err(Error::new(
            path.into(),
            Refusal::WrongOwner {
                uid: st.st_uid,
                want: me,
            },
        ));
    }
    if want != Kind::Directory && st.st_nlink > 1 {
        return Err(Error::new(
            path.into(),
            Refusal::HardLinked { links: nlink(st) },
        ));
    }
    let mode = st.st_mode & 0o7777;
    match want_mode {
        Some(w) if mode != w => Err(Error::new(
            path.into(),
            Refusal::WrongMode { mode, want: w },
        )),
        _ => Ok(()),
    }
}

impl Dir {
    /// Opens (and with [`Create::IfMissing`] first creates) the
    /// subdirectory `name` and verifies the opened fd: a directory, owned
    /// by us, mode exactly `mode`. A symbolic link in its place, or a
    /// directory someone else made, is refused, never used. With
    /// [`Create::No`] (a reader) a directory of root's is accepted too.
    pub fn subdir(&self, name: impl AsRef<OsStr>, mode: u32, create: Create) -> Result<Dir, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let path = self.entry_path(name);
        let created = match create {
            Create::No => false,
            Create::IfMissing => match rustix::fs::mkdirat(self, name, Mode::from_raw_mode(mode)) {
                Ok(()) => true,
                Err(Errno::EXIST) => false,
                Err(e) => return Err(Error::sys(path, "mkdir", e)),
            },
        };
        let fd = rustix::fs::openat(self, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|e| open_failure(self, name, "open directory", e))?;
        let dir = Dir { fd, path };
        let stat = |dir: &Dir| {
            rustix::fs::fstat(dir).map_err(|e| Error::sys(dir.path.clone(), "fstat", e))
        };
        // Type and owner before any chmod: in a directory others can
        // write, the name may already point at someone else's directory.
        // A reader also accepts root's directory (svctl as a user).
        let owner = match create {
            Create::IfMissing => Owner::Us,
            Create::No => Owner::UsOrRoot,
        };
        verify(&dir.path, &stat(&dir)?, Kind::Directory, owner, None)?;
        if created {
            // The umask may have taken bits away; the mode is ours to set.
            rustix::fs::fchmod(&dir, Mode::from_raw_mode(mode))
                .map_err(|e| Error::sys(dir.path.clone(), "chmod", e))?;
        }
        verify(&dir.path, &stat(&dir)?, Kind::Directory, owner, Some(mode))?;
        Ok(dir)
    }

    /// Like [`Dir::subdir`] with creation, but an operator's symbolic
    /// link at `name` is followed, once: Debian's runit packages ship
    /// `supervise -> /run/runit/supervise.web`, whose target vanishes
    /// with the tmpfs at every boot. Only for a directory judged
    /// [`super::Verdict::Private`] (then the link is root's or ours, not
    /// planted). The link's target is created in its parent, which must
    /// itself judge private, and is verified like any subdirectory.
    pub fn linked_subdir(&self, name: impl AsRef<OsStr>, mode: u32) -> Result<Dir, Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        let path = self.entry_path(name);
        match rustix::fs::statat(self, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if Kind::of_mode(st.st_mode) == Kind::Symlink => {}
            _ => return self.subdir(name, mode, Create::IfMissing),
        }
        let target = rustix::fs::readlinkat(self, name, Vec::new())
            .map_err(|e| Error::sys(path.clone(), "readlink", e))?;
        let target = Path::new(OsStr::from_bytes(target.as_bytes()));
        // A relative target is relative to the directory holding the link.
        let target = self.path.join(target);
        let (Some(parent), Some(leaf)) = (target.parent(), target.file_name()) else {
            return Err(Error::new(target, Refusal::BadName));
        };
        let (parent, verdict) = open_base(parent)?;
        if verdict != Verdict::Private {
            let st = rustix::fs::fstat(&parent)
                .map_err(|e| Error::sys(parent.path.clone(), "fstat", e))?;
            return Err(Error::new(
                parent.path,
                Refusal::NotPrivate {
                    uid: st.st_uid,
                    mode: st.st_mode & 0o7777,
                },
            ));
        }
        parent.subdir(leaf, mode, Create::IfMissing)
    }

    /// Removes the entry `name` (a file, FIFO or symbolic link: the name
    /// goes, never what a link points to). ENOENT is not an error.
    pub fn remove(&self, name: impl AsRef<OsStr>) -> Result<(), Error> {
        let name = name.as_ref();
        check_name(self, name)?;
        match rustix::fs::unlinkat(self, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(Error::sys(self.entry_path(name), "unlink", e)),
        }
    }
}
