//! Helpers for the svlog tests: run a logger on some input with a deadline,
//! look at a log directory, strip timestamps.
#![allow(dead_code)]

use crate::common::{bin, Guard, TempDir};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub fn svlog() -> PathBuf {
    bin("svlog")
}

pub const SVLOGD: &str = "/usr/bin/svlogd";

/// Makes `tmp/name` with an optional `config`.
pub fn logdir(tmp: &TempDir, name: &str, config: Option<&str>) -> PathBuf {
    let d = tmp.join(name);
    fs::create_dir_all(&d).unwrap();
    if let Some(c) = config {
        fs::write(d.join("config"), c).unwrap();
    }
    d
}

/// Runs `prog args` with `input` on stdin, waits (10 s deadline) and
/// returns its output. The process group is killed if it hangs.
pub fn run_with_input(prog: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut g = Guard::spawn(&mut cmd);
    let mut stdin = g.child.as_mut().unwrap().stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let child = g.child.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(());
        out
    });
    if rx.recv_timeout(Duration::from_secs(20)).is_err() {
        drop(g); // kills the group; the reader thread then returns
        panic!("{} {:?} did not exit", prog.display(), args);
    }
    writer.join().unwrap();
    reader.join().unwrap().unwrap()
}

pub fn svlog_run(args: &[&str], input: &[u8]) -> Output {
    run_with_input(&svlog(), args, input)
}

pub fn svlogd_run(args: &[&str], input: &[u8]) -> Output {
    run_with_input(Path::new(SVLOGD), args, input)
}

/// Rotated files (`@….s`/`.u`) of `dir`, oldest first.
pub fn rotated(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with('@') && n.len() == 27
        })
        .collect();
    v.sort();
    v
}

/// All log content of `dir`: rotated files oldest first, then `current`.
pub fn all_logs(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for f in rotated(dir) {
        out.extend(fs::read(f).unwrap());
    }
    if let Ok(c) = fs::read(dir.join("current")) {
        out.extend(c);
    }
    out
}

pub fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Replaces every svlogd-style stamp at a line start with `STAMP `.
pub fn strip_stamps(text: &str) -> String {
    text.lines()
        .map(|l| {
            let b = l.as_bytes();
            let tai = b.len() >= 26 && b[0] == b'@' && b[25] == b' ';
            let human = b.len() >= 26
                && b[4] == b'-'
                && (b[10] == b'_' || b[10] == b'T')
                && b[19] == b'.'
                && b[25] == b' ';
            if tai || human {
                format!("STAMP {}\n", &l[26..])
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Sorted file kinds of a directory with rotated names abstracted:
/// e.g. ["@.s", "@.s", "config", "current", "lock"].
pub fn file_kinds(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            if n.starts_with('@') && n.len() == 27 {
                format!("@.{}", &n[26..])
            } else {
                n
            }
        })
        .collect();
    v.sort();
    v
}
