//! The built-in probes (`tcp://`, `http://`) as non-blocking state
//! machines over one socket that the caller polls along with everything
//! else it waits for.
//!
//! [`Probe::start`] resolves the host ([`super::hosts`]), opens a
//! non-blocking socket and starts the connect; it never waits. The caller
//! then polls [`Probe::fd`] for [`Probe::interest`] and calls
//! [`Probe::advance`] whenever the descriptor is ready, until a
//! [`Verdict`] comes back. The probe has no clock: its timeout belongs to
//! whoever drives it ([`super::machine`]), and dropping a `Probe` cancels
//! it (the socket closes). [`run`] drives one to completion with a
//! deadline, for `svctl health` and the tests.
//!
//! `tcp://`: healthy when the connection is accepted; it is closed at
//! once. `http://`: after the connect, one request ([`super::http`]) is
//! sent, and the verdict is the status line of the answer.
//!
//! Sends use `MSG_NOSIGNAL`: a peer that resets the connection must cost
//! a failed probe, never a SIGPIPE to the supervisor.

use super::hosts;
use super::http::{self, Head};
use super::url::{Host, Target};
use crate::errstr::runit_error_str;
use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub healthy: bool,
    /// One line saying what was seen (the HTTP status line, or what went
    /// wrong), for `svctl status` and the `unhealthy` event.
    pub line: String,
}

impl Verdict {
    fn fail(target: &Target, what: impl std::fmt::Display) -> Verdict {
        Verdict {
            healthy: false,
            line: format!("{target}: {what}"),
        }
    }
}

/// How [`Probe::start`] ended.
#[derive(Debug)]
pub enum Started {
    /// In progress: poll it.
    Running(Probe),
    /// Decided at once (name not found, connection refused by a local
    /// stack that answers synchronously, no socket).
    Done(Verdict),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Sending,
    Receiving,
}

/// A probe in progress.
#[derive(Debug)]
pub struct Probe {
    target: Target,
    sock: OwnedFd,
    phase: Phase,
    request: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
}

