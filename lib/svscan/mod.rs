//! svscan: watches a scan directory, keeps one `supervise` per service,
//! and as PID 1 (or child subreaper) reaps every zombie and turns a stop
//! request into an orderly shutdown bounded by one deadline.

mod boot;
mod cli;
mod command;
mod daemon;
mod essential;
mod life;
mod lock;
mod logpipe;
mod options;
mod prefix;
mod ready;
mod reaper;
mod scan;
mod services;
mod shutdown;
mod signals;
mod spawn;
mod table;
mod watch;

pub use boot::PID_FILE;
pub use cli::{command, parse, Parsed, UsageError, USAGE};
pub use logpipe::ENV_LOG_PIPE;
pub use options::*;

/// Program name in messages.
pub const PROG: &str = "svscan";

pub use signals::Signals;

/// Blocks svscan's signals and opens its signalfd. Call first thing in
/// `main`: until then a TERM to PID 1 is dropped by the kernel, and
/// nothing may be forked before it.
pub fn install_signals() -> Signals {
    match Signals::install() {
        Ok(s) => s,
        Err(e) => crate::msg::fatal(PROG, crate::exit::SYSTEM, "unable to set up signals", e),
    }
}

/// Runs svscan; returns its exit code (see svscan(8)).
pub fn run(opts: Options, signals: Signals) -> i32 {
    daemon::run(opts, signals)
}
