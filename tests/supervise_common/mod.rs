//! Helpers for the supervise tests: start a supervise on a service
//! directory with stderr captured, read its status files, send control
//! bytes, and clean up the services it started (they run in their own
//! sessions, so killing supervise's process group does not reach them).
#![allow(dead_code)]

use crate::common::{self, wait_for, wait_until, Guard, TempDir};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use svkit::extstatus::ExtStatus;
use svkit::status::Status;

pub const LONG: Duration = Duration::from_secs(10);

/// A running `supervise DIR` plus everything needed to clean up after it.
pub struct Sup {
    pub guard: Guard,
    pub dir: PathBuf,
    pub stderr: PathBuf,
    /// Pids to SIGKILL (with their process groups) on drop, in addition
    /// to the ones recorded in the status files.
    pub extra_pids: Vec<u32>,
}

impl Sup {
    /// Starts supervise on `dir` with umask 022, stdout/stderr to files
    /// next to the service directory.
    pub fn start(dir: &Path) -> Sup {
        Self::start_with(dir, |_| {})
    }

    pub fn start_with(dir: &Path, tweak: impl FnOnce(&mut Command)) -> Sup {
        let stderr = dir.with_extension("stderr");
        let stdout = dir.with_extension("stdout");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("umask 022; exec \"$0\" \"$1\"")
            .arg(common::bin("supervise"))
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(fs::File::create(stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap());
        tweak(&mut cmd);
        let guard = Guard::spawn(&mut cmd);
        Sup {
            guard,
            dir: dir.to_path_buf(),
            stderr,
            extra_pids: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.guard.pid
    }

    pub fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until supervise listens (ok FIFO has a reader) and status exists.
    pub fn wait_listening(&self) {
        let dir = self.dir.clone();
        wait_until(LONG, "supervise listening", || {
            listening(&dir) && status(&dir).is_some() && ext_status(&dir).is_some()
        });
    }

    pub fn send(&self, bytes: &str) {
        send(&self.dir, bytes)
    }

    /// Waits for supervise to exit; returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        self.guard.wait_timeout(LONG).and_then(|s| s.code())
    }
}

impl Drop for Sup {
    fn drop(&mut self) {
        kill_recorded(&self.dir);
        kill_recorded(&self.dir.join("log"));
        for &p in &self.extra_pids {
            kill_group(p);
        }
    }
}

/// SIGKILLs (process group and pid) the process recorded in
/// `dir/supervise/svkit-status`, if it is still the same process.
pub fn kill_recorded(dir: &Path) {
    if let Some(ext) = ext_status(dir) {
        if ext.pid != 0 && svkit::procfs::start_ticks(ext.pid) == Some(ext.pid_start_ticks) {
            kill_group(ext.pid);
        }
    }
}

pub fn kill_group(pid: u32) {
    // SAFETY: kill(2) on a process (group) this test started.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

pub fn listening(dir: &Path) -> bool {
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join("supervise/ok"))
        .is_ok()
}

pub fn send(dir: &Path, bytes: &str) {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join("supervise/control"))
        .expect("open control");
    f.write_all(bytes.as_bytes()).expect("write control");
}

pub fn raw_status(dir: &Path) -> Option<Vec<u8>> {
    fs::read(dir.join("supervise/status")).ok()
}

pub fn status(dir: &Path) -> Option<Status> {
    Status::decode(&raw_status(dir)?)
}

pub fn ext_status(dir: &Path) -> Option<ExtStatus> {
    ExtStatus::decode(&fs::read_to_string(dir.join("supervise/svkit-status")).ok()?)
}

pub fn stat_text(dir: &Path) -> String {
    fs::read_to_string(dir.join("supervise/stat")).unwrap_or_default()
}

/// Waits until the service runs; returns its pid.
pub fn wait_running(dir: &Path) -> u32 {
    wait_for(LONG, || {
        let s = status(dir)?;
        (s.state_byte == 1 && s.pid != 0).then_some(s.pid)
    })
    .unwrap_or_else(|| panic!("{} never ran; stat={:?}", dir.display(), stat_text(dir)))
}

/// Waits until the service runs with a pid other than `old`.
pub fn wait_new_pid(dir: &Path, old: u32) -> u32 {
    wait_for(LONG, || {
        let s = status(dir)?;
        (s.state_byte == 1 && s.pid != 0 && s.pid != old).then_some(s.pid)
    })
    .unwrap_or_else(|| panic!("no new pid; stat={:?}", stat_text(dir)))
}

pub fn wait_down(dir: &Path) {
    wait_until(LONG, "service down", || {
        status(dir).is_some_and(|s| s.state_byte == 0 && s.pid == 0)
    });
}

/// Makes a service directory `name` under `tmp` with the given run script.
pub fn service(tmp: &TempDir, name: &str, run: &str) -> PathBuf {
    let dir = tmp.join(name);
    common::write_script(dir.join("run"), run);
    dir
}

/// Lines of a file (empty when missing).
pub fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Context switches of a process so far (voluntary + involuntary).
/// Does `pid` have a signal pending (thread or process-wide)?
pub fn signals_pending(pid: u32) -> bool {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|m| !m.trim_start_matches('0').is_empty())
        })
}

pub fn ctxt_switches(pid: u32) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
        })
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Waits until svkit-status satisfies `pred` (it is written after
/// `status`, so a reader that just saw `status` change must wait for it).
pub fn wait_ext(dir: &Path, what: &str, pred: impl Fn(&ExtStatus) -> bool) -> ExtStatus {
    wait_for(LONG, || ext_status(dir).filter(|e| pred(e)))
        .unwrap_or_else(|| panic!("svkit-status never showed {what}: {:?}", ext_status(dir)))
}
