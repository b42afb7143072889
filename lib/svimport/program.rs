//! One `[program:x]` section to one service directory (or one template
//! with its instances), with a report line for every key.
//!
//! Values are computed as supervisord computes them: each key is expanded
//! for each process number (`numprocs_start` .. `numprocs_start +
//! numprocs - 1`) with the same names supervisord offers (`program_name`,
//! `process_num`, `group_name`, `numprocs`, `here`, `host_node_name`,
//! `ENV_X`). For a template the value is expanded once more with a marker
//! in place of each `%(process_num)...`; the markers become shell
//! variables set by the instance mapping (see `script`), and the result is
//! checked against every instance's exact value, so a template never runs
//! something supervisord would not have run.

use super::datatypes::{self as dt, AutoRestart, LogFile};
use super::expand::{expand, format_one, Resolved, Spec, Val};
use super::ini::{Entry, Ini, Section};
use super::report::{Origin, Report, Status};
use super::script::{finish_script, log_run, InstanceMap, RunScript, User};
use super::shellwords::split_posix;
use super::shquote::{quote, Seg, Word};
use super::supervisord::{Ctx, Error};
use super::writer::ServiceDir;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// What a program became.
pub struct Converted {
    pub dir: ServiceDir,
    /// Service names it runs as (the directory, or `NAME@INSTANCE` each).
    pub services: Vec<String>,
    pub autostart: bool,
    pub priority: i64,
    pub priority_origin: Origin,
}

/// Every key supervisord 4 reads in a `[program:x]` section.
const KNOWN: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "directory",
    "umask",
    "serverurl",
];

const MARK_OPEN: &str = "zzsvkitpn";
const MARK_CLOSE: &str = "zz";

/// Reads keys of one section, remembering which were looked at.
pub struct Keys<'a> {
    pub ini: &'a Ini,
    pub sec: &'a Section,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> Keys<'a> {
    pub fn new(ini: &'a Ini, sec: &'a Section) -> Self {
        Keys {
            ini,
            sec,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Entry> {
        self.used.borrow_mut().insert(key.to_string());
        self.ini.lookup(self.sec, key)
    }

    pub fn origin(&self, e: &Entry) -> Origin {
        Origin {
            file: e.file.clone(),
            line: e.line,
            section: self.sec.name.clone(),
            setting: format!("{}={}", e.key, e.value),
        }
    }

    /// Origin of a key left at its default `value`.
    pub fn default_origin(&self, key: &str, value: &str) -> Origin {
        Origin {
            file: self.sec.file.clone(),
            line: self.sec.line,
            section: self.sec.name.clone(),
            setting: format!("(default) {key}={value}"),
        }
    }

    pub fn origin_or_default(&self, key: &str, default: &str) -> Origin {
        match self.get(key) {
            Some(e) => self.origin(e),
            None => self.default_origin(key, default),
        }
    }

    pub fn section_origin(&self) -> Origin {
        Origin {
            file: self.sec.file.clone(),
            line: self.sec.line,
            section: self.sec.name.clone(),
            setting: String::new(),
        }
    }

    pub fn invalid(&self, e: &Entry, why: impl Into<String>) -> Error {
        Error::Invalid {
            file: e.file.clone(),
            line: e.line,
            section: self.sec.name.clone(),
            key: e.key.clone(),
            why: why.into(),
        }
    }

    /// Keys of the section (and of `[DEFAULT]`) nobody asked for.
    pub fn unused(&self) -> Vec<&'a Entry> {
        let used = self.used.borrow();
        let own: Vec<&Entry> = self.sec.entries.iter().collect();
        let mut out: Vec<&Entry> = own
            .iter()
            .copied()
            .filter(|e| !used.contains(&e.key))
            .collect();
        for d in &self.ini.defaults {
            if !used.contains(&d.key) && self.sec.get(&d.key).is_none() {
                out.push(d);
            }
        }
        out
    }
}

/// The expansion names of one program.
struct Names<'a> {
    ctx: &'a Ctx<'a>,
    program_name: String,
    group_name: String,
    numprocs: i64,
}

impl Names<'_> {
    /// `e`'s value for process number `num` (supervisord's value).
    fn exact(&self, keys: &Keys, e: &Entry, num: i64) -> Result<String, Error> {
        self.run(keys, e, &mut |spec: &Spec| {
            (spec.name == "process_num").then_some(Resolved::Value(Val::Int(num)))
        })
    }

    /// `e`'s value with a marker for each `%(process_num)...`; `formats`
    /// collects the distinct formats (`d`, `02d`, ...).
    fn marked(&self, keys: &Keys, e: &Entry, formats: &mut Vec<String>) -> Result<String, Error> {
        self.run(keys, e, &mut |spec: &Spec| {
            if spec.name != "process_num" {
                return None;
            }
            let i = match formats.iter().position(|f| *f == spec.format) {
                Some(i) => i,
                None => {
                    formats.push(spec.format.clone());
                    formats.len() - 1
                }
            };
            Some(Resolved::Text(format!("{MARK_OPEN}{i}{MARK_CLOSE}")))
        })
    }

    fn run(
        &self,
        keys: &Keys,
        e: &Entry,
        pn: &mut dyn FnMut(&Spec) -> Option<Resolved>,
    ) -> Result<String, Error> {
        let text = e
            .value
            .replace("%(here)s", &super::supervisord::dir_of(&e.file));
        let mut env_used = Vec::new();
        let out = expand(&text, &mut |spec: &Spec| {
            if let Some(r) = pn(spec) {
                return Some(r);
            }
            let v = match spec.name.as_str() {
                "program_name" => Val::Str(self.program_name.clone()),
                "group_name" => Val::Str(self.group_name.clone()),
                "numprocs" => Val::Int(self.numprocs),
                _ => {
                    if spec.name.starts_with("ENV_") {
                        env_used.push(spec.name.clone());
                    }
                    return self.ctx.global(&spec.name).map(Resolved::Value);
                }
            };
            Some(Resolved::Value(v))
        })
        .map_err(|err| keys.invalid(e, err.to_string()))?;
        self.ctx.note_env(keys.origin(e), &env_used);
        Ok(out)
    }
}

