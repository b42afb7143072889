//! Read-only service directories (issue 4): supervise keeps its state
//! under the runtime directory (`$SVKIT_RUNDIR/supervise/KEY`), svctl finds
//! it there, and nothing is executed from the runtime directory (a noexec
//! tmpfs, as Docker's `--tmpfs /run`).
//!
//! Each scenario runs as an `#[ignore]`d helper re-executed inside
//! `unshare --mount --pid --fork --mount-proc`: the read-only bind mount
//! and the tmpfs exist only in that mount namespace, and every process the
//! scenario started dies with its PID namespace, so nothing is left
//! behind even when an assertion fails. Needs root (skipped otherwise).

mod common;

use common::{bin, wait_for, wait_until, write_script, Guard, TempDir};
use nix::mount::{mount, MsFlags};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use svkit::container::rundir::fallback_supervise_dir;

const T: Duration = Duration::from_secs(10);

/// Runs helper test `name` in fresh mount and PID namespaces.
fn in_namespaces(name: &str, area: &Path) {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("READONLY_AREA", area)
        .output()
        .expect("run unshare");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{name} failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn area() -> PathBuf {
    PathBuf::from(std::env::var_os("READONLY_AREA").expect("run through in_namespaces"))
}

fn bind_read_only(dir: &Path) {
    mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>).unwrap();
    mount(
        None::<&str>,
        dir,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .unwrap();
    let probe = dir.join(".svkit-probe");
    let e = std::fs::write(&probe, "x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{dir:?} is read-only");
}

fn noexec_tmpfs(dir: &Path, mode: &str) {
    std::fs::create_dir_all(dir).unwrap();
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(format!("mode={mode}").as_str()),
    )
    .unwrap();
}

/// A service that records where it was started from, then sleeps.
fn service(dir: &Path, trace: &Path) {
    write_script(
        dir.join("run"),
        &format!(
            "#!/bin/sh\necho \"$(pwd) $0 $(id -u)\" >> {}\nexec sleep 1000\n",
            trace.display()
        ),
    );
}

fn starts(trace: &Path) -> Vec<String> {
    std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// svctl (optionally through `chpst -u`) with the runtime directory set.
fn svctl(rundir: &Path, user: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new(bin("chpst"));
            c.args(["-u", u]).arg(bin("svctl"));
            c
        }
        None => Command::new(bin("svctl")),
    };
    cmd.args(args).env("SVKIT_RUNDIR", rundir).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn supervise(dir: &Path, rundir: &Path, user: Option<&str>, stderr: &Path) -> Guard {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new(bin("chpst"));
            c.args(["-u", u]).arg(bin("supervise"));
            c
        }
        None => Command::new(bin("supervise")),
    };
    cmd.arg(dir)
        .env("SVKIT_RUNDIR", rundir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap());
    Guard::spawn(&mut cmd)
}

