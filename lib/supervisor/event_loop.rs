//! The one poll(2) loop: it turns descriptors, signals and timers into
//! `machine::Event`s; `actions` carries out what the machine answers. It
//! decides nothing.
//!
//! It blocks with no timeout unless the machine has a deadline (restart
//! delay, timeout-kill, timeout-finish), so an idle supervise never wakes
//! up. Signals arrive through a signalfd.
//!
//! A removed service directory is noticed at the next wakeup (any signal,
//! control byte or child exit; SIGHUP is the documented nudge) by checking
//! the link count of our cwd. An inotify watch would notice it at once but
//! costs one inotify instance per supervise, and instances are a small
//! per-user budget (128 by default) that svscan and loggers need too.

use super::logpipe::LogPipe;
use super::machine::{Event, Machine, Now, Which};
use super::setup::Held;
use crate::atomic_file::Mode;
use crate::child::Exit;
use crate::tai64n::Tai64n;
use nix::sys::signalfd::SignalFd;
use rustix::event::{PollFd, PollFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

/// The descriptors and bookkeeping that go with one service.
pub struct ServiceIo {
    /// How messages name the service directory.
    pub label: String,
    pub held: Held,
    /// Read end of the readiness pipe of the current `run`.
    pub notify_r: Option<OwnedFd>,
    /// pidfd of an adopted `run`: its exit is seen here, its wait status
    /// is not.
    pub adopted: Option<OwnedFd>,
    /// The pid last written to `supervise/pid`.
    pub pid_written: Option<i32>,
    /// The status files are out of date.
    pub dirty: bool,
}

impl ServiceIo {
    pub fn new(label: String, held: Held, adopted: Option<OwnedFd>) -> Self {
        ServiceIo {
            label,
            held,
            notify_r: None,
            adopted,
            pid_written: None,
            dirty: false,
        }
    }
}

pub struct Supervise {
    pub machine: Machine,
    pub main: ServiceIo,
    pub log: Option<ServiceIo>,
    pub pipe: Option<LogPipe>,
    pub signals: SignalFd,
    /// Time zero of the machine's monotonic clock.
    pub origin: Instant,
    pub my_pid: u32,
    /// A status write failed because the directory is gone.
    pub gone: bool,
}

/// Poll slots, in order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Signals,
    Control(Which),
    Readiness,
    Adopted(Which),
}

impl Supervise {
    /// Runs until supervise should exit; returns the exit code.
    pub fn run(&mut self) -> i32 {
        let mut out = Vec::with_capacity(8);
        self.machine.begin(self.now(), &mut out);
        if let Some(code) = self.perform(&mut out) {
            return code;
        }
        loop {
            self.flush(Mode::Replace);
            let ready = self.wait();
            let mut woke = false;
            for slot in ready.iter().flatten().copied() {
                woke = true;
                let code = match slot {
                    Slot::Signals => self.drain_signals(),
                    Slot::Control(w) => self.read_control(w),
                    Slot::Readiness => self.read_readiness(),
                    Slot::Adopted(w) => {
                        if self.io(w).adopted.take().is_some() {
                            self.feed(Event::Exited(w, None))
                        } else {
                            None
                        }
                    }
                };
                if let Some(code) = code {
                    return code;
                }
            }
            if !woke {
                if let Some(code) = self.feed(Event::Timer) {
                    return code;
                }
            }
            if self.gone || dir_gone() {
                self.gone = false;
                if let Some(code) = self.feed(Event::DirGone) {
                    return code;
                }
            }
        }
    }

    pub(super) fn now(&self) -> Now {
        Now {
            mono: self.origin.elapsed(),
            wall: Tai64n::now(),
        }
    }

    pub(super) fn io(&mut self, w: Which) -> &mut ServiceIo {
        match w {
            Which::Main => &mut self.main,
            // Only asked for with a logger (its FIFO, children, timers).
            Which::Log => self.log.as_mut().unwrap_or(&mut self.main),
        }
    }

    /// One event into the machine and its actions carried out; the exit
    /// code once supervise should exit.
    pub(super) fn feed(&mut self, ev: Event) -> Option<i32> {
        let mut out = Vec::with_capacity(8);
        self.machine.step(ev, self.now(), &mut out);
        self.perform(&mut out)
    }

