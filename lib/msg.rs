//! The one message format every svkit program uses on stderr:
//! `NAME: fatal: what: why`, `NAME: warning: ...`, `NAME: info: ...`.
//!
//! Messages are built in one buffer and written with a single `write(2)` so
//! that lines from several processes sharing a stderr never interleave.

use std::fmt::Display;
use std::io::Write;

fn emit(prog: &str, level: &str, what: &dyn Display, why: Option<&dyn Display>) {
    let line = match why {
        Some(why) => format!("{prog}: {level}: {what}: {why}\n"),
        None => format!("{prog}: {level}: {what}\n"),
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn warn(prog: &str, what: impl Display) {
    emit(prog, "warning", &what, None);
}

pub fn warn_why(prog: &str, what: impl Display, why: impl Display) {
    emit(prog, "warning", &what, Some(&why));
}

pub fn info(prog: &str, what: impl Display) {
    emit(prog, "info", &what, None);
}

/// Prints `prog: fatal: what: why` and exits with `code`.
pub fn fatal(prog: &str, code: i32, what: impl Display, why: impl Display) -> ! {
    emit(prog, "fatal", &what, Some(&why));
    std::process::exit(code)
}

/// Prints `prog: fatal: what` without exiting (the caller returns its
/// exit code).
pub fn fatal_line(prog: &str, what: impl Display) {
    emit(prog, "fatal", &what, None);
}

/// Prints `prog: fatal: what` and exits with `code`.
pub fn fatal_plain(prog: &str, code: i32, what: impl Display) -> ! {
    emit(prog, "fatal", &what, None);
    std::process::exit(code)
}
