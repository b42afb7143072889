//! The one fork/exec in svkit: supervise starting `run`, `finish`, the
//! logger and control scripts; svscan starting supervise, the main
//! command, init scripts, hooks and checks; svctl running `check`; svlog
//! running processors. Every child svkit starts comes through here, so
//! every child gets the same clean start:
//!
//! - every signal disposition reset to the default and an empty signal
//!   mask (a supervisor blocks and ignores signals; its children must not
//!   inherit that), including 32 and 33, which glibc's `sigaction` refuses
//!   to touch;
//! - the resource limits the caller was started with (`Exec::rlimits`:
//!   svscan raises its own file limit, its children must not see that);
//! - its own session or process group when asked (so a group kill reaches
//!   the child's own children and terminal signals do not);
//! - descriptors placed on arbitrary numbers (`Exec::fds`);
//! - optionally the terminal's foreground (the container's main command).
//!
//! Why not `std::process::Command`: a failed exec must still leave a child
//! that exits 111 (runsv's contract: `finish` then gets `111 0`), every
//! signal disposition must be reset (Command resets only SIGPIPE), a
//! descriptor must be able to land on any number, and svscan must not wait
//! for each of a thousand children to reach exec. Everything the child
//! needs (argv and envp pointers, PATH candidates, the empty signal set,
//! the default action, the limits) is prepared before `fork()`, and the
//! child only makes async-signal-safe system calls: setsid, setpgid,
//! tcsetpgrp, sigaction, sigprocmask, setrlimit, chdir, dup2, fcntl,
//! execve, write, _exit.
//!
//! The PATH search is here too ([`Search`]), done the way runit's
//! `pathexec_run` does it, so chpst, `svctl exec` and the main command
//! find programs alike.
#![allow(unsafe_code)]

use crate::container::envdump::EnvMap;
use nix::errno::Errno;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// What to run and what it gets.
pub struct Exec<'a> {
    pub program: Program<'a>,
    /// argv, without the terminating null (added here).
    pub argv: &'a [&'a CStr],
    /// The environment; `None` passes the caller's own on.
    pub env: Option<&'a Envp>,
    /// Directory to change to first (relative to the caller's cwd).
    pub cwd: Option<&'a CStr>,
    /// Descriptors the program gets: `(source, target)`, applied in order.
    /// `source == target` keeps the descriptor as it is, minus
    /// close-on-exec.
    pub fds: &'a [(RawFd, RawFd)],
    pub group: Group,
    /// Make the child's process group the terminal's foreground group
    /// (if fd 0 is a terminal). Needs `Group::Leader` or `Group::Session`
    /// is pointless (a new session has no terminal): use `Leader`.
    pub foreground: bool,
    /// Resource limits to set in the child (the caller's original ones).
    pub rlimits: &'a [Rlimit],
    /// Pass on no descriptor but 0-2 and the targets in `fds`: those the
    /// caller inherited without close-on-exec (a build tool's jobserver,
    /// a container runtime's leftovers) stop here.
    pub close_others: bool,
    /// How a failed exec (or a failed chdir/dup2 before it) is reported.
    pub on_failure: OnFailure<'a>,
}

/// Which program: a path, or a name looked up in PATH.
#[derive(Clone, Copy)]
pub enum Program<'a> {
    /// Executed as it is (`./run`, `/usr/bin/supervise`).
    Path(&'a CStr),
    /// The candidates of a PATH search, tried in order.
    Search(&'a Search),
}

/// The child's process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Stay in the caller's group and session.
    Inherit,
    /// A new process group led by the child, in the caller's session.
    Leader,
    /// A new session (and so a new process group) led by the child.
    Session,
}

/// One resource limit, as `setrlimit(2)` takes it.
#[derive(Clone, Copy, Debug)]
pub struct Rlimit {
    pub resource: libc::__rlimit_resource_t,
    pub limit: libc::rlimit,
}

pub enum OnFailure<'a> {
    /// `spawn` waits until the child has exec'd and returns the errno of
    /// a failure in `Spawned::exec_error`.
    Report,
    /// `spawn` returns at once; on failure the child writes this message
    /// to its stderr.
    Message(&'a [u8]),
}

/// A started child. Whatever failed before exec, the child exits
/// [`EXEC_FAILED`] on its own and is reaped like any other.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    /// The exec error (`OnFailure::Report` only).
    pub exec_error: Option<Errno>,
}