/// Splits a marked string into literal text and variables.
fn to_word(s: &str, vars: &[String]) -> Word {
    let mut segs = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find(MARK_OPEN) {
        let after = &rest[at + MARK_OPEN.len()..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        let tail = &after[digits.len()..];
        match (digits.parse::<usize>(), tail.strip_prefix(MARK_CLOSE)) {
            (Ok(i), Some(t)) if i < vars.len() => {
                if at > 0 {
                    segs.push(Seg::Lit(rest[..at].to_string()));
                }
                segs.push(Seg::Var(vars[i].clone()));
                rest = t;
            }
            _ => {
                segs.push(Seg::Lit(rest[..at + MARK_OPEN.len()].to_string()));
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        segs.push(Seg::Lit(rest.to_string()));
    }
    Word(segs)
}

/// Shell variable name for a `%(process_num)` format.
fn var_name(format: &str, taken: &[String]) -> String {
    let base = if format == "d" || format == "i" || format == "s" {
        "process_num".to_string()
    } else {
        let clean: String = format
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("process_num_{clean}")
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// Instance names from the process names: the part after the program
/// name and one separator (`worker_00` gives `00`), else the whole name.
fn instance_names(program: &str, names: &[String]) -> Vec<String> {
    for sep in ["_", "-", ".", "@", ""] {
        let prefix = format!("{program}{sep}");
        let stripped: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix(&prefix).map(str::to_string))
            .filter(|s| !s.is_empty())
            .collect();
        if stripped.len() == names.len() {
            return stripped;
        }
    }
    names.to_vec()
}

enum Stream {
    Stdout,
    Stderr,
    Null,
    Auto,
    Syslog,
    File(Entry, String),
}

fn classify(lf: LogFile, e: Option<&Entry>, exact: String) -> Stream {
    match lf {
        LogFile::None => Stream::Null,
        LogFile::Auto => Stream::Auto,
        LogFile::Syslog => Stream::Syslog,
        LogFile::Path(_) => match exact.as_str() {
            "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Stream::Stdout,
            "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Stream::Stderr,
            "/dev/null" => Stream::Null,
            _ => match e {
                Some(e) => Stream::File(e.clone(), exact),
                None => Stream::Auto,
            },
        },
    }
}

/// `/var/log/x.log` -> `/var/log/x` (svlog needs a directory): the last
/// extension of the file name goes; a name without one gets `.d`.
pub fn log_dir_for(path: &str) -> String {
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{dir}{}", &name[..i]),
        _ => format!("{dir}{name}.d"),
    }
}

/// Converts `[program:NAME]`.
pub fn convert(
    ctx: &Ctx,
    report: &mut Report,
    sec: &Section,
    group_name: &str,
    essential: Option<(&str, &Origin)>,
) -> Result<Converted, Error> {
    let keys = Keys::new(ctx.ini, sec);
    let raw_name = sec.name.split_once(':').map_or("", |(_, n)| n);
    let program_name = dt::process_name(raw_name).map_err(|why| Error::Invalid {
        file: sec.file.clone(),
        line: sec.line,
        section: sec.name.clone(),
        key: "section name".into(),
        why,
    })?;
    // Scalars are expanded without process_num, as supervisord reads them
    // before its per-process loop.
    let pre = Names {
        ctx,
        program_name: program_name.clone(),
        group_name: group_name.to_string(),
        numprocs: 1,
    };
    let pre_int = |key: &str, default: i64| -> Result<(i64, Option<&Entry>), Error> {
        match keys.get(key) {
            None => Ok((default, None)),
            Some(e) => {
                let v = pre.run(&keys, e, &mut |_| None)?;
                dt::integer(&v)
                    .map(|n| (n, Some(e)))
                    .map_err(|why| keys.invalid(e, why))
            }
        }
    };
    let (numprocs, np_e) = pre_int("numprocs", 1)?;
    let (numprocs_start, nps_e) = pre_int("numprocs_start", 0)?;
    // Above this, something is wrong with the file (and a loop over the
    // instances would take forever); supervisord would try to start them.
    const MAX_NUMPROCS: i64 = 10_000;
    if !(1..=MAX_NUMPROCS).contains(&numprocs) {
        let why = format!("numprocs must be between 1 and {MAX_NUMPROCS}");
        return Err(match np_e {
            Some(e) => keys.invalid(e, why),
            None => Error::Invalid {
                file: sec.file.clone(),
                line: sec.line,
                section: sec.name.clone(),
                key: "numprocs".into(),
                why,
            },
        });
    }
    let numprocs_start = numprocs_start.clamp(-(1 << 40), 1 << 40);
    let names = Names {
        ctx,
        program_name: program_name.clone(),
        group_name: group_name.to_string(),
        numprocs,
    };
    let plain = |key: &str| -> Result<Option<(String, &Entry)>, Error> {
        match keys.get(key) {
            None => Ok(None),
            Some(e) => {
                let v = names.run(&keys, e, &mut |_| None)?;
                Ok(Some((v, e)))
            }
        }
    };
    let int_key = |key: &str, default: i64| -> Result<(i64, Option<&Entry>), Error> {
        match plain(key)? {
            None => Ok((default, None)),
            Some((v, e)) => dt::integer(&v)
                .map(|n| (n, Some(e)))
                .map_err(|why| keys.invalid(e, why)),
        }
    };
    let bool_key = |key: &str, default: bool| -> Result<(bool, Option<&Entry>), Error> {
        match plain(key)? {
            None => Ok((default, None)),
            Some((v, e)) => dt::boolean(&v)
                .map(|b| (b, Some(e)))
                .map_err(|why| keys.invalid(e, why)),
        }
    };

    let nums: Vec<i64> = (numprocs_start..numprocs_start + numprocs).collect();
    let template = numprocs > 1;

    // process_name, per process number.
    let pname_e = keys.get("process_name");
    let mut pnames = Vec::new();
    for &n in &nums {
        let v = match pname_e {
            Some(e) => names.exact(&keys, e, n)?,
            None => program_name.clone(),
        };
        let v = match pname_e {
            Some(e) => dt::process_name(&v).map_err(|why| keys.invalid(e, why))?,
            None => v,
        };
        pnames.push(v);
    }
    if template && !pname_e.is_some_and(|e| e.value.contains("%(process_num)")) {
        let o = pname_e.or(np_e);
        if let Some(e) = o {
            return Err(keys.invalid(
                e,
                "%(process_num) must be present within process_name when numprocs > 1",
            ));
        }
    }
    let instances: Vec<String> = if template {
        instance_names(&program_name, &pnames)
    } else {
        Vec::new()
    };
    let dir_name = if template {
        format!("{program_name}@")
    } else {
        pnames[0].clone()
    };
    check_service_name(&keys, pname_e, &dir_name, template)?;
    for i in &instances {
        if i.contains('/') || i.starts_with('.') || i.contains('\n') {
            return Err(Error::Invalid {
                file: sec.file.clone(),
                line: sec.line,
                section: sec.name.clone(),
                key: "process_name".into(),
                why: format!("instance name {i:?} cannot be a directory name"),
            });
        }
    }
    let uniq: BTreeSet<&String> = instances.iter().collect();
    if uniq.len() != instances.len() {
        return Err(Error::Invalid {
            file: sec.file.clone(),
            line: sec.line,
            section: sec.name.clone(),
            key: "process_name".into(),
            why: "two instances get the same name".into(),
        });
    }
    let services: Vec<String> = if template {
        instances
            .iter()
            .map(|i| format!("{program_name}@{i}"))
            .collect()
    } else {
        vec![dir_name.clone()]
    };

    // Per-instance values: exact for every instance, plus a template
    // with variables (checked against the exact ones).
    let mut formats: Vec<String> = Vec::new();
    let mut field = |e: &Entry| -> Result<(Vec<String>, String), Error> {
        let mut exact = Vec::new();
        for &n in &nums {
            exact.push(names.exact(&keys, e, n)?);
        }
        let marked = if template {
            names.marked(&keys, e, &mut formats)?
        } else {
            exact[0].clone()
        };
        Ok((exact, marked))
    };
    let cmd_e = keys.get("command");
    let Some(cmd_e) = cmd_e else {
        return Err(Error::Invalid {
            file: sec.file.clone(),
            line: sec.line,
            section: sec.name.clone(),
            key: "command".into(),
            why: format!("program section {} does not specify a command", sec.name),
        });
    };
    let (cmd_exact, cmd_marked) = field(cmd_e)?;
    let dir_f = match keys.get("directory") {
        Some(e) => Some((e, field(e)?)),
        None => None,
    };
    let env_f = match keys.get("environment") {
        Some(e) => Some((e, field(e)?)),
        None => None,
    };
    let out_f = match keys.get("stdout_logfile") {
        Some(e) => Some((e, field(e)?)),
        None => None,
    };
    let err_f = match keys.get("stderr_logfile") {
        Some(e) => Some((e, field(e)?)),
        None => None,
    };
    let mut vars = Vec::new();
    for f in &formats {
        let v = var_name(f, &vars);
        vars.push(v);
    }
    let map = template.then(|| InstanceMap {
        vars: vars.clone(),
        rows: instances
            .iter()
            .zip(&nums)
            .map(|(name, &n)| {
                let vals = formats
                    .iter()
                    .map(|f| {
                        let conv = f.chars().last().unwrap_or('d');
                        format_one(f, conv, &Val::Int(n)).unwrap_or_default()
                    })
                    .collect();
                (name.clone(), vals)
            })
            .collect(),
    });
    let check = |e: &Entry, w: &Word, row: usize, exact: &str| -> Result<(), Error> {
        let Some(m) = &map else { return Ok(()) };
        if w.resolve(&|v| m.value(row, v)) == exact {
            Ok(())
        } else {
            Err(keys.invalid(
                e,
                "its %(process_num) expansion changes how the value is split; svimport cannot write it as one template",
            ))
        }
    };

    let mut run = RunScript {
        origin: vec![format!(
            "Written by svimport from [{}] in {} line {}.",
            sec.name,
            sec.file.display(),
            sec.line
        )],
        instances: map.clone().filter(|m| !m.vars.is_empty()),
        ..Default::default()
    };
    let mut dir = ServiceDir::new(&dir_name);

    // command
    let split = |s: &str| {
        split_posix(s).map_err(|why| keys.invalid(cmd_e, format!("can't parse command: {why}")))
    };
    let words: Vec<String> = split(&cmd_marked)?;
    if words.is_empty() {
        return Err(keys.invalid(cmd_e, "command is empty"));
    }
    let argv: Vec<Word> = words.iter().map(|w| to_word(w, &vars)).collect();
    for (row, c) in cmd_exact.iter().enumerate() {
        let exact = split(c)?;
        if exact.len() != argv.len() {
            check(cmd_e, &Word::lit("\0"), row, "")?;
        }
        for (w, x) in argv.iter().zip(&exact) {
            check(cmd_e, w, row, x)?;
        }
    }
    let rendered: Vec<String> = argv.iter().map(Word::render).collect();
    report.push(
        keys.origin(cmd_e),
        Status::Mapped,
        format!(
            "{dir_name}/run: exec {} (split as supervisord splits it; no shell reads the words)",
            rendered.join(" ")
        ),
    );
    let shellish: Vec<&String> = words
        .iter()
        .filter(|w| {
            [
                "|", "||", "&&", ";", "&", ">", ">>", "<", "2>&1", "2>", "1>",
            ]
            .contains(&w.as_str())
                || w.contains('$')
                || w.contains('`')
        })
        .collect();
    if !shellish.is_empty() {
        let list: Vec<String> = shellish.iter().map(|w| quote(w)).collect();
        report.push(
            keys.origin(cmd_e),
            Status::Note,
            format!(
                "{} reached the program as plain arguments under supervisord (it runs no shell), and still do; for a shell, write command=sh -c '...'",
                list.join(" ")
            ),
        );
    }
    run.argv = argv;

    // directory
    if let Some((e, (exact, marked))) = &dir_f {
        let w = to_word(marked, &vars);
        for (row, x) in exact.iter().enumerate() {
            check(e, &w, row, x)?;
        }
        report.push(
            keys.origin(e),
            Status::Mapped,
            format!("{dir_name}/run: cd {} before the command", w.render()),
        );
        run.directory = Some(w);
    }

    // umask: the program's, else the one supervisord had.
    match plain("umask")? {
        Some((v, e)) => {
            let m = dt::octal(&v).map_err(|why| keys.invalid(e, why))?;
            report.push(
                keys.origin(e),
                Status::Mapped,
                format!("{dir_name}/run: umask {m:04o}"),
            );
            run.umask = Some(m);
        }
        None => run.umask = ctx.umask,
    }

    // user
    let user = match plain("user")? {
        Some((v, e)) => Some((v, keys.origin(e))),
        None => ctx.user.clone(),
    };
    if let Some((u, origin)) = user {
        let u = u.trim().to_string();
        if u == "root" || u == "0" {
            report.push(
                origin,
                Status::Mapped,
                format!("{dir_name}/run: no chpst: services run as svscan's user (root when the container runs as root)"),
            );
        } else if let Ok(uid) = u.parse::<u32>() {
            report.push(
                origin,
                Status::Mapped,
                format!("{dir_name}/run: chpst -u :{uid}:GID, GID looked up in /etc/passwd at start as supervisord does; HOME and USER unchanged, as with supervisord"),
            );
            run.user = Some(User::Uid(uid));
        } else {
            report.push(
                origin,
                Status::Mapped,
                format!("{dir_name}/run: chpst -u {} (uid and gid from /etc/passwd; HOME and USER unchanged, as with supervisord; supplementary groups: only that gid, where supervisord used initgroups)", quote(&u)),
            );
            run.user = Some(User::Name(u));
        }
    }

    // environment: [supervisord]'s, then the program's on top.
    let mut env: Vec<(String, Word)> = ctx
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Word::lit(v)))
        .collect();
    if let Some((e, (exact, marked))) = &env_f {
        let (pairs, odd) = dt::key_value_pairs(marked).map_err(|why| keys.invalid(e, why))?;
        for (row, x) in exact.iter().enumerate() {
            let (xp, _) = dt::key_value_pairs(x).map_err(|why| keys.invalid(e, why))?;
            if xp.len() != pairs.len() {
                check(e, &Word::lit("\0"), row, "")?;
            }
            for ((k, v), (xk, xv)) in pairs.iter().zip(&xp) {
                check(e, &to_word(k, &vars), row, xk)?;
                check(e, &to_word(v, &vars), row, xv)?;
            }
        }
        let mut shown = Vec::new();
        for (k, v) in pairs {
            if k.contains(MARK_OPEN) {
                return Err(keys.invalid(e, "a variable name that differs between instances"));
            }
            let w = to_word(&v, &vars);
            shown.push(format!("{k}={}", w.render()));
            env.retain(|(ek, _)| *ek != k);
            env.push((k, w));
        }
        report.push(
            keys.origin(e),
            Status::Mapped,
            format!("{dir_name}/run: export {}", shown.join(" ")),
        );
        for o in odd {
            report.push(
                keys.origin(e),
                Status::Note,
                format!("supervisord reads this value oddly and so does svimport: {o}; quote values with \"...\""),
            );
        }
    }
    run.env = env;

    // Output.
    let (redirect, redirect_e) = bool_key("redirect_stderr", false)?;
    let stream = |f: &Option<(&Entry, (Vec<String>, String))>| -> Stream {
        match f {
            None => Stream::Auto,
            Some((e, (exact, _))) => classify(dt::logfile(&exact[0]), Some(e), exact[0].clone()),
        }
    };
    let so = stream(&out_f);
    let se = if redirect {
        Stream::Stdout
    } else {
        stream(&err_f)
    };
    let mut log: Option<(&Entry, String, &'static str)> = None; // entry, marked path, "stdout"/"stderr"
    let mut container = false;
    let mut notes: Vec<(Origin, Status, String)> = Vec::new();
    let so_origin = keys.origin_or_default("stdout_logfile", "AUTO");
    match &so {
        Stream::File(e, _) => {
            let marked = out_f
                .as_ref()
                .map(|(_, (_, m))| m.clone())
                .unwrap_or_default();
            log = Some((e, marked, "stdout"));
        }
        Stream::Stdout => {
            container = true;
            notes.push((
                so_origin,
                Status::Mapped,
                "no log/: the output goes to the container's stdout".into(),
            ));
        }
        Stream::Stderr => {
            run.stdio
                .push("exec 1>&2  # stdout_logfile=/dev/stderr".into());
            container = true;
            notes.push((
                so_origin,
                Status::Mapped,
                format!("{dir_name}/run: exec 1>&2 (stdout to the container's stderr)"),
            ));
        }
        Stream::Null => {
            run.stdio
                .push("exec >/dev/null  # stdout_logfile=NONE".into());
            notes.push((
                so_origin,
                Status::Mapped,
                format!("{dir_name}/run: exec >/dev/null"),
            ));
        }
        Stream::Auto => {
            container = true;
            notes.push((so_origin, Status::Approximated, "supervisord kept AUTO output in a temporary file in childlogdir; svkit sends it to the container's stdout (no log/)".into()));
        }
        Stream::Syslog => {
            container = true;
            notes.push((so_origin, Status::NoEquivalent, "svkit does not log to syslog: the output goes to the container's stdout; pipe it to logger(1) in log/run if syslog is needed".into()));
        }
    }
    let se_origin = match (&redirect_e, redirect) {
        (Some(e), true) => keys.origin(e),
        _ => keys.origin_or_default("stderr_logfile", "AUTO"),
    };
    match &se {
        Stream::File(e, path) => {
            match &log {
                Some((_, _, _)) => {
                    let same = matches!(&so, Stream::File(_, p) if p == path);
                    run.stdio
                        .push("exec 2>&1  # stderr into the same log as stdout".into());
                    let status = if same {
                        Status::Mapped
                    } else {
                        Status::Approximated
                    };
                    notes.push((keys.origin(e), status, if same {
                        format!("{dir_name}/run: exec 2>&1 (same file as stdout)")
                    } else {
                        "svkit has one logger per service: stderr goes into the stdout log (exec 2>&1)".into()
                    }));
                }
                None => {
                    // The logger reads stdout: swap the two streams.
                    run.stdio.insert(0, "exec 3>&1 1>&2 2>&3 3>&-  # stderr to log/, stdout to the container's stderr".into());
                    let marked = err_f
                        .as_ref()
                        .map(|(_, (_, m))| m.clone())
                        .unwrap_or_default();
                    log = Some((e, marked, "stderr"));
                    notes.push((keys.origin(e), Status::Approximated, format!("{dir_name}/run swaps stdout and stderr: svkit's logger reads stdout, so stderr feeds log/ and stdout goes to the container's stderr")));
                }
            }
        }
        Stream::Stdout => {
            run.stdio
                .push("exec 2>&1  # stderr goes where stdout goes".into());
            notes.push((
                se_origin,
                Status::Mapped,
                format!("{dir_name}/run: exec 2>&1"),
            ));
        }
        Stream::Stderr => {
            container = true;
            notes.push((
                se_origin,
                Status::Mapped,
                "stderr stays the container's stderr".into(),
            ));
        }
        Stream::Null => {
            run.stdio
                .push("exec 2>/dev/null  # stderr_logfile=NONE".into());
            notes.push((
                se_origin,
                Status::Mapped,
                format!("{dir_name}/run: exec 2>/dev/null"),
            ));
        }
        Stream::Auto => {
            container = true;
            if err_f.is_some() || redirect_e.is_some() {
                notes.push((
                    se_origin,
                    Status::Approximated,
                    "AUTO: stderr goes to the container's stderr".into(),
                ));
            }
        }
        Stream::Syslog => {
            container = true;
            notes.push((
                se_origin,
                Status::NoEquivalent,
                "svkit does not log to syslog: stderr goes to the container's stderr".into(),
            ));
        }
    }
    for (o, s, t) in notes {
        report.push(o, s, t);
    }
    if redirect && err_f.is_some() {
        if let Some((e, _)) = &err_f {
            report.push(
                keys.origin(e),
                Status::Mapped,
                "ignored, as supervisord ignores it with redirect_stderr=true".to_string(),
            );
        }
    }
    if let (Some(e), false) = (redirect_e, redirect) {
        report.push(
            keys.origin(e),
            Status::Mapped,
            "stderr kept apart from stdout".to_string(),
        );
    }
    let mut size_keys_used = BTreeSet::new();
    if let Some((e, marked, which)) = &log {
        let path = to_word(&log_dir_for(marked), &vars);
        let mk = format!("{which}_logfile_maxbytes");
        let bk = format!("{which}_logfile_backups");
        size_keys_used.insert(mk.clone());
        size_keys_used.insert(bk.clone());
        let maxbytes = match plain(&mk)? {
            Some((v, me)) => (
                dt::byte_size(&v).map_err(|why| keys.invalid(me, why))?,
                keys.origin(me),
            ),
            None => (50 * 1024 * 1024, keys.default_origin(&mk, "50MB")),
        };
        let backups = match plain(&bk)? {
            Some((v, be)) => (
                dt::integer(&v).map_err(|why| keys.invalid(be, why))?,
                keys.origin(be),
            ),
            None => (10, keys.default_origin(&bk, "10")),
        };
        let keep = if backups.0 <= 0 { 1 } else { backups.0 };
        let config = vec![format!("s{}", maxbytes.0), format!("n{keep}")];
        let lrun = log_run(
            &[format!(
                "Written by svimport from {} in [{}] ({} line {}).",
                e.key,
                sec.name,
                e.file.display(),
                e.line
            )],
            map.as_ref().filter(|_| path.has_vars()),
            &path,
            &config,
        );
        dir.script("log/run", lrun);
        report.push(
            keys.origin(e),
            Status::Approximated,
            format!(
                "{dir_name}/log/run: svlog -tt into the directory {} (svlog writes a directory: current plus rotated files, not one file; lines get a UTC timestamp)",
                path.render()
            ),
        );
        report.push(
            maxbytes.1,
            Status::Mapped,
            if maxbytes.0 == 0 {
                "svlog config s0: no rotation by size".to_string()
            } else {
                format!("svlog config s{}: rotate at this many bytes", maxbytes.0)
            },
        );
        report.push(
            backups.1,
            if backups.0 <= 0 { Status::Approximated } else { Status::Mapped },
            if backups.0 <= 0 {
                "svlog config n1: svlog keeps at least one rotated file (n0 would keep all); supervisord kept none".to_string()
            } else {
                format!("svlog config n{keep}: keep this many rotated files")
            },
        );
        if !matches!(e.value.chars().next(), Some('/')) {
            report.push(keys.origin(e), Status::Note, "a relative path: svlog runs in the service's log/ directory, supervisord in its own working directory");
        }
        if container {
            report.push(keys.origin(e), Status::Note, "the stream not logged goes to svscan's stderr, unprefixed (svscan prefixes only services without log/)");
        }
    } else if container {
        report.push(
            keys.section_origin(),
            Status::Note,
            format!("{dir_name} writes to the container's stdout/stderr: start svscan with --log-prefix (SVSCAN_LOG_PREFIX=1) to get lines as `{} | text`", services[0]),
        );
    }
    for which in ["stdout", "stderr"] {
        for k in [
            format!("{which}_logfile_maxbytes"),
            format!("{which}_logfile_backups"),
        ] {
            if size_keys_used.contains(&k) {
                continue;
            }
            if let Some(e) = keys.get(&k) {
                report.push(
                    keys.origin(e),
                    Status::Mapped,
                    "no effect: this stream is not written to a file",
                );
            }
        }
        for (k, text) in [
            (format!("{which}_capture_maxbytes"), "no equivalent: capture mode feeds supervisord's event listeners, which svkit does not have"),
            (format!("{which}_events_enabled"), "no equivalent: svkit has no PROCESS_LOG events"),
            (format!("{which}_syslog"), "no equivalent: svkit does not write to syslog; a log/run can pipe to logger(1)"),
        ] {
            if let Some(e) = keys.get(&k) {
                report.push(keys.origin(e), Status::NoEquivalent, text.trim_start_matches("no equivalent: "));
            }
        }
    }
    dir.script("run", run.render());

    // autostart
    let (autostart, as_e) = bool_key("autostart", true)?;
    if !autostart {
        dir.file("down", "");
    }
    if let Some(e) = as_e {
        report.push(
            keys.origin(e),
            Status::Mapped,
            if autostart {
                "starts with svscan (no down file)".to_string()
            } else {
                format!(
                    "{dir_name}/down: not started until `svctl up {}`",
                    services[0]
                )
            },
        );
    }

    // autorestart and exitcodes -> finish
    let ar_o = keys.origin_or_default("autorestart", "unexpected");
    let ar = match plain("autorestart")? {
        Some((v, e)) => dt::auto_restart(&v).map_err(|why| keys.invalid(e, why))?,
        None => AutoRestart::Unexpected,
    };
    let codes = match plain("exitcodes")? {
        Some((v, e)) => (
            dt::exit_codes(&v).map_err(|why| keys.invalid(e, why))?,
            Some(e),
        ),
        None => (vec![0], None),
    };
    let fin_origin = vec![format!(
        "Written by svimport from autorestart in [{}].",
        sec.name
    )];
    match ar {
        AutoRestart::Always => {
            report.push(
                ar_o,
                Status::Mapped,
                "restarted after every exit (svkit's default; no finish)",
            );
            if let Some(e) = codes.1 {
                report.push(
                    keys.origin(e),
                    Status::Mapped,
                    "no effect with autorestart=true, as for supervisord",
                );
            }
        }
        AutoRestart::Never => {
            dir.script("finish", finish_script(&fin_origin, None));
            report.push(ar_o, Status::Approximated, format!("{dir_name}/finish exits 125 (do not restart) after every exit; supervisord still retried a start that failed within startsecs"));
            if let Some(e) = codes.1 {
                report.push(
                    keys.origin(e),
                    Status::Mapped,
                    "no effect with autorestart=false, as for supervisord",
                );
            }
        }
        AutoRestart::Unexpected => {
            dir.script("finish", finish_script(&fin_origin, Some(&codes.0)));
            let list: Vec<String> = codes.0.iter().map(|c| c.to_string()).collect();
            report.push(ar_o, Status::Approximated, format!(
                "{dir_name}/finish exits 125 (do not restart) when the exit code is one of {}; any other exit or a signal restarts; supervisord also restarted a start that failed within startsecs whatever its code",
                if list.is_empty() { "none".to_string() } else { list.join(",") }
            ));
            if let Some(e) = codes.1 {
                report.push(
                    keys.origin(e),
                    Status::Mapped,
                    format!("the expected codes in {dir_name}/finish"),
                );
            }
        }
    }

    // startsecs, startretries -> restart-backoff, restart-limit
    let (startsecs, ss_e) = int_key("startsecs", 1)?;
    let (retries, sr_e) = int_key("startretries", 3)?;
    let s = startsecs.max(0) as u64;
    let r = retries.max(0) as u64;
    let cap = r.max(1);
    // svkit's delays: 1, 2, 4 ... seconds, at most `cap`.
    let exact_n = r.min(64);
    let delays: u64 = (1..=exact_n)
        .map(|n| (1u64 << (n - 1).min(62)).min(cap))
        .fold(0u64, u64::saturating_add)
        .saturating_add((r - exact_n).saturating_mul(cap));
    let window = delays
        .saturating_add((r.saturating_add(1)).saturating_mul(s))
        .max(1);
    dir.file(
        "restart-backoff",
        format!("1000 {}\n", cap.saturating_mul(1000)),
    );
    dir.file("restart-limit", format!("{r} {window}\n"));
    let ss_o = ss_e.map_or_else(|| keys.default_origin("startsecs", "1"), |e| keys.origin(e));
    let sr_o = sr_e.map_or_else(
        || keys.default_origin("startretries", "3"),
        |e| keys.origin(e),
    );
    report.push(sr_o, Status::Approximated, format!(
        "{dir_name}/restart-limit {r} {window}: {r} automatic restarts within {window} s mark the service failed (supervisord: FATAL after {r} failed starts in a row; svkit counts every restart in the window, however long the run){}",
        if r == 0 { "; with 0 svkit never restarts it automatically" } else { "" }
    ));
    report.push(ss_o, Status::Approximated, format!(
        "{dir_name}/restart-backoff 1000 {}: restarts wait 1 s, 2 s, 4 s ... at most {cap} s (supervisord: 1 s, 2 s, 3 s ...); the restart-limit window allows {r} starts of {s} s each; svkit has no 'RUNNING after startsecs' state: the service counts as up at once (for readiness use notification-fd)",
        cap.saturating_mul(1000)
    ));

    // stopsignal -> down-signal
    if let Some((v, e)) = plain("stopsignal")? {
        {
            let (num, name) = dt::signal(&v).map_err(|why| keys.invalid(e, why))?;
            let text = name.map_or(num.to_string(), str::to_string);
            if num == 15 {
                report.push(
                    keys.origin(e),
                    Status::Mapped,
                    "TERM is svkit's default stop signal (no down-signal)",
                );
            } else {
                dir.file("down-signal", format!("{text}\n"));
                report.push(
                    keys.origin(e),
                    Status::Mapped,
                    format!("{dir_name}/down-signal {text}"),
                );
            }
        }
    }

    // stopwaitsecs -> timeout-kill; stopasgroup / killasgroup
    let (wait, sw_e) = int_key("stopwaitsecs", 10)?;
    let (stopasgroup, sag_e) = bool_key("stopasgroup", false)?;
    let (killasgroup, kag_e) = bool_key("killasgroup", stopasgroup)?;
    if stopasgroup && !killasgroup {
        if let Some(e) = kag_e {
            return Err(keys.invalid(e, "cannot set stopasgroup=true and killasgroup=false"));
        }
    }
    let ms = if wait <= 0 {
        1
    } else {
        (wait as u64).saturating_mul(1000)
    };
    dir.file("timeout-kill", format!("{ms}\n"));
    let sw_o = sw_e.map_or_else(
        || keys.default_origin("stopwaitsecs", "10"),
        |e| keys.origin(e),
    );
    report.push(sw_o, Status::Mapped, format!(
        "{dir_name}/timeout-kill {ms}: SIGKILL this many ms after the stop signal{}; at container shutdown svscan's deadline (-t, SVKIT_SHUTDOWN_TIMEOUT, default 8 s) still applies{}",
        if wait <= 0 { " (0 means at once to supervisord; svkit's 0 means never, hence 1 ms)" } else { "" },
        if wait >= 8 { ": raise it to give this service its full wait" } else { "" }
    ));
    if let Some(e) = sag_e {
        report.push(keys.origin(e), if stopasgroup { Status::NoEquivalent } else { Status::Mapped }, if stopasgroup {
            "svkit sends the stop signal to the main process only; only timeout-kill's SIGKILL reaches the whole process group. A control/t script can signal the group: kill -TERM -- -$(cat supervise/pid)"
        } else {
            "the stop signal goes to the main process only, as in svkit"
        });
    }
    if let Some(e) = kag_e {
        report.push(
            keys.origin(e),
            if killasgroup {
                Status::Mapped
            } else {
                Status::Approximated
            },
            if killasgroup {
                "timeout-kill's SIGKILL goes to the whole process group, as in svkit"
            } else {
                "svkit's timeout-kill SIGKILLs the whole process group, not only the main process"
            },
        );
    }

    // numprocs / process_name
    if let Some(e) = np_e {
        report.push(keys.origin(e), Status::Mapped, if template {
            format!("template {dir_name} with instances {} (file {dir_name}/instances); each instance gets SVKIT_INSTANCE; services {}", instances.join(", "), services.join(", "))
        } else {
            "one service".to_string()
        });
    }
    if let Some(e) = nps_e {
        report.push(
            keys.origin(e),
            Status::Mapped,
            format!("process numbers {}..{}", nums[0], nums[nums.len() - 1]),
        );
    }
    if let Some(e) = pname_e {
        report.push(keys.origin(e), Status::Mapped, if template {
            format!("instance names {} (the process names {} without the program name); %(process_num) in other values comes from the instance mapping in run", instances.join(", "), pnames.join(", "))
        } else {
            format!("service directory {dir_name}")
        });
    }
    if template {
        let mut list = instances.join("\n");
        list.push('\n');
        dir.file("instances", list);
    }

    // priority (applied by the caller, which sees every program)
    let (priority, pr_e) = int_key("priority", 999)?;
    let priority_origin = pr_e.map_or_else(
        || keys.default_origin("priority", "999"),
        |e| keys.origin(e),
    );

    if let Some(e) = keys.get("serverurl") {
        report.push(keys.origin(e), Status::NoEquivalent, "svkit has no XML-RPC server; a program that talks to supervisord must use svctl instead");
    }

    if let Some((mode, origin)) = essential {
        dir.file("essential", mode);
        report.push(
            origin.clone(),
            Status::Mapped,
            format!(
                "{dir_name}/essential{}: the container stops when {}",
                if mode.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", mode.trim())
                },
                if mode.is_empty() {
                    "its run exits"
                } else {
                    "supervise gives up restarting it (restart-limit)"
                }
            ),
        );
    }

    for e in keys.unused() {
        if KNOWN.contains(&e.key.as_str()) {
            continue;
        }
        report.push(
            keys.origin(e),
            Status::NoEquivalent,
            "unknown key: supervisord ignores it",
        );
    }
    Ok(Converted {
        dir,
        services,
        autostart,
        priority,
        priority_origin,
    })
}

fn check_service_name(
    keys: &Keys,
    e: Option<&Entry>,
    name: &str,
    template: bool,
) -> Result<(), Error> {
    let bare = if template {
        name.trim_end_matches('@')
    } else {
        name
    };
    let why = if bare.is_empty() {
        Some("an empty service name")
    } else if bare.starts_with('.') {
        Some("a name starting with a dot: svscan ignores such directories")
    } else if bare.contains('@') {
        Some("a name containing @: svkit reads NAME@INSTANCE as an instance of a template")
    } else if bare.contains('\n') {
        Some("a name containing a newline")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(w) => Err(match e {
            Some(e) => keys.invalid(e, w),
            None => Error::Invalid {
                file: keys.sec.file.clone(),
                line: keys.sec.line,
                section: keys.sec.name.clone(),
                key: "section name".into(),
                why: w.into(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_dirs() {
        assert_eq!(log_dir_for("/var/log/x.log"), "/var/log/x");
        assert_eq!(log_dir_for("/var/log/app.out.log"), "/var/log/app.out");
        assert_eq!(log_dir_for("/var/log/worker"), "/var/log/worker.d");
        assert_eq!(log_dir_for("/var/log/.hidden"), "/var/log/.hidden.d");
        assert_eq!(log_dir_for("rel.log"), "rel");
    }

    #[test]
    fn instance_naming() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            instance_names("worker", &n(&["worker_00", "worker_01"])),
            n(&["00", "01"])
        );
        assert_eq!(instance_names("w", &n(&["w-1", "w-2"])), n(&["1", "2"]));
        assert_eq!(instance_names("w", &n(&["w1", "w2"])), n(&["1", "2"]));
        assert_eq!(instance_names("w", &n(&["1-w", "2-w"])), n(&["1-w", "2-w"]));
        assert_eq!(var_name("d", &[]), "process_num");
        assert_eq!(var_name("02d", &[]), "process_num_02d");
        assert_eq!(var_name("s", &["process_num".into()]), "process_num_2");
    }

    #[test]
    fn markers_become_variables() {
        let w = to_word(
            "a-zzsvkitpn0zz-zzsvkitpn1zzzzsvkitpn9zz",
            &["x".into(), "y".into()],
        );
        assert_eq!(
            w,
            Word(vec![
                Seg::Lit("a-".into()),
                Seg::Var("x".into()),
                Seg::Lit("-".into()),
                Seg::Var("y".into()),
                Seg::Lit("zzsvkitpn".into()),
                Seg::Lit("9zz".into()),
            ])
        );
    }
}
