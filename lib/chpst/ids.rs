//! Turning a `-u`/`-U` argument (or a setuidgid account) into the uid and
//! gids to switch to.
//!
//! Forms (runit's): `user` (gid from passwd, groups = just that gid),
//! `user:group[:group...]` (gid = first group, groups = all listed),
//! `:uid:gid[:gid...]` (numeric, no lookup: works with no passwd file).
//! Unlike runit, an empty numeric field is refused instead of read as 0
//! (runit turns `-u :1000:` into gid 0, the root group).

use super::accounts::{parse_id, AccountFiles, User};
use super::failure::Failure;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// How the argument is read: chpst's `-u`/`-U` syntax, or the plain
/// account name of the setuidgid/envuidgid aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Extended,
    Account,
}

/// The ids to switch to. `gids[0]` is the primary gid; `gids` is the whole
/// supplementary list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub uid: u32,
    pub gids: Vec<u32>,
    /// The passwd entry, when the user was named.
    pub user: Option<User>,
}

impl Target {
    pub fn gid(&self) -> u32 {
        self.gids[0]
    }
}

pub fn resolve(spec: &OsStr, syntax: Syntax, files: &AccountFiles) -> Result<Target, Failure> {
    let raw = spec.as_bytes();
    let shown = spec.to_string_lossy();
    if syntax == Syntax::Account {
        let user =
            lookup_user(files, raw)?.ok_or_else(|| Failure::fatal("unknown account", &shown))?;
        return Ok(from_user(user));
    }
    if let Some(numeric) = raw.strip_prefix(b":") {
        return numeric_ids(numeric)
            .ok_or_else(|| Failure::fatal("invalid uid/gids", String::from_utf8_lossy(numeric)));
    }
    let mut parts = raw.split(|&c| c == b':');
    let name = parts.next().unwrap_or_default();
    let unknown = || Failure::fatal("unknown user/group", &shown);
    let user = lookup_user(files, name)?.ok_or_else(unknown)?;
    let group_names: Vec<&[u8]> = parts.collect();
    if group_names.is_empty() {
        return Ok(from_user(user));
    }
    let mut gids = Vec::with_capacity(group_names.len());
    for g in group_names {
        let gid = files
            .group_by_name(g)
            .map_err(|e| Failure::io(format!("unable to read {}", files.group.display()), &e))?
            .ok_or_else(unknown)?;
        gids.push(gid);
    }
    Ok(Target {
        uid: user.uid,
        gids,
        user: Some(user),
    })
}

fn lookup_user(files: &AccountFiles, name: &[u8]) -> Result<Option<User>, Failure> {
    files
        .user_by_name(name)
        .map_err(|e| Failure::io(format!("unable to read {}", files.passwd.display()), &e))
}

fn from_user(user: User) -> Target {
    Target {
        uid: user.uid,
        gids: vec![user.gid],
        user: Some(user),
    }
}

/// `uid:gid[:gid...]` with every field present and numeric.
fn numeric_ids(s: &[u8]) -> Option<Target> {
    let mut fields = s.split(|&c| c == b':');
    let uid = parse_id(fields.next()?)?;
    let gids = fields.map(parse_id).collect::<Option<Vec<u32>>>()?;
    if gids.is_empty() {
        return None;
    }
    Some(Target {
        uid,
        gids,
        user: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn files(tag: &str) -> (PathBuf, AccountFiles) {
        let d = std::env::temp_dir().join(format!("svkit-ids-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let f = AccountFiles {
            passwd: d.join("passwd"),
            group: d.join("group"),
        };
        std::fs::write(&f.passwd, "www:x:33:34::/var/www:/bin/sh\n").unwrap();
        std::fs::write(&f.group, "www:x:34:\nlog:x:4:\nadm:x:5:\n").unwrap();
        (d, f)
    }

    fn fatal_text(r: Result<Target, Failure>) -> String {
        match r {
            Err(Failure::Fatal(t)) => t,
            other => panic!("expected a fatal failure, got {other:?}"),
        }
    }

    #[test]
    fn named_forms() {
        let (d, f) = files("named");
        let t = resolve(OsStr::new("www"), Syntax::Extended, &f).unwrap();
        assert_eq!((t.uid, t.gids.clone()), (33, vec![34]));
        let t = resolve(OsStr::new("www:adm:log"), Syntax::Extended, &f).unwrap();
        assert_eq!((t.uid, t.gid(), t.gids.clone()), (33, 5, vec![5, 4]));
        let t = resolve(OsStr::new("www"), Syntax::Account, &f).unwrap();
        assert_eq!(t.gids, vec![34]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn unknown_names_quote_the_whole_argument() {
        let (d, f) = files("unknown");
        let r = resolve(OsStr::new("nosuch"), Syntax::Extended, &f);
        assert_eq!(fatal_text(r), "unknown user/group: nosuch");
        let r = resolve(OsStr::new("www:nogroup"), Syntax::Extended, &f);
        assert_eq!(fatal_text(r), "unknown user/group: www:nogroup");
        let r = resolve(OsStr::new("www:"), Syntax::Extended, &f);
        assert_eq!(fatal_text(r), "unknown user/group: www:");
        let r = resolve(OsStr::new("www:adm"), Syntax::Account, &f);
        assert_eq!(fatal_text(r), "unknown account: www:adm");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn numeric_forms_need_no_files() {
        let f = AccountFiles {
            passwd: PathBuf::from("/nonexistent/passwd"),
            group: PathBuf::from("/nonexistent/group"),
        };
        let t = resolve(OsStr::new(":1000:2000:3000"), Syntax::Extended, &f).unwrap();
        assert_eq!((t.uid, t.gids), (1000, vec![2000, 3000]));
        for bad in [
            ":1000",
            ":1000:",
            ":abc:1",
            ":1:abc",
            ":1::2",
            ":",
            ":4294967295:1",
        ] {
            let r = resolve(OsStr::new(bad), Syntax::Extended, &f);
            assert_eq!(fatal_text(r), format!("invalid uid/gids: {}", &bad[1..]));
        }
        let r = resolve(OsStr::new("root"), Syntax::Extended, &f);
        assert_eq!(
            fatal_text(r),
            "unable to read /nonexistent/passwd: file does not exist"
        );
    }
}
