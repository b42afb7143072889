//! svlog: an svlogd-compatible logger. It reads lines on stdin and appends
//! them to log directories (`current`, rotated `@<tai64n>.s`/`.u` files,
//! `config`, `lock`, processor state), optionally copying them to stdout.
//!
//! One job per file: `options` (command line), `config` (the `config`
//! file), `deadline` (moments from durations in input, overflow-checked), `pattern` (svlogd's `+`/`-`/`e`/`E` matching), `stamp` (line
//! timestamps), `scan` (newline search), `logdir` (one directory: writes
//! and rotation), `retention` (which rotated files go), `archive` (rotated
//! file names), `processor` (running one), `processing` (a directory's
//! processor over time), `udp`, `sink` (stdout/stderr copies), `signals`,
//! `engine` (the loop).

pub mod archive;
pub mod config;
pub mod deadline;
pub mod engine;
pub mod logdir;
pub mod options;
pub mod pattern;
pub mod processing;
pub mod processor;
pub mod retention;
pub mod signals;
pub mod sink;
pub mod stamp;
pub mod udp;

pub const PROG: &str = "svlog";

/// runit's wording for a system error.
pub fn why(e: impl crate::errstr::ErrorNumber) -> &'static str {
    crate::errstr::runit_error_str(e)
}

pub(crate) fn info(what: std::fmt::Arguments<'_>) {
    crate::msg::info(PROG, what);
}

/// Why svlog stops before its input ends: printed as
/// `svlog: fatal: WHAT[: WHY]`, exit [`crate::exit::SYSTEM`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub what: String,
    pub why: Option<String>,
}

impl Fatal {
    pub fn new(what: impl Into<String>, why: Option<&str>) -> Fatal {
        Fatal {
            what: what.into(),
            why: why.map(str::to_string),
        }
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)?;
        match &self.why {
            Some(why) => write!(f, ": {why}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Fatal {}

/// Runs svlog with parsed options; returns the exit code.
pub fn run(opts: options::Options) -> i32 {
    let ran = signals::Signals::install(opts.verbose)
        .map_err(|e| Fatal::new("unable to set up signals", Some(why(e))))
        .and_then(|sig| engine::Engine::new(opts, sig))
        .and_then(|engine| engine.run());
    match ran {
        Ok(()) => crate::exit::OK,
        Err(fatal) => {
            crate::msg::fatal_line(PROG, &fatal);
            crate::exit::SYSTEM
        }
    }
}
