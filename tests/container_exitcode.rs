//! Exit-code precedence fed with real process statuses: the phusion#583
//! regression (a killed command must not give 0) and the exitcode file a
//! script writes.

mod common;

use std::process::Command;
use svkit::container::exitcode::{self, ExitState, OnSignal, Options, ProcStatus};

fn status_of(script: &str) -> ProcStatus {
    let st = Command::new("sh").arg("-c").arg(script).status().unwrap();
    ProcStatus::from_exit_status(st).expect("exited or signalled")
}

#[test]
fn killed_command_never_exits_zero() {
    for (script, want) in [
        ("exit 42", 42),
        ("exit 0", 0),
        ("kill -KILL $$", 137), // what an OOM kill looks like
        ("kill -SEGV $$", 139),
        ("kill -TERM $$", 143),
    ] {
        let mut s = ExitState::new();
        s.cmd_exited(status_of(script));
        let d = s.decide(&Options::default(), None);
        assert_eq!(d.code, want, "{script}: {}", d.reason);
    }
}

#[test]
fn docker_stop_with_remap_and_on_signal() {
    // TERM arrives, svscan stops the command, which has no TERM handler.
    let mut s = ExitState::new();
    s.signal(libc::SIGTERM);
    s.cmd_exited(status_of("kill -TERM $$"));
    assert_eq!(s.decide(&Options::default(), None).code, 143);
    let tini_e = Options {
        on_signal: OnSignal::Code(0),
        remap: exitcode::parse_remap("143:0").unwrap(),
    };
    assert_eq!(s.decide(&tini_e, None).code, 0);
    // No command: the signal alone decides.
    let mut s = ExitState::new();
    s.signal(libc::SIGTERM);
    assert_eq!(s.decide(&Options::default(), None).code, 0);
    let plus = Options {
        on_signal: OnSignal::parse("128+").unwrap(),
        remap: vec![],
    };
    assert_eq!(s.decide(&plus, None).code, 143);
}

#[test]
fn exitcode_file_written_by_a_script_wins() {
    let t = common::TempDir::new("exitcode-file");
    let rundir = t.path();
    let st = Command::new("sh")
        .arg("-c")
        .arg("echo 5 > \"$1/exitcode\"")
        .arg("sh")
        .arg(rundir)
        .status()
        .unwrap();
    assert!(st.success());
    let mut s = ExitState::new();
    s.essential_exited("web", status_of("exit 3"));
    s.halt(None);
    let file = exitcode::read_exitcode_file(rundir).unwrap();
    let d = s.decide(&Options::default(), file);
    assert_eq!((d.code, d.reason.as_str()), (5, "exitcode file says 5"));
    // Without the file the essential service's status decides.
    std::fs::remove_file(rundir.join("exitcode")).unwrap();
    assert_eq!(
        s.decide(
            &Options::default(),
            exitcode::read_exitcode_file(rundir).unwrap()
        )
        .code,
        3
    );
}
