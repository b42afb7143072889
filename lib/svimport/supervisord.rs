//! A supervisord configuration to service directories.
//!
//! Reading follows supervisord's `read_config`: each FILE is read, then
//! the files its `[include] files =` globs name (relative to that FILE's
//! directory, in sorted order, into the same parser, so a section or key
//! seen again is merged or replaced). supervisord reads only the main
//! file's `[include]`: one in an included file is reported, not followed.
//! `%(here)s` is the directory of the file a value came from.
//!
//! Sections: `[program:x]` become services (see `program`), `[group:x]`
//! bundles, `[eventlistener:x]` either `essential` files (the well-known
//! "stop the container when a program dies" listeners) or a report line;
//! `[supervisord]`, `[unix_http_server]`, `[inet_http_server]`,
//! `[supervisorctl]`, `[rpcinterface:x]` and `[include]` get a line per
//! key saying what they mean for svkit. `priority` becomes
//! `dependencies.d/` (see [`order`]).

use super::datatypes as dt;
use super::expand::{expand_with, Val};
use super::fnmatch::glob;
use super::ini::{Entry, Ini, IniError, Section};
use super::program::{self, Converted};
use super::report::{Origin, Report, Status};
use super::writer::ServiceDir;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What the conversion needs from the machine it runs on.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The environment `%(ENV_X)s` is taken from.
    pub env: BTreeMap<String, String>,
    /// `%(host_node_name)s`.
    pub host_node_name: String,
}

#[derive(Debug)]
pub enum Error {
    Read {
        path: PathBuf,
        source: io::Error,
    },
    Syntax(IniError),
    /// A value supervisord itself would refuse.
    Invalid {
        file: PathBuf,
        line: usize,
        section: String,
        key: String,
        why: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, source } => {
                write!(f, "unable to read {}: {source}", path.display())
            }
            Error::Syntax(e) => write!(f, "{e}"),
            Error::Invalid {
                file,
                line,
                section,
                key,
                why,
            } => write!(f, "{}:{line}: [{section}] {key}: {why}", file.display()),
        }
    }
}

/// The result: directories to write and the report.
#[derive(Debug, Default)]
pub struct Conversion {
    pub dirs: Vec<ServiceDir>,
    pub report: Report,
}

/// Shared by every section: the parsed files and what `[supervisord]`
/// passes on to every program.
pub struct Ctx<'a> {
    pub ini: &'a Ini,
    pub opts: &'a Options,
    /// `%(here)s` in supervisord's expansion table: the first FILE's
    /// directory.
    pub here: String,
    pub env: Vec<(String, String)>,
    pub user: Option<(String, Origin)>,
    pub umask: Option<u32>,
    env_notes: RefCell<Vec<(Origin, String)>>,
}

impl Ctx<'_> {
    /// A name every value can use.
    pub fn global(&self, name: &str) -> Option<Val> {
        match name {
            "here" => Some(Val::Str(self.here.clone())),
            "host_node_name" => Some(Val::Str(self.opts.host_node_name.clone())),
            _ => {
                let var = name.strip_prefix("ENV_")?;
                if let Some((_, v)) = self.env.iter().find(|(k, _)| k == var) {
                    return Some(Val::Str(v.clone()));
                }
                self.opts.env.get(var).map(|v| Val::Str(v.clone()))
            }
        }
    }

    /// Remembers that `origin` used `%(ENV_X)s` values of this machine.
    pub fn note_env(&self, origin: Origin, names: &[String]) {
        let mut notes = self.env_notes.borrow_mut();
        for n in names {
            if !notes.iter().any(|(o, m)| *o == origin && m == n) {
                notes.push((origin.clone(), n.clone()));
            }
        }
    }
}

/// The directory of `file`, as supervisord's `%(here)s` has it.
pub fn dir_of(file: &Path) -> String {
    file.parent()
        .map(|p| p.display().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| ".".into())
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
    }
}

fn read(ini: &mut Ini, path: &Path) -> Result<(), Error> {
    let text = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8_lossy(&text);
    ini.read_str(&text, path).map_err(Error::Syntax)
}

/// Reads `files` (and their includes) and converts them.
pub fn convert(files: &[PathBuf], opts: &Options) -> Result<Conversion, Error> {
    let mut ini = Ini::default();
    let mut report = Report::default();
    for f in files {
        let main = absolute(f);
        read(&mut ini, &main)?;
        includes(&mut ini, &main, opts, &mut report)?;
    }
    let here = files
        .first()
        .map(|f| dir_of(&absolute(f)))
        .unwrap_or_default();
    convert_ini(&ini, here, opts, report)
}

/// `[include] files =` of the main file just read.
fn includes(ini: &mut Ini, main: &Path, opts: &Options, report: &mut Report) -> Result<(), Error> {
    let Some(sec) = ini.section("include") else {
        return Ok(());
    };
    let Some(e) = sec.get("files").filter(|e| e.file == main).cloned() else {
        return Ok(());
    };
    let origin = Origin {
        file: e.file.clone(),
        line: e.line,
        section: "include".into(),
        setting: format!("files={}", e.value),
    };
    let here = dir_of(main);
    let text = e.value.replace("%(here)s", &here);
    let table = |n: &str| match n {
        "here" => Some(Val::Str(here.clone())),
        "host_node_name" => Some(Val::Str(opts.host_node_name.clone())),
        _ => n
            .strip_prefix("ENV_")
            .and_then(|v| opts.env.get(v))
            .map(|v| Val::Str(v.clone())),
    };
    let text = expand_with(&text, &table).map_err(|why| Error::Invalid {
        file: e.file.clone(),
        line: e.line,
        section: "include".into(),
        key: "files".into(),
        why: why.to_string(),
    })?;
    let mut read_list = Vec::new();
    for pattern in text.split_whitespace() {
        let full = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            format!("{here}/{pattern}")
        };
        let found = glob(&full);
        if found.is_empty() {
            report.push(
                origin.clone(),
                Status::Note,
                format!("no file matches {full} (supervisord warns and goes on)"),
            );
        }
        for path in found {
            if !path.is_file() {
                report.push(
                    origin.clone(),
                    Status::Note,
                    format!(
                        "{} is not a readable file: skipped, as supervisord skips it",
                        path.display()
                    ),
                );
                continue;
            }
            read(ini, &path)?;
            read_list.push(path.display().to_string());
            if let Some(nested) = ini
                .section("include")
                .and_then(|s| s.get("files"))
                .filter(|n| n.file == path)
            {
                report.push(
                    Origin {
                        file: nested.file.clone(),
                        line: nested.line,
                        section: "include".into(),
                        setting: format!("files={}", nested.value),
                    },
                    Status::NoEquivalent,
                    "an [include] in an included file: supervisord does not follow it, nor does svimport",
                );
            }
        }
    }
    report.push(
        origin,
        Status::Mapped,
        if read_list.is_empty() {
            "no file included".to_string()
        } else {
            format!("read {}", read_list.join(", "))
        },
    );
    Ok(())
}

