//! supervise(8)'s restart rules with real processes: an operator's restart
//! is carried out at once, back to back; a service that dies on its own
//! keeps runit's 1-second rule; a `finish` exiting 125 means "do not
//! restart" (s6's rule).

mod common;
mod supervise_common;

use common::{bin, wait_until, write_script, TempDir};
use std::process::Command;
use std::time::{Duration, Instant};
use supervise_common::*;

/// Time from `svctl restart` until a new `run` is recorded as up.
fn timed_restart(dir: &std::path::Path) -> Duration {
    let old = wait_running(dir);
    let t = Instant::now();
    let st = Command::new(bin("svctl"))
        .arg("restart")
        .arg(dir)
        .output()
        .unwrap();
    assert!(st.status.success(), "svctl restart: {st:?}");
    wait_new_pid(dir, old);
    t.elapsed()
}

#[test]
fn back_to_back_operator_restarts_do_not_wait_a_second() {
    let tmp = TempDir::new("sup-b2b");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    let _sup = Sup::start(&dir);
    wait_running(&dir);
    // The first right after the start: the 1-second rule would hold it.
    let took: Vec<Duration> = (0..5).map(|_| timed_restart(&dir)).collect();
    eprintln!("svctl restart, back to back: {took:?}");
    // The aim is a few milliseconds; the bound leaves room for a loaded
    // machine while still telling "at once" from runit's full second.
    for t in &took {
        assert!(*t < Duration::from_millis(700), "{took:?}");
    }
    let ext = ext_status(&dir).unwrap();
    assert_eq!(ext.starts, 6);
    assert_eq!(ext.restarts, 0, "operator restarts are not crashes");
}

#[test]
fn a_service_dying_on_its_own_keeps_the_one_second_rule_after_restarts() {
    let tmp = TempDir::new("sup-b2b-crash");
    let times = tmp.join("times");
    let flag = tmp.join("crash");
    let run = format!(
        "#!/bin/sh\ndate +%s%N >> {t}\n[ -e {f} ] && exit 1\nexec sleep 1000\n",
        t = times.display(),
        f = flag.display()
    );
    let dir = service(&tmp, "s", &run);
    let _sup = Sup::start(&dir);
    wait_running(&dir);
    wait_until(LONG, "the first run", || lines(&times).len() == 1);
    std::fs::write(&flag, "").unwrap();
    // This restart is at once; the crashes after it wait their second.
    send(&dir, "tcu");
    wait_until(LONG, "three crashes", || lines(&times).len() >= 4);
    let t: Vec<u64> = lines(&times).iter().map(|l| l.parse().unwrap()).collect();
    let crashes = &t[1..];
    for w in crashes.windows(2) {
        assert!(w[1] - w[0] >= 950_000_000, "1 s between crashes: {t:?}");
    }
}

#[test]
fn finish_exiting_125_means_do_not_restart() {
    let tmp = TempDir::new("sup-fin125");
    let runs = tmp.join("runs");
    let dir = service(
        &tmp,
        "s",
        &format!("#!/bin/sh\necho run >> {}\nexit 1\n", runs.display()),
    );
    write_script(dir.join("finish"), "#!/bin/sh\nexit 125\n");
    let _sup = Sup::start(&dir);
    // The machine sets want down before it writes the down state, so once
    // the files say "down, want down" no restart can follow.
    wait_until(LONG, "down and want down", || {
        status(&dir).is_some_and(|s| s.state_byte == 0 && s.pid == 0 && s.want_byte == b'd')
    });
    assert_eq!(lines(&runs).len(), 1);
    let ext = ext_status(&dir).unwrap();
    assert_eq!(ext.starts, 1);
    assert!(!ext.failed);
    assert!(stat_text(&dir).starts_with("down"), "{}", stat_text(&dir));

    // `u` starts it again; finish's 125 stops it again.
    send(&dir, "u");
    wait_until(LONG, "a second run", || lines(&runs).len() == 2);
    wait_until(LONG, "down and want down again", || {
        status(&dir).is_some_and(|s| s.state_byte == 0 && s.pid == 0 && s.want_byte == b'd')
    });
    assert_eq!(ext_status(&dir).unwrap().starts, 2);
}
