//! The one fork/exec in svkit (supervise starting `run`, `finish`, the
//! logger and control scripts; svscan starting supervise).
//!
//! Why not `std::process::Command`: a failed exec must still leave a child
//! that exits 111 (runsv's contract: `finish` then gets `111 0`), every
//! signal disposition must be reset (Command resets only SIGPIPE), a
//! descriptor must be able to land on an arbitrary number, and svscan must
//! not wait for each of a thousand children to reach exec. So everything
//! the child needs (argv and envp pointers, the empty signal set, the
//! default action, the file limit) is prepared before `fork()`, and the
//! child only makes async-signal-safe system calls: setsid, sigaction,
//! sigprocmask, setrlimit, chdir, dup2, fcntl, execve, write, _exit.

use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};

/// What to run and what it gets.
pub struct Exec<'a> {
    /// The program executed (`./run`, `/usr/bin/supervise`).
    pub path: &'a CStr,
    /// argv, without the terminating null (added here).
    pub argv: &'a [&'a CStr],
    /// The environment as `KEY=VALUE` strings, null-terminated; `None`
    /// passes the caller's own environment on.
    pub envp: Option<&'a [*const libc::c_char]>,
    /// Directory to change to first (relative to the caller's cwd).
    pub cwd: Option<&'a CStr>,
    /// Descriptors the program gets: `(source, target)`, applied in order.
    /// `source == target` keeps the descriptor as it is, minus
    /// close-on-exec.
    pub fds: &'a [(RawFd, RawFd)],
    /// New session and process group (services, so that a group kill
    /// reaches their children and terminal signals do not).
    pub setsid: bool,
    /// RLIMIT_NOFILE to restore in the child.
    pub nofile: Option<libc::rlimit>,
    /// How a failed exec (or a failed chdir/dup2 before it) is reported.
    pub on_failure: OnFailure<'a>,
}

pub enum OnFailure<'a> {
    /// `spawn` waits until the child has exec'd and returns the errno of
    /// a failure in `Spawned::exec_error`.
    Report,
    /// `spawn` returns at once; on failure the child writes this message
    /// to its stderr.
    Message(&'a [u8]),
}

/// A started child. Whatever failed before exec, the child exits 111 on
/// its own and is reaped like any other.
pub struct Spawned {
    pub pid: i32,
    /// The exec error (`OnFailure::Report` only).
    pub exec_error: Option<Errno>,
}

const MAX_ARGS: usize = 8;

pub fn spawn(e: &Exec) -> Result<Spawned, Errno> {
    assert!(!e.argv.is_empty() && e.argv.len() < MAX_ARGS);
    let mut argv: [*const libc::c_char; MAX_ARGS] = [std::ptr::null(); MAX_ARGS];
    for (slot, a) in argv.iter_mut().zip(e.argv) {
        *slot = a.as_ptr();
    }
    if let Some(env) = e.envp {
        assert!(env.last().is_some_and(|p| p.is_null()), "envp ends in null");
    }
    let report = match e.on_failure {
        OnFailure::Report => Some(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?),
        OnFailure::Message(_) => None,
    };
    let plan = ChildPlan {
        path: e.path.as_ptr(),
        argv: &argv,
        envp: e.envp.map(|v| v.as_ptr()),
        cwd: e.cwd.map(|c| c.as_ptr()),
        fds: e.fds,
        setsid: e.setsid,
        nofile: e.nofile,
        report: report.as_ref().map(|(_, w)| w.as_raw_fd()),
        message: match e.on_failure {
            OnFailure::Message(m) => m,
            OnFailure::Report => &[],
        },
        // The kernel's struct sigaction (handler, flags, restorer, 64-bit
        // mask), all zero: SIG_DFL, no flags, empty mask.
        kernel_default: [0u64; 4],
        // SAFETY: sigemptyset only initialises the local set.
        empty_set: unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            set
        },
    };

    // SAFETY: svkit's programs are single-threaded, and the child branch
    // below only calls async-signal-safe functions on data prepared above
    // (no allocation, no locks), then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid == 0 {
        // SAFETY: see above; every call is async-signal-safe.
        unsafe { plan.run() }
    }
    let exec_error = match report {
        Some((r, w)) => {
            drop(w);
            read_errno(&r)
        }
        None => None,
    };
    Ok(Spawned { pid, exec_error })
}

/// The 4-byte errno the child wrote before exiting, or None once the pipe
/// closed on exec.
fn read_errno(r: &std::os::fd::OwnedFd) -> Option<Errno> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match nix::unistd::read(r, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    (got == 4).then(|| Errno::from_raw(i32::from_ne_bytes(buf)))
}

/// Everything the child uses, prepared before fork.
struct ChildPlan<'a> {
    path: *const libc::c_char,
    argv: &'a [*const libc::c_char; MAX_ARGS],
    envp: Option<*const *const libc::c_char>,
    cwd: Option<*const libc::c_char>,
    fds: &'a [(RawFd, RawFd)],
    setsid: bool,
    nofile: Option<libc::rlimit>,
    report: Option<RawFd>,
    message: &'a [u8],
    kernel_default: [u64; 4],
    empty_set: libc::sigset_t,
}

impl ChildPlan<'_> {
    /// Runs in the forked child. Never returns.
    unsafe fn run(&self) -> ! {
        if self.setsid {
            libc::setsid();
        }
        // Default dispositions first, then an empty mask, so a signal
        // pending in the parent's blocked set takes its default action in
        // the child. The raw system call also resets 32 and 33, which
        // glibc's sigaction refuses to touch (an inherited "ignore" there
        // would otherwise stick).
        for sig in 1..65 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &self.kernel_default,
                    std::ptr::null_mut::<u8>(),
                    8usize,
                );
            }
        }
        libc::sigprocmask(libc::SIG_SETMASK, &self.empty_set, std::ptr::null_mut());
        if let Some(lim) = &self.nofile {
            libc::setrlimit(libc::RLIMIT_NOFILE, lim);
        }
        if let Some(dir) = self.cwd {
            if libc::chdir(dir) != 0 {
                self.fail();
            }
        }
        for &(src, dst) in self.fds {
            let ok = if src == dst {
                libc::fcntl(dst, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(src, dst) == dst
            };
            if !ok {
                self.fail();
            }
        }
        match self.envp {
            Some(env) => libc::execve(self.path, self.argv.as_ptr(), env),
            None => libc::execv(self.path, self.argv.as_ptr()),
        };
        self.fail()
    }

    unsafe fn fail(&self) -> ! {
        match self.report {
            Some(fd) => {
                let bytes = (*libc::__errno_location()).to_ne_bytes();
                libc::write(fd, bytes.as_ptr().cast(), 4);
            }
            None => {
                libc::write(2, self.message.as_ptr().cast(), self.message.len());
            }
        }
        libc::_exit(111)
    }
}
