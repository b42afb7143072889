//! envdir: environment changes from a directory, one variable per file.
//!
//! Rules (runit's and daemontools'): entries whose name starts with `.` are
//! skipped; a 0-byte file removes the variable; otherwise the value is the
//! file's first line with trailing spaces and tabs removed and each NUL
//! turned into a newline. svkit refuses a name containing `=` (runit would
//! put the nonsense `X=Y=v` into the environment), and skips an entry that
//! vanished or is a dangling symlink (runit reuses the previous file's
//! value for it).

use super::environ::EnvEdits;
use super::failure::Failure;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What a subdirectory inside the envdir means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subdirs {
    /// `chpst -e`: skipped (a warning with `-v`).
    Skip,
    /// The `envdir` alias: fatal, as in daemontools.
    Fatal,
}

pub fn apply(
    dir: &OsStr,
    subdirs: Subdirs,
    verbose: bool,
    env: &mut EnvEdits,
) -> Result<(), Failure> {
    let shown = dir.to_string_lossy();
    let entries = std::fs::read_dir(Path::new(dir))
        .map_err(|e| Failure::io(format!("unable to switch to directory: {shown}"), &e))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| Failure::io(format!("unable to read directory: {shown}"), &e))?;
        let name = entry.file_name();
        let name = name.as_bytes();
        if name.starts_with(b".") {
            continue;
        }
        let label = format!("{shown}/{}", String::from_utf8_lossy(name));
        let content = match first_line(&entry.path()) {
            Ok(c) => c,
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) && subdirs == Subdirs::Skip => {
                if verbose {
                    warn(&label, &e);
                }
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if verbose {
                    warn(&label, &e);
                }
                continue;
            }
            Err(e) => return Err(Failure::io(format!("unable to read {label}"), &e)),
        };
        if name.contains(&b'=') {
            return Err(Failure::Fatal(format!(
                "unable to use {label}: variable name contains ="
            )));
        }
        match content {
            None => env.unset(name),
            Some(value) => env.set(name, &value),
        }
    }
    Ok(())
}

fn warn(label: &str, e: &io::Error) {
    crate::msg::warn_why(
        "chpst",
        format_args!("unable to read {label}"),
        crate::errstr::io_error_str(e),
    );
}

/// `None` for a 0-byte file, else the cleaned-up first line. Reads only up
/// to the first newline, so a huge file costs no more than its first line.
fn first_line(path: &Path) -> io::Result<Option<Vec<u8>>> {
    // O_NONBLOCK: a FIFO placed in the envdir must not hang chpst.
    let mut file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut content = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        content.extend_from_slice(&chunk[..n]);
        if chunk[..n].contains(&b'\n') {
            break;
        }
    }
    if content.is_empty() {
        return Ok(None);
    }
    Ok(Some(clean_value(&content)))
}

/// First line, trailing blanks (space, tab) removed, NUL -> newline.
pub fn clean_value(content: &[u8]) -> Vec<u8> {
    let line = match content.iter().position(|&c| c == b'\n') {
        Some(end) => &content[..end],
        None => content,
    };
    let keep = line
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(0, |last| last + 1);
    line[..keep]
        .iter()
        .map(|&c| if c == 0 { b'\n' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rules() {
        assert_eq!(clean_value(b"first line  \t\nsecond"), b"first line");
        assert_eq!(clean_value(b"a\0b"), b"a\nb");
        assert_eq!(clean_value(b"\n"), b"");
        assert_eq!(clean_value(b"  lead\r \n"), b"  lead\r");
        assert_eq!(clean_value(b" \t "), b"");
    }
}
