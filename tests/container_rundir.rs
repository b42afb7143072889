//! The runtime directory as non-root and root users meet it in containers:
//! `--tmpfs /run:uid=N`, a Kubernetes emptyDir (root-owned 0777), OpenShift
//! (gid 0, g+rwx), a root-owned 0755 /run, a read-only mount. Non-root and
//! mount cases run in a child process (see `common::run_test_child`).

mod common;

use common::{run_test_child, TempDir};
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use svkit::container::rundir::{self, Identity};

const NOBODY: u32 = 65532;

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
}

/// What the child reported: Ok((access, warning)) or Err(message).
fn prepare_as(
    uid: u32,
    gid: u32,
    dir: &Path,
    ro_mount: bool,
) -> Result<(String, Option<String>), String> {
    let uid_s = uid.to_string();
    let gid_s = gid.to_string();
    let out = run_test_child(
        "prepare_helper",
        &[
            ("SVKIT_TEST_UID", OsStr::new(&uid_s)),
            ("SVKIT_TEST_GID", OsStr::new(&gid_s)),
            ("SVKIT_TEST_DIR", dir.as_os_str()),
            ("SVKIT_TEST_RO", OsStr::new(if ro_mount { "1" } else { "" })),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "helper gave no result: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut parts = line.splitn(3, '\t');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("ok"), Some(access), Some(warning)) => Ok((
            access.to_string(),
            (warning != "-").then(|| warning.to_string()),
        )),
        (Some("err"), Some(msg), _) => Err(msg.to_string()),
        _ => panic!("bad helper line {line:?}"),
    }
}

/// Child side: become SVKIT_TEST_UID:GID (no supplementary groups),
/// optionally bind-mount the dir read-only in a private mount namespace,
/// then run `rundir::prepare` and report on one stdout line.
#[test]
#[ignore = "helper run in a child process by the tests in this file"]
fn prepare_helper() {
    let Some(dir) = std::env::var_os("SVKIT_TEST_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    if std::env::var("SVKIT_TEST_RO").as_deref() == Ok("1") {
        use nix::mount::{mount, MsFlags};
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .unwrap();
        mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>).unwrap();
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .unwrap();
    }
    let uid: u32 = std::env::var("SVKIT_TEST_UID").unwrap().parse().unwrap();
    let gid: u32 = std::env::var("SVKIT_TEST_GID").unwrap().parse().unwrap();
    nix::unistd::setgroups(&[]).unwrap();
    nix::unistd::setresgid(gid.into(), gid.into(), gid.into()).unwrap();
    nix::unistd::setresuid(uid.into(), uid.into(), uid.into()).unwrap();
    match rundir::prepare(dir, &Identity::current()) {
        Ok(r) => println!(
            "RESULT ok\t{:?}\t{}",
            r.access,
            r.warning.as_deref().unwrap_or("-")
        ),
        Err(e) => println!("RESULT err\t{e}"),
    }
}

macro_rules! needs_root {
    () => {
        if !common::require(&[common::Need::Root]) {
            return;
        }
    };
}

#[test]
fn non_root_creates_rundir_under_tmpfs_owned_by_it() {
    needs_root!();
    let t = TempDir::new("rundir-tmpfs");
    let run = t.join("run");
    std::fs::create_dir(&run).unwrap();
    chown(&run, NOBODY, NOBODY);
    set_mode(&run, 0o755);
    let svkit = run.join("svkit");
    let (access, warning) = prepare_as(NOBODY, NOBODY, &svkit, false).unwrap();
    assert_eq!(access, "Created");
    assert_eq!(warning, None);
    let m = std::fs::metadata(&svkit).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (NOBODY, 0o700));
}

#[test]
fn emptydir_run_works_with_exactly_one_warning() {
    needs_root!();
    let t = TempDir::new("rundir-emptydir");
    let run = t.join("run");
    std::fs::create_dir(&run).unwrap();
    chown(&run, 0, 0);
    set_mode(&run, 0o777);
    // Default layout: /run is the emptyDir, /run/svkit is created in it.
    let (access, warning) = prepare_as(NOBODY, NOBODY, &run.join("svkit"), false).unwrap();
    assert_eq!(access, "Created");
    let w = warning.expect("a warning about the world-writable parent");
    assert!(
        w.contains("world-writable") && w.contains("emptyDir"),
        "{w}"
    );
    // SVKIT_RUNDIR pointing at the emptyDir itself, 0777 and 1777.
    for mode in [0o777, 0o1777] {
        set_mode(&run, mode);
        let (access, warning) = prepare_as(NOBODY, NOBODY, &run, false).unwrap();
        assert_eq!(access, "WorldWritable");
        let w = warning.expect("one warning line");
        assert!(!w.contains('\n'));
        assert!(w.contains(&format!("{mode:04o}")), "{w}");
    }
}

