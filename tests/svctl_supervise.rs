//! svctl and runit's sv against svkit's own supervise: the same output,
//! plus what only svkit-status makes possible (starts counter, readiness,
//! the richer JSON).

mod common;
mod svctl_common;

use common::{bin, wait_until, write_script, Guard, TempDir};
use std::process::{Command, Stdio};
use svctl_common::*;

#[test]
fn sv_and_svctl_print_the_same_for_our_supervise() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("ours-same");
    let make = |root: &std::path::Path| {
        let dir = service(root, "web", "exec sleep 1000");
        service(&dir, "log", "exec cat >/dev/null");
        dir
    };
    let (a, b) = (make(&tmp.join("a")), make(&tmp.join("b")));
    let _ga = ours(&a);
    let _gb = ours(&b);
    let (ra, rb) = (tmp.join("a"), tmp.join("b"));
    let same = |args: &[&str]| {
        let want = sv(args, &ra);
        let got = svctl(args, &rb);
        assert_eq!(norm(&got.stdout), norm(&want.stdout), "{args:?}");
        assert_eq!(got.code, want.code, "{args:?}");
        got
    };
    let s = same(&["status", "web"]);
    assert_eq!(
        norm(&s.stdout),
        "run: web: (pid N) Ns; run: log: (pid N) Ns\n"
    );
    same(&["-w", "5", "down", "web"]);
    same(&["status", "web"]);
    same(&["-w", "5", "up", "web"]);
    same(&["-w", "5", "once", "web"]);
    wait_next_second(&a);
    wait_next_second(&b);
    let r = same(&["-w", "5", "restart", "web"]);
    assert_eq!(norm(&r.stdout), "ok: run: web: (pid N) Ns\n");
    same(&["-w", "5", "check", "web"]);
    same(&["-w", "5", "pause", "web"]);
    same(&["status", "web"]);
    same(&["-w", "5", "cont", "web"]);
    let x = same(&["-w", "5", "exit", "web"]);
    assert_eq!(x.stdout, "ok: web: runsv not running\n");
    same(&["status", "web"]);
}

#[test]
fn restart_uses_the_starts_counter_and_waits_for_readiness() {
    let tmp = TempDir::new("ours-ready");
    let root = tmp.path();
    // Ready (a newline on fd 3) only once ./go exists.
    let web = service(
        root,
        "web",
        "while [ ! -e ./go ]; do sleep 0.02; done\necho >&3\nexec sleep 1000",
    );
    std::fs::write(web.join("notification-fd"), "3\n").unwrap();
    std::fs::write(web.join("go"), "").unwrap();
    let _g = ours(&web);
    wait_until(LONG, "ready", || ext_status(&web).is_some_and(|e| e.ready));
    assert_eq!(svctl(&["ready", "web"], root).code, 0);
    let before = ext_status(&web).unwrap();
    std::fs::remove_file(web.join("go")).unwrap();
    let mut waiter = Guard::spawn(
        Command::new(bin("svctl"))
            .args(["-w", "10", "restart", "web"])
            .env("SVDIR", root)
            .stdout(Stdio::piped()),
    );
    // The new process runs but is not ready: svctl must still wait.
    wait_until(LONG, "new process running", || {
        ext_status(&web).is_some_and(|e| e.starts > before.starts && e.pid != 0 && !e.ready)
    });
    assert!(
        waiter.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "restart returned before the new process was ready"
    );
    let o = svctl(&["ready", "web"], root);
    assert_eq!(o.code, 1, "{}", o.stdout);
    std::fs::write(web.join("go"), "").unwrap();
    let status = waiter.wait_timeout(LONG).expect("restart returned");
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(
        waiter.child.as_mut().unwrap().stdout.as_mut().unwrap(),
        &mut out,
    )
    .unwrap();
    let after = ext_status(&web).unwrap();
    assert!(after.ready && after.starts > before.starts);
    assert_eq!(pid_in(&out), Some(after.pid), "{out}");
    assert_ne!(after.pid, before.pid);
    assert_eq!(svctl(&["-w", "5", "wait-ready"], root).code, 0);
    svctl(&["-w", "5", "exit", "web"], root);
}

#[test]
fn json_carries_svkit_status() {
    let tmp = TempDir::new("ours-json");
    let root = tmp.path();
    let web = service(root, "web", "exec sleep 1000");
    let _g = ours(&web);
    let o = svctl(&["status", "--json", "web"], root);
    assert_eq!(o.code, 0);
    for field in [
        "\"extended\":true",
        "\"want\":\"up\"",
        "\"starts\":1",
        "\"ready\":",
    ] {
        assert!(o.stdout.contains(field), "missing {field}: {}", o.stdout);
    }
    svctl(&["-w", "5", "once", "web"], root);
    // supervise writes svkit-status just after status, and `-w once`
    // returns on the status file, so the extra file may lag a moment.
    wait_until(LONG, "json shows want once", || {
        svctl(&["--json", "status", "web"], root)
            .stdout
            .contains("\"want\":\"once\"")
    });
    svctl(&["-w", "5", "kill", "web"], root);
    wait_until(LONG, "killed", || {
        read_status(&web).is_some_and(|s| s.pid == 0)
    });
    let o = svctl(&["--json", "status", "web"], root);
    assert!(
        o.stdout.contains("\"last_exit\":{\"signal\":9}"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("\"state\":\"down\""), "{}", o.stdout);
    svctl(&["-w", "5", "exit", "web"], root);
}

#[test]
fn check_script_and_exit_with_our_supervise() {
    let tmp = TempDir::new("ours-check");
    let root = tmp.path();
    let web = service(root, "web", "exec sleep 1000");
    write_script(web.join("check"), "#!/bin/sh\ntest -e ./healthy\n");
    let _g = ours(&web);
    let o = svctl(&["-w", "0", "check", "web"], root);
    assert_eq!(o.code, 1);
    assert!(
        o.stdout.starts_with("timeout: run: web: (pid "),
        "{}",
        o.stdout
    );
    std::fs::write(web.join("healthy"), "").unwrap();
    assert_eq!(svctl(&["-w", "5", "check", "web"], root).code, 0);
    let o = svctl(&["-w", "5", "shutdown", "web"], root);
    assert_eq!(o.stdout, "ok: web: runsv not running\n");
    assert_eq!(o.code, 0);
}
