//! End-to-end tests with a real Docker engine: the static svkit binaries
//! in a `FROM scratch` image and in the phusion-style Debian image.
//!
//! Without root or a Docker engine (`docker info`) these tests are skipped
//! with a note, and fail under SVKIT_TEST_REQUIRE_ALL=1 (`.ci/run`), so CI
//! cannot go green without them. Images are built once per test run (shared
//! `OnceLock`, plus a file lock against a concurrent run in the same
//! checkout), tagged `svkit-test/...:<checkout hash>`. Every container has
//! a unique name and is removed by a guard even when the test fails.
//!
//! Prerequisites (see README "Building images with svkit"): root, a Docker
//! engine, `debootstrap`, `busybox-static`, util-linux `script`, python3
//! with yaml. The first run debootstraps a Debian base image (about a
//! minute), later runs reuse it.

mod common;
mod docker_harness;

use docker_harness::{docker, docker_ok, images, repo, run_fg, text, Container, Driven};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------------------
// Static binaries
// ---------------------------------------------------------------------------

/// True if the ELF file has a PT_INTERP program header (needs ld.so).
fn needs_loader(path: &Path) -> bool {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!(data[4], 2, "64-bit ELF expected");
    let u16_at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let p_type = u32::from_le_bytes(data[phoff + i * phentsize..][..4].try_into().unwrap());
        p_type == 3 // PT_INTERP
    })
}

#[test]
fn static_binaries_need_no_loader() {
    let Some(images) = images() else {
        return;
    };
    for name in ["svscan", "supervise", "svctl", "svlog", "chpst"] {
        let path = images.static_bins.join(name);
        assert!(!needs_loader(&path), "{} needs a loader", path.display());
        eprintln!(
            "static {name}: {} bytes",
            std::fs::metadata(&path).unwrap().len()
        );
    }
    // The check above can fail: Debian's own binaries need ld.so.
    assert!(needs_loader(Path::new("/bin/true")));
    // The default build (.cargo/config.toml), which cargo test runs, is
    // static too.
    assert!(!needs_loader(&common::bin("svctl")));
    // And the binary really runs with no libc in the image.
    let (code, out) = run_fg(
        "static",
        &["--rm", "--entrypoint", "/sbin/svctl"],
        &images.minimal,
        &["--help"],
    );
    assert_eq!(code, 0, "svctl --help in FROM scratch: {out}");
}

// ---------------------------------------------------------------------------
// svscan as PID 1: stop, exit codes
// ---------------------------------------------------------------------------

#[test]
fn docker_stop_is_clean_and_quick() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("stop", &[], &images.e2e, &[]);
    c.wait_log("app: up");
    let took = c.stop(None);
    assert!(!c.running());
    assert_eq!(c.exit_code(), 0, "logs:\n{}", c.logs());
    let logs = c.logs();
    assert!(
        logs.contains("app: got TERM"),
        "service not stopped by TERM:\n{logs}"
    );
    assert!(logs.contains("heartbeat: stopping"), "{logs}");
    assert!(took < Duration::from_secs(3), "docker stop took {took:?}");
    // Without -t the streams stay apart: services' stdout on stdout,
    // svscan's own messages on stderr.
    let stdout = c.stdout_logs();
    assert!(stdout.contains("app: up"), "{stdout}");
    assert!(!stdout.contains("svscan:"), "{stdout}");
    assert!(logs.contains("svscan:"), "{logs}");
}

#[test]
fn stop_signal_quit_also_shuts_down_cleanly() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("quit", &["--stop-signal", "SIGQUIT"], &images.e2e, &[]);
    c.wait_log("app: up");
    let took = c.stop(None);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    assert!(c.logs().contains("app: got TERM"), "{}", c.logs());
    assert!(took < Duration::from_secs(3), "docker stop took {took:?}");
}

