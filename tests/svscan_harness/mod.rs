//! svscan test harness: svscan as PID 1 of a private PID namespace
//! (`unshare --pid --fork --mount-proc --kill-child`), the `docker stop`
//! analogue (TERM to the namespace's PID 1 from outside), the `docker exec`
//! analogue (nsenter), and views of the namespace's processes from the host.
#![allow(dead_code)]

use crate::common::{bin, wait_for, wait_until, write_script, Guard, TempDir};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const LONG: Duration = Duration::from_secs(10);

/// The 1000-service test takes this exclusively, every other test shared:
/// a thousand processes starting at once would turn the other tests'
/// timing bounds into load tests.
pub static HEAVY: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    HEAVY.read().unwrap_or_else(|e| e.into_inner())
}

pub fn exclusive() -> std::sync::RwLockWriteGuard<'static, ()> {
    HEAVY.write().unwrap_or_else(|e| e.into_inner())
}

/// A scratch area: `scan/` (the scan directory), `trace/` (files the
/// services write, outside the scan directory), `stderr` (svscan's).
pub struct Area {
    pub tmp: TempDir,
}

impl Area {
    pub fn new(tag: &str) -> Self {
        let tmp = TempDir::new(tag);
        fs::create_dir_all(tmp.join("scan")).unwrap();
        fs::create_dir_all(tmp.join("trace")).unwrap();
        Area { tmp }
    }
    pub fn scan(&self) -> PathBuf {
        self.tmp.join("scan")
    }
    pub fn trace(&self, name: &str) -> PathBuf {
        self.tmp.join("trace").join(name)
    }
    pub fn read_trace(&self, name: &str) -> String {
        fs::read_to_string(self.trace(name)).unwrap_or_default()
    }
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.tmp.join("stderr")).unwrap_or_default()
    }
    /// The runtime directory svscan gets (`SVKIT_RUNDIR`): one per area,
    /// so parallel tests never share `/run/svkit`.
    pub fn rundir(&self) -> PathBuf {
        self.tmp.join("run")
    }

    /// A service directory `scan/NAME` with `run` = `body` (a /bin/sh
    /// script). Built aside and renamed in, as a careful admin would.
    pub fn service(&self, name: &str, body: &str) -> PathBuf {
        let staging = self.tmp.join(format!("staging-{name}"));
        write_script(staging.join("run"), &format!("#!/bin/sh\n{body}\n"));
        let dest = self.scan().join(name);
        fs::rename(&staging, &dest).unwrap();
        dest
    }

    /// A service that records its pid in `trace/NAME.pid` and sleeps.
    pub fn sleeper(&self, name: &str) -> PathBuf {
        let pidfile = self.trace(&format!("{name}.pid"));
        self.service(
            name,
            &format!("echo $$ >> {}\nexec sleep 1000", pidfile.display()),
        )
    }

    /// Pids the service `name` recorded (one line per start).
    pub fn starts(&self, name: &str) -> Vec<u32> {
        self.read_trace(&format!("{name}.pid"))
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Waits for the first start of `name`; returns its pid.
    pub fn wait_started(&self, name: &str) -> u32 {
        wait_for(LONG, || self.starts(name).first().copied())
            .unwrap_or_else(|| panic!("{name} never started; svscan stderr:\n{}", self.stderr()))
    }

    fn stderr_file(&self) -> fs::File {
        fs::File::create(self.tmp.join("stderr")).unwrap()
    }

    /// svscan as PID 1 of a new PID namespace.
    pub fn start_pid1(&self, args: &[&str]) -> Ns {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
            .arg(bin("svscan"))
            .args(args)
            .arg(self.scan());
        self.spawn_ns(cmd)
    }

    /// svscan as PID 1 with a main command.
    pub fn start_pid1_cmd(&self, args: &[&str], command: &[&str]) -> Ns {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
            .arg(bin("svscan"))
            .args(args)
            .arg(self.scan())
            .arg("--")
            .args(command);
        self.spawn_ns(cmd)
    }

    /// A namespace whose PID 1 is `sh`; svscan runs as its child (the
    /// `docker run --init` case) next to a sibling `sleep` it must spare.
    /// svscan's exit status goes to `trace/svscan.rc`.
    pub fn start_not_pid1(&self, args: &str) -> Ns {
        let script = format!(
            "sleep 1000 & echo $! > {sib}; {svscan} {args} {scan} 2>{err}; echo $? > {rc}; wait",
            sib = self.trace("sibling.pid").display(),
            svscan = bin("svscan").display(),
            scan = self.scan().display(),
            err = self.tmp.join("stderr").display(),
            rc = self.trace("svscan.rc").display(),
        );
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
            .args(["sh", "-c", &script]);
        cmd.stdin(Stdio::null()).env("SVKIT_RUNDIR", self.rundir());
        let mut guard = Guard::spawn(&mut cmd);
        let init = ns_init(&mut guard);
        Ns {
            guard,
            init,
            started: Instant::now(),
        }
    }

    /// Spawns `cmd` (an `unshare ... svscan` line) as a namespace, with
    /// this area's runtime directory and stderr file.
    pub fn spawn_ns(&self, mut cmd: Command) -> Ns {
        cmd.stdin(Stdio::null())
            .stderr(self.stderr_file())
            .env("SVKIT_RUNDIR", self.rundir());
        let started = Instant::now();
        let mut guard = Guard::spawn(&mut cmd);
        let init = ns_init(&mut guard);
        Ns {
            guard,
            init,
            started,
        }
    }
}

