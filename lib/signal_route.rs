//! What a signal sent to svscan (`docker kill -s NAME`, `kill -NAME 1`)
//! does, decided from the signal and the `signal.d` directory (issue 16).
//! Pure: [`Table::from_entries`] turns a directory listing into rules,
//! [`Router::route`] turns a signal into a [`Decision`]; [`Table::load`]
//! is the only I/O.
//!
//! The rules:
//! - **Fixed**, never remapped: TERM, INT, QUIT, PWR and RTMIN+3 (systemd's
//!   halt, a common `STOPSIGNAL`) mean shutdown; CHLD reaps; TSTP, TTIN and
//!   TTOU are ignored (svscan never stops; the tty driver signals the
//!   foreground group itself); KILL and STOP cannot be caught; the fault
//!   signals (SEGV, BUS, FPE, ILL, TRAP, SYS, ABRT) and PIPE are about
//!   svscan's own execution, not requests.
//! - **Remappable**, everything else: HUP, ALRM, USR1, USR2, WINCH, URG,
//!   IO, PROF, VTALRM, XCPU, XFSZ, CONT, STKFLT and the real-time signals
//!   other than RTMIN+3. A file in `signal.d` named after the signal
//!   (`HUP`, `USR1`, `RTMIN+5`; no `SIG` prefix) decides:
//!   - an executable file is run (bounded, with the container
//!     environment, the signal's name as `$1`);
//!   - a plain file lists targets, one per line (`#` comments and blank
//!     lines skipped): a service name (a template `NAME@` means all its
//!     instances), `command` for the main command's process group, or
//!     `rescan`; an empty list means "ignore it", explicitly.
//! - Without a file: HUP and ALRM rescan (as before, and as s6-svscan);
//!   the others go to the main command's process group when there is one
//!   (as tini does), else are reported as ignored, once per signal.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where `signal.d` is unless `--signal-dir` / [`ENV_SIGNAL_DIR`] say.
pub const DEFAULT_SIGNAL_DIR: &str = "/etc/svscan/signal.d";
pub const ENV_SIGNAL_DIR: &str = "SVSCAN_SIGNAL_DIR";
/// Bytes read of a plain `signal.d` file at most.
pub const MAX_FILE_BYTES: u64 = 16 * 1024;

/// The numbering of the real-time signals, which the C library decides
/// (glibc keeps the first two for itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtRange {
    pub min: i32,
    pub max: i32,
}

impl RtRange {
    /// The running C library's.
    pub fn current() -> RtRange {
        RtRange {
            min: libc::SIGRTMIN(),
            max: libc::SIGRTMAX(),
        }
    }
}

/// The standard signals by name, as `signal.d` spells them.
const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The signal a `signal.d` file name means: `HUP`, `RTMIN+3`, `RTMAX-1`,
/// `RTMIN`, `RTMAX`.
pub fn signal_from_name(name: &str, rt: RtRange) -> Option<i32> {
    if let Some(&(_, n)) = NAMES.iter().find(|(s, _)| *s == name) {
        return Some(n);
    }
    let rt_at = |base: i32, rest: &str, sign: i32| -> Option<i32> {
        let n = if rest.is_empty() {
            0
        } else {
            let digits = rest.strip_prefix(if sign > 0 { '+' } else { '-' })?;
            if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            digits.parse::<i32>().ok()?
        };
        let s = base + sign * n;
        (rt.min..=rt.max).contains(&s).then_some(s)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt_at(rt.min, rest, 1);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt_at(rt.max, rest, -1);
    }
    None
}

/// The name `signal.d` uses for `sig`: `HUP`, `RTMIN+3`.
pub fn signal_name(sig: i32, rt: RtRange) -> String {
    match NAMES.iter().find(|(_, n)| *n == sig) {
        Some((s, _)) => (*s).to_string(),
        None if (rt.min..=rt.max).contains(&sig) => format!("RTMIN+{}", sig - rt.min),
        None => sig.to_string(),
    }
}

