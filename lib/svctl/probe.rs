//! Reading one supervisor's state: liveness through `supervise/ok`, the
//! 20-byte (or daemontools 18-byte) `status`, and svkit's `svkit-status`.

use super::resolve::supervise_path;
use crate::extstatus::ExtStatus;
use crate::servicedir::{supervise_files as f, NOTIFICATION_FD};
use crate::status::Status;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use std::path::Path;

/// Outcome of `sv`'s `svstatus_get`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The supervisor listens; its status record.
    Alive(Status),
    /// `supervise/ok` has no reader (ENXIO): "runsv not running".
    NotRunning,
    /// Any other failure: `sv`'s message and the errno it appends (if any).
    Failed {
        what: &'static str,
        errno: Option<Errno>,
    },
}

impl Probe {
    /// No supervisor yet (none listening, or `ok`/`supervise/` missing):
    /// worth waiting for one to appear.
    pub fn supervisor_absent(&self) -> bool {
        match self {
            Probe::NotRunning => true,
            // No `ok` yet, or `ok` but no `status` yet: a supervisor that is
            // still starting up (it creates `ok` before its first status).
            Probe::Failed { what, errno } => {
                (*what == OPEN_OK || *what == OPEN_STATUS) && *errno == Some(Errno::ENOENT)
            }
            Probe::Alive(_) => false,
        }
    }
}

pub const OPEN_OK: &str = "unable to open supervise/ok";
pub const OPEN_STATUS: &str = "unable to open supervise/status";

/// Is a supervisor listening on `dir/supervise/ok`?
pub fn alive(dir: &Path) -> Result<(), Errno> {
    let fd = open(
        &supervise_path(dir, f::OK),
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    drop(fd);
    Ok(())
}

/// Liveness, then the status record, as `sv` does it.
pub fn probe(dir: &Path) -> Probe {
    match alive(dir) {
        Ok(()) => {}
        Err(Errno::ENXIO) => return Probe::NotRunning,
        Err(e) => {
            return Probe::Failed {
                what: OPEN_OK,
                errno: Some(e),
            }
        }
    }
    match read_status(dir) {
        Ok(s) => Probe::Alive(s),
        Err(p) => p,
    }
}

fn read_status(dir: &Path) -> Result<Status, Probe> {
    let fd = open(
        &supervise_path(dir, f::STATUS),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Probe::Failed {
        what: OPEN_STATUS,
        errno: Some(e),
    })?;
    // One read is enough for a 20-byte file written by rename; read a few
    // bytes more so that longer (s6) records are rejected, not truncated.
    let mut buf = [0u8; 64];
    let n = loop {
        match nix::unistd::read(&fd, &mut buf) {
            Err(Errno::EINTR) => continue,
            other => {
                break other.map_err(|e| Probe::Failed {
                    what: "unable to read supervise/status",
                    errno: Some(e),
                })?
            }
        }
    };
    Status::decode(&buf[..n]).ok_or(Probe::Failed {
        what: "unable to read supervise/status: bad format",
        errno: None,
    })
}

/// svkit's extra state from the text of `svkit-status`, if a live svkit
/// supervisor wrote it. `Err(Inconsistent)` means "does not match
/// `status` yet" (the two files are replaced one after the other): read
/// again after the next change.
fn ext_from_text(text: &str, status: &Status) -> Result<Option<ExtStatus>, Inconsistent> {
    let Some(ext) = ExtStatus::decode(text) else {
        return Ok(None);
    };
    // A file left behind by an earlier svkit supervisor (the directory is
    // now run by runsv) must not be trusted.
    if ext.supervisor_pid != 0 && !pid_exists(ext.supervisor_pid) {
        return Ok(None);
    }
    if ext.pid != status.pid {
        return Err(Inconsistent);
    }
    Ok(Some(ext))
}

/// svkit's supervise replaces `svkit-status` right after `status`; one
/// that is older than `status` by more than a second was left by an
/// earlier supervisor (whose pid may since have been reused).
fn ext_is_stale(dir: &Path) -> bool {
    let mtime = |name| {
        std::fs::metadata(supervise_path(dir, name))
            .and_then(|m| m.modified())
            .ok()
    };
    match (mtime(f::STATUS), mtime(f::EXT_STATUS)) {
        (Some(st), Some(ext)) => st
            .duration_since(ext)
            .is_ok_and(|d| d > std::time::Duration::from_secs(1)),
        _ => false,
    }
}

fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    pid > 0 && !matches!(crate::sys::kill(pid, 0), Err(Errno::ESRCH))
}

/// `svkit-status` and `status` disagree (one was just replaced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inconsistent;

/// A consistent reading of status and svkit-status, or why there is none.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub status: Status,
    pub ext: Option<ExtStatus>,
}

/// Probes and pairs the records; `Ok(None)` = inconsistent, try later.
pub fn snapshot(dir: &Path) -> Result<Option<Snapshot>, Probe> {
    // svkit-status is written after status, so read it first: if it then
    // matches status, both describe the same moment.
    let ext_text = std::fs::read_to_string(supervise_path(dir, f::EXT_STATUS)).ok();
    let status = match probe(dir) {
        Probe::Alive(s) => s,
        other => return Err(other),
    };
    let Some(text) = ext_text else {
        return Ok(Some(Snapshot { status, ext: None }));
    };
    match ext_from_text(&text, &status) {
        Ok(ext) => Ok(Some(Snapshot { status, ext })),
        Err(Inconsistent) if ext_is_stale(dir) => Ok(Some(Snapshot { status, ext: None })),
        Err(Inconsistent) => Ok(None),
    }
}

/// Does the service declare readiness notification (`notification-fd`)?
pub fn declares_readiness(dir: &Path) -> bool {
    dir.join(NOTIFICATION_FD).exists()
}

/// Like [`snapshot`], but when the two files are momentarily out of step
/// waits (inotify, at most `patience`) for the supervisor to finish its
/// update; after that gives the status without svkit-status.
pub fn settled_snapshot(dir: &Path, patience: std::time::Duration) -> Result<Snapshot, Probe> {
    if let Some(s) = snapshot(dir)? {
        return Ok(s);
    }
    let deadline = std::time::Instant::now() + patience;
    let mut watcher = super::watch::Watcher::new().ok();
    if let Some(w) = watcher.as_mut() {
        w.watch(0, dir);
    }
    loop {
        if let Some(s) = snapshot(dir)? {
            return Ok(s);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return match probe(dir) {
                Probe::Alive(status) => Ok(Snapshot { status, ext: None }),
                other => Err(other),
            };
        }
        match watcher.as_mut() {
            Some(w) => {
                w.wait(Some(left), &|_| false);
            }
            None => std::thread::sleep(left.min(super::watch::UNWATCHED_RECHECK)),
        }
    }
}
