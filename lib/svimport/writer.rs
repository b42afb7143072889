//! Writes the converted service directories into the output directory.
//!
//! - Nothing is written if any target already exists, unless `force`:
//!   the check is made for every directory first, so a refused run leaves
//!   the output directory as it was.
//! - Each directory is built under a dot-name (`.NAME.svimport-PID`, which
//!   svscan ignores) and renamed into place when complete, so a scanner
//!   watching the output directory never starts a half-written service.
//!   With `force` an existing directory is first renamed away, then
//!   removed, so no file of an earlier conversion lingers.
//! - `dry_run` writes nothing and returns the listing instead.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One file of a service directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    /// Relative to the service directory, `/`-separated (`log/run`).
    pub path: String,
    pub contents: String,
    pub mode: u32,
}

/// One directory to write (a service, a template or a bundle).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceDir {
    pub name: String,
    pub files: Vec<OutFile>,
}

impl ServiceDir {
    pub fn new(name: &str) -> Self {
        ServiceDir {
            name: name.to_string(),
            files: Vec::new(),
        }
    }

    /// Adds (or replaces) a plain file (mode 0644).
    pub fn file(&mut self, path: &str, contents: impl Into<String>) {
        self.put(path, contents.into(), 0o644);
    }

    /// Adds (or replaces) an executable script (mode 0755).
    pub fn script(&mut self, path: &str, contents: impl Into<String>) {
        self.put(path, contents.into(), 0o755);
    }

    fn put(&mut self, path: &str, contents: String, mode: u32) {
        self.files.retain(|f| f.path != path);
        self.files.push(OutFile {
            path: path.to_string(),
            contents,
            mode,
        });
    }

    pub fn get(&self, path: &str) -> Option<&OutFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

#[derive(Debug)]
pub enum WriteError {
    /// The target exists and `force` was not given.
    Exists(PathBuf),
    /// A system call failed.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Exists(p) => write!(
                f,
                "refusing to overwrite {}: it exists (use --force to replace it)",
                p.display()
            ),
            WriteError::Io { op, path, source } => {
                write!(f, "unable to {op} {}: {source}", path.display())
            }
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The `--dry-run` listing: every file with its mode and contents.
pub fn listing(dirs: &[ServiceDir]) -> String {
    let mut out = String::new();
    for d in dirs {
        for f in &d.files {
            out.push_str(&format!("=== {}/{} ({:04o})\n", d.name, f.path, f.mode));
            out.push_str(&f.contents);
            if !f.contents.is_empty() && !f.contents.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// Writes `dirs` into `out` (which is created if missing).
pub fn write_all(out: &Path, dirs: &[ServiceDir], force: bool) -> Result<(), WriteError> {
    if !force {
        for d in dirs {
            let target = out.join(&d.name);
            if target.symlink_metadata().is_ok() {
                return Err(WriteError::Exists(target));
            }
        }
    }
    fs::create_dir_all(out).map_err(io_err("create", out))?;
    for d in dirs {
        write_one(out, d, force)?;
    }
    Ok(())
}

fn write_one(out: &Path, d: &ServiceDir, force: bool) -> Result<(), WriteError> {
    let pid = std::process::id();
    let staging = out.join(format!(".{}.svimport-{pid}", d.name));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir(&staging).map_err(io_err("create", &staging))?;
    for f in &d.files {
        let path = staging.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        fs::write(&path, &f.contents).map_err(io_err("write", &path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(f.mode))
            .map_err(io_err("chmod", &path))?;
    }
    let target = out.join(&d.name);
    if target.symlink_metadata().is_ok() {
        if !force {
            let _ = fs::remove_dir_all(&staging);
            return Err(WriteError::Exists(target));
        }
        let old = out.join(format!(".{}.svimport-old-{pid}", d.name));
        fs::rename(&target, &old).map_err(io_err("move away", &target))?;
        fs::rename(&staging, &target).map_err(io_err("rename into place", &target))?;
        let gone = if old.is_dir() && !old.is_symlink() {
            fs::remove_dir_all(&old)
        } else {
            fs::remove_file(&old)
        };
        gone.map_err(io_err("remove", &old))?;
    } else {
        fs::rename(&staging, &target).map_err(io_err("rename into place", &target))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("svimport-writer-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }

    fn svc(name: &str, body: &str) -> ServiceDir {
        let mut d = ServiceDir::new(name);
        d.script("run", body);
        d.file("log/x", "");
        d
    }

    #[test]
    fn writes_refuses_and_forces() {
        let out = tmp("w");
        write_all(&out, &[svc("a", "#!/bin/sh\n")], false).unwrap();
        let run = out.join("a/run");
        assert_eq!(fs::read_to_string(&run).unwrap(), "#!/bin/sh\n");
        assert_eq!(
            fs::metadata(&run).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert!(out.join("a/log/x").is_file());
        // b is new but a exists: nothing at all is written.
        let e = write_all(&out, &[svc("b", "x"), svc("a", "y")], false).unwrap_err();
        assert!(matches!(e, WriteError::Exists(_)), "{e}");
        assert!(!out.join("b").exists());
        fs::write(out.join("a/stale"), "").unwrap();
        write_all(&out, &[svc("a", "new")], true).unwrap();
        assert_eq!(fs::read_to_string(&run).unwrap(), "new");
        assert!(
            !out.join("a/stale").exists(),
            "old directory replaced whole"
        );
        let names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "no staging left: {names:?}");
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn listing_shows_every_file() {
        let l = listing(&[svc("a", "#!/bin/sh\nexec x")]);
        assert_eq!(
            l,
            "=== a/run (0755)\n#!/bin/sh\nexec x\n=== a/log/x (0644)\n"
        );
    }
}
