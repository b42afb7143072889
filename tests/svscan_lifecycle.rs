//! svscan's container lifecycle (svkit-container(7)), end to end: svscan is
//! PID 1 of a private PID namespace with the real supervise, and the boot
//! (runtime dir, environment, init scripts), essential services, the
//! readiness gate, shutdown hooks, prefixed logs and the exit code are
//! observed from the host.
//!
//! The main command's own exit code (`exit 42` -> 42, `kill -KILL $$` ->
//! 137, not found -> 127) is covered by tests/svscan.rs
//! (`main_command_exit_ends_svscan_with_its_code`).

mod common;
mod svscan_harness;

use common::{bin, wait_until, write_script};
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use svscan_harness::*;

/// svscan as PID 1 with the area's script directories (so the host's
/// /etc/svscan never matters), `env` on top, and stdout to `stdout`.
fn start(
    a: &Area,
    env: &[(&str, String)],
    command: Option<&[&str]>,
    stdout: Option<fs::File>,
) -> Ns {
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .arg(bin("svscan"))
        .args(["-t", "3"])
        .arg(a.scan());
    if let Some(cmd) = command {
        c.arg("--").args(cmd);
    }
    c.env("SVSCAN_INIT_DIRS", a.tmp.join("init.d"))
        .env("SVSCAN_PRE_SHUTDOWN_DIRS", a.tmp.join("pre.d"))
        .env("SVSCAN_POST_SHUTDOWN_DIRS", a.tmp.join("post.d"))
        .env("SVSCAN_ENV_DIR", a.tmp.join("envdir"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(match stdout {
        Some(f) => Stdio::from(f),
        None => Stdio::null(),
    });
    a.spawn_ns(c)
}

fn script(a: &Area, rel: &str, body: &str) {
    write_script(a.tmp.join(rel), &format!("#!/bin/sh\n{body}\n"));
}

#[test]
fn essential_service_exit_stops_the_container_with_its_code_within_a_second() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-essential");
    let ev = a.trace("events");
    let go = a.trace("go");
    let ess = a.service(
        "ess",
        &format!(
            "echo ess-up >> {ev}\nuntil [ -e {go} ]; do sleep 0.01; done\nexit 3",
            ev = ev.display(),
            go = go.display()
        ),
    );
    fs::write(ess.join("essential"), "").unwrap();
    let other = a.service(
        "other",
        &format!(
            "trap 'echo other-got-TERM >> {ev}; exit 0' TERM\necho other-up >> {ev}\n\
             while :; do sleep 0.05; done",
            ev = ev.display()
        ),
    );
    write_script(
        other.join("finish"),
        &format!("#!/bin/sh\necho other-finish >> {}\n", ev.display()),
    );
    let mut ns = start(&a, &[], None, None);
    wait_until(LONG, "both services up", || {
        let e = a.read_trace("events");
        e.contains("ess-up") && e.contains("other-up")
    });
    let t0 = Instant::now();
    fs::write(&go, "").unwrap();
    let st = ns.wait(LONG);
    let took = t0.elapsed();
    eprintln!("essential exit -> container exit: {took:?}");
    assert_eq!(st.code(), Some(3), "stderr:\n{}", a.stderr());
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let e = a.read_trace("events");
    assert!(e.contains("other-got-TERM"), "{e}\n{}", a.stderr());
    assert!(e.contains("other-finish"), "{e}\n{}", a.stderr());
    assert!(
        a.stderr().contains("essential service ess exited 3"),
        "{}",
        a.stderr()
    );
}

#[test]
fn essential_by_name_and_limit_mode() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-essential-limit");
    let ev = a.trace("events");
    // `limit`: the container keeps going while supervise restarts the
    // service; it ends only when the restart limit marks it failed.
    let flaky = a.service("flaky", &format!("echo start >> {}\nexit 4", ev.display()));
    fs::write(flaky.join("essential"), "limit\n").unwrap();
    fs::write(flaky.join("restart-limit"), "2 60\n").unwrap();
    fs::write(flaky.join("restart-backoff"), "10 20\n").unwrap();
    a.sleeper("other");
    let mut ns = start(&a, &[], None, None);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(4), "stderr:\n{}", a.stderr());
    let starts = a.read_trace("events").lines().count();
    assert!(starts >= 2, "restarted before giving up: {starts} starts");

    // SVSCAN_ESSENTIAL names a service without an `essential` file.
    let b = Area::new("life-essential-env");
    b.service("quick", "exit 6");
    // An unknown mode is warned about and read as `once`.
    let other = b.sleeper("other");
    fs::write(other.join("essential"), "sometimes\n").unwrap();
    let mut ns = start(&b, &[("SVSCAN_ESSENTIAL", "quick".into())], None, None);
    assert_eq!(ns.wait(LONG).code(), Some(6), "stderr:\n{}", b.stderr());
    assert!(
        b.stderr().contains("unknown essential mode \"sometimes\""),
        "{}",
        b.stderr()
    );
}

