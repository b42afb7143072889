//! supervise(8): the service directory contract, runit's supervise/ files,
//! control bytes, the log pipe, s6/svkit settings and bad input.

mod common;
mod supervise_common;

use common::{bin, pid_alive, wait_blocked_in_poll, wait_for, wait_until, write_script, TempDir};
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use supervise_common::*;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn writes_runit_files_with_runsv_modes_and_layout() {
    let tmp = TempDir::new("sup-files");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    let sup = Sup::start(&dir);
    sup.wait_listening();
    let pid = wait_running(&dir);

    let sd = dir.join("supervise");
    assert_eq!(mode(&sd), 0o700);
    for fifo in ["control", "ok"] {
        let m = fs::symlink_metadata(sd.join(fifo)).unwrap();
        assert!(m.file_type().is_fifo(), "{fifo} is a fifo");
        assert_eq!(mode(&sd.join(fifo)), 0o600, "{fifo}");
    }
    assert_eq!(mode(&sd.join("lock")), 0o600);
    for f in ["status", "stat", "pid", "svkit-status"] {
        assert_eq!(mode(&sd.join(f)), 0o644, "{f}");
    }
    let raw = raw_status(&dir).unwrap();
    assert_eq!(raw.len(), 20);
    assert_eq!(
        u32::from_le_bytes([raw[12], raw[13], raw[14], raw[15]]),
        pid
    );
    assert_eq!(&raw[16..20], &[0, b'u', 0, 1]);
    // TAI64N label: 2^62 + 10 + unix seconds, nanoseconds < 10^9.
    let label = u64::from_be_bytes(raw[..8].try_into().unwrap());
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((label - (1u64 << 62) - 10).abs_diff(unix) < 30);
    assert!(u32::from_be_bytes(raw[8..12].try_into().unwrap()) < 1_000_000_000);
    assert_eq!(stat_text(&dir), "run\n");
    assert_eq!(
        fs::read_to_string(sd.join("pid")).unwrap(),
        format!("{pid}\n")
    );
    let ext = wait_ext(&dir, "the run pid", |e| e.pid == pid);
    assert_eq!(ext.starts, 1);
    assert_eq!(ext.supervisor_pid, sup.pid());
    assert_eq!(
        Some(ext.pid_start_ticks),
        svkit::procfs::start_ticks(pid),
        "start ticks identify the process"
    );

    sup.send("d");
    wait_down(&dir);
    assert_eq!(stat_text(&dir), "down\n");
    assert_eq!(fs::read_to_string(sd.join("pid")).unwrap(), "");
    let raw = raw_status(&dir).unwrap();
    assert_eq!(&raw[12..20], &[0, 0, 0, 0, 0, b'd', 0, 0]);
}

