//! The container boot before any service starts: the runtime directory,
//! svscan's pid file, the environment capture and the init scripts.
//! Every step here runs once, in order, right after the signalfd exists.

use super::options::Lifecycle;
use super::signals::{Request, Signals};
use super::PROG;
use crate::container::envdump::{self, DumpOptions, EnvMap};
use crate::container::exitcode::ExitState;
use crate::container::rundir::{self, Identity};
use crate::container::scripts::{self, Flow, Hooks, Limits, Policy, ScriptResult, Verdict};
use crate::msg;
use rustix::process::Pid;
use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `RUNDIR/svscan.pid`: where `svctl halt` finds svscan.
pub const PID_FILE: &str = rundir::SVSCAN_PID;

/// Creates or vets the runtime directory.
pub fn prepare_rundir(life: &Lifecycle) -> Result<PathBuf, rundir::RunDirError> {
    let rd = rundir::prepare(&life.rundir, &Identity::current())?;
    if let Some(w) = rd.warning {
        msg::warn(PROG, w);
    }
    Ok(rd.path)
}

/// Writes svscan's pid (1 as a container's init) and removes an exit code
/// left over from an earlier run of the container.
pub fn announce(rundir: &Path) {
    let pid = format!("{}\n", std::process::id());
    if let Err(e) = crate::atomic_file::replace(&rundir.join(PID_FILE), pid.as_bytes()) {
        msg::warn_why(PROG, format!("unable to write {PID_FILE}"), e);
    }
    match std::fs::remove_file(rundir.join(rundir::EXITCODE)) {
        Ok(()) => msg::info(PROG, "removed a stale exitcode file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => msg::warn_why(PROG, "unable to remove stale exitcode file", e),
    }
}

/// Removes the pid file at exit.
pub fn retire(rundir: &Path) {
    let _ = std::fs::remove_file(rundir.join(PID_FILE));
}

/// The container's environment: svscan's own over the static directory,
/// plus `SVKIT_RUNDIR`; dumped to `RUNDIR/env/` and `RUNDIR/env.sh`.
pub fn capture_env(life: &Lifecycle, rundir: &Path) -> EnvMap {
    let mut env = match envdump::capture(Some(&life.env_dir), std::env::vars_os()) {
        Ok(e) => e,
        Err(e) => {
            msg::warn_why(
                PROG,
                format!("unable to read {}", life.env_dir.display()),
                e,
            );
            envdump::capture(None, std::env::vars_os()).unwrap_or_default()
        }
    };
    // svkit's own plumbing is not part of the container's environment.
    env.remove(std::ffi::OsStr::new(super::ENV_LOG_PIPE));
    env.insert(
        OsString::from(rundir::ENV_VAR),
        rundir.as_os_str().to_os_string(),
    );
    if life.env_dump {
        dump(life, rundir, &env);
    }
    env
}

fn dump(life: &Lifecycle, rundir: &Path, env: &EnvMap) {
    let opts = DumpOptions {
        group: life.env_group,
    };
    match envdump::write_dump(rundir, env, &opts) {
        Ok(skipped) => {
            for name in skipped {
                msg::warn(
                    PROG,
                    format!(
                        "variable {:?} cannot be stored in an envdir; not dumped",
                        name
                    ),
                );
            }
        }
        Err(e) => msg::warn_why(PROG, "unable to write the environment dump", e),
    }
}

/// Re-reads what the last init script published into `RUNDIR/env/` and
/// rewrites `env.sh` to match.
pub fn reload_env(life: &Lifecycle, rundir: &Path, env: &mut EnvMap) {
    if !life.env_dump {
        return;
    }
    match envdump::reload(rundir, env) {
        Ok(mut fresh) => {
            fresh.insert(
                OsString::from(rundir::ENV_VAR),
                rundir.as_os_str().to_os_string(),
            );
            if fresh != *env {
                *env = fresh;
                dump(life, rundir, env);
            }
        }
        Err(e) => msg::warn_why(PROG, "unable to reload the environment", e),
    }
}

/// How the init phase ended.
pub enum InitEnd {
    /// All scripts done (or none): start the services.
    Done,
    /// Stop the container without starting anything; the shutdown counts
    /// from this instant (the signal's arrival, or the failure).
    Stop(Instant),
}

struct InitHooks<'a> {
    life: &'a Lifecycle,
    rundir: &'a Path,
    env: &'a mut EnvMap,
    signals: &'a mut Signals,
    exit: &'a mut ExitState,
    stop_at: Option<Instant>,
    first: bool,
}

