//! Why a runtime-directory entry was refused: one typed value per reason,
//! each printed as one line (`PATH: why`) so a program can say
//! `NAME: fatal: PATH: why` without adding anything.

use std::fmt;
use std::path::PathBuf;

use crate::errstr::runit_error_str;

/// What an entry turned out to be, for the messages that say
/// "is a X, not a Y".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Regular,
    Fifo,
    Symlink,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl Kind {
    pub(crate) fn of_mode(mode: u32) -> Kind {
        use rustix::fs::FileType as T;
        match T::from_raw_mode(mode) {
            T::Directory => Kind::Directory,
            T::RegularFile => Kind::Regular,
            T::Fifo => Kind::Fifo,
            T::Symlink => Kind::Symlink,
            T::Socket => Kind::Socket,
            T::CharacterDevice => Kind::CharDevice,
            T::BlockDevice => Kind::BlockDevice,
            T::Unknown => Kind::Unknown,
        }
    }

    fn article(self) -> &'static str {
        match self {
            Kind::Directory => "a directory",
            Kind::Regular => "a regular file",
            Kind::Fifo => "a FIFO",
            Kind::Symlink => "a symbolic link",
            Kind::Socket => "a socket",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Unknown => "of unknown type",
        }
    }
}

/// The reason an entry was refused or an operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A system call failed (`op` is its name, for the message).
    Sys {
        op: &'static str,
        errno: rustix::io::Errno,
    },
    /// The entry is a symbolic link; nothing is ever followed beneath a
    /// runtime directory.
    Symlink,
    /// The entry exists but has the wrong type.
    WrongKind { found: Kind, want: Kind },
    /// Owned by a uid that is neither svkit's effective uid nor root
    /// (whoever owns it can replace it at will).
    WrongOwner { uid: u32, want: u32 },
    /// Permission bits other than the required ones (`mode` and `want`
    /// are the low 12 bits).
    WrongMode { mode: u32, want: u32 },
    /// A directory others can write where only a private one will do
    /// (the target of a `supervise -> /run/runit/supervise.web` link).
    NotPrivate { uid: u32, mode: u32 },
    /// A regular file with more than one name: it may be a hard link to a
    /// file elsewhere (`/etc/shadow`), so it is neither read nor written.
    HardLinked { links: u64 },
    /// A file bigger than the caller's bound.
    TooLarge { limit: usize },
    /// A name that is not one plain path component.
    BadName,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Sys { op, errno } => {
                write!(f, "unable to {op}: {}", runit_error_str(errno))
            }
            Refusal::Symlink => f.write_str("is a symbolic link (refusing to follow it)"),
            Refusal::WrongKind { found, want } => {
                write!(f, "is {}, not {}", found.article(), want.article())
            }
            Refusal::WrongOwner { uid, want } => {
                write!(f, "is owned by uid {uid}, not by uid {want}")
            }
            Refusal::WrongMode { mode, want } => {
                write!(f, "has mode {mode:04o}, not {want:04o}")
            }
            Refusal::NotPrivate { uid, mode } => write!(
                f,
                "is writable by others (uid {uid}, mode {mode:04o}): a link may only lead \
                 into a directory only we or root can write"
            ),
            Refusal::HardLinked { links } => {
                write!(
                    f,
                    "has {links} hard links (it may be a link to another file)"
                )
            }
            Refusal::TooLarge { limit } => write!(f, "is larger than {limit} bytes"),
            Refusal::BadName => f.write_str("is not a plain file name"),
        }
    }
}

/// A refusal with the path it concerns (for the message only: every
/// operation itself goes through directory fds, never this path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub path: PathBuf,
    pub refusal: Refusal,
}

impl Error {
    pub(crate) fn new(path: PathBuf, refusal: Refusal) -> Error {
        Error { path, refusal }
    }

    pub(crate) fn sys(path: PathBuf, op: &'static str, errno: rustix::io::Errno) -> Error {
        Error::new(path, Refusal::Sys { op, errno })
    }

    /// The errno when a system call failed, so a caller can tell
    /// "does not exist" (ENOENT) from a refusal.
    pub fn errno(&self) -> Option<rustix::io::Errno> {
        match self.refusal {
            Refusal::Sys { errno, .. } => Some(errno),
            _ => None,
        }
    }

    /// True when the entry simply does not exist.
    pub fn is_not_found(&self) -> bool {
        self.errno() == Some(rustix::io::Errno::NOENT)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.refusal)
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        let kind = match e.errno() {
            Some(errno) => std::io::Error::from_raw_os_error(errno.raw_os_error()).kind(),
            None => std::io::ErrorKind::PermissionDenied,
        };
        std::io::Error::new(kind, e)
    }
}
