//! svscan: run one supervise per service in a scan directory; a correct
//! container entrypoint (PID 1). See svscan(8).
//!
//! The command line is parsed by hand (`svscan::parse_args`), not with
//! clap: svscan is the one long-lived process of a container, and clap's
//! code, relocated tables and heap churn stayed in its memory for good.

use std::io::Write;

use svkit::msg;
use svkit::svscan::{self, Cli, Options};

fn duration(value: &str, what: &str) -> std::time::Duration {
    match svscan::parse_duration(value) {
        Ok(d) => d,
        Err(e) => msg::fatal(svscan::PROG, svkit::exit::USAGE, what, e),
    }
}

fn main() {
    let signals = svscan::install_signals();
    // Parsing in its own stack frame, gone before svscan idles.
    let opts = options();
    std::process::exit(svscan::run(opts, signals));
}

#[inline(never)]
fn options() -> Options {
    let args = match svscan::parse_args(std::env::args_os().skip(1)) {
        Ok(Cli::Run(args)) => args,
        Ok(help) => {
            let text = match help {
                Cli::Help => svscan::help_text(svscan::help_styled()),
                _ => svscan::version_text(),
            };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            std::process::exit(0);
        }
        Err(what) => msg::fatal(svscan::PROG, svkit::exit::USAGE, what, svscan::USAGE),
    };
    let scandir = args
        .scandir
        .unwrap_or_else(svkit::servicedir::svdir_from_env);
    let shutdown_timeout = match args.shutdown_timeout {
        Some(v) => duration(&v, "invalid --shutdown-timeout"),
        None => match std::env::var(svscan::ENV_SHUTDOWN_TIMEOUT) {
            Ok(v) if !v.is_empty() => duration(&v, "invalid SVKIT_SHUTDOWN_TIMEOUT"),
            _ => svscan::DEFAULT_SHUTDOWN_TIMEOUT,
        },
    };
    let rescan_interval = args
        .rescan_interval
        .map(|v| duration(&v, "invalid --rescan-interval"))
        .filter(|d| !d.is_zero());
    let supervise = args.supervise.or_else(svscan::supervise_from_env);
    let life = svscan::Lifecycle::from_env(args.lifecycle)
        .unwrap_or_else(|e| msg::fatal_plain(svscan::PROG, svkit::exit::USAGE, e));
    Options {
        scandir: svscan::absolute(scandir),
        shutdown_timeout,
        supervise,
        rescan_interval,
        no_inotify: args.no_inotify,
        command: args.command,
        life,
    }
}
