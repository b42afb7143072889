//! Differential tests: runit's real svlogd and svlog on the same input and
//! config must leave the same directory contents (modulo timestamps).

mod common;
mod svlog_common;

use common::TempDir;
use std::fs;
use std::net::UdpSocket;
use std::time::Duration;
use svlog_common::*;

fn input() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..400 {
        v.extend(format!("line {i} hello world\n").as_bytes());
        if i % 40 == 0 {
            v.extend(format!("skip this {i}\n").as_bytes());
        }
        if i % 100 == 0 {
            v.extend(format!("ERR failure {i}\n").as_bytes());
        }
    }
    v
}

/// Runs both loggers with `args` (the directory appended) and `config`.
fn both(
    tmp: &TempDir,
    args: &[&str],
    config: &str,
    input: &[u8],
) -> [(std::path::PathBuf, std::process::Output); 2] {
    let a = logdir(tmp, "svlogd", Some(config));
    let b = logdir(tmp, "svlog", Some(config));
    let mut args_a: Vec<&str> = args.to_vec();
    let sa = a.to_str().unwrap().to_string();
    args_a.push(&sa);
    let oa = svlogd_run(&args_a, input);
    let mut args_b: Vec<&str> = args.to_vec();
    let sb = b.to_str().unwrap().to_string();
    args_b.push(&sb);
    let ob = svlog_run(&args_b, input);
    assert_eq!(oa.status.code(), Some(0), "svlogd: {oa:?}");
    assert_eq!(ob.status.code(), Some(0), "svlog: {ob:?}");
    [(a, oa), (b, ob)]
}

fn text(p: &std::path::Path) -> String {
    String::from_utf8_lossy(&fs::read(p).unwrap()).into_owned()
}

#[test]
fn same_files_sizes_and_lines_under_size_rotation() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-size");
    let [(a, _), (b, _)] = both(&tmp, &[], "s2000\nn4\n", &input());
    assert_eq!(file_kinds(&a), file_kinds(&b));
    let sizes = |d: &std::path::Path| -> Vec<u64> {
        rotated(d)
            .iter()
            .map(|f| fs::metadata(f).unwrap().len())
            .collect()
    };
    assert_eq!(sizes(&a), sizes(&b));
    for f in rotated(&b) {
        assert_eq!(mode(&f), 0o744, "{f:?}");
    }
    assert_eq!(mode(&b.join("current")), 0o744);
    assert_eq!(mode(&b.join("lock")), 0o600);
    assert_eq!(
        fs::read(a.join("current")).unwrap(),
        fs::read(b.join("current")).unwrap()
    );
}

#[test]
fn same_selection_prefix_stamps_and_stderr_copies() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-select");
    let config = "pPFX: \n-*skip*\n+skip this 80\ne*ERR*\n";
    let [(a, oa), (b, ob)] = both(&tmp, &["-tt"], config, &input());
    let (ta, tb) = (text(&a.join("current")), text(&b.join("current")));
    assert_eq!(strip_stamps(&ta), strip_stamps(&tb));
    assert!(tb.contains("PFX: skip this 80\n"));
    assert!(!tb.contains("skip this 40"));
    // the -tt shape: YYYY-MM-DD_HH:MM:SS.xxxxx
    let first = tb.lines().next().unwrap().as_bytes();
    assert!(
        first[..25].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'_',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        }),
        "{tb}"
    );
    let (ea, eb) = (
        String::from_utf8_lossy(&oa.stderr).into_owned(),
        String::from_utf8_lossy(&ob.stderr).into_owned(),
    );
    assert_eq!(strip_stamps(&ea), strip_stamps(&eb));
    assert_eq!(eb.lines().count(), 4, "{eb}");
}

