//! User and group lookups read straight from `/etc/passwd` and
//! `/etc/group`.
//!
//! chpst must work in a statically linked binary inside a `FROM scratch`
//! image, where glibc's getpwnam/getgrnam (which go through NSS and try to
//! dlopen modules) fail or crash. So the files are parsed here, with the
//! rules of glibc's `files` backend: one entry per line, fields separated
//! by `:`, blank and `#` lines ignored, the first matching entry wins.
//! NIS compat lines (`+name`, `-name`) are not entries and are skipped.
//! The files are read after any chroot, so they come from the new root.

use std::io;
use std::path::{Path, PathBuf};

/// The part of a passwd entry chpst uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    pub home: Vec<u8>,
}

/// Where the account databases live (the system paths, or test files).
#[derive(Debug, Clone)]
pub struct AccountFiles {
    pub passwd: PathBuf,
    pub group: PathBuf,
}

impl AccountFiles {
    pub fn system() -> Self {
        AccountFiles {
            passwd: PathBuf::from("/etc/passwd"),
            group: PathBuf::from("/etc/group"),
        }
    }

    pub fn user_by_name(&self, name: &[u8]) -> io::Result<Option<User>> {
        Ok(users(&read(&self.passwd)?).find(|u| u.name == name))
    }

    pub fn user_by_uid(&self, uid: u32) -> io::Result<Option<User>> {
        Ok(users(&read(&self.passwd)?).find(|u| u.uid == uid))
    }

    pub fn group_by_name(&self, name: &[u8]) -> io::Result<Option<u32>> {
        let db = read(&self.group)?;
        let found = entries(&db)
            .filter(|f| f.len() >= 3)
            .find(|f| f[0] == name)
            .and_then(|f| parse_id(f[2]));
        Ok(found)
    }
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// Lines of the database split into fields, comments and compat lines
/// removed.
fn entries(db: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> {
    db.split(|&c| c == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| {
            let first = line.iter().find(|c| !c.is_ascii_whitespace());
            !matches!(first, None | Some(b'#') | Some(b'+') | Some(b'-'))
        })
        .map(|line| line.split(|&c| c == b':').collect::<Vec<_>>())
        .filter(|fields| !fields[0].is_empty())
}

fn users(db: &[u8]) -> impl Iterator<Item = User> + '_ {
    entries(db).filter_map(|f| {
        if f.len() < 4 {
            return None;
        }
        Some(User {
            name: f[0].to_vec(),
            uid: parse_id(f[2])?,
            gid: parse_id(f[3])?,
            home: f.get(5).map(|h| h.to_vec()).unwrap_or_default(),
        })
    })
}

/// A uid or gid field: decimal, fits in 32 bits, and not the all-ones
/// value (-1 means "leave unchanged" to setresuid/setresgid).
pub fn parse_id(field: &[u8]) -> Option<u32> {
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u32 = std::str::from_utf8(field).ok()?.parse().ok()?;
    (n != u32::MAX).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"\
# comment line
root:x:0:0:root:/root:/bin/bash

+nisuser::0:0:::
broken:x:notanumber:1:::
alice:x:1000:1001:Alice:/home/alice:/bin/sh
alice:x:2000:2001:second alice:/other:/bin/sh
short:x:42:43
";
    const GROUP: &[u8] = b"root:x:0:\nstaff:x:50:alice,bob\nwheel:*:10\r\n";

    fn files(dir: &Path) -> AccountFiles {
        let f = AccountFiles {
            passwd: dir.join("passwd"),
            group: dir.join("group"),
        };
        std::fs::write(&f.passwd, PASSWD).unwrap();
        std::fs::write(&f.group, GROUP).unwrap();
        f
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("svkit-accounts-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn users_first_match_wins_and_bad_lines_are_skipped() {
        let d = scratch("users");
        let f = files(&d);
        let alice = f.user_by_name(b"alice").unwrap().unwrap();
        assert_eq!((alice.uid, alice.gid), (1000, 1001));
        assert_eq!(alice.home, b"/home/alice");
        assert_eq!(f.user_by_name(b"broken").unwrap(), None);
        assert_eq!(f.user_by_name(b"+nisuser").unwrap(), None);
        assert_eq!(f.user_by_name(b"# comment line").unwrap(), None);
        assert_eq!(f.user_by_name(b"nobody").unwrap(), None);
        let short = f.user_by_name(b"short").unwrap().unwrap();
        assert_eq!((short.uid, short.gid, short.home.len()), (42, 43, 0));
        assert_eq!(f.user_by_uid(2000).unwrap().unwrap().home, b"/other");
        assert_eq!(f.user_by_uid(0).unwrap().unwrap().name, b"root");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn groups_by_name() {
        let d = scratch("groups");
        let f = files(&d);
        assert_eq!(f.group_by_name(b"staff").unwrap(), Some(50));
        assert_eq!(f.group_by_name(b"wheel").unwrap(), Some(10));
        assert_eq!(f.group_by_name(b"alice").unwrap(), None);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn missing_database_is_an_error_not_an_empty_answer() {
        let d = scratch("missing");
        let f = AccountFiles {
            passwd: d.join("nope"),
            group: d.join("nope"),
        };
        assert_eq!(
            f.user_by_name(b"root").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn ids_reject_minus_one_and_junk() {
        assert_eq!(parse_id(b"65534"), Some(65534));
        assert_eq!(parse_id(b"4294967295"), None);
        assert_eq!(parse_id(b"4294967296"), None);
        assert_eq!(parse_id(b""), None);
        assert_eq!(parse_id(b"-1"), None);
    }
}
