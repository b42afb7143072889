//! runit's own `sv` (Debian runit 2.1.2) drives our supervise exactly as
//! it drives runsv: the same command sequence against both supervisors
//! must print the same lines (pids and seconds normalised) and exit with
//! the same codes.

mod common;
mod supervise_common;

use common::{wait_until, write_script, Guard, TempDir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use supervise_common::*;

#[derive(Clone, Copy, Debug)]
enum Which {
    Runsv,
    Svkit,
}

/// A supervisor of either kind on `root/name`, cleaned up on drop.
enum Running {
    Runsv(#[allow(dead_code)] Guard, PathBuf),
    Svkit(#[allow(dead_code)] Sup),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Runsv(_, dir) = self {
            // runsv does not setsid its children: the guard's group kill
            // reaches them; the recorded pids are a second net.
            for d in [dir.clone(), dir.join("log")] {
                if let Ok(p) = fs::read_to_string(d.join("supervise/pid")) {
                    if let Ok(p) = p.trim().parse::<u32>() {
                        if p != 0 {
                            // SAFETY: kill(2) on a process our runsv started.
                            unsafe {
                                libc::kill(p as i32, libc::SIGKILL);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn start(which: Which, dir: &Path) -> Running {
    match which {
        Which::Runsv => {
            let mut cmd = Command::new("runsv");
            cmd.arg(dir).stdin(Stdio::null()).stdout(Stdio::null());
            Running::Runsv(Guard::spawn(&mut cmd), dir.to_path_buf())
        }
        Which::Svkit => Running::Svkit(Sup::start(dir)),
    }
}

/// Replaces `(pid 123)` with `(pid P)` and `12s` with `Ns`.
fn normalize(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("(pid ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let end = rest.find(')').unwrap_or(0);
        out.push('P');
        rest = &rest[end..];
    }
    out.push_str(rest);
    // Seconds: a run of digits followed by 's' and a separator.
    let b = out.as_bytes();
    let mut res = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || b[i - 1] == b' ') {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j < b.len()
                && b[j] == b's'
                && (j + 1 == b.len() || matches!(b[j + 1], b',' | b';' | b'\n'))
            {
                res.push_str("Ns");
                i = j + 1;
                continue;
            }
        }
        res.push(b[i] as char);
        i += 1;
    }
    res
}

fn sv(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("sv")
        .args(args)
        .current_dir(cwd)
        .env_remove("SVDIR")
        .output()
        .expect("run sv");
    // With several services, `sv -w` prints them in the order they pass,
    // which is timing, not protocol: compare the lines as a set.
    let mut lines: Vec<String> = normalize(&String::from_utf8_lossy(&out.stdout))
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    lines.sort();
    format!(
        "$ sv {}\n{}{}[rc {}]\n",
        args.join(" "),
        lines.concat(),
        normalize(&String::from_utf8_lossy(&out.stderr)),
        out.status.code().unwrap_or(-1)
    )
}

fn make_services(root: &Path) {
    write_script(root.join("svc/run"), "#!/bin/sh\nexec sleep 1000\n");
    write_script(root.join("svc/log/run"), "#!/bin/sh\nexec cat >/dev/null\n");
    write_script(root.join("lazy/run"), "#!/bin/sh\nexec sleep 1000\n");
    fs::write(root.join("lazy/down"), "").unwrap();
}

/// The transcript of one scenario against one kind of supervisor.
fn transcript(which: Which, tmp: &TempDir) -> String {
    let root = tmp.join(format!("{which:?}"));
    make_services(&root);
    let svc = root.join("svc");
    let lazy = root.join("lazy");
    let _a = start(which, &svc);
    let _b = start(which, &lazy);
    wait_running(&svc);
    wait_running(&svc.join("log"));
    wait_until(LONG, "lazy listening", || {
        listening(&lazy) && status(&lazy).is_some()
    });

    let mut t = String::new();
    // `stat` text and the non-time bytes of `status` must match too.
    let files = |d: &Path| {
        let raw = raw_status(d).unwrap();
        format!(
            "stat={:?} status[16..20]={:?} len={} pid-file-empty={}\n",
            stat_text(d),
            &raw[16..20],
            raw.len(),
            fs::read_to_string(d.join("supervise/pid"))
                .unwrap()
                .is_empty()
        )
    };
    t += &sv(&root, &["status", "./svc", "./lazy"]);
    t += &sv(&root, &["-w", "5", "down", "./svc"]);
    t += &sv(&root, &["status", "./svc"]);
    t += &files(&svc);
    t += &sv(&root, &["-w", "5", "up", "./svc", "./lazy"]);
    t += &sv(&root, &["status", "./svc", "./lazy"]);
    // restart (`tcu`) with want up: sv may see the old or the new run
    // (runit quirk Q11), both print the same line; wait for the new one.
    let old = status(&svc).unwrap().pid;
    t += &sv(&root, &["-w", "5", "restart", "./svc"]);
    wait_until(LONG, "restarted", || {
        status(&svc).is_some_and(|s| s.pid != old && s.pid != 0 && s.state_byte == 1 && !s.got_term)
    });
    t += &sv(&root, &["status", "./svc"]);
    t += &files(&svc);
    t += &sv(&root, &["-w", "5", "once", "./svc"]);
    t += &sv(&root, &["status", "./svc"]);
    t += &files(&svc);
    t += &sv(&root, &["pause", "./svc"]);
    wait_until(LONG, "paused", || status(&svc).is_some_and(|s| s.paused));
    t += &sv(&root, &["status", "./svc"]);
    t += &files(&svc);
    t += &sv(&root, &["cont", "./svc"]);
    wait_until(LONG, "continued", || {
        status(&svc).is_some_and(|s| !s.paused)
    });
    t += &sv(&root, &["-w", "5", "down", "./lazy"]);
    t += &sv(&root, &["status", "./lazy"]);
    t += &files(&lazy);
    t += &sv(&root, &["-w", "5", "exit", "./svc", "./lazy"]);
    t += &sv(&root, &["status", "./svc", "./lazy"]);
    t
}

#[test]
fn sv_output_is_the_same_for_runsv_and_supervise() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("sup-interop");
    let runsv = transcript(Which::Runsv, &tmp);
    let ours = transcript(Which::Svkit, &tmp);
    assert_eq!(
        ours, runsv,
        "\n--- svkit ---\n{ours}\n--- runsv ---\n{runsv}"
    );
    // The transcript really exercised both states.
    assert!(runsv.contains("ok: down: ./svc"), "{runsv}");
    assert!(runsv.contains("run: log: (pid P)"), "{runsv}");
}

#[test]
fn sv_reports_a_killed_supervise_as_not_running() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("sup-interop-dead");
    write_script(tmp.join("s/run"), "#!/bin/sh\nexec sleep 1000\n");
    let dir = tmp.join("s");
    let mut sup = Sup::start(&dir);
    wait_running(&dir);
    sup.guard.signal(libc::SIGKILL);
    sup.guard.wait_timeout(LONG);
    let out = sv(tmp.path(), &["status", "./s"]);
    assert_eq!(
        out,
        "$ sv status ./s\nfail: ./s: runsv not running\n[rc 1]\n"
    );
}

#[test]
fn daemontools_svstat_and_svok_read_our_files() {
    if !common::require(&[common::Need::Daemontools]) {
        return;
    }
    if Command::new("svok").arg("/nonexistent").output().is_err() {
        eprintln!("skipped: daemontools not installed");
        return;
    }
    let tmp = TempDir::new("sup-interop-dt");
    write_script(tmp.join("s/run"), "#!/bin/sh\nexec sleep 1000\n");
    let dir = tmp.join("s");
    let _sup = Sup::start(&dir);
    let pid = wait_running(&dir);
    let ok = Command::new("svok").arg(&dir).status().unwrap();
    assert!(ok.success());
    let out = Command::new("svstat").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("{}: up (pid {pid}) ", dir.display())),
        "{text}"
    );
}
