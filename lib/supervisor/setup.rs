//! Creating and holding `supervise/` as runsv does (protocol §1.2–1.4):
//! the directory (or the target of a dangling `supervise` symlink, one
//! level), the flock'ed `lock`, the `control` FIFO held open for reading and
//! writing, and the `ok` FIFO held open for reading. Failures here are
//! fatal (exit 111): without them nobody can talk to this supervisor.
//!
//! A service directory that cannot hold `supervise/` (read-only root
//! file system, or not ours) gets its state under the runtime directory
//! instead: `RUNDIR/supervise/<key>` (see `container::rundir`), where svctl
//! finds it. Only state lives there; nothing is executed from it.
//!
//! The functions below take `sup`, the state directory as a path prefix
//! ending in `/` (`supervise/`, `log/supervise/` or the fallback).

use crate::container::rundir;
use crate::errstr::{io_error_str, runit_error_str, ErrorNumber};
use crate::servicedir::supervise_files as sf;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// The descriptors one `supervise/` directory is held by.
pub struct Held {
    /// Where the state files are, ending in `/` (see the module doc).
    pub state_dir: String,
    /// Held only for its flock.
    pub _lock: OwnedFd,
    pub control_r: OwnedFd,
    /// Held so the FIFO never reports EOF.
    pub _control_w: OwnedFd,
    /// Held so writers' `open(ok, O_WRONLY|O_NONBLOCK)` succeeds.
    pub ok_r: Option<OwnedFd>,
}

/// A fatal startup error: the message after `supervise: fatal: `.
pub struct Fatal(pub String);

fn fatal(label: &str, what: &str, path: &str, e: impl ErrorNumber) -> Fatal {
    Fatal(format!(
        "{what} {}: {}",
        shown(label, path),
        runit_error_str(e)
    ))
}

/// A path for messages: relative ones are shown under the service label.
fn shown(label: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{label}/{path}")
    }
}

/// `mkdir base/supervise`, following a dangling symlink one level; if the
/// service directory refuses (read-only, not ours), the fallback under the
/// runtime directory. Returns the state directory (ending in `/`).
pub fn make_dir(base: &str, label: &str) -> Result<String, Fatal> {
    let path = format!("{base}supervise");
    let local = format!("{path}/");
    match nix::unistd::mkdir(path.as_str(), Mode::from_bits_truncate(0o700)) {
        Ok(()) => return Ok(local),
        // EEXIST wins over these, so an existing `supervise` (directory or
        // Debian-style symlink) is always used as before.
        Err(e @ (Errno::EROFS | Errno::EACCES | Errno::EPERM)) => {
            return fallback_dir(base, label, e)
        }
        Err(_) => {}
    }
    match nix::fcntl::readlink(path.as_str()) {
        Ok(target) => {
            let target = std::path::PathBuf::from(target);
            // A relative target is relative to the directory holding the link.
            let target = if target.is_absolute() || base.is_empty() {
                target
            } else {
                std::path::Path::new(base).join(target)
            };
            let _ = nix::unistd::mkdir(&target, Mode::from_bits_truncate(0o700));
            usable_or_fallback(base, label, &path, local)
        }
        Err(Errno::EINVAL) | Err(Errno::ENOENT) => usable_or_fallback(base, label, &path, local),
        Err(e) => Err(fatal(label, "unable to readlink", &path, e)),
    }
}

/// An existing `supervise` (say, baked into a read-only image): mkdir
/// reported EEXIST before EROFS, so ask whether we can write in it; if
/// not, the runtime directory takes the state (issue 13, finding 4: the
/// lock failed with EROFS and supervise crash-looped).
fn usable_or_fallback(base: &str, label: &str, path: &str, local: String) -> Result<String, Fatal> {
    match rustix::fs::access(path, rustix::fs::Access::WRITE_OK) {
        Err(e)
            if [Errno::EROFS, Errno::EACCES, Errno::EPERM]
                .contains(&Errno::from_raw(e.raw_os_error())) =>
        {
            fallback_dir(base, label, Errno::from_raw(e.raw_os_error()))
        }
        _ => Ok(local),
    }
}

