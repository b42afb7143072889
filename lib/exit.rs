//! Every exit code an svkit program uses, in one table (the s6/runit
//! convention, plus the shell's for commands that cannot be run). Only a
//! program's entry point exits; library code returns these as values.

/// Success.
pub const OK: i32 = 0;
/// sv/svctl: a wait ran out of time counts per service; this is the cap
/// of that count (runit's `sv` exits with the number of failed services,
/// at most 99).
pub const MAX_FAILED: i32 = 99;
/// A wait ran out of time (s6's convention).
pub const TIMEOUT: i32 = 99;
/// Bad command line (or, for sv/svctl, a fatal error before any service
/// was looked at, as runit's `sv`).
pub const USAGE: i32 = 100;
/// A system call failed; also a second supervisor on a directory that is
/// already supervised, and an exec that failed in a child (runsv's
/// convention: `finish` then sees `111 0`).
pub const SYSTEM: i32 = 111;
/// Another svscan or supervise holds the lock (same code as SYSTEM, as
/// runsv and s6-svscan use).
pub const LOCKED: i32 = 111;
/// A command could not be executed (found but not executable).
pub const CANNOT_EXEC: i32 = 126;
/// A command was not found.
pub const NOT_FOUND: i32 = 127;
/// A child killed by signal N is reported as `SIGNAL_BASE + N`.
pub const SIGNAL_BASE: i32 = 128;

/// LSB init-script mode of svctl (`/etc/init.d/NAME status`).
pub mod lsb {
    pub const RUNNING: i32 = 0;
    pub const USAGE: i32 = 2;
    pub const NOT_RUNNING: i32 = 3;
    pub const UNKNOWN: i32 = 4;
    /// runit's `sv` in LSB mode on a fatal error.
    pub const FATAL: i32 = 151;
}

/// The shell's code for a command that could not be started with `errno`.
pub fn for_exec_error(errno: nix::errno::Errno) -> i32 {
    match errno {
        nix::errno::Errno::ENOENT | nix::errno::Errno::ENOTDIR => NOT_FOUND,
        _ => CANNOT_EXEC,
    }
}

/// The conventional code for a process that was killed by `sig`.
pub fn for_signal(sig: i32) -> i32 {
    SIGNAL_BASE + sig.clamp(0, 127)
}
