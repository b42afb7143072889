//! Container lifecycle building blocks (issue 4).
//!
//! Each file is one self-contained block that svscan and svctl wire in:
//! - [`rundir`]: find, create and vet the runtime directory; where
//!   `supervise/` state lives for read-only service directories.
//! - [`envdump`]: capture the container environment into `RUNDIR/env/` and
//!   `RUNDIR/env.sh`, and read it back after init scripts published variables.
//! - [`scripts`]: run init scripts and shutdown hooks in order, bounded by
//!   timeouts, a deadline and a cancellation fd.
//! - [`linemux`]: copy service output to svscan's stdout/stderr, one whole
//!   prefixed line per `write(2)`.
//! - [`exitcode`]: decide the container's exit code from what happened.
//!
//! See svkit-container(7) for how they fit together.

pub mod envdump;
pub mod exitcode;
pub mod linemux;
pub mod rundir;
pub mod scripts;

/// A container setting (an `SVSCAN_*` variable) that does not parse:
/// `invalid WHAT "VALUE": WANT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidValue {
    pub what: &'static str,
    pub value: String,
    /// What would have been accepted.
    pub want: &'static str,
}

impl std::fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.what, self.value, self.want)
    }
}

impl std::error::Error for InvalidValue {}
