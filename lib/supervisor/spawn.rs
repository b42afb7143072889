//! The only fork/exec in supervise.
//!
//! Why not `std::process::Command`: a failed exec must still leave a child
//! that exits 111 (runsv's contract: `finish` then gets `111 0`), every
//! signal disposition must be reset (Command resets only SIGPIPE), and the
//! readiness pipe must land on an arbitrary descriptor. So everything the
//! child needs (argv pointers, the empty signal set, the default action) is
//! prepared before `fork()`, and the child only makes async-signal-safe
//! system calls: setsid, sigaction, sigprocmask, chdir, dup2, fcntl, execv,
//! write, _exit. An exec failure is reported to the parent through a
//! close-on-exec pipe (the errno as 4 bytes), the way std does it.

use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};

/// What to run and which descriptors it gets.
pub struct Exec<'a> {
    /// argv; `argv[0]` is also the path executed (`./run`, `./finish`).
    pub argv: &'a [&'a CStr],
    /// Directory to change to first (relative to supervise's cwd).
    pub cwd: Option<&'a CStr>,
    pub stdin: Option<RawFd>,
    pub stdout: Option<RawFd>,
    /// (source, target): e.g. the readiness pipe's write end as fd N.
    pub extra: Option<(RawFd, RawFd)>,
    /// New session and process group (services, so that a group kill
    /// reaches their children and terminal signals do not).
    pub setsid: bool,
}

/// A started child. `exec_error` is set when exec failed: the child then
/// exits 111 on its own and is reaped like any other.
pub struct Spawned {
    pub pid: i32,
    pub exec_error: Option<Errno>,
}

const MAX_ARGS: usize = 4;

pub fn spawn(e: &Exec) -> Result<Spawned, Errno> {
    assert!(!e.argv.is_empty() && e.argv.len() < MAX_ARGS);
    let mut argv: [*const libc::c_char; MAX_ARGS] = [std::ptr::null(); MAX_ARGS];
    for (slot, a) in argv.iter_mut().zip(e.argv) {
        *slot = a.as_ptr();
    }
    let cwd = e.cwd.map(|c| c.as_ptr());
    // The kernel's struct sigaction (handler, flags, restorer, 64-bit
    // mask), all zero: SIG_DFL, no flags, empty mask.
    let kernel_default = [0u64; 4];
    // SAFETY: sigemptyset only initialises the local set.
    let empty_set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    };
    let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let report_w_raw = report_w.as_raw_fd();

    // SAFETY: supervise is single-threaded, and the child branch below only
    // calls async-signal-safe functions on data prepared above (no
    // allocation, no locks), then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid == 0 {
        // SAFETY: see above; every call is async-signal-safe.
        unsafe { child(&argv, cwd, e, &kernel_default, &empty_set, report_w_raw) }
    }
    drop(report_w);
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match nix::unistd::read(&report_r, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    let exec_error = (got == 4).then(|| Errno::from_raw(i32::from_ne_bytes(buf)));
    Ok(Spawned { pid, exec_error })
}

/// Runs in the forked child. Never returns.
unsafe fn child(
    argv: &[*const libc::c_char; MAX_ARGS],
    cwd: Option<*const libc::c_char>,
    e: &Exec,
    kernel_default: &[u64; 4],
    empty_set: &libc::sigset_t,
    report: RawFd,
) -> ! {
    if e.setsid {
        libc::setsid();
    }
    // Default dispositions first, then an empty mask, so a signal pending
    // in supervise's blocked set takes its default action in the child.
    // The raw system call also resets 32 and 33, which glibc's sigaction
    // refuses to touch (an inherited "ignore" there would otherwise stick).
    for sig in 1..65 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                kernel_default,
                std::ptr::null_mut::<u8>(),
                8usize,
            );
        }
    }
    libc::sigprocmask(libc::SIG_SETMASK, empty_set, std::ptr::null_mut());
    if let Some(dir) = cwd {
        if libc::chdir(dir) != 0 {
            fail(report);
        }
    }
    if let Some(fd) = e.stdin {
        dup_to(fd, 0, report);
    }
    if let Some(fd) = e.stdout {
        dup_to(fd, 1, report);
    }
    if let Some((src, dst)) = e.extra {
        dup_to(src, dst, report);
    }
    libc::execv(argv[0], argv.as_ptr());
    fail(report)
}

/// Makes `src` available as `dst` across exec (dup2 clears close-on-exec
/// on the copy; a descriptor already in place just loses the flag).
unsafe fn dup_to(src: RawFd, dst: RawFd, report: RawFd) {
    let ok = if src == dst {
        libc::fcntl(dst, libc::F_SETFD, 0) == 0
    } else {
        libc::dup2(src, dst) == dst
    };
    if !ok {
        fail(report);
    }
}

unsafe fn fail(report: RawFd) -> ! {
    let err = *libc::__errno_location();
    let bytes = err.to_ne_bytes();
    libc::write(report, bytes.as_ptr().cast(), 4);
    libc::_exit(111)
}
