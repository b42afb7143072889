//! svkit chpst on its own: privilege drop as root, limits, locks (waiting
//! and failing), the -h option, envdir refusals, a chroot with its own
//! passwd/group files, no NSS symbols, and --help vs the man page.

mod chpst_support;
mod common;

use chpst_support::*;
use std::fs;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn chpst(sb: &Sandbox, args: &[&str]) -> Out {
    run_in(sb.path(), sb.command(&ours()).args(args))
}

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {text:?}"))
}

#[test]
fn u_nobody_replaces_all_supplementary_groups() {
    if skip_unless_root() {
        return;
    }
    let sb = Sandbox::new("groups");
    let me = ours();
    let me = me.to_str().unwrap();
    // Give the caller extra groups first, so dropping them is observable.
    let out = chpst(
        &sb,
        &[
            "-u",
            "root:root:daemon:adm",
            me,
            "-u",
            "nobody",
            "cat",
            "/proc/self/status",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let groups: Vec<&str> = line(&out.stdout, "Groups:")[7..]
        .split_whitespace()
        .collect();
    assert_eq!(groups, ["65534"]);
    assert_eq!(
        line(&out.stdout, "Uid:"),
        "Uid:\t65534\t65534\t65534\t65534"
    );
    assert_eq!(
        line(&out.stdout, "Gid:"),
        "Gid:\t65534\t65534\t65534\t65534"
    );
    assert_eq!(line(&out.stdout, "CapEff:"), "CapEff:\t0000000000000000");
    assert_eq!(line(&out.stdout, "CapPrm:"), "CapPrm:\t0000000000000000");
}

#[test]
fn a_dropped_process_cannot_become_root_again() {
    if skip_unless_root() {
        return;
    }
    let sb = Sandbox::new("regain");
    let me = ours();
    let me = me.to_str().unwrap();
    let out = chpst(&sb, &["-u", "nobody", me, "-u", "root", "true"]);
    assert_eq!(out.code, Some(111), "{out:?}");
    assert_eq!(
        out.stderr,
        "chpst: fatal: unable to setgroups: permission denied\n"
    );
    let out = chpst(&sb, &["-u", "nobody", me, "-u", ":0:0", "true"]);
    assert_eq!(out.code, Some(111), "{out:?}");
    // Switching to the user one already is works without privileges.
    let out = chpst(&sb, &["-u", "nobody", me, "-u", "nobody", "id", "-u"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "65534\n"),
        "{out:?}"
    );
}

#[test]
fn limits_show_in_proc_self_limits() {
    let sb = Sandbox::new("limits");
    let out = chpst(
        &sb,
        &[
            "-o",
            "321",
            "-c",
            "0",
            "-t",
            "100",
            "-m",
            "300000000",
            "cat",
            "/proc/self/limits",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let soft = |name: &str| -> String {
        let l = line(&out.stdout, name);
        l[name.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(soft("Max open files"), "321");
    assert_eq!(soft("Max core file size"), "0");
    assert_eq!(soft("Max cpu time"), "100");
    assert_eq!(soft("Max data size"), "300000000");
    assert_eq!(soft("Max stack size"), "300000000");
    // Capped at the hard limit where that is lower (memlock often is).
    let memlock: Vec<&str> = line(&out.stdout, "Max locked memory")[17..]
        .split_whitespace()
        .collect();
    let hard_memlock = memlock[1].parse::<u64>().unwrap_or(u64::MAX);
    assert_eq!(memlock[0], 300000000.min(hard_memlock).to_string());
    assert_eq!(soft("Max address space"), "300000000");
    // Above the hard limit: capped, never raised.
    let hard = run_in(sb.path(), Command::new("sh").args(["-c", "ulimit -Hn"]));
    let out = chpst(&sb, &["-o", "999999999", "sh", "-c", "ulimit -Sn"]);
    assert_eq!(out.stdout, hard.stdout);
}

#[test]
fn malformed_limits_are_usage_errors() {
    let sb = Sandbox::new("badlimit");
    for v in ["", "abc", "12k", "-1", "99999999999999999999999"] {
        let out = chpst(&sb, &["-o", v, "true"]);
        assert_eq!(out.code, Some(100), "-o {v:?}: {out:?}");
        assert!(out.stderr.starts_with("usage: chpst "), "{out:?}");
    }
    // The softlimit alias complains with its own usage, not chpst's.
    let softlimit = sb.alias("a", "softlimit", &ours());
    let out = run_in(sb.path(), sb.command(&softlimit).args(["-o", "x", "true"]));
    assert_eq!(out.code, Some(100));
    assert!(
        out.stderr.starts_with("usage: softlimit [-a allbytes]"),
        "{out:?}"
    );
}

/// Holds an exclusive flock on `path` until dropped.
fn hold_lock(path: &Path) -> fs::File {
    let f = fs::File::create(path).unwrap();
    rustix::fs::flock(
        f.as_fd(),
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .unwrap();
    f
}

/// Is `pid` blocked waiting for a lock? (/proc/locks lists waiters
/// with "->" before the lock type.)
fn waiting_for_lock(pid: u32) -> bool {
    let locks = fs::read_to_string("/proc/locks").unwrap();
    locks.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&"->") && f.get(5) == Some(&pid.to_string().as_str())
    })
}

/// Starts `bin args` (prog touches `done`), checks it blocks on the held
/// lock, releases the lock and checks it then proceeds.
fn assert_waits_for_lock(sb: &Sandbox, bin: &Path, args: &[&str]) {
    let lockfile = sb.path().join("lk");
    let done = sb.path().join("done");
    let _ = fs::remove_file(&done);
    let held = hold_lock(&lockfile);
    let mut cmd = sb.command(bin);
    cmd.args(args).args(["touch", "done"]);
    let mut guard = common::Guard::spawn(&mut cmd);
    common::wait_until(Duration::from_secs(10), "chpst blocked in flock", || {
        waiting_for_lock(guard.pid)
    });
    assert!(!done.exists(), "prog ran while the lock was held");
    drop(held);
    let status = guard
        .wait_timeout(Duration::from_secs(10))
        .expect("exit after release");
    assert!(status.success(), "{status:?}");
    assert!(done.exists());
}

#[test]
fn lock_l_waits_and_capital_l_fails_on_a_held_lock() {
    let sb = Sandbox::new("lock");
    assert_waits_for_lock(&sb, &ours(), &["-l", "lk"]);
    let _held = hold_lock(&sb.path().join("lk"));
    let out = chpst(&sb, &["-L", "lk", "true"]);
    assert_eq!(out.code, Some(111));
    assert_eq!(
        out.stderr,
        "chpst: fatal: unable to lock: lk: temporary failure\n"
    );
}

#[test]
fn the_lock_is_held_by_prog() {
    let sb = Sandbox::new("lockheld");
    // flock(1) on the same file from inside prog must find it locked.
    let out = chpst(
        &sb,
        &["-L", "lk", "sh", "-c", "flock -n lk true || echo held"],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "held\n"),
        "{out:?}"
    );
}

#[test]
fn setlock_alias_has_daemontools_semantics() {
    let sb = Sandbox::new("setlock");
    let setlock = sb.alias("a", "setlock", &ours());
    // Default (and -N) waits.
    assert_waits_for_lock(&sb, &setlock, &["lk"]);
    assert_waits_for_lock(&sb, &setlock, &["-nN", "lk"]);
    let _held = hold_lock(&sb.path().join("lk"));
    let out = run_in(sb.path(), sb.command(&setlock).args(["-n", "lk", "true"]));
    assert_eq!(out.code, Some(111));
    assert_eq!(
        out.stderr,
        "chpst: fatal: unable to lock: lk: temporary failure\n"
    );
    let out = run_in(sb.path(), sb.command(&setlock).args(["-nx", "lk", "true"]));
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    let out = run_in(
        sb.path(),
        sb.command(&setlock).args(["-x", "free", "no-such-prog"]),
    );
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
}

#[test]
fn h_sets_home_user_and_logname() {
    if skip_unless_root() {
        return;
    }
    let sb = Sandbox::new("home");
    for spec in ["nobody", ":65534:65534", "nobody:nogroup:daemon"] {
        let out = chpst(&sb, &["-e", "envd", "-h", "-u", spec, "env"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stdout.contains("\nHOME=/nonexistent\n"),
            "{spec}: {out:?}"
        );
        assert!(out.stdout.contains("\nUSER=nobody\n"), "{spec}: {out:?}");
        assert!(out.stdout.contains("\nLOGNAME=nobody\n"), "{spec}: {out:?}");
    }
    let out = chpst(&sb, &["-h", "-u", ":4242:4242", "env"]);
    assert_eq!(out.code, Some(111));
    assert_eq!(
        out.stderr,
        "chpst: fatal: no passwd entry for uid (needed by -h): 4242\n"
    );
    let out = chpst(&sb, &["-h", "env"]);
    assert_eq!(out.code, Some(100));
    assert!(
        out.stderr.starts_with("chpst: -h needs -u\nusage: chpst"),
        "{out:?}"
    );
}

#[test]
fn envdir_refusals_and_skips() {
    let sb = Sandbox::new("envdir");
    let envd = sb.path().join("envd");
    // A name with '=' would smuggle "X=Y=v" into the environment.
    fs::write(envd.join("X=Y"), "v").unwrap();
    let out = chpst(&sb, &["-e", "envd", "true"]);
    assert_eq!(out.code, Some(111));
    assert_eq!(
        out.stderr,
        "chpst: fatal: unable to use envd/X=Y: variable name contains =\n"
    );
    fs::remove_file(envd.join("X=Y")).unwrap();
    // A dangling symlink is skipped (a warning with -v), not given the
    // previous file's value as runit does.
    std::os::unix::fs::symlink("nowhere", envd.join("DANGLING")).unwrap();
    let out = chpst(&sb, &["-v", "-e", "envd", "env"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains("DANGLING"), "{out:?}");
    assert!(out
        .stderr
        .contains("chpst: warning: unable to read envd/DANGLING: file does not exist\n"));
    assert!(out
        .stderr
        .contains("chpst: warning: unable to read envd/subdir: is a directory\n"));
    // Without -v: silent.
    let out = chpst(&sb, &["-e", "envd", "true"]);
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    // The envdir alias treats a subdirectory as fatal.
    let envdir = sb.alias("a", "envdir", &ours());
    let out = run_in(sb.path(), sb.command(&envdir).args(["envd", "true"]));
    assert_eq!(out.code, Some(111));
    assert_eq!(
        out.stderr,
        "chpst: fatal: unable to read envd/subdir: is a directory\n"
    );
}

#[test]
fn missing_programs_and_directories_are_fatal() {
    let sb = Sandbox::new("missing");
    for (args, msg) in [
        (
            &["no-such-program"][..],
            "unable to run: no-such-program: file does not exist",
        ),
        (
            &["-e", "nodir", "true"],
            "unable to switch to directory: nodir: file does not exist",
        ),
        (
            &["-/", "nodir", "true"],
            "unable to change directory: nodir: file does not exist",
        ),
        (
            &["-C", "nodir", "true"],
            "unable to change directory: nodir: file does not exist",
        ),
        (
            &["-u", "nosuchuser", "true"],
            "unknown user/group: nosuchuser",
        ),
        (&["-u", ":1000:", "true"], "invalid uid/gids: 1000:"),
    ] {
        let out = chpst(&sb, args);
        assert_eq!(out.code, Some(111), "{args:?}: {out:?}");
        assert_eq!(out.stderr, format!("chpst: fatal: {msg}\n"), "{args:?}");
    }
}

#[test]
fn chdir_after_chroot() {
    if skip_unless_root() {
        return;
    }
    let sb = Sandbox::new("chdir");
    let out = chpst(&sb, &["-/", "/", "-C", "/usr", "pwd"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "/usr\n"),
        "{out:?}"
    );
}

/// A minimal root: `progs` copied with the shared libraries ldd lists.
fn make_root(root: &Path, progs: &[&str]) {
    for prog in progs {
        let ldd = Command::new("ldd").arg(prog).output().expect("ldd");
        let listing = String::from_utf8_lossy(&ldd.stdout).into_owned();
        let libs = listing
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
            .map(str::to_owned);
        for file in std::iter::once(prog.to_string()).chain(libs) {
            let dest = root.join(file.trim_start_matches('/'));
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::copy(&file, &dest).unwrap();
        }
    }
    fs::create_dir_all(root.join("etc")).unwrap();
}

#[test]
fn chroot_uses_the_new_roots_passwd_and_group_files() {
    if skip_unless_root() {
        return;
    }
    if skip_unless_runit() {
        return;
    }
    let sb = Sandbox::new("chroot");
    let root = sb.path().join("root");
    make_root(&root, &["/usr/bin/id", "/usr/bin/env"]);
    fs::write(
        root.join("etc/passwd"),
        "# users of this image only\nalice:x:4242:4343:Alice:/home/alice:/bin/sh\n",
    )
    .unwrap();
    fs::write(root.join("etc/group"), "al:x:4343:\nstaff2:x:4444:\n").unwrap();
    let theirs = Path::new(RUNIT);
    for args in [
        &["-/", "root", "-u", "alice:staff2:al", "/usr/bin/id"][..],
        &["-/", "root", "-u", "alice", "/usr/bin/id"],
        &["-/", "root", "-U", "alice:staff2", "/usr/bin/env"],
        &["-/", "root", "-u", "nobody", "/usr/bin/id"],
    ] {
        let a = run_in(sb.path(), sb.command(&ours()).args(args));
        let b = run_in(sb.path(), sb.command(theirs).args(args));
        assert_eq!(a, b, "{args:?}: ours (left) vs runit (right)");
    }
    let out = chpst(&sb, &["-/", "root", "-u", "alice:staff2:al", "/usr/bin/id"]);
    assert_eq!(
        out.stdout,
        "uid=4242(alice) gid=4444(staff2) groups=4444(staff2),4343(al)\n"
    );
    let out = chpst(&sb, &["-/", "root", "-h", "-u", "alice", "/usr/bin/env"]);
    assert!(out.stdout.contains("\nHOME=/home/alice\n"), "{out:?}");
    assert!(out.stdout.contains("\nUSER=alice\n"), "{out:?}");
    // Without any passwd file: numeric ids work, names fail clearly.
    fs::remove_file(root.join("etc/passwd")).unwrap();
    fs::remove_file(root.join("etc/group")).unwrap();
    let out = chpst(&sb, &["-/", "root", "-u", ":4242:4343:4444", "/usr/bin/id"]);
    assert_eq!(
        out.stdout, "uid=4242 gid=4343 groups=4343,4444\n",
        "{out:?}"
    );
    let out = chpst(&sb, &["-/", "root", "-u", "alice", "/usr/bin/id"]);
    assert_eq!(out.code, Some(111));
    assert_eq!(
        out.stderr,
        "chpst: fatal: unable to read /etc/passwd: file does not exist\n"
    );
}

#[test]
fn the_binary_never_calls_nss() {
    // Dynamic symbols of a dynamic build; the whole symbol table of the
    // default static build (where a linked getpwnam would be a definition;
    // `nm -D` lists nothing for it).
    let nm_of = |args: &[&str]| {
        let out = Command::new("nm")
            .args(args)
            .arg(ours())
            .output()
            .expect("nm (binutils)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut symbols = nm_of(&["-D"]);
    if !symbols.contains("execve") {
        symbols = nm_of(&[]);
    }
    assert!(
        symbols.contains("execve"),
        "nm output looks wrong: {symbols}"
    );
    for bad in [
        "getpwnam",
        "getpwuid",
        "getpwent",
        "getgrnam",
        "getgrgid",
        "getgrent",
        "initgroups",
        "getgrouplist",
    ] {
        assert!(
            !symbols.lines().any(|l| l
                .split_whitespace()
                .last()
                .is_some_and(|s| s.starts_with(bad))),
            "chpst links {bad}: {symbols}"
        );
    }
}

#[test]
fn help_goes_to_stdout_and_agrees_with_the_man_page() {
    let sb = Sandbox::new("help");
    let out = chpst(&sb, &["--help"]);
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));
    assert!(out.stdout.starts_with("usage: chpst "), "{out:?}");
    let man = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/chpst.8"))
        .expect("man/chpst.8");
    let mut seen = 0;
    for l in out.stdout.lines() {
        let Some(opt) = l.split_whitespace().next() else {
            continue;
        };
        if !l.starts_with("  -") {
            continue;
        }
        let flag = opt.replace('-', "\\-");
        let roff = format!(".B {flag}\n");
        let roff_i = format!(".BI {flag} ");
        assert!(
            man.contains(&roff) || man.contains(&roff_i),
            "{opt} missing from chpst.8"
        );
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} options found in --help");
    for alias in [
        "envdir",
        "envuidgid",
        "pgrphack",
        "setlock",
        "setuidgid",
        "softlimit",
    ] {
        assert!(
            man.contains(&format!(".B {alias}")),
            "{alias} missing from chpst.8"
        );
        let link = sb.alias(alias, alias, &ours());
        let out = run_in(sb.path(), sb.command(&link).arg("--help"));
        assert_eq!(out.code, Some(0));
        assert!(
            out.stdout.starts_with(&format!("usage: {alias} ")),
            "{out:?}"
        );
    }
}

#[test]
fn version_then_usage() {
    let sb = Sandbox::new("version");
    let out = chpst(&sb, &["-V"]);
    assert_eq!(out.code, Some(100));
    assert!(out.stderr.starts_with("chpst: version "), "{out:?}");
}

/// Unlike runit, a PATH element that is a plain file does not end the
/// search (execvp(3) behaviour).
#[test]
fn a_path_element_that_is_a_file_is_skipped() {
    let sb = Sandbox::new("pathfile");
    fs::write(sb.path().join("plainfile"), "").unwrap();
    common::write_script(sb.path().join("d2/tool"), "#!/bin/sh\necho d2\n");
    let out = run_in(
        sb.path(),
        sb.command(&ours()).env("PATH", "plainfile:d2").arg("tool"),
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "d2\n"),
        "{out:?}"
    );
}

/// `-0` with stdin already closed: done, not an error (runit 2.1.2 fails
/// with "unable to close stdin: file descriptor not open"). Also shows
/// that a closed descriptor stays closed through chpst (no Rust runtime
/// reopening it on /dev/null).
#[test]
fn closing_an_already_closed_stdin_is_fine() {
    let sb = Sandbox::new("closed");
    let script =
        r#"exec <&-; exec "$0" -0 sh -c '[ -e /proc/$$/fd/0 ] && echo open || echo closed'"#;
    let out = run_in(
        sb.path(),
        Command::new("sh").args(["-c", script]).arg(ours()),
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "closed\n"),
        "{out:?}"
    );
    let script = r#"exec <&-; exec "$0" sh -c '[ -e /proc/$$/fd/0 ] && echo open || echo closed'"#;
    let out = run_in(
        sb.path(),
        Command::new("sh").args(["-c", script]).arg(ours()),
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "closed\n"),
        "{out:?}"
    );
}
