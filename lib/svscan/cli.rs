//! svscan's command line, parsed with clap (svscan has no legacy syntax
//! to keep), then resolved against the environment into [`Options`].
//! The help text is svscan(8)'s OPTIONS section in brief; keep the two in
//! step.
//!
//! The parser is built, used and dropped in one call made before the
//! event loop starts, so none of its heap stays with the idle svscan.

use super::options::{
    absolute, parse_duration, supervise_from_env, Lifecycle, LifecycleArgs, Options,
    DEFAULT_SHUTDOWN_TIMEOUT, ENV_SHUTDOWN_TIMEOUT,
};
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// The one-line usage shown after a usage error.
pub const USAGE: &str = "usage: svscan [OPTIONS] [SCANDIR] [-- COMMAND [ARGS...]] (see --help)";

const AFTER_HELP: &str = "\
SCANDIR defaults to $SVDIR, else /etc/service.
Signals: TERM, INT, QUIT, PWR = orderly shutdown (a second one skips to the kill);
HUP, ALRM = rescan; TTIN, TTOU = ignored.
Boot: runtime dir ($SVKIT_RUNDIR, else /run/svkit), environment dump, init scripts,
services, main command. Shutdown: pre-shutdown hooks, services stop, post-shutdown hooks.
Exit status, first that applies: svctl halt CODE or RUNDIR/exitcode; COMMAND's status
(128+signal if killed, 127/126 if it cannot be run); the essential service's status;
the failed init script's code; after a signal $SVSCAN_EXIT_ON_SIGNAL (0); 111 system
error, runtime dir unusable or SCANDIR already scanned; 100 usage error.
More settings (SVSCAN_* variables): see svscan(8) and svkit-container(7).";

/// svscan's arguments and options, in --help order.
pub fn command() -> Command {
    let value = |name: &'static str, meta: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name(meta)
            .action(ArgAction::Set)
            .help(help)
    };
    let flag = |name: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    Command::new("svscan")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Watch a scan directory and keep one supervise per service; a correct PID 1")
        .override_usage("svscan [OPTIONS] [SCANDIR] [-- COMMAND [ARGS...]]")
        .after_help(AFTER_HELP)
        .arg(
            Arg::new("scandir")
                .value_name("SCANDIR")
                .value_parser(value_parser!(PathBuf))
                .help("Directory of service directories [default: $SVDIR, else /etc/service]"),
        )
        .arg(
            Arg::new("command")
                .value_name("COMMAND")
                .num_args(1..)
                .last(true)
                .value_parser(value_parser!(OsString))
                .help("Main command: runs in the foreground; its exit ends svscan with its status"),
        )
        .arg(
            value(
                "shutdown-timeout",
                "SECONDS",
                "Bound on the whole shutdown, in seconds (2.5) or ms (500ms) \
                 [env: SVKIT_SHUTDOWN_TIMEOUT] [default: 8]",
            )
            .short('t'),
        )
        .arg(value(
            "rescan-interval",
            "SECONDS",
            "Also rescan the whole directory this often (default: never; 5 without inotify)",
        ))
        .arg(flag(
            "no-inotify",
            "Rescan periodically instead of using inotify (e.g. network file systems)",
        ))
        .arg(
            value(
                "supervise",
                "PATH",
                "supervise program to execute for each service, as PATH NAME \
                 [env: SVKIT_SUPERVISE] [default: the supervise next to svscan]",
            )
            .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            value(
                "init-dir",
                "DIRS",
                "Init scripts run before any service, colon list of dirs or files \
                 [env: SVSCAN_INIT_DIRS] [default: /etc/svscan/init.d]",
            )
            .value_parser(value_parser!(OsString)),
        )
        .arg(
            value(
                "pre-shutdown-dir",
                "DIRS",
                "Hooks run before services stop [env: SVSCAN_PRE_SHUTDOWN_DIRS] \
                 [default: /etc/svscan/pre-shutdown.d]",
            )
            .value_parser(value_parser!(OsString)),
        )
        .arg(
            value(
                "post-shutdown-dir",
                "DIRS",
                "Hooks run after services are down [env: SVSCAN_POST_SHUTDOWN_DIRS] \
                 [default: /etc/svscan/finish.d]",
            )
            .value_parser(value_parser!(OsString)),
        )
        .arg(
            value(
                "env-dir",
                "DIR",
                "Static environment (envdir) under the runtime one \
                 [env: SVSCAN_ENV_DIR] [default: /etc/svscan/env]",
            )
            .value_parser(value_parser!(PathBuf)),
        )
        .arg(value(
            "wait-ready",
            "SVC,...|all",
            "Start COMMAND only once these services are ready [env: SVSCAN_WAIT_READY]",
        ))
        .arg(flag(
            "log-prefix",
            "Copy the output of services without log/ to svscan's stdout/stderr, \
             prefixed with their names [env: SVSCAN_LOG_PREFIX=1]",
        ))
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run svscan with these options.
    Run(Box<Options>),
    /// --help or --version: print this (to stdout) and exit 0.
    Print(clap::Error),
}

/// A bad command line or environment variable: `what: why` (the
/// program exits with the usage code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub what: String,
    pub why: Option<String>,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.why {
            Some(why) => write!(f, "{}: {why}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

impl std::error::Error for UsageError {}

/// clap's message for `e`, as one line without its `error: ` label.
fn clap_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

fn duration(value: &str, what: &str) -> Result<std::time::Duration, UsageError> {
    parse_duration(value).map_err(|e| UsageError {
        what: what.to_string(),
        why: Some(e),
    })
}

/// Parses svscan's arguments (`argv[0]` included) and resolves them
/// against the environment.
pub fn parse(argv: impl IntoIterator<Item = OsString>) -> Result<Parsed, UsageError> {
    let matches = match command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Ok(Parsed::Print(e)),
                _ => Err(UsageError {
                    what: clap_line(&e),
                    why: Some(USAGE.to_string()),
                }),
            };
        }
    };
    resolve(&matches).map(|o| Parsed::Run(Box::new(o)))
}

