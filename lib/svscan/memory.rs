//! Keeping svscan's own memory footprint (PSS) small. svscan spends its
//! life blocked in poll; the code that parsed the command line and started
//! the services stays mapped but is never run again. When svscan goes
//! idle it drops its page-table entries for the unmodified pages of its
//! file mappings (they stay in the page cache and fault back in if ever
//! used) and for the dead part of its stack, and returns free heap to the
//! kernel. None of this allocates: the heap it trims is left alone.

/// File mappings remembered (svscan, libc and ld.so make 13; a static
/// svscan 3). Any beyond are just not trimmed.
const MAX_REGIONS: usize = 16;
/// Runs of droppable pages handled per trim.
const MAX_RUNS: usize = 64;

pub struct Trimmer {
    /// Private file mappings `(start, end)`, found once: nothing in
    /// svscan maps files later. On the heap: the trimmer lives in a frame
    /// that stays on the stack while svscan idles.
    regions: Box<[(usize, usize)]>,
    /// The main thread's stack mapping (`(0, 0)`: unknown).
    stack: (usize, usize),
    scanned: bool,
    /// Something ran since the last trim.
    dirty: bool,
}

impl Default for Trimmer {
    fn default() -> Self {
        // Start-up itself (argument parsing, the first scan) is worth a trim.
        Trimmer {
            regions: Box::new([]),
            stack: (0, 0),
            scanned: false,
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
            if !self.scanned {
                self.scanned = true;
                self.scan_maps();
            }
            trim_and_block(&self.regions, self.stack, fds)
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

    /// Reads /proc/self/maps (into a buffer on the stack, which is dead
    /// and dropped by the time svscan blocks).
    #[inline(never)]
    fn scan_maps(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let len = read_file(c"/proc/self/maps", &mut buf);
        let mut regions = [(0, 0); MAX_REGIONS];
        let mut count = 0;
        for line in buf[..len].split(|&b| b == b'\n') {
            let Some((start, end, private, path)) = parse_maps_line(line) else {
                continue;
            };
            if path == b"[stack]" {
                self.stack = (start, end);
            } else if private && path.first() == Some(&b'/') && count < MAX_REGIONS {
                regions[count] = (start, end);
                count += 1;
            }
        }
        self.regions = regions[..count].into();
    }
}

/// Reads as much of the file as fits into `buf`; returns the length.
fn read_file(path: &std::ffi::CStr, buf: &mut [u8]) -> usize {
    // SAFETY: open/read/close on a NUL-terminated path and a buffer we
    // exclusively borrow, reading at most its length.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return 0;
        }
        let mut len = 0;
        while len < buf.len() {
            let n = libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len);
            if n <= 0 {
                break;
            }
            len += n as usize;
        }
        libc::close(fd);
        len
    }
}

/// `start-end perms offset dev inode path` -> (start, end, private, path).
fn parse_maps_line(line: &[u8]) -> Option<(usize, usize, bool, &[u8])> {
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let range = fields.next()?;
    let perms = fields.next()?;
    let path = fields.nth(3).unwrap_or(b"");
    let dash = range.iter().position(|&b| b == b'-')?;
    let hex = |s: &[u8]| usize::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok();
    let start = hex(&range[..dash])?;
    let end = hex(&range[dash + 1..])?;
    Some((start, end, perms.get(3) == Some(&b'p'), path))
}

