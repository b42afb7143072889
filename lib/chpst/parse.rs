//! Command lines of chpst and of each argv[0] alias, into a `Plan`.
//! Syntax errors are `Failure::Usage` for the mode at hand (exit 100), so
//! `softlimit -d x` prints softlimit's usage, not chpst's.

use super::envdir::Subdirs;
use super::failure::Failure;
use super::ids::Syntax;
use super::limits::{parse_decimal, Soft};
use super::mode::Mode;
use super::plan::{LockRequest, Plan};
use crate::getopt::{Getopt, Opt};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

#[derive(Debug)]
pub enum Parsed {
    Run(Box<Plan>),
    Help(Mode),
}

pub fn parse(mode: Mode, args: &[OsString]) -> Result<Parsed, Failure> {
    if args.get(1).is_some_and(|a| a == "--help") {
        return Ok(Parsed::Help(mode));
    }
    let plan = match mode {
        Mode::Chpst => chpst(args)?,
        Mode::Setuidgid | Mode::Envuidgid | Mode::Envdir => {
            let (first, prog) = one_then_child(mode, args)?;
            let mut plan = Plan::new(mode);
            match mode {
                Mode::Setuidgid => plan.set_user = Some((first, Syntax::Account)),
                Mode::Envuidgid => plan.env_user = Some((first, Syntax::Account)),
                _ => plan.envdir = Some((first, Subdirs::Fatal)),
            }
            plan.prog = prog;
            plan
        }
        Mode::Pgrphack => {
            let mut plan = Plan::new(mode);
            plan.new_session = true;
            plan.prog = child(mode, &args[args.len().min(1)..])?;
            plan
        }
        Mode::Setlock => setlock(args)?,
        Mode::Softlimit => softlimit(args)?,
    };
    Ok(Parsed::Run(Box::new(plan)))
}

fn usage_because(mode: Mode, why: impl ToString) -> Failure {
    Failure::Usage {
        mode,
        complaint: Some(why.to_string()),
    }
}

fn child(mode: Mode, rest: &[OsString]) -> Result<Vec<OsString>, Failure> {
    if rest.is_empty() {
        return Err(Failure::usage(mode));
    }
    Ok(rest.to_vec())
}

/// `NAME arg child...` (setuidgid, envuidgid, envdir): no options.
fn one_then_child(mode: Mode, args: &[OsString]) -> Result<(OsString, Vec<OsString>), Failure> {
    let first = args.get(1).ok_or_else(|| Failure::usage(mode))?.clone();
    Ok((first, child(mode, &args[2..])?))
}

fn decimal(mode: Mode, v: &OsStr) -> Result<u64, Failure> {
    parse_decimal(v.as_bytes()).ok_or_else(|| Failure::usage(mode))
}

/// `-n`: an optional sign, then decimal digits.
fn nice_increment(v: &OsStr) -> Option<i32> {
    let b = v.as_bytes();
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Anything beyond +-40 already pins the value to the end of the range.
    let n = parse_decimal(digits).unwrap_or(u64::MAX);
    let n = n.min(40) as i32;
    Some(if negative { -n } else { n })
}

fn chpst(args: &[OsString]) -> Result<Plan, Failure> {
    let mode = Mode::Chpst;
    let mut plan = Plan::new(mode);
    let mut opts = Getopt::new(args, "u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vhP012V");
    for opt in opts.by_ref() {
        let opt = opt.map_err(|c| usage_because(mode, c))?;
        match opt {
            Opt::Arg(b'u', v) => plan.set_user = Some((v, Syntax::Extended)),
            Opt::Arg(b'U', v) => plan.env_user = Some((v, Syntax::Extended)),
            Opt::Arg(b'b', v) => plan.argv0 = Some(v),
            Opt::Arg(b'e', v) => plan.envdir = Some((v, Subdirs::Skip)),
            Opt::Arg(b'/', v) => plan.root = Some(v),
            Opt::Arg(b'C', v) => plan.workdir = Some(v),
            Opt::Arg(b'n', v) => {
                plan.nice = nice_increment(&v).ok_or_else(|| Failure::usage(mode))?;
            }
            Opt::Arg(letter @ (b'l' | b'L'), v) => {
                if plan.lock.is_some() {
                    return Err(usage_because(mode, "only one of -l and -L"));
                }
                plan.lock = Some(LockRequest {
                    path: v,
                    wait: letter == b'l',
                });
            }
            Opt::Arg(b'm', v) => plan.limits.set_memory(Soft::Value(decimal(mode, &v)?)),
            Opt::Arg(letter, v) => {
                let value = Some(Soft::Value(decimal(mode, &v)?));
                let l = &mut plan.limits;
                match letter {
                    b'd' => l.data = value,
                    b'o' => l.nofile = value,
                    b'p' => l.nproc = value,
                    b'f' => l.fsize = value,
                    b'c' => l.core = value,
                    b'r' => l.rss = value,
                    // 't': getopt only returns letters of the spec.
                    _ => l.cpu = value,
                }
            }
            Opt::Flag(b'v') => plan.verbose = true,
            Opt::Flag(b'h') => plan.user_env = true,
            Opt::Flag(b'P') => plan.new_session = true,
            Opt::Flag(b'0') => plan.close[0] = true,
            Opt::Flag(b'1') => plan.close[1] = true,
            Opt::Flag(b'2') => plan.close[2] = true,
            // 'V' (getopt only returns letters of the spec).
            Opt::Flag(_) => {
                // The version on stderr, then usage, as runit does.
                let version = concat!("version ", env!("CARGO_PKG_VERSION"), " (svkit)");
                return Err(usage_because(mode, version));
            }
        }
    }
    if plan.user_env && plan.set_user.is_none() {
        return Err(usage_because(mode, "-h needs -u"));
    }
    plan.prog = child(mode, opts.rest())?;
    Ok(plan)
}

