//! The event loop: one poll over the signalfd and the inotify fd, with a
//! timeout only while something is scheduled (a throttled restart, a
//! shutdown phase, a fallback rescan). Idle svscan never wakes up.

use super::boot::{self, InitEnd};
use super::command::{self, MainCommand};
use super::life::Gate;
use super::lock::{self, LockError};
use super::options::{Options, FALLBACK_RESCAN};
use super::prefix::Prefixer;
use super::reaper::{self, Scope};
use super::shutdown::Shutdown;
use super::signals::{self, Request, Signals};
use super::spawn::{FileLimit, Spawner};
use super::table::{Id, Table};
use super::watch::Watcher;
use super::PROG;
use crate::container::envdump::EnvMap;
use crate::container::exitcode::{read_exitcode_file, ExitState, ProcStatus};
use crate::msg;
use nix::sys::inotify::WatchDescriptor;
use nix::sys::wait::WaitStatus;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A supervise that ran less than this is restarted only after it.
pub(super) const RESTART_THROTTLE: Duration = Duration::from_secs(1);
/// How many supervise processes to start between two looks at signals,
/// so a stop request during a big start-up is seen at once.
const START_BATCH: usize = 32;

pub struct Svscan {
    pub(super) opts: Options,
    pub(super) scope: Scope,
    pub(super) signals: Signals,
    pub(super) watcher: Option<Watcher>,
    pub(super) table: Table,
    pub(super) queue: VecDeque<Id>,
    pub(super) restarts: BinaryHeap<Reverse<(Instant, Id)>>,
    pub(super) rescan_every: Option<Duration>,
    pub(super) next_rescan: Option<Instant>,
    pub(super) spawner: Spawner,
    /// svscan's original file limit, for the main command.
    pub(super) file_limit: Option<FileLimit>,
    pub(super) shutdown: Option<Shutdown>,
    pub(super) command: Option<MainCommand>,
    /// What happened, for the exit code (svkit-container(7)).
    pub(super) exit: ExitState,
    pub(super) rundir: PathBuf,
    /// The container's environment for services, command and hooks.
    pub(super) env: EnvMap,
    pub(super) prefixer: Option<Prefixer>,
    /// `supervise/` watches of essential and gating services.
    pub(super) status_watches: HashMap<WatchDescriptor, Id>,
    /// The main command waits for these services to be ready.
    pub(super) gate: Option<Gate>,
    pub(super) post_hooks_done: bool,
    /// The last reap found no children at all.
    pub(super) no_children: bool,
    pub(super) scandir_gone_reported: bool,
    /// The descriptors of the last poll and whether each was ready.
    polled: Vec<(std::os::fd::RawFd, bool)>,
}

/// Runs svscan until its shutdown completes; returns the exit code.
pub fn run(opts: Options, signals: Signals) -> i32 {
    // Boot in its own stack frame, gone before the event loop runs: the
    // loop's frames are what stays resident while svscan idles.
    let mut started = start(opts, signals);
    let code = started.1.event_loop();
    finish(started);
    code
}

/// Drops the service table, then removes the runtime directory's pid
/// file and unlocks the scan directory.
#[inline(never)]
fn finish((lock, mut sv): (lock::ScanLock, Svscan)) {
    let rundir = std::mem::take(&mut sv.rundir);
    drop(sv);
    boot::retire(&rundir);
    drop(lock);
}