/// How a well-known exit listener stops the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitListener {
    /// `essential` file contents: empty (any exit) or `limit\n` (FATAL).
    pub mode: &'static str,
    /// Programs named on its command line; empty = all programs.
    pub programs: Vec<String>,
    pub evidence: String,
}

const WATCHDOG_NAMES: &[&str] = &[
    "supervisord_watchdog",
    "supervisord-watchdog",
    "supervisor_watchdog",
    "supervisor-watchdog",
    "supervisor-proc-exit-listener",
    "supervisor_proc_exit_listener",
    "supervisord-exit-on-done",
    "kill_supervisor",
    "kill-supervisor",
    "kill_supervisord",
    "kill-supervisord",
];

/// Does `text` (a command line or a listener script) kill supervisord?
fn kills_supervisord(text: &str) -> Option<&'static str> {
    let t = text.to_lowercase();
    let checks: &[(&str, &[&str])] = &[
        ("supervisorctl shutdown", &["supervisorctl shutdown"]),
        ("kill of the parent ($PPID)", &["kill", "$ppid"]),
        ("kill of the parent (getppid)", &["kill", "getppid"]),
        (
            "kill of supervisord's pid file",
            &["kill", "supervisord.pid"],
        ),
        ("kill of pid 1", &["kill -", " 1"]),
        ("kill of supervisord", &["kill", "supervisord"]),
    ];
    for (what, needles) in checks {
        if needles.iter().all(|n| t.contains(n)) {
            return Some(what);
        }
    }
    None
}

/// Recognises the "exit the container when a program dies" listeners.
pub fn exit_listener(
    command: &str,
    events: &[String],
    programs: &[String],
    here: &str,
) -> Option<ExitListener> {
    let lower = command.to_lowercase();
    let mut evidence = WATCHDOG_NAMES
        .iter()
        .find(|n| lower.contains(*n))
        .map(|n| format!("the command runs {n}"));
    if evidence.is_none() {
        evidence = kills_supervisord(command).map(|w| format!("the command line does a {w}"));
    }
    if evidence.is_none() {
        // A script on this machine: look inside.
        for w in super::shellwords::split_posix(command).unwrap_or_default() {
            let p = if w.starts_with('/') {
                PathBuf::from(&w)
            } else {
                Path::new(here).join(&w)
            };
            let Ok(meta) = std::fs::metadata(&p) else {
                continue;
            };
            if !meta.is_file() || meta.len() > 256 * 1024 {
                continue;
            }
            if let Ok(text) = std::fs::read(&p) {
                let text = String::from_utf8_lossy(&text);
                if let Some(what) = kills_supervisord(&text) {
                    evidence = Some(format!("{} does a {what}", p.display()));
                    break;
                }
            }
        }
    }
    let evidence = evidence?;
    let state_events: Vec<&String> = events
        .iter()
        .filter(|e| e.starts_with("PROCESS_STATE"))
        .collect();
    if state_events.is_empty() {
        return None;
    }
    let only_fatal = state_events.iter().all(|e| *e == "PROCESS_STATE_FATAL");
    let words: BTreeSet<String> = command
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map(str::to_string)
        .collect();
    let named: Vec<String> = programs
        .iter()
        .filter(|p| words.contains(*p))
        .cloned()
        .collect();
    Some(ExitListener {
        mode: if only_fatal { "limit\n" } else { "" },
        programs: named,
        evidence,
    })
}

/// What a global section's key means for svkit.
fn global_meaning(section: &str, key: &str) -> Option<(Status, &'static str)> {
    use Status::*;
    let m = match (section, key) {
        ("supervisord", "nodaemon") => (Mapped, "svscan always stays in the foreground"),
        ("supervisord", "logfile" | "logfile_maxbytes" | "logfile_backups" | "loglevel" | "silent") => {
            (Mapped, "svscan writes its own messages to its stderr (the container log), nothing to a file")
        }
        ("supervisord", "pidfile") => (Mapped, "svscan writes its pid to $SVKIT_RUNDIR/svscan.pid"),
        ("supervisord", "umask") => (Mapped, "given to every program without its own umask (umask in run)"),
        ("supervisord", "user") => (Mapped, "programs without their own user run as this user (chpst -u in run); svscan runs as the container's user"),
        ("supervisord", "directory") => (Mapped, "nothing needed: supervisord used it only when it daemonized; svscan never does"),
        ("supervisord", "environment") => (Mapped, "exported in every program's run, under the program's own environment"),
        ("supervisord", "identifier") => (Mapped, "nothing needed: it named supervisord for XML-RPC clients"),
        ("supervisord", "minfds") => (NoEquivalent, "svscan does not raise the open-files limit; per service use chpst -o N in run, or docker run --ulimit nofile=N"),
        ("supervisord", "minprocs") => (NoEquivalent, "svscan does not raise the process limit; per service use chpst -p N in run, or docker run --ulimit nproc=N"),
        ("supervisord", "nocleanup" | "childlogdir") => (Mapped, "nothing needed: AUTO log files do not exist in svkit (output goes to the container's stdout)"),
        ("supervisord", "strip_ansi") => (NoEquivalent, "svkit copies output unchanged; filter escape sequences in the program or a log/run"),
        ("unix_http_server", _) => (Mapped, "nothing needed: svkit has no control socket; svctl works on the service directories' files"),
        ("inet_http_server", _) => (Mapped, "nothing needed: svkit has no HTTP interface; use svctl (docker exec) or svctl status as a probe"),
        ("supervisorctl", _) => (Mapped, "nothing needed: svctl finds services through SVDIR (default /etc/service), no server URL or password"),
        ("rpcinterface", "supervisor.rpcinterface_factory") => (Mapped, "nothing needed: svkit has no XML-RPC interface"),
        ("rpcinterface", _) => (NoEquivalent, "an RPC plugin's setting: svkit has no XML-RPC interface"),
        ("ctlplugin", _) => (NoEquivalent, "a supervisorctl plugin's setting: svctl has no plugins"),
        _ => return None,
    };
    Some(m)
}