fn resolve(m: &ArgMatches) -> Result<Options, UsageError> {
    let text = |name: &str| m.get_one::<String>(name).cloned();
    let os = |name: &str| m.get_one::<OsString>(name).cloned();
    let path = |name: &str| m.get_one::<PathBuf>(name).cloned();
    let scandir = path("scandir").unwrap_or_else(crate::servicedir::svdir_from_env);
    let shutdown_timeout = match text("shutdown-timeout") {
        Some(v) => duration(&v, "invalid --shutdown-timeout")?,
        None => match std::env::var(ENV_SHUTDOWN_TIMEOUT) {
            Ok(v) if !v.is_empty() => duration(&v, "invalid SVKIT_SHUTDOWN_TIMEOUT")?,
            _ => DEFAULT_SHUTDOWN_TIMEOUT,
        },
    };
    let rescan_interval = match text("rescan-interval") {
        Some(v) => Some(duration(&v, "invalid --rescan-interval")?).filter(|d| !d.is_zero()),
        None => None,
    };
    let args = LifecycleArgs {
        env_dir: path("env-dir"),
        init_dirs: os("init-dir"),
        pre_shutdown_dirs: os("pre-shutdown-dir"),
        post_shutdown_dirs: os("post-shutdown-dir"),
        wait_ready: text("wait-ready"),
        log_prefix: m.get_flag("log-prefix"),
    };
    let life = Lifecycle::from_env(args).map_err(|what| UsageError { what, why: None })?;
    Ok(Options {
        scandir: absolute(scandir),
        shutdown_timeout,
        supervise: path("supervise").or_else(supervise_from_env),
        rescan_interval,
        no_inotify: m.get_flag("no-inotify"),
        command: m
            .get_many::<OsString>("command")
            .map(|c| c.cloned().collect())
            .unwrap_or_default(),
        life,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn matches(args: &[&str]) -> Result<ArgMatches, String> {
        let argv = std::iter::once("svscan").chain(args.iter().copied());
        command()
            .try_get_matches_from(argv)
            .map_err(|e| clap_line(&e))
    }

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn options_and_positionals() {
        let m = matches(&[
            "-t5",
            "/s",
            "--no-inotify",
            "--wait-ready=a,b",
            "--init-dir",
            "",
            "--",
            "cmd",
            "-x",
        ])
        .unwrap();
        let o = resolve(&m).unwrap();
        assert_eq!(o.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(o.scandir, PathBuf::from("/s"));
        assert!(o.no_inotify);
        assert_eq!(
            o.life.wait_ready,
            super::super::options::WaitReady::Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(o.life.init_dirs, OsString::new());
        assert_eq!(o.command, ["cmd", "-x"]);
        assert!(matches(&["--", "cmd"]).is_ok());
    }

    #[test]
    fn help_and_version_are_printed_not_errors() {
        let argv = |a: &str| ["svscan", a].map(OsString::from);
        assert!(matches!(parse(argv("--help")), Ok(Parsed::Print(_))));
        assert!(matches!(parse(argv("-V")), Ok(Parsed::Print(_))));
        let help = command().render_help().to_string();
        assert!(help.contains("-t, --shutdown-timeout <SECONDS>"), "{help}");
        assert!(help.contains("--log-prefix"), "{help}");
        assert!(
            help.contains("More settings (SVSCAN_* variables)"),
            "{help}"
        );
    }

    #[test]
    fn usage_errors_are_one_line() {
        let err = |args: &[&str]| matches(args).unwrap_err();
        assert_eq!(err(&["--foo=1"]), "unexpected argument '--foo' found");
        assert_eq!(err(&["a", "b"]), "unexpected argument 'b' found");
        assert_eq!(
            err(&["--log-prefix=1"]),
            "unexpected value '1' for '--log-prefix' found; no more were expected"
        );
        assert!(err(&["--supervise="]).starts_with("a value is required for '--supervise <PATH>'"));
        assert!(err(&[""]).starts_with("a value is required for '[SCANDIR]'"));
        let bad = resolve(&matches(&["-t", "soon"]).unwrap()).unwrap_err();
        assert_eq!(bad.what, "invalid --shutdown-timeout");
    }

    #[test]
    fn help_lists_the_options_of_the_man_page() {
        let man = include_str!("../../man/svscan.8");
        let section = |name: &str| {
            let start = man.find(&format!(".SH {name}\n")).unwrap();
            let rest = &man[start + 4..];
            &rest[..rest.find("\n.SH ").unwrap_or(rest.len())]
        };
        let options = section("OPTIONS");
        let mut in_help = Vec::new();
        for arg in command().get_arguments() {
            if let Some(long) = arg.get_long() {
                let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(options.contains(&roff), "--{long} is not in svscan(8)");
                in_help.push(long.to_string());
            }
        }
        assert!(in_help.len() >= 10, "{in_help:?}");
        // And the other way round: every option svscan(8) lists is known.
        for line in options.lines().filter(|l| l.starts_with(".B")) {
            let Some(at) = line.find("\\-\\-") else {
                continue;
            };
            let name: String = line[at + 4..]
                .replace("\\-", "-")
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(
                in_help.contains(&name) || name == "help" || name == "version",
                "svscan(8) lists --{name}, --help does not"
            );
        }
    }
}
