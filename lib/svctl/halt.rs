//! `svctl halt [CODE]`: ask svscan (the container's init) to shut down.
//!
//! Protocol with svscan: it writes its pid to `RUNDIR/svscan.pid` at boot.
//! svctl checks that pid first (so a halt with no svscan running changes
//! nothing), writes CODE to `RUNDIR/exitcode` atomically (svscan gives
//! that file precedence over every other exit reason), then sends SIGTERM.

use crate::container::rundir;
use crate::errstr::{io_error_str, runit_error_str};
use crate::sys::kill;
use std::ffi::OsString;
use std::path::Path;

/// Why `halt` could not be done; `Display` follows `svctl: fatal: `.
#[derive(Debug, PartialEq, Eq)]
pub enum HaltError {
    Usage(String),
    Fatal(String),
}

/// Parses `[CODE]`: one decimal number 0..=255.
pub fn parse_code(args: &[OsString]) -> Result<Option<u8>, HaltError> {
    match args {
        [] => Ok(None),
        [code] => {
            let text = code.to_string_lossy();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HaltError::Usage(format!(
                    "halt: invalid exit code: {text:?} (want 0-255)"
                )));
            }
            text.parse::<u8>().map(Some).map_err(|_| {
                HaltError::Usage(format!("halt: exit code out of range: {text} (want 0-255)"))
            })
        }
        _ => Err(HaltError::Usage("halt: too many arguments".into())),
    }
}

/// svscan's pid from `RUNDIR/svscan.pid`, checked to exist.
pub fn svscan_pid(rundir: &Path) -> Result<i32, HaltError> {
    let path = rundir.join(rundir::SVSCAN_PID);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        HaltError::Fatal(format!(
            "unable to read {}: {}",
            path.display(),
            io_error_str(&e)
        ))
    })?;
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| {
            HaltError::Fatal(format!("{}: not a pid: {:?}", path.display(), text.trim()))
        })?;
    // Signal 0: is it there (and ours to signal)?
    kill(pid, 0).map_err(|e| {
        HaltError::Fatal(format!(
            "unable to signal svscan (pid {pid} from {}): {}",
            path.display(),
            runit_error_str(e)
        ))
    })?;
    Ok(pid)
}

/// Writes the exit code (if any), then sends SIGTERM to svscan.
pub fn halt(rundir: &Path, code: Option<u8>) -> Result<i32, HaltError> {
    let pid = svscan_pid(rundir)?;
    if let Some(code) = code {
        let path = rundir.join(rundir::EXITCODE);
        crate::atomic_file::replace(&path, format!("{code}\n").as_bytes()).map_err(|e| {
            HaltError::Fatal(format!(
                "unable to write {}: {}",
                path.display(),
                io_error_str(&e)
            ))
        })?;
    }
    kill(pid, libc::SIGTERM).map_err(|e| {
        HaltError::Fatal(format!(
            "unable to send SIGTERM to svscan (pid {pid}): {}",
            runit_error_str(e)
        ))
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
            assert!(matches!(p(&[bad]), Err(HaltError::Usage(_))), "{bad}");
        }
        assert!(matches!(p(&["1", "2"]), Err(HaltError::Usage(_))));
    }
}
