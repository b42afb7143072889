//! svlogd's line patterns (`+`, `-`, `e`, `E` config lines), with runit's
//! matching rules so that existing configs select the same lines:
//!
//! - an ordinary byte matches itself; the pattern is anchored at both ends;
//! - `*c` skips the shortest run of bytes up to the next `c` (no
//!   backtracking), a trailing `*` matches the rest of the line;
//! - `+c` matches one or more `c`; when the line ends inside such a run the
//!   pattern matches even if pattern bytes remain (runit does the same).

/// Does `pat` match `line` (already cut to the match length)?
pub fn matches(pat: &[u8], line: &[u8]) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    loop {
        let Some(&c) = pat.get(p) else {
            return s == line.len();
        };
        p += 1;
        match c {
            b'*' => {
                let Some(&stop) = pat.get(p) else {
                    return true;
                };
                loop {
                    match line.get(s) {
                        None => return false,
                        Some(&b) if b == stop => break,
                        Some(_) => s += 1,
                    }
                }
            }
            b'+' => {
                let Some(&rep) = pat.get(p) else {
                    return false;
                };
                p += 1;
                if line.get(s) != Some(&rep) {
                    return false;
                }
                loop {
                    match line.get(s) {
                        None => return true,
                        Some(&b) if b == rep => s += 1,
                        Some(_) => break,
                    }
                }
            }
            _ => {
                if line.get(s) != Some(&c) {
                    return false;
                }
                s += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_is_anchored() {
        assert!(matches(b"abc", b"abc"));
        assert!(!matches(b"abc", b"abcd"));
        assert!(!matches(b"abc", b"ab"));
        assert!(matches(b"", b""));
    }

    #[test]
    fn star_is_shortest_without_backtracking() {
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"a*c", b"abbbc"));
        assert!(matches(b"*ERR*", b"x ERR y"));
        // the man page example: the first `d` after `pi` ends the run
        assert!(!matches(b"*pid*", b"tcpsvd: info: pid 1977 from 10.4.1.14"));
        assert!(!matches(b"a*c", b"abcx"));
    }

    #[test]
    fn plus_matches_runs() {
        assert!(matches(b"a+bc", b"abbbc"));
        assert!(!matches(b"a+bc", b"ac"));
        assert!(matches(b"a+b", b"abbb"));
        // runit quirk kept: the line ending inside the run is a match
        assert!(matches(b"a+bcd", b"abb"));
    }
}
