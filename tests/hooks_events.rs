//! The event stream that feeds hooks and `svctl events`, over real FIFOs
//! (lib/events/fifodir.rs): a subscriber sees a start, an exit 3 and a
//! restart in order, also inside a burst of 1,000; nothing notified after
//! subscribing is lost; a stuck subscriber never slows the notifier and
//! learns from the sequence numbers how much it missed; a subscriber
//! killed without cleaning up is removed.

mod common;

use std::time::{Duration, Instant};
use svkit::events::fifodir::{self, Subscription};
use svkit::events::{missed, Ended, Event, Kind};
use svkit::tai64n::Tai64n;

fn ev(seq: u64, kind: Kind) -> Event {
    Event {
        seq,
        time: Tai64n::now(),
        service: "web".into(),
        kind,
        restarts: seq / 3,
    }
}

/// start, exit 3, restart scheduled: one service crash-looping.
fn cycle(seq: u64) -> Event {
    match seq % 3 {
        1 => ev(seq, Kind::Started { pid: seq as u32 }),
        2 => ev(
            seq,
            Kind::Exited {
                pid: seq as u32 - 1,
                how: Ended::Code(3),
            },
        ),
        _ => ev(
            seq,
            Kind::RestartScheduled {
                delay: Duration::from_millis(100),
            },
        ),
    }
}

/// Reads events from `sub` until `count` arrived or `limit` passed,
/// waiting in poll (no polling loop with sleeps).
fn collect(sub: &mut Subscription, count: usize, limit: Duration) -> Vec<Event> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {count} events arrived",
            got.len()
        );
        let mut fds = [rustix::event::PollFd::from_borrowed_fd(
            sub.fd(),
            rustix::event::PollFlags::IN,
        )];
        rustix::event::poll(&mut fds, Some(&svkit::child::timespec(left))).unwrap();
        for line in sub.read_lines().unwrap() {
            got.push(Event::decode(std::str::from_utf8(&line).unwrap()).unwrap());
        }
    }
    got
}

#[test]
fn start_exit_restart_in_order_also_in_a_burst_of_1000() {
    let tmp = common::TempDir::new("events-burst");
    let dir = tmp.join("event");
    fifodir::create(&dir).unwrap();
    let mut sub = Subscription::new(&dir).unwrap();
    // The notifier runs concurrently, as supervise would, and as fast as
    // it can: 1,000 events in one burst.
    let d = dir.clone();
    let notifier = std::thread::spawn(move || {
        let mut full = 0;
        for seq in 1..=1000 {
            let got = fifodir::notify(&d, cycle(seq).encode().as_bytes()).unwrap();
            assert_eq!(got.delivered + got.full, 1);
            full += got.full;
        }
        full
    });
    let got = collect(&mut sub, 1000, Duration::from_secs(30));
    assert_eq!(
        notifier.join().unwrap(),
        0,
        "a reading subscriber lost nothing"
    );
    let words: Vec<&str> = got.iter().take(3).map(|e| e.kind.word()).collect();
    assert_eq!(words, ["started", "exited", "restart-scheduled"]);
    assert_eq!(
        got[1].kind,
        Kind::Exited {
            pid: 1,
            how: Ended::Code(3)
        }
    );
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "in order, none missing");
        assert_eq!(*e, {
            let mut want = cycle(e.seq);
            want.time = e.time;
            want
        });
    }
}

#[test]
fn nothing_notified_after_subscribing_is_lost() {
    let tmp = common::TempDir::new("events-subscribe");
    let dir = tmp.join("event");
    fifodir::create(&dir).unwrap();
    // The notifier is already busy when the subscriber arrives: every
    // event notified after `new` returned must be read.
    let d = dir.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let notifier = std::thread::spawn(move || {
        let mut seq = 0;
        while !s.load(std::sync::atomic::Ordering::SeqCst) {
            seq += 1;
            fifodir::notify(&d, cycle(seq).encode().as_bytes()).unwrap();
        }
        seq
    });
    let mut sub = Subscription::new(&dir).unwrap();
    let mut rest = collect(&mut sub, 200, Duration::from_secs(30));
    let first = rest.remove(0).seq;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let last = notifier.join().unwrap();
    // Drain what the notifier wrote before it stopped.
    while let Ok(lines) = sub.read_lines() {
        if lines.is_empty() {
            break;
        }
        rest.extend(
            lines
                .iter()
                .map(|l| Event::decode(std::str::from_utf8(l).unwrap()).unwrap()),
        );
    }
    let seqs: Vec<u64> = std::iter::once(first)
        .chain(rest.iter().map(|e| e.seq))
        .collect();
    let want: Vec<u64> = (first..=last).collect();
    assert_eq!(
        seqs, want,
        "a gap-free run from the first event seen to the last sent"
    );
}

