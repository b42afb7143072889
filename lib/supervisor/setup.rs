//! Creating and holding `supervise/` as runsv does (protocol §1.2–1.4):
//! the directory (or the target of a dangling `supervise` symlink, one
//! level), the flock'ed `lock`, the `control` FIFO held open for reading and
//! writing, and the `ok` FIFO held open for reading. Failures here are
//! fatal (exit 111): without them nobody can talk to this supervisor.

use crate::errstr::runit_error_str;
use crate::servicedir::supervise_files as sf;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;

/// The descriptors one `supervise/` directory is held by.
pub struct Held {
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

fn fatal(label: &str, what: &str, path: &str, e: Errno) -> Fatal {
    Fatal(format!("{what} {label}/{path}: {}", runit_error_str(e)))
}

/// `mkdir base/supervise`, following a dangling symlink one level.
pub fn make_dir(base: &str, label: &str) -> Result<(), Fatal> {
    let path = format!("{base}supervise");
    let Err(_) = nix::unistd::mkdir(path.as_str(), Mode::from_bits_truncate(0o700)) else {
        return Ok(());
    };
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
            Ok(())
        }
        Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(fatal(label, "unable to readlink", &path, e)),
    }
}

/// Takes `lock` with a non-blocking flock (for the log too: runsv's
/// blocking one could hang a second supervisor, quirk Q2).
pub fn take_lock(base: &str, label: &str) -> Result<OwnedFd, Fatal> {
    let path = format!("{base}supervise/{}", sf::LOCK);
    let fd = nix::fcntl::open(
        path.as_str(),
        OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(|e| fatal(label, "unable to open", &path, e))?;
    rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        fatal(
            label,
            "unable to lock",
            &path,
            Errno::from_raw(e.raw_os_error()),
        )
    })?;
    Ok(fd)
}

fn make_fifo(base: &str, label: &str, name: &str) -> Result<String, Fatal> {
    let path = format!("{base}supervise/{name}");
    match nix::unistd::mkfifo(path.as_str(), Mode::from_bits_truncate(0o600)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(fatal(label, "unable to create", &path, e)),
    }
    let st = nix::sys::stat::stat(path.as_str())
        .map_err(|e| fatal(label, "unable to stat", &path, e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return Err(Fatal(format!("{label}/{path} exists but is not a fifo")));
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
pub fn open_control(base: &str, label: &str, lock: OwnedFd) -> Result<Held, Fatal> {
    let path = make_fifo(base, label, sf::CONTROL)?;
    let control_r = open_fifo(&path, label, OFlag::O_RDONLY)?;
    let control_w = open_fifo(&path, label, OFlag::O_WRONLY)?;
    Ok(Held {
        _lock: lock,
        control_r,
        _control_w: control_w,
        ok_r: None,
    })
}

/// `ok`, held open for reading and never read: the liveness signal.
pub fn open_ok(base: &str, label: &str, held: &mut Held) -> Result<(), Fatal> {
    let path = make_fifo(base, label, sf::OK)?;
    held.ok_r = Some(open_fifo(&path, label, OFlag::O_RDONLY)?);
    Ok(())
}
