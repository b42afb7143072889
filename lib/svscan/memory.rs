//! Keeping svscan's own memory footprint (PSS) small. svscan spends its
//! life blocked in poll; the code that parsed the command line and started
//! the services stays mapped but is never run again. When svscan goes
//! idle it drops its page-table entries for clean, read-only file mappings
//! (the pages stay in the page cache and fault back in if ever used) and
//! returns free heap to the kernel.

use std::io::{BufRead, BufReader};

pub struct Trimmer {
    /// Clean read-only file mappings, found once: they cannot change
    /// later (nothing in svscan maps files or makes a mapping writable).
    regions: Option<Vec<(usize, usize)>>,
    /// Lowest address of the main thread's stack mapping.
    stack_low: usize,
    /// Something ran since the last trim.
    dirty: bool,
}

impl Default for Trimmer {
    fn default() -> Self {
        // Start-up itself (argument parsing, the first scan) is worth a trim.
        Trimmer {
            regions: None,
            stack_low: 0,
            dirty: true,
        }
    }
}

const PAGE: usize = 4096;

impl Trimmer {
    /// poll(2) on `fds`. When about to block without a timeout after
    /// svscan did some work, trims first.
    pub fn poll(&mut self, fds: &mut [libc::pollfd], timeout_ms: i32) -> std::io::Result<usize> {
        let n = if timeout_ms < 0 && self.dirty {
            self.dirty = false;
            if self.regions.is_none() {
                let (regions, stack_low) = scan_mappings();
                self.regions = Some(regions);
                self.stack_low = stack_low;
            }
            let regions = self.regions.as_deref().unwrap_or(&[]);
            trim_and_block(regions, self.stack_low, fds)
        } else {
            // SAFETY: poll on a valid, exclusively borrowed pollfd slice.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) }
        };
        self.dirty = true;
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

fn dontneed(start: usize, end: usize) {
    if end > start {
        // SAFETY: callers pass page-aligned parts of clean read-only file
        // mappings, or of the stack below the live frames; dropping them
        // loses nothing (file pages fault back in, dead stack was unused).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Drops the clean file pages (except the pages holding this very
/// function, which runs on until poll blocks: re-faulting them would map
/// a whole 64 KiB fault-around window again) and the dead part of the
/// stack, returns free heap, then blocks in poll.
#[inline(never)]
fn trim_and_block(regions: &[(usize, usize)], stack_low: usize, fds: &mut [libc::pollfd]) -> i32 {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let here = trim_and_block as *const () as usize & !(PAGE - 1);
    let (keep_lo, keep_hi) = (here.saturating_sub(PAGE), here + 2 * PAGE);
    for &(start, len) in regions {
        let end = start + len;
        if keep_hi <= start || end <= keep_lo {
            dontneed(start, end);
        } else {
            dontneed(start, keep_lo.max(start));
            dontneed(keep_hi.min(end), end);
        }
    }
    let marker = 0u8;
    let sp = std::ptr::addr_of!(marker) as usize;
    if stack_low != 0 {
        // A margin below the live frames for libc's poll wrapper.
        let dead_top = sp.saturating_sub(4 * 1024) & !(PAGE - 1);
        dontneed(stack_low, dead_top);
    }
    // SAFETY: poll on a valid, exclusively borrowed pollfd slice.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) }
}

/// Clean read-only file mappings `(start, length)` and the stack's lowest
/// address. A mapping with any anonymous (copy-on-write) page is skipped:
/// dropping it would lose data.
fn scan_mappings() -> (Vec<(usize, usize)>, usize) {
    let regions = clean_file_mappings();
    let stack_low = std::fs::read_to_string("/proc/self/maps")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.ends_with("[stack]"))?;
            let (lo, _) = line.split_once('-')?;
            usize::from_str_radix(lo, 16).ok()
        })
        .unwrap_or(0);
    (regions, stack_low)
}

/// Clean read-only file mappings: `(start, length)`. A mapping with any
/// anonymous (copy-on-write) page is skipped: dropping it would lose data.
fn clean_file_mappings() -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let Ok(f) = std::fs::File::open("/proc/self/smaps") else {
        return out;
    };
    let mut current: Option<(usize, usize)> = None;
    let mut eligible = false;
    for line in BufReader::new(f).lines().map_while(Result::ok) {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                if let (Some(r), true) = (current.take(), eligible) {
                    out.push(r);
                }
                let perms = fields.next().unwrap_or("");
                let path = fields.nth(3).unwrap_or("");
                eligible = perms.as_bytes().get(1) == Some(&b'-') && path.starts_with('/');
                current = Some((start, end - start));
                continue;
            }
        }
        if first == "Anonymous:" && fields.next() != Some("0") {
            eligible = false;
        }
    }
    if let (Some(r), true) = (current, eligible) {
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn trimming_keeps_the_process_working() {
        let before: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let mut t = super::Trimmer::default();
        // An already readable pipe: poll returns at once after trimming.
        let (r, w) = nix::unistd::pipe().unwrap();
        nix::unistd::write(&w, b"x").unwrap();
        use std::os::fd::AsRawFd;
        let mut fds = [libc::pollfd {
            fd: r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        assert_eq!(t.poll(&mut fds, -1).unwrap(), 1);
        assert!(!t.regions.as_ref().unwrap().is_empty());
        let after: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(before, after);
    }
}
