//! Is a service ready (for `--wait-ready`)? With `notification-fd`, when
//! supervise recorded `ready=1`; else, with an executable `check`, when
//! it exits 0; else as soon as it runs.

use crate::extstatus::ExtStatus;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// Longest a `check` may take before it counts as "not ready".
const CHECK_LIMIT: Duration = Duration::from_secs(2);

pub fn has_check(dir: &Path) -> bool {
    std::fs::metadata(dir.join(crate::servicedir::CHECK))
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub fn is_ready(
    dir: &Path,
    st: Option<&ExtStatus>,
    env: &crate::container::envdump::EnvMap,
) -> bool {
    let Some(st) = st else { return false };
    if st.state != "run" {
        return false;
    }
    if dir.join(crate::servicedir::NOTIFICATION_FD).exists() {
        return st.ready;
    }
    if has_check(dir) {
        return run_check(dir, env);
    }
    true
}

/// Runs `./check` in the service directory, bounded by [`CHECK_LIMIT`].
/// Waits on a pidfd so svscan's reaper (waitpid(-1)) cannot steal it:
/// nothing else runs while this waits.
fn run_check(dir: &Path, env: &crate::container::envdump::EnvMap) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut cmd = std::process::Command::new("./check");
    cmd.current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    crate::container::envdump::apply(&mut cmd, env);
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    let pid = rustix::process::Pid::from_raw(child.id() as i32);
    let pidfd =
        pid.and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok());
    if let Some(fd) = &pidfd {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        let limit = Timespec {
            tv_sec: CHECK_LIMIT.as_secs() as _,
            tv_nsec: 0,
        };
        if poll(&mut fds, Some(&limit)).unwrap_or(0) == 0 {
            let _ = child.kill();
        }
    }
    child.wait().is_ok_and(|s| s.success())
}
