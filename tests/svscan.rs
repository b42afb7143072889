//! svscan, end to end with the real supervise: svscan runs as PID 1 of a
//! private PID namespace (or as a subreaper below another init), services
//! are tiny /bin/sh scripts, and everything is observed from the host.

mod common;
mod svscan_harness;

use common::{bin, wait_blocked_in_poll, wait_for, wait_until, write_script};
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use svscan_harness::*;

#[test]
fn picks_up_new_services_and_stops_removed_ones() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-pickup");
    a.sleeper("first");
    let mut ns = a.start_pid1(&[]);
    let first = a.wait_started("first");

    // Renamed in (the careful way): started without any signal or polling.
    let t0 = Instant::now();
    a.sleeper("renamed");
    a.wait_started("renamed");
    let pickup = t0.elapsed();

    // mkdir first, then write run, then chmod: started once run is usable.
    let dir = a.scan().join("stepwise");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("run"),
        format!(
            "#!/bin/sh\necho $$ >> {}\nexec sleep 1000\n",
            a.trace("stepwise.pid").display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(dir.join("run"))
        .status()
        .unwrap();
    a.wait_started("stepwise");

    // runit style: ln -s /etc/sv/x /etc/service/
    let elsewhere = a.tmp.join("sv-linked");
    write_script(
        elsewhere.join("run"),
        &format!(
            "#!/bin/sh\necho $$ >> {}\nexec sleep 1000\n",
            a.trace("linked.pid").display()
        ),
    );
    std::os::unix::fs::symlink(&elsewhere, a.scan().join("linked")).unwrap();
    let linked = a.wait_started("linked");

    // Removal: the service is stopped and its supervise ends.
    fs::rename(a.scan().join("first"), a.tmp.join("first-gone")).unwrap();
    ns.wait_ns_dead(first, "removed service stopped");
    fs::remove_file(a.scan().join("linked")).unwrap();
    ns.wait_ns_dead(linked, "unlinked service stopped");
    let svscan_children = || children_named(ns.init, "supervise").len();
    wait_until(LONG, "two supervise left", || svscan_children() == 2);

    // Dot names and plain files are not services.
    fs::create_dir(a.scan().join(".hidden")).unwrap();
    write_script(a.scan().join(".hidden/run"), "#!/bin/sh\nexec sleep 1000\n");
    fs::write(a.scan().join("plainfile"), "x").unwrap();

    // A renamed service keeps running under its new name (same supervise).
    let before = a.starts("renamed");
    fs::rename(a.scan().join("renamed"), a.scan().join("renamed2")).unwrap();
    // Use a later change as a barrier: once it is picked up, the rename
    // (an earlier event) has been processed too.
    a.sleeper("barrier");
    a.wait_started("barrier");
    assert_eq!(
        a.starts("renamed"),
        before,
        "rename must not restart the service"
    );
    assert!(ns.ns_alive(before[0]));
    assert_eq!(
        svscan_children(),
        3,
        "supervise for stepwise, renamed2, barrier only"
    );

    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    // svscan never polls here (no --rescan-interval), so any pickup at
    // all came from inotify; the bound only catches gross delays.
    eprintln!("pickup took {pickup:?}");
    assert!(
        pickup < Duration::from_secs(5),
        "pickup took {pickup:?}\n{}",
        a.stderr()
    );
}

#[test]
fn service_ignoring_term_is_killed_at_the_deadline() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-deadline");
    // The ignored disposition survives exec, so sleep ignores TERM too.
    a.service(
        "stubborn",
        &format!(
            "trap '' TERM\necho $$ >> {}\nexec sleep 1000",
            a.trace("stubborn.pid").display()
        ),
    );
    a.sleeper("polite");
    let mut ns = a.start_pid1(&["--shutdown-timeout", "2"]);
    let stubborn = a.wait_started("stubborn");
    a.wait_started("polite");
    let stubborn = ns.host_pid(stubborn).expect("stubborn in the namespace");
    let t0 = Instant::now();
    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    let took = t0.elapsed();
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    assert!(
        took >= Duration::from_millis(1000),
        "killed too early: {took:?}"
    );
    assert!(
        took < Duration::from_millis(2600),
        "deadline overrun: {took:?}"
    );
    assert!(!alive(stubborn));
    assert!(
        a.stderr().contains("killed 1 processes"),
        "stderr:\n{}",
        a.stderr()
    );
}

