//! The container's exit code: what `docker inspect .State.ExitCode` and a
//! Kubernetes restart policy see.
//!
//! Precedence, highest first (the first that applies decides):
//! 1. an explicit halt code (`svctl halt CODE`), else the number in
//!    `RUNDIR/exitcode` (s6-overlay's `exitcode` file convention);
//! 2. the main command's status: its exit code, or 128+N when killed by
//!    signal N (an OOM kill is SIGKILL, so 137, never 0);
//! 3. the status of the essential service whose exit started the shutdown
//!    (same encoding);
//! 4. the status of the init script that failed with policy `stop`;
//! 5. a signal-triggered shutdown (`docker stop`): `SVSCAN_EXIT_ON_SIGNAL`,
//!    0 by default, or `128+` for 128+N;
//! 6. 111 after an internal fatal error;
//! 7. otherwise 0.
//!
//! Only the first shutdown trigger is recorded: once a shutdown has begun,
//! the services and command that svscan itself stops exit with TERM/KILL
//! statuses that say nothing about why the container ends. One exception
//! follows tini: when the trigger is a signal, the main command's status
//! still counts (a command that exits 0 on TERM gives 0, one without a
//! handler gives 143 unless remapped), because the signal was meant for it.
//!
//! `SVSCAN_EXIT_REMAP` (`143:0,130:0`, like `tini -e`) rewrites statuses
//! from rules 2 and 3 only; explicit codes are taken as given.

use super::InvalidValue;
use std::fmt;
use std::path::Path;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcStatus {
    Exited(u8),
    Signaled(i32),
}

impl ProcStatus {
    /// From a raw `waitpid(2)` status word.
    pub fn from_wait_status(status: i32) -> Option<Self> {
        if libc::WIFEXITED(status) {
            Some(ProcStatus::Exited(libc::WEXITSTATUS(status) as u8))
        } else if libc::WIFSIGNALED(status) {
            Some(ProcStatus::Signaled(libc::WTERMSIG(status)))
        } else {
            None
        }
    }

    /// From nix's `WaitStatus` (what svscan's reaper gets); `None` for
    /// stops, continues and "still alive".
    pub fn from_nix(status: nix::sys::wait::WaitStatus) -> Option<Self> {
        use nix::sys::wait::WaitStatus;
        match status {
            WaitStatus::Exited(_, c) => Some(ProcStatus::Exited(c as u8)),
            WaitStatus::Signaled(_, sig, _) => Some(ProcStatus::Signaled(sig as i32)),
            _ => None,
        }
    }

    /// From `std::process::ExitStatus`.
    pub fn from_exit_status(status: std::process::ExitStatus) -> Option<Self> {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(c), _) => Some(ProcStatus::Exited(c as u8)),
            (None, Some(s)) => Some(ProcStatus::Signaled(s)),
            _ => None,
        }
    }

    /// The shell convention: the exit code, or 128+N for signal N.
    pub fn code(self) -> u8 {
        match self {
            ProcStatus::Exited(c) => c,
            ProcStatus::Signaled(s) => crate::exit::for_signal(s) as u8,
        }
    }
}

impl fmt::Display for ProcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcStatus::Exited(c) => write!(f, "exited {c}"),
            ProcStatus::Signaled(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// What to exit with after a signal-triggered shutdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSignal {
    /// A fixed code (default 0: `docker stop` is not a failure).
    Code(u8),
    /// 128 + the signal number (143 for TERM).
    Plus128,
}

impl OnSignal {
    /// Parses `SVSCAN_EXIT_ON_SIGNAL`: a number 0..=255 or `128+`.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s.trim() {
            "128+" => Ok(OnSignal::Plus128),
            n => n
                .parse::<u8>()
                .map(OnSignal::Code)
                .map_err(|_| InvalidValue {
                    what: "exit-on-signal value",
                    value: s.to_string(),
                    want: "want 0-255 or 128+",
                }),
        }
    }
}

/// Settings from `SVSCAN_EXIT_ON_SIGNAL` and `SVSCAN_EXIT_REMAP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub on_signal: OnSignal,
    /// `(from, to)` pairs applied to command and essential statuses.
    pub remap: Vec<(u8, u8)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            on_signal: OnSignal::Code(0),
            remap: Vec::new(),
        }
    }
}

/// Parses `SVSCAN_EXIT_REMAP`: comma-separated `FROM:TO` pairs.
pub fn parse_remap(s: &str) -> Result<Vec<(u8, u8)>, InvalidValue> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let invalid = |want| InvalidValue {
                what: "exit remap",
                value: pair.to_string(),
                want,
            };
            let (a, b) = pair
                .split_once(':')
                .ok_or_else(|| invalid("want FROM:TO"))?;
            let num = |x: &str| {
                x.trim()
                    .parse::<u8>()
                    .map_err(|_| invalid("codes are 0-255"))
            };
            Ok((num(a)?, num(b)?))
        })
        .collect()
}

