//! Writing `supervise/{pid,stat,status,svkit-status}` in runsv's order
//! (protocol §2.6): `pid` only when the pid changed, then `stat`, then the
//! 20-byte `status`, then svkit's extra record.
//!
//! Each file is written as `X.new` and then swapped into place with
//! `renameat2(RENAME_EXCHANGE)`: a reader sees the old file or the new
//! one, as with runsv's rename, but the old inode survives as the next
//! `X.new` and is written over in place next time. runsv's rename makes a
//! new inode per file per state change and frees one, which on ext4 is
//! most of what a crash loop costs a supervisor (inode allocation,
//! eviction, block freeing and discard). A reader still holding the old
//! inode open from before the previous change could see it rewritten; the
//! readers (sv, svctl, svstat) read the file whole right after opening it.
//! The `X.new` files stay while supervise runs and are removed as it
//! exits. Where the file system cannot exchange (EINVAL), or `X` does not
//! exist yet, a plain rename is used.

use super::service::Service;
use crate::atomic_file::{write_as, Mode};
use crate::extstatus::{ExtStatus, WantWord};
use crate::servicedir::supervise_files as sf;
use crate::status::{stat_text, Status, Want};
use rustix::fs::{Mode as FileMode, OFlags, RenameFlags, CWD};
use std::io;
use std::path::Path;

/// Writes all status files of `svc` into `sup` (the state directory,
/// ending in `/`); `supervisor_pid` goes into svkit-status. `pid_written`
/// is the pid last written to `pid` (runsv rewrites it only on change).
/// Returns the first error (the remaining files are still attempted so a
/// reader sees as much as possible).
pub fn write(
    svc: &Service,
    sup: &str,
    pid_written: &mut Option<i32>,
    supervisor_pid: u32,
    mode: Mode,
) -> io::Result<()> {
    let replace = |path: &Path, contents: &[u8]| match mode {
        Mode::Replace => exchange(path, contents),
        Mode::InPlace => {
            // The last write: in place, and the spare inodes go.
            let r = write_as(path, contents, mode);
            let _ = std::fs::remove_file(spare_name(path));
            r
        }
    };
    let mut first_err = None;
    let mut note = |r: io::Result<()>| {
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    };
    let path = |name: &str| format!("{sup}{name}");
    if *pid_written != Some(svc.pid) {
        let text = if svc.pid != 0 {
            format!("{}\n", svc.pid)
        } else {
            String::new()
        };
        let r = replace(Path::new(&path(sf::PID)), text.as_bytes());
        if r.is_ok() {
            *pid_written = Some(svc.pid);
        }
        note(r);
    }
    let stat = stat_text(svc.state, svc.paused, svc.got_term, svc.want);
    note(replace(Path::new(&path(sf::STAT)), stat.as_bytes()));
    let status = Status::new(
        svc.stamp,
        svc.pid as u32,
        svc.paused,
        svc.want,
        svc.got_term,
        svc.state,
    );
    note(replace(Path::new(&path(sf::STATUS)), &status.encode()));
    let ext = ExtStatus {
        state: svc.state.word().to_string(),
        want: match svc.want {
            Want::Up => WantWord::Up,
            Want::Down if svc.once => WantWord::Once,
            Want::Down => WantWord::Down,
            Want::Exit => WantWord::Exit,
        },
        pid: svc.pid as u32,
        pid_start_ticks: svc.pid_start_ticks,
        paused: svc.paused,
        since: svc.since,
        ready: svc.ready,
        ready_since: svc.ready_since,
        starts: svc.starts,
        restarts: svc.restarts,
        last_exit: svc.last_exit,
        failed: svc.failed,
        normally_up: svc.normally_up,
        supervisor_pid,
    };
    note(replace(
        Path::new(&path(sf::EXT_STATUS)),
        ext.encode().as_bytes(),
    ));
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn spare_name(path: &Path) -> std::ffi::OsString {
    let mut tmp = std::ffi::OsString::from(path.as_os_str());
    tmp.push(".new");
    tmp
}

/// Gives `path` its new `contents` through `path.new` (see the module doc).
fn exchange(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = spare_name(path);
    let fd = rustix::fs::openat(
        CWD,
        tmp.as_os_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW,
        FileMode::from_raw_mode(0o644),
    )?;
    let mut done = 0;
    while done < contents.len() {
        match rustix::io::pwrite(&fd, &contents[done..], done as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    rustix::fs::ftruncate(&fd, contents.len() as u64)?;
    drop(fd);
    match rustix::fs::renameat_with(CWD, tmp.as_os_str(), CWD, path, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        // No `X` yet, or a file system that cannot exchange: runsv's rename.
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            std::fs::rename(&tmp, path)
        }
        Err(e) => Err(e.into()),
    }
}