fn known_global_key(section: &str, key: &str) -> bool {
    let known: &[&str] = match section {
        "supervisord" => &[
            "nodaemon",
            "logfile",
            "logfile_maxbytes",
            "logfile_backups",
            "loglevel",
            "silent",
            "pidfile",
            "umask",
            "user",
            "directory",
            "environment",
            "identifier",
            "minfds",
            "minprocs",
            "nocleanup",
            "childlogdir",
            "strip_ansi",
        ],
        "unix_http_server" => &["file", "chmod", "chown", "username", "password"],
        "inet_http_server" => &["port", "username", "password"],
        "supervisorctl" => &[
            "serverurl",
            "username",
            "password",
            "prompt",
            "history_file",
        ],
        _ => return true,
    };
    known.contains(&key)
}

fn origin_of(sec: &Section, e: &Entry) -> Origin {
    Origin {
        file: e.file.clone(),
        line: e.line,
        section: sec.name.clone(),
        setting: format!("{}={}", e.key, e.value),
    }
}

fn section_origin(sec: &Section) -> Origin {
    Origin {
        file: sec.file.clone(),
        line: sec.line,
        section: sec.name.clone(),
        setting: String::new(),
    }
}

fn invalid(sec: &Section, e: &Entry, why: impl Into<String>) -> Error {
    Error::Invalid {
        file: e.file.clone(),
        line: e.line,
        section: sec.name.clone(),
        key: e.key.clone(),
        why: why.into(),
    }
}

