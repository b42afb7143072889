//! The attacks of issue 13, finding 1, at library level: each plants what
//! an unprivileged service could plant in a runtime directory it can
//! write, and checks that `svkit::safedir` refuses it with one line and
//! never touches what a link points to. Real files in scratch directories;
//! the foreign-owner cases need root (chown to nobody) and are skipped
//! otherwise.

mod common;

use common::{require, Need, TempDir};
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use svkit::safedir::{self, Create, Dir, Kind, Refusal, Verdict, FIFO_MODE, PRIVATE_MODE};

/// nobody: the unprivileged uid the foreign-owner cases chown to.
const NOBODY: u32 = 65534;

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_nobody(p: &Path) {
    std::os::unix::fs::lchown(p, Some(NOBODY), Some(NOBODY)).unwrap();
}

fn mkfifo(p: &Path, mode: u32) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    chmod(p, mode);
}

/// A private runtime directory in a fresh scratch dir (0700, ours).
fn private(t: &TempDir) -> Dir {
    chmod(t.path(), 0o700);
    let (dir, verdict) = safedir::open_base(t.path()).unwrap();
    assert_eq!(verdict, Verdict::Private);
    dir
}

/// Every refusal prints as one line naming the path.
fn one_line(e: &safedir::Error, path: &Path) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "{s:?}");
    assert!(s.starts_with(&path.display().to_string()), "{s:?}");
    s
}

#[test]
fn planted_stat_new_symlink_does_not_truncate_its_target() {
    // `stat.new -> /etc/shadow`, with a file of ours standing in.
    let t = TempDir::new("safedir-statnew");
    let victim = t.join("shadow");
    fs::write(&victim, "root:secret\n").unwrap();
    let rt = t.join("rt");
    fs::create_dir(&rt).unwrap();
    symlink(&victim, rt.join("stat.new")).unwrap();
    chmod(&rt, 0o700);
    let (dir, _) = safedir::open_base(&rt).unwrap();

    dir.replace("stat", b"run\n", 0o644).unwrap();

    assert_eq!(fs::read_to_string(&victim).unwrap(), "root:secret\n");
    assert_eq!(fs::read(rt.join("stat")).unwrap(), b"run\n");
    assert!(fs::symlink_metadata(rt.join("stat.new")).is_err());
    let m = fs::symlink_metadata(rt.join("stat")).unwrap();
    assert!(m.file_type().is_file());
    assert_eq!(m.mode() & 0o7777, 0o644);
}

#[test]
fn create_new_never_opens_a_planted_link_or_file() {
    let t = TempDir::new("safedir-excl");
    let dir = private(&t);
    let victim = t.join("victim");
    fs::write(&victim, "keep").unwrap();
    symlink(&victim, t.join("new")).unwrap();
    let e = dir.create_new("new", 0o644).unwrap_err();
    assert_eq!(e.errno(), Some(rustix::io::Errno::EXIST));
    one_line(&e, &t.join("new"));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
}

#[test]
fn a_stale_directory_named_new_is_refused_not_removed() {
    let t = TempDir::new("safedir-newdir");
    let dir = private(&t);
    fs::create_dir(t.join("stat.new")).unwrap();
    let e = dir.replace("stat", b"x", 0o644).unwrap_err();
    assert!(matches!(
        e.refusal,
        Refusal::WrongKind {
            found: Kind::Directory,
            ..
        }
    ));
    assert!(t.join("stat.new").is_dir());
}

#[test]
fn planted_0666_control_fifo_is_refused() {
    let t = TempDir::new("safedir-fifo666");
    let dir = private(&t);
    mkfifo(&t.join("control"), 0o666);
    let e = dir.fifo("control").unwrap_err();
    assert_eq!(
        e.refusal,
        Refusal::WrongMode {
            mode: 0o666,
            want: FIFO_MODE
        }
    );
    let s = one_line(&e, &t.join("control"));
    assert!(s.contains("0666"), "{s}");
}

