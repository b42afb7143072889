//! Dropping privileges to a `Target`, completely and checked.
//!
//! Order matters: supplementary groups first, then the gid, then the uid
//! (after setuid a non-root process may no longer change its groups).
//! setresgid/setresuid set the real, effective and saved ids together, so
//! no saved id is left behind to switch back to. Afterwards the ids are
//! read back and compared, and when the drop started from root, regaining
//! root is attempted and must fail. Any mismatch is fatal before exec.

use super::failure::Failure;
use super::ids::Target;
use nix::errno::Errno;
use nix::unistd::{getgroups, getresgid, getresuid, setgroups, setresgid, setresuid, Gid, Uid};

pub fn drop_to(target: &Target) -> Result<(), Failure> {
    let was_root = getresuid()
        .map(|ids| ids.effective.is_root())
        .unwrap_or(false);
    let groups: Vec<Gid> = target.gids.iter().map(|&g| Gid::from_raw(g)).collect();
    // An unprivileged caller cannot call setgroups at all; when it already
    // has exactly these groups (chpst -u to oneself) there is nothing to do.
    if was_root || !same_set(&current_groups()?, &target.gids) {
        setgroups(&groups).map_err(|e| Failure::sys("unable to setgroups", e))?;
    }
    let gid = Gid::from_raw(target.gid());
    setresgid(gid, gid, gid).map_err(|e| Failure::sys("unable to setgid", e))?;
    let uid = Uid::from_raw(target.uid);
    setresuid(uid, uid, uid).map_err(|e| Failure::sys("unable to setuid", e))?;
    verify(target, was_root)
}

fn current_groups() -> Result<Vec<u32>, Failure> {
    let g = getgroups().map_err(|e| Failure::sys("unable to getgroups", e))?;
    Ok(g.into_iter().map(Gid::as_raw).collect())
}

fn same_set(a: &[u32], b: &[u32]) -> bool {
    let norm = |s: &[u32]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

fn verify(target: &Target, was_root: bool) -> Result<(), Failure> {
    let bad = |what: String| Failure::fatal("privilege drop failed", what);
    let u = getresuid().map_err(|e| Failure::sys("unable to getresuid", e))?;
    let want_u = Uid::from_raw(target.uid);
    if (u.real, u.effective, u.saved) != (want_u, want_u, want_u) {
        return Err(bad(format!(
            "uids are {}/{}/{}, wanted {}",
            u.real, u.effective, u.saved, target.uid
        )));
    }
    let g = getresgid().map_err(|e| Failure::sys("unable to getresgid", e))?;
    let want_g = Gid::from_raw(target.gid());
    if (g.real, g.effective, g.saved) != (want_g, want_g, want_g) {
        return Err(bad(format!(
            "gids are {}/{}/{}, wanted {}",
            g.real,
            g.effective,
            g.saved,
            target.gid()
        )));
    }
    let groups = current_groups()?;
    if !same_set(&groups, &target.gids) {
        return Err(bad(format!(
            "supplementary groups are {groups:?}, wanted {:?}",
            target.gids
        )));
    }
    if was_root && target.uid != 0 {
        // If the kernel left us a capability (e.g. SECBIT_NO_SETUID_FIXUP),
        // this succeeds; the process must then not run prog as "dropped".
        match setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)) {
            Err(Errno::EPERM) => {}
            Ok(()) => return Err(bad("root could be regained after setuid".into())),
            Err(e) => return Err(Failure::sys("unable to check the privilege drop", e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_sets_ignore_order_and_duplicates() {
        assert!(same_set(&[5, 4, 5], &[4, 5]));
        assert!(!same_set(&[4], &[4, 5]));
    }
}