#[test]
fn same_tai64n_and_iso_shapes() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    for (flag, check) in [("-t", 0u8), ("-ttt", 1)] {
        let tmp = TempDir::new("svlogdiff-stamp");
        let [(a, _), (b, _)] = both(&tmp, &[flag], "", b"hello\nworld\n");
        let (ta, tb) = (text(&a.join("current")), text(&b.join("current")));
        assert_eq!(strip_stamps(&ta), strip_stamps(&tb));
        assert_eq!(strip_stamps(&tb), "STAMP hello\nSTAMP world\n");
        let l = tb.as_bytes();
        if check == 0 {
            assert!(l[0] == b'@' && l[1..25].iter().all(u8::is_ascii_hexdigit));
            assert!(tb.starts_with("@40000000"));
        } else {
            assert_eq!(l[10], b'T');
        }
    }
}

#[test]
fn same_replacement_and_long_line_cut_for_stderr() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-repl");
    let mut data = b"tab\there\x01ctl abc\n".to_vec();
    data.extend(vec![b'x'; 30]);
    data.push(b'\n');
    let [(a, oa), (b, ob)] = both(&tmp, &["-r", "#", "-R", "b", "-l", "20"], "e*\n", &data);
    assert_eq!(
        fs::read(a.join("current")).unwrap(),
        fs::read(b.join("current")).unwrap()
    );
    assert_eq!(oa.stderr, ob.stderr);
    assert!(String::from_utf8_lossy(&ob.stderr).contains("xxxxxxxxxxxxxxxxxxxx...\n"));
    assert!(text(&b.join("current")).starts_with("ta##here#ctl a#c\n"));
}

#[test]
fn same_processor_results() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-proc");
    // processor: upper-case the file, count runs in state
    let config = "s300\n!tr a-z A-Z; n=$(cat <&4); echo $((n+1)) >&5\n";
    let data: Vec<u8> = (0..40)
        .flat_map(|i| format!("proc line {i}\n").into_bytes())
        .collect();
    let [(a, _), (b, _)] = both(&tmp, &[], config, &data);
    assert_eq!(file_kinds(&a), file_kinds(&b));
    let sa: Vec<String> = rotated(&a).iter().map(|f| text(f)).collect();
    let sb: Vec<String> = rotated(&b).iter().map(|f| text(f)).collect();
    assert_eq!(sa, sb);
    assert!(sb[0].starts_with("PROC LINE 0\n"));
    assert_eq!(text(&a.join("state")), text(&b.join("state")));
    for f in rotated(&b) {
        assert!(f.to_string_lossy().ends_with(".s"));
        assert_eq!(mode(&f), 0o744);
    }
}

#[test]
fn same_udp_datagrams() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-udp");
    let recv = |_: ()| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    };
    let (sa, sb) = (recv(()), recv(()));
    let data = b"udp one\nudp two\nnot me\n";
    let mut got = Vec::new();
    for (sock, prog) in [(&sa, "svlogd"), (&sb, "svlog")] {
        let cfg = format!("u{}\npPX \n-not*\n", sock.local_addr().unwrap());
        let d = logdir(&tmp, prog, Some(&cfg));
        let out = if prog == "svlogd" {
            svlogd_run(&["-t", d.to_str().unwrap()], data)
        } else {
            svlog_run(&["-t", d.to_str().unwrap()], data)
        };
        assert_eq!(out.status.code(), Some(0));
        let mut dgrams = String::new();
        let mut buf = [0u8; 2048];
        for _ in 0..2 {
            let n = sock.recv(&mut buf).expect("datagram");
            dgrams.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        got.push((
            strip_stamps(&dgrams),
            strip_stamps(&text(&d.join("current"))),
        ));
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[1].0, "STAMP PX udp one\nSTAMP PX udp two\n");
}

#[test]
fn same_salvage_of_unclosed_current() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-salvage");
    let mut kinds = Vec::new();
    for prog in ["svlogd", "svlog"] {
        let d = logdir(&tmp, prog, None);
        fs::write(d.join("current"), "left by a killed logger\n").unwrap();
        fs::set_permissions(
            d.join("current"),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        let out = if prog == "svlogd" {
            svlogd_run(&[d.to_str().unwrap()], b"new\n")
        } else {
            svlog_run(&[d.to_str().unwrap()], b"new\n")
        };
        assert_eq!(out.status.code(), Some(0));
        let r = rotated(&d);
        assert_eq!(r.len(), 1);
        assert!(r[0].to_string_lossy().ends_with(".u"));
        assert_eq!(text(&r[0]), "left by a killed logger\n");
        assert_eq!(mode(&r[0]), 0o644);
        assert_eq!(text(&d.join("current")), "new\n");
        kinds.push(file_kinds(&d));
    }
    assert_eq!(kinds[0], kinds[1]);
}