#[test]
fn child_gets_own_session_clean_signals_and_no_supervise_fds() {
    let tmp = TempDir::new("sup-child");
    let out = tmp.join("out");
    let run = format!(
        "#!/bin/sh\n{{ echo sid=$(cut -d' ' -f6 /proc/$$/stat) pgrp=$(cut -d' ' -f5 /proc/$$/stat) pid=$$; \
         echo env=${{SVKIT_LOG_PIPE:-unset}}; }} > {out}.tmp; mv {out}.tmp {out}\nexec sleep 1000\n",
        out = out.display()
    );
    let dir = service(&tmp, "s", &run);
    let sup = Sup::start_with(&dir, |c| {
        c.env("SVKIT_LOG_PIPE", "bogus");
    });
    let pid = wait_running(&dir);
    wait_until(LONG, "run wrote its report", || out.exists());
    let text = fs::read_to_string(&out).unwrap();
    // The exec'ed `sleep`: empty mask, nothing ignored (supervise blocks
    // its signals and std ignores SIGPIPE; none of it may leak). Until the
    // exec the process is the shell, whose own mask says nothing.
    wait_until(LONG, "run exec'ed sleep", || {
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    let proc_status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        proc_status.contains("SigBlk:\t0000000000000000"),
        "{proc_status}"
    );
    assert!(
        proc_status.contains("SigIgn:\t0000000000000000"),
        "{proc_status}"
    );
    // Every descriptor supervise owns is close-on-exec: none of them
    // reaches `sleep` (which may hold fds our test harness leaked to
    // supervise, as any inherited fd is passed on like runsv does).
    let targets = |p: u32, only_cloexec: bool| -> Vec<(String, String)> {
        fs::read_dir(format!("/proc/{p}/fd"))
            .unwrap()
            .filter_map(|e| {
                let fd = e.ok()?.file_name().to_string_lossy().into_owned();
                let target = fs::read_link(format!("/proc/{p}/fd/{fd}")).ok()?;
                let info = fs::read_to_string(format!("/proc/{p}/fdinfo/{fd}")).ok()?;
                let flags = info.lines().find(|l| l.starts_with("flags:"))?;
                let flags = u32::from_str_radix(flags.split_whitespace().nth(1)?, 8).ok()?;
                (!only_cloexec || flags & 0o2000000 != 0)
                    .then(|| (fd, target.to_string_lossy().into_owned()))
            })
            .collect()
    };
    let owned = targets(sup.pid(), true);
    assert!(
        owned.len() >= 5,
        "supervise holds lock, control x2, ok, signalfd: {owned:?}"
    );
    for (fd, target) in targets(pid, false) {
        assert!(
            !owned.iter().any(|(_, t)| *t == target) || fd.parse::<u32>().unwrap() <= 2,
            "fd {fd} -> {target} leaked from supervise"
        );
    }
    assert!(
        text.contains(&format!("sid={pid} pgrp={pid} pid={pid}")),
        "{text}"
    );
    assert!(text.contains("env=unset"), "SVKIT_LOG_PIPE removed: {text}");
    assert!(
        sup.stderr_text()
            .contains("SVKIT_LOG_PIPE: invalid value: bogus"),
        "{}",
        sup.stderr_text()
    );
}

#[test]
fn control_bytes_in_order_and_garbage_ignored() {
    let tmp = TempDir::new("sup-ctl");
    let marks = tmp.join("marks");
    let run = format!(
        "#!/bin/sh\nfor s in HUP USR1 USR2 INT QUIT ALRM; do trap \"echo $s >> {m}\" $s; done\necho start >> {m}\nwhile :; do sleep 0.05; done\n",
        m = marks.display()
    );
    let dir = service(&tmp, "s", &run);
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    wait_until(LONG, "started", || {
        lines(&marks).contains(&"start".to_string())
    });

    sup.send("XYZ\0\n?");
    sup.send("h12iqa");
    let want = ["HUP", "USR1", "USR2", "INT", "QUIT", "ALRM"];
    wait_until(LONG, "h 1 2 i q a delivered", || {
        let l = lines(&marks);
        want.iter().all(|w| l.contains(&w.to_string()))
    });
    assert_eq!(
        status(&dir).unwrap().pid,
        pid,
        "garbage did not restart anything"
    );

    sup.send("p");
    wait_until(LONG, "paused", || status(&dir).is_some_and(|s| s.paused));
    assert_eq!(stat_text(&dir), "run, paused\n");
    sup.send("c");
    wait_until(LONG, "continued", || {
        status(&dir).is_some_and(|s| !s.paused)
    });
    assert_eq!(stat_text(&dir), "run\n");

    // sv restart's `tcu`: TERM, CONT, up -> a new pid.
    sup.send("tcu");
    let pid2 = wait_new_pid(&dir, pid);
    assert!(!pid_alive(pid));
    wait_ext(&dir, "second start", |e| e.starts == 2);

    // `o` while running: want down, no signal; exits are not restarted.
    sup.send("o");
    wait_until(LONG, "want down", || stat_text(&dir) == "run, want down\n");
    sup.send("k");
    wait_down(&dir);
    assert!(!pid_alive(pid2));
    wait_ext(&dir, "killed by 9", |e| {
        e.state == "down" && e.last_exit == svkit::extstatus::LastExit::Signal(9)
    });
    // `o` while down: start once.
    sup.send("o");
    let pid3 = wait_new_pid(&dir, pid2);
    sup.send("k");
    wait_down(&dir);
    assert!(!pid_alive(pid3));
    // `x` with the service down: supervise exits 0.
    let mut sup = sup;
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
}

#[test]
fn finish_gets_runsv_arguments_and_k_kills_finish() {
    let tmp = TempDir::new("sup-finish");
    let fin = tmp.join("fin");
    let flag = tmp.join("flag");
    let dir = service(
        &tmp,
        "s",
        &format!(
            "#!/bin/sh\nif [ -e {f} ]; then exit 3; fi\nexec sleep 1000\n",
            f = flag.display()
        ),
    );
    write_script(
        dir.join("finish"),
        &format!(
            "#!/bin/sh\necho \"$0 $*\" >> {fin}\nif [ \"$1\" = 3 ]; then exec sleep 1000; fi\n",
            fin = fin.display()
        ),
    );
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    sup.send("k");
    wait_until(LONG, "finish -1 9", || {
        lines(&fin).contains(&"./finish -1 9".into())
    });
    wait_new_pid(&dir, pid);
    // exit 3 -> finish "3 0", which hangs; `k` kills finish (runsv would
    // mark it down and later run finish again, Q4).
    fs::write(&flag, "").unwrap();
    sup.send("t");
    wait_until(LONG, "finish -1 15", || {
        lines(&fin).contains(&"./finish -1 15".into())
    });
    wait_until(LONG, "finish 3 0 running", || {
        lines(&fin).contains(&"./finish 3 0".into())
            && status(&dir).is_some_and(|s| s.state_byte == 2 && s.pid != 0)
    });
    let st = status(&dir).unwrap();
    assert!(st.pid != 0, "finish pid in status");
    assert_eq!(stat_text(&dir), "finish\n");
    fs::remove_file(&flag).unwrap();
    sup.send("k");
    wait_until(LONG, "finish killed, run restarted", || {
        status(&dir).is_some_and(|s| s.state_byte == 1)
    });
    assert!(!pid_alive(st.pid));
    assert_eq!(
        lines(&fin)
            .iter()
            .filter(|l| l.starts_with("./finish 3 0"))
            .count(),
        1,
        "finish not run twice"
    );
}

#[test]
fn missing_run_is_reported_throttled_and_finish_gets_111() {
    let tmp = TempDir::new("sup-norun");
    let dir = tmp.join("s");
    fs::create_dir_all(&dir).unwrap();
    let fin = tmp.join("fin");
    write_script(
        dir.join("finish"),
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", fin.display()),
    );
    let sup = Sup::start(&dir);
    sup.wait_listening();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(3000)); // observation window
    let elapsed = t0.elapsed();
    let starts = ext_status(&dir).unwrap().starts;
    assert!(
        (2..=4).contains(&starts),
        "{starts} starts in {elapsed:?}: throttled, not a busy loop"
    );
    assert!(
        lines(&fin).iter().all(|l| l == "111 0"),
        "{:?}",
        lines(&fin)
    );
    assert!(!lines(&fin).is_empty());
    let err = sup.stderr_text();
    let want = format!(
        "supervise: warning: {}: unable to start ./run: file does not exist",
        dir.display()
    );
    assert!(err.contains(&want), "{err}");
    // The service shows down (or briefly run) and last_exit says 111.
    wait_until(LONG, "last exit 111", || {
        ext_status(&dir).unwrap().last_exit == svkit::extstatus::LastExit::Code(111)
    });

    // Non-executable run: same path (permission), and it recovers once fixed.
    fs::write(dir.join("run"), "#!/bin/sh\nexec sleep 1000\n").unwrap();
    wait_until(LONG, "access denied reported", || {
        sup.stderr_text()
            .contains("unable to start ./run: access denied")
    });
    fs::set_permissions(dir.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
    wait_until(LONG, "sleep running", || {
        status(&dir).is_some_and(|s| {
            s.state_byte == 1
                && fs::read(format!("/proc/{}/cmdline", s.pid))
                    .is_ok_and(|c| c.starts_with(b"sleep"))
        })
    });
}

#[test]
fn down_file_means_initially_down_and_u_starts() {
    let tmp = TempDir::new("sup-down");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    fs::write(dir.join("down"), "").unwrap();
    let sup = Sup::start(&dir);
    sup.wait_listening();
    let st = status(&dir).unwrap();
    assert_eq!((st.pid, st.want_byte, st.state_byte), (0, b'd', 0));
    assert!(!ext_status(&dir).unwrap().normally_up);
    sup.send("u");
    wait_running(&dir);
    assert_eq!(status(&dir).unwrap().want_byte, b'u');
}

#[test]
fn log_pipe_survives_logger_restart_and_logger_starts_first() {
    let tmp = TempDir::new("sup-log");
    let out = tmp.join("logged");
    let go = tmp.join("go");
    let dir = service(
        &tmp,
        "s",
        &format!(
            "#!/bin/sh\nwhile [ ! -e {go} ]; do sleep 0.02; done\ni=0\nwhile [ $i -lt 50 ]; do echo line$i; i=$((i+1)); sleep 0.01; done\nexec sleep 1000\n",
            go = go.display()
        ),
    );
    write_script(
        dir.join("log/run"),
        &format!("#!/bin/sh\nexec cat >> {}\n", out.display()),
    );
    let sup = Sup::start(&dir);
    let logdir = dir.join("log");
    let logger = wait_running(&logdir);
    wait_running(&dir);
    let m = wait_ext(&dir, "run", |e| e.state == "run");
    let l = wait_ext(&logdir, "run", |e| e.state == "run");
    assert!(
        l.since <= m.since,
        "logger started before the service: {l:?} {m:?}"
    );
    // Kill the logger while lines are being written: none may be lost.
    fs::write(&go, "").unwrap();
    sup.send_log("k");
    kill_group(logger);
    wait_new_pid(&logdir, logger);
    wait_until(LONG, "all 50 lines logged", || lines(&out).len() >= 50);
    let got = lines(&out);
    let want: Vec<String> = (0..50).map(|i| format!("line{i}")).collect();
    assert_eq!(got, want);

    // `x` on the log's control is ignored; on the main one it stops the
    // service, then the logger (EOF), then supervise exits 0.
    // The log's control bytes are handled in order: once the `p` sent
    // after `x` shows in its stat, the `x` has been read (and ignored).
    sup.send_log("xp");
    wait_until(LONG, "log paused after its x", || {
        stat_text(&logdir) == "run, paused\n"
    });
    assert!(supervise_common::listening(&dir));
    sup.send_log("c");
    let mut sup = sup;
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
    assert_eq!(status(&logdir).unwrap().pid, 0);
    assert_eq!(status(&dir).unwrap().pid, 0);
}

trait SendLog {
    fn send_log(&self, b: &str);
}
impl SendLog for Sup {
    fn send_log(&self, b: &str) {
        send(&self.dir.join("log"), b)
    }
}

#[test]
fn second_supervise_fails_111_and_leaves_first_alone() {
    let tmp = TempDir::new("sup-lock");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    common::write_script(dir.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    wait_running(&dir.join("log"));
    let before = raw_status(&dir).unwrap();
    let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap());
    let (st_ino, ok_ino) = (
        ino(&dir.join("supervise/status")),
        ino(&dir.join("supervise/ok")),
    );
    let out = Command::new(bin("supervise")).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(111));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!(
            "supervise: fatal: unable to lock {}/supervise/lock: temporary failure\n",
            dir.display()
        )
    );
    assert_eq!(raw_status(&dir).unwrap(), before);
    assert_eq!(ino(&dir.join("supervise/status")), st_ino);
    assert_eq!(ino(&dir.join("supervise/ok")), ok_ino);
    sup.send("t");
    wait_new_pid(&dir, pid);
}

