//! The runtime directory: where svkit keeps mutable supervision state when
//! it runs as a container's init.
//!
//! Every tool finds it the same way without configuration: `$SVKIT_RUNDIR`
//! if set and non-empty, else `/run/svkit`. Nothing is ever executed from it,
//! so a `noexec` tmpfs (Docker's `--tmpfs` default) is fine.
//!
//! Layout (names are spelled only here):
//!
//! | path | content |
//! |---|---|
//! | `RUNDIR/env/` | captured environment, one file per variable ([`super::envdump`]) |
//! | `RUNDIR/env.sh` | the same as `export NAME='value'` lines |
//! | `RUNDIR/exitcode` | container exit code requested by a script ([`super::exitcode`]) |
//! | `RUNDIR/svscan.pid` | svscan's pid, for `svctl halt` |
//! | `RUNDIR/supervise/<key>/` | `supervise/` of a service whose directory is read-only |
//!
//! Accepting an existing directory follows s6-overlay's rules, minus its
//! opt-in variable: ours; or group-writable (`g+rwx`) for a group we are in
//! (OpenShift runs arbitrary uids with gid 0); or root-owned 0777/1777 (a
//! Kubernetes `emptyDir`), which works but earns one warning line because
//! any user in the container could tamper with supervision state.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Environment variable naming the runtime directory.
pub const ENV_VAR: &str = "SVKIT_RUNDIR";
/// Runtime directory used when `$SVKIT_RUNDIR` is unset or empty.
pub const DEFAULT: &str = "/run/svkit";

/// `RUNDIR/env`: the captured environment as an envdir.
pub const ENV_DIR: &str = "env";
/// `RUNDIR/env.sh`: the captured environment as shell `export` lines.
pub const ENV_SH: &str = "env.sh";
/// `RUNDIR/exitcode`: exit code for the container, written by scripts.
pub const EXITCODE: &str = "exitcode";
/// `RUNDIR/supervise`: parent of fallback `supervise/` directories.
pub const SUPERVISE_DIR: &str = "supervise";
/// `RUNDIR/svscan.pid`: svscan's pid, written at boot (`svctl halt`).
pub const SVSCAN_PID: &str = "svscan.pid";

/// Longest file name most file systems accept (NAME_MAX).
const NAME_MAX: usize = 255;

/// The runtime directory from the process environment.
pub fn resolve() -> PathBuf {
    resolve_from(std::env::var_os(ENV_VAR).as_deref())
}

/// The runtime directory given the value of `$SVKIT_RUNDIR` (if any).
pub fn resolve_from(value: Option<&OsStr>) -> PathBuf {
    match value {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT),
    }
}

/// Who we are, for ownership decisions. Taken as a value (not read inside
/// the checks) so the rules can be tested for any uid while running as root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid followed by the supplementary groups.
    pub gids: Vec<u32>,
}

impl Identity {
    /// The calling process's effective uid, gid and supplementary groups.
    pub fn current() -> Self {
        let mut gids = vec![rustix::process::getegid().as_raw()];
        if let Ok(groups) = rustix::process::getgroups() {
            gids.extend(groups.into_iter().map(|g| g.as_raw()));
        }
        Identity {
            uid: rustix::process::geteuid().as_raw(),
            gids,
        }
    }
}

/// Why an existing or new runtime directory was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// We created it (mode 0700, owned by us).
    Created,
    /// It already existed and is owned by us.
    Owned,
    /// Owned by someone else, but `g+rwx` for this group of ours.
    Group(u32),
    /// Root-owned mode 0777 or 1777 (Kubernetes `emptyDir`).
    WorldWritable,
}

/// A usable runtime directory.
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
    pub access: Access,
    /// At most one line for the caller to print as a warning (no prefix,
    /// no newline), e.g. when the directory or its parent is world-writable.
    pub warning: Option<String>,
}

/// An unusable runtime directory. `Display` is one actionable line meant
/// to follow `PROG: fatal: `.
#[derive(Debug)]
pub struct RunDirError {
    pub path: PathBuf,
    /// What is wrong, e.g. "owned by uid 0 with mode 0755".
    pub problem: String,
}

