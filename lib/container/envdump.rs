//! The container environment, captured once at boot so that `docker exec`
//! users, cron jobs and services started later all see the same variables.
//!
//! Sources, merged in this order (later wins):
//! 1. a static env dir baked into the image (e.g. `/etc/svscan/env`), one
//!    file per variable, read with runit's envdir rules ([`decode_value`]);
//! 2. svscan's own environment (`docker run -e`, image `ENV`): the runtime
//!    environment wins, as with phusion's `/etc/container_environment`.
//!
//! Shell bookkeeping variables (`PWD OLDPWD SHLVL _`) are never captured:
//! they describe svscan's shell, not the container.
//!
//! Outputs, both replaced atomically:
//! - `RUNDIR/env/`: an envdir (one file per variable; `chpst -e`, `s6-envdir`
//!   and `svctl exec` read it). The file holds the value with each newline
//!   written as NUL, then one newline. Values ending in spaces or tabs lose
//!   them when read by other envdir readers (runit's rules strip them);
//!   [`reload`] keeps them exact for variables nobody changed.
//! - `RUNDIR/env.sh`: `export NAME='value'` lines for `. RUNDIR/env.sh`.
//!   Names that are not shell identifiers are left out, and so are the
//!   per-login variables `HOME USER LOGNAME SHELL` so that a login shell
//!   sourcing it keeps its own identity.
//!
//! Files are 0600 in a 0700 directory by default (secrets live in the
//! environment); with a group they are 0640 / 0750 and chgrp'ed to it.
//!
//! Init scripts publish variables for later scripts and services by writing
//! files into `RUNDIR/env/` (an empty file unsets); [`reload`] reads them back.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::rundir;

/// Variables by name. Sorted, so dumps are stable and diffable.
pub type EnvMap = BTreeMap<OsString, OsString>;

/// Never captured: they describe svscan's shell, not the container.
const NOT_CAPTURED: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_"];
/// Kept in the envdir but left out of env.sh (a login shell's own identity).
const NOT_IN_SH: &[&str] = &["HOME", "USER", "LOGNAME", "SHELL"];

/// One entry of an envdir: `Some(value)` sets the variable, `None` (an
/// empty file) unsets it.
pub type EnvDirEntry = (OsString, Option<OsString>);

/// runit's envdir rule for one file's contents: empty file = unset;
/// otherwise the bytes up to the first newline, trailing spaces and tabs
/// removed, each NUL turned into a newline.
pub fn decode_value(contents: &[u8]) -> Option<OsString> {
    if contents.is_empty() {
        return None;
    }
    let line = match contents.iter().position(|&b| b == b'\n') {
        Some(n) => &contents[..n],
        None => contents,
    };
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let value: Vec<u8> = line[..end]
        .iter()
        .map(|&b| if b == 0 { b'\n' } else { b })
        .collect();
    Some(OsString::from_vec(value))
}

/// The file contents that [`decode_value`] turns back into `value` (exactly,
/// unless the value ends in spaces or tabs).
pub fn encode_value(value: &OsStr) -> Vec<u8> {
    let mut out: Vec<u8> = value
        .as_bytes()
        .iter()
        .map(|&b| if b == b'\n' { 0 } else { b })
        .collect();
    out.push(b'\n');
    out
}

/// Can `name` be a file in an envdir and a variable name?
pub fn is_envdir_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b[0] != b'.' && !b.contains(&b'=') && !b.contains(&b'/') && !b.contains(&0)
}

/// Is `name` a portable shell identifier (`[A-Za-z_][A-Za-z0-9_]*`)?
pub fn is_shell_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        }
        None => false,
    }
}

