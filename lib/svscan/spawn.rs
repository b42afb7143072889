//! Starting one `supervise` per service: its own session (so a terminal's
//! Ctrl-C reaches only the main command), stdin from /dev/null, the
//! service's log pipe inherited, the file limit svscan itself started
//! with, and an empty signal mask (svscan blocks its signals for the
//! signalfd, and std leaves the mask alone when `pre_exec` is used).
//! Everything between fork and exec is a plain system call.

use super::logpipe::ENV_LOG_PIPE;
use std::ffi::OsStr;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The soft RLIMIT_NOFILE svscan started with. svscan raises its own to
/// hold two pipe ends per service; children get the original back.
#[derive(Clone, Copy)]
pub struct FileLimit(pub libc::rlimit);

impl FileLimit {
    /// Raises the soft limit to the hard limit, returning the original.
    pub fn raise() -> Option<FileLimit> {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit write/read the local struct only.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
        }
        Some(FileLimit(lim))
    }
}

pub struct Spawner<'a> {
    pub supervise: &'a Path,
    pub scandir: &'a Path,
    pub file_limit: Option<FileLimit>,
}

impl Spawner<'_> {
    /// Starts `supervise NAME` in the scan directory; returns its pid.
    pub fn supervise(
        &self,
        name: &OsStr,
        log_pipe: Option<((RawFd, RawFd), String)>,
    ) -> std::io::Result<i32> {
        let mut cmd = Command::new(self.supervise);
        cmd.arg(name).current_dir(self.scandir).stdin(Stdio::null());
        let fds = match log_pipe {
            Some((fds, value)) => {
                cmd.env(ENV_LOG_PIPE, value);
                Some(fds)
            }
            None => {
                cmd.env_remove(ENV_LOG_PIPE);
                None
            }
        };
        let limit = self.file_limit;
        // SAFETY: the closure runs in the forked child before exec and makes
        // only async-signal-safe system calls on plain integers; it does not
        // allocate or take locks.
        unsafe {
            cmd.pre_exec(move || {
                super::signals::unblock_all_in_child();
                libc::setsid();
                if let Some((r, w)) = fds {
                    libc::fcntl(r, libc::F_SETFD, 0);
                    libc::fcntl(w, libc::F_SETFD, 0);
                }
                if let Some(FileLimit(lim)) = limit {
                    libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        // The child is reaped by the main loop's waitpid(-1); dropping the
        // handle neither waits nor kills.
        Ok(child.id() as i32)
    }
}