impl fmt::Display for RunDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mount_at = mount_point_hint(&self.path);
        write!(
            f,
            "unusable runtime directory {}: {}: mount a writable tmpfs at {} \
             (docker run --tmpfs {}; Kubernetes: an emptyDir volume at {}) \
             or set {} to a directory this user owns",
            self.path.display(),
            self.problem,
            mount_at.display(),
            mount_at.display(),
            mount_at.display(),
            ENV_VAR,
        )
    }
}

impl std::error::Error for RunDirError {}

/// Where a user should mount a tmpfs: the parent of the runtime directory
/// (`/run` for `/run/svkit`), or the directory itself if it has no parent.
fn mount_point_hint(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() && p != Path::new("/") => p.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// Makes `path` usable as the runtime directory for `who`: creates it
/// (0700, and missing parents 0755) or checks an existing one.
///
/// # Errors
/// One [`RunDirError`] naming the problem and what to mount.
pub fn prepare(path: &Path, who: &Identity) -> Result<RunDir, RunDirError> {
    let err = |problem: String| RunDirError {
        path: path.to_path_buf(),
        problem,
    };
    match std::fs::metadata(path) {
        Ok(meta) => check_existing(path, &meta, who),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match create(path) {
            Ok(()) => Ok(RunDir {
                path: path.to_path_buf(),
                access: Access::Created,
                warning: parent_warning(path),
            }),
            // Lost a race with another creator: judge what is there now.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match std::fs::metadata(path) {
                Ok(meta) => check_existing(path, &meta, who),
                Err(e) => Err(err(format!("cannot stat: {}", describe(&e)))),
            },
            Err(e) => Err(err(format!("cannot create: {}", describe(&e)))),
        },
        Err(e) => Err(err(format!("cannot stat: {}", describe(&e)))),
    }
}

fn create(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)?;
        }
    }
    std::fs::DirBuilder::new().mode(0o700).create(path)?;
    // The umask may have removed bits; 0700 is what readers expect.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Applies the acceptance rules to an existing path.
pub fn check_existing(
    path: &Path,
    meta: &std::fs::Metadata,
    who: &Identity,
) -> Result<RunDir, RunDirError> {
    let err = |problem: String| RunDirError {
        path: path.to_path_buf(),
        problem,
    };
    if !meta.is_dir() {
        return Err(err("exists and is not a directory".into()));
    }
    let mode = meta.mode() & 0o7777;
    let perms = mode & 0o777;
    let access = if meta.uid() == who.uid {
        if mode & 0o700 != 0o700 {
            return Err(err(format!(
                "owned by us (uid {}) but mode {mode:04o} lacks u+rwx",
                who.uid
            )));
        }
        Access::Owned
    } else if who.gids.contains(&meta.gid()) && mode & 0o070 == 0o070 {
        Access::Group(meta.gid())
    } else if meta.uid() == 0 && perms == 0o777 {
        Access::WorldWritable
    } else {
        return Err(err(format!(
            "owned by uid {} gid {} with mode {mode:04o}, not writable for uid {}",
            meta.uid(),
            meta.gid(),
            who.uid
        )));
    };
    // Mode bits say yes; the mount may still say no (read-only bind mount).
    if let Err(e) = rustix::fs::access(path, rustix::fs::Access::WRITE_OK) {
        return Err(err(format!("not writable: {}", describe(&e.into()))));
    }
    // A restarted container finds its own dir in the same emptyDir: warn
    // every boot, not just the first.
    let warning = if mode & 0o002 != 0 {
        Some(world_writable_warning(path, meta.uid(), mode))
    } else {
        parent_warning(path)
    };
    Ok(RunDir {
        path: path.to_path_buf(),
        access,
        warning,
    })
}

fn world_writable_warning(dir: &Path, owner: u32, mode: u32) -> String {
    format!(
        "runtime directory {} is world-writable (uid {owner}, mode {mode:04o}, e.g. a \
         Kubernetes emptyDir): any user in the container can tamper with supervision state; \
         prefer a tmpfs owned by this user (docker run --tmpfs {}:uid=UID)",
        dir.display(),
        dir.display()
    )
}

