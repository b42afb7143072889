//! Command line of svlog: svlogd's getopt-style options (`-ttt`, `-r_`,
//! `-l 500` and `-l500` all work as with svlogd) plus svkit's `-o`.

use super::stamp::StampKind;
use crate::getopt::{Complaint, Getopt, Opt};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// Default read buffer; also the most a SIGKILL can lose.
pub const DEFAULT_BUF: usize = 128 * 1024;
/// Smallest read buffer svlog uses, whatever `-b` says.
pub const MIN_BUF: usize = 64 * 1024;
/// Largest read buffer (`-b`) and so line length (`-l`) svlog accepts: the
/// buffer is allocated up front, and a number near `usize::MAX` would
/// abort on allocation (or wrap when one is added).
pub const MAX_BUF: usize = 64 * 1024 * 1024;

pub const USAGE: &str = "svlog [-tttvo] [-r c] [-R abc] [-l len] [-b buflen] dir ...";

pub const HELP: &str = "\
usage: svlog [-tttvo] [-r c] [-R abc] [-l len] [-b buflen] dir ...

Reads lines on standard input and appends them to each log directory's
`current` file, rotating it to @TAI64N.s files (svlogd compatible).

  -t          prefix each line with a TAI64N stamp (@4000...)
  -tt         prefix each line with YYYY-MM-DD_HH:MM:SS.xxxxx (UTC)
  -ttt        prefix each line with YYYY-MM-DDTHH:MM:SS.xxxxx (UTC)
  -r c        replace non-printable bytes with c
  -R abc      also replace these bytes (with c, or _ without -r)
  -l len      bytes of a line used for patterns, stderr and UDP (1000)
  -b buflen   read buffer size (default 131072, at least 65536);
              must exceed len
  -o          copy selected lines to standard output (tee)
  -v          verbose: info messages on standard error
  -V, --version  print the version
  -h, --help     print this help

Config lines (DIR/config): sSIZE nNUM NMIN tSECS !PROCESSOR uIP[:PORT]
UIP[:PORT] pPREFIX +PAT -PAT ePAT EPAT, and svkit's STOTAL (size cap for
the directory), aAGE (delete rotated files older than AGE) and o[PREFIX]
(tee this directory's lines to stdout).
Signals: HUP re-reads config, ALRM rotates, TERM finishes the line and exits.
Exit status: 0 on end of input or TERM, 100 usage, 111 fatal error.
See svlog(8).
";

/// Parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub stamp: StampKind,
    /// Replacement byte for `-r`/`-R`; `None` = no replacement.
    pub replace_with: Option<u8>,
    /// Extra bytes to replace (`-R`).
    pub replace_set: Vec<u8>,
    /// `-l`: bytes of a line used for matching, stderr and UDP.
    pub line_max: usize,
    /// Read buffer size (`-b`, at least `DEFAULT_BUF`).
    pub buf_len: usize,
    pub verbose: bool,
    /// `-o`: tee selected lines of every directory to stdout.
    pub tee: bool,
    pub dirs: Vec<PathBuf>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Options),
    Help,
    Version,
}

/// A usage error: what was wrong (the caller adds the usage line).
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