/// Why the container shuts down (the first trigger).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    Halt,
    Cmd,
    Essential,
    InitScript,
    Signal(i32),
    Fatal,
}

/// Collects what happened during the container's life and decides the
/// exit code at the end. Feed it events as they happen.
#[derive(Clone, Debug, Default)]
pub struct ExitState {
    trigger: Option<Trigger>,
    halt: Option<u8>,
    cmd: Option<ProcStatus>,
    essential: Option<(String, ProcStatus)>,
    init: Option<(String, u8)>,
    signal: Option<i32>,
    fatal: bool,
}

/// The decision, with a human-readable reason for the final log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub code: u8,
    pub reason: String,
}

impl ExitState {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first trigger, if a shutdown has begun.
    pub fn trigger(&self) -> Option<&Trigger> {
        self.trigger.as_ref()
    }

    fn start(&mut self, t: Trigger) -> bool {
        if self.trigger.is_none() {
            self.trigger = Some(t);
            true
        } else {
            false
        }
    }

    /// `svctl halt [CODE]`. Always recorded (a later explicit code replaces
    /// an earlier one); `None` means "use the exitcode file, if any".
    pub fn halt(&mut self, code: Option<u8>) {
        self.start(Trigger::Halt);
        if code.is_some() {
            self.halt = code;
        }
    }

    /// The main command ended. Counts if it is the trigger, or if the
    /// trigger was a signal (the signal was meant for it, as with tini).
    pub fn cmd_exited(&mut self, status: ProcStatus) {
        let counts = match self.trigger {
            None => {
                self.start(Trigger::Cmd);
                true
            }
            Some(Trigger::Signal(_)) => true,
            _ => false,
        };
        if counts && self.cmd.is_none() {
            self.cmd = Some(status);
        }
    }

    /// An essential service ended and will not be restarted. Ignored once a
    /// shutdown has begun (svscan stopped it).
    pub fn essential_exited(&mut self, name: &str, status: ProcStatus) {
        if self.start(Trigger::Essential) {
            self.essential = Some((name.to_string(), status));
        }
    }

    /// An init script failed under policy `stop` with `code`
    /// (see `scripts::Policy::exit_code`).
    pub fn init_failed(&mut self, script: &str, code: u8) {
        if self.start(Trigger::InitScript) {
            self.init = Some((script.to_string(), code));
        }
    }

    /// A shutdown signal (TERM, INT, QUIT, PWR, ...) arrived.
    pub fn signal(&mut self, sig: i32) {
        if self.start(Trigger::Signal(sig)) {
            self.signal = Some(sig);
        }
    }

    /// An internal fatal error forces the shutdown.
    pub fn fatal(&mut self) {
        self.start(Trigger::Fatal);
        self.fatal = true;
    }

    /// Applies the precedence (module docs). `exitcode_file` is the value
    /// of `RUNDIR/exitcode` read at the very end ([`read_exitcode_file`]).
    pub fn decide(&self, opts: &Options, exitcode_file: Option<u8>) -> Decision {
        let remap = |c: u8| {
            opts.remap
                .iter()
                .find(|(from, _)| *from == c)
                .map_or(c, |(_, to)| *to)
        };
        let d = |code: u8, reason: String| Decision { code, reason };
        if let Some(c) = self.halt {
            return d(c, format!("halt {c}"));
        }
        if let Some(c) = exitcode_file {
            return d(c, format!("exitcode file says {c}"));
        }
        if let Some(s) = self.cmd {
            return d(remap(s.code()), format!("command {s}"));
        }
        if let Some((name, s)) = &self.essential {
            return d(remap(s.code()), format!("essential service {name} {s}"));
        }
        if let Some((name, c)) = &self.init {
            return d(*c, format!("init script {name} failed"));
        }
        if let Some(sig) = self.signal {
            let code = match opts.on_signal {
                OnSignal::Code(c) => c,
                OnSignal::Plus128 => crate::exit::for_signal(sig) as u8,
            };
            return d(code, format!("signal {sig}"));
        }
        if self.fatal {
            return d(crate::exit::SYSTEM as u8, "internal fatal error".into());
        }
        d(0, "clean shutdown".into())
    }
}

