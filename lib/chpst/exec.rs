//! Running prog: execve with a PATH search done the way runit's
//! `pathexec_run` does it, against chpst's ORIGINAL `PATH` (a `PATH` set by
//! `-e` reaches prog but does not change where prog is looked up).
//!
//! - a name containing `/` is executed as is;
//! - otherwise each `PATH` element is tried in order (unset `PATH` means
//!   `/bin:/usr/bin`; an empty element means the current directory);
//! - the search goes on past "not there" (ENOENT, ENOTDIR) and past
//!   EACCES/EPERM/EISDIR (remembering that error), and stops at any other
//!   error, e.g. ENOEXEC for a script without `#!`. (runit also stops at
//!   ENOTDIR, a PATH element that is a file; like execvp(3), svkit treats
//!   that as "not there".)

use nix::errno::Errno;
use nix::unistd::execve;
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;

const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Only returns on failure, with the errno to report.
pub fn exec_search(prog: &OsStr, path: Option<&OsStr>, argv: &[CString], env: &[CString]) -> Errno {
    let name = prog.as_bytes();
    if name.contains(&b'/') {
        return match CString::new(name) {
            Ok(file) => try_exec(&file, argv, env),
            Err(_) => Errno::ENOENT,
        };
    }
    let path = path.map_or(DEFAULT_PATH, |p| p.as_bytes());
    let mut remembered = None;
    let mut last = Errno::ENOENT;
    for dir in path.split(|&c| c == b':') {
        let mut candidate = if dir.is_empty() {
            b".".to_vec()
        } else {
            dir.to_vec()
        };
        candidate.push(b'/');
        candidate.extend_from_slice(name);
        let Ok(file) = CString::new(candidate) else {
            continue;
        };
        last = try_exec(&file, argv, env);
        match last {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES | Errno::EPERM | Errno::EISDIR => remembered = Some(last),
            other => return other,
        }
    }
    remembered.unwrap_or(last)
}

fn try_exec(file: &CStr, argv: &[CString], env: &[CString]) -> Errno {
    match execve(file, argv, env) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}
