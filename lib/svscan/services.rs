//! The scanner: keeps the service table in line with the scan directory
//! and performs what the table and the restart schedule decide: inotify
//! changes, full rescans, starting a service's supervise once its `run`
//! is usable (watching the directory until then), restarting one that
//! died, retiring removed ones, and the `supervise/` watches of essential
//! and gating services. The decisions themselves are in `table.rs` and
//! `schedule.rs`; this is where they meet the file system and processes.

use super::essential::{self, StatusWatch};
use super::gate::Readiness;
use super::logpipe::LogPipe;
use super::prefix::Prefixer;
use super::reaper;
use super::scan::{self, Probe};
use super::schedule::{self, Restarts};
use super::spawn::Spawner;
use super::table::{Exited, Id, Retired, Table};
use super::watch::{Change, Watcher};
use super::PROG;
use crate::container::envdump::EnvMap;
use crate::container::exitcode::ProcStatus;
use crate::msg;
use nix::sys::inotify::WatchDescriptor;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How the scan directory is watched.
pub struct Watching {
    pub watcher: Option<Watcher>,
    /// inotify was turned off (`--no-inotify`): never retried.
    pub no_inotify: bool,
    /// `--rescan-interval` as given.
    pub rescan_interval: Option<Duration>,
    /// The period in force (5 s while inotify is unavailable).
    pub rescan_every: Option<Duration>,
}

pub struct Scanner {
    scandir: PathBuf,
    rundir: PathBuf,
    /// Services named essential by `SVSCAN_ESSENTIAL`.
    essential: Vec<String>,
    watching: Watching,
    next_rescan: Option<Instant>,
    spawner: Spawner,
    prefixer: Option<Prefixer>,
    table: Table,
    restarts: Restarts,
    /// `supervise/` watches of essential and gating services.
    status_watches: HashMap<WatchDescriptor, Id>,
    /// The shutdown began: nothing more is started.
    stopping: bool,
    scandir_gone_reported: bool,
}

/// A `supervise/svkit-status` changed: the event loop looks at the
/// essential service and the gate.
pub type StatusChanged = Id;

impl Scanner {
    pub fn new(
        scandir: PathBuf,
        rundir: PathBuf,
        essential: Vec<String>,
        watching: Watching,
        spawner: Spawner,
        prefixer: Option<Prefixer>,
    ) -> Scanner {
        Scanner {
            scandir,
            rundir,
            essential,
            watching,
            next_rescan: None,
            spawner,
            prefixer,
            table: Table::default(),
            restarts: Restarts::default(),
            status_watches: HashMap::new(),
            stopping: false,
            scandir_gone_reported: false,
        }
    }

    pub fn watcher(&self) -> Option<&Watcher> {
        self.watching.watcher.as_ref()
    }

    pub fn prefixer(&mut self) -> Option<&mut Prefixer> {
        self.prefixer.as_mut()
    }

