//! The event loop: one poll over the signalfd and the inotify fd, with a
//! timeout only while something is scheduled (a throttled restart, a
//! shutdown phase, a fallback rescan). Idle svscan never wakes up.

use super::command::{self, MainCommand};
use super::lock::{self, LockError};
use super::logpipe::LogPipe;
use super::memory::Trimmer;
use super::options::{Options, FALLBACK_RESCAN};
use super::reaper::{self, Scope};
use super::scan::{self, Probe};
use super::shutdown::Shutdown;
use super::signals::{self, Request, Signals};
use super::spawn::{FileLimit, Spawner};
use super::table::{Id, Table};
use super::watch::{Change, Watcher};
use super::PROG;
use crate::msg;
use nix::sys::wait::WaitStatus;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// A supervise that ran less than this is restarted only after it.
const RESTART_THROTTLE: Duration = Duration::from_secs(1);
/// How many supervise processes to start between two looks at signals,
/// so a stop request during a big start-up is seen at once.
const START_BATCH: usize = 32;

pub struct Svscan {
    pub(super) opts: Options,
    pub(super) scope: Scope,
    pub(super) signals: Signals,
    pub(super) watcher: Option<Watcher>,
    pub(super) table: Table,
    queue: VecDeque<Id>,
    restarts: BinaryHeap<Reverse<(Instant, Id)>>,
    rescan_every: Option<Duration>,
    next_rescan: Option<Instant>,
    spawner: Spawner,
    pub(super) shutdown: Option<Shutdown>,
    pub(super) command: Option<MainCommand>,
    pub(super) exit_code: i32,
    /// The last reap found no children at all.
    pub(super) no_children: bool,
    scandir_gone_reported: bool,
    trimmer: Trimmer,
}

/// Runs svscan until its shutdown completes; returns the exit code.
pub fn run(opts: Options, signals: Signals) -> i32 {
    let (scope, subreaper_err) = Scope::establish();
    if let Some(e) = subreaper_err {
        msg::warn_why(PROG, "unable to become a child subreaper", e);
    }
    let file_limit = FileLimit::raise();
    let scandir = opts.scandir.clone();
    let _lock = match lock::acquire(&scandir) {
        Ok(l) => l,
        Err(LockError::Busy) => msg::fatal(
            PROG,
            msg::exit::LOCKED,
            format!("unable to lock {}", scandir.display()),
            "another svscan is already scanning this directory",
        ),
        Err(LockError::Open(e)) => msg::fatal(
            PROG,
            msg::exit::SYSTEM,
            format!("unable to open scan directory {}", scandir.display()),
            e.desc(),
        ),
        Err(LockError::Other(e)) => msg::fatal(
            PROG,
            msg::exit::SYSTEM,
            format!("unable to lock {}", scandir.display()),
            e.desc(),
        ),
    };
    let mut rescan_every = opts.rescan_interval;
    let watcher = if opts.no_inotify {
        rescan_every.get_or_insert(FALLBACK_RESCAN);
        None
    } else {
        match Watcher::new(&scandir) {
            Ok(w) => Some(w),
            Err(e) => {
                let every = *rescan_every.get_or_insert(FALLBACK_RESCAN);
                msg::warn_why(
                    PROG,
                    format!("inotify unavailable, rescanning every {}", human(every)),
                    e.desc(),
                );
                None
            }
        }
    };
    let spawner = match Spawner::new(&opts.supervise, &scandir, file_limit) {
        Ok(s) => s,
        Err(e) => msg::fatal(PROG, msg::exit::SYSTEM, "unable to prepare supervise", e),
    };
    let mut sv = Svscan {
        opts,
        scope,
        signals,
        watcher,
        table: Table::default(),
        queue: VecDeque::new(),
        restarts: BinaryHeap::new(),
        rescan_every,
        next_rescan: None,
        spawner,
        shutdown: None,
        command: None,
        exit_code: msg::exit::OK,
        no_children: false,
        scandir_gone_reported: false,
        trimmer: Trimmer::default(),
    };
    sv.full_rescan(Instant::now());
    if !sv.opts.command.is_empty() {
        sv.start_command();
    }
    sv.event_loop()
}

