//! The pipe from the service's stdout to the logger's stdin. supervise
//! holds both ends for its whole life (protocol §5.9), so a logger restart
//! never loses a line and the service never gets EPIPE.
//!
//! `SVKIT_LOG_PIPE=RFD,WFD` hands supervise a pipe created by its parent
//! (svscan keeps its own copies, so even a SIGKILL of supervise loses no
//! line). The variable is removed so the service does not inherit it.

use std::os::fd::{OwnedFd, RawFd};

pub const ENV: &str = "SVKIT_LOG_PIPE";

pub struct LogPipe {
    pub r: OwnedFd,
    pub w: OwnedFd,
    /// Inherited through SVKIT_LOG_PIPE: another process holds the pipe
    /// too, so the logger will not see EOF when we close our ends.
    pub external: bool,
}

/// `SVKIT_LOG_PIPE` does not name two open descriptors; carries the value
/// for the warning.
#[derive(Debug)]
pub struct InvalidValue(pub String);

/// Takes the inherited pipe named by `SVKIT_LOG_PIPE` (removing the
/// variable in any case).
pub fn take_inherited() -> Result<Option<LogPipe>, InvalidValue> {
    let Some(value) = std::env::var_os(ENV) else {
        return Ok(None);
    };
    std::env::remove_var(ENV);
    let value = value.to_string_lossy().into_owned();
    let parse = |s: &str| -> Option<RawFd> {
        let n: RawFd = s.trim().parse().ok()?;
        crate::sys::is_open(n).then_some(n)
    };
    let invalid = || InvalidValue(value.clone());
    let (r, w) = value.split_once(',').ok_or_else(invalid)?;
    match (parse(r), parse(w)) {
        (Some(r), Some(w)) if r != w && r > 2 && w > 2 => {
            // Both were handed to us for this purpose; nothing else in this
            // process claims them.
            let (Some(r), Some(w)) = (crate::sys::adopt_fd(r), crate::sys::adopt_fd(w)) else {
                return Err(invalid());
            };
            for fd in [&r, &w] {
                let _ = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC);
            }
            Ok(Some(LogPipe {
                r,
                w,
                external: true,
            }))
        }
        _ => Err(invalid()),
    }
}

pub fn create() -> std::io::Result<LogPipe> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok(LogPipe {
        r,
        w,
        external: false,
    })
}
