//! Helpers shared by the integration tests: scratch directories, scripts,
//! condition waits with deadlines, and guards that always clean up the
//! processes a test started (even when an assertion fails).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A directory under /tmp removed (recursively) when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("svkit-test-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Writes an executable script (mode 0755), creating parent directories.
pub fn write_script(path: impl AsRef<Path>, body: &str) {
    let path = path.as_ref();
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Polls `cond` until it returns `Some` or `timeout` passes. Polling here
/// is in the test, never in the code under test; the deadline decides.
pub fn wait_for<T>(timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Like `wait_for` with a boolean condition; panics with `what` on timeout.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    if wait_for(timeout, || cond().then_some(())).is_none() {
        panic!("timed out after {timeout:?} waiting for: {what}");
    }
}

/// Is `pid` alive (and not a zombie)?
pub fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        }
        Err(_) => false,
    }
}

/// A child process started in its own process group; dropping the guard
/// SIGKILLs that whole group and reaps the child, so nothing a test started
/// outlives it. Use `Guard::spawn` instead of `Command::spawn`.
pub struct Guard {
    pub child: Option<Child>,
    pub pid: u32,
}

impl Guard {
    pub fn spawn(cmd: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        let child = cmd.process_group(0).spawn().expect("spawn");
        let pid = child.id();
        Guard {
            child: Some(child),
            pid,
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on a pid this guard started; no memory is touched.
        unsafe {
            libc::kill(self.pid as i32, sig);
        }
    }

    /// Waits for the child to exit, with a deadline; returns its status.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        wait_for(timeout, || child.try_wait().ok().flatten())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: signals only the process group this guard created.
        unsafe {
            libc::kill(-(self.pid as i32), libc::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Path of a built svkit binary.
pub fn bin(name: &str) -> PathBuf {
    let exe = match name {
        "svscan" => env!("CARGO_BIN_EXE_svscan"),
        "supervise" => env!("CARGO_BIN_EXE_supervise"),
        "svctl" => env!("CARGO_BIN_EXE_svctl"),
        "svlog" => env!("CARGO_BIN_EXE_svlog"),
        "chpst" => env!("CARGO_BIN_EXE_chpst"),
        other => panic!("unknown binary {other}"),
    };
    PathBuf::from(exe)
}

/// Re-runs the current test binary to execute only the `#[ignore]`d test
/// `helper` in a fresh single-threaded process, with `envs` set. For tests
/// that must change process-wide state (uid, mount namespace) or reap with
/// `waitpid(-1)` without disturbing the other tests running in parallel.
/// Returns the helper's output; the helper reports through stdout lines.
pub fn run_test_child(helper: &str, envs: &[(&str, &std::ffi::OsStr)]) -> std::process::Output {
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        helper,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run test helper child")
}

/// Is the test process root (able to chown, setuid, mount)?
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Waits until `pid` sleeps in poll(2)/ppoll(2): the point where
/// a supervisor has done all its work and blocks.
pub fn wait_blocked_in_poll(pid: u32) {
    let calls = [libc::SYS_ppoll.to_string(), POLL.to_string()];
    wait_until(Duration::from_secs(10), "blocked in poll", || {
        let call = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        call.split_whitespace()
            .next()
            .is_some_and(|n| calls.iter().any(|c| c == n))
    });
}

/// poll(2)'s number, where the architecture still has it.
#[cfg(target_arch = "x86_64")]
const POLL: libc::c_long = libc::SYS_poll;
#[cfg(not(target_arch = "x86_64"))]
const POLL: libc::c_long = libc::SYS_ppoll;

/// What a group of tests needs beyond Rust and a Linux kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Root: private PID and mount namespaces, chown, other uids.
    Root,
    /// runit's programs (sv, runsv, runsvdir, svlogd, chpst), Debian's `runit`.
    Runit,
    /// s6's programs, Debian's `s6`.
    S6,
    /// daemontools' programs, Debian's `daemontools`.
    Daemontools,
    /// A Docker engine (`docker info` succeeds).
    Docker,
    /// execline's `execlineb`, Debian's `execline`.
    Execline,
}

impl Need {
    fn why(self) -> &'static str {
        match self {
            Need::Root => "needs root (private PID/mount namespaces, other uids)",
            Need::Runit => "needs runit (sv, runsv, svlogd, chpst in PATH)",
            Need::S6 => "needs s6 (s6-svscan, s6-supervise in PATH)",
            Need::Daemontools => "needs daemontools (svscan, supervise, svstat in /usr/bin)",
            Need::Docker => "needs a Docker engine",
            Need::Execline => "needs execline (execlineb in /usr/bin)",
        }
    }

    /// The name `SVKIT_TEST_PRETEND_MISSING` uses.
    fn name(self) -> &'static str {
        match self {
            Need::Root => "root",
            Need::Runit => "runit",
            Need::S6 => "s6",
            Need::Daemontools => "daemontools",
            Need::Docker => "docker",
            Need::Execline => "execline",
        }
    }

    fn met(self) -> bool {
        if pretended_missing(self) {
            return false;
        }
        let found = |p: &str| Path::new(p).exists();
        match self {
            Need::Root => is_root(),
            Need::Runit => found("/usr/bin/sv") && found("/usr/bin/runsv"),
            Need::S6 => found("/usr/bin/s6-svscan") && found("/usr/bin/s6-supervise"),
            Need::Daemontools => found("/usr/bin/svstat") && found("/usr/bin/svok"),
            Need::Execline => found("/usr/bin/execlineb"),
            Need::Docker => Command::new("docker")
                .arg("info")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        }
    }
}

/// The variable under which a skipped test is a failure (`.ci/run` sets it).
pub const REQUIRE_ALL: &str = "SVKIT_TEST_REQUIRE_ALL";

/// A comma-separated list of needs (`root,runit,s6,daemontools,docker,execline`)
/// to treat as missing, so the skip paths can be checked on a machine
/// that has everything: `SVKIT_TEST_PRETEND_MISSING=runit,s6 cargo test`.
pub const PRETEND_MISSING: &str = "SVKIT_TEST_PRETEND_MISSING";

fn pretended_missing(need: Need) -> bool {
    std::env::var(PRETEND_MISSING)
        .is_ok_and(|list| list.split(',').any(|n| n.trim() == need.name()))
}

/// Should a test that needs `needs` run? When something is missing it
/// says so once per group and test binary (on the real stderr, which
/// `cargo test` does not capture) and returns false, so the test returns
/// early; with `SVKIT_TEST_REQUIRE_ALL=1` a missing need fails the test.
pub fn require(needs: &[Need]) -> bool {
    use std::io::Write;
    use std::sync::Mutex;
    static SAID: Mutex<Vec<Need>> = Mutex::new(Vec::new());
    for &need in needs {
        if need.met() {
            continue;
        }
        if std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1") {
            panic!("{}: {REQUIRE_ALL}=1 forbids skipping this test", need.why());
        }
        let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
        if !said.contains(&need) {
            said.push(need);
            let exe = std::env::current_exe().unwrap_or_default();
            let binary = exe
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(b, _)| b);
            let _ = writeln!(
                std::io::stderr(),
                "svkit tests: skipping the tests of {binary} that {} (run `sudo .ci/run` for the full suite)",
                need.why()
            );
        }
        return false;
    }
    true
}
