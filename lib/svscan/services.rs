//! Keeping the service table in line with the scan directory: inotify
//! changes, full rescans, starting a service's supervise once its `run` is
//! usable (watching the directory until then), and retiring removed ones.

use super::daemon::{Svscan, RESTART_THROTTLE};
use super::logpipe::LogPipe;
use super::reaper;
use super::scan::{self, Probe};
use super::table::Id;
use super::watch::{Change, Watcher};
use super::PROG;
use crate::msg;
use std::ffi::OsString;
use std::time::Instant;

impl Svscan {
    /// inotify_init fails when the per-user instance limit (128 by
    /// default) is used up; it may be free again by the next rescan.
    pub(super) fn retry_inotify(&mut self) {
        if self.watcher.is_some() || self.opts.no_inotify {
            return;
        }
        if let Ok(w) = Watcher::new(&self.opts.scandir) {
            msg::info(PROG, "inotify available again: periodic rescans stop");
            self.watcher = Some(w);
            self.rescan_every = self.opts.rescan_interval;
        }
    }

    pub(super) fn on_changes(&mut self, changes: Vec<Change>) {
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
                Change::Status(wd) => {
                    if let Some(&id) = self.status_watches.get(&wd) {
                        self.on_status(id);
                    }
                }
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
                                self.opts.scandir.display()
                            ),
                        );
                    }
                }
            }
        }
        if full {
            // Lost events may include svkit-status changes: look again.
            let watched: Vec<Id> = self.status_watches.values().copied().collect();
            for id in watched {
                self.on_status(id);
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
    pub(super) fn full_rescan(&mut self, now: Instant) {
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
        let known = self.table.name_count();
        self.table.reserve(names.len().saturating_sub(known));
        names.reserve(known);
        names.extend(self.table.names());
        self.reconcile(names);
        for id in self.table.ids() {
            let idle = self
                .table
                .get(id)
                .is_some_and(|s| s.name.is_some() && s.pid.is_none() && !s.queued);
            if idle {
                self.table.set_restart_at(id, None);
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
        let mut found = Vec::with_capacity(names.len());
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
        self.drop_status_watch(id);
        if let Some(wd) = self.table.set_watch(id, None) {
            if let Some(w) = &self.watcher {
                w.unwatch(wd);
            }
        }
        self.table.set_restart_at(id, None);
        let Some(svc) = self.table.get_mut(id) else {
            return;
        };
        svc.log_pipe = None;
        svc.prefix_pipes = None;
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
    pub(super) fn try_start(&mut self, id: Id) {
        if self.shutdown.is_some() {
            return;
        }
        let Some(svc) = self.table.get(id) else {
            return;
        };
        if svc.pid.is_some() || svc.queued || self.table.restart_at(id).is_some() {
            return;
        }
        let Some(name) = &svc.name else { return };
        let dir = self.opts.scandir.join(name);
        if !scan::run_ready(&dir) {
            if self.table.watch_of(id).is_none() {
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

    pub(super) fn start_queued(&mut self, max: usize, now: Instant) {
        for _ in 0..max {
            let Some(id) = self.queue.pop_front() else {
                // Drained: give back the buffer a big start-up needed.
                if self.queue.capacity() > 0 {
                    self.queue = std::collections::VecDeque::new();
                }
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
        if self.table.get(id).is_some_and(|s| s.pid.is_none()) {
            self.ensure_status_watch(id);
        }
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
                        e,
                    );
                    self.schedule_restart(id, now + RESTART_THROTTLE);
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
                        self.opts
                            .supervise
                            .as_deref()
                            .unwrap_or("supervise".as_ref())
                            .display(),
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
