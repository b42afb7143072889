//! Running a service's `./check` script (protocol notes §4.5), without the
//! runit 2.1.2 quirks Q7/Q21: a check that cannot be executed or is killed
//! by a signal **fails**; it gets `/dev/null` as stdout (runit closed fd 1,
//! so the script's first `open` silently became its stdout); and it is
//! killed (its whole process group) when it runs past its time limit.

use super::format::stderr_warning;
use crate::errstr::io_error_str;
use crate::servicedir::CHECK;
use rustix::event::{poll, PollFd, PollFlags};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A check always gets at least this long, even when the wait deadline
/// is (almost) over, so that `-w 0` can still pass.
pub const MIN_CHECK_TIME: Duration = Duration::from_secs(1);

/// Runs `DIR/check` if it exists. `true` = pass (also when there is no
/// check script). `name` is the service as given, for messages.
pub fn check_passes(name: &str, dir: &Path, deadline: Instant) -> bool {
    let path = dir.join(CHECK);
    match std::fs::metadata(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
        Err(e) => {
            stderr_warning(&format!(
                "unable to stat {name}/check: {}",
                io_error_str(&e)
            ));
            return false;
        }
    }
    let spawned = Command::new("./check")
        .current_dir(dir)
        .stdout(Stdio::null())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            stderr_warning(&format!("unable to run {name}/check: {}", io_error_str(&e)));
            return false;
        }
    };
    let limit = deadline
        .saturating_duration_since(Instant::now())
        .max(MIN_CHECK_TIME);
    if !exits_within(child.id(), limit) {
        // The group is the one just created for the check (process_group(0)).
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.wait();
        stderr_warning(&format!(
            "{name}/check: timed out after {} ms, killed",
            limit.as_millis()
        ));
        return false;
    }
    match child.wait() {
        Ok(status) => status.success(),
        Err(e) => {
            stderr_warning(&format!(
                "unable to wait for child {name}/check: {}",
                io_error_str(&e)
            ));
            false
        }
    }
}

/// Blocks until process `pid` (our child) exits or `limit` passes; uses a
/// pidfd so there is no polling. Without pidfd support it simply waits.
fn exits_within(pid: u32, limit: Duration) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return true;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return true;
    };
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ts = rustix::time::Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(e) if e == rustix::io::Errno::INTR => continue,
            Err(_) => return true,
        }
    }
}