/// A child whose exec failed exits with this (runsv's convention).
pub const EXEC_FAILED: i32 = crate::exit::SYSTEM;

/// `KEY=VALUE` strings and the null-terminated pointer array `execve`
/// takes, made before the fork (the child may not allocate).
pub struct Envp {
    strings: Vec<CString>,
    ptrs: Vec<*const libc::c_char>,
}

impl Envp {
    /// From `KEY=VALUE` strings.
    pub fn new(strings: Vec<CString>) -> Envp {
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Envp { strings, ptrs }
    }

    /// From a map; entries that cannot be in an environment (a NUL byte,
    /// a key with `=`) are skipped.
    pub fn from_map(env: &EnvMap) -> Envp {
        Envp::new(
            env.iter()
                .filter(|(k, _)| !k.is_empty() && !k.as_bytes().contains(&b'='))
                .filter_map(|(k, v)| key_value(k, v))
                .collect(),
        )
    }

    /// This one plus `extra` (e.g. a per-child variable).
    pub fn with(&self, extra: impl IntoIterator<Item = CString>) -> Envp {
        let mut strings = self.strings.clone();
        strings.extend(extra);
        Envp::new(strings)
    }

    pub fn strings(&self) -> &[CString] {
        &self.strings
    }

    fn as_ptr(&self) -> *const *const libc::c_char {
        self.ptrs.as_ptr()
    }
}

/// `KEY=VALUE` as a C string (`None` with a NUL byte inside).
pub fn key_value(key: &OsStr, value: &OsStr) -> Option<CString> {
    let mut s = Vec::with_capacity(key.len() + value.len() + 1);
    s.extend_from_slice(key.as_bytes());
    s.push(b'=');
    s.extend_from_slice(value.as_bytes());
    CString::new(s).ok()
}

/// PATH when the variable is unset (runit's and execvp's default).
pub const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// A PATH search made ready before a fork: the candidate files in order.
///
/// runit's `pathexec_run` rules: a name containing `/` is executed as is;
/// otherwise each PATH element is tried in order (an empty element is the
/// current directory); the search goes on past "not there" (ENOENT,
/// ENOTDIR) and past EACCES/EPERM/EISDIR (remembering that error), and
/// stops at any other error (ENOEXEC for a script without `#!`, unless
/// `shell_fallback`).
pub struct Search {
    candidates: Vec<CString>,
    /// A file without `#!` (ENOEXEC) runs under `/bin/sh`, as execvp(3)
    /// and shells do; runit's chpst does not.
    pub shell_fallback: bool,
}

impl Search {
    /// `name` looked up in `path` (`None`: [`DEFAULT_PATH`]).
    pub fn new(name: &OsStr, path: Option<&OsStr>) -> Search {
        let bytes = name.as_bytes();
        let mut candidates = Vec::new();
        if bytes.contains(&b'/') {
            candidates.extend(CString::new(bytes).ok());
        } else if !bytes.is_empty() {
            let path = path.map_or(DEFAULT_PATH, |p| p.as_bytes());
            for dir in path.split(|&c| c == b':') {
                let mut file = if dir.is_empty() {
                    b".".to_vec()
                } else {
                    dir.to_vec()
                };
                file.push(b'/');
                file.extend_from_slice(bytes);
                candidates.extend(CString::new(file).ok());
            }
        }
        Search {
            candidates,
            shell_fallback: false,
        }
    }

    /// Executes the first usable candidate with `argv` and `envp` (both
    /// null-terminated); returns only on failure, with the errno to
    /// report. Async-signal-safe: allocates nothing.
    ///
    /// # Safety
    /// `argv` and `envp` must be null-terminated arrays of valid C
    /// strings; `sh_argv`, when `shell_fallback` is set, an array of
    /// `argv`'s length + 2 whose slot 1 this function overwrites.
    unsafe fn exec(
        &self,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
        sh_argv: *mut *const libc::c_char,
    ) -> Errno {
        let mut remembered = None;
        let mut last = Errno::ENOENT;
        for file in &self.candidates {
            libc::execve(file.as_ptr(), argv, envp);
            last = Errno::last();
            if last == Errno::ENOEXEC && self.shell_fallback && !sh_argv.is_null() {
                *sh_argv.add(1) = file.as_ptr();
                libc::execve(c"/bin/sh".as_ptr(), sh_argv, envp);
                return Errno::last();
            }
            match last {
                Errno::ENOENT | Errno::ENOTDIR => {}
                Errno::EACCES | Errno::EPERM | Errno::EISDIR => remembered = Some(last),
                other => return other,
            }
        }
        remembered.unwrap_or(last)
    }
}

