//! `svctl`'s use of a service's `./check` (protocol notes §4.5): the
//! script runs through [`crate::check`], the one runner svscan's readiness
//! gate uses too (own process group, stdout on `/dev/null`, a check that
//! cannot run or dies by a signal fails, killed with its group at its
//! limit). What is svctl's own is the time it gets and the warnings.

use super::format::stderr_warning;
use crate::child::{Outcome, SpawnError};
use crate::errstr::{io_error_str, runit_error_str};
use crate::servicedir::CHECK;
use std::path::Path;
use std::time::{Duration, Instant};

/// A check always gets at least this long, even when the wait deadline
/// is (almost) over, so that `-w 0` can still pass.
pub const MIN_CHECK_TIME: Duration = Duration::from_secs(1);

/// Runs `DIR/check` if it exists. `true` = pass (also when there is no
/// check script). `name` is the service as given, for messages.
pub fn check_passes(name: &str, dir: &Path, deadline: Instant) -> bool {
    match std::fs::metadata(dir.join(CHECK)) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
        Err(e) => {
            stderr_warning(&format!(
                "unable to stat {name}/check: {}",
                io_error_str(&e)
            ));
            return false;
        }
    }
    let limit = time_for_check(deadline, Instant::now());
    match crate::check::run(dir, None, limit) {
        Outcome::Exited(how) => how.success(),
        Outcome::TimedOut => {
            stderr_warning(&format!(
                "{name}/check: timed out after {} ms, killed",
                limit.as_millis()
            ));
            false
        }
        Outcome::SpawnFailed(SpawnError::Fork(e) | SpawnError::Pidfd(e)) => {
            stderr_warning(&format!(
                "unable to start child {name}/check: {}",
                runit_error_str(e)
            ));
            false
        }
        Outcome::SpawnFailed(SpawnError::Exec(e)) => {
            stderr_warning(&format!(
                "unable to run {name}/check: {}",
                runit_error_str(e)
            ));
            false
        }
        // check::run has no interrupt to cancel it.
        Outcome::Cancelled => false,
    }
}

/// What is left of the wait, but at least [`MIN_CHECK_TIME`].
fn time_for_check(deadline: Instant, now: Instant) -> Duration {
    deadline.saturating_duration_since(now).max(MIN_CHECK_TIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_gets_at_least_the_minimum() {
        let now = Instant::now();
        assert_eq!(time_for_check(now, now), MIN_CHECK_TIME);
        assert_eq!(
            time_for_check(now + Duration::from_secs(7), now),
            Duration::from_secs(7)
        );
    }
}