#[test]
fn failing_init_script_stops_the_container_and_no_service_starts() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-initfail");
    let ev = a.trace("events");
    let e = ev.display();
    script(&a, "init.d/10-ok", &format!("echo init-ok >> {e}"));
    script(
        &a,
        "init.d/20-fail",
        &format!("echo init-fail >> {e}\nexit 5"),
    );
    script(&a, "init.d/30-never", &format!("echo init-never >> {e}"));
    let svc = a.sleeper("svc");
    let mut ns = start(&a, &[], Some(&["sh", "-c", "echo cmd >> /dev/null"]), None);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(5), "stderr:\n{}", a.stderr());
    assert_eq!(a.read_trace("events"), "init-ok\ninit-fail\n");
    assert!(a.starts("svc").is_empty(), "a service started");
    assert!(!svc.join("supervise").exists(), "supervise ran");
    assert!(
        a.stderr().contains("svscan: fatal: init script"),
        "{}",
        a.stderr()
    );

    // SVSCAN_INIT_FAIL=warn goes on: the services start.
    let b = Area::new("life-initwarn");
    script(&b, "init.d/20-fail", "exit 5");
    b.sleeper("svc");
    let mut ns = start(&b, &[("SVSCAN_INIT_FAIL", "warn".into())], None, None);
    b.wait_started("svc");
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", b.stderr());
    assert!(
        b.stderr().contains("warning: init script"),
        "{}",
        b.stderr()
    );
}

#[test]
fn environment_from_runtime_static_dir_and_init_scripts_reaches_services() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-env");
    let envdir = a.tmp.join("envdir");
    fs::create_dir_all(&envdir).unwrap();
    fs::write(envdir.join("STATIC"), "fromdir\n").unwrap();
    fs::write(envdir.join("FOO"), "loses-to-runtime\n").unwrap();
    script(
        &a,
        "init.d/10-publish",
        "echo published > \"$SVKIT_RUNDIR/env/PUB\"",
    );
    // The next script already sees what the first one published.
    script(
        &a,
        "init.d/20-sees",
        &format!("echo \"init2 $PUB\" >> {}", a.trace("events").display()),
    );
    let out = a.trace("svc-env");
    a.service(
        "svc",
        &format!(
            "echo \"$FOO $STATIC $PUB $SVKIT_RUNDIR\" > {o}.new && mv {o}.new {o}\nexec sleep 1000",
            o = out.display()
        ),
    );
    let cmd_out = a.trace("cmd-env");
    let cmd = format!(
        "echo \"$FOO $STATIC $PUB\" > {o}.new && mv {o}.new {o}; exec sleep 1000",
        o = cmd_out.display()
    );
    let mut ns = start(
        &a,
        &[("FOO", "bar".into())],
        Some(&["sh", "-c", &cmd]),
        None,
    );
    let rundir = a.rundir();
    wait_until(LONG, "service wrote its env", || out.exists());
    wait_until(LONG, "command wrote its env", || cmd_out.exists());
    assert_eq!(
        a.read_trace("svc-env"),
        format!("bar fromdir published {}\n", rundir.display())
    );
    assert_eq!(a.read_trace("cmd-env"), "bar fromdir published\n");
    assert_eq!(a.read_trace("events"), "init2 published\n");
    let sh = fs::read_to_string(rundir.join("env.sh")).unwrap();
    for line in [
        "export FOO='bar'",
        "export STATIC='fromdir'",
        "export PUB='published'",
    ] {
        assert!(sh.lines().any(|l| l == line), "{line} missing:\n{sh}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(rundir.join("env.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        fs::read_to_string(rundir.join("svscan.pid")).unwrap(),
        "1\n",
        "svscan.pid holds the pid inside the namespace"
    );
    ns.signal(libc::SIGTERM);
    ns.wait(LONG);
    assert!(
        !rundir.join("svscan.pid").exists(),
        "pid file removed at exit"
    );
}

