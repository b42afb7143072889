//! The conversion report: one line per setting read, saying what it
//! became or that svkit has no equivalent, with the file and line it came
//! from. Nothing read from an input is left out of it, so a setting that
//! was not converted is never lost without a word.
//!
//! Line format (one line each, stable, meant for people and grep):
//!
//! ```text
//! FILE:LINE: [SECTION] KEY=VALUE: STATUS: what it became
//! ```
//!
//! STATUS is one of `mapped` (same behaviour), `approximated` (svkit does
//! something close; the text says what differs), `no equivalent`
//! (nothing written; the text says what to do instead), `note` (a fact
//! worth knowing, such as a value taken from this machine's environment).
//! A setting left at its default that still produced a file is shown as
//! `(default) KEY=VALUE` with the section header's line.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Mapped,
    Approximated,
    NoEquivalent,
    Note,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Mapped => "mapped",
            Status::Approximated => "approximated",
            Status::NoEquivalent => "no equivalent",
            Status::Note => "note",
        })
    }
}

/// Where a report line comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
    /// Section name without brackets; empty for a Procfile.
    pub section: String,
    /// `KEY=VALUE` as written (or `(default) KEY=VALUE`); empty for a
    /// line about the whole section.
    pub setting: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub origin: Origin,
    pub status: Status,
    pub text: String,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "{}:{}:", o.file.display(), o.line)?;
        if !o.section.is_empty() {
            write!(f, " [{}]", o.section)?;
        }
        if !o.setting.is_empty() {
            // Keep the report one line per setting even for multi-line
            // values.
            write!(f, " {}", o.setting.replace('\n', "\\n"))?;
        }
        write!(f, ": {}: {}", self.status, self.text)
    }
}

/// All report lines of one conversion, in the order they were found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    pub fn push(&mut self, origin: Origin, status: Status, text: impl Into<String>) {
        self.lines.push(Line {
            origin,
            status,
            text: text.into(),
        });
    }

    pub fn count(&self, status: Status) -> usize {
        self.lines.iter().filter(|l| l.status == status).count()
    }

    /// The whole report as text, one line each.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&l.to_string());
            out.push('\n');
        }
        out
    }
}

/// An origin for a whole section or file line.
pub fn at(file: &Path, line: usize, section: &str, setting: &str) -> Origin {
    Origin {
        file: file.to_path_buf(),
        line,
        section: section.to_string(),
        setting: setting.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        let mut r = Report::default();
        r.push(
            at(Path::new("/etc/s.conf"), 12, "program:web", "foo=bar"),
            Status::NoEquivalent,
            "unknown key; supervisord ignores it",
        );
        r.push(
            at(Path::new("Procfile"), 3, "", "web: x"),
            Status::Mapped,
            "web/run",
        );
        r.push(at(Path::new("a"), 1, "group:g", ""), Status::Note, "n");
        assert_eq!(
            r.render(),
            "/etc/s.conf:12: [program:web] foo=bar: no equivalent: unknown key; supervisord ignores it\n\
             Procfile:3: web: x: mapped: web/run\n\
             a:1: [group:g]: note: n\n"
        );
        assert_eq!(r.count(Status::NoEquivalent), 1);
    }
}