#[test]
fn second_term_skips_to_the_kill() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-term2");
    a.service(
        "stubborn",
        &format!(
            "trap '' TERM\necho $$ >> {}\nexec sleep 1000",
            a.trace("stubborn.pid").display()
        ),
    );
    let mut ns = a.start_pid1(&["--shutdown-timeout", "30"]);
    a.wait_started("stubborn");
    ns.signal(libc::SIGTERM);
    wait_until(LONG, "shutdown began", || a.stderr().contains("stopping"));
    let t0 = Instant::now();
    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn orphans_are_reaped_as_pid1() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-orphans");
    // 200 double-forked children: each subshell exits at once, leaving its
    // sleep to be re-parented to PID 1.
    a.service(
        "forker",
        &format!(
            "i=0\nwhile [ $i -lt 200 ]; do (sleep 0.2 &); i=$((i+1)); done\n\
             echo done > {}\nexec sleep 1000",
            a.trace("forked").display()
        ),
    );
    let mut ns = a.start_pid1(&[]);
    wait_until(LONG, "forker done", || {
        a.read_trace("forked").contains("done")
    });
    // docker exec analogue: the exec'd shell leaves an orphan behind.
    let out = ns.exec("sleep 0.2 & exit 0");
    assert!(out.status.success());
    let settled = || {
        let procs = ns.procs();
        let zombies = procs.iter().filter(|p| p.state == 'Z').count();
        let sleepers = procs
            .iter()
            .filter(|p| p.comm == "sleep" && p.ppid == ns.init)
            .count();
        zombies == 0 && sleepers == 0
    };
    wait_until(LONG, "no zombie and no orphan left", settled);
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());
}

#[test]
fn sigkill_of_a_supervise_does_not_duplicate_its_service() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-adopt");
    let svc = a.sleeper("one");
    let mut ns = a.start_pid1(&[]);
    let service = a.wait_started("one");
    let sup = wait_for(LONG, || {
        children_named(ns.init, "supervise").first().copied()
    })
    .expect("supervise running");
    // SAFETY: kill(2) on a supervise in the namespace this test started.
    unsafe {
        libc::kill(sup as i32, libc::SIGKILL);
    }
    // svscan starts a new supervise, which adopts the running service.
    let new_sup = wait_for(LONG, || {
        children_named(ns.init, "supervise")
            .into_iter()
            .find(|&p| p != sup)
    })
    .expect("supervise restarted");
    let pidfile = svc.join("supervise/pid");
    wait_until(LONG, "new supervise reports the adopted service", || {
        fs::read_to_string(&pidfile).is_ok_and(|s| s.trim() == service.to_string())
            && svkit_ok(&svc)
    });
    assert!(alive(new_sup) && ns.ns_alive(service));
    assert_eq!(
        a.starts("one"),
        vec![service],
        "the service was started twice"
    );
    let sleeps = ns.procs().iter().filter(|p| p.comm == "sleep").count();
    assert_eq!(sleeps, 1, "exactly one copy of the service");
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());
}

/// Is a supervisor listening on DIR/supervise/ok (runit's liveness test)?
fn svkit_ok(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(dir.join("supervise/ok"))
        .is_ok()
}