#[test]
fn root_owned_0755_run_is_refused_with_what_to_mount() {
    needs_root!();
    let t = TempDir::new("rundir-0755");
    let run = t.join("run");
    std::fs::create_dir(&run).unwrap();
    set_mode(&run, 0o755);
    let svkit = run.join("svkit");
    let msg = prepare_as(NOBODY, NOBODY, &svkit, false).unwrap_err();
    assert!(msg.contains(&svkit.display().to_string()), "{msg}");
    assert!(msg.contains("permission denied"), "{msg}");
    assert!(msg.contains(&format!("--tmpfs {}", run.display())), "{msg}");
    assert!(msg.contains("emptyDir"), "{msg}");
    assert!(msg.contains("SVKIT_RUNDIR"), "{msg}");
    // The directory itself as the rundir: owned by root, 0755.
    let msg = prepare_as(NOBODY, NOBODY, &run, false).unwrap_err();
    assert!(
        msg.contains("owned by uid 0") && msg.contains("0755"),
        "{msg}"
    );
}

#[test]
fn openshift_gid0_group_writable_is_accepted_quietly() {
    needs_root!();
    let t = TempDir::new("rundir-gid0");
    let run = t.join("run");
    std::fs::create_dir(&run).unwrap();
    chown(&run, 0, 0);
    set_mode(&run, 0o770);
    let (access, warning) = prepare_as(NOBODY, 0, &run, false).unwrap();
    assert_eq!(access, "Group(0)");
    assert_eq!(warning, None);
    // Same dir, a user outside gid 0: refused.
    assert!(prepare_as(NOBODY, NOBODY, &run, false).is_err());
}

#[test]
fn dir_owned_by_another_uid_is_refused() {
    needs_root!();
    let t = TempDir::new("rundir-other");
    let run = t.join("run");
    std::fs::create_dir(&run).unwrap();
    chown(&run, 1000, 1000);
    set_mode(&run, 0o700);
    // In-process as root: root is not the owner either.
    let e = rundir::prepare(&run, &Identity::current()).unwrap_err();
    assert!(e.to_string().contains("owned by uid 1000"), "{e}");
    // And as an unprivileged user.
    assert!(prepare_as(NOBODY, NOBODY, &run, false).is_err());
    // Our own dir, when we are that user, is fine.
    chown(&run, NOBODY, NOBODY);
    let (access, _) = prepare_as(NOBODY, NOBODY, &run, false).unwrap();
    assert_eq!(access, "Owned");
}

#[test]
fn read_only_mount_is_refused() {
    needs_root!();
    let t = TempDir::new("rundir-ro");
    let run = t.join("run");
    std::fs::create_dir(&run).unwrap();
    set_mode(&run, 0o700);
    let msg = prepare_as(0, 0, &run, true).unwrap_err();
    assert!(msg.contains("read-only file system"), "{msg}");
    assert!(msg.contains("--tmpfs"), "{msg}");
}

#[test]
fn supervise_dir_fallback_and_lookup() {
    let t = TempDir::new("rundir-supervise");
    let scandir = t.join("service");
    let web = scandir.join("web");
    std::fs::create_dir_all(web.join("log")).unwrap();
    let rd = t.join("run");
    std::fs::create_dir(&rd).unwrap();

    let canon = std::fs::canonicalize(&web).unwrap();
    let expected_key = canon
        .display()
        .to_string()
        .replace('%', "%25")
        .replace('/', "%2F");
    let fb = rundir::fallback_supervise_dir(&rd, &web);
    assert_eq!(fb, rd.join("supervise").join(&expected_key));
    let fb_log = rundir::fallback_supervise_dir(&rd, &web.join("log"));
    assert_ne!(fb, fb_log);
    // A relative or dotted spelling of the same dir gives the same key.
    assert_eq!(rundir::fallback_supervise_dir(&rd, &web.join("log/..")), fb);

    // Nothing yet.
    assert_eq!(rundir::locate_supervise_dir_in(&rd, &web), None);
    // The fallback, once supervise created it.
    std::fs::create_dir_all(&fb).unwrap();
    assert_eq!(rundir::locate_supervise_dir_in(&rd, &web), Some(fb.clone()));
    // A local supervise/ wins.
    std::fs::create_dir(web.join("supervise")).unwrap();
    assert_eq!(
        rundir::locate_supervise_dir_in(&rd, &web),
        Some(web.join("supervise"))
    );
    // A dangling supervise symlink (Debian style, target not created yet)
    // does not hide the fallback.
    let api = scandir.join("api");
    std::fs::create_dir(&api).unwrap();
    std::os::unix::fs::symlink(t.join("nowhere"), api.join("supervise")).unwrap();
    let fb_api = rundir::fallback_supervise_dir(&rd, &api);
    std::fs::create_dir_all(&fb_api).unwrap();
    assert_eq!(rundir::locate_supervise_dir_in(&rd, &api), Some(fb_api));
}
