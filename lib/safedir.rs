//! A runtime directory that others may be able to write, used so that it
//! cannot be turned against root (issue 13, finding 1).
//!
//! Every program opens its runtime state through here: the base directory
//! is opened as an fd and judged by `fstat` of that fd ([`trust::judge`]);
//! in a directory others can write, svkit works only in a private 0700
//! subdirectory it created and verified; and beneath that everything goes
//! through directory fds: `openat` with `O_NOFOLLOW`, `O_EXCL` for new
//! files, `O_NONBLOCK` and a regular-file check before any read, FIFOs
//! checked by `fstat` of the opened fd. A path is kept only for messages.
//!
//! Owners: what svkit creates or writes must be owned by its effective
//! uid; what it only reads may also be owned by root. Anything else, a
//! wrong type, a wrong mode, a symbolic link or a second hard link is
//! refused with an [`Error`] whose Display is one line, `PATH: why`.

mod dir;
mod error;
mod fifo;
mod files;
mod tree;
pub mod trust;

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub use error::{Error, Kind, Refusal};
pub use trust::Verdict;

/// An open directory svkit has verified, with its path for messages.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// The path this directory was opened by (for messages; it may since
    /// have been renamed, which the fd does not care about).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of an entry, for messages and for programs that must hand
    /// a path to a child (prefer the fd everywhere else).
    pub fn entry_path(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    /// A second fd for the same directory.
    pub fn try_clone(&self) -> Result<Dir, Error> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::sys(self.path.clone(), "dup", errno_of(&e)))?;
        Ok(Dir {
            fd,
            path: self.path.clone(),
        })
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Whether a missing entry is created or reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Create it (with the required mode) when it does not exist.
    IfMissing,
    /// Only open and verify what is there (readers such as svctl).
    No,
}

/// Opens `base` and judges it (see [`trust::judge`]). The path itself is
/// followed as given by the operator (`/var/run -> /run` is common); the
/// verdict is about the directory actually opened.
pub fn open_base(base: &Path) -> Result<(Dir, Verdict), Error> {
    dir::open_base(base)
}

/// The one call for a runtime directory: opens `base`, and when it is
/// private returns it; when others can write it returns the private
/// subdirectory `private_name` beneath it (created 0700 when `create`
/// allows, and in every case verified: ours, a directory, mode exactly
/// 0700); when it is refused, says why.
///
/// A `base` that does not exist yet is, with [`Create::IfMissing`],
/// created as a private 0700 directory in its parent (which must exist),
/// by the same checks: that is the private subdirectory rule applied one
/// level up, so `/run/svkit` in an emptyDir at `/run` is safe too, and
/// every later call (svctl's included) finds `base` private.
pub fn runtime_root(base: &Path, private_name: &str, create: Create) -> Result<Dir, Error> {
    let (dir, verdict) = match open_base(base) {
        Err(e) if e.is_not_found() && create == Create::IfMissing => {
            return create_base(base).unwrap_or(Err(e));
        }
        other => other?,
    };
    match verdict {
        Verdict::Private => Ok(dir),
        Verdict::SharedNeedsPrivateSubdir { .. } => dir.subdir(private_name, PRIVATE_MODE, create),
        Verdict::Refused(why) => Err(Error::new(dir.path, why)),
    }
}

/// Creates a missing `base` as a private directory in its parent; `None`
/// when `base` has no parent or name to do that with.
fn create_base(base: &Path) -> Option<Result<Dir, Error>> {
    let name = base.file_name()?;
    let parent = match base.parent()? {
        p if p.as_os_str().is_empty() => Path::new("."),
        p => p,
    };
    Some(
        open_base(parent).and_then(|(parent, verdict)| match verdict {
            Verdict::Refused(why) => Err(Error::new(parent.path, why)),
            _ => parent.subdir(name, PRIVATE_MODE, Create::IfMissing),
        }),
    )
}

/// The name of svkit's private subdirectory in a shared base:
/// `svkit-EUID`, so that two uids sharing one emptyDir each get their own,
/// and root never looks into (or trusts) a user's.
pub fn private_name() -> String {
    format!("svkit-{}", euid())
}

/// The mode of a private directory svkit creates in a shared one.
pub const PRIVATE_MODE: u32 = 0o700;
/// The mode of a FIFO svkit creates (runit's `supervise/control`, `ok`).
pub const FIFO_MODE: u32 = 0o600;

pub(crate) fn errno_of(e: &std::io::Error) -> rustix::io::Errno {
    rustix::io::Errno::from_io_error(e).unwrap_or(rustix::io::Errno::IO)
}

pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The link count as u64: `st_nlink` is u64 on x86_64 but u32 on some
/// 32-bit targets.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn nlink(st: &rustix::fs::Stat) -> u64 {
    st.st_nlink as u64
}