#[test]
fn final_log_line_written_on_term_survives_shutdown() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-drain");
    let logfile = a.trace("log.txt");
    let staging = a.tmp.join("staging-talker");
    // busybox/dash run traps only between commands: loop on short sleeps.
    write_script(
        staging.join("run"),
        "#!/bin/sh\ntrap 'echo final-line; exit 0' TERM\necho first-line\n\
         while :; do sleep 0.05; done\n",
    );
    write_script(
        staging.join("log/run"),
        &format!(
            "#!/bin/sh\nwhile IFS= read -r line; do echo \"$line\" >> {}; done\n",
            logfile.display()
        ),
    );
    fs::rename(&staging, a.scan().join("talker")).unwrap();
    let mut ns = a.start_pid1(&[]);
    wait_until(LONG, "first line logged", || {
        fs::read_to_string(&logfile).is_ok_and(|s| s.contains("first-line"))
    });
    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    let log = fs::read_to_string(&logfile).unwrap();
    assert_eq!(log, "first-line\nfinal-line\n", "stderr:\n{}", a.stderr());
}

#[test]
fn term_during_startup_completes_within_the_deadline() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-race");
    for i in 0..20 {
        let staging = a.tmp.join(format!("staging-{i}"));
        write_script(staging.join("run"), "#!/bin/sh\nexec sleep 1000\n");
        if i % 4 == 0 {
            write_script(staging.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
        }
        fs::rename(&staging, a.scan().join(format!("s{i}"))).unwrap();
    }
    for round in 0..8 {
        for delay_ms in [0u64, 10, 50] {
            // A fresh scan dir state: supervise dirs left behind are fine.
            let mut ns = a.start_pid1(&["--shutdown-timeout", "2"]);
            // "Start" is the moment svscan can receive the signal at all:
            // before it blocks TERM, the kernel drops TERM sent to a PID 1
            // without a handler (true of every init).
            wait_until(LONG, "svscan blocks TERM", || term_blocked(ns.init));
            std::thread::sleep(Duration::from_millis(delay_ms));
            let t0 = Instant::now();
            ns.signal(libc::SIGTERM);
            let st = ns
                .guard
                .wait_timeout(Duration::from_secs(4))
                .unwrap_or_else(|| panic!("round {round} delay {delay_ms}: hang"));
            assert!(
                t0.elapsed() < Duration::from_millis(2600),
                "round {round} delay {delay_ms}: took {:?}",
                t0.elapsed()
            );
            assert_eq!(
                st.code(),
                Some(0),
                "round {round} delay {delay_ms}: {st:?}\n{}",
                a.stderr()
            );
        }
    }
}

#[test]
fn a_thousand_services_start_and_stop_cleanly() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = exclusive();
    let a = Area::new("svscan-1000");
    let up = a.tmp.join("up");
    fs::create_dir(&up).unwrap();
    for i in 0..1000 {
        let d = a.scan().join(format!("s{i:04}"));
        fs::create_dir(&d).unwrap();
        write_script(
            d.join("run"),
            &format!("#!/bin/sh\n: > {}/s{i:04}\nexec sleep 1000\n", up.display()),
        );
    }
    let mut ns = a.start_pid1(&["--shutdown-timeout", "20"]);
    let count = || fs::read_dir(&up).map(|d| d.count()).unwrap_or(0);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(60), || (count() == 1000).then_some(()))
        .unwrap_or_else(|| panic!("only {} of 1000 up; stderr:\n{}", count(), a.stderr()));
    let up_took = t0.elapsed();
    let t1 = Instant::now();
    ns.signal(libc::SIGTERM);
    let st = ns.wait(Duration::from_secs(30));
    let down_took = t1.elapsed();
    assert_eq!(st.code(), Some(0), "stderr:\n{}", a.stderr());
    assert!(
        !a.stderr().contains("killed"),
        "services had to be killed:\n{}",
        a.stderr()
    );
    eprintln!("1000 services: all up in {up_took:?}, all stopped in {down_took:?}");
}

#[test]
fn idle_svscan_does_not_wake_up() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-idle");
    for i in 0..20 {
        a.sleeper(&format!("s{i}"));
    }
    let mut ns = a.start_pid1(&[]);
    for i in 0..20 {
        a.wait_started(&format!("s{i}"));
    }
    // Once svscan and every (built-in) supervise block in poll, measure a
    // quiet window: none of them may be scheduled at all.
    let sups = wait_for(LONG, || {
        let s = children_named(ns.init, "supervise");
        (s.len() == 20).then_some(s)
    })
    .expect("20 supervise");
    for &pid in sups.iter().chain([&ns.init]) {
        wait_blocked_in_poll(pid);
    }
    let switches = || -> Vec<u64> {
        [ns.init]
            .iter()
            .chain(&sups)
            .map(|&p| ctxt_switches(p))
            .collect()
    };
    let before = switches();
    std::thread::sleep(Duration::from_millis(1500));
    let after = switches();
    assert_eq!(before[0], after[0], "svscan woke up while idle");
    assert_eq!(before, after, "a supervise woke up while idle");
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0));
}

