//! The name and command line `ps` shows for a process that was forked
//! but never exec'd (svscan's built-in supervise): `comm` through
//! PR_SET_NAME, and the command line by writing over the memory that held
//! the original argv and environment strings, as setproctitle(3) does.
//!
//! The kernel reads /proc/PID/cmdline from that memory: the whole argv
//! area while its last byte is NUL, otherwise (a title longer than the
//! original argv) one string from its start on into the environment area.

use std::ffi::CStr;

/// Where the argv strings and the environment strings after them lie.
#[derive(Debug, Clone, Copy)]
pub struct TitleArea {
    start: usize,
    /// End of the argv strings.
    args_end: usize,
    /// End of the environment strings when they follow argv directly
    /// (the usual stack layout), else `args_end`.
    end: usize,
}

impl TitleArea {
    /// This process's area, from /proc/self/stat (fields 48-51). None when
    /// the kernel hides them or the layout is not the usual one.
    pub fn of_self() -> Option<TitleArea> {
        let stat = crate::procfs::Stat::read("self")?;
        let field = |n| stat.field(n).and_then(|v| usize::try_from(v).ok());
        let (start, args_end) = (field(48)?, field(49)?);
        let (env_start, env_end) = (field(50)?, field(51)?);
        if start == 0 || args_end <= start {
            return None;
        }
        let end = if env_start == args_end && env_end >= env_start {
            env_end
        } else {
            args_end
        };
        Some(TitleArea {
            start,
            args_end,
            end,
        })
    }

    /// Makes `args` the command line.
    ///
    /// # Safety
    /// Only in a forked child that no longer uses its original argv and
    /// environment strings (`environ` must point elsewhere already).
    pub unsafe fn set(&self, args: &[&CStr]) {
        let arg_len = self.args_end - self.start;
        let len = self.end - self.start;
        // SAFETY: [start, end) is this process's argv and environment
        // strings, writable stack memory that nothing reads any more
        // (the caller's contract).
        let area = std::slice::from_raw_parts_mut(self.start as *mut u8, len);
        let joined: usize = args.iter().map(|a| a.to_bytes().len() + 1).sum();
        if joined <= arg_len {
            // Fits: NUL-separated, as exec would have laid it out.
            let mut at = 0;
            for a in args {
                let b = a.to_bytes_with_nul();
                area[at..at + b.len()].copy_from_slice(b);
                at += b.len();
            }
            area[at..arg_len].fill(0);
        } else {
            // Longer: one space-separated string running on into the
            // environment area (its last argv byte is then not NUL).
            let mut at = 0;
            for (i, a) in args.iter().enumerate() {
                let sep: &[u8] = if i == 0 { b"" } else { b" " };
                for &byte in sep.iter().chain(a.to_bytes()) {
                    if at < len {
                        area[at] = byte;
                        at += 1;
                    }
                }
            }
            if at < len {
                area[at] = 0;
            }
        }
    }
}

/// Sets `comm` (top, `ps -e`, pgrep) to `path`'s last component.
pub fn set_name(path: &CStr) {
    let bytes = path.to_bytes();
    let base = match bytes.iter().rposition(|&b| b == b'/') {
        Some(i) => &bytes[i + 1..],
        None => bytes,
    };
    // The kernel keeps 15 bytes and a NUL.
    let mut name = [0u8; 16];
    let n = base.len().min(15);
    name[..n].copy_from_slice(&base[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes from `name`, which is.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr());
    }
}
