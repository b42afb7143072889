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

#[inline(always)]
fn dontneed(start: usize, end: usize) {
    if end > start {
        // SAFETY: callers pass page-aligned runs of unmodified file pages
        // (pagemap says so), or of the stack below the live frames;
        // dropping them loses nothing (file pages fault back in from the
        // page cache, dead stack was unused).
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Drops `[start, end)` except the `keep` range.
#[inline(always)]
fn dontneed_except(start: usize, end: usize, keep: (usize, usize)) {
    if keep.1 <= start || end <= keep.0 {
        dontneed(start, end);
    } else {
        dontneed(start, keep.0.max(start));
        dontneed(keep.1.min(end), end);
    }
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
    trim_heap();
    // The function is well under 2 KiB of code (about 800 bytes).
    let here = trim_and_block as *const () as usize;
    let keep = (here & !(PAGE - 1), (here + 2048 + PAGE - 1) & !(PAGE - 1));
    // SAFETY: open(2) of a NUL-terminated path.
    let pagemap = unsafe {
        libc::open(
            c"/proc/self/pagemap".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if pagemap >= 0 {
        let mut entries = [0u64; 16];
        for &(start, end) in regions {
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
                        dontneed_except(run_start, page, keep);
                        run_start = 0;
                    }
                    page += PAGE;
                }
            }
            if run_start != 0 {
                dontneed_except(run_start, page, keep);
            }
        }
        // SAFETY: closing the fd opened above.
        unsafe { libc::close(pagemap) };
    }
    // Only on the main thread's stack (not a test's thread).
    let sp = stack_pointer();
    if stack.0 < sp && sp < stack.1 {
        // Everything below the stack pointer is dead; a margin for the
        // calls still to come (madvise, libc's poll wrapper).
        let dead_top = sp.saturating_sub(256) & !(PAGE - 1);
        dontneed(stack.0, dead_top);
    }
    // SAFETY: poll on a valid, exclusively borrowed pollfd slice.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) }
}

/// svscan's heap (`#[global_allocator]` in bins/svscan.rs).
///
/// glibc's malloc keeps up to seven freed chunks of each small size in a
/// per-thread cache that `malloc_trim` leaves alone; the chunks freed
/// while svscan started (argument and environment handling, directory
/// lists, the boot sequence) stayed scattered over its heap and kept
/// every page of it resident. This allocator is the classic first fit
/// over an address-ordered free list that merges neighbours on free: no
/// per-block header (Rust passes the size back on free), 16-byte units,
/// and at idle the pages inside free blocks and above the top are given
/// back (`trim`). Blocks come from one reserved mapping, touched only as
/// used; blocks with a larger alignment, or once the mapping is full, go
/// to malloc.
pub struct Heap;

const UNIT: usize = 16;
/// Address space reserved for the heap (not memory: pages count once
/// touched). A thousand services use well under a MiB.
const HEAP_RESERVE: usize = 256 << 20;

/// A free block: its first 16 bytes.
#[repr(C)]
struct FreeBlock {
    next: *mut FreeBlock,
    size: usize,
}

struct HeapState {
    /// The reserved mapping; `base == 0`: not yet mapped; `usize::MAX`:
    /// mapping failed, everything goes to malloc.
    base: usize,
    end: usize,
    /// Everything at and above `top` is unused.
    top: usize,
    /// Highest `top` since the last trim (pages up to it may be resident).
    high: usize,
    /// Free blocks below `top`, by address.
    free: *mut FreeBlock,
}

struct HeapCell {
    lock: std::sync::atomic::AtomicBool,
    state: std::cell::UnsafeCell<HeapState>,
}

// SAFETY: `state` is only accessed with `lock` held (see `with_heap`).
unsafe impl Sync for HeapCell {}

static HEAP: HeapCell = HeapCell {
    lock: std::sync::atomic::AtomicBool::new(false),
    state: std::cell::UnsafeCell::new(HeapState {
        base: 0,
        end: 0,
        top: 0,
        high: 0,
        free: std::ptr::null_mut(),
    }),
};

fn with_heap<R>(f: impl FnOnce(&mut HeapState) -> R) -> R {
    use std::sync::atomic::Ordering;
    while HEAP
        .lock
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
    // SAFETY: the lock gives exclusive access to the state.
    let r = f(unsafe { &mut *HEAP.state.get() });
    HEAP.lock.store(false, Ordering::Release);
    r
}

fn units(size: usize) -> usize {
    (size.max(1) + UNIT - 1) & !(UNIT - 1)
}

impl HeapState {
    fn owns(&self, p: usize) -> bool {
        self.base != usize::MAX && self.base <= p && p < self.end
    }

    fn ensure_mapped(&mut self) -> bool {
        if self.base == 0 {
            // SAFETY: a fresh private anonymous mapping; nothing else
            // refers to it.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    HEAP_RESERVE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                self.base = usize::MAX;
            } else {
                // Small pages only: a transparent huge page would make a
                // few KiB of heap 2 MiB resident.
                // SAFETY: advice on the mapping just made.
                unsafe { libc::madvise(p, HEAP_RESERVE, libc::MADV_NOHUGEPAGE) };
                self.base = p as usize;
                self.end = self.base + HEAP_RESERVE;
                self.top = self.base;
                self.high = self.base;
            }
        }
        self.base != usize::MAX
    }

    /// First fit; `None` when the mapping is full (or unavailable).
    ///
    /// # Safety
    /// The free list must be well formed (it is, if only `alloc`/`free`
    /// touch it).
    unsafe fn alloc(&mut self, n: usize) -> Option<usize> {
        if !self.ensure_mapped() {
            return None;
        }
        let mut link: *mut *mut FreeBlock = &mut self.free;
        while !(*link).is_null() {
            let b = *link;
            if (*b).size >= n {
                if (*b).size == n {
                    *link = (*b).next;
                } else {
                    let rest = (b as usize + n) as *mut FreeBlock;
                    rest.write(FreeBlock {
                        next: (*b).next,
                        size: (*b).size - n,
                    });
                    *link = rest;
                }
                return Some(b as usize);
            }
            link = &mut (*b).next;
        }
        if self.end - self.top < n {
            return None;
        }
        let p = self.top;
        self.top += n;
        self.high = self.high.max(self.top);
        Some(p)
    }

    /// Returns `n` bytes at `p` (a block or the tail of one).
    ///
    /// # Safety
    /// `[p, p + n)` was allocated here and is no longer used.
    unsafe fn free(&mut self, p: usize, n: usize) {
        let mut prev: *mut FreeBlock = std::ptr::null_mut();
        let mut next = self.free;
        while !next.is_null() && (next as usize) < p {
            prev = next;
            next = (*next).next;
        }
        let (mut start, mut size) = (p, n);
        if !next.is_null() && p + n == next as usize {
            size += (*next).size;
            next = (*next).next;
        }
        if !prev.is_null() && prev as usize + (*prev).size == p {
            start = prev as usize;
            size += (*prev).size;
        }
        if start + size == self.top {
            // The block ends at the top: the top comes down instead.
            self.top = start;
            if start == prev as usize {
                // `prev` was merged in: drop it from the list.
                let mut link: *mut *mut FreeBlock = &mut self.free;
                while *link != prev {
                    link = &mut (**link).next;
                }
                *link = next;
            } else if prev.is_null() {
                self.free = next;
            } else {
                (*prev).next = next;
            }
            return;
        }
        let block = start as *mut FreeBlock;
        block.write(FreeBlock { next, size });
        if start != prev as usize {
            if prev.is_null() {
                self.free = block;
            } else {
                (*prev).next = block;
            }
        }
    }

    /// Grows the block at `p` from `n` to `m` bytes in place if the top or
    /// a free block follows it.
    ///
    /// # Safety
    /// `[p, p + n)` is an allocated block.
    unsafe fn grow_in_place(&mut self, p: usize, n: usize, m: usize) -> bool {
        let more = m - n;
        if p + n == self.top {
            if self.end - self.top < more {
                return false;
            }
            self.top += more;
            self.high = self.high.max(self.top);
            return true;
        }
        let mut link: *mut *mut FreeBlock = &mut self.free;
        while !(*link).is_null() && (*link as usize) < p + n {
            link = &mut (**link).next;
        }
        let b = *link;
        if b.is_null() || b as usize != p + n || (*b).size < more {
            return false;
        }
        if (*b).size == more {
            *link = (*b).next;
        } else {
            let rest = (b as usize + more) as *mut FreeBlock;
            rest.write(FreeBlock {
                next: (*b).next,
                size: (*b).size - more,
            });
            *link = rest;
        }
        true
    }

    /// Gives back the pages inside free blocks (past each block's first
    /// 16 bytes, which hold the list) and above the top.
    ///
    /// # Safety
    /// The free list must be well formed.
    unsafe fn trim(&mut self) {
        if self.base == 0 || self.base == usize::MAX {
            return;
        }
        let mut b = self.free;
        while !b.is_null() {
            let start = (b as usize + UNIT + PAGE - 1) & !(PAGE - 1);
            let end = (b as usize + (*b).size) & !(PAGE - 1);
            dontneed(start, end);
            b = (*b).next;
        }
        let top = (self.top + PAGE - 1) & !(PAGE - 1);
        dontneed(top, self.high);
        self.high = top;
    }
}