/// Replaces the calling process with the program `search` finds (chpst,
/// `svctl exec`); returns only on failure, with the errno to report.
pub fn exec_in_place(search: &Search, argv: &[CString], env: &Envp) -> Errno {
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let mut sh = shell_argv(&ptrs);
    // SAFETY: both arrays are null-terminated and point into `argv` and
    // `env`, which outlive the call; `sh` has argv's length + 2.
    unsafe { search.exec(ptrs.as_ptr(), env.as_ptr(), sh.as_mut_ptr()) }
}

/// `sh FILE ARGS...` for the ENOEXEC fallback, FILE (slot 1) filled in
/// by `Search::exec`.
fn shell_argv(argv: &[*const libc::c_char]) -> Vec<*const libc::c_char> {
    let mut sh = Vec::with_capacity(argv.len() + 1);
    sh.push(c"sh".as_ptr());
    sh.push(std::ptr::null());
    sh.extend(argv.iter().skip(1).copied());
    if sh.last().is_some_and(|p| !p.is_null()) {
        sh.push(std::ptr::null());
    }
    sh
}

/// Starts the child described by `e`.
pub fn spawn(e: &Exec) -> Result<Spawned, Errno> {
    assert!(!e.argv.is_empty(), "argv has a program name");
    let mut argv: Vec<*const libc::c_char> = e.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut sh_argv = match e.program {
        Program::Search(s) if s.shell_fallback => shell_argv(&argv),
        _ => Vec::new(),
    };
    let report = match e.on_failure {
        OnFailure::Report => Some(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?),
        OnFailure::Message(_) => None,
    };
    let environ_now;
    let envp = match e.env {
        Some(env) => env.as_ptr(),
        None => {
            // SAFETY: reading the `environ` pointer itself; the process is
            // single-threaded, so nothing changes it meanwhile.
            environ_now = unsafe { environ };
            environ_now
        }
    };
    let plan = ChildPlan {
        program: e.program,
        argv: argv.as_ptr(),
        sh_argv: if sh_argv.is_empty() {
            std::ptr::null_mut()
        } else {
            sh_argv.as_mut_ptr()
        },
        envp,
        cwd: e.cwd.map(|c| c.as_ptr()),
        fds: e.fds,
        group: e.group,
        foreground: e.foreground,
        rlimits: e.rlimits,
        close_others: e.close_others,
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
        ttou_set: unsafe {
            // SAFETY: as above, on another local set.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTTOU);
            set
        },
    };

    // SAFETY: svkit's programs are single-threaded, and the child branch
    // only calls async-signal-safe functions on data prepared above (no
    // allocation, no locks), then execs or _exits.
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

extern "C" {
    /// glibc's environment, which `getenv` (and so `std::env`) reads.
    static environ: *const *const libc::c_char;
}

/// The 4-byte errno the child wrote before exiting, or None once the pipe
/// closed on exec.
fn read_errno(r: &OwnedFd) -> Option<Errno> {
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
    program: Program<'a>,
    argv: *const *const libc::c_char,
    sh_argv: *mut *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: Option<*const libc::c_char>,
    fds: &'a [(RawFd, RawFd)],
    group: Group,
    foreground: bool,
    rlimits: &'a [Rlimit],
    close_others: bool,
    report: Option<RawFd>,
    message: &'a [u8],
    kernel_default: [u64; 4],
    empty_set: libc::sigset_t,
    ttou_set: libc::sigset_t,
}

impl ChildPlan<'_> {
    /// Runs in the forked child. Never returns.
    unsafe fn run(&self) -> ! {
        match self.group {
            Group::Inherit => {}
            Group::Leader => {
                libc::setpgid(0, 0);
            }
            Group::Session => {
                libc::setsid();
            }
        }
        if self.foreground && libc::isatty(0) == 1 {
            // A background group calling tcsetpgrp gets SIGTTOU unless it
            // is blocked (tini does the same); the mask is emptied below.
            libc::sigprocmask(libc::SIG_BLOCK, &self.ttou_set, std::ptr::null_mut());
            libc::tcsetpgrp(0, libc::getpid());
        }
        // Default dispositions first, then an empty mask, so a signal
        // pending in the parent's blocked set takes its default action in
        // the child. The raw system call also resets 32 and 33.
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
        for r in self.rlimits {
            libc::setrlimit(r.resource, &r.limit);
        }
        if let Some(dir) = self.cwd {
            if libc::chdir(dir) != 0 {
                self.fail(Errno::last());
            }
        }
        for &(src, dst) in self.fds {
            let ok = if src == dst {
                libc::fcntl(dst, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(src, dst) == dst
            };
            if !ok {
                self.fail(Errno::last());
            }
        }
        if self.close_others {
            self.cloexec_all_but_targets();
        }
        let errno = match self.program {
            Program::Path(path) => {
                libc::execve(path.as_ptr(), self.argv, self.envp);
                Errno::last()
            }
            Program::Search(search) => search.exec(self.argv, self.envp, self.sh_argv),
        };
        self.fail(errno)
    }

    /// Sets close-on-exec on every descriptor above 2 that is not a
    /// target in `fds` (close_range(2) with CLOSE_RANGE_CLOEXEC, so the
    /// report pipe stays usable until the exec).
    unsafe fn cloexec_all_but_targets(&self) {
        const MAX_KEPT: usize = 16;
        let mut keep = [0 as RawFd; MAX_KEPT];
        let mut n = 0;
        for &(_, dst) in self.fds {
            if dst > 2 && n < MAX_KEPT {
                keep[n] = dst;
                n += 1;
            }
        }
        let keep = &mut keep[..n];
        keep.sort_unstable();
        let mut next: libc::c_uint = 3;
        for &fd in keep.iter().chain(std::iter::once(&RawFd::MAX)) {
            let fd = fd as libc::c_uint;
            if fd > next {
                libc::syscall(
                    libc::SYS_close_range,
                    next,
                    fd - 1,
                    libc::CLOSE_RANGE_CLOEXEC,
                );
            }
            next = next.max(fd.saturating_add(1));
        }
    }

    unsafe fn fail(&self, errno: Errno) -> ! {
        match self.report {
            Some(fd) => {
                let bytes = (errno as i32).to_ne_bytes();
                libc::write(fd, bytes.as_ptr().cast(), 4);
            }
            None => {
                libc::write(2, self.message.as_ptr().cast(), self.message.len());
            }
        }
        libc::_exit(EXEC_FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_candidates_follow_path() {
        let s = Search::new(OsStr::new("ls"), Some(OsStr::new("/a::/b")));
        let c: Vec<&[u8]> = s.candidates.iter().map(|c| c.as_bytes()).collect();
        assert_eq!(c, [&b"/a/ls"[..], b"./ls", b"/b/ls"]);
        let s = Search::new(OsStr::new("./x"), Some(OsStr::new("/a")));
        assert_eq!(s.candidates.len(), 1);
        let s = Search::new(OsStr::new("sh"), None);
        assert_eq!(s.candidates[0].as_bytes(), b"/bin/sh");
        assert!(Search::new(OsStr::new(""), None).candidates.is_empty());
    }

    #[test]
    fn envp_skips_what_cannot_be_an_environment() {
        let mut m = EnvMap::new();
        m.insert("A".into(), "1".into());
        m.insert("B=C".into(), "2".into());
        m.insert("".into(), "3".into());
        let e = Envp::from_map(&m);
        assert_eq!(e.strings().len(), 1);
        assert_eq!(e.strings()[0].as_bytes(), b"A=1");
        let e = e.with([c"X=y".to_owned()]);
        assert_eq!(e.strings().len(), 2);
        assert!(e.ptrs.last().unwrap().is_null());
    }

    #[test]
    fn shell_argv_puts_the_file_first() {
        let argv = [c"prog".as_ptr(), c"a".as_ptr(), std::ptr::null()];
        let sh = shell_argv(&argv);
        assert_eq!(sh.len(), 4);
        assert!(sh[1].is_null() && sh[3].is_null());
        assert_eq!(sh[2], argv[1]);
    }
}