#[test]
fn service_added_with_docker_cp_is_started() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("cp", &[], &images.e2e, &[]);
    c.wait_log("app: up");
    let tmp = common::TempDir::new("docker-cp");
    common::write_script(
        tmp.join("late/run"),
        "#!/bin/sh\necho \"late: up\"\nexec sleep 3600\n",
    );
    std::os::unix::fs::symlink("/run/svkit.late", tmp.join("late/supervise")).unwrap();
    // Copy under a dot-name (svscan skips those), then rename: svscan must
    // never see a half-copied directory. inotify picks it up, no HUP.
    let src = tmp.join("late").display().to_string();
    docker_ok(&["cp", &src, &format!("{}:/etc/service/.late", c.name)]);
    let out = c.exec(&["mv", "/etc/service/.late", "/etc/service/late"]);
    assert!(out.status.success(), "{}", text(&out));
    c.wait_log("late: up");
    common::wait_until(Duration::from_secs(10), "late running", || {
        text(&c.exec(&["svctl", "status", "late"])).starts_with("run: late: ")
    });
}

#[test]
fn service_ignoring_term_is_killed_by_svscan_before_docker_does() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("stubborn", &[], &images.e2e, &["/srv/stubborn"]);
    c.wait_log("stubborn: up");
    // Docker's default: SIGTERM, SIGKILL 10 s later. svscan's own deadline
    // (8 s by default) must end the container first, with its exit code.
    let took = c.stop(None);
    let code = c.exit_code();
    assert_ne!(
        code,
        137,
        "Docker had to SIGKILL svscan; logs:\n{}",
        c.logs()
    );
    assert_eq!(code, 0, "logs:\n{}", c.logs());
    assert!(took < Duration::from_secs(10), "docker stop took {took:?}");
    eprintln!("TERM-ignoring service: docker stop took {took:?}");
}

#[test]
fn main_command_exit_status_is_the_container_exit_status() {
    let Some(images) = images() else {
        return;
    };
    let (code, out) = run_fg(
        "cmd3",
        &["--rm"],
        &images.e2e,
        &["--", "sh", "-c", "exit 3"],
    );
    assert_eq!(code, 3, "{out}");
    let (code, out) = run_fg(
        "cmd9",
        &["--rm"],
        &images.e2e,
        &["--", "sh", "-c", "kill -9 $$"],
    );
    assert_eq!(code, 137, "{out}");
}

// ---------------------------------------------------------------------------
// docker exec: svctl, environment, orphans
// ---------------------------------------------------------------------------

/// The pid in an sv status line `run: NAME: (pid N) Ss...`.
fn status_pid(line: &str) -> Option<u32> {
    let rest = line.split("(pid ").nth(1)?;
    rest.split(')').next()?.parse().ok()
}

