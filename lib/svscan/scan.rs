//! Reading the scan directory: which names are services, what they are
//! (by device and inode, so a renamed service keeps its supervise), and
//! whether a new service directory is complete enough to start.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A service directory's identity: (device, inode) of the directory, after
/// following a symlink. Two names for one directory are one service.
pub type DevIno = (u64, u64);

/// Names starting with a dot are never services (lock files, editors'
/// temporaries, `mkdir .new && mv .new svc` staging).
pub fn is_candidate(name: &OsStr) -> bool {
    !name.is_empty() && name.as_bytes()[0] != b'.'
}

/// What a scan directory entry is right now.
#[derive(Debug, PartialEq, Eq)]
pub enum Probe {
    /// A directory, or a symlink to one.
    Service(DevIno),
    /// Absent, or not a directory: not a service.
    NotService,
    /// stat failed for another reason (reported, treated as absent).
    Error(String),
}

pub fn probe(scandir: &Path, name: &OsStr) -> Probe {
    match std::fs::metadata(scandir.join(name)) {
        Ok(m) if m.is_dir() => Probe::Service((m.dev(), m.ino())),
        Ok(_) => Probe::NotService,
        // A dangling symlink or an entry removed since the event.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Probe::NotService,
        Err(e) => Probe::Error(e.to_string()),
    }
}

/// Every candidate name in the scan directory, in directory order.
pub fn list(scandir: &Path) -> std::io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    each_name(scandir, |name| {
        if is_candidate(name) {
            names.push(name.to_os_string());
        }
    })?;
    Ok(names)
}

/// Calls `f` with the name of every entry of `dir` but `.` and `..`.
///
/// getdents64 into a small buffer on the stack: `std::fs::read_dir`
/// (glibc's opendir) mallocs a 32 KiB buffer each time, which leaves a
/// hole in svscan's small, long-lived heap.
pub fn each_name(dir: &Path, mut f: impl FnMut(&OsStr)) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags, RawDir, CWD};
    let fd = rustix::fs::openat(
        CWD,
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // Room for several entries of the longest name (255 bytes).
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(&fd, &mut buf);
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            f(OsStr::from_bytes(name));
        }
    }
    Ok(())
}

/// Is `DIR/run` ready to be started? It must be non-empty and executable
/// by someone: `cp run svc/` creates an empty file first and fills it
/// later, `echo ... >run; chmod +x run` sets the bit last. Starting on the
/// first inotify event would make supervise fail once and wait a second.
pub fn run_ready(service: &Path) -> bool {
    match std::fs::metadata(service.join(crate::servicedir::RUN)) {
        Ok(m) => m.is_file() && m.len() > 0 && m.mode() & 0o111 != 0,
        Err(_) => false,
    }
}

/// Does the service have a `log/` directory (so it needs a log pipe)?
pub fn has_log(service: &Path) -> bool {
    std::fs::metadata(service.join(crate::servicedir::LOG_DIR))
        .map(|m| m.is_dir())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("svscan-scan-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn entries_and_identity() {
        let d = tmp("entries");
        std::fs::create_dir(d.join("a")).unwrap();
        std::fs::create_dir(d.join(".hidden")).unwrap();
        std::fs::write(d.join("file"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("a"), d.join("link")).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        let mut names = list(&d).unwrap();
        names.sort();
        assert_eq!(names, ["a", "dangling", "file", "link"]);
        let a = probe(&d, OsStr::new("a"));
        assert!(matches!(a, Probe::Service(_)));
        assert_eq!(probe(&d, OsStr::new("link")), a);
        assert_eq!(probe(&d, OsStr::new("file")), Probe::NotService);
        assert_eq!(probe(&d, OsStr::new("dangling")), Probe::NotService);
        assert_eq!(probe(&d, OsStr::new("missing")), Probe::NotService);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn run_readiness() {
        let d = tmp("ready");
        assert!(!run_ready(&d));
        let run = d.join("run");
        std::fs::write(&run, "").unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!run_ready(&d), "empty run is still being written");
        std::fs::write(&run, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!run_ready(&d), "not executable yet");
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(run_ready(&d));
        assert!(!has_log(&d));
        std::fs::create_dir(d.join("log")).unwrap();
        assert!(has_log(&d));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