#[test]
fn a_dead_supervise_is_restarted() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-respawn");
    a.sleeper("svc");
    let mut ns = a.start_pid1(&[]);
    a.wait_started("svc");
    let sup = wait_for(LONG, || {
        children_named(ns.init, "supervise").first().copied()
    })
    .unwrap();
    // SAFETY: kill(2) on the supervise of the namespace this test started.
    unsafe {
        libc::kill(sup as i32, libc::SIGKILL);
    }
    let t0 = Instant::now();
    wait_until(LONG, "supervise restarted", || {
        children_named(ns.init, "supervise")
            .iter()
            .any(|&p| p != sup)
    });
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(a.stderr().contains("supervise svc was killed by SIGKILL"));
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0));
}

#[test]
fn hup_rescans_without_inotify_and_job_control_signals_are_ignored() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-hup");
    // --no-inotify with a long interval: only the HUP can find the service.
    // `first` starting proves the initial scan is done (boot also prepares
    // the runtime dir and environment first), so `late` comes after it.
    a.sleeper("first");
    let mut ns = a.start_pid1(&["--no-inotify", "--rescan-interval", "600"]);
    a.wait_started("first");
    a.sleeper("late");
    // Give svscan a chance to (wrongly) notice; then ask for a rescan.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        a.starts("late").is_empty(),
        "picked up without inotify or HUP"
    );
    ns.signal(libc::SIGHUP);
    let late = a.wait_started("late");
    // Job-control signals are ignored: svscan neither stops nor exits.
    ns.signal(libc::SIGTTIN);
    ns.signal(libc::SIGTTOU);
    a.sleeper("later");
    ns.signal(libc::SIGHUP);
    a.wait_started("later");
    let state = all_procs()
        .into_iter()
        .find(|p| p.pid == ns.init)
        .map(|p| p.state);
    assert!(
        matches!(state, Some('S') | Some('R')),
        "svscan state {state:?}"
    );
    assert_eq!(a.starts("late"), vec![late]);
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0));
}

#[test]
fn second_svscan_on_the_same_directory_is_refused() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-lock");
    a.sleeper("svc");
    let mut ns = a.start_pid1(&[]);
    let service = a.wait_started("svc");
    let out = Command::new(bin("svscan"))
        .arg(a.scan())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(111));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("svscan: fatal: unable to lock") && err.contains("another svscan"),
        "{err}"
    );
    assert!(ns.ns_alive(service));
    assert_eq!(a.starts("svc"), vec![service]);
    assert_eq!(children_named(ns.init, "supervise").len(), 1);
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0));
}