/// Converts parsed files (`here`: the main file's directory).
pub fn convert_ini(
    ini: &Ini,
    here: String,
    opts: &Options,
    mut report: Report,
) -> Result<Conversion, Error> {
    // [supervisord]: what it passes on to programs.
    let mut env = Vec::new();
    let mut user = None;
    let mut umask = None;
    if let Some(sec) = ini.section("supervisord") {
        let pre = Ctx {
            ini,
            opts,
            here: here.clone(),
            env: Vec::new(),
            user: None,
            umask: None,
            env_notes: RefCell::new(Vec::new()),
        };
        let exp = |e: &Entry| -> Result<String, Error> {
            let text = e.value.replace("%(here)s", &dir_of(&e.file));
            expand_with(&text, &|n| pre.global(n)).map_err(|why| invalid(sec, e, why.to_string()))
        };
        if let Some(e) = ini.lookup(sec, "environment") {
            let (pairs, odd) = dt::key_value_pairs(&exp(e)?).map_err(|why| invalid(sec, e, why))?;
            env = pairs;
            for o in odd {
                report.push(
                    origin_of(sec, e),
                    Status::Note,
                    format!("supervisord reads this value oddly and so does svimport: {o}"),
                );
            }
        }
        if let Some(e) = ini.lookup(sec, "user") {
            user = Some((exp(e)?, origin_of(sec, e)));
        }
        if let Some(e) = ini.lookup(sec, "umask") {
            umask = Some(dt::octal(&exp(e)?).map_err(|why| invalid(sec, e, why))?);
        }
    } else if !ini.sections.is_empty() {
        report.push(
            section_origin(&ini.sections[0]),
            Status::Note,
            "no [supervisord] section: supervisord would refuse this configuration; converted anyway",
        );
    }
    let ctx = Ctx {
        ini,
        opts,
        here: here.clone(),
        env,
        user,
        umask,
        env_notes: RefCell::new(Vec::new()),
    };

    for d in &ini.defaults {
        report.push(
            Origin {
                file: d.file.clone(),
                line: d.line,
                section: "DEFAULT".into(),
                setting: format!("{}={}", d.key, d.value),
            },
            Status::Note,
            "a [DEFAULT] value: supervisord sees it in every section that does not set the key; so does svimport",
        );
    }

    let programs: Vec<String> = ini
        .sections
        .iter()
        .filter_map(|s| s.name.strip_prefix("program:").map(str::to_string))
        .collect();

    // Groups: membership first (a program's %(group_name)s).
    let mut group_of: BTreeMap<String, String> = BTreeMap::new();
    let mut groups: Vec<(&Section, Vec<String>, i64, Option<&Entry>)> = Vec::new();
    for sec in ini.sections.iter().filter(|s| s.name.starts_with("group:")) {
        let name = dt::process_name(&sec.name["group:".len()..]).map_err(|why| Error::Invalid {
            file: sec.file.clone(),
            line: sec.line,
            section: sec.name.clone(),
            key: "section name".into(),
            why,
        })?;
        let members = match ini.lookup(sec, "programs") {
            Some(e) => dt::strings(&e.value),
            None => Vec::new(),
        };
        for m in &members {
            if !programs.contains(m) {
                let e = ini.lookup(sec, "programs");
                return Err(match e {
                    Some(e) => invalid(sec, e, format!("names unknown program {m}")),
                    None => unreachable_group(sec),
                });
            }
            group_of.entry(m.clone()).or_insert_with(|| name.clone());
        }
        let (prio, pe) = match ini.lookup(sec, "priority") {
            Some(e) => (
                dt::integer(&e.value).map_err(|why| invalid(sec, e, why))?,
                Some(e),
            ),
            None => (999, None),
        };
        groups.push((sec, members, prio, pe));
    }

    // Event listeners: the exit watchdogs become essential files.
    let mut essential: BTreeMap<String, (&'static str, Origin)> = BTreeMap::new();
    let mut listener_lines: Vec<(Origin, Status, String)> = Vec::new();
    for sec in ini
        .sections
        .iter()
        .filter(|s| s.name.starts_with("eventlistener:"))
    {
        let cmd = ini
            .lookup(sec, "command")
            .map(|e| e.value.clone())
            .unwrap_or_default();
        let events: Vec<String> = ini
            .lookup(sec, "events")
            .map(|e| {
                dt::strings(&e.value)
                    .iter()
                    .map(|s| s.to_uppercase())
                    .collect()
            })
            .unwrap_or_default();
        match exit_listener(&cmd, &events, &programs, &here) {
            Some(l) => {
                let targets = if l.programs.is_empty() {
                    programs.clone()
                } else {
                    l.programs.clone()
                };
                let origin = ini
                    .lookup(sec, "command")
                    .map_or_else(|| section_origin(sec), |e| origin_of(sec, e));
                for p in &targets {
                    essential
                        .entry(p.clone())
                        .or_insert((l.mode, origin.clone()));
                }
                listener_lines.push((
                    origin,
                    Status::Mapped,
                    format!(
                        "an exit watchdog ({}; events {}): not converted to a service; instead {} of {} {} an essential file{}",
                        l.evidence,
                        events.join(","),
                        if l.programs.is_empty() { "each" } else { "each named one" },
                        targets.join(", "),
                        if targets.len() == 1 { "gets" } else { "get" },
                        if l.mode.is_empty() { " (the container stops when its run exits, with its exit code)" } else { " containing limit (the container stops when supervise gives up restarting it, as on PROCESS_STATE_FATAL)" }
                    ),
                ));
                for e in &sec.entries {
                    if e.key != "command" {
                        listener_lines.push((
                            origin_of(sec, e),
                            Status::Mapped,
                            "part of the exit watchdog replaced by essential files".into(),
                        ));
                    }
                }
            }
            None => {
                listener_lines.push((
                    section_origin(sec),
                    Status::NoEquivalent,
                    "svkit has no event listener protocol: not converted. svkit's hooks: a finish script in a service directory runs after every exit of run (./finish CODE SIGNAL); svscan runs init.d scripts at boot and pre-shutdown.d and finish.d hooks at shutdown (svkit-container(7)); svctl status --json and svctl -w wait on state from outside".into(),
                ));
                for e in &sec.entries {
                    listener_lines.push((
                        origin_of(sec, e),
                        Status::NoEquivalent,
                        "part of an event listener, not converted".into(),
                    ));
                }
            }
        }
    }

    // Global sections.
    for sec in &ini.sections {
        let kind = sec.name.split(':').next().unwrap_or("");
        let global = matches!(
            sec.name.as_str(),
            "supervisord" | "unix_http_server" | "inet_http_server" | "supervisorctl"
        ) || sec.name.starts_with("rpcinterface:")
            || sec.name.starts_with("ctlplugin:");
        if !global {
            continue;
        }
        for e in &sec.entries {
            let o = origin_of(sec, e);
            if !known_global_key(kind, &e.key) {
                report.push(
                    o,
                    Status::NoEquivalent,
                    "unknown key: supervisord ignores it",
                );
                continue;
            }
            match global_meaning(kind, &e.key) {
                Some((s, t)) => report.push(o, s, t),
                None => report.push(
                    o,
                    Status::NoEquivalent,
                    "unknown key: supervisord ignores it",
                ),
            }
        }
    }

    // Programs.
    let mut converted: Vec<(String, Converted)> = Vec::new();
    for sec in ini
        .sections
        .iter()
        .filter(|s| s.name.starts_with("program:"))
    {
        let pname = &sec.name["program:".len()..];
        let group = group_of
            .get(pname)
            .cloned()
            .unwrap_or_else(|| pname.trim().to_string());
        let ess = essential.get(pname).map(|(m, o)| (*m, o));
        let c = program::convert(&ctx, &mut report, sec, &group, ess)?;
        if converted.iter().any(|(_, o)| o.dir.name == c.dir.name) {
            return Err(Error::Invalid {
                file: sec.file.clone(),
                line: sec.line,
                section: sec.name.clone(),
                key: "process_name".into(),
                why: format!(
                    "another program already became the service directory {}",
                    c.dir.name
                ),
            });
        }
        converted.push((pname.to_string(), c));
    }
    for (o, s, t) in listener_lines {
        report.push(o, s, t);
    }

    // Other sections.
    for sec in &ini.sections {
        let n = sec.name.as_str();
        let handled = n.starts_with("program:")
            || n.starts_with("group:")
            || n.starts_with("eventlistener:")
            || n.starts_with("rpcinterface:")
            || n.starts_with("ctlplugin:")
            || matches!(
                n,
                "supervisord"
                    | "unix_http_server"
                    | "inet_http_server"
                    | "supervisorctl"
                    | "include"
            );
        if handled {
            if n == "include" {
                for e in sec.entries.iter().filter(|e| e.key != "files") {
                    report.push(
                        origin_of(sec, e),
                        Status::NoEquivalent,
                        "unknown key: supervisord ignores it",
                    );
                }
            }
            continue;
        }
        let why = if n.starts_with("fcgi-program:") {
            "svkit does not hold listening sockets for programs: not converted (run the program with its own socket, or use s6-ipcserver/tcpserver in run)"
        } else {
            "unknown section: supervisord ignores it"
        };
        report.push(section_origin(sec), Status::NoEquivalent, why);
        for e in &sec.entries {
            report.push(
                origin_of(sec, e),
                Status::NoEquivalent,
                "part of a section that is not converted",
            );
        }
    }

    // Groups -> bundles; priorities -> dependencies.d.
    let mut dirs: Vec<ServiceDir> = Vec::new();
    let group_prio: BTreeMap<String, i64> = groups
        .iter()
        .flat_map(|(_, members, p, _)| members.iter().map(move |m| (m.clone(), *p)))
        .collect();
    order(&mut converted, &group_prio, &mut report);
    let service_names: BTreeSet<String> =
        converted.iter().map(|(_, c)| c.dir.name.clone()).collect();
    for (sec, members, prio, pe) in &groups {
        let mut name = sec.name["group:".len()..].trim().to_string();
        if service_names.contains(&name) {
            name = format!("{name}-bundle");
        }
        let mut b = ServiceDir::new(&name);
        b.file("type", "bundle\n");
        let mut all = Vec::new();
        for m in members {
            if let Some((_, c)) = converted.iter().find(|(p, _)| p == m) {
                for s in &c.services {
                    b.file(&format!("contents.d/{s}"), "");
                    all.push(s.clone());
                }
            }
        }
        let o = ini
            .lookup(sec, "programs")
            .map_or_else(|| section_origin(sec), |e| origin_of(sec, e));
        report.push(
            o,
            Status::Mapped,
            format!(
                "bundle {name} (s6-rc source format: type, contents.d/) with {}",
                all.join(", ")
            ),
        );
        if let Some(e) = pe {
            report.push(
                origin_of(sec, e),
                Status::Mapped,
                format!("start order of its members (priority {prio}), see their dependencies.d"),
            );
        }
        for e in sec
            .entries
            .iter()
            .filter(|e| e.key != "programs" && e.key != "priority")
        {
            report.push(
                origin_of(sec, e),
                Status::NoEquivalent,
                "unknown key: supervisord ignores it",
            );
        }
        dirs.push(b);
    }
    for (o, name) in ctx.env_notes.borrow().iter() {
        let var = name.trim_start_matches("ENV_");
        let shown = ctx
            .env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
            .or_else(|| opts.env.get(var).cloned())
            .unwrap_or_default();
        report.push(o.clone(), Status::Note, format!(
            "%({name})s was taken from the environment of the machine svimport ran on ({var}={}), not the container's; supervisord would read it at its own start",
            super::shquote::quote(&shown)
        ));
    }
    let mut out: Vec<ServiceDir> = converted.into_iter().map(|(_, c)| c.dir).collect();
    out.extend(dirs);
    Ok(Conversion { dirs: out, report })
}

fn unreachable_group(sec: &Section) -> Error {
    Error::Invalid {
        file: sec.file.clone(),
        line: sec.line,
        section: sec.name.clone(),
        key: "programs".into(),
        why: "a group without programs".into(),
    }
}

/// supervisord starts groups by priority (lower first), then the programs
/// of a group by their own priority, without waiting for any of them; it
/// stops them in the reverse order. svkit keeps that order with s6-rc's
/// `dependencies.d/`: each service that starts at boot depends on every
/// service of the next lower priority level that starts at boot (the
/// chain orders all levels). Unlike supervisord's order, a dependency is
/// waited for: a service starts once those before it are up. Services
/// with a `down` file take no part (a dependency would start them).
pub fn order(
    converted: &mut [(String, Converted)],
    group_prio: &BTreeMap<String, i64>,
    report: &mut Report,
) {
    let key = |name: &str, c: &Converted| {
        (
            group_prio.get(name).copied().unwrap_or(c.priority),
            c.priority,
        )
    };
    let mut levels: Vec<(i64, i64)> = converted
        .iter()
        .filter(|(_, c)| c.autostart)
        .map(|(n, c)| key(n, c))
        .collect();
    levels.sort();
    levels.dedup();
    let snapshot: Vec<((i64, i64), bool, Vec<String>)> = converted
        .iter()
        .map(|(n, c)| (key(n, c), c.autostart, c.services.clone()))
        .collect();
    for (i, (_, c)) in converted.iter_mut().enumerate() {
        let (lvl, autostart, _) = &snapshot[i];
        let autostart = *autostart;
        let pos = levels.iter().position(|l| l == lvl);
        let deps: Vec<String> = match pos {
            Some(p) if autostart && p > 0 => snapshot
                .iter()
                .filter(|(l2, a2, _)| *a2 && *l2 == levels[p - 1])
                .flat_map(|(_, _, s2)| s2.iter().cloned())
                .collect(),
            _ => Vec::new(),
        };
        let text = if !autostart {
            "no start order: the service does not start at boot (a dependency would start it)"
                .to_string()
        } else if deps.is_empty() {
            if levels.len() > 1 {
                "starts first: no service starting at boot has a lower priority".to_string()
            } else {
                "nothing written: no other service that starts at boot has a different priority"
                    .to_string()
            }
        } else {
            for d in &deps {
                c.dir.file(&format!("dependencies.d/{d}"), "");
            }
            format!(
                "{}/dependencies.d/: starts after {} (the next lower priority) and stops before them; svkit waits until they are up, supervisord only started them first",
                c.dir.name,
                deps.join(", ")
            )
        };
        let status = if deps.is_empty() {
            Status::Mapped
        } else {
            Status::Approximated
        };
        report.push(c.priority_origin.clone(), status, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        let mut env = BTreeMap::new();
        env.insert("APP_HOME".to_string(), "/opt/app".to_string());
        Options {
            env,
            host_node_name: "box".into(),
        }
    }

    fn conv(text: &str) -> Conversion {
        try_conv(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_conv(text: &str) -> Result<Conversion, Error> {
        let mut ini = Ini::default();
        ini.read_str(text, Path::new("/etc/sv/s.conf"))
            .map_err(Error::Syntax)?;
        convert_ini(&ini, "/etc/sv".into(), &opts(), Report::default())
    }

    fn file<'a>(c: &'a Conversion, dir: &str, path: &str) -> Option<&'a str> {
        c.dirs
            .iter()
            .find(|d| d.name == dir)
            .and_then(|d| d.get(path))
            .map(|f| f.contents.as_str())
    }

    fn report(c: &Conversion) -> String {
        c.report.render()
    }

    #[test]
    fn command_directory_user_umask_environment() {
        let c = conv(
            "[supervisord]\nenvironment=G=\"g\"\numask=027\n[program:web]\n\
             command=/usr/bin/web --name \"%(program_name)s x\" 'it''s' %(ENV_APP_HOME)s/%(here)s\n\
             directory=%(here)s/srv\nuser=www\n\
             environment=A=\"1, 2\",B='$x',PATH=\"/opt/bin:/bin\",G=own\n",
        );
        let run = file(&c, "web", "run").unwrap();
        assert!(
            run.contains("exec chpst -u www /usr/bin/web --name 'web x' its /opt/app//etc/sv\n"),
            "{run}"
        );
        assert!(run.contains("cd /etc/sv/srv || exit 111\n"), "{run}");
        assert!(run.contains("umask 0027\n"), "{run}");
        assert!(
            run.contains(
                "export A='1, 2'\nexport B='$x'\nexport PATH=/opt/bin:/bin\nexport G=own\n"
            ),
            "{run}"
        );
        assert!(!run.contains("G=g"), "program value wins: {run}");
        let r = report(&c);
        assert!(r.contains("%(ENV_APP_HOME)s was taken from the environment of the machine svimport ran on (APP_HOME=/opt/app)"), "{r}");
        let c = conv("[program:n]\ncommand=x\nuser=1000\n");
        assert!(file(&c, "n", "run")
            .unwrap()
            .contains("chpst -u :1000:\"$gid\" x"));
    }

    #[test]
    fn autostart_autorestart_exitcodes() {
        let c = conv(
            "[program:a]\ncommand=a\nautostart=false\nautorestart=false\n\
             [program:b]\ncommand=b\nautorestart=true\nexitcodes=0,2\n\
             [program:c]\ncommand=c\nautorestart=unexpected\nexitcodes=0,2\n\
             [program:d]\ncommand=d\n",
        );
        assert_eq!(file(&c, "a", "down"), Some(""));
        assert!(file(&c, "a", "finish").unwrap().contains("\nexit 125\n"));
        assert!(file(&c, "b", "finish").is_none());
        assert!(file(&c, "b", "down").is_none());
        assert!(file(&c, "c", "finish")
            .unwrap()
            .contains("  0|2) exit 125 ;;"));
        assert!(file(&c, "d", "finish")
            .unwrap()
            .contains("  0) exit 125 ;;"));
        let r = report(&c);
        assert!(
            r.contains(
                "s.conf:8: [program:b] exitcodes=0,2: mapped: no effect with autorestart=true"
            ),
            "{r}"
        );
        assert!(
            r.contains("s.conf:13: [program:d] (default) autorestart=unexpected: approximated"),
            "{r}"
        );
    }

    #[test]
    fn restart_stop_and_kill_settings() {
        let c = conv(
            "[program:a]\ncommand=a\nstartsecs=5\nstartretries=2\nstopsignal=SIGQUIT\n\
             stopwaitsecs=3\nstopasgroup=true\n[program:b]\ncommand=b\nstopwaitsecs=0\nstopsignal=TERM\n",
        );
        assert_eq!(file(&c, "a", "restart-backoff"), Some("1000 2000\n"));
        // delays 1 + 2, and three starts of 5 s
        assert_eq!(file(&c, "a", "restart-limit"), Some("2 18\n"));
        assert_eq!(file(&c, "a", "down-signal"), Some("QUIT\n"));
        assert_eq!(file(&c, "a", "timeout-kill"), Some("3000\n"));
        assert_eq!(file(&c, "b", "timeout-kill"), Some("1\n"));
        assert!(file(&c, "b", "down-signal").is_none());
        assert_eq!(file(&c, "b", "restart-limit"), Some("3 10\n"));
        let r = report(&c);
        assert!(r.contains("stopasgroup=true: no equivalent"), "{r}");
        let e =
            try_conv("[program:a]\ncommand=a\nstopasgroup=true\nkillasgroup=false\n").unwrap_err();
        assert!(
            e.to_string().contains("s.conf:4: [program:a] killasgroup:"),
            "{e}"
        );
    }

    #[test]
    fn logging() {
        let c = conv(
            "[program:o]\ncommand=o\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\
             stderr_logfile=/dev/stderr\n\
             [program:f]\ncommand=f\nstdout_logfile=/var/log/f.log\nstdout_logfile_maxbytes=10KB\n\
             stdout_logfile_backups=0\nredirect_stderr=true\n\
             [program:e]\ncommand=e\nstdout_logfile=NONE\nstderr_logfile=/var/log/e.err\n\
             [program:x]\ncommand=x\nstdout_logfile=/dev/stderr\nstderr_logfile=/dev/stdout\n",
        );
        let o = file(&c, "o", "run").unwrap();
        assert!(!o.contains("exec 1>&2") && !o.contains("exec 2>&1"), "{o}");
        assert!(file(&c, "o", "log/run").is_none());
        let lr = file(&c, "f", "log/run").unwrap();
        assert!(lr.contains("dir=/var/log/f\n"), "{lr}");
        assert!(lr.contains("printf '%s\\n' s10240 n1 >"), "{lr}");
        assert!(lr.contains("exec svlog -tt \"$dir\"\n"), "{lr}");
        assert!(file(&c, "f", "run").unwrap().contains("exec 2>&1"));
        let e = file(&c, "e", "run").unwrap();
        assert!(
            e.find("exec 3>&1 1>&2 2>&3 3>&-").unwrap() < e.find("exec >/dev/null").unwrap(),
            "{e}"
        );
        assert!(file(&c, "e", "log/run")
            .unwrap()
            .contains("dir=/var/log/e\n"));
        let x = file(&c, "x", "run").unwrap();
        assert!(x.contains("exec 1>&2") && x.contains("exec 2>&1"), "{x}");
        let r = report(&c);
        assert!(r.contains("--log-prefix (SVSCAN_LOG_PREFIX=1)"), "{r}");
        assert!(
            r.contains("stdout_logfile_backups=0: approximated: svlog config n1"),
            "{r}"
        );
    }

    #[test]
    fn numprocs_become_instances() {
        // %(process_name)s is not a supervisord expansion: an error.
        let e = try_conv(
            "[program:worker]\ncommand=w --name %(process_name)s\n\
             process_name=%(program_name)s_%(process_num)02d\nnumprocs=2\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("%(process_name) cannot be expanded"),
            "{e}"
        );
        let c = conv(
            "[program:worker]\ncommand=w --id %(process_num)d x%(numprocs)d\n\
             process_name=%(program_name)s_%(process_num)02d\nnumprocs=2\nnumprocs_start=9\n\
             directory=/srv/%(process_num)d\n",
        );
        assert_eq!(file(&c, "worker@", "instances"), Some("09\n10\n"));
        let run = file(&c, "worker@", "run").unwrap();
        assert!(
            run.contains("  09) process_num=9 ;;\n  10) process_num=10 ;;\n"),
            "{run}"
        );
        assert!(run.contains("exec w --id \"${process_num}\" x2\n"), "{run}");
        assert!(
            run.contains("cd /srv/\"${process_num}\" || exit 111"),
            "{run}"
        );
        let e = try_conv("[program:w]\ncommand=w\nnumprocs=2\n").unwrap_err();
        assert!(
            e.to_string().contains("%(process_num) must be present"),
            "{e}"
        );
    }

    #[test]
    fn unknown_names_are_errors() {
        let e = try_conv("[program:w]\ncommand=w %(nope)s\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/sv/s.conf:2: [program:w] command: %(nope) cannot be expanded: no such name"
        );
        let e = try_conv("[program:w]\ncommand=w %(ENV_NOT_SET_HERE)s\n").unwrap_err();
        assert!(e.to_string().contains("ENV_NOT_SET_HERE"), "{e}");
        let e = try_conv("[program:w]\nautostart=maybe\ncommand=w\n").unwrap_err();
        assert!(
            e.to_string()
                .contains(":2: [program:w] autostart: not a valid boolean"),
            "{e}"
        );
        let e = try_conv("[program:w]\ndirectory=/\n").unwrap_err();
        assert!(e.to_string().contains("does not specify a command"), "{e}");
    }

    #[test]
    fn groups_priorities_and_unknown_keys() {
        let c = conv(
            "[program:db]\ncommand=db\npriority=1\n[program:web]\ncommand=web\npriority=5\n\
             [program:api]\ncommand=api\npriority=5\n[program:late]\ncommand=late\npriority=9\n\
             [program:off]\ncommand=off\npriority=0\nautostart=false\n\
             [group:front]\nprograms=web,api\npriority=5\nbogus=1\n",
        );
        assert_eq!(file(&c, "front", "type"), Some("bundle\n"));
        assert_eq!(file(&c, "front", "contents.d/web"), Some(""));
        assert_eq!(file(&c, "front", "contents.d/api"), Some(""));
        assert_eq!(file(&c, "web", "dependencies.d/db"), Some(""));
        assert_eq!(file(&c, "api", "dependencies.d/db"), Some(""));
        assert_eq!(file(&c, "late", "dependencies.d/web"), Some(""));
        assert_eq!(file(&c, "late", "dependencies.d/api"), Some(""));
        assert!(file(&c, "late", "dependencies.d/db").is_none());
        assert!(file(&c, "db", "dependencies.d/off").is_none());
        let r = report(&c);
        assert!(
            r.contains("s.conf:20: [group:front] bogus=1: no equivalent: unknown key"),
            "{r}"
        );
        let e = try_conv("[group:g]\nprograms=nope\n").unwrap_err();
        assert!(e.to_string().contains("names unknown program nope"), "{e}");
    }

    #[test]
    fn event_listeners() {
        let c = conv(
            "[program:a]\ncommand=a\n[program:b]\ncommand=b\n\
             [eventlistener:dog]\ncommand=/usr/local/bin/supervisord_watchdog\nevents=PROCESS_STATE_FATAL\n",
        );
        assert_eq!(file(&c, "a", "essential"), Some("limit\n"));
        assert_eq!(file(&c, "b", "essential"), Some("limit\n"));
        assert!(c.dirs.iter().all(|d| d.name != "dog"));
        let c = conv(
            "[program:a]\ncommand=a\n[program:b]\ncommand=b\n\
             [eventlistener:quit]\ncommand=sh -c 'printf \"READY\\n\"; read line; kill -TERM $PPID'\n\
             events=PROCESS_STATE_EXITED,PROCESS_STATE_FATAL\n",
        );
        assert_eq!(file(&c, "a", "essential"), Some(""));
        let c = conv(
            "[program:a]\ncommand=a\n[program:b]\ncommand=b\n\
             [eventlistener:x]\ncommand=supervisor-proc-exit-listener --programs=b\nevents=PROCESS_STATE_EXITED\n",
        );
        assert_eq!(file(&c, "b", "essential"), Some(""));
        assert!(file(&c, "a", "essential").is_none());
        let c = conv(
            "[program:a]\ncommand=a\n[eventlistener:mail]\ncommand=crashmail -m x@y\nevents=PROCESS_STATE_EXITED\n",
        );
        assert!(file(&c, "a", "essential").is_none());
        let r = report(&c);
        assert!(
            r.contains("[eventlistener:mail]: no equivalent: svkit has no event listener protocol"),
            "{r}"
        );
        assert!(r.contains("finish script"), "{r}");
        assert!(
            r.contains("[eventlistener:mail] command=crashmail -m x@y: no equivalent"),
            "{r}"
        );
    }

    #[test]
    fn global_sections_are_explained() {
        let c = conv(
            "[supervisord]\nnodaemon=true\nlogfile=/dev/null\nminfds=4096\nweird=1\n\
             [inet_http_server]\nport=*:9001\n[unix_http_server]\nfile=/tmp/s.sock\n\
             [supervisorctl]\nserverurl=unix:///tmp/s.sock\n[rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface\n\
             [fcgi-program:f]\ncommand=f\nsocket=tcp://:9000\n[mystery]\nx=1\n",
        );
        let r = report(&c);
        for want in [
            ":2: [supervisord] nodaemon=true: mapped: svscan always stays in the foreground",
            ":4: [supervisord] minfds=4096: no equivalent: svscan does not raise",
            ":5: [supervisord] weird=1: no equivalent: unknown key",
            ":7: [inet_http_server] port=*:9001: mapped: nothing needed",
            ":9: [unix_http_server] file=/tmp/s.sock: mapped",
            ":11: [supervisorctl] serverurl=unix:///tmp/s.sock: mapped",
            ":13: [rpcinterface:supervisor] supervisor.rpcinterface_factory=",
            ":14: [fcgi-program:f]: no equivalent",
            ":15: [fcgi-program:f] command=f: no equivalent",
            ":18: [mystery] x=1: no equivalent",
        ] {
            assert!(r.contains(want), "missing {want:?} in\n{r}");
        }
    }

    #[test]
    fn includes_relative_to_the_main_file() {
        let base = std::env::temp_dir().join(format!("svimport-inc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("conf.d")).unwrap();
        std::fs::write(
            base.join("main.conf"),
            "[supervisord]\n[include]\nfiles = conf.d/*.conf missing/*.ini\n",
        )
        .unwrap();
        std::fs::write(
            base.join("conf.d/b.conf"),
            "[program:b]\ncommand=%(here)s/b\n[include]\nfiles=nested/*.conf\n",
        )
        .unwrap();
        std::fs::write(base.join("conf.d/a.conf"), "[program:a]\ncommand=a\n").unwrap();
        let c = convert(&[base.join("main.conf")], &opts()).unwrap();
        let names: Vec<&str> = c.dirs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "sorted include order");
        let run = file(&c, "b", "run").unwrap();
        assert!(
            run.contains(&format!("exec {}/conf.d/b\n", base.display())),
            "{run}"
        );
        let r = report(&c);
        assert!(r.contains("no file matches"), "{r}");
        assert!(r.contains("supervisord does not follow it"), "{r}");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn every_key_set_gets_a_report_line() {
        let keys = [
            "command=x %(process_num)d",
            "process_name=%(program_name)s-%(process_num)d",
            "numprocs=2",
            "numprocs_start=1",
            "priority=3",
            "autostart=true",
            "startsecs=2",
            "startretries=4",
            "autorestart=unexpected",
            "exitcodes=0,1",
            "stopsignal=INT",
            "stopwaitsecs=4",
            "stopasgroup=true",
            "killasgroup=true",
            "user=app",
            "redirect_stderr=false",
            "stdout_logfile=/var/log/p-%(process_num)d.log",
            "stdout_logfile_maxbytes=1KB",
            "stdout_logfile_backups=2",
            "stdout_capture_maxbytes=1MB",
            "stdout_events_enabled=true",
            "stdout_syslog=false",
            "stderr_logfile=/dev/stderr",
            "stderr_logfile_maxbytes=1MB",
            "stderr_logfile_backups=1",
            "stderr_capture_maxbytes=1MB",
            "stderr_events_enabled=false",
            "stderr_syslog=false",
            "environment=A=1",
            "directory=/tmp",
            "umask=002",
            "serverurl=AUTO",
            "nonsense=1",
        ];
        let text = format!("[program:p]\n{}\n", keys.join("\n"));
        let c = conv(&text);
        let r = report(&c);
        for (i, k) in keys.iter().enumerate() {
            let want = format!("s.conf:{}: [program:p] {k}: ", i + 2);
            assert!(r.contains(&want), "no report line for {k}:\n{r}");
        }
        assert_eq!(file(&c, "p@", "instances"), Some("1\n2\n"));
    }

    #[test]
    fn huge_numbers_neither_panic_nor_hang() {
        let c = conv(
            "[program:p]\ncommand=p\nstartretries=999999999999\nstartsecs=9223372036854775807\n\
             stopwaitsecs=9223372036854775807\nstdout_logfile=/l.log\nstdout_logfile_maxbytes=9999999999GB\n",
        );
        assert!(file(&c, "p", "restart-limit").is_some());
        let e = try_conv("[program:p]\ncommand=p %(process_num)d\nprocess_name=%(process_num)d\nnumprocs=100000000\n").unwrap_err();
        assert!(e.to_string().contains("numprocs must be between"), "{e}");
        let e = try_conv("[program:p]\ncommand=p\nnumprocs=0\n").unwrap_err();
        assert!(e.to_string().contains("numprocs must be between"), "{e}");
    }

    /// Random configurations built from fragments that matter to the
    /// reader and the mapping: conversion may fail, never panic.
    #[test]
    fn random_configs_never_panic() {
        const BITS: &[&str] = &[
            "[program:a]",
            "[program:b c]",
            "[group:g]",
            "[eventlistener:e]",
            "[supervisord]",
            "[include]",
            "[DEFAULT]",
            "[x",
            "]",
            "command=",
            "command=a %(process_num)d",
            "numprocs=2",
            "numprocs=-1",
            "process_name=%(program_name)s_%(process_num)03x",
            "process_name=%(process_num)d",
            "environment=A=\"",
            "environment=A=1,B=$x,C='q'",
            "programs=a,b",
            "events=PROCESS_STATE_FATAL",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile=/x.y",
            "stderr_logfile=/x.z",
            "redirect_stderr=true",
            "user=0",
            "user=1000",
            "umask=9",
            "umask=077",
            "autorestart=unexpected",
            "exitcodes=,",
            "priority=-5",
            "startretries=x",
            "  continued",
            "; c",
            "# c",
            "a ;b",
            "%",
            "%%",
            "%(",
            "%(here)s",
            "%(ENV_APP_HOME)s",
            "\t",
            "=",
            ":",
            "key:value",
            "\u{e9}",
            "files=nope/*.conf",
            "stopsignal=KILL",
            "stopwaitsecs=0",
            "directory=%(process_num)d",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let n = 1 + next() % 12;
            let mut text = String::new();
            for _ in 0..n {
                text.push_str(BITS[(next() % BITS.len() as u64) as usize]);
                text.push(if next() % 4 == 0 { ' ' } else { '\n' });
            }
            let _ = try_conv(&text);
        }
    }
}
