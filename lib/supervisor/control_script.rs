//! `control/X` scripts (runit's customisation of control commands, §5.8),
//! main service only. Unlike runsv: the script runs with an empty signal
//! mask and default dispositions (Q22), an exec failure or a death by signal
//! counts as "not handled" (Q7), and it gets at most `TIMEOUT` before it is
//! SIGKILLed (Q21). While it runs supervise waits for it, as runsv does.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(5);

/// `./control/<byte>` if it exists and is owner-executable.
pub fn find(byte: u8) -> Option<CString> {
    use std::os::unix::fs::PermissionsExt;
    let name = format!("control/{}", byte as char);
    let meta = std::fs::metadata(&name).ok()?;
    if meta.permissions().mode() & 0o100 == 0 {
        return None;
    }
    CString::new(format!("./{name}")).ok()
}

/// Runs `control/<byte>`, found by `find` as `path`. Returns true iff it
/// exited 0 ("handled").
pub fn run(path: &CString, byte: u8, stdout: Option<RawFd>, label: &str) -> bool {
    use crate::child::{run_bounded, Bound, Outcome};
    use crate::spawn::{Exec, Group, OnFailure, Program};
    let name = format!("control/{}", byte as char);
    let fds: Vec<(RawFd, RawFd)> = stdout.map(|fd| (fd, 1)).into_iter().collect();
    let outcome = run_bounded(
        &Exec {
            program: Program::Path(path),
            argv: &[path],
            env: None,
            cwd: None,
            fds: &fds,
            group: Group::Session,
            foreground: false,
            close_others: false,
            rlimits: &[],
            on_failure: OnFailure::Report,
        },
        Bound::kill_after(TIMEOUT),
    );
    match &outcome {
        Outcome::Exited(e) => return e.success(),
        Outcome::TimedOut => crate::msg::warn(
            super::PROG,
            format_args!(
                "{label}: ./{name} timed out after {}s, killed",
                TIMEOUT.as_secs()
            ),
        ),
        Outcome::SpawnFailed(e) => crate::msg::warn_why(
            super::PROG,
            format_args!("{label}: unable to start ./{name}"),
            crate::errstr::runit_error_str(e.errno()),
        ),
        Outcome::Cancelled => {}
    }
    false
}