/// `value` as one single-quoted shell word: `'` becomes `'\''`; everything
/// else (newlines, `$`, backslashes, any byte) is literal inside quotes.
pub fn shell_quote(value: &OsStr) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'\'');
    for &b in value.as_bytes() {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// Reads an envdir with runit's rules: dot files, subdirectories and names
/// containing `=` are skipped. Sorted by name.
///
/// # Errors
/// The directory or one of its files cannot be read.
pub fn read_envdir(dir: &Path) -> io::Result<Vec<EnvDirEntry>> {
    Ok(read_envdir_raw(dir)?
        .into_iter()
        .map(|(name, raw)| {
            let value = decode_value(&raw);
            (name, value)
        })
        .collect())
}

/// Names and raw contents of an envdir's variable files, sorted by name.
fn read_envdir_raw(dir: &Path) -> io::Result<Vec<(OsString, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !is_envdir_name(&name) {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path)?.is_dir() {
            continue;
        }
        let raw = std::fs::read(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        out.push((name, raw));
    }
    out.sort();
    Ok(out)
}

/// The environment to capture: the static dir's variables, overridden by
/// `runtime` (normally `std::env::vars_os()`), minus shell bookkeeping
/// variables. An empty static file leaves the variable out (unless the
/// runtime sets it).
pub fn merge(
    static_entries: &[EnvDirEntry],
    runtime: impl IntoIterator<Item = (OsString, OsString)>,
) -> EnvMap {
    let mut env = EnvMap::new();
    for (name, value) in static_entries {
        match value {
            Some(v) => env.insert(name.clone(), v.clone()),
            None => env.remove(name),
        };
    }
    env.extend(runtime);
    for name in NOT_CAPTURED {
        env.remove(OsStr::new(name));
    }
    env
}

/// Reads the static env dir at `dir` and merges it under `runtime`. A
/// missing directory is not an error (most images have none).
///
/// # Errors
/// The directory exists but cannot be read.
pub fn capture(
    static_dir: Option<&Path>,
    runtime: impl IntoIterator<Item = (OsString, OsString)>,
) -> io::Result<EnvMap> {
    let entries = match static_dir {
        Some(dir) => match read_envdir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        },
        None => Vec::new(),
    };
    Ok(merge(&entries, runtime))
}

/// `export NAME='value'` lines for every shell-nameable variable.
pub fn env_sh(env: &EnvMap) -> Vec<u8> {
    let mut out =
        b"# svkit: container environment captured at boot; load with: . THIS_FILE\n".to_vec();
    for (name, value) in env {
        if !is_shell_name(name) || NOT_IN_SH.iter().any(|n| OsStr::new(n) == name) {
            continue;
        }
        out.extend_from_slice(b"export ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(&shell_quote(value));
        out.push(b'\n');
    }
    out
}

/// Permissions of the dump.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// `None`: files 0600, directory 0700. `Some(gid)`: files 0640,
    /// directory 0750, all with group `gid` (`SVSCAN_ENV_GROUP`).
    pub group: Option<u32>,
}

impl DumpOptions {
    fn file_mode(&self) -> u32 {
        if self.group.is_some() {
            0o640
        } else {
            0o600
        }
    }
    fn dir_mode(&self) -> u32 {
        if self.group.is_some() {
            0o750
        } else {
            0o700
        }
    }
}

/// `RUNDIR/env`.
pub fn env_dir(rundir: &Path) -> PathBuf {
    rundir.join(rundir::ENV_DIR)
}

/// `RUNDIR/env.sh`.
pub fn env_sh_path(rundir: &Path) -> PathBuf {
    rundir.join(rundir::ENV_SH)
}

/// Writes `RUNDIR/env/` and `RUNDIR/env.sh`, each replaced atomically (a
/// reader sees the old or the new dump, never a mix). Returns the names
/// that could not be written to the envdir (empty, or containing `=`, `/`
/// or a leading dot).
///
/// # Errors
/// Any file system error; the previous dump is then left in place.
pub fn write_dump(rundir: &Path, env: &EnvMap, opts: &DumpOptions) -> io::Result<Vec<OsString>> {
    let skipped = write_env_dir(rundir, env, opts)?;
    let sh = env_sh_path(rundir);
    let tmp = rundir.join(format!(".{}.new", rundir::ENV_SH));
    write_new_file(&tmp, &env_sh(env), opts)?;
    std::fs::rename(&tmp, &sh)?;
    Ok(skipped)
}

