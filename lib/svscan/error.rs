//! Why svscan cannot run at all: returned to the entry point, which
//! prints `svscan: fatal: ...` and exits with [`Fatal::code`].

use crate::container::rundir::RunDirError;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Fatal {
    /// The signalfd could not be set up.
    Signals(nix::errno::Errno),
    /// Another svscan holds the scan directory's lock.
    Locked(PathBuf),
    /// The scan directory cannot be opened.
    OpenScandir(PathBuf, nix::errno::Errno),
    /// flock failed for another reason.
    Lock(PathBuf, nix::errno::Errno),
    /// The runtime directory is unusable (the message says what to mount).
    Rundir(RunDirError),
    /// svscan's own executable (and so the supervise next to it) is unknown.
    FindSupervise(std::io::Error),
    /// The supervise program is not executable.
    ExecSupervise(PathBuf, rustix::io::Errno),
    /// Preparing supervise's argv and environment failed.
    PrepareSupervise(std::io::Error),
    /// poll(2) itself failed.
    Poll(rustix::io::Errno),
}

impl Fatal {
    /// The exit code (svscan(8), EXIT STATUS).
    pub fn code(&self) -> i32 {
        match self {
            Fatal::Locked(_) => crate::exit::LOCKED,
            _ => crate::exit::SYSTEM,
        }
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fatal::Signals(e) => write!(f, "unable to set up signals: {}", e.desc()),
            Fatal::Locked(dir) => write!(
                f,
                "unable to lock {}: another svscan is already scanning this directory",
                dir.display()
            ),
            Fatal::OpenScandir(dir, e) => write!(
                f,
                "unable to open scan directory {}: {}",
                dir.display(),
                e.desc()
            ),
            Fatal::Lock(dir, e) => write!(f, "unable to lock {}: {}", dir.display(), e.desc()),
            Fatal::Rundir(e) => e.fmt(f),
            Fatal::FindSupervise(e) => write!(
                f,
                "unable to find supervise next to svscan (use --supervise PATH): {e}"
            ),
            Fatal::ExecSupervise(p, e) => write!(
                f,
                "unable to execute {}: {}",
                p.display(),
                crate::errstr::runit_error_str(e)
            ),
            Fatal::PrepareSupervise(e) => write!(f, "unable to prepare supervise: {e}"),
            Fatal::Poll(e) => write!(f, "unable to poll: {e}"),
        }
    }
}

impl std::error::Error for Fatal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_codes() {
        let locked = Fatal::Locked("/s".into());
        assert_eq!(locked.code(), crate::exit::LOCKED);
        assert_eq!(
            locked.to_string(),
            "unable to lock /s: another svscan is already scanning this directory"
        );
        let open = Fatal::OpenScandir("/x".into(), nix::errno::Errno::ENOENT);
        assert_eq!(open.code(), crate::exit::SYSTEM);
        assert!(open
            .to_string()
            .starts_with("unable to open scan directory /x: "));
    }
}