#[test]
fn a_fifo_made_here_is_0600_and_reused() {
    let t = TempDir::new("safedir-fifo");
    let dir = private(&t);
    let reader = dir.fifo("control").unwrap();
    let m = fs::symlink_metadata(t.join("control")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o600);
    // Reused as it is, and a writer finds it.
    let again = dir.fifo("control").unwrap();
    let w = dir.open_fifo_writer("control").unwrap();
    rustix::io::write(&w, b"u").unwrap();
    let mut b = [0u8; 1];
    assert_eq!(rustix::io::read(&reader, &mut b).unwrap(), 1);
    assert_eq!(&b, b"u");
    drop(again);
}

#[test]
fn a_writer_without_reader_gets_enxio_and_never_blocks() {
    let t = TempDir::new("safedir-enxio");
    let dir = private(&t);
    mkfifo(&t.join("ok"), 0o600);
    let e = dir.open_fifo_writer("ok").unwrap_err();
    assert_eq!(e.errno(), Some(rustix::io::Errno::NXIO));
}

#[test]
fn a_symlink_to_a_fifo_is_refused_for_both_ends() {
    let t = TempDir::new("safedir-fifolink");
    let dir = private(&t);
    mkfifo(&t.join("real"), 0o600);
    symlink(t.join("real"), t.join("control")).unwrap();
    assert_eq!(dir.fifo("control").unwrap_err().refusal, Refusal::Symlink);
    assert_eq!(
        dir.open_fifo_writer("control").unwrap_err().refusal,
        Refusal::Symlink
    );
}

#[test]
fn a_fifo_where_a_status_file_is_expected_does_not_hang() {
    let t = TempDir::new("safedir-fifostatus");
    let dir = private(&t);
    mkfifo(&t.join("status"), 0o600);
    // No writer ever comes: a blocking open or read would hang forever.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(dir.read_small("status", 64).map_err(|e| e.refusal));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("read_small hung on a FIFO");
    assert_eq!(
        got,
        Err(Refusal::WrongKind {
            found: Kind::Fifo,
            want: Kind::Regular
        })
    );
}

#[test]
fn a_status_symlink_to_a_secret_is_not_read() {
    let t = TempDir::new("safedir-readlink");
    let dir = private(&t);
    fs::write(t.join("shadow"), "root:secret\n").unwrap();
    symlink(t.join("shadow"), t.join("status")).unwrap();
    let e = dir.read_small("status", 64).unwrap_err();
    assert_eq!(e.refusal, Refusal::Symlink);
    assert!(!e.to_string().contains("secret"));
}

#[test]
fn a_hard_link_is_not_read() {
    let t = TempDir::new("safedir-hardlink");
    let dir = private(&t);
    fs::write(t.join("shadow"), "root:secret\n").unwrap();
    fs::hard_link(t.join("shadow"), t.join("env")).unwrap();
    assert_eq!(
        dir.read_small("env", 64).unwrap_err().refusal,
        Refusal::HardLinked { links: 2 }
    );
}

#[test]
fn reads_are_bounded() {
    let t = TempDir::new("safedir-bound");
    let dir = private(&t);
    fs::write(t.join("pid"), "12345\n").unwrap();
    assert_eq!(dir.read_small("pid", 6).unwrap(), b"12345\n");
    assert_eq!(
        dir.read_small("pid", 5).unwrap_err().refusal,
        Refusal::TooLarge { limit: 5 }
    );
    assert!(dir.read_small("absent", 5).unwrap_err().is_not_found());
}

#[test]
fn an_env_directory_in_place_of_a_file_is_refused() {
    // `RUNDIR/env` swapped for a directory holding LD_PRELOAD.
    let t = TempDir::new("safedir-envdir");
    let dir = private(&t);
    fs::create_dir(t.join("env")).unwrap();
    fs::write(t.join("env/LD_PRELOAD"), "/tmp/evil.so").unwrap();
    assert_eq!(
        dir.read_small("env", 4096).unwrap_err().refusal,
        Refusal::WrongKind {
            found: Kind::Directory,
            want: Kind::Regular
        }
    );
}

#[test]
fn a_subdirectory_swapped_for_a_symlink_is_refused() {
    let t = TempDir::new("safedir-swap");
    let dir = private(&t);
    let elsewhere = t.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    chmod(&elsewhere, 0o700);
    symlink(&elsewhere, t.join("supervise")).unwrap();
    for create in [Create::IfMissing, Create::No] {
        let e = dir.subdir("supervise", 0o700, create).unwrap_err();
        assert_eq!(e.refusal, Refusal::Symlink);
        one_line(&e, &t.join("supervise"));
    }
}