pub fn parse(args: &[OsString]) -> Result<Parsed, UsageError> {
    let mut stamps = 0u8;
    let mut opts = Options {
        stamp: StampKind::None,
        replace_with: None,
        replace_set: Vec::new(),
        line_max: 1000,
        buf_len: DEFAULT_BUF,
        verbose: false,
        tee: false,
        dirs: Vec::new(),
    };
    let mut buf_len_arg = 0usize;
    let mut explicit_r = false;
    let mut g = Getopt::from(args, 0, "tvohVr:R:l:b:");
    loop {
        if let Some(long) = g.take_long() {
            match long.as_bytes() {
                b"--help" => return Ok(Parsed::Help),
                b"--version" => return Ok(Parsed::Version),
                other => {
                    return Err(UsageError(format!(
                        "unknown option: {}",
                        String::from_utf8_lossy(other)
                    )))
                }
            }
        }
        let Some(opt) = g.next() else { break };
        let (flag, value) = match opt {
            Ok(Opt::Flag(b't')) => {
                stamps = (stamps + 1).min(3);
                continue;
            }
            Ok(Opt::Flag(b'v')) => {
                opts.verbose = true;
                continue;
            }
            Ok(Opt::Flag(b'o')) => {
                opts.tee = true;
                continue;
            }
            Ok(Opt::Flag(b'h')) => return Ok(Parsed::Help),
            // 'V' (getopt only returns letters of the spec).
            Ok(Opt::Flag(_)) => return Ok(Parsed::Version),
            Ok(Opt::Arg(flag, value)) => (flag, value.into_vec()),
            Err(Complaint::MissingArgument(c)) => {
                return Err(UsageError(format!(
                    "option -{} needs an argument",
                    c as char
                )))
            }
            Err(Complaint::Illegal(c)) => {
                return Err(UsageError(format!("unknown option: -{}", c as char)))
            }
        };
        match flag {
            b'r' => {
                if value.len() != 1 {
                    return Err(UsageError("-r needs exactly one character".into()));
                }
                opts.replace_with = Some(value[0]);
                explicit_r = true;
            }
            b'R' => {
                opts.replace_set = value;
                if !explicit_r {
                    opts.replace_with.get_or_insert(b'_');
                }
            }
            b'l' => {
                opts.line_max = match number(&value) {
                    Some(0) => 1000,
                    Some(n) if n < MAX_BUF => n,
                    Some(_) => return Err(too_big("-l", &value)),
                    None => return Err(bad_number("-l", &value)),
                }
            }
            // 'b'
            _ => {
                buf_len_arg = match number(&value) {
                    Some(0) => 1024,
                    Some(n) if n <= MAX_BUF => n,
                    Some(_) => return Err(too_big("-b", &value)),
                    None => return Err(bad_number("-b", &value)),
                }
            }
        }
    }
    opts.dirs = g.rest().iter().map(PathBuf::from).collect();
    if opts.dirs.is_empty() {
        return Err(UsageError("no log directory given".into()));
    }
    if buf_len_arg != 0 && buf_len_arg <= opts.line_max {
        return Err(UsageError(format!(
            "-b {buf_len_arg} must be greater than -l {}",
            opts.line_max
        )));
    }
    opts.buf_len = if buf_len_arg == 0 {
        DEFAULT_BUF
    } else {
        buf_len_arg.max(MIN_BUF)
    }
    .max(opts.line_max + 1);
    opts.stamp = match stamps {
        0 => StampKind::None,
        1 => StampKind::Tai64n,
        2 => StampKind::Human,
        _ => StampKind::Iso,
    };
    Ok(Parsed::Run(opts))
}

fn number(v: &[u8]) -> Option<usize> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn too_big(opt: &str, v: &[u8]) -> UsageError {
    UsageError(format!(
        "{opt}: too large (at most {MAX_BUF}): {}",
        String::from_utf8_lossy(v)
    ))
}

fn bad_number(opt: &str, v: &[u8]) -> UsageError {
    UsageError(format!(
        "{opt}: not a number: {}",
        String::from_utf8_lossy(v)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, UsageError> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        match parse(&v)? {
            Parsed::Run(o) => Ok(o),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn svlogd_style_options() {
        let o = run(&[
            "-tt", "-r_", "-R", "ab", "-l500", "-b", "2000", "-v", "d1", "d2",
        ])
        .unwrap();
        assert_eq!(o.stamp, StampKind::Human);
        assert_eq!(o.replace_with, Some(b'_'));
        assert_eq!(o.replace_set, b"ab");
        assert_eq!(o.line_max, 500);
        assert_eq!(o.buf_len, MIN_BUF);
        assert_eq!(run(&["d"]).unwrap().buf_len, DEFAULT_BUF);
        assert_eq!(run(&["-b", "1000000", "d"]).unwrap().buf_len, 1_000_000);
        assert!(o.verbose && !o.tee);
        assert_eq!(o.dirs.len(), 2);
        assert_eq!(run(&["-tttt", "d"]).unwrap().stamp, StampKind::Iso);
        assert_eq!(run(&["-R", "x", "d"]).unwrap().replace_with, Some(b'_'));
        assert_eq!(
            run(&["-R", "x", "-r", "#", "d"]).unwrap().replace_with,
            Some(b'#')
        );
        assert!(run(&["-o", "d"]).unwrap().tee);
    }

    #[test]
    fn usage_errors() {
        assert!(run(&[]).is_err());
        assert!(run(&["-r", "ab", "d"]).is_err());
        assert!(run(&["-l", "x", "d"]).is_err());
        assert!(run(&["-l", "2000", "-b", "1000", "d"]).is_err());
        assert!(run(&["-q", "d"]).is_err());
        assert!(run(&["-l"]).is_err());
        // Near usize::MAX: refused, not wrapped (line_max + 1) or allocated.
        assert!(run(&["-l", &usize::MAX.to_string(), "d"]).is_err());
        assert!(run(&["-l", &MAX_BUF.to_string(), "d"]).is_err());
        assert!(run(&["-b", &usize::MAX.to_string(), "d"]).is_err());
        let o = run(&["-l", &(MAX_BUF - 1).to_string(), "d"]).unwrap();
        assert_eq!(o.buf_len, MAX_BUF);
        assert!(run(&["--bogus", "d"]).is_err());
        let v: Vec<OsString> = ["-v", "--help"].iter().map(OsString::from).collect();
        assert_eq!(parse(&v), Ok(Parsed::Help));
        // After `--` everything is a directory.
        assert_eq!(run(&["--", "-v"]).unwrap().dirs, [PathBuf::from("-v")]);
    }
}