/// Drops `[start, end)` through the raw system call: once pages are being
/// dropped, the only code svscan may still run is `trim_and_block` itself
/// and libc's `syscall` (both kept). Calling anything else (libc's
/// `madvise` or `poll` wrappers live in svscan's own text in the static
/// build) would fault its page back in, and the kernel maps the whole
/// 64 KiB window around a faulting file page.
#[inline(always)]
fn dontneed(start: usize, end: usize) {
    if end > start {
        // SAFETY: callers pass page-aligned runs of unmodified file pages
        // (pagemap says so), or of the stack below the live frames;
        // dropping them loses nothing (file pages fault back in from the
        // page cache, dead stack was unused).
        unsafe {
            libc::syscall(libc::SYS_madvise, start, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Drops `[start, end)` except the page ranges in `keep`.
#[inline(always)]
fn dontneed_except(start: usize, end: usize, keep: &[(usize, usize)]) {
    let mut from = start;
    // `keep` is sorted by address and its ranges do not overlap.
    for &(lo, hi) in keep {
        if hi <= from || end <= lo {
            continue;
        }
        dontneed(from, lo.max(from));
        from = hi.min(end);
    }
    dontneed(from, end);
}

/// The pages holding the code at `addr` (`len` bytes from it).
fn pages_of(addr: usize, len: usize) -> (usize, usize) {
    (addr & !(PAGE - 1), (addr + len + PAGE - 1) & !(PAGE - 1))
}

/// The stack pointer of the calling function (0: unknown, then the
/// stack is not trimmed). Not the address of a local: that can lie well
/// above the bottom of the frame, whose lower part is still in use.
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads the stack pointer register, nothing else.
    unsafe {
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads the stack pointer register, nothing else.
    unsafe {
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        sp = 0;
    }
    sp
}

/// pagemap(5): page present, and a file page (not a private copy).
const PM_PRESENT: u64 = 1 << 63;
const PM_FILE: u64 = 1 << 61;

/// Drops the unmodified file pages (except the pages holding this very
/// function, which runs on until poll blocks: re-faulting them would map
/// a whole 64 KiB fault-around window again) and the dead part of the
/// stack, returns free heap, then blocks in poll.
///
/// A page of a private file mapping is either the page-cache page itself
/// (never written: dropping it loses nothing) or svscan's own copy
/// (relocated data, written variables: never dropped). pagemap tells
/// which, page by page, so a mapping like the relocated read-only data,
/// whose GOT pages are copies, still gives back its clean pages.
#[inline(never)]
fn trim_and_block(
    regions: &[(usize, usize)],
    stack: (usize, usize),
    fds: &mut [libc::pollfd],
) -> i32 {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    // First find the runs of unmodified file pages (this reads pagemap
    // through libc), then drop them with nothing but raw system calls.
    let mut runs = [(0usize, 0usize); MAX_RUNS];
    let count = clean_runs(regions, &mut runs);
    // trim_and_block is well under 2 KiB of code (about 1 KiB); libc's
    // syscall() a few dozen bytes.
    let mut keep = [
        pages_of(trim_and_block as *const () as usize, 2048),
        pages_of(libc::syscall as *const () as usize, 256),
    ];
    keep.sort_unstable();
    if keep[0].1 > keep[1].0 {
        keep[0].1 = keep[0].1.max(keep[1].1);
        keep[1] = keep[0];
    }
    for &(start, end) in &runs[..count] {
        dontneed_except(start, end, &keep);
    }
    // Only on the main thread's stack (not a test's thread).
    let sp = stack_pointer();
    if stack.0 < sp && sp < stack.1 {
        // Everything below the stack pointer is dead; a margin for the
        // calls still to come (libc's syscall wrapper).
        let dead_top = sp.saturating_sub(256) & !(PAGE - 1);
        dontneed(stack.0, dead_top);
    }
    // ppoll with no timeout and no mask is poll(fds, n, -1), on every
    // architecture, through the kept syscall().
    // SAFETY: ppoll on a valid, exclusively borrowed pollfd slice; null
    // timeout and signal mask pointers are allowed.
    unsafe {
        libc::syscall(
            libc::SYS_ppoll,
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<libc::sigset_t>(),
            8usize, // the kernel's sigset size (unused without a mask)
        ) as i32
    }
}

/// Up to `MAX_RUNS` runs of unmodified file pages in `regions`, from
/// /proc/self/pagemap, into `runs`; returns how many. Pages beyond are
/// simply not dropped.
fn clean_runs(regions: &[(usize, usize)], runs: &mut [(usize, usize); MAX_RUNS]) -> usize {
    let mut count = 0;
    // SAFETY: open(2) of a NUL-terminated path.
    let pagemap = unsafe {
        libc::open(
            c"/proc/self/pagemap".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if pagemap < 0 {
        return 0;
    }
    let mut entries = [0u64; 16];
    'regions: for &(start, end) in regions {
        let mut run_start = 0;
        let mut page = start;
        while page < end {
            let want = ((end - page) / PAGE).min(entries.len());
            // SAFETY: pread into a local buffer, at most its size.
            let got = unsafe {
                libc::pread(
                    pagemap,
                    entries.as_mut_ptr().cast(),
                    want * 8,
                    ((page / PAGE) * 8) as libc::off_t,
                )
            };
            if got <= 0 {
                break;
            }
            for &e in &entries[..got as usize / 8] {
                let clean = e & (PM_PRESENT | PM_FILE) == PM_PRESENT | PM_FILE;
                if clean {
                    if run_start == 0 {
                        run_start = page;
                    }
                } else if run_start != 0 {
                    runs[count] = (run_start, page);
                    count += 1;
                    run_start = 0;
                    if count == MAX_RUNS {
                        break 'regions;
                    }
                }
                page += PAGE;
            }
        }
        if run_start != 0 {
            runs[count] = (run_start, page);
            count += 1;
            if count == MAX_RUNS {
                break;
            }
        }
    }
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(pagemap) };
    count
}

#[cfg(test)]
mod tests {
    #[test]
    fn maps_lines() {
        let l = b"00224000-002e7000 r-xp 00023000 fe:00 5333672    /usr/bin/svscan";
        assert_eq!(
            super::parse_maps_line(l),
            Some((0x224000, 0x2e7000, true, &b"/usr/bin/svscan"[..]))
        );
        let l = b"7ffca7c15000-7ffca7c36000 rw-p 00000000 00:00 0       [stack]";
        assert_eq!(
            super::parse_maps_line(l),
            Some((0x7ffca7c15000, 0x7ffca7c36000, true, &b"[stack]"[..]))
        );
        let l = b"7f30bb9a0000-7f30bb9a2000 rw-s 00000000 00:00 0";
        assert_eq!(
            super::parse_maps_line(l),
            Some((0x7f30bb9a0000, 0x7f30bb9a2000, false, &b""[..]))
        );
    }

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
        assert!(!t.regions.is_empty());
        assert!(t.stack.0 != 0);
        let after: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(before, after);
        // Again, now that the pages were dropped once.
        assert_eq!(t.poll(&mut fds, -1).unwrap(), 1);
    }
}
