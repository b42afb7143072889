//! svlog behaviour: signals, rotation policies, processors, tee, errors,
//! and the "nothing lost" guarantees (TERM/restart, SIGKILL bound, long
//! lines, binary data).

mod common;
mod svlog_common;

use common::{wait_until, Guard, TempDir};
use std::fs;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use svlog_common::*;

const T: Duration = Duration::from_secs(10);

fn spawn_on(args: &[&str], stdin: Stdio) -> Guard {
    let mut cmd = Command::new(svlog());
    cmd.args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Guard::spawn(&mut cmd)
}

fn pipe() -> (OwnedFd, fs::File) {
    // CLOEXEC: loggers spawned by parallel tests must not inherit the
    // write end, or they would never see end of input.
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    (r, fs::File::from(w))
}

fn stderr_of(g: &mut Guard) -> String {
    let mut s = String::new();
    use std::io::Read;
    if let Some(e) = g.child.as_mut().unwrap().stderr.as_mut() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

fn text(p: &Path) -> String {
    String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned()
}

#[test]
fn usage_errors_exit_100_with_suite_format() {
    for args in [
        &[][..],
        &["-r", "ab", "d"],
        &["-l", "x", "d"],
        &["-q", "d"],
        &["-l", "2000", "-b", "1500", "d"],
    ] {
        let out = svlog_run(args, b"");
        assert_eq!(out.status.code(), Some(100), "{args:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.starts_with("svlog: fatal: "), "{e}");
        assert!(e.contains("svlog: usage: svlog "), "{e}");
    }
}

#[test]
fn no_usable_directory_is_fatal_111() {
    let tmp = TempDir::new("svlog-nodir");
    let missing = tmp.join("missing");
    let out = svlog_run(&[missing.to_str().unwrap()], b"x\n");
    assert_eq!(out.status.code(), Some(111));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("svlog: warning: unable to open log directory: "),
        "{e}"
    );
    assert!(e.contains("file does not exist"), "{e}");
    assert!(
        e.contains("svlog: fatal: no functional log directories"),
        "{e}"
    );
}

#[test]
fn locked_directory_is_skipped_others_work() {
    let tmp = TempDir::new("svlog-lock");
    let a = logdir(&tmp, "a", None);
    let b = logdir(&tmp, "b", None);
    let (r, mut w) = pipe();
    let mut first = spawn_on(&[a.to_str().unwrap()], Stdio::from(r));
    w.write_all(b"first\n").unwrap();
    wait_until(T, "first logger writes", || {
        text(&a.join("current")) == "first\n"
    });
    let out = svlog_run(&[a.to_str().unwrap(), b.to_str().unwrap()], b"second\n");
    assert_eq!(out.status.code(), Some(0));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("unable to lock directory: ") && e.contains("temporary failure"),
        "{e}"
    );
    assert_eq!(text(&b.join("current")), "second\n");
    assert_eq!(text(&a.join("current")), "first\n");
    drop(w);
    assert_eq!(first.wait_timeout(T).unwrap().code(), Some(0));
}

#[test]
fn bad_config_lines_warn_by_line_and_the_rest_applies() {
    let tmp = TempDir::new("svlog-badcfg");
    let d = logdir(&tmp, "d", Some("sbig\npP: \nx unknown\n-drop*\nn2\n"));
    let out = svlog_run(&[d.to_str().unwrap()], b"keep\ndrop me\n");
    assert_eq!(out.status.code(), Some(0));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("svlog: warning: ") && e.contains("config: line 1: bad size: sbig"),
        "{e}"
    );
    assert!(
        e.contains("config: line 3: unknown directive: x unknown"),
        "{e}"
    );
    assert_eq!(text(&d.join("current")), "P: keep\n");
}

