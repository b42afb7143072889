//! Starting one `supervise` per service (through `crate::spawn`):
//! everything (argv, environment, paths, /dev/null) is prepared once or
//! before the fork, and svscan does not wait for the child.
//! (std's `Command` blocks the parent until the child has exec'd, which
//! made a thousand starts wait on the scheduler one by one.)
//!
//! By default the child is not exec'd: svscan holds supervise's code, and
//! the forked child runs it (`crate::supervisor::supervise`) under the
//! name `supervise NAME`. What that saves is an exec and, above all,
//! glibc's start-up in every supervise: its CPU and cache probing runs
//! cpuid dozens of times, each a trap to the hypervisor on a virtual
//! machine, and was half of supervise's CPU time while a thousand
//! services started. `--supervise PATH` (or SVKIT_SUPERVISE) execs PATH
//! instead.
//!
//! Either way the child gets its own session (so a terminal's Ctrl-C
//! reaches only the main command), stdin from /dev/null, this service's
//! log pipe without close-on-exec, the file limit svscan itself started
//! with, an empty signal mask and default dispositions, and none of
//! svscan's other descriptors. If the exec (or the set-up before it)
//! fails, the child says so and exits 111; svscan sees that like any
//! supervise exit.

use super::logpipe::ENV_LOG_PIPE;
use crate::container::envdump::EnvMap;
use crate::proctitle::TitleArea;
use crate::spawn::Image;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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
        // SAFETY: getrlimit/setrlimit read/write the local structs only.
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

fn cstring(bytes: &[u8]) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
}

/// `name` looked up in `PATH` when it has no slash (once, at start-up).
fn resolve(program: &Path) -> PathBuf {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return program.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return candidate;
        }
    }
    program.to_path_buf()
}

pub struct Spawner {
    /// The program exec'd; `None`: the built-in supervise.
    program: Option<CString>,
    /// argv[0]: the program, or `supervise` for the built-in one.
    name: CString,
    /// Where the built-in supervise writes its `ps` title.
    title: Option<TitleArea>,
    scandir: CString,
    /// The container's environment without SVKIT_LOG_PIPE.
    base_env: Vec<CString>,
    devnull: OwnedFd,
    file_limit: Option<FileLimit>,
    exec_failed: Vec<u8>,
}

impl Spawner {
    pub fn new(
        supervise: Option<&Path>,
        scandir: &Path,
        file_limit: Option<FileLimit>,
        env: &EnvMap,
    ) -> std::io::Result<Spawner> {
        let program = supervise.map(resolve);
        let base_env = env
            .iter()
            .filter(|(k, _)| k.as_os_str() != ENV_LOG_PIPE)
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let devnull = std::fs::File::open("/dev/null")?.into();
        let exec_failed = match &program {
            Some(p) => format!("svscan: warning: unable to execute {}\n", p.display()),
            // Only a failed chdir or dup2 before it gets there.
            None => "svscan: warning: unable to start the built-in supervise\n".into(),
        }
        .into_bytes();
        let program = match program {
            Some(p) => Some(cstring(p.as_os_str().as_bytes())?),
            None => None,
        };
        Ok(Spawner {
            name: program.clone().unwrap_or_else(|| c"supervise".into()),
            title: program.is_none().then(TitleArea::of_self).flatten(),
            program,
            scandir: cstring(scandir.as_os_str().as_bytes())?,
            base_env,
            devnull,
            file_limit,
            exec_failed,
        })
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
        let pipe_env = match log_pipe {
            Some((r, w)) => Some(cstring(format!("{ENV_LOG_PIPE}={r},{w}").as_bytes())?),
            None => None,
        };
        let mut envp: Vec<*const libc::c_char> = Vec::with_capacity(self.base_env.len() + 2);
        envp.extend(self.base_env.iter().map(|e| e.as_ptr()));
        if let Some(e) = &pipe_env {
            envp.push(e.as_ptr());
        }
        envp.push(std::ptr::null());
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
        let builtin = || crate::supervisor::supervise(name);
        let spawned = crate::spawn::spawn(&crate::spawn::Exec {
            image: match &self.program {
                Some(path) => Image::Program(path),
                None => Image::Function(&builtin, self.title.as_ref()),
            },
            argv: &[&self.name, &arg],
            envp: Some(&envp),
            cwd: Some(&self.scandir),
            fds: &fds[..n],
            setsid: true,
            nofile: self.file_limit.map(|FileLimit(lim)| lim),
            on_failure: crate::spawn::OnFailure::Message(&self.exec_failed),
        })?;
        Ok(spawned.pid)
    }
}
