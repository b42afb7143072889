//! The container's main command (`svscan DIR -- COMMAND ARGS`): runs in
//! its own process group, in the foreground of the terminal if there is
//! one, and its exit ends the container with its exit code. Started
//! through `crate::spawn` like every other child, looked up in the PATH
//! of the container's environment.

use super::spawn::FileLimit;
use crate::child::SpawnError;
use crate::container::envdump::EnvMap;
use crate::spawn::{Envp, Exec, Group, OnFailure, Program, Search};
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

pub struct MainCommand {
    /// Pid, which is also the process group id.
    pub pid: i32,
}

impl MainCommand {
    /// Runs `argv` with exactly the container's environment `env` and
    /// the resource limits svscan started with. `Err(Exec)` when it could
    /// not be executed (the failed child exits on its own and is reaped
    /// like any orphan).
    pub fn spawn(
        argv: &[OsString],
        env: &EnvMap,
        file_limit: Option<FileLimit>,
    ) -> Result<MainCommand, SpawnError> {
        use crate::errstr::ErrorNumber;
        let args: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).map_err(|_| SpawnError::Exec(libc::EINVAL)))
            .collect::<Result<_, _>>()?;
        let Some(program) = args.first() else {
            return Err(SpawnError::Exec(libc::ENOENT));
        };
        let mut search = Search::new(
            OsStr::from_bytes(program.as_bytes()),
            env.get(OsStr::new("PATH")).map(OsString::as_os_str),
        );
        // As the shells (and execvp) do: a file without `#!` runs under sh.
        search.shell_fallback = true;
        let argv: Vec<&std::ffi::CStr> = args.iter().map(CString::as_c_str).collect();
        let envp = Envp::from_map(env);
        let limits: Vec<_> = file_limit.iter().map(|l| l.0).collect();
        let spawned = crate::spawn::spawn(&Exec {
            program: Program::Search(&search),
            argv: &argv,
            env: Some(&envp),
            cwd: None,
            fds: &[],
            group: Group::Leader,
            foreground: true,
            rlimits: &limits,
            // What the container's entrypoint inherited (activation
            // sockets) is the command's to use.
            close_others: false,
            on_failure: OnFailure::Report,
        })
        .map_err(|e| SpawnError::Fork(e.number()))?;
        match spawned.exec_error {
            Some(errno) => Err(SpawnError::Exec(errno.number())),
            None => Ok(MainCommand { pid: spawned.pid }),
        }
    }

    /// Sends `sig` (and CONT, so a stopped job can act on it) to the group.
    pub fn signal(&self, sig: i32) {
        crate::child::signal_group(self.pid, sig);
        crate::child::signal_group(self.pid, libc::SIGCONT);
    }
}

/// Exit code when the command cannot be started (the shell convention).
pub fn spawn_failure_code(e: &SpawnError) -> i32 {
    match *e {
        SpawnError::Exec(errno) => crate::exit::for_exec_error(nix::errno::Errno::from_raw(errno)),
        _ => crate::exit::CANNOT_EXEC,
    }
}