fn write_env_dir(rundir: &Path, env: &EnvMap, opts: &DumpOptions) -> io::Result<Vec<OsString>> {
    let live = env_dir(rundir);
    let tmp = rundir.join(format!(".{}.new", rundir::ENV_DIR));
    remove_if_present(&tmp)?;
    std::fs::create_dir(&tmp)?;
    let result = fill_env_dir(&tmp, env, opts).and_then(|skipped| {
        swap_into_place(&tmp, &live)?;
        Ok(skipped)
    });
    // On success `tmp` holds the previous dump; on failure, the partial one.
    remove_if_present(&tmp)?;
    result
}

fn fill_env_dir(dir: &Path, env: &EnvMap, opts: &DumpOptions) -> io::Result<Vec<OsString>> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(opts.dir_mode()))?;
    if let Some(gid) = opts.group {
        let d = File::open(dir)?;
        rustix::fs::fchown(&d, None, Some(rustix::fs::Gid::from_raw(gid)))?;
    }
    let mut skipped = Vec::new();
    for (name, value) in env {
        if !is_envdir_name(name) {
            skipped.push(name.clone());
            continue;
        }
        write_new_file(&dir.join(name), &encode_value(value), opts)?;
    }
    Ok(skipped)
}

/// Puts `new` at `live`: an atomic exchange when `live` exists (so `live`
/// never disappears), else a rename. Afterwards `new` holds the old tree.
fn swap_into_place(new: &Path, live: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, new, CWD, live, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::NOENT) => std::fs::rename(new, live),
        // File systems without RENAME_EXCHANGE: a short window without `live`.
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOSYS) => {
            let old = new.with_extension("old");
            remove_if_present(&old)?;
            std::fs::rename(live, &old)?;
            std::fs::rename(new, live)?;
            std::fs::rename(&old, new)
        }
        Err(e) => Err(e.into()),
    }
}

fn remove_if_present(p: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => std::fs::remove_file(p),
        other => other,
    }
}

fn write_new_file(path: &Path, contents: &[u8], opts: &DumpOptions) -> io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(opts.file_mode())
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    // The umask may have cleared bits we want (group read).
    f.set_permissions(std::fs::Permissions::from_mode(opts.file_mode()))?;
    if let Some(gid) = opts.group {
        rustix::fs::fchown(&f, None, Some(rustix::fs::Gid::from_raw(gid)))?;
    }
    f.write_all(contents)?;
    f.flush()
}

/// Reads `RUNDIR/env/` back after an init script ran, picking up variables
/// it published (new or changed files) and dropped (removed or emptied
/// files). A file whose contents are exactly what the previous dump wrote
/// keeps `previous`'s exact value, so values envdir rules cannot represent
/// (trailing spaces) survive unchanged.
///
/// # Errors
/// `RUNDIR/env` cannot be read.
pub fn reload(rundir: &Path, previous: &EnvMap) -> io::Result<EnvMap> {
    let mut env = EnvMap::new();
    for (name, raw) in read_envdir_raw(&env_dir(rundir))? {
        let value = match previous.get(&name) {
            Some(old) if encode_value(old) == raw => Some(old.clone()),
            _ => decode_value(&raw),
        };
        if let Some(v) = value {
            env.insert(name, v);
        }
    }
    // Variables the envdir cannot hold were never written; keep them.
    for (name, value) in previous {
        if !is_envdir_name(name) {
            env.insert(name.clone(), value.clone());
        }
    }
    Ok(env)
}

/// The captured environment as `svctl exec` and `svctl env` see it: every
/// variable file of `RUNDIR/env`, decoded with envdir rules.
///
/// # Errors
/// `RUNDIR/env` cannot be read (not captured yet, or no permission: the
/// dump is 0600 unless `SVSCAN_ENV_GROUP` granted group read).
pub fn load(rundir: &Path) -> io::Result<EnvMap> {
    reload(rundir, &EnvMap::new())
}

