//! How chpst gives up. Every failure is one of three outcomes, each with a
//! fixed exit code, so the order-of-operations code only says *what*
//! failed and never decides how to report it.

use super::mode::Mode;
use crate::errstr::{runit_error_str, ErrorNumber};

#[derive(Debug)]
pub enum Failure {
    /// Bad command line: optional complaint line, then the mode's usage
    /// line; exit 100.
    Usage {
        mode: Mode,
        complaint: Option<String>,
    },
    /// Could not change the process state: `chpst: fatal: TEXT`; exit 111.
    Fatal(String),
    /// `setlock -x`: give up quietly with exit 0.
    Quiet,
}

impl Failure {
    pub fn usage(mode: Mode) -> Failure {
        Failure::Usage {
            mode,
            complaint: None,
        }
    }

    /// `what: why` where `why` is runit's text for the error's errno
    /// (nix's, rustix's or std's: no conversion needed).
    pub fn sys(what: impl std::fmt::Display, errno: impl ErrorNumber) -> Failure {
        Failure::Fatal(format!("{what}: {}", runit_error_str(errno)))
    }

    /// Like `sys`, from a std I/O error.
    pub fn io(what: impl std::fmt::Display, err: &std::io::Error) -> Failure {
        Failure::sys(what, err)
    }

    pub fn fatal(what: impl std::fmt::Display, detail: impl std::fmt::Display) -> Failure {
        Failure::Fatal(format!("{what}: {detail}"))
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage { .. } => crate::exit::USAGE,
            Failure::Fatal(_) => crate::exit::SYSTEM,
            Failure::Quiet => 0,
        }
    }

    /// Writes the message (if any) to stderr in one write.
    pub fn report(&self) {
        use std::io::Write;
        let text = match self {
            Failure::Usage { mode, complaint } => {
                let mut s = String::new();
                if let Some(c) = complaint {
                    s.push_str(&format!("{}: {c}\n", mode.name()));
                }
                s.push_str(&mode.usage_line());
                s
            }
            Failure::Fatal(msg) => format!("chpst: fatal: {msg}\n"),
            Failure::Quiet => return,
        };
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}