impl Hooks for InitHooks<'_> {
    fn env(&mut self, _script: &Path) -> EnvMap {
        if !self.first {
            reload_env(self.life, self.rundir, self.env);
        }
        self.first = false;
        self.env.clone()
    }

    fn finished(&mut self, r: &ScriptResult) -> Flow {
        match self.life.init_fail.verdict(r) {
            Verdict::Continue => Flow::Continue,
            Verdict::Warn(line) => {
                msg::warn(PROG, format!("init script {line}"));
                Flow::Continue
            }
            Verdict::Stop(code, line) => {
                eprintln!("{PROG}: fatal: init script {line}: stopping the container");
                self.exit.init_failed(&r.path.to_string_lossy(), code);
                self.stop_at.get_or_insert_with(Instant::now);
                Flow::Stop
            }
        }
    }

    fn interrupt_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.signals.fd())
    }

    fn on_interrupt(&mut self, running: Pid) -> Flow {
        let mut flow = Flow::Continue;
        while let Some(req) = self.signals.next_request() {
            match req {
                Request::Reap => {
                    // Orphans of earlier scripts' daemons; never the script.
                    scripts::reap_others(running);
                }
                Request::Shutdown(sig) => {
                    msg::info(PROG, format!("{}: stopping the init scripts", sig.as_str()));
                    self.exit.signal(sig as i32);
                    self.stop_at.get_or_insert_with(Instant::now);
                    flow = Flow::Stop;
                }
                Request::Rescan | Request::Ignore => {}
            }
        }
        flow
    }
}

/// Runs the init scripts in order (each with the environment as the
/// scripts before it left it), then reloads the environment once more
/// for the services.
pub fn run_init(
    life: &Lifecycle,
    rundir: &Path,
    env: &mut EnvMap,
    signals: &mut Signals,
    exit: &mut ExitState,
    shutdown_timeout: Duration,
) -> InitEnd {
    let listing = scripts::list(&scripts::split_dirs(&life.init_dirs));
    for w in &listing.warnings {
        msg::warn(PROG, w);
    }
    if listing.scripts.is_empty() {
        return InitEnd::Done;
    }
    let limits = Limits {
        per_script: life.init_timeout,
        deadline: None,
        kill_grace: kill_grace(shutdown_timeout),
    };
    let mut hooks = InitHooks {
        life,
        rundir,
        env,
        signals,
        exit,
        stop_at: None,
        first: true,
    };
    let report = scripts::run_all(&listing.scripts, &limits, &mut hooks);
    let stop_at = hooks.stop_at;
    reload_env(life, rundir, env);
    match (report.stopped, stop_at) {
        (None, _) => InitEnd::Done,
        (Some(_), at) => InitEnd::Stop(at.unwrap_or_else(Instant::now)),
    }
}

/// TERM-to-KILL grace for scripts: short enough to fit the shutdown.
pub fn kill_grace(shutdown_timeout: Duration) -> Duration {
    scripts::DEFAULT_KILL_GRACE
        .min(shutdown_timeout / 4)
        .max(Duration::from_millis(50))
}

/// Runs shutdown hooks (warn on failure) so that they end by `deadline`.
pub fn run_hooks(what: &str, dirs: &OsString, env: &EnvMap, per_hook: Duration, deadline: Instant) {
    let listing = scripts::list(&scripts::split_dirs(dirs));
    for w in &listing.warnings {
        msg::warn(PROG, w);
    }
    if listing.scripts.is_empty() {
        return;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let grace = (left / 4).min(Duration::from_millis(500));
    let limits = Limits {
        per_script: Some(per_hook),
        deadline: Some(deadline - grace),
        kill_grace: grace,
    };
    let mut hooks = scripts::FixedEnv {
        env: env.clone(),
        policy: Policy::Warn,
        interrupt: None,
        warn: Box::new(|line: &str| msg::warn(PROG, format!("{what} hook {line}"))),
        stop_code: None,
    };
    let report = scripts::run_all(&listing.scripts, &limits, &mut hooks);
    if report.stopped == Some(scripts::Stopped::Deadline) {
        msg::warn(
            PROG,
            format!("{what} hooks cut short by the shutdown deadline"),
        );
    }
}