/// Locks the scan directory, runs the boot sequence and the first scan.
#[inline(never)]
fn start(opts: Options, mut signals: Signals) -> (lock::ScanLock, Svscan) {
    let (scope, subreaper_err) = Scope::establish();
    if let Some(e) = subreaper_err {
        msg::warn_why(PROG, "unable to become a child subreaper", e);
    }
    let file_limit = FileLimit::raise();
    let scandir = opts.scandir.clone();
    let lock = match lock::acquire(&scandir) {
        Ok(l) => l,
        Err(LockError::Busy) => msg::fatal(
            PROG,
            crate::exit::LOCKED,
            format!("unable to lock {}", scandir.display()),
            "another svscan is already scanning this directory",
        ),
        Err(LockError::Open(e)) => msg::fatal(
            PROG,
            crate::exit::SYSTEM,
            format!("unable to open scan directory {}", scandir.display()),
            e.desc(),
        ),
        Err(LockError::Other(e)) => msg::fatal(
            PROG,
            crate::exit::SYSTEM,
            format!("unable to lock {}", scandir.display()),
            e.desc(),
        ),
    };
    let rundir = boot::prepare_rundir(&opts.life);
    boot::announce(&rundir);
    let mut env = boot::capture_env(&opts.life, &rundir);
    let mut exit = ExitState::new();
    let init = boot::run_init(
        &opts.life,
        &rundir,
        &mut env,
        &mut signals,
        &mut exit,
        opts.shutdown_timeout,
    );
    let sv = start_services(opts, signals, scope, file_limit, rundir, env, exit, init);
    (lock, sv)
}

