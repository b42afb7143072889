//! svctl against runit's own runsv, side by side with runit's sv: the same
//! commands on two identical services (one per SVDIR, same name) must
//! print the same lines and exit with the same codes.

mod common;
mod svctl_common;

use common::{bin, wait_until, write_script, TempDir};
use std::path::{Path, PathBuf};
use svctl_common::*;

/// Two SVDIRs holding the same service; `a` is driven by sv, `b` by svctl.
struct Pair {
    _tmp: TempDir,
    a: PathBuf,
    b: PathBuf,
}

fn pair(tag: &str, make: impl Fn(&Path)) -> Pair {
    let tmp = TempDir::new(tag);
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    make(&a);
    make(&b);
    Pair { _tmp: tmp, a, b }
}

impl Pair {
    /// Runs `args` through sv on `a` and svctl on `b`; asserts equal
    /// (normalised) stdout and equal exit codes; returns svctl's output.
    fn same(&self, args: &[&str]) -> Output {
        let want = sv(args, &self.a);
        let got = svctl(args, &self.b);
        assert_eq!(
            norm(&got.stdout),
            norm(&want.stdout),
            "stdout of {args:?}: svctl {:?} vs sv {:?}",
            got.stdout,
            want.stdout
        );
        assert_eq!(got.code, want.code, "exit code of {args:?}");
        got
    }
}

#[test]
fn commands_print_what_sv_prints() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    // HUP and ALRM are ignored so that `hup`, `reload` and `alarm` leave
    // the process running: otherwise the status printed right after them
    // depends on whether the restart throttle has passed yet, for sv and
    // svctl alike.
    let p = pair("cmds", |root| {
        service(root, "web", "trap '' HUP ALRM\nexec sleep 1000");
    });
    let _ga = runsv(&p.a.join("web"));
    let _gb = runsv(&p.b.join("web"));
    let s = p.same(&["status", "web"]);
    assert!(s.stdout.starts_with("run: web: (pid "), "{}", s.stdout);
    let d = p.same(&["-w", "5", "down", "web"]);
    assert_eq!(norm(&d.stdout), "ok: down: web: Ns, normally up\n");
    p.same(&["status", "web"]);
    let u = p.same(&["-w", "5", "up", "web"]);
    assert_eq!(norm(&u.stdout), "ok: run: web: (pid N) Ns\n");
    p.same(&["-w", "5", "once", "web"]);
    p.same(&["status", "web"]);
    wait_next_second(&p.a.join("web"));
    wait_next_second(&p.b.join("web"));
    let r = p.same(&["-w", "5", "restart", "web"]);
    assert_eq!(norm(&r.stdout), "ok: run: web: (pid N) Ns\n");
    p.same(&["-w", "5", "check", "web"]);
    p.same(&["-w", "5", "stop", "web"]);
    p.same(&["-w", "5", "start", "web"]);
    p.same(&["hup", "web"]);
    p.same(&["-w", "5", "reload", "web"]);
    p.same(&["-w", "5", "alarm", "web"]);
    // Restarting commands: let the second tick over first, or sv's
    // whole-second predicate may pass on the old process (quirk Q11).
    for cmd in [
        "try-restart",
        "force-reload",
        "force-restart",
        "term",
        "kill",
    ] {
        wait_next_second(&p.a.join("web"));
        wait_next_second(&p.b.join("web"));
        let o = p.same(&["-w", "5", cmd, "web"]);
        assert_eq!(norm(&o.stdout), "ok: run: web: (pid N) Ns\n", "{cmd}");
    }
    p.same(&["-w", "5", "pause", "web"]);
    p.same(&["-w", "5", "cont", "web"]);
    let x = p.same(&["-w", "5", "force-shutdown", "web"]);
    assert_eq!(x.stdout, "ok: web: runsv not running\n");
    p.same(&["status", "web"]);
}

#[test]
fn svwait_and_w_set_the_wait() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svwait");
    let web = service(tmp.path(), "web", "exec sleep 1000");
    write_script(web.join("check"), "#!/bin/sh\nexit 1\n");
    let _g = runsv(&web);
    let run = |args: &[&str], svwait: &str| {
        let t0 = std::time::Instant::now();
        let o = std::process::Command::new(bin("svctl"))
            .args(args)
            .env("SVDIR", tmp.path())
            .env("SVWAIT", svwait)
            .output()
            .unwrap();
        (o.status.code(), t0.elapsed())
    };
    let (code, took) = run(&["-v", "check", "web"], "1");
    assert_eq!(code, Some(1));
    assert!(
        took >= std::time::Duration::from_secs(1) && took < std::time::Duration::from_secs(4),
        "{took:?}"
    );
    // -w overrides SVWAIT; garbage is 0 (leading digits, as runit).
    let (code, took) = run(&["-w", "0", "check", "web"], "30");
    assert_eq!(code, Some(1));
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");
    let (code, took) = run(&["check", "web"], "x");
    assert_eq!(code, Some(1));
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");
    svctl(&["-w", "5", "exit", "web"], tmp.path());
}

