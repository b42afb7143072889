//! svctl's container commands against a runtime directory made by the
//! test (SVKIT_RUNDIR): `exec` and `env` read an environment dump written
//! with the library's own writer, `halt` writes `exitcode` and sends
//! SIGTERM to the pid in `svscan.pid` (a trap script the test started).

mod common;

use common::{bin, wait_until, write_script, Guard, TempDir};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use svkit::container::envdump::{write_dump, DumpOptions, EnvMap};

const T: Duration = Duration::from_secs(10);

fn svctl(rundir: &Path, args: &[&str]) -> Output {
    Command::new(bin("svctl"))
        .args(args)
        .env_clear()
        .env("SVKIT_RUNDIR", rundir)
        .env("PATH", "/usr/bin:/bin")
        .env("OUTER_ONLY", "must-not-leak")
        .output()
        .expect("run svctl")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// A runtime dir holding a dump of a small, known environment.
fn rundir_with_dump(tag: &str) -> TempDir {
    let tmp = TempDir::new(tag);
    let mut env = EnvMap::new();
    env.insert("PATH".into(), "/usr/bin:/bin".into());
    env.insert("GREETING".into(), "hello world".into());
    env.insert("QUOTED".into(), "it's \"x\"".into());
    env.insert("HOME".into(), "/root-of-svscan".into());
    env.insert(OsString::from("SVKIT_RUNDIR"), tmp.path().into());
    write_dump(tmp.path(), &env, &DumpOptions::default()).unwrap();
    tmp
}

#[test]
fn exec_runs_the_command_with_the_captured_environment() {
    let rd = rundir_with_dump("exec-env");
    let o = svctl(rd.path(), &["exec", "--", "env"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    let want_rundir = format!("SVKIT_RUNDIR={}", rd.path().display());
    let mut want = vec![
        "GREETING=hello world",
        "HOME=/root-of-svscan",
        "PATH=/usr/bin:/bin",
        "QUOTED=it's \"x\"",
        want_rundir.as_str(),
    ];
    want.sort_unstable();
    assert_eq!(lines, want, "exactly the captured environment");
    // CMD is looked up in PATH and its exit status is passed through.
    let o = svctl(rd.path(), &["exec", "sh", "-c", "exit 5"]);
    assert_eq!(code(&o), 5);
}

#[test]
fn exec_as_another_user_sets_ids_and_home() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let rd = rundir_with_dump("exec-user");
    let script = "echo $(id -u) $(id -g) $(id -G) $HOME $USER $LOGNAME";
    let o = svctl(
        rd.path(),
        &["exec", "-u", "nobody", "--", "sh", "-c", script],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let nobody: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("nobody in /etc/passwd")
        .split(':')
        .collect();
    let (uid, gid, home) = (nobody[2], nobody[3], nobody[5]);
    assert_eq!(
        text(&o.stdout).trim(),
        format!("{uid} {gid} {gid} {home} nobody nobody")
    );
    // Numeric ids need no account; the names fall back to the uid.
    let o = svctl(
        rd.path(),
        &["exec", "-u", ":65532:65533", "sh", "-c", script],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "65532 65533 65533 / 65532 65532");
}

#[test]
fn env_prints_plain_sh_and_json() {
    let rd = rundir_with_dump("env-formats");
    let o = svctl(rd.path(), &["env"]);
    assert_eq!(code(&o), 0);
    assert!(text(&o.stdout).contains("GREETING=hello world\n"));
    assert!(!text(&o.stdout).contains("OUTER_ONLY"));
    let o = svctl(rd.path(), &["env", "--sh"]);
    assert_eq!(code(&o), 0);
    let sh = text(&o.stdout);
    assert!(sh.contains("export GREETING='hello world'\n"), "{sh}");
    // The shell form round-trips through a real shell.
    let o2 = Command::new("sh")
        .arg("-c")
        .arg(format!("{sh}\nprintf %s \"$QUOTED\""))
        .output()
        .unwrap();
    assert_eq!(text(&o2.stdout), "it's \"x\"");
    let o = svctl(rd.path(), &["env", "--json"]);
    assert_eq!(code(&o), 0);
    let json = text(&o.stdout);
    assert!(json.starts_with('{') && json.ends_with("}\n"), "{json}");
    assert!(json.contains(r#""QUOTED":"it's \"x\"""#), "{json}");
}

#[test]
fn bad_input_gives_one_clear_line_and_documented_codes() {
    let empty = TempDir::new("no-dump");
    let rd = rundir_with_dump("errors");
    // Not readable for this user: the line says why.
    if common::is_root() {
        let o = Command::new(bin("chpst"))
            .args(["-u", ":65532:65532"])
            .arg(bin("svctl"))
            .arg("env")
            .env("SVKIT_RUNDIR", rd.path())
            .output()
            .unwrap();
        assert_eq!(code(&o), 111);
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("access denied") && err.contains("SVSCAN_ENV_GROUP"),
            "{err}"
        );
    }
    // No dump: 111, and the line says what is missing.
    for args in [&["exec", "env"][..], &["env"][..]] {
        let o = svctl(empty.path(), args);
        assert_eq!(code(&o), 111, "{args:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "svctl: fatal: unable to read the captured environment {}/env: file does not exist",
                empty.path().display()
            )),
            "{err}"
        );
    }
    let cases: &[(&[&str], i32, &str)] = &[
        (&["exec"], 100, "svctl: exec: no command given"),
        (&["exec", "--"], 100, "no command given"),
        (&["exec", "-u"], 100, "requires an argument"),
        (&["exec", "-z", "ls"], 100, "illegal option"),
        (&["env", "--yaml"], 100, "unknown argument"),
        (&["halt", "256"], 100, "out of range"),
        (&["halt", "x"], 100, "invalid exit code"),
        (&["halt", "1", "2"], 100, "too many arguments"),
        (
            &["exec", "-u", "no-such-user-svkit", "id"],
            111,
            "svctl: fatal: unknown user/group: no-such-user-svkit",
        ),
        (
            &["exec", "no-such-command-svkit"],
            127,
            "svctl: fatal: unable to run no-such-command-svkit: file does not exist",
        ),
        (&["exec", "/etc/passwd"], 126, "unable to run /etc/passwd"),
    ];
    for (args, want, msg) in cases {
        let o = svctl(rd.path(), args);
        let err = text(&o.stderr);
        assert_eq!(code(&o), *want, "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    // halt without svscan: nothing written, exact message.
    let o = svctl(rd.path(), &["halt", "7"]);
    assert_eq!(code(&o), 111);
    assert_eq!(
        text(&o.stderr),
        format!(
            "svctl: fatal: unable to read {}/svscan.pid: file does not exist\n",
            rd.path().display()
        )
    );
    assert!(!rd.join("exitcode").exists());
    // A pid file naming no process, or garbage.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(rd.join("svscan.pid"), format!("{dead_pid}\n")).unwrap();
    let o = svctl(rd.path(), &["halt", "7"]);
    assert_eq!(code(&o), 111);
    assert!(
        text(&o.stderr).contains("unable to signal svscan"),
        "{}",
        text(&o.stderr)
    );
    assert!(!rd.join("exitcode").exists());
    std::fs::write(rd.join("svscan.pid"), "junk\n").unwrap();
    let o = svctl(rd.path(), &["halt"]);
    assert_eq!(code(&o), 111);
    assert!(text(&o.stderr).contains("not a pid"), "{}", text(&o.stderr));
}

/// Starts a shell that records SIGTERM in `got` and exits; returns once
/// its trap is installed.
fn fake_svscan(tmp: &TempDir) -> Guard {
    let script = tmp.join("fake-svscan");
    let got = tmp.join("got");
    let armed = tmp.join("armed");
    write_script(
        &script,
        &format!(
            "#!/bin/sh\ntrap 'echo TERM > {}; exit 0' TERM\ntouch {}\n\
             while :; do sleep 1 & wait $!; done\n",
            got.display(),
            armed.display()
        ),
    );
    let g = Guard::spawn(&mut Command::new(&script));
    wait_until(T, "trap armed", || armed.exists());
    std::fs::write(tmp.join("svscan.pid"), format!("{}\n", g.pid)).unwrap();
    g
}

#[test]
fn halt_writes_the_exit_code_then_terms_svscan() {
    let rd = TempDir::new("halt");
    let mut g = fake_svscan(&rd);
    let o = svctl(rd.path(), &["halt", "7"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
    assert_eq!(std::fs::read_to_string(rd.join("exitcode")).unwrap(), "7\n");
    assert!(g.wait_timeout(T).expect("fake svscan exits").success());
    assert_eq!(std::fs::read_to_string(rd.join("got")).unwrap(), "TERM\n");

    // Without CODE nothing is written (svscan decides the code).
    let rd = TempDir::new("halt-nocode");
    let mut g = fake_svscan(&rd);
    let o = svctl(rd.path(), &["halt"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(g.wait_timeout(T).expect("fake svscan exits").success());
    assert!(rd.join("got").exists());
    assert!(!rd.join("exitcode").exists());
}

#[test]
fn called_as_sv_the_words_keep_their_runit_meaning() {
    let tmp = TempDir::new("as-sv");
    let sv = tmp.join("sv");
    std::os::unix::fs::symlink(bin("svctl"), &sv).unwrap();
    // `sv exec X` is `sv exit X`: no service there, so runit's message.
    let o = Command::new(&sv)
        .args(["exec", "/nonexistent-svkit-svc"])
        .env("SVKIT_RUNDIR", tmp.path())
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert_eq!(
        text(&o.stdout),
        "fail: /nonexistent-svkit-svc: unable to change to service directory: file does not exist\n"
    );
}

#[test]
fn help_and_man_page_describe_the_container_commands() {
    let tmp = TempDir::new("help");
    let o = svctl(tmp.path(), &["--help"]);
    assert_eq!(code(&o), 0);
    let help = text(&o.stdout);
    let man = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/svctl.8"))
        .unwrap()
        .replace("\\-", "-");
    for word in [
        "exec [-u USER[:GROUP]] [--] CMD",
        "env [--sh|--json]",
        "halt [CODE]",
        "SVKIT_RUNDIR",
        "127",
        "126",
        "111",
    ] {
        assert!(help.contains(word), "--help lacks {word}");
    }
    for word in [
        "svscan.pid",
        "exitcode",
        "env.sh",
        "SVKIT_RUNDIR",
        "127",
        "126",
    ] {
        assert!(man.contains(word), "svctl.8 lacks {word}");
    }
}
