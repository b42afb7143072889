//! Container lifecycle inside the event loop: essential services (their
//! end ends the container) and the readiness gate in front of the main
//! command (`--wait-ready`). Both are driven by inotify events on the
//! services' `supervise/svkit-status`.

use super::daemon::Svscan;
use super::essential::{self, StatusWatch};
use super::options::{WaitFail, WaitReady};
use super::ready;
use super::table::Id;
use super::PROG;
use crate::msg;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often services with a `check` are re-checked while gating.
const CHECK_PERIOD: Duration = Duration::from_millis(250);

pub struct Gate {
    pending: Vec<OsString>,
    deadline: Option<Instant>,
    /// Next periodic check (only while a pending service has `check`).
    tick: Option<Instant>,
}

impl Gate {
    pub fn next_wakeup(&self) -> Option<Instant> {
        match (self.deadline, self.tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Svscan {
    /// Called once after the first scan when there is a main command.
    pub(super) fn setup_gate(&mut self, now: Instant) {
        let pending: Vec<OsString> = match &self.opts.life.wait_ready {
            WaitReady::None => return,
            WaitReady::All => {
                let mut names = self.table.names();
                names.retain(|n| {
                    !self
                        .opts
                        .scandir
                        .join(n)
                        .join(crate::servicedir::DOWN)
                        .exists()
                });
                names.sort();
                names
            }
            WaitReady::Some(list) => list.iter().map(OsString::from).collect(),
        };
        if pending.is_empty() {
            return;
        }
        for n in &pending {
            if self.table.by_name(n).is_none() {
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
                pending
                    .iter()
                    .map(|n| n.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        self.gate = Some(Gate {
            pending,
            deadline: self.opts.life.wait_ready_timeout.map(|t| now + t),
            tick: None,
        });
        // Services already started (none yet normally) need their watch.
        for id in self.table.ids() {
            if self.table.get(id).is_some_and(|s| s.pid.is_some()) {
                self.ensure_status_watch(id);
            }
        }
        self.check_gate(now);
    }

    fn gates(&self, name: &std::ffi::OsStr) -> bool {
        self.gate
            .as_ref()
            .is_some_and(|g| g.pending.iter().any(|n| n == name))
    }

    /// Before a supervise starts: watch its `supervise/` if the service is
    /// essential or gates the main command.
    pub(super) fn ensure_status_watch(&mut self, id: Id) {
        let Some(svc) = self.table.get(id) else {
            return;
        };
        if svc.status.is_some() {
            return;
        }
        let Some(name) = svc.name.clone() else { return };
        let dir = self.opts.scandir.join(&name);
        let named = self
            .opts
            .life
            .essential
            .iter()
            .any(|n| std::ffi::OsStr::new(n) == name);
        let (mode, warning) = essential::mode_of(&dir, named);
        if let Some(w) = warning {
            msg::warn(PROG, w);
        }
        if mode.is_none() && !self.gates(&name) {
            return;
        }
        let Some(watcher) = &self.watcher else {
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

    /// Stops watching a retired service.
    pub(super) fn drop_status_watch(&mut self, id: Id) {
        let Some(sw) = self.table.get_mut(id).and_then(|s| s.status.take()) else {
            return;
        };
        if let Some(wd) = sw.wd {
            self.status_watches.remove(&wd);
            if let Some(w) = &self.watcher {
                w.unwatch(wd);
            }
        }
    }

    /// `svkit-status` of a watched service changed.
    pub(super) fn on_status(&mut self, id: Id) {
        let Some(svc) = self.table.get_mut(id) else {
            return;
        };
        let name = svc
            .name
            .as_ref()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(sw) = svc.status.as_mut() else {
            return;
        };
        let ended = essential::read(&sw.dir).and_then(|st| sw.essential_end(&st));
        if let Some(status) = ended {
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

    fn service_ready(&self, name: &OsString) -> bool {
        let Some(svc) = self.table.by_name(name).and_then(|id| self.table.get(id)) else {
            return false;
        };
        let Some(sw) = &svc.status else { return false };
        let st = essential::read(&sw.dir);
        ready::is_ready(&self.opts.scandir.join(name), st.as_ref(), &self.env)
    }

    /// Drops ready services from the gate; starts the main command when
    /// none is left, or applies the failure policy at the deadline.
    pub(super) fn check_gate(&mut self, now: Instant) {
        if self.shutdown.is_some() {
            self.gate = None;
            return;
        }
        let Some(mut gate) = self.gate.take() else {
            return;
        };
        gate.pending.retain(|n| !self.service_ready(n));
        if gate.pending.is_empty() {
            msg::info(PROG, "services ready: starting the main command");
            self.start_command();
            return;
        }
        if gate.deadline.is_some_and(|d| d <= now) {
            let names = gate
                .pending
                .iter()
                .map(|n| n.to_string_lossy())
                .collect::<Vec<_>>()
                .join(", ");
            match self.opts.life.wait_ready_fail {
                WaitFail::Stop => {
                    eprintln!("{PROG}: fatal: not ready in time: {names}: stopping the container");
                    self.exit.fatal();
                    self.begin_shutdown("services not ready".into(), now);
                }
                WaitFail::Warn => {
                    msg::warn(
                        PROG,
                        format!("not ready in time: {names}; starting the main command anyway"),
                    );
                    self.start_command();
                }
            }
            return;
        }
        let scandir: &Path = &self.opts.scandir;
        gate.tick = gate
            .pending
            .iter()
            .any(|n| ready::has_check(&scandir.join(n)))
            .then(|| now + CHECK_PERIOD);
        self.gate = Some(gate);
    }
}
