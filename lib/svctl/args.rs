//! Command-line parsing with the semantics of runit's `getopt("w:vV")`:
//! options end at the first non-option word, `--` (or any word starting
//! with `--` that svkit does not know) ends them, `-w5v` means wait "5v"
//! (leading digits, so 5), and `-w` implies `-v`.
//!
//! svkit adds `--help` and `--json`. `--json` is accepted anywhere (also
//! after the command word) so `svctl status --json web` works.

use crate::getopt::{Getopt, Opt};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Default wait (seconds) when neither `-w` nor `$SVWAIT` says otherwise.
pub const DEFAULT_WAIT: u64 = 7;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// Basename of argv[0]; decides the mode and is printed in the usage.
    pub progname: String,
    /// Init-script (LSB) mode: called under a name other than svctl/sv.
    pub lsb: bool,
    pub verbose: bool,
    /// `-w` value, if given (overrides `$SVWAIT`).
    pub wait: Option<u64>,
    pub json: bool,
    pub command: String,
    pub services: Vec<OsString>,
}

/// Why parsing stopped without a runnable command.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    /// `--help`: print the help text on stdout, exit 0.
    Help,
    /// Print `diag` (if any) and the usage on stderr; exit 100 (LSB 2).
    Usage { diag: Option<String>, version: bool },
}

/// runit's `scan_ulong`: the leading decimal digits, anything else ignored.
pub fn leading_number(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u64, |n, c| {
            n.saturating_mul(10).saturating_add(u64::from(c - b'0'))
        })
}

pub fn basename(argv0: &OsStr) -> String {
    let b = argv0.as_bytes();
    let start = b.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    String::from_utf8_lossy(&b[start..]).into_owned()
}

/// Parses `argv` (including argv[0]).
pub fn parse(argv: &[OsString]) -> Result<Args, Box<(Args, Stop)>> {
    let mut a = Args {
        progname: argv.first().map(|s| basename(s)).unwrap_or_default(),
        ..Args::default()
    };
    a.lsb = a.progname != "svctl" && a.progname != "sv";
    let mut rest: Vec<&OsString> = Vec::new();
    // Options.
    let mut g = Getopt::new(argv, "w:vV");
    loop {
        if let Some(long) = g.take_long() {
            match long.as_bytes() {
                b"--help" => return Err(Box::new((a, Stop::Help))),
                b"--json" => a.json = true,
                // Any other long word ends the options like `--` (what
                // runit's getopt does).
                _ => g.finish(),
            }
            continue;
        }
        let Some(opt) = g.next() else { break };
        match opt {
            Ok(Opt::Flag(b'v')) => a.verbose = true,
            Ok(Opt::Arg(b'w', value)) => {
                a.wait = Some(leading_number(value.as_bytes()));
                a.verbose = true;
            }
            // 'V' (getopt only returns letters of the spec).
            Ok(_) => {
                return Err(Box::new((
                    a,
                    Stop::Usage {
                        diag: None,
                        version: true,
                    },
                )))
            }
            Err(complaint) => {
                let diag = format!("{}: {complaint}", a.progname);
                return Err(Box::new((
                    a,
                    Stop::Usage {
                        diag: Some(diag),
                        version: false,
                    },
                )));
            }
        }
    }
    let i = argv.len() - g.rest().len();
    // After the command word svkit also takes `-v`, `-w sec`, `-wsec` and
    // `--json` (sv would take them as service names and fail), so that
    // `svctl down -w 25 web` works.
    let mut k = i;
    while k < argv.len() {
        let arg = argv[k].as_bytes();
        let after_command = !rest.is_empty();
        if arg == b"--json" {
            a.json = true;
        } else if after_command && arg == b"-v" {
            a.verbose = true;
        } else if after_command && arg == b"-w" && k + 1 < argv.len() {
            k += 1;
            a.wait = Some(leading_number(argv[k].as_bytes()));
            a.verbose = true;
        } else if after_command
            && arg.len() > 2
            && arg.starts_with(b"-w")
            && arg[2].is_ascii_digit()
        {
            a.wait = Some(leading_number(&arg[2..]));
            a.verbose = true;
        } else {
            rest.push(&argv[k]);
        }
        k += 1;
    }
    let mut rest = rest.into_iter();
    let usage = Stop::Usage {
        diag: None,
        version: false,
    };
    let Some(command) = rest.next() else {
        return Err(Box::new((a, usage)));
    };
    a.command = command.to_string_lossy().into_owned();
    if a.lsb {
        // The single service is the name we were called by.
        a.services = vec![OsString::from(&a.progname)];
    } else {
        a.services = rest.cloned().collect();
    }
    Ok(a)
}

/// The one-line usage `sv` prints (followed by an empty line).
pub fn usage_line(progname: &str, lsb: bool) -> String {
    if lsb {
        format!("usage: {progname} [-w sec] command\n\n")
    } else {
        format!("usage: {progname} [-v] [-w sec] command service ...\n\n")
    }
}

