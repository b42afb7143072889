//! svimport(1) end to end: the real binary converts real files; the
//! converted directories are checked as files, run through sh, and run
//! under svscan as PID 1 of a private PID namespace (root only; skipped
//! otherwise unless SVKIT_TEST_REQUIRE_ALL=1).

mod common;
mod svimport_support;
mod svscan_harness;

use common::{bin, require, wait_until, Need, TempDir};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use svimport_support::*;
use svscan_harness::{Area, Ns, LONG};

/// The three programs of the issue: one down, one with two instances,
/// one logging to a file with a size limit. `trace/` and `logs/` are
/// next to the file.
const THREE: &str = "\
[supervisord]
nodaemon=true

[program:up]
command=/bin/sh -c 'echo started > %(here)s/trace/up; exec sleep 1000'

[program:off]
command=/bin/sh -c 'echo started > %(here)s/trace/off; exec sleep 1000'
autostart=false

[program:worker]
command=/bin/sh -c 'echo \"$SVKIT_INSTANCE %(process_num)d\" > %(here)s/trace/worker-%(process_num)02d; exec sleep 1000'
process_name=%(program_name)s_%(process_num)02d
numprocs=2

[program:chatty]
command=/bin/sh -c 'i=0; while [ $i -lt 400 ]; do echo \"line $i padding padding padding padding padding padding\"; i=$((i+1)); done; exec sleep 1000'
stdout_logfile=%(here)s/logs/chatty.log
stdout_logfile_maxbytes=4KB
stdout_logfile_backups=3
";