#[test]
fn final_line_without_newline_svlogd_drops_svlog_keeps() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-q14");
    let [(a, _), (b, _)] = both(&tmp, &[], "", b"a\nb-no-newline");
    assert_eq!(text(&a.join("current")), "a\n");
    assert_eq!(text(&b.join("current")), "a\nb-no-newline\n");
}

#[test]
fn same_split_of_lines_longer_than_s() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let tmp = TempDir::new("svlogdiff-split");
    let data: Vec<u8> = (0..12)
        .flat_map(|i| format!("{i:02}{}\n", "y".repeat(147)).into_bytes())
        .collect();
    let [(a, _), (b, _)] = both(&tmp, &[], "s100\nn0\n", &data);
    let sizes = |d: &std::path::Path| -> Vec<u64> {
        rotated(d)
            .iter()
            .map(|f| fs::metadata(f).unwrap().len())
            .collect()
    };
    assert_eq!(sizes(&a), sizes(&b));
    assert!(sizes(&b).iter().all(|&s| s == 100));
    assert_eq!(all_logs(&a), all_logs(&b));
    assert_eq!(all_logs(&b), data);
}

/// Several MB of lines of varied length (some longer than `-l` and than
/// svlogd's 1024-byte buffer) across rotations of files larger than the
/// 1 MiB step at which svlog starts disk writeback: the same files, the
/// same sizes, every line in exactly once and in order -- plain (whole
/// chunks), with a smaller `-l` (moves the rotation point), and with
/// stamps and a `p` prefix (records copied per chunk).
#[test]
fn same_files_for_megabytes_across_rotations() {
    if !common::require(&[common::Need::Runit]) {
        return;
    }
    let mut data = Vec::new();
    let mut i: u64 = 0;
    while data.len() < 7_000_000 {
        let len = (i * 7919) % 2600;
        data.extend(format!("{i:08} {}\n", "z".repeat(len as usize)).into_bytes());
        i += 1;
    }
    let sizes = |d: &std::path::Path| -> Vec<u64> {
        rotated(d)
            .iter()
            .map(|f| fs::metadata(f).unwrap().len())
            .collect()
    };
    let cases: [(&[&str], &str, &str); 4] = [
        (&[], "", ""),
        (&["-l", "300"], "", ""),
        (&["-tt"], "", "STAMP "),
        (&["-t"], "pPFX:\n", "STAMP PFX:"),
    ];
    for (args, extra, head) in cases {
        let tmp = TempDir::new("svlogdiff-mb");
        let config = format!("s2500000\nn0\n{extra}");
        let [(a, _), (b, _)] = both(&tmp, args, &config, &data);
        assert!(sizes(&b).len() >= 2, "{args:?}: {:?}", sizes(&b));
        assert!(sizes(&b).iter().all(|&s| s <= 2_500_000));
        assert_eq!(sizes(&a), sizes(&b), "{args:?}");
        let (la, lb) = (all_logs(&a), all_logs(&b));
        if head.is_empty() {
            assert!(la == lb, "{args:?}: svlogd and svlog differ");
            assert!(lb == data, "{args:?}: svlog lost, added or reordered bytes");
        } else {
            let (ta, tb) = (
                strip_stamps(&String::from_utf8(la).unwrap()),
                strip_stamps(&String::from_utf8(lb).unwrap()),
            );
            assert!(ta == tb, "{args:?}: svlogd and svlog differ");
            let want: String = String::from_utf8(data.clone())
                .unwrap()
                .lines()
                .map(|l| format!("{head}{l}\n"))
                .collect();
            assert!(tb == want, "{args:?}: svlog lost, added or reordered lines");
        }
    }
}