#[test]
fn help_agrees_with_man_page() {
    let out = svlog_run(&["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let man = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/svlog.8")).unwrap();
    for flag in [
        "-t", "-tt", "-ttt", "-r", "-R", "-l", "-b", "-o", "-v", "-V",
    ] {
        assert!(
            help.contains(&format!("  {flag} ")) || help.contains(&format!("  {flag},")),
            "help lacks {flag}"
        );
        assert!(man.contains(&flag.replace('-', "\\-")), "man lacks {flag}");
    }
    for directive in ["STOTAL", "aAGE", "o[PREFIX]", "sSIZE", "!PROCESSOR"] {
        assert!(help.contains(directive), "help lacks {directive}");
    }
    for word in [
        ".BI S TOTAL",
        ".BR o [",
        "SIGKILL",
        "EXIT STATUS",
        "111",
        "100",
    ] {
        assert!(man.contains(word), "man lacks {word}");
    }
}

#[test]
fn alrm_rotates_hup_rereads_config() {
    let tmp = TempDir::new("svlog-sig");
    let d = logdir(&tmp, "d", None);
    let (r, mut w) = pipe();
    let mut g = spawn_on(&[d.to_str().unwrap()], Stdio::from(r));
    w.write_all(b"before\n").unwrap();
    wait_until(T, "line written", || text(&d.join("current")) == "before\n");
    g.signal(libc::SIGALRM);
    wait_until(T, "ALRM rotation", || rotated(&d).len() == 1);
    assert_eq!(text(&rotated(&d)[0]), "before\n");
    assert_eq!(mode(&rotated(&d)[0]), 0o744);
    // an empty current is not rotated
    g.signal(libc::SIGALRM);
    fs::write(d.join("config"), "pNEW \n").unwrap();
    // kill(2) queues HUP before the line is written, and svlog handles
    // pending signals before it reads: the line sees the new config.
    g.signal(libc::SIGHUP);
    w.write_all(b"after\n").unwrap();
    wait_until(T, "prefixed line", || {
        text(&d.join("current")).contains("NEW after\n")
    });
    assert_eq!(rotated(&d).len(), 1);
    drop(w);
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));
    assert_eq!(mode(&d.join("current")), 0o744);
}

#[test]
fn age_rotation_count_and_total_caps() {
    let tmp = TempDir::new("svlog-caps");
    // t1: rotate a non-empty current after one second, no input needed
    let d = logdir(&tmp, "age", Some("t1\n"));
    let (r, mut w) = pipe();
    let mut g = spawn_on(&[d.to_str().unwrap()], Stdio::from(r));
    w.write_all(b"aged\n").unwrap();
    wait_until(T, "age rotation", || rotated(&d).len() == 1);
    assert_eq!(text(&rotated(&d)[0]), "aged\n");
    drop(w);
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));

    // n3 keeps three files; S caps rotated files + one full current
    let line = "0123456789012345678901234567890123456789012345678\n"; // 50 bytes
    let input: String = line.repeat(200);
    let n = logdir(&tmp, "count", Some("s200\nn3\n"));
    assert!(svlog_run(&[n.to_str().unwrap()], input.as_bytes())
        .status
        .success());
    assert_eq!(rotated(&n).len(), 3);
    let s = logdir(&tmp, "total", Some("s200\nn0\nS1000\n"));
    assert!(svlog_run(&[s.to_str().unwrap()], input.as_bytes())
        .status
        .success());
    let total: u64 = rotated(&s)
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .sum();
    assert!(total + 200 <= 1000, "rotated bytes {total}");
    assert_eq!(rotated(&s).len(), 4);
}

#[test]
fn processor_failure_is_retried_on_the_same_input() {
    let tmp = TempDir::new("svlog-proc");
    let flag = tmp.join("fail-once");
    fs::write(&flag, "").unwrap();
    // fails the first time (removing the flag), then succeeds
    let cfg = format!(
        "s20\n!if [ -e {0} ]; then rm {0}; exit 1; fi; cat\n",
        flag.display()
    );
    let d = logdir(&tmp, "d", Some(&cfg));
    let out = svlog_run(&[d.to_str().unwrap()], b"0123456789abcdefghi\nx\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("processor failed, restart"));
    let r = rotated(&d);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].to_string_lossy().ends_with(".s"));
    assert_eq!(text(&r[0]), "0123456789abcdefghi\n");
    assert_eq!(text(&d.join("current")), "x\n");
    assert_eq!(text(&d.join("state")), "");
}