#[test]
fn work_continues_beneath_the_fd_after_a_swap() {
    // Once opened, the directory is reached through its fd: renaming it
    // away and planting a link at its name changes nothing.
    let t = TempDir::new("safedir-fdswap");
    let dir = private(&t);
    let sup = dir.subdir("supervise", 0o700, Create::IfMissing).unwrap();
    fs::rename(t.join("supervise"), t.join("moved")).unwrap();
    let decoy = t.join("decoy");
    fs::create_dir(&decoy).unwrap();
    symlink(&decoy, t.join("supervise")).unwrap();
    sup.replace("stat", b"run\n", 0o644).unwrap();
    assert_eq!(fs::read(t.join("moved/stat")).unwrap(), b"run\n");
    assert!(!decoy.join("stat").exists());
}

#[test]
fn an_operators_supervise_link_is_followed_into_a_private_directory() {
    // Debian's `supervise -> /run/runit/supervise.web`, target gone.
    let t = TempDir::new("safedir-debian");
    let svc = t.join("svc");
    let run = t.join("run");
    fs::create_dir(&svc).unwrap();
    fs::create_dir(&run).unwrap();
    chmod(&svc, 0o755);
    chmod(&run, 0o755);
    symlink("../run/supervise.web", svc.join("supervise")).unwrap();
    let (dir, verdict) = safedir::open_base(&svc).unwrap();
    assert_eq!(verdict, Verdict::Private);
    let sup = dir.linked_subdir("supervise", 0o700).unwrap();
    sup.replace("stat", b"run\n", 0o644).unwrap();
    assert_eq!(fs::read(run.join("supervise.web/stat")).unwrap(), b"run\n");
    // Reused on the next start; a plain directory is used as subdir() would.
    dir.linked_subdir("supervise", 0o700).unwrap();
    dir.linked_subdir("log-supervise", 0o700).unwrap();
    assert!(svc.join("log-supervise").is_dir());
}

#[test]
fn a_supervise_link_into_a_shared_directory_is_refused() {
    let t = TempDir::new("safedir-debian-shared");
    let svc = t.join("svc");
    let run = t.join("run");
    fs::create_dir(&svc).unwrap();
    fs::create_dir(&run).unwrap();
    chmod(&svc, 0o755);
    chmod(&run, 0o777);
    symlink(run.join("supervise.web"), svc.join("supervise")).unwrap();
    let (dir, _) = safedir::open_base(&svc).unwrap();
    let e = dir.linked_subdir("supervise", 0o700).unwrap_err();
    assert!(
        matches!(e.refusal, Refusal::NotPrivate { mode: 0o777, .. }),
        "{e}"
    );
    one_line(&e, &run);
    assert!(!run.join("supervise.web").exists());
}

#[test]
fn a_subdirectory_with_a_wrong_mode_is_refused() {
    let t = TempDir::new("safedir-submode");
    let dir = private(&t);
    fs::create_dir(t.join("supervise")).unwrap();
    chmod(&t.join("supervise"), 0o777);
    assert_eq!(
        dir.subdir("supervise", 0o700, Create::IfMissing)
            .unwrap_err()
            .refusal,
        Refusal::WrongMode {
            mode: 0o777,
            want: 0o700
        }
    );
}

#[test]
fn a_file_where_a_directory_is_expected_is_named() {
    let t = TempDir::new("safedir-subfile");
    let dir = private(&t);
    fs::write(t.join("supervise"), "").unwrap();
    assert_eq!(
        dir.subdir("supervise", 0o700, Create::IfMissing)
            .unwrap_err()
            .refusal,
        Refusal::WrongKind {
            found: Kind::Regular,
            want: Kind::Directory
        }
    );
}

