//! The one fork/exec in svkit (supervise starting `run`, `finish`, the
//! logger and control scripts; svscan starting supervise, which by default
//! is a fork of svscan running supervise's code without an exec: see
//! `Image::Function`).
//!
//! Why not `std::process::Command`: a failed exec must still leave a child
//! that exits 111 (runsv's contract: `finish` then gets `111 0`), every
//! signal disposition must be reset (Command resets only SIGPIPE), a
//! descriptor must be able to land on an arbitrary number, and svscan must
//! not wait for each of a thousand children to reach exec. So everything
//! the child needs (argv and envp pointers, the empty signal set, the
//! default action, the file limit) is prepared before `fork()`, and the
//! child only makes async-signal-safe system calls: setsid, sigaction,
//! sigprocmask, setrlimit, chdir, dup2, fcntl, execve, write, _exit
//! (until an `Image::Function` starts, which single-threaded callers only
//! use).

use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};

/// What to run and what it gets.
pub struct Exec<'a> {
    /// What the child becomes.
    pub image: Image<'a>,
    /// argv, without the terminating null (added here). For a `Function`
    /// it is the process's name and title, as `ps` shows them.
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

pub enum Image<'a> {
    /// The program executed (`./run`, `/usr/bin/supervise`).
    Program(&'a CStr),
    /// No exec: the forked child closes every descriptor but 0-2 and
    /// those in `fds`, takes `envp` as its environment and `argv` as its
    /// name and title, runs the function and exits with what it returns.
    /// Only for single-threaded callers (the child may allocate), and the
    /// caller's other state (heap, memory maps) stays in the child.
    Function(&'a dyn Fn() -> i32, Option<&'a crate::proctitle::TitleArea>),
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
/// 0, 1, 2 and the descriptors a `Function` child keeps.
const MAX_KEPT_FDS: usize = 8;

extern "C" {
    /// glibc's environment, which `getenv` (and so `std::env`) reads.
    static mut environ: *const *const libc::c_char;
}

/// Closes every descriptor not in `keep` (which it sorts), with
/// close_range(2); before Linux 5.9, one close(2) per descriptor below the
/// file limit.
unsafe fn close_all_but(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut next: libc::c_uint = 0;
    for &fd in keep.iter().chain(std::iter::once(&RawFd::MAX)) {
        let fd = fd as libc::c_uint;
        if fd > next {
            close_range(next, fd - 1);
        }
        next = next.max(fd.saturating_add(1));
    }
}

unsafe fn close_range(first: libc::c_uint, last: libc::c_uint) {
    if libc::syscall(libc::SYS_close_range, first, last, 0) == 0 {
        return;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    let end = (lim.rlim_cur.min(1 << 20) as libc::c_uint).min(last.saturating_add(1));
    for fd in first..end {
        libc::close(fd as libc::c_int);
    }
}

pub fn spawn(e: &Exec) -> Result<Spawned, Errno> {
    assert!(!e.argv.is_empty() && e.argv.len() < MAX_ARGS);
    assert!(e.fds.len() + 3 <= MAX_KEPT_FDS);
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
        image: match e.image {
            Image::Program(path) => ChildImage::Program(path.as_ptr()),
            Image::Function(f, title) => ChildImage::Function(f, title),
        },
        args: e.argv,
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
    // (no allocation, no locks), then execs or _exits; an
    // `Image::Function` runs ordinary code, which a single-threaded
    // caller's child may (see `become_function`).
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

enum ChildImage<'a> {
    Program(*const libc::c_char),
    Function(&'a dyn Fn() -> i32, Option<&'a crate::proctitle::TitleArea>),
}

/// Everything the child uses, prepared before fork.
struct ChildPlan<'a> {
    image: ChildImage<'a>,
    args: &'a [&'a CStr],
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
        let path = match self.image {
            ChildImage::Program(path) => path,
            ChildImage::Function(f, title) => self.become_function(f, title),
        };
        match self.envp {
            Some(env) => libc::execve(path, self.argv.as_ptr(), env),
            None => libc::execv(path, self.argv.as_ptr()),
        };
        self.fail()
    }

    /// The no-exec branch: what an exec would have done for the program
    /// (close the caller's descriptors, replace the environment and the
    /// name), then the function. Unlike the rest of the child, this part
    /// is ordinary code: the caller is single-threaded, so no lock can be
    /// held by a thread that did not survive the fork.
    unsafe fn become_function(
        &self,
        f: &dyn Fn() -> i32,
        title: Option<&crate::proctitle::TitleArea>,
    ) -> ! {
        // 0-2 and the targets in `fds` (`spawn` checked they fit).
        let mut keep: [RawFd; MAX_KEPT_FDS] = [0, 1, 2, 0, 0, 0, 0, 0];
        for (slot, &(_, dst)) in keep[3..].iter_mut().zip(self.fds) {
            *slot = dst;
        }
        close_all_but(&mut keep[..3 + self.fds.len()]);
        crate::proctitle::set_name(self.args[0]);
        if let Some(env) = self.envp {
            // SAFETY: the array and its strings were made before the fork
            // by frames this child never returns to, so they live as long
            // as it does; nothing else runs to race on `environ`.
            environ = env;
            if let Some(area) = title {
                // SAFETY: `environ` no longer points into the area (the
                // original environment strings), and nothing here reads
                // the original argv. Without a new environment the title
                // stays as it was.
                area.set(self.args);
            }
        }
        libc::_exit(f())
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
