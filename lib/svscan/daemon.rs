//! The event loop: one poll over the signalfd, the inotify fd and the
//! prefixed-log pipes, with a timeout only while something is scheduled
//! (a throttled restart, a shutdown phase, the readiness gate, a fallback
//! rescan). Idle svscan never wakes up.
//!
//! It turns what poll reports into events for the parts that decide (the
//! scanner with its table and restart schedule, the readiness gate, the
//! shutdown) and performs what they ask for: the main command, the
//! shutdown's kills and hooks, reaping, the exit code.

use super::boot::{self, InitEnd};
use super::command::{self, MainCommand};
use super::error::Fatal;
use super::gate::{self, Gate};
use super::lock::{self, LockError};
use super::options::{Options, WaitFail, WaitReady, FALLBACK_RESCAN};
use super::prefix::Prefixer;
use super::reaper::{self, Scope};
use super::services::{Scanner, Watching};
use super::shutdown::{self, Action, Shutdown, World};
use super::signals::{self, Request, Signals};
use super::spawn::{FileLimit, Spawner};
use super::watch::Watcher;
use super::PROG;
use crate::container::envdump::EnvMap;
use crate::container::exitcode::{read_exitcode_file, ExitState, ProcStatus};
use crate::msg;
use nix::sys::wait::WaitStatus;
use std::ffi::{OsStr, OsString};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How many supervise processes to start between two looks at signals,
/// so a stop request during a big start-up is seen at once.
const START_BATCH: usize = 32;

pub struct Svscan {
    opts: Options,
    scope: Scope,
    signals: Signals,
    scanner: Scanner,
    /// svscan's original file limit, for the main command.
    file_limit: Option<FileLimit>,
    shutdown: Option<Shutdown>,
    /// The main command waits for these services to be ready.
    gate: Option<Gate>,
    command: Option<MainCommand>,
    /// What happened, for the exit code (svkit-container(7)).
    exit: ExitState,
    rundir: PathBuf,
    /// The container's environment for services, command and hooks.
    env: EnvMap,
    /// The last reap found no children at all.
    no_children: bool,
    /// The descriptors of the last poll and whether each was ready.
    polled: Vec<(std::os::fd::RawFd, bool)>,
}