#[test]
fn svctl_in_docker_exec_behaves_like_sv() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("svctl", &[], &images.e2e, &[]);
    c.wait_log("app: up");

    let out = c.exec(&["svctl", "status", "app"]);
    let status = text(&out);
    assert_eq!(out.status.code(), Some(0), "{status}");
    assert!(status.starts_with("run: app: (pid "), "{status}");
    let pid = status_pid(&status).expect("pid in status");

    let out = c.exec(&["svctl", "restart", "app"]);
    let restarted = text(&out);
    assert_eq!(out.status.code(), Some(0), "{restarted}");
    assert!(restarted.starts_with("ok: run: app: (pid "), "{restarted}");
    assert_ne!(status_pid(&restarted), Some(pid), "{restarted}");

    // Like sv: `down` sends and says nothing; -v waits and reports.
    let out = c.exec(&["svctl", "down", "app"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(text(&out), "");
    common::wait_until(Duration::from_secs(10), "app down", || {
        let status = text(&c.exec(&["svctl", "status", "app"]));
        status.starts_with("down: app: ") && status.contains("normally up")
    });
    let out = c.exec(&["svctl", "-v", "up", "app"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).starts_with("ok: run: app: (pid "),
        "{}",
        text(&out)
    );

    // sv(8): a service that is not there counts as one failure.
    let out = c.exec(&["svctl", "status", "nosuch"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).starts_with("fail: nosuch: "), "{}", text(&out));

    assert_eq!(c.logs().matches("app: got TERM").count(), 2, "{}", c.logs());
}

#[test]
fn run_environment_reaches_services_and_svctl_exec() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("env", &["-e", "FOO=from-run"], &images.e2e, &[]);
    // The init script ran first and published BAR; the service sees both.
    c.wait_log("app: up");
    let logs = c.logs();
    assert!(logs.contains("10-publish: ran"), "{logs}");
    assert!(logs.contains("FOO=from-run BAR=from-init"), "{logs}");
    // A bare `docker exec` has only the configured environment; `svctl
    // exec` runs with the captured one.
    let plain = text(&c.exec(&["env"]));
    assert!(plain.contains("FOO=from-run"), "{plain}");
    assert!(!plain.contains("BAR="), "{plain}");
    let out = c.exec(&["svctl", "exec", "--", "env"]);
    let captured = text(&out);
    assert_eq!(out.status.code(), Some(0), "{captured}");
    assert!(captured.contains("FOO=from-run"), "{captured}");
    assert!(captured.contains("BAR=from-init"), "{captured}");
    // As non-root the captured environment (mode 0600, root's) is not
    // readable: one clear error, no partial environment.
    let out = docker(&["exec", "-u", "65532", &c.name, "svctl", "exec", "--", "env"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("BAR="), "{}", text(&out));
    assert!(text(&out).contains("svctl: fatal: "), "{}", text(&out));
}

#[test]
fn exec_orphans_are_reaped() {
    let Some(images) = images() else {
        return;
    };
    let c = Arc::new(Container::start("zombies", &[], &images.e2e, &[]));
    c.wait_log("app: up");
    // Each `docker exec` leaves a `sleep 1` behind; its parent is outside
    // the container, so the orphan is re-parented to PID 1 (svscan).
    let next = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (c, next) = (Arc::clone(&c), Arc::clone(&next));
            std::thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < 200 {
                    let out = c.exec(&["sh", "-c", "sleep 1 & exit"]);
                    assert!(out.status.success(), "{}", text(&out));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut last = String::new();
    let clean = common::wait_for(Duration::from_secs(15), || {
        last =
            String::from_utf8_lossy(&c.exec(&["ps", "-o", "stat,ppid,args"]).stdout).into_owned();
        let left = last
            .lines()
            .any(|l| l.trim_start().starts_with('Z') || l.contains("sleep 1"));
        (!left).then_some(())
    });
    assert!(clean.is_some(), "zombies or orphans left:\n{last}");
}

// ---------------------------------------------------------------------------
// Runtime variants: read-only, non-root, --init
// ---------------------------------------------------------------------------

fn assert_runs_and_stops(c: &Container, exec_user: &[&str]) {
    c.wait_log("app: up");
    let mut args = vec!["exec"];
    args.extend_from_slice(exec_user);
    args.extend([c.name.as_str(), "svctl", "status", "app"]);
    let out = docker(&args);
    assert!(
        text(&out).starts_with("run: app: (pid "),
        "svctl status: {}\nlogs:\n{}",
        text(&out),
        c.logs()
    );
    c.stop(None);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    assert!(c.logs().contains("app: got TERM"), "{}", c.logs());
}

#[test]
fn read_only_root_with_tmpfs_run() {
    let Some(images) = images() else {
        return;
    };
    // Docker's --tmpfs is noexec: nothing may be executed from /run.
    let c = Container::start(
        "readonly",
        &["--read-only", "--tmpfs", "/run"],
        &images.e2e,
        &[],
    );
    assert_runs_and_stops(&c, &[]);
}

#[test]
fn non_root_user() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("user", &["--user", "65532"], &images.e2e, &[]);
    assert_runs_and_stops(&c, &["-u", "65532"]);
    let c = Container::start(
        "user-ro",
        &[
            "--read-only",
            "--tmpfs",
            "/run:uid=65532",
            "--user",
            "65532:0",
            "--security-opt",
            "no-new-privileges",
        ],
        &images.e2e,
        &[],
    );
    assert_runs_and_stops(&c, &["-u", "65532"]);
}

#[test]
fn docker_init_flag_svscan_not_pid1() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("init", &["--init"], &images.e2e, &[]);
    c.wait_log("app: up");
    let ps = String::from_utf8_lossy(&c.exec(&["ps", "-o", "pid,args"]).stdout).into_owned();
    let pid1 = ps
        .lines()
        .find(|l| l.split_whitespace().next() == Some("1"))
        .unwrap_or_default();
    assert!(
        pid1.contains("docker-init"),
        "PID 1 is not docker-init:\n{ps}"
    );
    assert!(ps.contains("/sbin/svscan"), "{ps}");
    c.stop(None);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    assert!(c.logs().contains("app: got TERM"), "{}", c.logs());
}