/// Reads `RUNDIR/exitcode`: a decimal number 0..=255, surrounding blanks
/// ignored. `Ok(None)` if the file does not exist.
///
/// # Errors
/// The file exists but is unreadable or not a valid code (the caller warns
/// and ignores it).
pub fn read_exitcode_file(rundir: &Path) -> Result<Option<u8>, String> {
    let path = rundir.join(super::rundir::EXITCODE);
    match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().parse::<u8>().map(Some).map_err(|_| {
            format!(
                "ignoring {}: {:?} is not an exit code 0-255",
                path.display(),
                s.trim()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("ignoring {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProcStatus::*;

    fn code(s: &ExitState) -> u8 {
        s.decide(&Options::default(), None).code
    }

    #[test]
    fn status_codes() {
        assert_eq!(Exited(3).code(), 3);
        assert_eq!(Signaled(9).code(), 137, "OOM kill must not become 0");
        assert_eq!(Signaled(11).code(), 139);
        // Raw wait statuses: exit 42 is 42<<8, SIGKILL is 9.
        assert_eq!(ProcStatus::from_wait_status(42 << 8), Some(Exited(42)));
        assert_eq!(ProcStatus::from_wait_status(9), Some(Signaled(9)));
        let pid = nix::unistd::Pid::from_raw(1);
        use nix::sys::signal::Signal::SIGKILL;
        use nix::sys::wait::WaitStatus;
        assert_eq!(
            ProcStatus::from_nix(WaitStatus::Signaled(pid, SIGKILL, false)),
            Some(Signaled(9))
        );
        assert_eq!(
            ProcStatus::from_nix(WaitStatus::Exited(pid, 3)),
            Some(Exited(3))
        );
        assert_eq!(ProcStatus::from_nix(WaitStatus::StillAlive), None);
    }

    #[test]
    fn cmd_status_is_the_exit_code() {
        let mut s = ExitState::new();
        s.cmd_exited(Exited(42));
        assert_eq!(code(&s), 42);
        let mut s = ExitState::new();
        s.cmd_exited(Signaled(9));
        assert_eq!(code(&s), 137);
    }

    #[test]
    fn signal_shutdown_is_zero_by_default() {
        let mut s = ExitState::new();
        s.signal(15);
        assert_eq!(code(&s), 0);
        let opts = Options {
            on_signal: OnSignal::Plus128,
            remap: vec![],
        };
        assert_eq!(s.decide(&opts, None).code, 143);
        assert_eq!(
            s.decide(
                &Options {
                    on_signal: OnSignal::Code(5),
                    remap: vec![]
                },
                None
            )
            .code,
            5
        );
    }

    #[test]
    fn cmd_status_counts_after_signal_and_remap_applies() {
        let mut s = ExitState::new();
        s.signal(15);
        s.cmd_exited(Signaled(15));
        assert_eq!(code(&s), 143);
        let opts = Options {
            on_signal: OnSignal::Code(0),
            remap: parse_remap("143:0, 130:0").unwrap(),
        };
        assert_eq!(s.decide(&opts, None).code, 0);
    }

    #[test]
    fn essential_trigger_beats_the_cmd_we_killed() {
        let mut s = ExitState::new();
        s.essential_exited("web", Exited(3));
        s.cmd_exited(Signaled(15)); // stopped by svscan during shutdown
        s.essential_exited("db", Signaled(15));
        let d = s.decide(&Options::default(), None);
        assert_eq!(d.code, 3);
        assert!(d.reason.contains("web"), "{}", d.reason);
    }

    #[test]
    fn init_failure_code() {
        let mut s = ExitState::new();
        s.init_failed("10_setup", 9);
        s.signal(15);
        assert_eq!(code(&s), 9);
    }

    #[test]
    fn halt_and_exitcode_file_win() {
        let mut s = ExitState::new();
        s.cmd_exited(Exited(1));
        assert_eq!(s.decide(&Options::default(), Some(5)).code, 5);
        s.halt(Some(7));
        assert_eq!(s.decide(&Options::default(), Some(5)).code, 7);
        let mut s = ExitState::new();
        s.halt(None);
        s.cmd_exited(Signaled(15)); // stopped by svscan because of the halt
        assert_eq!(s.decide(&Options::default(), Some(5)).code, 5);
        assert_eq!(s.decide(&Options::default(), None).code, 0);
    }

    #[test]
    fn fatal_is_111_below_everything_else() {
        let mut s = ExitState::new();
        s.fatal();
        assert_eq!(code(&s), 111);
        let mut s = ExitState::new();
        s.cmd_exited(Exited(4));
        s.fatal();
        assert_eq!(code(&s), 4);
        assert_eq!(code(&ExitState::new()), 0);
    }

    #[test]
    fn parsing() {
        assert_eq!(OnSignal::parse("128+"), Ok(OnSignal::Plus128));
        assert_eq!(OnSignal::parse("3"), Ok(OnSignal::Code(3)));
        assert!(OnSignal::parse("300").is_err());
        assert!(parse_remap("143").is_err());
        assert!(parse_remap("143:x").is_err());
        assert_eq!(parse_remap(""), Ok(vec![]));
    }

    #[test]
    fn exitcode_file() {
        let dir = std::env::temp_dir().join(format!("svkit-exitcode-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read_exitcode_file(&dir), Ok(None));
        std::fs::write(dir.join("exitcode"), "5\n").unwrap();
        assert_eq!(read_exitcode_file(&dir), Ok(Some(5)));
        std::fs::write(dir.join("exitcode"), "five").unwrap();
        assert!(read_exitcode_file(&dir).unwrap_err().contains("five"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
