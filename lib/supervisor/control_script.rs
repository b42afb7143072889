//! `control/X` scripts (runit's customisation of control commands, §5.8),
//! main service only. Unlike runsv: the script runs with an empty signal
//! mask and default dispositions (Q22), an exec failure or a death by signal
//! counts as "not handled" (Q7), and it gets at most `TIMEOUT` before it is
//! SIGKILLed (Q21). While it runs supervise waits for it, as runsv does.

use super::spawn::{spawn, Exec};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// `./control/<byte>` if it exists and is owner-executable.
pub fn find(byte: u8) -> Option<CString> {
    use std::os::unix::fs::PermissionsExt;
    let name = format!("control/{}", byte as char);
    let meta = std::fs::metadata(&name).ok()?;
    if meta.permissions().mode() & 0o100 == 0 {
        return None;
    }
    CString::new(format!("./{name}")).ok()
}

/// Runs `control/<byte>`, found by `find` as `path`. Returns true iff it
/// exited 0 ("handled").
pub fn run(path: &CString, byte: u8, stdout: Option<RawFd>, label: &str) -> bool {
    let name = format!("control/{}", byte as char);
    let spawned = match spawn(&Exec {
        argv: &[path],
        cwd: None,
        stdin: None,
        stdout,
        extra: None,
        setsid: true,
    }) {
        Ok(s) => s,
        Err(e) => {
            crate::msg::warn_why(
                super::PROG,
                format_args!("{label}: unable to start ./{name}"),
                crate::errstr::runit_error_str(e),
            );
            return false;
        }
    };
    if let Some(e) = spawned.exec_error {
        crate::msg::warn_why(
            super::PROG,
            format_args!("{label}: unable to start ./{name}"),
            crate::errstr::runit_error_str(e),
        );
    }
    let pid = spawned.pid;
    if !wait_exit(pid, TIMEOUT) {
        crate::msg::warn(
            super::PROG,
            format_args!(
                "{label}: ./{name} timed out after {}s, killed",
                TIMEOUT.as_secs()
            ),
        );
        // SAFETY: kill(2) on the process group of the script we just forked.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child, with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            return false;
        }
    }
    spawned.exec_error.is_none() && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Waits until `pid` exits or `timeout` passes (true = exited).
fn wait_exit(pid: i32, timeout: Duration) -> bool {
    let Some(p) = rustix::process::Pid::from_raw(pid) else {
        return true;
    };
    let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) else {
        // No pidfd (old kernel): fall back to a plain blocking wait.
        return true;
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let ts = rustix::time::Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [rustix::event::PollFd::new(
            &fd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return true,
        }
    }
}
