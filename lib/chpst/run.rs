//! Carrying out a `Plan` in runit's order of operations:
//!
//! 1 setsid (-P) → 2 envdir (-e, relative to the original cwd) →
//! 3 chroot (-/) → 4 chdir (-C) → 5 nice (-n) → 6 $UID/$GID (-U) →
//! 7 user switch (-u, with HOME/USER/LOGNAME for -h) → 8 lock (-l/-L, as
//! the new user inside the new root) → 9 close 0/1/2 → 10 soft limits →
//! 11 exec, looking prog up in the ORIGINAL `PATH`.
//!
//! User and group names are looked up after the chroot, so they come from
//! the new root's /etc files.

use super::accounts::AccountFiles;
use super::environ::EnvEdits;
use super::failure::Failure;
use super::ids::{resolve, Target};
use super::plan::Plan;
use super::{envdir, lock, privs};
use crate::spawn::{exec_in_place, Envp, Search};
use nix::errno::Errno;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// Only returns when something failed (on success chpst has become prog).
pub fn execute(plan: &Plan) -> Failure {
    match prepare(plan) {
        Ok(env) => exec(plan, &env),
        Err(f) => f,
    }
}

fn prepare(plan: &Plan) -> Result<EnvEdits, Failure> {
    let mut env = EnvEdits::default();
    if plan.new_session {
        // Fails only for a process group leader, which keeps its session;
        // runit ignores that too.
        let _ = rustix::process::setsid();
    }
    if let Some((dir, subdirs)) = &plan.envdir {
        envdir::apply(dir, *subdirs, plan.verbose, &mut env)?;
    }
    if let Some(root) = &plan.root {
        let shown = root.to_string_lossy();
        rustix::process::chdir(root.as_os_str())
            .map_err(|e| Failure::sys(format!("unable to change directory: {shown}"), e))?;
        rustix::process::chroot(".")
            .map_err(|e| Failure::sys("unable to change root directory", e))?;
    }
    if let Some(dir) = &plan.workdir {
        let shown = dir.to_string_lossy();
        rustix::process::chdir(dir.as_os_str())
            .map_err(|e| Failure::sys(format!("unable to change directory: {shown}"), e))?;
    }
    if plan.nice != 0 {
        rustix::process::nice(plan.nice)
            .map_err(|e| Failure::sys("unable to set nice level", e))?;
    }
    let files = AccountFiles::system();
    if let Some((spec, syntax)) = &plan.env_user {
        let t = resolve(spec, *syntax, &files)?;
        env.set(b"GID", t.gid().to_string().as_bytes());
        env.set(b"UID", t.uid.to_string().as_bytes());
    }
    if let Some((spec, syntax)) = &plan.set_user {
        let t = resolve(spec, *syntax, &files)?;
        if plan.user_env {
            set_user_env(&t, &files, &mut env)?;
        }
        privs::drop_to(&t)?;
    }
    if let Some(req) = &plan.lock {
        if let Err(f) = lock::take(&req.path, req.wait) {
            return Err(if plan.quiet_failures {
                Failure::Quiet
            } else {
                f
            });
        }
    }
    let names = ["stdin", "stdout", "stderr"];
    for (fd, name) in names.iter().enumerate() {
        if plan.close[fd] {
            match nix::unistd::close(fd as i32) {
                // Already closed is what was asked for.
                Ok(()) | Err(Errno::EBADF) => {}
                Err(e) => return Err(Failure::sys(format!("unable to close {name}"), e)),
            }
        }
    }
    plan.limits.apply()?;
    Ok(env)
}

/// `-h`: the environment a login as the target user would have. A numeric
/// `-u :uid:gid` needs a passwd entry for the uid to know HOME.
fn set_user_env(t: &Target, files: &AccountFiles, env: &mut EnvEdits) -> Result<(), Failure> {
    let user = match &t.user {
        Some(u) => u.clone(),
        None => files
            .user_by_uid(t.uid)
            .map_err(|e| Failure::io(format!("unable to read {}", files.passwd.display()), &e))?
            .ok_or_else(|| Failure::fatal("no passwd entry for uid (needed by -h)", t.uid))?,
    };
    let home: &[u8] = if user.home.is_empty() {
        b"/"
    } else {
        &user.home
    };
    env.set(b"HOME", home);
    env.set(b"USER", &user.name);
    env.set(b"LOGNAME", &user.name);
    Ok(())
}

fn exec(plan: &Plan, edits: &EnvEdits) -> Failure {
    let prog = &plan.prog[0];
    let mut argv: Vec<CString> = Vec::with_capacity(plan.prog.len());
    for (i, word) in plan.prog.iter().enumerate() {
        let word = match (i, &plan.argv0) {
            (0, Some(a)) => a,
            _ => word,
        };
        // Words come from our own argv, which cannot hold a NUL.
        argv.push(CString::new(word.as_bytes()).unwrap_or_default());
    }
    let env = edits.build(std::env::vars_os());
    let path = std::env::var_os("PATH");
    let errno = exec_in_place(&Search::new(prog, path.as_deref()), &argv, &Envp::new(env));
    if plan.quiet_failures {
        return Failure::Quiet;
    }
    Failure::sys(format!("unable to run: {}", prog.to_string_lossy()), errno)
}
