//! The `status` command in text form: the main line, then `; ` and the
//! log service's line when `log/` exists (protocol notes §4.6).

use super::format::{status_line, stderr_warning, Out};
use super::probe::{probe, Probe};
use super::send::report_probe;
use crate::errstr::io_error_str;
use crate::servicedir::{DOWN, LOG_DIR};
use crate::status::Status;
use crate::tai64n::Tai64n;
use std::path::Path;

/// What a printed status line said, for LSB exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Nothing printed (`down` could not be stat'ed): LSB 4.
    Unknown,
    /// pid ≠ 0: LSB 0.
    Running,
    /// pid = 0: LSB 3.
    NotRunning,
}

/// Is the service normally up (no `down` file)? `Err` after printing
/// `sv`'s stderr warning when `down` cannot be stat'ed.
fn normally_up(name: &str, dir: &Path) -> Result<bool, ()> {
    match std::fs::metadata(dir.join(DOWN)) {
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => {
            stderr_warning(&format!("unable to stat {name}/down: {}", io_error_str(&e)));
            Err(())
        }
    }
}

/// Appends `status`'s line for `shown_name` (no newline). `name` is the
/// service as given (for the stderr warning); `dir` holds `down`.
pub fn print_status_line(
    out: &mut Out,
    name: &str,
    shown_name: &str,
    dir: &Path,
    status: &Status,
) -> Shown {
    let Ok(up) = normally_up(name, dir) else {
        return Shown::Unknown;
    };
    out.put(&status_line(shown_name, status, up, Tai64n::now()));
    if status.pid != 0 {
        Shown::Running
    } else {
        Shown::NotRunning
    }
}

/// Result of `status` for one service, for the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusResult {
    /// The main service's line was printed.
    Shown(Shown),
    /// "runsv not running" (counted as a failure).
    NotSupervised,
    /// `ok`/`status` unusable (warning printed and counted).
    Unreadable,
}

/// Prints `status` for one service (main line and log part).
pub fn status(out: &mut Out, name: &str, dir: &Path) -> StatusResult {
    let main = match probe(dir) {
        Probe::Alive(s) => s,
        p @ Probe::NotRunning => {
            report_probe(out, name, &p, false);
            return StatusResult::NotSupervised;
        }
        p => {
            report_probe(out, name, &p, false);
            return StatusResult::Unreadable;
        }
    };
    let shown = print_status_line(out, name, name, dir, &main);
    let log_dir = dir.join(LOG_DIR);
    let log_name = format!("{name}/{LOG_DIR}");
    match crate::svctl::resolve::enter_check(&log_dir) {
        Err(nix::errno::Errno::ENOENT) => out.put("\n"),
        Err(e) => {
            out.put("; ");
            out.warn(&log_name, "unable to change directory", Some(e));
        }
        Ok(()) => {
            out.put("; ");
            match probe(&log_dir) {
                Probe::Alive(s) => {
                    print_status_line(out, name, LOG_DIR, &log_dir, &s);
                    out.put("\n");
                }
                p => report_probe(out, &log_name, &p, false),
            }
        }
    }
    out.flush();
    StatusResult::Shown(shown)
}