#[test]
fn names_cannot_leave_the_directory() {
    let t = TempDir::new("safedir-names");
    let dir = private(&t);
    for name in ["", ".", "..", "../x", "a/b", "/etc/shadow"] {
        assert_eq!(
            dir.read_small(name, 10).unwrap_err().refusal,
            Refusal::BadName,
            "{name:?}"
        );
        assert_eq!(
            dir.subdir(name, 0o700, Create::IfMissing)
                .unwrap_err()
                .refusal,
            Refusal::BadName
        );
    }
}

#[test]
fn group_writable_base_gets_a_private_subdirectory() {
    let t = TempDir::new("safedir-shared");
    chmod(t.path(), 0o775);
    let (_, verdict) = safedir::open_base(t.path()).unwrap();
    assert_eq!(
        verdict,
        Verdict::SharedNeedsPrivateSubdir {
            others_can_rename: true
        }
    );
    let rt = safedir::runtime_root(t.path(), "svkit", Create::IfMissing).unwrap();
    assert_eq!(rt.path(), t.join("svkit"));
    let m = fs::symlink_metadata(t.join("svkit")).unwrap();
    assert!(m.is_dir());
    assert_eq!(m.mode() & 0o7777, PRIVATE_MODE);
    assert_eq!(m.uid(), rustix::process::geteuid().as_raw());
    // Reused on the next start, and found by a reader that creates nothing.
    safedir::runtime_root(t.path(), "svkit", Create::IfMissing).unwrap();
    safedir::runtime_root(t.path(), "svkit", Create::No).unwrap();
    let me = rustix::process::geteuid().as_raw();
    assert_eq!(safedir::private_name(), format!("svkit-{me}"));
}

#[test]
fn a_reader_does_not_create_the_private_subdirectory() {
    let t = TempDir::new("safedir-nocreate");
    chmod(t.path(), 0o1777);
    let e = safedir::runtime_root(t.path(), "svkit", Create::No).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(!t.join("svkit").exists());
}

#[test]
fn emptydir_0777_gets_a_private_subdirectory_and_a_planted_one_is_refused() {
    let t = TempDir::new("safedir-emptydir");
    chmod(t.path(), 0o777);
    // Someone got there first with a directory anyone can write.
    fs::create_dir(t.join("svkit")).unwrap();
    chmod(&t.join("svkit"), 0o777);
    let e = safedir::runtime_root(t.path(), "svkit", Create::IfMissing).unwrap_err();
    assert_eq!(
        e.refusal,
        Refusal::WrongMode {
            mode: 0o777,
            want: PRIVATE_MODE
        }
    );
    // Or with a link to a directory of their choosing.
    fs::remove_dir(t.join("svkit")).unwrap();
    fs::create_dir(t.join("theirs")).unwrap();
    chmod(&t.join("theirs"), 0o700);
    symlink(t.join("theirs"), t.join("svkit")).unwrap();
    let e = safedir::runtime_root(t.path(), "svkit", Create::IfMissing).unwrap_err();
    assert_eq!(e.refusal, Refusal::Symlink);
}

#[test]
fn a_missing_base_is_made_private_in_its_parent() {
    // `/run/svkit` with an emptyDir at `/run`.
    let t = TempDir::new("safedir-mkbase");
    chmod(t.path(), 0o777);
    let base = t.join("svkit");
    let rt = safedir::runtime_root(&base, "private", Create::IfMissing).unwrap();
    assert_eq!(rt.path(), base);
    let m = fs::symlink_metadata(&base).unwrap();
    assert_eq!(m.mode() & 0o7777, PRIVATE_MODE);
    // The next start and a reader find it private and use it as it is.
    let again = safedir::runtime_root(&base, "private", Create::No).unwrap();
    assert_eq!(again.path(), base);
    assert!(!base.join("private").exists());
}

#[test]
fn a_private_base_is_used_as_it_is() {
    let t = TempDir::new("safedir-privbase");
    chmod(t.path(), 0o755);
    let rt = safedir::runtime_root(t.path(), "svkit", Create::IfMissing).unwrap();
    assert_eq!(rt.path(), t.path());
    assert!(!t.join("svkit").exists());
}

