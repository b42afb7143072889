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
             Boot: runtime dir ($SVKIT_RUNDIR, else /run/svkit), environment dump, init scripts,\n\
             services, main command. Shutdown: pre-shutdown hooks, services stop, post-shutdown hooks.\n\
             Exit status, first that applies: svctl halt CODE or RUNDIR/exitcode; COMMAND's status\n\
             (128+signal if killed, 127/126 if it cannot be run); the essential service's status;\n\
             the failed init script's code; after a signal $SVSCAN_EXIT_ON_SIGNAL (0); 111 system\n\
             error, runtime dir unusable or SCANDIR already scanned; 100 usage error.\n\
             More settings (SVSCAN_* variables): see svscan(8) and svkit-container(7).",
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
            Arg::new("init-dir")
                .long("init-dir")
                .value_name("DIRS")
                .value_parser(clap::value_parser!(OsString))
                .help(
                    "Init scripts run before any service, colon list of dirs or files \
                     [env: SVSCAN_INIT_DIRS] [default: /etc/svscan/init.d]",
                ),
        )
        .arg(
            Arg::new("pre-shutdown-dir")
                .long("pre-shutdown-dir")
                .value_name("DIRS")
                .value_parser(clap::value_parser!(OsString))
                .help(
                    "Hooks run before services stop [env: SVSCAN_PRE_SHUTDOWN_DIRS] \
                     [default: /etc/svscan/pre-shutdown.d]",
                ),
        )
        .arg(
            Arg::new("post-shutdown-dir")
                .long("post-shutdown-dir")
                .value_name("DIRS")
                .value_parser(clap::value_parser!(OsString))
                .help(
                    "Hooks run after services are down [env: SVSCAN_POST_SHUTDOWN_DIRS] \
                     [default: /etc/svscan/finish.d]",
                ),
        )
        .arg(
            Arg::new("env-dir")
                .long("env-dir")
                .value_name("DIR")
                .value_parser(clap::value_parser!(PathBuf))
                .help(
                    "Static environment (envdir) under the runtime one \
                     [env: SVSCAN_ENV_DIR] [default: /etc/svscan/env]",
                ),
        )
        .arg(
            Arg::new("wait-ready")
                .long("wait-ready")
                .value_name("SVC,...|all")
                .help("Start COMMAND only once these services are ready [env: SVSCAN_WAIT_READY]"),
        )
        .arg(
            Arg::new("log-prefix")
                .long("log-prefix")
                .action(ArgAction::SetTrue)
                .help(
                    "Copy the output of services without log/ to svscan's stdout/stderr, \
                     prefixed with their names [env: SVSCAN_LOG_PREFIX=1]",
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
    // Parsing in its own stack frame, gone before svscan idles.
    let opts = options();
    std::process::exit(svscan::run(opts, signals));
}

#[inline(never)]
fn options() -> Options {
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
    let life = svscan::Lifecycle::from_env(svscan::LifecycleArgs {
        env_dir: m.get_one::<PathBuf>("env-dir").cloned(),
        init_dirs: m.get_one::<OsString>("init-dir").cloned(),
        pre_shutdown_dirs: m.get_one::<OsString>("pre-shutdown-dir").cloned(),
        post_shutdown_dirs: m.get_one::<OsString>("post-shutdown-dir").cloned(),
        wait_ready: m.get_one::<String>("wait-ready").cloned(),
        log_prefix: m.get_flag("log-prefix"),
    })
    .unwrap_or_else(|e| msg::fatal_plain(svscan::PROG, msg::exit::USAGE, e));
    Options {
        scandir: svscan::absolute(scandir),
        shutdown_timeout,
        supervise,
        rescan_interval,
        no_inotify: m.get_flag("no-inotify"),
        command,
        life,
    }
}