/// `RUNDIR/supervise/<key>/` for the service directory `base` (relative
/// to our cwd, the service directory), created 0700 with its parents.
/// `refused`: why `base/supervise` could not be created, for the message.
fn fallback_dir(base: &str, label: &str, refused: Errno) -> Result<String, Fatal> {
    let rundir = rundir::resolve();
    let cannot = || {
        format!(
            "unable to create {}: {}",
            shown(label, &format!("{base}supervise")),
            runit_error_str(refused)
        )
    };
    let checked = rundir::prepare(&rundir, &rundir::Identity::current())
        .map_err(|e| Fatal(format!("{}, and {e}", cannot())))?;
    let service = Path::new(if base.is_empty() { "." } else { base });
    let dir = rundir::fallback_supervise_dir(&rundir, service);
    let parent = rundir.join(rundir::SUPERVISE_DIR);
    let made_parent = match std::fs::DirBuilder::new().mode(0o700).create(&parent) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            return Err(Fatal(format!(
                "{}, and unable to create {}: {}",
                cannot(),
                parent.display(),
                io_error_str(&e)
            )))
        }
    };
    // Said once per runtime directory (by whoever makes RUNDIR/supervise),
    // and not at all under svscan, which judged the directory at boot.
    if made_parent && !rundir.join(rundir::SVSCAN_PID).exists() {
        if let Some(w) = checked.warning {
            crate::msg::warn(super::PROG, w);
        }
    }
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Fatal(format!(
                "{}, and unable to create {}: {}",
                cannot(),
                dir.display(),
                io_error_str(&e)
            )))
        }
    }
    let mut text = dir.into_os_string().into_string().map_err(|d| {
        Fatal(format!(
            "{}, and the runtime directory path is not UTF-8: {}",
            cannot(),
            d.to_string_lossy()
        ))
    })?;
    text.push('/');
    Ok(text)
}

/// Takes `lock` with a non-blocking flock (for the log too: runsv's
/// blocking one could hang a second supervisor, quirk Q2).
pub fn take_lock(sup: &str, label: &str) -> Result<OwnedFd, Fatal> {
    let path = format!("{sup}{}", sf::LOCK);
    let fd = nix::fcntl::open(
        path.as_str(),
        OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(|e| fatal(label, "unable to open", &path, e))?;
    rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|e| fatal(label, "unable to lock", &path, e))?;
    Ok(fd)
}

fn make_fifo(sup: &str, label: &str, name: &str) -> Result<String, Fatal> {
    let path = format!("{sup}{name}");
    match nix::unistd::mkfifo(path.as_str(), Mode::from_bits_truncate(0o600)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(fatal(label, "unable to create", &path, e)),
    }
    let st = nix::sys::stat::stat(path.as_str())
        .map_err(|e| fatal(label, "unable to stat", &path, e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return Err(Fatal(format!(
            "{} exists but is not a fifo",
            shown(label, &path)
        )));
    }
    Ok(path)
}

fn open_fifo(path: &str, label: &str, flags: OFlag) -> Result<OwnedFd, Fatal> {
    nix::fcntl::open(
        path,
        flags | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fatal(label, "unable to open", path, e))
}

/// `control`, held for reading (commands) and writing (never EOF).
pub fn open_control(sup: &str, label: &str, lock: OwnedFd) -> Result<Held, Fatal> {
    let path = make_fifo(sup, label, sf::CONTROL)?;
    let control_r = open_fifo(&path, label, OFlag::O_RDONLY)?;
    let control_w = open_fifo(&path, label, OFlag::O_WRONLY)?;
    Ok(Held {
        state_dir: sup.to_string(),
        _lock: lock,
        control_r,
        _control_w: control_w,
        ok_r: None,
    })
}

/// `ok`, held open for reading and never read: the liveness signal.
pub fn open_ok(label: &str, held: &mut Held) -> Result<(), Fatal> {
    let path = make_fifo(&held.state_dir, label, sf::OK)?;
    held.ok_r = Some(open_fifo(&path, label, OFlag::O_RDONLY)?);
    Ok(())
}
