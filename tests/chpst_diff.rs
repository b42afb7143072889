//! Differential tests: svkit's chpst against runit's own (/usr/bin/chpst)
//! with the same arguments on the same inputs. Equal means the probe saw
//! the same ids, groups, capabilities, signal dispositions, limits, nice
//! value, session, open fds, cwd and environment, and chpst gave the same
//! exit code and error text.

mod chpst_support;
mod common;

use chpst_support::*;
use std::fs;

/// Runs both chpsts with `args` then the probe and asserts equal results.
fn same(sb: &Sandbox, args: &[&str]) -> String {
    let ours = sb.probe(&chpst_support::ours(), args);
    let theirs = sb.probe(std::path::Path::new(RUNIT), args);
    assert_eq!(ours, theirs, "chpst {args:?}: ours (left) vs runit (right)");
    assert_eq!(ours.0.code, Some(0), "chpst {args:?}: {:?}", ours.0);
    ours.1
}

#[test]
fn state_changes_match_runit() {
    if skip_unless_runit() {
        return;
    }
    if skip_unless_root() {
        return;
    }
    let sb = Sandbox::new("diff-state");
    fs::write(sb.path().join("lockfile"), "").unwrap();
    let cases: &[&[&str]] = &[
        &[],
        &["-u", "nobody"],
        &["-u", "nobody:nogroup:daemon"],
        &["-u", ":65534:65534:1:4"],
        &["-u", "daemon:nogroup"],
        &["-U", "nobody:daemon"],
        &["-U", ":123:456"],
        &["-e", "envd"],
        &["-e", "./envd/"],
        &["-m", "300000000"],
        &[
            "-d",
            "200000000",
            "-o",
            "512",
            "-p",
            "77",
            "-f",
            "123456",
            "-c",
            "0",
            "-r",
            "1000000",
            "-t",
            "100",
        ],
        &["-o", "99999999"],
        &["-n", "5"],
        &["-n", "-5"],
        &["-n", "+2"],
        &["-P"],
        &["-0"],
        &["-1"],
        &["-2"],
        &["-012"],
        &["-l", "lockfile"],
        &["-L", "lockfile"],
        &[
            "-v", "-e", "envd", "-u", "nobody", "-o", "100", "-P", "-n", "3",
        ],
        &["-/", "/", "-u", "nobody"],
    ];
    for args in cases {
        same(&sb, args);
    }
}

#[test]
fn a_path_from_envdir_reaches_prog_but_not_the_lookup() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-path");
    let report = same(&sb, &["-e", "envd"]);
    assert!(report.contains("\nPATH=/nonexistent\n"), "{report}");
    assert!(report.contains("\nTRAIL=first line\n"), "{report}");
    assert!(!report.contains("HOME="), "{report}");
}

#[test]
fn argv0_option_matches_runit() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-argv0");
    let args = [
        "-b",
        "renamed",
        "sh",
        "-c",
        "tr '\\0' ' ' </proc/$$/cmdline",
    ];
    let ours = run_in(sb.path(), sb.command(&chpst_support::ours()).args(args));
    let theirs = run_in(
        sb.path(),
        sb.command(std::path::Path::new(RUNIT)).args(args),
    );
    assert_eq!(ours, theirs);
    assert!(ours.stdout.starts_with("renamed -c "), "{ours:?}");
}

/// Bad input: the same exit code and the same `chpst: fatal:` line.
#[test]
fn failures_match_runit() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-fail");
    fs::write(sb.path().join("plainfile"), "x").unwrap();
    fs::write(sb.path().join("bin/notexec"), "#!/bin/sh\n").unwrap();
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["-u", "nosuchuser", "true"],
        vec!["-u", "nobody:nosuchgroup", "true"],
        vec!["-U", "nosuchuser", "true"],
        vec!["-u", ":65534", "true"],
        vec!["-u", ":abc:1", "true"],
        vec!["-e", "/nonexistent", "true"],
        vec!["-e", "plainfile", "true"],
        vec!["-/", "/nonexistent", "true"],
        vec!["no-such-program"],
        vec!["./no-such-program"],
        vec!["notexec"],
        vec!["-L", "/nonexistent/dir/lock", "true"],
    ];
    if !is_root() {
        cases.push(vec!["-u", "nobody", "true"]);
    }
    for args in &cases {
        let ours = run_in(sb.path(), sb.command(&chpst_support::ours()).args(args));
        let theirs = run_in(
            sb.path(),
            sb.command(std::path::Path::new(RUNIT)).args(args),
        );
        assert_eq!(ours, theirs, "chpst {args:?}: ours (left) vs runit (right)");
        assert_eq!(ours.code, Some(111), "chpst {args:?}");
        assert!(ours.stderr.starts_with("chpst: fatal: "), "{ours:?}");
        assert_eq!(ours.stderr.lines().count(), 1, "{ours:?}");
    }
}

