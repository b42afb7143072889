//! svscan: run one supervise per service in a scan directory; a correct
//! container entrypoint (PID 1). See svscan(8).

use clap::{Arg, ArgAction, Command};
use std::ffi::OsString;
use std::path::PathBuf;
use svkit::msg;
use svkit::svscan::{self, Options};

fn cli() -> Command {
    Command::new("svscan")
        .about("Watch a scan directory and keep one supervise per service; a correct PID 1")
        .override_usage("svscan [OPTIONS] [SCANDIR] [-- COMMAND [ARGS...]]")
        .after_help(
            "SCANDIR defaults to $SVDIR, else /etc/service.\n\
             Signals: TERM, INT, QUIT, PWR = orderly shutdown (a second one skips to the kill);\n\
             HUP, ALRM = rescan; TTIN, TTOU = ignored.\n\
             Exit status: 0 after a shutdown; COMMAND's status (128+signal if killed, 127/126 if it\n\
             cannot be run) when COMMAND is given; 100 usage error; 111 system error or SCANDIR\n\
             already scanned by another svscan.",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .arg(
            Arg::new("scandir")
                .value_name("SCANDIR")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Directory of service directories [default: $SVDIR, else /etc/service]"),
        )
        .arg(
            Arg::new("shutdown-timeout")
                .short('t')
                .long("shutdown-timeout")
                .value_name("SECONDS")
                .help(
                    "Bound on the whole shutdown, in seconds (2.5) or ms (500ms) \
                     [env: SVKIT_SHUTDOWN_TIMEOUT] [default: 8]",
                ),
        )
        .arg(
            Arg::new("rescan-interval")
                .long("rescan-interval")
                .value_name("SECONDS")
                .help("Also rescan the whole directory this often (default: never; 5 without inotify)"),
        )
        .arg(
            Arg::new("no-inotify")
                .long("no-inotify")
                .action(ArgAction::SetTrue)
                .help("Rescan periodically instead of using inotify (e.g. network file systems)"),
        )
        .arg(
            Arg::new("supervise")
                .long("supervise")
                .value_name("PATH")
                .value_parser(clap::value_parser!(PathBuf))
                .help(
                    "supervise program to run [env: SVKIT_SUPERVISE] \
                     [default: the supervise next to svscan, else from PATH]",
                ),
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .last(true)
                .num_args(1..)
                .value_parser(clap::value_parser!(OsString))
                .help("Main command: runs in the foreground; its exit ends svscan with its status"),
        )
}

fn duration(value: &str, what: &str) -> std::time::Duration {
    match svscan::parse_duration(value) {
        Ok(d) => d,
        Err(e) => msg::fatal(svscan::PROG, msg::exit::USAGE, what, e),
    }
}

fn main() {
    let signals = svscan::install_signals();
    let m = match cli().try_get_matches() {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            // clap says "error: WHAT" plus tips; keep the suite's format.
            let text = e.to_string();
            let what = text.lines().next().unwrap_or("invalid arguments");
            let what = what.strip_prefix("error: ").unwrap_or(what);
            msg::fatal(
                svscan::PROG,
                msg::exit::USAGE,
                what,
                "usage: svscan [OPTIONS] [SCANDIR] [-- COMMAND [ARGS...]] (see --help)",
            );
        }
    };
    let scandir = m
        .get_one::<PathBuf>("scandir")
        .cloned()
        .unwrap_or_else(svkit::servicedir::svdir_from_env);
    let shutdown_timeout = match m.get_one::<String>("shutdown-timeout") {
        Some(v) => duration(v, "invalid --shutdown-timeout"),
        None => match std::env::var(svscan::ENV_SHUTDOWN_TIMEOUT) {
            Ok(v) if !v.is_empty() => duration(&v, "invalid SVKIT_SHUTDOWN_TIMEOUT"),
            _ => svscan::DEFAULT_SHUTDOWN_TIMEOUT,
        },
    };
    let rescan_interval = m
        .get_one::<String>("rescan-interval")
        .map(|v| duration(v, "invalid --rescan-interval"))
        .filter(|d| !d.is_zero());
    let supervise = m
        .get_one::<PathBuf>("supervise")
        .cloned()
        .unwrap_or_else(svscan::default_supervise);
    let command: Vec<OsString> = m
        .get_many::<OsString>("command")
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    let opts = Options {
        scandir: svscan::absolute(scandir),
        shutdown_timeout,
        supervise,
        rescan_interval,
        no_inotify: m.get_flag("no-inotify"),
        command,
    };
    std::process::exit(svscan::run(opts, signals));
}
