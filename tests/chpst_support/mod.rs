//! Shared by the chpst test files: a sandbox with a probe program that
//! reports the process state it was started in, and a runner with a
//! deadline. The probe writes to a file named by $PROBE_OUT, so it can
//! report even with stdout closed (-1) or after a user switch.
#![allow(dead_code)]

use crate::common::{self, TempDir};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// runit's chpst, the reference for differential tests.
pub const RUNIT: &str = "/usr/bin/chpst";

pub fn ours() -> PathBuf {
    common::bin("chpst")
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Tests that change users, limits and roots need root (CI runs as root):
/// `true` means skip (said once, see `common::require`).
pub fn skip_unless_root() -> bool {
    !common::require(&[common::Need::Root])
}

/// Differential tests need runit's chpst at [`RUNIT`]: `true` means skip.
pub fn skip_unless_runit() -> bool {
    !common::require(&[common::Need::Runit]) || !Path::new(RUNIT).exists()
}

/// Exit code (None = killed by a signal), stderr, and stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    pub code: Option<i32>,
    pub stderr: String,
    pub stdout: String,
}

/// Runs `cmd` to completion within 10 s (stdin from /dev/null, output to
/// files in `dir`), killing it if the deadline passes.
pub fn run_in(dir: &Path, cmd: &mut Command) -> Out {
    let out_path = dir.join(format!("stdout.{}", unique()));
    let err_path = dir.join(format!("stderr.{}", unique()));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn");
    let status = common::wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten());
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command did not finish within 10 s: {cmd:?}");
        }
    };
    Out {
        code: status.code(),
        stderr: fs::read_to_string(&err_path).unwrap(),
        stdout: fs::read_to_string(&out_path).unwrap(),
    }
}

fn unique() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

const PROBE: &str = r#"#!/bin/sh
# Report the state this process was started in. The fd check comes first:
# anything else the shell does may open descriptors.
fds=""
for fd in 0 1 2 3 4 5; do
  if [ -e /proc/$$/fd/$fd ]; then fds="$fds $fd"; fi
done
exec >"$PROBE_OUT" 2>&1
echo "fds:$fds"
# Report the PATH prog got, then use a sane one for the tools below.
echo "PATH=${PATH-(unset)}"
PATH=/usr/bin:/bin
# Builtins only while reading /proc/$$: dash blocks every signal while it
# forks, so a forked reader could see a transient signal mask.
while read -r line; do
  case $line in Uid:*|Gid:*|Groups:*|CapPrm:*|CapEff:*|SigIgn:*|SigBlk:*) echo "$line";; esac
done </proc/$$/status
while read -r line; do
  case $line in Max*) echo "$line";; esac
done </proc/$$/limits
read -r stat </proc/$$/stat
set -- $stat
echo "nice ${19}"
if [ "$6" = "$$" ]; then echo "session leader"; else echo "not session leader"; fi
echo "cwd $(pwd)"
env | grep -v -e '^PROBE_OUT=' -e '^PATH=' | LC_ALL=C sort
"#;

/// A scratch directory with `bin/probe`, an envdir `envd` exercising every
/// envdir rule, and files any user may write.
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        let dir = TempDir::new(tag);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        common::write_script(dir.join("bin/probe"), PROBE);
        let envd = dir.join("envd");
        fs::create_dir(&envd).unwrap();
        fs::write(envd.join("TRAIL"), "first line  \t\nsecond line\n").unwrap();
        fs::write(envd.join("NUL"), b"a\0b").unwrap();
        fs::write(envd.join("HOME"), "").unwrap();
        fs::write(envd.join("NEWLINE_ONLY"), "\n").unwrap();
        fs::write(envd.join(".hidden"), "no").unwrap();
        fs::write(envd.join("FOO"), "replaced").unwrap();
        // PATH from the envdir reaches prog but must not be used to find it.
        fs::write(envd.join("PATH"), "/nonexistent").unwrap();
        fs::create_dir(envd.join("subdir")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command for `bin` run in the sandbox with a fixed environment.
    pub fn command(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.current_dir(self.path())
            .env_clear()
            .env(
                "PATH",
                format!("{}/bin:/usr/bin:/bin", self.path().display()),
            )
            .env("HOME", "/root")
            .env("FOO", "original")
            .env("LANG", "C");
        c
    }

    /// Runs `bin ARGS... probe` and returns the outcome plus what the
    /// probe reported ("" if it never ran).
    pub fn probe(&self, bin: &Path, args: &[&str]) -> (Out, String) {
        let report = self.path().join(format!("report.{}", unique()));
        fs::write(&report, "").unwrap();
        fs::set_permissions(&report, fs::Permissions::from_mode(0o666)).unwrap();
        let mut cmd = self.command(bin);
        cmd.args(args).arg("probe").env("PROBE_OUT", &report);
        let out = run_in(self.path(), &mut cmd);
        (out, fs::read_to_string(&report).unwrap())
    }

    /// `<sandbox>/<side>/<name>` as a symlink to `target` (argv[0] aliases).
    pub fn alias(&self, side: &str, name: &str, target: &Path) -> PathBuf {
        let dir = self.path().join(side);
        fs::create_dir_all(&dir).unwrap();
        let link = dir.join(name);
        symlink(target, &link).unwrap();
        link
    }
}

/// The value of one line `key ...` in a probe report.
pub fn report_line<'a>(report: &'a str, prefix: &str) -> Option<&'a str> {
    report.lines().find(|l| l.starts_with(prefix))
}
