//! Writing `supervise/{pid,stat,status,svkit-status}` in runsv's order
//! (protocol §2.6): `pid` only when the pid changed, then `stat`, then the
//! 20-byte `status`, then svkit's extra record, each via `X.new` + rename.

use super::service::Service;
use crate::atomic_file::{write_as, Mode};
use crate::extstatus::{ExtStatus, WantWord};
use crate::servicedir::supervise_files as sf;
use crate::status::{stat_text, Status, Want};
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
    let replace = |path: &Path, contents: &[u8]| write_as(path, contents, mode);
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