    /// Blocks until something happens or the machine's deadline; returns
    /// the slots that are ready (none: the deadline passed).
    fn wait(&self) -> [Option<Slot>; 8] {
        let mut list: [Option<(Slot, BorrowedFd)>; 8] = [None; 8];
        let mut n = 0;
        let mut add = |slot: Slot, fd| {
            list[n] = Some((slot, fd));
            n += 1;
        };
        add(Slot::Signals, self.signals.as_fd());
        add(Slot::Control(Which::Main), self.main.held.control_r.as_fd());
        if let Some(log) = &self.log {
            add(Slot::Control(Which::Log), log.held.control_r.as_fd());
            if let Some(fd) = &log.adopted {
                add(Slot::Adopted(Which::Log), fd.as_fd());
            }
        }
        if let Some(fd) = &self.main.notify_r {
            add(Slot::Readiness, fd.as_fd());
        }
        if let Some(fd) = &self.main.adopted {
            add(Slot::Adopted(Which::Main), fd.as_fd());
        }
        let mut pollfds: Vec<PollFd> = list
            .iter()
            .flatten()
            .map(|(_, fd)| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
            .collect();
        let timeout = self
            .machine
            .deadline()
            .map(|t| crate::child::timespec(t.saturating_sub(self.origin.elapsed())));
        let mut ready: [Option<Slot>; 8] = [None; 8];
        if let Ok(1..) = rustix::event::poll(&mut pollfds, timeout.as_ref()) {
            let slots = list.iter().flatten().map(|(s, _)| *s);
            let due = slots.zip(&pollfds).filter(|(_, p)| !p.revents().is_empty());
            for (k, (slot, _)) in due.enumerate() {
                ready[k] = Some(slot);
            }
        } else if timeout.is_none() {
            // EINTR without a deadline: look again rather than fire a
            // timer nobody set.
            ready[0] = Some(Slot::Signals);
        }
        ready
    }

    fn drain_signals(&mut self) -> Option<i32> {
        let mut child = false;
        let mut term = false;
        while let Ok(Some(info)) = self.signals.read_signal() {
            match info.ssi_signo as i32 {
                libc::SIGCHLD => child = true,
                libc::SIGTERM => term = true,
                // HUP, INT, QUIT, USR1, USR2, ALRM, PIPE: never fatal (Q6).
                _ => {}
            }
        }
        if term {
            if let Some(code) = self.feed(Event::Term) {
                return Some(code);
            }
        }
        if child {
            return self.reap();
        }
        None
    }

    /// Reaps every exited child and feeds the ones we track to the machine.
    fn reap(&mut self) -> Option<i32> {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        loop {
            let (pid, how) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), Exit::Code(code)),
                Ok(WaitStatus::Signaled(pid, sig, core)) => (
                    pid.as_raw(),
                    Exit::Signal {
                        sig: sig as i32,
                        core,
                    },
                ),
                Ok(WaitStatus::StillAlive) | Err(_) => return None,
                Ok(_) => continue,
            };
            for w in [Which::Main, Which::Log] {
                let ours = self
                    .machine
                    .service(w)
                    .is_some_and(|s| s.pid == pid && !s.adopted);
                if ours {
                    let io = self.io(w);
                    io.notify_r = None;
                    if let Some(code) = self.feed(Event::Exited(w, Some(how))) {
                        return Some(code);
                    }
                    break;
                }
            }
        }
    }

    /// Reads what is queued in a control FIFO and feeds it in order.
    fn read_control(&mut self, w: Which) -> Option<i32> {
        let mut buf = [0u8; 64];
        let n = nix::unistd::read(&self.io(w).held.control_r, &mut buf).ok()?;
        for &b in &buf[..n] {
            if let Some(code) = self.feed(Event::Control(w, b)) {
                return Some(code);
            }
        }
        None
    }

    /// Input on the readiness pipe of the main service: a line means
    /// ready; EOF or an error ends the watch.
    fn read_readiness(&mut self) -> Option<i32> {
        let fd = self.main.notify_r.as_ref()?;
        let mut buf = [0u8; 64];
        let ready = match nix::unistd::read(fd, &mut buf) {
            Ok(0) => false,
            Ok(n) if buf[..n].contains(&b'\n') => true,
            Ok(_) | Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => return None,
            Err(_) => false,
        };
        self.main.notify_r = None;
        if ready {
            self.feed(Event::Ready)
        } else {
            None
        }
    }
}

/// Is our working directory (the service directory) deleted?
pub(super) fn dir_gone() -> bool {
    !matches!(nix::sys::stat::stat("."), Ok(st) if st.st_nlink > 0)
}
