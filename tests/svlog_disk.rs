//! Full disk: svlog pauses (a timer, not a spin), the producer blocks, no
//! line is lost; TERM still works while paused (runit quirk Q15 fixed);
//! `N` deletes old files instead of pausing. Uses a 256 KiB tmpfs (root).

mod common;
mod svlog_common;

use common::{wait_until, Guard, TempDir};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use svlog_common::*;

const T: Duration = Duration::from_secs(10);

/// A tmpfs mounted on a directory, unmounted on drop (even on panic).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs (needs root)");
        Tmpfs(dir.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn pipe() -> (OwnedFd, fs::File) {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    (r, fs::File::from(w))
}

/// 100-byte numbered lines.
fn numbered(from: u64, to: u64) -> Vec<u8> {
    let mut v = Vec::new();
    for i in from..to {
        let l = format!("id {i:08} ");
        v.extend(l.as_bytes());
        v.resize(v.len() + 99 - l.len(), b'.');
        v.push(b'\n');
    }
    v
}

fn count_ids(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"id "))
        .count()
}

/// Starts svlog on `r`, with a thread forwarding its stderr lines.
fn start(dir: &Path, r: OwnedFd) -> (Guard, mpsc::Receiver<String>) {
    let mut cmd = Command::new(svlog());
    cmd.arg(dir)
        .stdin(Stdio::from(r))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut g = Guard::spawn(&mut cmd);
    let err = g.child.as_mut().unwrap().stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    (g, rx)
}

fn wait_line(rx: &mpsc::Receiver<String>, what: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(T) {
            Ok(l) => {
                let hit = l.contains(what);
                seen.push(l);
                if hit {
                    return seen;
                }
            }
            Err(_) => panic!("no stderr line containing {what:?}; saw {seen:?}"),
        }
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

const LINES: u64 = 10_000; // 1 MB, four times the disk

fn writer(w: fs::File) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut w = w;
        for c in 0..(LINES / 500) {
            if w.write_all(&numbered(c * 500, c * 500 + 500)).is_err() {
                return;
            }
        }
    })
}

#[test]
fn full_disk_pauses_blocks_the_writer_and_resumes_without_loss() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let tmp = TempDir::new("svlog-full");
    let mnt = tmp.join("mnt");
    let fsys = Tmpfs::mount(&mnt, "256k");
    fs::write(mnt.join("config"), "s100000\nn0\n").unwrap();
    let (r, w) = pipe();
    let (mut g, rx) = start(&mnt, r);
    let wr = writer(w);
    wait_line(&rx, "pausing: unable to write to current");
    // the producer is blocked, not fed into a void
    assert!(!wr.is_finished());
    // paused means sleeping on a timer: (almost) no CPU over a window
    let before = cpu_ticks(g.pid);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(cpu_ticks(g.pid) - before <= 5, "svlog spins while paused");
    fsys.resize("4m");
    wait_line(&rx, "resumed writing");
    wait_until(T, "writer done", || wr.is_finished());
    wr.join().unwrap();
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));
    assert_eq!(count_ids(&all_logs(&mnt)), LINES as usize);
}

#[test]
fn term_while_paused_exits_and_keeps_the_data() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let tmp = TempDir::new("svlog-fullterm");
    let mnt = tmp.join("mnt");
    let _fs = Tmpfs::mount(&mnt, "256k");
    fs::write(mnt.join("config"), "s100000\nn0\n").unwrap();
    let (r, w) = pipe();
    let keep = r.try_clone().unwrap();
    let (mut g, rx) = start(&mnt, r);
    let wr = writer(w);
    wait_line(&rx, "pausing: unable to write to current");
    g.signal(libc::SIGTERM);
    let st = g.wait_timeout(T).expect("TERM works while paused");
    assert_eq!(st.code(), Some(111));
    // svlog has exited; its stderr reader thread may still be forwarding:
    // take lines until the pipe's end closes the channel (or a deadline).
    let mut spilled = String::new();
    while let Ok(l) = rx.recv_timeout(T) {
        spilled.push_str(&l);
        spilled.push('\n');
    }
    assert!(spilled.contains("copying the rest to stderr"), "{spilled}");
    assert!(
        spilled.contains("bytes were copied to standard error"),
        "{spilled}"
    );
    // what svlog never read is still in the pipe
    let mut rest = Vec::new();
    let mut keep = fs::File::from(keep);
    let reader = std::thread::spawn(move || {
        let _ = keep.read_to_end(&mut rest);
        rest
    });
    wr.join().unwrap();
    let rest = reader.join().unwrap();
    let total = count_ids(&all_logs(&mnt)) + count_ids(spilled.as_bytes()) + count_ids(&rest);
    assert_eq!(total, LINES as usize, "file + stderr + pipe = input");
}

#[test]
fn keep_min_deletes_old_files_instead_of_pausing() {
    if !common::require(&[common::Need::Root]) {
        return;
    }
    let tmp = TempDir::new("svlog-fulln");
    let mnt = tmp.join("mnt");
    let _fs = Tmpfs::mount(&mnt, "256k");
    fs::write(mnt.join("config"), "s20000\nn20\nN2\n").unwrap();
    let (r, w) = pipe();
    let (mut g, rx) = start(&mnt, r);
    let wr = writer(w);
    wait_line(&rx, "out of disk space, delete: ");
    wait_until(T, "writer done", || wr.is_finished());
    wr.join().unwrap();
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));
    let warnings: Vec<String> = rx.try_iter().collect();
    assert!(
        warnings.iter().all(|l| !l.contains("pausing")),
        "{warnings:?}"
    );
    let logs = all_logs(&mnt);
    let last = format!("id {:08} ", LINES - 1);
    assert!(
        String::from_utf8_lossy(&logs).contains(&last),
        "newest line kept"
    );
}
