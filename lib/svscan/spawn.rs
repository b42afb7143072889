//! Starting one `supervise` per service (through `crate::spawn`):
//! everything (argv, environment, paths, /dev/null) is prepared once or
//! before the fork, and svscan does not wait for the child.
//! (std's `Command` blocks the parent until the child has exec'd, which
//! made a thousand starts wait on the scheduler one by one.)
//!
//! The program is `--supervise PATH` (or SVKIT_SUPERVISE), else the
//! `supervise` next to svscan's own executable, as runsvdir runs runsv
//! and s6-svscan runs s6-supervise; never one found on PATH, which could
//! be daemontools' unrelated program of the same name.
//!
//! The child gets its own session (so a terminal's Ctrl-C reaches only
//! the main command), stdin from /dev/null, this service's log pipe
//! without close-on-exec, the resource limits svscan itself started with,
//! an empty signal mask and default dispositions. If the exec (or the
//! set-up before it) fails, the child says so and exits 111; svscan sees
//! that like any supervise exit.

use super::logpipe::ENV_LOG_PIPE;
use crate::container::envdump::EnvMap;
use crate::spawn::{Envp, Group, OnFailure, Program, Rlimit};
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The soft RLIMIT_NOFILE svscan started with. svscan raises its own to
/// hold two pipe ends per service; children get the original back.
#[derive(Clone, Copy)]
pub struct FileLimit(pub Rlimit);

impl FileLimit {
    /// Raises the soft limit to the hard limit, returning the original.
    pub fn raise() -> Option<FileLimit> {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let lim = getrlimit(Resource::Nofile);
        let raised = rustix::process::Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        let _ = setrlimit(Resource::Nofile, raised);
        let unlimited = libc::RLIM_INFINITY;
        Some(FileLimit(Rlimit {
            resource: libc::RLIMIT_NOFILE,
            limit: libc::rlimit {
                rlim_cur: lim.current.unwrap_or(unlimited),
                rlim_max: lim.maximum.unwrap_or(unlimited),
            },
        }))
    }
}

fn cstring(bytes: &[u8]) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
}

/// The supervise program: `given`, else `supervise` in the directory of
/// svscan's own executable.
pub fn supervise_program(given: Option<&Path>) -> std::io::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let me = std::env::current_exe()?;
    let dir = me.parent().unwrap_or(Path::new("/"));
    Ok(dir.join("supervise"))
}

pub struct Spawner {
    /// The program exec'd.
    program: CString,
    /// The same, for messages.
    program_path: PathBuf,
    scandir: CString,
    /// The container's environment without SVKIT_LOG_PIPE.
    base_env: Envp,
    devnull: OwnedFd,
    file_limit: Option<FileLimit>,
    exec_failed: Vec<u8>,
}

impl Spawner {
    /// `program`: see [`supervise_program`].
    pub fn new(
        program: &Path,
        scandir: &Path,
        file_limit: Option<FileLimit>,
        env: &EnvMap,
    ) -> std::io::Result<Spawner> {
        let mut env = env.clone();
        env.remove(OsStr::new(ENV_LOG_PIPE));
        let devnull = std::fs::File::open("/dev/null")?.into();
        let exec_failed =
            format!("svscan: warning: unable to execute {}\n", program.display()).into_bytes();
        Ok(Spawner {
            program: cstring(program.as_os_str().as_bytes())?,
            program_path: program.to_path_buf(),
            scandir: cstring(scandir.as_os_str().as_bytes())?,
            base_env: Envp::from_map(&env),
            devnull,
            file_limit,
            exec_failed,
        })
    }

    /// The supervise program.
    pub fn program(&self) -> &Path {
        &self.program_path
    }

    /// Starts `supervise NAME` in the scan directory; returns its pid.
    /// `stdio` replaces its stdout and stderr (`--log-prefix`).
    pub fn supervise(
        &self,
        name: &OsStr,
        log_pipe: Option<(RawFd, RawFd)>,
        stdio: Option<(RawFd, RawFd)>,
    ) -> std::io::Result<i32> {
        let arg = cstring(name.as_bytes())?;
        let with_pipe;
        let env = match log_pipe {
            Some((r, w)) => {
                with_pipe = self
                    .base_env
                    .with([cstring(format!("{ENV_LOG_PIPE}={r},{w}").as_bytes())?]);
                &with_pipe
            }
            None => &self.base_env,
        };
        let mut fds = [(self.devnull.as_raw_fd(), 0); 5];
        let mut n = 1;
        if let Some((out, err)) = stdio {
            fds[1] = (out, 1);
            fds[2] = (err, 2);
            n = 3;
        }
        if let Some((r, w)) = log_pipe {
            fds[n] = (r, r);
            fds[n + 1] = (w, w);
            n += 2;
        }
        let limits;
        let spawned = crate::spawn::spawn(&crate::spawn::Exec {
            program: Program::Path(&self.program),
            // argv[0] is the bare name, so `ps` shows `supervise NAME`.
            argv: &[c"supervise", &arg],
            env: Some(env),
            cwd: Some(&self.scandir),
            fds: &fds[..n],
            group: Group::Session,
            foreground: false,
            close_others: true,
            rlimits: match &self.file_limit {
                Some(FileLimit(l)) => {
                    limits = [*l];
                    &limits
                }
                None => &[],
            },
            on_failure: OnFailure::Message(&self.exec_failed),
        })?;
        Ok(spawned.pid)
    }
}
