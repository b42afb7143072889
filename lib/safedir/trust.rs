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
    /// Someone else can create entries in it: others through the mode
    /// (root-owned 0777 Kubernetes emptyDir, 1777 /tmp, a group-writable
    /// directory), or its owner when that is neither us nor root (an
    /// OpenShift image's `1001:0 g+rwx` directory, a user's directory
    /// root was pointed at). svkit works only in a private 0700
    /// subdirectory it creates there. `others_can_rename` is true unless
    /// the sticky bit protects our entries (it never protects them from
    /// the directory's owner): then the subdirectory can be renamed away,
    /// which the fd svkit holds survives and which a later lookup by path
    /// refuses (the name then leads to someone else's directory).
    SharedNeedsPrivateSubdir { others_can_rename: bool },
    /// Not usable at all.
    Refused(Refusal),
}

/// Judges a base directory from its `st_mode` and `st_uid`, for a
/// process whose effective uid is `euid`. Root is always trusted as an
/// owner (it could change anything anyway); any other owner counts as
/// someone else who can write it, whatever the mode.
pub fn judge(st_mode: u32, uid: u32, euid: u32) -> Verdict {
    let kind = Kind::of_mode(st_mode);
    if kind != Kind::Directory {
        return Verdict::Refused(Refusal::WrongKind {
            found: kind,
            want: Kind::Directory,
        });
    }
    let mode = st_mode & 0o7777;
    let foreign_owner = uid != euid && uid != 0;
    if foreign_owner {
        return Verdict::SharedNeedsPrivateSubdir {
            others_can_rename: true,
        };
    }
    if mode & SHARED_WRITE != 0 {
        Verdict::SharedNeedsPrivateSubdir {
            others_can_rename: mode & STICKY == 0,
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
            Verdict::SharedNeedsPrivateSubdir {
                others_can_rename: true
            }
        );
    }

    #[test]
    fn tmp_1777_needs_a_private_subdir_with_sticky() {
        assert_eq!(
            judge(DIR | 0o1777, 0, 0),
            Verdict::SharedNeedsPrivateSubdir {
                others_can_rename: false
            }
        );
    }

    #[test]
    fn group_writable_root_owned_needs_a_private_subdir() {
        assert_eq!(
            judge(DIR | 0o775, 0, 0),
            Verdict::SharedNeedsPrivateSubdir {
                others_can_rename: true
            }
        );
    }

    #[test]
    fn foreign_owned_group_writable_needs_a_private_subdir() {
        // Finding 1: owned by another uid but group-writable for a group
        // root is in was used as it was, without a warning.
        assert_eq!(
            judge(DIR | 0o770, 1000, 0),
            Verdict::SharedNeedsPrivateSubdir {
                others_can_rename: true
            }
        );
    }

    #[test]
    fn foreign_owned_sticky_is_still_renamable_by_its_owner() {
        assert_eq!(
            judge(DIR | 0o1777, 1000, 0),
            Verdict::SharedNeedsPrivateSubdir {
                others_can_rename: true
            }
        );
    }

    #[test]
    fn foreign_owned_private_looking_needs_a_private_subdir() {
        // Its owner can write it, whatever the mode says about others.
        assert_eq!(
            judge(DIR | 0o700, 1000, 0),
            Verdict::SharedNeedsPrivateSubdir {
                others_can_rename: true
            }
        );
    }

    #[test]
    fn a_users_own_directory_is_private_for_that_user() {
        assert_eq!(judge(DIR | 0o755, 1000, 1000), Verdict::Private);
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
            judge(REG, 0, 0),
            judge(0o020000, 0, 0),
            judge(0o120777, 0, 0),
        ] {
            let Verdict::Refused(r) = v else {
                panic!("not refused")
            };
            let s = r.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
    }
}