#[test]
fn exit_after_commands() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let p = pair("exit", |root| {
        service(root, "web", "exec sleep 1000");
    });
    let _ga = runsv(&p.a.join("web"));
    let _gb = runsv(&p.b.join("web"));
    let x = p.same(&["-w", "5", "exit", "web"]);
    assert_eq!(x.stdout, "ok: web: runsv not running\n");
    p.same(&["status", "web"]);
    p.same(&["exit", "web"]);
}

#[test]
fn force_stop_kills_a_service_ignoring_term() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let p = pair("force", |root| {
        service(root, "stubborn", "trap '' TERM\nexec sleep 1000");
    });
    let _ga = runsv(&p.a.join("stubborn"));
    let _gb = runsv(&p.b.join("stubborn"));
    let k = p.same(&["-w", "1", "force-stop", "stubborn"]);
    assert_eq!(
        norm(&k.stdout),
        "kill: run: stubborn: (pid N) Ns, want down, got TERM\n"
    );
    assert_eq!(k.code, 1);
    let b = p.b.join("stubborn");
    wait_until(LONG, "service killed", || {
        read_status(&b).is_some_and(|s| s.pid == 0)
    });
    let a = p.a.join("stubborn");
    wait_until(LONG, "service killed (sv)", || {
        read_status(&a).is_some_and(|s| s.pid == 0)
    });
    let s = p.same(&["status", "stubborn"]);
    assert_eq!(norm(&s.stdout), "down: stubborn: Ns, normally up\n");
}

#[test]
fn check_script_decides_like_sv() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let p = pair("check", |root| {
        let dir = service(root, "web", "exec sleep 1000");
        write_script(dir.join("check"), "#!/bin/sh\ntest -e ./healthy\n");
    });
    let _ga = runsv(&p.a.join("web"));
    let _gb = runsv(&p.b.join("web"));
    let t = p.same(&["-w", "1", "check", "web"]);
    assert_eq!(norm(&t.stdout), "timeout: run: web: (pid N) Ns\n");
    assert_eq!(t.code, 1);
    std::fs::write(p.a.join("web/healthy"), "").unwrap();
    std::fs::write(p.b.join("web/healthy"), "").unwrap();
    let ok = p.same(&["-w", "1", "check", "web"]);
    assert_eq!(norm(&ok.stdout), "ok: run: web: (pid N) Ns\n");
    p.same(&["-w", "5", "exit", "web"]);
}

#[test]
fn status_with_log_and_down_file() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let p = pair("log", |root| {
        let dir = service(root, "app", "exec sleep 1000");
        service(&dir, "log", "exec cat >/dev/null");
        std::fs::write(dir.join("down"), "").unwrap();
    });
    let _ga = runsv(&p.a.join("app"));
    let _gb = runsv(&p.b.join("app"));
    let s = p.same(&["status", "app"]);
    assert_eq!(norm(&s.stdout), "down: app: Ns; run: log: (pid N) Ns\n");
    let u = p.same(&["-w", "5", "up", "app"]);
    assert_eq!(norm(&u.stdout), "ok: run: app: (pid N) Ns, normally down\n");
    p.same(&["status", "app"]);
    p.same(&["-w", "5", "exit", "app"]);
}

#[test]
fn error_cases_match_sv() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("errors");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("nosup")).unwrap();
    let dead = service(root, "dead", "exec sleep 1000");
    let mut g = runsv(&dead);
    // Kill only runsv: a stale "run" status stays, nobody listens on ok.
    g.signal(libc::SIGKILL);
    g.wait_timeout(LONG).expect("runsv died");
    for args in [
        &["status", "nonexist"][..],
        &["status", "nosup"],
        &["status", "dead"],
        &["up", "dead"],
        &["exit", "dead"],
        &["down", "nonexist", "nosup", "dead"],
        &["status", "./nosup/"],
    ] {
        let want = sv(args, root);
        let got = svctl(args, root);
        assert_eq!(got.stdout, want.stdout, "{args:?}");
        assert_eq!(got.code, want.code, "{args:?}");
    }
    let o = svctl(&["status", "nonexist"], root);
    assert_eq!(
        o.stdout,
        "fail: nonexist: unable to change to service directory: file does not exist\n"
    );
    assert_eq!(o.code, 1);
    let o = svctl(&["status", "dead"], root);
    assert_eq!(o.stdout, "fail: dead: runsv not running\n");
    let o = svctl(&["status", "nosup"], root);
    assert_eq!(
        o.stdout,
        "warning: nosup: unable to open supervise/ok: file does not exist\n"
    );
    assert_eq!(o.code, 1);
    // Several failures add up.
    assert_eq!(
        svctl(&["status", "nonexist", "nosup", "dead"], root).code,
        3
    );
}