/// The usage line of a container command (`exec`, `env`, `halt`).
pub fn container_usage(word: &str) -> &'static str {
    match word {
        "exec" => "usage: svctl exec [-u USER[:GROUP]] [--] CMD [ARG ...]\n",
        "env" => "usage: svctl env [--sh|--json]\n",
        _ => "usage: svctl halt [CODE]\n",
    }
}

/// `--help`: agrees with man/svctl.8.
pub fn help_text(progname: &str) -> String {
    format!(
        "usage: {progname} [-v] [-w sec] [--json] command [service ...]

Control and query runit-compatible supervisors (svkit supervise, runit runsv).

Commands (runit sv(8) compatible; the first character decides):
  status            print status lines (no service: every service in $SVDIR)
  up down once      send u, d, o
  pause cont hup alarm interrupt quit 1 2 term kill
                    send p c h a i q 1 2 t k
  exit              send x (supervisor stops the service and exits)
  start stop restart reload shutdown try-restart
                    like up/down/tcu/h/x/tc, then wait (default {DEFAULT_WAIT} s)
  check             wait until the service is in its wanted state
  force-stop force-reload force-restart force-shutdown
                    like stop/try-restart/restart/shutdown, kill on timeout
svkit commands:
  ready             exit 0 iff every service is up and ready (probe; -w waits)
  wait-ready        wait until every service is up and ready (no service: all)
Container commands (svscan as init; not when called as sv):
  exec [-u USER[:GROUP]] [--] CMD [ARG ...]
                    run CMD with the environment captured at boot
                    (-u: as USER, with HOME, USER, LOGNAME set; chpst -u syntax)
  env [--sh|--json] print the captured environment
  halt [CODE]       stop the container: svscan exits with CODE (0-255)

Options:
  -v         wait for the command to take effect (up to $SVWAIT, default {DEFAULT_WAIT} s)
  -w sec     wait up to sec seconds (implies -v)
  -V         print the version and the usage
  --json     status as JSON (with svkit's extra state)
  --help     this text
(-v, -w sec and --json are also accepted after the command word.)

Exit status: 0 success; 1-99 number of services that failed or timed out;
100 usage or fatal error. Called under another name (an init.d symlink):
LSB codes, status 0 running / 3 not running / 4 unknown, usage 2, fatal 151.
exec, env, halt: 100 usage, 111 fatal (no captured environment, svscan not
running, user switch failed); exec: 127 CMD not found, 126 not executable,
else CMD's status.
Environment: SVDIR (default /etc/service), SVWAIT (default {DEFAULT_WAIT}),
SVKIT_RUNDIR (runtime directory, default /run/svkit).
See svctl(8).
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, Box<(Args, Stop)>> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&v)
    }

    #[test]
    fn getopt_like_sv() {
        let a = p(&["/usr/bin/svctl", "-w5v", "up", "a", "b"]).unwrap();
        assert_eq!(a.wait, Some(5));
        assert!(a.verbose && !a.lsb);
        assert_eq!(a.command, "up");
        assert_eq!(a.services, vec![OsString::from("a"), OsString::from("b")]);
        let a = p(&["sv", "-w", "1x", "--", "status", "x"]).unwrap();
        assert_eq!(a.wait, Some(1));
        assert_eq!(a.command, "status");
        // "--foo" ends the options like "--" (what runit's getopt does).
        let a = p(&["sv", "--foo", "status", "x"]).unwrap();
        assert_eq!(a.command, "status");
        // svkit extension: -v / -w after the command word.
        let a = p(&["svctl", "down", "-w", "25", "web", "-v"]).unwrap();
        assert!(a.verbose);
        assert_eq!(a.wait, Some(25));
        assert_eq!(a.services, vec![OsString::from("web")]);
        let a = p(&["svctl", "up", "-w3", "-x"]).unwrap();
        assert_eq!(a.wait, Some(3));
        assert_eq!(a.services, vec![OsString::from("-x")]);
    }

    #[test]
    fn usage_errors() {
        let (_, s) = *p(&["svctl", "-z", "up", "x"]).unwrap_err();
        assert_eq!(
            s,
            Stop::Usage {
                diag: Some("svctl: illegal option -- z".into()),
                version: false
            }
        );
        let (_, s) = *p(&["svctl", "-w"]).unwrap_err();
        assert!(matches!(s, Stop::Usage { diag: Some(d), .. } if d.contains("requires")));
        assert!(matches!(
            p(&["svctl"]).unwrap_err().1,
            Stop::Usage { diag: None, .. }
        ));
        assert_eq!(p(&["svctl", "--help"]).unwrap_err().1, Stop::Help);
    }

    #[test]
    fn lsb_mode_takes_its_name_as_service() {
        let a = p(&["/etc/init.d/web", "-w", "3", "status"]).unwrap();
        assert!(a.lsb);
        assert_eq!(a.services, vec![OsString::from("web")]);
        let a = p(&["svctl", "--json", "status", "web", "--json"]).unwrap();
        assert!(a.json);
        assert_eq!(a.services, vec![OsString::from("web")]);
    }

    #[test]
    fn numbers_are_leading_digits() {
        assert_eq!(leading_number(b"12abc"), 12);
        assert_eq!(leading_number(b"x"), 0);
        assert_eq!(leading_number(b""), 0);
    }
}
