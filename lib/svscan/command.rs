//! The container's main command (`svscan DIR -- COMMAND ARGS`): runs in
//! its own process group, in the foreground of the terminal if there is
//! one, and its exit ends the container with its exit code.
// Transitional: this module's unsafe blocks move onto crate::spawn,
// crate::child and crate::sys (issue 12, item 6).
#![allow(unsafe_code)]

use crate::container::envdump::EnvMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

pub struct MainCommand {
    /// Pid, which is also the process group id.
    pub pid: i32,
}

impl MainCommand {
    /// Runs `argv` with exactly the container's environment `env`.
    pub fn spawn(argv: &[OsString], env: &EnvMap) -> std::io::Result<MainCommand> {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).process_group(0);
        crate::container::envdump::apply(&mut cmd, env);
        // SAFETY: runs in the child between fork and exec; only
        // async-signal-safe calls on stack data (sigset, integers).
        unsafe {
            cmd.pre_exec(|| {
                // Take the terminal's foreground (tini does the same). A
                // background group calling tcsetpgrp gets SIGTTOU unless it
                // is blocked, so block it around the call.
                if libc::isatty(0) == 1 {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGTTOU);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    libc::tcsetpgrp(0, libc::getpid());
                }
                super::signals::unblock_all_in_child();
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        Ok(MainCommand {
            pid: child.id() as i32,
        })
    }

    /// Sends `sig` (and CONT, so a stopped job can act on it) to the group.
    pub fn signal(&self, sig: i32) {
        super::reaper::kill(-self.pid, sig);
        super::reaper::kill(-self.pid, libc::SIGCONT);
    }
}

/// Exit code when the command cannot be started (the shell convention).
pub fn spawn_failure_code(e: &std::io::Error) -> i32 {
    match e.kind() {
        std::io::ErrorKind::NotFound => 127,
        _ => 126,
    }
}
