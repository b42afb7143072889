//! `[include] files =` patterns, matched as Python's `glob.glob` does
//! (supervisord passes each pattern, joined to the main file's directory,
//! to it): the pattern is split at `/` and each component is matched
//! against directory entries with `fnmatch` rules:
//!
//! - `*` any run of characters, `?` one character, `[abc]`, `[a-z]` one
//!   of a set, `[!abc]` one not in it (`]` first in a set is literal, a
//!   `[` without its `]` is literal);
//! - a wildcard never matches a leading `.` (hidden names need a pattern
//!   that starts with `.`);
//! - a component without wildcards must simply exist.
//!
//! Results are sorted by name (supervisord reads them in `sorted()` order).

use std::path::{Path, PathBuf};

/// Does `name` match the fnmatch `pattern` (one path component)?
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_at(&p, &n)
}

fn matches_at(p: &[char], n: &[char]) -> bool {
    // Iterative matching with one backtrack point for the last `*`.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((hit, len)) = class(&p[pi..], n[ni]) {
                        if hit {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the set starting at `p[0] == '['`. Returns whether
/// it matched and the set's length, or `None` if there is no closing `]`
/// (then the `[` is an ordinary character).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut hit = false;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && i > start {
            return Some((hit != negate, i + 1));
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let hi = p[i + 2];
            if ch <= c && c <= hi {
                hit = true;
            }
            i += 3;
        } else {
            if ch == c {
                hit = true;
            }
            i += 1;
        }
    }
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// `sorted(glob.glob(pattern))` for an absolute or relative pattern.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    let (mut found, rest): (Vec<PathBuf>, &str) = match pattern.strip_prefix('/') {
        Some(r) => (vec![PathBuf::from("/")], r),
        None => (vec![PathBuf::new()], pattern),
    };
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    for (k, part) in parts.iter().enumerate() {
        let last = k + 1 == parts.len();
        let mut next = Vec::new();
        for base in &found {
            if !has_magic(part) {
                let p = base.join(part);
                let ok = if last {
                    p.symlink_metadata().is_ok()
                } else {
                    p.is_dir()
                };
                if ok {
                    next.push(p);
                }
                continue;
            }
            let dir: &Path = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            };
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.') || part.starts_with('.'))
                .filter(|n| fnmatch(part, n))
                .collect();
            names.sort();
            for n in names {
                let p = base.join(&n);
                if last || p.is_dir() {
                    next.push(p);
                }
            }
        }
        found = next;
    }
    if parts.is_empty() {
        return Vec::new();
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_rules() {
        assert!(fnmatch("*.conf", "web.conf"));
        assert!(fnmatch("*.conf", ".conf"));
        assert!(!fnmatch("*.conf", "web.conf.bak"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("a*b*c", "aXXbYYc"));
        assert!(!fnmatch("a*b*c", "aXXbYY"));
        assert!(fnmatch("?.ini", "a.ini"));
        assert!(!fnmatch("?.ini", "ab.ini"));
        assert!(fnmatch("[abc].x", "b.x"));
        assert!(!fnmatch("[abc].x", "d.x"));
        assert!(fnmatch("[a-c]1", "c1"));
        assert!(fnmatch("[!a-c]1", "d1"));
        assert!(!fnmatch("[!a-c]1", "a1"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("[a-]", "-"));
        assert!(fnmatch("[x", "[x"), "unclosed set is literal");
        assert!(fnmatch("*[0-9]", "prog9"));
        assert!(fnmatch("**", "anything"));
        assert!(fnmatch("é*", "été"));
    }

    #[test]
    fn glob_walks_directories_sorted_and_skips_hidden() {
        let base = std::env::temp_dir().join(format!("svimport-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        for f in [
            "conf.d/b.conf",
            "conf.d/a.conf",
            "conf.d/.hidden.conf",
            "other/c.conf",
        ] {
            let p = base.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
        }
        let b = base.display();
        let got = glob(&format!("{b}/conf.d/*.conf"));
        assert_eq!(
            got,
            vec![base.join("conf.d/a.conf"), base.join("conf.d/b.conf")]
        );
        let got = glob(&format!("{b}/*/*.conf"));
        assert_eq!(got.len(), 3);
        assert_eq!(glob(&format!("{b}/conf.d/.h*")).len(), 1);
        assert_eq!(glob(&format!("{b}/other/c.conf")).len(), 1);
        assert!(glob(&format!("{b}/nope/*.conf")).is_empty());
        let _ = std::fs::remove_dir_all(&base);
    }
}
