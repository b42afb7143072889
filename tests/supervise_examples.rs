//! The service directories in service-examples/ run under supervise.

mod common;
mod supervise_common;

use common::{bin, wait_until, TempDir};
use std::path::Path;
use std::process::Command;
use supervise_common::*;

/// Copies service-examples/NAME into `tmp` (the examples stay pristine).
fn example(tmp: &TempDir, name: &str) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("service-examples")
        .join(name);
    let st = Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(st.success());
    tmp.join(name)
}

/// PATH with the cargo bin dir first, so `exec svlog` finds ours.
fn path_with_bins() -> std::ffi::OsString {
    let dir = bin("supervise").parent().unwrap().to_path_buf();
    let mut p = std::ffi::OsString::from(dir);
    p.push(":");
    p.push(std::env::var_os("PATH").unwrap_or_default());
    p
}

#[test]
fn web_example_runs_with_its_logger() {
    let tmp = TempDir::new("sup-ex-web");
    let dir = example(&tmp, "web");
    let path = path_with_bins();
    let mut sup = Sup::start_with(&dir, |c| {
        c.env("PATH", &path).env_remove("PORT");
    });
    let pid = wait_running(&dir);
    let log = dir.join("log");
    wait_until(LONG, "logger started", || {
        ext_status(&log).is_some_and(|e| e.starts >= 1)
    });
    let current = log.join("main/current");
    wait_until(LONG, "web's first line logged by svlog", || {
        std::fs::read_to_string(&current)
            .is_ok_and(|t| t.contains(&format!("web: starting (pid {pid})")))
    });
    // run traps TERM and exits 0; finish's line goes through the same pipe.
    send(&dir, "t");
    wait_until(LONG, "stop and finish lines logged", || {
        std::fs::read_to_string(&current).is_ok_and(|t| {
            t.contains("web: stopping") && t.contains("web: run exited: code=0 status=0")
        })
    });
    sup.send("x");
    assert_eq!(sup.wait_exit(), Some(0));
}

#[test]
fn ready_example_declares_readiness() {
    let tmp = TempDir::new("sup-ex-ready");
    let dir = example(&tmp, "ready");
    let _sup = Sup::start(&dir);
    wait_running(&dir);
    // svkit-status is written just after status: wait for it.
    let ext = wait_ext(&dir, "svkit-status of the run", |e| e.state == "run");
    assert!(!ext.ready, "not ready during its 1 s init");
    wait_until(LONG, "ready", || {
        ext_status(&dir).is_some_and(|e| e.ready && e.ready_since.is_some())
    });
}
