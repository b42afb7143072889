//! runit's update protocol for `supervise/` files: write `X.new`, then
//! `rename()` it over `X`, so a reader never sees a half-written file.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Replaces `path` with `contents` atomically (mode 0644 before umask).
/// A short write leaves the old file in place and reports an error.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_as(path, contents, Mode::Replace)
}

/// How a file gets its new contents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `X.new` + rename: a reader sees the old file or the new one.
    Replace,
    /// Written over in place (one write, then truncated to length): no
    /// new inode. Only for files no one reads any more, e.g. supervise's
    /// state as it exits (sv and svctl then report "runsv not running"
    /// without reading it); a reader racing the write could see a mix.
    InPlace,
}

/// Gives `path` the new `contents` in the given `mode`.
pub fn write_as(path: &Path, contents: &[u8], mode: Mode) -> io::Result<()> {
    if mode == Mode::InPlace {
        use std::os::unix::fs::FileExt;
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .mode(0o644)
            .open(path)?;
        f.write_all_at(contents, 0)?;
        return f.set_len(contents.len() as u64);
    }
    let mut tmp = OsString::from(path.as_os_str());
    tmp.push(".new");
    let tmp = Path::new(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .mode(0o644)
        .open(tmp)?;
    f.write_all(contents)?;
    drop(f);
    std::fs::rename(tmp, path)
}
