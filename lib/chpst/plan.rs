//! Everything chpst (in any of its modes) was asked to do, as plain data.
//! Parsing fills it in (`parse.rs`), `run.rs` carries it out in runit's
//! order.

use super::envdir::Subdirs;
use super::ids::Syntax;
use super::limits::Limits;
use super::mode::Mode;
use std::ffi::OsString;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub path: OsString,
    /// Wait for a held lock (`-l`, setlock's default) or fail at once.
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub mode: Mode,
    pub verbose: bool,
    /// `-P` / pgrphack: setsid().
    pub new_session: bool,
    pub envdir: Option<(OsString, Subdirs)>,
    /// `-/`: chroot here.
    pub root: Option<OsString>,
    /// `-C`: chdir here after the chroot.
    pub workdir: Option<OsString>,
    /// `-n`: nice increment (0 = leave alone).
    pub nice: i32,
    /// `-U` / envuidgid: set $UID and $GID only.
    pub env_user: Option<(OsString, Syntax)>,
    /// `-u` / setuidgid: switch to this user.
    pub set_user: Option<(OsString, Syntax)>,
    /// `-h`: also set HOME, USER and LOGNAME of the `-u` user.
    pub user_env: bool,
    pub lock: Option<LockRequest>,
    /// `-0 -1 -2`.
    pub close: [bool; 3],
    pub limits: Limits,
    /// setlock `-x`: lock or exec failures exit 0 silently.
    pub quiet_failures: bool,
    /// `-b`: argv[0] for prog.
    pub argv0: Option<OsString>,
    /// prog and its arguments (never empty).
    pub prog: Vec<OsString>,
}

impl Plan {
    pub fn new(mode: Mode) -> Plan {
        Plan {
            mode,
            verbose: false,
            new_session: false,
            envdir: None,
            root: None,
            workdir: None,
            nice: 0,
            env_user: None,
            set_user: None,
            user_env: false,
            lock: None,
            close: [false; 3],
            limits: Limits::default(),
            quiet_failures: false,
            argv0: None,
            prog: Vec::new(),
        }
    }
}
