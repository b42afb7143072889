//! Error texts exactly as runit prints them (its `error_str` table), so that
//! `svctl` output is byte-identical to `sv` output that scripts already parse.

use nix::errno::Errno;

/// Anything that carries an errno value: nix's and rustix's error types
/// and `std::io::Error`, so that no caller converts between them.
pub trait ErrorNumber {
    /// The errno value (0 when there is none).
    fn number(&self) -> i32;
}

impl ErrorNumber for Errno {
    fn number(&self) -> i32 {
        *self as i32
    }
}

impl ErrorNumber for rustix::io::Errno {
    fn number(&self) -> i32 {
        self.raw_os_error()
    }
}

impl ErrorNumber for std::io::Error {
    fn number(&self) -> i32 {
        self.raw_os_error().unwrap_or(0)
    }
}

impl ErrorNumber for i32 {
    fn number(&self) -> i32 {
        *self
    }
}

impl<T: ErrorNumber + ?Sized> ErrorNumber for &T {
    fn number(&self) -> i32 {
        (**self).number()
    }
}

/// runit's wording for an errno value: the `error_str` table of runit
/// 2.1.2 (`src/error_str.c`, djb's public-domain table), in its order, for
/// the values Linux has. EWOULDBLOCK is EAGAIN on Linux, so the earlier
/// "temporary failure" entry wins, as in runit's binary.
pub fn runit_error_str(e: impl ErrorNumber) -> &'static str {
    use Errno::*;
    match Errno::from_raw(e.number()) {
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
        ECONNREFUSED => "connection refused",
        ENOTDIR => "not a directory",
        ESRCH => "no such process",
        E2BIG => "argument list too long",
        ENOEXEC => "exec format error",
        EBADF => "file descriptor not open",
        ECHILD => "no child processes",
        EDEADLK => "operation would cause deadlock",
        EFAULT => "bad address",
        ENOTBLK => "not a block device",
        EBUSY => "device busy",
        EXDEV => "cross-device link",
        ENODEV => "device does not support operation",
        EINVAL => "invalid argument",
        ENFILE => "system cannot open more files",
        EMFILE => "process cannot open more files",
        ENOTTY => "not a tty",
        EFBIG => "file too big",
        ENOSPC => "out of disk space",
        ESPIPE => "unseekable descriptor",
        EROFS => "read-only file system",
        EMLINK => "too many links",
        EDOM => "input out of range",
        ERANGE => "output out of range",
        EALREADY => "operation already in progress",
        ENOTSOCK => "not a socket",
        EDESTADDRREQ => "destination address required",
        EMSGSIZE => "message too long",
        EPROTOTYPE => "incorrect protocol type",
        ENOPROTOOPT => "protocol not available",
        EPROTONOSUPPORT => "protocol not supported",
        ESOCKTNOSUPPORT => "socket type not supported",
        EOPNOTSUPP => "operation not supported",
        EPFNOSUPPORT => "protocol family not supported",
        EAFNOSUPPORT => "address family not supported",
        EADDRINUSE => "address already used",
        EADDRNOTAVAIL => "address not available",
        ENETDOWN => "network down",
        ENETUNREACH => "network unreachable",
        ENETRESET => "network reset",
        ECONNABORTED => "connection aborted",
        ECONNRESET => "connection reset",
        ENOBUFS => "out of buffer space",
        EISCONN => "already connected",
        ENOTCONN => "not connected",
        ESHUTDOWN => "socket shut down",
        ETOOMANYREFS => "too many references",
        ELOOP => "symbolic link loop",
        ENAMETOOLONG => "file name too long",
        EHOSTDOWN => "host down",
        EHOSTUNREACH => "host unreachable",
        ENOTEMPTY => "directory not empty",
        EUSERS => "too many users",
        EDQUOT => "disk quota exceeded",
        ESTALE => "stale NFS file handle",
        EREMOTE => "too many levels of remote in path",
        ENOLCK => "no locks available",
        ENOSYS => "system call not available",
        ENOSTR => "not a stream device",
        ETIME => "timer expired",
        ENOSR => "out of stream resources",
        ENOMSG => "no message of desired type",
        EBADMSG => "bad message type",
        EIDRM => "identifier removed",
        ENONET => "machine not on network",
        ENOLINK => "link severed",
        EADV => "advertise error",
        ESRMNT => "srmount error",
        ECOMM => "communication error",
        EMULTIHOP => "multihop attempted",
        EREMCHG => "remote address changed",
        _ => "unknown error",
    }
}

/// runit's wording for an `std::io::Error` (falls back to "unknown error").
pub fn io_error_str(e: &std::io::Error) -> &'static str {
    runit_error_str(e)
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

    #[test]
    fn entries_that_differ_from_strerror() {
        // Checked against runit 2.1.2 src/error_str.c and `strings /usr/bin/sv`.
        assert_eq!(
            runit_error_str(Errno::ENODEV),
            "device does not support operation"
        );
        assert_eq!(
            runit_error_str(Errno::ENFILE),
            "system cannot open more files"
        );
        assert_eq!(
            runit_error_str(Errno::EMFILE),
            "process cannot open more files"
        );
        assert_eq!(runit_error_str(Errno::ENOTTY), "not a tty");
        assert_eq!(
            runit_error_str(Errno::EDEADLK),
            "operation would cause deadlock"
        );
        assert_eq!(runit_error_str(Errno::EWOULDBLOCK), "temporary failure");
        assert_eq!(runit_error_str(Errno::EFAULT), "bad address");
        assert_eq!(runit_error_str(Errno::UnknownErrno), "unknown error");
        assert_eq!(
            runit_error_str(rustix::io::Errno::NOENT),
            "file does not exist"
        );
        assert_eq!(
            runit_error_str(std::io::Error::from(std::io::ErrorKind::Other)),
            "unknown error"
        );
    }
}
