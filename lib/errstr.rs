//! Error texts exactly as runit prints them (its `error_str` table), so that
//! `svctl` output is byte-identical to `sv` output that scripts already parse.

use nix::errno::Errno;

/// runit's wording for an errno value.
pub fn runit_error_str(e: Errno) -> &'static str {
    use Errno::*;
    match e {
        EINTR => "interrupted system call",
        ENOMEM => "out of memory",
        ENOENT => "file does not exist",
        ETXTBSY => "text busy",
        EIO => "input/output error",
        EEXIST => "file already exists",
        ETIMEDOUT => "timed out",
        EINPROGRESS => "operation in progress",
        EAGAIN => "temporary failure",
        EPIPE => "broken pipe",
        EPERM => "permission denied",
        EACCES => "access denied",
        ENXIO => "device not configured",
        EPROTO => "protocol error",
        EISDIR => "is a directory",
        ESPIPE => "unseekable descriptor",
        EBADF => "file descriptor not open",
        ENOTDIR => "not a directory",
        ECONNREFUSED => "connection refused",
        EHOSTUNREACH => "host unreachable",
        ENOSPC => "out of disk space",
        ENAMETOOLONG => "file name too long",
        ELOOP => "symbolic link loop",
        EROFS => "read-only file system",
        EINVAL => "invalid argument",
        ENOTEMPTY => "directory not empty",
        EXDEV => "cross-device link",
        ECHILD => "no child processes",
        ESRCH => "no such process",
        E2BIG => "argument list too long",
        ENOEXEC => "exec format error",
        EBUSY => "device busy",
        ENFILE => "file table full",
        EMFILE => "too many open files",
        EFBIG => "file too big",
        EMLINK => "too many links",
        EDOM => "input out of range",
        ERANGE => "output out of range",
        EDEADLK => "deadlock",
        ENOLCK => "no locks available",
        ENOSYS => "system call not available",
        ENODEV => "device not configured",
        ENOTTY => "inappropriate ioctl for device",
        ESTALE => "stale NFS file handle",
        EDQUOT => "disk quota exceeded",
        ECONNRESET => "connection reset",
        EADDRINUSE => "address already used",
        ENETUNREACH => "network unreachable",
        _ => "unknown error",
    }
}

/// runit's wording for an `std::io::Error` (falls back to "unknown error").
pub fn io_error_str(e: &std::io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(n) => runit_error_str(Errno::from_raw(n)),
        None => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_texts_match_runit() {
        assert_eq!(runit_error_str(Errno::ENOENT), "file does not exist");
        assert_eq!(runit_error_str(Errno::ENXIO), "device not configured");
        assert_eq!(runit_error_str(Errno::EAGAIN), "temporary failure");
        assert_eq!(runit_error_str(Errno::EACCES), "access denied");
    }
}
