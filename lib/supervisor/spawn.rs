//! supervise's children (`run`, `finish`, the logger, control scripts),
//! started through `crate::spawn` with runsv's conventions: argv[0] is the
//! program (`./run`), the environment is supervise's own, and a failed
//! exec leaves a child that exits 111 while supervise learns the errno.

use crate::spawn::{Group, OnFailure, Program, Spawned};
use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::RawFd;

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
    /// New session and process group.
    pub setsid: bool,
}

pub fn spawn(e: &Exec) -> Result<Spawned, Errno> {
    let mut fds = [(0, 0); 3];
    let mut n = 0;
    for pair in [
        e.stdin.map(|fd| (fd, 0)),
        e.stdout.map(|fd| (fd, 1)),
        e.extra,
    ]
    .into_iter()
    .flatten()
    {
        fds[n] = pair;
        n += 1;
    }
    crate::spawn::spawn(&crate::spawn::Exec {
        program: Program::Path(e.argv[0]),
        argv: e.argv,
        env: None,
        cwd: e.cwd,
        fds: &fds[..n],
        group: if e.setsid {
            Group::Session
        } else {
            Group::Inherit
        },
        foreground: false,
        close_others: false,
        rlimits: &[],
        on_failure: OnFailure::Report,
    })
}