#[test]
fn tee_copies_selected_lines_to_stdout_with_prefix() {
    let tmp = TempDir::new("svlog-tee");
    let a = logdir(&tmp, "a", Some("pweb: \n-secret*\n"));
    let out = svlog_run(&["-o", a.to_str().unwrap()], b"one\nsecret\ntwo");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "web: one\nweb: two\n");
    assert_eq!(text(&a.join("current")), "web: one\nweb: two\n");
    // the config line alone, with its own stdout prefix, and -tt
    let b = logdir(&tmp, "b", Some("oapp | \n"));
    let out = svlog_run(&["-tt", b.to_str().unwrap()], b"x\n");
    assert_eq!(
        strip_stamps(&String::from_utf8_lossy(&out.stdout)),
        "STAMP app | x\n"
    );
    assert_eq!(strip_stamps(&text(&b.join("current"))), "STAMP x\n");
    // plain (fast path) tee
    let c = logdir(&tmp, "c", None);
    let out = svlog_run(&["-o", c.to_str().unwrap()], b"p1\np2\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "p1\np2\n");
}

#[test]
fn non_regular_current_is_streamed_never_rotated() {
    let tmp = TempDir::new("svlog-fifo");
    let d = logdir(&tmp, "d", Some("s10\n"));
    nix::unistd::mkfifo(
        &d.join("current"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    // a reader must be there before svlog opens the FIFO
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags_nonblock(&d.join("current"));
    let input = b"a long line beyond s10\nsecond line\n";
    let out = svlog_run(&[d.to_str().unwrap()], input);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut got = Vec::new();
    use std::io::Read;
    let _ = reader.read_to_end(&mut got);
    assert_eq!(got, input);
    assert!(rotated(&d).is_empty());
    assert_eq!(
        fs::metadata(d.join("current"))
            .unwrap()
            .permissions()
            .mode_bits(),
        0o600
    );
}

trait NonblockOpen {
    fn custom_flags_nonblock(&mut self, p: &Path) -> fs::File;
}
impl NonblockOpen for fs::OpenOptions {
    fn custom_flags_nonblock(&mut self, p: &Path) -> fs::File {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NONBLOCK).open(p).unwrap()
    }
}
trait ModeBits {
    fn mode_bits(&self) -> u32;
}
impl ModeBits for fs::Permissions {
    fn mode_bits(&self) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        self.mode() & 0o7777
    }
}

/// Lines "id NNNNNNNN <padding>\n" of 100 bytes.
fn numbered(from: u64, to: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(((to - from) * 100) as usize);
    for i in from..to {
        let l = format!("id {i:08} ");
        v.extend(l.as_bytes());
        v.resize(v.len() + 99 - l.len(), b'.');
        v.push(b'\n');
    }
    v
}

fn ids(data: &[u8]) -> Vec<u64> {
    data.split(|&b| b == b'\n')
        .filter_map(|l| {
            let s = std::str::from_utf8(l).ok()?;
            let p = s.find("id ")?;
            s.get(p + 3..p + 11)?.parse().ok()
        })
        .collect()
}

