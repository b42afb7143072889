//! A Procfile to service directories, the way foreman runs it.
//!
//! foreman reads lines `NAME: COMMAND` (NAME of letters, digits, `_` and
//! `-`; other lines, comments and blank lines included, are ignored; we
//! report them). Each process type runs `COMMAND` through `sh -c` with
//! `PORT` set to base + 100 × the type's index (base 5000, foreman's
//! `-p`, svimport's `--port-base`) and `PS` to `NAME.1`. When one process
//! exits, foreman stops all of them: each service gets an `essential`
//! file, so the container stops when any of its runs exits. foreman
//! sends TERM, then KILL after 5 s: `timeout-kill` 5000.

use super::report::{Origin, Report, Status};
use super::script::RunScript;
use super::shquote::{quote, Word};
use super::writer::ServiceDir;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Error {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Empty(PathBuf),
    Duplicate {
        file: PathBuf,
        line: usize,
        name: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read { path, source } => {
                write!(f, "unable to read {}: {source}", path.display())
            }
            Error::Empty(p) => write!(f, "{}: no process type (NAME: COMMAND) in it", p.display()),
            Error::Duplicate { file, line, name } => write!(
                f,
                "{}:{line}: process type {name} is defined twice",
                file.display()
            ),
        }
    }
}

/// foreman's default base port.
pub const DEFAULT_PORT_BASE: u32 = 5000;

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Converts the Procfile `text` (read from `file`).
pub fn convert_str(
    text: &str,
    file: &Path,
    port_base: u32,
) -> Result<(Vec<ServiceDir>, Report), Error> {
    let mut report = Report::default();
    let mut dirs: Vec<ServiceDir> = Vec::new();
    let origin = |line: usize, setting: &str| Origin {
        file: file.to_path_buf(),
        line,
        section: String::new(),
        setting: setting.to_string(),
    };
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.trim_end_matches('\r');
        // foreman: /^([A-Za-z0-9_-]+):\s*(.+)$/
        let parsed = line.split_once(':').and_then(|(n, c)| {
            let c = c.trim_start();
            (is_name(n) && !c.is_empty()).then_some((n, c))
        });
        let Some((name, command)) = parsed else {
            if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                report.push(
                    origin(lineno, line),
                    Status::NoEquivalent,
                    "not a NAME: COMMAND line; foreman ignores it, so does svimport",
                );
            }
            continue;
        };
        if dirs.iter().any(|d| d.name == name) {
            return Err(Error::Duplicate {
                file: file.to_path_buf(),
                line: lineno,
                name: name.into(),
            });
        }
        let index = dirs.len() as u32;
        let port = port_base.saturating_add(index.saturating_mul(100));
        let mut run = RunScript {
            origin: vec![
                format!("Written by svimport from {} line {lineno}.", file.display()),
                format!("PORT as foreman sets it: base {port_base} + 100 x index {index}."),
            ],
            env: vec![
                ("PORT".into(), Word::lit(&port.to_string())),
                ("PS".into(), Word::lit(&format!("{name}.1"))),
            ],
            argv: vec![Word::lit("sh"), Word::lit("-c"), Word::lit(command)],
            ..Default::default()
        };
        run.stdio
            .push("exec 2>&1  # foreman merges stderr into the process's output".into());
        let mut d = ServiceDir::new(name);
        d.script("run", run.render());
        d.file("essential", "");
        d.file("timeout-kill", "5000\n");
        report.push(
            origin(lineno, line),
            Status::Mapped,
            format!(
                "{name}/run: exec sh -c {} with PORT={port} PS={name}.1, stderr with stdout; {name}/essential (foreman stops everything when one process exits); {name}/timeout-kill 5000 (foreman's 5 s before KILL); output on the container's stdout: start svscan with --log-prefix (SVSCAN_LOG_PREFIX=1) for foreman-like `{name} | text` lines",
                quote(command)
            ),
        );
        dirs.push(d);
    }
    if dirs.is_empty() {
        return Err(Error::Empty(file.to_path_buf()));
    }
    if let Some(dir) = file.parent() {
        let env = dir.join(".env");
        if env.is_file() {
            report.push(origin(0, ""), Status::NoEquivalent, format!(
                "foreman would also load {}: svimport does not; put its variables in /etc/svscan/env/ (one file each) or in the run scripts",
                env.display()
            ));
        }
    }
    Ok((dirs, report))
}

/// Reads and converts the Procfile at `file`.
pub fn convert(file: &Path, port_base: u32) -> Result<(Vec<ServiceDir>, Report), Error> {
    let bytes = std::fs::read(file).map_err(|source| Error::Read {
        path: file.to_path_buf(),
        source,
    })?;
    convert_str(&String::from_utf8_lossy(&bytes), file, port_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procfile_lines_ports_and_report() {
        let text = "# comment\nweb: bundle exec puma -p $PORT\n\nworker:   sidekiq -q 'a b'\nnot a line\nbad name: x\n";
        let (dirs, report) = convert_str(text, Path::new("/app/Procfile"), 6000).unwrap();
        let names: Vec<&str> = dirs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["web", "worker"]);
        let run = &dirs[1].get("run").unwrap().contents;
        assert!(run.contains("export PORT=6100\n"), "{run}");
        assert!(
            run.contains("exec sh -c 'sidekiq -q '\\''a b'\\'''\n"),
            "{run}"
        );
        assert!(dirs[0]
            .get("run")
            .unwrap()
            .contents
            .contains("export PORT=6000\n"));
        assert!(dirs[0].get("essential").is_some());
        let r = report.render();
        assert!(
            r.contains("/app/Procfile:5: not a line: no equivalent"),
            "{r}"
        );
        assert!(
            r.contains("/app/Procfile:6: bad name: x: no equivalent"),
            "{r}"
        );
        assert!(!r.contains(":1:"), "comments are not reported: {r}");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            convert_str("# nothing\n", Path::new("P"), 5000),
            Err(Error::Empty(_))
        ));
        assert!(matches!(
            convert_str("a: x\na: y\n", Path::new("P"), 5000),
            Err(Error::Duplicate { line: 2, .. })
        ));
    }

    #[test]
    fn run_sets_port_and_runs_through_sh() {
        let (dirs, _) =
            convert_str("web: echo \"$PORT $PS\" && exit 3\n", Path::new("P"), 5000).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&dirs[0].get("run").unwrap().contents)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "5000 web.1\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
