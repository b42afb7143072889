//! A service's `check` script (runit's: exit 0 means the service is up
//! and ready), run one way for everyone who asks: `svctl -w`/`svctl
//! check`, svscan's readiness gate and anything else.
//!
//! The rule: `./check` with the service directory as its working
//! directory, in a process group of its own, stdin and stdout on
//! `/dev/null` (runit closed fd 1, so the script's first `open` silently
//! became its stdout), stderr inherited, the environment the caller
//! passes. A check that cannot be executed or is killed by a signal
//! **fails** (runit 2.1.2 counted those as passing, quirks Q7/Q21). At
//! its time limit it is killed with its whole process group.

use crate::child::{run_bounded, Bound, Child, Outcome, SpawnError};
use crate::servicedir::CHECK;
use crate::spawn::{Envp, Exec, Group, OnFailure, Program};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// Does `dir` have a `check` (a regular file executable by someone)?
pub fn exists(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir.join(CHECK))
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The parts of the child's set-up that must outlive the fork.
struct Prepared {
    cwd: CString,
    devnull: OwnedFd,
}

fn prepare(dir: &Path) -> Result<Prepared, SpawnError> {
    use crate::errstr::ErrorNumber;
    let cwd =
        CString::new(dir.as_os_str().as_bytes()).map_err(|_| SpawnError::Exec(libc::EINVAL))?;
    let devnull = std::fs::File::open("/dev/null")
        .map_err(|e| SpawnError::Fork(e.number()))?
        .into();
    Ok(Prepared { cwd, devnull })
}

fn exec<'a>(p: &'a Prepared, fds: &'a [(i32, i32)], env: Option<&'a Envp>) -> Exec<'a> {
    Exec {
        program: Program::Path(c"./check"),
        argv: &[c"./check"],
        env,
        cwd: Some(&p.cwd),
        fds,
        group: Group::Leader,
        foreground: false,
        rlimits: &[],
        close_others: false,
        on_failure: OnFailure::Report,
    }
}

/// Starts `dir`'s check without waiting for it, for an event loop that
/// watches [`Child::fd`] and kills the group at its own deadline.
pub fn start(dir: &Path, env: Option<&Envp>) -> Result<Child, SpawnError> {
    let p = prepare(dir)?;
    let null = p.devnull.as_raw_fd();
    let fds = [(null, 0), (null, 1)];
    Child::spawn(&exec(&p, &fds, env))
}

/// Runs `dir`'s check to completion, at most `limit`.
pub fn run(dir: &Path, env: Option<&Envp>, limit: Duration) -> Outcome {
    let p = match prepare(dir) {
        Ok(p) => p,
        Err(e) => return Outcome::SpawnFailed(e),
    };
    let null = p.devnull.as_raw_fd();
    let fds = [(null, 0), (null, 1)];
    run_bounded(&exec(&p, &fds, env), Bound::kill_after(limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir_with_check(tag: &str, body: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("svkit-check-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("check");
        std::fs::write(&f, body).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn passes_fails_and_times_out() {
        let d = dir_with_check("pass", "#!/bin/sh\n[ -e here ] || exit 1\nexit 0\n");
        assert!(exists(&d));
        assert_eq!(
            run(&d, None, Duration::from_secs(5)),
            Outcome::Exited(crate::child::Exit::Code(1))
        );
        std::fs::write(d.join("here"), "").unwrap();
        assert!(run(&d, None, Duration::from_secs(5)).success());
        let slow = dir_with_check("slow", "#!/bin/sh\nexec sleep 30\n");
        assert_eq!(
            run(&slow, None, Duration::from_millis(200)),
            Outcome::TimedOut
        );
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&slow).unwrap();
    }

    #[test]
    fn a_check_that_cannot_run_fails() {
        let d = dir_with_check("noexec", "");
        std::fs::set_permissions(d.join("check"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!exists(&d));
        assert!(matches!(
            run(&d, None, Duration::from_secs(1)),
            Outcome::SpawnFailed(_)
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
