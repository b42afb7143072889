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
use crate::spawn::{exec_in_place, Envp, Search};

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

#[derive(Debug, PartialEq, Eq)]
pub struct ExecArgs {
    pub user: Option<OsString>,
    pub command: Vec<OsString>,
}

/// Parses the words after `exec`; `Err` is a usage complaint.
pub fn parse(args: &[OsString]) -> Result<ExecArgs, String> {
    let mut user = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_bytes();
        if a == b"--" {
            i += 1;
            break;
        }
        if a == b"-u" {
            let v = args
                .get(i + 1)
                .ok_or("exec: option requires an argument -- u")?;
            user = Some(v.clone());
            i += 2;
        } else if let Some(v) = a.strip_prefix(b"-u") {
            user = Some(OsString::from_vec(v.to_vec()));
            i += 1;
        } else if a.len() > 1 && a[0] == b'-' {
            return Err(format!(
                "exec: illegal option: {}",
                args[i].to_string_lossy()
            ));
        } else {
            break;
        }
    }
    if i >= args.len() {
        return Err("exec: no command given".into());
    }
    Ok(ExecArgs {
        user,
        command: args[i..].to_vec(),
    })
}

/// A failure before CMD runs: message (after `svctl: fatal: `), exit code.
pub struct ExecError(pub String, pub i32);

fn fatal(msg: String) -> ExecError {
    ExecError(msg, crate::exit::SYSTEM)
}

/// The captured environment, or a fatal error naming what to check.
pub fn load_captured() -> Result<envdump::EnvMap, String> {
    let dir = rundir::resolve();
    envdump::load(&dir).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
            "only svscan's user can read it, unless svscan was given a group \
             with SVSCAN_ENV_GROUP"
                .to_string()
        } else {
            format!(
                "svscan writes it at boot; is svscan running with {}={}?",
                rundir::ENV_VAR,
                dir.display()
            )
        };
        format!(
            "unable to read the captured environment {}: {} ({hint})",
            envdump::env_dir(&dir).display(),
            io_error_str(&e),
        )
    })
}

/// Runs the command; returns only on failure.
pub fn run(args: &ExecArgs) -> ExecError {
    let mut env = match load_captured() {
        Ok(env) => env,
        Err(e) => return fatal(e),
    };
    if let Some(spec) = &args.user {
        if let Err(e) = switch_user(spec, &mut env) {
            return e;
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
    let code = crate::exit::for_exec_error(errno);
    ExecError(
        format!(
            "unable to run {}: {}",
            prog.to_string_lossy(),
            runit_error_str(errno)
        ),
        code,
    )
}

/// Resolves `spec` (chpst's `-u` syntax), sets HOME, USER and LOGNAME in
/// `env`, and drops privileges for good.
fn switch_user(spec: &OsStr, env: &mut envdump::EnvMap) -> Result<(), ExecError> {
    let files = AccountFiles::system();
    let target = ids::resolve(spec, Syntax::Extended, &files).map_err(failure)?;
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
    privs::drop_to(&target).map_err(failure)
}

fn failure(f: Failure) -> ExecError {
    match f {
        Failure::Fatal(t) => fatal(t),
        other => fatal(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<ExecArgs, String> {
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
        assert!(p(&["-u"]).unwrap_err().contains("requires"));
        assert!(p(&["-x", "ls"]).unwrap_err().contains("illegal"));
    }
}