/// Usage errors: exit 100 from both, and the same complaint line when
/// runit prints one (our usage line lists more options than runit's).
#[test]
fn usage_errors_match_runit() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-usage");
    let cases: &[&[&str]] = &[
        &[],
        &["-v"],
        &["-x", "true"],
        &["-u"],
        &["-o", "abc", "true"],
        &["-o", "-1", "true"],
        &["-n", "x", "true"],
        &["-t", "1s", "true"],
        &["-l", "a", "-L", "b", "true"],
    ];
    for args in cases {
        let ours = run_in(sb.path(), sb.command(&chpst_support::ours()).args(*args));
        let theirs = run_in(
            sb.path(),
            sb.command(std::path::Path::new(RUNIT)).args(*args),
        );
        assert_eq!(ours.code, Some(100), "chpst {args:?}: {ours:?}");
        assert_eq!(theirs.code, Some(100), "runit chpst {args:?}: {theirs:?}");
        let complaint = |o: &Out| {
            o.stderr
                .lines()
                .find(|l| l.starts_with("chpst: "))
                .map(str::to_owned)
        };
        if complaint(&theirs).is_some() {
            assert_eq!(complaint(&ours), complaint(&theirs), "chpst {args:?}");
        }
        assert!(
            ours.stderr
                .lines()
                .any(|l| l.starts_with("usage: chpst [-vVhP012]")),
            "{ours:?}"
        );
        assert_eq!(ours.stdout, "");
    }
}

/// The argv[0] aliases through symlinks named like the daemontools tools.
#[test]
fn aliases_match_runit() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-alias");
    let root = is_root();
    let mut cases: Vec<(&str, Vec<&str>)> = vec![
        ("envdir", vec!["envd2"]),
        ("envuidgid", vec!["nobody"]),
        ("pgrphack", vec![]),
        (
            "softlimit",
            vec!["-o", "100", "-c", "0", "-t", "=", "-m", "300000000"],
        ),
        (
            "softlimit",
            vec![
                "-a",
                "400000000",
                "-d",
                "=",
                "-l",
                "65536",
                "-s",
                "=",
                "-p",
                "50",
            ],
        ),
        ("softlimit", vec!["-f", "1000000", "-r", "=", "-o", "="]),
    ];
    if root {
        cases.push(("setuidgid", vec!["nobody"]));
        cases.push(("dsetuidgid", vec!["daemon"]));
    }
    // envdir mode refuses subdirectories; give it a directory without one.
    fs::create_dir(sb.path().join("envd2")).unwrap();
    for f in [
        "TRAIL",
        "NUL",
        "HOME",
        "NEWLINE_ONLY",
        ".hidden",
        "FOO",
        "PATH",
    ] {
        fs::copy(
            sb.path().join("envd").join(f),
            sb.path().join("envd2").join(f),
        )
        .unwrap();
    }
    for (i, (name, args)) in cases.iter().enumerate() {
        let ours = sb.alias(&format!("ours{i}"), name, &chpst_support::ours());
        let theirs = sb.alias(&format!("runit{i}"), name, RUNIT.as_ref());
        let a = sb.probe(&ours, args);
        let b = sb.probe(&theirs, args);
        assert_eq!(a, b, "{name} {args:?}: ours (left) vs runit (right)");
        assert_eq!(a.0.code, Some(0), "{name} {args:?}: {a:?}");
    }
}