#[test]
fn a_stuck_subscriber_never_slows_the_notifier_and_sees_the_gap() {
    let tmp = common::TempDir::new("events-stuck");
    let dir = tmp.join("event");
    fifodir::create(&dir).unwrap();
    let mut stuck = Subscription::new(&dir).unwrap();
    let mut live = Subscription::new(&dir).unwrap();
    // 40,000 events of ~70 bytes: more than twice the stuck pipe's 1 MiB.
    let n = 40_000u64;
    let t0 = Instant::now();
    let mut full = 0;
    let mut got_live = Vec::new();
    for seq in 1..=n {
        let d = fifodir::notify(&dir, cycle(seq).encode().as_bytes()).unwrap();
        full += d.full;
        if seq % 100 == 0 {
            got_live.extend(live.read_lines().unwrap());
        }
    }
    let took = t0.elapsed();
    got_live.extend(live.read_lines().unwrap());
    assert!(
        full > 0,
        "the stuck pipe filled ({} bytes)",
        stuck.capacity()
    );
    assert_eq!(
        got_live.len() as u64,
        n,
        "the reading subscriber lost nothing"
    );
    // Never blocked: 40,000 notifications to two subscribers take well
    // under a second unloaded; allow a loaded machine 30 s.
    assert!(took < Duration::from_secs(30), "{took:?}");
    // The stuck subscriber holds what fit, in order, then learns of the
    // gap from the next event that reaches it.
    let held: Vec<Event> = stuck
        .read_lines()
        .unwrap()
        .iter()
        .map(|l| Event::decode(std::str::from_utf8(l).unwrap()).unwrap())
        .collect();
    assert_eq!(held.len() as u64 + full as u64, n);
    assert_eq!(held[0].seq, 1);
    // (A shorter event may still fit where a longer one did not, so the
    // gaps need not all be at the end; they add up to what was dropped.)
    fifodir::notify(&dir, cycle(n + 1).encode().as_bytes()).unwrap();
    let next = collect(&mut stuck, 1, Duration::from_secs(10));
    let seqs: Vec<u64> = held.iter().map(|e| e.seq).chain([next[0].seq]).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order");
    let gaps: u64 = seqs.windows(2).map(|w| missed(w[0], w[1])).sum();
    assert_eq!(
        gaps, full as u64,
        "the sequence numbers account for every drop"
    );
}

#[test]
fn a_subscriber_killed_without_cleaning_up_is_removed() {
    let tmp = common::TempDir::new("events-stale");
    let dir = tmp.join("event");
    fifodir::create(&dir).unwrap();
    // A real reader process doing what Subscription::new does: make the
    // FIFO under a temporary name, open it, rename it into place.
    let fifo = dir.join(format!("{}killed", fifodir::PREFIX));
    let out = tmp.join("out");
    let script = format!(
        "mkfifo '{t}' && exec 3<>'{t}' && mv '{t}' '{f}' && exec cat <&3 > '{o}'",
        t = dir.join("new-killed").display(),
        f = fifo.display(),
        o = out.display()
    );
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = svkit::sys::kill(self.0 as i32, libc::SIGKILL);
        }
    }
    let guard = Kill(child.id());
    // Wait until cat has the FIFO open: a notification gets delivered.
    let line = ev(1, Kind::Down).encode();
    common::wait_until(Duration::from_secs(10), "cat reading the FIFO", || {
        fifodir::notify(&dir, line.as_bytes()).unwrap().delivered == 1
    });
    common::wait_until(Duration::from_secs(10), "cat writing what it read", || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains(" web down "))
    });
    drop(guard);
    child.wait().unwrap();
    assert!(fifo.exists(), "SIGKILL left the FIFO behind");
    let got = fifodir::notify(&dir, line.as_bytes()).unwrap();
    assert_eq!((got.delivered, got.removed), (0, 1));
    assert!(!fifo.exists());
    assert_eq!(fifodir::clean(&dir).unwrap(), 0);
}

/// A notifier running while subscribers arrive never takes a subscriber
/// still being made for a stale one (which would remove its FIFO under it).
#[test]
fn subscribing_races_no_notifier() {
    let tmp = common::TempDir::new("events-race");
    let dir = tmp.join("event");
    fifodir::create(&dir).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (d, s) = (dir.clone(), stop.clone());
    let notifier = std::thread::spawn(move || {
        let mut removed = 0;
        while !s.load(std::sync::atomic::Ordering::SeqCst) {
            removed += fifodir::notify(&d, b"x\n").unwrap().removed;
        }
        removed
    });
    for _ in 0..2000 {
        let mut sub = Subscription::new(&dir).expect("subscribing while notified");
        assert!(sub.path().exists(), "the subscriber's FIFO was removed");
        let _ = sub.read_lines().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        notifier.join().unwrap(),
        0,
        "nothing live was taken for stale"
    );
}
