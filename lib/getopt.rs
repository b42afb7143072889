//! The one command-line scanner of the runit-compatible parsers (chpst,
//! svctl, svlog), with the semantics of djb's `sgetopt`/runit's `getopt`:
//! single-letter options that may be clustered (`-vP012`), an option
//! argument either attached (`-ufoo`) or in the next word (`-u foo`), `--`
//! ends the options, and scanning stops at the first word that is not an
//! option (so `prog`'s own flags are never touched). A lone `-` is not an
//! option.
//!
//! Long words (`--help`, `--json`) are none of getopt's business, but
//! svctl and svlog take a few: [`Getopt::take_long`] hands the caller such
//! a word before it would be scanned as letters. Each parser keeps its own
//! messages; [`Complaint`]'s `Display` is runit's.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// One option found on the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Opt {
    Flag(u8),
    Arg(u8, OsString),
}

/// Why scanning stopped with an error; the text is what runit prints
/// before its usage line (`illegal option -- x`).
#[derive(Debug, PartialEq, Eq)]
pub enum Complaint {
    Illegal(u8),
    MissingArgument(u8),
}

impl std::fmt::Display for Complaint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Complaint::Illegal(c) => write!(f, "illegal option -- {}", *c as char),
            Complaint::MissingArgument(c) => {
                write!(f, "option requires an argument -- {}", *c as char)
            }
        }
    }
}

/// Scanner over the words of a command line. `spec` lists the option
/// letters; a letter followed by `:` takes an argument (the getopt(3)
/// convention).
pub struct Getopt<'a> {
    args: &'a [OsString],
    spec: &'static [u8],
    index: usize,
    offset: usize,
    done: bool,
}

impl<'a> Getopt<'a> {
    /// Scans `argv[1..]` (`argv[0]` is the program name).
    pub fn new(argv: &'a [OsString], spec: &'static str) -> Self {
        Self::from(argv, 1, spec)
    }

    /// Scans `args[first..]`.
    pub fn from(args: &'a [OsString], first: usize, spec: &'static str) -> Self {
        Getopt {
            args,
            spec: spec.as_bytes(),
            index: first,
            offset: 0,
            done: false,
        }
    }

    /// If the next word is a long one (`--x...`, not `--` itself) and no
    /// cluster is half scanned, consumes and returns it.
    pub fn take_long(&mut self) -> Option<&'a OsStr> {
        if self.done || self.offset != 0 {
            return None;
        }
        let word = self.args.get(self.index)?;
        let b = word.as_bytes();
        (b.len() > 2 && b.starts_with(b"--")).then(|| {
            self.index += 1;
            word.as_os_str()
        })
    }

    /// Ends the options here: [`Getopt::rest`] starts at the next word
    /// not yet scanned (after a long word the caller took as an end).
    pub fn finish(&mut self) {
        if self.offset != 0 {
            self.index += 1;
            self.offset = 0;
        }
        self.done = true;
    }

    /// The words after the options (valid once `next` returned `None`).
    pub fn rest(&self) -> &'a [OsString] {
        &self.args[self.index.min(self.args.len())..]
    }

    /// `Some(true)` if `letter` takes an argument, `None` if unknown.
    fn lookup(&self, letter: u8) -> Option<bool> {
        if letter == b':' {
            return None;
        }
        let at = self.spec.iter().position(|&c| c == letter)?;
        Some(self.spec.get(at + 1) == Some(&b':'))
    }
}

impl Iterator for Getopt<'_> {
    type Item = Result<Opt, Complaint>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.offset == 0 {
            let word = self.args.get(self.index).map(|w| w.as_bytes());
            match word {
                Some(b"--") => {
                    self.index += 1;
                    self.done = true;
                    return None;
                }
                Some(w) if w.len() > 1 && w[0] == b'-' => self.offset = 1,
                _ => {
                    self.done = true;
                    return None;
                }
            }
        }
        let word = self.args[self.index].as_bytes();
        let letter = word[self.offset];
        self.offset += 1;
        let at_end = self.offset == word.len();
        let takes_arg = match self.lookup(letter) {
            Some(t) => t,
            None => {
                self.done = true;
                return Some(Err(Complaint::Illegal(letter)));
            }
        };
        if !takes_arg {
            if at_end {
                self.index += 1;
                self.offset = 0;
            }
            return Some(Ok(Opt::Flag(letter)));
        }
        let value = if !at_end {
            let v = OsStr::from_bytes(&word[self.offset..]).to_owned();
            self.index += 1;
            v
        } else if let Some(v) = self.args.get(self.index + 1) {
            self.index += 2;
            v.clone()
        } else {
            self.done = true;
            return Some(Err(Complaint::MissingArgument(letter)));
        };
        self.offset = 0;
        Some(Ok(Opt::Arg(letter, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    fn scan(args: &[OsString]) -> (Vec<Result<Opt, Complaint>>, Vec<OsString>) {
        let mut g = Getopt::new(args, "u:vP0/:");
        let opts: Vec<_> = g.by_ref().collect();
        (opts, g.rest().to_vec())
    }

    #[test]
    fn clustered_attached_and_separate_arguments() {
        let a = words(&["chpst", "-vP0ufoo", "-/", "/r", "prog", "-v"]);
        let (opts, rest) = scan(&a);
        assert_eq!(
            opts,
            vec![
                Ok(Opt::Flag(b'v')),
                Ok(Opt::Flag(b'P')),
                Ok(Opt::Flag(b'0')),
                Ok(Opt::Arg(b'u', "foo".into())),
                Ok(Opt::Arg(b'/', "/r".into())),
            ]
        );
        assert_eq!(rest, words(&["prog", "-v"]));
    }

    #[test]
    fn double_dash_and_lone_dash_end_options() {
        let a = words(&["chpst", "-v", "--", "-P"]);
        assert_eq!(scan(&a).1, words(&["-P"]));
        let a = words(&["chpst", "-", "x"]);
        assert_eq!(scan(&a).1, words(&["-", "x"]));
    }

    #[test]
    fn long_words_are_handed_over_whole() {
        let a = words(&["svctl", "--json", "-v", "--foo", "-P", "x"]);
        let mut g = Getopt::new(&a, "v");
        assert_eq!(g.take_long(), Some(OsStr::new("--json")));
        assert_eq!(g.take_long(), None);
        assert_eq!(g.next(), Some(Ok(Opt::Flag(b'v'))));
        assert_eq!(g.take_long(), Some(OsStr::new("--foo")));
        g.finish();
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[4..]);
        // Not in the middle of a cluster, and `--` is getopt's own.
        let a = words(&["svlog", "--", "--x"]);
        let mut g = Getopt::from(&a, 1, "");
        assert_eq!(g.take_long(), None);
        assert_eq!(g.next(), None);
        assert_eq!(g.rest(), &a[2..]);
    }

    #[test]
    fn errors_name_the_letter() {
        let a = words(&["chpst", "-x"]);
        assert_eq!(scan(&a).0, vec![Err(Complaint::Illegal(b'x'))]);
        let a = words(&["chpst", "-u"]);
        let (opts, _) = scan(&a);
        assert_eq!(opts, vec![Err(Complaint::MissingArgument(b'u'))]);
        assert_eq!(
            Complaint::MissingArgument(b'u').to_string(),
            "option requires an argument -- u"
        );
    }
}