// ---------------------------------------------------------------------------
// Interactive TTY: `docker run -it IMAGE -- sh`, driven through script(1)
// ---------------------------------------------------------------------------

#[test]
fn interactive_tty_ctrl_c_reaches_only_the_shell() {
    let Some(images) = images() else {
        return;
    };
    let c = Container {
        name: Container::name_for("tty"),
    };
    // script(1) gives the docker client a terminal; what the test writes
    // is "typed" on it. The expected outputs are computed by the shell
    // ($((...))) so the terminal's echo of the input never matches.
    let cmd = format!("docker run -it --rm --name {} {} -- sh", c.name, images.e2e);
    let mut tty = Driven::spawn(Command::new("script").args(["-qfec", &cmd, "/dev/null"]));
    let ready = common::wait_for(Duration::from_secs(30), || {
        if tty.has("READY-2") {
            return Some(());
        }
        tty.send(b"echo READY-$((1+1))\n");
        std::thread::sleep(Duration::from_millis(500));
        None
    });
    assert!(ready.is_some(), "no shell prompt:\n{}", tty.output());
    c.wait_log("app: up");
    let app_pid = status_pid(&text(&c.exec(&["svctl", "status", "app"])));
    assert!(app_pid.is_some());

    tty.send(b"sleep 101\n");
    common::wait_until(Duration::from_secs(10), "sleep 101 running", || {
        String::from_utf8_lossy(&c.exec(&["ps", "-o", "args"]).stdout).contains("sleep 101")
    });
    tty.send(b"\x03");
    // An interactive shell abandons the rest of a line on SIGINT, so the
    // status is asked for on the next one.
    tty.send(b"echo RC-$((0+$?))\n");
    common::wait_until(Duration::from_secs(10), "Ctrl-C to end sleep", || {
        tty.has("RC-130")
    });

    // The services never saw the SIGINT: same pid, no TERM, still running.
    let status = text(&c.exec(&["svctl", "status", "app"]));
    assert_eq!(status_pid(&status), app_pid, "{status}");
    assert!(!c.logs().contains("app: got TERM"), "{}", c.logs());

    tty.send(b"exit 4\n");
    let status = common::wait_for(Duration::from_secs(20), || {
        tty.child.try_wait().ok().flatten()
    });
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(4),
        "container exit via script:\n{}",
        tty.output()
    );
}

// ---------------------------------------------------------------------------
// The phusion-style Debian image
// ---------------------------------------------------------------------------