#[test]
fn term_and_restart_lose_nothing() {
    let tmp = TempDir::new("svlog-term");
    let d = logdir(&tmp, "d", Some("s100000\nn0\n"));
    let (r, w) = pipe();
    // The test holds the pipe like a supervisor: both ends, across loggers.
    let total = 30_000u64;
    let writer = std::thread::spawn(move || {
        let mut w = w;
        for chunk in 0..30 {
            w.write_all(&numbered(chunk * 1000, chunk * 1000 + 1000))
                .unwrap();
        }
        w
    });
    for round in 0..3 {
        let mut g = spawn_on(
            &["-tt", d.to_str().unwrap()],
            Stdio::from(r.try_clone().unwrap()),
        );
        let before = all_logs(&d).len();
        wait_until(T, "progress", || {
            all_logs(&d).len() > before + 50_000 || writer.is_finished()
        });
        g.signal(libc::SIGTERM);
        let st = g.wait_timeout(T).expect("exits after TERM");
        assert_eq!(st.code(), Some(0), "round {round}: {}", stderr_of(&mut g));
        assert_eq!(mode(&d.join("current")), 0o744);
    }
    // the last logger drains the rest and sees EOF
    let mut last = spawn_on(&["-tt", d.to_str().unwrap()], Stdio::from(r));
    let w = writer.join().unwrap();
    drop(w);
    assert_eq!(last.wait_timeout(T).unwrap().code(), Some(0));
    let got = ids(&all_logs(&d));
    assert_eq!(got.len() as u64, total, "lines in = lines out");
    assert!(
        got.iter().enumerate().all(|(i, &v)| v == i as u64),
        "in order, no duplicates"
    );
    assert!(rotated(&d).len() > 3, "rotations happened");
}

#[test]
fn sigkill_loses_at_most_one_read_buffer() {
    let tmp = TempDir::new("svlog-kill");
    let d = logdir(&tmp, "d", Some("s0\n"));
    let (r, w) = pipe();
    let writer = std::thread::spawn(move || {
        let mut w = w;
        for chunk in 0..40 {
            w.write_all(&numbered(chunk * 1000, chunk * 1000 + 1000))
                .unwrap();
        }
        w
    });
    let g = spawn_on(&[d.to_str().unwrap()], Stdio::from(r.try_clone().unwrap()));
    wait_until(T, "progress", || text(&d.join("current")).len() > 500_000);
    g.signal(libc::SIGKILL);
    drop(g);
    let mut next = spawn_on(&[d.to_str().unwrap()], Stdio::from(r));
    drop(writer.join().unwrap());
    assert_eq!(next.wait_timeout(T).unwrap().code(), Some(0));
    let got = ids(&all_logs(&d));
    let lost = 40_000 - got.len() as u64;
    // 128 KiB buffer of 100-byte lines: at most 1311 lines (a partial one
    // included) may vanish with the killed process.
    assert!(lost * 100 <= 128 * 1024 + 100, "lost {lost} lines");
    let mut sorted = got.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), got.len(), "no duplicates");
}

#[test]
fn binary_data_and_long_lines_in_bounded_memory() {
    let tmp = TempDir::new("svlog-bin");
    // random bytes, NULs included, through the per-line path and plain path
    let mut seed = 0x2545f4914f6cdd1du64;
    let mut data: Vec<u8> = (0..300_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    data.extend(vec![0u8; 1000]);
    let a = logdir(&tmp, "plain", Some("s0\n"));
    let b = logdir(&tmp, "filtered", Some("s0\n-*zz*\n"));
    let out = svlog_run(&[a.to_str().unwrap(), b.to_str().unwrap()], &data);
    assert_eq!(out.status.code(), Some(0));
    let mut expect = data.clone();
    expect.push(b'\n');
    assert_eq!(fs::read(a.join("current")).unwrap(), expect);
    assert!(!fs::read(b.join("current")).unwrap().is_empty());

    // a 30 MB line is written whole while svlog stays small
    let d = logdir(&tmp, "long", Some("s0\n"));
    let (r, mut w) = pipe();
    let mut g = spawn_on(&["-tt", d.to_str().unwrap()], Stdio::from(r));
    let chunk = vec![b'L'; 1 << 20];
    for _ in 0..30 {
        w.write_all(&chunk).unwrap();
    }
    wait_until(T, "long line streamed", || {
        fs::metadata(d.join("current"))
            .map(|m| m.len())
            .unwrap_or(0)
            >= 30 << 20
    });
    let status = fs::read_to_string(format!("/proc/{}/status", g.pid)).unwrap();
    let hwm_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(hwm_kb < 16 * 1024, "peak RSS {hwm_kb} kB");
    w.write_all(b"\nshort\n").unwrap();
    drop(w);
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));
    let content = fs::read(d.join("current")).unwrap();
    assert_eq!(content.len(), 26 + (30 << 20) + 1 + 26 + 6);
    assert_eq!(
        strip_stamps(&String::from_utf8_lossy(&content[content.len() - 32..])),
        "STAMP short\n"
    );
}