#[test]
fn term_during_init_scripts_completes_within_the_deadline() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-initterm");
    let ev = a.trace("events");
    // Ignores TERM (and so does its sleep): only the KILL ends it.
    script(
        &a,
        "init.d/10-stuck",
        &format!("trap '' TERM\necho stuck >> {}\nsleep 1000", ev.display()),
    );
    script(
        &a,
        "init.d/20-never",
        &format!("echo never >> {}", ev.display()),
    );
    a.sleeper("svc");
    let mut ns = start(&a, &[], None, None);
    wait_until(LONG, "init script running", || {
        a.read_trace("events").contains("stuck")
    });
    let t0 = Instant::now();
    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    let took = t0.elapsed();
    // -t 3: the whole shutdown, the stuck script included, fits in it.
    assert!(took < Duration::from_millis(3300), "took {took:?}");
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    assert_eq!(a.read_trace("events"), "stuck\n");
    assert!(a.starts("svc").is_empty(), "a service started");
}

#[test]
fn shutdown_hooks_run_around_the_service_stop_and_are_bounded() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-hooks");
    let ev = a.trace("events");
    let e = ev.display();
    // A hook that would hang is cut at SVSCAN_HOOK_TIMEOUT.
    script(&a, "pre.d/10-hang", "exec sleep 1000");
    script(&a, "pre.d/20-pre", &format!("echo pre >> {e}"));
    script(&a, "post.d/10-post", &format!("echo post >> {e}"));
    a.service(
        "svc",
        &format!(
            "trap 'echo svc-got-TERM >> {e}; exit 0' TERM\necho svc-up >> {e}\n\
             while :; do sleep 0.05; done"
        ),
    );
    let mut ns = start(&a, &[("SVSCAN_HOOK_TIMEOUT", "300ms".into())], None, None);
    wait_until(LONG, "service up", || {
        a.read_trace("events").contains("svc-up")
    });
    let t0 = Instant::now();
    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    let took = t0.elapsed();
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(
        a.read_trace("events"),
        "svc-up\npre\nsvc-got-TERM\npost\n",
        "stderr:\n{}",
        a.stderr()
    );
    assert!(
        a.stderr().contains("pre-shutdown hook"),
        "the cut hook is reported:\n{}",
        a.stderr()
    );
}

#[test]
fn svctl_halt_7_stops_the_container_with_7() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-halt");
    let rundir = a.rundir();
    // A stale exit code from an earlier run of the container is removed.
    fs::create_dir_all(&rundir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&rundir, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(rundir.join("exitcode"), "9\n").unwrap();
    a.sleeper("svc");
    let mut ns = start(&a, &[], Some(&["sleep", "1000"]), None);
    a.wait_started("svc");
    assert!(!rundir.join("exitcode").exists(), "stale exitcode removed");
    let out = ns.exec(&format!(
        "SVKIT_RUNDIR={r} {svctl} halt 7",
        r = rundir.display(),
        svctl = bin("svctl").display()
    ));
    assert!(out.status.success(), "{out:?}");
    // The halt code beats the main command's 143.
    assert_eq!(ns.wait(LONG).code(), Some(7), "stderr:\n{}", a.stderr());
}