#[allow(clippy::too_many_arguments)]
fn start_services(
    opts: Options,
    signals: Signals,
    scope: Scope,
    file_limit: Option<super::spawn::FileLimit>,
    rundir: PathBuf,
    env: EnvMap,
    exit: ExitState,
    init: InitEnd,
) -> Svscan {
    let scandir = opts.scandir.clone();
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
    let program = match super::spawn::supervise_program(opts.supervise.as_deref()) {
        Ok(p) => p,
        Err(e) => msg::fatal(
            PROG,
            crate::exit::SYSTEM,
            "unable to find supervise next to svscan (use --supervise PATH)",
            e,
        ),
    };
    if let Err(e) = rustix::fs::access(&program, rustix::fs::Access::EXEC_OK) {
        msg::fatal(
            PROG,
            crate::exit::SYSTEM,
            format!("unable to execute {}", program.display()),
            crate::errstr::runit_error_str(e),
        );
    }
    let spawner = match Spawner::new(&program, &scandir, file_limit, &env) {
        Ok(s) => s,
        Err(e) => msg::fatal(PROG, crate::exit::SYSTEM, "unable to prepare supervise", e),
    };
    let prefixer = if opts.life.log_prefix {
        match Prefixer::new() {
            Ok(p) => Some(p),
            Err(e) => {
                msg::warn_why(PROG, "unable to set up prefixed logs", e);
                None
            }
        }
    } else {
        None
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
        file_limit,
        shutdown: None,
        command: None,
        exit,
        rundir,
        env,
        prefixer,
        status_watches: HashMap::new(),
        gate: None,
        post_hooks_done: false,
        no_children: false,
        scandir_gone_reported: false,
        polled: Vec::new(),
    };
    match init {
        InitEnd::Done => {
            sv.full_rescan(Instant::now());
            if !sv.opts.command.is_empty() {
                sv.setup_gate(Instant::now());
                if sv.gate.is_none() {
                    sv.start_command();
                }
            }
        }
        InitEnd::Stop(at) => sv.begin_shutdown("init scripts stopped".into(), at),
    }
    sv
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
        loop {
            let Some(fixed) = self.wait() else {
                continue;
            };
            if let Some(code) = self.dispatch(fixed) {
                return code;
            }
        }
    }

    /// Blocks until something happens; returns how many of the polled
    /// descriptors are svscan's own (signalfd, inotify), or `None` if
    /// interrupted.
    fn wait(&mut self) -> Option<usize> {
        use rustix::event::{poll, PollFd, PollFlags};
        let now = Instant::now();
        let timeout = self.poll_timeout(now);
        let mut fds = vec![PollFd::from_borrowed_fd(self.signals.fd(), PollFlags::IN)];
        if let Some(w) = &self.watcher {
            fds.push(PollFd::from_borrowed_fd(w.fd(), PollFlags::IN));
        }
        let fixed = fds.len();
        if let Some(p) = &self.prefixer {
            fds.extend(
                p.mux
                    .fds()
                    .map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)),
            );
        }
        let timeout =
            (timeout >= 0).then(|| crate::child::timespec(Duration::from_millis(timeout as u64)));
        let polled = poll(&mut fds, timeout.as_ref());
        self.polled.clear();
        self.polled.extend(fds.iter().map(|f| {
            use std::os::fd::AsFd;
            (f.as_fd().as_raw_fd(), !f.revents().is_empty())
        }));
        match polled {
            Ok(_) => Some(fixed),
            Err(rustix::io::Errno::INTR) => None,
            Err(e) => msg::fatal(PROG, crate::exit::SYSTEM, "unable to poll", e),
        }
    }

    /// Handles what poll reported; the exit code once the shutdown is done.
    fn dispatch(&mut self, fixed: usize) -> Option<i32> {
        let polled = std::mem::take(&mut self.polled);
        let sig_ready = polled[0].1;
        let ino_ready = fixed == 2 && polled[1].1;
        if let Some(p) = &mut self.prefixer {
            for &(fd, ready) in &polled[fixed..] {
                if ready {
                    p.mux.on_readable(fd);
                }
            }
        }
        self.polled = polled;
        if sig_ready {
            while let Some(req) = self.signals.next_request() {
                self.on_request(req);
            }
        }
        if ino_ready {
            let mut changes = Vec::new();
            if let Some(w) = &self.watcher {
                w.read(&mut changes);
            }
            self.on_changes(changes);
        }
        let now = Instant::now();
        self.run_timers(now);
        self.start_queued(START_BATCH, now);
        self.shutdown_step(Instant::now())
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
        let others = [
            self.shutdown.as_ref().and_then(|s| s.next_wakeup()),
            self.gate.as_ref().and_then(|g| g.next_wakeup()),
            self.prefixer.as_ref().and_then(|p| p.mux.next_timeout()),
        ];
        for t in others.into_iter().flatten() {
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
                self.exit.signal(sig as i32);
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
        let Some(status) = ProcStatus::from_nix(st) else {
            return;
        };
        self.command = None;
        self.exit.cmd_exited(status);
        if self.shutdown.is_none() {
            self.begin_shutdown(format!("main command {}", describe(st)), Instant::now());
        }
    }

    pub(super) fn start_command(&mut self) {
        let argv = self.opts.command.clone();
        match MainCommand::spawn(&argv, &self.env, self.file_limit) {
            Ok(c) => self.command = Some(c),
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format!("unable to run {}", argv[0].to_string_lossy()),
                    crate::errstr::runit_error_str(e.errno()),
                );
                let code = command::spawn_failure_code(&e);
                self.exit.cmd_exited(ProcStatus::Exited(code as u8));
                self.begin_shutdown("main command could not start".into(), Instant::now());
            }
        }
    }

    pub(super) fn schedule_restart(&mut self, id: Id, at: Instant) {
        if self.table.get(id).is_some() {
            self.table.set_restart_at(id, Some(at));
            self.restarts.push(Reverse((at, id)));
        }
    }

    fn run_timers(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.restarts.peek().copied() {
            if at > now {
                break;
            }
            self.restarts.pop();
            if self.table.restart_at(id) == Some(at) {
                self.table.set_restart_at(id, None);
                self.try_start(id);
            }
        }
        if let Some(p) = &mut self.prefixer {
            p.mux.on_timeout(now);
        }
        if self
            .gate
            .as_ref()
            .and_then(|g| g.next_wakeup())
            .is_some_and(|t| t <= now)
        {
            self.check_gate(now);
        }
        if let Some(t) = self.next_rescan {
            if t <= now && self.shutdown.is_none() {
                self.retry_inotify();
                self.full_rescan(now);
            }
        }
    }
}

impl Svscan {
    /// The exit code, once the shutdown is complete (precedence in
    /// svkit-container(7): halt/exitcode file > command > essential >
    /// init script > signal > 111).
    pub(super) fn final_code(&self) -> i32 {
        let file = match read_exitcode_file(&self.rundir) {
            Ok(c) => c,
            Err(e) => {
                msg::warn(PROG, e);
                None
            }
        };
        let d = self.exit.decide(&self.opts.life.exit, file);
        msg::info(PROG, format!("exit {}: {}", d.code, d.reason));
        i32::from(d.code)
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
