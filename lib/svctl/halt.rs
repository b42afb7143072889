//! `svctl halt [CODE]`: ask svscan (the container's init) to shut down.
//!
//! Protocol with svscan: it writes its pid to `RUNDIR/svscan.pid` at boot.
//! svctl checks that pid first (so a halt with no svscan running changes
//! nothing), writes CODE to `RUNDIR/exitcode` atomically (svscan gives
//! that file precedence over every other exit reason), then sends SIGTERM.

use crate::container::rundir;
use crate::errstr::{runit_error_str, ErrorNumber};
use crate::sys::kill;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why `halt` could not be done; `Display` follows `svctl: fatal: `
/// (or `svctl: ` for a usage error).
#[derive(Debug, PartialEq, Eq)]
pub enum HaltError {
    /// CODE is not a decimal number.
    InvalidCode(String),
    /// CODE is above 255.
    CodeOutOfRange(String),
    TooManyArguments,
    /// `svscan.pid` could not be read (errno).
    ReadPid {
        path: PathBuf,
        errno: i32,
    },
    NotAPid {
        path: PathBuf,
        text: String,
    },
    /// The pid in `svscan.pid` cannot be signalled (errno).
    NoSvscan {
        pid: i32,
        path: PathBuf,
        errno: i32,
    },
    /// `exitcode` could not be written (errno).
    WriteCode {
        path: PathBuf,
        errno: i32,
    },
    /// SIGTERM could not be sent (errno).
    Term {
        pid: i32,
        errno: i32,
    },
}

impl HaltError {
    /// A usage error (exit 100, usage line) rather than a fatal one.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            HaltError::InvalidCode(_) | HaltError::CodeOutOfRange(_) | HaltError::TooManyArguments
        )
    }
}

impl fmt::Display for HaltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HaltError::InvalidCode(text) => {
                write!(f, "halt: invalid exit code: {text:?} (want 0-255)")
            }
            HaltError::CodeOutOfRange(text) => {
                write!(f, "halt: exit code out of range: {text} (want 0-255)")
            }
            HaltError::TooManyArguments => f.write_str("halt: too many arguments"),
            HaltError::ReadPid { path, errno } => write!(
                f,
                "unable to read {}: {}",
                path.display(),
                runit_error_str(*errno)
            ),
            HaltError::NotAPid { path, text } => {
                write!(f, "{}: not a pid: {text:?}", path.display())
            }
            HaltError::NoSvscan { pid, path, errno } => write!(
                f,
                "unable to signal svscan (pid {pid} from {}): {}",
                path.display(),
                runit_error_str(*errno)
            ),
            HaltError::WriteCode { path, errno } => write!(
                f,
                "unable to write {}: {}",
                path.display(),
                runit_error_str(*errno)
            ),
            HaltError::Term { pid, errno } => write!(
                f,
                "unable to send SIGTERM to svscan (pid {pid}): {}",
                runit_error_str(*errno)
            ),
        }
    }
}

impl std::error::Error for HaltError {}

/// Parses `[CODE]`: one decimal number 0..=255.
pub fn parse_code(args: &[OsString]) -> Result<Option<u8>, HaltError> {
    match args {
        [] => Ok(None),
        [code] => {
            let text = code.to_string_lossy().into_owned();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HaltError::InvalidCode(text));
            }
            match text.parse::<u8>() {
                Ok(c) => Ok(Some(c)),
                Err(_) => Err(HaltError::CodeOutOfRange(text)),
            }
        }
        _ => Err(HaltError::TooManyArguments),
    }
}

/// svscan's pid from `RUNDIR/svscan.pid`, checked to exist.
pub fn svscan_pid(rundir: &Path) -> Result<i32, HaltError> {
    let path = rundir.join(rundir::SVSCAN_PID);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Err(HaltError::ReadPid {
                errno: e.number(),
                path,
            })
        }
    };
    let Some(pid) = text.trim().parse::<i32>().ok().filter(|&p| p > 0) else {
        return Err(HaltError::NotAPid {
            text: text.trim().to_string(),
            path,
        });
    };
    // Signal 0: is it there (and ours to signal)?
    match kill(pid, 0) {
        Ok(()) => Ok(pid),
        Err(e) => Err(HaltError::NoSvscan {
            pid,
            path,
            errno: e.number(),
        }),
    }
}

/// Writes the exit code (if any), then sends SIGTERM to svscan.
pub fn halt(rundir: &Path, code: Option<u8>) -> Result<i32, HaltError> {
    let pid = svscan_pid(rundir)?;
    if let Some(code) = code {
        let path = rundir.join(rundir::EXITCODE);
        if let Err(e) = crate::atomic_file::replace(&path, format!("{code}\n").as_bytes()) {
            return Err(HaltError::WriteCode {
                errno: e.number(),
                path,
            });
        }
    }
    kill(pid, libc::SIGTERM).map_err(|e| HaltError::Term {
        pid,
        errno: e.number(),
    })?;
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Option<u8>, HaltError> {
        parse_code(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn codes() {
        assert_eq!(p(&[]), Ok(None));
        assert_eq!(p(&["0"]), Ok(Some(0)));
        assert_eq!(p(&["255"]), Ok(Some(255)));
        assert_eq!(p(&["007"]), Ok(Some(7)));
        for bad in ["256", "-1", "x", "", "7x", " 7"] {
            assert!(p(&[bad]).unwrap_err().is_usage(), "{bad}");
        }
        assert_eq!(p(&["1", "2"]), Err(HaltError::TooManyArguments));
        assert_eq!(
            p(&["256"]).unwrap_err().to_string(),
            "halt: exit code out of range: 256 (want 0-255)"
        );
    }
}
