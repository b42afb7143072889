//! Whether a base directory can hold svkit's runtime state as it is, or
//! only a private subdirectory beneath it, or not at all. A pure function
//! of the owner and mode (from `fstat` of the opened fd), so every case is
//! unit-tested without touching the filesystem.

use super::error::{Kind, Refusal};

/// Group- or other-writable bits.
const SHARED_WRITE: u32 = 0o022;
/// The sticky bit: others may create entries but not rename or remove ours.
const STICKY: u32 = 0o1000;

/// How far a base directory can be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Only we (or root) can write it: use it directly.
    Private,
    /// Others can create entries in it (root-owned 0777 Kubernetes
    /// emptyDir, 1777 /tmp, a group-writable directory): svkit works only
    /// in a private 0700 subdirectory it creates there. Without the sticky
    /// bit others can also rename that subdirectory away, which the fd
    /// svkit holds survives but a later lookup by path must re-verify.
    SharedNeedsPrivateSubdir { sticky: bool },
    /// Not usable at all.
    Refused(Refusal),
}

/// Judges a base directory from its `st_mode` and `st_uid`, for a
/// process whose effective uid is `euid`. Root is always trusted as an
/// owner (it could change anything anyway); any other owner is not,
/// whatever the mode: the owner of a directory can rename and replace
/// every entry in it.
pub fn judge(st_mode: u32, uid: u32, euid: u32) -> Verdict {
    let kind = Kind::of_mode(st_mode);
    if kind != Kind::Directory {
        return Verdict::Refused(Refusal::WrongKind {
            found: kind,
            want: Kind::Directory,
        });
    }
    let mode = st_mode & 0o7777;
    let shared = mode & SHARED_WRITE != 0;
    if uid != euid && uid != 0 {
        return Verdict::Refused(if shared {
            Refusal::ForeignOwnedShared { uid, mode }
        } else {
            Refusal::WrongOwner { uid, want: euid }
        });
    }
    if shared {
        Verdict::SharedNeedsPrivateSubdir {
            sticky: mode & STICKY != 0,
        }
    } else {
        Verdict::Private
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: u32 = 0o040000;
    const REG: u32 = 0o100000;

    #[test]
    fn root_owned_0755_is_private_for_root_and_others() {
        assert_eq!(judge(DIR | 0o755, 0, 0), Verdict::Private);
        assert_eq!(judge(DIR | 0o755, 0, 1000), Verdict::Private);
    }

    #[test]
    fn own_0700_is_private() {
        assert_eq!(judge(DIR | 0o700, 1000, 1000), Verdict::Private);
    }

    #[test]
    fn emptydir_0777_needs_a_private_subdir_without_sticky() {
        assert_eq!(
            judge(DIR | 0o777, 0, 0),
            Verdict::SharedNeedsPrivateSubdir { sticky: false }
        );
    }

    #[test]
    fn tmp_1777_needs_a_private_subdir_with_sticky() {
        assert_eq!(
            judge(DIR | 0o1777, 0, 0),
            Verdict::SharedNeedsPrivateSubdir { sticky: true }
        );
    }

    #[test]
    fn group_writable_root_owned_needs_a_private_subdir() {
        assert_eq!(
            judge(DIR | 0o775, 0, 0),
            Verdict::SharedNeedsPrivateSubdir { sticky: false }
        );
    }

    #[test]
    fn foreign_owned_group_writable_is_refused() {
        // Finding 1: owned by another uid but group-writable for a group
        // root is in was accepted without a warning.
        assert_eq!(
            judge(DIR | 0o770, 1000, 0),
            Verdict::Refused(Refusal::ForeignOwnedShared {
                uid: 1000,
                mode: 0o770
            })
        );
    }

    #[test]
    fn foreign_owned_private_looking_is_refused() {
        assert_eq!(
            judge(DIR | 0o700, 1000, 0),
            Verdict::Refused(Refusal::WrongOwner { uid: 1000, want: 0 })
        );
    }

    #[test]
    fn a_file_is_refused() {
        assert_eq!(
            judge(REG | 0o600, 0, 0),
            Verdict::Refused(Refusal::WrongKind {
                found: Kind::Regular,
                want: Kind::Directory
            })
        );
    }

    #[test]
    fn refusals_print_one_line() {
        for v in [
            judge(DIR | 0o770, 1000, 0),
            judge(DIR | 0o700, 1000, 0),
            judge(REG, 0, 0),
        ] {
            let Verdict::Refused(r) = v else {
                panic!("not refused")
            };
            let s = r.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
    }
}