/// Runs svscan until its shutdown completes; returns the exit code.
pub fn run(opts: Options, signals: Signals) -> Result<i32, Fatal> {
    // Boot in its own stack frame, gone before the event loop runs: the
    // loop's frames are what stays resident while svscan idles.
    let mut started = start(opts, signals)?;
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
fn start(opts: Options, mut signals: Signals) -> Result<(lock::ScanLock, Svscan), Fatal> {
    let (scope, subreaper_err) = Scope::establish();
    if let Some(e) = subreaper_err {
        msg::warn_why(PROG, "unable to become a child subreaper", e);
    }
    let file_limit = FileLimit::raise();
    let scandir = opts.scandir.clone();
    let lock = lock::acquire(&scandir).map_err(|e| match e {
        LockError::Busy => Fatal::Locked(scandir.clone()),
        LockError::Open(e) => Fatal::OpenScandir(scandir.clone(), e),
        LockError::Other(e) => Fatal::Lock(scandir.clone(), e),
    })?;
    let rundir = boot::prepare_rundir(&opts.life).map_err(Fatal::Rundir)?;
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
    let scanner = scanner(&opts, &rundir, &env, file_limit)?;
    let mut sv = Svscan {
        opts,
        scope,
        signals,
        scanner,
        file_limit,
        shutdown: None,
        gate: None,
        command: None,
        exit,
        rundir,
        env,
        no_children: false,
        polled: Vec::new(),
    };
    match init {
        InitEnd::Done => {
            sv.scanner.full_rescan(Instant::now());
            if !sv.opts.command.is_empty() {
                sv.setup_gate(Instant::now());
                if sv.gate.is_none() && sv.shutdown.is_none() && sv.command.is_none() {
                    sv.start_command();
                }
            }
        }
        InitEnd::Stop(at) => sv.begin_shutdown("init scripts stopped".into(), at),
    }
    Ok((lock, sv))
}

/// The scanner with its watcher, supervise spawner and log prefixer.
fn scanner(
    opts: &Options,
    rundir: &std::path::Path,
    env: &EnvMap,
    file_limit: Option<FileLimit>,
) -> Result<Scanner, Fatal> {
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
    let program =
        super::spawn::supervise_program(opts.supervise.as_deref()).map_err(Fatal::FindSupervise)?;
    rustix::fs::access(&program, rustix::fs::Access::EXEC_OK)
        .map_err(|e| Fatal::ExecSupervise(program.clone(), e))?;
    let spawner =
        Spawner::new(&program, &scandir, file_limit, env).map_err(Fatal::PrepareSupervise)?;
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
    let watching = Watching {
        watcher,
        no_inotify: opts.no_inotify,
        rescan_interval: opts.rescan_interval,
        rescan_every,
    };
    Ok(Scanner::new(
        scandir,
        rundir.to_path_buf(),
        opts.life.essential.clone(),
        watching,
        spawner,
        prefixer,
    ))
}

fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// "exited 3", "was killed by SIGKILL".
fn describe(st: WaitStatus) -> String {
    match st {
        WaitStatus::Exited(_, code) => format!("exited {code}"),
        WaitStatus::Signaled(_, sig, _) => format!("was killed by {}", sig.as_str()),
        other => format!("changed state ({other:?})"),
    }
}

impl Svscan {
    fn event_loop(&mut self) -> Result<i32, Fatal> {
        loop {
            let Some(fixed) = self.wait()? else {
                continue;
            };
            if let Some(code) = self.dispatch(fixed) {
                return Ok(code);
            }
        }
    }

    /// Blocks until something happens; returns how many of the polled
    /// descriptors are svscan's own (signalfd, inotify), or `None` if
    /// interrupted.
    fn wait(&mut self) -> Result<Option<usize>, Fatal> {
        use rustix::event::{poll, PollFd, PollFlags};
        let now = Instant::now();
        let timeout = self.poll_timeout(now);
        let mut fds = vec![PollFd::from_borrowed_fd(self.signals.fd(), PollFlags::IN)];
        if let Some(w) = self.scanner.watcher() {
            fds.push(PollFd::from_borrowed_fd(w.fd(), PollFlags::IN));
        }
        let fixed = fds.len();
        fds.extend(
            self.scanner
                .log_fds()
                .map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN)),
        );
        let timeout = timeout.map(crate::child::timespec);
        let polled = poll(&mut fds, timeout.as_ref());
        self.polled.clear();
        self.polled.extend(fds.iter().map(|f| {
            use std::os::fd::AsFd;
            (f.as_fd().as_raw_fd(), !f.revents().is_empty())
        }));
        match polled {
            Ok(_) => Ok(Some(fixed)),
            Err(rustix::io::Errno::INTR) => Ok(None),
            Err(e) => Err(Fatal::Poll(e)),
        }
    }

    /// Handles what poll reported; the exit code once the shutdown is done.
    fn dispatch(&mut self, fixed: usize) -> Option<i32> {
        let polled = std::mem::take(&mut self.polled);
        let sig_ready = polled[0].1;
        let ino_ready = fixed == 2 && polled[1].1;
        if let Some(p) = self.scanner.prefixer() {
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
            for id in self.scanner.on_inotify() {
                self.on_status(id);
            }
        }
        let now = Instant::now();
        self.scanner.on_time(now);
        if self.gate.as_ref().is_some_and(|g| g.due(now)) {
            self.check_gate(now);
        }
        let gate = &self.gate;
        let gated = |n: &OsStr| gate.as_ref().is_some_and(|g| g.gates(n));
        self.scanner.start_queued(START_BATCH, now, &gated);
        self.shutdown_step()
    }

    /// How long until the next scheduled thing (`None`: nothing is).
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let next = [
            self.scanner.next_wakeup(now),
            self.shutdown.as_ref().and_then(Shutdown::next_wakeup),
            self.gate.as_ref().and_then(Gate::next_wakeup),
        ]
        .into_iter()
        .flatten()
        .min()?;
        let wait = next.saturating_duration_since(now);
        // Round up to whole ms so we never wake a hair early and spin.
        Some(Duration::from_millis(
            (wait.as_nanos().div_ceil(1_000_000)).min(u128::from(u32::MAX)) as u64,
        ))
    }

    fn on_request(&mut self, req: Request) {
        match req {
            Request::Reap => self.reap(),
            Request::Shutdown(sig) => {
                self.exit.signal(sig as i32);
                match &mut self.shutdown {
                    Some(sd) => {
                        msg::info(PROG, format!("{}: skipping to kill", signals::name(sig)));
                        sd.skip_to_kill(Instant::now());
                    }
                    None => self.begin_shutdown(signals::name(sig).to_string(), Instant::now()),
                }
            }
            Request::Rescan => {
                if self.shutdown.is_none() {
                    self.scanner.full_rescan(Instant::now());
                }
            }
            Request::Ignore => {}
        }
    }

    fn reap(&mut self) {
        let mut exited = Vec::new();
        self.no_children = reaper::reap(|pid, st| exited.push((pid, st)));
        let now = Instant::now();
        for (pid, st) in exited {
            if self.scanner.on_exit(pid, &describe(st), now) {
                continue;
            }
            if self.command.as_ref().is_some_and(|c| c.pid == pid) {
                self.on_command_exit(st);
            }
            // Anything else is an orphan we adopted: reaping was the job.
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

    fn start_command(&mut self) {
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

    /// `svkit-status` of a watched service changed: an essential service
    /// may have ended, a gating one may be ready.
    fn on_status(&mut self, id: super::table::Id) {
        if let Some((name, status)) = self.scanner.essential_end(id) {
            if self.shutdown.is_none() {
                self.exit.essential_exited(&name, status);
                self.begin_shutdown(format!("essential service {name} {status}"), Instant::now());
                return;
            }
        }
        if self.gate.is_some() {
            self.check_gate(Instant::now());
        }
    }

    /// Called once after the first scan when there is a main command.
    fn setup_gate(&mut self, now: Instant) {
        let pending: Vec<OsString> = match &self.opts.life.wait_ready {
            WaitReady::None => return,
            WaitReady::All => self.scanner.names_without_down(),
            WaitReady::Some(list) => list.iter().map(OsString::from).collect(),
        };
        let Some(gate) = Gate::new(pending, now, self.opts.life.wait_ready_timeout) else {
            return;
        };
        for n in gate.pending() {
            if !self.scanner.has_service(n) {
                msg::warn(
                    PROG,
                    format!(
                        "--wait-ready: no service {} in {} (yet)",
                        n.to_string_lossy(),
                        self.opts.scandir.display()
                    ),
                );
            }
        }
        msg::info(
            PROG,
            format!(
                "main command waits for {} to be ready",
                list(gate.pending())
            ),
        );
        // Services already started (none yet normally) need their watch.
        let gated = |n: &OsStr| gate.gates(n);
        self.scanner.watch_gating(&gated);
        self.gate = Some(gate);
        self.check_gate(now);
    }

    /// Tells the gate which pending services are ready; starts the main
    /// command when it opens, or applies the failure policy at its
    /// deadline.
    fn check_gate(&mut self, now: Instant) {
        if self.shutdown.is_some() {
            self.gate = None;
            return;
        }
        let Some(mut g) = self.gate.take() else {
            return;
        };
        let facts: Vec<gate::Readiness> = g
            .pending()
            .iter()
            .map(|n| self.scanner.readiness(n, &self.env))
            .collect();
        match g.update(now, &facts) {
            gate::Step::Wait => self.gate = Some(g),
            gate::Step::Open => {
                msg::info(PROG, "services ready: starting the main command");
                self.start_command();
            }
            gate::Step::TimedOut(names) => match self.opts.life.wait_ready_fail {
                WaitFail::Stop => {
                    let names = list(&names);
                    eprintln!("{PROG}: fatal: not ready in time: {names}: stopping the container");
                    self.exit.fatal();
                    self.begin_shutdown("services not ready".into(), now);
                }
                WaitFail::Warn => {
                    msg::warn(
                        PROG,
                        format!(
                            "not ready in time: {}; starting the main command anyway",
                            list(&names)
                        ),
                    );
                    self.start_command();
                }
            },
        }
    }

    fn begin_shutdown(&mut self, reason: String, now: Instant) {
        let timeout = self.opts.shutdown_timeout;
        msg::info(
            PROG,
            format!(
                "{reason}: stopping {} services (deadline {})",
                self.scanner.table().running(),
                human(timeout)
            ),
        );
        let sd = Shutdown::new(now, timeout);
        self.gate = None;
        // Hooks run while services are still up.
        let life = &self.opts.life;
        boot::run_hooks(
            "pre-shutdown",
            &life.pre_shutdown_dirs,
            &self.env,
            life.hook_timeout,
            sd.hooks_deadline(),
        );
        self.scanner.stop_all();
        if let Some(c) = &self.command {
            c.signal(libc::SIGTERM);
        }
        self.shutdown = Some(sd);
    }

    /// Performs the shutdown's actions until it waits; the exit code once
    /// it is complete.
    fn shutdown_step(&mut self) -> Option<i32> {
        loop {
            let world = World {
                supervising: self.scanner.table().running(),
                command: self.command.is_some(),
                no_children: self.no_children,
            };
            let action = self.shutdown.as_mut()?.step(Instant::now(), world)?;
            let command = self.command.as_ref().map(|c| c.pid);
            match action {
                Action::KillServices => {
                    super::stop::kill_services(self.scope, &self.scanner, command)
                }
                Action::PostHooks { deadline } => {
                    let life = &self.opts.life;
                    boot::run_hooks(
                        "post-shutdown",
                        &life.post_shutdown_dirs,
                        &self.env,
                        life.hook_timeout,
                        deadline,
                    );
                }
                Action::TermStragglers => {
                    if reaper::signal_scope(self.scope, libc::SIGTERM) {
                        reaper::signal_scope(self.scope, libc::SIGCONT);
                    }
                    self.reap();
                }
                Action::KillStragglers => {
                    reaper::signal_scope(self.scope, libc::SIGKILL);
                }
                Action::FinalKill => {
                    msg::warn(PROG, "shutdown deadline reached: killing what remains");
                    super::stop::kill_everything(self.scope, &self.scanner, command);
                    self.reap_for(shutdown::FINAL_REAP);
                }
                Action::Complete => {
                    let took = self.shutdown.as_ref()?.started().elapsed();
                    msg::info(
                        PROG,
                        format!("shutdown complete in {} ms", took.as_millis()),
                    );
                    // The services' last prefixed lines.
                    if let Some(p) = self.scanner.prefixer() {
                        p.drain(shutdown::FINAL_REAP);
                    }
                    return Some(self.final_code());
                }
            }
        }
    }

    /// Reaps until no child is left, at most `budget`.
    fn reap_for(&mut self, budget: Duration) {
        use rustix::event::{poll, PollFd, PollFlags};
        let until = Instant::now() + budget;
        loop {
            self.reap();
            if self.no_children || Instant::now() >= until {
                break;
            }
            let mut fds = [PollFd::from_borrowed_fd(self.signals.fd(), PollFlags::IN)];
            let _ = poll(
                &mut fds,
                Some(&crate::child::timespec(Duration::from_millis(10))),
            );
            while self.signals.next_request().is_some() {}
        }
    }

    /// The exit code, once the shutdown is complete (precedence in
    /// svkit-container(7): halt/exitcode file > command > essential >
    /// init script > signal > 111).
    fn final_code(&self) -> i32 {
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

/// "a, b, c".
fn list(names: &[OsString]) -> String {
    names
        .iter()
        .map(|n| n.to_string_lossy())
        .collect::<Vec<_>>()
        .join(", ")
}