#[test]
fn bad_usage_is_refused() {
    let _load = shared();
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut c = Command::new(bin("svscan"));
        c.args(args).stdin(Stdio::null());
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(&["--no-such-option", "/tmp"], None);
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("svscan: fatal: unexpected argument '--no-such-option'"));
    let out = run(&["--shutdown-timeout", "soon", "/tmp"], None);
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("svscan: fatal: invalid --shutdown-timeout"));
    let out = run(&["/tmp"], Some(("SVKIT_SHUTDOWN_TIMEOUT", "-3")));
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SVKIT_SHUTDOWN_TIMEOUT"));
    let missing = format!("/nonexistent-svscan-{}", std::process::id());
    let out = run(&[&missing], None);
    assert_eq!(out.status.code(), Some(111));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&format!(
        "svscan: fatal: unable to open scan directory {missing}"
    )));
    let file = std::env::temp_dir().join(format!("svscan-notadir-{}", std::process::id()));
    fs::write(&file, "x").unwrap();
    let out = run(&[file.to_str().unwrap()], None);
    fs::remove_file(&file).unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unable to open scan directory"));
    let out = run(&["--help"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--shutdown-timeout"));
}

#[test]
fn subreaper_below_another_init_spares_outsiders() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-subreaper");
    // The service leaves an escaped straggler behind (setsid, own session).
    a.service(
        "leaky",
        &format!(
            "(setsid sh -c 'echo $$ > {}; exec sleep 1000' &)\necho $$ >> {}\nexec sleep 1000",
            a.trace("straggler.pid").display(),
            a.trace("leaky.pid").display()
        ),
    );
    let ns = a.start_not_pid1("--shutdown-timeout 3");
    a.wait_started("leaky");
    let straggler: u32 = wait_for(LONG, || a.read_trace("straggler.pid").trim().parse().ok())
        .expect("straggler started");
    let sibling: u32 = wait_for(LONG, || a.read_trace("sibling.pid").trim().parse().ok())
        .expect("sibling started");
    let svscan = wait_for(LONG, || children_named(ns.init, "svscan").first().copied())
        .expect("svscan running");
    let straggler = ns.host_pid(straggler).expect("straggler in the namespace");
    let sibling = ns.host_pid(sibling).expect("sibling in the namespace");
    // The straggler's parent exited at once, so it is now svscan's child.
    wait_until(LONG, "straggler adopted by svscan", || {
        all_procs()
            .iter()
            .any(|p| p.pid == straggler && p.ppid == svscan)
    });
    // SAFETY: kill(2) on the svscan this test started (inside its namespace).
    unsafe {
        libc::kill(svscan as i32, libc::SIGTERM);
    }
    wait_until(LONG, "svscan exited", || {
        a.read_trace("svscan.rc").trim() == "0"
    });
    assert!(!alive(straggler), "straggler in svscan's tree survived");
    assert!(
        alive(sibling),
        "svscan signalled a process outside its tree"
    );
    assert!(!a.stderr().contains("warning"), "stderr:\n{}", a.stderr());
    drop(ns);
}

#[test]
fn main_command_exit_ends_svscan_with_its_code() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-cmd");
    let trace = a.trace("events");
    a.service(
        "svc",
        &format!(
            "trap 'echo svc-got-TERM >> {t}; exit 0' TERM\necho svc-up >> {t}\n\
             while :; do sleep 0.05; done",
            t = trace.display()
        ),
    );
    // The command waits for the service, then exits 42: svscan stops the
    // service and exits 42 too.
    let script = format!(
        "until grep -q svc-up {t} 2>/dev/null; do sleep 0.01; done; echo cmd-exit >> {t}; exit 42",
        t = trace.display()
    );
    let mut ns = a.start_pid1_cmd(&[], &["sh", "-c", &script]);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(42), "stderr:\n{}", a.stderr());
    let events = a.read_trace("events");
    assert_eq!(
        events,
        "svc-up\ncmd-exit\nsvc-got-TERM\n",
        "stderr:\n{}",
        a.stderr()
    );
    assert!(
        a.stderr().contains("main command exited 42"),
        "{}",
        a.stderr()
    );

    // Killed by a signal: 128 + signal (not 0, unlike my_init).
    let mut ns = a.start_pid1_cmd(&[], &["sh", "-c", "kill -KILL $$"]);
    assert_eq!(ns.wait(LONG).code(), Some(137), "stderr:\n{}", a.stderr());

    // Cannot be run: 127, with a message.
    let mut ns = a.start_pid1_cmd(&[], &["/nonexistent/command"]);
    assert_eq!(ns.wait(LONG).code(), Some(127));
    assert!(
        a.stderr()
            .contains("svscan: warning: unable to run /nonexistent/command"),
        "{}",
        a.stderr()
    );
}

