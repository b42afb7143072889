//! Signals as events: TERM, HUP, ALRM and CHLD are blocked and read from a
//! signalfd, so they are noticed in the same `poll(2)` that waits for input
//! and never interrupt a write half-way. Children get an empty mask back
//! (std's `Command` resets it before exec).

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{poll, PollFd, PollFlags};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Signals received and not yet acted on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pending {
    pub term: bool,
    pub hup: bool,
    pub alrm: bool,
    pub chld: bool,
}

pub struct Signals {
    fd: SignalFd,
    pub pending: Pending,
    verbose: bool,
}

impl Signals {
    /// Blocks the four signals and opens the signalfd.
    pub fn install(verbose: bool) -> nix::Result<Self> {
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGALRM,
            Signal::SIGCHLD,
        ] {
            mask.add(s);
        }
        mask.thread_block()?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Signals {
            fd,
            pending: Pending::default(),
            verbose,
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads every queued signal into `pending`.
    pub fn drain(&mut self) {
        while let Ok(Some(info)) = self.fd.read_signal() {
            let name = match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGTERM) => {
                    self.pending.term = true;
                    "sigterm"
                }
                Ok(Signal::SIGHUP) => {
                    self.pending.hup = true;
                    "sighup"
                }
                Ok(Signal::SIGALRM) => {
                    self.pending.alrm = true;
                    "sigalrm"
                }
                Ok(Signal::SIGCHLD) => {
                    self.pending.chld = true;
                    continue;
                }
                _ => continue,
            };
            if self.verbose {
                crate::msg::info(super::PROG, format_args!("{name} received"));
            }
        }
    }

    /// Sleeps until `deadline` (a timer, not a busy loop), returning early
    /// when TERM arrives. Other signals are recorded for later.
    pub fn sleep_until(&mut self, deadline: Instant) {
        loop {
            self.drain();
            if self.pending.term {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let left = timespec(deadline - now);
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
            let _ = poll(&mut fds, Some(&left));
        }
    }
}

/// A poll timeout for `d` (rounded up to the next millisecond so a timer
/// does not wake just before its deadline and spin).
pub fn timespec(d: Duration) -> rustix::time::Timespec {
    let d = d.saturating_add(Duration::from_micros(999));
    rustix::time::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX) as _,
        tv_nsec: (d.subsec_millis() as i64 * 1_000_000) as _,
    }
}
