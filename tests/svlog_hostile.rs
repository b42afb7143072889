//! svlog on hostile input (issue 13, finding 7): huge numbers in `config`
//! and on the command line, and archive names far in the future, must be
//! saturated or refused with one line, never abort the logger (a
//! crash-looping logger blocks its service).

mod common;
mod svlog_common;

use common::TempDir;
use std::fs;
use svlog_common::*;

fn assert_no_panic(out: &std::process::Output) {
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!e.contains("panicked"), "{e}");
    assert_ne!(out.status.code(), Some(101), "{e}");
    assert!(out.status.code().is_some(), "killed by a signal: {e}");
}

#[test]
fn huge_rotation_time_and_age_are_saturated() {
    let tmp = TempDir::new("svlog-huge-ta");
    // `s100` rotates after the first lines, so retention (`a`) runs on a
    // real rotated file and on one named at the end of TAI64N time.
    let d = logdir(
        &tmp,
        "log",
        Some("s100\nt18446744073709551615\na18446744073709551615d\n"),
    );
    fs::write(
        d.join("@ffffffffffffffff00000000.s"),
        "from the far future\n",
    )
    .unwrap();
    let line = "a line long enough to fill the small current file quickly\n";
    let input = line.repeat(6);
    let out = svlog_run(&[d.to_str().unwrap()], input.as_bytes());
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0));
    let logs = String::from_utf8_lossy(&all_logs(&d)).into_owned();
    assert_eq!(logs.matches("fill the small").count(), 6, "{logs}");
}

#[test]
fn an_archive_at_the_end_of_time_is_kept_with_an_age_limit() {
    let tmp = TempDir::new("svlog-far-archive");
    let d = logdir(&tmp, "log", Some("s100\na1d\n"));
    let far = d.join("@ffffffffffffffff00000000.s");
    fs::write(&far, "far\n").unwrap();
    let input = "x".repeat(60) + "\n" + &"y".repeat(60) + "\n";
    let out = svlog_run(&[d.to_str().unwrap()], input.as_bytes());
    assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(far.exists(), "a file from the future is not expired");
}

#[test]
fn line_length_near_usize_max_is_refused() {
    let tmp = TempDir::new("svlog-huge-l");
    let d = logdir(&tmp, "log", None);
    for l in [
        "18446744073709551615",
        "18446744073709551614",
        "99999999999",
    ] {
        let out = svlog_run(&["-l", l, d.to_str().unwrap()], b"x\n");
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(100), "-l {l}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.starts_with("svlog: fatal: -l"), "{e}");
    }
    for b in ["18446744073709551615", "99999999999"] {
        let out = svlog_run(&["-b", b, d.to_str().unwrap()], b"x\n");
        assert_no_panic(&out);
        assert_eq!(out.status.code(), Some(100), "-b {b}");
    }
}