/// Host pid of the namespace's PID 1: the unshare process's child; 0 if
/// the whole namespace already ended (a main command that exits at once).
fn ns_init(guard: &mut Guard) -> u32 {
    let unshare = guard.pid;
    wait_for(LONG, || {
        let s = fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
            .unwrap_or_default();
        if let Some(pid) = s.split_whitespace().next().and_then(|p| p.parse().ok()) {
            return Some(pid);
        }
        // std keeps the status, so a later wait still returns it.
        let done = guard
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        done.map(|_| 0)
    })
    .expect("namespace init never appeared")
}

/// A running namespace. Dropping it kills unshare's process group (which
/// holds the namespace's PID 1), ending every process in the namespace.
pub struct Ns {
    pub guard: Guard,
    /// Host pid of the namespace's PID 1.
    pub init: u32,
    pub started: Instant,
}

impl Ns {
    /// `docker stop`: TERM to the namespace's PID 1 from outside.
    pub fn signal(&self, sig: i32) {
        if self.init == 0 {
            return; // already gone; kill(0) would hit the test's own group
        }
        // SAFETY: kill(2) on the namespace init this test started.
        unsafe {
            libc::kill(self.init as i32, sig);
        }
    }

    /// Waits for svscan (and so unshare) to exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        self.guard
            .wait_timeout(timeout)
            .unwrap_or_else(|| panic!("svscan did not exit within {timeout:?}"))
    }

    /// `docker exec`: runs `sh -c script` inside the namespace.
    pub fn exec(&self, script: &str) -> std::process::Output {
        Command::new("nsenter")
            .args([
                "-t",
                &self.init.to_string(),
                "-p",
                "-m",
                "--",
                "sh",
                "-c",
                script,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Every process below the namespace's PID 1 (host view).
    pub fn procs(&self) -> Vec<Proc> {
        descendants(self.init)
    }

    /// Host pid of the process that is `nspid` inside the namespace
    /// (services record `$$`, which is a namespace pid).
    pub fn host_pid(&self, nspid: u32) -> Option<u32> {
        if nspid == 1 {
            return Some(self.init);
        }
        self.procs()
            .into_iter()
            .map(|p| p.pid)
            .find(|&pid| ns_pid_of(pid) == Some(nspid))
    }

    /// Is namespace pid `nspid` a live (non-zombie) process?
    pub fn ns_alive(&self, nspid: u32) -> bool {
        self.host_pid(nspid).is_some_and(alive)
    }

    pub fn wait_ns_dead(&self, nspid: u32, what: &str) {
        wait_until(LONG, what, || !self.ns_alive(nspid));
    }
}

/// The innermost pid of a host process (last field of NSpid).
pub fn ns_pid_of(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub state: char,
    pub comm: String,
}

pub fn all_procs() -> Vec<Proc> {
    let mut out = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push(Proc {
            pid,
            ppid,
            state,
            comm,
        });
    }
    out
}

/// Descendants of `root` (host pids), not including `root`.
pub fn descendants(root: u32) -> Vec<Proc> {
    let procs = all_procs();
    let mut kids: HashMap<u32, Vec<&Proc>> = HashMap::new();
    for p in &procs {
        kids.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for k in kids.get(&p).into_iter().flatten() {
            out.push((*k).clone());
            stack.push(k.pid);
        }
    }
    out
}

/// Direct children of `pid` named `comm`.
pub fn children_named(pid: u32, comm: &str) -> Vec<u32> {
    all_procs()
        .into_iter()
        .filter(|p| p.ppid == pid && p.comm == comm)
        .map(|p| p.pid)
        .collect()
}

pub fn alive(pid: u32) -> bool {
    crate::common::pid_alive(pid)
}

/// (voluntary + involuntary) context switches of `pid`: a wakeup counter.
pub fn ctxt_switches(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .filter(|l| l.contains("ctxt_switches"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// Is `pid` svscan with SIGTERM blocked (its signalfd set up)? unshare's
/// child also has TERM blocked for a moment before exec, hence the name.
pub fn term_blocked(pid: u32) -> bool {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "svscan" {
        return false;
    }
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
}