    /// The prefixed-log pipes to poll.
    pub fn log_fds(&self) -> impl Iterator<Item = std::os::fd::BorrowedFd<'_>> {
        self.prefixer.iter().flat_map(|p| p.mux.fds())
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// When something timed is due: 0 while starts are queued.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        if self.table.queue_len() > 0 {
            return Some(now);
        }
        [
            self.restarts.next(),
            self.next_rescan,
            self.prefixer.as_ref().and_then(|p| p.mux.next_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Restarts that came due, the prefixer's flush, a periodic rescan.
    pub fn on_time(&mut self, now: Instant) {
        for id in self.restarts.take_due(now) {
            self.try_start(id);
        }
        if let Some(p) = &mut self.prefixer {
            p.mux.on_timeout(now);
        }
        if self.next_rescan.is_some_and(|t| t <= now) && !self.stopping {
            self.retry_inotify();
            self.full_rescan(now);
        }
    }

    /// inotify_init fails when the per-user instance limit (128 by
    /// default) is used up; it may be free again by the next rescan.
    fn retry_inotify(&mut self) {
        let w = &mut self.watching;
        if w.watcher.is_some() || w.no_inotify {
            return;
        }
        if let Ok(watcher) = Watcher::new(&self.scandir) {
            msg::info(PROG, "inotify available again: periodic rescans stop");
            w.watcher = Some(watcher);
            w.rescan_every = w.rescan_interval;
        }
    }

    /// Reads inotify's queue; returns the watched services whose status
    /// changed (all of them after lost events).
    pub fn on_inotify(&mut self) -> Vec<StatusChanged> {
        let mut changes = Vec::new();
        if let Some(w) = &self.watching.watcher {
            w.read(&mut changes);
        }
        let mut names = Vec::new();
        let mut statuses = Vec::new();
        let mut full = false;
        for c in changes {
            match c {
                Change::Entry(n) => names.push(n),
                Change::InService(wd) => {
                    if let Some(id) = self.table.by_watch(wd) {
                        self.try_start(id);
                    }
                }
                Change::Status(wd) => statuses.extend(self.status_watches.get(&wd).copied()),
                Change::ServiceWatchGone(wd) => {
                    if let Some(id) = self.table.by_watch(wd) {
                        self.table.set_watch(id, None);
                    }
                    if let Some(id) = self.status_watches.remove(&wd) {
                        if let Some(sw) = self.table.get_mut(id).and_then(|s| s.status.as_mut()) {
                            sw.wd = None;
                        }
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
                                self.scandir.display()
                            ),
                        );
                    }
                }
            }
        }
        if full {
            // Lost events may include svkit-status changes: look again.
            statuses = self.status_watches.values().copied().collect();
        }
        if !self.stopping {
            if full {
                self.full_rescan(Instant::now());
            } else if !names.is_empty() {
                self.reconcile(names);
            }
        }
        statuses
    }

    /// Reads the whole scan directory again (start-up, SIGHUP, lost
    /// inotify events, fallback polling). Also starts known services that
    /// have no supervise and no restart pending.
    pub fn full_rescan(&mut self, now: Instant) {
        if self.stopping {
            return;
        }
        self.next_rescan = self.watching.rescan_every.map(|d| now + d);
        let mut names = match scan::list(&self.scandir) {
            Ok(n) => n,
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format!("unable to read {}", self.scandir.display()),
                    e,
                );
                return;
            }
        };
        let known = self.table.name_count();
        self.table.reserve(names.len().saturating_sub(known));
        names.reserve(known);
        names.extend(self.table.names());
        self.reconcile(names);
        for id in self.table.idle() {
            self.restarts.cancel(id);
            self.try_start(id);
        }
    }

    /// What each name is now, for the table to decide.
    fn reconcile(&mut self, mut names: Vec<OsString>) {
        names.sort();
        names.dedup();
        names.retain(|n| scan::is_candidate(n));
        let scandir = self.scandir.clone();
        let probe = |name: &OsStr| match scan::probe(&scandir, name) {
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
        let probed = names
            .into_iter()
            .map(|n| {
                let d = probe(&n);
                (n, d)
            })
            .collect();
        let mut still = |name: &OsStr| match scan::probe(&scandir, name) {
            Probe::Service(d) => Some(d),
            _ => None,
        };
        let r = self.table.reconcile(probed, &mut still);
        for id in r.new {
            self.try_start(id);
        }
        for id in r.gone {
            self.retire(id);
        }
    }

    /// The service left the scan directory: stop its supervise (which
    /// stops the service and lets the logger drain); the table closes
    /// svscan's log pipe ends so the logger can see EOF.
    fn retire(&mut self, id: Id) {
        self.drop_status_watch(id);
        if let Some(wd) = self.table.watch_of(id) {
            self.unwatch(wd);
        }
        self.restarts.cancel(id);
        if let Retired::Stop(pid) = self.table.retire(id) {
            reaper::kill(pid, libc::SIGTERM);
            reaper::kill(pid, libc::SIGCONT);
        }
    }

    fn unwatch(&self, wd: WatchDescriptor) {
        if let Some(w) = &self.watching.watcher {
            w.unwatch(wd);
        }
    }

    /// Queues a start of the service's supervise once its `run` is usable;
    /// until then, watches the directory for it.
    fn try_start(&mut self, id: Id) {
        if self.stopping || self.restarts.pending(id) {
            return;
        }
        let Some(name) = self.table.startable(id) else {
            return;
        };
        let dir = self.scandir.join(name);
        if !scan::run_ready(&dir) {
            if self.table.watch_of(id).is_some() {
                return;
            }
            if let Some(w) = &self.watching.watcher {
                if let Ok(wd) = w.watch_service(&dir) {
                    self.table.set_watch(id, Some(wd));
                }
            }
            // `run` may have become ready before the watch existed.
            if !scan::run_ready(&dir) {
                return;
            }
        }
        if let Some(wd) = self.table.set_watch(id, None) {
            self.unwatch(wd);
        }
        self.table.enqueue(id);
    }

    /// Starts up to `max` queued supervise processes.
    pub fn start_queued(&mut self, max: usize, now: Instant, gated: &dyn Fn(&OsStr) -> bool) {
        for _ in 0..max {
            let Some(id) = self.table.dequeue() else {
                break;
            };
            if !self.stopping {
                self.start_now(id, now, gated);
            }
        }
    }

    fn start_now(&mut self, id: Id, now: Instant, gated: &dyn Fn(&OsStr) -> bool) {
        let Some(name) = self.table.startable(id).map(OsStr::to_os_string) else {
            return;
        };
        self.ensure_status_watch(id, gated(&name));
        let dir = self.scandir.join(&name);
        let with_log = scan::has_log(&dir);
        let Some(svc) = self.table.get_mut(id) else {
            return;
        };
        if with_log && svc.log_pipe.is_none() {
            match LogPipe::new() {
                Ok(p) => svc.log_pipe = Some(p),
                Err(e) => {
                    msg::warn_why(
                        PROG,
                        format!("unable to create log pipe for {}", name.to_string_lossy()),
                        e,
                    );
                    self.restarts.set(id, now + schedule::THROTTLE);
                    return;
                }
            }
        }
        if !with_log && svc.prefix_pipes.is_none() {
            if let Some(p) = &mut self.prefixer {
                match p.pipes(&name.to_string_lossy()) {
                    Ok(pp) => svc.prefix_pipes = Some(pp),
                    Err(e) => msg::warn_why(
                        PROG,
                        format!(
                            "unable to create output pipes for {}",
                            name.to_string_lossy()
                        ),
                        e,
                    ),
                }
            }
        }
        let pipe = if with_log {
            svc.log_pipe.as_ref().map(|p| p.fds())
        } else {
            None
        };
        let stdio = svc.prefix_pipes.as_ref().map(|p| p.fds());
        svc.started_at = Some(now);
        match self.spawner.supervise(&name, pipe, stdio) {
            Ok(pid) => self.table.set_pid(id, Some(pid)),
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format!(
                        "unable to start {} {}",
                        self.spawner.program().display(),
                        name.to_string_lossy()
                    ),
                    e,
                );
                self.restarts.set(id, now + schedule::THROTTLE);
            }
        }
    }

    /// A child exited: true if it was one of our supervise processes
    /// (restarted at once, or a second after its start if it ran less).
    pub fn on_exit(&mut self, pid: i32, how: &str, now: Instant) -> bool {
        match self.table.on_exit(pid) {
            Exited::NotOurs => false,
            Exited::Removed => true,
            Exited::Restart { id, name, started } => {
                if self.stopping {
                    return true;
                }
                msg::warn(
                    PROG,
                    format!("supervise {} {how}; restarting it", name.to_string_lossy()),
                );
                match schedule::after_exit(started, now) {
                    None => self.try_start(id),
                    Some(at) => self.restarts.set(id, at),
                }
                true
            }
        }
    }

    /// Before a supervise starts: watch its `supervise/` if the service is
    /// essential or gates the main command.
    fn ensure_status_watch(&mut self, id: Id, gated: bool) {
        let Some(svc) = self.table.get(id) else {
            return;
        };
        if svc.status.is_some() {
            return;
        }
        let Some(name) = svc.name.clone() else { return };
        let dir = self.scandir.join(&name);
        let named = self.essential.iter().any(|n| OsStr::new(n) == name);
        let (mode, warning) = essential::mode_of(&dir, named);
        if let Some(w) = warning {
            msg::warn(PROG, w);
        }
        if mode.is_none() && !gated {
            return;
        }
        let Some(watcher) = &self.watching.watcher else {
            msg::warn(
                PROG,
                format!(
                    "{}: essential services and --wait-ready need inotify",
                    name.to_string_lossy()
                ),
            );
            return;
        };
        let sup = match essential::supervise_dir(&self.rundir, &dir) {
            Ok(d) => d,
            Err(e) => {
                msg::warn_why(PROG, format!("unable to watch {}", dir.display()), e);
                return;
            }
        };
        let mut sw = StatusWatch::new(sup.clone(), mode);
        match watcher.watch_status(&sup) {
            Ok(wd) => {
                sw.wd = Some(wd);
                self.status_watches.insert(wd, id);
            }
            Err(e) => {
                msg::warn_why(PROG, format!("unable to watch {}", sup.display()), e);
                return;
            }
        }
        if let Some(s) = self.table.get_mut(id) {
            s.status = Some(Box::new(sw));
        }
    }

    /// Watches the `supervise/` of services already running that now
    /// gate the main command.
    pub fn watch_gating(&mut self, gated: &dyn Fn(&OsStr) -> bool) {
        for id in self.table.ids() {
            let running = self.table.get(id).and_then(|s| s.pid.zip(s.name.clone()));
            if let Some((_, name)) = running {
                self.ensure_status_watch(id, gated(&name));
            }
        }
    }

    /// Stops watching a retired service.
    fn drop_status_watch(&mut self, id: Id) {
        let Some(sw) = self.table.get_mut(id).and_then(|s| s.status.take()) else {
            return;
        };
        if let Some(wd) = sw.wd {
            self.status_watches.remove(&wd);
            self.unwatch(wd);
        }
    }

    /// Has the essential service `id` ended (per its mode)? Its name and
    /// status, once.
    pub fn essential_end(&mut self, id: Id) -> Option<(String, ProcStatus)> {
        let svc = self.table.get_mut(id)?;
        let name = svc.name.as_ref()?.to_string_lossy().into_owned();
        let sw = svc.status.as_mut()?;
        let status = essential::read(&sw.dir).and_then(|st| sw.essential_end(&st))?;
        Some((name, status))
    }

    /// Is the gating service `name` ready? (Runs its `check`, if any.)
    pub fn readiness(&self, name: &OsStr, env: &EnvMap) -> Readiness {
        let dir = self.scandir.join(name);
        let has_check = super::ready::has_check(&dir);
        let status = self
            .table
            .by_name(name)
            .and_then(|id| self.table.get(id))
            .and_then(|s| s.status.as_ref());
        let ready = status.is_some_and(|sw| {
            let st = essential::read(&sw.dir);
            super::ready::is_ready(&dir, st.as_ref(), env)
        });
        Readiness { ready, has_check }
    }

    /// The names of services whose directory has no `down` file.
    pub fn names_without_down(&self) -> Vec<OsString> {
        let mut names = self.table.names();
        names.retain(|n| !self.scandir.join(n).join(crate::servicedir::DOWN).exists());
        names.sort();
        names
    }

    pub fn has_service(&self, name: &OsStr) -> bool {
        self.table.by_name(name).is_some()
    }

    /// The shutdown began: drop queued starts and pending restarts, close
    /// svscan's pipe ends (they would keep loggers from EOF), TERM (and
    /// CONT) every supervise.
    pub fn stop_all(&mut self) {
        self.stopping = true;
        self.table.clear_queue();
        self.restarts.clear();
        self.next_rescan = None;
        for id in self.table.ids() {
            let Some(svc) = self.table.get_mut(id) else {
                continue;
            };
            svc.log_pipe = None;
            svc.prefix_pipes = None;
            if let Some(pid) = svc.pid {
                reaper::kill(pid, libc::SIGTERM);
                reaper::kill(pid, libc::SIGCONT);
            }
        }
    }

    /// The pid of each running service, and of its logger (from their
    /// `supervise/pid`, which may live in the runtime directory when the
    /// scan directory is read-only, exactly where supervise and svctl
    /// look for it).
    pub fn service_and_logger_pids(&self) -> (Vec<i32>, Vec<i32>) {
        let mut services = Vec::new();
        let mut loggers = Vec::new();
        for id in self.table.ids() {
            let Some(svc) = self.table.get(id) else {
                continue;
            };
            let (Some(_), Some(name)) = (svc.pid, &svc.name) else {
                continue;
            };
            let dir = self.scandir.join(name);
            services.extend(self.pid_in(&dir));
            loggers.extend(self.pid_in(&dir.join(crate::servicedir::LOG_DIR)));
        }
        (services, loggers)
    }

    fn pid_in(&self, dir: &Path) -> Option<i32> {
        let sup = crate::container::rundir::locate_supervise_dir_in(&self.rundir, dir)?;
        let text =
            std::fs::read_to_string(sup.join(crate::servicedir::supervise_files::PID)).ok()?;
        text.trim().parse().ok().filter(|&p: &i32| p > 0)
    }
}