/// Makes `cmd` run with exactly `env`.
pub fn apply(cmd: &mut std::process::Command, env: &EnvMap) {
    cmd.env_clear();
    cmd.envs(env);
}

/// `NAME=value` strings for `execve` (prepared before `fork`, since the
/// child may not allocate). Entries containing NUL cannot exist in an
/// environment and are skipped.
pub fn to_envp(env: &EnvMap) -> Vec<CString> {
    env.iter()
        .filter_map(|(k, v)| {
            let mut s = Vec::with_capacity(k.len() + v.len() + 1);
            s.extend_from_slice(k.as_bytes());
            s.push(b'=');
            s.extend_from_slice(v.as_bytes());
            CString::new(s).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> OsString {
        OsString::from(s)
    }

    #[test]
    fn decode_follows_runit_rules() {
        assert_eq!(decode_value(b""), None);
        assert_eq!(decode_value(b"\n"), Some(os("")));
        assert_eq!(
            decode_value(b"first line  \t\nsecond"),
            Some(os("first line"))
        );
        assert_eq!(decode_value(b"a\0b"), Some(os("a\nb")));
        assert_eq!(decode_value(b"  lead"), Some(os("  lead")));
        assert_eq!(decode_value(b" \t "), Some(os("")));
    }

    #[test]
    fn encode_round_trips_except_trailing_blanks() {
        for v in [
            "",
            "x",
            "a\nb\n",
            "$HOME 'q' \"d\"",
            "ünï €",
            "\n\n",
            "back\\slash",
        ] {
            assert_eq!(
                decode_value(&encode_value(OsStr::new(v))),
                Some(os(v)),
                "{v:?}"
            );
        }
        assert_eq!(
            decode_value(&encode_value(OsStr::new("t  "))),
            Some(os("t"))
        );
    }

    #[test]
    fn names() {
        assert!(is_shell_name(OsStr::new("_A1")));
        assert!(!is_shell_name(OsStr::new("1A")));
        assert!(!is_shell_name(OsStr::new("A-B")));
        assert!(!is_shell_name(OsStr::new("")));
        assert!(is_envdir_name(OsStr::new("A-B")));
        assert!(!is_envdir_name(OsStr::new(".hidden")));
        assert!(!is_envdir_name(OsStr::new("A=B")));
        assert!(!is_envdir_name(OsStr::new("a/b")));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(OsStr::new("it's")), b"'it'\\''s'".to_vec());
        assert_eq!(shell_quote(OsStr::new("")), b"''".to_vec());
    }

    #[test]
    fn runtime_wins_and_bookkeeping_is_dropped() {
        let statics = vec![
            (os("BAZ"), Some(os("static"))),
            (os("FOO"), Some(os("static"))),
            (os("GONE"), None),
        ];
        let env = merge(
            &statics,
            vec![
                (os("FOO"), os("runtime")),
                (os("PWD"), os("/x")),
                (os("SHLVL"), os("2")),
            ],
        );
        assert_eq!(env.get(OsStr::new("FOO")), Some(&os("runtime")));
        assert_eq!(env.get(OsStr::new("BAZ")), Some(&os("static")));
        assert!(!env.contains_key(OsStr::new("GONE")));
        assert!(!env.contains_key(OsStr::new("PWD")));
        assert!(!env.contains_key(OsStr::new("SHLVL")));
    }

    #[test]
    fn env_sh_skips_odd_and_login_names() {
        let mut env = EnvMap::new();
        env.insert(os("GOOD"), os("1"));
        env.insert(os("BAD-NAME"), os("2"));
        env.insert(os("HOME"), os("/root"));
        let sh = String::from_utf8(env_sh(&env)).unwrap();
        assert!(sh.contains("export GOOD='1'\n"), "{sh}");
        assert!(!sh.contains("BAD-NAME"));
        assert!(!sh.contains("HOME"));
    }

    #[test]
    fn envp_strings() {
        let mut env = EnvMap::new();
        env.insert(os("A"), os("1=2"));
        assert_eq!(to_envp(&env), vec![CString::new("A=1=2").unwrap()]);
    }
}