/// Gives back svscan's free heap pages (a no-op unless `Heap` is the
/// global allocator).
pub fn trim_heap() {
    // SAFETY: the list is only changed by the functions above.
    with_heap(|h| unsafe { h.trim() });
}

// SAFETY: blocks are handed out once until freed: the free list and the
// top never overlap allocated blocks (first fit splits a free block, the
// top only moves over unused memory); all blocks are 16-byte aligned.
unsafe impl std::alloc::GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= UNIT {
            if let Some(p) = with_heap(|h| h.alloc(units(layout.size()))) {
                return p as *mut u8;
            }
            return libc::malloc(layout.size().max(1)) as *mut u8;
        }
        let mut p = std::ptr::null_mut();
        if libc::posix_memalign(&mut p, layout.align(), layout.size().max(1)) != 0 {
            return std::ptr::null_mut();
        }
        p as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        let p = ptr as usize;
        let ours = with_heap(|h| {
            let ours = h.owns(p);
            if ours {
                h.free(p, units(layout.size()));
            }
            ours
        });
        if !ours {
            libc::free(ptr.cast());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let p = ptr as usize;
        let (n, m) = (units(layout.size()), units(new_size));
        let in_place = with_heap(|h| {
            if !h.owns(p) {
                return None;
            }
            if m <= n {
                if m < n {
                    h.free(p + m, n - m);
                }
                return Some(true);
            }
            Some(h.grow_in_place(p, n, m))
        });
        match in_place {
            Some(true) => ptr,
            None if layout.align() <= UNIT => libc::realloc(ptr.cast(), new_size.max(1)) as *mut u8,
            _ => {
                let new_layout =
                    std::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
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
    fn heap_blocks_keep_their_contents() {
        use std::alloc::{GlobalAlloc, Layout};
        let heap = super::Heap;
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let mut seed = 12345u64;
        let mut rand = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let check = |p: *mut u8, l: Layout, v: u8| {
            // SAFETY: p is a live block of l.size() bytes.
            let s = unsafe { std::slice::from_raw_parts(p, l.size()) };
            assert!(s.iter().all(|&b| b == v));
        };
        for round in 0..20_000u32 {
            let v = (round % 251) as u8;
            match rand(4) {
                0 | 1 => {
                    let align = [1, 8, 16, 64][rand(4) as usize];
                    let big = rand(10) == 0;
                    let size = 1 + rand(if big { 20_000 } else { 300 }) as usize;
                    let l = Layout::from_size_align(size, align).unwrap();
                    // SAFETY: non-zero size.
                    let p = unsafe { heap.alloc(l) };
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0);
                    // SAFETY: fresh block of l.size() bytes.
                    unsafe { p.write_bytes(v, size) };
                    live.push((p, l, v));
                }
                2 if !live.is_empty() => {
                    let (p, l, old) = live.swap_remove(rand(live.len() as u64) as usize);
                    check(p, l, old);
                    // SAFETY: allocated above with l.
                    unsafe { heap.dealloc(p, l) };
                }
                3 if !live.is_empty() => {
                    let i = rand(live.len() as u64) as usize;
                    let (p, l, old) = live[i];
                    let new = 1 + rand(600) as usize;
                    // SAFETY: allocated above with l; non-zero new size.
                    let q = unsafe { heap.realloc(p, l, new) };
                    assert!(!q.is_null());
                    let l2 = Layout::from_size_align(new, l.align()).unwrap();
                    check(
                        q,
                        Layout::from_size_align(new.min(l.size()), 1).unwrap(),
                        old,
                    );
                    // SAFETY: q is a block of `new` bytes.
                    unsafe { q.write_bytes(v, new) };
                    live[i] = (q, l2, v);
                }
                _ => {}
            }
            if round % 1000 == 0 {
                super::trim_heap();
            }
        }
        for (p, l, v) in live {
            check(p, l, v);
            // SAFETY: allocated above with l.
            unsafe { heap.dealloc(p, l) };
        }
        super::trim_heap();
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
