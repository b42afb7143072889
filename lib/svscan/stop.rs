//! The kills the shutdown asks for (`shutdown::Action`), performed on the
//! processes in svscan's scope.

use super::reaper::{self, Scope};
use super::services::Scanner;
use super::PROG;
use crate::msg;
use std::collections::HashSet;

/// SIGKILL for everything that keeps the shutdown from finishing, except
/// supervise processes and loggers (and the loggers' children), so the
/// services' last lines still reach the log; and for the main command's
/// process group.
pub fn kill_services(scope: Scope, scanner: &Scanner, command: Option<i32>) {
    let (services, loggers) = scanner.service_and_logger_pids();
    let parents = reaper::parent_map();
    let mut keep: HashSet<i32> = scanner.table().supervise_pids().collect();
    keep.extend(loggers.iter().copied());
    keep.extend(reaper::descendants(&parents, &loggers));
    let mut targets = reaper::in_scope(scope, &parents);
    // Also the services' own pids, in case /proc could not be read.
    targets.extend(services);
    let mut killed = 0;
    for pid in targets {
        if !keep.contains(&pid) && reaper::kill(pid, libc::SIGKILL) {
            killed += 1;
        }
    }
    if let Some(pgid) = command {
        crate::child::signal_group(pgid, libc::SIGKILL);
    }
    if killed > 0 {
        msg::warn(
            PROG,
            format!("killed {killed} processes still running near the deadline"),
        );
    }
}

/// The deadline: SIGKILL for everything in scope, every supervise and the
/// main command's group.
pub fn kill_everything(scope: Scope, scanner: &Scanner, command: Option<i32>) {
    reaper::signal_scope(scope, libc::SIGKILL);
    for pid in scanner.table().supervise_pids() {
        reaper::kill(pid, libc::SIGKILL);
    }
    if let Some(pgid) = command {
        crate::child::signal_group(pgid, libc::SIGKILL);
    }
}