#[test]
fn debian_image_init_scripts_cron_syslog_sshd_and_exec_env() {
    let Some(images) = images() else {
        return;
    };
    let c = Container::start("debian", &["-e", "FOO=from-run"], &images.debian_e2e, &[]);
    // /etc/my_init.d ran before the services, which see its variable.
    c.wait_log("envprint: FOO=from-run COMPUTED=from-init");
    assert!(c.logs().contains("10-publish: ran"), "{}", c.logs());

    for (svc, want) in [("cron", "run: cron: "), ("syslogd", "run: syslogd: ")] {
        common::wait_until(Duration::from_secs(10), want, || {
            text(&c.exec(&["svctl", "status", svc])).starts_with(want)
        });
    }
    let sshd = text(&c.exec(&["svctl", "status", "sshd"]));
    assert!(
        sshd.starts_with("down: sshd: "),
        "sshd ships disabled: {sshd}"
    );

    // syslog(3) lines reach docker logs.
    let out = c.exec(&["logger", "-t", "svkit-test", "hello-from-syslog"]);
    assert!(out.status.success(), "{}", text(&out));
    c.wait_log("svkit-test: hello-from-syslog");

    // `docker exec` shells get the container's environment, including
    // what start-up scripts computed.
    let out = c.exec(&["bash", "-lc", "echo \"C=$COMPUTED F=$FOO\""]);
    assert_eq!(text(&out).trim(), "C=from-init F=from-run");
    let out = c.exec(&[
        "svctl",
        "exec",
        "--",
        "sh",
        "-c",
        "echo \"C=$COMPUTED F=$FOO\"",
    ]);
    assert_eq!(text(&out).trim(), "C=from-init F=from-run");
    // (A bare `docker exec` only has the configured environment.)
    let out = c.exec(&["env"]);
    assert!(!text(&out).contains("COMPUTED="), "{}", text(&out));

    // The optional sshd: enabled at run time, host keys made on start.
    let out = c.exec(&["svctl", "-w", "20", "start", "sshd"]);
    assert!(text(&out).starts_with("ok: run: sshd: "), "{}", text(&out));
    common::wait_until(Duration::from_secs(20), "sshd answers", || {
        let out = c.exec(&["ssh-keyscan", "-t", "ed25519", "127.0.0.1"]);
        String::from_utf8_lossy(&out.stdout).contains("ssh-ed25519")
    });

    let took = c.stop(None);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    assert!(took < Duration::from_secs(5), "docker stop took {took:?}");
}

#[test]
fn debian_image_runs_read_only() {
    let Some(images) = images() else {
        return;
    };
    // svscan writes only under /run; cron and syslogd need nothing else.
    let c = Container::start(
        "debian-ro",
        &["--read-only", "--tmpfs", "/run"],
        &images.debian_e2e,
        &[],
    );
    c.wait_log("envprint: FOO=unset COMPUTED=from-init");
    for (svc, want) in [("cron", "run: cron: "), ("syslogd", "run: syslogd: ")] {
        common::wait_until(Duration::from_secs(10), want, || {
            text(&c.exec(&["svctl", "status", svc])).starts_with(want)
        });
    }
    c.stop(None);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
}

// ---------------------------------------------------------------------------
// Kubernetes manifest (no cluster here: check it, then run its commands in
// the real image under the same restrictions)
// ---------------------------------------------------------------------------

struct Manifest {
    env: Vec<(String, String)>,
    probes: Vec<(String, Vec<String>)>,
    grace: u32,
}

fn check_manifest(path: &Path) -> Output {
    Command::new("python3")
        .arg(repo().join("service-examples/k8s/check-manifest.py"))
        .arg(path)
        .output()
        .expect("python3 (with python3-yaml) is needed for the manifest check")
}

fn k8s_manifest() -> Manifest {
    let path = repo().join("service-examples/k8s/web-deployment.yaml");
    let out = check_manifest(&path);
    assert!(out.status.success(), "{}", text(&out));
    let mut m = Manifest {
        env: vec![],
        probes: vec![],
        grace: 0,
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("env"), Some(k), Some(v)) => m.env.push((k.into(), v.into())),
            (Some("probe"), Some(kind), Some(cmd)) => m
                .probes
                .push((kind.into(), cmd.split('\x1f').map(String::from).collect())),
            (Some("budget"), Some(_), Some(rest)) => {
                m.grace = rest.split(' ').nth(1).unwrap().parse().unwrap()
            }
            _ => {}
        }
    }
    m
}