/// status, restart, down, up and exit through svctl, as `user`.
fn drive(dir: &Path, rundir: &Path, user: Option<&str>, trace: &Path) {
    let d = dir.to_str().unwrap();
    wait_until(T, "first start", || !starts(trace).is_empty());
    let base = starts(trace).len();
    let o = svctl(rundir, user, &["status", d]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).starts_with(&format!("run: {d}: (pid ")), "{o:?}");
    let o = svctl(rundir, user, &["-w", "8", "restart", d]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(
        stdout(&o).starts_with(&format!("ok: run: {d}: (pid ")),
        "{o:?}"
    );
    wait_until(T, "restart", || starts(trace).len() == base + 1);
    let o = svctl(rundir, user, &["-w", "8", "down", d]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).starts_with(&format!("ok: down: {d}: ")), "{o:?}");
    let o = svctl(rundir, user, &["status", "--json", d]);
    assert!(stdout(&o).contains(r#""state":"down""#), "{o:?}");
    assert!(stdout(&o).contains(r#""starts":2"#), "{o:?}");
    let o = svctl(rundir, user, &["-w", "8", "up", d]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    wait_until(T, "start after down", || starts(trace).len() == base + 2);
    // Every start ran DIR/run from DIR.
    for line in starts(trace) {
        assert!(line.starts_with(&format!("{d} ./run ")), "{line}");
    }
}

/// The fallback holds only runit's and svkit's state files: no program.
fn assert_only_state(state: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // supervise's spare inodes for the status files (see
        // lib/supervisor/status_files.rs): state, not programs.
        .filter(|n| !n.ends_with(".new"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "control",
            "lock",
            "ok",
            "pid",
            "stat",
            "status",
            "svkit-status"
        ],
        "{state:?}"
    );
}

#[test]
fn read_only_service_dir_with_noexec_rundir() {
    let tmp = TempDir::new("ro-root");
    in_namespaces("helper_read_only_root", tmp.path());
}

#[test]
#[ignore = "run by read_only_service_dir_with_noexec_rundir"]
fn helper_read_only_root() {
    let a = area();
    let scan = a.join("scan");
    let trace = a.join("trace");
    service(&scan.join("web"), &trace);
    write_script(scan.join("web/log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    // Debian's layout: `supervise` is a symlink into /run.
    let deb_trace = a.join("deb-trace");
    service(&scan.join("deb"), &deb_trace);
    let run = a.join("run");
    std::os::unix::fs::symlink(run.join("runit/deb"), scan.join("deb/supervise")).unwrap();
    bind_read_only(&scan);
    noexec_tmpfs(&run, "0755");
    std::fs::create_dir(run.join("runit")).unwrap();
    let rundir = run.join("svkit");
    let web = scan.join("web");

    // svctl waits for a supervisor that does not exist yet.
    let mut early = Guard::spawn(
        Command::new(bin("svctl"))
            .args(["-w", "8", "once"])
            .arg(&web)
            .env("SVKIT_RUNDIR", &rundir)
            .stdout(Stdio::piped()),
    );
    let errors = a.join("supervise.err");
    let _sup = supervise(&web, &rundir, None, &errors);
    let status = early.wait_timeout(T).expect("svctl returns");
    assert!(status.success(), "svctl -w 8 once before supervise");
    let o = svctl(&rundir, None, &["-w", "8", "up", web.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");

    assert!(!web.join("supervise").exists());
    let state = fallback_supervise_dir(&rundir, &web);
    assert_eq!(
        state.file_name().unwrap().to_str().unwrap(),
        web.to_str().unwrap().replace('/', "%2F")
    );
    assert_eq!(std::fs::metadata(&state).unwrap().mode() & 0o777, 0o700);
    wait_until(T, "log state", || {
        fallback_supervise_dir(&rundir, &web.join("log"))
            .join("ok")
            .exists()
    });
    let o = svctl(&rundir, None, &["status", web.to_str().unwrap()]);
    assert!(stdout(&o).contains("; run: log: (pid "), "{o:?}");
    drive(&web, &rundir, None, &trace);
    assert!(starts(&trace)[0].ends_with(" 0"));
    assert_only_state(&state);
    assert_eq!(std::fs::read_to_string(&errors).unwrap(), "", "no warnings");

    // The Debian symlink keeps working and the fallback is not used.
    let deb = scan.join("deb");
    let deb_err = a.join("deb.err");
    let _deb_sup = supervise(&deb, &rundir, None, &deb_err);
    wait_for(T, || (starts(&deb_trace).len() == 1).then_some(())).unwrap_or_else(|| {
        panic!(
            "deb: {}",
            std::fs::read_to_string(&deb_err).unwrap_or_default()
        )
    });
    assert!(run.join("runit/deb/ok").exists());
    assert!(!fallback_supervise_dir(&rundir, &deb).exists());
    let o = svctl(&rundir, None, &["status", deb.to_str().unwrap()]);
    assert!(stdout(&o).starts_with("run: "), "{o:?}");

    let o = svctl(&rundir, None, &["-w", "8", "exit", web.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn read_only_service_dir_as_uid_65532() {
    let tmp = TempDir::new("ro-user");
    in_namespaces("helper_read_only_as_user", tmp.path());
}

#[test]
#[ignore = "run by read_only_service_dir_as_uid_65532"]
fn helper_read_only_as_user() {
    let user = Some(":65532:65532");
    let a = area();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = a.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    let scan = a.join("scan");
    let ro_trace = out.join("ro-trace");
    service(&scan.join("ro"), &ro_trace);
    // Writable mount, but root's directory: EACCES for uid 65532.
    let mine = a.join("rootowned");
    let mine_trace = out.join("mine-trace");
    service(&mine, &mine_trace);
    bind_read_only(&scan);
    // A Kubernetes emptyDir: root-owned 0777, noexec.
    let run = a.join("run");
    noexec_tmpfs(&run, "0777");

    let ro = scan.join("ro");
    let errors = out.join("ro.err");
    let _sup = supervise(&ro, &run, user, &errors);
    drive(&ro, &run, user, &ro_trace);
    assert!(starts(&ro_trace)[0].ends_with(" 65532"));
    let state = fallback_supervise_dir(&run, &ro);
    assert_eq!(std::fs::metadata(&state).unwrap().uid(), 65532);
    assert_only_state(&state);
    // Exactly one line: the world-writable runtime directory.
    let err = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("supervise: warning: runtime directory ") && err.contains("world-writable"),
        "{err}"
    );

    // svctl already waiting when the supervisor appears: RUNDIR/supervise
    // exists now, so it is watched for the new KEY.
    let mut early = Guard::spawn(
        Command::new(bin("chpst"))
            .args(["-u", ":65532:65532"])
            .arg(bin("svctl"))
            .args(["-w", "8", "once"])
            .arg(&mine)
            .env("SVKIT_RUNDIR", &run)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mine_err = out.join("mine.err");
    let _sup2 = supervise(&mine, &run, user, &mine_err);
    let st = early.wait_timeout(T).expect("svctl returns");
    let said = early.child.take().unwrap().wait_with_output().unwrap();
    assert!(
        st.success(),
        "svctl -w 8 once before supervise: {:?} {:?}",
        String::from_utf8_lossy(&said.stdout),
        String::from_utf8_lossy(&said.stderr)
    );
    drive(&mine, &run, user, &mine_trace);
    assert!(!mine.join("supervise").exists());
    assert_eq!(std::fs::read_to_string(&mine_err).unwrap(), "");
    // root's svctl sees the same state.
    let o = svctl(&run, None, &["status", mine.to_str().unwrap()]);
    assert!(stdout(&o).starts_with("run: "), "{o:?}");
}

#[test]
fn unusable_rundir_gives_one_actionable_line() {
    let tmp = TempDir::new("ro-bad-rundir");
    in_namespaces("helper_unusable_rundir", tmp.path());
}

#[test]
#[ignore = "run by unusable_rundir_gives_one_actionable_line"]
fn helper_unusable_rundir() {
    let a = area();
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).unwrap();
    let scan = a.join("scan");
    service(&scan.join("web"), &a.join("trace"));
    std::fs::create_dir(a.join("root-only")).unwrap();
    bind_read_only(&scan);
    let web = scan.join("web");
    let cases: [(PathBuf, Option<&str>, &str); 2] = [
        // On the read-only mount itself.
        (
            scan.join("run"),
            None,
            "cannot create: read-only file system",
        ),
        // Someone else's directory.
        (
            a.join("root-only"),
            Some(":65532:65532"),
            "not writable for uid 65532",
        ),
    ];
    for (rundir, user, problem) in cases {
        let errors = a.join("err");
        let mut g = supervise(&web, &rundir, user, &errors);
        let st = g.wait_timeout(T).expect("supervise gives up");
        assert_eq!(st.code(), Some(111));
        let err = std::fs::read_to_string(&errors).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        let want = format!(
            "supervise: fatal: unable to create {}/supervise: ",
            web.display()
        );
        assert!(err.starts_with(&want), "{err}");
        assert!(err.contains(problem), "{err}");
        assert!(
            err.contains("--tmpfs") && err.contains("SVKIT_RUNDIR"),
            "{err}"
        );
    }
}

/// `docker exec` analogue: `nsenter` into the namespace of host pid
/// `init` (PID and mount), with no SVKIT_RUNDIR: the default must do.
fn ns_exec(init: u32, scan: &Path, args: &[&str]) -> Output {
    Command::new("nsenter")
        .args(["-t", &init.to_string(), "-p", "-m", "--"])
        .arg(bin("svctl"))
        .args(args)
        .env_remove("SVKIT_RUNDIR")
        .env("SVDIR", scan)
        .env("HOST_ONLY", "must-not-leak")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn svscan_as_init_with_read_only_scan_dir_and_noexec_run() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let tmp = TempDir::new("ro-svscan");
    let scan = tmp.join("scan");
    let trace = tmp.join("trace");
    service(&scan.join("web"), &trace);
    let none = tmp.join("none");
    // As `docker run --read-only --tmpfs /run`: the scan dir is read-only
    // and /run a fresh noexec tmpfs, in this mount namespace only; svscan
    // then replaces the shell as PID 1 and uses the default /run/svkit.
    let boot = format!(
        "mount --bind {s} {s} && mount -o remount,bind,ro {s} && \
         mount -t tmpfs -o noexec,nosuid,nodev,mode=755 tmpfs /run && \
         exec {svscan} -t 3 {s} -- sh -c 'echo main; exec sleep 1000'",
        s = scan.display(),
        svscan = bin("svscan").display()
    );
    let stderr = tmp.join("stderr");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private"])
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .args(["sh", "-c", &boot])
        .env_remove("SVKIT_RUNDIR")
        .env("MARKER", "captured at boot")
        .env("SVSCAN_INIT_DIRS", &none)
        .env("SVSCAN_PRE_SHUTDOWN_DIRS", &none)
        .env("SVSCAN_POST_SHUTDOWN_DIRS", &none)
        .env("SVSCAN_ENV_DIR", &none)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap());
    let mut ns = Guard::spawn(&mut cmd);
    let err = || std::fs::read_to_string(&stderr).unwrap_or_default();
    wait_for(T, || (!starts(&trace).is_empty()).then_some(()))
        .unwrap_or_else(|| panic!("web never started; svscan stderr:\n{}", err()));
    let unshare = ns.pid;
    let init: u32 = wait_for(T, || {
        std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
    .expect("namespace init");
    let web = scan.join("web");
    let web_s = web.to_str().unwrap();

    let o = ns_exec(init, &scan, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}\n{}", err());
    assert!(stdout(&o).starts_with("run: web: (pid "), "{o:?}");
    let o = ns_exec(init, &scan, &["-w", "8", "restart", "web"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(!web.join("supervise").exists());
    for line in starts(&trace) {
        assert!(line.starts_with(&format!("{web_s} ./run 0")), "{line}");
    }

    let o = ns_exec(init, &scan, &["exec", "--", "env"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let env = stdout(&o);
    assert!(env.contains("MARKER=captured at boot\n"), "{env}");
    assert!(env.contains("SVKIT_RUNDIR=/run/svkit\n"), "{env}");
    assert!(!env.contains("HOST_ONLY"), "{env}");

    let o = ns_exec(init, &scan, &["halt", "7"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let st = ns.wait_timeout(T).expect("svscan exits after halt");
    assert_eq!(st.code(), Some(7), "svscan stderr:\n{}", err());
    // Read-only scan dir and a default rundir: nothing to warn about.
    assert!(!err().contains("warning"), "{}", err());
}

#[test]
fn read_only_service_dir_with_baked_supervise_dir() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let tmp = TempDir::new("ro-baked");
    in_namespaces("helper_read_only_baked_supervise", tmp.path());
}

/// Issue 13 finding 4: an image built with `supervise/` (and
/// `log/supervise/`) inside the service directory, mounted read-only.
/// `mkdir` says EEXIST before EROFS; supervise must still fall back to the
/// runtime directory instead of failing on `lock` and crash-looping.
#[test]
#[ignore = "run by read_only_service_dir_with_baked_supervise_dir"]
fn helper_read_only_baked_supervise() {
    let a = area();
    let scan = a.join("scan");
    let trace = a.join("trace");
    let web = scan.join("web");
    service(&web, &trace);
    write_script(web.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    for sup in [web.join("supervise"), web.join("log/supervise")] {
        std::fs::create_dir_all(&sup).unwrap();
        // What a build that once ran the service leaves behind.
        std::fs::write(sup.join("lock"), "").unwrap();
        std::fs::write(sup.join("status"), [0u8; 20]).unwrap();
        for fifo in ["control", "ok"] {
            nix::unistd::mkfifo(
                &sup.join(fifo),
                nix::sys::stat::Mode::from_bits_truncate(0o600),
            )
            .unwrap();
        }
    }
    bind_read_only(&scan);
    let run = a.join("run");
    noexec_tmpfs(&run, "0755");
    let rundir = run.join("svkit");
    let errors = a.join("supervise.err");
    let mut sup = supervise(&web, &rundir, None, &errors);
    wait_for(T, || (!starts(&trace).is_empty()).then_some(())).unwrap_or_else(|| {
        panic!(
            "web never started: {:?}; stderr:\n{}",
            sup.child.as_mut().unwrap().try_wait(),
            std::fs::read_to_string(&errors).unwrap_or_default()
        )
    });
    let state = fallback_supervise_dir(&rundir, &web);
    assert_only_state(&state);
    wait_until(T, "log state", || {
        fallback_supervise_dir(&rundir, &web.join("log"))
            .join("ok")
            .exists()
    });
    // svctl finds the live state, not the baked one.
    drive(&web, &rundir, None, &trace);
    assert_eq!(std::fs::read_to_string(&errors).unwrap(), "", "no warnings");
    let o = svctl(&rundir, None, &["-w", "8", "exit", web.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}