impl Probe {
    /// Starts probing `target`, resolving names through `hosts_file`
    /// (normally [`hosts::HOSTS_FILE`]). Never blocks.
    pub fn start(target: &Target, hosts_file: &Path) -> Started {
        let ip = match target.host() {
            Host::Ip(ip) => *ip,
            Host::Name(name) => match hosts::resolve_in(hosts_file, name) {
                Some(ip) => ip,
                None => {
                    return Started::Done(Verdict::fail(
                        target,
                        format_args!("{name} is not in {}", hosts_file.display()),
                    ))
                }
            },
        };
        let addr = SocketAddr::new(ip, target.port());
        let family = if addr.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        let sock = match rustix::net::socket_with(
            family,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        ) {
            Ok(s) => s,
            Err(e) => return Started::Done(Verdict::fail(target, failed("socket", e))),
        };
        let request = match target {
            Target::Tcp { .. } => Vec::new(),
            Target::Http {
                path, authority, ..
            } => http::request(authority, path),
        };
        let mut probe = Probe {
            target: target.clone(),
            sock,
            phase: Phase::Connecting,
            request,
            sent: 0,
            received: Vec::new(),
        };
        match rustix::net::connect(&probe.sock, &addr) {
            // Loopback connects may complete at once.
            Ok(()) => match probe.connected() {
                Some(v) => Started::Done(v),
                None => Started::Running(probe),
            },
            Err(Errno::INPROGRESS) | Err(Errno::INTR) => Started::Running(probe),
            Err(e) => Started::Done(Verdict::fail(target, failed("connect", e))),
        }
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// What to poll it for.
    pub fn interest(&self) -> PollFlags {
        match self.phase {
            Phase::Connecting | Phase::Sending => PollFlags::OUT,
            Phase::Receiving => PollFlags::IN,
        }
    }

    /// Makes what progress the socket allows without blocking. Call it
    /// when poll reports the descriptor ready (any revents, errors and
    /// hang-ups included); a spurious call is harmless. `Some` is the
    /// verdict: the probe is over and can be dropped.
    pub fn advance(&mut self) -> Option<Verdict> {
        match self.phase {
            Phase::Connecting => {
                match rustix::net::sockopt::socket_error(&self.sock) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) | Err(e) => {
                        return Some(Verdict::fail(&self.target, failed("connect", e)))
                    }
                }
                // SO_ERROR is 0 both when connected and while still in
                // progress: the peer name tells them apart.
                match rustix::net::getpeername(&self.sock) {
                    Ok(_) => self.connected(),
                    Err(Errno::NOTCONN) => None,
                    Err(e) => Some(Verdict::fail(&self.target, failed("connect", e))),
                }
            }
            Phase::Sending => self.send(),
            Phase::Receiving => self.receive(),
        }
    }

    fn connected(&mut self) -> Option<Verdict> {
        match self.target {
            Target::Tcp { .. } => Some(Verdict {
                healthy: true,
                line: format!("{}: connected", self.target),
            }),
            Target::Http { .. } => {
                self.phase = Phase::Sending;
                self.send()
            }
        }
    }

    fn send(&mut self) -> Option<Verdict> {
        while self.sent < self.request.len() {
            match rustix::net::send(&self.sock, &self.request[self.sent..], SendFlags::NOSIGNAL) {
                Ok(n) => self.sent += n,
                Err(Errno::AGAIN) => return None,
                Err(Errno::INTR) => {}
                Err(e) => return Some(Verdict::fail(&self.target, failed("send", e))),
            }
        }
        self.phase = Phase::Receiving;
        self.receive()
    }

    fn receive(&mut self) -> Option<Verdict> {
        let mut chunk = [0u8; 1024];
        loop {
            let room = http::MAX_HEAD_BYTES.saturating_sub(self.received.len());
            let want = room.min(chunk.len());
            let eof = if want == 0 {
                // Bound reached: let the parser say so.
                false
            } else {
                match rustix::net::recv(&self.sock, &mut chunk[..want], RecvFlags::empty()) {
                    Ok((0, _)) => true,
                    Ok((n, _)) => {
                        self.received.extend_from_slice(&chunk[..n]);
                        false
                    }
                    Err(Errno::AGAIN) => return None,
                    Err(Errno::INTR) => continue,
                    Err(e) => return Some(Verdict::fail(&self.target, failed("receive", e))),
                }
            };
            match http::parse(&self.received, eof) {
                Head::NeedMore if want == 0 => {
                    return Some(Verdict::fail(&self.target, http::HttpError::TooLong))
                }
                Head::NeedMore => {}
                Head::Status { code, line } => {
                    return Some(Verdict {
                        healthy: http::healthy(code),
                        line,
                    })
                }
                Head::Invalid(e) => return Some(Verdict::fail(&self.target, e)),
            }
        }
    }
}

fn failed(op: &str, e: Errno) -> String {
    format!("{op}: {}", runit_error_str(e))
}

/// Runs one probe of `target` to its verdict, waiting at most `timeout`
/// (blocking the calling thread: for `svctl health` and tests, never for
/// a supervisor's event loop).
pub fn run(target: &Target, hosts_file: &Path, timeout: Duration) -> Verdict {
    let deadline = Instant::now() + timeout;
    let mut probe = match Probe::start(target, hosts_file) {
        Started::Done(v) => return v,
        Started::Running(p) => p,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Verdict::fail(
                target,
                format_args!("timed out after {} ms", timeout.as_millis()),
            );
        }
        let mut fds = [rustix::event::PollFd::from_borrowed_fd(
            probe.fd(),
            probe.interest(),
        )];
        match rustix::event::poll(&mut fds, Some(&crate::child::timespec(left))) {
            Ok(0) | Err(Errno::INTR) => continue,
            Ok(_) => {
                if let Some(v) = probe.advance() {
                    return v;
                }
            }
            Err(e) => return Verdict::fail(target, failed("poll", e)),
        }
    }
}
