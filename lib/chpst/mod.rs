//! chpst: run a program with a changed process state (user, groups,
//! environment, root, nice, lock, closed fds, soft limits), compatible with
//! runit's chpst, including the daemontools names it answers to when
//! called through a symlink (envdir, envuidgid, pgrphack, setlock,
//! setuidgid, softlimit).
//!
//! One job per file: `mode` (argv[0] aliases, usage texts), `parse`
//! (command lines into a `plan::Plan`, scanned by `crate::getopt`),
//! `run` (runit's order of operations), and the pieces it calls:
//! `envdir` + `environ`, `accounts` (passwd/group files, no NSS), `ids`
//! (`-u` syntax), `privs` (checked privilege drop), `lock`, `limits`,
//! the PATH search (`crate::spawn::Search`). `failure` maps every outcome to its exit code.

pub mod accounts;
pub mod envdir;
pub mod environ;
pub mod failure;
pub mod ids;
pub mod limits;
pub mod lock;
pub mod mode;
pub mod parse;
pub mod plan;
pub mod privs;
pub mod run;

use mode::Mode;
use parse::Parsed;
use std::ffi::OsString;
use std::io::Write;

/// The whole program: returns the exit code when chpst does not become
/// prog (help, usage, failure).
pub fn main(args: Vec<OsString>) -> i32 {
    let mode = args
        .first()
        .map_or(Mode::Chpst, |argv0| Mode::from_argv0(argv0));
    let failure = match parse::parse(mode, &args) {
        Ok(Parsed::Help(mode)) => {
            let mut out = std::io::stdout().lock();
            let written = out
                .write_all(mode.help().as_bytes())
                .and_then(|()| out.flush());
            return if written.is_ok() {
                0
            } else {
                crate::exit::SYSTEM
            };
        }
        Ok(Parsed::Run(plan)) => run::execute(&plan),
        Err(f) => f,
    };
    failure.report();
    failure.exit_code()
}
