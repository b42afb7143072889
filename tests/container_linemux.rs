//! Prefixed line forwarding with real producer processes: concurrent
//! floods must come out as whole prefixed lines, in order per stream, with
//! nothing lost; stderr stays separate; long and unterminated lines.

mod common;

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use svkit::container::linemux::{Config, Dest, LineMux, Prefix, Readable};

fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

/// The `i`th line producer `name` prints: varying lengths (0..299 pad
/// bytes) so that awk's block-buffered writes cut lines at random places.
fn expected_line(name: &str, i: usize) -> String {
    format!("{name}-{i:05}-{}", "x".repeat(i % 300))
}

/// An awk process printing `n` lines of `expected_line(name, _)` to `out`.
fn producer(name: &str, n: usize, out: OwnedFd) -> Child {
    let prog = format!(
        "BEGIN {{ pad = sprintf(\"%300s\", \"\"); gsub(/ /, \"x\", pad); \
           for (i = 0; i < {n}; i++) printf \"%s-%05d-%s\\n\", \"{name}\", i, substr(pad, 1, i % 300) }}"
    );
    Command::new("awk")
        .arg(&prog)
        .stdout(Stdio::from(out))
        .spawn()
        .expect("awk")
}

/// Reads a pipe to EOF on a thread.
fn collect(r: OwnedFd) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        std::fs::File::from(r).read_to_end(&mut all).unwrap();
        all
    })
}

/// Checks that `out` is made of whole lines `PREFIX + original line`, in
/// order per stream, `n` per stream.
fn check_streams(out: &[u8], streams: &[(&str, &str)], n: usize) {
    assert_eq!(out.last(), Some(&b'\n'), "output ends mid-line");
    let text = std::str::from_utf8(out).expect("utf-8 output");
    let mut next = vec![0usize; streams.len()];
    for (lineno, line) in text.lines().enumerate() {
        let k = streams
            .iter()
            .position(|(_, prefix)| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("line {lineno} has no known prefix: {line:.80?}"));
        let (name, prefix) = streams[k];
        let body = &line[prefix.len()..];
        assert_eq!(
            body,
            expected_line(name, next[k]),
            "line {lineno} is not prefix + one whole original line"
        );
        next[k] += 1;
    }
    assert_eq!(next, vec![n; streams.len()], "line counts");
}

#[test]
fn two_concurrent_floods_come_out_as_whole_prefixed_lines() {
    const N: usize = 20_000;
    let (out_r, out_w) = pipe();
    let stdout = Dest::new(out_w);
    let err_file = common::TempDir::new("linemux-stderr");
    let err_path = err_file.join("stderr.log");
    let stderr = Dest::new(std::fs::File::create(&err_path).unwrap().into());

    let mut mux = LineMux::new(Config::default());
    let mut children = Vec::new();
    for name in ["alpha", "beta"] {
        let (r, w) = pipe();
        mux.register(r, Prefix::stdout(name), stdout.clone())
            .unwrap();
        children.push(producer(name, N, w));
    }
    // A third service's stderr goes to the other destination.
    let (r, w) = pipe();
    mux.register(r, Prefix::stderr("gamma"), stderr.clone())
        .unwrap();
    children.push(producer("gamma", 2_000, w));
    drop((stdout, stderr));

    let reader = collect(out_r);
    let start = Instant::now();
    mux.run().unwrap();
    drop(mux);
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let out = reader.join().unwrap();
    eprintln!("2 x {N} lines forwarded in {:?}", start.elapsed());
    check_streams(&out, &[("alpha", "alpha | "), ("beta", "beta | ")], N);
    let err = std::fs::read(&err_path).unwrap();
    check_streams(&err, &[("gamma", "gamma! ")], 2_000);
}

#[test]
fn long_and_unterminated_lines_from_a_process() {
    let (out_r, out_w) = pipe();
    let dest = Dest::new(out_w);
    let mut mux = LineMux::new(Config::default());
    let (r, w) = pipe();
    mux.register(r, Prefix::stdout("big"), dest).unwrap();
    // 10,000 'y' then a newline, then 5 'z' with no newline before exit.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("head -c 10000 /dev/zero | tr '\\0' y; echo; printf zzzzz")
        .stdout(Stdio::from(w))
        .spawn()
        .unwrap();
    let reader = collect(out_r);
    mux.run().unwrap();
    drop(mux);
    assert!(child.wait().unwrap().success());
    let out = reader.join().unwrap();
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        lines.iter().all(|l| l.len() < 4096),
        "a write exceeded PIPE_BUF"
    );
    // 10,000 bytes in pieces of 4096 - 6 - 1 = 4089: three pieces.
    assert_eq!(
        lines.len(),
        4,
        "{:?}",
        lines.iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    assert!(lines[0].starts_with(b"big | "));
    assert!(lines[1].starts_with(b"big + ") && lines[2].starts_with(b"big + "));
    let joined: Vec<u8> = lines[..3].iter().flat_map(|l| l[6..].to_vec()).collect();
    assert_eq!(joined, vec![b'y'; 10_000]);
    assert_eq!(lines[3], b"big | zzzzz", "partial last line flushed at EOF");
}

#[test]
fn event_loop_api_flushes_an_idle_prompt() {
    let (out_r, out_w) = pipe();
    let mut mux = LineMux::new(Config::default());
    let (r, w) = pipe();
    let fd = mux
        .register(r, Prefix::stdout("p"), Dest::new(out_w))
        .unwrap();
    // The producer waits for our go-ahead after the prompt, so the test
    // controls when the rest of the line arrives.
    let (go_r, go_w) = pipe();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("printf 'prompt> '; read x; echo answer")
        .stdin(Stdio::from(go_r))
        .stdout(Stdio::from(w))
        .spawn()
        .unwrap();
    let out_file = std::fs::File::from(out_r);
    rustix::fs::fcntl_setfl(&out_file, rustix::fs::OFlags::NONBLOCK).unwrap();
    let mut got = Vec::new();
    let mut answered = false;
    let start = Instant::now();
    let mut flushed_at = None;
    while !mux.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "mux loop stuck");
        let timeout = mux.next_timeout().map(|t| {
            let left = t.saturating_duration_since(Instant::now());
            rustix::event::Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            }
        });
        let mut fds: Vec<_> = mux
            .fds()
            .map(|f| rustix::event::PollFd::from_borrowed_fd(f, rustix::event::PollFlags::IN))
            .collect();
        rustix::event::poll(&mut fds, timeout.as_ref()).unwrap();
        let ready = fds.iter().any(|p| !p.revents().is_empty());
        drop(fds);
        if ready {
            assert_ne!(mux.on_readable(fd), Readable::Unknown);
        }
        mux.on_timeout(Instant::now());
        let mut buf = [0u8; 256];
        if let Ok(n) = rustix::io::read(out_file.as_fd(), &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        if !answered && got == b"p | prompt> \n" {
            flushed_at = Some(start.elapsed());
            rustix::io::write(&go_w, b"\n").unwrap();
            answered = true;
        }
    }
    assert!(child.wait().unwrap().success());
    let mut rest = Vec::new();
    rustix::fs::fcntl_setfl(&out_file, rustix::fs::OFlags::empty()).unwrap();
    let mut f = out_file;
    f.read_to_end(&mut rest).unwrap();
    got.extend_from_slice(&rest);
    assert_eq!(got, b"p | prompt> \np + answer\n");
    let flushed_at = flushed_at.expect("prompt flushed while the producer waited");
    assert!(
        flushed_at >= Duration::from_millis(190),
        "flushed too early: {flushed_at:?}"
    );
}
