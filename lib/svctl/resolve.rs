//! Which directory a service argument names, and listing all services.
//!
//! One rule for sending and waiting (runit 2.1.2 used two, quirk Q9): an
//! argument is relative to `$SVDIR` iff it is non-empty, does not start
//! with `/` or `.`, and does not end with `/`; otherwise it is a path
//! relative to the current directory.

use nix::errno::Errno;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `$SVDIR` exactly as `sv` reads it (set-but-empty is kept, and fails
/// like `chdir("")`), else Debian's `/etc/service`.
pub fn svdir() -> PathBuf {
    match std::env::var_os("SVDIR") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(crate::servicedir::DEFAULT_SVDIR),
    }
}

/// Is `arg` looked up under `$SVDIR`?
pub fn under_svdir(arg: &OsStr) -> bool {
    let b = arg.as_bytes();
    !b.is_empty() && b[0] != b'/' && b[0] != b'.' && b[b.len() - 1] != b'/'
}

pub fn service_path(svdir: &Path, arg: &OsStr) -> PathBuf {
    if under_svdir(arg) {
        svdir.join(arg)
    } else {
        PathBuf::from(arg)
    }
}

/// Where the supervisor of service directory `dir` keeps its state:
/// `dir/supervise` (a symlink there is followed), else, when that does not
/// exist, the fallback under the runtime directory that svkit's supervise
/// uses for read-only service directories (`$SVKIT_RUNDIR/supervise/KEY`)
/// if it exists. With neither, `dir/supervise`, so messages stay `sv`'s.
pub fn supervise_dir(dir: &Path) -> PathBuf {
    crate::container::rundir::locate_supervise_dir(dir)
        .unwrap_or_else(|| dir.join(crate::servicedir::SUPERVISE_DIR))
}

/// `NAME` in the state directory of `dir` (see [`supervise_dir`]).
pub fn supervise_path(dir: &Path, name: &str) -> PathBuf {
    supervise_dir(dir).join(name)
}

/// What `chdir(path)` would fail with, without changing directory.
pub fn enter_check(path: &Path) -> Result<(), Errno> {
    if path.as_os_str().is_empty() {
        return Err(Errno::ENOENT);
    }
    let meta = nix::sys::stat::stat(path)?;
    if nix::sys::stat::SFlag::from_bits_truncate(meta.st_mode) & nix::sys::stat::SFlag::S_IFMT
        != nix::sys::stat::SFlag::S_IFDIR
    {
        return Err(Errno::ENOTDIR);
    }
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK)
}

/// Every service under `svdir`: entries that are directories (or symlinks
/// to directories) whose names do not start with `.`, sorted by name.
pub fn list_services(svdir: &Path) -> std::io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(svdir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.as_bytes().first() == Some(&b'.') {
            continue;
        }
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_resolution_rule() {
        let d = Path::new("/srv/sv");
        assert_eq!(service_path(d, OsStr::new("web")), Path::new("/srv/sv/web"));
        assert_eq!(service_path(d, OsStr::new("./web")), Path::new("./web"));
        assert_eq!(service_path(d, OsStr::new("/x/web")), Path::new("/x/web"));
        assert_eq!(service_path(d, OsStr::new("x/web/")), Path::new("x/web/"));
        assert_eq!(service_path(d, OsStr::new("")), Path::new(""));
        assert_eq!(enter_check(Path::new("")), Err(Errno::ENOENT));
        assert_eq!(
            enter_check(Path::new("/nonexistent-svkit")),
            Err(Errno::ENOENT)
        );
    }
}