#[test]
fn wait_ready_gates_the_main_command() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-ready");
    let ev = a.trace("events");
    let ready = a.trace("ready");
    let svc = a.service(
        "db",
        &format!(
            "echo db-up >> {e}\nsleep 0.3\ntouch {r}\nexec sleep 1000",
            e = ev.display(),
            r = ready.display()
        ),
    );
    write_script(
        svc.join("check"),
        &format!("#!/bin/sh\n[ -e {} ]\n", ready.display()),
    );
    a.sleeper("other");
    let cmd = format!(
        "if [ -e {r} ]; then echo cmd-after-ready >> {e}; else echo cmd-too-early >> {e}; fi; exit 0",
        r = ready.display(),
        e = ev.display()
    );
    let mut ns = start(
        &a,
        &[("SVSCAN_WAIT_READY", "db".into())],
        Some(&["sh", "-c", &cmd]),
        None,
    );
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());
    assert_eq!(a.read_trace("events"), "db-up\ncmd-after-ready\n");

    // notification-fd: ready when the service says so on that fd.
    let n = Area::new("life-notify");
    let ready = n.trace("ready");
    let svc = n.service(
        "db",
        &format!(
            "sleep 0.3\ntouch {r}\necho >&3\nexec sleep 1000",
            r = ready.display()
        ),
    );
    fs::write(svc.join("notification-fd"), "3\n").unwrap();
    let cmd = format!(
        "if [ -e {r} ]; then echo cmd-after-ready >> {e}; else echo cmd-too-early >> {e}; fi",
        r = ready.display(),
        e = n.trace("events").display()
    );
    let mut ns = start(
        &n,
        &[("SVSCAN_WAIT_READY", "all".into())],
        Some(&["sh", "-c", &cmd]),
        None,
    );
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", n.stderr());
    assert_eq!(n.read_trace("events"), "cmd-after-ready\n");

    // Never ready: the timeout with policy stop ends the container (111)
    // and the command never runs.
    let b = Area::new("life-notready");
    let svc = b.sleeper("db");
    write_script(svc.join("check"), "#!/bin/sh\nexit 1\n");
    let cmd = format!("echo cmd >> {}", b.trace("events").display());
    let mut ns = start(
        &b,
        &[
            ("SVSCAN_WAIT_READY", "all".into()),
            ("SVSCAN_WAIT_READY_TIMEOUT", "500ms".into()),
        ],
        Some(&["sh", "-c", &cmd]),
        None,
    );
    assert_eq!(ns.wait(LONG).code(), Some(111), "stderr:\n{}", b.stderr());
    assert_eq!(b.read_trace("events"), "");
    assert!(
        b.stderr().contains("not ready in time: db"),
        "{}",
        b.stderr()
    );
}

#[test]
fn log_prefix_keeps_every_line_whole_and_stderr_apart() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-prefix");
    const N: usize = 20_000;
    let pad = "x".repeat(60);
    for name in ["alpha", "beta"] {
        a.service(
            name,
            &format!(
                "seq 1 {N} | sed 's/^/{name}-{pad}-/'\nseq 1 100 | sed 's/^/{name}-err-/' >&2\n\
                 echo done >> {t}\nexec sleep 1000",
                t = a.trace("done").display()
            ),
        );
    }
    // A service with log/ keeps its own logger: not prefixed.
    let logged = a.tmp.join("staging-logged");
    write_script(
        logged.join("run"),
        "#!/bin/sh\necho logged-line\nexec sleep 1000\n",
    );
    write_script(
        logged.join("log/run"),
        &format!("#!/bin/sh\nexec cat > {}\n", a.trace("logged").display()),
    );
    fs::rename(&logged, a.scan().join("logged")).unwrap();
    let stdout = a.tmp.join("stdout");
    let mut ns = start(
        &a,
        &[("SVSCAN_LOG_PREFIX", "1".into())],
        None,
        Some(fs::File::create(&stdout).unwrap()),
    );
    wait_until(LONG, "services wrote everything", || {
        a.read_trace("done").lines().count() == 2
    });
    wait_until(LONG, "logged service's line", || {
        a.read_trace("logged").contains("logged-line")
    });
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());

    let text = fs::read_to_string(&stdout).unwrap();
    let mut next: HashMap<&str, usize> = HashMap::new();
    for line in text.lines() {
        let (name, rest) = line
            .split_once(" | ")
            .unwrap_or_else(|| panic!("unprefixed stdout line {line:?}"));
        let want = next.entry(name).or_insert(1);
        assert_eq!(rest, format!("{name}-{pad}-{want}"), "line {line:?}");
        *want += 1;
    }
    assert_eq!(next.get("alpha"), Some(&(N + 1)));
    assert_eq!(next.get("beta"), Some(&(N + 1)));
    assert_eq!(next.len(), 2, "only the services without log/");
    let err = a.stderr();
    for name in ["alpha", "beta"] {
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with(&format!("{name}! ")))
            .collect();
        assert_eq!(lines.len(), 100, "{name} stderr lines");
        assert_eq!(lines[99], format!("{name}! {name}-err-100"));
    }
}