#[test]
fn the_file_being_processed_is_never_pruned() {
    // Files named in the future (a clock that stepped back) make the new
    // `.u` the lexically oldest; runit 2.1.2 would delete it (Q16).
    let tmp = TempDir::new("svlog-q16");
    let d = logdir(&tmp, "d", Some("s20\nn1\n!cat\n"));
    for n in ["@4fffffff0000000000000001.s", "@4fffffff0000000000000002.s"] {
        fs::write(d.join(n), "future\n").unwrap();
    }
    let out = svlog_run(&[d.to_str().unwrap()], b"0123456789abcdefghi\nx\n");
    assert_eq!(out.status.code(), Some(0));
    let r = rotated(&d);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(!r[0].to_string_lossy().contains("4fffffff"));
    assert_eq!(text(&r[0]), "0123456789abcdefghi\n");
}

/// Bytes waiting in the pipe behind `fd` (FIONREAD).
fn in_pipe(fd: &OwnedFd) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the valid pointer.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(rc, 0);
    n as usize
}

#[test]
fn term_finishes_the_begun_line_without_reading_ahead() {
    let tmp = TempDir::new("svlog-termline");
    let d = logdir(&tmp, "d", None);
    let (r, mut w) = pipe();
    let probe = r.try_clone().unwrap();
    let mut g = spawn_on(&[d.to_str().unwrap()], Stdio::from(r));
    w.write_all(b"done\npartial").unwrap();
    wait_until(T, "svlog read everything", || {
        in_pipe(&probe) == 0 && text(&d.join("current")) == "done\n"
    });
    g.signal(libc::SIGTERM);
    w.write_all(b" rest\nnext line\n").unwrap();
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));
    assert_eq!(text(&d.join("current")), "done\npartial rest\n");
    // the next line is still in the pipe for the next logger
    assert_eq!(in_pipe(&probe), b"next line\n".len());
}

fn context_switches(pid: u32) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .filter(|l| l.contains("ctxt_switches"))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn idle_means_no_wakeups() {
    let tmp = TempDir::new("svlog-idle");
    // a `t` timer only runs while current has data
    let d = logdir(&tmp, "d", Some("t1\n"));
    let (r, mut w) = pipe();
    let g = spawn_on(&["-tt", d.to_str().unwrap()], Stdio::from(r));
    w.write_all(b"x\n").unwrap();
    wait_until(T, "rotation by age", || rotated(&d).len() == 1);
    let before = context_switches(g.pid);
    // observation window for a negative claim
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(context_switches(g.pid), before, "svlog woke up while idle");
}

/// A rotated-file name for a moment `ago` in the past.
fn name_aged(ago: Duration) -> String {
    let t = std::time::SystemTime::now() - ago;
    format!(
        "{}.s",
        svkit::tai64n::Tai64n::from_system_time(t).to_hex_label()
    )
}

#[test]
fn age_limit_deletes_old_rotated_files_on_a_timer() {
    let tmp = TempDir::new("svlog-age");
    let d = logdir(&tmp, "d", Some("a1m\n"));
    let old = name_aged(Duration::from_secs(7200));
    let soon = name_aged(Duration::from_secs(58));
    let young = name_aged(Duration::from_secs(10));
    for n in [&old, &soon, &young] {
        fs::write(d.join(n), "archived\n").unwrap();
    }
    let (r, w) = pipe();
    let mut g = spawn_on(&[d.to_str().unwrap()], Stdio::from(r));
    // at start: the two-hour-old file goes
    wait_until(T, "old file deleted at start", || !d.join(&old).exists());
    // the next one passes the limit about two seconds later, with no input
    wait_until(T, "file deleted when it passes the age", || {
        !d.join(&soon).exists()
    });
    assert!(d.join(&young).exists());
    drop(w);
    assert_eq!(g.wait_timeout(T).unwrap().code(), Some(0));
}
