//! The few system interfaces that neither rustix nor nix offers safely,
//! each wrapped once so the rest of svkit stays free of `unsafe`:
//!
//! - `kill(2)` with any signal number (rustix and nix only take named
//!   signals; `down-signal` may be any of 1..=64, realtime ones included);
//! - descriptors handed over by number (an inherited log pipe, a
//!   readiness fd): checking that one is open and taking ownership;
//! - `sync_file_range(2)`, which neither wraps;
//! - `memchr`/`memrchr` for svlog's line scanning (glibc's are vectorised;
//!   a byte loop costs svlog a third of its throughput).
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Sends signal `sig` to `pid` (a process; negative: a process group;
/// -1: every process the caller may signal). `Err` carries the errno,
/// ESRCH included: the caller decides whether a vanished target matters.
pub fn kill(pid: i32, sig: i32) -> Result<(), nix::errno::Errno> {
    // SAFETY: kill(2) takes plain integers and touches no memory.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::last())
    }
}

/// Is `fd` an open descriptor of this process?
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries the descriptor table.
    fd >= 0 && unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0
}

/// Takes ownership of descriptor `fd`, which this process inherited for
/// this purpose (`None` if it is not open). The caller must be the only
/// one to claim it: two owners would close it twice.
pub fn adopt_fd(fd: RawFd) -> Option<OwnedFd> {
    if !is_open(fd) {
        return None;
    }
    // SAFETY: the descriptor is open (checked above) and, by this
    // function's contract, owned by nothing else in the process.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A closed 0, 1 or 2 would be taken by the next descriptor opened and
/// then clobbered in the children; park /dev/null there instead.
pub fn ensure_std_fds() {
    for fd in 0..3 {
        if !is_open(fd) {
            // open() returns the lowest free descriptor, which is `fd`.
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                std::mem::forget(null);
            }
        }
    }
}

/// Starts writeback of `len` bytes at `from` of `file` without waiting
/// for it (svlog keeps the page cache from piling up dirty pages).
pub fn start_writeback(file: &impl std::os::fd::AsRawFd, from: i64, len: i64) {
    // SAFETY: a plain system call on a descriptor the caller owns; no
    // memory is passed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Is `fd` a terminal?
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty takes a plain integer.
    unsafe { libc::isatty(fd) == 1 }
}

/// Index of the first `byte` in `hay`.
#[inline]
pub fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: the pointer and length describe the live slice `hay`; memchr
    // reads at most `hay.len()` bytes and returns null or a pointer into it.
    let p = unsafe { libc::memchr(hay.as_ptr().cast(), i32::from(byte), hay.len()) };
    (!p.is_null()).then(|| p as usize - hay.as_ptr() as usize)
}

/// Index of the last `byte` in `hay`.
#[inline]
pub fn memrchr(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: as in `memchr`; memrchr scans the same bounded range backwards.
    let p = unsafe { libc::memrchr(hay.as_ptr().cast(), i32::from(byte), hay.len()) };
    (!p.is_null()).then(|| p as usize - hay.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_search() {
        assert_eq!(memchr(b'\n', b"ab\ncd\n"), Some(2));
        assert_eq!(memrchr(b'\n', b"ab\ncd\n"), Some(5));
        assert_eq!(memchr(b'x', b""), None);
        assert_eq!(memrchr(b'x', b"abc"), None);
    }

    #[test]
    fn descriptors() {
        assert!(is_open(0) || is_open(1) || is_open(2));
        assert!(!is_open(-1));
        assert!(adopt_fd(1 << 20).is_none());
    }

    #[test]
    fn kill_reports_errors() {
        // Signal 0 to ourselves checks permission only.
        assert!(kill(std::process::id() as i32, 0).is_ok());
        assert_eq!(kill(i32::MAX, 0), Err(nix::errno::Errno::ESRCH));
    }
}
