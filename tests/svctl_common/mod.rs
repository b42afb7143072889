//! Helpers for the svctl tests: service directories, a supervisor guard,
//! running `sv`/`svctl` and normalising their output.
#![allow(dead_code)]

use super::common::{bin, wait_until, write_script, Guard};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use svkit::status::Status;

pub const LONG: Duration = Duration::from_secs(10);

/// Creates `root/name` with `run` = `#!/bin/sh\n{body}`.
pub fn service(root: &Path, name: &str, body: &str) -> PathBuf {
    let dir = root.join(name);
    write_script(dir.join("run"), &format!("#!/bin/sh\n{body}\n"));
    dir
}

pub fn read_status(dir: &Path) -> Option<Status> {
    Status::decode(&std::fs::read(dir.join("supervise/status")).ok()?)
}

pub fn alive(dir: &Path) -> bool {
    svkit::svctl::probe::alive(dir).is_ok()
}

/// Starts `supervisor` (e.g. "runsv", or our supervise) on `dir` and waits
/// until it listens and (unless `dir/down` exists) the service runs.
pub fn supervise_with(supervisor: &Path, dir: &Path) -> Guard {
    let g = Guard::spawn(
        Command::new(supervisor)
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let want_up = !dir.join("down").exists();
    wait_until(LONG, "supervisor listening", || {
        alive(dir)
            && read_status(dir).is_some_and(|s| !want_up || (s.pid != 0 && s.state_byte == 1))
    });
    if dir.join("log").is_dir() {
        wait_until(LONG, "log supervisor listening", || {
            alive(&dir.join("log")) && read_status(&dir.join("log")).is_some_and(|s| s.pid != 0)
        });
    }
    g
}

pub fn runsv(dir: &Path) -> Guard {
    supervise_with(Path::new("/usr/bin/runsv"), dir)
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `program args` with `SVDIR=svdir` in `cwd`.
pub fn run_in(program: &Path, args: &[&str], svdir: &Path, cwd: &Path) -> Output {
    let o = Command::new(program)
        .args(args)
        .env("SVDIR", svdir)
        .env_remove("SVWAIT")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    Output {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

pub fn svctl(args: &[&str], svdir: &Path) -> Output {
    run_in(&bin("svctl"), args, svdir, svdir)
}

pub fn sv(args: &[&str], svdir: &Path) -> Output {
    run_in(Path::new("/usr/bin/sv"), args, svdir, svdir)
}

/// Replaces every run of digits with `N`: pids and seconds legitimately
/// differ between two supervisors and two moments.
pub fn norm(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

/// The pid in an `... (pid N) ...` line.
pub fn pid_in(line: &str) -> Option<u32> {
    let rest = &line[line.find("(pid ")? + 5..];
    rest[..rest.find(')')?].parse().ok()
}

/// Waits until the current second is past the status stamp's second, so
/// that runit's whole-second wait predicates cannot pass on a stale
/// status (runit quirk Q11) and make `sv`'s output flaky.
pub fn wait_next_second(dir: &Path) {
    wait_until(LONG, "a new second", || {
        let now = svkit::tai64n::Tai64n::now().label;
        read_status(dir).is_some_and(|s| s.stamp.label < now)
    });
}

/// `dir/name -> target`.
pub fn link(target: &Path, dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    symlink(target, &p).unwrap();
    p
}

/// svkit's supervise on a service directory. It starts services in their
/// own sessions, so besides killing supervise (its process group), drop
/// also kills the processes its status files name.
pub struct Ours {
    pub guard: Option<Guard>,
    pub dir: PathBuf,
}

pub fn ours(dir: &Path) -> Ours {
    Ours {
        guard: Some(supervise_with(&bin("supervise"), dir)),
        dir: dir.to_path_buf(),
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        drop(self.guard.take());
        for d in [self.dir.clone(), self.dir.join("log")] {
            if let Some(s) = read_status(&d) {
                if s.pid != 0 {
                    // The pid comes from the status file of a supervisor this
                    // test started; the service leads its own group.
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(s.pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(s.pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}

pub fn ext_status(dir: &Path) -> Option<svkit::extstatus::ExtStatus> {
    svkit::extstatus::ExtStatus::decode(
        &std::fs::read_to_string(dir.join("supervise/svkit-status")).ok()?,
    )
}
