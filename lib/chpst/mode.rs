//! Which program chpst is pretending to be. runit's chpst looks at the
//! basename of argv[0], drops one leading `d`, and emulates the daemontools
//! tool of that name; anything else is chpst proper.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Chpst,
    Setuidgid,
    Envuidgid,
    Envdir,
    Pgrphack,
    Setlock,
    Softlimit,
}

impl Mode {
    /// The mode selected by `argv0` (a path or a bare name).
    pub fn from_argv0(argv0: &OsStr) -> Mode {
        let bytes = argv0.as_bytes();
        let base = match bytes.iter().rposition(|&c| c == b'/') {
            Some(slash) => &bytes[slash + 1..],
            None => bytes,
        };
        let name = base.strip_prefix(b"d").unwrap_or(base);
        match name {
            b"setuidgid" => Mode::Setuidgid,
            b"envuidgid" => Mode::Envuidgid,
            b"envdir" => Mode::Envdir,
            b"pgrphack" => Mode::Pgrphack,
            b"setlock" => Mode::Setlock,
            b"softlimit" => Mode::Softlimit,
            _ => Mode::Chpst,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Chpst => "chpst",
            Mode::Setuidgid => "setuidgid",
            Mode::Envuidgid => "envuidgid",
            Mode::Envdir => "envdir",
            Mode::Pgrphack => "pgrphack",
            Mode::Setlock => "setlock",
            Mode::Softlimit => "softlimit",
        }
    }

    /// The one-line synopsis printed after `usage: NAME` (runit's texts,
    /// plus the options svkit adds to chpst).
    pub fn synopsis(self) -> &'static str {
        match self {
            Mode::Chpst => {
                "[-vVhP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] \
                 [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] \
                 [-f n] [-c n] [-r n] [-t n] prog"
            }
            Mode::Setuidgid | Mode::Envuidgid => "account child",
            Mode::Envdir => "dir child",
            Mode::Pgrphack => "child",
            Mode::Setlock => "[ -nNxX ] file program [ arg ... ]",
            Mode::Softlimit => {
                "[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] \
                 [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] \
                 [-r residentbytes] [-s stackbytes] [-t cpusecs] child"
            }
        }
    }

    pub fn usage_line(self) -> String {
        format!("usage: {} {}\n", self.name(), self.synopsis())
    }

    /// Longer text for `--help` (stdout, exit 0); it mirrors chpst(8).
    pub fn help(self) -> String {
        let body = match self {
            Mode::Chpst => CHPST_HELP,
            Mode::Setuidgid => {
                "Run child as account: uid and gid from /etc/passwd, supplementary\n\
                 groups = only that gid.\n"
            }
            Mode::Envuidgid => "Run child with $UID and $GID of account from /etc/passwd.\n",
            Mode::Envdir => {
                "Run child with environment changes from the files in dir\n\
                 (first line of each file; an empty file removes the variable).\n"
            }
            Mode::Pgrphack => "Run child in a new session and process group (setsid).\n",
            Mode::Setlock => {
                "Take an exclusive lock on file (created if missing), then run program.\n\
                 \x20 -N  wait for the lock (default)\n\
                 \x20 -n  do not wait: fail at once if the lock is held\n\
                 \x20 -x  exit 0 silently if the lock cannot be taken or program cannot run\n\
                 \x20 -X  report those failures (default)\n"
            }
            Mode::Softlimit => {
                "Set soft resource limits, then run child. A value of = means\n\
                 \"as high as the hard limit\"; larger values are capped at the hard limit.\n"
            }
        };
        format!("{}\n{}", self.usage_line(), body)
    }
}

const CHPST_HELP: &str = "\
Change the process state, then exec prog. Steps run in this order:
setsid, envdir, chroot, chdir, nice, -U, -u/-h, lock, close fds, limits, exec.

  -u [:]user[:group...]  drop to user (groups replaced by exactly the listed ones);
                         with a leading colon: numeric uid:gid[:gid...]
  -U [:]user[:group]     set $UID and $GID only
  -h                     with -u: also set HOME, USER and LOGNAME of the user
  -b argv0               run prog with argv[0] = argv0
  -e dir                 set environment from the files in dir (envdir rules)
  -/ root                chroot to root (user lookups then read root's /etc)
  -C pwd                 chdir to pwd after the chroot
  -n inc                 add inc to the nice value (-5, +2, 3)
  -l lock                lock file exclusively, waiting for it
  -L lock                lock file exclusively, fail if already locked
  -m bytes               soft limit DATA, STACK, MEMLOCK and AS
  -d bytes               soft limit DATA
  -o n                   soft limit NOFILE
  -p n                   soft limit NPROC
  -f bytes               soft limit FSIZE
  -c bytes               soft limit CORE
  -r bytes               soft limit RSS
  -t secs                soft limit CPU
  -v                     verbose warnings
  -V                     print the version on stderr
  -P                     run prog in a new session (pgrphack)
  -0 -1 -2               close stdin, stdout, stderr
  --help                 this text

Exit status: 100 bad usage, 111 unable to change the state, else prog's.
Called as envdir, envuidgid, pgrphack, setlock, setuidgid or softlimit it
emulates that daemontools program. See chpst(8).
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv0_basename_with_one_leading_d_dropped() {
        assert_eq!(Mode::from_argv0(OsStr::new("/x/y/envdir")), Mode::Envdir);
        assert_eq!(Mode::from_argv0(OsStr::new("dsetlock")), Mode::Setlock);
        assert_eq!(Mode::from_argv0(OsStr::new("ddsetlock")), Mode::Chpst);
        assert_eq!(Mode::from_argv0(OsStr::new("softlimit")), Mode::Softlimit);
        assert_eq!(Mode::from_argv0(OsStr::new("/usr/bin/chpst")), Mode::Chpst);
        assert_eq!(Mode::from_argv0(OsStr::new("envdir/")), Mode::Chpst);
    }
}