fn setlock(args: &[OsString]) -> Result<Plan, Failure> {
    let mode = Mode::Setlock;
    let mut plan = Plan::new(mode);
    // daemontools semantics: wait by default (-N), -n gives up at once.
    // (runit 2.1.2's emulation has these two inverted.)
    let mut wait = true;
    let mut opts = Getopt::new(args, "nNxX");
    for opt in opts.by_ref() {
        match opt.map_err(|c| usage_because(mode, c))? {
            Opt::Flag(b'n') => wait = false,
            Opt::Flag(b'N') => wait = true,
            Opt::Flag(b'x') => plan.quiet_failures = true,
            _ => plan.quiet_failures = false,
        }
    }
    let rest = opts.rest();
    let file = rest.first().ok_or_else(|| Failure::usage(mode))?.clone();
    plan.lock = Some(LockRequest { path: file, wait });
    plan.prog = child(mode, &rest[1..])?;
    Ok(plan)
}

fn softlimit(args: &[OsString]) -> Result<Plan, Failure> {
    let mode = Mode::Softlimit;
    let mut plan = Plan::new(mode);
    let mut opts = Getopt::new(args, "a:c:d:f:l:m:o:p:r:s:t:");
    for opt in opts.by_ref() {
        let Opt::Arg(letter, v) = opt.map_err(|c| usage_because(mode, c))? else {
            continue;
        };
        let value = if v == "=" {
            Soft::Hard
        } else {
            Soft::Value(decimal(mode, &v)?)
        };
        let l = &mut plan.limits;
        match letter {
            b'a' => l.address_space = Some(value),
            b'c' => l.core = Some(value),
            b'd' => l.data = Some(value),
            b'f' => l.fsize = Some(value),
            b'l' => l.memlock = Some(value),
            b'm' => l.set_memory(value),
            b'o' => l.nofile = Some(value),
            b'p' => l.nproc = Some(value),
            b'r' => l.rss = Some(value),
            b's' => l.stack = Some(value),
            // 't': getopt only returns letters of the spec.
            _ => l.cpu = Some(value),
        }
    }
    plan.prog = child(mode, opts.rest())?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    fn plan(mode: Mode, s: &[&str]) -> Plan {
        match parse(mode, &words(s)) {
            Ok(Parsed::Run(p)) => *p,
            other => panic!("{s:?}: {other:?}"),
        }
    }

    fn usage_of(mode: Mode, s: &[&str]) -> Mode {
        match parse(mode, &words(s)) {
            Err(Failure::Usage { mode, .. }) => mode,
            other => panic!("{s:?}: expected usage, got {other:?}"),
        }
    }

    #[test]
    fn chpst_options() {
        let p = plan(
            Mode::Chpst,
            &[
                "chpst", "-vP012", "-u", "www:adm", "-U", ":1:2", "-e", "env", "-/", "/r", "-C",
                "/w", "-n", "-5", "-l", "lk", "-m", "100", "-o4096", "-h", "--", "nginx", "-g",
            ],
        );
        assert!(p.verbose && p.new_session && p.user_env);
        assert_eq!(p.close, [true; 3]);
        assert_eq!(p.set_user, Some(("www:adm".into(), Syntax::Extended)));
        assert_eq!(p.env_user, Some((":1:2".into(), Syntax::Extended)));
        assert_eq!(p.envdir, Some(("env".into(), Subdirs::Skip)));
        assert_eq!(p.root, Some("/r".into()));
        assert_eq!(p.workdir, Some("/w".into()));
        assert_eq!(p.nice, -5);
        assert_eq!(
            p.lock,
            Some(LockRequest {
                path: "lk".into(),
                wait: true
            })
        );
        assert_eq!(p.limits.stack, Some(Soft::Value(100)));
        assert_eq!(p.limits.nofile, Some(Soft::Value(4096)));
        assert_eq!(p.prog, words(&["nginx", "-g"]));
    }

    #[test]
    fn nice_forms() {
        assert_eq!(nice_increment(OsStr::new("-5")), Some(-5));
        assert_eq!(nice_increment(OsStr::new("+2")), Some(2));
        assert_eq!(nice_increment(OsStr::new("3")), Some(3));
        assert_eq!(
            nice_increment(OsStr::new("-99999999999999999999")),
            Some(-40)
        );
        for bad in ["", "-", "+", "x", "1x", "--1"] {
            assert_eq!(nice_increment(OsStr::new(bad)), None, "{bad}");
        }
    }

    #[test]
    fn chpst_usage_errors() {
        for bad in [
            &["chpst"][..],
            &["chpst", "-u"],
            &["chpst", "-x", "true"],
            &["chpst", "-o", "abc", "true"],
            &["chpst", "-o", "", "true"],
            &["chpst", "-o", "=", "true"],
            &["chpst", "-l", "a", "-L", "b", "true"],
            &["chpst", "-h", "true"],
            &["chpst", "-V", "true"],
            &["chpst", "-v"],
        ] {
            assert_eq!(usage_of(Mode::Chpst, bad), Mode::Chpst);
        }
    }

    #[test]
    fn aliases() {
        let p = plan(Mode::Setuidgid, &["setuidgid", "www", "id", "-u"]);
        assert_eq!(p.set_user, Some(("www".into(), Syntax::Account)));
        assert_eq!(p.prog, words(&["id", "-u"]));
        let p = plan(Mode::Envdir, &["envdir", "e", "env"]);
        assert_eq!(p.envdir, Some(("e".into(), Subdirs::Fatal)));
        let p = plan(Mode::Pgrphack, &["pgrphack", "sh"]);
        assert!(p.new_session);
        for (mode, name) in [
            (Mode::Setuidgid, "setuidgid"),
            (Mode::Envuidgid, "envuidgid"),
            (Mode::Envdir, "envdir"),
        ] {
            assert_eq!(usage_of(mode, &[name]), mode);
            assert_eq!(usage_of(mode, &[name, "x"]), mode);
        }
        assert_eq!(usage_of(Mode::Pgrphack, &["pgrphack"]), Mode::Pgrphack);
    }

    #[test]
    fn setlock_waits_by_default_like_daemontools() {
        let p = plan(Mode::Setlock, &["setlock", "f", "prog"]);
        assert!(p.lock.unwrap().wait);
        let p = plan(Mode::Setlock, &["setlock", "-nx", "f", "prog"]);
        assert!(!p.lock.unwrap().wait);
        assert!(p.quiet_failures);
        let p = plan(
            Mode::Setlock,
            &["setlock", "-n", "-N", "-x", "-X", "f", "prog"],
        );
        assert!(p.lock.unwrap().wait);
        assert!(!p.quiet_failures);
        assert_eq!(usage_of(Mode::Setlock, &["setlock", "f"]), Mode::Setlock);
        assert_eq!(
            usage_of(Mode::Setlock, &["setlock", "-y", "f", "p"]),
            Mode::Setlock
        );
    }

    #[test]
    fn softlimit_values_and_its_own_usage() {
        let p = plan(
            Mode::Softlimit,
            &["softlimit", "-o", "=", "-m", "1000", "-s20", "x"],
        );
        assert_eq!(p.limits.nofile, Some(Soft::Hard));
        assert_eq!(p.limits.data, Some(Soft::Value(1000)));
        assert_eq!(p.limits.stack, Some(Soft::Value(20)));
        assert_eq!(p.limits.address_space, Some(Soft::Value(1000)));
        assert_eq!(
            usage_of(Mode::Softlimit, &["softlimit", "-d", "x", "p"]),
            Mode::Softlimit
        );
        assert_eq!(
            usage_of(Mode::Softlimit, &["softlimit", "-o", "1"]),
            Mode::Softlimit
        );
    }

    #[test]
    fn help_is_only_the_first_word() {
        assert!(matches!(
            parse(Mode::Chpst, &words(&["chpst", "--help"])),
            Ok(Parsed::Help(Mode::Chpst))
        ));
        let p = plan(Mode::Chpst, &["chpst", "prog", "--help"]);
        assert_eq!(p.prog, words(&["prog", "--help"]));
    }
}
