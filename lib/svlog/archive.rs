//! The rotated files of a log directory: `@` + 24 hex digits + `.s`
//! (processed), `.u` (unprocessed) or `.t` (processor output in progress).
//! Names sort by time, so the lexically smallest is the oldest.

use rustix::fs::{AtFlags, Dir, OFlags};
use std::os::fd::{AsFd, BorrowedFd};

/// Length of `@<24 hex>.x`.
pub const NAME_LEN: usize = 27;

/// A rotated file: its name and size in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotated {
    pub name: String,
    pub size: u64,
}

/// Is `name` a rotated-file name with suffix `s`, `u` or `t`?
pub fn kind_of(name: &[u8]) -> Option<u8> {
    if name.len() != NAME_LEN || name[0] != b'@' || name[25] != b'.' {
        return None;
    }
    if !name[1..25].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    matches!(name[26], b's' | b'u' | b't').then_some(name[26])
}

/// When a rotated file was made (from its TAI64N name); None for a bad
/// name or one past what `SystemTime` holds.
pub fn time_of(name: &str) -> Option<std::time::SystemTime> {
    // Not Tai64n::to_system_time: a name far in the future must not panic.
    let t = crate::tai64n::Tai64n::parse_hex_label(name.get(..25)?)?;
    super::deadline::unix_time(t.unix_secs(), t.nanos)
}

/// Lists `.s` and `.u` files (oldest first) and `.t` leftovers.
pub fn list(dir: BorrowedFd<'_>) -> rustix::io::Result<(Vec<Rotated>, Vec<String>)> {
    let fd = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    let mut files = Vec::new();
    let mut leftovers = Vec::new();
    for entry in Dir::read_from(&fd)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        let Some(kind) = kind_of(name) else { continue };
        let name = String::from_utf8_lossy(name).into_owned();
        if kind == b't' {
            leftovers.push(name);
            continue;
        }
        let size = rustix::fs::statat(fd.as_fd(), name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map(|st| st.st_size as u64)
            .unwrap_or(0);
        files.push(Rotated { name, size });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((files, leftovers))
}

#[cfg(test)]
mod tests {
    use super::kind_of;

    #[test]
    fn names() {
        assert_eq!(kind_of(b"@400000006b0226cb2009a324.s"), Some(b's'));
        assert_eq!(kind_of(b"@400000006b0226cb2009a324.u"), Some(b'u'));
        assert_eq!(kind_of(b"@400000006b0226cb2009a324.x"), None);
        assert_eq!(kind_of(b"current"), None);
        assert_eq!(kind_of(b"@400000006b0226cb2009a32z.s"), None);
    }
}