#[test]
fn k8s_manifest_is_valid_and_its_shutdown_budget_fits() {
    let m = k8s_manifest();
    let kinds: Vec<&str> = m.probes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["readiness", "liveness", "preStop"]);
    assert_eq!(m.grace, 30);

    // The checker rejects what the example must not do.
    let tmp = common::TempDir::new("k8s");
    let good =
        std::fs::read_to_string(repo().join("service-examples/k8s/web-deployment.yaml")).unwrap();
    for (from, to, complaint) in [
        (
            "terminationGracePeriodSeconds: 30",
            "terminationGracePeriodSeconds: 20",
            "does not fit terminationGracePeriodSeconds 20",
        ),
        (
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
            "readOnlyRootFilesystem is not set",
        ),
        (
            "runAsUser: 65532",
            "runAsUser: nonroot",
            "runAsUser must be numeric",
        ),
        (
            "mountPath: /run",
            "mountPath: /srv",
            "no volume mounted at /run",
        ),
        (
            "kind: Deployment",
            "kind: Deployment\n  bad: [",
            "invalid YAML: ",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        let path = tmp.join("bad.yaml");
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let out = check_manifest(&path);
        assert_eq!(out.status.code(), Some(1), "{to}: {}", text(&out));
        assert!(text(&out).contains(complaint), "{to}: {}", text(&out));
    }
}

#[test]
fn k8s_probe_and_prestop_commands_work_in_the_image() {
    let Some(images) = images() else {
        return;
    };
    let m = k8s_manifest();
    // As the manifest runs it: read-only root, emptyDir (0777) at /run,
    // numeric non-root user, no capabilities, no privilege escalation.
    let mut opts: Vec<String> = [
        "--read-only",
        "--tmpfs",
        "/run:mode=0777",
        "--user",
        "65532:65532",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ]
    .map(String::from)
    .to_vec();
    for (k, v) in &m.env {
        opts.extend(["-e".to_string(), format!("{k}={v}")]);
    }
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let c = Container::start("k8s", &opts, &images.minimal, &[]);
    common::wait_until(Duration::from_secs(10), "web up", || {
        text(&c.exec(&["svctl", "status", "web"])).starts_with("run: web: ")
    });
    let probe = |kind: &str| {
        let (_, cmd) = m.probes.iter().find(|(k, _)| k == kind).unwrap();
        let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
        c.exec(&argv)
    };
    for kind in ["readiness", "liveness", "preStop"] {
        let out = probe(kind);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out));
    }
    // After preStop, web is down: not ready, but the container is alive.
    // (A readiness probe must be `svctl ready`: `check` succeeds for a
    // service that is down because it was asked to be.)
    assert_ne!(probe("readiness").status.code(), Some(0));
    assert_eq!(probe("liveness").status.code(), Some(0));
    c.stop(Some(m.grace));
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
}

// ---------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------

const FLOOD_LINES: usize = 20_000;

/// Waits for two services' floods (tests/docker-fixtures/e2e/chatty and
/// flood: "a-00000 xxx...", "b-..." 20,000 lines each) in the container's
/// stdout and checks each arrived exactly once as one whole line
/// "a | a-00042 xxx...x", never cut or merged with the other service's.
fn assert_floods_arrive_whole(c: &Container) {
    let pad = "x".repeat(180);
    let mut logs = String::new();
    // Both last lines in whatever shape, and everything before them.
    let done = common::wait_for(Duration::from_secs(60), || {
        logs = c.stdout_logs();
        (logs.contains("a-19999 ") && logs.contains("b-19999 ")).then_some(())
    });
    assert!(
        done.is_some(),
        "only {} of {} lines arrived",
        logs.matches(&pad).count(),
        2 * FLOOD_LINES
    );
    let mut seen = [vec![false; FLOOD_LINES], vec![false; FLOOD_LINES]];
    let mut bad = Vec::new();
    for line in logs.lines().filter(|l| l.contains("xxxxxxxxxx")) {
        let parsed = (|| {
            let (prefix, rest) = line.split_once(" | ")?;
            let (tag, rest) = rest.split_once('-')?;
            let (num, tail) = rest.split_once(' ')?;
            let which = ["a", "b"].iter().position(|t| *t == prefix && *t == tag)?;
            (tail == pad).then_some((which, num.parse::<usize>().ok()?))
        })();
        match parsed {
            Some((which, n)) if n < FLOOD_LINES && !seen[which][n] => seen[which][n] = true,
            _ => bad.push(line.chars().take(120).collect::<String>()),
        }
    }
    assert!(
        bad.is_empty(),
        "{} broken, merged or repeated lines, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(3)]
    );
    assert!(seen.iter().all(|s| s.iter().all(|&x| x)), "lines missing");
}

