//! The environment prog will get: chpst's own environment with the edits
//! from `-e`, `-U` and `-h` applied. Edits are collected first and applied
//! once at exec, so program lookup still sees chpst's original `PATH`.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EnvEdits {
    /// (name, Some(value) = set, None = remove); a later edit of the same
    /// name wins.
    edits: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl EnvEdits {
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        self.edits.push((name.to_vec(), Some(value.to_vec())));
    }

    pub fn unset(&mut self, name: &[u8]) {
        self.edits.push((name.to_vec(), None));
    }

    /// `NAME=value` strings for execve: untouched variables in their
    /// original order, then the set ones in the order first edited.
    pub fn build(&self, original: impl Iterator<Item = (OsString, OsString)>) -> Vec<CString> {
        let edited = |name: &[u8]| self.edits.iter().any(|(n, _)| n == name);
        let mut out: Vec<Vec<u8>> = original
            .map(|(k, v)| (k.into_vec(), v.into_vec()))
            .filter(|(k, _)| !edited(k))
            .map(|(mut k, v)| {
                k.push(b'=');
                k.extend(v);
                k
            })
            .collect();
        let mut done: Vec<&[u8]> = Vec::new();
        for (name, _) in &self.edits {
            if done.contains(&name.as_slice()) {
                continue;
            }
            done.push(name);
            let last = self.edits.iter().rev().find(|(n, _)| n == name);
            if let Some((_, Some(value))) = last {
                let mut entry = name.clone();
                entry.push(b'=');
                entry.extend_from_slice(value);
                out.push(entry);
            }
        }
        // Names come from file names and values had NUL turned into
        // newline, so no entry holds a NUL; skip defensively if one does.
        out.into_iter()
            .filter_map(|e| CString::new(e).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_edits_win_and_removed_names_vanish() {
        let mut e = EnvEdits::default();
        e.set(b"A", b"1");
        e.unset(b"HOME");
        e.set(b"A", b"2");
        e.set(b"B", b"");
        let original = vec![
            ("HOME".into(), "/root".into()),
            ("PATH".into(), "/bin".into()),
            ("A".into(), "0".into()),
        ];
        let env: Vec<String> = e
            .build(original.into_iter())
            .into_iter()
            .map(|c| c.into_string().unwrap())
            .collect();
        assert_eq!(env, vec!["PATH=/bin", "A=2", "B="]);
    }
}
