//! Adopting a service left running by a supervise that was SIGKILLed.
//!
//! The old `supervise/svkit-status` names the pid and its start time (clock
//! ticks since boot). If that process still exists with the same start
//! time, it is the service we supervised: we watch it through a pidfd
//! instead of starting a second copy. We are not its parent, so its wait
//! status is lost (the subreaper or init reaps it).

use crate::extstatus::ExtStatus;
use crate::status::Status;
use std::os::fd::OwnedFd;

/// What the previous supervisor recorded about a service.
pub struct Previous {
    pub ext: Option<ExtStatus>,
    pub status: Option<Status>,
}

/// `sup`: the state directory, ending in `/`.
pub fn read_previous(sup: &str) -> Previous {
    let ext = std::fs::read_to_string(format!("{sup}svkit-status"))
        .ok()
        .and_then(|t| ExtStatus::decode(&t));
    let status = std::fs::read(format!("{sup}status"))
        .ok()
        .and_then(|b| Status::decode(&b));
    Previous { ext, status }
}

/// The still-running `run` process named by `prev`, as (pid, pidfd).
pub fn find_running(prev: &Previous) -> Option<(i32, OwnedFd)> {
    let ext = prev.ext.as_ref()?;
    if ext.state != "run" || ext.pid == 0 || ext.pid == std::process::id() {
        return None;
    }
    if crate::procfs::start_ticks(ext.pid)? != ext.pid_start_ticks {
        return None;
    }
    let pid = rustix::process::Pid::from_raw(ext.pid as i32)?;
    let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?;
    // The pid might have been reused between the two checks; a second look
    // after the pidfd is pinned closes that window.
    if crate::procfs::start_ticks(ext.pid)? != ext.pid_start_ticks {
        return None;
    }
    Some((ext.pid as i32, fd))
}