#[test]
fn usage_errors_match_sv() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("usage");
    for args in [
        &["bogus", "x"][..],
        &["restartx", "x"],
        &["-z", "status", "x"],
        &["-w"],
        &["up"],
        &[],
    ] {
        let want = sv(args, tmp.path());
        let got = svctl(args, tmp.path());
        assert_eq!(got.code, 100, "{args:?}");
        assert_eq!(got.code, want.code, "{args:?}");
        assert_eq!(got.stderr, want.stderr.replace("sv", "svctl"), "{args:?}");
        assert!(got.stdout.is_empty());
    }
}

#[test]
fn daemontools_status_is_readable() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let tmp = TempDir::new("dt");
    let sup = tmp.join("d1/supervise");
    std::fs::create_dir_all(&sup).unwrap();
    nix::unistd::mkfifo(&sup.join("ok"), Mode::from_bits_truncate(0o600)).unwrap();
    // Hold the read end, as a daemontools supervise does.
    let _reader = open(
        &sup.join("ok"),
        OFlag::O_RDONLY | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .unwrap();
    let mut raw = svkit::tai64n::Tai64n::now().to_bytes().to_vec();
    raw.extend_from_slice(&18054u32.to_le_bytes());
    raw.extend_from_slice(&[0, b'u']);
    std::fs::write(sup.join("status"), &raw).unwrap();
    let want = sv(&["status", "d1"], tmp.path());
    assert_eq!(
        want.stdout,
        "warning: d1: unable to read supervise/status: bad format\n"
    );
    let got = svctl(&["status", "d1"], tmp.path());
    assert_eq!(norm(&got.stdout), "run: dN: (pid N) Ns\n");
    assert!(got.stdout.contains("(pid 18054)"));
    assert_eq!(got.code, 0);
}

#[test]
fn lsb_mode_exit_codes() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("lsb");
    let svdir = tmp.join("sv");
    let web = service(&svdir, "web", "exec sleep 1000");
    let app = service(&svdir, "app", "exec sleep 1000");
    service(&app, "log", "exec cat >/dev/null");
    std::fs::write(app.join("down"), "").unwrap();
    std::fs::create_dir_all(svdir.join("nosup")).unwrap();
    let ours = tmp.join("ours");
    let theirs = tmp.join("theirs");
    for name in ["web", "app", "nosup", "gone"] {
        link(&bin("svctl"), &ours, name);
        link(Path::new("/usr/bin/sv"), &theirs, name);
    }
    let _gw = runsv(&web);
    let _ga = runsv(&app);
    let lsb = |dir: &Path, name: &str, args: &[&str]| run_in(&dir.join(name), args, &svdir, &svdir);
    let both = |name: &str, args: &[&str]| (lsb(&ours, name, args), lsb(&theirs, name, args));

    let (o, t) = both("web", &["status"]);
    assert_eq!((o.code, &o.stdout), (0, &t.stdout));
    assert_eq!(t.code, 0);
    let (o, t) = both("nosup", &["status"]);
    assert_eq!((o.code, t.code), (4, 4));
    let (o, t) = both("gone", &["status"]);
    assert_eq!((o.code, t.code), (1, 1));
    assert_eq!(o.stdout, t.stdout);
    let (o, t) = both("web", &["bogus"]);
    assert_eq!((o.code, t.code), (2, 2));
    assert_eq!(o.stderr, "usage: web [-w sec] command\n\n");
    assert_eq!(o.stderr, t.stderr);
    // `s4` is status for sv but a usage error in LSB mode.
    assert_eq!(both("web", &["s4"]).0.code, 2);
    // Down service with a running logger: runit 2.1.2 says 0 (quirk Q8,
    // it looks at the log's line); the main service decides here.
    let (o, t) = both("app", &["status"]);
    assert_eq!(o.stdout, t.stdout);
    assert_eq!(t.code, 0);
    assert_eq!(o.code, 3);
    // Other commands count failures like the normal mode.
    let (o, t) = both("web", &["-w", "5", "stop"]);
    assert_eq!((o.code, norm(&o.stdout)), (t.code, norm(&t.stdout)));
    assert_eq!(lsb(&ours, "web", &["status"]).code, 3);
    lsb(&ours, "web", &["-w", "5", "exit"]);
    lsb(&ours, "app", &["-w", "5", "exit"]);
}
