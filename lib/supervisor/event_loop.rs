//! The one poll(2) loop. It blocks with no timeout unless a timer is
//! actually pending (restart delay, timeout-kill, timeout-finish), so an
//! idle supervise never wakes up. Signals arrive through a signalfd.
//!
//! A removed service directory is noticed at the next wakeup (any signal,
//! control byte or child exit; SIGHUP is the documented nudge) by checking
//! the link count of our cwd. An inotify watch would notice it at once but
//! costs one inotify instance per supervise, and instances are a small
//! per-user budget (128 by default) that svscan and loggers need too.

use super::lifecycle::{Ended, Supervisor, Which};
use nix::sys::signalfd::SignalFd;
use rustix::event::{PollFd, PollFlags};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

/// Poll slots, in order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Signals,
    Control(Which),
    Readiness,
    Adopted(Which),
}

/// Runs until supervise should exit; returns the exit code.
pub fn run(sup: &mut Supervisor, signals: &SignalFd) -> i32 {
    loop {
        let now = Instant::now();
        sup.timers(now);
        if let Some(code) = sup.housekeeping(now) {
            sup.flush_status_final();
            return code;
        }
        sup.flush_status();
        let ready = wait(sup, signals);
        let now = Instant::now();
        for slot in ready.iter().flatten().copied() {
            match slot {
                Slot::Signals => drain_signals(sup, signals, now),
                Slot::Control(w) => read_control(sup, w, now),
                Slot::Readiness => sup.on_readiness_input(),
                Slot::Adopted(w) => {
                    let svc = sup.svc(w);
                    if svc.adopted.take().is_some() {
                        sup.on_exit(w, Ended::Unknown, now);
                    }
                }
            }
        }
        if !sup.vanished && sup.dir_gone() {
            sup.vanished_now();
        }
    }
}

/// Blocks until something happens or the next timer is due; returns the
/// slots that are ready.
fn wait<'a>(sup: &'a Supervisor, signals: &'a SignalFd) -> [Option<Slot>; 8] {
    let mut list: Vec<(Slot, BorrowedFd<'a>)> = Vec::with_capacity(8);
    list.push((Slot::Signals, signals.as_fd()));
    list.push((Slot::Control(Which::Main), sup.main.held.control_r.as_fd()));
    if let Some(log) = &sup.log {
        list.push((Slot::Control(Which::Log), log.held.control_r.as_fd()));
        if let Some(fd) = &log.adopted {
            list.push((Slot::Adopted(Which::Log), fd.as_fd()));
        }
    }
    if let Some(fd) = &sup.main.notify_r {
        list.push((Slot::Readiness, fd.as_fd()));
    }
    if let Some(fd) = &sup.main.adopted {
        list.push((Slot::Adopted(Which::Main), fd.as_fd()));
    }
    let mut pollfds: Vec<PollFd> = list
        .iter()
        .map(|(_, fd)| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
        .collect();
    let timeout = sup.next_deadline().map(|t| {
        let d = t.saturating_duration_since(Instant::now());
        rustix::time::Timespec {
            tv_sec: d.as_secs() as _,
            tv_nsec: d.subsec_nanos() as _,
        }
    });
    let mut ready: [Option<Slot>; 8] = [None; 8];
    match rustix::event::poll(&mut pollfds, timeout.as_ref()) {
        Ok(0) | Err(_) => {}
        Ok(_) => {
            let mut k = 0;
            for (i, p) in pollfds.iter().enumerate() {
                if !p.revents().is_empty() {
                    ready[k] = Some(list[i].0);
                    k += 1;
                }
            }
        }
    }
    ready
}

fn drain_signals(sup: &mut Supervisor, signals: &SignalFd, now: Instant) {
    let mut child = false;
    while let Ok(Some(info)) = signals.read_signal() {
        match info.ssi_signo as i32 {
            libc::SIGCHLD => child = true,
            // SIGTERM means exactly `x` (§5.5).
            libc::SIGTERM => sup.command(Which::Main, b'x', now),
            // HUP, INT, QUIT, USR1, USR2, ALRM, PIPE: never fatal (Q6).
            _ => {}
        }
    }
    if child {
        reap(sup, now);
    }
}

/// Reaps every exited child and feeds the ones we track to the machine.
fn reap(sup: &mut Supervisor, now: Instant) {
    loop {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        let (pid, how) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), Ended::Code(code)),
            Ok(WaitStatus::Signaled(pid, sig, core)) => (
                pid.as_raw(),
                Ended::Signal {
                    sig: sig as i32,
                    core,
                },
            ),
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        };
        if sup.main.pid == pid && sup.main.adopted.is_none() {
            sup.on_exit(Which::Main, how, now);
        } else if sup
            .log
            .as_ref()
            .is_some_and(|l| l.pid == pid && l.adopted.is_none())
        {
            sup.on_exit(Which::Log, how, now);
        }
    }
}

/// Reads what is queued in a control FIFO and executes it in order.
fn read_control(sup: &mut Supervisor, w: Which, now: Instant) {
    let mut buf = [0u8; 64];
    let n = {
        let svc = sup.svc(w);
        match nix::unistd::read(&svc.held.control_r, &mut buf) {
            Ok(n) => n,
            Err(_) => return,
        }
    };
    for &b in &buf[..n] {
        sup.command(w, b, now);
    }
}