/// What a signal means before `signal.d` is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Reap,
    Shutdown,
    /// Job control: svscan ignores it.
    JobControl,
    /// Uncatchable, or about svscan's own execution: never routed.
    NotARequest,
    /// `signal.d` may decide.
    Remappable,
}

pub fn classify(sig: i32, rt: RtRange) -> Class {
    match sig {
        libc::SIGCHLD => Class::Reap,
        libc::SIGTERM | libc::SIGINT | libc::SIGQUIT | libc::SIGPWR => Class::Shutdown,
        s if s == rt.min + 3 => Class::Shutdown,
        libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => Class::JobControl,
        libc::SIGKILL
        | libc::SIGSTOP
        | libc::SIGSEGV
        | libc::SIGBUS
        | libc::SIGFPE
        | libc::SIGILL
        | libc::SIGTRAP
        | libc::SIGSYS
        | libc::SIGABRT
        | libc::SIGPIPE => Class::NotARequest,
        _ => Class::Remappable,
    }
}

/// Every signal svscan should block and read from its signalfd: all the
/// remappable ones, plus the fixed requests.
pub fn handled_signals(rt: RtRange) -> Vec<i32> {
    (1..=rt.max)
        .filter(|&s| {
            // Numbers between the standard ones and RTMIN are glibc's own.
            (s < 32 || s >= rt.min)
                && matches!(
                    classify(s, rt),
                    Class::Reap | Class::Shutdown | Class::JobControl | Class::Remappable
                )
        })
        .collect()
}

/// Where a routed signal goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The main command's process group.
    Command,
    /// svscan rescans.
    Rescan,
    /// A service (`NAME@` meaning all instances of a template).
    Service(String),
}

/// A remappable signal's rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Run this executable.
    Run(PathBuf),
    /// Send to these (empty: ignore).
    Send(Vec<Target>),
}

/// One `signal.d` entry, as the directory listing saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Executable,
    /// A plain file's contents.
    Plain(String),
    /// A directory, device, dangling link...
    Other,
}

/// Something wrong in `signal.d`, reported as a warning; the entry is
/// skipped and the signal keeps its default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    UnknownSignal(String),
    /// TERM, CHLD, KILL...: the file cannot change it.
    NotRemappable {
        file: String,
        class: Class,
    },
    BadTarget {
        file: String,
        line: String,
    },
    NotAFile(String),
    Unreadable {
        file: String,
        why: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownSignal(n) => write!(
                f,
                "signal.d/{n}: not a signal name (like HUP, USR1, RTMIN+5)"
            ),
            Warning::NotRemappable { file, class } => {
                let why = match class {
                    Class::Shutdown => "it always means shutdown",
                    Class::Reap => "svscan needs it to reap children",
                    Class::JobControl => "job-control signals are ignored by svscan",
                    _ => "it cannot be caught or is not a request",
                };
                write!(
                    f,
                    "signal.d/{file}: ignored: {file} cannot be remapped: {why}"
                )
            }
            Warning::BadTarget { file, line } => {
                write!(
                    f,
                    "signal.d/{file}: ignored: {line:?} is not a service name, command or rescan"
                )
            }
            Warning::NotAFile(n) => write!(f, "signal.d/{n}: ignored: not a regular file"),
            Warning::Unreadable { file, why } => write!(f, "signal.d/{file}: ignored: {why}"),
        }
    }
}

/// The rules, by signal number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    rules: BTreeMap<i32, Rule>,
}

/// Whether `name` can be a service directory's name (or a template's).
pub fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\0', '\n'])
        && name != "command"
        && name != "rescan"
}