#[test]
fn held_log_lock_fails_at_once_and_ok_precedes_status() {
    let tmp = TempDir::new("sup-loglock");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    write_script(dir.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    fs::create_dir_all(dir.join("log/supervise")).unwrap();
    let lock = fs::File::create(dir.join("log/supervise/lock")).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    // runsv would block here (Q2); we fail like the main lock.
    let mut child = common::Guard::spawn(
        Command::new(bin("supervise"))
            .arg(&dir)
            .stderr(std::process::Stdio::piped()),
    );
    let st = child.wait_timeout(LONG).expect("exits instead of hanging");
    assert_eq!(st.code(), Some(111));
    let mut err = String::new();
    use std::io::Read;
    child
        .child
        .as_mut()
        .unwrap()
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(
        err,
        format!(
            "supervise: fatal: unable to lock {}/log/supervise/lock: temporary failure\n",
            dir.display()
        )
    );
    assert!(!dir.join("supervise/status").exists());
    drop(lock);

    // Q20: `ok` (with its reader) exists before the first status write.
    let dir2 = service(&tmp, "s2", "#!/bin/sh\nexec sleep 1000\n");
    let _sup = Sup::start(&dir2);
    // Sample as tightly as we can: whenever status is seen, ok must
    // already have a reader (runsv has a window where it has none).
    let deadline = Instant::now() + LONG;
    loop {
        let seen = dir2.join("supervise/status").exists();
        let ok = listening(&dir2);
        if seen {
            assert!(ok, "status existed before ok had a reader");
            break;
        }
        assert!(Instant::now() < deadline, "status never written");
    }
}

#[test]
fn usage_errors_exit_100_and_help_matches_man_page() {
    let out = Command::new(bin("supervise")).output().unwrap();
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: supervise"));
    let out = Command::new(bin("supervise"))
        .args(["a", "b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(100));
    let out = Command::new(bin("supervise"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    let man = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/supervise.8")).unwrap();
    let man = man.replace("\\-", "-");
    for word in [
        "--help",
        "down-signal",
        "timeout-kill",
        "timeout-finish",
        "notification-fd",
        "restart-backoff",
        "restart-limit",
        "SVKIT_LOG_PIPE",
        "svkit-status",
    ] {
        assert!(help.contains(word), "help mentions {word}");
        assert!(man.contains(word), "man page mentions {word}");
    }
    let out = Command::new(bin("supervise"))
        .arg("/nonexistent/svkit-dir")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(111));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "supervise: fatal: unable to change to directory /nonexistent/svkit-dir: file does not exist\n"
    );
}

#[test]
fn signals_other_than_term_are_ignored_and_term_means_exit() {
    let tmp = TempDir::new("sup-sig");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    common::write_script(dir.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    let mut sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    let logger = wait_running(&dir.join("log"));
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGPIPE,
    ] {
        sup.guard.signal(sig);
    }
    // supervise takes them from its signalfd; once none is pending they
    // have all been handled (or one of them killed it).
    wait_until(LONG, "signals taken", || {
        !pid_alive(sup.pid()) || !signals_pending(sup.pid())
    });
    assert!(
        pid_alive(sup.pid()),
        "supervise survived HUP INT QUIT USR1 USR2 ALRM PIPE"
    );
    assert_eq!(status(&dir).unwrap().pid, pid);
    sup.guard.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(), Some(0));
    assert!(!pid_alive(pid));
    assert!(!pid_alive(logger));
}

#[test]
fn down_signal_and_timeout_kill_reach_the_process_group() {
    let tmp = TempDir::new("sup-tk");
    let marks = tmp.join("marks");
    let bg = tmp.join("bg");
    let dir = service(
        &tmp,
        "s",
        &format!(
            "#!/bin/sh\ntrap 'echo hup >> {m}' HUP\ntrap '' TERM\nsleep 1000 &\necho $! > {bg}\nwhile :; do sleep 0.05; done\n",
            m = marks.display(),
            bg = bg.display()
        ),
    );
    fs::write(dir.join("down-signal"), "SIGHUP\n").unwrap();
    fs::write(dir.join("timeout-kill"), "300\n").unwrap();
    let fin = tmp.join("fin");
    write_script(
        dir.join("finish"),
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", fin.display()),
    );
    let mut sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    wait_until(LONG, "background child", || {
        fs::read_to_string(&bg).is_ok_and(|s| s.ends_with('\n'))
    });
    let child: u32 = fs::read_to_string(&bg).unwrap().trim().parse().unwrap();
    sup.extra_pids.push(child);
    let t0 = Instant::now();
    sup.send("d");
    wait_until(LONG, "HUP as stop signal", || {
        lines(&marks).contains(&"hup".into())
    });
    wait_down(&dir);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "waited for timeout-kill: {took:?}"
    );
    assert_eq!(lines(&fin), vec!["-1 9".to_string()]);
    assert!(!pid_alive(pid));
    wait_until(LONG, "group member killed too", || !pid_alive(child));
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
}

#[test]
fn timeout_finish_kills_a_hanging_finish() {
    let tmp = TempDir::new("sup-tf");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    write_script(dir.join("finish"), "#!/bin/sh\nexec sleep 1000\n");
    fs::write(dir.join("timeout-finish"), "200").unwrap();
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    sup.send("d");
    wait_until(LONG, "finish running", || {
        status(&dir).is_some_and(|s| s.state_byte == 2 && s.pid != 0)
    });
    let fpid = status(&dir).unwrap().pid;
    assert_ne!(fpid, pid);
    wait_down(&dir);
    assert!(!pid_alive(fpid));
    assert!(
        sup.stderr_text().contains("./finish timed out"),
        "{}",
        sup.stderr_text()
    );
}

#[test]
fn notification_fd_records_readiness() {
    let tmp = TempDir::new("sup-ready");
    let go = tmp.join("go");
    let dir = service(
        &tmp,
        "s",
        &format!(
            "#!/bin/sh\nwhile [ ! -e {go} ]; do sleep 0.02; done\necho >&5\nexec sleep 1000\n",
            go = go.display()
        ),
    );
    fs::write(dir.join("notification-fd"), "5\n").unwrap();
    let sup = Sup::start(&dir);
    wait_running(&dir);
    let ext = ext_status(&dir).unwrap();
    assert!(!ext.ready && ext.ready_since.is_none());
    fs::write(&go, "").unwrap();
    wait_until(LONG, "ready", || ext_status(&dir).unwrap().ready);
    assert!(ext_status(&dir).unwrap().ready_since.is_some());
    sup.send("t");
    wait_until(LONG, "not ready after restart", || {
        let e = ext_status(&dir).unwrap();
        e.starts == 2 && e.state == "run"
    });
    // The second run finds `go` and is ready at once.
    wait_until(LONG, "ready again", || ext_status(&dir).unwrap().ready);
}

#[test]
fn restart_limit_marks_failed_and_u_revives() {
    let tmp = TempDir::new("sup-limit");
    let dir = service(&tmp, "s", "#!/bin/sh\nexit 7\n");
    fs::write(dir.join("restart-limit"), "2 60").unwrap();
    fs::write(dir.join("restart-backoff"), "50 100").unwrap();
    let sup = Sup::start(&dir);
    wait_until(LONG, "failed", || {
        ext_status(&dir).is_some_and(|e| e.failed)
    });
    let e = ext_status(&dir).unwrap();
    assert_eq!(e.starts, 3, "first start + 2 restarts");
    assert_eq!(e.last_exit, svkit::extstatus::LastExit::Code(7));
    let st = status(&dir).unwrap();
    assert_eq!(
        (st.state_byte, st.want_byte),
        (0, b'd'),
        "failed shows want down"
    );
    assert!(sup.stderr_text().contains("restart limit reached"));
    std::thread::sleep(Duration::from_millis(300)); // observation window
    assert_eq!(ext_status(&dir).unwrap().starts, 3, "not restarted");
    sup.send("u");
    wait_until(LONG, "revived and failed again", || {
        ext_status(&dir).is_some_and(|e| e.starts == 6 && e.failed)
    });
}

#[test]
fn restart_backoff_grows_and_default_keeps_one_second_rule() {
    let tmp = TempDir::new("sup-backoff");
    let times = tmp.join("times");
    let run = format!("#!/bin/sh\ndate +%s%N >> {}\nexit 1\n", times.display());
    let dir = service(&tmp, "s", &run);
    fs::write(dir.join("restart-backoff"), "100 400").unwrap();
    let _sup = Sup::start(&dir);
    wait_until(LONG, "6 starts", || lines(&times).len() >= 6);
    let t: Vec<u64> = lines(&times).iter().map(|l| l.parse().unwrap()).collect();
    let gaps: Vec<u64> = t.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
    // 100, 200, 400, 400, 400 ms (+ process start-up time).
    assert!(gaps[0] >= 95 && gaps[0] < 800, "{gaps:?}");
    assert!(gaps[1] >= 195, "{gaps:?}");
    assert!(gaps[2] >= 395 && gaps[3] >= 395, "{gaps:?}");
    assert!(
        gaps[4] < 1200,
        "capped at 400 ms (uncapped would be 1600): {gaps:?}"
    );

    // Default: runit's rule, one start per second.
    let times2 = tmp.join("times2");
    let dir2 = service(
        &tmp,
        "s2",
        &format!("#!/bin/sh\ndate +%s%N >> {}\nexit 1\n", times2.display()),
    );
    let _sup2 = Sup::start(&dir2);
    wait_until(LONG, "3 starts", || lines(&times2).len() >= 3);
    let t: Vec<u64> = lines(&times2).iter().map(|l| l.parse().unwrap()).collect();
    for w in t.windows(2) {
        assert!(w[1] - w[0] >= 950_000_000, "≥1 s between starts: {t:?}");
    }
}

#[test]
fn bad_setting_values_warn_once_each_and_use_defaults() {
    let tmp = TempDir::new("sup-bad");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    let bad = [
        ("down-signal", "SIGFOO"),
        ("timeout-kill", "abc"),
        ("timeout-finish", "-5"),
        ("notification-fd", "two"),
        ("restart-backoff", "100"),
        ("restart-limit", "many"),
    ];
    for (f, v) in bad {
        fs::write(dir.join(f), format!("{v}\n")).unwrap();
    }
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    let err = sup.stderr_text();
    for (f, v) in bad {
        let line = format!(
            "supervise: warning: {}/{f}: invalid value: {v}\n",
            dir.display()
        );
        assert_eq!(err.matches(&line).count(), 1, "{line} in {err}");
    }
    // Defaults in effect: TERM stops it (down-signal), finish not needed.
    sup.send("d");
    wait_down(&dir);
    assert!(!pid_alive(pid));
}

/// Issue 13, finding 8: a settings file that is a FIFO, a directory or a
/// huge file must neither hang nor bloat supervise (before: `open` of the
/// FIFO blocked for good, so `run` never started), and `down-signal 19`
/// (STOP by number) is refused like STOP by name.
#[test]
fn unreadable_settings_files_and_stop_by_number_warn_and_use_defaults() {
    let tmp = TempDir::new("sup-hostile");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    fs::write(dir.join("down-signal"), "19\n").unwrap();
    nix::unistd::mkfifo(
        &dir.join("timeout-kill"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    fs::create_dir(dir.join("restart-limit")).unwrap();
    fs::write(dir.join("restart-backoff"), "1".repeat(5_000_000)).unwrap();
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    let d = dir.display();
    let want = [
        format!("supervise: warning: {d}/down-signal: invalid value: 19\n"),
        format!("supervise: warning: {d}/timeout-kill: ignored: not a regular file but a fifo\n"),
        format!(
            "supervise: warning: {d}/restart-backoff: ignored: too large (5000000 bytes, at most 4096)\n"
        ),
        format!(
            "supervise: warning: {d}/restart-limit: ignored: not a regular file but a directory\n"
        ),
    ];
    let err = sup.stderr_text();
    for line in &want {
        assert_eq!(err.matches(line.as_str()).count(), 1, "{line} in {err}");
    }
    assert_eq!(err.lines().count(), want.len(), "{err}");
    // The default down-signal (TERM) stops it.
    sup.send("d");
    wait_down(&dir);
    assert!(!pid_alive(pid));
}

#[test]
fn idle_supervise_never_wakes_up() {
    let tmp = TempDir::new("sup-idle");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    common::write_script(dir.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    let sup = Sup::start(&dir);
    wait_running(&dir);
    wait_running(&dir.join("log"));
    // Start-up is over (status written, children reaped) once supervise
    // blocks in poll; then observe.
    wait_blocked_in_poll(sup.pid());
    let before = ctxt_switches(sup.pid());
    std::thread::sleep(Duration::from_millis(2500)); // observation window
    let after = ctxt_switches(sup.pid());
    assert_eq!(before, after, "supervise woke up while idle");
}

#[test]
fn vanished_service_directory_stops_service_and_exits() {
    let tmp = TempDir::new("sup-gone");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    let mut sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    sup.extra_pids.push(pid);
    fs::remove_dir_all(&dir).unwrap();
    // Noticed at the next wakeup; SIGHUP is the documented nudge.
    sup.guard.signal(libc::SIGHUP);
    let code = sup.wait_exit();
    assert_eq!(code, Some(111), "stderr: {}", sup.stderr_text());
    assert!(!pid_alive(pid), "service stopped");
    assert!(
        sup.stderr_text().contains("service directory removed"),
        "{}",
        sup.stderr_text()
    );
    assert!(!sup.stderr_text().contains("panicked"));

    // The service dying after its directory vanished is noticed as well
    // (no restart attempt from a directory that is gone).
    let dir = service(&tmp, "s2", "#!/bin/sh\nexec sleep 1000\n");
    let mut sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    sup.extra_pids.push(pid);
    fs::remove_dir_all(&dir).unwrap();
    kill_group(pid);
    assert_eq!(sup.wait_exit(), Some(111), "stderr: {}", sup.stderr_text());
    assert!(sup.stderr_text().contains("service directory removed"));
}

#[test]
fn control_that_is_not_a_fifo_is_fatal_and_log_file_is_warned() {
    let tmp = TempDir::new("sup-badfifo");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    fs::create_dir_all(dir.join("supervise")).unwrap();
    fs::write(dir.join("supervise/control"), "").unwrap();
    fs::write(dir.join("log"), "not a dir").unwrap();
    let out = Command::new(bin("supervise")).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(111));
    let err = String::from_utf8_lossy(&out.stderr);
    let d = dir.display();
    assert_eq!(
        err,
        format!(
            "supervise: warning: {d}/log: not a directory\n\
             supervise: fatal: {d}/supervise/control exists but is not a fifo\n"
        )
    );
    assert!(!dir.join("supervise/status").exists(), "nothing written");
}

#[test]
fn dangling_supervise_symlink_gets_its_target_created() {
    let tmp = TempDir::new("sup-link");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    common::write_script(dir.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    let target = tmp.join("state-s");
    std::os::unix::fs::symlink(&target, dir.join("supervise")).unwrap();
    std::os::unix::fs::symlink("../../state-log", dir.join("log/supervise")).unwrap();
    let _sup = Sup::start(&dir);
    wait_running(&dir);
    wait_running(&dir.join("log"));
    assert!(target.join("status").exists());
    assert!(tmp.join("state-log/status").exists());
    assert_eq!(mode(&target), 0o700);
}

#[test]
fn svkit_log_pipe_is_used_for_service_and_logger() {
    let tmp = TempDir::new("sup-extpipe");
    let out = tmp.join("logged");
    let dir = service(
        &tmp,
        "s",
        "#!/bin/sh\necho hello; env | grep -c SVKIT_LOG_PIPE; exec sleep 1000\n",
    );
    write_script(
        dir.join("log/run"),
        &format!("#!/bin/sh\nexec cat >> {}\n", out.display()),
    );
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    use std::os::fd::AsRawFd;
    let (rr, wr) = (r.as_raw_fd(), w.as_raw_fd());
    let mut sup = Sup::start_with(&dir, |c| {
        use std::os::unix::process::CommandExt;
        c.env("SVKIT_LOG_PIPE", "40,41");
        // SAFETY: dup2 is async-signal-safe; it places our pipe at 40/41
        // in the child only (the originals stay close-on-exec).
        unsafe {
            c.pre_exec(move || {
                if libc::dup2(rr, 40) != 40 || libc::dup2(wr, 41) != 41 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let logger = wait_running(&dir.join("log"));
    let pid = wait_running(&dir);
    wait_until(LONG, "hello logged", || {
        lines(&out) == vec!["hello".to_string(), "0".to_string()]
    });
    let pipe_ino = format!(
        "pipe:[{}]",
        std::os::unix::fs::MetadataExt::ino(
            &fs::File::from(r.try_clone().unwrap()).metadata().unwrap()
        )
    );
    assert_eq!(
        fs::read_link(format!("/proc/{logger}/fd/0"))
            .unwrap()
            .to_string_lossy(),
        pipe_ino
    );
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/fd/1"))
            .unwrap()
            .to_string_lossy(),
        pipe_ino
    );
    // Like svscan, close our ends before `x`: the logger drains to EOF.
    drop((r, w));
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
    let log_exit = ext_status(&dir.join("log")).unwrap().last_exit;
    assert_eq!(
        log_exit,
        svkit::extstatus::LastExit::Code(0),
        "logger saw EOF"
    );

    // If the pipe's creator keeps its ends, EOF never comes: after a grace
    // period the logger gets its stop signal, and supervise still exits 0.
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let (rr, wr) = (r.as_raw_fd(), w.as_raw_fd());
    let mut sup = Sup::start_with(&dir, |c| {
        use std::os::unix::process::CommandExt;
        c.env("SVKIT_LOG_PIPE", "40,41");
        // SAFETY: as above.
        unsafe {
            c.pre_exec(move || {
                if libc::dup2(rr, 40) != 40 || libc::dup2(wr, 41) != 41 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    wait_running(&dir.join("log"));
    wait_running(&dir);
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
    let log_exit = ext_status(&dir.join("log")).unwrap().last_exit;
    assert_eq!(log_exit, svkit::extstatus::LastExit::Signal(libc::SIGTERM));
    drop((r, w));
}

#[test]
fn control_scripts_override_signals_with_clean_mask() {
    let tmp = TempDir::new("sup-ctlscripts");
    let marks = tmp.join("marks");
    let dir = service(
        &tmp,
        "s",
        &format!(
            "#!/bin/sh\ntrap 'echo hup >> {m}' HUP\nwhile :; do sleep 0.05; done\n",
            m = marks.display()
        ),
    );
    write_script(
        dir.join("control/h"),
        &format!(
            "#!/bin/sh\nexec grep -E '^Sig(Blk|Ign)' /proc/self/status >> {m}\n",
            m = marks.display()
        ),
    );
    write_script(
        dir.join("control/a"),
        &format!(
            "#!/bin/sh\necho a-script >> {m}\nexit 1\n",
            m = marks.display()
        ),
    );
    write_script(
        dir.join("control/u"),
        &format!("#!/bin/sh\necho u-script >> {m}\n", m = marks.display()),
    );
    let sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    assert_eq!(
        lines(&marks),
        vec!["u-script".to_string()],
        "control/u before run"
    );
    sup.send("h");
    wait_until(LONG, "control/h ran", || {
        lines(&marks).iter().any(|l| l.starts_with("SigBlk"))
    });
    assert!(
        lines(&marks).contains(&"SigBlk:\t0000000000000000".to_string()),
        "{:?}",
        lines(&marks)
    );
    assert!(
        lines(&marks).contains(&"SigIgn:\t0000000000000000".to_string()),
        "{:?}",
        lines(&marks)
    );
    // control/a exits 1: not handled, so ALRM goes out and kills run.
    sup.send("a");
    wait_new_pid(&dir, pid);
    assert!(
        !lines(&marks).contains(&"hup".to_string()),
        "control/h handled HUP"
    );
    assert_eq!(lines(&marks).iter().filter(|l| *l == "u-script").count(), 2);
}

#[test]
fn sigkill_of_supervise_adopts_the_running_service() {
    let tmp = TempDir::new("sup-adopt");
    let starts = tmp.join("starts");
    let dir = service(
        &tmp,
        "s",
        &format!(
            "#!/bin/sh\necho $$ >> {}\nexec sleep 1000\n",
            starts.display()
        ),
    );
    common::write_script(dir.join("log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    let fin = tmp.join("fin");
    write_script(
        dir.join("finish"),
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", fin.display()),
    );
    // A subreaper parent reaps the orphaned service once it exits.
    let reaper = Subreaper::start(&dir);
    let pid = wait_running(&dir);
    let logger = wait_running(&dir.join("log"));
    let first = reaper.supervise_pid();
    // SAFETY: SIGKILL to the supervise this test started (via the reaper).
    unsafe {
        libc::kill(first as i32, libc::SIGKILL);
    }
    wait_until(LONG, "supervise restarted", || {
        reaper.supervise_pid() != first && listening(&dir)
    });
    // Give the new supervise time to (wrongly) start a second copy.
    std::thread::sleep(Duration::from_millis(500)); // observation window
    assert_eq!(lines(&starts).len(), 1, "run started only once");
    assert_eq!(status(&dir).unwrap().pid, pid);
    assert_eq!(status(&dir.join("log")).unwrap().pid, logger);
    assert!(pid_alive(pid) && pid_alive(logger));
    let ext = wait_ext(&dir, "the new supervisor", |e| {
        e.supervisor_pid == reaper.supervise_pid()
    });
    assert_eq!(ext.starts, 1);
    assert_eq!(ext.pid, pid);
    // `x` stops the adopted service; its wait status is unknown to us, so
    // finish gets "-1 0" and last_exit is none; then supervise exits.
    send(&dir, "x");
    wait_until(LONG, "supervise exited", || !listening(&dir));
    assert!(!pid_alive(pid) && !pid_alive(logger));
    assert_eq!(lines(&fin), vec!["-1 0".to_string()]);
    assert_eq!(
        ext_status(&dir).unwrap().last_exit,
        svkit::extstatus::LastExit::None
    );
    assert_eq!(lines(&starts).len(), 1);
}

/// Runs supervise under a child subreaper (this test binary re-executed
/// as `subreaper_helper`), restarting supervise whenever it dies.
struct Subreaper {
    sup: Sup,
    pidfile: std::path::PathBuf,
}

impl Subreaper {
    fn start(dir: &Path) -> Subreaper {
        let pidfile = dir.with_extension("suppid");
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--exact",
            "subreaper_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SVKIT_TEST_SUBREAPER_DIR", dir)
        .env("SVKIT_TEST_SUBREAPER_PIDFILE", &pidfile)
        .env("SVKIT_TEST_SUPERVISE", bin("supervise"))
        .stdout(std::process::Stdio::null());
        let guard = common::Guard::spawn(&mut cmd);
        let sup = Sup {
            guard,
            dir: dir.to_path_buf(),
            stderr: dir.with_extension("stderr"),
            extra_pids: Vec::new(),
        };
        let r = Subreaper { sup, pidfile };
        wait_until(LONG, "supervise under subreaper", || r.supervise_pid() != 0);
        r
    }

    fn supervise_pid(&self) -> u32 {
        fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Subreaper {
    fn drop(&mut self) {
        let p = self.supervise_pid();
        if p != 0 {
            kill_group(p);
        }
        let _ = &self.sup;
    }
}

/// Not a test on its own: with SVKIT_TEST_SUBREAPER_DIR set it becomes a
/// child subreaper that runs supervise (again after each death, at most
/// twice) and reaps every orphan.
#[test]
fn subreaper_helper() {
    let Some(dir) = std::env::var_os("SVKIT_TEST_SUBREAPER_DIR") else {
        return;
    };
    let pidfile = std::env::var_os("SVKIT_TEST_SUBREAPER_PIDFILE").unwrap();
    let supervise = std::env::var_os("SVKIT_TEST_SUPERVISE").unwrap();
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let stderr = Path::new(&dir).with_extension("stderr");
    for _ in 0..2 {
        // Reaped by the waitpid(-1) loop below, not through `Child`.
        #[allow(clippy::zombie_processes)]
        let child = Command::new(&supervise)
            .arg(&dir)
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let tmp = Path::new(&pidfile).with_extension("tmp");
        fs::write(&tmp, format!("{}\n", child.id())).unwrap();
        fs::rename(&tmp, &pidfile).unwrap();
        // Reap everything (orphans included) until supervise itself exits.
        loop {
            let mut st = 0;
            // SAFETY: waitpid with a valid status pointer.
            let p = unsafe { libc::waitpid(-1, &mut st, 0) };
            if p == child.id() as i32 || p < 0 {
                break;
            }
        }
    }
    loop {
        let mut st = 0;
        // SAFETY: as above.
        if unsafe { libc::waitpid(-1, &mut st, 0) } < 0 {
            break;
        }
    }
    let _ = wait_for(Duration::from_millis(1), || Some(()));
}

#[test]
fn hanging_control_script_is_killed_after_its_timeout() {
    let tmp = TempDir::new("sup-ctltimeout");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    let spid = tmp.join("script-pid");
    write_script(
        dir.join("control/t"),
        &format!("#!/bin/sh\necho $$ > {}\nexec sleep 1000\n", spid.display()),
    );
    let mut sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    let t0 = Instant::now();
    sup.send("t");
    wait_until(LONG, "control/t started", || spid.exists());
    let script: u32 =
        wait_for(LONG, || fs::read_to_string(&spid).ok()?.trim().parse().ok()).unwrap();
    sup.extra_pids.push(script);
    // Not handled after the 5 s timeout: TERM goes out, run restarts.
    wait_new_pid(&dir, pid);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(4900), "{took:?}");
    assert!(!pid_alive(script));
    assert!(
        sup.stderr_text().contains("./control/t timed out after 5s"),
        "{}",
        sup.stderr_text()
    );
    // supervise kept working afterwards.
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
}

#[test]
fn exit_leaves_the_down_state_on_disk() {
    // The last write before supervise exits is made in place (no new
    // inodes); the files must still say what happened, whole.
    let tmp = TempDir::new("sup-final");
    let dir = service(&tmp, "s", "#!/bin/sh\nexec sleep 1000\n");
    let mut sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    sup.guard.signal(libc::SIGTERM);
    assert_eq!(sup.wait_exit(), Some(0));
    assert!(!pid_alive(pid));
    let st = status(&dir).expect("status readable after exit");
    assert_eq!((st.pid, st.state()), (0, Some(svkit::status::State::Down)));
    assert_eq!(raw_status(&dir).unwrap().len(), 20);
    assert_eq!(stat_text(&dir), "down\n");
    assert_eq!(fs::read(dir.join("supervise/pid")).unwrap(), b"");
    let ext = ext_status(&dir).expect("svkit-status parses after exit");
    assert_eq!(ext.state, "down");
    assert_eq!(
        ext.last_exit,
        svkit::extstatus::LastExit::Signal(libc::SIGTERM)
    );
    let leftovers: Vec<_> = fs::read_dir(dir.join("supervise"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