#[test]
fn svlog_prefixed_lines_arrive_whole() {
    let Some(images) = images() else {
        return;
    };
    // Each service's log/run is svlog teeing to the container's stdout
    // with a prefix (config line "oa | "): two svlogs write to the one pipe
    // Docker reads.
    let c = Container::start("svlog-prefix", &[], &images.e2e, &["/srv/chatty"]);
    assert_floods_arrive_whole(&c);
}

#[test]
fn svscan_prefixed_lines_arrive_whole() {
    let Some(images) = images() else {
        return;
    };
    // No log/: with SVSCAN_LOG_PREFIX=1 svscan copies each service's
    // stdout to its own, one write(2) per prefixed line.
    let c = Container::start(
        "svscan-prefix",
        &["-e", "SVSCAN_LOG_PREFIX=1"],
        &images.e2e,
        &["/srv/flood"],
    );
    assert_floods_arrive_whole(&c);
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn debian_init_script_failure_stops_the_container_with_its_status() {
    let Some(images) = images() else {
        return;
    };
    let tmp = common::TempDir::new("initfail");
    common::write_script(
        tmp.join("20-fail"),
        "#!/bin/sh\necho 20-fail: ran\nexit 7\n",
    );
    let mount = format!(
        "{}:/etc/my_init.d/20-fail:ro",
        tmp.join("20-fail").display()
    );
    let (code, out) = run_fg("initfail", &["--rm", "-v", &mount], &images.debian_e2e, &[]);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("10-publish: ran"), "{out}");
    assert!(
        out.contains("svscan: fatal: init script /etc/my_init.d/20-fail: exited 7"),
        "{out}"
    );
    assert!(!out.contains("envprint:"), "services started anyway: {out}");
}

#[test]
fn image_scripts_reject_bad_input() {
    let Some(images) = images() else {
        return;
    };
    let script = repo().join("service-examples/docker/build-images.sh");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let out = Command::new(&script)
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    let (code, out) = run(&["--bogus"], &[]);
    assert_eq!(code, Some(100), "{out}");
    assert!(
        out.contains("build-images: fatal: unknown argument '--bogus'"),
        "{out}"
    );

    let (code, out) = run(&["-b", "/nonexistent", "minimal"], &[]);
    assert_eq!(code, Some(100), "{out}");
    assert!(out.contains("/nonexistent/svscan missing"), "{out}");

    // A dynamically linked busybox would not run in FROM scratch.
    let bins = images.static_bins.display().to_string();
    let (code, out) = run(
        &["-p", "svkit-test", "-t", "never", "-b", &bins, "minimal"],
        // (svkit's own binaries are static: Debian's /bin/true is not.)
        &[("SVKIT_BUSYBOX", "/bin/true")],
    );
    assert_eq!(code, Some(100), "{out}");
    assert!(
        out.contains("is dynamically linked; need busybox-static"),
        "{out}"
    );
    assert!(docker(&["image", "inspect", "svkit-test/minimal:never"])
        .stdout
        .starts_with(b"[]"));
}
