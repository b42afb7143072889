//! Watching a service's `supervise/svkit-status` (event-driven, one more
//! watch on svscan's single inotify instance): for essential services,
//! whose end ends the container, and for the readiness gate of the main
//! command.
//!
//! A service is essential when its directory has a file `essential`
//! (empty or `once`: its first exit counts; `limit`: only when supervise
//! gives up after the restart limit, `failed=1`) or is named in
//! `SVSCAN_ESSENTIAL` (`once`).

use crate::container::exitcode::ProcStatus;
use crate::extstatus::{ExtStatus, LastExit};
use nix::sys::inotify::WatchDescriptor;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The service's run exiting ends the container.
    Once,
    /// Only the restart limit being exhausted ends the container.
    Limit,
}

/// Reads `DIR/essential`: `None` if absent; a warning for unknown text.
pub fn mode_of(dir: &Path, named: bool) -> (Option<Mode>, Option<String>) {
    match std::fs::read_to_string(dir.join(crate::servicedir::ESSENTIAL)) {
        Ok(text) => match text.trim() {
            "" | "once" => (Some(Mode::Once), None),
            "limit" => (Some(Mode::Limit), None),
            other => (
                Some(Mode::Once),
                Some(format!(
                    "{}: unknown essential mode {other:?} (want once or limit); using once",
                    dir.display()
                )),
            ),
        },
        Err(_) => (named.then_some(Mode::Once), None),
    }
}

/// One watched `supervise/` directory.
#[derive(Debug)]
pub struct StatusWatch {
    pub wd: Option<WatchDescriptor>,
    pub dir: PathBuf,
    pub essential: Option<Mode>,
    /// `starts` when the watch began: older runs say nothing about ours.
    pub base: u64,
    /// `starts` last seen with state `run`.
    pub run_seen: Option<u64>,
    /// The essential exit was reported already.
    pub fired: bool,
}

impl StatusWatch {
    pub fn new(dir: PathBuf, essential: Option<Mode>) -> Self {
        let base = read(&dir).map_or(0, |s| s.starts);
        StatusWatch {
            wd: None,
            dir,
            essential,
            base,
            run_seen: None,
            fired: false,
        }
    }

    /// Has the essential service ended (per its mode)? Returns its status
    /// once; later calls return `None`.
    pub fn essential_end(&mut self, st: &ExtStatus) -> Option<ProcStatus> {
        let mode = self.essential?;
        if self.fired || st.starts <= self.base {
            return None;
        }
        let ended = match mode {
            Mode::Limit => st.failed,
            Mode::Once => {
                st.failed || st.state != "run" || st.starts > self.run_seen.unwrap_or(self.base + 1)
            }
        };
        if st.state == "run" {
            self.run_seen = Some(st.starts);
        }
        if !ended {
            return None;
        }
        self.fired = true;
        Some(match st.last_exit {
            LastExit::Code(c) => ProcStatus::Exited(c.clamp(0, 255) as u8),
            LastExit::Signal(s) => ProcStatus::Signaled(s),
            LastExit::None => ProcStatus::Exited(0),
        })
    }
}

/// The current `svkit-status` in `supervise_dir`.
pub fn read(supervise_dir: &Path) -> Option<ExtStatus> {
    let text = std::fs::read_to_string(supervise_dir.join(crate::extstatus::FILE_NAME)).ok()?;
    ExtStatus::decode(&text)
}

/// The `supervise/` directory of `dir`, created if missing so it can be
/// watched before supervise starts (in the runtime directory when the
/// service directory is read-only, as supervise itself does).
pub fn supervise_dir(rundir: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(found) = crate::container::rundir::locate_supervise_dir_in(rundir, dir) {
        return Ok(found);
    }
    let local = dir.join(crate::servicedir::SUPERVISE_DIR);
    match std::fs::DirBuilder::new().mode(0o700).create(&local) {
        Ok(()) => Ok(local),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(local),
        Err(_) => {
            let fallback = crate::container::rundir::fallback_supervise_dir(rundir, dir);
            std::fs::DirBuilder::new()
                .mode(0o700)
                .recursive(true)
                .create(&fallback)?;
            Ok(fallback)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: &str, starts: u64, exit: LastExit, failed: bool) -> ExtStatus {
        ExtStatus {
            state: state.into(),
            starts,
            last_exit: exit,
            failed,
            ..ExtStatus::default()
        }
    }

    fn watch(mode: Mode, base: u64) -> StatusWatch {
        StatusWatch {
            wd: None,
            dir: PathBuf::new(),
            essential: Some(mode),
            base,
            run_seen: None,
            fired: false,
        }
    }

    #[test]
    fn once_fires_on_first_exit_only() {
        let mut w = watch(Mode::Once, 4);
        // A stale record from an earlier run of the container.
        assert_eq!(
            w.essential_end(&st("down", 4, LastExit::Code(9), false)),
            None
        );
        assert_eq!(
            w.essential_end(&st("run", 5, LastExit::Code(9), false)),
            None
        );
        assert_eq!(
            w.essential_end(&st("down", 5, LastExit::Code(3), false)),
            Some(ProcStatus::Exited(3))
        );
        assert_eq!(
            w.essential_end(&st("down", 5, LastExit::Code(3), false)),
            None
        );
    }

    #[test]
    fn once_sees_an_exit_hidden_by_a_quick_restart() {
        let mut w = watch(Mode::Once, 0);
        assert_eq!(
            w.essential_end(&st("run", 2, LastExit::Signal(9), false)),
            Some(ProcStatus::Signaled(9))
        );
    }

    #[test]
    fn limit_waits_for_failed() {
        let mut w = watch(Mode::Limit, 0);
        assert_eq!(
            w.essential_end(&st("down", 1, LastExit::Code(1), false)),
            None
        );
        assert_eq!(
            w.essential_end(&st("run", 2, LastExit::Code(1), false)),
            None
        );
        assert_eq!(
            w.essential_end(&st("down", 3, LastExit::Code(2), true)),
            Some(ProcStatus::Exited(2))
        );
    }
}