/// A freshly created directory inside a world-writable, non-sticky parent
/// (an `emptyDir` at `/run`) can be renamed away by anyone: say so once.
fn parent_warning(path: &Path) -> Option<String> {
    let parent = path.parent()?;
    let meta = std::fs::metadata(parent).ok()?;
    let mode = meta.mode() & 0o7777;
    (mode & 0o002 != 0 && mode & 0o1000 == 0)
        .then(|| world_writable_warning(parent, meta.uid(), mode))
}

fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EROFS) => "read-only file system".into(),
        Some(libc::EACCES) | Some(libc::EPERM) => "permission denied".into(),
        Some(libc::ENOENT) => "a parent directory does not exist".into(),
        _ => e.to_string(),
    }
}

/// The file name under `RUNDIR/supervise/` for a service directory: its
/// canonical absolute path with `%` written as `%25` and `/` as `%2F`, so
/// `DIR` and `DIR/log` get distinct keys and no two paths share one.
///
/// A key longer than NAME_MAX becomes `%%` + 16 hex digits of a 64-bit
/// FNV-1a hash of the path + `%` + the key's last 200 bytes; `%%` never
/// occurs in an ordinary key, so the two forms cannot collide with each other.
pub fn supervise_key(canonical: &Path) -> OsString {
    let mut key = Vec::with_capacity(canonical.as_os_str().len() + 16);
    for &b in canonical.as_os_str().as_bytes() {
        match b {
            b'%' => key.extend_from_slice(b"%25"),
            b'/' => key.extend_from_slice(b"%2F"),
            _ => key.push(b),
        }
    }
    if key.len() > NAME_MAX {
        let hash = fnv1a64(canonical.as_os_str().as_bytes());
        // Every '%' in an escaped key starts a 3-byte escape: do not cut one.
        let mut tail_start = key.len() - 200;
        while key[tail_start - 1] == b'%' || key[tail_start - 2] == b'%' {
            tail_start -= 1;
        }
        let mut short = format!("%%{hash:016x}%").into_bytes();
        short.extend_from_slice(&key[tail_start..]);
        key = short;
    }
    OsString::from_vec(key)
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The canonical absolute form of a service directory: symlinks resolved
/// when the path exists, otherwise made absolute against the current
/// directory with `.` and `..` removed lexically.
pub fn canonical_service_path(service_dir: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(service_dir) {
        return p;
    }
    let abs = if service_dir.is_absolute() {
        service_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(service_dir)
    };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Where `supervise/` state of `service_dir` lives when the service
/// directory cannot hold it (read-only scandir):
/// `RUNDIR/supervise/<key>` (see [`supervise_key`]).
pub fn fallback_supervise_dir(rundir: &Path, service_dir: &Path) -> PathBuf {
    rundir
        .join(SUPERVISE_DIR)
        .join(supervise_key(&canonical_service_path(service_dir)))
}

/// For readers (svctl): `DIR/supervise` if it exists (following a symlink,
/// as Debian's runit packaging uses), else the fallback under the runtime
/// directory from `$SVKIT_RUNDIR` if that exists, else `None`.
pub fn locate_supervise_dir(service_dir: &Path) -> Option<PathBuf> {
    locate_supervise_dir_in(&resolve(), service_dir)
}

/// [`locate_supervise_dir`] with an explicit runtime directory.
pub fn locate_supervise_dir_in(rundir: &Path, service_dir: &Path) -> Option<PathBuf> {
    let local = service_dir.join(crate::servicedir::SUPERVISE_DIR);
    let fallback = fallback_supervise_dir(rundir, service_dir);
    if local.is_dir() {
        // A `supervise/` nobody can write (baked into a read-only image)
        // is stale: supervise keeps the live state in the fallback.
        let writable = rustix::fs::access(&local, rustix::fs::Access::WRITE_OK).is_ok();
        if writable || !fallback.is_dir() {
            return Some(local);
        }
    }
    fallback.is_dir().then_some(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct Tmp(PathBuf);
    impl Tmp {
        fn new(tag: &str) -> Tmp {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!(
                "svkit-rundir-unit-{tag}-{}-{n}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn set_mode(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn resolve_prefers_nonempty_env_value() {
        assert_eq!(resolve_from(None), PathBuf::from("/run/svkit"));
        assert_eq!(
            resolve_from(Some(OsStr::new(""))),
            PathBuf::from("/run/svkit")
        );
        assert_eq!(
            resolve_from(Some(OsStr::new("/x/y"))),
            PathBuf::from("/x/y")
        );
    }

    #[test]
    fn key_escapes_percent_and_slash() {
        assert_eq!(
            supervise_key(Path::new("/etc/service/web")),
            OsString::from("%2Fetc%2Fservice%2Fweb")
        );
        assert_eq!(
            supervise_key(Path::new("/srv/50%/a")),
            OsString::from("%2Fsrv%2F50%25%2Fa")
        );
        // `a/b` and a name literally containing "%2F" stay distinct.
        assert_ne!(
            supervise_key(Path::new("/s/a/b")),
            supervise_key(Path::new("/s/a%2Fb"))
        );
        assert_ne!(
            supervise_key(Path::new("/s/web")),
            supervise_key(Path::new("/s/web/log"))
        );
    }

    #[test]
    fn long_keys_are_hashed_and_bounded() {
        let long = PathBuf::from(format!("/{}", "d/".repeat(200)));
        let other = PathBuf::from(format!("/x{}", "d/".repeat(200)));
        let k1 = supervise_key(&long);
        let k2 = supervise_key(&other);
        assert!(k1.len() <= NAME_MAX, "{}", k1.len());
        assert!(k1.as_bytes().starts_with(b"%%"));
        assert_ne!(k1, k2);
        assert!(!k1.as_bytes().contains(&b'/'));
    }

    #[test]
    fn canonical_path_without_the_directory_is_lexical() {
        assert_eq!(
            canonical_service_path(Path::new("/nonexistent-svkit/a/../b/./c")),
            PathBuf::from("/nonexistent-svkit/b/c")
        );
    }

    #[test]
    fn creates_missing_dir_0700() {
        let t = Tmp::new("create");
        let p = t.0.join("a/b/rundir");
        let r = prepare(&p, &Identity::current()).unwrap();
        assert_eq!(r.access, Access::Created);
        assert!(r.warning.is_none());
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o700);
        assert_eq!(m.uid(), rustix::process::geteuid().as_raw());
        // Second call accepts what the first created.
        assert_eq!(
            prepare(&p, &Identity::current()).unwrap().access,
            Access::Owned
        );
    }

    #[test]
    fn not_a_directory_is_refused() {
        let t = Tmp::new("file");
        let p = t.0.join("f");
        std::fs::write(&p, "x").unwrap();
        let e = prepare(&p, &Identity::current()).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }

    #[test]
    fn rules_for_other_owners() {
        // Judged for a made-up identity so the test works as root or not.
        let t = Tmp::new("rules");
        let meta = std::fs::metadata(&t.0).unwrap();
        let owner = meta.uid();
        let group = meta.gid();
        let stranger = Identity {
            uid: owner.wrapping_add(4242),
            gids: vec![group.wrapping_add(4242)],
        };
        let member = Identity {
            uid: owner.wrapping_add(4242),
            gids: vec![7, group],
        };
        set_mode(&t.0, 0o755);
        let e = check_existing(&t.0, &meta_of(&t.0), &stranger).unwrap_err();
        let line = e.to_string();
        assert!(line.contains("mode 0755"), "{line}");
        assert!(line.contains("--tmpfs"), "{line}");
        assert!(line.contains("emptyDir"), "{line}");
        assert!(!line.contains('\n'));
        set_mode(&t.0, 0o770);
        assert_eq!(
            check_existing(&t.0, &meta_of(&t.0), &member)
                .unwrap()
                .access,
            Access::Group(group)
        );
        assert!(check_existing(&t.0, &meta_of(&t.0), &stranger).is_err());
    }

    fn meta_of(p: &Path) -> std::fs::Metadata {
        std::fs::metadata(p).unwrap()
    }
}