#[test]
fn term_reaches_the_main_command_and_its_code_is_kept() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-cmdterm");
    let trace = a.trace("events");
    a.sleeper("svc");
    let script = format!(
        "trap 'echo cmd-got-TERM >> {t}; exit 3' TERM\necho cmd-up >> {t}\n\
         while :; do sleep 0.05; done",
        t = trace.display()
    );
    let mut ns = a.start_pid1_cmd(&[], &["sh", "-c", &script]);
    a.wait_started("svc");
    wait_until(LONG, "command up", || {
        a.read_trace("events").contains("cmd-up")
    });
    ns.signal(libc::SIGTERM);
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(3), "stderr:\n{}", a.stderr());
    assert!(a.read_trace("events").contains("cmd-got-TERM"));
}

#[test]
fn log_pipe_held_by_svscan_loses_no_line_when_supervise_and_logger_die() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-logpipe");
    let logfile = a.trace("log.txt");
    let staging = a.tmp.join("staging-counter");
    write_script(
        staging.join("run"),
        "#!/bin/sh\ni=0\nwhile :; do echo line-$i; i=$((i+1)); sleep 0.01; done\n",
    );
    write_script(
        staging.join("log/run"),
        &format!(
            "#!/bin/sh\nwhile IFS= read -r line; do echo \"$line\" >> {}; done\n",
            logfile.display()
        ),
    );
    let svc = a.scan().join("counter");
    fs::rename(&staging, &svc).unwrap();
    let mut ns = a.start_pid1(&[]);
    let lines = || fs::read_to_string(&logfile).unwrap_or_default();
    wait_until(LONG, "logging", || lines().lines().count() > 20);
    let sup = children_named(ns.init, "supervise")[0];
    let logger: u32 = fs::read_to_string(svc.join("log/supervise/pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let logger = ns.host_pid(logger).expect("logger in the namespace");
    // Both the supervise and the logger die at once: only svscan still
    // holds the pipe's read end, so the service keeps writing into it.
    // SAFETY: kill(2) on processes of the namespace this test started.
    unsafe {
        libc::kill(sup as i32, libc::SIGKILL);
        libc::kill(logger as i32, libc::SIGKILL);
    }
    let at_kill = lines().lines().count();
    wait_until(LONG, "logging again after the restart", || {
        lines().lines().count() > at_kill + 100
    });
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());
    // A shell `read` takes its input a byte at a time, so the logger
    // killed mid-line may have consumed the start of one line: that one
    // line may come out truncated at its start; none may be missing.
    let text = lines();
    let mut truncated = 0;
    for (i, line) in text.lines().enumerate() {
        let want = format!("line-{i}");
        if line != want {
            assert!(
                !line.is_empty() && want.ends_with(line),
                "line {i} lost: {line:?}"
            );
            truncated += 1;
        }
    }
    assert!(truncated <= 1, "{truncated} lines truncated");
}

#[test]
fn main_command_gets_the_terminal() {
    let _load = shared();
    let a = Area::new("svscan-tty");
    a.sleeper("svc");
    // `script` gives svscan a terminal; the command records its process
    // group and the terminal's foreground group, then exits 5.
    let cmd = format!(
        "{svscan} {scan} -- sh -c 'until [ -s {pid} ]; do sleep 0.01; done; \
         read -r a b c d pgrp f g tpgid rest < /proc/self/stat; \
         echo \"$pgrp $tpgid\" > {out}; exit 5'",
        svscan = bin("svscan").display(),
        scan = a.scan().display(),
        pid = a.trace("svc.pid").display(),
        out = a.trace("tty").display(),
    );
    let mut g = common::Guard::spawn(
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("SVKIT_RUNDIR", a.rundir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let st = g.wait_timeout(LONG).expect("svscan under script exited");
    assert_eq!(st.code(), Some(5));
    let ids: Vec<u32> = a
        .read_trace("tty")
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(
        ids[0], ids[1],
        "the command is the terminal's foreground group"
    );
}

/// The targets of `pid`'s descriptors above 2 ("pipe:[..]", paths, ...).
fn fd_targets(pid: u32) -> Vec<String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) > Some(2))
                .filter_map(|e| fs::read_link(e.path()).ok())
                .map(|l| l.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// argv as /proc/PID/cmdline gives it.
fn cmdline(pid: u32) -> Vec<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut args: Vec<String> = raw
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    while args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
    args
}

