//! `svctl exec [-u USER[:GROUP]] [--] CMD [ARG...]`: run CMD with the
//! environment svscan captured at boot (`RUNDIR/env/`), so that
//! `docker exec c svctl exec -- rails console` sees what the services see.
//!
//! The dump is read before any privilege drop (it is 0600 for svscan's
//! user unless a group was granted). User lookup and the checked drop are
//! chpst's (`-u` syntax, /etc/passwd parsed without NSS); with `-u` HOME,
//! USER and LOGNAME describe the new user. CMD is looked up in the
//! captured `PATH` (else svctl's own), as the container would.

use crate::chpst::accounts::AccountFiles;
use crate::chpst::failure::Failure;
use crate::chpst::ids::{self, Syntax};
use crate::chpst::privs;
use crate::container::{envdump, rundir};
use crate::errstr::{io_error_str, runit_error_str};
use crate::getopt::{Complaint, Getopt, Opt};
use crate::spawn::{exec_in_place, Envp, Search};

use nix::errno::Errno;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

#[derive(Debug, PartialEq, Eq)]
pub struct ExecArgs {
    pub user: Option<OsString>,
    pub command: Vec<OsString>,
}

/// A usage complaint about the words after `exec`.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecUsage {
    Option(Complaint),
    NoCommand,
}

impl fmt::Display for ExecUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecUsage::Option(c) => write!(f, "exec: {c}"),
            ExecUsage::NoCommand => f.write_str("exec: no command given"),
        }
    }
}

impl std::error::Error for ExecUsage {}

/// Parses the words after `exec`.
pub fn parse(args: &[OsString]) -> Result<ExecArgs, ExecUsage> {
    let mut user = None;
    let mut g = Getopt::from(args, 0, "u:");
    for opt in g.by_ref() {
        match opt.map_err(ExecUsage::Option)? {
            Opt::Arg(_, v) => user = Some(v),
            // Only `u` is in the spec, and it takes an argument.
            Opt::Flag(_) => {}
        }
    }
    let command = g.rest();
    if command.is_empty() {
        return Err(ExecUsage::NoCommand);
    }
    Ok(ExecArgs {
        user,
        command: command.to_vec(),
    })
}

/// The captured environment could not be read.
#[derive(Debug)]
pub struct CaptureError {
    /// The runtime directory looked in.
    pub rundir: PathBuf,
    pub error: std::io::Error,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unable to read the captured environment {}: {} (",
            envdump::env_dir(&self.rundir).display(),
            io_error_str(&self.error),
        )?;
        if self.error.kind() == std::io::ErrorKind::PermissionDenied {
            f.write_str(
                "only svscan's user can read it, unless svscan was given a group \
                 with SVSCAN_ENV_GROUP",
            )?;
        } else {
            write!(
                f,
                "svscan writes it at boot; is svscan running with {}={}?",
                rundir::ENV_VAR,
                self.rundir.display()
            )?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for CaptureError {}

/// Why CMD did not run; printed after `svctl: fatal: `.
#[derive(Debug)]
pub enum ExecFailed {
    Capture(CaptureError),
    /// The `-u` user could not be resolved or switched to.
    User(Failure),
    /// CMD could not be executed.
    Run {
        prog: OsString,
        errno: Errno,
    },
}

impl ExecFailed {
    /// 127 for a CMD not found, 126 for one not executable, else 111.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecFailed::Run { errno, .. } => crate::exit::for_exec_error(*errno),
            _ => crate::exit::SYSTEM,
        }
    }
}

impl fmt::Display for ExecFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecFailed::Capture(e) => e.fmt(f),
            ExecFailed::User(Failure::Fatal(text)) => f.write_str(text),
            ExecFailed::User(other) => write!(f, "{other:?}"),
            ExecFailed::Run { prog, errno } => write!(
                f,
                "unable to run {}: {}",
                prog.to_string_lossy(),
                runit_error_str(*errno)
            ),
        }
    }
}

impl std::error::Error for ExecFailed {}

/// The captured environment, or a fatal error naming what to check.
pub fn load_captured() -> Result<envdump::EnvMap, CaptureError> {
    let dir = rundir::resolve();
    envdump::load(&dir).map_err(|error| CaptureError { rundir: dir, error })
}

/// Runs the command; returns only on failure.
pub fn run(args: &ExecArgs) -> ExecFailed {
    let mut env = match load_captured() {
        Ok(env) => env,
        Err(e) => return ExecFailed::Capture(e),
    };
    if let Some(spec) = &args.user {
        if let Err(e) = switch_user(spec, &mut env) {
            return ExecFailed::User(e);
        }
    }
    let argv: Vec<CString> = args
        .command
        .iter()
        .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
        .collect();
    let envp = envdump::to_envp(&env);
    let path = env
        .get(OsStr::new("PATH"))
        .cloned()
        .or_else(|| std::env::var_os("PATH"));
    let prog = &args.command[0];
    let errno = exec_in_place(&Search::new(prog, path.as_deref()), &argv, &Envp::new(envp));
    ExecFailed::Run {
        prog: prog.clone(),
        errno,
    }
}

/// Resolves `spec` (chpst's `-u` syntax), sets HOME, USER and LOGNAME in
/// `env`, and drops privileges for good.
fn switch_user(spec: &OsStr, env: &mut envdump::EnvMap) -> Result<(), Failure> {
    let files = AccountFiles::system();
    let target = ids::resolve(spec, Syntax::Extended, &files)?;
    // `:uid:gid` names no account; the passwd entry of that uid, if any,
    // still says who it is.
    let user = target
        .user
        .clone()
        .or_else(|| files.user_by_uid(target.uid).ok().flatten());
    let (name, home) = match user {
        Some(u) => (
            OsString::from_vec(u.name),
            if u.home.is_empty() {
                OsString::from("/")
            } else {
                OsString::from_vec(u.home)
            },
        ),
        None => (OsString::from(target.uid.to_string()), OsString::from("/")),
    };
    env.insert("HOME".into(), home);
    env.insert("USER".into(), name.clone());
    env.insert("LOGNAME".into(), name);
    privs::drop_to(&target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<ExecArgs, ExecUsage> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn parsing() {
        let a = p(&["-u", "nobody", "--", "env", "-i"]).unwrap();
        assert_eq!(a.user, Some("nobody".into()));
        assert_eq!(a.command, vec![OsString::from("env"), "-i".into()]);
        let a = p(&["-u:1:2", "id"]).unwrap();
        assert_eq!(a.user, Some(":1:2".into()));
        let a = p(&["ls", "-u"]).unwrap();
        assert_eq!((a.user, a.command.len()), (None, 2));
        let a = p(&["--", "-weird"]).unwrap();
        assert_eq!(a.command, vec![OsString::from("-weird")]);
        assert!(p(&[]).is_err());
        assert!(p(&["--"]).is_err());
        assert_eq!(
            p(&["-u"]).unwrap_err().to_string(),
            "exec: option requires an argument -- u"
        );
        assert_eq!(
            p(&["-x", "ls"]).unwrap_err().to_string(),
            "exec: illegal option -- x"
        );
        assert_eq!(p(&["--"]).unwrap_err(), ExecUsage::NoCommand);
    }
}