#[test]
fn a_lock_file_is_created_and_a_planted_link_refused() {
    let t = TempDir::new("safedir-lock");
    let dir = private(&t);
    dir.open_lock("lock", 0o600).unwrap();
    dir.open_lock("lock", 0o600).unwrap();
    fs::write(t.join("target"), "keep").unwrap();
    symlink(t.join("target"), t.join("lock2")).unwrap();
    assert_eq!(
        dir.open_lock("lock2", 0o600).unwrap_err().refusal,
        Refusal::Symlink
    );
    // A dangling link is not created through either.
    symlink(t.join("nowhere"), t.join("lock3")).unwrap();
    assert_eq!(
        dir.open_lock("lock3", 0o600).unwrap_err().refusal,
        Refusal::Symlink
    );
    assert!(!t.join("nowhere").exists());
}

#[test]
fn an_env_dump_is_swapped_whole_and_removed_without_following_links() {
    let t = TempDir::new("safedir-tree");
    let dir = private(&t);
    let keep = t.join("keep");
    fs::create_dir(&keep).unwrap();
    fs::write(keep.join("precious"), "x").unwrap();
    // The previous dump.
    let old = dir.subdir("env", 0o700, Create::IfMissing).unwrap();
    old.replace("PATH", b"/bin", 0o600).unwrap();
    // The new one, with a link someone planted into it.
    let new = dir.subdir(".env.new", 0o700, Create::IfMissing).unwrap();
    new.replace("PATH", b"/usr/bin", 0o600).unwrap();
    new.replace("HOME", b"/root", 0o600).unwrap();
    symlink(&keep, t.join(".env.new/evil")).unwrap();
    dir.exchange(".env.new", "env").unwrap();
    let env = dir.subdir("env", 0o700, Create::No).unwrap();
    assert_eq!(env.names().unwrap(), ["HOME", "PATH", "evil"]);
    assert_eq!(env.read_small("PATH", 64).unwrap(), b"/usr/bin");
    // Removing both trees never reaches through the link.
    dir.remove_tree(".env.new").unwrap();
    dir.remove_tree("env").unwrap();
    dir.remove_tree("env").unwrap();
    assert!(keep.join("precious").exists());
    assert_eq!(dir.names().unwrap(), ["keep"]);
    // A first dump has nothing to exchange with.
    dir.subdir(".env.new", 0o700, Create::IfMissing).unwrap();
    dir.exchange(".env.new", "env").unwrap();
    assert!(t.join("env").is_dir() && !t.join(".env.new").exists());
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    // The umask is process-wide: changed only in a child running the
    // helper below alone.
    let t = TempDir::new("safedir-umask");
    chmod(t.path(), 0o1777);
    let out = common::run_test_child("umask_helper", &[(UMASK_HELPER_DIR, t.path().as_os_str())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("umask-helper-ok"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &str| fs::symlink_metadata(t.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("svkit"), PRIVATE_MODE);
    assert_eq!(mode("svkit/supervise"), 0o700);
    assert_eq!(mode("svkit/supervise/control"), FIFO_MODE);
    assert_eq!(mode("svkit/supervise/stat"), 0o644);
}

/// Where `umask_helper` works; unset, the helper does nothing (so a plain
/// `--ignored` run never changes the umask of the whole test process).
const UMASK_HELPER_DIR: &str = "SVKIT_SAFEDIR_UMASK_HELPER_DIR";

#[test]
#[ignore]
fn umask_helper() {
    let Some(base) = std::env::var_os(UMASK_HELPER_DIR) else {
        return;
    };
    // Root opens what a 0777 umask made (mode 0000) and fixes it; another
    // uid cannot open a FIFO or directory it has no bits for, so it gets
    // the worst umask that leaves its own bits.
    let worst = if rustix::process::geteuid().is_root() {
        0o777
    } else {
        0o077
    };
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(worst));
    let rt = safedir::runtime_root(Path::new(&base), "svkit", Create::IfMissing).unwrap();
    let sup = rt.subdir("supervise", 0o700, Create::IfMissing).unwrap();
    sup.fifo("control").unwrap();
    sup.replace("stat", b"run\n", 0o644).unwrap();
    println!("umask-helper-ok");
}

// Foreign owners: chown to nobody, so root only.

#[test]
fn foreign_owned_group_writable_base_gets_a_private_subdirectory() {
    // Finding 1: owned by another uid, group-writable for a group root is
    // in, and used as it was.
    if !require(&[Need::Root]) {
        return;
    }
    let t = TempDir::new("safedir-foreignbase");
    chmod(t.path(), 0o770);
    chown_nobody(t.path());
    let (_, verdict) = safedir::open_base(t.path()).unwrap();
    assert_eq!(
        verdict,
        Verdict::SharedNeedsPrivateSubdir {
            others_can_rename: true
        }
    );
    let rt = safedir::runtime_root(t.path(), "svkit", Create::IfMissing).unwrap();
    rt.replace("stat", b"run\n", 0o644).unwrap();
    let m = fs::symlink_metadata(t.join("svkit")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, PRIVATE_MODE));
}

#[test]
fn a_private_subdirectory_planted_by_the_bases_owner_is_refused() {
    if !require(&[Need::Root]) {
        return;
    }
    let t = TempDir::new("safedir-foreignsub");
    chmod(t.path(), 0o770);
    chown_nobody(t.path());
    fs::create_dir(t.join("svkit")).unwrap();
    chmod(&t.join("svkit"), 0o700);
    chown_nobody(&t.join("svkit"));
    for create in [Create::IfMissing, Create::No] {
        let e = safedir::runtime_root(t.path(), "svkit", create).unwrap_err();
        assert_eq!(
            e.refusal,
            Refusal::WrongOwner {
                uid: NOBODY,
                want: 0
            }
        );
        let s = one_line(&e, &t.join("svkit"));
        assert!(s.contains("65534"), "{s}");
    }
    // Not chmod-ed on the way.
    let m = fs::symlink_metadata(t.join("svkit")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (NOBODY, 0o700));
}

#[test]
fn foreign_owned_entries_are_refused() {
    if !require(&[Need::Root]) {
        return;
    }
    let t = TempDir::new("safedir-foreign");
    let dir = private(&t);
    // A forged status file (svkit-status naming a pid to adopt).
    fs::write(t.join("svkit-status"), "pid=1\n").unwrap();
    chmod(&t.join("svkit-status"), 0o644);
    chown_nobody(&t.join("svkit-status"));
    // A forged pid file for svscan's shutdown.
    fs::write(t.join("pid"), "1\n").unwrap();
    chown_nobody(&t.join("pid"));
    // Their supervise/ and their 0600 FIFO.
    fs::create_dir(t.join("supervise")).unwrap();
    chmod(&t.join("supervise"), 0o700);
    chown_nobody(&t.join("supervise"));
    mkfifo(&t.join("control"), 0o600);
    chown_nobody(&t.join("control"));
    let owner = Refusal::WrongOwner {
        uid: NOBODY,
        want: 0,
    };
    assert_eq!(
        dir.read_small("svkit-status", 64).unwrap_err().refusal,
        owner
    );
    assert_eq!(dir.read_small("pid", 64).unwrap_err().refusal, owner);
    assert_eq!(
        dir.subdir("supervise", 0o700, Create::IfMissing)
            .unwrap_err()
            .refusal,
        owner
    );
    assert_eq!(dir.fifo("control").unwrap_err().refusal, owner);
    // Still theirs, mode unchanged: nothing was chmod-ed on the way.
    let m = fs::symlink_metadata(t.join("control")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (NOBODY, 0o600));
}

/// The cost of the checks on the hottest path, a status update: prints
/// the time per `replace` through safedir and through the unchecked
/// `atomic_file::replace` it supersedes. A measurement, not a decision:
/// run with `--ignored --nocapture`.
#[test]
#[ignore]
fn bench_status_update() {
    use std::time::Instant;
    const N: u32 = 20_000;
    let t = TempDir::new("safedir-bench");
    let dir = private(&t);
    let body = [0u8; 20];
    let start = Instant::now();
    for _ in 0..N {
        dir.replace("status", &body, 0o644).unwrap();
    }
    let checked = start.elapsed() / N;
    let path = t.join("plain");
    let start = Instant::now();
    for _ in 0..N {
        svkit::atomic_file::replace(&path, &body).unwrap();
    }
    let plain = start.elapsed() / N;
    println!("status update: safedir {checked:?}/op, atomic_file {plain:?}/op");
}
