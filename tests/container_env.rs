//! The captured container environment, read back by real shells and by
//! runit's and s6's envdir readers: nasty values must survive exactly.

mod common;

use common::TempDir;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use svkit::container::envdump::{self, DumpOptions, EnvMap};

const NASTY: &[&str] = &[
    "plain",
    "",
    "it's 'quoted'",
    "\"double\" \\back\\slash\\",
    "two\nlines",
    "trailing newline\n",
    "\n\nleading newlines",
    "  leading spaces",
    "$HOME $(id) `id` ${X:-y} $$",
    "ünïcödé 中文 🎉",
    "glob * ? [a] ~ !bang %s",
    "tab\there",
    "semi; colon && pipe | amp & ",
];

fn os(s: &str) -> OsString {
    OsString::from(s)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o7777
}

/// `SHELL -c '. ./env.sh; printf %s "$X"'` in `rundir`.
fn sourced_value(shell: &str, rundir: &Path, name: &str) -> Vec<u8> {
    let out = Command::new(shell)
        .arg("-c")
        .arg(format!(". ./env.sh; printf %s \"${name}\""))
        .current_dir(rundir)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn env_sh_reproduces_nasty_values_exactly() {
    let t = TempDir::new("env-sh");
    let mut env = EnvMap::new();
    for (i, v) in NASTY.iter().enumerate() {
        env.insert(os(&format!("X{i}")), os(v));
    }
    env.insert(os("BAD-NAME"), os("skipped in env.sh"));
    // Not representable as a file: reported back, never written.
    env.insert(os("A=B"), os("x"));
    env.insert(os(".dot"), os("x"));
    let skipped = envdump::write_dump(t.path(), &env, &DumpOptions::default()).unwrap();
    assert_eq!(skipped, vec![os(".dot"), os("A=B")]);
    assert!(t.join("env/BAD-NAME").exists());
    for shell in ["sh", "bash", "busybox"] {
        let shell_cmd = if shell == "busybox" {
            "/usr/bin/busybox"
        } else {
            shell
        };
        if shell == "busybox" && !Path::new(shell_cmd).exists() {
            continue;
        }
        for (i, v) in NASTY.iter().enumerate() {
            let got = if shell == "busybox" {
                let out = Command::new(shell_cmd)
                    .args(["sh", "-c", &format!(". ./env.sh; printf %s \"$X{i}\"")])
                    .current_dir(t.path())
                    .env_clear()
                    .output()
                    .unwrap();
                out.stdout
            } else {
                sourced_value(shell, t.path(), &format!("X{i}"))
            };
            assert_eq!(got, v.as_bytes(), "{shell}: value {v:?}");
        }
    }
    let sh = std::fs::read_to_string(t.join("env.sh")).unwrap();
    assert!(!sh.contains("BAD-NAME"));
}

#[test]
fn dump_is_private_by_default_and_group_readable_on_request() {
    let t = TempDir::new("env-modes");
    let mut env = EnvMap::new();
    env.insert(os("SECRET"), os("hunter2"));
    envdump::write_dump(t.path(), &env, &DumpOptions::default()).unwrap();
    assert_eq!(mode(&t.join("env")), 0o700);
    assert_eq!(mode(&t.join("env/SECRET")), 0o600);
    assert_eq!(mode(&t.join("env.sh")), 0o600);
    // Group mode with our own gid (always allowed, root or not).
    let gid = std::fs::metadata(t.path()).unwrap().gid();
    envdump::write_dump(t.path(), &env, &DumpOptions { group: Some(gid) }).unwrap();
    assert_eq!(mode(&t.join("env")), 0o750);
    assert_eq!(mode(&t.join("env/SECRET")), 0o640);
    assert_eq!(mode(&t.join("env.sh")), 0o640);
    assert_eq!(std::fs::metadata(t.join("env/SECRET")).unwrap().gid(), gid);
    // No temporary leftovers after a rewrite.
    let names: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn static_dir_merges_under_runtime_env() {
    let t = TempDir::new("env-static");
    let st = t.join("static");
    std::fs::create_dir(&st).unwrap();
    std::fs::write(st.join("FOO"), "from image\n").unwrap();
    std::fs::write(st.join("BAZ"), "baz  \t\nignored second line").unwrap();
    std::fs::write(st.join("MULTI"), b"a\0b").unwrap();
    std::fs::write(st.join("UNSET"), "").unwrap();
    std::fs::write(st.join(".hidden"), "x").unwrap();
    std::fs::write(st.join("A=B"), "x").unwrap();
    std::fs::create_dir(st.join("subdir")).unwrap();
    let env = envdump::capture(
        Some(&st),
        vec![(os("FOO"), os("from docker run -e")), (os("PWD"), os("/"))],
    )
    .unwrap();
    let want: EnvMap = [
        ("BAZ", "baz"),
        ("FOO", "from docker run -e"),
        ("MULTI", "a\nb"),
    ]
    .iter()
    .map(|(k, v)| (os(k), os(v)))
    .collect();
    assert_eq!(env, want);
    // A missing static dir is normal.
    assert!(envdump::capture(Some(&t.join("absent")), vec![])
        .unwrap()
        .is_empty());
    // One that cannot be read is an error, not silently empty.
    std::fs::write(t.join("not-a-dir"), "x").unwrap();
    assert!(envdump::capture(Some(&t.join("not-a-dir")), vec![]).is_err());
}

#[test]
fn reload_picks_up_what_a_script_published() {
    let t = TempDir::new("env-reload");
    let mut env = EnvMap::new();
    env.insert(os("KEEP"), os("trailing blanks  "));
    env.insert(os("DROP"), os("x"));
    env.insert(os("EMPTY_ME"), os("y"));
    env.insert(os("CHANGE"), os("old"));
    envdump::write_dump(t.path(), &env, &DumpOptions::default()).unwrap();
    // What an init script does with plain shell.
    let script = format!(
        "cd {} && echo computed > env/COMPUTED && rm env/DROP && : > env/EMPTY_ME && echo new > env/CHANGE",
        t.join(".").display()
    );
    assert!(Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap()
        .success());
    let new = envdump::reload(t.path(), &env).unwrap();
    let want: EnvMap = [
        ("CHANGE", "new"),
        ("COMPUTED", "computed"),
        ("KEEP", "trailing blanks  "),
    ]
    .iter()
    .map(|(k, v)| (os(k), os(v)))
    .collect();
    assert_eq!(new, want);
    // What `svctl exec` sees without the previous map: the same, except the
    // trailing blanks envdir rules cannot carry.
    let mut loaded = want.clone();
    loaded.insert(os("KEEP"), os("trailing blanks"));
    assert_eq!(envdump::load(t.path()).unwrap(), loaded);
    // Re-dumping normalises the files the script wrote (0644 → 0600).
    envdump::write_dump(t.path(), &new, &DumpOptions::default()).unwrap();
    assert_eq!(mode(&t.join("env/COMPUTED")), 0o600);
    assert_eq!(sourced_value("sh", t.path(), "COMPUTED"), b"computed");
}

#[test]
fn runit_and_s6_envdir_readers_agree() {
    if !common::require(&[common::Need::Runit, common::Need::S6]) {
        return;
    }
    let t = TempDir::new("env-peers");
    let mut env = EnvMap::new();
    // Envdir files cannot carry trailing blanks (runit strips them).
    let values: Vec<&str> = NASTY
        .iter()
        .copied()
        .filter(|v| !v.ends_with(' ') && !v.ends_with('\t'))
        .collect();
    for (i, v) in values.iter().enumerate() {
        env.insert(os(&format!("X{i}")), os(v));
    }
    envdump::write_dump(t.path(), &env, &DumpOptions::default()).unwrap();
    let dir = t.join("env");
    let readers: [&[&str]; 2] = [&["chpst", "-e"], &["s6-envdir"]];
    for reader in readers {
        if Command::new("which")
            .arg(reader[0])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            eprintln!("skipped {}: not installed", reader[0]);
            continue;
        }
        for (i, v) in values.iter().enumerate() {
            let out = Command::new(reader[0])
                .args(&reader[1..])
                .arg(&dir)
                .args(["sh", "-c", &format!("printf %s \"$X{i}\"")])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                reader[0],
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, v.as_bytes(), "{} value {v:?}", reader[0]);
        }
    }
}

#[test]
fn children_get_exactly_the_captured_env() {
    let mut env = EnvMap::new();
    env.insert(os("ONLY"), os("this"));
    env.insert(os("PATH"), os("/usr/bin:/bin"));
    let mut cmd = Command::new("/usr/bin/env");
    envdump::apply(&mut cmd, &env);
    let out = cmd.output().unwrap();
    let mut lines: Vec<&[u8]> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    assert_eq!(lines, vec![&b"ONLY=this"[..], &b"PATH=/usr/bin:/bin"[..]]);
    let envp = envdump::to_envp(&env);
    assert_eq!(envp.len(), 2);
    assert_eq!(envp[0].as_bytes(), b"ONLY=this");
}