pub(super) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl Svscan {
    fn event_loop(&mut self) -> i32 {
        let mut changes = Vec::new();
        loop {
            let now = Instant::now();
            let timeout = self.poll_timeout(now);
            let (sig_ready, ino_ready) = {
                let pollfd = |fd: std::os::fd::BorrowedFd| libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let mut fds = [pollfd(self.signals.fd()), pollfd(self.signals.fd())];
                let n = match &self.watcher {
                    Some(w) => {
                        fds[1] = pollfd(w.fd());
                        2
                    }
                    None => 1,
                };
                match self.trimmer.poll(&mut fds[..n], timeout) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => msg::fatal(PROG, msg::exit::SYSTEM, "unable to poll", e),
                }
                (fds[0].revents != 0, n == 2 && fds[1].revents != 0)
            };
            if sig_ready {
                while let Some(req) = self.signals.next_request() {
                    self.on_request(req);
                }
            }
            if ino_ready {
                if let Some(w) = &self.watcher {
                    w.read(&mut changes);
                }
                self.on_changes(std::mem::take(&mut changes));
            }
            let now = Instant::now();
            self.run_timers(now);
            self.start_queued(START_BATCH, now);
            if let Some(code) = self.shutdown_step(Instant::now()) {
                return code;
            }
        }
    }

    /// Milliseconds until the next scheduled thing, or -1 (none).
    fn poll_timeout(&self, now: Instant) -> i32 {
        if !self.queue.is_empty() {
            return 0;
        }
        let mut next = self.restarts.peek().map(|Reverse((t, _))| *t);
        if let Some(t) = self.next_rescan {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        if let Some(t) = self.shutdown.as_ref().and_then(|s| s.next_wakeup()) {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        match next {
            None => -1,
            Some(t) => {
                let wait = t.saturating_duration_since(now);
                // Round up so we never wake a hair early and spin.
                let ms = wait.as_millis() + u128::from(wait.subsec_nanos() % 1_000_000 != 0);
                ms.min(i32::MAX as u128) as i32
            }
        }
    }

    fn on_request(&mut self, req: Request) {
        match req {
            Request::Reap => self.reap(),
            Request::Shutdown(sig) => {
                if self.shutdown.is_some() {
                    msg::info(PROG, format!("{}: skipping to kill", signals::name(sig)));
                    self.skip_to_kill(Instant::now());
                } else {
                    self.begin_shutdown(signals::name(sig).to_string(), Instant::now());
                }
            }
            Request::Rescan => {
                if self.shutdown.is_none() {
                    self.full_rescan(Instant::now());
                }
            }
            Request::Ignore => {}
        }
    }

    pub(super) fn reap(&mut self) {
        let mut exited = Vec::new();
        self.no_children = reaper::reap(|pid, st| exited.push((pid, st)));
        for (pid, st) in exited {
            if let Some(id) = self.table.by_pid(pid) {
                self.on_supervise_exit(id, st);
            } else if self.command.as_ref().is_some_and(|c| c.pid == pid) {
                self.on_command_exit(st);
            }
            // Anything else is an orphan we adopted: reaping was the job.
        }
    }

    fn on_supervise_exit(&mut self, id: Id, st: WaitStatus) {
        self.table.set_pid(id, None);
        let Some(svc) = self.table.get(id) else {
            return;
        };
        let Some(name) = svc.name.clone() else {
            // Removed from the scan directory: its supervise is done.
            self.table.remove(id);
            return;
        };
        if self.shutdown.is_some() {
            return;
        }
        msg::warn(
            PROG,
            format!(
                "supervise {} {}; restarting it",
                name.to_string_lossy(),
                describe(st)
            ),
        );
        let started = svc.started_at.unwrap_or_else(Instant::now);
        let due = started + RESTART_THROTTLE;
        if Instant::now() >= due {
            self.try_start(id);
        } else {
            self.schedule_restart(id, due);
        }
    }

    fn on_command_exit(&mut self, st: WaitStatus) {
        let Some(code) = command::exit_code(st) else {
            return;
        };
        self.command = None;
        self.exit_code = code;
        if self.shutdown.is_none() {
            self.begin_shutdown(format!("main command {}", describe(st)), Instant::now());
        }
    }

    fn start_command(&mut self) {
        let argv = self.opts.command.clone();
        match MainCommand::spawn(&argv) {
            Ok(c) => self.command = Some(c),
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format!("unable to run {}", argv[0].to_string_lossy()),
                    &e,
                );
                self.exit_code = command::spawn_failure_code(&e);
                self.begin_shutdown("main command could not start".into(), Instant::now());
            }
        }
    }

    fn schedule_restart(&mut self, id: Id, at: Instant) {
        if let Some(svc) = self.table.get_mut(id) {
            svc.restart_at = Some(at);
            self.restarts.push(Reverse((at, id)));
        }
    }

    fn run_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.restarts.peek().copied() {
            if at > now {
                break;
            }
            self.restarts.pop();
            let due = self.table.get(id).is_some_and(|s| s.restart_at == Some(at));
            if due {
                if let Some(s) = self.table.get_mut(id) {
                    s.restart_at = None;
                }
                self.try_start(id);
            }
        }
        if let Some(t) = self.next_rescan {
            if t <= now && self.shutdown.is_none() {
                self.retry_inotify();
                self.full_rescan(now);
            }
        }
    }

    /// inotify_init fails when the per-user instance limit (128 by
    /// default) is used up; it may be free again by the next rescan.
    fn retry_inotify(&mut self) {
        if self.watcher.is_some() || self.opts.no_inotify {
            return;
        }
        if let Ok(w) = Watcher::new(&self.opts.scandir) {
            msg::info(PROG, "inotify available again: periodic rescans stop");
            self.watcher = Some(w);
            self.rescan_every = self.opts.rescan_interval;
        }
    }

    fn on_changes(&mut self, changes: Vec<Change>) {
        let mut names = Vec::new();
        let mut full = false;
        for c in changes {
            match c {
                Change::Entry(n) => names.push(n),
                Change::InService(wd) => {
                    if let Some(id) = self.table.by_watch(wd) {
                        self.try_start(id);
                    }
                }
                Change::ServiceWatchGone(wd) => {
                    if let Some(id) = self.table.by_watch(wd) {
                        self.table.set_watch(id, None);
                    }
                }
                Change::Overflow => full = true,
                Change::ScandirGone => {
                    if !self.scandir_gone_reported {
                        self.scandir_gone_reported = true;
                        msg::warn(
                            PROG,
                            format!(
                                "scan directory {} was removed or moved; new services are not noticed",
                                self.opts.scandir.display()
                            ),
                        );
                    }
                }
            }
        }
        if self.shutdown.is_some() {
            return;
        }
        if full {
            self.full_rescan(Instant::now());
        } else if !names.is_empty() {
            self.reconcile(names);
        }
    }

    /// Reads the whole scan directory again (start-up, SIGHUP, lost
    /// inotify events, fallback polling). Also starts known services that
    /// have no supervise and no restart pending.
    fn full_rescan(&mut self, now: Instant) {
        self.next_rescan = self.rescan_every.map(|d| now + d);
        let mut names = match scan::list(&self.opts.scandir) {
            Ok(n) => n,
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format!("unable to read {}", self.opts.scandir.display()),
                    e,
                );
                return;
            }
        };
        names.extend(self.table.names());
        self.reconcile(names);
        for id in self.table.ids() {
            let idle = self
                .table
                .get(id)
                .is_some_and(|s| s.name.is_some() && s.pid.is_none() && !s.queued);
            if idle {
                if let Some(s) = self.table.get_mut(id) {
                    s.restart_at = None;
                }
                self.try_start(id);
            }
        }
    }

    /// Brings the table in line with the scan directory for `names`.
    /// Services are identified by directory identity, so `mv a b` keeps
    /// b's supervise running, and a directory replaced under the same name
    /// is a new service.
    fn reconcile(&mut self, mut names: Vec<OsString>) {
        names.sort();
        names.dedup();
        let mut found = Vec::new();
        let mut detached = Vec::new();
        for name in names {
            if !scan::is_candidate(&name) {
                continue;
            }
            let devino = match scan::probe(&self.opts.scandir, &name) {
                Probe::Service(d) => Some(d),
                Probe::NotService => None,
                Probe::Error(e) => {
                    msg::warn_why(
                        PROG,
                        format!("unable to stat {}", name.to_string_lossy()),
                        e,
                    );
                    None
                }
            };
            if let Some(id) = self.table.by_name(&name) {
                if self.table.get(id).map(|s| s.devino) != devino {
                    self.table.unbind_name(id);
                    detached.push(id);
                }
            }
            if let Some(d) = devino {
                found.push((name, d));
            }
        }
        for (name, d) in found {
            if self.table.by_name(&name).is_some() {
                continue;
            }
            match self.table.by_devino(d) {
                Some(id) => {
                    let other = self.table.get(id).and_then(|s| s.name.clone());
                    if let Some(other) = other {
                        let still = scan::probe(&self.opts.scandir, &other);
                        if still == Probe::Service(d) {
                            // Two names for one directory: one service.
                            continue;
                        }
                    }
                    self.table.bind_name(id, name);
                }
                None => {
                    let id = self.table.insert(name, d);
                    self.try_start(id);
                }
            }
        }
        for id in detached {
            if self.table.get(id).is_some_and(|s| s.name.is_none()) {
                self.retire(id);
            }
        }
    }

    /// The service left the scan directory: stop its supervise (which
    /// stops the service and lets the logger drain) and close svscan's log
    /// pipe ends so the logger can see EOF.
    fn retire(&mut self, id: Id) {
        self.table.forget_devino(id);
        if let Some(wd) = self.table.set_watch(id, None) {
            if let Some(w) = &self.watcher {
                w.unwatch(wd);
            }
        }
        let Some(svc) = self.table.get_mut(id) else {
            return;
        };
        svc.log_pipe = None;
        svc.restart_at = None;
        match svc.pid {
            Some(pid) => {
                reaper::kill(pid, libc::SIGTERM);
                reaper::kill(pid, libc::SIGCONT);
            }
            None => {
                self.table.remove(id);
            }
        }
    }

    /// Queues a start of the service's supervise once its `run` is usable;
    /// until then, watches the directory for it.
    fn try_start(&mut self, id: Id) {
        if self.shutdown.is_some() {
            return;
        }
        let Some(svc) = self.table.get(id) else {
            return;
        };
        if svc.pid.is_some() || svc.queued || svc.restart_at.is_some() {
            return;
        }
        let Some(name) = &svc.name else { return };
        let dir = self.opts.scandir.join(name);
        if !scan::run_ready(&dir) {
            if svc.waiting.is_none() {
                if let Some(w) = &self.watcher {
                    if let Ok(wd) = w.watch_service(&dir) {
                        self.table.set_watch(id, Some(wd));
                    }
                }
                // `run` may have become ready before the watch existed.
                if !scan::run_ready(&dir) {
                    return;
                }
            } else {
                return;
            }
        }
        if let Some(wd) = self.table.set_watch(id, None) {
            if let Some(w) = &self.watcher {
                w.unwatch(wd);
            }
        }
        if let Some(s) = self.table.get_mut(id) {
            s.queued = true;
        }
        self.queue.push_back(id);
    }

    fn start_queued(&mut self, max: usize, now: Instant) {
        for _ in 0..max {
            let Some(id) = self.queue.pop_front() else {
                break;
            };
            let Some(svc) = self.table.get_mut(id) else {
                continue;
            };
            svc.queued = false;
            if self.shutdown.is_some() {
                continue;
            }
            self.start_now(id, now);
        }
    }

    fn start_now(&mut self, id: Id, now: Instant) {
        let Some(svc) = self.table.get_mut(id) else {
            return;
        };
        let Some(name) = svc.name.clone() else { return };
        if svc.pid.is_some() {
            return;
        }
        let dir = self.opts.scandir.join(&name);
        let with_log = scan::has_log(&dir);
        if with_log && svc.log_pipe.is_none() {
            match LogPipe::new() {
                Ok(p) => svc.log_pipe = Some(p),
                Err(e) => {
                    msg::warn_why(
                        PROG,
                        format!("unable to create log pipe for {}", name.to_string_lossy()),
                        e.desc(),
                    );
                    self.schedule_restart(id, now + RESTART_THROTTLE);
                    return;
                }
            }
        }
        let pipe = if with_log {
            svc.log_pipe.as_ref().map(|p| p.fds())
        } else {
            None
        };
        svc.started_at = Some(now);
        match self.spawner.supervise(&name, pipe) {
            Ok(pid) => self.table.set_pid(id, Some(pid)),
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format!(
                        "unable to start {} {}",
                        self.opts.supervise.display(),
                        name.to_string_lossy()
                    ),
                    e,
                );
                self.schedule_restart(id, now + RESTART_THROTTLE);
            }
        }
    }

    /// Drops every queued start and pending restart (shutdown began).
    pub(super) fn cancel_starts(&mut self) {
        for id in self.queue.drain(..) {
            if let Some(s) = self.table.get_mut(id) {
                s.queued = false;
            }
        }
        self.restarts.clear();
        self.next_rescan = None;
    }
}

/// "exited 3", "was killed by SIGKILL".
pub(super) fn describe(st: WaitStatus) -> String {
    match st {
        WaitStatus::Exited(_, code) => format!("exited {code}"),
        WaitStatus::Signaled(_, sig, _) => format!("was killed by {}", sig.as_str()),
        other => format!("changed state ({other:?})"),
    }
}
