//! All of svscan's signals arrive through one signalfd, so none is lost
//! between start-up and the first poll, and none interrupts a system call.
//! Children get an empty mask and default dispositions back in
//! `crate::spawn`, the one place every child is started.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// What a received signal asks svscan to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGCHLD: reap children.
    Reap,
    /// SIGTERM, SIGINT, SIGQUIT, SIGPWR: orderly shutdown.
    Shutdown(Signal),
    /// SIGHUP, SIGALRM: full rescan.
    Rescan,
    /// SIGTTIN, SIGTTOU: ignored (svscan never stops on job control).
    Ignore,
}

const HANDLED: [Signal; 9] = [
    Signal::SIGCHLD,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGPWR,
    Signal::SIGHUP,
    Signal::SIGALRM,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

fn classify(sig: Signal) -> Request {
    match sig {
        Signal::SIGCHLD => Request::Reap,
        Signal::SIGHUP | Signal::SIGALRM => Request::Rescan,
        Signal::SIGTERM | Signal::SIGINT | Signal::SIGQUIT | Signal::SIGPWR => {
            Request::Shutdown(sig)
        }
        _ => Request::Ignore,
    }
}

pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks the handled signals and opens the signalfd. Call before any
    /// fork so that no child exit or stop request can slip past.
    pub fn install() -> nix::Result<Self> {
        let mut set = SigSet::empty();
        for s in HANDLED {
            set.add(s);
        }
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Signals { fd })
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Next pending request, or `None` when the signalfd is drained.
    pub fn next_request(&mut self) -> Option<Request> {
        loop {
            match self.fd.read_signal() {
                Ok(Some(info)) => match Signal::try_from(info.ssi_signo as i32) {
                    Ok(sig) => return Some(classify(sig)),
                    Err(_) => continue,
                },
                Ok(None) => return None,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return None,
            }
        }
    }
}

/// Human name of a signal for messages (`SIGTERM`).
pub fn name(sig: Signal) -> &'static str {
    sig.as_str()
}