#[test]
fn without_log_prefix_services_write_straight_through() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-noprefix");
    a.service(
        "plain",
        &format!(
            "echo plain-line\necho up >> {}\nexec sleep 1000",
            a.trace("up").display()
        ),
    );
    let stdout = a.tmp.join("stdout");
    let mut ns = start(&a, &[], None, Some(fs::File::create(&stdout).unwrap()));
    wait_until(LONG, "service ran", || a.trace("up").exists());
    ns.signal(libc::SIGTERM);
    ns.wait(LONG);
    assert_eq!(fs::read_to_string(&stdout).unwrap(), "plain-line\n");
}

fn svscan_direct(a: &Area, env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(bin("svscan"));
    c.arg(a.scan())
        .env("SVKIT_RUNDIR", a.rundir())
        .env("SVSCAN_INIT_DIRS", "")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn bad_lifecycle_settings_are_refused() {
    let a = Area::new("life-bad");
    for (var, val) in [
        ("SVSCAN_INIT_FAIL", "maybe"),
        ("SVSCAN_WAIT_READY_FAIL", "later"),
        ("SVSCAN_LOG_PREFIX", "perhaps"),
        ("SVSCAN_HOOK_TIMEOUT", "soon"),
        ("SVSCAN_EXIT_REMAP", "143"),
        ("SVSCAN_EXIT_ON_SIGNAL", "often"),
        ("SVSCAN_ENV_GROUP", "no-such-group-svkit"),
        ("SVSCAN_WAIT_READY_TIMEOUT", "x"),
        ("SVSCAN_INIT_TIMEOUT", "-1"),
    ] {
        let out = svscan_direct(&a, &[(var, val)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(100), "{var}={val}: {err}");
        assert!(
            err.starts_with(&format!("svscan: fatal: invalid {var}")),
            "{var}: {err}"
        );
    }
    // A runtime directory that cannot exist: one actionable line, 111.
    let file = a.tmp.join("file");
    fs::write(&file, "").unwrap();
    let bad = file.join("run");
    let out = svscan_direct(&a, &[("SVKIT_RUNDIR", bad.to_str().unwrap())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(111), "{err}");
    assert!(
        err.starts_with("svscan: fatal: unusable runtime directory"),
        "{err}"
    );
    assert!(err.contains("SVKIT_RUNDIR"), "{err}");
    assert!(!Path::new(&bad).exists());
}

#[test]
fn essential_service_in_a_read_only_scan_directory() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("life-ro-essential");
    let go = a.trace("go");
    let ev = a.trace("events");
    let ess = a.service(
        "ess",
        &format!(
            "echo up >> {ev}\nuntil [ -e {go} ]; do sleep 0.01; done\nexit 3",
            ev = ev.display(),
            go = go.display()
        ),
    );
    fs::write(ess.join("essential"), "").unwrap();
    a.sleeper("other");
    // The scan directory is a read-only bind mount in a private mount
    // namespace: supervise/ state goes to RUNDIR/supervise/KEY.
    let scan = a.scan();
    let script = format!(
        "mount --bind {s} {s} && mount -o remount,bind,ro {s} && exec {svscan} -t 3 {s}",
        s = scan.display(),
        svscan = bin("svscan").display()
    );
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private"])
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .args(["sh", "-c", &script])
        .env("SVSCAN_INIT_DIRS", "")
        .stdout(Stdio::null());
    let mut ns = a.spawn_ns(c);
    wait_until(LONG, "essential service up", || {
        a.read_trace("events").contains("up")
    });
    fs::write(&go, "").unwrap();
    assert_eq!(ns.wait(LONG).code(), Some(3), "stderr:\n{}", a.stderr());
    assert!(
        !ess.join("supervise").exists(),
        "nothing written to the scan dir"
    );
    let fallback = a.rundir().join("supervise");
    assert!(
        fs::read_dir(&fallback).map(|d| d.count()).unwrap_or(0) >= 2,
        "state kept under {}",
        fallback.display()
    );
}
