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
