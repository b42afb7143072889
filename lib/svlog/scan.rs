//! Byte searches on the hot path. glibc's `memchr`/`memrchr` are vectorised
//! and already linked in, so svlog gets SIMD newline scanning without an
//! extra crate.

/// Index of the first `byte` in `hay`.
#[inline]
pub fn find(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: the pointer and length describe the live slice `hay`; memchr
    // reads at most `hay.len()` bytes and returns null or a pointer into it.
    let p = unsafe { libc::memchr(hay.as_ptr().cast(), byte as i32, hay.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - hay.as_ptr() as usize)
    }
}

/// Index of the last `byte` in `hay`.
#[inline]
pub fn rfind(byte: u8, hay: &[u8]) -> Option<usize> {
    if hay.is_empty() {
        return None;
    }
    // SAFETY: as in `find`; memrchr scans the same bounded range backwards.
    let p = unsafe { libc::memrchr(hay.as_ptr().cast(), byte as i32, hay.len()) };
    if p.is_null() {
        None
    } else {
        Some(p as usize - hay.as_ptr() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_and_last() {
        assert_eq!(find(b'\n', b"ab\ncd\n"), Some(2));
        assert_eq!(rfind(b'\n', b"ab\ncd\n"), Some(5));
        assert_eq!(find(b'\n', b"abc"), None);
        assert_eq!(rfind(b'\n', b""), None);
    }
}