/// Writes `conf` as `DIR/supervisord.conf` and converts it into `DIR/scan`.
fn convert(dir: &Path, conf: &str) -> std::process::Output {
    fs::write(dir.join("supervisord.conf"), conf).unwrap();
    fs::create_dir_all(dir.join("trace")).unwrap();
    let out = svimport(dir, &["supervisord", "-o", "scan", "supervisord.conf"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// svscan as PID 1 on `a.scan()`, with PATH reaching chpst and svlog.
fn start(a: &Area, extra: &[(&str, &str)]) -> Ns {
    let mut c = Command::new("unshare");
    c.args(["--pid", "--fork", "--mount-proc", "--kill-child", "--"])
        .arg(bin("svscan"))
        .args(["-t", "3"])
        .arg(a.scan())
        .env("PATH", path_with_bins())
        .env("SVSCAN_INIT_DIRS", a.tmp.join("none.d"))
        .env("SVSCAN_PRE_SHUTDOWN_DIRS", a.tmp.join("none.d"))
        .env("SVSCAN_POST_SHUTDOWN_DIRS", a.tmp.join("none.d"))
        .env("SVSCAN_ENV_DIR", a.tmp.join("none.env"))
        .stdout(Stdio::null());
    for (k, v) in extra {
        c.env(k, v);
    }
    a.spawn_ns(c)
}

fn svctl_status(dir: &Path) -> String {
    let o = Command::new(bin("svctl"))
        .arg("status")
        .arg(dir)
        .output()
        .unwrap();
    text(&o.stdout)
}

fn rotated(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().into_string().ok()?;
                    n.starts_with('@')
                        .then(|| (n, e.metadata().map_or(0, |m| m.len())))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The down service stays down and the logger rotates at the size:
/// checked for an already started service set.
fn check_down_and_rotation(a: &Area, ns: &Ns, root: &Path) {
    wait_until(LONG, "up started", || root.join("trace/up").exists());
    wait_until(LONG, "supervise of off wrote its status", || {
        svctl_status(&a.scan().join("off")).starts_with("down:")
    });
    assert!(!root.join("trace/off").exists(), "the down service ran");
    assert!(svctl_status(&a.scan().join("up")).starts_with("run:"));
    let logdir = root.join("logs/chatty");
    wait_until(LONG, "chatty logged its last line", || {
        fs::read_to_string(logdir.join("current"))
            .unwrap_or_default()
            .contains("line 399 ")
    });
    let files = rotated(&logdir);
    assert_eq!(files.len(), 3, "n3 keeps three rotated files: {files:?}");
    for (name, size) in &files {
        assert!(*size <= 4096, "{name} is {size} bytes, over s4096");
        assert!(*size > 3000, "{name} rotated early: {size} bytes");
    }
    let cfg = fs::read_to_string(logdir.join("config")).unwrap();
    assert_eq!(cfg, "s4096\nn3\n");
    let _ = ns;
}

#[test]
fn three_programs_convert_as_the_issue_asks() {
    let t = TempDir::new("svimport-three");
    let out = convert(t.path(), THREE);
    let scan = t.join("scan");
    assert!(scan.join("up/run").is_file());
    assert!(scan.join("off/down").is_file());
    assert_eq!(
        fs::read_to_string(scan.join("worker@/instances")).unwrap(),
        "00\n01\n"
    );
    let run = fs::read_to_string(scan.join("worker@/run")).unwrap();
    assert!(
        run.contains("  00) process_num=0 process_num_02d=00 ;;"),
        "{run}"
    );
    let lrun = fs::read_to_string(scan.join("chatty/log/run")).unwrap();
    assert!(lrun.contains("s4096 n3"), "{lrun}");
    // Each instance's run script, run through sh with its SVKIT_INSTANCE
    // (exec replaced by echo), gives the exact command supervisord ran.
    for (inst, num) in [("00", "0"), ("01", "1")] {
        let probe = run.replace("exec /bin/sh -c", "printf '%s\\n'");
        let o = Command::new("sh")
            .arg("-c")
            .arg(&probe)
            .env("SVKIT_INSTANCE", inst)
            .output()
            .unwrap();
        let got = text(&o.stdout);
        assert!(
            got.contains(&format!(
                "echo \"$SVKIT_INSTANCE {num}\" > {}/trace/worker-{inst}; exec sleep 1000",
                t.path().display()
            )),
            "{got}"
        );
    }
    let report = text(&out.stdout);
    assert!(
        report.contains("[program:off] autostart=false: mapped: off/down"),
        "{report}"
    );
    assert!(
        report.contains("svimport: wrote 4 directories into scan"),
        "{report}"
    );
    // Every generated script is valid POSIX sh, for busybox too.
    for f in [
        "up/run",
        "off/run",
        "off/finish",
        "worker@/run",
        "chatty/run",
        "chatty/log/run",
    ] {
        let p = scan.join(f);
        let ok = Command::new("sh").arg("-n").arg(&p).status().unwrap();
        assert!(ok.success(), "sh -n {f}");
        if let Ok(s) = Command::new("busybox").args(["sh", "-n"]).arg(&p).status() {
            assert!(s.success(), "busybox sh -n {f}");
        }
    }
}

#[test]
fn supervisord_conf_runs_under_svscan() {
    // The instance-free part of THREE runs on today's svscan: the down
    // service is down, the file logger rotates at the size.
    if !require(&[Need::Root]) {
        return;
    }
    let _load = svscan_harness::shared();
    let a = Area::new("svimport-run");
    let conf: String = THREE
        .split("\n\n")
        .filter(|s| !s.contains("[program:worker]"))
        .collect::<Vec<_>>()
        .join("\n\n");
    fs::remove_dir(a.scan()).unwrap();
    convert(a.tmp.path(), &conf);
    let ns = start(&a, &[]);
    check_down_and_rotation(&a, &ns, a.tmp.path());
}

#[test]
#[ignore = "needs svscan instances (issue 16)"]
fn supervisord_conf_with_instances_runs_under_svscan() {
    if !require(&[Need::Root]) {
        return;
    }
    let _load = svscan_harness::shared();
    let a = Area::new("svimport-inst");
    fs::remove_dir(a.scan()).unwrap();
    convert(a.tmp.path(), THREE);
    let ns = start(&a, &[]);
    for (inst, num) in [("00", "0"), ("01", "1")] {
        let f = a.tmp.join(format!("trace/worker-{inst}"));
        wait_until(LONG, "worker instance started", || f.exists());
        assert_eq!(fs::read_to_string(&f).unwrap(), format!("{inst} {num}\n"));
    }
    check_down_and_rotation(&a, &ns, a.tmp.path());
}

#[test]
fn procfile_converts_and_runs() {
    let t = TempDir::new("svimport-procfile");
    let trace = t.join("trace");
    fs::create_dir_all(&trace).unwrap();
    let tr = trace.display();
    fs::write(
        t.join("Procfile"),
        format!(
            "# two process types\nweb: echo \"$PORT $PS\" > {tr}/web; exec sleep 1000\n\n\
             worker: echo \"$PORT\" > {tr}/worker; until [ -e {tr}/go ]; do sleep 0.05; done; exit 3\n"
        ),
    )
    .unwrap();
    let out = svimport(
        t.path(),
        &["procfile", "--port-base", "7000", "-o", "scan", "Procfile"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("Procfile:2: web: "), "{report}");
    assert!(report.contains("PORT=7100"), "{report}");
    assert!(t.join("scan/web/essential").is_file());
    if !require(&[Need::Root]) {
        return;
    }
    let _load = svscan_harness::shared();
    let a = Area::new("svimport-procrun");
    fs::remove_dir(a.scan()).unwrap();
    fs::rename(t.join("scan"), a.scan()).unwrap();
    let mut ns = start(&a, &[]);
    wait_until(LONG, "both process types started", || {
        trace.join("web").exists() && trace.join("worker").exists()
    });
    wait_until(LONG, "web wrote", || {
        fs::read_to_string(trace.join("web")).unwrap_or_default() == "7000 web.1\n"
    });
    wait_until(LONG, "worker wrote", || {
        fs::read_to_string(trace.join("worker")).unwrap_or_default() == "7100\n"
    });
    // foreman stops everything when one process exits: essential.
    fs::write(trace.join("go"), "").unwrap();
    let st = ns.wait(LONG);
    assert_eq!(st.code(), Some(3), "svscan stderr:\n{}", a.stderr());
}

#[test]
fn unknown_key_is_reported_with_its_line() {
    let t = TempDir::new("svimport-unknown");
    fs::write(
        t.join("s.conf"),
        "[supervisord]\n\n[program:web]\ncommand=web\n; comment\nfrobnicate = yes\n",
    )
    .unwrap();
    let out = svimport(t.path(), &["supervisord", "--dry-run", "s.conf"]);
    assert_eq!(out.status.code(), Some(0));
    let r = text(&out.stdout);
    let want = format!(
        "{}/s.conf:6: [program:web] frobnicate=yes: no equivalent: unknown key: supervisord ignores it",
        t.path().display()
    );
    assert!(r.lines().any(|l| l == want), "{want}\nnot in\n{r}");
    assert!(r.contains("=== web/run (0755)\n#!/bin/sh\n"), "{r}");
    assert!(!t.join("web").exists(), "--dry-run wrote nothing");
}

#[test]
fn existing_output_directory_is_refused_without_force() {
    let t = TempDir::new("svimport-exists");
    fs::write(
        t.join("s.conf"),
        "[supervisord]\n[program:a]\ncommand=a\n[program:b]\ncommand=b\n",
    )
    .unwrap();
    fs::create_dir_all(t.join("out/b")).unwrap();
    fs::write(t.join("out/b/mine"), "keep").unwrap();
    let out = svimport(t.path(), &["supervisord", "-o", "out", "s.conf"]);
    assert_eq!(out.status.code(), Some(111));
    let err = text(&out.stderr);
    assert_eq!(
        err,
        "svimport: fatal: refusing to overwrite out/b: it exists (use --force to replace it)\n"
    );
    assert!(out.stdout.is_empty());
    assert!(!t.join("out/a").exists(), "nothing written when refused");
    assert!(t.join("out/b/mine").exists());
    let out = svimport(t.path(), &["supervisord", "--force", "-o", "out", "s.conf"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(t.join("out/a/run").is_file());
    assert!(t.join("out/b/run").is_file());
    assert!(
        !t.join("out/b/mine").exists(),
        "--force replaces the directory"
    );
}

#[test]
fn bad_input_and_usage_errors() {
    let t = TempDir::new("svimport-bad");
    fs::write(
        t.join("s.conf"),
        "[program:a]\ncommand=a\nautostart=perhaps\n",
    )
    .unwrap();
    let out = svimport(t.path(), &["supervisord", "s.conf"]);
    assert_eq!(out.status.code(), Some(100));
    assert_eq!(
        text(&out.stderr),
        format!(
            "svimport: fatal: {}/s.conf:3: [program:a] autostart: not a valid boolean value: \"perhaps\"\n",
            t.path().display()
        )
    );
    fs::write(t.join("broken.conf"), "[program:a]\nthis is not ini\n").unwrap();
    let out = svimport(t.path(), &["supervisord", "broken.conf"]);
    assert_eq!(out.status.code(), Some(100));
    assert!(text(&out.stderr).contains("broken.conf:2: not a section, a key or a comment"));
    let out = svimport(t.path(), &["supervisord", "missing.conf"]);
    assert_eq!(out.status.code(), Some(111));
    assert!(text(&out.stderr).starts_with("svimport: fatal: unable to read "));
    let out = svimport(t.path(), &["supervisord"]);
    assert_eq!(out.status.code(), Some(100));
    assert!(
        text(&out.stderr).starts_with("svimport: fatal: usage: "),
        "{}",
        text(&out.stderr)
    );
    let out = svimport(t.path(), &["procfile", "--port-base", "x", "P"]);
    assert_eq!(out.status.code(), Some(100));
    let out = svimport(t.path(), &["--version"]);
    assert_eq!(out.status.code(), Some(0));
    // No panic on odd bytes.
    fs::write(t.join("odd.conf"), b"[program:\xff]\ncommand=\xfe %(\n").unwrap();
    let out = svimport(t.path(), &["supervisord", "odd.conf"]);
    assert_eq!(out.status.code(), Some(100), "{}", text(&out.stderr));
}

#[test]
fn help_matches_the_man_page() {
    let man = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/svimport.1")).unwrap();
    let man = man.replace("\\-", "-");
    for sub in ["supervisord", "procfile"] {
        let out = Command::new(svimport_bin())
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        for word in help.split_whitespace() {
            let w = word.trim_end_matches([',', ')', '.', ']']);
            if w.starts_with('-') && w.len() > 1 && w != "-h" && w != "--help" {
                assert!(
                    man.contains(w),
                    "{sub} --help has {w}, man/svimport.1 does not"
                );
            }
        }
    }
    // The synopsis, as text (roff requests and font escapes removed).
    let plain: Vec<String> = man
        .lines()
        .map(|l| {
            if let Some(r) = l.strip_prefix(".B ").or_else(|| l.strip_prefix(".I ")) {
                r.to_string()
            } else if l.starts_with('.') {
                "\n".to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    let plain = plain
        .join(" ")
        .replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\fI", "");
    for synopsis in [
        "svimport supervisord [-o DIR] [--force] [--dry-run] FILE...",
        "svimport procfile [-o DIR] [--force] [--dry-run] [--port-base PORT] FILE",
    ] {
        assert!(
            plain.contains(synopsis),
            "man page synopsis lacks {synopsis}"
        );
    }
}