#[test]
fn svscan_execs_the_supervise_next_to_it_which_holds_none_of_svscans_descriptors() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-sibling");
    // Built aside with its log/ and renamed in, so its supervise gets a
    // log pipe from the start.
    let staging = a.tmp.join("staging-logged");
    write_script(
        staging.join("run"),
        &format!(
            "#!/bin/sh\necho $$ >> {}\nexec sleep 1000",
            a.trace("logged.pid").display()
        ),
    );
    write_script(
        staging.join("log/run"),
        &format!("#!/bin/sh\nexec cat > {}", a.trace("log").display()),
    );
    fs::rename(&staging, a.scan().join("logged")).unwrap();
    a.sleeper("plain");
    let mut ns = a.start_pid1(&[]);
    a.wait_started("logged");
    a.wait_started("plain");
    let sups = wait_for(LONG, || {
        let s = children_named(ns.init, "supervise");
        (s.len() == 2).then_some(s)
    })
    .expect("two supervise processes named supervise");

    let scan = a.scan().to_string_lossy().into_owned();
    let svscan_fds = fd_targets(ns.init);
    assert!(svscan_fds.contains(&scan), "svscan's lock: {svscan_fds:?}");
    assert!(svscan_fds.iter().any(|t| t == "anon_inode:inotify"));
    let mut titles = Vec::new();
    for pid in sups {
        // The program next to svscan, exec'd: not a fork of svscan.
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
            bin("supervise").canonicalize().unwrap()
        );
        let args = cmdline(pid);
        let fds = fd_targets(pid);
        assert!(!fds.contains(&scan), "svscan's lock leaked: {fds:?}");
        assert!(!fds.iter().any(|t| t == "anon_inode:inotify"), "{fds:?}");
        let pipes = fds.iter().filter(|t| t.starts_with("pipe:")).count();
        if args == ["supervise", "logged"] {
            assert_eq!(pipes, 2, "its own log pipe only: {fds:?}");
        } else {
            assert_eq!(pipes, 0, "another service's log pipe: {fds:?}");
        }
        titles.push(args.join(" "));
    }
    titles.sort();
    assert_eq!(titles, ["supervise logged", "supervise plain"]);
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());
}

#[test]
fn a_missing_supervise_is_one_clear_fatal_error() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-nosup");
    a.sleeper("svc");
    let missing = a.tmp.join("no-such-supervise");
    let mut ns = a.start_pid1(&["--supervise", missing.to_str().unwrap()]);
    assert_eq!(ns.wait(LONG).code(), Some(111));
    let err = a.stderr();
    assert!(
        err.contains(&format!(
            "svscan: fatal: unable to execute {}: file does not exist",
            missing.display()
        )),
        "stderr:\n{err}"
    );
}

#[test]
fn supervise_option_execs_that_program() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let _load = shared();
    let a = Area::new("svscan-exec");
    a.sleeper("svc");
    let wrapper = a.tmp.join("my-supervise");
    write_script(
        &wrapper,
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"",
            a.trace("wrapper").display(),
            bin("supervise").display()
        ),
    );
    let mut ns = a.start_pid1(&["--supervise", wrapper.to_str().unwrap()]);
    a.wait_started("svc");
    assert_eq!(a.read_trace("wrapper"), "svc\n");
    let sup = wait_for(LONG, || {
        children_named(ns.init, "supervise").first().copied()
    })
    .expect("the exec'd supervise");
    assert_eq!(
        fs::read_link(format!("/proc/{sup}/exe")).unwrap(),
        bin("supervise").canonicalize().unwrap()
    );
    assert_eq!(
        cmdline(sup),
        [
            bin("supervise").to_string_lossy().into_owned(),
            "svc".into()
        ]
    );
    ns.signal(libc::SIGTERM);
    assert_eq!(ns.wait(LONG).code(), Some(0), "stderr:\n{}", a.stderr());
}