impl Table {
    /// Builds the rules from `(file name, entry)` pairs of `dir`.
    pub fn from_entries<I>(dir: &Path, entries: I, rt: RtRange) -> (Table, Vec<Warning>)
    where
        I: IntoIterator<Item = (String, Entry)>,
    {
        let mut table = Table::default();
        let mut warnings = Vec::new();
        for (name, entry) in entries {
            // Editor and package-manager leftovers are not rules.
            if name.starts_with('.') || name.ends_with('~') || name.ends_with(".dpkg-old") {
                continue;
            }
            let Some(sig) = signal_from_name(&name, rt) else {
                warnings.push(Warning::UnknownSignal(name));
                continue;
            };
            let class = classify(sig, rt);
            if class != Class::Remappable {
                warnings.push(Warning::NotRemappable { file: name, class });
                continue;
            }
            let rule = match entry {
                Entry::Executable => Rule::Run(dir.join(&name)),
                Entry::Other => {
                    warnings.push(Warning::NotAFile(name));
                    continue;
                }
                Entry::Plain(text) => match parse_targets(&text) {
                    Ok(targets) => Rule::Send(targets),
                    Err(line) => {
                        warnings.push(Warning::BadTarget { file: name, line });
                        continue;
                    }
                },
            };
            table.rules.insert(sig, rule);
        }
        (table, warnings)
    }

    /// Reads `dir`. A missing directory is an empty table.
    pub fn load(dir: &Path, rt: RtRange) -> (Table, Vec<Warning>) {
        use std::io::Read;
        use std::os::unix::fs::PermissionsExt;
        let Ok(read) = std::fs::read_dir(dir) else {
            return (Table::default(), Vec::new());
        };
        let mut entries = Vec::new();
        let mut warnings = Vec::new();
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let entry = match std::fs::metadata(e.path()) {
                Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Entry::Executable,
                Ok(m) if m.is_file() => {
                    let mut text = String::new();
                    let read = std::fs::File::open(e.path())
                        .and_then(|f| f.take(MAX_FILE_BYTES).read_to_string(&mut text));
                    match read {
                        Ok(_) => Entry::Plain(text),
                        Err(err) => {
                            warnings.push(Warning::Unreadable {
                                file: name,
                                why: err.to_string(),
                            });
                            continue;
                        }
                    }
                }
                _ => Entry::Other,
            };
            entries.push((name, entry));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let (table, mut w) = Table::from_entries(dir, entries, rt);
        warnings.append(&mut w);
        (table, warnings)
    }

    pub fn rule(&self, sig: i32) -> Option<&Rule> {
        self.rules.get(&sig)
    }
}

/// A plain file's targets, or the first line that is not one.
fn parse_targets(text: &str) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let t = match line {
            "command" => Target::Command,
            "rescan" => Target::Rescan,
            name if is_service_name(name) && !name.contains([' ', '\t']) => {
                Target::Service(name.to_string())
            }
            _ => return Err(line.to_string()),
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// What svscan does with one received signal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Reap,
    Shutdown,
    Rescan,
    /// Run this `signal.d` executable with the signal's name as `$1`.
    Run {
        path: PathBuf,
        name: String,
    },
    /// Send the signal to each target (skipping `Command` when there is no
    /// main command: see `unreachable`).
    Send {
        targets: Vec<Target>,
        /// `command` was listed but there is no main command.
        unreachable: bool,
    },
    /// Forward to the main command's process group (the default).
    ForwardToCommand,
    /// Nothing to do. `report` is set the first time a signal is dropped
    /// for want of a receiver, so it is never lost silently.
    Ignore {
        report: Option<String>,
    },
}

/// [`Table`] plus the memory of which signals were already reported.
#[derive(Clone, Debug)]
pub struct Router {
    table: Table,
    rt: RtRange,
    reported: Vec<i32>,
}

impl Router {
    pub fn new(table: Table, rt: RtRange) -> Router {
        Router {
            table,
            rt,
            reported: Vec::new(),
        }
    }

    /// A rescan may reload `signal.d`; what was reported stays reported.
    pub fn replace_table(&mut self, table: Table) {
        self.table = table;
    }

