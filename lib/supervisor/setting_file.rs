//! Reading one settings file of a service directory without trusting it:
//! a FIFO there must not hang supervise in `open` or `read`, a huge file
//! must not bloat it, and a symlink is not followed (issue 13, finding 8).
//! So: `O_NONBLOCK|O_NOFOLLOW`, `fstat` of the opened descriptor, a
//! regular file only, at most [`MAX_BYTES`] read.

use crate::errstr::runit_error_str;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

/// More than any setting needs (they are one short line); a larger file
/// is refused rather than read.
pub const MAX_BYTES: usize = 4096;

/// Why a settings file present in the directory is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// A FIFO, directory, device, socket or symlink.
    NotRegular(&'static str),
    TooLarge(u64),
    Io(Errno),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::NotRegular(kind) => write!(f, "not a regular file but a {kind}"),
            Unusable::TooLarge(n) => write!(f, "too large ({n} bytes, at most {MAX_BYTES})"),
            Unusable::Io(e) => f.write_str(runit_error_str(*e)),
        }
    }
}

/// The bytes of `path`, `Ok(None)` if it does not exist.
pub fn read(path: &str) -> Result<Option<Vec<u8>>, Unusable> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        // O_NOFOLLOW on a symlink.
        Err(Errno::LOOP) => return Err(Unusable::NotRegular("symlink")),
        Err(e) => return Err(Unusable::Io(e)),
    };
    let st = rustix::fs::fstat(&fd).map_err(Unusable::Io)?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => None,
        FileType::Fifo => Some("fifo"),
        FileType::Directory => Some("directory"),
        FileType::Socket => Some("socket"),
        FileType::CharacterDevice | FileType::BlockDevice => Some("device"),
        _ => Some("special file"),
    };
    if let Some(kind) = kind {
        return Err(Unusable::NotRegular(kind));
    }
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if size > MAX_BYTES as u64 {
        return Err(Unusable::TooLarge(size));
    }
    // Read one byte more than allowed: a file that grew after fstat is
    // still refused rather than cut.
    let mut buf = vec![0u8; MAX_BYTES + 1];
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Unusable::Io(e)),
        }
    }
    if len > MAX_BYTES {
        return Err(Unusable::TooLarge(len as u64));
    }
    buf.truncate(len);
    Ok(Some(buf))
}