#[test]
fn alias_failures_match_runit() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-alias-fail");
    let cases: &[(&str, &[&str], i32)] = &[
        ("envdir", &["envd", "true"], 111),
        ("envdir", &["/nonexistent", "true"], 111),
        ("envdir", &["envd"], 100),
        ("envdir", &[], 100),
        ("setuidgid", &["nosuchuser", "true"], 111),
        ("setuidgid", &["nobody:nogroup", "true"], 111),
        ("setuidgid", &["nobody"], 100),
        ("envuidgid", &["nosuchuser", "true"], 111),
        ("envuidgid", &[], 100),
        ("pgrphack", &[], 100),
        ("pgrphack", &["no-such-program"], 111),
        ("softlimit", &["-o", "5"], 100),
        ("setlock", &["onlyfile"], 100),
        ("setlock", &["/nonexistent/lock", "true"], 111),
        ("setlock", &["-x", "/nonexistent/lock", "true"], 0),
    ];
    for (i, (name, args, code)) in cases.iter().enumerate() {
        let ours = sb.alias(&format!("ours{i}"), name, &chpst_support::ours());
        let theirs = sb.alias(&format!("runit{i}"), name, RUNIT.as_ref());
        let mut a = run_in(sb.path(), sb.command(&ours).args(*args));
        let mut b = run_in(sb.path(), sb.command(&theirs).args(*args));
        // runit ends its usage message with an extra empty line.
        for o in [&mut a, &mut b] {
            o.stderr = o.stderr.trim_end().to_owned();
        }
        assert_eq!(a, b, "{name} {args:?}: ours (left) vs runit (right)");
        assert_eq!(a.code, Some(*code), "{name} {args:?}: {a:?}");
    }
}

/// An envdir the (dropped) user may not read: the inner chpst runs as
/// nobody, so permissions apply even though the test is root.
#[test]
fn unreadable_envdir_matches_runit() {
    if skip_unless_runit() {
        return;
    }
    if skip_unless_root() {
        return;
    }
    let sb = Sandbox::new("diff-eacces");
    let private = sb.path().join("private");
    fs::create_dir(&private).unwrap();
    fs::write(private.join("A"), "1").unwrap();
    let locked_file = sb.path().join("private-file");
    fs::create_dir(&locked_file).unwrap();
    fs::write(locked_file.join("SECRET"), "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(
        locked_file.join("SECRET"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let mut results = Vec::new();
    for bin in [chpst_support::ours(), RUNIT.into()] {
        let inner = bin.to_str().unwrap().to_owned();
        let a = run_in(
            sb.path(),
            sb.command(&bin)
                .args(["-u", "nobody", &inner, "-e", "private", "true"]),
        );
        let b = run_in(
            sb.path(),
            sb.command(&bin)
                .args(["-u", "nobody", &inner, "-e", "private-file", "true"]),
        );
        results.push((a, b));
    }
    assert_eq!(results[0], results[1], "ours (left) vs runit (right)");
    let (a, b) = &results[0];
    assert_eq!(a.code, Some(111));
    assert_eq!(
        a.stderr,
        "chpst: fatal: unable to switch to directory: private: access denied\n"
    );
    assert_eq!(
        b.stderr,
        "chpst: fatal: unable to read private-file/SECRET: access denied\n"
    );
}

/// The PATH search: empty elements, unset PATH, and which errors end it.
#[test]
fn path_search_matches_runit() {
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("diff-pathsearch");
    let p = sb.path();
    // d1/tool is not executable, d2/tool is; d3/tool is a directory;
    // ./tool (for empty PATH elements) says "cwd".
    common::write_script(p.join("d2/tool"), "#!/bin/sh\necho d2\n");
    common::write_script(p.join("tool"), "#!/bin/sh\necho cwd\n");
    fs::create_dir_all(p.join("d1")).unwrap();
    fs::write(p.join("d1/tool"), "#!/bin/sh\necho d1\n").unwrap();
    fs::create_dir_all(p.join("d3/tool")).unwrap();
    // No #! line: execve fails with ENOEXEC, which ends the search.
    common::write_script(p.join("d1/noshebang"), "echo x\n");
    common::write_script(p.join("d2/noshebang"), "#!/bin/sh\necho d2\n");
    let cases: &[(Option<&str>, &str)] = &[
        (Some("d1:d2"), "tool"),
        (Some("d3:d1:d2"), "tool"),
        (Some("d1"), "tool"),
        (Some("d3"), "tool"),
        (Some(""), "tool"),
        (Some("d1::d2"), "tool"),
        (Some("d1:d2"), "noshebang"),
        (Some("d1:d2"), "missing"),
        (None, "true"),
        (None, "tool"),
    ];
    for (path, prog) in cases {
        let mut outs = Vec::new();
        for bin in [chpst_support::ours(), RUNIT.into()] {
            let mut cmd = sb.command(&bin);
            match path {
                Some(v) => cmd.env("PATH", v),
                None => cmd.env_remove("PATH"),
            };
            outs.push(run_in(p, cmd.arg(prog)));
        }
        assert_eq!(
            outs[0], outs[1],
            "PATH={path:?} {prog}: ours (left) vs runit (right)"
        );
    }
}