    pub fn route(&mut self, sig: i32, has_command: bool) -> Decision {
        match classify(sig, self.rt) {
            Class::Reap => return Decision::Reap,
            Class::Shutdown => return Decision::Shutdown,
            Class::JobControl | Class::NotARequest => return Decision::Ignore { report: None },
            Class::Remappable => {}
        }
        let name = signal_name(sig, self.rt);
        match self.table.rule(sig) {
            Some(Rule::Run(path)) => Decision::Run {
                path: path.clone(),
                name,
            },
            Some(Rule::Send(targets)) if targets.is_empty() => Decision::Ignore { report: None },
            Some(Rule::Send(targets)) => {
                let unreachable = !has_command && targets.contains(&Target::Command);
                let targets: Vec<Target> = targets
                    .iter()
                    .filter(|t| has_command || **t != Target::Command)
                    .cloned()
                    .collect();
                if targets.is_empty() {
                    return self.dropped(sig, format!("SIG{name}: signal.d/{name} names only the main command, and there is none"));
                }
                Decision::Send {
                    targets,
                    unreachable,
                }
            }
            None if sig == libc::SIGHUP || sig == libc::SIGALRM => Decision::Rescan,
            None if has_command => Decision::ForwardToCommand,
            None => self.dropped(
                sig,
                format!("SIG{name} ignored: no main command and no signal.d/{name}"),
            ),
        }
    }

