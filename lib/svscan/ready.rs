//! Is a service ready (for `--wait-ready`)? With `notification-fd`, when
//! supervise recorded `ready=1`; else, with an executable `check`, when
//! it exits 0; else as soon as it runs.

use crate::extstatus::ExtStatus;
use std::path::Path;
use std::time::Duration;

/// Longest a `check` may take before it counts as "not ready".
const CHECK_LIMIT: Duration = Duration::from_secs(2);

pub fn has_check(dir: &Path) -> bool {
    crate::check::exists(dir)
}

pub fn is_ready(
    dir: &Path,
    st: Option<&ExtStatus>,
    env: &crate::container::envdump::EnvMap,
) -> bool {
    let Some(st) = st else { return false };
    if st.state != "run" {
        return false;
    }
    if dir.join(crate::servicedir::NOTIFICATION_FD).exists() {
        return st.ready;
    }
    if has_check(dir) {
        return run_check(dir, env);
    }
    true
}

/// Runs `./check` in the service directory, bounded by [`CHECK_LIMIT`]
/// (`crate::check`: its own process group, killed with it at the limit;
/// waited for through a pidfd, so svscan's reaper cannot steal it).
fn run_check(dir: &Path, env: &crate::container::envdump::EnvMap) -> bool {
    let envp = crate::spawn::Envp::from_map(env);
    crate::check::run(dir, Some(&envp), CHECK_LIMIT).success()
}