    fn dropped(&mut self, sig: i32, why: String) -> Decision {
        if self.reported.contains(&sig) {
            return Decision::Ignore { report: None };
        }
        self.reported.push(sig);
        Decision::Ignore { report: Some(why) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's numbering, fixed so the tests do not depend on the host.
    const RT: RtRange = RtRange { min: 34, max: 64 };

    fn table(entries: &[(&str, Entry)]) -> (Table, Vec<Warning>) {
        Table::from_entries(
            Path::new("/etc/svscan/signal.d"),
            entries.iter().map(|(n, e)| (n.to_string(), e.clone())),
            RT,
        )
    }

    #[test]
    fn names() {
        assert_eq!(signal_from_name("HUP", RT), Some(libc::SIGHUP));
        assert_eq!(signal_from_name("RTMIN", RT), Some(34));
        assert_eq!(signal_from_name("RTMIN+3", RT), Some(37));
        assert_eq!(signal_from_name("RTMAX-1", RT), Some(63));
        assert_eq!(signal_from_name("RTMIN+31", RT), None);
        assert_eq!(signal_from_name("RTMIN+", RT), None);
        assert_eq!(signal_from_name("RTMIN-1", RT), None);
        assert_eq!(signal_from_name("SIGHUP", RT), None);
        assert_eq!(signal_from_name("hup", RT), None);
        assert_eq!(signal_name(libc::SIGUSR1, RT), "USR1");
        assert_eq!(signal_name(40, RT), "RTMIN+6");
    }

    #[test]
    fn fixed_meanings() {
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT, libc::SIGPWR, 37] {
            assert_eq!(classify(s, RT), Class::Shutdown, "{s}");
        }
        assert_eq!(classify(libc::SIGCHLD, RT), Class::Reap);
        assert_eq!(classify(libc::SIGKILL, RT), Class::NotARequest);
        for s in [
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGWINCH,
            libc::SIGALRM,
            35,
            38,
            64,
        ] {
            assert_eq!(classify(s, RT), Class::Remappable, "{s}");
        }
        let h = handled_signals(RT);
        assert!(h.contains(&libc::SIGUSR1) && h.contains(&37) && h.contains(&libc::SIGWINCH));
        assert!(!h.contains(&libc::SIGKILL) && !h.contains(&32) && !h.contains(&libc::SIGSEGV));
    }

    #[test]
    fn defaults_without_signal_d() {
        let mut r = Router::new(Table::default(), RT);
        assert_eq!(r.route(libc::SIGTERM, true), Decision::Shutdown);
        assert_eq!(r.route(37, false), Decision::Shutdown);
        assert_eq!(r.route(libc::SIGHUP, true), Decision::Rescan);
        assert_eq!(r.route(libc::SIGUSR1, true), Decision::ForwardToCommand);
        assert_eq!(r.route(libc::SIGWINCH, true), Decision::ForwardToCommand);
        // No command: reported once, then quietly.
        let first = r.route(libc::SIGUSR2, false);
        assert!(
            matches!(first, Decision::Ignore { report: Some(ref m) } if m.contains("SIGUSR2")),
            "{first:?}"
        );
        assert_eq!(
            r.route(libc::SIGUSR2, false),
            Decision::Ignore { report: None }
        );
        assert_eq!(
            r.route(libc::SIGTTIN, true),
            Decision::Ignore { report: None }
        );
    }

    #[test]
    fn files_decide() {
        let (t, w) = table(&[
            ("HUP", Entry::Plain("# reload nginx only\nnginx\n".into())),
            ("USR1", Entry::Executable),
            (
                "USR2",
                Entry::Plain("command\nworker@\nrescan\ncommand\n".into()),
            ),
            ("WINCH", Entry::Plain("".into())),
            ("RTMIN+5", Entry::Plain("command\n".into())),
        ]);
        assert!(w.is_empty(), "{w:?}");
        let mut r = Router::new(t, RT);
        assert_eq!(
            r.route(libc::SIGHUP, true),
            Decision::Send {
                targets: vec![Target::Service("nginx".into())],
                unreachable: false
            }
        );
        assert_eq!(
            r.route(libc::SIGUSR1, false),
            Decision::Run {
                path: "/etc/svscan/signal.d/USR1".into(),
                name: "USR1".into()
            }
        );
        assert_eq!(
            r.route(libc::SIGUSR2, true),
            Decision::Send {
                targets: vec![
                    Target::Command,
                    Target::Service("worker@".into()),
                    Target::Rescan
                ],
                unreachable: false
            }
        );
        assert_eq!(
            r.route(libc::SIGUSR2, false),
            Decision::Send {
                targets: vec![Target::Service("worker@".into()), Target::Rescan],
                unreachable: true
            }
        );
        // An empty file ignores the signal on purpose: no report.
        assert_eq!(
            r.route(libc::SIGWINCH, true),
            Decision::Ignore { report: None }
        );
        assert!(matches!(
            r.route(39, false),
            Decision::Ignore { report: Some(_) }
        ));
        assert_eq!(
            r.route(39, true),
            Decision::Send {
                targets: vec![Target::Command],
                unreachable: false
            }
        );
    }

    #[test]
    fn bad_entries_warn_and_keep_defaults() {
        let (t, w) = table(&[
            ("TERM", Entry::Executable),
            ("CHLD", Entry::Plain("x".into())),
            ("FOO", Entry::Executable),
            ("USR1", Entry::Plain("../etc\n".into())),
            ("USR2", Entry::Other),
            (".HUP.swp", Entry::Plain("".into())),
            ("HUP~", Entry::Plain("".into())),
        ]);
        assert_eq!(w.len(), 5, "{w:?}");
        assert!(w[0]
            .to_string()
            .contains("TERM cannot be remapped: it always means shutdown"));
        assert_eq!(
            w[3],
            Warning::BadTarget {
                file: "USR1".into(),
                line: "../etc".into()
            }
        );
        let mut r = Router::new(t, RT);
        assert_eq!(r.route(libc::SIGTERM, true), Decision::Shutdown);
        assert_eq!(r.route(libc::SIGUSR1, true), Decision::ForwardToCommand);
        assert_eq!(r.route(libc::SIGHUP, true), Decision::Rescan);
    }

    #[test]
    fn load_reads_a_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("svkit-signald-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("HUP"), "nginx\n").unwrap();
        std::fs::write(dir.join("USR1"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("USR1"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (t, w) = Table::load(&dir, RT);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(w.is_empty());
        assert_eq!(
            t.rule(libc::SIGHUP),
            Some(&Rule::Send(vec![Target::Service("nginx".into())]))
        );
        assert_eq!(t.rule(libc::SIGUSR1), Some(&Rule::Run(dir.join("USR1"))));
        assert_eq!(
            Table::load(Path::new("/nonexistent/signal.d"), RT).0,
            Table::default()
        );
    }
}
